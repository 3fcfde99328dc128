package core_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/internal/faultproxy"
	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/memstore"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

var bg = context.Background()

func TestLoginStatusSubscribeLogout(t *testing.T) {
	s := startServer(t)
	a := s.login("alice")
	if got := a.LoginStatus(); got != core.Logined || a.UserID() != "alice" {
		t.Fatalf("after login: %v %q", got, a.UserID())
	}
	a.expect("alice", wire.StatusOnline, "") // own status, multi-device sync
	b := s.login("bob")
	b.must(b.Subscribe(bg, []string{"alice"}))
	b.expect("alice", wire.StatusOnline, "") // the current state, at subscribe

	a.must(a.SetSelfStatus(bg, "in a match"))
	b.expect("alice", wire.StatusOnline, "in a match")
	a.expect("alice", wire.StatusOnline, "in a match")
	if b.cut == 0 || a.cut == 0 {
		t.Fatalf("no status event carried the JSON cut from its push (bob %d, alice %d)", b.cut, a.cut)
	}

	sts, err := b.GetUserStatus(bg, []string{"alice", "bob", "nobody"})
	b.must(err)
	if len(sts) != 3 || sts[0].Custom != "in a match" || sts[1].Type != wire.StatusOnline || sts[2].Type != wire.StatusUnknown {
		t.Fatalf("get: %+v", sts)
	}
	if subs := b.Subscriptions(); len(subs) != 1 || subs[0] != "alice" {
		t.Fatalf("subscriptions %v", subs)
	}

	a.must(a.Logout(bg))
	if got := a.LoginStatus(); got != core.UnLogined || a.UserID() != "" {
		t.Fatalf("after logout: %v %q", got, a.UserID())
	}
	b.expect("alice", wire.StatusUnlogined, "")
	a.wantCode(wire.CodeNotLoggedIn, a.SetSelfStatus(bg, "x"))
	a.wantCode(wire.CodeNotLoggedIn, a.Logout(bg))

	// Log in again on the same client.
	a.must(a.Login(bg, "alice", s.sig("alice", time.Hour)))
	b.expect("alice", wire.StatusOnline, "")
	// Again as the same user: fine; as another: refused.
	a.must(a.Login(bg, "alice", s.sig("alice", time.Hour)))
	a.wantCode(wire.CodeInvalidParams, a.Login(bg, "carol", s.sig("carol", time.Hour)))

	b.must(b.Unsubscribe(bg, nil))
	if subs := b.Subscriptions(); len(subs) != 0 {
		t.Fatalf("after unsubscribe all: %v", subs)
	}
	a.must(a.SetSelfStatus(bg, "unseen"))
	b.noStatusOf("alice")
}

func TestLoginErrors(t *testing.T) {
	s := startServer(t)
	c := newClient(t, []string{s.Addr})
	c.user = "u"
	c.wantCode(wire.CodeSigInvalid, c.Login(bg, "u", "garbage"))
	c.wantCode(wire.CodeSigIdentifier, c.Login(bg, "u", s.sig("v", time.Hour)))
	expired, _ := usersig.Generate(testKey, testApp, "u", time.Hour, s.Clock.Now().Add(-2*time.Hour))
	c.wantCode(wire.CodeSigExpired, c.Login(bg, "u", expired))
	c.wantCode(wire.CodeInvalidParams, c.Login(bg, "bad id", "x"))
	// A UserSig past the server's limit is 70003 at once, also one too long
	// for a frame (which the server would not even read: 1009, then retries
	// until 6012).
	for _, n := range []int{usersig.MaxSigLen + 1, wire.MaxFrame + 1} {
		err := c.Login(bg, "u", strings.Repeat("A", n))
		c.wantCode(wire.CodeSigInvalid, err)
		if !strings.Contains(err.Error(), "bytes, more than") {
			t.Fatalf("a %d-byte UserSig: %v, want it refused by the client's own check", n, err)
		}
	}
	if c.LoginStatus() != core.UnLogined {
		t.Fatalf("status %v after failed logins", c.LoginStatus())
	}
	none := newClient(t, nil)
	none.wantCode(wire.CodeInvalidParams, none.Login(bg, "u", s.sig("u", time.Hour)))
}

