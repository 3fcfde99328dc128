package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/server/webhook"
	"github.com/imstatus/imstatus/wire"
)

// End-to-end tests of the State.StateChange webhook (SEMANTICS §9): a real
// server on loopback posting to a real HTTP endpoint.

// hookCall is one request the webhook endpoint received.
type hookCall struct {
	method, path, contentType string
	query                     url.Values
	body                      []byte
}

// hookServer is a webhook endpoint that records every request. When hang is
// set, each request blocks until the test is cleaned up.
type hookServer struct {
	url   string
	calls chan hookCall
}

func newHookServer(t *testing.T, hang bool) *hookServer {
	t.Helper()
	h := &hookServer{calls: make(chan hookCall, 1024)}
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.calls <- hookCall{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"),
			query: r.URL.Query(), body: body}
		if hang {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)
	}))
	// Registered before the server's env, so it runs after the env's
	// cleanup: the presence server stops first, then hung handlers are let go.
	t.Cleanup(func() {
		close(release)
		hs.Close()
	})
	h.url = hs.URL + "/imstatus/hook"
	return h
}

// next returns the next request.
func (h *hookServer) next(t *testing.T) hookCall {
	t.Helper()
	select {
	case c := <-h.calls:
		return c
	case <-time.After(wait):
		t.Fatalf("no webhook call in %v", wait)
	}
	return hookCall{}
}

// hookWant is what one callback must say.
type hookWant struct {
	account, platform, action, reason string
	kicked                            []string
	data                              string    // UserDefineData; "" for none
	at                                time.Time // the fake clock at the event
}

// check compares every part of a call with w: method, path, the exact set
// of query parameters, the content type and the exact JSON body.
func (c hookCall) check(t *testing.T, w hookWant) {
	t.Helper()
	if c.method != http.MethodPost || c.path != "/imstatus/hook" {
		t.Fatalf("webhook request %s %s, want POST /imstatus/hook", c.method, c.path)
	}
	wantQuery := url.Values{
		"SdkAppid":        {fmt.Sprint(testApp)},
		"CallbackCommand": {"State.StateChange"},
		"contenttype":     {"json"},
		"ClientIP":        {"127.0.0.1"},
		"OptPlatform":     {w.platform},
	}
	if !reflect.DeepEqual(c.query, wantQuery) {
		t.Fatalf("webhook query %v, want %v", c.query, wantQuery)
	}
	if !strings.HasPrefix(c.contentType, "application/json") {
		t.Fatalf("webhook Content-Type %q", c.contentType)
	}
	want := map[string]any{
		"CallbackCommand": "State.StateChange",
		"EventTime":       json.Number(fmt.Sprint(w.at.UnixMilli())),
		"Info":            map[string]any{"Action": w.action, "To_Account": w.account, "Reason": w.reason},
	}
	if len(w.kicked) > 0 {
		var kd []any
		for _, p := range w.kicked {
			kd = append(kd, map[string]any{"Platform": p})
		}
		want["KickedDevice"] = kd
	}
	if w.data != "" {
		want["UserDefineData"] = w.data
	}
	dec := json.NewDecoder(strings.NewReader(string(c.body)))
	dec.UseNumber()
	var got map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("webhook body %q: %v", c.body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("webhook body %s\nwant %v", c.body, want)
	}
}

// newHookEnv is newEnv with the webhook sent to url by a single worker, so
// callbacks arrive in the order of the events and a missing or extra one
// shows.
func newHookEnv(t *testing.T, url string, mods ...func(*server.AppConfig)) *env {
	t.Helper()
	app := server.AppConfig{
		SDKAppID:               testApp,
		SecretKey:              testKey,
		Edition:                "ultimate",
		UserStatusEnabled:      on(),
		FriendStatusAutoNotify: off(),
		WebhookURL:             url,
	}
	for _, m := range mods {
		m(&app)
	}
	return newEnvWith(t, server.Options{Apps: []server.AppConfig{app}, Webhook: webhook.Options{Workers: 1}})
}

// waitConns waits until the server holds n connections, so that a link the
// test closed has been fully handled (and its callback, if any, queued).
func (e *env) waitConns(n int) {
	e.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		resp, err := http.Get(e.hs.URL + "/healthz")
		if err != nil {
			e.t.Fatal(err)
		}
		var h struct{ Connections int }
		err = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		if h.Connections == n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d connections, want %d after %v", h.Connections, n, wait)
		}
		time.Sleep(2 * time.Millisecond) // polling a condition, not waiting for an event
	}
}

