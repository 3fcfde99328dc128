package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

func TestLoginFailures(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	gen := func(app uint64, user string, expire time.Duration, at time.Time) string {
		s, err := usersig.Generate(testKey, app, user, expire, at)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherKey, _ := usersig.Generate("another-key", testApp, "u", time.Hour, now)
	cases := []struct {
		name string
		body map[string]any
		code int
	}{
		{"expired", e.loginBody("u", loginOpts{sig: gen(testApp, "u", time.Hour, now.Add(-time.Hour-time.Second))}), wire.CodeSigExpired},
		{"empty", e.loginBody("u", loginOpts{sig: " "}), wire.CodeSigInvalid},
		{"garbage", e.loginBody("u", loginOpts{sig: "eJyrVkrNK8nMT1WyUkpKTM7MS1eqBQA8ZgZb"}), wire.CodeSigInvalid},
		{"wrong key", e.loginBody("u", loginOpts{sig: otherKey}), wire.CodeSigInvalid},
		{"another user's", e.loginBody("u", loginOpts{sig: e.sig("v")}), wire.CodeSigIdentifier},
		{"another app's", e.loginBody("u", loginOpts{sig: gen(testApp+1, "u", time.Hour, now)}), wire.CodeSigSDKAppID},
		{"bad user id", e.loginBody("bad id", loginOpts{sig: "x"}), wire.CodeServerParams},
		{"bad platform", e.loginBody("u", loginOpts{platform: "Amiga"}), wire.CodeServerParams},
		{"empty string", with(e.loginBody("u", loginOpts{}), "user_sig", ""), wire.CodeSigEmpty},
		{"unknown app", with(e.loginBody("u", loginOpts{}), "sdkappid", 42), wire.CodeSigSDKAppID},
		{"protocol v2", with(e.loginBody("u", loginOpts{}), "v", 2), wire.CodeServerParams},
	}
	c := e.dial()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.mustCall(tc.code, wire.OpLogin, tc.body)
		})
	}
	c.t = t
	// None of them logged in, nor created the account.
	c.mustCall(wire.CodeNotLoggedIn, wire.OpGetStatus, ids("u"))
	w := e.login("w")
	if st := w.statuses("u")[0]; st.Type != wire.StatusUnknown {
		t.Fatalf("u after failed logins: %+v", st)
	}
	// The same connection can still log in properly, once.
	c.user = "u"
	c.mustCall(0, wire.OpLogin, e.loginBody("u", loginOpts{}))
	c.mustCall(wire.CodeServerParams, wire.OpLogin, e.loginBody("u", loginOpts{}))
}

// with sets body[key] = v and returns body.
func with(body map[string]any, key string, v any) map[string]any {
	body[key] = v
	return body
}

func TestCallsBeforeLogin(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.mustCall(0, wire.OpHeartbeat, nil)
	for _, op := range []wire.Op{wire.OpLogout, wire.OpSetStatus, wire.OpGetStatus, wire.OpSubscribe, wire.OpUnsubscribe} {
		c.mustCall(wire.CodeNotLoggedIn, op, ids("x"))
	}
	c.user = "x"
	c.mustCall(0, wire.OpLogin, e.loginBody("x", loginOpts{}))
	c.mustCall(wire.CodeServerParams, "no_such_op", nil)
	c.mustCall(0, wire.OpLogout, nil)
	c.mustCall(wire.CodeNotLoggedIn, wire.OpSetStatus, map[string]any{"user_status_custom_status": "x"})
}

func TestUserSigExpiresWhileConnected(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("x")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, ids("x"))
	w.drain()
	sig, _ := usersig.Generate(testKey, testApp, "x", time.Hour, e.clock.Now())
	x := e.login("x", loginOpts{sig: sig})
	w.expect("x", wire.StatusOnline, "", "Windows")
	x.drain()
	e.clock.Advance(30 * time.Minute)
	x.mustCall(0, wire.OpHeartbeat, nil)
	w.mustCall(0, wire.OpHeartbeat, nil)
	e.srv.Sweep()
	e.clock.Advance(30*time.Minute + time.Second)
	x.mustCall(0, wire.OpHeartbeat, nil)
	w.mustCall(0, wire.OpHeartbeat, nil)
	e.srv.Sweep()
	f := x.next()
	if f.Op != wire.OpSigExpired || f.Code != wire.CodeSigExpired {
		t.Fatalf("got %+v, want sig_expired 70001", f)
	}
	x.waitClosed()
	w.expect("x", wire.StatusOffline, "")
}

// A connection that sends refused UserSigs over and over is closed after
// ten: guessing costs the guesser a new link every ten tries.
func TestRepeatedFailedLoginsClose(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	for range 9 {
		c.mustCall(wire.CodeSigInvalid, wire.OpLogin, e.loginBody("u", loginOpts{sig: e.sig("u") + "A"}))
	}
	c.mustCall(0, wire.OpHeartbeat, nil) // nine: still open
	c.mustCall(wire.CodeSigInvalid, wire.OpLogin, e.loginBody("u", loginOpts{sig: e.sig("u") + "A"}))
	if ce := c.waitClosed(); ce == nil || ce.Code != websocket.ClosePolicyViolation || ce.Text != "too many failed logins" {
		t.Fatalf("close = %v, want 1008 too many failed logins", ce)
	}
	if n := e.scrape()["imstatus_login_refused_total"]; n != 10 {
		t.Fatalf("imstatus_login_refused_total = %d, want 10", n)
	}
}

