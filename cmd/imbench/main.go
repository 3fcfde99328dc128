// Command imbench measures imstatusd against bare gorilla/websocket
// baselines measured in the same run on the same machine, and writes
// results.json, results.md and PNG plots (see docs/BENCHMARKS.md).
//
//	imbench [run] [--quick] [--out DIR] [--servers HOST:PORT,…] [--against BIN] …
//	imbench baseline-idle|baseline-echo|baseline-hub [--addr A]
//	imbench plot [--out DIR] RESULTS.json              draw the plots again
//	imbench readme [--results FILE] [--readme FILE]     quote the results in README.md again
//
// Every load goes to loopback (127.0.0.0/8) only, and every scenario is
// bounded in connections and in time.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/imstatus/imstatus/usersig"
)

func main() {
	args := os.Args[1:]
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = run(args)
	case "baseline-idle":
		err = baselineIdle(args)
	case "baseline-echo":
		err = baselineEcho(args)
	case "baseline-hub":
		err = baselineHub(args)
	case "plot":
		err = replot(args)
	case "readme":
		err = readmeMain(args)
	case "storm-worker":
		err = stormWorkerMain(args)
	case "relay":
		err = relayMain(args)
	default:
		err = fmt.Errorf("unknown command %q (run, baseline-idle, baseline-echo, baseline-hub, plot, readme, storm-worker, relay)", cmd)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "imbench:", err)
		os.Exit(1)
	}
}

// Scenario names, in the order they run.
var allScenarios = []string{"boundary", "latency", "fanout", "idle", "churn", "order", "storm-wide"}

type options struct {
	quick         bool
	out           string
	bin, lib      string
	benchSrc      string
	servers       []string
	cluster       int // nodes on one Redis, when > 0
	widePer       int // storm-wide's clients per load process; 0: the run's size
	sdkAppID      uint64
	key           string
	sources       []net.IP
	scenarios     map[string]bool
	serverProfile string
	cpuProfile    string
	memProfile    string
	docs          string
	readme        string
	timeout       time.Duration
	quietWait     time.Duration
	against       string // the old engine's imstatusd, measured beside bin/imstatusd
}

// sizes are a run's load: the full run or --quick.
type sizes struct {
	idle                 []int
	latencySamples       int
	cSamples             int
	queryPop, queryCalls int
	fanSmall, fanSmallN  int // subscribers, changes
	fanLarge, fanLargeN  int
	churnUsers, churnSub int
	churnWarm, churnRun  time.Duration
	churnDrivers         int
	orderUsers           int // changers
	orderChanges         int // changes of each
	orderWatchers        int
	orderWatch           int // targets of each watcher
	orderTogglers        int // watchers unsubscribing and re-subscribing at once
	boundaryCalls        int
	profileFor           time.Duration
}

var (
	fullSizes = sizes{
		idle:           []int{5000, 10000, 19900},
		latencySamples: 5000, cSamples: 3000,
		queryPop: 1000, queryCalls: 500,
		fanSmall: 1000, fanSmallN: 100,
		fanLarge: 10000, fanLargeN: 30,
		churnUsers: 19000, churnSub: 200,
		churnWarm: 2 * time.Second, churnRun: 10 * time.Second,
		churnDrivers: 64,
		orderUsers:   2000, orderChanges: 50,
		orderWatchers: 2000, orderWatch: 50, orderTogglers: 16,
		boundaryCalls: 2000000,
		profileFor:    10 * time.Second,
	}
	quickSizes = sizes{
		idle:           []int{1000},
		latencySamples: 1000, cSamples: 300,
		queryPop: 600, queryCalls: 100,
		fanSmall: 200, fanSmallN: 30,
		fanLarge: 2000, fanLargeN: 10,
		churnUsers: 2000, churnSub: 200,
		churnWarm: time.Second, churnRun: 3 * time.Second,
		churnDrivers: 32,
		orderUsers:   300, orderChanges: 20,
		orderWatchers: 300, orderWatch: 50, orderTogglers: 8,
		boundaryCalls: 200000,
		profileFor:    3 * time.Second,
	}
)

