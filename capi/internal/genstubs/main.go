// Command genstubs writes, from capi/upstream.txt (upstream's native entry
// points and their C signatures), the exports of those libImSDK does not
// implement by hand — each answers "not supported" — and a C program that
// references all of them, to prove they link.
//
//	go generate ./capi                                 (writes them)
//	go run ./capi/internal/genstubs -check             fails if one is stale
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

func main() {
	check := flag.Bool("check", false, "compare the generated files with those on disk instead of writing them")
	root := flag.String("root", ".", "the repository's root")
	flag.Parse()
	if err := os.Chdir(*root); err != nil {
		fmt.Fprintln(os.Stderr, "genstubs:", err)
		os.Exit(1)
	}
	if err := run(*check); err != nil {
		fmt.Fprintln(os.Stderr, "genstubs:", err)
		os.Exit(1)
	}
}

// entry is one upstream entry point.
type entry struct {
	ret    string  // "int", "void", ...
	name   string  // "TIMConvGetConvList"
	params []param // in order
	decl   string  // the line of upstream.txt
}

type param struct{ typ, name string }

var declRE = regexp.MustCompile(`^(.+?)\s*\b(TIM\w+|callExperimentalAPI)\((.*)\);$`)

func parse(path string) ([]entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []entry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := declRE.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: not a declaration: %q", path, n, line)
		}
		e := entry{ret: m[1], name: m[2], decl: line}
		if args := strings.TrimSpace(m[3]); args != "" && args != "void" {
			for _, a := range strings.Split(args, ",") {
				a = strings.TrimSpace(a)
				i := strings.LastIndexAny(a, " *")
				if i < 0 {
					return nil, fmt.Errorf("%s:%d: parameter %q has no name", path, n, a)
				}
				e.params = append(e.params, param{typ: strings.TrimSpace(a[:i+1]), name: a[i+1:]})
			}
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// goType is the cgo type of a C parameter type, as the hand-written
// exports spell them (const void* user_data is a uintptr_t there).
func goType(c string) (string, error) {
	switch {
	case c == "const char*" || c == "char*":
		return "*C.char", nil
	case c == "const void*":
		return "C.uintptr_t", nil
	case c == "TIMCommCallback":
		return "C.TIMCommCallback", nil
	case strings.HasSuffix(c, "Callback"):
		return "C.TIMGenericCallback", nil
	case strings.HasPrefix(c, "enum "), c == "int":
		return "C.int", nil
	case c == "bool":
		return "C.bool", nil
	case c == "uint32_t", c == "uint64_t", c == "int32_t", c == "int64_t":
		return "C." + c, nil
	}
	return "", fmt.Errorf("no cgo type for %q", c)
}

// cType is the C type the link program declares a parameter with.
func cType(c string) string {
	switch {
	case c == "TIMCommCallback":
		return c
	case strings.HasSuffix(c, "Callback"):
		return "TIMGenericCallback"
	case strings.HasPrefix(c, "enum "):
		return "int"
	}
	return c
}

// handWritten is every entry point capi defines by hand: the functions
// shim.c defines (TIM_CALL name( or ACCEPT(name, ...)).
func handWritten(dir string) (map[string]bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "shim.c"))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, m := range shimDefRE.FindAllStringSubmatch(string(b), -1) {
		out[m[1]+m[2]] = true
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s/shim.c defines no entry point", dir)
	}
	return out, nil
}

var shimDefRE = regexp.MustCompile(`(?m)^(?:TIM_API [^;{]*?TIM_CALL (\w+)\(|ACCEPT\((\w+),)`)

