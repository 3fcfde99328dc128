package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/wire"
)

// Scenarios 3b and 4.
//
// Churn: n users on a ring, user i subscribed to the S users before it
// (so every change of user j reaches j+1 … j+S); drivers change statuses
// continuously, a fixed number in flight, each waiting for its reply. The
// figure is the rate of deliveries to subscribers. Baseline: the bare
// gorilla hub given the same ring (a message from i goes back to i and to
// i+1 … i+S), driven the same way.
//
// Storm (right after the churn, on the same server): every client drops
// at once (RST) and reconnects, logs in and re-subscribes; the time until
// the last one is done, the server's CPU, and then, once quiet, every
// client's view of each of its S targets must be ONLINE: anything else is
// a missed final state. Baseline: n connections to the bare idle gorilla
// server dropped and reopened the same way.
func (e *env) scenarioChurn(ctx context.Context) error {
	sz := e.sz
	n, S := sz.churnUsers, sz.churnSub
	srv, storm, err := e.churnImstatusd(ctx, e.engine, n, S, sz.churnWarm, sz.churnRun, nil)
	if err != nil {
		return err
	}
	hub, err := e.churnHub(ctx, n, S, sz.churnWarm, sz.churnRun)
	if err != nil {
		return err
	}
	var old *churnResult
	var oldStorm *stormResult
	if e.old != nil {
		o, os, err := e.churnImstatusd(ctx, e.old, n, S, sz.churnWarm, sz.churnRun, nil)
		if err != nil {
			e.oldFailed("churn", err)
		} else {
			old, oldStorm = &o, &os
		}
	}
	const sc = "3 churn"
	label := fmt.Sprintf("%s users × %d subscriptions", fmtNum(float64(n)), S)
	const hubName = "bare gorilla hub, same ring"
	e.res.Latencies["churn: imstatusd delivery"] = srv.lat
	e.res.Latencies["churn: bare hub delivery"] = hub.lat
	churnFigures := func(r churnResult) []Figure {
		fs := []Figure{
			fig(sc, label+": deliveries/s", "/s", r.rate).vs(hubName, hub.rate),
			fig(sc, label+": changes/s", "/s", r.setRate).vs(hubName, hub.setRate),
			fig(sc, label+": delivery latency p50 under churn", "µs", r.lat.P50).vs(hubName, hub.lat.P50),
			fig(sc, label+": delivery latency p99 under churn", "µs", r.lat.P99).vs(hubName, hub.lat.P99),
		}
		if r.cpu > 0 {
			fs = append(fs, fig(sc, label+": server CPU", "%", r.cpu).vs(hubName, hub.cpu))
		}
		if r.redisPerChange > 0 {
			fs = append(fs, fig(sc, label+": Redis commands per change", "", r.redisPerChange))
		}
		return fs
	}
	fs := churnFigures(srv)
	fs[0] = fs[0].want(goal{atLeast, 200000})
	if srv.cpu > 0 {
		fs[4] = fs[4].note(fmt.Sprintf("100%% = one core; the load generator used %.0f%% beside imstatusd, %.0f%% beside the hub", srv.clientCPU, hub.clientCPU))
	}
	e.res.add(fs...)
	results := []struct {
		name string
		c    churnResult
	}{{"imstatusd", srv}, {"the hub", hub}}
	if old != nil {
		e.res.Latencies["churn: imstatusd (old engine) delivery"] = old.lat
		e.res.addOld(churnFigures(*old)...)
		e.addNewToOld(sc, label+": deliveries/s", srv.rate, old.rate, &goal{atLeast, 0.95})
		results = append(results, struct {
			name string
			c    churnResult
		}{"the old engine", *old})
	}
	for _, r := range results {
		if r.c.lost > 0 || r.c.errors > 0 {
			e.res.notef("Churn on %s: %d connections lost, %d failed changes, %d slow-reader closes logged.", r.name, r.c.lost, r.c.errors, r.c.slow)
		}
	}
	base, err := e.stormBaseline(ctx, n)
	if err != nil {
		return err
	}
	const ss = "4 storm"
	sl := fmt.Sprintf("%s clients", fmtNum(float64(n)))
	const baseName = "bare gorilla idle server, reconnect only"
	stormFigures := func(r stormResult) []Figure {
		fs := []Figure{
			fig(ss, sl+": all logged in and resubscribed", "s", r.all.Seconds()).vs(baseName, base.all.Seconds()),
			fig(ss, sl+": every view final (ONLINE)", "s", r.converged.Seconds()).vs(baseName+" (all connected)", base.all.Seconds()),
			fig(ss, sl+": missed final states", "", float64(r.missed)).want(goal{atMost, 0}).
				note(fmt.Sprintf("of %s subscriber views", fmtNum(float64(n*S)))),
		}
		if r.peak > 0 {
			fs = append(fs,
				fig(ss, sl+": peak server CPU (500 ms)", "%", r.peak).vs(baseName, base.peak).note("100% = one core"),
				fig(ss, sl+": mean server CPU", "%", r.mean).vs(baseName, base.mean).
					note(fmt.Sprintf("the load generator used %.0f%% (%.0f%% beside the baseline)", r.clientCPU, base.clientCPU)),
			)
		}
		return fs
	}
	e.res.add(stormFigures(storm)...)
	if storm.failed > 0 {
		e.res.notef("Reconnect storm: %d clients could not reconnect, log in and resubscribe within 90 s.", storm.failed)
	}
	if oldStorm != nil {
		e.res.addOld(stormFigures(*oldStorm)...)
		e.addNewToOld(ss, sl+": all logged in and resubscribed", storm.all.Seconds(), oldStorm.all.Seconds(), nil)
		if oldStorm.failed > 0 {
			e.res.notef("Reconnect storm on the old engine: %d clients could not reconnect, log in and resubscribe within 90 s.", oldStorm.failed)
		}
	}
	return nil
}