func TestWebhookStateChanges(t *testing.T) {
	hook := newHookServer(t, false)
	e := newHookEnv(t, hook.url)
	e.importAccounts("w", "u")
	step := func() time.Time { e.clock.Advance(time.Second); return e.clock.Now() }

	at := step()
	w := e.login("w")
	hook.next(t).check(t, hookWant{account: "w", platform: "Windows", action: "Login", reason: "Register", at: at})
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"u"}})
	w.drain()

	// Login, then a second Android login that kicks the first.
	at = step()
	first := e.login("u", loginOpts{platform: "Android", device: "one"})
	hook.next(t).check(t, hookWant{account: "u", platform: "Android", action: "Login", reason: "Register", at: at})
	w.expect("u", wire.StatusOnline, "", "Android")
	at = step()
	second := e.login("u", loginOpts{platform: "Android", device: "two"})
	first.waitKicked()
	hook.next(t).check(t, hookWant{account: "u", platform: "Android", action: "Login", reason: "Register",
		kicked: []string{"Android"}, at: at})
	e.waitConns(2) // the kicked link is gone: it must not have been reported as a disconnect

	// Explicit logout.
	at = step()
	second.mustCall(0, wire.OpLogout, nil)
	hook.next(t).check(t, hookWant{account: "u", platform: "Android", action: "Logout", reason: "Unregister", at: at})
	w.expect("u", wire.StatusUnlogined, "")

	// The client closes its socket.
	at = step()
	mac := e.login("u", loginOpts{platform: "Mac"})
	hook.next(t).check(t, hookWant{account: "u", platform: "Mac", action: "Login", reason: "Register", at: at})
	w.expect("u", wire.StatusOnline, "", "Mac")
	at = step()
	mac.ws.Close()
	hook.next(t).check(t, hookWant{account: "u", platform: "Mac", action: "Disconnect", reason: "LinkClose", at: at})
	w.expect("u", wire.StatusOffline, "")

	// An admin kick is a logout.
	at = step()
	ipad := e.login("u", loginOpts{platform: "iPad"})
	hook.next(t).check(t, hookWant{account: "u", platform: "iPad", action: "Login", reason: "Register", at: at})
	w.expect("u", wire.StatusOnline, "", "iPad")
	at = step()
	mustOK(t, e.adminPost(pathKick, map[string]any{"UserID": "u"}))
	ipad.waitKicked()
	hook.next(t).check(t, hookWant{account: "u", platform: "iPad", action: "Logout", reason: "Unregister", at: at})
	// The Mac device went away without logging out, so u is OFFLINE (SEMANTICS §1).
	w.expect("u", wire.StatusOffline, "")
	e.waitConns(2)

	// Nothing else was sent: with one worker callbacks arrive in order, so
	// the next one is the marker's.
	at = step()
	e.login("marker", loginOpts{platform: "Web"})
	hook.next(t).check(t, hookWant{account: "marker", platform: "Web", action: "Login", reason: "Register", at: at})
	w.quiet()
}

// The user_define_data a device logged in with (upstream's
// set_config_user_define_data) goes with each of its events, and only its.
func TestWebhookPassesUserDefineData(t *testing.T) {
	hook := newHookServer(t, false)
	e := newHookEnv(t, hook.url)
	step := func() time.Time { e.clock.Advance(time.Second); return e.clock.Now() }

	at := step()
	mac := e.login("u", loginOpts{platform: "Mac", data: "room=7 \"中\""})
	hook.next(t).check(t, hookWant{account: "u", platform: "Mac", action: "Login", reason: "Register", data: "room=7 \"中\"", at: at})
	at = step()
	web := e.login("u", loginOpts{platform: "Web"})
	hook.next(t).check(t, hookWant{account: "u", platform: "Web", action: "Login", reason: "Register", at: at})

	at = step()
	mac.mustCall(0, wire.OpLogout, nil)
	hook.next(t).check(t, hookWant{account: "u", platform: "Mac", action: "Logout", reason: "Unregister", data: "room=7 \"中\"", at: at})
	at = step()
	mac.mustCall(0, wire.OpLogin, e.loginBody("u", loginOpts{platform: "Mac", data: "room=8"}))
	hook.next(t).check(t, hookWant{account: "u", platform: "Mac", action: "Login", reason: "Register", data: "room=8", at: at})
	at = step()
	mac.ws.Close()
	hook.next(t).check(t, hookWant{account: "u", platform: "Mac", action: "Disconnect", reason: "LinkClose", data: "room=8", at: at})
	at = step()
	web.ws.Close()
	hook.next(t).check(t, hookWant{account: "u", platform: "Web", action: "Disconnect", reason: "LinkClose", at: at})

	// More than upstream's 64 bytes: the login is refused, and says why.
	c := e.dial()
	f := c.call(wire.OpLogin, e.loginBody("u", loginOpts{data: strings.Repeat("x", wire.MaxUserDefineData+1)}))
	if f.Code != wire.CodeServerParams || !strings.Contains(f.Desc, "user_define_data") {
		t.Fatalf("login with 65 bytes of user_define_data: %d %q", f.Code, f.Desc)
	}
}

