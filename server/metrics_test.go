package server_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/wire"
)

// scrape reads GET /metrics into name{labels} → value, checking that every
// sample has its HELP and TYPE.
func (e *env) scrape() map[string]uint64 {
	e.t.Helper()
	resp, err := http.Get(e.hs.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		e.t.Fatalf("GET /metrics: %d %q", resp.StatusCode, ct)
	}
	out := make(map[string]uint64)
	typed := make(map[string]bool)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			typed[strings.Fields(rest)[0]] = true
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		v, err := strconv.ParseUint(value, 10, 64)
		if !ok || err != nil {
			e.t.Fatalf("bad sample line %q", line)
		}
		if base, _, _ := strings.Cut(name, "{"); !typed[base] {
			e.t.Fatalf("sample %q before its # TYPE", line)
		}
		out[name] = v
	}
	return out
}

func TestMetrics(t *testing.T) {
	e := newEnvWith(t, server.Options{Apps: []server.AppConfig{{SDKAppID: testApp, SecretKey: testKey,
		Edition: "ultimate", UserStatusEnabled: on(), RateLimitCalls: 2, RateLimitWindowMS: 60_000}}})
	e.importAccounts("x")
	m0 := e.scrape()
	if m0["imstatus_connections"] != 0 || m0["imstatus_logins_total"] != 0 || m0[`imstatus_devices{sdkappid="1400000000"}`] != 0 {
		t.Fatalf("a new server: %v", m0)
	}

	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, ids("x"))
	w.expect("x", wire.StatusUnlogined, "")
	x := e.login("x")
	w.expect("x", wire.StatusOnline, "", "Windows")
	x.setStatus("busy")
	w.expect("x", wire.StatusOnline, "busy", "Windows")
	// A wrong UserSig, a rate-limited call and an unreadable frame.
	bad := e.dial()
	bad.mustCall(wire.CodeSigInvalid, wire.OpLogin, e.loginBody("x", loginOpts{sig: e.sig("x") + "A"}))
	w.mustCall(0, wire.OpGetStatus, ids("x"))
	w.mustCall(0, wire.OpGetStatus, ids("x"))
	w.mustCall(wire.CodeRateLimited, wire.OpGetStatus, ids("x")) // 2 calls a minute
	junk := e.dial()
	junk.ws.WriteMessage(websocket.TextMessage, []byte("{not json"))
	junk.waitClosed()

	m := e.scrape()
	want := map[string]uint64{
		"imstatus_connections":                    3, // w, x, bad (junk is closed)
		`imstatus_devices{sdkappid="1400000000"}`: 2,
		"imstatus_logins_total":                   2,
		"imstatus_login_refused_total":            1,
		// The app's part: here, all of it.
		`imstatus_app_logins_total{sdkappid="1400000000"}`:        2,
		`imstatus_app_login_refused_total{sdkappid="1400000000"}`: 1,
		"imstatus_rate_limited_total":                             1,
		"imstatus_bad_frames_total":                               1,
	}
	deadline := time.Now().Add(wait)
	for name, v := range want {
		for m[name] != v && time.Now().Before(deadline) { // the junk connection's end is asynchronous
			time.Sleep(5 * time.Millisecond)
			m = e.scrape()
		}
		if m[name] != v {
			t.Errorf("%s = %d, want %d", name, m[name], v)
		}
	}
	// Pushes: w's and x's own logins, x's login and status to w, w's
	// subscribe answer: at least 5 queued, and every queued frame written
	// in at most as many write calls.
	if m["imstatus_status_pushes_total"] < 5 {
		t.Errorf("status pushes %d, want at least 5", m["imstatus_status_pushes_total"])
	}
	if n, all := m[`imstatus_app_status_pushes_total{sdkappid="1400000000"}`], m["imstatus_status_pushes_total"]; n != all {
		t.Errorf("the app's status pushes %d, the node's %d: want the same (one app)", n, all)
	}
	if fw, wc := m["imstatus_frames_written_total"], m["imstatus_write_calls_total"]; fw == 0 || wc == 0 || wc > fw {
		t.Errorf("frames written %d in %d write calls", fw, wc)
	}
	// The runtime's gauges: at least a goroutine per open connection (its
	// reader), and a heap.
	if g := m["go_goroutines"]; g < 3 {
		t.Errorf("go_goroutines = %d with 3 connections open", g)
	}
	if m["go_memstats_heap_alloc_bytes"] == 0 {
		t.Error("go_memstats_heap_alloc_bytes = 0")
	}
	// The memory classes add up: objects fit in the spans in use, the
	// released pages are idle ones, and all of it was mapped.
	alloc, inuse, idle, rel, stack, sys := m["go_memstats_heap_alloc_bytes"], m["go_memstats_heap_inuse_bytes"],
		m["go_memstats_heap_idle_bytes"], m["go_memstats_heap_released_bytes"], m["go_memstats_stack_inuse_bytes"], m["go_memstats_sys_bytes"]
	if alloc > inuse || rel > idle || stack == 0 || inuse+idle+stack > sys {
		t.Errorf("memory classes do not add up: heap alloc %d, in use %d, idle %d (released %d), stacks %d, mapped %d", alloc, inuse, idle, rel, stack, sys)
	}
	if live := m["go_gc_heap_live_bytes"]; live == 0 || live > sys {
		t.Errorf("go_gc_heap_live_bytes = %d, mapped %d", live, sys)
	}

	x.ws.Close()
	x.waitClosed()
	for m = e.scrape(); m[`imstatus_devices{sdkappid="1400000000"}`] != 1 && time.Now().Before(deadline); m = e.scrape() {
		time.Sleep(5 * time.Millisecond)
	}
	if got := m[`imstatus_devices{sdkappid="1400000000"}`]; got != 1 {
		t.Fatalf("devices after x left: %d, want 1", got)
	}
}
