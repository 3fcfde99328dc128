package presence

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/imstatus/imstatus/wire"
)

var (
	t0  = time.Unix(1800000000, 0)
	ctx = context.Background()
)

// must drops the error the in-memory store never returns.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func dev(conn uint64, platform string) Device { return Device{Conn: conn, Platform: platform} }

// step is one operation on a user's devices and the status it must leave.
type step struct {
	do      func(m *Memory) Change
	typ     wire.StatusType
	devices []string
	changed bool
}

func login(conn uint64, platform string) func(*Memory) Change {
	return func(m *Memory) Change { c, _, _ := m.Login(ctx, "u", dev(conn, platform), PerPlatform, t0); return c }
}

func leave(conn uint64, how Leave) func(*Memory) Change {
	return func(m *Memory) Change { c, _, _ := m.Leave(ctx, "u", conn, how, t0); return c }
}

func TestDerivedStatus(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
	}{
		{"login then logout", []step{
			{login(1, "Android"), wire.StatusOnline, []string{"Android"}, true},
			{leave(1, LoggedOut), wire.StatusUnlogined, nil, true},
		}},
		{"login then link lost", []step{
			{login(1, "Android"), wire.StatusOnline, []string{"Android"}, true},
			{leave(1, Lost), wire.StatusOffline, nil, true},
		}},
		{"lost device keeps OFFLINE over a later logout", []step{
			{login(1, "Android"), wire.StatusOnline, []string{"Android"}, true},
			{login(2, "Mac"), wire.StatusOnline, []string{"Android", "Mac"}, true},
			{leave(1, Lost), wire.StatusOnline, []string{"Mac"}, true},
			{leave(2, LoggedOut), wire.StatusOffline, nil, true},
		}},
		{"the lost device logs in again and out: UNLOGINED", []step{
			{login(1, "Android"), wire.StatusOnline, []string{"Android"}, true},
			{leave(1, Lost), wire.StatusOffline, nil, true},
			{login(3, "Android"), wire.StatusOnline, []string{"Android"}, true},
			{leave(3, LoggedOut), wire.StatusUnlogined, nil, true},
		}},
		{"same platform replaces: no change seen", []step{
			{login(1, "Android"), wire.StatusOnline, []string{"Android"}, true},
			{login(2, "Android"), wire.StatusOnline, []string{"Android"}, false},
			{leave(1, Lost), wire.StatusOnline, []string{"Android"}, false}, // already replaced
		}},
		{"unknown connection leaves nothing", []step{
			{leave(9, Lost), wire.StatusUnlogined, nil, false},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			m.ImportAccounts(ctx, "u")
			for i, s := range tc.steps {
				c := s.do(m)
				got := must(m.Statuses(ctx, "u"))[0]
				if got.Type != s.typ || !slices.Equal(got.Devices, s.devices) {
					t.Fatalf("step %d: %+v, want %v %v", i, got, s.typ, s.devices)
				}
				if c.Changed() != s.changed {
					t.Fatalf("step %d: changed = %v, want %v (%+v)", i, c.Changed(), s.changed, c)
				}
			}
		})
	}
}

func TestKickedByPolicy(t *testing.T) {
	cases := []struct {
		policy Policy
		second Device
		kicked []uint64
	}{
		{PerPlatform, Device{Conn: 2, Platform: "Android"}, []uint64{1}},
		{PerPlatform, Device{Conn: 2, Platform: "iPhone"}, nil},
		{Single, Device{Conn: 2, Platform: "iPhone"}, []uint64{1}},
		{Unlimited, Device{Conn: 2, Platform: "Android", DeviceID: "b"}, nil},
		{Unlimited, Device{Conn: 2, Platform: "Android", DeviceID: "a"}, []uint64{1}},
	}
	for _, tc := range cases {
		m := NewMemory()
		m.Login(ctx, "u", Device{Conn: 1, Platform: "Android", DeviceID: "a"}, tc.policy, t0)
		_, kicked, _ := m.Login(ctx, "u", tc.second, tc.policy, t0)
		var got []uint64
		for _, k := range kicked {
			got = append(got, k.Conn)
		}
		if !slices.Equal(got, tc.kicked) {
			t.Errorf("policy %d, second %+v: kicked %v, want %v", tc.policy, tc.second, got, tc.kicked)
		}
	}
}

