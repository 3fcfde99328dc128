package server

import "strings"

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func joinIDs(ids []string) string { return strings.Join(ids, ", ") }
