package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/memstore"
	"github.com/imstatus/imstatus/server/presence/storetest"
	"github.com/imstatus/imstatus/wire"
)

func fullApp() server.AppConfig {
	return server.AppConfig{SDKAppID: testApp, SecretKey: testKey, Edition: "ultimate",
		UserStatusEnabled: on(), FriendStatusAutoNotify: off()}
}

// A backend that fails or stops answering: every request it serves gets
// a server error with a desc, none hangs, and nothing it failed to record
// shows up afterwards. A departure it failed to take is retried by the
// sweep, so the user is not left ONLINE.
func TestBackendFaults(t *testing.T) {
	faults := &storetest.Faults{}
	e := newEnvWith(t, server.Options{
		Apps:         []server.AppConfig{fullApp()},
		StoreTimeout: 200 * time.Millisecond,
		Backend: func(server.AppConfig) (presence.Backend, error) {
			return storetest.Faulty(memstore.NewBackend(), faults), nil
		},
	})
	e.importAccounts("b")
	a, w := e.watching()
	a.setStatus("before")
	w.expect("a", wire.StatusOnline, "before", "Windows")

	held := "before"
	for _, mode := range []struct {
		name string
		set  func()
	}{{"failing", faults.Fail}, {"stalled", faults.Stall}} {
		func() {
			mode.set()
			hits := faults.Hits()
			a.mustCall(wire.CodeServerInternal, wire.OpSetStatus, map[string]any{"user_status_custom_status": "lost"})
			w.mustCall(wire.CodeServerInternal, wire.OpGetStatus, map[string]any{"ids": []string{"a"}})
			w.mustCall(wire.CodeServerInternal, wire.OpSubscribe, map[string]any{"ids": []string{"b"}})
			w.mustCall(wire.CodeServerInternal, wire.OpUnsubscribe, map[string]any{"ids": []string{"a"}})
			b := e.dial()
			b.mustCall(wire.CodeServerInternal, wire.OpLogin, e.loginBody("b", loginOpts{}))
			if got := e.rest("administrator", "/v4/openim/query_online_status", map[string]any{"To_Account": []string{"a"}}); got.Get("ErrorCode").Int() != wire.CodeServerInternal {
				t.Fatalf("%s: REST: %s", mode.name, got.Raw)
			}
			if faults.Hits() == hits {
				t.Fatalf("%s: no call met the fault", mode.name)
			}
			faults.Heal()
			// Nothing of the failed calls took effect: w still watches a,
			// and a's status is the one before.
			if st := w.statuses("a")[0]; st.Custom != held {
				t.Fatalf("%s, healed: a's status %+v; want the one before the fault", mode.name, st)
			}
			w.quiet()
			held = "after " + mode.name
			a.setStatus(held)
			w.expect("a", wire.StatusOnline, held, "Windows")
		}()
	}

	// The link of a closes while the store fails: the departure is kept
	// and recorded once the store answers again.
	faults.Fail()
	a.ws.Close()
	<-a.closed
	time.Sleep(50 * time.Millisecond) // the server's read loop sees the close
	faults.Heal()
	e.srv.Sweep()
	w.expect("a", wire.StatusOffline, "")
}

