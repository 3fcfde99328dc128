package server_test

import (
	"testing"
	"time"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/wire"
)

func ids(list ...string) map[string]any { return map[string]any{"ids": list} }

func TestFeatureGates(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*server.AppConfig)
		code int
	}{
		{"standard edition", func(a *server.AppConfig) { a.Edition = "standard" }, wire.CodeEditionRequired},
		{"pro edition", func(a *server.AppConfig) { a.Edition = "pro" }, wire.CodeEditionRequired},
		{"switch off", func(a *server.AppConfig) { a.UserStatusEnabled = off() }, wire.CodeStatusDisabled},
		{"upstream defaults", func(a *server.AppConfig) { a.Edition = ""; a.UserStatusEnabled = nil }, wire.CodeEditionRequired},
		{"ultimate and on", func(*server.AppConfig) {}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.mod)
			e.importAccounts("b")
			a := e.login("a")
			a.mustCall(tc.code, wire.OpGetStatus, ids("b"))
			a.mustCall(tc.code, wire.OpGetStatus, ids("a", "b"))
			a.mustCall(tc.code, wire.OpSubscribe, ids("b"))
			a.mustCall(tc.code, wire.OpUnsubscribe, ids("b"))
			a.mustCall(tc.code, wire.OpUnsubscribe, nil)
			// Neither the gate nor the switch applies to yourself.
			a.mustCall(0, wire.OpSetStatus, map[string]any{"user_status_custom_status": "x"})
			if st := a.statuses("a"); st[0].Custom != "x" {
				t.Fatalf("self query: %+v", st)
			}
		})
	}
}

func TestBatchLimits(t *testing.T) {
	e := newEnv(t)
	a := e.login("a")
	a.mustCall(wire.CodeBatchTooLarge, wire.OpGetStatus, ids(names("u", 501)...))
	if st := a.statuses(names("u", 500)...); len(st) != 500 || st[499].UserID != "u499" || st[0].Type != wire.StatusUnknown {
		t.Fatalf("500 ids: %d answers", len(st))
	}
	e.importAccounts(names("u", 101)...)
	a.mustCall(wire.CodeBatchTooLarge, wire.OpSubscribe, ids(names("u", 101)...))
	a.mustCall(0, wire.OpSubscribe, ids(names("u", 100)...))
	a.mustCall(wire.CodeBatchTooLarge, wire.OpUnsubscribe, ids(names("u", 101)...))
	a.mustCall(0, wire.OpUnsubscribe, ids(names("u", 100)...))
}

func TestBadIDs(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("b")
	a := e.login("a")
	a.drain()
	for _, bad := range []any{
		[]string{""}, []string{"has space"}, []string{"ünï"}, []string{"123456789012345678901234567890123"},
		[]any{1, 2}, "b", map[string]any{},
	} {
		a.mustCall(wire.CodeServerParams, wire.OpGetStatus, map[string]any{"ids": bad})
		a.mustCall(wire.CodeServerParams, wire.OpSubscribe, map[string]any{"ids": bad})
	}
	a.mustCall(wire.CodeServerParams, wire.OpGetStatus, ids())
	a.mustCall(wire.CodeServerParams, wire.OpGetStatus, nil)
	a.mustCall(wire.CodeServerParams, wire.OpSubscribe, ids())
	a.mustCall(wire.CodeServerParams, wire.OpSubscribe, ids("b", "a"))
	f := a.mustCall(wire.CodeAccountNotFound, wire.OpSubscribe, ids("b", "ghost"))
	if want := "no such account: ghost"; f.Desc != want {
		t.Fatalf("desc %q, want %q", f.Desc, want)
	}
	// Nothing of a refused call was kept.
	e.login("b").setStatus("hi")
	a.quiet()
}

func TestRateLimits(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("b")
	a := e.login("a")
	for _, op := range []wire.Op{wire.OpGetStatus, wire.OpSubscribe, wire.OpUnsubscribe} {
		for i := range 20 {
			if f := a.call(op, ids("b")); f.Code != 0 {
				t.Fatalf("%s call %d: %d %s", op, i+1, f.Code, f.Desc)
			}
		}
		a.mustCall(wire.CodeRateLimited, op, ids("b"))
	}
	// Exempt: querying yourself and setting your own status.
	for i := range 30 {
		a.statuses("a")
		a.mustCall(0, wire.OpSetStatus, map[string]any{"user_status_custom_status": string(rune('a' + i%26))})
	}
	// The limit is per user: b is not limited by a's calls.
	b := e.login("b")
	b.mustCall(0, wire.OpGetStatus, ids("a"))
	// The window ends 5 s after it started.
	e.clock.Advance(4999 * time.Millisecond)
	a.mustCall(wire.CodeRateLimited, wire.OpGetStatus, ids("b"))
	e.clock.Advance(time.Millisecond)
	a.mustCall(0, wire.OpGetStatus, ids("b"))
}

