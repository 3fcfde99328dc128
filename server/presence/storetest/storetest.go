// Package storetest is the conformance suite of the presence engine's
// contracts: every implementation of presence.Directory, presence.Store and
// presence.Broker runs it, through a factory that returns a fresh, empty
// one, so the rules of docs/SEMANTICS.md hold the same on one node and on
// many. It also holds Faulty, a backend wrapper that fails or stalls calls
// on purpose, for tests of what the server does when its backend fails.
package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/wire"
)

// t0 is the suite's clock: a fixed instant, moved by hand.
var t0 = time.Unix(1800000000, 0)

// Run runs the whole suite on backends made by newBackend, one per test.
func Run(t *testing.T, newBackend func(t *testing.T) presence.Backend) {
	t.Run("Directory", func(t *testing.T) {
		RunDirectory(t, func(t *testing.T) presence.Directory { return newBackend(t).Directory })
	})
	t.Run("Store", func(t *testing.T) {
		RunStore(t, func(t *testing.T) presence.Store { return newBackend(t).Store })
	})
	t.Run("Broker", func(t *testing.T) {
		RunBroker(t, func(t *testing.T) presence.Broker { return newBackend(t).Broker })
	})
}

// must returns v, or fails the test (run) when err is not nil: the suite
// checks results, and a failed call ends the test that made it.
func must[T any](v T, err error) T {
	if err != nil {
		panic(failure{err})
	}
	return v
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(failure{err})
	}
	return a, b
}

func noErr(err error) {
	if err != nil {
		panic(failure{err})
	}
}

type failure struct{ err error }

// run is t.Run for the suite's tests: a call that failed in must ends the
// test with its error.
func run(t *testing.T, name string, f func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		defer func() {
			if r := recover(); r != nil {
				if f, ok := r.(failure); ok {
					t.Fatalf("call failed: %v", f.err)
				}
				panic(r)
			}
		}()
		f(t)
	})
}

func key(node string, conn uint64) presence.DeviceKey {
	return presence.DeviceKey{Node: node, Conn: conn}
}

func dev(conn uint64, platform string) presence.Device {
	return presence.Device{Key: key("n1", conn), Platform: platform}
}