// stub is the Go body of an entry point imstatus does not have.
func stub(e entry) (string, error) {
	k := -1 // the TIMCommCallback followed by its user_data, if any
	for i := 0; i+1 < len(e.params); i++ {
		if e.params[i].typ == "TIMCommCallback" && e.params[i+1].typ == "const void*" {
			k = i
			break
		}
	}
	var ps []string
	for i, p := range e.params {
		t, err := goType(p.typ)
		if err != nil {
			return "", fmt.Errorf("%s: %w", e.name, err)
		}
		// Named, not _: cgo copies the names into C, where _ twice is an error.
		name := fmt.Sprintf("p%d", i)
		switch {
		case k >= 0 && i == k:
			name = "cb"
		case k >= 0 && i == k+1:
			name = "ud"
		}
		ps = append(ps, name+" "+t)
	}
	sig := fmt.Sprintf("func %s(%s)", e.name, strings.Join(ps, ", "))
	switch {
	case e.ret == "void":
		return fmt.Sprintf("//export %s\n%s {}\n", e.name, sig), nil
	case e.ret != "int":
		return "", fmt.Errorf("%s returns %s: write it by hand", e.name, e.ret)
	case k >= 0:
		return fmt.Sprintf("//export %s\n%s C.int { return notSupported(%q, cb, ud) }\n", e.name, sig, e.name), nil
	}
	return fmt.Sprintf("//export %s\n%s C.int { return notSupportedSync(%q) }\n", e.name, sig, e.name), nil
}

func generate(entries []entry, hand map[string]bool) (goSrc, cSrc []byte, err error) {
	var g bytes.Buffer
	g.WriteString(`// Code generated by genstubs from upstream.txt; DO NOT EDIT.

package main

// #include <stdbool.h>
// #include "TIMCloudDef.h"
import "C"

// The upstream entry points imstatus does not have (messages,
// conversations, groups, relationships, signaling, communities, ...):
// notSupported and notSupportedSync (upstream.go) answer them; a callback
// setter accepts its callback and never calls it.

`)
	var c bytes.Buffer
	c.WriteString(`/* Code generated by genstubs from capi/upstream.txt; DO NOT EDIT.
 *
 * References every native entry point of upstream's Unity SDK, so that
 * linking this against libImSDK.a fails if one is missing (as IL2CPP's
 * static link on iOS would); then calls a few that imstatus does not
 * have, before and after TIMInit. Prints "N entry points linked" and the
 * codes seen. Declared here, not from imstatus's headers, with every
 * callback as TIMGenericCallback.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef void (*TIMGenericCallback)(void);
typedef void (*TIMCommCallback)(int32_t code, const char* desc, const char* json_params, const void* user_data);

`)
	var names []string
	for _, e := range entries {
		var ps []string
		for _, p := range e.params {
			ps = append(ps, cType(p.typ)+" "+p.name)
		}
		args := strings.Join(ps, ", ")
		if args == "" {
			args = "void"
		}
		ret := e.ret
		if strings.HasPrefix(ret, "enum ") {
			ret = "int"
		}
		fmt.Fprintf(&c, "extern %s %s(%s);\n", ret, e.name, args)
		names = append(names, e.name)
		if hand[e.name] {
			continue
		}
		s, err := stub(e)
		if err != nil {
			return nil, nil, err
		}
		g.WriteString(s + "\n")
	}
	sort.Strings(names)
	c.WriteString("\nstatic void* const entry_points[] = {\n")
	for _, n := range names {
		fmt.Fprintf(&c, "\t(void*)%s,\n", n)
	}
	c.WriteString("};\n\nconst int entry_point_count = (int)(sizeof entry_points / sizeof entry_points[0]);\n")
	goSrc, err = format.Source(g.Bytes())
	return goSrc, c.Bytes(), err
}

func run(check bool) error {
	entries, err := parse("capi/upstream.txt")
	if err != nil {
		return err
	}
	hand, err := handWritten("capi")
	if err != nil {
		return err
	}
	goSrc, cSrc, err := generate(entries, hand)
	if err != nil {
		return err
	}
	files := map[string][]byte{"capi/upstream_gen.go": goSrc, "tests/c/upstream_entry_points.h": cSrc}
	for path, want := range files {
		if !check {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				return err
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("%s is stale (run go generate ./capi)", path)
		}
	}
	return nil
}
