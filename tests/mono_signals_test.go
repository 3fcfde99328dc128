package tests

// The Go runtime inside a host that has signal handlers of its own
// (TIMCloud.h, "Signals").
//
// Go needs every signal handler in the process to run on the alternate
// signal stack (SA_ONSTACK): a handler that runs on the current stack of a
// thread that is in Go code runs on a goroutine's stack, a few kilobytes,
// overflows it into its neighbours', and the Go runtime crashes soon after
// ("traceback did not unwind completely", "unexpected return pc", a SIGSEGV
// in the library). When libImSDK is loaded into a running process, the Go
// runtime turns SA_ONSTACK on for the handlers it finds; TIMInit does it
// again for handlers installed since (capi/shim.c).
//
// TestMonoSignals: tests/csharp/signals/SignalStress.cs keeps the library
// busy (status calls in flight from eight threads, results and status
// changes arriving, Go's GC running) while Mono sends its signals: its GC
// stops the world with a signal to each thread it suspends (real-time
// signals on Linux) and NullReferenceExceptions are thrown and caught (Mono
// makes them from SIGSEGV), also inside the library's callbacks. The runs
// differ in
//   - load order: "lazy", Mono loads libImSDK at the first call, after it
//     installed its handlers (the usual case: Mono, IL2CPP on Android and
//     desktop); "preload", the library is in the process first (LD_PRELOAD,
//     as for a host linked against it), so Mono's handlers come after the Go
//     runtime started and lack SA_ONSTACK until TIMInit;
//   - Mono's thread suspension: "hybrid" (Mono 6's default: a thread in
//     native code is not signalled) or "preemptive" (every attached thread
//     is signalled wherever it is, as the Boehm GC of Unity's Mono and of
//     IL2CPP does);
//   - callbacks: "queued" (the Unity package: delivered on the main thread
//     by Pump) or "direct" (the raw P/Invoke layer: on the library's
//     dispatcher thread, which Mono then attaches and signals too).
// Each run also starts sixteen threads whose first call into the library
// comes while the GC stops the world over and over (FirstCallsDuringGC).
//
// What the runs found (all fixed in capi/):
//   - without TIMInit's SA_ONSTACK, the preloaded preemptive runs crashed,
//     every time, within 3 s: Mono's suspend handler ran on goroutine
//     stacks (capi/shim.c, onstack_handlers);
//   - with preemptive suspension, threads making their first call at once
//     during GCs hung Mono every time: a first call waits for a spare Go
//     thread with signals blocked, and the GC had stopped the thread that
//     owed it (capi/shim.c, first_call);
//   - in direct mode Mono hung at exit in about one run in ten, in two
//     ways: the dispatcher had landed on the Go runtime's first thread,
//     which cannot exit, and Mono waits for every thread that entered
//     managed code (capi/main.go, init); or the dispatcher thread was still
//     exiting, with every signal blocked, when Mono's shutdown tried to
//     stop it (capi/shim.c, TIMUninit waits for the thread's end).
//
// TestSignalsCHost: tests/c/signals_host.c, a C host linked against the
// library, installs handlers without SA_ONSTACK before TIMInit and checks
// what TIMInit does to them, then signals every thread while the library
// is busy. Without TIMInit's SA_ONSTACK it crashed in each of 3 runs.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
)

// monoSignalTests is the number of tests in SignalStress.cs.
const monoSignalTests = 5

// signalCrashRE matches what a crashing Go runtime, Mono or C library prints.
var signalCrashRE = regexp.MustCompile(`fatal error|signal \d+ received|SIGSEGV|SIGBUS|SIGABRT|Native Crash|Got a SIG|runtime: |unexpected (signal|fault|return)|\* Assertion|stack overflow|Segmentation fault|Aborted`)

