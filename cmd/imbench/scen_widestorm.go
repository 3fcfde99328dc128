package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imstatus/imstatus/wire"
)

// Scenario storm-wide (with --cluster): a reconnect storm of more clients
// than one process may hold (20,000 open files here), spread over several
// load processes — imbench storm-worker, each holding a slice of the
// users — against the cluster's nodes. Every client watches the S users
// before it on a ring that spans all the workers; the figure is how long
// until every client is back, logged in and subscribed, and how many views
// are not ONLINE once the storm has settled.

// wideWindow is how long a client of the wide storm may take to come
// back: tens of thousands of logins and subscriptions on one small
// machine's Redis take minutes, not the one-process storm's 90 s.
const wideWindow = 5 * time.Minute

// sdkBackoff is libImSDK's wait between connection attempts (core's
// defaults: 250 ms doubling to 30 s), which the wide storm's clients use:
// tens of thousands of clients retrying every 1.6 s spend the nodes' CPU
// on handshakes the nodes then have to refuse.
func sdkBackoff(attempt int) time.Duration {
	return min(250*time.Millisecond<<min(attempt, 7), 30*time.Second)
}

// wideSizes are the clients per worker, the workers, and each client's
// subscriptions.
func (e *env) wideSizes() (per, workers, S int) {
	if e.opts.widePer > 0 {
		return e.opts.widePer, 3, 50
	}
	if e.opts.quick {
		return 1000, 3, 50
	}
	// 24,000 in all: more than one process may hold here. 3 × 15,000 did
	// not settle within the window on a 2-core machine that also runs the
	// nodes, Redis and the load (docs/CLUSTER.md).
	return 8000, 3, 50
}

func (e *env) scenarioStormWide(ctx context.Context) error {
	if e.opts.cluster == 0 {
		e.res.notef("storm-wide skipped: it runs against a cluster (--cluster N).")
		return nil
	}
	per, workers, S := e.wideSizes()
	n := per * workers
	t, err := e.startServer(ctx)
	if err != nil {
		return err
	}
	defer t.stop()
	e.prog.printf("storm-wide: %d clients in %d load processes over %d nodes, %d subscriptions each", n, workers, len(t.addrs), S)
	ws := make([]*stormWorker, workers)
	defer func() {
		for _, w := range ws {
			if w != nil {
				w.close()
			}
		}
	}()
	for k := range ws {
		if ws[k], err = e.startStormWorker(ctx, t, n, k*per, (k+1)*per, S); err != nil {
			return err
		}
	}
	// Every account must exist before anyone subscribes to it: all log
	// in, then all subscribe, then all drop at once.
	for _, phase := range []string{"login", "subscribe"} {
		t0 := time.Now()
		if _, err := allWorkers(ws, phase); err != nil {
			return err
		}
		e.prog.printf("   %d clients: %s done in %.1f s", n, phase, time.Since(t0).Seconds())
	}
	time.Sleep(time.Second)
	sampler := t.sampleCPU(100 * time.Millisecond)
	results, err := allWorkers(ws, "storm")
	peak, mean, _ := sampler.stop(500 * time.Millisecond)
	if err != nil {
		return err
	}
	e.prog.printf("   nodes after the storm: %s", nodeCounters(t, "imstatus_requests_shed_total", "imstatus_store_errors_total", "imstatus_logins_total"))
	if t.redis != nil {
		if info, err := t.redis.rdb.Info(ctx, "cpu", "stats").Result(); err == nil {
			e.prog.printf("   redis: %s", grepInfo(info, "used_cpu_sys:", "used_cpu_user:", "total_commands_processed:"))
		}
	}
	var r stormResult
	for _, line := range results {
		var all, conv float64
		var missed, failed int
		if _, err := fmt.Sscanf(line, "all=%g converged=%g missed=%d failed=%d", &all, &conv, &missed, &failed); err != nil {
			return fmt.Errorf("storm-wide: a worker answered %q", line)
		}
		r.all = max(r.all, time.Duration(all*float64(time.Second)))
		r.converged = max(r.converged, time.Duration(conv*float64(time.Second)))
		r.missed += missed
		r.failed += failed
	}
	e.prog.printf("   storm-wide: all %d back in %.2f s, views final after %.2f s, %d missed final states of %d, %d failed, nodes' CPU peak %.0f%% mean %.0f%%",
		n, r.all.Seconds(), r.converged.Seconds(), r.missed, n*S, r.failed, peak, mean)
	const sc = "5 storm-wide"
	label := fmt.Sprintf("%s clients in %d load processes, %d subscriptions each", fmtNum(float64(n)), workers, S)
	e.res.add(
		fig(sc, label+": all logged in and resubscribed", "s", r.all.Seconds()),
		fig(sc, label+": views final", "s", r.converged.Seconds()),
		fig(sc, label+": missed final states", "", float64(r.missed)).want(goal{atMost, 0}).
			note(fmt.Sprintf("of %s subscriber views", fmtNum(float64(n*S)))),
		fig(sc, label+": peak CPU of the nodes (500 ms)", "%", peak).note("100% = one core; the nodes' sum"),
		fig(sc, label+": mean CPU of the nodes", "%", mean),
	)
	if r.failed > 0 {
		var said []string
		for _, w := range ws {
			said = append(said, w.tail.String())
		}
		return fmt.Errorf("storm-wide: %d clients could not reconnect, log in and resubscribe within %v; the workers said: %s",
			r.failed, wideWindow, strings.Join(said, " || "))
	}
	return t.check()
}

