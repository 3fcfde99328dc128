// Package testserver runs a real imstatus server on a loopback port for
// tests of the client side: core, sdk and the cross-language suites. The
// server's clock is a fake one the test moves, and the server can be stopped
// and started again on the same port.
package testserver

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/usersig"
)

// App and Key are the test app's SDKAppID and secret key.
const (
	App = 1400000000
	Key = "imstatus-test-key"
)

// Clock is a fake clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Server is a running test server.
type Server struct {
	t     testing.TB
	Addr  string // host:port, kept across Stop and Start
	Clock *Clock
	App   server.AppConfig
	Srv   *server.Server
	// TLS, when set before Start, makes the server speak wss:// and https://.
	TLS *tls.Config
	// Options, when set, adjusts the server's options at each Start (a
	// backend with a fault injected, say).
	Options func(*server.Options)
	hs      *http.Server
}

// Start runs a server whose app has every feature on (ultimate edition,
// switch on, a high rate limit, no per-user fan-out cap: its clock does
// not move and it runs no sweeps, so a change held past the cap would
// never go out), adjusted by mods. It stops at test end.
func Start(t testing.TB, mods ...func(*server.AppConfig)) *Server {
	t.Helper()
	return StartWith(t, nil, mods...)
}

// StartWith is Start with the server's options adjusted by opts.
func StartWith(t testing.TB, opts func(*server.Options), mods ...func(*server.AppConfig)) *Server {
	t.Helper()
	on := true
	app := server.AppConfig{SDKAppID: App, SecretKey: Key, Edition: "ultimate",
		UserStatusEnabled: &on, RateLimitCalls: 1000, FanoutsPerSecond: 1 << 30, FanoutBurst: 1 << 30}
	for _, m := range mods {
		m(&app)
	}
	s := &Server{t: t, Addr: "127.0.0.1:0", Clock: NewClock(time.Now()), App: app, Options: opts}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start serves on s.Addr (the same port after a Stop) with fresh state
// holding the given accounts.
func (s *Server) Start(accounts ...string) {
	s.t.Helper()
	opts := server.Options{Apps: []server.AppConfig{s.App}, Clock: s.Clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if s.Options != nil {
		s.Options(&opts)
	}
	srv, err := server.New(opts)
	if err != nil {
		s.t.Fatal(err)
	}
	if len(accounts) > 0 {
		if err := srv.ImportAccounts(s.App.SDKAppID, accounts...); err != nil {
			s.t.Fatal(err)
		}
	}
	var ln net.Listener
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err = net.Listen("tcp", s.Addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // the old socket may linger a moment
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	if s.TLS != nil {
		ln = tls.NewListener(ln, s.TLS)
	}
	s.Srv = srv
	// The handshakes tests fail on purpose are not news.
	s.hs = &http.Server{Handler: srv.Handler(), ErrorLog: log.New(io.Discard, "", 0)}
	go s.hs.Serve(ln)
}

// Stop shuts the server down as imstatusd does on SIGTERM: clients are
// told and closed.
func (s *Server) Stop() {
	if s.hs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.hs.Shutdown(ctx)
	s.Srv.Shutdown(ctx)
	s.hs = nil
}

// Sig returns a UserSig for user, valid for expire from the clock's now.
func (s *Server) Sig(user string, expire time.Duration) string {
	sig, err := usersig.Generate(s.App.SecretKey, s.App.SDKAppID, user, expire, s.Clock.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return sig
}
