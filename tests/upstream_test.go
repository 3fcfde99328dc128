package tests

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestUpstreamEntryPoints holds libImSDK against upstream's Unity SDK: every
// native entry point its NativeSDK.cs declares (capi/upstream.txt) is
// defined in the static archive, a C program referencing all of them links
// against it (as IL2CPP links an iOS app), and the ones imstatus does not
// have answer as documented. The generated stubs must match the table.
func TestUpstreamEntryPoints(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatalf("gcc is required (cgo needs it too): %v", err)
	}
	nm, err := exec.LookPath("nm")
	if err != nil {
		t.Fatalf("nm (binutils, which gcc brings) is required: %v", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not in PATH: %v", err)
	}
	run := func(dir, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	run(root, goTool, "run", "./capi/internal/genstubs", "-check")
	want := upstreamNames(t, filepath.Join(root, "capi", "upstream.txt"))
	if len(want) != 241 {
		t.Fatalf("capi/upstream.txt lists %d entry points; upstream 8.6.7021's NativeSDK.cs declares 241", len(want))
	}

	dir := t.TempDir()
	archive := filepath.Join(dir, "libImSDK.a")
	run(root, goTool, "build", "-buildmode=c-archive", "-o", archive, "./capi")
	defined := map[string]bool{}
	for _, l := range strings.Split(run(dir, nm, "--defined-only", archive), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[1] == "T" {
			defined[f[2]] = true
		}
	}
	var missing []string
	for _, n := range want {
		if !defined[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("libImSDK.a defines %d of %d upstream entry points; missing: %v", len(want)-len(missing), len(want), missing)
	}
	t.Logf("libImSDK.a defines %d of %d upstream entry points", len(want), len(want))

	prog := filepath.Join(dir, "upstream_link")
	run(root, gcc, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-Itests/c",
		"-o", prog, "tests/c/upstream_link.c", archive, "-pthread")
	out := run(dir, prog)
	t.Logf("upstream_link:\n%s", out)
	if !strings.Contains(out, "241 entry points linked") || !strings.HasSuffix(strings.TrimSpace(out), "PASS") {
		t.Fatalf("upstream_link did not link all 241 or did not pass:\n%s", out)
	}
}

// upstreamNames reads the entry points' names from capi/upstream.txt.
func upstreamNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`\b(TIM\w+|callExperimentalAPI)\(`)
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("%s: no entry point in %q", path, l)
		}
		out = append(out, m[1])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGeneratedCodes: the C headers' and the docs' error codes are those of
// wire.CodeDocs, the one table of them (go generate ./wire).
func TestGeneratedCodes(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./wire/internal/gencodes", "-check")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
