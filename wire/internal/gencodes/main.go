// Command gencodes writes the error codes of wire.CodeDocs — the one table
// of them — into the C headers and the docs: imstatus.h's IMSTATUS_ERR_*
// block, TIMErrorCode.h (all of upstream 8.x's names, from
// upstream_codes.txt, checked against ours), and SEMANTICS §4's table.
//
//	go generate ./wire                               (writes them)
//	go run ./wire/internal/gencodes -check           fails if one is stale
package main

import (
	"bytes"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/imstatus/imstatus/wire"
)

func main() {
	check := flag.Bool("check", false, "compare with the files on disk instead of writing them")
	root := flag.String("root", ".", "the repository's root")
	flag.Parse()
	if err := run(*root, *check); err != nil {
		fmt.Fprintln(os.Stderr, "gencodes:", err)
		os.Exit(1)
	}
}

// Markers around the generated part of a file written by hand.
const (
	hBegin  = "/* Codes: written by go generate ./wire from wire.CodeDocs; do not edit. */\n"
	hEnd    = "/* End of codes. */\n"
	mdBegin = "<!-- codes: written by go generate ./wire from wire.CodeDocs; do not edit -->\n"
	mdEnd   = "<!-- end of codes -->\n"
)

// comment is text as a C comment, wrapped at 78 columns.
func comment(text string) string {
	var lines []string
	line := "/*"
	for _, w := range strings.Fields(text) {
		if len(line)+1+len(w) > 75 {
			lines = append(lines, line)
			line = " *"
		}
		line += " " + w
	}
	lines = append(lines, line+" */")
	return strings.Join(lines, "\n") + "\n"
}

func imstatusCodes() string {
	var b strings.Builder
	for _, c := range wire.CodeDocs() {
		b.WriteString(comment(c.Doc))
		fmt.Fprintf(&b, "#define %s %d\n", c.IMStatus, c.Code)
	}
	return b.String()
}

// upstreamCode is one enumerator of upstream's enum TIMErrCode.
type upstreamCode struct {
	name string
	code int
}

//go:embed upstream_codes.txt
var upstreamTable string

// upstreamCodes reads upstream_codes.txt.
func upstreamCodes() ([]upstreamCode, error) {
	var out []upstreamCode
	seen := map[string]bool{}
	for n, line := range strings.Split(upstreamTable, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, num, ok := strings.Cut(line, " ")
		code, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasPrefix(name, "ERR_") || seen[name] {
			return nil, fmt.Errorf("upstream_codes.txt:%d: want a new ERR_ name and a number: %q", n+1, line)
		}
		seen[name] = true
		out = append(out, upstreamCode{name, code})
	}
	return out, nil
}

// errorCodeHeader declares every upstream code, so that code written
// against upstream compiles, and says which of them imstatus answers. A
// code of wire.CodeDocs whose upstream name is not upstream's, or not with
// its number, is an error.
func errorCodeHeader() (string, error) {
	up, err := upstreamCodes()
	if err != nil {
		return "", err
	}
	ours := map[string]wire.CodeDoc{}
	for _, c := range wire.CodeDocs() {
		if c.Upstream != "" {
			ours[c.Upstream] = c
		}
	}
	var b strings.Builder
	b.WriteString(`/*
 * TIMErrorCode.h: upstream 8.x's error codes (enum TIMErrCode), every name
 * and number of upstream 8.6.7021's header, so that code written against it
 * compiles unchanged. Written by go generate ./wire from wire.CodeDocs and
 * upstream's list; do not edit.
 *
 * The codes libImSDK (imstatus) answers are marked with their imstatus.h
 * name; the others belong to features imstatus does not have, and it never
 * answers them. imstatus's one code without an upstream name is in
 * imstatus.h only (IMSTATUS_ERR_SERVER_OVERLOADED, 70503).
 */
#ifndef IMSTATUS_TIMERRORCODE_H_
#define IMSTATUS_TIMERRORCODE_H_

enum TIMErrCode {
`)
	for _, u := range up {
		c, ok := ours[u.name]
		if !ok {
			fmt.Fprintf(&b, "    %s = %d,\n", u.name, u.code)
			continue
		}
		if c.Code != u.code {
			return "", fmt.Errorf("wire.CodeDocs gives %s the number %d; upstream's is %d", u.name, c.Code, u.code)
		}
		fmt.Fprintf(&b, "    %s = %d, /* answered by imstatus: %s */\n", u.name, u.code, c.IMStatus)
		delete(ours, u.name)
	}
	for name := range ours {
		return "", fmt.Errorf("wire.CodeDocs names %s, which upstream's TIMErrorCode.h does not have", name)
	}
	b.WriteString("};\n\n#endif /* IMSTATUS_TIMERRORCODE_H_ */\n")
	return b.String(), nil
}

func docsTable() string {
	var b strings.Builder
	b.WriteString("| code | upstream 8.x (`TIMErrorCode.h`) | `imstatus.h` | meaning |\n|---|---|---|---|\n")
	for _, c := range wire.CodeDocs() {
		up := "—"
		if c.Upstream != "" {
			up = "`" + c.Upstream + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", strconv.Itoa(c.Code), up, c.IMStatus, c.Doc)
	}
	return b.String()
}

// splice replaces what lies between begin and end in doc.
func splice(path string, doc []byte, begin, end, with string) ([]byte, error) {
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		return nil, fmt.Errorf("%s: markers %q and %q not found in order", path, strings.TrimSpace(begin), strings.TrimSpace(end))
	}
	var out bytes.Buffer
	out.Write(doc[:i+len(begin)])
	out.WriteString(with)
	out.Write(doc[j:])
	return out.Bytes(), nil
}

func run(root string, check bool) error {
	files := map[string][]byte{}
	for _, s := range []struct{ path, begin, end, with string }{
		{"include/imstatus.h", hBegin, hEnd, imstatusCodes()},
		{"docs/SEMANTICS.md", mdBegin, mdEnd, docsTable()},
	} {
		doc, err := os.ReadFile(root + "/" + s.path)
		if err != nil {
			return err
		}
		if files[s.path], err = splice(s.path, doc, s.begin, s.end, s.with); err != nil {
			return err
		}
	}
	h, err := errorCodeHeader()
	if err != nil {
		return err
	}
	files["include/TIMErrorCode.h"] = []byte(h)
	for path, want := range files {
		full := root + "/" + path
		if !check {
			if err := os.WriteFile(full, want, 0o644); err != nil {
				return err
			}
			continue
		}
		got, err := os.ReadFile(full)
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("%s is stale (run go generate ./wire)", path)
		}
	}
	return nil
}
