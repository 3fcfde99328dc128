package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFigureGoals(t *testing.T) {
	f := fig("2 propagation", "p50", "µs", 150).vs("echo", 100).want(goal{ratioAtMost, 1.5})
	if f.Ratio == nil || *f.Ratio != 1.5 || f.GoalMet == nil || !*f.GoalMet {
		t.Errorf("ratio goal: %+v", f)
	}
	f = fig("1 idle", "rss", "KiB", 12).vs("bare", 17).want(goal{atMost, 10})
	if *f.GoalMet || f.Goal != "≤ 10.0 KiB" {
		t.Errorf("at-most goal: met %v, goal %q", *f.GoalMet, f.Goal)
	}
	f = fig("3 churn", "rate", "/s", 250000).want(goal{atLeast, 200000})
	if !*f.GoalMet || f.Baseline != nil || f.Ratio != nil {
		t.Errorf("at-least goal without baseline: %+v", f)
	}
	f = fig("x", "y", "s", 1).vs("zero", 0).want(goal{ratioAtMost, 2})
	if f.Ratio != nil || *f.GoalMet {
		t.Errorf("a zero baseline has no ratio and meets no ratio goal: %+v", f)
	}
}

func TestFmtNum(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 0.0123: "0.012", 1.5: "1.50", 12.34: "12.3", 163.4: "163",
		9999: "9,999", 12345: "12,345", 225195.4: "225,195", 1234567: "1,234,567", -12345: "-12,345",
	} {
		if got := fmtNum(v); got != want {
			t.Errorf("fmtNum(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestResultsEncoding(t *testing.T) {
	r := &Results{Tool: "imbench", Mode: "quick", Machine: Machine{CPUs: 2}, Servers: []string{"imstatusd"},
		Latencies: map[string]Summary{"echo": {N: 3, P50: 80}}}
	r.add(fig("1 idle", "RSS per connection | 5,000", "KiB", 8.5).vs("bare gorilla", 17).want(goal{atMost, 10}),
		fig("5 query", "GetUserStatus p50", "µs", 1400).vs("echo", 400))
	r.notef("%d connections lost", 3)
	path := filepath.Join(t.TempDir(), "results.json")
	if err := r.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Results
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Figures) != 2 || *back.Figures[0].Ratio != 0.5 || !*back.Figures[0].GoalMet ||
		back.Figures[1].GoalMet != nil || back.Latencies["echo"].P50 != 80 || back.Notes[0] != "3 connections lost" {
		t.Errorf("round trip: %s", b)
	}
	md := r.markdown("")
	for _, want := range []string{
		"| 1 idle | RSS per connection \\| 5,000 | 8.50 KiB | 17.0 KiB (bare gorilla) | 0.50× | ≤ 10.0 KiB | yes |",
		"| 5 query | GetUserStatus p50 | 1,400 µs | 400 µs (echo) | 3.50× |  |  |",
		"- 3 connections lost",
		"![latency CDF](latency_cdf.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// The goals table lists only figures with a goal.
	goals := md[strings.Index(md, "### Goals"):strings.Index(md, "### Every figure")]
	if strings.Contains(goals, "GetUserStatus") {
		t.Errorf("goals table holds a figure without a goal:\n%s", goals)
	}
	if !strings.Contains(r.section("../bench/"), "](../bench/memory_per_conn.png)") {
		t.Error("section ignores the image prefix")
	}
}

func TestReplaceBetween(t *testing.T) {
	doc := "intro\n" + docsBegin + "\nold table\n" + docsEnd + "\noutro\n"
	got, err := replaceBetween(doc, docsBegin, docsEnd, "new table\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "intro\n" + docsBegin + "\nnew table\n" + docsEnd + "\noutro\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := replaceBetween("no markers", docsBegin, docsEnd, "x"); err == nil {
		t.Error("no markers: no error")
	}
}

func TestOldEngineColumns(t *testing.T) {
	r := &Results{Mode: "quick", Against: "build/old/abc/imstatusd", Latencies: map[string]Summary{}}
	r.add(fig("3 churn", "deliveries/s", "/s", 300).vs("hub", 400).want(goal{atLeast, 200}),
		fig("3 churn", "changes/s", "/s", 10).vs("hub", 20))
	r.addOld(fig("3 churn", "deliveries/s", "/s", 200).vs("hub", 400).want(goal{atLeast, 200}),
		fig("7 order", "out-of-order statuses", "", 2).want(goal{atMost, 0}))
	f := r.Figures[0]
	if f.Old == nil || *f.Old != 200 || f.NewToOld == nil || *f.NewToOld != 1.5 || !*f.GoalMet {
		t.Errorf("merged figure: %+v", f)
	}
	if r.Figures[1].Old != nil {
		t.Errorf("a figure without old counterpart got one: %+v", r.Figures[1])
	}
	// Without a counterpart the old figure is a row of its own, without goal.
	if len(r.Figures) != 3 || r.Figures[2].Name != "out-of-order statuses (old engine)" || r.Figures[2].Goal != "" {
		t.Errorf("unmatched old figure: %+v", r.Figures)
	}
	md := r.markdown("")
	for _, want := range []string{
		"| scenario | figure | reached | old engine | new/old | baseline | ratio | goal | met |",
		"| 3 churn | deliveries/s | 300 /s | 200 /s | 1.50× | 400 /s (hub) | 0.75× | ≥ 200 /s | yes |",
		"| 3 churn | changes/s | 10.0 /s |  |  | 20.0 /s (hub) | 0.50× |  |  |",
		"| 7 order | out-of-order statuses (old engine) | 2.00 |  |  |  |  |  |  |",
		"build/old/abc/imstatusd",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"old_engine":200`, `"new_to_old":1.5`, `"against":"build/old/abc/imstatusd"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	if f := fig("3 churn", "deliveries/s: new engine ÷ old engine", "×", 0.97).want(goal{atLeast, 0.95}); f.Goal != "≥ 0.95×" || !*f.GoalMet {
		t.Errorf("a ratio figure: %+v", f)
	}
	// Without an old engine the tables keep their columns.
	plain := &Results{}
	plain.add(fig("3 churn", "changes/s", "/s", 10))
	if md := plain.markdown(""); strings.Contains(md, "old engine") {
		t.Errorf("old columns without an old engine:\n%s", md)
	}
}
