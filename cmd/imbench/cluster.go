package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/imstatus/imstatus/server/presence/redisstore"
)

// --cluster N: each scenario's server is N imstatusd nodes sharing one
// redis-server that imbench starts (from PATH, no persistence), the
// clients spread over the nodes round robin. RSS and CPU are the nodes'
// summed; Redis's own figures are its command counts.

// redisProc is a redis-server imbench started.
type redisProc struct {
	cmd  *exec.Cmd
	addr string
	rdb  *redis.Client
}

// startRedis runs redis-server on a free loopback port.
func startRedis(ctx context.Context) (*redisProc, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("--cluster needs redis-server (apt-get install redis-server): %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &redisProc{addr: "127.0.0.1:" + strconv.Itoa(port)}
	r.cmd = exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting redis-server: %w", err)
	}
	r.rdb = redis.NewClient(&redis.Options{Addr: r.addr, Protocol: redisstore.Protocol})
	deadline := time.Now().Add(10 * time.Second)
	for r.rdb.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.stop()
			return nil, fmt.Errorf("redis-server on %s did not answer", r.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r, nil
}

func (r *redisProc) stop() {
	r.rdb.Close()
	r.cmd.Process.Kill()
	r.cmd.Wait()
}

// commands returns the calls of each command Redis has run.
func (r *redisProc) commands(ctx context.Context) (map[string]int64, error) {
	info, err := r.rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, err
	}
	return parseCommandStats(info), nil
}

// parseCommandStats reads INFO commandstats: cmdstat_get:calls=5,usec=…
func parseCommandStats(info string) map[string]int64 {
	m := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, rest, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "cmdstat_"), ":")
		if !ok || name == sc.Text() {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				m[name] = n
			}
		}
	}
	return m
}

// commandDelta is after − before: the total and the busiest commands.
func commandDelta(before, after map[string]int64) (int64, string) {
	type kv struct {
		name string
		n    int64
	}
	var all []kv
	var total int64
	for name, n := range after {
		if d := n - before[name]; d > 0 && name != "info" {
			all = append(all, kv{name, d})
			total += d
		}
	}
	slices.SortFunc(all, func(a, b kv) int { return int(b.n - a.n) })
	var parts []string
	for _, c := range all[:min(6, len(all))] {
		parts = append(parts, fmt.Sprintf("%s %d", strings.ToUpper(c.name), c.n))
	}
	return total, strings.Join(parts, ", ")
}

// startCluster starts Redis and n nodes of eng on it.
func (e *env) startCluster(ctx context.Context, eng *engine, n int) (*target, error) {
	r, err := startRedis(ctx)
	if err != nil {
		return nil, err
	}
	t := &target{name: fmt.Sprintf("%s ×%d on Redis", eng.name, n), redis: r}
	for i := range n {
		c, err := startChildWith(ctx, fmt.Sprintf("%s node %d", eng.name, i+1), eng.path, false,
			"--addr", "127.0.0.1:0", "--apps", eng.apps, "--log-level", "info", "--shutdown-timeout", "3s",
			"--redis", "redis://"+r.addr+"/0", "--node-id", "bench-node-"+strconv.Itoa(i+1))
		if err != nil {
			t.stop()
			return nil, err
		}
		t.procs = append(t.procs, c)
		t.addrs = append(t.addrs, c.addr)
	}
	return t, nil
}