func TestLocalChecks(t *testing.T) {
	s := startServer(t, func(a *server.AppConfig) { a.RateLimitCalls = 3 })
	c := newClient(t, []string{s.Addr})
	c.user = "me"
	for _, err := range []error{
		c.SetSelfStatus(bg, "x"), c.Subscribe(bg, []string{"a"}), c.Unsubscribe(bg, nil), c.Logout(bg),
	} {
		c.wantCode(wire.CodeNotLoggedIn, err)
	}
	_, err := c.GetUserStatus(bg, []string{"a"})
	c.wantCode(wire.CodeNotLoggedIn, err)

	c.must(c.Login(bg, "me", s.sig("me", time.Hour)))
	s.Srv.ImportAccounts(testApp, "a")
	c.wantCode(wire.CodeInvalidParams, c.SetSelfStatus(bg, strings.Repeat("x", 101)))
	c.wantCode(wire.CodeInvalidParams, c.SetSelfStatus(bg, "bad \xff"))
	c.wantCode(wire.CodeInvalidParams, c.Subscribe(bg, nil))
	c.wantCode(wire.CodeInvalidParams, c.Subscribe(bg, []string{"me"}))
	c.wantCode(wire.CodeInvalidParams, c.Subscribe(bg, []string{"has space"}))
	_, err = c.GetUserStatus(bg, nil)
	c.wantCode(wire.CodeInvalidParams, err)
	_, err = c.GetUserStatus(bg, make([]string, 501))
	c.wantCode(wire.CodeInvalidParams, err) // "" is not a valid id: checked first

	many := make([]string, 501)
	for i := range many {
		many[i] = "u" + strings.Repeat("x", i%20)
	}
	_, err = c.GetUserStatus(bg, many)
	c.wantCode(wire.CodeBatchTooLarge, err)
	c.wantCode(wire.CodeBatchTooLarge, c.Subscribe(bg, many[:101]))

	// The server said 3 calls per window. Three pass; then the server goes
	// away, and the fourth is still refused at once, locally.
	for range 3 {
		_, err := c.GetUserStatus(bg, []string{"a"})
		c.must(err)
	}
	s.Stop()
	start := time.Now()
	_, err = c.GetUserStatus(bg, []string{"a"})
	c.wantCode(wire.CodeRateLimited, err)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the local rate limit took %v: it waited for the server", d)
	}
	// Querying yourself is not limited (it waits for the server, which is gone).
	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	_, err = c.GetUserStatus(ctx, []string{"me"})
	c.wantCode(wire.CodeTimeout, err)
}

func TestLocalRateWindowUsesInjectedClock(t *testing.T) {
	s := startServer(t, func(a *server.AppConfig) { a.RateLimitCalls = 2; a.RateLimitWindowMS = 1000 })
	clock := testserver.NewClock(time.Now())
	c := s.login("me", func(cfg *core.Config) { cfg.Now = clock.Now })
	s.Srv.ImportAccounts(testApp, "a")
	for range 2 {
		c.must(c.Subscribe(bg, []string{"a"}))
	}
	c.wantCode(wire.CodeRateLimited, c.Subscribe(bg, []string{"a"}))
	clock.Advance(time.Second)
	// Locally the window is over; the server's own (real-time) window may
	// not be, so either answer proves the client did not refuse it itself.
	if err := c.Subscribe(bg, []string{"a"}); err != nil && code(err) != wire.CodeRateLimited {
		t.Fatal(err)
	}
}