// Two nodes sharing one backend (the memory one, as Redis will be): a
// watcher on one hears changes made on the other, a login on one kicks the
// same platform's device on the other, and when a node stops renewing its
// lease the other sweeps its devices OFFLINE.
func TestTwoNodes(t *testing.T) {
	backend := memstore.NewBackend()
	clock := testserver.NewClock(time.Unix(1800000000, 0))
	hook := newHookServer(t, false)
	app := fullApp()
	app.WebhookURL = hook.url
	node := func(id string) *env {
		return newEnvWith(t, server.Options{
			Apps:     []server.AppConfig{app},
			Clock:    clock,
			NodeID:   id,
			LeaseTTL: 15 * time.Second,
			Backend:  func(server.AppConfig) (presence.Backend, error) { return backend, nil },
		})
	}
	n1, n2 := node("node-1"), node("node-2")
	n1.importAccounts("a", "w")

	w := n2.login("w")
	a := n1.login("a")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"a"}})
	w.expect("a", wire.StatusOnline, "", "Windows")
	a.setStatus("on node 1")
	w.expect("a", wire.StatusOnline, "on node 1", "Windows")

	// a logs in on node 2 with another platform, then the same platform.
	a2 := n2.login("a", loginOpts{platform: "Mac"})
	w.expect("a", wire.StatusOnline, "on node 1", "Windows", "Mac")
	a3 := n2.login("a")
	if f := a.next(); f.Op != wire.OpKicked {
		// a's own status pushes may come first.
		for f.Op == wire.OpStatus {
			f = a.next()
		}
		if f.Op != wire.OpKicked || f.Code != wire.CodeKickedOffline {
			t.Fatalf("a on node 1 got %s %d, want kicked by the login on node 2", f.Op, f.Code)
		}
	}
	a.waitClosed()
	w.expect("a", wire.StatusOnline, "on node 1", "Mac", "Windows")

	// The admin's kick through node 1 reaches a's devices on node 2.
	if got := n1.rest("administrator", "/v4/im_open_login_svc/kick", map[string]any{"UserID": "a"}); got.Get("ActionStatus").Str != "OK" {
		t.Fatalf("kick: %s", got.Raw)
	}
	a2.waitClosed()
	a3.waitClosed()
	w.until("a", wire.StatusUnlogined) // each device's logout is a change

	// Node 1 dies without a word: it stops renewing its lease. Node 2
	// leads the sweep once node 1's lead lapses, and ends its devices.
	a = n1.login("a")
	w.expect("a", wire.StatusOnline, "", "Windows")
	clock.Advance(16 * time.Second)
	n2.srv.Sweep() // node 1 may still hold the sweep's lead
	clock.Advance(16 * time.Second)
	n2.srv.Sweep()
	w.expect("a", wire.StatusOffline, "")
	st := w.statuses("a")[0]
	if st.Type != wire.StatusOffline || st.Version == 0 {
		t.Fatalf("a after node 1's lease ran out: %+v", st)
	}
	// Node 1 was only cut off: at its next sweep it finds its lease lost,
	// and sends its clients to reconnect and assert themselves again.
	n1.srv.Sweep()
	for {
		f := a.next()
		if f.Op == wire.OpShutdown {
			break
		}
		if f.Op != wire.OpStatus {
			t.Fatalf("a on node 1 got %s, want a shutdown push once node 1's lease was lost", f.Op)
		}
	}
	a.waitClosed()

	// The app's backend hears of it as of a heartbeat timeout.
	for {
		c := hook.next(t)
		var body struct {
			Info struct{ Action, To_Account, Reason string }
		}
		if err := json.Unmarshal(c.body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Info.Reason != "TimeOut" {
			continue // the logins, kicks and logouts before
		}
		if body.Info.Action != "Disconnect" || body.Info.To_Account != "a" || c.query.Get("OptPlatform") != "Windows" {
			t.Fatalf("webhook for the lease's end: %s %v", c.body, c.query)
		}
		break
	}
}

// faultyBroker fails every Publish while fail is set, and loses them
// (answering nil) while lose is set; node is the node registered with it.
type faultyBroker struct {
	presence.Broker
	fail, lose atomic.Bool
	node       presence.Node
}

func (b *faultyBroker) Register(ctx context.Context, id string, n presence.Node) (func(), error) {
	b.node = n
	return b.Broker.Register(ctx, id, n)
}

func (b *faultyBroker) Publish(ctx context.Context, d presence.Delivery) error {
	switch {
	case b.fail.Load():
		return errors.New("injected: the broker refuses")
	case b.lose.Load():
		return nil
	}
	return b.Broker.Publish(ctx, d)
}

