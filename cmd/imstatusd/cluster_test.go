package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/internal/redistest"
	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/redisstore"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// Faults of a cluster of three imstatusd processes on one Redis, with real
// clients (core, what libImSDK runs) that fail over between the nodes. Each
// test ends by comparing what every watcher believes with the truth, read
// afresh from the cluster.

// cluster is three imstatusd nodes on one redis-server.
type cluster struct {
	t     *testing.T
	redis *redistest.Server
	nodes []*daemon
	apps  string
	args  []string
}

// newCluster starts redis (with AOF when aof) and three nodes; appsExtra is
// added to the app's JSON object, args go to every node.
func newCluster(t *testing.T, aof bool, appsExtra string, args ...string) *cluster {
	t.Helper()
	return newClusterOn(t, redistest.Start(t, aof), appsExtra, args...)
}

// newClusterOn is newCluster on a Redis the caller started.
func newClusterOn(t *testing.T, rs *redistest.Server, appsExtra string, args ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, redis: rs, args: args}
	c.apps = writeApps(t, redisApp, redisKey, appsExtra)
	for i := range 3 {
		c.nodes = append(c.nodes, c.startNode(i, "127.0.0.1:0"))
	}
	return c
}

// startNode starts node i (from 0) on addr, named node-(i+1).
func (c *cluster) startNode(i int, addr string) *daemon {
	return start(c.t, append([]string{"--apps", c.apps, "--redis", "redis://" + c.redis.Addr + "/0",
		"--node-id", fmt.Sprintf("node-%d", i+1), "--addr", addr}, c.args...)...)
}

// crash kills node i with -9 and, after pause, starts it again under the
// same --node-id on the same address.
func (c *cluster) crash(i int, pause time.Duration) {
	old := c.nodes[i]
	old.cmd.Process.Signal(syscall.SIGKILL)
	<-old.done
	time.Sleep(pause)
	c.nodes[i] = c.startNode(i, old.addr)
}

// addrs are the addresses of the nodes numbered (from 0) in order.
func (c *cluster) addrs(nodes ...int) []string {
	var a []string
	for _, n := range nodes {
		a = append(a, c.nodes[n].addr)
	}
	return a
}

// peer is a real client and the view it built from its status events.
type peer struct {
	t    *testing.T
	user string
	cl   *core.Client

	mu      sync.Mutex
	view    map[string]wire.Status
	history map[string][]wire.Status // every status reported, per user
}

// peer logs user in with the servers tried in the order given.
func (c *cluster) peer(user, platform string, nodes ...int) *peer {
	c.t.Helper()
	return newPeer(c.t, user, platform, c.addrs(nodes...)...)
}

// newPeer logs user of redisApp in with the servers tried in the order given.
func newPeer(t *testing.T, user, platform string, servers ...string) *peer {
	t.Helper()
	p := &peer{t: t, user: user, view: map[string]wire.Status{}, history: map[string][]wire.Status{}}
	cl, err := core.New(core.Config{
		SDKAppID: redisApp, Servers: servers, Platform: platform,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second,
		OnEvent: func(e core.Event) {
			sc, ok := e.(core.StatusChanged)
			if !ok {
				return
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			for _, st := range sc.Statuses {
				p.view[st.UserID] = st
				p.history[st.UserID] = append(p.history[st.UserID], st)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	sig, _ := usersig.Generate(redisKey, redisApp, user, 24*time.Hour, time.Now()) // the soak's oracle outlasts an hour
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := cl.Login(ctx, user, sig); err != nil {
		t.Fatalf("%s logs in: %v", user, err)
	}
	p.cl = cl
	return p
}

func (p *peer) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.t.Context(), 20*time.Second)
}

func (p *peer) subscribe(ids ...string) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.cl.Subscribe(ctx, ids); err != nil {
		p.t.Fatalf("%s subscribes to %v: %v", p.user, ids, err)
	}
}

func (p *peer) set(custom string) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.cl.SetSelfStatus(ctx, custom); err != nil {
		p.t.Fatalf("%s sets %q: %v", p.user, custom, err)
	}
}

// waitFor waits until p's view of user satisfies ok.
func (p *peer) waitFor(user, what string, ok func(wire.Status) bool) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p.mu.Lock()
		st, seen := p.view[user]
		p.mu.Unlock()
		if seen && ok(st) {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s never saw %s %s; it sees %+v", p.user, user, what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func online(custom string) func(wire.Status) bool {
	return func(st wire.Status) bool { return st.Type == wire.StatusOnline && st.Custom == custom }
}

// flickers returns the statuses other than ONLINE that p was told of user.
func (p *peer) flickers(user string) []wire.Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []wire.Status
	for _, st := range p.history[user] {
		if st.Type != wire.StatusOnline {
			out = append(out, st)
		}
	}
	return out
}