func parseOptions(args []string) (options, error) {
	fs := flag.NewFlagSet("imbench run", flag.ContinueOnError)
	var o options
	var servers, sources, scenarios string
	fs.BoolVar(&o.quick, "quick", false, "small loads: the whole run in under 2 minutes")
	fs.StringVar(&o.out, "out", "bench", "output `DIR` for results.json, results.md and the plots")
	fs.StringVar(&o.bin, "bin", "build/bin", "`DIR` of imstatusd, latency and cboundary (./build.sh bench builds them)")
	fs.StringVar(&o.lib, "lib", "build/lib", "`DIR` of libImSDK.so")
	fs.StringVar(&o.benchSrc, "bench-src", "bench", "`DIR` of the C# boundary program's source")
	fs.StringVar(&servers, "servers", "", "comma-separated `HOST:PORT`s of running imstatusd nodes on loopback; clients spread over them round robin (default: start bin/imstatusd; RSS and CPU are measured only then)")
	fs.IntVar(&o.cluster, "cluster", 0, "run each scenario against `N` imstatusd nodes sharing one redis-server that imbench starts (from PATH); clients spread over the nodes round robin")
	fs.Uint64Var(&o.sdkAppID, "sdkappid", 1400000000, "the app's SDKAppID (with --servers)")
	fs.StringVar(&o.key, "key", "imbench-secret-key", "the app's secret key (with --servers)")
	fs.StringVar(&sources, "sources", "127.0.0.2-127.0.0.9", "local source `ADDRS` for the load's connections, a range A-B or a comma list; empty: the kernel's choice")
	fs.IntVar(&o.widePer, "storm-wide-per", 0, "storm-wide: `N` clients in each of its 3 load processes (default 8,000; 1,000 with --quick)")
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "which scenarios to run: "+strings.Join(allScenarios, ","))
	fs.StringVar(&o.serverProfile, "server-profile", "", "also run fan-out, churn and the storm against imstatusd --pprof and save its CPU, alloc and mutex-contention profiles in `DIR`")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write imbench's own CPU profile to `FILE`")
	fs.StringVar(&o.memProfile, "memprofile", "", "write imbench's own heap profile to `FILE` at the end")
	fs.StringVar(&o.docs, "docs", "", "replace the results section of `FILE` (docs/BENCHMARKS.md) with this run's table")
	fs.StringVar(&o.readme, "readme", "", "replace the figures `FILE` (README.md) quotes with this run's")
	fs.DurationVar(&o.timeout, "timeout", 14*time.Minute, "stop everything after this long")
	fs.StringVar(&o.against, "against", "", "also measure the old engine, another imstatusd `BIN`ary, beside bin/imstatusd in the latency (core → core), idle, churn, storm and order scenarios")
	fs.DurationVar(&o.quietWait, "quiet-wait", time.Minute, "before each scenario, wait up to this long for other processes to leave the CPUs alone (0: do not wait; default 10s with --quick)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.quick {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "quiet-wait" })
		if !set {
			o.quietWait = 10 * time.Second
		}
	}
	for _, s := range strings.Split(servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if err := checkLoopback(s); err != nil {
				return o, err
			}
			o.servers = append(o.servers, s)
		}
	}
	if o.against != "" && len(o.servers) > 0 {
		return o, errors.New("--against starts the old engine itself: it does not go with --servers")
	}
	if o.widePer < 0 || o.widePer > 19000 {
		return o, errors.New("--storm-wide-per N: 0 < N ≤ 19,000 (a load process holds at most that many connections here)")
	}
	if o.cluster < 0 || o.cluster > 0 && (len(o.servers) > 0 || o.against != "") {
		return o, errors.New("--cluster N: N ≥ 1 nodes that imbench starts; it goes with neither --servers nor --against")
	}
	var err error
	if o.sources, err = parseSources(sources); err != nil {
		return o, err
	}
	o.scenarios = make(map[string]bool)
	for _, s := range strings.Split(scenarios, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			return o, fmt.Errorf("unknown scenario %q (%s)", s, strings.Join(allScenarios, ", "))
		}
		o.scenarios[s] = true
	}
	return o, nil
}

// checkLoopback refuses an address outside 127.0.0.0/8: imbench loads
// only this machine.
func checkLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return fmt.Errorf("%s is not a 127.0.0.0/8 address: imbench loads loopback only", hostport)
	}
	return nil
}