// wrappedEnv is a server on the memory backend, which wrap changes first
// (to inject a fault).
func wrappedEnv(t *testing.T, wrap func(*presence.Backend)) *env {
	return newEnvWith(t, server.Options{
		Apps: []server.AppConfig{fullApp()},
		Backend: func(server.AppConfig) (presence.Backend, error) {
			b := memstore.NewBackend()
			wrap(&b)
			return b, nil
		},
	})
}

// faultyEnv is a server on the memory backend with a faultyBroker.
func faultyEnv(t *testing.T) (*env, *faultyBroker) {
	broker := &faultyBroker{}
	e := wrappedEnv(t, func(b *presence.Backend) { broker.Broker, b.Broker = b.Broker, broker })
	return e, broker
}

// watching logs a and w in, w subscribed to a and told it is ONLINE.
func (e *env) watching() (a, w *client) {
	e.t.Helper()
	e.importAccounts("a", "w")
	a, w = e.login("a"), e.login("w")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"a"}})
	w.expect("a", wire.StatusOnline, "", "Windows")
	return a, w
}

// untilCustom reads w's pushes until a's custom status is want; any other
// push but an older status of a fails the test.
func untilCustom(t *testing.T, w *client, want string, older ...string) {
	t.Helper()
	for {
		f := w.next()
		sts, _ := wire.ParseStatuses(f.Body)
		if f.Op != wire.OpStatus || len(sts) == 0 {
			t.Fatalf("w got %s %+v, want a's status %q", f.Op, sts, want)
		}
		for _, st := range sts {
			if st.UserID != "a" {
				continue
			}
			if st.Custom == want {
				return
			}
			if !slices.Contains(older, st.Custom) {
				t.Fatalf("w got a's status %+v, want %q", st, want)
			}
		}
	}
}

// When the broker lost deliveries (its link broke and came back), Resync
// sends every connection the statuses it hears of, afresh.
func TestResyncAfterLostDeliveries(t *testing.T) {
	e, broker := faultyEnv(t)
	a, w := e.watching()
	broker.lose.Store(true)
	a.setStatus("lost on the way")
	w.quiet()
	broker.lose.Store(false)
	broker.node.Resync()
	untilCustom(t, w, "lost on the way")
}

// A resync the store fails (a Redis that answers LOADING while the
// broker's subscription is back already) is tried again until it passes:
// the lost delivery still reaches w.
func TestResyncRetriesAFailingStore(t *testing.T) {
	faults := &storetest.Faults{}
	broker := &faultyBroker{}
	e := wrappedEnv(t, func(b *presence.Backend) {
		*b = storetest.Faulty(*b, faults)
		broker.Broker, b.Broker = b.Broker, broker
	})
	a, w := e.watching()
	broker.lose.Store(true)
	a.setStatus("lost on the way")
	w.quiet()
	broker.lose.Store(false)
	faults.Fail()
	broker.node.Resync()
	for faults.Hits() < 2 { // the first pass and a retry
		time.Sleep(10 * time.Millisecond)
	}
	faults.Heal()
	untilCustom(t, w, "lost on the way")
}

// A change the store took is not lost when publishing it fails: it is sent
// again at the next sweeps, once the broker takes it.
func TestUnsentChangesAreSentAgain(t *testing.T) {
	e, broker := faultyEnv(t)
	a, w := e.watching()
	a.drain()
	broker.fail.Store(true)
	a.setStatus("one")
	a.setStatus("two")
	e.srv.Sweep() // the broker still refuses: kept for later
	w.quiet()
	broker.fail.Store(false)
	e.srv.Sweep()
	// "one" may be merged into "two" in w's queue; "two" must come.
	untilCustom(t, w, "two", "one")
	if n := e.scrape()["imstatus_store_errors_total"]; n < 3 {
		t.Errorf("imstatus_store_errors_total = %d, want the failed publishes counted", n)
	}
}