func TestFailoverToSecondAddress(t *testing.T) {
	s := startServer(t)
	dead := "127.0.0.1:1" // nothing listens on port 1
	c := newClient(t, []string{dead, s.Addr})
	c.user = "u"
	c.must(c.Login(bg, "u", s.sig("u", time.Hour)))
	if e := next[core.NetworkChanged](c); e.Status != core.Connecting {
		t.Fatalf("first event %+v", e)
	}
	if e := next[core.NetworkChanged](c); e.Status != core.ConnectFailed || e.Code != wire.CodeNetwork || e.Desc == "" {
		t.Fatalf("second event %+v, want connect failed 9508", e)
	}
	next[core.NetworkChanged](c) // connecting, to the second
	if e := next[core.NetworkChanged](c); e.Status != core.Connected {
		t.Fatalf("event %+v, want connected", e)
	}
}

func TestLoginTimesOutWithoutServer(t *testing.T) {
	c := newClient(t, []string{"127.0.0.1:1"})
	ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
	defer cancel()
	c.wantCode(wire.CodeTimeout, c.Login(ctx, "u", "sig"))
	if c.LoginStatus() != core.UnLogined {
		t.Fatalf("status %v", c.LoginStatus())
	}
}

// A login whose wait ends (its deadline) just as the server takes it: the
// connection manager must not make the client Logined after the login
// ended, or the app is left "logged in" with no link and none coming
// (the soak's clients that were logged in and OFFLINE). The hook holds the
// moment after end released the lock open until the server has the login.
func TestLoginEndedAsTheServerTakesIt(t *testing.T) {
	s := startServer(t)
	watcher := s.login("watcher")
	online := func() bool {
		sts, err := watcher.GetUserStatus(bg, []string{"late"})
		return err == nil && sts[0].Type == wire.StatusOnline
	}
	// until reports whether cond came true within d.
	until := func(d time.Duration, cond func() bool) bool {
		for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				return false
			}
		}
		return true
	}
	// The login's wait ends at once: its context is done. On a loaded
	// machine the login may get in before the wait looks; then the gap was
	// not met, and the test logs out and tries again.
	var c *tc
	for try := 1; ; try++ {
		c = newClient(t, []string{s.Addr})
		var armed atomic.Bool // the login's end, not a later one's
		armed.Store(true)
		core.SetAfterEnd(c.Client, func() {
			if armed.Swap(false) {
				// With the fix, the login is undone before it reaches the server.
				until(time.Second, online)
				time.Sleep(50 * time.Millisecond) // the login's answer reaches the client
			}
		})
		ctx, cancel := context.WithCancel(bg)
		cancel()
		err := c.Login(ctx, "late", s.sig("late", time.Hour))
		if err != nil {
			c.wantCode(wire.CodeTimeout, err)
			break
		}
		if try == 20 {
			t.Fatal("20 logins in a row got in before their wait ended")
		}
		armed.Store(false)
		c.must(c.Logout(bg))
		if !until(wait, func() bool { return !online() }) {
			t.Fatal("logged out, the user is still ONLINE")
		}
	}
	if st := c.LoginStatus(); st != core.UnLogined {
		t.Fatalf("after a login that timed out, the client is %v", st)
	}
	// The link the server took is closed: the device goes away.
	if !until(wait, func() bool { return !online() }) {
		t.Fatal("the server still has the ended login's device")
	}
	if err := c.Login(bg, "late", s.sig("late", time.Hour)); err != nil {
		t.Fatalf("logging in again: %v", err)
	}
}

// A logout begun while the client reconnects: a link the connection
// manager finishes meanwhile is not the client's (the logout sent nothing
// on it), and must not make the client Logined again.
func TestLogoutWhileReconnecting(t *testing.T) {
	s := startServer(t)
	x := s.login("x")
	s.Stop()
	x.waitNet(core.Disconnected)
	finish, err := x.StartLogout()
	if err != nil {
		t.Fatal(err)
	}
	s.Start("x")
	// Reconnects are tried at most 200 ms apart: a few have reached the
	// server by now.
	time.Sleep(time.Second)
	if st := x.LoginStatus(); st != core.Logouting {
		t.Fatalf("while its logout is under way, the client is %v", st)
	}
	x.must(finish(bg))
	if st := x.LoginStatus(); st != core.UnLogined {
		t.Fatalf("after the logout, the client is %v", st)
	}
	if err := x.Login(bg, "x", s.sig("x", time.Hour)); err != nil {
		t.Fatalf("logging in again: %v", err)
	}
}