// parseSources reads "A-B" (a range of the last octet), a comma list of
// IPv4 loopback addresses, or "" (none).
func parseSources(s string) ([]net.IP, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []net.IP
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a := net.ParseIP(lo).To4()
		if a == nil || !a.IsLoopback() {
			return nil, fmt.Errorf("source %q is not an IPv4 loopback address", lo)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b := net.ParseIP(hi).To4()
		if b == nil || !b.IsLoopback() || !a[:3].Equal(b[:3]) || b[3] < a[3] {
			return nil, fmt.Errorf("source range %q: want A-B within one /24, A ≤ B", part)
		}
		for x := int(a[3]); x <= int(b[3]); x++ {
			out = append(out, net.IPv4(a[0], a[1], a[2], byte(x)).To4())
		}
	}
	return out, nil
}

// raiseFileLimit raises the soft limit of open files to the hard one.
func raiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return 0, err
		}
	}
	return rl.Cur, nil
}

// env is one run: its options, output and shared state.
type env struct {
	opts     options
	sz       sizes
	prog     *progress
	res      *Results
	pool     *dialPool
	self     string // this executable, for the baselines
	tmp      string
	appsFile string
	sdkAppID uint64
	key      string
	prefix   string // of every user id: unique per run against external servers
	maxFiles uint64

	engine *engine // the server under test: bin/imstatusd
	old    *engine // the old engine (--against), or nil

	sigMu sync.Mutex
	sigs  map[string]string

	lat      map[string][]int64 // latency samples (ns) kept for the CDF plot
	latOrder []string

	stormWindow  time.Duration           // how long a storm's client may retry; default 90 s
	stormBackoff func(int) time.Duration // its wait after attempt n; default 100 ms doubling to 1.6 s
}

func run(args []string) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	start := time.Now()
	maxFiles, err := raiseFileLimit()
	if err != nil {
		return fmt.Errorf("raising the open-file limit: %w", err)
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	e := &env{
		opts: o, sz: fullSizes, prog: newProgress(os.Stderr), pool: newDialPool(o.sources),
		sdkAppID: o.sdkAppID, key: o.key, maxFiles: maxFiles,
		sigs: make(map[string]string), lat: make(map[string][]int64),
	}
	mode := "full"
	if o.quick {
		e.sz, mode = quickSizes, "quick"
	}
	if e.self, err = os.Executable(); err != nil {
		return err
	}
	if e.tmp, err = os.MkdirTemp("", "imbench-"); err != nil {
		return err
	}
	defer os.RemoveAll(e.tmp)
	if len(o.servers) > 0 {
		// Users of earlier runs are still there: start afresh with new names.
		e.prefix = "b" + strconv.FormatInt(time.Now().Unix()%100000, 36) + "_"
		// The running servers are the engine under test; imbench starts none.
		e.engine = &engine{name: "imstatusd"}
	} else {
		e.sdkAppID, e.key = 1400000000, "imbench-secret-key"
		if e.engine, err = newEngine(ctx, "imstatusd", filepath.Join(o.bin, "imstatusd")); err != nil {
			return err
		}
		if e.appsFile, err = e.writeAppsFile(e.engine); err != nil {
			return err
		}
	}
	if o.against != "" {
		if e.old, err = newEngine(ctx, oldEngineName, o.against); err != nil {
			return fmt.Errorf("--against: %w", err)
		}
		if _, err = e.writeAppsFile(e.old); err != nil {
			return err
		}
	}
	e.res = &Results{
		Tool: "imbench", Date: start.UTC().Format(time.RFC3339), Mode: mode,
		Command: "imbench " + strings.Join(args, " "), GoVersion: runtime.Version(),
		Machine: machineInfo(), Latencies: make(map[string]Summary), Commit: gitCommit(),
	}
	if len(o.servers) > 0 {
		e.res.Servers = o.servers
		e.res.notef("Servers given with --servers: their RSS and CPU are not measured (idle memory and CPU figures are skipped), and the baselines run on this machine.")
	} else {
		e.res.Servers = []string{e.engine.describe()}
	}
	if e.old != nil {
		e.res.Against = e.old.describe()
	}
	e.prog.printf("imbench %s run: scenarios %s; open-file limit %d; load from %d source addresses",
		mode, strings.Join(selected(o.scenarios), ","), maxFiles, max(len(o.sources), 1))
	if e.old != nil {
		e.prog.printf("old engine beside the server under test: %s", e.old.describe())
	}

	steps := map[string]func(context.Context) error{
		"boundary":   e.scenarioBoundary,
		"latency":    e.scenarioLatency,
		"fanout":     e.scenarioFanout,
		"idle":       e.scenarioIdle,
		"churn":      e.scenarioChurn,
		"order":      e.scenarioOrder,
		"storm-wide": e.scenarioStormWide,
	}
	var failed []string
	for _, name := range allScenarios {
		if !o.scenarios[name] {
			continue
		}
		e.waitQuiet(ctx)
		e.prog.printf("== %s", name)
		t0 := time.Now()
		before, snapErr := takeCPUSnapshot()
		err := steps[name](ctx)
		if err != nil {
			e.prog.printf("!! %s failed: %v", name, err)
			e.res.notef("Scenario %s failed: %s", name, oneLine(err.Error()))
			failed = append(failed, name)
		}
		run := ScenarioRun{Name: name, DurationS: time.Since(t0).Seconds(), OK: err == nil}
		if after, err := takeCPUSnapshot(); err == nil && snapErr == nil {
			run.OtherCPU = otherCPU(before, after)
		}
		e.res.Scenarios = append(e.res.Scenarios, run)
		e.prog.printf("== %s took %.1f s; other processes used %.0f%% CPU meanwhile", name, run.DurationS, run.OtherCPU)
		// With --servers the servers themselves are "other processes".
		if run.OtherCPU >= 10 && len(o.servers) == 0 {
			e.res.notef("While %s ran, processes outside this benchmark used %.0f%% of a core on average: its figures may be disturbed (the baselines ran in the same scenario).", name, run.OtherCPU)
		}
		if ctx.Err() != nil {
			e.res.notef("The run stopped at its --timeout (%v).", o.timeout)
			break
		}
	}
	if o.serverProfile != "" && ctx.Err() == nil {
		e.prog.printf("== profiles (imstatusd --pprof)")
		if err := e.profiles(ctx); err != nil {
			e.prog.printf("!! profiles failed: %v", err)
			e.res.notef("Profiling failed: %s", oneLine(err.Error()))
		}
	}
	e.res.DurationS = time.Since(start).Seconds()
	if err := e.writeOutputs(); err != nil {
		return err
	}
	if o.memProfile != "" {
		f, err := os.Create(o.memProfile)
		if err != nil {
			return err
		}
		runtime.GC()
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	e.prog.printf("done in %.0f s: %s", time.Since(start).Seconds(), filepath.Join(o.out, "results.md"))
	if len(failed) > 0 {
		// The results are written, failures in their notes; the exit status says so too.
		return fmt.Errorf("scenarios failed: %s (see the notes of %s)", strings.Join(failed, ", "), filepath.Join(o.out, "results.md"))
	}
	return nil
}

func selected(m map[string]bool) []string {
	var out []string
	for _, s := range allScenarios {
		if m[s] {
			out = append(out, s)
		}
	}
	return out
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " | ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// gitCommit names the checkout's commit, "-dirty" when tracked files differ
// from it; "" outside a git checkout.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		commit += "-dirty"
	}
	return commit
}

