package main

import (
	"context"
	"fmt"
	"time"
)

// Scenario 1: N idle, logged-in connections; the server's RSS growth per
// connection once it settled. Baseline: a bare gorilla server holding as
// many connections with one goroutine each and default buffers.
func (e *env) scenarioIdle(ctx context.Context) error {
	if len(e.opts.servers) > 0 {
		e.res.notef("Idle memory skipped: the servers were given with --servers, so their RSS cannot be read.")
		return nil
	}
	for _, n := range e.sz.idle {
		if uint64(n)+64 > e.maxFiles {
			e.res.notef("Idle memory at %d connections skipped: the open-file limit is %d.", n, e.maxFiles)
			continue
		}
		srv, err := e.idleOnce(ctx, "imstatusd", n)
		if err != nil {
			return err
		}
		base, err := e.idleOnce(ctx, "bare gorilla", n)
		if err != nil {
			return err
		}
		e.res.Memory = append(e.res.Memory, srv, base)
		e.res.add(fig("1 idle", fmt.Sprintf("RSS per connection, %s logged-in conns", fmtNum(float64(n))), "KiB", srv.PerConnKiB).
			vs("bare gorilla idle server", base.PerConnKiB).want(goal{atMost, 10}))
	}
	return nil
}

func (e *env) idleOnce(ctx context.Context, server string, n int) (MemPoint, error) {
	var t *target
	var err error
	if server == "imstatusd" {
		t, err = e.startServer(ctx)
	} else {
		t, err = e.startBaseline(ctx, "baseline-idle")
	}
	if err != nil {
		return MemPoint{}, err
	}
	defer t.stop()
	time.Sleep(300 * time.Millisecond)
	before, err := t.settleRSS(ctx, 3*time.Second)
	if err != nil {
		return MemPoint{}, err
	}
	start := time.Now()
	conns, err := e.openFleet(ctx, fmt.Sprintf("%s: %d idle connections", server, n), n, 64, func(ctx context.Context, i int) (*wsConn, error) {
		if server == "imstatusd" {
			return e.loginConn(ctx, i, t.addr(i), e.userN("i", i), nil)
		}
		return e.dialRetry(ctx, i, t.addr(i), "/ws", nil)
	})
	if err != nil {
		return MemPoint{}, err
	}
	defer conns.abortAll()
	opened := time.Since(start)
	after, err := t.settleRSS(ctx, 15*time.Second)
	if err != nil {
		return MemPoint{}, err
	}
	if lost := conns.lost(); lost > 0 {
		return MemPoint{}, fmt.Errorf("%s: %d of %d idle connections were closed", server, lost, n)
	}
	p := MemPoint{Server: server, Conns: n, RSSBefore: before, RSSAfter: after,
		PerConnKiB: float64(after-before) / float64(n) / 1024}
	e.prog.printf("   %s, %d conns (opened in %.1f s): RSS %.1f → %.1f MiB, %.1f KiB per connection",
		server, n, opened.Seconds(), float64(before)/(1<<20), float64(after)/(1<<20), p.PerConnKiB)
	return p, t.check()
}