// A dropped link: the client reconnects, logs in again, restores its
// subscriptions and reports what changed while it was away, once.
func TestReconnectRestoresAndCatchesUp(t *testing.T) {
	s := startServer(t)
	w, p, x := s.watchThroughProxy("x", "y")

	p.SetRefuse(true)
	p.Drop()
	w.waitNet(core.Disconnected)
	if w.LoginStatus() != core.Logined {
		t.Fatalf("while reconnecting: %v, want still logged in", w.LoginStatus())
	}
	x.must(x.SetSelfStatus(bg, "changed while w was away"))
	// A call made now waits for the link.
	got := make(chan error, 1)
	go func() { _, err := w.GetUserStatus(bg, []string{"x"}); got <- err }()
	p.SetRefuse(false)

	w.expect("x", wire.StatusOnline, "changed while w was away")
	if err := <-got; err != nil {
		t.Fatalf("call made during the reconnect: %v", err)
	}
	// y did not change: it is not reported again.
	w.noStatusOf("y")
	x.must(x.SetSelfStatus(bg, "after"))
	w.expect("x", wire.StatusOnline, "after")
}

// After a reconnect the snapshot of two online users, one of them
// unchanged, is reported as the one that changed: with JSON of that one
// only (take checks it), not the push's text of both.
func TestReconnectSnapshotReportsOnlyNews(t *testing.T) {
	s := startServer(t)
	w, p, x := s.watchThroughProxy("x", "y")
	s.login("y")
	w.expect("y", wire.StatusOnline, "")

	p.SetRefuse(true)
	p.Drop()
	w.waitNet(core.Disconnected)
	x.must(x.SetSelfStatus(bg, "changed while w was away"))
	p.SetRefuse(false)
	w.expect("x", wire.StatusOnline, "changed while w was away")
	w.noStatusOf("y")
}

// Versions hold across links: after a failover, a status older than one
// reported on the last link is not taken. Two servers stand for two nodes,
// one of which still holds x's older status (as a dead node's resent
// status is older than a change made since on a live one).
func TestVersionsHoldAcrossLinks(t *testing.T) {
	a, b := startServer(t), startServer(t)
	for _, s := range []*testServer{a, b} {
		s.Srv.ImportAccounts(testApp, "x")
	}
	xb := b.login("x")           // b's x: ONLINE, no custom status, an older version
	a.Clock.Advance(time.Second) // the test servers' clocks stand still
	xa := a.login("x")
	xa.must(xa.SetSelfStatus(bg, "newer"))

	pa := faultproxy.New(t, a.Addr)
	w := newClient(t, []string{pa.Addr(), b.Addr})
	w.user = "w"
	w.must(w.Login(bg, "w", a.sig("w", time.Hour)))
	w.must(w.Subscribe(bg, []string{"x"}))
	w.expect("x", wire.StatusOnline, "newer")

	// b's x stays at its older version; b's next versions (w's marker,
	// x's next change) are newer than a's.
	b.Clock.Advance(2 * time.Second)
	pa.SetRefuse(true)
	pa.Drop()
	w.waitNet(core.Disconnected)
	w.waitNet(core.Connected) // to b, whose snapshot of x is older
	w.noStatusOf("x")
	xb.must(xb.SetSelfStatus(bg, "later on b"))
	w.expect("x", wire.StatusOnline, "later on b")
}

