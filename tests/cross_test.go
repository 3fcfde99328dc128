package tests

// The C suite (tests/c/imsdk_test.c) on the other targets of ./build.sh
// cross: ImSDK.dll under Wine, and libImSDK.so for linux/arm64 under
// qemu-user, each built here as cross() builds it and run against a real
// server on loopback held in this process, as TestC does.
//
// ./build.sh test installs Wine, qemu-user-static and the cross compilers
// first; a missing tool fails these tests (never a skip), saying which
// Debian package has it.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// crossTimeout bounds one emulated run of the C suite. Measured on 2 busy
// cores (load 7 to 13): the suite takes 9-15 s under Wine and 8-19 s under
// qemu-user, against 6-10 s natively.
const crossTimeout = 5 * time.Minute

// crossTool returns the path of a tool the cross tests need; pkg is the
// Debian package that has it.
func crossTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	t.Fatalf("%s is missing (Debian package %s; ./build.sh test installs it): %v", name, pkg, err)
	return ""
}

// crossPrelude checks the host and returns the repository's root.
func crossPrelude(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Fatalf("the cross tests run on linux/amd64; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// runCmd runs a command and fails the test with its output if it fails.
func runCmd(t *testing.T, what string, cmd *exec.Cmd) {
	t.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
}

// goTool returns the go command: go test puts its own toolchain first in
// PATH.
func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not in PATH: %v", err)
	}
	return p
}