type churnResult struct {
	rate, setRate  float64
	redisPerChange float64 // Redis commands a change cost (--cluster), 0 otherwise
	lat            Summary
	cpu            float64
	clientCPU      float64 // the load generator's
	lost           int
	errors         int64
	slow           int64
}

type stormResult struct {
	start          time.Time // when the clients dropped
	all, converged time.Duration
	peak, mean     float64
	clientCPU      float64 // the load generator's mean
	missed, failed int
}

// churn counts one churn run's deliveries.
type churn struct {
	deliveries atomic.Int64
	sets       atomic.Int64
	errors     atomic.Int64
	measuring  atomic.Bool
	hist       histogram
	idMark     []byte // what precedes a ring index in a frame
	ackSelf    bool   // the changer's own copy acknowledges its change (hub)
}

var customMark = []byte(`"user_status_custom_status":"t=`)

// parseIndexAfter returns the decimal number right after mark in msg.
func parseIndexAfter(msg, mark []byte) (int64, bool) {
	i := bytes.Index(msg, mark)
	if i < 0 {
		return 0, false
	}
	rest := msg[i+len(mark):]
	k := 0
	for k < len(rest) && k < 19 && rest[k] >= '0' && rest[k] <= '9' {
		k++
	}
	if k == 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(rest[:k]), 10, 64)
	return v, err == nil
}

// onPush counts a delivery of a change: an imstatusd status push
// (`"user_status_identifier":"c<J>"…"t=<T>"`) or a hub frame "f=<J>;t=<T>".
// The changer's own copy is its acknowledgement (hub) or not counted.
func (ch *churn) onPush(c *wsConn, msg []byte) {
	from, ok := parseIndexAfter(msg, ch.idMark)
	if !ok {
		return
	}
	var ts int64
	if msg[0] == '{' {
		ts, ok = parseIndexAfter(msg, customMark)
	} else {
		ts, ok = parseIndexAfter(msg, []byte(";t="))
	}
	if !ok {
		return
	}
	if int(from) == c.idx {
		if ch.ackSelf {
			c.ack()
		}
		return
	}
	ch.deliveries.Add(1)
	if ch.measuring.Load() {
		ch.hist.record(time.Duration(stamp() - ts))
	}
}

