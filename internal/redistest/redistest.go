// Package redistest starts real redis-server processes for tests: a
// standalone server, and a Redis Cluster of three masters made with
// redis-cli --cluster create. A test that needs one fails, loudly, when
// redis-server or redis-cli is missing (./build.sh test installs them).
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/imstatus/imstatus/server/presence/redisstore"
)

// wait bounds every wait for a server to come up.
const wait = 20 * time.Second

// Standalone starts a redis-server on a free loopback port, stopped at the
// test's end, and returns a client of it (flushed, closed at the end).
func Standalone(t testing.TB) redis.UniversalClient {
	t.Helper()
	return Start(t, false).Client()
}

// Server is a standalone redis-server that a test may kill and start
// again on the same port, to see what its clients make of it.
type Server struct {
	t    testing.TB
	Addr string
	port int
	dir  string
	aof  bool
	args []string // more of redis-server's flags
	stop func()   // kills the running process and waits for it
}

// Start starts a Server; with aof, it appends every write to its file and
// fsyncs it before answering (appendfsync always), so a kill -9 loses no
// acknowledged write and a restart reads everything back.
func Start(t testing.TB, aof bool) *Server {
	t.Helper()
	return StartWith(t, aof)
}

// StartWith is Start with more of redis-server's flags, kept across
// restarts.
func StartWith(t testing.TB, aof bool, args ...string) *Server {
	t.Helper()
	port := freePort(t, false)
	s := &Server{t: t, Addr: addr(port), port: port, dir: t.TempDir(), aof: aof, args: args}
	showLog(t, port, s.dir)
	s.Restart()
	return s
}

// Client returns a client of s, closed at the test's end.
func (s *Server) Client() redis.UniversalClient {
	s.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: redisstore.Protocol})
	s.t.Cleanup(func() { c.Close() })
	waitPing(s.t, c)
	return c
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// Wipe deletes what the killed server had written, so that it starts empty.
func (s *Server) Wipe() {
	s.t.Helper()
	if s.stop != nil {
		s.t.Fatal("redistest: Wipe of a running server")
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "redis.log" {
			os.RemoveAll(filepath.Join(s.dir, e.Name()))
		}
	}
}

// Restart starts the server (again) on its port and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var args []string
	if s.aof {
		args = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	s.stop = start(s.t, s.port, s.dir, false, append(args, s.args...)...)
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: redisstore.Protocol})
	defer c.Close()
	waitPing(s.t, c)
}

// Cluster starts a Redis Cluster of three masters on free loopback ports,
// stopped at the test's end, and returns a cluster client of it.
func Cluster(t testing.TB) redis.UniversalClient {
	t.Helper()
	var addrs []string
	for range 3 {
		port := freePort(t, true)
		dir := t.TempDir()
		showLog(t, port, dir)
		start(t, port, dir, true)
		addrs = append(addrs, addr(port))
	}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a, Protocol: redisstore.Protocol})
		waitPing(t, c)
		c.Close()
	}
	cli := need(t, "redis-cli")
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	// Every node must agree that all slots are served before the client
	// is handed out.
	deadline := time.Now().Add(wait)
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a, Protocol: redisstore.Protocol})
		for {
			info, err := c.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster node %s not ready: %v %q", a, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Protocol: redisstore.Protocol})
	t.Cleanup(func() { c.Close() })
	waitPing(t, c)
	return c
}

// Sentinels is a master, its replica and one Sentinel that watches them
// and promotes the replica when the master is down for a second.
type Sentinels struct {
	Master, Replica *Server
	Addr            string // the Sentinel's
	MasterName      string
}

// Sentinel starts a master, a replica of it and a Sentinel (redis-server
// --sentinel, quorum 1), stopped at the test's end, and waits until the
// Sentinel knows the replica.
func Sentinel(t testing.TB) *Sentinels {
	t.Helper()
	port := freePort(t, false)
	// A full sync starts at once, not after the default 5 s wait for more
	// replicas.
	m := &Server{t: t, Addr: addr(port), port: port, dir: t.TempDir(), args: []string{"--repl-diskless-sync-delay", "0"}}
	showLog(t, port, m.dir)
	m.Restart()
	port = freePort(t, false)
	r := &Server{t: t, Addr: addr(port), port: port, dir: t.TempDir(), args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(m.port)}}
	showLog(t, port, r.dir)
	r.Restart()
	sp := freePort(t, false)
	dir := t.TempDir()
	showLog(t, sp, dir)
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor imstatus-test 127.0.0.1 %d 1\n"+
		"sentinel down-after-milliseconds imstatus-test 1000\nsentinel failover-timeout imstatus-test 5000\n", sp, dir, m.port)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, conf, "--sentinel", "--loglevel", "notice")
	sc := redis.NewSentinelClient(&redis.Options{Addr: addr(sp)})
	defer sc.Close()
	rc := redis.NewClient(&redis.Options{Addr: r.Addr, Protocol: redisstore.Protocol})
	defer rc.Close()
	deadline := time.Now().Add(wait)
	for !strings.Contains(rc.Info(context.Background(), "replication").Val(), "master_link_status:up") {
		if time.Now().After(deadline) {
			t.Fatal("the replica never synced with its master")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		rs, err := sc.Replicas(context.Background(), "imstatus-test").Result()
		if err == nil && len(rs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sentinel never saw the replica: %v %v", rs, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &Sentinels{Master: m, Replica: r, Addr: addr(sp), MasterName: "imstatus-test"}
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func need(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required for this test (apt-get install redis-server redis-tools; ./build.sh test installs them): %v", name, err)
	}
	return p
}

// start runs redis-server on port in dir, with no persistence unless args
// say otherwise, stopped at the test's end; the returned func stops it
// sooner.
func start(t testing.TB, port int, dir string, cluster bool, args ...string) func() {
	t.Helper()
	args = append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"}, args...)
	if cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "2000")
	}
	return run(t, dir, args...)
}

// run runs redis-server with args, its output in dir's redis.log, stopped
// at the test's end; the returned func stops it sooner.
func run(t testing.TB, dir string, args ...string) func() {
	t.Helper()
	cmd := exec.Command(need(t, "redis-server"), args...)
	log, err := os.OpenFile(filepath.Join(dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
			log.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// showLog has the test print the end of dir's redis.log if it fails.
func showLog(t testing.TB, port int, dir string) {
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "redis.log")); err == nil && len(b) > 0 {
				t.Logf("redis-server on %d said:\n%s", port, lastLines(b, 20))
			}
		}
	})
}

func waitPing(t testing.TB, c redis.UniversalClient) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort picks a loopback port nobody listens on; for a cluster node its
// bus port (port + 10000) too.
func freePort(t testing.TB, cluster bool) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(25000)
		if free(port) && (!cluster || free(port+10000)) {
			return port
		}
	}
	t.Fatal("no free port for redis-server")
	return 0
}

func free(port int) bool {
	ln, err := net.Listen("tcp", addr(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func lastLines(b []byte, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprint(strings.Join(lines, "\n"))
}