// An outage of the shared store longer than the lease lets every lease run
// out. The first node back must not take the others for dead: they renew
// their leases as soon as they reach the store again, and are swept only
// if they do not (here: once node 1 stops sweeping, as a dead node would).
func TestStoreOutageSweepsNobody(t *testing.T) {
	backend := memstore.NewBackend()
	clock := testserver.NewClock(time.Unix(1800000000, 0))
	node := func(id string, f *storetest.Faults) *env {
		return newEnvWith(t, server.Options{
			Apps:         []server.AppConfig{fullApp()},
			Clock:        clock,
			NodeID:       id,
			LeaseTTL:     15 * time.Second,
			StoreTimeout: 200 * time.Millisecond,
			Backend:      func(server.AppConfig) (presence.Backend, error) { return storetest.Faulty(backend, f), nil },
		})
	}
	f1, f2 := &storetest.Faults{}, &storetest.Faults{}
	n1, n2 := node("node-1", f1), node("node-2", f2)
	n1.importAccounts("a", "w")
	w := n2.login("w")
	a := n1.login("a")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"a"}})
	w.expect("a", wire.StatusOnline, "", "Windows")

	f1.Fail()
	f2.Fail()
	clock.Advance(20 * time.Second)
	n1.srv.Sweep()
	n2.srv.Sweep()
	f1.Heal()
	f2.Heal()
	n2.srv.Sweep() // back first: it leads, but must wait before it sweeps
	n1.srv.Sweep() // renews node 1's lease
	for range 3 {
		clock.Advance(8 * time.Second)
		n2.srv.Sweep()
		n1.srv.Sweep()
	}
	w.quiet()
	if st := w.statuses("a")[0]; st.Type != wire.StatusOnline {
		t.Fatalf("a after the outage: %+v, want still ONLINE", st)
	}
	a.mustCall(0, wire.OpHeartbeat, nil) // a's link was never closed

	// Node 1 stops sweeping: its lease runs out and node 2 sweeps it.
	clock.Advance(16 * time.Second)
	n2.srv.Sweep()
	w.expect("a", wire.StatusOffline, "")
}

// Versions: every status a client gets carries one, and a user's versions
// never go back, in pushes and in answers alike. (A push may repeat the
// version a subscribe's snapshot already showed: the same status twice.)
func TestVersionsInEveryStatus(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("a", "w")
	w := e.login("w")
	a := e.login("a")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"a"}})
	var last uint64
	// next returns a's next status with a newer version than last.
	next := func(where string) wire.Status {
		t.Helper()
		for {
			f := w.next()
			sts, err := wire.ParseStatuses(f.Body)
			if err != nil || len(sts) != 1 {
				t.Fatalf("push %s: %v", f.Body.Raw, err)
			}
			st := sts[0]
			switch {
			case st.UserID != "a":
				continue
			case st.Version == 0 || st.Version < last:
				t.Fatalf("%s: version %d after %d", where, st.Version, last)
			case st.Version == last:
				continue
			}
			last = st.Version
			return st
		}
	}
	next("subscribe's snapshot")
	for i := range 3 {
		a.setStatus(fmt.Sprint("s", i))
		if st := next("push"); st.Custom != fmt.Sprint("s", i) {
			t.Fatalf("push %+v", st)
		}
		if st := w.statuses("a")[0]; st.Version != last {
			t.Fatalf("query says version %d, the last push %d", st.Version, last)
		}
	}
	a.mustCall(0, wire.OpLogout, nil)
	if st := next("logout push"); st.Type != wire.StatusUnlogined {
		t.Fatalf("after logout %+v", st)
	}
}

// until takes pushes until one says who's status is typ.
func (c *client) until(who string, typ wire.StatusType) {
	c.t.Helper()
	for {
		f := c.next()
		sts, _ := wire.ParseStatuses(f.Body)
		for _, st := range sts {
			if st.UserID == who && st.Type == typ {
				return
			}
		}
	}
}

// lateStore takes a login (a custom status, a departure) and then, once
// late (lateSet, lateLeave) is set, answers as if it had run out of time: a
// busy Redis whose answer came after the deadline.
type lateStore struct {
	presence.Store
	late, lateSet, lateLeave atomic.Bool
}

