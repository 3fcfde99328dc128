package server_test

import (
	"strings"
	"testing"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/wire"
)

func TestStatusTransitions(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("alice", "bob", "never")
	bob := e.login("bob")
	bob.expect("bob", wire.StatusOnline, "", "Windows")
	bob.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"alice"}})
	// Subscribing delivers the current state first.
	bob.expect("alice", wire.StatusUnlogined, "")

	alice := e.login("alice", loginOpts{platform: "Android"})
	alice.expect("alice", wire.StatusOnline, "", "Android")
	bob.expect("alice", wire.StatusOnline, "", "Android")

	alice.setStatus("in a match")
	alice.expect("alice", wire.StatusOnline, "in a match", "Android")
	bob.expect("alice", wire.StatusOnline, "in a match", "Android")

	// A second device: the devices list changes, the custom status stays.
	alice2 := e.login("alice", loginOpts{platform: "Mac"})
	bob.expect("alice", wire.StatusOnline, "in a match", "Android", "Mac")
	alice.expect("alice", wire.StatusOnline, "in a match", "Android", "Mac")

	// The second device logs out: the other one is still online.
	alice2.mustCall(0, wire.OpLogout, nil)
	bob.expect("alice", wire.StatusOnline, "in a match", "Android")

	// The link of the last device drops without logout: OFFLINE, custom cleared.
	alice.ws.Close()
	bob.expect("alice", wire.StatusOffline, "")

	// She comes back and logs out explicitly: UNLOGINED.
	alice = e.login("alice", loginOpts{platform: "Android"})
	bob.expect("alice", wire.StatusOnline, "", "Android")
	alice.mustCall(0, wire.OpLogout, nil)
	bob.expect("alice", wire.StatusUnlogined, "")

	got := bob.statuses("alice", "never", "nobody", "bob")
	want := []wire.Status{
		{UserID: "alice", Type: wire.StatusUnlogined},
		{UserID: "never", Type: wire.StatusUnlogined},
		{UserID: "nobody", Type: wire.StatusUnknown},
		{UserID: "bob", Type: wire.StatusOnline, Devices: []string{"Windows"}},
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("status %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	bob.quiet()
}

// A device that went away without logout keeps the user OFFLINE even when
// another device logs out afterwards (SEMANTICS §1: any device gone without
// logout → OFFLINE).
func TestOfflineWinsOverLogout(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("u", "w")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"u"}})
	w.drain()
	a := e.login("u", loginOpts{platform: "Android"})
	// Read before the next change: a push w has not read yet would be
	// replaced by the newer one (a slow reader gets the latest).
	w.expect("u", wire.StatusOnline, "", "Android")
	b := e.login("u", loginOpts{platform: "Windows"})
	w.expect("u", wire.StatusOnline, "", "Android", "Windows")
	a.ws.Close()
	w.expect("u", wire.StatusOnline, "", "Windows")
	b.mustCall(0, wire.OpLogout, nil)
	w.expect("u", wire.StatusOffline, "")
}

func TestCustomStatusRules(t *testing.T) {
	e := newEnv(t)
	a := e.login("a")
	a.drain()
	cases := []struct {
		name   string
		custom string
		code   int
	}{
		{"ascii 100 bytes", strings.Repeat("x", 100), 0},
		{"101 bytes", strings.Repeat("x", 101), wire.CodeServerParams},
		{"non-ASCII within limit", "正在游戏中 🎮", 0},
		{"33 three-byte runes = 99 bytes", strings.Repeat("中", 33), 0},
		{"34 three-byte runes = 102 bytes", strings.Repeat("中", 34), wire.CodeServerParams},
		{"empty clears", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a.t = t
			f := a.mustCall(tc.code, wire.OpSetStatus, map[string]any{"user_status_custom_status": tc.custom, "user_status_status_type": 2})
			if tc.code != 0 {
				return
			}
			got := a.statuses("a")[0]
			if got.Custom != tc.custom || got.Type != wire.StatusOnline {
				t.Fatalf("after set %q: %+v (reply %+v)", tc.custom, got, f)
			}
		})
	}
	a.t = t
	// Setting the same value again is not a change: nobody is told.
	a.drain()
	a.setStatus("")
	a.quiet()
}

