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
)

// Each test of the suite gets an app of its own, so one server serves them all.
var apps atomic.Uint64

func directories(rdb redis.UniversalClient) func(*testing.T) presence.Directory {
	return func(t *testing.T) presence.Directory {
		return redisstore.NewDirectory(rdb, "imstatus-test", 1400000000+apps.Add(1))
	}
}

// The Redis directory obeys the rules of the memory one, on a standalone
// redis-server and on a three-master Redis Cluster.
func TestDirectoryConformance(t *testing.T) {
	t.Run("Standalone", func(t *testing.T) {
		storetest.RunDirectory(t, directories(redistest.Standalone(t)))
	})
	t.Run("Cluster", func(t *testing.T) {
		rdb := redistest.Cluster(t)
		storetest.RunDirectory(t, directories(rdb))
		// The suite's users spread over the three masters: the cluster
		// was exercised, not one node of it.
		c := rdb.(*redis.ClusterClient)
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
	})
}

func stores(rdb redis.UniversalClient) func(*testing.T) presence.Store {
	return func(t *testing.T) presence.Store {
		return redisstore.NewStore(rdb, "imstatus-test", 1400000000+apps.Add(1))
	}
}

// The Redis store obeys the rules of the memory one, on a standalone
// redis-server and on a three-master Redis Cluster.
func TestStoreConformance(t *testing.T) {
	t.Run("Standalone", func(t *testing.T) {
		storetest.RunStore(t, stores(redistest.Standalone(t)))
	})
	t.Run("Cluster", func(t *testing.T) {
		storetest.RunStore(t, stores(redistest.Cluster(t)))
	})
}

func brokers(rdb redis.UniversalClient) func(*testing.T) presence.Broker {
	return func(t *testing.T) presence.Broker {
		return redisstore.NewBroker(rdb, "imstatus-test", 1400000000+apps.Add(1), nil)
	}
}

// The Redis broker delivers as the memory one does, over sharded pub/sub
// on a standalone redis-server and on a three-master Redis Cluster.
func TestBrokerConformance(t *testing.T) {
	t.Run("Standalone", func(t *testing.T) {
		storetest.RunBroker(t, brokers(redistest.Standalone(t)))
	})
	t.Run("Cluster", func(t *testing.T) {
		storetest.RunBroker(t, brokers(redistest.Cluster(t)))
	})
}

// Two nodes' stores change one user at once: their transactions conflict
// and retry, and every change lands with a version of its own.
func TestTwoNodesChangeOneUser(t *testing.T) {
	rdb := redistest.Standalone(t)
	app := 1400000000 + apps.Add(1)
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
