package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imstatus/imstatus/wire"
)

// Scenario 7: ordering under concurrency.
//
// N changers each set their custom status to "o:1" … "o:C", one change at
// a time, waiting for each reply, with a fixed number of changes in flight
// (the churn's drivers, each going round its changers one change at a
// time). Meanwhile W watchers, each subscribed to K changers (a ring,
// overlapping), are taken in turn by a few togglers that unsubscribe a
// tenth of a watcher's targets and subscribe to them again (each subscribe
// answers the targets' current statuses: a snapshot racing the changes).
// Every watcher applies the client library's receiver rule (orderView) and
// counts the statuses it accepts out of order. Once every change is
// acknowledged and the server is quiet, every watcher subscribes once more
// to all its targets and must then hold each one's o:C: anything else is a
// missed final state.
//
// The scenario fails when the server under test shows an out-of-order
// status or a missed final state; the old engine's figures are reported
// beside, and only noted.
func (e *env) scenarioOrder(ctx context.Context) error {
	sz := e.sz
	srv, err := e.orderRun(ctx, e.engine)
	if err != nil {
		return err
	}
	var old *orderResult
	if e.old != nil {
		o, err := e.orderRun(ctx, e.old)
		if err != nil {
			e.oldFailed("order", err)
		} else {
			old = &o
		}
	}
	const sc = "7 order"
	k := min(sz.orderWatch, sz.orderUsers)
	label := fmt.Sprintf("%s users × %d changes, %s watchers × %d", fmtNum(float64(sz.orderUsers)), sz.orderChanges, fmtNum(float64(sz.orderWatchers)), k)
	views := sz.orderWatchers * k
	figures := func(r orderResult) []Figure {
		return []Figure{
			fig(sc, label+": changes/s", "/s", r.changeRate),
			fig(sc, label+": deliveries/s", "/s", r.deliveryRate).note("statuses the watchers received: change pushes and subscribe snapshots"),
			fig(sc, label+": out-of-order statuses", "", float64(r.outOfOrder)).want(goal{atMost, 0}),
			fig(sc, label+": missed final states", "", float64(r.missed)).want(goal{atMost, 0}).
				note(fmt.Sprintf("of %s watcher views", fmtNum(float64(views)))),
			fig(sc, label+": stale statuses dropped", "", float64(r.stale)).note("a user_status_version lower than the one held"),
			fig(sc, label+": unsubscribe + subscribe rounds during the changes", "", float64(r.toggles)),
		}
	}
	e.res.add(figures(srv)...)
	if old != nil {
		e.res.addOld(figures(*old)...)
		e.addNewToOld(sc, label+": changes/s", srv.changeRate, old.changeRate, &goal{atLeast, 1})
	}
	for _, r := range []struct {
		name string
		r    *orderResult
	}{{"imstatusd", &srv}, {"the old engine", old}} {
		if r.r == nil {
			continue
		}
		if r.r.errors > 0 || r.r.toggleErrors > 0 || r.r.lost > 0 {
			e.res.notef("Order on %s: %d failed changes, %d failed unsubscribe/subscribe rounds, %d connections lost.",
				r.name, r.r.errors, r.r.toggleErrors, r.r.lost)
		}
		if len(r.r.examples) > 0 {
			e.res.notef("Order on %s: %s.", r.name, strings.Join(r.r.examples, "; "))
		}
	}
	var bad []string
	if srv.outOfOrder > 0 {
		bad = append(bad, fmt.Sprintf("%d out-of-order statuses", srv.outOfOrder))
	}
	if srv.missed > 0 {
		bad = append(bad, fmt.Sprintf("%d missed final states", srv.missed))
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, ", "))
	}
	return nil
}

type orderResult struct {
	changes, errors          int64 // acknowledged and failed changes
	changeRate, deliveryRate float64
	outOfOrder, stale        int64
	missed                   int
	toggles, toggleErrors    int64
	lost                     int
	examples                 []string // a few out-of-order statuses and missed states
}