// waitQuiet waits, up to --quiet-wait, until processes outside the
// benchmark have used less than 15% of a core for two seconds in a row.
func (e *env) waitQuiet(ctx context.Context) {
	if e.opts.quietWait <= 0 {
		return
	}
	deadline := time.Now().Add(e.opts.quietWait)
	quiet, said := 0, false
	prev, err := takeCPUSnapshot()
	for err == nil && quiet < 2 && time.Now().Before(deadline) {
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return
		}
		var cur cpuSnapshot
		if cur, err = takeCPUSnapshot(); err != nil {
			break
		}
		other := otherCPU(prev, cur)
		prev = cur
		if other < 15 {
			quiet++
			continue
		}
		quiet = 0
		if !said {
			e.prog.printf("waiting for the machine to be quiet: other processes use %.0f%% CPU", other)
			said = true
		}
	}
	if quiet < 2 && err == nil {
		e.prog.printf("the machine is still busy after %v; going on", e.opts.quietWait)
	}
}

// writeAppsFile writes the app eng serves in the benchmark, and notes it
// in eng.apps: every feature on, limits high enough for load (the
// scenarios change one user far faster than any person does: the per-user
// fan-out cap is off where the engine has one, as an apps file that names
// it is refused by an engine that has not), and a heartbeat timeout longer
// than any scenario (the load clients send no heartbeats).
func (e *env) writeAppsFile(eng *engine) (string, error) {
	bin, err := os.ReadFile(eng.path)
	if err != nil {
		return "", err
	}
	fanout := ""
	if bytes.Contains(bin, []byte("fanouts_per_second")) {
		fanout = `,"fanouts_per_second":1000000000,"fanout_burst":1000000000`
	}
	f, err := os.CreateTemp(e.tmp, "apps-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, `{"apps":[{"sdkappid":%d,"secret_key":%q,"edition":"ultimate",`+
		`"user_status_enabled":true,"friend_status_auto_notify":false,"heartbeat_timeout_ms":3600000,`+
		`"rate_limit_calls":1000000,"rate_limit_window_ms":1000,"max_subscriptions":200%s}]}`+"\n", e.sdkAppID, e.key, fanout)
	eng.apps = f.Name()
	return f.Name(), err
}

