package redisstore_test

import (
	"context"
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
