package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/wire"
)

// Scenarios 2 (propagation latency, one subscriber) and 5 (query).
//
// Baselines: the round trip of a bare gorilla echo server, with a frame the
// size of a status push, and with a query's bytes (a request the size of a
// 500-id get_status, answered with as many bytes as its reply). The
// measurements and their baseline take turns, a block each, so that a
// noisy spell of the machine weighs on all of them alike.
func (e *env) scenarioLatency(ctx context.Context) error {
	sz := e.sz
	queryIDs := make([]string, 500)
	for i := range queryIDs {
		queryIDs[i] = e.userN("u", i)
	}
	queryReq := wire.AppendRequest(nil, 1, wire.OpGetStatus, wire.AppendIDsBody(nil, queryIDs))
	replyLen := len(queryReply(queryIDs, e.popCustom))
	pushLen := len(wire.AppendStatusPush(nil, wire.Status{UserID: e.user("lat_set"), Type: wire.StatusOnline,
		Custom: "k=123456", Devices: []string{"Linux"}}))

	echo, err := e.startBaseline(ctx, "baseline-echo")
	if err != nil {
		return err
	}
	defer echo.stop()
	t, err := e.startServer(ctx)
	if err != nil {
		return err
	}
	defer t.stop()
	e.prog.printf("query population: %d users online with a custom status", sz.queryPop)
	pop, err := e.openFleet(ctx, "population", sz.queryPop, 32, func(ctx context.Context, i int) (*wsConn, error) {
		c, err := e.loginConn(ctx, i, t.addr(i), e.userN("u", i), nil)
		if err != nil {
			return nil, err
		}
		if _, err := c.call(ctx, wire.OpSetStatus, setStatusBody(e.popCustom(i))); err != nil {
			c.abort()
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		return err
	}
	defer pop.abortAll()

	const echoLabel = "bare gorilla echo round trip"
	probers := []prober{
		{label: echoLabel, open: func(ctx context.Context) (sampler, error) { return e.echoProbe(ctx, echo, small(pushLen)) }},
		{label: "raw WS → raw WS", open: func(ctx context.Context) (sampler, error) { return e.rawProbe(ctx, t, 1) }},
		{label: "Go core → core", open: func(ctx context.Context) (sampler, error) { return e.coreProbe(ctx, t) }},
	}
	// With several nodes the setter (on the first) and the watcher (on the
	// second) are on different nodes; the same pair on one node beside them
	// shows what crossing the broker costs.
	const sameNode = "raw WS → raw WS, same node"
	if len(t.addrs) > 1 {
		probers = append(probers, prober{label: sameNode,
			open: func(ctx context.Context) (sampler, error) { return e.rawProbe(ctx, t, 0) }})
	}
	// A Redis round trip, in the same turns: what crossing nodes may cost
	// is counted in those.
	const redisRTT = "Redis PING round trip"
	// And a bare relay through Redis by this process or another (relay.go):
	// what handing a message to another process costs on this machine.
	const relaySame, relayApart = "Redis relay, same process", "Redis relay, another process"
	if t.redis != nil {
		probers = append(probers, prober{label: redisRTT, open: func(context.Context) (sampler, error) {
			return sampler{close: func() {}, take: func(ctx context.Context, n int) ([]int64, error) {
				return timeEach(n, func() error { return t.redis.rdb.Ping(ctx).Err() })
			}}, nil
		}}, prober{label: relaySame, open: func(ctx context.Context) (sampler, error) { return e.relayProbe(ctx, t.redis, false) }},
			prober{label: relayApart, open: func(ctx context.Context) (sampler, error) { return e.relayProbe(ctx, t.redis, true) }})
	}
	const oldCore = "Go core → core" + oldSuffix
	what := "raw WebSocket and core.Client"
	if e.old != nil {
		// The old engine runs beside, idle but for its own core → core
		// measurement, which takes its turns with the others.
		old, err := e.startEngine(ctx, e.old, false)
		if err != nil {
			e.oldFailed("latency", err)
		} else {
			defer old.stop()
			probers = append(probers, prober{label: oldCore, optional: true,
				open: func(ctx context.Context) (sampler, error) { return e.coreProbe(ctx, old) }})
			what += ", and core.Client on the old engine"
		}
	}
	e.prog.printf("propagation, one change at a time: %d samples each of the echo baseline, %s, in turns", sz.latencySamples, what)
	prop, err := e.interleave(ctx, sz.latencySamples, 250, probers)
	if err != nil {
		return err
	}
	e.prog.printf("query, one call at a time: %d samples each of the echo baseline (%d B → %d B), raw WebSocket and core.Client, in turns",
		sz.queryCalls, len(queryReq), replyLen)
	big := append([]byte("reply-size="+strconv.Itoa(replyLen)+";"), bytes.Repeat([]byte{'x'}, len(queryReq))...)
	query, err := e.interleave(ctx, sz.queryCalls, 50, []prober{
		{label: "bare gorilla echo, query-sized", open: func(ctx context.Context) (sampler, error) { return e.echoProbe(ctx, echo, big) }},
		{label: "GetUserStatus(500) raw WS", open: func(ctx context.Context) (sampler, error) { return e.rawQueryProbe(ctx, t, queryIDs) }},
		{label: "GetUserStatus(500) Go core", open: func(ctx context.Context) (sampler, error) { return e.coreQueryProbe(ctx, t, queryIDs) }},
	})
	if err != nil {
		return err
	}
	e.prog.printf("C: libImSDK → imstatusd → libImSDK (bench/latency.c), %d changes", sz.cSamples)
	cNS, cQuery, cErr := e.cLatency(ctx, t, sz.cSamples)
	if cErr != nil {
		e.res.notef("C latency (bench/latency.c) failed: %s", oneLine(cErr.Error()))
		e.prog.printf("!! C latency: %v", cErr)
	}

	const sc = "2 propagation"
	const echoName = "bare gorilla echo RTT"
	echoS := e.keep(echoLabel, prop[echoLabel])
	report := func(label string, ns []int64) {
		s := e.keep(label, ns)
		e.res.add(
			fig(sc, label+" p50", "µs", s.P50).vs(echoName+" p50", echoS.P50).want(goal{ratioAtMost, 1.5}),
			fig(sc, label+" p99", "µs", s.P99).vs(echoName+" p99", echoS.P99),
			fig(sc, label+" p999", "µs", s.P999).vs(echoName+" p999", echoS.P999),
		)
	}
	report("raw WS → raw WS", prop["raw WS → raw WS"])
	report("Go core → core", prop["Go core → core"])
	if ns, ok := prop[sameNode]; ok {
		report(sameNode, ns)
	}
	if ns, ok := prop[redisRTT]; ok {
		r := e.keep(redisRTT, ns)
		cross, same := e.res.Latencies["raw WS → raw WS"], e.res.Latencies[sameNode]
		e.res.add(
			fig(sc, redisRTT+" p50", "µs", r.P50).vs(echoName+" p50", echoS.P50),
			fig(sc, "across nodes − same node, p50", "µs", cross.P50-same.P50).
				want(goal{atMost, 2 * r.P50}).note("goal: at most two Redis round trips"),
		)
		rs, ra := e.keep(relaySame, prop[relaySame]), e.keep(relayApart, prop[relayApart])
		e.res.add(
			fig(sc, relaySame+" p50", "µs", rs.P50),
			fig(sc, relayApart+" p50", "µs", ra.P50),
			fig(sc, "relay: another process − same process, p50", "µs", ra.P50-rs.P50).
				note("the same Redis hops; what waking another process costs here"),
		)
	}
	if ns, ok := prop[oldCore]; ok {
		s, o := e.res.Latencies["Go core → core"], e.keep(oldCore, ns)
		e.res.addOld(
			fig(sc, "Go core → core p50", "µs", o.P50).vs(echoName+" p50", echoS.P50),
			fig(sc, "Go core → core p99", "µs", o.P99).vs(echoName+" p99", echoS.P99),
			fig(sc, "Go core → core p999", "µs", o.P999).vs(echoName+" p999", echoS.P999),
		)
		e.addNewToOld(sc, "Go core → core p50", s.P50, o.P50, &goal{atMost, 1})
	}
	if cErr == nil {
		report("C libImSDK → C", cNS)
		e.res.notef("The C figures come from two bench/latency.c processes run after the interleaved Go measurements, against the same echo baseline.")
	}

	const qs = "5 query"
	const qb = "bare echo of the same bytes"
	echoL := summarize(query["bare gorilla echo, query-sized"])
	e.res.Latencies["bare gorilla echo, query-sized"] = echoL
	query["GetUserStatus(500) C libImSDK"] = cQuery
	for _, label := range []string{"GetUserStatus(500) raw WS", "GetUserStatus(500) Go core", "GetUserStatus(500) C libImSDK"} {
		if len(query[label]) == 0 {
			continue
		}
		s := summarize(query[label])
		e.res.Latencies[label] = s
		e.prog.printf("   %s: n=%d p50=%.0fµs p99=%.0fµs", label, s.N, s.P50, s.P99)
		e.res.add(
			fig(qs, label+" p50", "µs", s.P50).vs(qb+" p50", echoL.P50),
			fig(qs, label+" p99", "µs", s.P99).vs(qb+" p99", echoL.P99),
		)
	}
	if cErr != nil {
		// The other rows are kept; the scenario (and the bench) fails.
		return errors.Join(fmt.Errorf("C latency (bench/latency.c): %w", cErr), t.check())
	}
	return t.check()
}

// sampler takes n latency samples (ns), one at a time; close ends it.
type sampler struct {
	take  func(ctx context.Context, n int) ([]int64, error)
	close func()
}

// prober names a measurement and sets it up. An optional one that fails
// (the old engine's) is left out, with a note, and the others go on.
type prober struct {
	label    string
	open     func(ctx context.Context) (sampler, error)
	optional bool
}

// small is a frame of n bytes.
func small(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }

// interleave sets up every prober, warms each up, then takes n samples of
// each in turns of block samples.
func (e *env) interleave(ctx context.Context, n, block int, ps []prober) (map[string][]int64, error) {
	type running struct {
		prober
		s sampler
	}
	var rs []*running
	defer func() {
		for _, r := range rs {
			if r.s.close != nil {
				r.s.close()
			}
		}
	}()
	out := make(map[string][]int64, len(ps))
	// fail ends the measurement, or drops an optional prober.
	fail := func(r *running, what string, err error) error {
		err = fmt.Errorf("%s: %s%w", r.label, what, err)
		if !r.optional {
			return err
		}
		e.res.notef("%s left out: %s", r.label, oneLine(err.Error()))
		e.prog.printf("!! %v (left out)", err)
		delete(out, r.label)
		if r.s.close != nil {
			r.s.close()
		}
		r.s = sampler{}
		return nil
	}
	for _, p := range ps {
		r := &running{prober: p}
		var err error
		if r.s, err = p.open(ctx); err != nil {
			if err := fail(r, "", err); err != nil {
				return nil, err
			}
			continue
		}
		rs = append(rs, r)
		if _, err := r.s.take(ctx, min(max(n/10, 10), 100)); err != nil {
			if err := fail(r, "warm-up: ", err); err != nil {
				return nil, err
			}
		}
	}
	var done int
	stop := e.prog.ticker("samples", func() string { return fmt.Sprintf("%d/%d of each", done, n) })
	defer stop()
	for done < n {
		k := min(block, n-done)
		for _, r := range rs {
			if r.s.take == nil {
				continue // left out
			}
			v, err := r.s.take(ctx, k)
			if err != nil {
				if err := fail(r, "", err); err != nil {
					return nil, err
				}
				continue
			}
			out[r.label] = append(out[r.label], v...)
		}
		done += k
	}
	return out, nil
}

// popCustom is the custom status of population user i.
func (e *env) popCustom(i int) string {
	return fmt.Sprintf("in a match, level %d, %s", i%97, strings.Repeat("*", 16))
}

// queryReply is what a get_status of ids answers when each is online with
// its population custom status.
func queryReply(ids []string, custom func(int) string) []byte {
	sts := make([]wire.Status, len(ids))
	for i, id := range ids {
		sts[i] = wire.Status{UserID: id, Type: wire.StatusOnline, Custom: custom(i), Devices: []string{"Linux"}}
	}
	return wire.AppendReply(nil, 1, 0, "", wire.AppendStatuses(nil, sts))
}

// keep summarises samples under label and keeps them for the CDF plot.
func (e *env) keep(label string, ns []int64) Summary {
	s := summarize(ns)
	e.res.Latencies[label] = s
	if _, ok := e.lat[label]; !ok {
		e.latOrder = append(e.latOrder, label)
	}
	e.lat[label] = ns
	e.prog.printf("   %s: n=%d p50=%.0fµs p99=%.0fµs p999=%.0fµs", label, s.N, s.P50, s.P99, s.P999)
	return s
}

// timeEach times n calls of f.
func timeEach(n int, f func() error) ([]int64, error) {
	out := make([]int64, 0, n)
	for range n {
		t0 := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		out = append(out, int64(time.Since(t0)))
	}
	return out, nil
}

// echoProbe times round trips of msg through the echo server.
func (e *env) echoProbe(ctx context.Context, t *target, msg []byte) (sampler, error) {
	c, err := e.dialRetry(ctx, 0, t.addr(0), "/ws", func(c *wsConn, _ []byte) { c.ack() })
	if err != nil {
		return sampler{}, err
	}
	return sampler{close: c.abort, take: func(ctx context.Context, n int) ([]int64, error) {
		return timeEach(n, func() error {
			if err := c.write(msg); err != nil {
				return err
			}
			return c.awaitAck(ctx)
		})
	}}, nil
}

// arrival is a delivery of change k, seen at at.
type arrival struct {
	k  int
	at time.Time
}

// offer sends a without blocking: once the measurement is over nobody reads.
func offer(ch chan<- arrival, a arrival) {
	select {
	case ch <- a:
	default:
	}
}

// changeTimer times changes "k=K" made with set until their delivery
// comes through arrivals; K counts on across calls of take.
type changeTimer struct {
	set      func(ctx context.Context, custom string) error
	arrivals chan arrival
	next     int
}

func (ct *changeTimer) take(ctx context.Context, n int) ([]int64, error) {
	out := make([]int64, 0, n)
	for range n {
		k := ct.next
		ct.next++
		t0 := time.Now()
		if err := ct.set(ctx, "k="+strconv.Itoa(k)); err != nil {
			return nil, err
		}
		timeout := time.After(10 * time.Second)
	wait:
		for {
			select {
			case a := <-ct.arrivals:
				if a.k == k {
					out = append(out, int64(a.at.Sub(t0)))
					break wait
				}
			case <-timeout:
				return nil, fmt.Errorf("change %d was not delivered in 10 s", k)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return out, nil
}

// parseK reads K from a custom status "k=K".
func parseK(custom string) (int, bool) {
	s, ok := strings.CutPrefix(custom, "k=")
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(s)
	return k, err == nil
}

func (e *env) coreClient(t *target, i int, onEvent func(core.Event)) (*core.Client, error) {
	return core.New(core.Config{SDKAppID: e.sdkAppID, Servers: []string{t.addr(i)}, Platform: "Linux",
		Logger: discardLogger, OnEvent: onEvent})
}

// coreProbe: a core.Client sets its status; another, subscribed to it,
// receives the change.
func (e *env) coreProbe(ctx context.Context, t *target) (sampler, error) {
	setterID, watcherID := e.user("lat_set"), e.user("lat_watch")
	ct := &changeTimer{arrivals: make(chan arrival, 16)}
	setter, err := e.coreClient(t, 0, nil)
	if err != nil {
		return sampler{}, err
	}
	watcher, err := e.coreClient(t, 1, func(ev core.Event) {
		if sc, ok := ev.(core.StatusChanged); ok {
			now := time.Now()
			for _, s := range sc.Statuses {
				if k, ok := parseK(s.Custom); ok && s.UserID == setterID {
					offer(ct.arrivals, arrival{k, now})
				}
			}
		}
	})
	if err != nil {
		setter.Close()
		return sampler{}, err
	}
	closeAll := func() { setter.Close(); watcher.Close() }
	err = setter.Login(ctx, setterID, e.sig(setterID))
	if err == nil {
		err = watcher.Login(ctx, watcherID, e.sig(watcherID))
	}
	if err == nil {
		err = watcher.Subscribe(ctx, []string{setterID})
	}
	if err != nil {
		closeAll()
		return sampler{}, err
	}
	ct.set = setter.SetSelfStatus
	return sampler{take: ct.take, close: closeAll}, nil
}

// rawProbe is coreProbe with the benchmark's raw WebSocket clients.
// rawProbe times a change from a setter on the first node to a watcher on
// node watcherNode.
func (e *env) rawProbe(ctx context.Context, t *target, watcherNode int) (sampler, error) {
	setterID, watcherID := e.user("raw_set"+strconv.Itoa(watcherNode)), e.user("raw_watch"+strconv.Itoa(watcherNode))
	ct := &changeTimer{arrivals: make(chan arrival, 16)}
	setter, err := e.loginConn(ctx, 0, t.addr(0), setterID, nil)
	if err != nil {
		return sampler{}, err
	}
	watcher, err := e.loginConn(ctx, 1, t.addr(watcherNode), watcherID, func(_ *wsConn, msg []byte) {
		now := time.Now()
		f, err := wire.DecodeServerFrame(msg)
		if err != nil || f.Op != wire.OpStatus {
			return
		}
		sts, _ := wire.ParseStatuses(f.Body)
		for _, s := range sts {
			if k, ok := parseK(s.Custom); ok && s.UserID == setterID {
				offer(ct.arrivals, arrival{k, now})
			}
		}
	})
	if err != nil {
		setter.abort()
		return sampler{}, err
	}
	closeAll := func() { setter.abort(); watcher.abort() }
	if _, err := watcher.call(ctx, wire.OpSubscribe, wire.AppendIDsBody(nil, []string{setterID})); err != nil {
		closeAll()
		return sampler{}, err
	}
	ct.set = func(ctx context.Context, custom string) error {
		_, err := setter.call(ctx, wire.OpSetStatus, setStatusBody(custom))
		return err
	}
	return sampler{take: ct.take, close: closeAll}, nil
}

// rawQueryProbe times get_status of ids.
func (e *env) rawQueryProbe(ctx context.Context, t *target, ids []string) (sampler, error) {
	c, err := e.loginConn(ctx, 2, t.addr(2), e.user("raw_query"), nil)
	if err != nil {
		return sampler{}, err
	}
	body := wire.AppendIDsBody(nil, ids)
	return sampler{close: c.abort, take: func(ctx context.Context, n int) ([]int64, error) {
		return timeEach(n, func() error {
			f, err := c.call(ctx, wire.OpGetStatus, body)
			if err == nil && len(f.Body.Array()) != len(ids) {
				err = fmt.Errorf("get_status answered %d statuses for %d ids", len(f.Body.Array()), len(ids))
			}
			return err
		})
	}}, nil
}

// coreQueryProbe times core.Client.GetUserStatus of ids.
func (e *env) coreQueryProbe(ctx context.Context, t *target, ids []string) (sampler, error) {
	c, err := e.coreClient(t, 3, nil)
	if err != nil {
		return sampler{}, err
	}
	id := e.user("core_query")
	if err := c.Login(ctx, id, e.sig(id)); err != nil {
		c.Close()
		return sampler{}, err
	}
	return sampler{close: func() { c.Close() }, take: func(ctx context.Context, n int) ([]int64, error) {
		return timeEach(n, func() error {
			sts, err := c.GetUserStatus(ctx, ids)
			if err == nil && len(sts) != len(ids) {
				err = fmt.Errorf("GetUserStatus returned %d statuses for %d ids", len(sts), len(ids))
			}
			return err
		})
	}}, nil
}

// cLatency runs bench/latency.c as two processes: a watcher subscribed to
// a setter. It returns the watcher's propagation samples and the setter's
// GetUserStatus(500) round trips.
func (e *env) cLatency(ctx context.Context, t *target, n int) (prop, query []int64, err error) {
	bin := filepath.Join(e.opts.bin, "latency")
	if _, err := os.Stat(bin); err != nil {
		return nil, nil, fmt.Errorf("%s not built (./build.sh builds it): %w", bin, err)
	}
	setterID, watcherID := e.user("c_set"), e.user("c_watch")
	// The setter's account must exist before the watcher subscribes to it.
	c, err := e.loginConn(ctx, 4, t.addr(4), setterID, nil)
	if err != nil {
		return nil, nil, err
	}
	c.abort()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	propFile, queryFile := filepath.Join(e.tmp, "c_prop.txt"), filepath.Join(e.tmp, "c_query.txt")
	env := append(os.Environ(), "IMSDK_SERVER_ADDR="+strings.Join(t.addrs, ","))
	watch := exec.CommandContext(ctx, bin, "watch", watcherID, e.sig(watcherID), setterID, strconv.Itoa(n), propFile)
	watch.Env = env
	out, err := watch.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	var watchErr bytes.Buffer
	watch.Stderr = &watchErr
	if err := watch.Start(); err != nil {
		return nil, nil, err
	}
	defer watch.Wait()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if sc.Text() == "ready" && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			watch.Wait()
			return nil, nil, fmt.Errorf("latency watch exited: %s", watchErr.String())
		}
	case <-time.After(30 * time.Second):
		watch.Process.Kill()
		return nil, nil, errors.New("latency watch was not ready in 30 s")
	}
	set := exec.CommandContext(ctx, bin, "set", setterID, e.sig(setterID), strconv.Itoa(n), e.user("u"), queryFile)
	set.Env = env
	if b, err := set.CombinedOutput(); err != nil {
		watch.Process.Kill()
		return nil, nil, fmt.Errorf("latency set: %v: %s", err, b)
	}
	if err := watch.Wait(); err != nil {
		return nil, nil, fmt.Errorf("latency watch: %v: %s", err, watchErr.String())
	}
	if msg := strings.TrimSpace(watchErr.String()); msg != "" {
		e.res.notef("C latency: %s", oneLine(msg))
	}
	if prop, err = readSamples(propFile); err != nil {
		return nil, nil, err
	}
	query, err = readSamples(queryFile)
	return prop, query, err
}

// readSamples reads one integer (nanoseconds) per line.
func readSamples(path string) ([]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseSamples(b)
}

func parseSamples(b []byte) ([]int64, error) {
	var out []int64
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		v, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("sample line %d: %w", i+1, err)
		}
		out = append(out, v)
	}
	return out, nil
}