// RunDirectory checks a Directory: accounts and friend links.
func RunDirectory(t *testing.T, newDir func(t *testing.T) presence.Directory) {
	ctx := context.Background()
	run(t, "Accounts", func(t *testing.T) {
		d := newDir(t)
		if got := must(d.Exists(ctx, "a", "b")); !slices.Equal(got, []bool{false, false}) {
			t.Fatalf("empty directory: exists %v", got)
		}
		noErr(d.ImportAccounts(ctx, "a", "c"))
		noErr(d.ImportAccounts(ctx, "a")) // again: no error, no change
		if got := must(d.Exists(ctx, "a", "b", "c", "a")); !slices.Equal(got, []bool{true, false, true, true}) {
			t.Fatalf("exists %v", got)
		}
	})
	run(t, "Friends", func(t *testing.T) {
		d := newDir(t)
		noErr(d.ImportAccounts(ctx, "a", "b", "c", "d"))
		rs := must(d.AddFriends(ctx, "a", []string{"b", "a", "ghost", "c"}, true))
		want := []presence.FriendResult{
			{To: "b"},
			{To: "a", Code: wire.CodeServerParams, Info: "cannot add yourself as a friend"},
			{To: "ghost", Code: wire.CodeAccountNotFound, Info: "To_Account does not exist"},
			{To: "c"},
		}
		if !slices.Equal(rs, want) {
			t.Fatalf("add results %+v, want %+v", rs, want)
		}
		rs = must(d.AddFriends(ctx, "nobody", []string{"a"}, false))
		if len(rs) != 1 || rs[0].Code != wire.CodeAccountNotFound || rs[0].Info != "From_Account does not exist" {
			t.Fatalf("from a missing account: %+v", rs)
		}
		must(d.AddFriends(ctx, "d", []string{"b"}, false)) // one way: d lists b
		must(d.AddFriends(ctx, "a", []string{"b"}, true))  // again: succeeds, no duplicate
		friends := func(id string) []string { return must(d.Friends(ctx, id)) }
		friendOf := func(id string) []string {
			got := must(d.AppendFriendOf(ctx, nil, id))
			slices.Sort(got)
			return got
		}
		for _, c := range []struct {
			id                string
			friends, friendOf []string
		}{
			{"a", []string{"b", "c"}, []string{"b", "c"}},
			{"b", []string{"a"}, []string{"a", "d"}},
			{"d", []string{"b"}, nil},
		} {
			if got := friends(c.id); !slices.Equal(got, c.friends) && len(got)+len(c.friends) > 0 {
				t.Errorf("friends of %s: %v, want %v", c.id, got, c.friends)
			}
			if got := friendOf(c.id); !slices.Equal(got, c.friendOf) && len(got)+len(c.friendOf) > 0 {
				t.Errorf("friend of %s: %v, want %v", c.id, got, c.friendOf)
			}
		}
		// Delete one way, then both ways.
		must(d.DeleteFriends(ctx, "a", []string{"c"}, false))
		if got := friends("a"); !slices.Equal(got, []string{"b"}) {
			t.Errorf("a after deleting c one way: %v", got)
		}
		if got := friends("c"); !slices.Equal(got, []string{"a"}) {
			t.Errorf("c after a deleted it one way: %v", got)
		}
		rs = must(d.DeleteFriends(ctx, "b", []string{"a", "ghost"}, true))
		if rs[0].Code != 0 || rs[1].Code != wire.CodeAccountNotFound {
			t.Errorf("delete results %+v", rs)
		}
		if got := friends("a"); len(got) != 0 {
			t.Errorf("a after deleting b both ways: %v", got)
		}
		if got := friendOf("a"); !slices.Equal(got, []string{"c"}) {
			t.Errorf("friend of a: %v", got)
		}
	})
	run(t, "ContextDone", func(t *testing.T) {
		d := newDir(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := d.ImportAccounts(cctx, "a"); err == nil {
			t.Error("ImportAccounts on a done context: no error")
		}
		if _, err := d.Exists(cctx, "a"); err == nil {
			t.Error("Exists on a done context: no error")
		}
	})
}

// RunStore checks a Store: status transitions, versions, policies,
// subscriptions, leases, leadership and rate windows.
func RunStore(t *testing.T, newStore func(t *testing.T) presence.Store) {
	run(t, "Transitions", func(t *testing.T) { testTransitions(t, newStore) })
	run(t, "Versions", func(t *testing.T) { testVersions(t, newStore) })
	run(t, "ConcurrentVersions", func(t *testing.T) { testConcurrentVersions(t, newStore) })
	run(t, "PolicyKicks", func(t *testing.T) { testPolicyKicks(t, newStore) })
	run(t, "CustomClearedWhenAway", func(t *testing.T) { testCustomCleared(t, newStore) })
	run(t, "ManyDeviceIDs", func(t *testing.T) { testManyDeviceIDs(t, newStore) })
	run(t, "SubscribeMatchesModel", func(t *testing.T) { testSubscribeModel(t, newStore) })
	run(t, "EvictsOldest", func(t *testing.T) { testEvictsOldest(t, newStore) })
	run(t, "ClearAwaySubscriptions", func(t *testing.T) { testClearAway(t, newStore) })
	run(t, "LeaseExpiry", func(t *testing.T) { testLeases(t, newStore) })
	run(t, "Lead", func(t *testing.T) { testLead(t, newStore) })
	run(t, "Allow", func(t *testing.T) { testAllow(t, newStore) })
	run(t, "LiveDevices", func(t *testing.T) { testLiveDevices(t, newStore) })
	run(t, "Nodes", func(t *testing.T) { testNodes(t, newStore) })
	run(t, "ContextDone", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := s.Login(cctx, "u", dev(1, "Web"), presence.PerPlatform, t0); err == nil {
			t.Error("Login on a done context: no error")
		}
		if _, err := s.SetCustom(cctx, "u", "x", t0); err == nil {
			t.Error("SetCustom on a done context: no error")
		}
		if _, err := s.Statuses(cctx, "u"); err == nil {
			t.Error("Statuses on a done context: no error")
		}
	})
}

func status(t *testing.T, s presence.Store, id string) wire.Status {
	return must(s.Statuses(context.Background(), id))[0]
}