func (s *lateStore) SetCustom(ctx context.Context, user, custom string, now time.Time) (presence.Change, error) {
	ch, err := s.Store.SetCustom(ctx, user, custom, now)
	if err == nil && s.lateSet.CompareAndSwap(true, false) {
		return presence.Change{}, context.DeadlineExceeded
	}
	return ch, err
}

func (s *lateStore) Leave(ctx context.Context, user string, key presence.DeviceKey, how presence.Leave, now time.Time) (presence.Change, bool, error) {
	ch, found, err := s.Store.Leave(ctx, user, key, how, now)
	if err == nil && s.lateLeave.CompareAndSwap(true, false) {
		return presence.Change{}, false, context.DeadlineExceeded
	}
	return ch, found, err
}

// A change the store took but answered too late (Redis, or this node,
// stalled past the deadline: a soak's SIGSTOP) reaches the watchers at the
// next sweep, read afresh. Before, a custom status so taken was never
// published (the client was told it failed, the store held it), and a
// logout's retry found the device gone and published nothing: watchers
// kept the status before it for good.
func TestChangeTakenTooLateIsSentAgain(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(s *lateStore, a *client)
		want func(st wire.Status) bool
	}{
		{"a custom status", func(s *lateStore, a *client) {
			s.lateSet.Store(true)
			a.mustCall(wire.CodeServerInternal, wire.OpSetStatus, map[string]any{"user_status_custom_status": "taken late"})
		}, func(st wire.Status) bool { return st.Type == wire.StatusOnline && st.Custom == "taken late" }},
		{"a logout", func(s *lateStore, a *client) {
			s.lateLeave.Store(true)
			a.mustCall(0, wire.OpLogout, nil)
		}, func(st wire.Status) bool { return st.Type != wire.StatusOnline }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &lateStore{}
			e := wrappedEnv(t, func(b *presence.Backend) { store.Store, b.Store = b.Store, store })
			a, w := e.watching()
			tc.act(store, a)
			w.quiet()
			if st := w.statuses("a")[0]; !tc.want(st) {
				t.Fatalf("the store holds %+v, want the change in it", st)
			}
			e.srv.Sweep()
			for {
				f := w.next()
				sts, _ := wire.ParseStatuses(f.Body)
				if f.Op == wire.OpStatus && len(sts) == 1 && sts[0].UserID == "a" && tc.want(sts[0]) {
					break
				}
				t.Logf("w got %s %+v first", f.Op, sts)
			}
			if n := e.scrape()["imstatus_store_writes_doubted_total"]; n != 1 {
				t.Errorf("imstatus_store_writes_doubted_total = %d, want 1", n)
			}
		})
	}
}

func (s *lateStore) Login(ctx context.Context, user string, d presence.Device, p presence.Policy, now time.Time) (presence.Change, []presence.Device, error) {
	ch, kicked, err := s.Store.Login(ctx, user, d, p, now)
	if err == nil && s.late.CompareAndSwap(true, false) {
		return presence.Change{}, nil, context.DeadlineExceeded
	}
	return ch, kicked, err
}

// A login the store took but answered too late is refused to the client
// and undone: the user is not left ONLINE by a device nobody holds, and
// the client's next login is a change its watchers hear. (Without the
// undo, that login replaced the unseen one and changed nothing: watchers
// kept the user OFFLINE.)
func TestLoginTakenTooLateIsUndone(t *testing.T) {
	store := &lateStore{}
	e := wrappedEnv(t, func(b *presence.Backend) { store.Store, b.Store = b.Store, store })
	e.importAccounts("a", "w")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"a"}})
	w.drain()
	store.late.Store(true)
	a := e.dial()
	a.mustCall(wire.CodeServerInternal, wire.OpLogin, e.loginBody("a", loginOpts{}))
	if st := w.statuses("a")[0]; st.Type == wire.StatusOnline {
		t.Fatalf("a after a refused login: %+v, want not ONLINE", st)
	}
	a.mustCall(0, wire.OpLogin, e.loginBody("a", loginOpts{}))
	w.until("a", wire.StatusOnline)
	if st := w.statuses("a")[0]; st.Type != wire.StatusOnline || len(st.Devices) != 1 {
		t.Fatalf("a after its login: %+v, want ONLINE on one device", st)
	}
}

