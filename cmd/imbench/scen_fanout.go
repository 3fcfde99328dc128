package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/imstatus/imstatus/wire"
)

// Scenario 3a (and 2b): one publisher, n online subscribers; each change's
// deliveries are timed from the moment the publisher sent it, and the last
// one is the change's fan-out time. Baseline: a bare gorilla hub
// (gorilla's chat example) broadcasting to as many connections.
func (e *env) scenarioFanout(ctx context.Context) error {
	sz := e.sz
	type pair struct{ srv, hub fanResult }
	runs := map[int]*pair{}
	for _, c := range []struct{ n, reps int }{{sz.fanSmall, sz.fanSmallN}, {sz.fanLarge, sz.fanLargeN}} {
		p := &pair{}
		var err error
		if p.srv, err = e.fanoutOnce(ctx, false, c.n, c.reps, 0, nil); err != nil {
			return fmt.Errorf("imstatusd, %d subscribers: %w", c.n, err)
		}
		if p.hub, err = e.fanoutOnce(ctx, true, c.n, c.reps, 0, nil); err != nil {
			return fmt.Errorf("hub, %d subscribers: %w", c.n, err)
		}
		runs[c.n] = p
	}
	const hubName = "bare gorilla hub"
	small, large := runs[sz.fanSmall], runs[sz.fanLarge]
	for _, c := range []struct {
		scenario string
		n        int
		p        *pair
		goal     bool
	}{{"2 propagation", sz.fanSmall, small, true}, {"3 fan-out", sz.fanLarge, large, false}} {
		s, h := c.p.srv, c.p.hub
		label := fmt.Sprintf("%s subscribers", fmtNum(float64(c.n)))
		ds := e.keep(fmt.Sprintf("fan-out to %d: imstatusd delivery", c.n), s.deliveries)
		dh := e.keep(fmt.Sprintf("fan-out to %d: bare hub delivery", c.n), h.deliveries)
		ls, lh := summarize(s.last), summarize(h.last)
		e.res.Latencies[fmt.Sprintf("fan-out to %d: imstatusd last delivery", c.n)] = ls
		e.res.Latencies[fmt.Sprintf("fan-out to %d: bare hub last delivery", c.n)] = lh
		p50 := fig(c.scenario, label+": delivery p50", "µs", ds.P50).vs(hubName+" p50", dh.P50)
		last := fig(c.scenario, label+": last delivery (median of changes)", "µs", ls.P50).vs(hubName, lh.P50)
		if c.goal {
			p50, last = p50.want(goal{ratioAtMost, 1.2}), last.want(goal{ratioAtMost, 1.2})
		}
		e.res.add(p50, last,
			fig(c.scenario, label+": delivery p99", "µs", ds.P99).vs(hubName+" p99", dh.P99),
			fig(c.scenario, label+": last delivery, worst change", "µs", ls.Max).vs(hubName, lh.Max),
		)
		if s.missing > 0 || h.missing > 0 {
			e.res.notef("Fan-out to %d: %d deliveries missing from imstatusd, %d from the hub (a change waits at most 15 s).", c.n, s.missing, h.missing)
		}
	}
	return nil
}

type fanResult struct {
	deliveries []int64 // every delivery's latency, ns
	last       []int64 // per change, the latency of its last delivery
	missing    int
}

// fanRun collects the deliveries of one fan-out run.
type fanRun struct {
	n       int
	lat     [][]int64
	slot    []atomic.Int64 // next free sample index, per change
	written []atomic.Int64 // samples written, per change
	done    chan int
}

func (f *fanRun) record(r int, lat int64) {
	if r < 0 || r >= len(f.lat) {
		return
	}
	i := f.slot[r].Add(1) - 1
	if i >= int64(f.n) {
		return
	}
	f.lat[r][i] = lat
	if f.written[r].Add(1) == int64(f.n) {
		f.done <- r
	}
}

// parseRT reads "r=R;t=T" from a frame.
func parseRT(msg []byte) (r int, t int64, ok bool) {
	i := bytes.Index(msg, []byte("r="))
	if i < 0 {
		return 0, 0, false
	}
	rest := msg[i+2:]
	j := bytes.Index(rest, []byte(";t="))
	if j < 0 {
		return 0, 0, false
	}
	rr, err := strconv.Atoi(string(rest[:j]))
	if err != nil {
		return 0, 0, false
	}
	rest = rest[j+3:]
	k := 0
	for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
		k++
	}
	tt, err := strconv.ParseInt(string(rest[:k]), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return rr, tt, true
}

