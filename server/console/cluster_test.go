package console_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/server/console"
	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/memstore"
)

// Two nodes on one backend (the memory one, shared in this process as
// Redis is shared between processes): node 1's console lists both nodes
// with their shares of the app's devices, shows a device on node 2 in
// the inspector, and kicks it there: its client hears of it.
func TestConsoleAcrossNodes(t *testing.T) {
	var mu sync.Mutex
	backends := map[uint64]presence.Backend{}
	shared := func(cfg server.AppConfig) (presence.Backend, error) {
		mu.Lock()
		defer mu.Unlock()
		b, ok := backends[cfg.SDKAppID]
		if !ok {
			b = memstore.NewBackend()
			backends[cfg.SDKAppID] = b
		}
		return b, nil
	}
	n1 := newEnvWith(t, false, server.Options{Console: true, NodeID: "node-1", Backend: shared})
	n2 := newEnvWith(t, false, server.Options{Console: true, NodeID: "node-2", Backend: shared})
	n1.client("alice", "Windows")
	_, kicked := n2.client("alice", "Android")
	n2.client("bob", "Linux")

	b := n1.browser()
	b.login()
	var stats console.Stats
	for deadline := time.Now().Add(wait); ; {
		b.get("/console/api/stats", &stats)
		if len(stats.Nodes) == 2 && stats.Nodes[1].Devices == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes in the overview: %+v, want node-1 with 1 device, node-2 with 2", stats.Nodes)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := stats.Nodes; n[0].Node != "node-1" || n[0].Devices != 1 || n[0].Share < 0.33 || n[0].Share > 0.34 ||
		n[1].Node != "node-2" || n[1].Share < 0.66 || n[1].Share > 0.67 || n[1].Connections != 2 {
		t.Fatalf("nodes %+v, want node-1 (1 device, a third) and node-2 (2 connections, 2 devices, two thirds)", n)
	}

	var u console.User
	if st := b.get("/console/api/user?id=alice", &u); st != http.StatusOK || len(u.Devices) != 2 {
		t.Fatalf("inspecting alice from node 1: %d %+v, want her two devices", st, u.Devices)
	}
	// Node 1 took alice's latest status: her login on node 2 reaches her
	// device here.
	for deadline := time.Now().Add(wait); u.Delivered == nil || u.Delivered.Version != u.Version; {
		if time.Now().After(deadline) {
			t.Fatalf("node 1's last delivery of alice: %+v, want her status's version %d", u.Delivered, u.Version)
		}
		time.Sleep(20 * time.Millisecond)
		b.get("/console/api/user?id=alice", &u)
	}
	if u.Delivered.At.IsZero() {
		t.Errorf("node 1's last delivery of alice has no time: %+v", u.Delivered)
	}
	var nobody console.User
	if b.get("/console/api/user?id=carol", &nobody); nobody.Delivered != nil {
		t.Errorf("a user nobody here hears of was delivered here: %+v", nobody.Delivered)
	}
	here, there := u.Devices[0], u.Devices[1]
	if !here.Here || here.Node != "node-1" || here.Platform != "Windows" || here.LastHeartbeat.IsZero() ||
		there.Here || there.Node != "node-2" || there.Platform != "Android" || there.Device == 0 {
		t.Fatalf("alice's devices %+v, want node-1's Windows (here) then node-2's Android", u.Devices)
	}

	body, _ := json.Marshal(map[string]any{"user": "alice", "device": there.Device, "node": there.Node})
	if st, m, _ := b.do("POST", "/console/api/kick", string(body), "X-Console-Token", b.csrf); st != http.StatusOK {
		t.Fatalf("kicking alice's device on node 2 from node 1: %d %v", st, m)
	}
	select {
	case k := <-kicked:
		if !strings.Contains(k.Desc, "administrator") {
			t.Errorf("kicked with %q", k.Desc)
		}
	case <-time.After(wait):
		t.Fatal("alice's client on node 2 was not told it was kicked")
	}
	for deadline := time.Now().Add(wait); ; {
		var u console.User
		b.get("/console/api/user?id=alice", &u)
		if len(u.Devices) == 1 && u.Devices[0].Node == "node-1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's devices after the kick: %+v, want node-1's alone", u.Devices)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The overview's per-app counters are the session's app's: logins to app
// A count in A's session, not in B's, while the node's count both.
func TestOverviewCountsByApp(t *testing.T) {
	e := newEnv(t, true, false)
	e.client("alice", "Windows")
	e.client("bob", "Linux")
	stats := func(app uint64, key string) console.Stats {
		b := e.browser()
		if st, m, _ := b.do("POST", "/console/api/login", `{"sdkappid":"`+strconv.FormatUint(app, 10)+`","key":"`+key+`"}`); st != http.StatusOK {
			t.Fatalf("login to app %d: %d %v", app, st, m)
		}
		var s console.Stats
		b.get("/console/api/stats", &s)
		return s
	}
	a, b := stats(appA, keyA), stats(appB, keyB)
	if a.AppCounters["logins"] != 2 || a.Counters["logins"] != 2 || a.Devices != 2 {
		t.Errorf("app A's overview: logins %d (node %d), devices %d; want 2, 2, 2", a.AppCounters["logins"], a.Counters["logins"], a.Devices)
	}
	if b.AppCounters["logins"] != 0 || b.Counters["logins"] != 2 || b.Devices != 0 {
		t.Errorf("app B's overview: logins %d (node %d), devices %d; want 0, 2, 0", b.AppCounters["logins"], b.Counters["logins"], b.Devices)
	}
	if a.AppCounters["status_pushes"] < 2 || b.AppCounters["status_pushes"] != 0 {
		t.Errorf("status pushes: app A %d, app B %d; want each login's own status in A, none in B", a.AppCounters["status_pushes"], b.AppCounters["status_pushes"])
	}
}

// get GETs path and decodes its JSON answer into v; it returns the status.
func (b *browser) get(path string, v any) int {
	b.t.Helper()
	st, m, _ := b.do("GET", path, "")
	raw, _ := json.Marshal(m)
	if err := json.Unmarshal(raw, v); err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	return st
}
