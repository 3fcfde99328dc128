package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// expectedCChecks is how many checks tests/c/imsdk_test.c makes. Every
// check runs in every run, pass or fail, so the count is fixed: a smaller
// number means the program stopped early or a section was skipped. Update
// it together with the C file.
const expectedCChecks = 353

// TestC builds the real libImSDK.so, compiles the C test suite against it
// twice (plain, and with AddressSanitizer and UndefinedBehaviorSanitizer),
// and runs each build against a real server held in this process, driving
// the server through the control protocol described at the top of
// tests/c/imsdk_test.c.
func TestC(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("the C suite needs Linux (gcc, rpath, ASan); GOOS is %s", runtime.GOOS)
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatalf("gcc is required for the C test suite (cgo needs it too): %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	libDir := filepath.Join(dir, "lib")

	start := time.Now()
	// go test puts its own toolchain's bin directory first in PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not in PATH: %v", err)
	}
	build := exec.Command(goTool, "build", "-buildmode=c-shared",
		"-ldflags=-extldflags=-Wl,-soname,libImSDK.so",
		"-o", filepath.Join(libDir, "libImSDK.so"), "./capi")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building libImSDK.so: %v\n%s", err, out)
	}

	// Both builds at once: they are independent.
	variants := []struct {
		name  string
		flags []string
		env   []string
	}{
		{name: "plain"},
		{
			name:  "asan",
			flags: []string{"-fsanitize=address,undefined", "-fno-omit-frame-pointer"},
			// A Go c-shared library in an ASan process: ASan's defaults work,
			// and the options below only pin them against the caller's
			// environment. Measured (gcc 12, go 1.26, linux/amd64):
			//  - When the library loads, the Go runtime installs its SIGSEGV,
			//    SIGBUS and SIGURG handlers with the raw rt_sigaction syscall,
			//    which ASan's sigaction interceptor never sees, so Go's
			//    handlers are in place whatever handle_segv and
			//    allow_user_segv_handler say. Go keeps ASan's handler as the
			//    previous one and forwards faults of non-Go code to it.
			//  - handle_segv=1 (the default) is what keeps ASan's report for
			//    a fault in C code: with it, a NULL store in main or in a
			//    callback on the library's thread gives "AddressSanitizer:
			//    SEGV ... in cb"; with handle_segv=0 the same fault is a bare
			//    exit 139 (main) or a Go "signal arrived during cgo
			//    execution" dump (callback) without the C stack. So the often
			//    suggested handle_segv=0:allow_user_segv_handler=1 for Go
			//    hosts is worse here, not needed.
			//  - detect_leaks=1 works: LeakSanitizer stops the Go threads and
			//    scans the library's data (the Go global that holds
			//    TIMGetSDKVersion's C string included); a 33-byte leak in C is
			//    reported and the suite itself reports none.
			//  - abort_on_error=0 (the Linux default): a report ends the
			//    process with exit status 1, which the test asserts, rather
			//    than SIGABRT.
			// UBSan: print a stack and stop at the first problem, so that
			// undefined behaviour fails the run instead of scrolling by.
			env: []string{
				"ASAN_OPTIONS=detect_leaks=1:handle_segv=1:abort_on_error=0",
				"UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1",
			},
		},
	}
	bins := make([]string, len(variants))
	errs := make([]error, len(variants))
	var wg sync.WaitGroup
	for i, v := range variants {
		bins[i] = filepath.Join(dir, "imsdk_test_"+v.name)
		args := []string{"-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g", "-pthread"}
		args = append(args, v.flags...)
		args = append(args, "-I", filepath.Join(root, "include"),
			filepath.Join(root, "tests", "c", "imsdk_test.c"),
			"-L", libDir, "-lImSDK", "-Wl,-rpath,"+libDir,
			"-o", bins[i])
		wg.Go(func() {
			cc := exec.Command(gcc, args...)
			if out, err := cc.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("gcc (%s): %v\n%s", v.name, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("built libImSDK.so and the C suite in %v", time.Since(start).Round(time.Millisecond))

	for i, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			runCSuite(t, cSuiteRun{argv: []string{bins[i]}, env: v.env, platform: "Linux"})
		})
	}
}

var summaryRE = regexp.MustCompile(`^(\d+) passed, (\d+) failed$`)

