package redisstore

import (
	"context"
	"errors"
	"net"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// Stats counts a client's round trips to Redis and the ones that failed,
// for /metrics: add it to the client with AddHook.
type Stats struct {
	RoundTrips atomic.Uint64 // commands, and pipelines or transactions, sent
	Errors     atomic.Uint64 // of those, the ones that failed (not a mere nil reply)
}

var _ redis.Hook = (*Stats)(nil)

// DialHook implements redis.Hook.
func (s *Stats) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			s.Errors.Add(1)
		}
		return c, err
	}
}

// ProcessHook implements redis.Hook.
func (s *Stats) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		s.count(err)
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (s *Stats) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		s.count(err)
		return err
	}
}

func (s *Stats) count(err error) {
	s.RoundTrips.Add(1)
	if err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, redis.TxFailedErr) {
		s.Errors.Add(1)
	}
}