// The custom status cannot be carried invalid UTF-8 in through a raw frame either.
func TestInvalidUTF8RawFrame(t *testing.T) {
	e := newEnv(t)
	a := e.login("a")
	a.drain()
	frame := []byte("{\"seq\":99,\"op\":\"set_status\",\"body\":{\"user_status_custom_status\":\"x\xff\"}}")
	a.mu.Lock()
	ch := make(chan wire.ServerFrame, 1)
	a.waiting[99] = ch
	a.mu.Unlock()
	if err := a.ws.WriteMessage(1, frame); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-ch:
		if f.Code != wire.CodeServerParams {
			t.Fatalf("code %d (%s), want %d", f.Code, f.Desc, wire.CodeServerParams)
		}
	case <-a.closed:
		t.Fatal("closed")
	}
	if got := a.statuses("a")[0].Custom; got != "" {
		t.Fatalf("custom = %q", got)
	}
}

func TestOwnDevicesSeeOwnChanges(t *testing.T) {
	e := newEnv(t)
	pc := e.login("me", loginOpts{platform: "Windows"})
	phone := e.login("me", loginOpts{platform: "iPhone"})
	pc.expect("me", wire.StatusOnline, "", "Windows")
	pc.expect("me", wire.StatusOnline, "", "Windows", "iPhone")
	phone.expect("me", wire.StatusOnline, "", "Windows", "iPhone")
	phone.setStatus("on the bus")
	pc.expect("me", wire.StatusOnline, "on the bus", "Windows", "iPhone")
	phone.expect("me", wire.StatusOnline, "on the bus", "Windows", "iPhone")
}

func TestKickOlderDeviceSamePlatform(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("w", "me")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"me"}})
	old := e.login("me", loginOpts{platform: "Android", device: "phone-1"})
	other := e.login("me", loginOpts{platform: "Windows"})
	w.drain()
	old.drain()
	old.setStatus("old phone")
	w.expect("me", wire.StatusOnline, "old phone", "Android", "Windows")
	old.drain()
	other.drain()

	newer := e.login("me", loginOpts{platform: "Android", device: "phone-2"})
	kicked := old.next()
	if kicked.Op != wire.OpKicked || kicked.Code != wire.CodeKickedOffline || kicked.Desc == "" {
		t.Fatalf("old device got %+v, want a kicked push with code 6208", kicked)
	}
	old.waitClosed()
	// The new Android device replaces the old one: devices change order only.
	w.expect("me", wire.StatusOnline, "old phone", "Windows", "Android")
	other.expect("me", wire.StatusOnline, "old phone", "Windows", "Android")
	newer.expect("me", wire.StatusOnline, "old phone", "Windows", "Android")
	if st := w.statuses("me")[0]; st.Type != wire.StatusOnline || len(st.Devices) != 2 {
		t.Fatalf("after kick: %+v", st)
	}
}

func TestSingleDevicePolicy(t *testing.T) {
	e := newEnv(t, func(a *server.AppConfig) { a.MultiDevicePolicy = "single" })
	a := e.login("me", loginOpts{platform: "Windows"})
	b := e.login("me", loginOpts{platform: "iPhone"})
	if f := a.next(); f.Op == wire.OpStatus {
		// a's own ONLINE push comes first
		if f = a.next(); f.Op != wire.OpKicked {
			t.Fatalf("got %s, want kicked", f.Op)
		}
	} else if f.Op != wire.OpKicked {
		t.Fatalf("got %s, want kicked", f.Op)
	}
	a.waitClosed()
	b.expect("me", wire.StatusOnline, "", "iPhone")
}

func TestLoginReplyTellsLimits(t *testing.T) {
	e := newEnv(t, func(a *server.AppConfig) { a.RateLimitCalls = 7; a.MaxGetIDs = 50; a.HeartbeatTimeoutMS = 8000 })
	c := e.dial()
	f := c.mustCall(0, wire.OpLogin, e.loginBody("a", loginOpts{}))
	want := wire.Limits{RateLimitCalls: 7, RateLimitWindowMS: 5000, MaxGetIDs: 50, MaxSubscribeIDs: 100, MaxSubscriptions: 200}
	if got := wire.ParseLimits(f.Body.Get("limits")); got != want {
		t.Fatalf("limits %+v, want %+v", got, want)
	}
	if got := f.Body.Get("heartbeat_interval_ms").Int(); got != 2000 {
		t.Fatalf("heartbeat interval %d, want a quarter of 8000", got)
	}
	if f.Body.Get("user_id").Str != "a" || f.Body.Get("server_time_ms").Int() != e.clock.Now().UnixMilli() {
		t.Fatalf("login reply %s", f.Body.Raw)
	}
}
