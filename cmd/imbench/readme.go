package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
)

// README.md quotes a few figures of the last run between these markers:
// `imbench run --readme README.md` (what ./build.sh bench does) and
// `imbench readme` write them from the results, so the README cannot say
// what the results do not (TestReadmeQuotesTheResults).
const (
	readmeBegin = "<!-- imbench:readme:begin -->"
	readmeEnd   = "<!-- imbench:readme:end -->"
)

// readmeQuotes are the figures the README quotes, by name.
var readmeQuotes = []struct{ what, figure string }{
	{"RSS per idle logged-in connection, 19,900 connections", "RSS per connection, 19,900 logged-in conns"},
	{"propagation p50, one subscriber: raw WebSocket", "raw WS → raw WS p50"},
	{"propagation p50, one subscriber: Go client (`core`)", "Go core → core p50"},
	{"propagation p50, one subscriber: C client (libImSDK)", "C libImSDK → C p50"},
	{"1,000 subscribers: delivery p50", "1,000 subscribers: delivery p50"},
	{"1,000 subscribers: last delivery", "1,000 subscribers: last delivery (median of changes)"},
	{"fan-out to 10,000 subscribers: last delivery", "10,000 subscribers: last delivery (median of changes)"},
	{"churn, 19,000 users × 200 subscriptions: deliveries/s", "19,000 users × 200 subscriptions: deliveries/s"},
	{"reconnect storm, 19,000 clients: every view final", "19,000 clients: every view final (ONLINE)"},
	{"reconnect storm, 19,000 clients: missed final states", "19,000 clients: missed final states"},
	{"2,000 users × 50 changes while their watchers re-subscribe: changes/s", "2,000 users × 50 changes, 2,000 watchers × 50: changes/s"},
	{"the same: out-of-order statuses", "2,000 users × 50 changes, 2,000 watchers × 50: out-of-order statuses"},
	{"GetUserStatus of 500 ids from C, p50", "GetUserStatus(500) C libImSDK p50"},
	{"an export call from C (`TIMGetLoginStatus`)", "C: export call TIMGetLoginStatus"},
	{"a P/Invoke from Mono (`TIMGetLoginStatus`)", "Mono: P/Invoke TIMGetLoginStatus"},
}

// figure returns the figure called name.
func (r *Results) figure(name string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

// readmeSummary is what README.md holds between its markers: the run, and
// a table of the quoted figures beside their baselines (and the old
// engine's, when the run measured one).
func (r *Results) readmeSummary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Figures of the last run written to `bench/` (%s, commit %s, %s mode, %d × %s; "+
		"`bench/results.md` has every figure, `docs/BENCHMARKS.md` the goals, plots and profiles):\n\n",
		strings.SplitN(r.Date, "T", 2)[0], r.Commit, r.Mode, r.Machine.CPUs, r.Machine.CPUModel)
	old := r.Against != ""
	if old {
		fmt.Fprintf(&b, "The engine in `--against` is %s, measured in the same run.\n\n", r.Against)
		b.WriteString("| | imstatus | engine in `--against` | baseline, same run |\n|---|---|---|---|\n")
	} else {
		b.WriteString("| | imstatus | baseline, same run |\n|---|---|---|\n")
	}
	for _, q := range readmeQuotes {
		f, ok := r.figure(q.figure)
		value, oldValue, base := "not measured in that run", "", ""
		if ok {
			value = withUnit(f.Value, f.Unit)
			if f.Old != nil {
				oldValue = withUnit(*f.Old, f.Unit)
			}
			if f.Baseline != nil {
				base = withUnit(*f.Baseline, f.Unit) + " (" + f.BaselineName + ")"
			}
		}
		if old {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdEscape(q.what), value, oldValue, mdEscape(base))
		} else {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdEscape(q.what), value, mdEscape(base))
		}
	}
	return b.String()
}

// updateReadme replaces what lies between the README's markers in path.
func updateReadme(path string, r *Results) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s, err := replaceBetween(string(b), readmeBegin, readmeEnd, r.readmeSummary())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// readmeMain is `imbench readme`: the README's figures written again from
// a results file.
func readmeMain(args []string) error {
	fs := flag.NewFlagSet("imbench readme", flag.ContinueOnError)
	results := fs.String("results", "bench/results.json", "the results `FILE` to quote")
	readme := fs.String("readme", "README.md", "the `FILE` whose figures to replace")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("readme: unexpected arguments %q", fs.Args())
	}
	b, err := os.ReadFile(*results)
	if err != nil {
		return err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", *results, err)
	}
	return updateReadme(*readme, &r)
}
