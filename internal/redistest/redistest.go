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
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// wait bounds every wait for a server to come up.
const wait = 20 * time.Second

// Standalone starts a redis-server on a free loopback port, stopped at the
// test's end, and returns a client of it (flushed, closed at the end).
func Standalone(t testing.TB) redis.UniversalClient {
	t.Helper()
	port := freePort(t, false)
	start(t, port, false)
	c := redis.NewClient(&redis.Options{Addr: addr(port)})
	t.Cleanup(func() { c.Close() })
	waitPing(t, c)
	return c
}

// Cluster starts a Redis Cluster of three masters on free loopback ports,
// stopped at the test's end, and returns a cluster client of it.
func Cluster(t testing.TB) redis.UniversalClient {
	t.Helper()
	var addrs []string
	for range 3 {
		port := freePort(t, true)
		start(t, port, true)
		addrs = append(addrs, addr(port))
	}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
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
		c := redis.NewClient(&redis.Options{Addr: a})
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
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { c.Close() })
	waitPing(t, c)
	return c
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

// start runs redis-server on port with no persistence, in a directory of
// the test's, and stops it at the test's end.
func start(t testing.TB, port int, cluster bool) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"}
	if cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "2000")
	}
	cmd := exec.Command(need(t, "redis-server"), args...)
	log, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
		if t.Failed() {
			if b, err := os.ReadFile(log.Name()); err == nil && len(b) > 0 {
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