// goCross returns a go build of ./capi as a c-shared library for goos/goarch
// with the C compiler cc, as ./build.sh cross builds it.
func goCross(goTool, root, goos, goarch, cc, out string, ldflags ...string) *exec.Cmd {
	args := []string{"build", "-trimpath", "-buildmode=c-shared"}
	args = append(args, ldflags...)
	args = append(args, "-o", out, "./capi")
	cmd := exec.Command(goTool, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOOS="+goos, "GOARCH="+goarch, "CC="+cc)
	return cmd
}

// cSuiteFlags are the C compiler's flags for the suite, as TestC's plain
// build.
func cSuiteFlags(root string) []string {
	return []string{"-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g", "-pthread",
		"-I", filepath.Join(root, "include"), filepath.Join(root, "tests", "c", "imsdk_test.c")}
}

// parallelSteps runs the steps at once and fails the test with the first
// error.
func parallelSteps(t *testing.T, steps ...func() error) {
	t.Helper()
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, step := range steps {
		wg.Go(func() { errs[i] = step() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// combined runs a command, its output in the error if it fails.
func combined(what string, cmd *exec.Cmd) error {
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", what, err, out)
	}
	return nil
}

// TestCWindows builds ImSDK.dll (windows/amd64) and the C suite with mingw,
// the suite linked to the DLL itself, winpthreads and libgcc static (so that
// besides Windows' own DLLs it needs ImSDK.dll only), and runs it under
// Wine. The library reports platform "Windows", so the driver's other
// devices log in on Windows.
//
// The Wine prefix is build/wine in the checkout, made on first use (about
// 25 s) and kept.
func TestCWindows(t *testing.T) {
	root := crossPrelude(t)
	mingw := crossTool(t, "x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64")
	wine := crossTool(t, "wine", "wine")

	dir := t.TempDir()
	dll := filepath.Join(dir, "ImSDK.dll")
	exe := filepath.Join(dir, "imsdk_test.exe")
	prefix := filepath.Join(root, "build", "wine")
	wineVars := []string{"WINEPREFIX=" + prefix}
	if os.Getenv("WINEDEBUG") == "" {
		// Wine's own fixme and err lines, and the wine script's hint that
		// 32-bit Wine is missing, are not the suite's.
		wineVars = append(wineVars, "WINEDEBUG=-all")
	}

	build := goCross(goTool(t), root, "windows", "amd64", mingw, dll)
	start := time.Now()
	parallelSteps(t,
		func() error {
			if err := combined("building ImSDK.dll", build); err != nil {
				return err
			}
			args := append(cSuiteFlags(root), "-static", dll, "-o", exe)
			return combined("mingw (the C suite)", exec.Command(mingw, args...))
		},
		func() error { return winePrefix(t, root, wine, prefix, mingw, append(os.Environ(), wineVars...)) },
	)
	t.Logf("built ImSDK.dll and the C suite, Wine prefix ready, in %v", time.Since(start).Round(time.Millisecond))

	runCSuite(t, cSuiteRun{
		argv:     []string{wine, exe},
		env:      wineVars,
		platform: "Windows",
		// Wine maps drive Z: to the root of the host's file system.
		logDir:  func(d string) string { return "Z:" + filepath.ToSlash(d) },
		timeout: crossTimeout,
	})
}

// winePrefix makes the Wine prefix at prefix unless it exists, and gives it
// a bcryptprimitives.dll (tests/c/wine/bcryptprimitives.c) unless Wine put
// one in its system32.
func winePrefix(t *testing.T, root, wine, prefix, mingw string, env []string) error {
	if _, err := os.Stat(filepath.Join(prefix, "system.reg")); err != nil {
		start := time.Now()
		if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
			return err
		}
		boot := exec.Command(wine, "wineboot", "--init")
		// No Mono or Gecko: the suite needs neither, and Wine would offer to
		// download them.
		boot.Env = append(env, "WINEDLLOVERRIDES=mscoree,mshtml=")
		if err := combined("wineboot --init (a new Wine prefix in "+prefix+")", boot); err != nil {
			return err
		}
		t.Logf("made the Wine prefix %s in %v", prefix, time.Since(start).Round(time.Millisecond))
	}
	dst := filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	t.Logf("Wine has no bcryptprimitives.dll, which the Go runtime loads: building tests/c/wine/bcryptprimitives.c into %s", dst)
	tmp := dst + ".part"
	if err := combined("mingw (bcryptprimitives.dll)", exec.Command(mingw, "-O2", "-Wall", "-Wextra", "-Werror", "-shared",
		"-o", tmp, filepath.Join(root, "tests", "c", "wine", "bcryptprimitives.c"), "-lbcrypt")); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// TestCLinuxArm64 builds libImSDK.so for linux/arm64 and the C suite with
// the aarch64 cross compiler, and runs the suite under qemu-user, its
// dynamic loader and libraries from the cross compiler's sysroot.
func TestCLinuxArm64(t *testing.T) {
	root := crossPrelude(t)
	cc := crossTool(t, "aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
	qemu := crossTool(t, "qemu-aarch64-static", "qemu-user-static")

	// The sysroot: the directory whose lib/ holds the arm64 dynamic loader.
	out, err := exec.Command(cc, "-print-file-name=ld-linux-aarch64.so.1").Output()
	if err != nil {
		t.Fatalf("%s -print-file-name: %v", cc, err)
	}
	loader := strings.TrimSpace(string(out))
	if !filepath.IsAbs(loader) {
		t.Fatalf("%s does not know where ld-linux-aarch64.so.1 is (%q): is libc6-arm64-cross installed?", cc, loader)
	}
	if _, err := os.Stat(loader); err != nil {
		t.Fatal(err)
	}
	sysroot := filepath.Clean(filepath.Join(filepath.Dir(loader), ".."))

	dir := t.TempDir()
	lib := filepath.Join(dir, "libImSDK.so")
	bin := filepath.Join(dir, "imsdk_test")
	start := time.Now()
	runCmd(t, "building libImSDK.so (linux/arm64)",
		goCross(goTool(t), root, "linux", "arm64", cc, lib, "-ldflags=-extldflags=-Wl,-soname,libImSDK.so"))
	args := append(cSuiteFlags(root), "-L", dir, "-lImSDK", "-Wl,-rpath,"+dir, "-o", bin)
	runCmd(t, "aarch64-linux-gnu-gcc (the C suite)", exec.Command(cc, args...))
	t.Logf("built libImSDK.so and the C suite for linux/arm64 in %v", time.Since(start).Round(time.Millisecond))

	runCSuite(t, cSuiteRun{
		argv:     []string{qemu, "-L", sysroot, bin},
		platform: "Linux",
		timeout:  crossTimeout,
	})
}