func testTransitions(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	type step struct {
		login   *presence.Device
		leave   uint64
		how     presence.Leave
		typ     wire.StatusType
		devices []string
		changed bool
	}
	in := func(conn uint64, platform string) *presence.Device { d := dev(conn, platform); return &d }
	cases := []struct {
		name  string
		steps []step
	}{
		{"login then logout", []step{
			{login: in(1, "Android"), typ: wire.StatusOnline, devices: []string{"Android"}, changed: true},
			{leave: 1, how: presence.LoggedOut, typ: wire.StatusUnlogined, changed: true},
		}},
		{"login then link lost", []step{
			{login: in(1, "Android"), typ: wire.StatusOnline, devices: []string{"Android"}, changed: true},
			{leave: 1, how: presence.Lost, typ: wire.StatusOffline, changed: true},
		}},
		{"lost device keeps OFFLINE over a later logout", []step{
			{login: in(1, "Android"), typ: wire.StatusOnline, devices: []string{"Android"}, changed: true},
			{login: in(2, "Mac"), typ: wire.StatusOnline, devices: []string{"Android", "Mac"}, changed: true},
			{leave: 1, how: presence.Lost, typ: wire.StatusOnline, devices: []string{"Mac"}, changed: true},
			{leave: 2, how: presence.LoggedOut, typ: wire.StatusOffline, changed: true},
		}},
		{"the lost device logs in again and out: UNLOGINED", []step{
			{login: in(1, "Android"), typ: wire.StatusOnline, devices: []string{"Android"}, changed: true},
			{leave: 1, how: presence.Lost, typ: wire.StatusOffline, changed: true},
			{login: in(3, "Android"), typ: wire.StatusOnline, devices: []string{"Android"}, changed: true},
			{leave: 3, how: presence.LoggedOut, typ: wire.StatusUnlogined, changed: true},
		}},
		{"same platform replaces: no change seen", []step{
			{login: in(1, "Android"), typ: wire.StatusOnline, devices: []string{"Android"}, changed: true},
			{login: in(2, "Android"), typ: wire.StatusOnline, devices: []string{"Android"}},
			{leave: 1, how: presence.Lost, typ: wire.StatusOnline, devices: []string{"Android"}}, // already replaced
		}},
		{"unknown connection leaves nothing", []step{
			{login: in(1, "Web"), typ: wire.StatusOnline, devices: []string{"Web"}, changed: true},
			{leave: 9, how: presence.Lost, typ: wire.StatusOnline, devices: []string{"Web"}},
		}},
	}
	for _, tc := range cases {
		run(t, tc.name, func(t *testing.T) {
			s := newStore(t)
			if st := status(t, s, "u"); st.Type != wire.StatusUnknown || st.Version != 0 {
				t.Fatalf("before any login: %+v, want UNKNOWN (nothing held) at version 0", st)
			}
			for i, st := range tc.steps {
				var c presence.Change
				if st.login != nil {
					c, _ = must2(s.Login(ctx, "u", *st.login, presence.PerPlatform, t0))
				} else {
					var found bool
					c, found = must2(s.Leave(ctx, "u", key("n1", st.leave), st.how, t0))
					if found != st.changed {
						t.Fatalf("step %d: found = %v, want %v", i, found, st.changed)
					}
				}
				got := status(t, s, "u")
				if got.Type != st.typ || !slices.Equal(got.Devices, st.devices) {
					t.Fatalf("step %d: %+v, want %v %v", i, got, st.typ, st.devices)
				}
				if c.Changed() != st.changed {
					t.Fatalf("step %d: changed = %v, want %v (%+v)", i, c.Changed(), st.changed, c)
				}
				if st.changed && !c.After.Equal(got) {
					t.Fatalf("step %d: the change says %+v, Statuses %+v", i, c.After, got)
				}
			}
		})
	}
}

// Every change of a user gets a higher version, stored with the status; an
// operation that changes nothing keeps it; users' versions are their own.
func testVersions(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	s := newStore(t)
	var last uint64
	check := func(what string, c presence.Change, changed bool) {
		t.Helper()
		got := status(t, s, "u")
		if got.Version != c.After.Version {
			t.Fatalf("%s: Statuses has version %d, the change %d", what, got.Version, c.After.Version)
		}
		switch {
		case changed && c.After.Version <= last:
			t.Fatalf("%s: version %d after %d: not higher", what, c.After.Version, last)
		case !changed && c.After.Version != last:
			t.Fatalf("%s changed nothing but moved the version %d → %d", what, last, c.After.Version)
		}
		if c.Before.Version != last {
			t.Fatalf("%s: Before.Version %d, want %d", what, c.Before.Version, last)
		}
		last = c.After.Version
	}
	c, _ := must2(s.Login(ctx, "u", dev(1, "Web"), presence.PerPlatform, t0))
	check("login", c, true)
	if last < uint64(t0.UnixMicro()) {
		t.Fatalf("first version %d is below the clock's microseconds %d", last, t0.UnixMicro())
	}
	for i := range 5 { // same clock: still one higher each time
		check("set "+strconv.Itoa(i), must(s.SetCustom(ctx, "u", "c"+strconv.Itoa(i), t0)), true)
	}
	check("set same", must(s.SetCustom(ctx, "u", "c4", t0)), false)
	c, _ = must2(s.Login(ctx, "u", dev(2, "Web"), presence.PerPlatform, t0))
	check("replace same platform", c, false)
	c, _ = must2(s.Leave(ctx, "u", key("n1", 2), presence.Lost, t0.Add(time.Second)))
	check("leave", c, true)
	other, _ := must2(s.Login(ctx, "v", dev(3, "Web"), presence.PerPlatform, t0))
	if status(t, s, "u").Version != last {
		t.Fatal("a change of v moved u's version")
	}
	if other.Before.Version != 0 || other.After.Version == 0 {
		t.Fatalf("v's first change: %+v", other)
	}
}

