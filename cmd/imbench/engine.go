package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"time"
)

// oldEngineName names the --against binary in progress lines, results and
// plots.
const oldEngineName = "imstatusd (old engine)"

// engine is an imstatusd binary imbench starts: the server under test
// (bin/imstatusd) or the old engine of --against, measured beside it.
type engine struct {
	name string
	path string
	// data: the binary takes --data DIR (a durable data directory, which
	// defaults to a path in the working directory); every start then gets
	// a fresh temporary one.
	data bool
	// apps is the apps file it serves (env.writeAppsFile).
	apps string
}

// newEngine checks that path runs and asks its --help which flags it takes.
func newEngine(ctx context.Context, name, path string) (*engine, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("%s is not an executable file", path)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A flag package program prints its usage and exits with status 2 (or
	// 1) after --help: the exit status says nothing, the output does.
	out, err := exec.CommandContext(ctx, path, "--help").CombinedOutput()
	if len(out) == 0 {
		return nil, fmt.Errorf("%s --help printed nothing: %v", path, err)
	}
	return &engine{name: name, path: path, data: helpHasFlag(out, "data")}, nil
}

// helpHasFlag reports whether a program's --help output lists the flag
// -name (or --name) at the start of a line, as the flag package prints it.
func helpHasFlag(help []byte, name string) bool {
	re := regexp.MustCompile(`(?m)^[ \t]*--?` + regexp.QuoteMeta(name) + `([ \t=]|$)`)
	return re.Match(help)
}

// describe is how the results name the engine.
func (g *engine) describe() string {
	s := g.path + " (one node, started per scenario"
	if g.data {
		s += "; a fresh --data directory each time"
	}
	return s + ")"
}

// oldFailed reports a failure of the old engine's part of a scenario: a
// note, not a failure of the run (the old engine is not under test).
func (e *env) oldFailed(scenario string, err error) {
	e.prog.printf("!! %s, old engine: %v", scenario, err)
	e.res.notef("Scenario %s on the old engine failed (its figures are missing from the column old engine): %s", scenario, oneLine(err.Error()))
}

// addNewToOld adds the ratio of the server's figure to the old engine's
// as a figure of its own, with its goal (nil: none).
func (e *env) addNewToOld(scenario, name string, value, old float64, g *goal) {
	name += ": new engine ÷ old engine"
	if old == 0 || math.IsNaN(old) || math.IsNaN(value) || math.IsInf(value/old, 0) {
		e.res.notef("%s %s: no ratio (new %g, old %g).", scenario, name, value, old)
		return
	}
	f := fig(scenario, name, "×", value/old)
	if g != nil {
		f = f.want(*g)
	}
	e.res.add(f)
}
