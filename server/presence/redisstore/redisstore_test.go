package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/imstatus/imstatus/internal/redistest"
	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/redisstore"
	"github.com/imstatus/imstatus/server/presence/storetest"
	"github.com/imstatus/imstatus/wire"
)

// Each test of the suite gets an app of its own, so one server serves them all.
var apps atomic.Uint64

func nextApp() uint64 { return 1400000000 + apps.Add(1) }

// The Redis directory, store and broker obey the rules of the memory ones,
// on a standalone redis-server and on a three-master Redis Cluster.
func TestConformance(t *testing.T) {
	for _, server := range []struct {
		name  string
		start func(testing.TB) redis.UniversalClient
	}{{"Standalone", redistest.Standalone}, {"Cluster", redistest.Cluster}} {
		t.Run(server.name, func(t *testing.T) {
			rdb := server.start(t)
			storetest.Run(t, func(*testing.T) presence.Backend {
				return redisstore.NewBackend(rdb, "imstatus-test", nextApp(), nil)
			})
			if c, ok := rdb.(*redis.ClusterClient); ok {
				// The suite's users spread over the three masters: the
				// cluster was exercised, not one node of it.
				var masters atomic.Int32 // the callback runs on each master at once
				err := c.ForEachMaster(t.Context(), func(ctx context.Context, m *redis.Client) error {
					if n, err := m.DBSize(ctx).Result(); err == nil && n > 0 {
						masters.Add(1)
					}
					return nil
				})
				if err != nil || masters.Load() != 3 {
					t.Fatalf("keys on %d of 3 masters (%v)", masters.Load(), err)
				}
			}
		})
	}
}