func TestLoginTimeout(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	e.clock.Advance(14 * time.Second)
	e.srv.Sweep()
	c.mustCall(0, wire.OpHeartbeat, nil) // still open; heartbeats do not extend the wait
	e.clock.Advance(2 * time.Second)
	e.srv.Sweep()
	if ce := c.waitClosed(); ce == nil || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("close = %v, want policy violation", ce)
	}
	// After a logout the connection has the same time to log in again.
	d := e.login("d")
	e.clock.Advance(time.Minute)
	d.mustCall(0, wire.OpHeartbeat, nil)
	e.srv.Sweep()
	d.mustCall(0, wire.OpLogout, nil)
	e.clock.Advance(14 * time.Second)
	e.srv.Sweep()
	d.mustCall(0, wire.OpHeartbeat, nil)
	e.clock.Advance(2 * time.Second)
	e.srv.Sweep()
	d.waitClosed()
}

func TestBadFrames(t *testing.T) {
	e := newEnv(t)
	t.Run("too large", func(t *testing.T) {
		c := e.dial()
		c.t = t
		big := `{"seq":1,"op":"heartbeat","body":"` + strings.Repeat("x", wire.MaxFrame) + `"}`
		c.ws.WriteMessage(websocket.TextMessage, []byte(big))
		if ce := c.waitClosed(); ce == nil || ce.Code != websocket.CloseMessageTooBig {
			t.Fatalf("close = %v, want 1009", ce)
		}
	})
	for _, bad := range []string{"not json", `[]`, `{"seq":1}`, `{"seq":"1","op":"heartbeat"}`, `{"seq":-1,"op":"x"}`} {
		t.Run(bad, func(t *testing.T) {
			c := e.dial()
			c.t = t
			c.ws.WriteMessage(websocket.TextMessage, []byte(bad))
			f := c.next()
			if f.Op != wire.OpShutdown || f.Code != wire.CodeServerParams || f.Desc == "" {
				t.Fatalf("got %+v, want a shutdown push with 70402 and a desc", f)
			}
			if ce := c.waitClosed(); ce == nil || ce.Code != websocket.CloseUnsupportedData {
				t.Fatalf("close = %v, want 1003", ce)
			}
		})
	}
	// The server is unharmed.
	e.login("ok").mustCall(0, wire.OpHeartbeat, nil)
}

// A client that stops reading is disconnected once its send queue is full;
// the others get every change, in order, without waiting for it.
func TestSlowReaderIsDisconnected(t *testing.T) {
	e := newEnvWith(t, server.Options{
		Apps: []server.AppConfig{{SDKAppID: testApp, SecretKey: testKey, Edition: "ultimate",
			UserStatusEnabled: on(), RateLimitCalls: 1 << 30, FanoutsPerSecond: noFanoutCap, FanoutBurst: noFanoutCap}},
		SendQueue: 16,
		// Only the full queue may drop the client here, not a write timeout.
		WriteTimeout: time.Hour,
	})
	targets := names("target_with_a_long_name_", 500)
	e.importAccounts(targets...)
	e.importAccounts("x", "slow")
	fast := e.login("fast")
	fast.mustCall(0, wire.OpSubscribe, ids("x"))
	fast.drain()
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, ids("slow"))
	w.drain()

	// The slow client's socket has a small receive buffer and is never read,
	// while it asks for the state of 500 users (~40 KB a reply) until the
	// server drops it. A query is cheap to answer, so even under the race
	// detector the kernel's buffers (a few MB) and the 16-frame queue fill
	// within a few hundred requests.
	slow := e.loginSlowReader("slow")
	w.expect("slow", wire.StatusOnline, "", "Linux")
	get := []byte(`{"seq":2,"op":"get_status","body":{"ids":["` + strings.Join(targets, `","`) + `"]}}`)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if slow.WriteMessage(websocket.TextMessage, get) != nil {
				return // the server closed the link
			}
		}
	}()

	// Meanwhile x keeps changing and fast hears every change in order.
	x := e.login("x")
	fast.expect("x", wire.StatusOnline, "", "Windows")
	deadline := time.Now().Add(3 * wait)
	for i := 0; ; i++ {
		x.setStatus(itoa(i))
		fast.expect("x", wire.StatusOnline, itoa(i), "Windows")
		x.drain()
		if st := w.statuses("slow")[0]; st.Type == wire.StatusOffline {
			break // the server dropped the slow client
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow reader was not disconnected after %d changes", i)
		}
	}
	w.expect("slow", wire.StatusOffline, "")
	if n := e.scrape()["imstatus_slow_readers_closed_total"]; n != 1 {
		t.Fatalf("imstatus_slow_readers_closed_total = %d, want 1", n)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func TestGracefulShutdown(t *testing.T) {
	e := newEnv(t)
	a := e.login("a")
	a.drain()
	if err := e.srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	f := a.next()
	if f.Op != wire.OpShutdown || f.Desc == "" {
		t.Fatalf("got %+v, want a shutdown push", f)
	}
	if ce := a.waitClosed(); ce == nil || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("close = %v, want 1001", ce)
	}
	// New connections are refused with the same close code.
	c := e.dial()
	if ce := c.waitClosed(); ce == nil || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("new conn close = %v, want 1001", ce)
	}
}