// With MaxBackendCalls, a request that finds every turn taken waits up to
// AdmitWait and is then answered 70503 (server busy), counted; once the
// turn is free requests go through again.
func TestBackendCallsAreBounded(t *testing.T) {
	faults := &storetest.Faults{}
	e := newEnvWith(t, server.Options{
		Apps:            []server.AppConfig{fullApp()},
		StoreTimeout:    time.Second,
		MaxBackendCalls: 1,
		AdmitWait:       100 * time.Millisecond,
		Backend: func(server.AppConfig) (presence.Backend, error) {
			return storetest.Faulty(memstore.NewBackend(), faults), nil
		},
	})
	e.importAccounts("a", "b")
	a, b := e.login("a"), e.login("b")
	faults.Stall()
	held := make(chan wire.ServerFrame)
	go func() { held <- a.call(wire.OpSetStatus, map[string]any{"user_status_custom_status": "x"}) }()
	for faults.Hits() == 0 { // a's call holds the one turn, stalled in the store
		time.Sleep(time.Millisecond)
	}
	if f := b.call(wire.OpGetStatus, map[string]any{"ids": []string{"a"}}); f.Code != wire.CodeServerOverloaded || !strings.Contains(f.Desc, "busy") {
		t.Fatalf("a call with no turn free: %d %q, want 70503 server busy", f.Code, f.Desc)
	}
	if n := e.scrape()["imstatus_requests_shed_total"]; n != 1 {
		t.Fatalf("imstatus_requests_shed_total = %d, want 1", n)
	}
	faults.Heal()
	if f := <-held; f.Code != wire.CodeServerInternal {
		t.Fatalf("the stalled call: %d %q, want 70500", f.Code, f.Desc)
	}
	b.mustCall(0, wire.OpGetStatus, map[string]any{"ids": []string{"a"}})
}

// gatedLogins holds the logins of user in the store until gate is closed.
type gatedLogins struct {
	presence.Store
	user    string
	gate    chan struct{}
	waiting atomic.Int32
}

func (s *gatedLogins) Login(ctx context.Context, user string, d presence.Device, p presence.Policy, now time.Time) (presence.Change, []presence.Device, error) {
	if user == s.user {
		if err := hold(ctx, s.gate, &s.waiting); err != nil {
			return presence.Change{}, nil, err
		}
	}
	return s.Store.Login(ctx, user, d, p, now)
}