// And across a logout and the next login of the same user, whose app was
// told the newer status before: a late older one is not taken.
func TestVersionsHoldAcrossLogins(t *testing.T) {
	a, b := startServer(t), startServer(t)
	for _, s := range []*testServer{a, b} {
		s.Srv.ImportAccounts(testApp, "x")
	}
	xb := b.login("x")
	a.Clock.Advance(time.Second)
	xa := a.login("x")
	xa.must(xa.SetSelfStatus(bg, "newer"))

	pa := faultproxy.New(t, a.Addr)
	w := newClient(t, []string{pa.Addr(), b.Addr})
	w.user = "w"
	w.must(w.Login(bg, "w", a.sig("w", time.Hour)))
	w.must(w.Subscribe(bg, []string{"x"}))
	w.expect("x", wire.StatusOnline, "newer")
	w.must(w.Logout(bg))

	b.Clock.Advance(2 * time.Second)
	pa.SetRefuse(true)
	w.must(w.Login(bg, "w", b.sig("w", time.Hour)))
	w.must(w.Subscribe(bg, []string{"x"}))
	w.noStatusOf("x")
	xb.must(xb.SetSelfStatus(bg, "later on b"))
	w.expect("x", wire.StatusOnline, "later on b")
}

// watchThroughProxy has w, logged in through a proxy the test can cut,
// subscribe to ids (accounts it imports), then logs ids[0] in as x, and
// returns once w has heard x come ONLINE.
func (s *testServer) watchThroughProxy(ids ...string) (w *tc, p *faultproxy.Proxy, x *tc) {
	return s.watchThroughProxyWith(nil, ids...)
}

// watchThroughProxyWith is watchThroughProxy with w's configuration
// changed by mod (when not nil).
func (s *testServer) watchThroughProxyWith(mod func(*core.Config), ids ...string) (w *tc, p *faultproxy.Proxy, x *tc) {
	s.t.Helper()
	s.Srv.ImportAccounts(testApp, ids...)
	p = faultproxy.New(s.t, s.Addr)
	var mods []func(*core.Config)
	if mod != nil {
		mods = append(mods, mod)
	}
	w = newClient(s.t, []string{p.Addr()}, mods...)
	w.user = "w"
	w.must(w.Login(bg, "w", s.sig("w", time.Hour)))
	w.must(w.Subscribe(bg, ids))
	for _, id := range ids {
		w.expect(id, wire.StatusUnlogined, "")
	}
	x = s.login(ids[0])
	w.expect(ids[0], wire.StatusOnline, "")
	return w, p, x
}

// A server restart on the same address: clients come back by themselves.
func TestServerRestart(t *testing.T) {
	s := startServer(t)
	s.Srv.ImportAccounts(testApp, "x")
	w := s.login("w")
	w.must(w.Subscribe(bg, []string{"x"}))
	w.expect("x", wire.StatusUnlogined, "")
	x := s.login("x")
	w.expect("x", wire.StatusOnline, "")
	x.must(x.SetSelfStatus(bg, "before"))
	w.expect("x", wire.StatusOnline, "before")
	x.eventually("x", wire.StatusOnline, "before") // x's events up to now

	s.Stop()
	for _, c := range []*tc{w, x} {
		c.waitNet(core.Disconnected)
	}
	// A new, empty server, the accounts imported again. Time passes over a
	// restart: the versions it numbers anew (at least its clock in µs) are
	// above those clients hold, which they keep across links.
	s.Clock.Advance(time.Second)
	s.Start("x", "w")
	for _, c := range []*tc{w, x} {
		c.waitNet(core.Connected)
	}
	// The restarted server lost x's custom status; w hears that (perhaps
	// after x's UNLOGINED, if w came back first).
	w.eventually("x", wire.StatusOnline, "")
	// x itself is told so (its own status event), so that its app can set
	// it again: what a client away longer than its device's lease sees.
	x.eventually("x", wire.StatusOnline, "")
	x.must(x.SetSelfStatus(bg, "after restart"))
	w.expect("x", wire.StatusOnline, "after restart")
}

func TestKickedOffline(t *testing.T) {
	s := startServer(t)
	old := s.login("u")
	newer := s.login("u") // same platform
	e := next[core.KickedOffline](old)
	if e.Code != wire.CodeKickedOffline || e.Desc == "" {
		t.Fatalf("kicked event %+v", e)
	}
	if old.LoginStatus() != core.UnLogined {
		t.Fatalf("kicked client: %v", old.LoginStatus())
	}
	old.wantCode(wire.CodeKickedOffline, old.SetSelfStatus(bg, "x"))
	newer.must(newer.SetSelfStatus(bg, "still here"))
	// The kicked client does not come back by itself.
	newer.noStatusOf("u-never")
	if st, _ := newer.GetUserStatus(bg, []string{"u"}); len(st[0].Devices) != 1 {
		t.Fatalf("devices %v", st[0].Devices)
	}
}