// stormWorker is an imbench storm-worker process and its command pipe.
type stormWorker struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	tail *tailBuffer
}

// startStormWorker starts a worker for users [lo, hi) of n on t's nodes.
func (e *env) startStormWorker(ctx context.Context, t *target, n, lo, hi, S int) (*stormWorker, error) {
	var sources []string
	for _, ip := range e.opts.sources {
		sources = append(sources, ip.String())
	}
	cmd := exec.CommandContext(ctx, e.self, "storm-worker",
		"--servers", strings.Join(t.addrs, ","), "--sdkappid", strconv.FormatUint(e.sdkAppID, 10), "--key", e.key,
		"--prefix", e.prefix, "--n", strconv.Itoa(n), "--lo", strconv.Itoa(lo), "--hi", strconv.Itoa(hi),
		"--subs", strconv.Itoa(S), "--sources", strings.Join(sources, ","))
	w := &stormWorker{cmd: cmd, tail: &tailBuffer{}}
	cmd.Stderr = w.tail
	var err error
	if w.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	w.out = bufio.NewScanner(out)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting a storm worker: %w", err)
	}
	return w, nil
}

// do sends a command and waits for its answer: "ok REST" or "error REST".
func (w *stormWorker) do(cmd string) (string, error) {
	if _, err := fmt.Fprintln(w.in, cmd); err != nil {
		return "", fmt.Errorf("storm worker: %s: %w (it said: %s)", cmd, err, w.tail.String())
	}
	if !w.out.Scan() {
		return "", fmt.Errorf("storm worker: %s: no answer (it said: %s)", cmd, w.tail.String())
	}
	line := w.out.Text()
	if rest, ok := strings.CutPrefix(line, "ok "); ok {
		return rest, nil
	}
	return "", fmt.Errorf("storm worker: %s: %s", cmd, line)
}

// close ends the worker: its clients go away with it.
func (w *stormWorker) close() {
	w.in.Close()
	done := make(chan struct{})
	go func() { w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		w.cmd.Process.Kill()
		<-done
	}
}