// Concurrent changes of one user each get their own version, and the
// status held is the one of the highest.
func testConcurrentVersions(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	s := newStore(t)
	must2(s.Login(ctx, "u", dev(1, "Web"), presence.PerPlatform, t0))
	const workers, each = 8, 25
	var mu sync.Mutex
	seen := make(map[uint64]string)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				custom := fmt.Sprintf("w%d-%d", w, i)
				c, err := s.SetCustom(ctx, "u", custom, t0)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := seen[c.After.Version]; dup {
					t.Errorf("version %d given to %q and %q", c.After.Version, prev, custom)
				}
				seen[c.After.Version] = custom
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var top uint64
	for v := range seen {
		top = max(top, v)
	}
	if got := status(t, s, "u"); got.Version != top || got.Custom != seen[top] {
		t.Fatalf("held %q at %d; the highest version %d was %q", got.Custom, got.Version, top, seen[top])
	}
}

func testPolicyKicks(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	first := presence.Device{Key: key("n1", 1), Platform: "Android", DeviceID: "a"}
	cases := []struct {
		policy presence.Policy
		second presence.Device
		kicked []presence.DeviceKey
	}{
		{presence.PerPlatform, presence.Device{Key: key("n2", 2), Platform: "Android"}, []presence.DeviceKey{first.Key}},
		{presence.PerPlatform, presence.Device{Key: key("n2", 2), Platform: "iPhone"}, nil},
		{presence.Single, presence.Device{Key: key("n2", 2), Platform: "iPhone"}, []presence.DeviceKey{first.Key}},
		{presence.Unlimited, presence.Device{Key: key("n2", 2), Platform: "Android", DeviceID: "b"}, nil},
		{presence.Unlimited, presence.Device{Key: key("n2", 2), Platform: "Android", DeviceID: "a"}, []presence.DeviceKey{first.Key}},
	}
	for _, tc := range cases {
		s := newStore(t)
		must2(s.Login(ctx, "u", first, tc.policy, t0))
		_, kicked := must2(s.Login(ctx, "u", tc.second, tc.policy, t0))
		var got []presence.DeviceKey
		for _, k := range kicked {
			got = append(got, k.Key)
			if k.Platform != first.Platform {
				t.Errorf("kicked device's platform %q, want %q", k.Platform, first.Platform)
			}
		}
		if !slices.Equal(got, tc.kicked) {
			t.Errorf("policy %d, second %+v: kicked %v, want %v", tc.policy, tc.second, got, tc.kicked)
		}
	}
}

// testLiveDevices: a user's live devices on every node, in login order;
// none for a user who left or never came.
func testLiveDevices(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	s := newStore(t)
	a := presence.Device{Key: key("n1", 1), Platform: "Android"}
	b := presence.Device{Key: key("n2", 7), Platform: "Windows"}
	must2(s.Login(ctx, "u", a, presence.PerPlatform, t0))
	must2(s.Login(ctx, "u", b, presence.PerPlatform, t0))
	got := must(s.LiveDevices(ctx, "u"))
	if len(got) != 2 || got[0].Key != a.Key || got[0].Platform != "Android" || got[1].Key != b.Key || got[1].Platform != "Windows" {
		t.Fatalf("live devices %+v, want n1/1 Android then n2/7 Windows", got)
	}
	must2(s.Leave(ctx, "u", a.Key, presence.LoggedOut, t0))
	if got := must(s.LiveDevices(ctx, "u")); len(got) != 1 || got[0].Key != b.Key {
		t.Fatalf("after n1/1 logged out: %+v, want n2/7 alone", got)
	}
	for _, id := range []string{"nobody", "{x}"} {
		if got := must(s.LiveDevices(ctx, id)); len(got) != 0 {
			t.Errorf("live devices of %q: %+v, want none", id, got)
		}
	}
}