// orderWatcher is one watcher: its targets and its view of them, which its
// connection's reader updates.
type orderWatcher struct {
	idx     int
	targets []string
	mu      sync.Mutex
	view    orderView
}

// orderTargets returns the K changers watcher i watches: i … i+K-1 on the
// ring of changers (all of them when there are fewer).
func orderTargets(ids []string, i, k int) []string {
	n := len(ids)
	k = min(k, n)
	out := make([]string, 0, k)
	for j := range k {
		out = append(out, ids[(i+j)%n])
	}
	return out
}

// orderRun runs the order scenario once against a fresh server, eng.
func (e *env) orderRun(ctx context.Context, eng *engine) (orderResult, error) {
	sz := e.sz
	n, changes, w, drivers := sz.orderUsers, sz.orderChanges, sz.orderWatchers, min(sz.churnDrivers, sz.orderUsers)
	var t *target
	var err error
	if eng == e.engine {
		t, err = e.startServer(ctx)
	} else {
		t, err = e.startEngine(ctx, eng, false)
	}
	if err != nil {
		return orderResult{}, err
	}
	defer t.stop()
	changerIDs := make([]string, n)
	for i := range changerIDs {
		changerIDs[i] = e.userN("o", i)
	}
	// The changers log in first: a subscribe needs its targets' accounts.
	changers, err := e.openFleet(ctx, fmt.Sprintf("%s: %d changers log in", eng.name, n), n, 64, func(ctx context.Context, i int) (*wsConn, error) {
		return e.loginConn(ctx, i, t.addr(i), changerIDs[i], nil)
	})
	if err != nil {
		return orderResult{}, err
	}
	defer changers.abortAll()

	var (
		total    orderCount
		totalMu  sync.Mutex
		received atomic.Int64 // statuses, read without the lock by the progress and the rates
		examples []string
	)
	note := func(s string) {
		if len(examples) < 5 {
			examples = append(examples, s)
		}
	}
	watchers := make([]*orderWatcher, w)
	for i := range watchers {
		watchers[i] = &orderWatcher{idx: i, targets: orderTargets(changerIDs, i, sz.orderWatch), view: orderView{}}
	}
	conns, err := e.openFleet(ctx, fmt.Sprintf("%s: %d watchers log in and subscribe to %d each", eng.name, w, min(sz.orderWatch, n)), w, 64,
		func(ctx context.Context, i int) (*wsConn, error) {
			ow := watchers[i]
			c, err := e.loginConn(ctx, n+i, t.addr(n+i), e.userN("w", i), func(_ *wsConn, msg []byte) {
				ow.mu.Lock()
				got := ow.view.applyFrame(msg)
				ow.mu.Unlock()
				received.Add(got.statuses)
				if got.stale > 0 || got.outOfOrder > 0 {
					totalMu.Lock()
					total.addUp(got)
					if got.example != "" {
						note(fmt.Sprintf("watcher %d accepted %s", ow.idx, got.example))
					}
					totalMu.Unlock()
				}
			})
			if err != nil {
				return nil, err
			}
			if err := subscribeAll(ctx, c, ow.targets); err != nil {
				c.abort()
				return nil, err
			}
			return c, nil
		})
	if err != nil {
		return orderResult{}, err
	}
	defer conns.abortAll()
	time.Sleep(300 * time.Millisecond) // the snapshots of the first subscribes

	var r orderResult
	var acked, failed, toggles, toggleErrs atomic.Int64
	done := make(chan struct{})
	var toggling sync.WaitGroup
	togglers := min(sz.orderTogglers, w)
	for g := range togglers {
		toggling.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 0x0de7))
			for j := g; ; j += togglers {
				if j >= w {
					j = g
				}
				select {
				case <-done:
					return
				default:
				}
				if ctx.Err() != nil {
					return
				}
				ts := watchers[j].targets
				k := max(len(ts)/10, 1)
				step, off := len(ts)/k, rng.IntN(len(ts))
				pick := make([]string, 0, k)
				for m := range k {
					pick = append(pick, ts[(off+m*step)%len(ts)])
				}
				body := wire.AppendIDsBody(nil, pick)
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := conns[j].call(cctx, wire.OpUnsubscribe, body)
				if err == nil {
					_, err = conns[j].call(cctx, wire.OpSubscribe, body)
				}
				cancel()
				if err != nil {
					toggleErrs.Add(1)
					continue
				}
				toggles.Add(1)
			}
		})
	}

	var first sync.Once
	var tFirst time.Time
	var dFirst int64
	lastAck := make([]time.Time, drivers)
	stop := e.prog.ticker(eng.name+" order", func() string {
		totalMu.Lock()
		ooo := total.outOfOrder
		totalMu.Unlock()
		return fmt.Sprintf("%d/%d changes, %d statuses received, %d rounds, %d out of order", acked.Load(), n*changes, received.Load(), toggles.Load(), ooo)
	})
	var driving sync.WaitGroup
	for d := range drivers {
		driving.Go(func() {
			for seq := 1; seq <= changes; seq++ {
				body := setStatusBody("o:" + strconv.Itoa(seq))
				for j := d; j < n; j += drivers {
					if ctx.Err() != nil {
						return
					}
					cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					_, err := changers[j].call(cctx, wire.OpSetStatus, body)
					cancel()
					now := time.Now()
					if err != nil {
						failed.Add(1)
						continue
					}
					first.Do(func() { tFirst, dFirst = now, received.Load() })
					acked.Add(1)
					lastAck[d] = now
				}
			}
		})
	}
	driving.Wait()
	dLast := received.Load()
	close(done)
	toggling.Wait()
	stop()
	if err := ctx.Err(); err != nil {
		return r, err
	}
	var tLast time.Time
	for _, at := range lastAck {
		if at.After(tLast) {
			tLast = at
		}
	}
	r.changes, r.errors = acked.Load(), failed.Load()
	r.toggles, r.toggleErrors = toggles.Load(), toggleErrs.Load()
	if el := tLast.Sub(tFirst).Seconds(); r.changes > 1 && el > 0 {
		r.changeRate = float64(r.changes) / el
		r.deliveryRate = float64(dLast-dFirst) / el
	}

	// Quiet: nothing received for 500 ms (at most 10 s).
	prev, still := received.Load(), 0
	for deadline := time.Now().Add(10 * time.Second); still < 5 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if cur := received.Load(); cur != prev {
			prev, still = cur, 0
		} else {
			still++
		}
	}
	if err := e.parallel(ctx, fmt.Sprintf("%s: %d watchers subscribe once more", eng.name, w), w, 64, func(ctx context.Context, i int) error {
		return subscribeAll(ctx, conns[i], watchers[i].targets)
	}); err != nil {
		return r, err
	}
	missed := func(describe bool) int {
		m := 0
		for _, ow := range watchers {
			ow.mu.Lock()
			for _, id := range ow.targets {
				if h := ow.view.holds(id); h != changes {
					m++
					if describe {
						totalMu.Lock()
						note(fmt.Sprintf("watcher %d holds o:%d of %s, not o:%d", ow.idx, h, id, changes))
						totalMu.Unlock()
					}
				}
			}
			ow.mu.Unlock()
		}
		return m
	}
	// The snapshots follow the replies: wait until every view holds the
	// final state, or 10 s.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if r.missed = missed(false); r.missed == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r.missed > 0 {
		r.missed = missed(true)
	}
	totalMu.Lock()
	r.outOfOrder, r.stale, r.examples = total.outOfOrder, total.stale, examples
	totalMu.Unlock()
	r.lost = changers.lost() + conns.lost()
	e.prog.printf("   %s order: %d changes (%d failed) at %.0f/s, %.0f statuses received/s, %d out of order, %d stale dropped, %d missed final states, %d unsubscribe+subscribe rounds",
		eng.name, r.changes, r.errors, r.changeRate, r.deliveryRate, r.outOfOrder, r.stale, r.missed, r.toggles)
	return r, t.check()
}
