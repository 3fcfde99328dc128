package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/imstatus/imstatus/internal/redistest"
	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/memstore"
	"github.com/imstatus/imstatus/server/presence/redisstore"
	"github.com/imstatus/imstatus/wire"
)

// nodeOnRedis is a node called id on rdb, under prefix, with a 15 s lease.
func nodeOnRedis(t *testing.T, rdb redis.UniversalClient, prefix, id string) *env {
	return newEnvWith(t, server.Options{
		Apps:     []server.AppConfig{fullApp()},
		NodeID:   id,
		LeaseTTL: 15 * time.Second,
		Backend: func(a server.AppConfig) (presence.Backend, error) {
			return redisstore.NewBackend(rdb, prefix, a.SDKAppID, slog.New(slog.NewTextHandler(io.Discard, nil))), nil
		},
	})
}

// A node that stored a change and died before publishing it: the node that
// sweeps its lease sends the status again, though the sweep changed
// nothing of it, and watchers hear what was stored.
func TestSweepSendsWhatADeadNodeMayNotHavePublished(t *testing.T) {
	rdb := redistest.Standalone(t)
	const prefix = "imstatus-resend"
	e := nodeOnRedis(t, rdb, prefix, "alive")
	e.importAccounts("u")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"u"}})
	w.expect("u", wire.StatusUnlogined, "")

	// The dead node, as its store calls left things: u logged in on it
	// and set a custom status, stored but never published.
	ctx, now := t.Context(), e.clock.Now()
	dead := redisstore.NewStore(rdb, prefix, testApp)
	if _, err := dead.RenewLease(ctx, "dead", now, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	key := presence.DeviceKey{Node: "dead", Conn: 1}
	if _, _, err := dead.Login(ctx, "u", presence.Device{Key: key, Platform: "Web"}, presence.PerPlatform, now); err != nil {
		t.Fatal(err)
	}
	if _, err := dead.SetCustom(ctx, "u", "stored, never published", now); err != nil {
		t.Fatal(err)
	}
	// u logs in on the live node on the same platform: it replaces the
	// dead node's device, and its status does not change, so nothing is
	// published.
	e.login("u", loginOpts{platform: "Web"})
	w.quiet()

	e.clock.Advance(16 * time.Second)
	e.srv.Sweep() // the live node renews, leads, and ends the dead node's lease
	w.expect("u", wire.StatusOnline, "stored, never published", "Web")
}

// A node swept while it stalled comes back during the sweep: the sweep
// still running must not end the devices of the clients that log in again
// on it, or their links stay open while the cluster says OFFLINE (the
// soak saw such clients stay so for good).
func TestSweepStillRunningSparesTheRevivedNode(t *testing.T) {
	rs := redistest.Start(t, false)
	const prefix = "imstatus-revive"
	e := nodeOnRedis(t, rs.Client(), prefix, "n1")
	e.importAccounts("a")
	a := e.login("a")

	// Another node's sweep, paused when it reads which users n1 served.
	rdb := rs.Client()
	pause := &pauseAt{suffix: ":node:n1", reached: make(chan struct{}), resume: make(chan struct{})}
	rdb.AddHook(pause)
	sweeper := redisstore.NewStore(rdb, prefix, testApp)
	e.clock.Advance(16 * time.Second) // n1 stalled past its lease
	done := make(chan error, 1)
	go func() {
		_, err := sweeper.ExpireLeases(context.Background(), e.clock.Now())
		done <- err
	}()
	<-pause.reached

	// n1 runs again: it finds its lease lost, and sends its clients to
	// reconnect; a logs in again.
	e.srv.Sweep()
	f := a.next()
	for f.Op == wire.OpStatus { // its own, from its login
		f = a.next()
	}
	if f.Op != wire.OpShutdown {
		t.Fatalf("a got %s, want the shutdown push of a lost lease", f.Op)
	}
	a.waitClosed()
	a = e.login("a")
	close(pause.resume)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := e.rest("administrator", "/v4/openim/query_online_status", map[string]any{"To_Account": []string{"a"}})
	if st := got.Get("QueryResult.0.Status").Str; st != "Online" {
		t.Fatalf("a, logged in again on the revived node: %s; want Online", got.Raw)
	}
}

// pauseAt holds the first command whose key ends with suffix until resume
// is closed, telling reached when it is there.
type pauseAt struct {
	suffix          string
	reached, resume chan struct{}
	once            sync.Once
}

func (p *pauseAt) DialHook(next redis.DialHook) redis.DialHook { return next }
func (p *pauseAt) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if args := cmd.Args(); len(args) > 1 && strings.HasSuffix(fmt.Sprint(args[1]), p.suffix) {
			p.once.Do(func() {
				close(p.reached)
				<-p.resume
			})
		}
		return next(ctx, cmd)
	}
}
func (p *pauseAt) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// A node whose sweep is slow (a backlog of departures, of changes to send
// again, a slow store) still renews its lease in time: the renewal has a
// loop of its own, so the other node does not take it for dead and send
// its clients away.
func TestSlowSweepKeepsTheLease(t *testing.T) {
	backend := memstore.NewBackend()
	// The test clock, moved on as time passes: Run's loops tick in real time.
	clock := testserver.NewClock(time.Unix(1800000000, 0))
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for last := time.Now(); ; {
			select {
			case <-stop:
				return
			case now := <-time.After(5 * time.Millisecond):
				clock.Advance(now.Sub(last))
				last = now
			}
		}
	}()
	node := func(id string, store func(presence.Store) presence.Store) *env {
		e := newEnvWith(t, server.Options{
			Apps:          []server.AppConfig{fullApp()},
			Clock:         clock,
			NodeID:        id,
			LeaseTTL:      300 * time.Millisecond,
			SweepInterval: 20 * time.Millisecond,
			Backend: func(server.AppConfig) (presence.Backend, error) {
				b := backend
				b.Store = store(b.Store)
				return b, nil
			},
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.srv.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return e
	}
	slow := node("slow", func(s presence.Store) presence.Store { return slowLead{s} })
	node("other", func(s presence.Store) presence.Store { return s })
	slow.importAccounts("a")
	a := slow.login("a")
	a.drain()                   // its own status, from its login
	time.Sleep(2 * time.Second) // several slow sweeps, each past the lease
	a.quiet()                   // no shutdown push: the lease held
}

// slowLead is a store whose Lead, which every sweep calls, takes 1 s.
type slowLead struct{ presence.Store }

func (s slowLead) Lead(ctx context.Context, task, node string, now time.Time, ttl time.Duration) (bool, error) {
	time.Sleep(time.Second)
	return s.Store.Lead(ctx, task, node, now, ttl)
}
