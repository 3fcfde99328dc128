package main

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// Every kind of Redis imstatusd connects to is spoken to in RESP2, even
// when the URL asks for RESP3: over RESP3 go-redis drops a pub/sub message
// now and then (redisstore.Protocol); and every one fails fast.
func TestRedisClientOptions(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		url, cluster, sentinel string
	}{
		{"--redis", "redis://127.0.0.1:6379/0?protocol=3", "", ""},
		{"--redis-cluster", "", "127.0.0.1:7000,127.0.0.1:7001", ""},
		{"--redis-cluster URL", "", "redis://127.0.0.1:7000?addr=127.0.0.1:7001&protocol=3", ""},
		{"--redis-sentinel", "", "", "redis://127.0.0.1:26379/0?master_name=m&protocol=3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := redisClient(tc.url, tc.cluster, tc.sentinel)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var protocol, retries int
			switch c := c.(type) {
			case *redis.Client:
				protocol, retries = c.Options().Protocol, c.Options().MaxRetries
			case *redis.ClusterClient:
				protocol, retries = c.Options().Protocol, c.Options().MaxRetries
			default:
				t.Fatalf("a %T", c)
			}
			if protocol != 2 {
				t.Errorf("RESP%d, want RESP2", protocol)
			}
			if retries != 1 {
				t.Errorf("%d retries, want 1 (fail fast)", retries)
			}
		})
	}
}