func TestUserSigExpires(t *testing.T) {
	s := startServer(t)
	c := newClient(t, []string{s.Addr})
	c.user = "u"
	c.must(c.Login(bg, "u", s.sig("u", time.Hour)))
	s.Clock.Advance(time.Hour + time.Second)
	s.Srv.Sweep()
	e := next[core.UserSigExpired](c)
	if e.Code != wire.CodeSigExpired {
		t.Fatalf("event %+v", e)
	}
	c.wantCode(wire.CodeSigExpiredLocal, c.SetSelfStatus(bg, "x"))
	if c.LoginStatus() != core.UnLogined {
		t.Fatalf("status %v", c.LoginStatus())
	}
}

// A link that dies without FIN or RST is noticed by the missing heartbeat
// answers, and the client reconnects once packets flow again.
func TestDeadLinkDetected(t *testing.T) {
	s := startServer(t)
	p := faultproxy.New(t, s.Addr)
	c := newClient(t, []string{p.Addr()}, func(cfg *core.Config) { cfg.HeartbeatInterval = 50 * time.Millisecond })
	c.user = "u"
	c.must(c.Login(bg, "u", s.sig("u", time.Hour)))
	c.waitNet(core.Connected)
	p.SetFrozen(true)
	c.waitNet(core.Disconnected)
	p.SetFrozen(false)
	c.waitNet(core.Connected)
	c.must(c.SetSelfStatus(bg, "back"))
}

func TestCloseFailsWaitingCallsAndStopsEvents(t *testing.T) {
	s := startServer(t)
	p := faultproxy.New(t, s.Addr)
	c := newClient(t, []string{p.Addr()})
	c.user = "u"
	c.must(c.Login(bg, "u", s.sig("u", time.Hour)))
	p.SetRefuse(true)
	p.Drop()
	got := make(chan error, 1)
	go func() { got <- c.SetSelfStatus(bg, "x") }()
	c.waitNet(core.Disconnected)
	c.Close()
	select {
	case err := <-got:
		c.wantCode(wire.CodeSDKUninit, err)
	case <-time.After(wait):
		t.Fatal("the waiting call did not end at Close")
	}
	c.wantCode(wire.CodeSDKUninit, c.Login(bg, "u", "x"))
	// Nothing is delivered after Close returned.
	n := len(c.events)
	p.SetRefuse(false)
	s.login("other").must(nil)
	if len(c.events) != n {
		t.Fatalf("events after Close: %d more", len(c.events)-n)
	}
}

// The answer to a GetUserStatus of 500 users with the longest ids and custom
// statuses is larger than a client frame may be; the client must take it.
func TestLargestGetAnswer(t *testing.T) {
	s := startServer(t)
	c := s.login("me")
	ids := make([]string, 500)
	custom := strings.Repeat("\x01", 100) // escaped as \u0001: six bytes each
	for i := range ids {
		ids[i] = fmt.Sprintf("%032d", i)
	}
	for _, id := range ids[:100] {
		u := s.login(id)
		u.must(u.SetSelfStatus(bg, custom))
	}
	sts, err := c.GetUserStatus(bg, ids)
	c.must(err)
	if len(sts) != 500 || sts[0].Custom != custom || sts[499].Type != wire.StatusUnknown {
		t.Fatalf("got %d statuses", len(sts))
	}
	if n := len(wire.AppendStatuses(nil, sts)); n <= wire.MaxFrame {
		t.Fatalf("the answer was %d bytes: the test must exceed %d", n, wire.MaxFrame)
	}
}

