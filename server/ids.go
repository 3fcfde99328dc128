package server

import (
	"strings"
	"unicode/utf8"
)

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut at a character boundary, so the cut adds no invalid UTF-8.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func joinIDs(ids []string) string { return strings.Join(ids, ", ") }
