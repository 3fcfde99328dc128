package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHelpHasFlag(t *testing.T) {
	help := "Usage of imstatusd:\n  -addr HOST:PORT\n    \tlisten address\n  -data DIR\n    \tdurable data directory\n  -debug\n"
	for name, want := range map[string]bool{"data": true, "addr": true, "debug": true, "dat": false, "apps": false} {
		if got := helpHasFlag([]byte(help), name); got != want {
			t.Errorf("helpHasFlag(%q) = %v", name, got)
		}
	}
	for _, h := range []string{"  --data=DIR  where to keep data\n", "\t-data\n"} {
		if !helpHasFlag([]byte(h), "data") {
			t.Errorf("%q: -data not found", h)
		}
	}
	for _, h := range []string{"  -database URL\n", "  -addr A\n    \tnot the -data flag\n", "  -data-dir DIR\n"} {
		if helpHasFlag([]byte(h), "data") {
			t.Errorf("%q: -data found", h)
		}
	}
}

func TestNewEngine(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Usage on stderr and a failing exit status, as the flag package does.
	withData := script("new", `echo "Usage of imstatusd:
  -data DIR
    	durable data directory" >&2; exit 2`)
	without := script("old", `echo "  -addr HOST:PORT" >&2; exit 1`)
	ctx := context.Background()
	if g, err := newEngine(ctx, "new", withData); err != nil || !g.data || !strings.Contains(g.describe(), "--data") {
		t.Errorf("with -data: %+v, %v", g, err)
	}
	if g, err := newEngine(ctx, "old", without); err != nil || g.data {
		t.Errorf("without -data: %+v, %v", g, err)
	}
	if _, err := newEngine(ctx, "none", filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing binary: no error")
	}
	if _, err := newEngine(ctx, "dir", dir); err == nil {
		t.Error("a directory: no error")
	}
}
