package server_test

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/wire"
)

// A connection past the total or the per-address cap is closed at once with
// 1013 and a reason saying which, counted; a closed link frees its place.
func TestConnectionCaps(t *testing.T) {
	for _, tc := range []struct {
		name        string
		total, addr int
		reason      string
	}{
		{"per address", 0, 2, "from this address"},
		{"total", 2, 0, "on this server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, server.Options{Apps: []server.AppConfig{fullApp()}, MaxConns: tc.total, MaxConnsPerAddr: tc.addr})
			a, b := e.dial(), e.dial()
			for _, c := range []*client{a, b} { // an answer: the server holds the link
				c.call(wire.OpHeartbeat, nil)
			}
			third := e.dial()
			ce := third.waitClosed()
			if ce == nil || ce.Code != websocket.CloseTryAgainLater || !strings.Contains(ce.Text, tc.reason) {
				t.Fatalf("the third link: %+v, want 1013 %q", ce, tc.reason)
			}
			if n := e.scrape()["imstatus_connections_refused_total"]; n != 1 {
				t.Fatalf("imstatus_connections_refused_total = %d, want 1", n)
			}
			a.ws.Close()
			<-a.closed
			for e.scrape()["imstatus_connections"] != 1 { // the server sees the close a moment later
				time.Sleep(5 * time.Millisecond)
			}
			e.dial().call(wire.OpHeartbeat, nil) // a place is free again
		})
	}
}

// failingListener fails its first accepts as a process at its open-file
// limit does, then reports itself closed: a fault injected on purpose.
type failingListener struct {
	net.Listener
	fails int
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return nil, net.ErrClosed
}

// Failed accepts are counted and logged at warning level; the close of the
// listener is neither.
func TestAcceptErrorsAreVisible(t *testing.T) {
	logs := &countingHandler{msgs: map[string]int{}, held: map[string]int64{}}
	e := newEnvWith(t, server.Options{Apps: []server.AppConfig{fullApp()}, Logger: slog.New(logs)})
	ln := e.srv.Listener(&failingListener{fails: 3})
	for range 3 {
		if _, err := ln.Accept(); !errors.Is(err, syscall.EMFILE) {
			t.Fatalf("Accept: %v, want EMFILE", err)
		}
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept: %v, want closed", err)
	}
	if n := e.scrape()["imstatus_accept_errors_total"]; n != 3 {
		t.Fatalf("imstatus_accept_errors_total = %d, want 3", n)
	}
	if n, _ := logs.count("accepting a connection failed (the open-file limit?); retrying"); n < 1 {
		t.Fatal("a failed accept was not logged")
	}
}

// Logins from one address past LoginsPerAddr a second are answered 7008
// before their UserSig is read, counted; the bucket refills with time.
func TestLoginsPerAddress(t *testing.T) {
	e := newEnvWith(t, server.Options{Apps: []server.AppConfig{fullApp()}, LoginsPerAddr: 2})
	e.importAccounts("a", "b", "c")
	e.login("a")
	e.login("b")
	c := e.dial()
	if f := c.call(wire.OpLogin, e.loginBody("c", loginOpts{})); f.Code != wire.CodeRateLimited {
		t.Fatalf("a third login in the same second: %d %q, want 7008", f.Code, f.Desc)
	}
	if n := e.scrape()["imstatus_logins_limited_total"]; n != 1 {
		t.Fatalf("imstatus_logins_limited_total = %d, want 1", n)
	}
	e.clock.Advance(time.Second)
	if f := c.call(wire.OpLogin, e.loginBody("c", loginOpts{})); f.Code != 0 {
		t.Fatalf("a login a second later: %d %q", f.Code, f.Desc)
	}
}