// ringTargets returns the ids user i subscribes to: i-1 … i-S modulo n.
func ringTargets(ids []string, i, S int) []string {
	n := len(ids)
	out := make([]string, 0, S)
	for k := 1; k <= S; k++ {
		out = append(out, ids[((i-k)%n+n)%n])
	}
	return out
}

// drive changes statuses for warm+run with drivers changers in flight,
// each cycling over its own connections (index ≡ driver mod drivers), and
// measures the deliveries over run. send changes connection c's status
// and waits for the acknowledgement.
func (e *env) drive(ctx context.Context, t *target, label string, conns fleet, ch *churn, drivers int,
	warm, run time.Duration, send func(ctx context.Context, c *wsConn) error, onWindow func(*target)) churnResult {
	stopAt := time.Now().Add(warm + run)
	var wg sync.WaitGroup
	for d := range drivers {
		wg.Go(func() {
			for j := d; time.Now().Before(stopAt) && ctx.Err() == nil; j += drivers {
				if j >= len(conns) {
					j = d
				}
				c := conns[j]
				if c.closed() {
					continue
				}
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := send(cctx, c)
				cancel()
				if err != nil {
					ch.errors.Add(1)
					continue
				}
				ch.sets.Add(1)
			}
		})
	}
	stop := e.prog.ticker(label, func() string {
		return fmt.Sprintf("%d changes, %d deliveries", ch.sets.Load(), ch.deliveries.Load())
	})
	defer stop()
	select {
	case <-time.After(warm):
	case <-ctx.Done():
	}
	var sampler *cpuSampler
	if t.measurable() {
		sampler = t.sampleCPU(250 * time.Millisecond)
	}
	self := sampleSelfCPU(250 * time.Millisecond)
	if onWindow != nil {
		onWindow(t)
	}
	var cmds0 map[string]int64
	if t.redis != nil {
		cmds0, _ = t.redis.commands(ctx)
	}
	var r churnResult
	d0, s0, t0 := ch.deliveries.Load(), ch.sets.Load(), time.Now()
	ch.measuring.Store(true)
	select {
	case <-time.After(run):
	case <-ctx.Done():
	}
	ch.measuring.Store(false)
	d1, s1, el := ch.deliveries.Load(), ch.sets.Load(), time.Since(t0).Seconds()
	if t.redis != nil && s1 > s0 {
		if cmds1, err := t.redis.commands(ctx); err == nil && cmds0 != nil {
			total, top := commandDelta(cmds0, cmds1)
			r.redisPerChange = float64(total) / float64(s1-s0)
			e.res.notef("Churn on %s: Redis ran %d commands for %d changes (%.1f a change): %s.", label, total, s1-s0, r.redisPerChange, top)
		}
	}
	wg.Wait()
	stop()
	r = churnResult{redisPerChange: r.redisPerChange, rate: float64(d1-d0) / el, setRate: float64(s1-s0) / el, lat: ch.hist.summary(),
		lost: conns.lost(), errors: ch.errors.Load(), slow: t.slowReaders()}
	if sampler != nil {
		_, r.cpu, _ = sampler.stop(time.Second)
	}
	_, r.clientCPU, _ = self.stop(time.Second)
	e.prog.printf("   %s: %.0f deliveries/s, %.0f changes/s, latency p50 %.0fµs p99 %.0fµs, CPU server %.0f%% load generator %.0f%%",
		label, r.rate, r.setRate, r.lat.P50, r.lat.P99, r.cpu, r.clientCPU)
	return r
}

