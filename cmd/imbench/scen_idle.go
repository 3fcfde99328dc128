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
		srv, err := e.idleOnce(ctx, "imstatusd", n, e.startServer)
		if err != nil {
			return err
		}
		base, err := e.idleOnce(ctx, "bare gorilla", n, func(ctx context.Context) (*target, error) {
			return e.startBaseline(ctx, "baseline-idle")
		})
		if err != nil {
			return err
		}
		e.res.Memory = append(e.res.Memory, srv, base)
		name := fmt.Sprintf("RSS per connection, %s logged-in conns", fmtNum(float64(n)))
		const baseName = "bare gorilla idle server"
		e.res.add(fig("1 idle", name, "KiB", srv.PerConnKiB).vs(baseName, base.PerConnKiB).want(goal{atMost, 10}))
		if e.old == nil {
			continue
		}
		old, err := e.idleOnce(ctx, e.old.name, n, func(ctx context.Context) (*target, error) {
			return e.startEngine(ctx, e.old, false)
		})
		if err != nil {
			e.oldFailed("idle", err)
			continue
		}
		e.res.Memory = append(e.res.Memory, old)
		e.res.addOld(fig("1 idle", name, "KiB", old.PerConnKiB).vs(baseName, base.PerConnKiB))
	}
	return nil
}

// idleOnce opens n idle connections to the server start starts (logged in
// unless it is the bare gorilla one) and measures its RSS growth.
func (e *env) idleOnce(ctx context.Context, server string, n int, start func(context.Context) (*target, error)) (MemPoint, error) {
	t, err := start(ctx)
	if err != nil {
		return MemPoint{}, err
	}
	defer t.stop()
	time.Sleep(300 * time.Millisecond)
	before, err := t.settleRSS(ctx, 3*time.Second)
	if err != nil {
		return MemPoint{}, err
	}
	opening := time.Now()
	conns, err := e.openFleet(ctx, fmt.Sprintf("%s: %d idle connections", server, n), n, 64, func(ctx context.Context, i int) (*wsConn, error) {
		if server == "bare gorilla" {
			return e.dialRetry(ctx, i, t.addr(i), "/ws", nil)
		}
		return e.loginConn(ctx, i, t.addr(i), e.userN("i", i), nil)
	})
	if err != nil {
		return MemPoint{}, err
	}
	defer conns.abortAll()
	opened := time.Since(opening)
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
