package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/imstatus/imstatus/server/presence/redisstore"
)

// A bare baseline for crossing nodes: a message published on Redis and
// relayed (received on one channel, published on another) by a goroutine
// of the process that sent it, or by another, idle process. Across nodes
// a change takes the second path where on one node it takes the first,
// through the same Redis hops; what the second costs more here is what
// this machine charges to wake another process, not Redis round trips.

// relay copies each message of channel in onto channel out until ctx ends
// or sub fails; ready is called once the subscription is confirmed.
func relay(ctx context.Context, addr, in, out string, ready func()) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: redisstore.Protocol})
	defer rdb.Close()
	sub := rdb.SSubscribe(ctx, in)
	defer sub.Close()
	// A pending read does not watch ctx; closing the subscription ends it.
	defer context.AfterFunc(ctx, func() { sub.Close() })()
	if _, err := sub.Receive(ctx); err != nil {
		return fmt.Errorf("relay: subscribing: %w", err)
	}
	ready()
	for {
		m, err := sub.ReceiveMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := rdb.SPublish(ctx, out, m.Payload).Err(); err != nil {
			return err
		}
	}
}

// relayMain is the relay command: imbench relay --redis ADDR --in X --out Y.
// It prints "ready" once subscribed and relays until its stdin closes.
func relayMain(args []string) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	addr := fs.String("redis", "", "Redis address")
	in := fs.String("in", "", "channel to read")
	out := fs.String("out", "", "channel to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" || *in == "" || *out == "" {
		return errors.New("relay: --redis, --in and --out")
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n') // EOF: imbench is done
		cancel()
	}()
	return relay(ctx, *addr, *in, *out, func() { fmt.Println("ready") })
}

// relayProbe times messages sent through a relay run by this process
// (apart false) or by an imbench relay process.
func (e *env) relayProbe(ctx context.Context, r *redisProc, apart bool) (sampler, error) {
	tag := strconv.FormatBool(apart)
	in, out := "{imbench:relay:"+tag+"}:in", "{imbench:relay:"+tag+"}:out"
	sub := r.rdb.SSubscribe(ctx, out)
	if _, err := sub.Receive(ctx); err != nil {
		sub.Close()
		return sampler{}, err
	}
	ch := sub.Channel()
	rctx, stop := context.WithCancel(ctx)
	var wait func()
	if apart {
		var err error
		if wait, err = e.startRelay(rctx, r.addr, in, out); err != nil {
			stop()
			sub.Close()
			return sampler{}, err
		}
	} else {
		ready, done := make(chan struct{}), make(chan error, 1)
		go func() { done <- relay(rctx, r.addr, in, out, func() { close(ready) }) }()
		select {
		case <-ready:
		case err := <-done:
			stop()
			sub.Close()
			return sampler{}, err
		}
		wait = func() { stop(); <-done }
	}
	return sampler{
		close: func() { wait(); stop(); sub.Close() },
		take: func(ctx context.Context, n int) ([]int64, error) {
			var seq int
			return timeEach(n, func() error {
				seq++
				p := strconv.Itoa(seq)
				if err := r.rdb.SPublish(ctx, in, p).Err(); err != nil {
					return err
				}
				for {
					select {
					case m := <-ch:
						if m.Payload == p {
							return nil
						}
					case <-time.After(5 * time.Second):
						return errors.New("relay: a message did not come back in 5 s")
					case <-ctx.Done():
						return ctx.Err()
					}
				}
			})
		},
	}, nil
}

// startRelay starts an imbench relay process and waits until it is
// subscribed; the function it returns ends it.
func (e *env) startRelay(ctx context.Context, addr, in, out string) (func(), error) {
	cmd := exec.CommandContext(ctx, e.self, "relay", "--redis", addr, "--in", in, "--out", out)
	tail := &tailBuffer{}
	cmd.Stderr = tail
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting a relay process: %w", err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("relay process: %v (it said: %s)", err, tail.String())
	}
	return func() { stdin.Close(); cmd.Wait() }, nil
}