// cSuiteRun is how to run one build of the C suite.
type cSuiteRun struct {
	// argv runs the program: its path, after an emulator and its flags
	// when it is a build for another system.
	argv []string
	// env is added to the environment.
	env []string
	// platform is the one the library reports ("Linux", "Windows"): the
	// driver's other devices log in on it.
	platform string
	// logDir, when set, names the host directory given to the program for
	// its log files in the program's own terms ("Z:/tmp/x" for /tmp/x under
	// Wine).
	logDir func(hostDir string) string
	// timeout is how long the program may run (default 120 s).
	timeout time.Duration
}

// runCSuite runs one build of the C suite against a fresh server and
// answers its control commands.
func runCSuite(t *testing.T, run cSuiteRun) {
	start := time.Now()
	d := newCDriver(t, run.platform)
	app := d.ts.App.SDKAppID
	if app != 1400000000 {
		t.Fatalf("the C suite's SDKAppID is 1400000000; the test server's is %d", app)
	}
	logDir := t.TempDir()
	if run.logDir != nil {
		logDir = run.logDir(logDir)
	}
	env := append(os.Environ(),
		"IMSDK_SERVER_ADDR="+d.ts.Addr,
		"IMSDK_TEST_LOGDIR="+logDir,
		"IMSDK_SIG_alice="+d.sig("alice", app, 24*time.Hour),
		"IMSDK_SIG_bob="+d.sig("bob", app, 24*time.Hour),
		// Valid 60 s of the fake clock; the C program moves the clock by at
		// most 6 s before it uses it, then by 61 s to expire it.
		"IMSDK_SIG_SHORT_alice="+d.sig("alice", app, 60*time.Second),
		"IMSDK_SIG_OTHERAPP_alice="+d.sig("alice", app+1, 24*time.Hour),
	)
	env = append(env, run.env...)
	if v, ok := os.LookupEnv("IMSDK_TEST_ASAN_OPTIONS"); ok {
		// For experiments: override the ASAN_OPTIONS chosen below.
		env = append(env, "ASAN_OPTIONS="+v)
	}

	timeout := run.timeout
	if timeout == 0 {
		timeout = 120 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, run.argv[0], run.argv[1:]...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	var out strings.Builder
	var last string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		// A Windows program's stdout is in text mode: its lines end in CRLF.
		line := strings.TrimSuffix(sc.Text(), "\r")
		if cmdLine, ok := strings.CutPrefix(line, "@@"); ok {
			reply := "ok"
			if err := d.control(cmdLine); err != nil {
				reply = "err " + strings.ReplaceAll(err.Error(), "\n", " ")
				t.Errorf("control %q: %v", cmdLine, err)
			}
			fmt.Fprintf(&out, "%s -> %s\n", line, reply)
			if _, err := io.WriteString(stdin, reply+"\n"); err != nil {
				t.Errorf("writing to the C program: %v", err)
			}
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
		if strings.TrimSpace(line) != "" {
			last = line
		}
	}
	if err := sc.Err(); err != nil {
		t.Errorf("reading the C program's output: %v", err)
	}
	stdin.Close()
	waitErr := cmd.Wait()
	elapsed := time.Since(start)

	name := filepath.Base(run.argv[0])
	if len(run.argv) > 1 {
		name += " " + filepath.Base(run.argv[len(run.argv)-1])
	}
	t.Logf("C suite output (%s, %v):\n%s", name, elapsed.Round(time.Millisecond), out.String())
	if s := stderr.String(); s != "" {
		t.Logf("C suite stderr:\n%s", s)
	}
	if ctx.Err() != nil {
		t.Fatalf("the C suite did not finish within the timeout; killed")
	}
	if waitErr != nil {
		t.Errorf("the C suite exited with %v", waitErr)
	}
	m := summaryRE.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("the C suite's last line is %q, want \"N passed, M failed\"", last)
	}
	passed, _ := strconv.Atoi(m[1])
	failed, _ := strconv.Atoi(m[2])
	if failed != 0 {
		t.Errorf("%d of the C suite's checks failed (lines starting with FAIL above)", failed)
	}
	if passed+failed != expectedCChecks {
		t.Errorf("the C suite made %d checks, want %d", passed+failed, expectedCChecks)
	}
	for _, bad := range []string{
		"libImSDK: internal error recovered", // a Go panic reached a shim
		"ERROR: AddressSanitizer",
		"ERROR: LeakSanitizer",
		"runtime error:", // UBSan
		"WARNING: DATA RACE",
		"fatal error:", // the Go runtime
	} {
		if strings.Contains(stderr.String(), bad) {
			t.Errorf("the C suite's stderr contains %q", bad)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