// churnImstatusd runs the churn and then the storm against a fresh
// imstatusd, eng (with hooks, the server under test with --pprof).
func (e *env) churnImstatusd(ctx context.Context, eng *engine, n, S int, warm, run time.Duration, hooks *profileHooks) (churnResult, stormResult, error) {
	var t *target
	var err error
	var onWindow, onStorm func(*target)
	switch {
	case hooks != nil:
		onWindow, onStorm = hooks.churn, hooks.storm
		t, err = e.startProfiled(ctx)
	case eng == e.engine:
		t, err = e.startServer(ctx)
	default:
		t, err = e.startEngine(ctx, eng, false)
	}
	if err != nil {
		return churnResult{}, stormResult{}, err
	}
	defer t.stop()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.userN("c", i)
	}
	ch := &churn{idMark: []byte(`"user_status_identifier":"` + e.prefix + "c")}
	conns, err := e.openFleet(ctx, fmt.Sprintf("%s: %d users log in", eng.name, n), n, 64, func(ctx context.Context, i int) (*wsConn, error) {
		return e.loginConn(ctx, i, t.addr(i), ids[i], ch.onPush)
	})
	if err != nil {
		return churnResult{}, stormResult{}, err
	}
	defer func() { conns.abortAll() }()
	if err := e.parallel(ctx, fmt.Sprintf("%s: %d users subscribe to %d each", eng.name, n, S), n, 64, func(ctx context.Context, i int) error {
		return subscribeAll(ctx, conns[i], ringTargets(ids, i, S))
	}); err != nil {
		return churnResult{}, stormResult{}, err
	}
	res := e.drive(ctx, t, eng.name+" churn", conns, ch, e.sz.churnDrivers, warm, run, func(ctx context.Context, c *wsConn) error {
		_, err := c.call(ctx, wire.OpSetStatus, setStatusBody("t="+strconv.FormatInt(stamp(), 10)))
		return err
	}, onWindow)
	if err := t.check(); err != nil {
		return res, stormResult{}, err
	}
	storm, err := e.stormImstatusd(ctx, t, &conns, ids, S, onStorm)
	if hooks != nil {
		hooks.wait()
	}
	if err != nil {
		return res, storm, err
	}
	return res, storm, t.check()
}

// subscribeAll subscribes c to ids, 100 at a time.
func subscribeAll(ctx context.Context, c *wsConn, ids []string) error {
	for len(ids) > 0 {
		k := min(len(ids), 100)
		if _, err := c.call(ctx, wire.OpSubscribe, wire.AppendIDsBody(nil, ids[:k])); err != nil {
			return err
		}
		ids = ids[k:]
	}
	return nil
}

// churnHub runs the churn against the bare hub.
func (e *env) churnHub(ctx context.Context, n, S int, warm, run time.Duration) (churnResult, error) {
	t, err := e.startBaseline(ctx, "baseline-hub")
	if err != nil {
		return churnResult{}, err
	}
	defer t.stop()
	ch := &churn{idMark: []byte("f="), ackSelf: true}
	conns, err := e.openFleet(ctx, fmt.Sprintf("hub: %d connections", n), n, 64, func(ctx context.Context, i int) (*wsConn, error) {
		return e.dialRetry(ctx, i, t.addr(i), fmt.Sprintf("/ws?i=%d&n=%d&fanout=%d", i, n, S), ch.onPush)
	})
	if err != nil {
		return churnResult{}, err
	}
	defer conns.abortAll()
	time.Sleep(300 * time.Millisecond)
	res := e.drive(ctx, t, "hub churn", conns, ch, e.sz.churnDrivers, warm, run, func(ctx context.Context, c *wsConn) error {
		if err := c.write([]byte("f=" + strconv.Itoa(c.idx) + ";t=" + strconv.FormatInt(stamp(), 10))); err != nil {
			return err
		}
		return c.awaitAck(ctx)
	}, nil)
	return res, t.check()
}

