package core_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

const (
	testApp = 1400000000
	testKey = "core-test-key"
	wait    = 10 * time.Second
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testServer is a real imstatus server on a loopback port that can be
// stopped and started again on the same port.
type testServer struct {
	t     *testing.T
	addr  string
	clock *fakeClock
	app   server.AppConfig
	srv   *server.Server
	hs    *http.Server
}

func startServer(t *testing.T, mods ...func(*server.AppConfig)) *testServer {
	t.Helper()
	on := true
	app := server.AppConfig{SDKAppID: testApp, SecretKey: testKey, Edition: "ultimate",
		UserStatusEnabled: &on, RateLimitCalls: 1000}
	for _, m := range mods {
		m(&app)
	}
	s := &testServer{t: t, addr: "127.0.0.1:0", clock: &fakeClock{t: time.Now()}, app: app}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// start serves on s.addr (the same port after a stop), with fresh state
// holding the given accounts.
func (s *testServer) start(accounts ...string) {
	s.t.Helper()
	srv, err := server.New(server.Options{Apps: []server.AppConfig{s.app}, Clock: s.clock, Logger: quiet})
	if err != nil {
		s.t.Fatal(err)
	}
	if len(accounts) > 0 {
		if err := srv.ImportAccounts(testApp, accounts...); err != nil {
			s.t.Fatal(err)
		}
	}
	var ln net.Listener
	deadline := time.Now().Add(wait)
	for {
		ln, err = net.Listen("tcp", s.addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // the old socket may linger a moment
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.srv = srv
	s.hs = &http.Server{Handler: srv.Handler()}
	go s.hs.Serve(ln)
}

// stop shuts the server down the way imstatusd does on SIGTERM.
func (s *testServer) stop() {
	if s.hs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s.hs.Shutdown(ctx)
	s.srv.Shutdown(ctx)
	s.hs = nil
}

func (s *testServer) sig(user string, expire time.Duration) string {
	sig, err := usersig.Generate(testKey, testApp, user, expire, s.clock.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return sig
}

// tc is a core.Client under test with its events recorded.
type tc struct {
	*core.Client
	t       *testing.T
	user    string
	events  chan core.Event
	pending []wire.Status // statuses of an event not yet looked at
	marks   int
}

func newClient(t *testing.T, servers []string, mods ...func(*core.Config)) *tc {
	t.Helper()
	events := make(chan core.Event, 10000)
	cfg := core.Config{
		SDKAppID: testApp, Servers: servers, Platform: "Linux", Logger: quiet,
		OnEvent:    func(e core.Event) { events <- e },
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &tc{Client: c, t: t, events: events}
}

func (s *testServer) login(user string, mods ...func(*core.Config)) *tc {
	s.t.Helper()
	c := newClient(s.t, []string{s.addr}, mods...)
	c.user = user
	if err := c.Login(context.Background(), user, s.sig(user, time.Hour)); err != nil {
		s.t.Fatalf("login %s: %v", user, err)
	}
	return c
}

func code(err error) int {
	if err == nil {
		return 0
	}
	if we, ok := err.(*wire.Error); ok {
		return we.Code
	}
	return -1
}

func (c *tc) must(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatalf("%s: %v", c.user, err)
	}
}

func (c *tc) wantCode(want int, err error) {
	c.t.Helper()
	if got := code(err); got != want {
		c.t.Fatalf("%s: error %v (code %d), want code %d", c.user, err, got, want)
	}
	if want != 0 {
		if we := err.(*wire.Error); we.Desc == "" {
			c.t.Fatalf("%s: code %d without a desc", c.user, want)
		}
	}
}

// next returns the next event of type E, skipping others.
func next[E core.Event](c *tc) E {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case e := <-c.events:
			if x, ok := e.(E); ok {
				return x
			}
			// Statuses stay for expect; other events are skipped.
			if sc, ok := e.(core.StatusChanged); ok {
				c.pending = append(c.pending, sc.Statuses...)
			}
		case <-deadline:
			var zero E
			c.t.Fatalf("%s: no %T event in %v", c.user, zero, wait)
			return zero
		}
	}
}

// waitNet skips network events until one with status st.
func (c *tc) waitNet(st core.NetworkStatus) core.NetworkChanged {
	c.t.Helper()
	for {
		if e := next[core.NetworkChanged](c); e.Status == st {
			return e
		}
	}
}

// nextStatus returns the next reported status, one at a time even when
// an event carries several.
func (c *tc) nextStatus() wire.Status {
	c.t.Helper()
	deadline := time.After(wait)
	for len(c.pending) == 0 {
		select {
		case e := <-c.events:
			if sc, ok := e.(core.StatusChanged); ok {
				c.pending = append(c.pending, sc.Statuses...)
			}
		case <-deadline:
			c.t.Fatalf("%s: no status event in %v", c.user, wait)
		}
	}
	st := c.pending[0]
	c.pending = c.pending[1:]
	return st
}

// expect takes statuses until one of who arrives, and checks it.
func (c *tc) expect(who string, typ wire.StatusType, custom string) {
	c.t.Helper()
	for {
		s := c.nextStatus()
		if s.UserID != who {
			continue
		}
		if s.Type != typ || s.Custom != custom {
			c.t.Fatalf("%s got %s's status %+v, want %v %q", c.user, who, s, typ, custom)
		}
		return
	}
}

// eventually takes statuses until who has the given one.
func (c *tc) eventually(who string, typ wire.StatusType, custom string) {
	c.t.Helper()
	for {
		s := c.nextStatus()
		if s.UserID == who && s.Type == typ && s.Custom == custom {
			return
		}
	}
}

// noStatusOf asserts that no status of who arrives before a marker: c sets
// its own custom status to a new value and waits for that change, which the
// server sends after every push queued before it.
func (c *tc) noStatusOf(who string) {
	c.t.Helper()
	c.marks++
	marker := "mark-" + strconv.Itoa(c.marks)
	c.must(c.SetSelfStatus(context.Background(), marker))
	for {
		s := c.nextStatus()
		if s.UserID == who {
			c.t.Fatalf("%s: unexpected status of %s: %+v", c.user, who, s)
		}
		if s.UserID == c.user && s.Custom == marker {
			return
		}
	}
}
