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