func TestCustomStatusClearedWhenAway(t *testing.T) {
	m := NewMemory()
	m.Login(ctx, "u", dev(1, "Web"), PerPlatform, t0)
	if c := must(m.SetCustom(ctx, "u", "hello", t0)); !c.Changed() || c.After.Custom != "hello" {
		t.Fatalf("set: %+v", c)
	}
	if c := must(m.SetCustom(ctx, "u", "hello", t0)); c.Changed() {
		t.Fatalf("same value again is a change: %+v", c)
	}
	c, _, _ := m.Leave(ctx, "u", 1, Lost, t0)
	if c.After.Custom != "" || c.Before.Custom != "hello" {
		t.Fatalf("leave: %+v", c)
	}
	m.Login(ctx, "u", dev(2, "Web"), PerPlatform, t0)
	if got := must(m.Statuses(ctx, "u"))[0].Custom; got != "" {
		t.Fatalf("custom came back: %q", got)
	}
}

// Subscribe keeps the list in the order of each target's latest subscribe
// (a re-subscribe moves it to the end, a repeat within one call counts at
// its last place) and evicts from the front; Unsubscribe removes what it
// names (everything when it names nothing) and keeps the order: checked
// against the obvious one-at-a-time model on random calls, with lists past
// 512 entries too.
func TestSubscribeOrderMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, max := range []int{3, 200, 700} {
		m := NewMemory()
		var model []string
		for range 300 {
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
				m.Unsubscribe(ctx, "o", targets)
				if got := must(m.Subscriptions(ctx, "o")); !slices.Equal(got, model) && len(got)+len(model) > 0 {
					t.Fatalf("max %d: after unsubscribing %v: subscriptions %v, want %v", max, targets, got, model)
				}
				for _, id := range gone {
					if w := must(m.AppendWatchers(ctx, nil, id, false)); len(w) != 0 {
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
			if ev := must(m.Subscribe(ctx, "o", targets, max)); !slices.Equal(ev, wantEvicted) {
				t.Fatalf("max %d: evicted %v, want %v", max, ev, wantEvicted)
			}
			if got := must(m.Subscriptions(ctx, "o")); !slices.Equal(got, model) {
				t.Fatalf("max %d: subscriptions %v, want %v", max, got, model)
			}
		}
		for _, id := range model {
			if w := must(m.AppendWatchers(ctx, nil, id, false)); !slices.Equal(w, []string{"o"}) {
				t.Fatalf("max %d: %s watched by %v", max, id, w)
			}
		}
	}
}

func TestSubscribeEvictsOldest(t *testing.T) {
	m := NewMemory()
	if ev := must(m.Subscribe(ctx, "o", []string{"a", "b", "c"}, 3)); ev != nil {
		t.Fatalf("evicted %v", ev)
	}
	if ev := must(m.Subscribe(ctx, "o", []string{"a"}, 3)); ev != nil { // a becomes newest
		t.Fatalf("evicted %v", ev)
	}
	if ev := must(m.Subscribe(ctx, "o", []string{"d", "e"}, 3)); !slices.Equal(ev, []string{"b", "c"}) {
		t.Fatalf("evicted %v, want [b c]", ev)
	}
	if got := must(m.Subscriptions(ctx, "o")); !slices.Equal(got, []string{"a", "d", "e"}) {
		t.Fatalf("subscriptions %v", got)
	}
	if w := must(m.AppendWatchers(ctx, nil, "b", false)); len(w) != 0 {
		t.Fatalf("b still watched by %v", w)
	}
	if w := must(m.AppendWatchers(ctx, nil, "d", false)); !slices.Equal(w, []string{"o"}) {
		t.Fatalf("d watched by %v", w)
	}
	m.Unsubscribe(ctx, "o", nil)
	if got := must(m.Subscriptions(ctx, "o")); len(got) != 0 || len(must(m.AppendWatchers(ctx, nil, "a", false))) != 0 {
		t.Fatalf("after unsubscribe all: %v", got)
	}
}

func TestWatchersWithFriends(t *testing.T) {
	m := NewMemory()
	m.ImportAccounts(ctx, "a", "b", "c", "d")
	must(m.AddFriends(ctx, "a", []string{"b"}, true))
	must(m.AddFriends(ctx, "c", []string{"b"}, false)) // c follows b, not the other way
	must(m.Subscribe(ctx, "d", []string{"b"}, 200))
	must(m.Subscribe(ctx, "a", []string{"b"}, 200)) // friend and subscriber: counted once
	w := must(m.AppendWatchers(ctx, nil, "b", true))
	slices.Sort(w)
	if !slices.Equal(w, []string{"a", "c", "d"}) {
		t.Fatalf("watchers of b with friends: %v", w)
	}
	if w := must(m.AppendWatchers(ctx, nil, "b", false)); len(w) != 2 {
		t.Fatalf("watchers of b without friends: %v", w)
	}
	if w := must(m.AppendWatchers(ctx, nil, "c", true)); len(w) != 0 {
		t.Fatalf("single-direction friend: c is watched by %v", w)
	}
	m.DeleteFriends(ctx, "a", []string{"b"}, true)
	if got := must(m.Friends(ctx, "b")); len(got) != 0 {
		t.Fatalf("b's friends after delete both: %v", got)
	}
	r := must(m.AddFriends(ctx, "a", []string{"a", "ghost"}, true))
	if r[0].Code != wire.CodeServerParams || r[1].Code != wire.CodeAccountNotFound {
		t.Fatalf("results %+v", r)
	}
}

func TestClearAwaySubscriptions(t *testing.T) {
	m := NewMemory()
	m.Login(ctx, "o", dev(1, "Web"), PerPlatform, t0)
	must(m.Subscribe(ctx, "o", []string{"x"}, 200))
	m.Leave(ctx, "o", 1, Lost, t0)
	if got := must(m.ClearAwaySubscriptions(ctx, t0.Add(time.Minute-1), time.Minute)); got != nil {
		t.Fatalf("cleared too early: %v", got)
	}
	if got := must(m.ClearAwaySubscriptions(ctx, t0.Add(time.Minute), time.Minute)); !slices.Equal(got, []string{"o"}) {
		t.Fatalf("cleared %v", got)
	}
	if len(must(m.Subscriptions(ctx, "o"))) != 0 || len(must(m.AppendWatchers(ctx, nil, "x", false))) != 0 {
		t.Fatal("subscriptions left")
	}
	// Coming back within the delay keeps them.
	m.Login(ctx, "p", dev(2, "Web"), PerPlatform, t0)
	must(m.Subscribe(ctx, "p", []string{"x"}, 200))
	m.Leave(ctx, "p", 2, LoggedOut, t0)
	m.Login(ctx, "p", dev(3, "Web"), PerPlatform, t0.Add(time.Second))
	if got := must(m.ClearAwaySubscriptions(ctx, t0.Add(time.Hour), time.Minute)); got != nil {
		t.Fatalf("cleared %v for an owner who came back", got)
	}
}

func TestDeviceRecordsBounded(t *testing.T) {
	m := NewMemory()
	for i := range 100 {
		m.Login(ctx, "u", Device{Conn: uint64(i + 1), Platform: "Web", DeviceID: string(rune('A' + i))}, Unlimited, t0)
		m.Leave(ctx, "u", uint64(i+1), Lost, t0)
	}
	if n := len(m.users["u"].devices); n > maxDeviceRecords {
		t.Fatalf("%d device records kept", n)
	}
	// Live devices are never dropped.
	for i := range 20 {
		m.Login(ctx, "v", Device{Conn: uint64(1000 + i), Platform: "Web", DeviceID: string(rune('A' + i))}, Unlimited, t0)
	}
	if st := must(m.Statuses(ctx, "v"))[0]; len(st.Devices) != 20 {
		t.Fatalf("%d live devices, want 20", len(st.Devices))
	}
}

// BenchmarkClearAway is what the sweep does for each owner of a reconnect
// storm that does not come back: drop a 200-entry list.
func BenchmarkClearAway(b *testing.B) {
	m := NewMemory()
	targets := make([]string, 200)
	for i := range targets {
		targets[i] = "target_" + strconv.Itoa(i)
	}
	for b.Loop() {
		must(m.Subscribe(ctx, "o", targets[:100], 200))
		must(m.Subscribe(ctx, "o", targets[100:], 200))
		m.Unsubscribe(ctx, "o", nil)
	}
}