// Two nodes' stores change one user at once: their transactions conflict
// and retry, and every change lands with a version of its own.
func TestTwoNodesChangeOneUser(t *testing.T) {
	rdb := redistest.Standalone(t)
	app := nextApp()
	nodes := []*redisstore.Store{redisstore.NewStore(rdb, "imstatus-test", app), redisstore.NewStore(rdb, "imstatus-test", app)}
	ctx := t.Context()
	now := time.Unix(1800000000, 0)
	if _, _, err := nodes[0].Login(ctx, "u", presence.Device{Key: presence.DeviceKey{Node: "n0", Conn: 1}, Platform: "Web"}, presence.PerPlatform, now); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := make(map[uint64]bool)
	var wg sync.WaitGroup
	for i := range 8 {
		s := nodes[i%2]
		wg.Go(func() {
			for k := range 25 {
				c, err := s.SetCustom(ctx, "u", fmt.Sprintf("%d-%d", i, k), now)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[c.After.Version] {
					t.Errorf("version %d given twice", c.After.Version)
				}
				seen[c.After.Version] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Fatalf("%d distinct versions for 200 changes", len(seen))
	}
}

// onRedis is one app's store and broker on a fresh standalone Redis, at a
// fixed time.
type onRedis struct {
	rdb redis.UniversalClient
	app uint64
	s   *redisstore.Store
	b   *redisstore.Broker
	now time.Time
}

func newOnRedis(t *testing.T) onRedis {
	rdb := redistest.Standalone(t)
	app := nextApp()
	return onRedis{rdb: rdb, app: app, s: redisstore.NewStore(rdb, "imstatus-test", app),
		b: redisstore.NewBroker(rdb, "imstatus-test", app, nil), now: time.Unix(1800000000, 0)}
}

// login logs user in on node's connection conn, failing the test on error.
func (r onRedis) login(t *testing.T, user, node string, conn uint64, platform string) presence.Change {
	t.Helper()
	ch, _, err := r.s.Login(t.Context(), user, presence.Device{Key: presence.DeviceKey{Node: node, Conn: conn}, Platform: platform}, presence.PerPlatform, r.now)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// syncBuffer is a log the broker's goroutines write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gapNode records what a broker hands it.
type gapNode struct {
	deliveries chan presence.Delivery
	resyncs    chan struct{}
}

func (n *gapNode) Deliver(d presence.Delivery) { n.deliveries <- d }
func (n *gapNode) Kick(presence.Kick)          {}
func (n *gapNode) Resync()                     { n.resyncs <- struct{}{} }

// When Redis drops a node's subscription, the broker subscribes again and
// then tells the node to Resync (what was published meanwhile is lost);
// deliveries reach it again after.
func TestBrokerResyncsAfterItsLinkBroke(t *testing.T) {
	rdb := redistest.Standalone(t)
	var logged syncBuffer
	b := redisstore.NewBroker(rdb, "imstatus-test", nextApp(), slog.New(slog.NewTextHandler(&logged, nil)))
	n := &gapNode{deliveries: make(chan presence.Delivery, 8), resyncs: make(chan struct{}, 8)}
	stop, err := b.Register(t.Context(), "n1", n)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := rdb.Do(t.Context(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.resyncs:
	case <-time.After(10 * time.Second):
		t.Fatal("no Resync after the subscription was dropped")
	}
	// The break is in the node's log, once.
	if got := strings.Count(logged.String(), "broker: the subscription broke"); got != 1 {
		t.Fatalf("the break logged %d times, want once; log:\n%s", got, logged.String())
	}
	d := presence.Delivery{Status: wire.Status{UserID: "a", Type: wire.StatusOnline, Devices: []string{"Web"}, Version: 7}}
	if err := b.Listen(t.Context(), "n1", "a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-n.deliveries:
		if got.Status.UserID != "a" || got.Status.Version != 7 {
			t.Fatalf("delivered %+v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery after the resubscription")
	}
	select {
	case <-n.resyncs:
		t.Fatal("a second Resync without a second break")
	default:
	}
}

// failSecondWrite fails the second write of a status record (the store's
// compare-and-set script) while armed: a fault injected on purpose into a
// real Redis's client.
type failSecondWrite struct {
	passThrough
	armed  atomic.Bool
	writes atomic.Int32
}

func (h *failSecondWrite) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if h.armed.Load() && (cmd.Name() == "evalsha" || cmd.Name() == "eval") && len(args) > 3 &&
			strings.HasSuffix(fmt.Sprint(args[3]), "}:p") && h.writes.Add(1) == 2 {
			return errors.New("injected: the write fails")
		}
		return next(ctx, cmd)
	}
}

// passThrough is the part of a redis.Hook that most hooks here leave
// alone: dials and pipelines.
type passThrough struct{}

func (passThrough) DialHook(next redis.DialHook) redis.DialHook { return next }
func (passThrough) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// replayWrite runs the next write (a script, a ZREM or a ZADD) on a key
// ending in suffix twice while armed, and answers the second: what
// go-redis does when the first one's answer is lost (a read timed out)
// and Redis ran it. A fault injected on purpose into a real Redis's client.
type replayWrite struct {
	passThrough
	suffix string
	armed  atomic.Bool
}

func (h *replayWrite) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		key := 1
		switch cmd.Name() {
		case "evalsha", "eval":
			key = 3
		case "zrem", "zadd":
		default:
			return next(ctx, cmd)
		}
		if len(args) > key && strings.HasSuffix(fmt.Sprint(args[key]), h.suffix) && h.armed.CompareAndSwap(true, false) {
			if err := next(ctx, cmd); err != nil {
				h.armed.Store(true) // e.g. NOSCRIPT: go-redis sends the script itself next
				return err
			}
		}
		return next(ctx, cmd)
	}
}

// A write Redis ran twice (its first answer lost, go-redis sent it again)
// is still the change it made: returned with its audience, for the caller
// to publish, and a login kicks nobody. The hour soak of 2026-12-01 lost
// a view so: a custom status set on a node stalled mid-write was stored
// and never published.
func TestWriteSentTwiceIsStillTheChange(t *testing.T) {
	rdb := redistest.Standalone(t)
	h := &replayWrite{suffix: "}:p"}
	rdb.AddHook(h)
	ctx := t.Context()
	now := time.Unix(1800000000, 0)
	mac := presence.Device{Key: presence.DeviceKey{Node: "n1", Conn: 1}, Platform: "Mac"}
	web := presence.Device{Key: presence.DeviceKey{Node: "n1", Conn: 2}, Platform: "Web"}
	for _, c := range []struct {
		name string
		do   func(s *redisstore.Store) (presence.Change, []presence.Device, error)
		want wire.Status
	}{
		{"login", func(s *redisstore.Store) (presence.Change, []presence.Device, error) {
			return s.Login(ctx, "u", web, presence.PerPlatform, now.Add(time.Second))
		}, wire.Status{UserID: "u", Type: wire.StatusOnline, Devices: []string{"Mac", "Web"}, Custom: "away"}},
		{"custom status", func(s *redisstore.Store) (presence.Change, []presence.Device, error) {
			ch, err := s.SetCustom(ctx, "u", "busy", now.Add(time.Second))
			return ch, nil, err
		}, wire.Status{UserID: "u", Type: wire.StatusOnline, Devices: []string{"Mac"}, Custom: "busy"}},
		{"leave", func(s *redisstore.Store) (presence.Change, []presence.Device, error) {
			ch, _, err := s.Leave(ctx, "u", mac.Key, presence.LoggedOut, now.Add(time.Second))
			return ch, nil, err
		}, wire.Status{UserID: "u", Type: wire.StatusUnlogined}},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := nextApp()
			s := redisstore.NewStore(rdb, "imstatus-test", app)
			b := redisstore.NewBroker(rdb, "imstatus-test", app, nil)
			if _, _, err := s.Login(ctx, "u", mac, presence.PerPlatform, now); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetCustom(ctx, "u", "away", now); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Subscribe(ctx, "w", []string{"u"}, 10); err != nil {
				t.Fatal(err)
			}
			if err := b.Listen(ctx, "n2", "u"); err != nil {
				t.Fatal(err)
			}
			h.armed.Store(true)
			ch, kicked, err := c.do(s)
			if err != nil {
				t.Fatal(err)
			}
			if h.armed.Load() {
				t.Fatal("the write was not sent twice")
			}
			got := ch.After
			got.Version = 0
			if !ch.Changed() || !got.Equal(c.want) {
				t.Fatalf("change %+v → %+v, want a change to %+v", ch.Before, ch.After, c.want)
			}
			if ch.Audience == nil || !slices.Equal(ch.Audience.Watchers, []string{"w"}) || !slices.Equal(ch.Audience.Listeners, []string{"n2"}) {
				t.Fatalf("audience %+v, want watcher w and node n2", ch.Audience)
			}
			if len(kicked) != 0 {
				t.Fatalf("kicked %v", kicked)
			}
			sts, err := s.Statuses(ctx, "u")
			if err != nil {
				t.Fatal(err)
			}
			if sts[0].Version != ch.After.Version {
				t.Fatalf("stored v%d, the change says v%d", sts[0].Version, ch.After.Version)
			}
		})
	}
}