// hold counts a call in waiting and holds it until gate closes or ctx ends.
func hold(ctx context.Context, gate <-chan struct{}, waiting *atomic.Int32) error {
	waiting.Add(1)
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newTwoTurnsEnv starts a server that runs two backend calls at once (a
// request waits 100 ms for its turn), on a memory store that wrap wraps.
func newTwoTurnsEnv(t *testing.T, wrap func(presence.Store) presence.Store) *env {
	return newEnvWith(t, server.Options{
		Apps:            []server.AppConfig{fullApp()},
		StoreTimeout:    5 * time.Second,
		MaxBackendCalls: 2,
		AdmitWait:       100 * time.Millisecond,
		Backend: func(server.AppConfig) (presence.Backend, error) {
			b := memstore.NewBackend()
			b.Store = wrap(b.Store)
			return b, nil
		},
	})
}

// Logins get at most half the turns: a flood of them leaves turns to the
// calls of clients already logged in (a login whose subscribe then found
// no turn would be wasted, and its client would come back for more).
func TestLoginsLeaveTurnsToOthers(t *testing.T) {
	store := &gatedLogins{user: "c", gate: make(chan struct{})}
	e := newTwoTurnsEnv(t, func(s presence.Store) presence.Store { store.Store = s; return store })
	e.importAccounts("a", "b", "c", "d")
	a := e.login("a")
	c := e.dial()
	held := make(chan wire.ServerFrame)
	go func() { held <- c.call(wire.OpLogin, e.loginBody("c", loginOpts{})) }()
	for store.waiting.Load() == 0 { // c's login waits in the store
		time.Sleep(time.Millisecond)
	}
	d := e.dial()
	if f := d.call(wire.OpLogin, e.loginBody("d", loginOpts{})); f.Code != wire.CodeServerOverloaded {
		t.Fatalf("a second login while one holds the login turn: %d %q, want 70503", f.Code, f.Desc)
	}
	a.mustCall(0, wire.OpGetStatus, map[string]any{"ids": []string{"b"}}) // a turn is left for it
	close(store.gate)
	if f := <-held; f.Code != 0 {
		t.Fatalf("the held login: %d %q", f.Code, f.Desc)
	}
}

// gatedLeaves holds the departures of some users in the store until gate
// closes.
type gatedLeaves struct {
	presence.Store
	users   map[string]bool
	gate    chan struct{}
	waiting atomic.Int32
}

func (s *gatedLeaves) Leave(ctx context.Context, user string, key presence.DeviceKey, how presence.Leave, now time.Time) (presence.Change, bool, error) {
	if s.users[user] {
		if err := hold(ctx, s.gate, &s.waiting); err != nil {
			return presence.Change{}, false, err
		}
	}
	return s.Store.Leave(ctx, user, key, how, now)
}

// The departures of closed links take turns of their own: links dropped
// by the thousand, whose departures wait on the backend, leave the logins
// that follow their turns.
func TestDeparturesLeaveLoginsTheirTurns(t *testing.T) {
	store := &gatedLeaves{users: map[string]bool{"x": true, "y": true}, gate: make(chan struct{})}
	e := newTwoTurnsEnv(t, func(s presence.Store) presence.Store { store.Store = s; return store })
	e.importAccounts("a", "x", "y", "z")
	a := e.login("a")
	x, y := e.login("x"), e.login("y")
	x.ws.Close()
	for store.waiting.Load() == 0 { // x's departure waits in the store
		time.Sleep(time.Millisecond)
	}
	y.ws.Close() // and y's waits for a departure's turn, or in the store
	time.Sleep(50 * time.Millisecond)
	z := e.dial()
	if f := z.call(wire.OpLogin, e.loginBody("z", loginOpts{})); f.Code != 0 {
		t.Fatalf("a login while departures wait: %d %q, want it done", f.Code, f.Desc)
	}
	a.mustCall(0, wire.OpGetStatus, map[string]any{"ids": []string{"z"}})
	close(store.gate)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) { // the held departures end
		sts := a.statuses("x", "y")
		if sts[0].Type != wire.StatusOnline && sts[1].Type != wire.StatusOnline {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the held departures did not end: %+v", sts)
		}
	}
}

// earlyBroker delivers a status to the node the moment it registers, as
// another node's delivery does when this node restarts while the others
// still route to it.
type earlyBroker struct{ presence.Broker }

func (b earlyBroker) Register(ctx context.Context, id string, n presence.Node) (func(), error) {
	n.Deliver(presence.Delivery{Status: wire.Status{UserID: "someone", Type: wire.StatusOnline, Version: 1}})
	return b.Broker.Register(ctx, id, n)
}

// A delivery that arrives while the server is starting is taken, not a
// crash (the soak's restarted node died of it: the pools Deliver uses
// were set after the apps registered).
func TestDeliveryDuringStart(t *testing.T) {
	e := wrappedEnv(t, func(b *presence.Backend) { b.Broker = earlyBroker{b.Broker} })
	e.importAccounts("x")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"x"}})
	w.expect("x", wire.StatusUnlogined, "")
	e.login("x")
	w.expect("x", wire.StatusOnline, "", "Windows")
}