// testNodes: each node's last figures, by name, until their Until.
func testNodes(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	s := newStore(t)
	at := t0.Truncate(time.Millisecond)
	noErr(s.PostNode(ctx, presence.NodeFigures{Node: "n2", Connections: 5, Devices: 4, At: at, Until: at.Add(time.Second)}))
	noErr(s.PostNode(ctx, presence.NodeFigures{Node: "n1", Connections: 1, Devices: 1, At: at, Until: at.Add(time.Second)}))
	noErr(s.PostNode(ctx, presence.NodeFigures{Node: "n1", Connections: 3, Devices: 2, At: at, Until: at.Add(3 * time.Second)}))
	got := must(s.Nodes(ctx, at))
	if len(got) != 2 || got[0].Node != "n1" || got[0].Connections != 3 || got[0].Devices != 2 || !got[0].At.Equal(at) ||
		got[1].Node != "n2" || got[1].Devices != 4 {
		t.Fatalf("nodes %+v, want n1 (3 connections, 2 devices, its last post) and n2", got)
	}
	if got := must(s.Nodes(ctx, at.Add(2*time.Second))); len(got) != 1 || got[0].Node != "n1" {
		t.Fatalf("nodes past n2's Until: %+v, want n1 alone", got)
	}
}

func testCustomCleared(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	s := newStore(t)
	must2(s.Login(ctx, "u", dev(1, "Web"), presence.PerPlatform, t0))
	if c := must(s.SetCustom(ctx, "u", "hello", t0)); !c.Changed() || c.After.Custom != "hello" {
		t.Fatalf("set: %+v", c)
	}
	c, _ := must2(s.Leave(ctx, "u", key("n1", 1), presence.Lost, t0))
	if c.After.Custom != "" || c.Before.Custom != "hello" {
		t.Fatalf("leave: %+v", c)
	}
	must2(s.Login(ctx, "u", dev(2, "Web"), presence.PerPlatform, t0))
	if got := status(t, s, "u").Custom; got != "" {
		t.Fatalf("custom came back: %q", got)
	}
}

func testManyDeviceIDs(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	s := newStore(t)
	// A client inventing a new device id each start, under Unlimited.
	for i := range uint64(100) {
		d := presence.Device{Key: key("n1", i+1), Platform: "Web", DeviceID: "d" + strconv.FormatUint(i, 10)}
		must2(s.Login(ctx, "u", d, presence.Unlimited, t0))
		must2(s.Leave(ctx, "u", d.Key, presence.Lost, t0))
	}
	// Still OFFLINE (a lost device is remembered), and a new login works.
	if st := status(t, s, "u"); st.Type != wire.StatusOffline {
		t.Fatalf("after 100 lost devices: %+v", st)
	}
	must2(s.Login(ctx, "u", dev(1000, "Mac"), presence.Unlimited, t0))
	if st := status(t, s, "u"); st.Type != wire.StatusOnline || !slices.Equal(st.Devices, []string{"Mac"}) {
		t.Fatalf("after a new login: %+v", st)
	}
}

// Subscribe keeps the list in the order of each target's latest subscribe
// (a re-subscribe moves it to the end, a repeat within one call counts at
// its last place) and evicts from the front; Unsubscribe removes what it
// names (everything when it names nothing): checked against the obvious
// one-at-a-time model on random calls, with lists past 512 entries too.
func testSubscribeModel(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, max := range []int{3, 200, 700} {
		s := newStore(t)
		var model []string
		watchers := func(id string) []string { return must(s.AppendWatchers(ctx, nil, id)) }
		for range 150 {
			targets := make([]string, 1+rng.IntN(100))
			for i := range targets {
				targets[i] = "u" + strconv.Itoa(rng.IntN(max+max/2))
			}
			if rng.IntN(4) == 0 { // an unsubscribe, of everything one time in five
				if rng.IntN(5) == 0 {
					targets = nil
				}
				gone := model
				if targets != nil {
					gone = nil
					for _, t := range model {
						if slices.Contains(targets, t) {
							gone = append(gone, t)
						}
					}
				}
				model = slices.DeleteFunc(slices.Clone(model), func(t string) bool { return slices.Contains(gone, t) })
				noErr(s.Unsubscribe(ctx, "o", targets))
				if got := must(s.Subscriptions(ctx, "o")); !slices.Equal(got, model) && len(got)+len(model) > 0 {
					t.Fatalf("max %d: after unsubscribing %v: subscriptions %v, want %v", max, targets, got, model)
				}
				for _, id := range gone {
					if w := watchers(id); len(w) != 0 {
						t.Fatalf("max %d: %s still watched by %v after the unsubscribe", max, id, w)
					}
				}
				continue
			}
			for _, t := range targets {
				if i := slices.Index(model, t); i >= 0 {
					model = slices.Delete(model, i, i+1)
				}
				model = append(model, t)
			}
			var wantEvicted []string
			if n := len(model) - max; n > 0 {
				wantEvicted = slices.Clone(model[:n])
				model = model[n:]
			}
			if ev := must(s.Subscribe(ctx, "o", targets, max)); !slices.Equal(ev, wantEvicted) {
				t.Fatalf("max %d: evicted %v, want %v", max, ev, wantEvicted)
			}
			if got := must(s.Subscriptions(ctx, "o")); !slices.Equal(got, model) {
				t.Fatalf("max %d: subscriptions %v, want %v", max, got, model)
			}
		}
		for _, id := range model {
			if w := watchers(id); !slices.Equal(w, []string{"o"}) {
				t.Fatalf("max %d: %s watched by %v", max, id, w)
			}
		}
	}
}