// allWorkers runs cmd on every worker at once and returns their answers.
func allWorkers(ws []*stormWorker, cmd string) ([]string, error) {
	out := make([]string, len(ws))
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for k, w := range ws {
		wg.Go(func() { out[k], errs[k] = w.do(cmd) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// tailBuffer keeps the last lines written to it.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		b.lines = append(b.lines, l)
	}
	if len(b.lines) > 20 {
		b.lines = b.lines[len(b.lines)-20:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, " | ")
}

// stormWorker is the storm-worker command: it holds users [lo, hi) of the
// ring of n and runs the commands read from stdin — login, subscribe,
// storm — answering each with one line; it ends, closing its clients, when
// stdin does.
func stormWorkerMain(args []string) error {
	fs := flag.NewFlagSet("storm-worker", flag.ContinueOnError)
	servers := fs.String("servers", "", "the nodes' HOST:PORTs")
	appID := fs.Uint64("sdkappid", 0, "the app")
	key := fs.String("key", "", "its secret key")
	prefix := fs.String("prefix", "", "of every user id")
	n := fs.Int("n", 0, "users on the ring")
	lo := fs.Int("lo", 0, "this worker's first user")
	hi := fs.Int("hi", 0, "and the one after its last")
	S := fs.Int("subs", 0, "subscriptions of each")
	sources := fs.String("sources", "", "local source addresses")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *servers == "" || *n <= 0 || *lo < 0 || *hi > *n || *lo >= *hi || *S <= 0 || *S >= *n {
		return errors.New("storm-worker: --servers, and 0 ≤ lo < hi ≤ n, 0 < subs < n")
	}
	if _, err := raiseFileLimit(); err != nil {
		return err
	}
	src, err := parseSources(*sources)
	if err != nil {
		return err
	}
	e := &env{prog: newProgress(io.Discard), pool: newDialPool(src), sdkAppID: *appID, key: *key, prefix: *prefix,
		sigs: make(map[string]string), stormWindow: wideWindow, stormBackoff: sdkBackoff}
	t := &target{name: "imstatusd", addrs: strings.Split(*servers, ",")}
	ids := make([]string, *n)
	for i := range ids {
		ids[i] = e.userN("c", i)
	}
	m := *hi - *lo
	views := make([]atomic.Int32, m**S)
	onPush := ringViews(e.prefix+"c", *n, *S, *lo, views)
	// Views are kept from the storm on: the clients' first logins leave
	// them unset.
	login := func(push pushFunc) func(ctx context.Context, i int) (*wsConn, error) {
		return func(ctx context.Context, i int) (*wsConn, error) {
			g := *lo + i
			return e.loginConn(ctx, g, t.addr(g), ids[g], push)
		}
	}
	ctx := context.Background()
	var conns fleet
	defer func() { conns.abortAll() }()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var answer string
		var err error
		switch in.Text() {
		case "login":
			conns, err = e.openFleet(ctx, "login", m, 64, login(nil))
		case "subscribe":
			err = e.parallel(ctx, "subscribe", m, 64, func(ctx context.Context, i int) error {
				return subscribeAll(ctx, conns[i], ringTargets(ids, *lo+i, *S))
			})
		case "storm":
			var logged atomic.Int32
			why := func(err error) error {
				if logged.Add(1) <= 5 { // what failed, for the coordinator's note
					fmt.Fprintln(os.Stderr, "reconnect:", err)
				}
				return err
			}
			answer, conns = stormWorkerStorm(ctx, e, t, conns, views, func(ctx context.Context, i int) (*wsConn, error) {
				c, err := login(onPush)(ctx, i)
				if err != nil {
					return nil, why(err)
				}
				// A busy server's 70503 is retried on the same link, as a
				// client that keeps its login should; anything else, or
				// the end of the window, gives the link up.
				for attempt := 0; ; attempt++ {
					err := subscribeAll(ctx, c, ringTargets(ids, *lo+i, *S))
					if err == nil {
						return c, nil
					}
					var we *wire.Error
					if !errors.As(err, &we) || we.Code != wire.CodeServerOverloaded || ctx.Err() != nil {
						c.abort()
						return nil, why(fmt.Errorf("subscribe: %w", err))
					}
					b := 100 * time.Millisecond << min(attempt, 4)
					time.Sleep(b/2 + rand.N(b/2))
				}
			})
		default:
			err = fmt.Errorf("unknown command %q", in.Text())
		}
		if err != nil {
			fmt.Printf("error %s\n", oneLine(err.Error()))
			continue
		}
		fmt.Printf("ok %s\n", answer)
	}
	return in.Err()
}

// stormWorkerStorm drops this worker's clients at once, brings them back,
// and waits for every view to be ONLINE (up to 15 s, then 2 s more), as the
// one-process storm does; it answers the times, the views not ONLINE and
// the clients that did not come back.
func stormWorkerStorm(ctx context.Context, e *env, t *target, conns fleet, views []atomic.Int32, reconnect func(context.Context, int) (*wsConn, error)) (string, fleet) {
	r, fresh := e.storm(ctx, t, conns, reconnect, nil)
	settle(ctx, &r, views)
	return fmt.Sprintf("all=%.3f converged=%.3f missed=%d failed=%d", r.all.Seconds(), r.converged.Seconds(), r.missed, r.failed), fresh
}

// nodeCounters reads the named counters of each node's /metrics.
func nodeCounters(t *target, names ...string) string {
	var out []string
	for _, a := range t.addrs {
		resp, err := http.Get("http://" + a + "/metrics")
		if err != nil {
			out = append(out, a+": "+err.Error())
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, a+": "+grepInfo(string(b), names...))
	}
	return strings.Join(out, "; ")
}

// grepInfo returns the lines of text that begin with one of prefixes.
func grepInfo(text string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, strings.TrimSpace(l))
			}
		}
	}
	return strings.Join(out, " ")
}
