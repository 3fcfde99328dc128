package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Results is what one run of imbench measured: bench/results.json.
type Results struct {
	Tool      string `json:"tool"`
	Date      string `json:"date"`
	Mode      string `json:"mode"`
	Command   string `json:"command"`
	GoVersion string `json:"go_version"`
	// Commit is the checkout measured (git), "-dirty" with local changes.
	Commit  string   `json:"commit"`
	Machine Machine  `json:"machine"`
	Servers []string `json:"servers"`
	// Against is the old engine (--against), measured in the same run: its
	// figures are the old_engine values of the figures.
	Against   string  `json:"against,omitempty"`
	DurationS float64 `json:"duration_s"`
	// Scenarios are the scenarios run, with how long each took and how
	// much CPU other processes of the machine used meanwhile.
	Scenarios []ScenarioRun `json:"scenarios"`
	// Figures are the reported numbers, each beside its baseline.
	Figures []Figure `json:"figures"`
	// Latencies are the full summaries behind the latency figures.
	Latencies map[string]Summary `json:"latencies"`
	// CDFs are the curves of latency_cdf.png.
	CDFs []Series `json:"cdfs"`
	// Memory are the points of memory_per_conn.png.
	Memory []MemPoint `json:"memory"`
	// Profiles are the top entries of the server's profiles (--server-profile).
	Profiles []Profile `json:"profiles,omitempty"`
	Notes    []string  `json:"notes"`
}

// ScenarioRun is one scenario of the run.
type ScenarioRun struct {
	Name      string  `json:"name"`
	DurationS float64 `json:"duration_s"`
	OK        bool    `json:"ok"`
	// OtherCPU is the CPU (percent of one core) the machine spent outside
	// imbench and the processes it started, on average while it ran.
	OtherCPU float64 `json:"other_cpu_percent"`
}

// Figure is one measured number, with the baseline measured in the same run
// and, when the issue sets one, the goal.
type Figure struct {
	Scenario     string   `json:"scenario"`
	Name         string   `json:"name"`
	Unit         string   `json:"unit"`
	Value        float64  `json:"value"`
	Baseline     *float64 `json:"baseline,omitempty"`
	BaselineName string   `json:"baseline_name,omitempty"`
	// Ratio is Value / Baseline.
	Ratio   *float64 `json:"ratio,omitempty"`
	Goal    string   `json:"goal,omitempty"`
	GoalMet *bool    `json:"goal_met,omitempty"`
	Note    string   `json:"note,omitempty"`
	// Old is the same figure of the old engine (--against), measured in
	// the same run; NewToOld is Value / Old.
	Old      *float64 `json:"old_engine,omitempty"`
	NewToOld *float64 `json:"new_to_old,omitempty"`
}

// Series is a named latency distribution.
type Series struct {
	Name   string     `json:"name"`
	Points []CDFPoint `json:"points"`
}

// MemPoint is the memory of one server process holding Conns idle connections.
type MemPoint struct {
	Server     string  `json:"server"`
	Conns      int     `json:"conns"`
	RSSBefore  int64   `json:"rss_before_bytes"`
	RSSAfter   int64   `json:"rss_after_bytes"`
	PerConnKiB float64 `json:"per_conn_kib"`
}

// Profile holds the top entries of one server profile.
type Profile struct {
	Scenario string `json:"scenario"`
	Kind     string `json:"kind"`
	File     string `json:"file"`
	Top      string `json:"top"`
}

// goalKind says how a figure is compared with its goal.
type goalKind int

const (
	atMost      goalKind = iota // Value ≤ limit
	atLeast                     // Value ≥ limit
	ratioAtMost                 // Value / Baseline ≤ limit
)

type goal struct {
	kind  goalKind
	limit float64
}

func (g goal) String(unit string) string {
	switch g.kind {
	case atMost:
		return "≤ " + withUnit(g.limit, unit)
	case atLeast:
		return "≥ " + withUnit(g.limit, unit)
	default:
		return "≤ " + fmtNum(g.limit) + "× baseline"
	}
}

// fig returns a figure without baseline or goal.
func fig(scenario, name, unit string, value float64) Figure {
	return Figure{Scenario: scenario, Name: name, Unit: unit, Value: value}
}

// vs sets the figure's baseline and the ratio to it.
func (f Figure) vs(name string, baseline float64) Figure {
	f.BaselineName = name
	f.Baseline = &baseline
	if baseline != 0 && !math.IsNaN(baseline) {
		r := f.Value / baseline
		f.Ratio = &r
	}
	return f
}

// want sets the goal and whether the figure met it.
func (f Figure) want(g goal) Figure {
	f.Goal = g.String(f.Unit)
	var met bool
	switch g.kind {
	case atMost:
		met = f.Value <= g.limit
	case atLeast:
		met = f.Value >= g.limit
	case ratioAtMost:
		met = f.Ratio != nil && *f.Ratio <= g.limit
	}
	f.GoalMet = &met
	return f
}

func (f Figure) note(s string) Figure {
	f.Note = s
	return f
}

func (r *Results) add(fs ...Figure) { r.Figures = append(r.Figures, fs...) }