func testEvictsOldest(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	s := newStore(t)
	sub := func(max int, ids ...string) []string { return must(s.Subscribe(ctx, "o", ids, max)) }
	if ev := sub(3, "a", "b", "c"); ev != nil {
		t.Fatalf("evicted %v", ev)
	}
	if ev := sub(3, "a"); ev != nil { // a becomes newest
		t.Fatalf("evicted %v", ev)
	}
	if ev := sub(3, "d", "e"); !slices.Equal(ev, []string{"b", "c"}) {
		t.Fatalf("evicted %v, want [b c]", ev)
	}
	if got := must(s.Subscriptions(ctx, "o")); !slices.Equal(got, []string{"a", "d", "e"}) {
		t.Fatalf("subscriptions %v", got)
	}
	if w := must(s.AppendWatchers(ctx, nil, "b")); len(w) != 0 {
		t.Fatalf("b still watched by %v", w)
	}
	if w := must(s.AppendWatchers(ctx, nil, "d")); !slices.Equal(w, []string{"o"}) {
		t.Fatalf("d watched by %v", w)
	}
	noErr(s.Unsubscribe(ctx, "o", nil))
	if got := must(s.Subscriptions(ctx, "o")); len(got) != 0 || len(must(s.AppendWatchers(ctx, nil, "a"))) != 0 {
		t.Fatalf("after unsubscribe all: %v", got)
	}
}

func testClearAway(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	s := newStore(t)
	const delay = 10 * time.Minute
	for i, id := range []string{"gone", "back", "stays"} {
		must2(s.Login(ctx, id, dev(uint64(i+1), "Web"), presence.PerPlatform, t0))
		must(s.Subscribe(ctx, id, []string{"x"}, 200))
	}
	must2(s.Leave(ctx, "gone", key("n1", 1), presence.Lost, t0))
	must2(s.Leave(ctx, "back", key("n1", 2), presence.LoggedOut, t0))
	if got := must(s.ClearAwaySubscriptions(ctx, t0.Add(delay-time.Second), delay)); len(got) != 0 {
		t.Fatalf("cleared before the delay: %v", got)
	}
	must2(s.Login(ctx, "back", dev(4, "Web"), presence.PerPlatform, t0.Add(time.Minute)))
	got := must(s.ClearAwaySubscriptions(ctx, t0.Add(delay), delay))
	if !slices.Equal(got, []string{"gone"}) {
		t.Fatalf("cleared %v, want [gone]", got)
	}
	if subs := must(s.Subscriptions(ctx, "gone")); len(subs) != 0 {
		t.Fatalf("gone's list: %v", subs)
	}
	w := must(s.AppendWatchers(ctx, nil, "x"))
	slices.Sort(w)
	if !slices.Equal(w, []string{"back", "stays"}) {
		t.Fatalf("x watched by %v", w)
	}
	if got := must(s.ClearAwaySubscriptions(ctx, t0.Add(2*delay), delay)); len(got) != 0 {
		t.Fatalf("cleared again: %v", got)
	}
}

