package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// writeOutputs writes results.json, results.md and the plots into --out,
// and the docs section when --docs is set.
func (e *env) writeOutputs() error {
	out := e.opts.out
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// Scenario by scenario, in the order each ran its figures.
	slices.SortStableFunc(e.res.Figures, func(a, b Figure) int { return strings.Compare(a.Scenario, b.Scenario) })
	for _, name := range e.latOrder {
		ns := slices.Clone(e.lat[name])
		slices.Sort(ns)
		e.res.CDFs = append(e.res.CDFs, Series{Name: name, Points: cdf(ns, 240)})
	}
	var errs []error
	if len(e.res.CDFs) > 0 {
		errs = append(errs, plotLatencyCDF(e.res.CDFs, filepath.Join(out, "latency_cdf.png")))
	}
	if len(e.res.Memory) > 0 {
		errs = append(errs, plotMemory(e.res.Memory, 10, filepath.Join(out, "memory_per_conn.png")))
	}
	errs = append(errs,
		e.res.writeJSON(filepath.Join(out, "results.json")),
		os.WriteFile(filepath.Join(out, "results.md"), []byte(e.res.markdown("")), 0o644))
	if e.opts.docs != "" {
		rel, err := filepath.Rel(filepath.Dir(e.opts.docs), out)
		if err == nil {
			err = updateDocs(e.opts.docs, e.res.section(filepath.ToSlash(rel)+"/"))
		}
		errs = append(errs, err)
	}
	if e.opts.readme != "" {
		errs = append(errs, updateReadme(e.opts.readme, e.res))
	}
	return errors.Join(errs...)
}

const (
	docsBegin = "<!-- imbench:results:begin -->"
	docsEnd   = "<!-- imbench:results:end -->"
)

// updateDocs replaces what lies between the results markers of path.
func updateDocs(path, section string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s, err := replaceBetween(string(b), docsBegin, docsEnd, section)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// replaceBetween replaces the text between the begin and end markers.
func replaceBetween(doc, begin, end, with string) (string, error) {
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("markers %q and %q not found in order", begin, end)
	}
	return doc[:i+len(begin)] + "\n" + with + doc[j:], nil
}

// profiles runs fan-out, churn and the storm against imstatusd --pprof and
// saves the server's CPU and allocation profiles over a window of each,
// with their top entries.
func (e *env) profiles(ctx context.Context) error {
	dir := e.opts.serverProfile
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	d := e.sz.profileFor
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	// capture profiles the next d of the server's life: CPU through
	// /debug/pprof/profile, allocations as the difference of two heap
	// profiles taken after a GC each (a heap profile counts what was
	// allocated up to the last GC, which a quiet window may not have).
	capture := func(scenario string) func(*target) {
		return func(t *target) {
			addr := t.procs[0].pprof
			e.prog.printf("   profiling %s for %v", scenario, d)
			wg.Go(func() {
				if err := fetchProfile(ctx, addr, "profile", d, filepath.Join(dir, scenario+"-cpu.pprof")); err != nil {
					fail(err)
				}
			})
			wg.Go(func() {
				if err := fetchProfile(ctx, addr, "mutex", d, filepath.Join(dir, scenario+"-mutex.pprof")); err != nil {
					fail(err)
				}
			})
			base := filepath.Join(dir, scenario+"-heap-start.pprof")
			if err := fetchProfile(ctx, addr, "heap", 0, base); err != nil {
				fail(err)
				return
			}
			wg.Go(func() {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
				if err := fetchProfile(ctx, addr, "heap", 0, filepath.Join(dir, scenario+"-allocs.pprof")); err != nil {
					fail(err)
				}
			})
		}
	}
	n := e.sz.fanLarge
	e.prog.printf("profile: fan-out to %d subscribers on imbench serve", n)
	if _, err := e.fanoutOnce(ctx, false, n, 0, d+2*time.Second, capture("fanout")); err != nil {
		return err
	}
	wg.Wait()
	e.prog.printf("profile: churn, then the storm, %d users × %d on imbench serve", e.sz.churnUsers, e.sz.churnSub)
	if _, _, err := e.churnImstatusd(ctx, e.engine, e.sz.churnUsers, e.sz.churnSub, e.sz.churnWarm, d+time.Second,
		&profileHooks{churn: capture("churn"), storm: capture("storm"), wait: wg.Wait}); err != nil {
		return err
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		e.res.notef("Profiles saved in %s; `go` not found to list their top entries.", dir)
		return nil
	}
	for _, scenario := range []string{"fanout", "churn", "storm"} {
		for _, kind := range []string{"cpu", "allocs", "mutex"} {
			file := filepath.Join(dir, scenario+"-"+kind+".pprof")
			args := []string{"tool", "pprof", "-top", "-nodecount=25"}
			if kind == "allocs" {
				args = append(args, "-sample_index=alloc_space", "-base", filepath.Join(dir, scenario+"-heap-start.pprof"))
			}
			top, err := exec.CommandContext(ctx, goTool, append(args, file)...).Output()
			if err != nil {
				return fmt.Errorf("go tool pprof %s: %w", file, err)
			}
			txt := strings.TrimSuffix(file, ".pprof") + "-top.txt"
			if err := os.WriteFile(txt, top, 0o644); err != nil {
				return err
			}
			e.res.Profiles = append(e.res.Profiles, Profile{Scenario: scenario, Kind: kind, File: file, Top: string(top)})
		}
	}
	return nil
}

// profileHooks run when the churn's measured window and the storm begin;
// wait returns when what they started is done (before the server stops).
type profileHooks struct {
	churn, storm func(*target)
	wait         func()
}

// fetchProfile saves the server's profile kind to path: "profile" (CPU) or
// "mutex" over the next d, or "heap" now, after a GC.
func fetchProfile(ctx context.Context, pprofAddr, kind string, d time.Duration, path string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", pprofAddr, kind, int(d.Seconds()))
	if kind == "heap" {
		url = fmt.Sprintf("http://%s/debug/pprof/heap?gc=1", pprofAddr)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
