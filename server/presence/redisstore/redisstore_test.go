package redisstore_test

import (
	"context"
	"errors"
	"fmt"
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
	b := redisstore.NewBroker(rdb, "imstatus-test", nextApp(), nil)
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
	d := presence.Delivery{Status: wire.Status{UserID: "a", Type: wire.StatusOnline, Devices: []string{"Web"}, Version: 7}}
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

// failSecondTx fails the second MULTI/EXEC transaction while armed: a fault
// injected on purpose into a real Redis's client.
type failSecondTx struct {
	armed atomic.Bool
	txs   atomic.Int32
}

func (h *failSecondTx) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *failSecondTx) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}
func (h *failSecondTx) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.armed.Load() && len(cmds) > 0 && cmds[0].Name() == "multi" && h.txs.Add(1) == 2 {
			return errors.New("injected: the transaction fails")
		}
		return next(ctx, cmds)
	}
}

// halfSwept gives users a, b and c a device on node, lets node's lease run
// out, and runs a sweep that fails after ending one of them; it returns
// the store, the users, the time of the sweep and what it ended.
func halfSwept(t *testing.T, node string) (*redisstore.Store, []string, time.Time, []presence.Expiry) {
	t.Helper()
	rdb := redistest.Standalone(t)
	h := &failSecondTx{}
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
	if got := len(first) + len(second); got != len(users) {
		t.Fatalf("%d + %d users swept, want %d", len(first), len(second), len(users))
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