// A node that stops renewing its lease loses its devices as if their links
// had closed; the devices of nodes that renew stay.
func testLeases(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	s := newStore(t)
	const ttl = 10 * time.Second
	if lost := must(s.RenewLease(ctx, "A", t0, ttl)); !lost {
		t.Fatal("a node's first lease: not reported as lost (none held)")
	}
	must(s.RenewLease(ctx, "B", t0, ttl))
	login := func(user, node string, conn uint64, platform string) {
		must2(s.Login(ctx, user, presence.Device{Key: key(node, conn), Platform: platform}, presence.PerPlatform, t0))
	}
	login("onA", "A", 1, "Web")
	login("onB", "B", 1, "Web") // the same connection number on another node: another device
	login("both", "A", 2, "Web")
	login("both", "B", 2, "Mac")
	if got := must(s.ExpireLeases(ctx, t0.Add(ttl))); len(got) != 0 {
		t.Fatalf("expired at the lease's last instant: %+v", got)
	}
	if lost := must(s.RenewLease(ctx, "A", t0.Add(5*time.Second), ttl)); lost {
		t.Fatal("a held lease renewed: reported as lost")
	}
	expired := must(s.ExpireLeases(ctx, t0.Add(ttl+time.Second))) // B's lease ended; A's holds
	byUser := make(map[string]wire.Status)
	for _, e := range expired {
		c := e.Change
		if len(e.Devices) == 0 {
			// A status to send again: the user's own, unchanged.
			if now := status(t, s, c.After.UserID); c.Changed() || c.After.Version == 0 || c.After.Version != now.Version || !c.After.Equal(now) {
				t.Errorf("expiry to send again %+v: not the user's unchanged status", c)
			}
			continue
		}
		if !c.Changed() || c.After.Version <= c.Before.Version {
			t.Errorf("expiry change %+v: not a versioned change", c)
		}
		byUser[c.After.UserID] = c.After
		want := map[string]presence.Device{
			"onB":  {Key: key("B", 1), Platform: "Web"},
			"both": {Key: key("B", 2), Platform: "Mac"},
		}[c.After.UserID]
		if len(e.Devices) != 1 || e.Devices[0] != want {
			t.Errorf("%s: devices ended %+v, want [%+v]", c.After.UserID, e.Devices, want)
		}
	}
	if len(byUser) != 2 || byUser["onB"].Type != wire.StatusOffline ||
		byUser["both"].Type != wire.StatusOnline || !slices.Equal(byUser["both"].Devices, []string{"Web"}) {
		t.Fatalf("changes %+v: want onB OFFLINE and both ONLINE on Web", byUser)
	}
	if st := status(t, s, "onA"); st.Type != wire.StatusOnline {
		t.Fatalf("onA on the renewing node: %+v", st)
	}
	if got := must(s.ExpireLeases(ctx, t0.Add(ttl+2*time.Second))); len(got) != 0 {
		t.Fatalf("expired twice: %+v", got)
	}
	// B comes back (it was cut off, not dead): its lease is reported lost,
	// so it asserts its devices again.
	if lost := must(s.RenewLease(ctx, "B", t0.Add(ttl+2*time.Second), ttl)); !lost {
		t.Fatal("B's renewal after its lease was swept: not reported as lost")
	}
	// B's old device is gone: its leave (when B's links finally close) finds nothing.
	if _, found := must2(s.Leave(ctx, "onB", key("B", 1), presence.Lost, t0.Add(ttl+3*time.Second))); found {
		t.Fatal("a device of an expired node still found")
	}
}

func testLead(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	s := newStore(t)
	const ttl = 10 * time.Second
	if !must(s.Lead(ctx, "sweep", "A", t0, ttl)) {
		t.Fatal("A could not take a free lead")
	}
	if must(s.Lead(ctx, "sweep", "B", t0.Add(ttl/2), ttl)) {
		t.Fatal("B took A's lead while it held")
	}
	if !must(s.Lead(ctx, "other", "B", t0, ttl)) {
		t.Fatal("another task's lead is taken by A's")
	}
	if !must(s.Lead(ctx, "sweep", "A", t0.Add(ttl/2), ttl)) {
		t.Fatal("A could not renew its lead")
	}
	if must(s.Lead(ctx, "sweep", "B", t0.Add(ttl), ttl)) {
		t.Fatal("B took A's renewed lead")
	}
	if !must(s.Lead(ctx, "sweep", "B", t0.Add(2*ttl), ttl)) {
		t.Fatal("B could not take a lead A stopped renewing")
	}
}

func testAllow(t *testing.T, newStore func(t *testing.T) presence.Store) {
	ctx := context.Background()
	s := newStore(t)
	const n, win = 3, 5 * time.Second
	for i := range n {
		if !must(s.Allow(ctx, "u/get", n, win, t0.Add(time.Duration(i)*time.Second))) {
			t.Fatalf("call %d refused", i+1)
		}
	}
	if must(s.Allow(ctx, "u/get", n, win, t0.Add(4*time.Second))) {
		t.Fatal("call past the limit allowed")
	}
	if !must(s.Allow(ctx, "u/subscribe", n, win, t0.Add(4*time.Second))) {
		t.Fatal("another key counted with the first")
	}
	if !must(s.Allow(ctx, "u/get", n, win, t0.Add(win))) {
		t.Fatal("a new window still refused")
	}
}

// RunBroker checks a Broker: deliveries reach every registered node, kicks
// reach the node they name (or all), and a node that stopped hears nothing.
func RunBroker(t *testing.T, newBroker func(t *testing.T) presence.Broker) {
	run(t, "DeliverAndKick", func(t *testing.T) { testBroker(t, newBroker) })
}