func TestMonoSignals(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("the signal tests read struct sigaction as glibc lays it out on Linux; GOOS is %s", runtime.GOOS)
	}
	tools := monoNeedTools(t)
	dir := t.TempDir()
	monoBuildLibrary(t, dir)
	src := filepath.Join(monoRepoRoot(t), "tests", "csharp", "signals", "SignalStress.cs")
	exe := monoCompile(t, tools, dir, filepath.Join(dir, "SignalStress.exe"), []string{"-target:exe", src})
	lib := filepath.Join(dir, "libImSDK.so")

	const seconds = 4
	for _, run := range []struct {
		preload   bool   // libImSDK in the process before Mono starts
		suspend   string // MONO_THREADS_SUSPEND
		callbacks string // IMS_SIGNAL_CALLBACKS
	}{
		{false, "hybrid", "queued"},
		{false, "preemptive", "queued"},
		{false, "preemptive", "direct"},
		{true, "preemptive", "queued"},
		{true, "preemptive", "direct"},
	} {
		name := map[bool]string{false: "lazy", true: "preload"}[run.preload] + "-" + run.suspend + "-" + run.callbacks
		t.Run(name, func(t *testing.T) {
			srv := testserver.Start(t, func(a *server.AppConfig) { a.RateLimitCalls = 1 << 30 })
			if err := srv.Srv.ImportAccounts(testserver.App, "alice", "bob"); err != nil {
				t.Fatal(err)
			}
			peers := newMonoPeers(t, srv)
			env := append(os.Environ(),
				"LD_LIBRARY_PATH="+dir+monoListSep(os.Getenv("LD_LIBRARY_PATH")),
				"LANG=C.UTF-8", "LC_ALL=C.UTF-8",
				"MONO_THREADS_SUSPEND="+run.suspend,
				"IMS_APP="+strconv.FormatUint(testserver.App, 10),
				"IMS_SIG_ALICE="+srv.Sig("alice", time.Hour),
				"IMSDK_SERVER_ADDR="+srv.Addr,
				"IMS_SIGNAL_CALLBACKS="+run.callbacks,
				"IMS_SIGNAL_SECONDS="+strconv.Itoa(seconds),
				"IMS_SIGNAL_THREADS=8",
			)
			if run.preload {
				env = append(env, "LD_PRELOAD="+lib)
			}
			start := time.Now()
			res := monoRun(t, tools.mono, exe, env, peers.handle)
			t.Logf("mono: %d tests in %v, exit %v after the last", res.passed+res.failed,
				res.elapsed.Round(time.Millisecond), res.exitAfter.Round(time.Millisecond))
			if res.stderr != "" {
				t.Logf("mono stderr:\n%s", monoTail(res.stderr, 8000))
			}
			out := strings.Join(res.lines, "\n")
			if m := signalCrashRE.FindString(out + "\n" + res.stderr); m != "" {
				t.Errorf("mono's output shows a crash (%q)", m)
			}
			res.mustPass(t, monoSignalTests)

			// What the runs are about: the handlers' flags.
			before, after := signalHandlers(t, res.lines, "before TIMInit"), signalHandlers(t, res.lines, "after TIMInit")
			if missing := withoutOnstack(after); len(missing) > 0 {
				t.Errorf("after TIMInit, handlers without SA_ONSTACK: %v (all: %v)", missing, after)
			}
			if missing := withoutOnstack(before); run.preload && len(missing) == 0 {
				t.Errorf("preloaded, yet every handler had SA_ONSTACK before TIMInit (%v): the run does not test TIMInit", before)
			} else if !run.preload && len(missing) > 0 {
				t.Errorf("loaded by Mono, yet handlers without SA_ONSTACK before TIMInit: %v (the Go runtime sets it at load)", missing)
			}
			if len(withoutOnstack(signalHandlers(t, res.lines, "at start"))) == 0 {
				t.Errorf("Mono installed every handler with SA_ONSTACK: the runs no longer test what they were written for")
			}
			// And that the load was real.
			stats := signalStats(res.lines)
			for key, least := range map[string]int{"calls": 300, "calls_checked": 300, "nre": 300, "nre_in_callbacks": 100,
				"collects": 20, "collects_in_callbacks": 1, "bob_changes": 5} {
				if stats[key] < least {
					t.Errorf("stats %s=%d, want at least %d: the load did not happen (%v)", key, stats[key], least, stats)
				}
			}
			if stats["callbacks"] != stats["calls_checked"] || stats["callback_threads"] != 1 {
				t.Errorf("callbacks=%d for %d calls on %d threads; want one each, on one thread",
					stats["callbacks"], stats["calls_checked"], stats["callback_threads"])
			}
			t.Logf("%s: %v in all; %v", name, time.Since(start).Round(time.Millisecond), stats)
		})
	}
}

// signalHandlers parses the line "handlers <when>: 3=NO 11=onstack 13=IGN ...".
func signalHandlers(t *testing.T, lines []string, when string) map[int]string {
	t.Helper()
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l, "handlers "+when+":")
		if !ok {
			continue
		}
		hs := map[int]string{}
		for _, f := range strings.Fields(rest) {
			sig, flag, _ := strings.Cut(f, "=")
			n, err := strconv.Atoi(sig)
			if err != nil || (flag != "onstack" && flag != "NO" && flag != "IGN") {
				t.Fatalf("bad handler entry %q in %q", f, l)
			}
			hs[n] = flag
		}
		if len(hs) == 0 {
			t.Fatalf("no handlers in %q", l)
		}
		return hs
	}
	t.Fatalf("mono printed no line \"handlers %s: ...\"", when)
	return nil
}

// withoutOnstack lists the signals whose handler lacks SA_ONSTACK.
func withoutOnstack(hs map[int]string) []int {
	var sigs []int
	for sig, flag := range hs {
		if flag == "NO" {
			sigs = append(sigs, sig)
		}
	}
	return sigs
}

// signalStats merges the "stats key=value ..." lines.
func signalStats(lines []string) map[string]int {
	stats := map[string]int{}
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l, "stats ")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(rest) {
			if k, v, ok := strings.Cut(f, "="); ok {
				stats[k], _ = strconv.Atoi(v)
			}
		}
	}
	return stats
}

// signalHostChecks is the number of checks in tests/c/signals_host.c.
const signalHostChecks = 19

var signalHostSummaryRE = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`)

func TestSignalsCHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("the C host test needs Linux (tgkill, /proc/self/task); GOOS is %s", runtime.GOOS)
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatalf("gcc is required (cgo needs it too): %v", err)
	}
	dir := t.TempDir()
	monoBuildLibrary(t, dir)
	root := monoRepoRoot(t)
	bin := filepath.Join(dir, "signals_host")
	cc := exec.Command(gcc, "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O1", "-o", bin,
		filepath.Join(root, "tests", "c", "signals_host.c"),
		"-I", filepath.Join(root, "include"), "-L", dir, "-lImSDK", "-Wl,-rpath,"+dir, "-pthread")
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, bin, "4").CombinedOutput()
	t.Logf("signals_host ran %v:\n%s", time.Since(start).Round(time.Millisecond), monoTail(string(out), 8000))
	if m := signalCrashRE.FindString(string(out)); m != "" {
		t.Errorf("the output shows a crash (%q)", m)
	}
	if err != nil {
		t.Fatalf("signals_host: %v", err)
	}
	m := signalHostSummaryRE.FindStringSubmatch(string(out))
	if m == nil || m[1] != strconv.Itoa(signalHostChecks) || m[2] != "0" {
		t.Fatalf("signals_host: want \"%d passed, 0 failed\", got %s", signalHostChecks, fmt.Sprint(m))
	}
}