// A device whose heartbeats stop is declared gone at the next sweep:
// Disconnect/TimeOut, and its subscribers see it OFFLINE.
func TestWebhookHeartbeatTimeout(t *testing.T) {
	hook := newHookServer(t, false)
	e := newHookEnv(t, hook.url, func(a *server.AppConfig) { a.HeartbeatTimeoutMS = 10_000 })
	e.importAccounts("w", "u")
	w := e.login("w")
	hook.next(t).check(t, hookWant{account: "w", platform: "Windows", action: "Login", reason: "Register", at: e.clock.Now()})
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"u"}})
	u := e.login("u", loginOpts{platform: "Linux"})
	hook.next(t).check(t, hookWant{account: "u", platform: "Linux", action: "Login", reason: "Register", at: e.clock.Now()})
	w.drain()
	u.drain()

	// Within the timeout nothing happens.
	e.clock.Advance(9 * time.Second)
	w.mustCall(0, wire.OpHeartbeat, nil)
	e.srv.Sweep()
	w.quiet()

	// Past it u is gone; w, which just sent a heartbeat, is not.
	e.clock.Advance(2 * time.Second)
	w.mustCall(0, wire.OpHeartbeat, nil)
	e.srv.Sweep()
	w.expect("u", wire.StatusOffline, "")
	u.waitClosed()
	hook.next(t).check(t, hookWant{account: "u", platform: "Linux", action: "Disconnect", reason: "TimeOut", at: e.clock.Now()})
	e.waitConns(1)
	if st := statusOf(w, "u"); !st.Equal(wire.Status{UserID: "u", Type: wire.StatusOffline}) {
		t.Fatalf("after timeout: %+v", st)
	}

	// Nothing else: the closed link was not reported a second time.
	e.login("marker")
	hook.next(t).check(t, hookWant{account: "marker", platform: "Windows", action: "Login", reason: "Register", at: e.clock.Now()})
	w.quiet()
}

// A webhook endpoint that never answers must not slow presence down: every
// notification arrives well before the webhook's 2 s timeout.
func TestWebhookHangingEndpointDoesNotDelayPresence(t *testing.T) {
	hook := newHookServer(t, true)
	e := newEnv(t, func(a *server.AppConfig) { // the default sender: 4 workers, 2 s timeout
		a.WebhookURL = hook.url
		a.FanoutsPerSecond, a.FanoutBurst = noFanoutCap, noFanoutCap // u logs in and out 25 times at once
	})
	e.importAccounts("w", "u")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"u"}})
	w.drain()
	hook.next(t) // the endpoint is reached, and hangs from now on

	const limit = time.Second
	u := e.dial()
	u.user = "u"
	var worst time.Duration
	timed := func(what string, act func(), typ wire.StatusType, custom string, devices ...string) {
		t.Helper()
		start := time.Now()
		act()
		w.expect("u", typ, custom, devices...)
		if d := time.Since(start); d > limit {
			t.Fatalf("%s: the subscriber was told after %v, want < %v", what, d, limit)
		} else if d > worst {
			worst = d
		}
	}
	begin := time.Now()
	logins := 0
	for i := range 25 {
		timed("login", func() { u.mustCall(0, wire.OpLogin, e.loginBody("u", loginOpts{platform: "Android"})) },
			wire.StatusOnline, "", "Android")
		logins++
		custom := fmt.Sprintf("round %d", i)
		timed("set status", func() { u.setStatus(custom) }, wire.StatusOnline, custom, "Android")
		timed("logout", func() { u.mustCall(0, wire.OpLogout, nil) }, wire.StatusUnlogined, "")
	}
	total := time.Since(begin)
	// 50 callbacks were queued behind hung requests. Had presence waited for
	// them, each login and logout would have taken a webhook timeout (2 s),
	// 100 s in all; the bound is generous for a loaded CI machine.
	if total > 5*time.Second {
		t.Fatalf("%d logins and logouts took %v", logins, total)
	}
	t.Logf("75 notifications in %v, slowest %v", total, worst)
	w.quiet()
}