// addOld puts the old engine's figures beside the server's: each becomes
// the Old value of the figure of the same scenario and name. One without a
// counterpart (the server's run failed) becomes a row of its own, named
// "… (old engine)", so that no figure is lost.
func (r *Results) addOld(fs ...Figure) {
	for _, o := range fs {
		i := slices.IndexFunc(r.Figures, func(f Figure) bool {
			return f.Scenario == o.Scenario && f.Name == o.Name && f.Old == nil && !strings.HasSuffix(f.Name, oldSuffix)
		})
		if i < 0 {
			o.Name += oldSuffix
			o.Goal, o.GoalMet = "", nil // the goals are the server's
			r.Figures = append(r.Figures, o)
			continue
		}
		f := &r.Figures[i]
		v := o.Value
		f.Old = &v
		if v != 0 && !math.IsNaN(v) {
			q := f.Value / v
			f.NewToOld = &q
		}
	}
}

const oldSuffix = " (old engine)"

// hasOld reports whether the results compare with an old engine.
func (r *Results) hasOld() bool {
	if r.Against != "" {
		return true
	}
	return slices.ContainsFunc(r.Figures, func(f Figure) bool { return f.Old != nil })
}

func (r *Results) notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// writeJSON writes the results, indented.
func (r *Results) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// fmtNum formats a figure with about three significant digits and
// thousands separators.
func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	var s string
	switch {
	case a >= 100:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	default:
		s = strconv.FormatFloat(v, 'g', 2, 64)
	}
	if a < 1000 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// withUnit formats a figure and its unit: "12.3 µs", "0.98×" (a ratio).
func withUnit(v float64, unit string) string {
	if unit == "×" {
		return fmtNum(v) + unit
	}
	return strings.TrimSpace(fmtNum(v) + " " + unit)
}

func fmtRatio(r *float64) string {
	if r == nil {
		return ""
	}
	return strconv.FormatFloat(*r, 'f', 2, 64) + "×"
}

func fmtMet(m *bool) string {
	switch {
	case m == nil:
		return ""
	case *m:
		return "yes"
	}
	return "**no**"
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// markdown renders the results as bench/results.md; the plots are in
// the same directory.
func (r *Results) markdown(imgPrefix string) string {
	return fmt.Sprintf("# imbench results (%s)\n\n", r.Mode) + r.section(imgPrefix)
}

// section is the body of results.md: the run, the goals, every figure, the
// notes and the plots (found under imgPrefix).
func (r *Results) section(imgPrefix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run of %s · commit %s · %d × %s · %d MiB · Linux %s · %s · %.0f s · `%s`\n\n",
		r.Date, r.Commit, r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemTotalMB, r.Machine.Kernel, r.GoVersion, r.DurationS, r.Command)
	fmt.Fprintf(&b, "Server under test: %s. Load, server and baselines share the machine; "+
		"each baseline ran in the same run, so the ratios are the figures to compare across machines.\n\n",
		strings.Join(r.Servers, ", "))
	old := r.hasOld()
	if old {
		fmt.Fprintf(&b, "Old engine (`--against`): %s, measured in the same run: its figures are in the column *old engine*, "+
			"and *new/old* divides the server's by them.\n\n", r.Against)
	}
	header := func(value string) {
		if old {
			fmt.Fprintf(&b, "| scenario | figure | %s | old engine | new/old | baseline | ratio | goal | met |\n|---|---|---|---|---|---|---|---|---|\n", value)
		} else {
			fmt.Fprintf(&b, "| scenario | figure | %s | baseline | ratio | goal | met |\n|---|---|---|---|---|---|---|\n", value)
		}
	}
	b.WriteString("### Goals\n\n")
	header("reached")
	for _, f := range r.Figures {
		if f.Goal != "" {
			writeRow(&b, f, old)
		}
	}
	b.WriteString("\n### Every figure\n\n")
	header("value")
	for _, f := range r.Figures {
		writeRow(&b, f, old)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n### Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if len(r.Profiles) > 0 {
		b.WriteString("\n### Server profiles (same load, server with pprof)\n")
		for _, p := range r.Profiles {
			fmt.Fprintf(&b, "\n%s, %s (`%s`):\n\n```\n%s```\n", p.Scenario, p.Kind, p.File, topLines(p.Top, 18))
		}
	}
	fmt.Fprintf(&b, "\n![latency CDF](%slatency_cdf.png)\n\n![memory per connection](%smemory_per_conn.png)\n", imgPrefix, imgPrefix)
	return b.String()
}

// topLines keeps the table of a `go tool pprof -top` output, n entries of it.
func topLines(top string, n int) string {
	lines := strings.Split(strings.TrimRight(top, "\n"), "\n")
	for i, l := range lines {
		if strings.Contains(l, "flat%") {
			lines = lines[i:]
			break
		}
	}
	if len(lines) > n+1 {
		lines = lines[:n+1]
	}
	return strings.Join(lines, "\n") + "\n"
}

// writeRow writes a figure's row; with old, the old engine's value and
// new/old follow the value.
func writeRow(b *strings.Builder, f Figure, old bool) {
	name := f.Name
	if f.Note != "" {
		name += " (" + f.Note + ")"
	}
	base := ""
	if f.Baseline != nil {
		base = withUnit(*f.Baseline, f.Unit) + " (" + f.BaselineName + ")"
	}
	value := withUnit(f.Value, f.Unit)
	if old {
		o := ""
		if f.Old != nil {
			o = withUnit(*f.Old, f.Unit)
		}
		value += " | " + o + " | " + fmtRatio(f.NewToOld)
	}
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", f.Scenario, mdEscape(name),
		value, mdEscape(base), fmtRatio(f.Ratio), f.Goal, fmtMet(f.GoalMet))
}