func TestSubscriptionCapEvictsOldest(t *testing.T) {
	e := newEnv(t, func(a *server.AppConfig) { a.RateLimitCalls = 1000 })
	targets := names("t", 201)
	e.importAccounts(targets...)
	w := e.login("w")
	for i := 0; i < 200; i += 100 {
		w.mustCall(0, wire.OpSubscribe, ids(targets[i:i+100]...))
	}
	w.drain()
	// t0 is re-subscribed, so it becomes the newest; t1 is now the oldest.
	w.mustCall(0, wire.OpSubscribe, ids("t0"))
	w.mustCall(0, wire.OpSubscribe, ids("t200"))
	w.drain()
	e.login("t1").sync()
	w.quiet() // t1 was evicted
	for _, id := range []string{"t0", "t2", "t200"} {
		e.login(id)
		w.expect(id, wire.StatusOnline, "", "Windows")
	}
}

func TestUnsubscribe(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("x", "y", "z")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, ids("x", "y", "z"))
	w.drain()
	w.mustCall(0, wire.OpUnsubscribe, ids("x"))
	x, y := e.login("x"), e.login("y")
	w.expect("y", wire.StatusOnline, "", "Windows")
	w.quiet()

	// An empty list, or null, removes all.
	for _, body := range []any{ids(), map[string]any{"ids": nil}, nil} {
		w.mustCall(0, wire.OpSubscribe, ids("x", "y", "z"))
		w.drain()
		w.mustCall(0, wire.OpUnsubscribe, body)
		x.setStatus("1")
		y.setStatus("2")
		e.login("z").sync()
		w.quiet()
		x.setStatus("")
		y.setStatus("")
	}
}

// After a reconnect a client resubscribes and gets the current state of
// everything it follows, including what changed while it was away.
func TestResubscribeConverges(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("x")
	w := e.login("w", loginOpts{platform: "Android"})
	w.mustCall(0, wire.OpSubscribe, ids("x"))
	w.expect("x", wire.StatusUnlogined, "")
	w.ws.Close()
	x := e.login("x")
	x.setStatus("changed while w was away")
	w = e.login("w", loginOpts{platform: "Android"})
	w.mustCall(0, wire.OpSubscribe, ids("x"))
	w.expect("x", wire.StatusOnline, "changed while w was away", "Windows")
}

func TestHeartbeatTimeout(t *testing.T) {
	e := newEnv(t, func(a *server.AppConfig) { a.HeartbeatTimeoutMS = 400_000 })
	e.importAccounts("x")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, ids("x"))
	w.expect("x", wire.StatusUnlogined, "")
	x := e.login("x")
	w.expect("x", wire.StatusOnline, "", "Windows")
	x.setStatus("busy")
	w.expect("x", wire.StatusOnline, "busy", "Windows")

	// Both send heartbeats until 399 s: nobody is declared gone.
	e.clock.Advance(399 * time.Second)
	w.mustCall(0, wire.OpHeartbeat, nil)
	x.mustCall(0, wire.OpHeartbeat, nil)
	e.srv.Sweep()
	w.quiet()

	// Then x goes silent (no FIN), w keeps beating.
	e.clock.Advance(400 * time.Second)
	w.mustCall(0, wire.OpHeartbeat, nil)
	e.srv.Sweep()
	w.mustCall(0, wire.OpHeartbeat, nil)
	e.clock.Advance(time.Millisecond)
	e.srv.Sweep()
	w.expect("x", wire.StatusOffline, "")
	x.waitClosed()
	if st := w.statuses("w")[0]; st.Type != wire.StatusOnline {
		t.Fatalf("w, who kept beating: %+v", st)
	}
}

func TestSubscriptionsClearedAfterOwnerLeaves(t *testing.T) {
	e := newEnv(t, func(a *server.AppConfig) { a.SubscriptionClearDelayMS = 60_000 })
	e.importAccounts("x", "y")
	// w leaves and comes back within the delay: its list is kept.
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, ids("x"))
	w.mustCall(0, wire.OpLogout, nil)
	e.clock.Advance(59 * time.Second)
	e.srv.Sweep()
	w = e.login("w")
	w.drain()
	x := e.login("x")
	w.expect("x", wire.StatusOnline, "", "Windows")

	// w goes away for longer than the delay: its list is cleared.
	x.mustCall(0, wire.OpSubscribe, ids("w"))
	x.drain()
	w.ws.Close()
	x.expect("w", wire.StatusOffline, "")
	e.clock.Advance(60 * time.Second)
	e.srv.Sweep()
	w = e.login("w")
	w.drain()
	x.setStatus("you should not see this")
	w.quiet()

	// Another owner who stays online keeps its list however long.
	v := e.login("v")
	v.mustCall(0, wire.OpSubscribe, ids("y"))
	e.clock.Advance(time.Hour)
	v.mustCall(0, wire.OpHeartbeat, nil)
	e.srv.Sweep()
	v.drain()
	e.login("y")
	v.expect("y", wire.StatusOnline, "", "Windows")
}
