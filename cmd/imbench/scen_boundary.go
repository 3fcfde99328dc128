package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Scenario 6: what an export call and a callback of libImSDK cost, from C
// (bench/cboundary.c) and from C# on Mono (bench/MonoBoundary.cs), each
// beside plain C or plain P/Invoke doing the same hand-off.
func (e *env) scenarioBoundary(ctx context.Context) error {
	n := e.sz.boundaryCalls
	k, m := max(n/100, 1000), 1000
	args := []string{strconv.Itoa(n), strconv.Itoa(k), strconv.Itoa(m)}
	const sc = "6 C boundary"
	bin := filepath.Join(e.opts.bin, "cboundary")
	e.prog.printf("C: %s %s", bin, strings.Join(args, " "))
	c, err := e.runKV(ctx, nil, bin, args...)
	if err != nil {
		return fmt.Errorf("cboundary: %w", err)
	}
	us := func(v float64) float64 { return v / 1e3 }
	e.res.add(
		fig(sc, "C: export call TIMGetLoginStatus", "ns", c["export_call_ns"]).vs("empty C call through a pointer", c["baseline_call_ns"]),
		fig(sc, "C: callback round trip, direct mode, p50", "µs", us(c["callback_rtt_p50_ns"])).vs("C thread hand-off (mutex + condvar) p50", us(c["baseline_handoff_p50_ns"])),
		fig(sc, "C: callback round trip, direct mode, p99", "µs", us(c["callback_rtt_p99_ns"])).vs("C thread hand-off p99", us(c["baseline_handoff_p99_ns"])),
		fig(sc, fmt.Sprintf("C: callbacks, direct mode, %d in flight, per call", m), "ns", c["callback_inflight_ns"]).vs("C queue to a thread, per item", c["baseline_inflight_ns"]),
		fig(sc, "C: callback round trip, queued mode (caller pumps), p50", "ns", c["queued_rtt_p50_ns"]).vs("C call + callback through pointers", c["baseline_callback_ns"]),
		fig(sc, fmt.Sprintf("C: callbacks, queued mode, %d in flight, per call", m), "ns", c["queued_inflight_ns"]).vs("C call + callback through pointers", c["baseline_callback_ns"]),
	)

	mono, err := e.runMono(ctx, args)
	if err != nil {
		e.res.notef("C boundary from Mono not measured: %s", oneLine(err.Error()))
		e.prog.printf("!! Mono: %v", err)
		return nil
	}
	e.res.add(
		fig(sc, "Mono: P/Invoke TIMGetLoginStatus", "ns", mono["pinvoke_ns"]).vs("P/Invoke libc abs", mono["baseline_pinvoke_ns"]),
		fig(sc, "Mono: callback round trip, queued mode, p50", "ns", mono["callback_rtt_p50_ns"]).vs("P/Invoke libc qsort calling back once", mono["baseline_callback_ns"]),
		fig(sc, "Mono: callback round trip, queued mode, p99", "ns", mono["callback_rtt_p99_ns"]).vs("the same from C, p99", c["queued_rtt_p99_ns"]),
		fig(sc, fmt.Sprintf("Mono: callbacks, queued mode, %d in flight, per call", m), "ns", mono["callback_inflight_ns"]).vs("the same from C", c["queued_inflight_ns"]),
	)
	return nil
}

// runMono compiles bench/MonoBoundary.cs with mcs and runs it with mono.
func (e *env) runMono(ctx context.Context, args []string) (map[string]float64, error) {
	mcs, err := exec.LookPath("mcs")
	if err != nil {
		return nil, fmt.Errorf("Mono is missing: mcs not found (Debian: apt-get install mono-mcs mono-runtime)")
	}
	mono, err := exec.LookPath("mono")
	if err != nil {
		return nil, fmt.Errorf("Mono is missing: mono not found (Debian: apt-get install mono-runtime)")
	}
	src := filepath.Join(e.opts.benchSrc, "MonoBoundary.cs")
	exe := filepath.Join(e.tmp, "MonoBoundary.exe")
	if out, err := exec.CommandContext(ctx, mcs, "-nologo", "-optimize+", "-out:"+exe, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mcs %s: %v: %s", src, err, out)
	}
	lib, err := filepath.Abs(e.opts.lib)
	if err != nil {
		return nil, err
	}
	env := []string{"LD_LIBRARY_PATH=" + lib + listSep(os.Getenv("LD_LIBRARY_PATH"))}
	e.prog.printf("Mono: mono MonoBoundary.exe %s", strings.Join(args, " "))
	return e.runKV(ctx, env, mono, append([]string{exe}, args...)...)
}

func listSep(v string) string {
	if v == "" {
		return ""
	}
	return ":" + v
}

// runKV runs a program printing "name value" lines and returns them.
func (e *env) runKV(ctx context.Context, env []string, path string, args ...string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %s", path, err, stderr.String())
	}
	return parseKV(out)
}

// parseKV reads "name value" lines.
func parseKV(b []byte) (map[string]float64, error) {
	kv := make(map[string]float64)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("line %q is not \"name value\"", sc.Text())
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", sc.Text(), err)
		}
		kv[f[0]] = v
	}
	return kv, nil
}