// stormImstatusd drops every connection of *conns at once and reconnects
// them (replacing *conns), each logging in and re-subscribing to its ring.
func (e *env) stormImstatusd(ctx context.Context, t *target, conns *fleet, ids []string, S int, onStart func(*target)) (stormResult, error) {
	n := len(ids)
	time.Sleep(time.Second) // let the churn's last pushes drain
	views := make([]atomic.Int32, n*S)
	onPush := ringViews(e.prefix+"c", n, S, 0, views)
	e.prog.printf("%s: reconnect storm: %d clients drop at once and come back", t.name, n)
	reconnect := func(ctx context.Context, i int) (*wsConn, error) {
		c, err := e.loginConn(ctx, i, t.addr(i), ids[i], onPush)
		if err != nil {
			return nil, err
		}
		if err := subscribeAll(ctx, c, ringTargets(ids, i, S)); err != nil {
			c.abort()
			return nil, err
		}
		return c, nil
	}
	r, fresh := e.storm(ctx, t, *conns, reconnect, onStart)
	*conns = fresh
	settle(ctx, &r, views)
	e.prog.printf("   storm: all back in %.2f s, views final after %.2f s, %d missed final states, %d failed, server CPU peak %.0f%% mean %.0f%%, load generator %.0f%%",
		r.all.Seconds(), r.converged.Seconds(), r.missed, r.failed, r.peak, r.mean, r.clientCPU)
	return r, nil
}

// ringViews is the push handler of clients lo, lo+1, … of a ring of n
// users named prefix+index, each subscribed to the S users before it: it
// records in views[(i-lo)*S+k-1] the type client i was last told of the
// user k places before it.
func ringViews(prefix string, n, S, lo int, views []atomic.Int32) pushFunc {
	return func(c *wsConn, msg []byte) {
		eachStatus(msg, func(id []byte, typ int) {
			if len(id) <= len(prefix) || string(id[:len(prefix)]) != prefix {
				return
			}
			j, err := strconv.Atoi(string(id[len(prefix):]))
			if err != nil {
				return
			}
			if k := ((c.idx-j)%n + n) % n; k >= 1 && k <= S {
				views[(c.idx-lo)*S+k-1].Store(int32(typ))
			}
		})
	}
}