// Calls reserved in order reach the server in that order, even when they
// run on goroutines that start in another order, and a reserved call that
// is refused locally does not hold up the ones after it.
func TestReservedOrder(t *testing.T) {
	s := startServer(t)
	c := s.login("me")
	const n = 50
	ctxs := make([]context.Context, n)
	for i := range ctxs {
		ctxs[i] = c.Reserve(bg)
	}
	var wg sync.WaitGroup
	for i := n - 1; i >= 0; i-- { // start them backwards
		wg.Add(1)
		go func() {
			defer wg.Done()
			custom := fmt.Sprintf("seq-%02d", i)
			if i%10 == 5 {
				custom = strings.Repeat("x", 101) // refused locally
			}
			c.SetSelfStatus(ctxs[i], custom)
		}()
	}
	wg.Wait()
	sts, err := c.GetUserStatus(bg, []string{"me"})
	c.must(err)
	if sts[0].Custom != fmt.Sprintf("seq-%02d", n-1) {
		t.Fatalf("final custom status %q, want the last call's", sts[0].Custom)
	}
	// The own-status changes arrived in call order.
	last := -1
	for {
		st := c.nextStatus()
		if st.UserID != "me" || !strings.HasPrefix(st.Custom, "seq-") {
			continue
		}
		var k int
		fmt.Sscanf(st.Custom, "seq-%d", &k)
		if k < last {
			t.Fatalf("seq-%02d arrived after seq-%02d", k, last)
		}
		last = k
		if k == n-1 {
			break
		}
	}
}

func TestInlineEvents(t *testing.T) {
	s := startServer(t)
	s.Srv.ImportAccounts(testApp, "x")
	inline := func(cfg *core.Config) { cfg.InlineEvents = true }
	w := s.login("w", inline)
	w.must(w.Subscribe(bg, []string{"x"}))
	w.expect("x", wire.StatusUnlogined, "")
	x := s.login("x")
	w.expect("x", wire.StatusOnline, "")
	x.must(x.SetSelfStatus(bg, "hi"))
	w.expect("x", wire.StatusOnline, "hi")
	w.Close()
	n := len(w.events)
	x.must(x.SetSelfStatus(bg, "after close"))
	x.eventually("x", wire.StatusOnline, "after close")
	if len(w.events) != n {
		t.Fatal("an inline event was delivered after Close")
	}
}

// A server that restarts without some accounts: the client restores the
// subscriptions it can, and keeps the others on its list.
func TestRestoreSkipsUnknownAccounts(t *testing.T) {
	s := startServer(t)
	s.Srv.ImportAccounts(testApp, "known", "gone")
	w := s.login("w")
	w.must(w.Subscribe(bg, []string{"known", "gone"}))
	s.Stop()
	w.waitNet(core.Disconnected)
	s.Start("known", "w") // "gone" is not there any more
	w.waitNet(core.Connected)
	known := s.login("known")
	known.must(known.SetSelfStatus(bg, "back"))
	w.eventually("known", wire.StatusOnline, "back")
	if subs := w.Subscriptions(); len(subs) != 2 {
		t.Fatalf("subscriptions %v: the unknown one must stay on the list", subs)
	}
}

// wss://: a client that trusts the server's certificate (Config.TLSConfig)
// logs in and hears changes; one that does not is never logged in, and its
// error says why.
func TestTLS(t *testing.T) {
	certPEM, _, pair := testserver.SelfSigned(t, 1)
	s := startServer(t)
	s.Stop()
	s.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	s.Start("x", "w", "u")
	url := []string{"wss://" + s.Addr + "/ws"}
	trust := func(cfg *core.Config) { cfg.TLSConfig = testserver.Trusting(t, certPEM) }

	w := newClient(t, url, trust)
	w.user = "w"
	w.must(w.Login(bg, "w", s.sig("w", time.Hour)))
	w.must(w.Subscribe(bg, []string{"x"}))
	w.expect("x", wire.StatusUnlogined, "")
	x := newClient(t, url, trust)
	x.user = "x"
	x.must(x.Login(bg, "x", s.sig("x", time.Hour)))
	w.expect("x", wire.StatusOnline, "")
	x.must(x.SetSelfStatus(bg, "over TLS"))
	w.expect("x", wire.StatusOnline, "over TLS")

	u := newClient(t, url) // the system's authorities do not know this certificate
	ctx, cancel := context.WithTimeout(bg, time.Second)
	defer cancel()
	err := u.Login(ctx, "u", s.sig("u", time.Hour))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("login without trusting the certificate: %v; want an error naming the certificate", err)
	}
	if testing.Verbose() {
		t.Log(err)
	}
	if st := u.LoginStatus(); st == core.Logined {
		t.Fatal("logged in over an untrusted certificate")
	}
}

