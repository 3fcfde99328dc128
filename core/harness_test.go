package core_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/wire"
)

const (
	testApp = testserver.App
	testKey = testserver.Key
	wait    = 10 * time.Second
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type testServer struct {
	*testserver.Server
	t *testing.T
}

func startServer(t *testing.T, mods ...func(*server.AppConfig)) *testServer {
	return &testServer{testserver.Start(t, mods...), t}
}

func (s *testServer) sig(user string, expire time.Duration) string { return s.Sig(user, expire) }

// tc is a core.Client under test with its events recorded.
type tc struct {
	*core.Client
	t       *testing.T
	user    string
	events  chan core.Event
	pending []wire.Status // statuses of an event not yet looked at
	marks   int
	cut     int // events whose JSON was cut from the push
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
	c := newClient(s.t, []string{s.Addr}, mods...)
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
				c.take(sc)
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

// take keeps sc's statuses for nextStatus, after checking that the JSON
// cut from the push, when there is one, is what encoding them makes.
func (c *tc) take(sc core.StatusChanged) {
	c.t.Helper()
	if sc.JSON != "" {
		c.cut++
		if want := string(wire.AppendUserStatuses(nil, sc.Statuses)); sc.JSON != want {
			c.t.Fatalf("%s: StatusChanged.JSON = %s, want %s", c.user, sc.JSON, want)
		}
	}
	c.pending = append(c.pending, sc.Statuses...)
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
				c.take(sc)
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