// fanoutOnce runs one fan-out against imstatusd (or the hub): n
// subscribers, reps changes one after another (each once all its
// deliveries arrived), and more until dur has passed. onStart runs when the
// changes begin; with it the server is `imbench serve` (profiling).
func (e *env) fanoutOnce(ctx context.Context, hub bool, n, reps int, dur time.Duration, onStart func(*target)) (fanResult, error) {
	var t *target
	var err error
	name := "imstatusd"
	switch {
	case hub:
		name = "hub"
		t, err = e.startBaseline(ctx, "baseline-hub")
	case onStart != nil:
		t, err = e.startProfiled(ctx)
	default:
		t, err = e.startServer(ctx)
	}
	if err != nil {
		return fanResult{}, err
	}
	defer t.stop()
	maxReps := reps
	if dur > 0 {
		maxReps = max(reps, 1000)
	}
	f := &fanRun{n: n, lat: make([][]int64, maxReps), slot: make([]atomic.Int64, maxReps),
		written: make([]atomic.Int64, maxReps), done: make(chan int, maxReps)}
	for i := range f.lat {
		f.lat[i] = make([]int64, n)
	}
	onPush := func(_ *wsConn, msg []byte) {
		now := stamp()
		if r, ts, ok := parseRT(msg); ok {
			f.record(r, now-ts)
		}
	}
	pubID := e.user("fpub")
	var pub *wsConn
	if hub {
		pub, err = e.dialRetry(ctx, n, t.addr(n), "/ws", nil)
	} else {
		pub, err = e.loginConn(ctx, n, t.addr(n), pubID, nil)
	}
	if err != nil {
		return fanResult{}, err
	}
	defer pub.abort()
	subBody := wire.AppendIDsBody(nil, []string{pubID})
	subs, err := e.openFleet(ctx, fmt.Sprintf("%s: %d subscribers", name, n), n, 32, func(ctx context.Context, i int) (*wsConn, error) {
		if hub {
			return e.dialRetry(ctx, i, t.addr(i), "/ws", onPush)
		}
		c, err := e.loginConn(ctx, i, t.addr(i), e.userN("fs", i), onPush)
		if err != nil {
			return nil, err
		}
		if _, err := c.call(ctx, wire.OpSubscribe, subBody); err != nil {
			c.abort()
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		return fanResult{}, err
	}
	defer subs.abortAll()
	time.Sleep(300 * time.Millisecond) // the hub registers a connection just after its handshake
	if onStart != nil {
		onStart(t)
	}
	var res fanResult
	var cur atomic.Int64
	stop := e.prog.ticker(fmt.Sprintf("%s: fan-out to %d", name, n), func() string { return fmt.Sprintf("change %d", cur.Load()) })
	defer stop()
	start := time.Now()
	for r := 0; r < maxReps && (r < reps || time.Since(start) < dur); r++ {
		cur.Store(int64(r))
		payload := fmt.Sprintf("r=%d;t=%d", r, stamp())
		if hub {
			err = pub.write([]byte(payload))
		} else {
			_, err = pub.call(ctx, wire.OpSetStatus, setStatusBody(payload))
		}
		if err != nil {
			return fanResult{}, fmt.Errorf("change %d: %w", r, err)
		}
		timeout := time.After(15 * time.Second)
	wait:
		for {
			select {
			case d := <-f.done:
				if d == r {
					break wait
				}
			case <-timeout:
				break wait
			case <-ctx.Done():
				return fanResult{}, ctx.Err()
			}
		}
		got := min(int(f.written[r].Load()), n)
		res.missing += n - got
		lat := f.lat[r][:got]
		if got > 0 {
			res.last = append(res.last, slices.Max(lat))
		}
		res.deliveries = append(res.deliveries, lat...)
	}
	stop()
	if lost := subs.lost(); lost > 0 {
		e.res.notef("Fan-out to %d on %s: %d subscriber connections were closed during the run (%d slow-reader closes logged).", n, name, lost, t.slowReaders())
	}
	return res, t.check()
}