// A dead node's lease taken out of the leases by a run Redis did twice
// (its first answer lost) still has the node swept: no device of it stays
// ONLINE.
func TestLeaseExpiredTwiceIsStillSwept(t *testing.T) {
	rdb := redistest.Standalone(t)
	h := &replayWrite{suffix: "}:leases"}
	rdb.AddHook(h)
	s := redisstore.NewStore(rdb, "imstatus-test", nextApp())
	ctx := t.Context()
	now := time.Unix(1800000000, 0)
	if _, err := s.RenewLease(ctx, "dead", now, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Login(ctx, "u", presence.Device{Key: presence.DeviceKey{Node: "dead", Conn: 1}, Platform: "Web"}, presence.PerPlatform, now); err != nil {
		t.Fatal(err)
	}
	h.armed.Store(true)
	later := now.Add(time.Minute)
	if _, err := s.ExpireLeases(ctx, later); err != nil {
		t.Fatal(err)
	}
	if h.armed.Load() {
		t.Fatal("no command on the leases was sent twice")
	}
	if _, err := s.ExpireLeases(ctx, later.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	sts, err := s.Statuses(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	if sts[0].Type != wire.StatusOffline {
		t.Fatalf("u is %v after the sweeps, want OFFLINE: its node's lease ran out", sts[0].Type)
	}
}

// A renewal that finds the node's lease lost, run twice by Redis (its
// first answer lost), still reports it lost: the node asserts its devices
// again, and leaves the nodes being swept.
func TestLeaseFoundLostTwiceIsStillLost(t *testing.T) {
	rdb := redistest.Standalone(t)
	h := &replayWrite{suffix: "}:leases"}
	rdb.AddHook(h)
	app := nextApp()
	s := redisstore.NewStore(rdb, "imstatus-test", app)
	ctx := t.Context()
	now := time.Unix(1800000000, 0)
	if lost, err := s.RenewLease(ctx, "n1", now, 5*time.Second); err != nil || !lost {
		t.Fatalf("first lease: lost %v, %v; want lost (none held)", lost, err)
	}
	later := now.Add(time.Minute)
	// Stop the sweep half-way: n1 is among the nodes being swept.
	if err := rdb.ZRem(ctx, fmt.Sprintf("{imstatus-test:%d}:leases", app), "n1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.SAdd(ctx, fmt.Sprintf("{imstatus-test:%d}:sweeping", app), "n1").Err(); err != nil {
		t.Fatal(err)
	}
	h.armed.Store(true)
	lost, err := s.RenewLease(ctx, "n1", later, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if h.armed.Load() {
		t.Fatal("the renewal was not sent twice")
	}
	if !lost {
		t.Fatal("a renewal sent twice hid that the lease was lost")
	}
	if n, err := rdb.SCard(ctx, fmt.Sprintf("{imstatus-test:%d}:sweeping", app)).Result(); err != nil || n != 0 {
		t.Fatalf("nodes being swept: %d, %v; want none", n, err)
	}
	for i := range 2 {
		if lost, err := s.RenewLease(ctx, "n1", later.Add(time.Duration(i+1)*time.Second), 5*time.Second); err != nil || lost {
			t.Fatalf("renewal %d after: lost %v, %v; want held", i+1, lost, err)
		}
	}
}

// A call counted by the rate limit, run twice by Redis (its first answer
// lost), counts once.
func TestAllowSentTwiceCountsOnce(t *testing.T) {
	rdb := redistest.Standalone(t)
	h := &replayWrite{suffix: "}:rate"}
	rdb.AddHook(h)
	s := redisstore.NewStore(rdb, "imstatus-test", nextApp())
	ctx := t.Context()
	now := time.Unix(1800000000, 0)
	allow := func(n int) bool {
		t.Helper()
		ok, err := s.Allow(ctx, "u", 3, time.Minute, now.Add(time.Duration(n)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !allow(0) {
		t.Fatal("call 1 of 3 refused")
	}
	h.armed.Store(true)
	if !allow(1) {
		t.Fatal("call 2 of 3 refused")
	}
	if h.armed.Load() {
		t.Fatal("the count was not sent twice")
	}
	if !allow(2) {
		t.Fatal("call 3 of 3 refused: call 2, sent twice, counted twice")
	}
	if allow(3) {
		t.Fatal("call 4 of 3 allowed")
	}
}

// Taking a cleared owner out of the away set, run twice by Redis, still
// leaves the owner's list cleared and the owner out of the set; an owner
// back ONLINE whose away entry a late update wrote leaves the set with its
// list kept; one away again since keeps its new entry.
func TestClearAwaySentTwice(t *testing.T) {
	rdb := redistest.Standalone(t)
	h := &replayWrite{suffix: "}:away"}
	rdb.AddHook(h)
	app := nextApp()
	s := redisstore.NewStore(rdb, "imstatus-test", app)
	ctx := t.Context()
	now := time.Unix(1800000000, 0)
	away := fmt.Sprintf("{imstatus-test:%d}:away", app)
	for i, u := range []string{"gone", "back"} {
		d := presence.Device{Key: presence.DeviceKey{Node: "n1", Conn: uint64(i + 1)}, Platform: "Web"}
		if _, _, err := s.Login(ctx, u, d, presence.PerPlatform, now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Subscribe(ctx, u, []string{"x"}, 10); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Leave(ctx, "gone", presence.DeviceKey{Node: "n1", Conn: 1}, presence.Lost, now); err != nil {
		t.Fatal(err)
	}
	// back is ONLINE, and listed away by an update that landed late; after
	// gone, so that the step sent twice is gone's.
	if err := rdb.ZAdd(ctx, away, redis.Z{Score: float64(now.Add(time.Second).UnixMilli()), Member: "back"}).Err(); err != nil {
		t.Fatal(err)
	}
	h.armed.Store(true)
	cleared, err := s.ClearAwaySubscriptions(ctx, now.Add(time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if h.armed.Load() {
		t.Fatal("no step on the away set was sent twice")
	}
	if !slices.Equal(cleared, []string{"gone"}) {
		t.Fatalf("cleared %v, want [gone]", cleared)
	}
	if l, err := s.Subscriptions(ctx, "gone"); err != nil || len(l) != 0 {
		t.Fatalf("gone's list: %v, %v", l, err)
	}
	if l, err := s.Subscriptions(ctx, "back"); err != nil || !slices.Equal(l, []string{"x"}) {
		t.Fatalf("back's list: %v, %v; want [x] kept", l, err)
	}
	if n, err := rdb.ZCard(ctx, away).Result(); err != nil || n != 0 {
		t.Fatalf("%d owners left away, %v; want none", n, err)
	}

	// Away again since the time read: the entry stays for a later sweep.
	if err := rdb.ZAdd(ctx, away, redis.Z{Score: float64(now.UnixMilli()), Member: "back"}).Err(); err != nil {
		t.Fatal(err)
	}
	h2 := &replaceAway{key: away, member: "back", score: float64(now.Add(30 * time.Minute).UnixMilli())}
	rdb.AddHook(h2)
	if _, err := s.ClearAwaySubscriptions(ctx, now.Add(time.Hour), time.Minute); err != nil {
		t.Fatal(err)
	}
	if sc, err := rdb.ZScore(ctx, away, "back").Result(); err != nil || sc != h2.score {
		t.Fatalf("back's new away entry: %v, %v; want it kept", sc, err)
	}
}

// replaceAway writes member's away entry anew (score) just before the
// first script on key runs: the owner came back and went away again
// between the sweep's read and its step.
type replaceAway struct {
	passThrough
	key, member string
	score       float64
	done        bool
}

func (h *replaceAway) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if !h.done && (cmd.Name() == "evalsha" || cmd.Name() == "eval") && len(args) > 3 && args[3] == h.key {
			h.done = true
			z := redis.NewIntCmd(ctx, "zadd", h.key, h.score, h.member)
			if err := next(ctx, z); err != nil {
				return err
			}
		}
		return next(ctx, cmd)
	}
}

// A node's device index holds the users with a live device on the node,
// not every user it ever had: a departure that leaves none takes the user
// out, and one that leaves another device there does not. Logins and
// departures of one user at once on the node never leave a live device
// out of the index.
func TestNodeIndexFollowsDevices(t *testing.T) {
	rdb := redistest.Standalone(t)
	app := nextApp()
	s := redisstore.NewStore(rdb, "imstatus-test", app)
	ctx := t.Context()
	now := time.Unix(1800000000, 0)
	idx := fmt.Sprintf("{imstatus-test:%d}:node:n1", app)
	members := func() []string {
		t.Helper()
		m, err := rdb.SMembers(ctx, idx).Result()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(m)
		return m
	}
	dev := func(conn uint64, platform string) presence.Device {
		return presence.Device{Key: presence.DeviceKey{Node: "n1", Conn: conn}, Platform: platform}
	}
	for _, d := range []struct {
		user string
		dev  presence.Device
	}{{"u", dev(1, "Web")}, {"u", dev(2, "Mac")}, {"v", dev(3, "Web")}} {
		if _, _, err := s.Login(ctx, d.user, d.dev, presence.PerPlatform, now); err != nil {
			t.Fatal(err)
		}
	}
	leave := func(user string, conn uint64) {
		t.Helper()
		if _, _, err := s.Leave(ctx, user, dev(conn, "").Key, presence.LoggedOut, now); err != nil {
			t.Fatal(err)
		}
	}
	leave("u", 1)
	if got := members(); !slices.Equal(got, []string{"u", "v"}) {
		t.Fatalf("index after u's first device left: %v, want [u v]", got)
	}
	leave("u", 2)
	leave("v", 3)
	if got := members(); len(got) != 0 {
		t.Fatalf("index after every device left: %v, want none", got)
	}

	// Each round: a login of w on n1 and the departure of w's device
	// before it, at once.
	for i := uint64(1); i <= 200; i++ {
		platform := []string{"Web", "Mac"}[i%2]
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, _, err := s.Login(ctx, "w", dev(100+i, platform), presence.PerPlatform, now); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, _, err := s.Leave(ctx, "w", dev(100+i-1, "").Key, presence.Lost, now); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		live, err := s.LiveDevices(ctx, "w")
		if err != nil {
			t.Fatal(err)
		}
		if len(live) > 0 && !slices.Contains(members(), "w") {
			t.Fatalf("round %d: w has %d live devices on n1, and the index lacks w", i, len(live))
		}
	}
}

// halfSwept gives users a, b and c a device on node, lets node's lease run
// out, and runs a sweep that fails after ending one of them; it returns
// the store, the users, the time of the sweep and what it ended.
func halfSwept(t *testing.T, node string) (*redisstore.Store, []string, time.Time, []presence.Expiry) {
	t.Helper()
	rdb := redistest.Standalone(t)
	h := &failSecondWrite{}
	rdb.AddHook(h)
	s := redisstore.NewStore(rdb, "imstatus-test", nextApp())
	ctx := t.Context()
	now := time.Unix(1800000000, 0)
	if _, err := s.RenewLease(ctx, node, now, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	users := []string{"a", "b", "c"}
	for i, u := range users {
		if _, _, err := s.Login(ctx, u, presence.Device{Key: presence.DeviceKey{Node: node, Conn: uint64(i + 1)}, Platform: "Web"}, presence.PerPlatform, now); err != nil {
			t.Fatal(err)
		}
	}
	later := now.Add(time.Minute)
	h.armed.Store(true)
	defer h.armed.Store(false)
	ended, err := s.ExpireLeases(ctx, later)
	if err == nil {
		t.Fatal("the injected failure did not reach ExpireLeases")
	}
	return s, users, later, ended
}

// A sweep of a dead node's devices that fails half-way is finished by the
// next one: no user of the dead node stays ONLINE.
func TestSweepFailingHalfWayIsFinished(t *testing.T) {
	s, users, later, first := halfSwept(t, "dead")
	ctx := t.Context()
	second, err := s.ExpireLeases(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := ended(first), ended(second); a+b != len(users) {
		t.Fatalf("%d + %d users swept, want %d", a, b, len(users))
	}
	sts, err := s.Statuses(ctx, users...)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Type != wire.StatusOffline {
			t.Errorf("%s is %v after the sweeps, want OFFLINE", st.UserID, st.Type)
		}
	}
	if third, err := s.ExpireLeases(ctx, later); err != nil || len(third) != 0 {
		t.Fatalf("a third sweep: %v, %v; want nothing left", third, err)
	}
}

// ended counts the expiries that ended devices (the others are statuses
// to send again).
func ended(ex []presence.Expiry) int {
	n := 0
	for _, e := range ex {
		if len(e.Devices) > 0 {
			n++
		}
	}
	return n
}

// A dead node's user whose status its sweep does not change — the user
// logged in again on another node first — is returned to be sent again,
// with what the store holds: the dead node may have stored a change it
// never published, which that login (nothing visible changed) did not
// publish either. The other node's user is left alone.
func TestSweepResendsWhatADeadNodeMayNotHavePublished(t *testing.T) {
	rdb := redistest.Standalone(t)
	s := redisstore.NewStore(rdb, "imstatus-test", nextApp())
	ctx := t.Context()
	now := time.Unix(1800000000, 0)
	for _, n := range []string{"dead", "alive"} {
		if _, err := s.RenewLease(ctx, n, now, 15*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	dev := func(node string, conn uint64) presence.Device {
		return presence.Device{Key: presence.DeviceKey{Node: node, Conn: conn}, Platform: "Web"}
	}
	if _, _, err := s.Login(ctx, "u", dev("dead", 1), presence.PerPlatform, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetCustom(ctx, "u", "stored, never published", now); err != nil {
		t.Fatal(err)
	}
	ch, _, err := s.Login(ctx, "u", dev("alive", 1), presence.PerPlatform, now.Add(time.Second))
	if err != nil || ch.Changed() {
		t.Fatalf("u's login on the other node: %+v, %v; want no visible change", ch, err)
	}
	if _, _, err := s.Login(ctx, "v", dev("alive", 2), presence.PerPlatform, now); err != nil {
		t.Fatal(err)
	}
	later := now.Add(20 * time.Second)
	if _, err := s.RenewLease(ctx, "alive", later, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	ex, err := s.ExpireLeases(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 1 || len(ex[0].Devices) != 0 || ex[0].Change.Changed() {
		t.Fatalf("ExpireLeases = %+v; want u's unchanged status alone, to send again", ex)
	}
	st, _ := s.Statuses(ctx, "u")
	if got := ex[0].Change.After; got.Custom != "stored, never published" || got.Version != st[0].Version || !got.Equal(st[0]) {
		t.Fatalf("to send again: %+v; the store holds %+v", got, st[0])
	}
}

// A node remembers the records it wrote, and another node's writes make
// what it remembers old. The sweep of a dead node acts on the records as
// they are: it ends the dead node's devices that its own memory of the
// user predates, and sends again the status the dead node stored, not an
// older one it remembers. (An hour soak lost a view so: the sweeper sent
// the older status, which every node dropped as stale, and the custom
// status the dead node stored was never sent.)
func TestSweepActsOnWhatOtherNodesWrote(t *testing.T) {
	rdb := redistest.Standalone(t)
	app := nextApp()
	sweeper, other, dead := redisstore.NewStore(rdb, "imstatus-test", app),
		redisstore.NewStore(rdb, "imstatus-test", app), redisstore.NewStore(rdb, "imstatus-test", app)
	ctx := t.Context()
	now := time.Unix(1800000000, 0)
	for _, n := range []string{"sweeper", "other", "dead"} {
		if _, err := sweeper.RenewLease(ctx, n, now, 15*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	dev := func(node string, conn uint64, platform string) presence.Device {
		return presence.Device{Key: presence.DeviceKey{Node: node, Conn: conn}, Platform: platform}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// The sweeper knows u and w from a login and logout of its own.
	for i, u := range []string{"u", "w"} {
		d := dev("sweeper", uint64(i+1), "Linux")
		_, _, err := sweeper.Login(ctx, u, d, presence.PerPlatform, now)
		must(err)
		_, _, err = sweeper.Leave(ctx, u, d.Key, presence.LoggedOut, now)
		must(err)
	}
	// Then u logs in on the dead node, which stores u's custom status and
	// dies before sending it; u's client logs in on the other node, which
	// replaces the dead node's device (same platform): no visible change.
	_, _, err := dead.Login(ctx, "u", dev("dead", 1, "Linux"), presence.PerPlatform, now.Add(time.Second))
	must(err)
	_, err = dead.SetCustom(ctx, "u", "stored, never sent", now.Add(2*time.Second))
	must(err)
	ch, _, err := other.Login(ctx, "u", dev("other", 1, "Linux"), presence.PerPlatform, now.Add(3*time.Second))
	if err != nil || ch.Changed() {
		t.Fatalf("u's login on the other node: %+v, %v; want no visible change", ch, err)
	}
	// And w logs in on the dead node, and stays there.
	_, _, err = dead.Login(ctx, "w", dev("dead", 2, "Web"), presence.PerPlatform, now.Add(time.Second))
	must(err)

	later := now.Add(20 * time.Second)
	for _, n := range []string{"sweeper", "other"} {
		_, err := sweeper.RenewLease(ctx, n, later, 15*time.Second)
		must(err)
	}
	ex, err := sweeper.ExpireLeases(ctx, later)
	must(err)
	got := map[string]presence.Expiry{}
	for _, e := range ex {
		got[e.Change.After.UserID] = e
	}
	st, err := sweeper.Statuses(ctx, "u", "w")
	must(err)
	if e := got["u"]; len(e.Devices) != 0 || e.Change.After.Custom != "stored, never sent" ||
		e.Change.After.Version != st[0].Version || !e.Change.After.Equal(st[0]) {
		t.Errorf("the sweep's u: %+v; want the status the store holds, %+v, to send again", e, st[0])
	}
	if e := got["w"]; len(e.Devices) != 1 || e.Devices[0].Key != dev("dead", 2, "Web").Key || !e.Change.Changed() {
		t.Errorf("the sweep's w: %+v; want the dead node's device ended", e)
	}
	if st[1].Type == wire.StatusOnline {
		t.Errorf("w after the sweep: %+v; want its only device, on the dead node, ended", st[1])
	}
}

// A node found without a lease while its sweep is pending takes itself off
// the sweep: the devices it asserts again are not ended.
func TestRevivedNodeIsNotSwept(t *testing.T) {
	s, _, later, _ := halfSwept(t, "n")
	ctx := t.Context()
	lost, err := s.RenewLease(ctx, "n", later, 15*time.Second)
	if err != nil || !lost {
		t.Fatalf("RenewLease = %v, %v; want the lease lost", lost, err)
	}
	// The node asserts a device again; the pending sweep must leave it be.
	if _, _, err := s.Login(ctx, "c", presence.Device{Key: presence.DeviceKey{Node: "n", Conn: 9}, Platform: "Web"}, presence.PerPlatform, later); err != nil {
		t.Fatal(err)
	}
	if ex, err := s.ExpireLeases(ctx, later.Add(time.Second)); err != nil || len(ex) != 0 {
		t.Fatalf("ExpireLeases after the node came back: %+v, %v; want nothing", ex, err)
	}
	if st, _ := s.Statuses(ctx, "c"); st[0].Type != wire.StatusOnline {
		t.Fatalf("c is %v, want ONLINE on its revived node", st[0].Type)
	}
}

// ListenFor makes the nodes of the watcher's live devices listen, and no
// other; a node gone without a lease is forgotten by the next publish,
// and one with a lease is kept while its link is down.
func TestListenForAndGoneNodes(t *testing.T) {
	r := newOnRedis(t)
	rdb, app, s, b, now, ctx := r.rdb, r.app, r.s, r.b, r.now, t.Context()
	nodes := map[string]*gapNode{}
	for _, id := range []string{"n1", "n2", "n3"} {
		nodes[id] = &gapNode{deliveries: make(chan presence.Delivery, 8), resyncs: make(chan struct{}, 8)}
		stop, err := b.Register(ctx, id, nodes[id])
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	r.login(t, "w", "n1", 1, "Web") // w's devices on n1 and n2, and a gone one on n3
	r.login(t, "w", "n2", 2, "Android")
	r.login(t, "w", "n3", 9, "iPad")
	if _, _, err := s.Leave(ctx, "w", presence.DeviceKey{Node: "n3", Conn: 9}, presence.Lost, now); err != nil {
		t.Fatal(err)
	}
	if err := b.ListenFor(ctx, "w", "x"); err != nil {
		t.Fatal(err)
	}
	members := func() []string {
		m, err := rdb.SMembers(ctx, "{imstatus-test:"+strconv.FormatUint(app, 10)+":x}:at").Result()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(m)
		return m
	}
	if got := members(); !slices.Equal(got, []string{"n1", "n2"}) {
		t.Fatalf("listeners of x = %v, want [n1 n2]", got)
	}
	d := presence.Delivery{Status: wire.Status{UserID: "x", Type: wire.StatusOnline, Version: 3}, Watchers: []string{"w"}}
	if err := b.Publish(ctx, d); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"n1", "n2"} {
		select {
		case <-nodes[id].deliveries:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got no delivery", id)
		}
	}
	select {
	case got := <-nodes["n3"].deliveries:
		t.Fatalf("n3 got %+v", got)
	default:
	}
	// dead: no subscriber, no lease; away: no subscriber, a lease.
	if err := b.Listen(ctx, "dead", "x"); err != nil {
		t.Fatal(err)
	}
	if err := b.Listen(ctx, "away", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RenewLease(ctx, "away", now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := members(); !slices.Equal(got, []string{"away", "n1", "n2"}) {
		t.Fatalf("listeners of x after a publish = %v, want [away n1 n2]", got)
	}
}

// A visible change comes with its audience, read in the step that wrote
// it: the user's watchers and the nodes that listen to it.
func TestChangeCarriesItsAudience(t *testing.T) {
	r := newOnRedis(t)
	ctx := t.Context()
	if _, err := r.s.Subscribe(ctx, "o", []string{"u"}, 10); err != nil {
		t.Fatal(err)
	}
	if err := r.b.Listen(ctx, "n1", "u"); err != nil {
		t.Fatal(err)
	}
	ch := r.login(t, "u", "n2", 1, "Web")
	if a := ch.Audience; a == nil || !slices.Equal(a.Watchers, []string{"o"}) || !slices.Equal(a.Listeners, []string{"n1"}) {
		t.Fatalf("audience %+v, want watchers [o] and listeners [n1]", a)
	}
	ch, err := r.s.SetCustom(ctx, "u", "", r.now) // no visible change
	if err != nil {
		t.Fatal(err)
	}
	if ch.Changed() || ch.Audience != nil {
		t.Fatalf("an invisible change came with %+v", ch)
	}
}

// An owner listed as away by an update that landed after its return (two
// nodes' updates out of order) keeps its list: the sweep checks it is away.
func TestLateAwayListingClearsNothing(t *testing.T) {
	r := newOnRedis(t)
	rdb, app, s, now, ctx := r.rdb, r.app, r.s, r.now, t.Context()
	if _, err := s.Subscribe(ctx, "o", []string{"u"}, 10); err != nil {
		t.Fatal(err)
	}
	r.login(t, "o", "n1", 1, "Web")
	if _, err := s.SetCustom(ctx, "o", "here", now); err != nil {
		t.Fatal(err)
	}
	away := fmt.Sprintf("{imstatus-test:%d}:away", app)
	if err := rdb.ZScore(ctx, away, "o").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("an owner ONLINE all along is listed as away (%v)", err)
	}
	if err := rdb.ZAdd(ctx, away, redis.Z{Score: float64(now.UnixMilli()), Member: "o"}).Err(); err != nil {
		t.Fatal(err)
	}
	cleared, err := s.ClearAwaySubscriptions(ctx, now.Add(time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := s.Subscriptions(ctx, "o"); len(cleared) != 0 || !slices.Equal(list, []string{"u"}) {
		t.Fatalf("cleared %v, list now %v; want nothing cleared and [u]", cleared, list)
	}
}

// An owner who logs in while the sweep is clearing its list (after the
// sweep found it away, before it wrote) keeps its list: the sweep's
// transaction watches the owner's record. Before, the list the owner had
// just subscribed again was wiped, and its client went on believing in it.
func TestOwnerBackDuringTheClearKeepsItsList(t *testing.T) {
	r := newOnRedis(t)
	ctx := t.Context()
	if _, err := r.s.Subscribe(ctx, "o", []string{"u"}, 10); err != nil {
		t.Fatal(err)
	}
	r.login(t, "o", "n1", 1, "Web")
	if _, _, err := r.s.Leave(ctx, "o", presence.DeviceKey{Node: "n1", Conn: 1}, presence.LoggedOut, r.now); err != nil {
		t.Fatal(err)
	}
	// The login lands right after the sweep's first read of o's record,
	// through a client of its own.
	other := redis.NewClient(r.rdb.(*redis.Client).Options())
	t.Cleanup(func() { other.Close() })
	back := redisstore.NewStore(other, "imstatus-test", r.app)
	h := &afterRecordRead{key: "}:p", do: func() {
		if _, _, err := back.Login(ctx, "o", presence.Device{Key: presence.DeviceKey{Node: "n1", Conn: 2}, Platform: "Web"}, presence.PerPlatform, r.now); err != nil {
			t.Error(err)
		}
	}}
	r.rdb.AddHook(h)
	h.armed.Store(true)
	cleared, err := r.s.ClearAwaySubscriptions(ctx, r.now.Add(time.Hour), time.Minute)
	h.armed.Store(false)
	if err != nil {
		t.Fatal(err)
	}
	if !h.fired.Load() {
		t.Fatal("the login was not injected")
	}
	if list, _ := r.s.Subscriptions(ctx, "o"); len(cleared) != 0 || !slices.Equal(list, []string{"u"}) {
		t.Fatalf("cleared %v, list now %v; want nothing cleared and [u]", cleared, list)
	}
}

// afterRecordRead runs do once, while armed, right after the first read
// of a status record (a GET, alone or in a pipeline): a login injected on
// purpose between a read and the write that relies on it.
type afterRecordRead struct {
	passThrough
	key          string
	do           func()
	armed, fired atomic.Bool
}

func (h *afterRecordRead) reads(cmd redis.Cmder) bool {
	args := cmd.Args()
	return cmd.Name() == "get" && len(args) > 1 && strings.HasSuffix(fmt.Sprint(args[1]), h.key)
}

func (h *afterRecordRead) fire() {
	if h.armed.Load() && h.fired.CompareAndSwap(false, true) {
		h.do()
	}
}

func (h *afterRecordRead) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if h.reads(cmd) {
			h.fire()
		}
		return err
	}
}
func (h *afterRecordRead) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if slices.ContainsFunc(cmds, h.reads) {
			h.fire()
		}
		return err
	}
}

// countRecordCalls counts the commands sent about status records: GETs of
// one and runs of the store's script.
type countRecordCalls struct {
	passThrough
	gets, scripts atomic.Int32
}

func (h *countRecordCalls) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		switch {
		case cmd.Name() == "get" && strings.HasSuffix(fmt.Sprint(args[1]), "}:p"):
			h.gets.Add(1)
		case (cmd.Name() == "evalsha" || cmd.Name() == "eval") && len(args) > 3 && strings.HasSuffix(fmt.Sprint(args[3]), "}:p"):
			h.scripts.Add(1)
		}
		return next(ctx, cmd)
	}
}

// A change of a user this node wrote last is one script, no read first;
// when another node wrote since, or Redis lost the record, the script's
// compare catches it and the change applies to the record as it is.
func TestKnownRecordIsOneScript(t *testing.T) {
	rdb := redistest.Standalone(t)
	h := &countRecordCalls{}
	rdb.AddHook(h)
	app := nextApp()
	s1, s2 := redisstore.NewStore(rdb, "imstatus-test", app), redisstore.NewStore(rdb, "imstatus-test", app)
	ctx, now := t.Context(), time.Unix(1800000000, 0)
	count := func(what string, f func() presence.Change) presence.Change {
		t.Helper()
		h.gets.Store(0)
		h.scripts.Store(0)
		ch := f()
		t.Logf("%s: %d reads, %d scripts", what, h.gets.Load(), h.scripts.Load())
		return ch
	}
	count("first login", func() presence.Change {
		ch, _, err := s1.Login(ctx, "u", presence.Device{Key: presence.DeviceKey{Node: "n1", Conn: 1}, Platform: "Web"}, presence.PerPlatform, now)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	})
	set := func(s *redisstore.Store, custom string) presence.Change {
		t.Helper()
		ch, err := s.SetCustom(ctx, "u", custom, now)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	ch := count("a change known here", func() presence.Change { return set(s1, "a") })
	if h.gets.Load() != 0 || h.scripts.Load() != 1 || ch.After.Custom != "a" {
		t.Fatalf("a change of a record this node wrote: %d reads, %d scripts, status %+v; want 0, 1, custom a", h.gets.Load(), h.scripts.Load(), ch.After)
	}
	if _, _, err := s2.Login(ctx, "u", presence.Device{Key: presence.DeviceKey{Node: "n2", Conn: 1}, Platform: "Android"}, presence.PerPlatform, now); err != nil {
		t.Fatal(err)
	}
	ch = count("after another node's write", func() presence.Change { return set(s1, "b") })
	if h.scripts.Load() != 2 || ch.After.Custom != "b" || ch.After.Version != ch.Before.Version+1 || len(ch.After.Devices) != 2 {
		t.Fatalf("after another node's write: %d scripts, status %+v; want 2 scripts, custom b, both devices, the next version", h.scripts.Load(), ch.After)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	ch = count("after Redis lost it", func() presence.Change { return set(s1, "c") })
	if ch.After.Type == wire.StatusOnline || len(ch.After.Devices) != 0 {
		t.Fatalf("after Redis lost the record: %+v; want no device, as Redis holds (not the two this node knew of)", ch.After)
	}
}

// When a resharding moves the slot of a node's channel to another master,
// Redis drops the node's subscription (an SUNSUBSCRIBE it did not ask
// for): the broker subscribes afresh where the channel now lives, and the
// node resyncs (what was published meanwhile is lost) and hears again.
func TestBrokerFollowsItsChannelToAnotherShard(t *testing.T) {
	rdb := redistest.Cluster(t)
	cc := rdb.(*redis.ClusterClient)
	ctx := t.Context()
	app := nextApp()
	b := redisstore.NewBroker(rdb, "imstatus-test", app, nil)
	n := &gapNode{deliveries: make(chan presence.Delivery, 8), resyncs: make(chan struct{}, 8)}
	stop, err := b.Register(ctx, "n1", n)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	channel := fmt.Sprintf("{imstatus-test:%d:node:n1}:in", app)
	slot, err := cc.ClusterKeySlot(ctx, channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	// Who serves the slot, and another master to move it to.
	var mu sync.Mutex
	var from, to string
	masters := map[string]*redis.Client{}
	err = cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		id, err := m.ClusterMyID(ctx).Result()
		if err != nil {
			return err
		}
		slots, err := m.ClusterSlots(ctx).Result()
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		masters[id] = m
		for _, s := range slots {
			if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 && s.Nodes[0].ID == id {
				from = id
			}
		}
		return nil
	})
	if err != nil || from == "" || len(masters) != 3 {
		t.Fatalf("slot %d: owner %q among %d masters (%v)", slot, from, len(masters), err)
	}
	for id := range masters {
		if id != from {
			to = id
			break
		}
	}
	// The slot holds no key: the move is the SETSLOT steps alone.
	s := strconv.FormatInt(slot, 10)
	for _, step := range []struct {
		on   string
		args []any
	}{
		{to, []any{"CLUSTER", "SETSLOT", s, "IMPORTING", from}},
		{from, []any{"CLUSTER", "SETSLOT", s, "MIGRATING", to}},
		{to, []any{"CLUSTER", "SETSLOT", s, "NODE", to}},
		{from, []any{"CLUSTER", "SETSLOT", s, "NODE", to}},
	} {
		if err := masters[step.on].Do(ctx, step.args...).Err(); err != nil {
			t.Fatalf("%v: %v", step.args, err)
		}
	}
	for id, m := range masters {
		if id != from && id != to {
			if err := m.Do(ctx, "CLUSTER", "SETSLOT", s, "NODE", to).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case <-n.resyncs:
	case <-time.After(10 * time.Second):
		t.Fatal("no Resync after the channel's slot moved")
	}
	d := presence.Delivery{Status: wire.Status{UserID: "a", Type: wire.StatusOnline, Devices: []string{"Web"}, Version: 3}}
	for deadline := time.Now().Add(10 * time.Second); ; {
		// (A publish nobody took drops n1, which has no lease here.)
		if err := b.Listen(ctx, "n1", "a"); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, d); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-n.deliveries:
			if got.Status.UserID != "a" {
				t.Fatalf("delivered %+v", got)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no delivery on the channel's new shard")
		}
	}
}

// A subscription edit cut short between the owner's list and the targets'
// watcher sets (its node killed: they live in other slots, written after
// the list) is put right by the client's retry: a subscribe of a target
// listed already still makes the owner its watcher, and an unsubscribe of
// one unlisted already still takes the owner out. Before, the retry found
// the list as it wanted it and wrote nothing, so the owner, listed, never
// heard of the target's changes (a soak's lost view after a node kill).
func TestEditCutShortIsPutRightByItsRetry(t *testing.T) {
	r := newOnRedis(t)
	rdb, app, s, ctx := r.rdb, r.app, r.s, t.Context()
	list := fmt.Sprintf("{imstatus-test:%d:o}:s", app)
	watchers := func(t string) string { return fmt.Sprintf("{imstatus-test:%d:%s}:w", app, t) }
	isWatcher := func(target string) bool {
		ok, err := rdb.SIsMember(ctx, watchers(target), "o").Result()
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// Cut short: the list written, the watcher set not.
	if err := rdb.Set(ctx, list, `["u"]`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(ctx, "o", []string{"u"}, 10); err != nil {
		t.Fatal(err)
	}
	if !isWatcher("u") {
		t.Fatal("o subscribed to u again, and is still not among u's watchers")
	}
	// Cut short the other way: the list without u, the watcher set with o.
	if err := rdb.Del(ctx, list).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe(ctx, "o", []string{"u"}); err != nil {
		t.Fatal(err)
	}
	if isWatcher("u") {
		t.Fatal("o unsubscribed from u again, and is still among u's watchers")
	}
	// The evicted stay out: a list of one keeps the last target.
	if _, err := s.Subscribe(ctx, "o", []string{"x", "y"}, 1); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Subscriptions(ctx, "o"); !slices.Equal(got, []string{"y"}) || isWatcher("x") || !isWatcher("y") {
		t.Fatalf("list %v, x watched %v, y watched %v; want [y], false, true", got, isWatcher("x"), isWatcher("y"))
	}
}

// stalledNode holds its first delivery until released, as a node stopped
// by a GC pause or SIGSTOP would, and counts every one after.
type stalledNode struct {
	release chan struct{}
	once    sync.Once
	got     chan uint64
}

func (n *stalledNode) Deliver(d presence.Delivery) {
	n.once.Do(func() { <-n.release })
	n.got <- d.Status.Version
}
func (n *stalledNode) Kick(presence.Kick) {}
func (n *stalledNode) Resync()            {}

// A node that falls behind its channel finds a backlog, of messages of
// every length; it must take every one. Over RESP3, go-redis dropped one
// now and then (see Protocol): the soak lost views to it, and this test
// lost 6 to 8 of its 20,000 messages before the clients spoke RESP2.
func TestBrokerTakesABacklogWhole(t *testing.T) {
	rdb := redistest.Standalone(t)
	if got := rdb.(*redis.Client).Options().Protocol; got != redisstore.Protocol {
		t.Fatalf("the test's client speaks RESP%d, want RESP%d as imstatusd's", got, redisstore.Protocol)
	}
	b := redisstore.NewBroker(rdb, "imstatus-test", nextApp(), nil)
	const n = 20000
	node := &stalledNode{release: make(chan struct{}), got: make(chan uint64, n)}
	stop, err := b.Register(t.Context(), "n1", node)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// Every length from 0 to 250 bytes of custom status, so that the
	// reads' ends fall at every offset of a message.
	for i := range n {
		st := wire.Status{UserID: "u" + strconv.Itoa(i%97), Type: wire.StatusOnline, Custom: strings.Repeat("c", i%251), Version: uint64(i + 1)}
		if err := b.Publish(t.Context(), presence.Delivery{Status: st, Listeners: []string{"n1"}}); err != nil {
			t.Fatal(err)
		}
	}
	close(node.release)
	seen := make(map[uint64]bool, n)
	for len(seen) < n {
		select {
		case v := <-node.got:
			seen[v] = true
		case <-time.After(5 * time.Second): // the backlog is read in about a second
			var missing []uint64
			for v := uint64(1); v <= n && len(missing) < 10; v++ {
				if !seen[v] {
					missing = append(missing, v)
				}
			}
			t.Fatalf("%d of %d messages taken from the backlog; missing (the first ones): %v", len(seen), n, missing)
		}
	}
}