// failingSubscribes fails the next subscribes of owner it is armed for:
// a fault injected on purpose into the real server's store.
type failingSubscribes struct {
	presence.Store
	owner string
	fails atomic.Int32
}

func (s *failingSubscribes) Subscribe(ctx context.Context, owner string, targets []string, max int) ([]string, error) {
	if owner == s.owner && s.fails.Add(-1) >= 0 {
		return nil, errors.New("injected: the store failed")
	}
	return s.Store.Subscribe(ctx, owner, targets, max)
}

// A restoring subscribe that the server fails (70500, or 70503 when busy)
// is sent again, so the client still hears what changed while it was away;
// one the server keeps failing past RequestTimeout gives the link up, and
// the next link restores (before, the client gave up after four retries
// and never heard the change).
func TestRestoreRetriesAFailingServer(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fails int32
		links int // links w logs in over at least, the first one included
	}{
		{"two failures, one link", 2, 2},
		{"failures past RequestTimeout, a new link", 8, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := &failingSubscribes{owner: "w"}
			s := &testServer{testserver.StartWith(t, func(o *server.Options) {
				o.Backend = func(server.AppConfig) (presence.Backend, error) {
					b := memstore.NewBackend()
					store.Store, b.Store = b.Store, store
					return b, nil
				}
			}), t}
			// With 1 s, a link takes four tries (0, 0.25, 0.75, 1.75 s
			// would pass it): eight failures need a second link.
			w, p, x := s.watchThroughProxyWith(func(c *core.Config) { c.RequestTimeout = 1500 * time.Millisecond }, "x")

			p.SetRefuse(true)
			p.Drop()
			w.waitNet(core.Disconnected)
			x.must(x.SetSelfStatus(bg, "changed while w was away"))
			store.fails.Store(tt.fails)
			p.SetRefuse(false)
			w.expect("x", wire.StatusOnline, "changed while w was away")
			if n := store.fails.Load(); n >= 0 {
				t.Fatalf("the injected failures were not all met (%d left)", n+1)
			}
			if got := p.Accepted(); got < tt.links {
				t.Fatalf("w came back over %d links, want at least %d", got, tt.links)
			}
		})
	}
}

// ServerTime is the server's clock, learnt at login and moved on by the
// local clock; the local clock before any login.
func TestServerTime(t *testing.T) {
	s := startServer(t)
	c := newClient(t, []string{s.Addr})
	if d := time.Until(c.ServerTime()); d < -time.Second || d > time.Second {
		t.Fatalf("before login ServerTime is %v from the local clock", d)
	}
	s.Clock.Advance(3 * time.Hour) // the server's clock runs 3 h ahead
	c.user = "alice"
	c.must(c.Login(context.Background(), "alice", s.sig("alice", 24*time.Hour)))
	want := s.Clock.Now()
	if d := c.ServerTime().Sub(want); d < -time.Second || d > time.Second {
		t.Fatalf("after login ServerTime is %v from the server's clock", d)
	}
	time.Sleep(50 * time.Millisecond)
	if got := c.ServerTime(); got.Sub(want) < 45*time.Millisecond { // (the reply carries ms)
		t.Fatalf("ServerTime did not move on with the local clock: %v after 50 ms", got.Sub(want))
	}
	c.must(c.Logout(context.Background()))
	if d := c.ServerTime().Sub(want); d < 0 || d > time.Second {
		t.Fatalf("after logout ServerTime is %v from the server's clock, want it kept", d)
	}
}