// sig returns a UserSig for user, generated once.
func (e *env) sig(user string) string {
	e.sigMu.Lock()
	s, ok := e.sigs[user]
	e.sigMu.Unlock()
	if ok {
		return s
	}
	s, err := usersig.Generate(e.key, e.sdkAppID, user, 24*time.Hour, time.Now())
	if err != nil {
		return "" // an invalid id: the login says why
	}
	e.sigMu.Lock()
	e.sigs[user] = s
	e.sigMu.Unlock()
	return s
}

// user returns the id of a benchmark user.
func (e *env) user(name string) string { return e.prefix + name }

// userN returns the id of user i of a population.
func (e *env) userN(pop string, i int) string { return e.prefix + pop + strconv.Itoa(i) }

// epoch is the clock of the timestamps that payloads carry: one process,
// one monotonic clock.
var epoch = time.Now()

// stamp is now, in nanoseconds since epoch.
func stamp() int64 { return int64(time.Since(epoch)) }

// startServer starts the server under test: imstatusd, fresh, unless
// --servers names running ones.
func (e *env) startServer(ctx context.Context) (*target, error) {
	if len(e.opts.servers) > 0 {
		return &target{name: "imstatusd", addrs: e.opts.servers}, nil
	}
	if e.opts.cluster > 0 {
		return e.startCluster(ctx, e.engine, e.opts.cluster)
	}
	return e.startEngine(ctx, e.engine, false)
}

// startProfiled starts the server under test with its profiles exposed
// (imstatusd --pprof).
func (e *env) startProfiled(ctx context.Context) (*target, error) {
	if e.appsFile == "" {
		return nil, errors.New("profiling needs a server imbench starts (no --servers)")
	}
	return e.startEngine(ctx, e.engine, true)
}

// startEngine starts eng, fresh, with the benchmark's apps file (and, with
// pprof, its profiles exposed). An engine that keeps durable data gets a
// new empty data directory, removed when the target stops.
func (e *env) startEngine(ctx context.Context, eng *engine, pprof bool) (*target, error) {
	args := []string{"--addr", "127.0.0.1:0", "--apps", eng.apps, "--log-level", "info", "--shutdown-timeout", "3s"}
	name := eng.name
	if pprof {
		args = append(args, "--pprof", "127.0.0.1:0")
		name += " --pprof"
	}
	var data string
	if eng.data {
		var err error
		if data, err = os.MkdirTemp(e.tmp, "data-"); err != nil {
			return nil, err
		}
		args = append(args, "--data", data)
	}
	c, err := startChildWith(ctx, name, eng.path, pprof, args...)
	if err != nil {
		if data != "" {
			os.RemoveAll(data)
		}
		return nil, err
	}
	return &target{name: name, addrs: []string{c.addr}, procs: []*child{c}, dataDir: data}, nil
}

// startBaseline starts one of the baseline servers.
func (e *env) startBaseline(ctx context.Context, kind string) (*target, error) {
	c, err := startChild(ctx, kind, e.self, kind, "--addr", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &target{name: kind, addrs: []string{c.addr}, procs: []*child{c}}, nil
}

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// progress prints timestamped lines while the run goes on.
type progress struct {
	start time.Time
	mu    sync.Mutex
	w     io.Writer
}

func newProgress(w io.Writer) *progress { return &progress{start: time.Now(), w: w} }

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// ticker prints label and status() every 2 s until the returned stop is
// called, and once more then if it printed before.
func (p *progress) ticker(label string, status func() string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		printed := false
		for {
			select {
			case <-t.C:
				p.printf("   %s: %s", label, status())
				printed = true
			case <-done:
				if printed {
					p.printf("   %s: %s", label, status())
				}
				return
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-finished }) }
}