func testBroker(t *testing.T, newBroker func(t *testing.T) presence.Broker) {
	ctx := context.Background()
	b := newBroker(t)
	n1, n2 := newRecorder(), newRecorder()
	stop1 := must(b.Register(ctx, "n1", n1))
	stop2 := must(b.Register(ctx, "n2", n2))
	defer stop2()
	r, routes := b.(presence.Router)
	if routes {
		noErr(r.Listen(ctx, "n1", "u"))
		noErr(r.Listen(ctx, "n2", "u", "x"))
	}
	d := presence.Delivery{Status: wire.Status{UserID: "u", Type: wire.StatusOnline, Devices: []string{"Web"}, Version: 7}, Watchers: []string{"w1", "w2"}}
	noErr(b.Publish(ctx, d))
	for _, n := range []*recorder{n1, n2} {
		got := n.delivery(t)
		if !got.Status.Equal(d.Status) || got.Status.Version != 7 || !slices.Equal(got.Watchers, d.Watchers) {
			t.Fatalf("delivered %+v, want %+v", got, d)
		}
	}
	k := presence.Kick{User: "u", Key: key("n2", 5), Platform: "Web"}
	noErr(b.PublishKick(ctx, "n2", k))
	if got := n2.kick(t); got != k {
		t.Fatalf("kick %+v, want %+v", got, k)
	}
	all := presence.Kick{User: "u", ByAdmin: true}
	noErr(b.PublishKick(ctx, "", all))
	for _, n := range []*recorder{n1, n2} {
		if got := n.kick(t); got != all {
			t.Fatalf("admin kick %+v, want %+v", got, all)
		}
	}
	stop1()
	noErr(b.Publish(ctx, d))
	n2.delivery(t)
	n1.none(t)
	if !routes {
		return
	}
	// A router sends a user's changes to its listeners only.
	x := presence.Delivery{Status: wire.Status{UserID: "x", Type: wire.StatusOnline, Version: 8}}
	n3 := newRecorder()
	defer must(b.Register(ctx, "n3", n3))()
	noErr(b.Publish(ctx, x))
	if got := n2.delivery(t); got.Status.UserID != "x" {
		t.Fatalf("n2 got %+v, want x's change", got)
	}
	n3.none(t)
	noErr(r.Listen(ctx, "n3", "x"))
	noErr(r.Unlisten(ctx, "n2", "x"))
	// A router that tells its listeners (for the console) tells these.
	if lr, ok := r.(interface {
		Listeners(context.Context, string) ([]string, error)
	}); ok {
		got, err := lr.Listeners(ctx, "x")
		noErr(err)
		if slices.Sort(got); !slices.Equal(got, []string{"n3"}) {
			t.Fatalf("x's listeners %v, want [n3]", got)
		}
	}
	noErr(b.Publish(ctx, x))
	n3.delivery(t)
	n2.none(t)
	noErr(b.PublishKick(ctx, "", presence.Kick{User: "x", ByAdmin: true}))
	n3.kick(t)
	n2.none(t)
}

// recorder is a presence.Node that records what reaches it.
type recorder struct {
	deliveries chan presence.Delivery
	kicks      chan presence.Kick
	resyncs    atomic.Int32
}

func newRecorder() *recorder {
	return &recorder{deliveries: make(chan presence.Delivery, 16), kicks: make(chan presence.Kick, 16)}
}

func (r *recorder) Deliver(d presence.Delivery) {
	d.Watchers = slices.Clone(d.Watchers) // the broker may reuse them
	r.deliveries <- d
}

func (r *recorder) Kick(k presence.Kick) { r.kicks <- k }

func (r *recorder) Resync() { r.resyncs.Add(1) }

// wait is how long a broker may take to deliver.
const wait = 5 * time.Second

func (r *recorder) delivery(t *testing.T) presence.Delivery {
	t.Helper()
	select {
	case d := <-r.deliveries:
		return d
	case <-time.After(wait):
		t.Fatal("no delivery")
	}
	return presence.Delivery{}
}

func (r *recorder) kick(t *testing.T) presence.Kick {
	t.Helper()
	select {
	case k := <-r.kicks:
		return k
	case <-time.After(wait):
		t.Fatal("no kick")
	}
	return presence.Kick{}
}

func (r *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-r.deliveries:
		t.Fatalf("a node that should not have had it got %+v", d)
	case k := <-r.kicks:
		t.Fatalf("a node that should not have had it got %+v", k)
	case <-time.After(100 * time.Millisecond):
	}
}