// truth reads the statuses of ids afresh from node n, as a new client.
func (c *cluster) truth(n int, ids []string) map[string]wire.Status {
	c.t.Helper()
	o := c.peer(fmt.Sprintf("oracle_%d", time.Now().UnixNano()%1e9), "Web", n)
	defer o.cl.Close()
	ctx, cancel := o.ctx()
	defer cancel()
	sts, err := o.cl.GetUserStatus(ctx, ids)
	if err != nil {
		c.t.Fatalf("reading the truth of %v: %v", ids, err)
	}
	m := map[string]wire.Status{}
	for _, st := range sts {
		m[st.UserID] = st
	}
	return m
}

// settled waits until every watcher's view of every id it watches equals
// the truth read from node n, and fails saying who is wrong if they never do.
func (c *cluster) settled(n int, watchers map[*peer][]string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ids []string
		for _, w := range watchers {
			ids = append(ids, w...)
		}
		slices.Sort(ids)
		truth := c.truth(n, slices.Compact(ids))
		var wrong []string
		for p, ids := range watchers {
			p.mu.Lock()
			for _, id := range ids {
				if st := p.view[id]; !st.Equal(truth[id]) {
					wrong = append(wrong, fmt.Sprintf("%s sees %s as %+v, truth %+v", p.user, id, st, truth[id]))
				}
			}
			p.mu.Unlock()
		}
		if len(wrong) == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("views differ from the truth:\n%s", strings.Join(wrong, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// importAccounts creates accounts in Redis, as an operator's import does.
func (c *cluster) importAccounts(ids ...string) {
	c.t.Helper()
	if err := redisstore.NewDirectory(c.redis.Client(), redisPrefix, redisApp).ImportAccounts(c.t.Context(), ids...); err != nil {
		c.t.Fatal(err)
	}
}

// healthz returns node n's /healthz status code.
func (c *cluster) healthz(n int) int { return c.nodes[n].healthz() }

func (c *cluster) waitHealth(want int) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for n := range c.nodes {
		for c.healthz(n) != want {
			if time.Now().After(deadline) {
				c.t.Fatalf("node %d: /healthz never answered %d", n+1, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// A node killed with -9: a client that fails over to another node before
// the dead node's lease runs out keeps its status, custom status included,
// with no OFFLINE in between for its watchers, and its subscriptions work
// again on the new node. While a node is stopped (SIGSTOP: a node that
// hangs), the others go on without it.
func TestClusterFailover(t *testing.T) {
	c := newCluster(t, false, "", "--lease-ttl", "3s")
	a := c.peer("a", "Linux", 0, 1) // on node 1, then node 2
	b := c.peer("b", "Linux", 1)
	w := c.peer("w", "Linux", 2)
	w.subscribe("a", "b")
	a.subscribe("b")
	a.set("before the crash")
	w.waitFor("a", "ONLINE before the crash", online("before the crash"))

	// A hung node holds nobody back.
	c.nodes[0].cmd.Process.Signal(syscall.SIGSTOP)
	b.set("while node 1 hangs")
	w.waitFor("b", "ONLINE while node 1 hangs", online("while node 1 hangs"))
	c.nodes[0].cmd.Process.Signal(syscall.SIGCONT)
	a.waitFor("b", "ONLINE while node 1 hangs", online("while node 1 hangs"))

	c.nodes[0].cmd.Process.Signal(syscall.SIGKILL)
	<-c.nodes[0].done
	killed := time.Now()
	// a fails over to node 2 and subscribes again there.
	b.set("after the crash")
	a.waitFor("b", "ONLINE after the crash", online("after the crash"))
	t.Logf("a heard b through node 2 %v after node 1 died", time.Since(killed).Round(time.Millisecond))
	// Past the dead node's lease, its devices have been swept: a's stays.
	time.Sleep(3*time.Second + 2*time.Second - time.Since(killed))
	c.settled(1, map[*peer][]string{w: {"a", "b"}, a: {"b"}})
	w.mu.Lock()
	st := w.view["a"]
	w.mu.Unlock()
	if st.Custom != "before the crash" {
		t.Errorf("a's custom status after the failover: %q", st.Custom)
	}
	a.set("after the failover")
	w.waitFor("a", "ONLINE after the failover", online("after the failover"))
	if f := w.flickers("a"); len(f) > 0 {
		t.Fatalf("w was told a went %v during the failover", f)
	}
}

// A node killed with -9 and started again at once under the same
// --node-id: the process it replaces is a dead node all the same, whose
// devices are swept once its lease runs out (before, the new process
// renewed that lease, and a device of the dead one stayed ONLINE for good).
func TestClusterNodeRestartedUnderItsName(t *testing.T) {
	c := newCluster(t, false, "", "--lease-ttl", "2s")
	x := c.peer("x", "Linux", 2)
	w := c.peer("w", "Linux", 0)
	w.subscribe("x")
	w.waitFor("x", "ONLINE", online(""))
	c.crash(2, 0)
	x.cl.Close() // x does not come back: its device was the dead node's
	w.waitFor("x", "OFFLINE", func(st wire.Status) bool { return st.Type == wire.StatusOffline })
}

// Redis killed with -9 and started again from its append-only file: the
// nodes keep their connections, answer calls with a server error while it
// is down (no hang), report it on /healthz, and carry on when it is back.
// Then Redis comes back empty (a new instance): the nodes find their leases
// gone and send their clients to reconnect, and the clients assert their
// devices and subscriptions again.
func TestClusterRedisRestart(t *testing.T) {
	c := newCluster(t, true, "", "--lease-ttl", "5s")
	a := c.peer("a", "Linux", 0, 1, 2)
	b := c.peer("b", "Linux", 1, 2, 0)
	w := c.peer("w", "Linux", 2, 0, 1)
	w.subscribe("a", "b")
	a.subscribe("b")
	a.set("a1")
	b.set("b1")
	w.waitFor("a", "a1", online("a1"))
	a.waitFor("b", "b1", online("b1"))

	c.redis.Kill()
	c.waitHealth(http.StatusServiceUnavailable)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	began := time.Now()
	err := a.cl.SetSelfStatus(ctx, "while Redis is down")
	cancel()
	t.Logf("set_status while Redis is down failed in %v: %v", time.Since(began).Round(time.Millisecond), err)
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != wire.CodeServerInternal {
		t.Fatalf("set_status while Redis is down: %v, want a server error %d", err, wire.CodeServerInternal)
	}
	c.redis.Restart()
	c.waitHealth(http.StatusOK)
	a.set("a2")
	b.set("b2")
	w.waitFor("a", "a2", online("a2"))
	a.waitFor("b", "b2", online("b2"))
	c.settled(0, map[*peer][]string{w: {"a", "b"}, a: {"b"}})
	for _, u := range []string{"a", "b"} {
		if f := w.flickers(u); len(f) > 0 {
			t.Fatalf("w was told %s went %v while Redis restarted", u, f)
		}
	}

	// Empty: the nodes are paused while a new Redis starts and the operator
	// imports the accounts again (docs/CLUSTER.md), then go on.
	c.redis.Kill()
	for _, n := range c.nodes {
		n.cmd.Process.Signal(syscall.SIGSTOP)
	}
	c.redis.Wipe()
	c.redis.Restart()
	c.importAccounts("a", "b", "w")
	for _, n := range c.nodes {
		n.cmd.Process.Signal(syscall.SIGCONT)
	}
	// Every client reconnects and asserts itself: a's status, with an
	// empty custom status (that was lost with Redis), reaches w again.
	w.waitFor("a", "ONLINE again, its custom status lost", online(""))
	a.set("a3")
	b.set("b3")
	w.waitFor("a", "a3", online("a3"))
	w.waitFor("b", "b3", online("b3"))
	a.waitFor("b", "b3", online("b3"))
	c.settled(1, map[*peer][]string{w: {"a", "b"}, a: {"b"}})
}

// The limits hold across nodes: the rate limit counts a user's calls on
// every node, and the subscription cap evicts the oldest of the list the
// user's devices share, wherever each subscribed.
func TestClusterLimitsAcrossNodes(t *testing.T) {
	c := newCluster(t, false, `,"max_subscriptions":5`)
	u1 := c.peer("u", "Linux", 0)
	u2 := c.peer("u", "Windows", 1)

	c.importAccounts("t1", "t2", "t3", "t4", "t5", "t6", "t7")
	// Subscriptions: 4 through node 1, then 3 through node 2.
	u1.subscribe("t1", "t2", "t3", "t4")
	u2.subscribe("t5", "t6", "t7")
	// t1 and t2 were evicted: t1's login reaches neither device, t3's both.
	c.peer("t1", "Linux", 2)
	c.peer("t3", "Linux", 2)
	u1.waitFor("t3", "ONLINE", online(""))
	u2.waitFor("t3", "ONLINE", online(""))
	for _, p := range []*peer{u1, u2} {
		p.mu.Lock()
		st, heard := p.view["t1"]
		p.mu.Unlock()
		if heard && st.Type == wire.StatusOnline {
			t.Errorf("%s's device heard t1, whose subscription was evicted", p.cl.Servers()[0])
		}
	}

	// Rate limit: 20 get_status calls in 5 s per user, counted on both nodes.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	get := func(p *peer) error { _, err := p.cl.GetUserStatus(ctx, []string{"t3"}); return err }
	for i := range 20 {
		p := u1
		if i%2 == 1 {
			p = u2
		}
		if err := get(p); err != nil {
			t.Fatalf("call %d of 20: %v", i+1, err)
		}
	}
	for _, p := range []*peer{u1, u2} {
		var we *wire.Error
		if err := get(p); !errors.As(err, &we) || we.Code != wire.CodeRateLimited {
			t.Fatalf("the 21st call: %v, want %d from the server", err, wire.CodeRateLimited)
		}
	}
}

// A change goes only to the nodes that listen to its user, and a node
// listens to whatever its clients hear of, however they came to: a
// subscription made by the same user's device on another node, a friend
// added through REST on a third node, a login on a node that had stopped
// listening, a hearer that arrived while the node was stopping.
func TestClusterRouting(t *testing.T) {
	c := newCluster(t, false, `,"friend_status_auto_notify":true`)
	c.importAccounts("w", "x", "a", "b")
	rdb := c.redis.Client()
	listeners := func(user string) []string {
		t.Helper()
		m, err := rdb.SMembers(t.Context(), fmt.Sprintf("{%s:%d:%s}:at", redisPrefix, redisApp, user)).Result()
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range m {
			m[i] = id[:strings.LastIndexByte(id, '-')] // the --node-id given
		}
		slices.Sort(m)
		return m
	}
	x := c.peer("x", "Web", 2)
	w1 := c.peer("w", "Web", 0)
	w2 := c.peer("w", "Android", 1)
	w1.subscribe("x")
	x.set("one")
	w1.waitFor("x", "ONLINE one", online("one"))
	w2.waitFor("x", "ONLINE one", online("one")) // subscribed on node 1
	if got := listeners("x"); !slices.Equal(got, []string{"node-1", "node-2", "node-3"}) {
		t.Fatalf("listeners of x = %v", got)
	}

	a := c.peer("a", "Web", 0)
	b := c.peer("b", "Web", 1)
	if got := c.nodes[2].rest(t, redisKey, redisApp, "sns/friend_add", `{"From_Account":"a","AddFriendItem":[{"To_Account":"b"}],"AddType":"Add_Type_Single"}`); !strings.Contains(got, `"ResultCode":0`) {
		t.Fatalf("friend_add: %s", got)
	}
	b.set("hi")
	a.waitFor("b", "ONLINE hi", online("hi")) // befriended on node 3

	// w leaves node 2: x's next change finds nobody there, and node 2
	// stops listening to x. The change waits until node 2 has seen w go,
	// or it may still find w there, and no later change would come.
	devices := fmt.Sprintf("imstatus_devices{sdkappid=\"%d\"}", redisApp)
	before := c.nodes[1].metric(t, devices)
	w2.cl.Close()
	deadline := time.Now().Add(20 * time.Second)
	for c.nodes[1].metric(t, devices) == before {
		if time.Now().After(deadline) {
			t.Fatalf("node 2 still counts %d devices after w left", before)
		}
		time.Sleep(5 * time.Millisecond)
	}
	x.set("two")
	w1.waitFor("x", "ONLINE two", online("two"))
	deadline = time.Now().Add(20 * time.Second)
	for slices.Contains(listeners("x"), "node-2") {
		if time.Now().After(deadline) {
			t.Fatalf("node 2 still listens to x: %v", listeners("x"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	w3 := c.peer("w", "Android", 1) // back on node 2: it listens again
	x.set("three")
	w3.waitFor("x", "ONLINE three", online("three"))

	// A delivery of x that names none of its watchers, as one published
	// just before w subscribed would: each node stops listening, finds w
	// here after all, and listens again at once.
	relistened := c.nodes[1].metric(t, "imstatus_users_relistened_total")
	st, err := redisstore.NewStore(rdb, redisPrefix, redisApp).Statuses(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	st[0].Version++ // newer than what the nodes delivered, or they drop it
	if err := redisstore.NewBroker(rdb, redisPrefix, redisApp, nil).Publish(t.Context(), presence.Delivery{Status: st[0]}); err != nil {
		t.Fatal(err)
	}
	for c.nodes[1].metric(t, "imstatus_users_relistened_total") == relistened {
		if time.Now().After(deadline.Add(20 * time.Second)) {
			t.Fatal("node 2 did not listen to x again")
		}
		time.Sleep(20 * time.Millisecond)
	}
	x.set("four")
	w1.waitFor("x", "ONLINE four", online("four"))
	w3.waitFor("x", "ONLINE four", online("four"))
	c.settled(0, map[*peer][]string{w1: {"x"}, w3: {"x"}, a: {"b"}})
}

// Two nodes on a Redis that Sentinel watches (--redis-sentinel): when the
// master dies, Sentinel promotes its replica, the nodes follow it, and
// changes reach watchers on the other node again.
func TestClusterSentinelFailover(t *testing.T) {
	s := redistest.Sentinel(t)
	c := &cluster{t: t, redis: s.Master}
	c.apps = writeApps(t, redisApp, redisKey, "")
	url := "redis://" + s.Addr + "/0?master_name=" + s.MasterName
	for i := range 2 {
		c.nodes = append(c.nodes, start(t, "--apps", c.apps, "--redis-sentinel", url, "--node-id", fmt.Sprintf("node-%d", i+1)))
	}
	c.importAccounts("w", "x")
	w := c.peer("w", "Web", 0)
	x := c.peer("x", "Web", 1)
	w.subscribe("x")
	x.set("one")
	w.waitFor("x", "ONLINE one", online("one"))

	// Replication is asynchronous: a write the replica has not received
	// when the master dies is lost (accounts, subscriptions). The test
	// means the failover, not that loss, so the replica catches up first.
	if n, err := s.Master.Client().Do(t.Context(), "WAIT", 1, 5000).Int(); err != nil || n < 1 {
		t.Fatalf("the replica did not catch up: %d %v", n, err)
	}
	s.Master.Kill()
	// Calls fail (70500) until Sentinel has promoted the replica and the
	// nodes reach it. A replica that had not yet received a node's last
	// lease renewal makes that node send its clients to log in again,
	// which loses x's custom status (as documented): x sets it until w
	// hears it.
	deadline := time.Now().Add(30 * time.Second)
	for heard := false; !heard; {
		ctx, cancel := x.ctx()
		err := x.cl.SetSelfStatus(ctx, "two")
		cancel()
		for until := time.Now().Add(2 * time.Second); err == nil && !heard && time.Now().Before(until); {
			w.mu.Lock()
			heard = online("two")(w.view["x"])
			w.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
		if !heard && time.Now().After(deadline) {
			t.Fatalf("w never heard x's status set after the failover (last call: %v)", err)
		}
		if !heard {
			time.Sleep(200 * time.Millisecond)
		}
	}
	c.redis = s.Replica // the truth is read there now
	c.settled(0, map[*peer][]string{w: {"x"}})
}
