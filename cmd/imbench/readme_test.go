package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// README.md's figures are bench/results.json's, as imbench writes them:
// a hand edit of either, or a run that did not update the README, fails.
func TestReadmeQuotesTheResults(t *testing.T) {
	b, err := os.ReadFile("../../bench/results.json")
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := replaceBetween(string(readme), readmeBegin, readmeEnd, r.readmeSummary())
	if err != nil {
		t.Fatal(err)
	}
	if want != string(readme) {
		t.Fatal("README.md's figures are not bench/results.json's: run `go run ./cmd/imbench readme` (./build.sh bench does)")
	}
}

// Every quoted figure is one the bench reports: a renamed figure shows as
// missing rather than silently dropping out of the README.
func TestReadmeSummary(t *testing.T) {
	base := 69.1
	r := Results{Date: "2026-11-30T12:00:00Z", Commit: "abc", Mode: "full", Machine: Machine{CPUs: 2, CPUModel: "X"},
		Figures: []Figure{{Name: "Go core → core p50", Unit: "µs", Value: 120, Baseline: &base, BaselineName: "echo"}}}
	s := r.readmeSummary()
	for _, want := range []string{"2026-11-30, commit abc", "| propagation p50, one subscriber: Go client (`core`) | 120 µs | 69.1 µs (echo) |",
		"| propagation p50, one subscriber: C client (libImSDK) | not measured in that run |  |"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "--against") {
		t.Errorf("a run without an old engine has its column:\n%s", s)
	}
	old := 100.0
	r.Against, r.Figures[0].Old = "old/imstatusd", &old
	if s := r.readmeSummary(); !strings.Contains(s, "| 120 µs | 100 µs | 69.1 µs (echo) |") {
		t.Errorf("the old engine's figure missing:\n%s", s)
	}
}