// settle waits for quiet after a storm: until every view is ONLINE, or
// 15 s, then 2 s more for stragglers before counting those that are not;
// it sets r's missed and converged.
func settle(ctx context.Context, r *stormResult, views []atomic.Int32) {
	missed := func() int {
		m := 0
		for i := range views {
			if wire.StatusType(views[i].Load()) != wire.StatusOnline {
				m++
			}
		}
		return m
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		r.missed = missed()
		if r.missed == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.converged = time.Since(r.start)
	if r.missed > 0 {
		time.Sleep(2 * time.Second)
		r.missed = missed()
		r.converged = time.Since(r.start)
	}
}

var (
	idKey   = []byte(`"user_status_identifier":"`)
	typeKey = []byte(`"user_status_status_type":`)
)

// eachStatus calls fn with the identifier and type of each status of a
// status push. It scans for the keys in the order the server writes them
// (wire.AppendStatus: identifier, then type) and parses the frame with
// gjson when that order does not hold: the storm's load generator reads
// millions of statuses and must not be what limits it.
func eachStatus(msg []byte, fn func(id []byte, typ int)) {
	type st struct {
		id  []byte
		typ int
	}
	var found []st
	rest := msg
	for {
		i := bytes.Index(rest, idKey)
		if i < 0 {
			break
		}
		rest = rest[i+len(idKey):]
		end := bytes.IndexByte(rest, '"')
		t := bytes.Index(rest, typeKey)
		next := bytes.Index(rest, idKey)
		if end < 0 || t < 0 || (next >= 0 && t > next) || t+len(typeKey) >= len(rest) {
			found = nil
			break
		}
		c := rest[t+len(typeKey)]
		if c < '0' || c > '9' || bytes.IndexByte(rest[:end], '\\') >= 0 {
			found = nil
			break
		}
		found = append(found, st{rest[:end], int(c - '0')})
		rest = rest[t+len(typeKey):]
	}
	if found != nil {
		for _, s := range found {
			fn(s.id, s.typ)
		}
		return
	}
	gjson.GetBytes(msg, "body").ForEach(func(_, s gjson.Result) bool {
		fn([]byte(s.Get("user_status_identifier").Str), int(s.Get("user_status_status_type").Int()))
		return true
	})
}

// stormBaseline drops n connections to the bare idle server at once and
// reconnects them.
func (e *env) stormBaseline(ctx context.Context, n int) (stormResult, error) {
	t, err := e.startBaseline(ctx, "baseline-idle")
	if err != nil {
		return stormResult{}, err
	}
	defer t.stop()
	conns, err := e.openFleet(ctx, fmt.Sprintf("bare idle server: %d connections", n), n, 64, func(ctx context.Context, i int) (*wsConn, error) {
		return e.dialRetry(ctx, i, t.addr(i), "/ws", nil)
	})
	if err != nil {
		return stormResult{}, err
	}
	time.Sleep(time.Second)
	e.prog.printf("bare idle server: reconnect storm of %d clients", n)
	r, fresh := e.storm(ctx, t, conns, func(ctx context.Context, i int) (*wsConn, error) {
		return e.dialRetry(ctx, i, t.addr(i), "/ws", nil)
	}, nil)
	fresh.abortAll()
	e.prog.printf("   storm (bare): all back in %.2f s, %d failed, server CPU peak %.0f%% mean %.0f%%, load generator %.0f%%",
		r.all.Seconds(), r.failed, r.peak, r.mean, r.clientCPU)
	return r, t.check()
}

// storm drops conns at once and runs reconnect for every one of them at
// once, each retrying (with jittered backoff) for up to e.stormWindow
// (default 90 s). It returns
// when all are back, with the time that took and the server's CPU use.
func (e *env) storm(ctx context.Context, t *target, conns fleet, reconnect func(context.Context, int) (*wsConn, error), onStart func(*target)) (stormResult, fleet) {
	n := len(conns)
	if onStart != nil {
		onStart(t)
	}
	var sampler *cpuSampler
	if t.measurable() {
		sampler = t.sampleCPU(100 * time.Millisecond)
	}
	self := sampleSelfCPU(100 * time.Millisecond)
	fresh := make(fleet, n)
	var done, failed atomic.Int64
	var last atomic.Int64
	t0 := time.Now()
	conns.abortAll()
	window := e.stormWindow
	if window <= 0 {
		window = 90 * time.Second
	}
	sctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	stop := e.prog.ticker("storm", func() string { return fmt.Sprintf("%d/%d back, %d failed", done.Load(), n, failed.Load()) })
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for attempt := 0; ; attempt++ {
				c, err := reconnect(sctx, i)
				if err == nil {
					fresh[i] = c
					done.Add(1)
					d := int64(time.Since(t0))
					for {
						old := last.Load()
						if d <= old || last.CompareAndSwap(old, d) {
							break
						}
					}
					return
				}
				if sctx.Err() != nil {
					failed.Add(1)
					return
				}
				// A client's backoff: 100 ms doubling to 1.6 s, jittered
				// (e.stormBackoff's when set).
				b := 100 * time.Millisecond << min(attempt, 4)
				if e.stormBackoff != nil {
					b = e.stormBackoff(attempt)
				}
				time.Sleep(b/2 + rand.N(b/2))
			}
		})
	}
	wg.Wait()
	stop()
	r := stormResult{start: t0, all: time.Duration(last.Load()), failed: int(failed.Load())}
	if sampler != nil {
		r.peak, r.mean, _ = sampler.stop(500 * time.Millisecond)
	}
	_, r.clientCPU, _ = self.stop(500 * time.Millisecond)
	return r, fresh
}
