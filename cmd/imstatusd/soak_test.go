package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/internal/redistest"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// The soak: many real clients (core, what libImSDK runs) on three imstatusd
// nodes over one Redis (with AOF), doing random logins, logouts, dropped
// links, status changes, subscribes and unsubscribes, with a fault in each
// round (a node killed with -9 and restarted, Redis killed and restarted,
// a node hung for a while). After each round the clients stop and, once
// the cluster is quiet, every client's view of everyone it subscribes to
// is compared with the truth read afresh from the cluster, and the truth
// with what the clients did. go test runs a short one; ./build.sh test a
// 3-minute one with thousands of clients; ./build.sh soak DURATION a longer
// one (docs/RELIABILITY.md has its figures).

var (
	soakFor     = flag.Duration("soak", 20*time.Second, "how long TestSoak runs")
	soakClients = flag.Int("soak-clients", 90, "how many clients TestSoak runs (a multiple of 3 spreads them evenly)")
	soakReport  = flag.String("soak-report", "", "a file TestSoak writes its figures to, as well as logging them")
	soakLogs    = flag.String("soak-logs", "", "a directory TestSoak copies every node's log to when it fails")
	soakHeaps   = flag.String("soak-heaps", "", "a directory TestSoak saves the heap profiles of nodes 1 and 2 to, at the first and the last quiet point (compare with go tool pprof -base)")
)

const (
	soakMaxSubs  = 12              // each client subscribes to at most this many users
	soakActEvery = 8 * time.Second // a client's mean wait between actions
	soakRound    = 30 * time.Second
	soakSettle   = 45 * time.Second // how long a quiet cluster may take to agree
)

// soakClient is one user's one device and what it was told.
type soakClient struct {
	user    string
	servers []string
	warns   lastLines // what its core.Client last warned of

	mu      sync.Mutex // guards the fields below, and cl's replacement
	cl      *core.Client
	view    map[string]wire.Status // the latest status reported of each user
	latest  map[string]uint64      // the highest version reported of each user
	loginAt time.Time              // when the last login returned
	// What the client did, as far as it knows: logged in or out, and the
	// custom status it set since its login ("" and !customKnown when a
	// set failed, so the server may or may not have it).
	loggedIn    bool
	custom      string
	customKnown bool
	// told is the client's own status as last reported to it since it last
	// set its custom status (toldSince: one was), so that a custom status
	// the cluster cleared and told it of (its device swept with a node's
	// lease while it was away longer than the lease) is not taken for lost.
	told      wire.Status
	toldSince bool
	// clearCounted is the version of the cleared status last counted: a
	// client stays cleared until it sets or logs in again, maybe rounds
	// later, and is counted in the round of the sweep that cleared it,
	// not again in the rounds after it, which swept nothing of it.
	clearCounted uint64
	// unsure are the users of an unsubscribe that failed: the server may
	// have taken it before the failure (Redis killed after it wrote), so
	// the client may still list a subscription the server has dropped.
	// The app was told the call failed; a later subscribe of the user
	// makes it sure again.
	unsure map[string]bool
}

// soakStats counts what happened.
type soakStats struct {
	actions, changes, failed, faults atomic.Int64
	outOfOrder                       atomic.Int64
	oooMu                            sync.Mutex
	oooSeen                          []string // the first out-of-order statuses, for the log
	lost, stale                      int
	unsure                           int // views not checked: their unsubscribe failed
	// cleared are custom statuses the cluster cleared and told their
	// client of, never more in a round than the devices the nodes swept
	// with a lease in it (the rest count as stale).
	cleared int
}

func TestSoak(t *testing.T) {
	d, n := *soakFor, *soakClients
	if n < 6 {
		t.Fatalf("-soak-clients %d: at least 6", n)
	}
	// The oracle reads everyone's status (3,000 ids: six calls) at every
	// check, far past the default rate limit of 20 calls in 5 s a user.
	// The console tells, for a lost view, what each node delivered.
	// Redis tells of every change of a user's routing, for a lost view's
	// trail.
	rs := redistest.StartWith(t, true, "--notify-keyspace-events", "Ks")
	// At debug, a node logs each user it stops or starts again routing
	// to itself (unlisten), for a lost view's trail.
	args := []string{"--lease-ttl", "5s", "--log-level", "debug"}
	if *soakHeaps != "" {
		// Heap profiles tell a leak from warm-up: what the live heap
		// gained between the first and the last quiet point, by where it
		// was allocated.
		args = append(args, "--pprof", "127.0.0.1:0")
	}
	c := newClusterOn(t, rs, `,"rate_limit_calls":100000,"console":true`, args...)
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("s%05d", i)
	}
	c.importAccounts(users...)
	var st soakStats
	clients := make([]*soakClient, n)
	for i, u := range users {
		// Spread over the nodes; each client fails over to the others.
		clients[i] = &soakClient{user: u, servers: c.addrs(i%3, (i+1)%3, (i+2)%3), view: map[string]wire.Status{}, latest: map[string]uint64{}}
	}
	began := time.Now()
	parallel(clients, 64, func(sc *soakClient) {
		if err := sc.connect(t.Context(), &st); err != nil {
			t.Errorf("%s logs in: %v", sc.user, err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("soak: %d clients logged in in %v", n, time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		for _, sc := range clients {
			// Not under sc.mu: Close waits for the client's events, whose
			// handler takes sc.mu (holding it here hung CI's run).
			sc.client().Close()
		}
	})
	oracle := c.peer("soak_oracle", "Web", 0, 1, 2)
	cons := consoles{routing: startAtJournal(t.Context(), c.redis.Client(), redisApp)}

	faults := []struct {
		name string
		run  func()
	}{
		{"node 3 killed with -9, restarted 2 s later", func() { c.crash(2, 2*time.Second) }},
		{"Redis killed with -9, restarted from its AOF 2 s later", func() {
			c.redis.Kill()
			time.Sleep(2 * time.Second)
			c.redis.Restart()
		}},
		{"node 2 hung (SIGSTOP) for 3 s", func() {
			c.nodes[1].cmd.Process.Signal(syscall.SIGSTOP)
			time.Sleep(3 * time.Second)
			c.nodes[1].cmd.Process.Signal(syscall.SIGCONT)
		}},
	}
	type sample struct {
		at               time.Duration
		rss, heap, goros [2]int64 // nodes 1 and 2: never killed
		live             [2]int64 // of heap, what the last GC found reachable
		rssFile          [2]int64 // of rss, pages of files: the binary's
		mem              [2]goMemory
		connections      int
	}
	var samples []sample
	logs := map[string]bool{} // every node's log, a restarted node's old ones too
	t.Cleanup(func() {
		// Before the nodes' directories go: what a failure's trail needs.
		if t.Failed() && *soakLogs != "" {
			keepLogs(t, c, logs, *soakLogs)
		}
	})
	rounds := max(1, int(d/soakRound))
	round := d / time.Duration(rounds)
	for r := range rounds {
		// Activity, with the round's fault in its middle.
		ctx, stop := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for _, sc := range clients {
			wg.Go(func() { sc.act(ctx, clients, &st) })
		}
		time.Sleep(round / 2)
		f := faults[r%len(faults)]
		sweptBefore := swept(c, logs)
		t.Logf("soak round %d: %s", r+1, f.name)
		f.run()
		st.faults.Add(1)
		time.Sleep(round / 2)
		stop()
		wg.Wait()

		// Quiet: every client back, then every view equal to the truth.
		c.waitHealth(http.StatusOK)
		parallel(clients, 64, func(sc *soakClient) { sc.ensure(t.Context(), &st) })
		quiet := time.Now()
		lost, stale, clearedOf := soakCheck(t, c, clients, oracle, &cons)
		cleared := len(clearedOf)
		if n := swept(c, logs); n-sweptBefore < cleared {
			t.Errorf("round %d: %d custom statuses cleared, and only %d devices swept with a lease; cleared: %v", r+1, cleared, n-sweptBefore, clearedOf[:min(10, cleared)])
			stale += cleared - (n - sweptBefore)
			cleared = n - sweptBefore
		}
		st.cleared += cleared
		agreed := time.Since(quiet)
		st.lost += lost
		st.stale += stale
		var s sample
		s.at = time.Since(began)
		for i := range 2 {
			s.rss[i], s.rssFile[i] = rssKiB(c.nodes[i].cmd.Process.Pid)
			m := c.nodes[i].metrics(t) // one scrape: the figures of one moment
			s.goros[i] = int64(m["go_goroutines"])
			s.heap[i] = int64(m["go_memstats_heap_alloc_bytes"]) >> 10
			s.live[i] = int64(m["go_gc_heap_live_bytes"]) >> 10
			s.mem[i] = goMemoryOf(t, m)
			s.connections += m["imstatus_connections"]
		}
		samples = append(samples, s)
		if *soakHeaps != "" && (r == 0 || r == rounds-1) {
			for i := range 2 {
				saveHeap(t, c.nodes[i], filepath.Join(*soakHeaps, fmt.Sprintf("node%d-round%03d.pb.gz", i+1, r+1)))
			}
		}
		unsure := 0
		for _, sc := range clients {
			subs := sc.client().Subscriptions()
			sc.mu.Lock()
			for _, id := range subs {
				if sc.unsure[id] {
					unsure++
				}
			}
			sc.mu.Unlock()
		}
		st.unsure += unsure
		// What the nodes did with the deliveries routed to them, for a lost
		// view's trail: unheard, users unlistened and relistened, and
		// deliveries dropped as older than one delivered (node 3's since
		// its last start).
		var routing [3][4]int
		for i, d := range c.nodes {
			m := d.metrics(t)
			for j, name := range []string{"imstatus_deliveries_unheard_total", "imstatus_users_unlistened_total",
				"imstatus_users_relistened_total", "imstatus_stale_deliveries_total"} {
				routing[i][j] = m[name]
			}
		}
		t.Logf("soak round %d nodes' deliveries [unheard unlistened relistened stale]: %v", r+1, routing)
		t.Logf("soak round %d quiet at %v: views agreed with the truth in %v; lost %d, stale %d (not checked: %d after a failed unsubscribe; custom statuses cleared with a swept device, and told: %d); nodes 1 and 2: RSS %v KiB, heap %v KiB, goroutines %v, connections %d; leases lost so far %v; out-of-order so far %d",
			r+1, s.at.Round(time.Second), agreed.Round(100*time.Millisecond), lost, stale, unsure, cleared, s.rss, s.heap, s.goros, s.connections, leasesLost(c), st.outOfOrder.Load())
	}

	changes, deadGone := cons.routing.counts()
	t.Logf("soak: routing journal: %d changes of users' routing kept (the last %d each), %d of them a dead node taken out", changes, atJournalKept, deadGone)

	// The report: the figures of RELIABILITY.md.
	var b strings.Builder
	fmt.Fprintf(&b, "soak: %v, %d clients on 3 nodes over Redis (AOF), %d rounds\n", time.Since(began).Round(time.Second), n, rounds)
	fmt.Fprintf(&b, "actions %d (changes %d: logins, logouts, dropped links, statuses set; %d failed during faults), faults %d\n",
		st.actions.Load(), st.changes.Load(), st.failed.Load(), st.faults.Load())
	fmt.Fprintf(&b, "lost %d, stale %d, out-of-order %d (views not checked after a failed unsubscribe: %d; custom statuses cleared with a device swept with its node's lease, their clients told: %d, devices so swept: %d)\n",
		st.lost, st.stale, st.outOfOrder.Load(), st.unsure, st.cleared, swept(c, logs))
	if len(samples) >= 2 {
		// Least-squares slopes over the quiet points, per minute.
		slope := func(v func(sample) int64) float64 {
			var n, sx, sy, sxx, sxy float64
			for _, s := range samples {
				x, y := s.at.Minutes(), float64(v(s))
				n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
			}
			return (n*sxy - sx*sy) / (n*sxx - sx*sx)
		}
		first, last := samples[0], samples[len(samples)-1]
		for i := range 2 {
			fmt.Fprintf(&b, "node %d (never killed): RSS %d -> %d KiB (slope %+.0f KiB/min), heap %d -> %d KiB (%+.0f KiB/min), of it live at the last GC %d -> %d KiB (%+.0f KiB/min), goroutines %d -> %d (%+.1f/min)\n", i+1,
				first.rss[i], last.rss[i], slope(func(s sample) int64 { return s.rss[i] }),
				first.heap[i], last.heap[i], slope(func(s sample) int64 { return s.heap[i] }),
				first.live[i], last.live[i], slope(func(s sample) int64 { return s.live[i] }),
				first.goros[i], last.goros[i], slope(func(s sample) int64 { return s.goros[i] }))
			// Where an RSS that grows goes: the binary's pages, or the
			// runtime's classes.
			fmt.Fprintf(&b, "node %d, of its RSS: file pages (the binary) %d -> %d KiB (%+.0f KiB/min); ", i+1,
				first.rssFile[i], last.rssFile[i], slope(func(s sample) int64 { return s.rssFile[i] }))
			fmt.Fprintf(&b, "the Go runtime's memory not returned to the OS (KiB, first -> last, slope a minute):")
			for j, class := range goMemoryClasses {
				fmt.Fprintf(&b, " %s %d -> %d (%+.0f)", class, first.mem[i][j], last.mem[i][j], slope(func(s sample) int64 { return s.mem[i][j] }))
				if j < len(goMemoryClasses)-1 {
					b.WriteString(",")
				}
			}
			b.WriteString("\n")
		}
	}
	for _, o := range st.oooSeen {
		t.Log("out of order: " + o)
	}
	t.Log("\n" + b.String())
	if *soakReport != "" {
		if err := os.WriteFile(*soakReport, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
	if st.lost != 0 || st.stale != 0 || st.outOfOrder.Load() != 0 {
		t.Fatalf("lost %d, stale %d, out-of-order %d: want 0 each", st.lost, st.stale, st.outOfOrder.Load())
	}
	if st.changes.Load() == 0 {
		t.Fatal("the soak changed nothing")
	}
}

// connect makes the client's core.Client and logs it in.
func (sc *soakClient) connect(ctx context.Context, st *soakStats) error {
	var cl *core.Client
	cl, err := core.New(core.Config{
		SDKAppID: redisApp, Servers: sc.servers, Platform: "Linux",
		Logger:     slog.New(slog.NewTextHandler(&sc.warns, &slog.HandlerOptions{Level: slog.LevelWarn})),
		BackoffMin: 200 * time.Millisecond, BackoffMax: 2 * time.Second,
		OnEvent: func(e core.Event) {
			ev, ok := e.(core.StatusChanged)
			if !ok {
				return
			}
			sc.mu.Lock()
			defer sc.mu.Unlock()
			if sc.cl != cl {
				return // an event of a client replaced since
			}
			for _, s := range ev.Statuses {
				if s.Version != 0 && s.Version < sc.latest[s.UserID] {
					st.outOfOrder.Add(1)
					st.oooMu.Lock()
					if len(st.oooSeen) < 20 {
						st.oooSeen = append(st.oooSeen, fmt.Sprintf("%s was told %s %v %q at version %d after version %d (%v after its login)",
							sc.user, s.UserID, s.Type, s.Custom, s.Version, sc.latest[s.UserID], time.Since(sc.loginAt).Round(time.Millisecond)))
					}
					st.oooMu.Unlock()
				}
				sc.latest[s.UserID] = max(sc.latest[s.UserID], s.Version)
				sc.view[s.UserID] = s
				if s.UserID == sc.user && sc.toldSince {
					sc.told = s
				}
			}
		},
	})
	if err != nil {
		return err
	}
	sc.mu.Lock()
	sc.cl = cl
	sc.view, sc.latest, sc.unsure = map[string]wire.Status{}, map[string]uint64{}, nil
	sc.mu.Unlock()
	return sc.login(ctx, st)
}

func (sc *soakClient) login(ctx context.Context, st *soakStats) error {
	sig, _ := usersig.Generate(redisKey, redisApp, sc.user, 24*time.Hour, time.Now()) // a long soak outlasts an hour
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := sc.client().Login(ctx, sc.user, sig)
	sc.mu.Lock()
	sc.loginAt = time.Now()
	sc.loggedIn = err == nil
	sc.custom, sc.customKnown = "", false // what a login keeps is not this test's business
	sc.mu.Unlock()
	return err
}

func (sc *soakClient) client() *core.Client {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.cl
}

// act does random things until ctx ends.
func (sc *soakClient) act(ctx context.Context, all []*soakClient, st *soakStats) {
	for {
		wait := time.Duration(rand.Int64N(int64(2 * soakActEvery)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		st.actions.Add(1)
		cl := sc.client()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var err error
		switch p := rand.IntN(100); {
		case cl.LoginStatus() != core.Logined:
			if err = sc.login(cctx, st); err == nil {
				st.changes.Add(1)
			}
		case p < 45:
			custom := fmt.Sprintf("%s-%d", sc.user, rand.IntN(1e6))
			sc.mu.Lock()
			sc.told, sc.toldSince = wire.Status{}, true // its own push comes before the answer
			sc.mu.Unlock()
			err = cl.SetSelfStatus(cctx, custom)
			sc.mu.Lock()
			sc.custom, sc.customKnown = custom, err == nil
			sc.mu.Unlock()
			if err == nil {
				st.changes.Add(1)
			}
		case p < 65:
			var ids []string
			for range 1 + rand.IntN(3) {
				if o := all[rand.IntN(len(all))].user; o != sc.user {
					ids = append(ids, o)
				}
			}
			if subs := cl.Subscriptions(); len(subs)+len(ids) > soakMaxSubs {
				err = sc.unsubscribe(cctx, cl, subs[:len(subs)+len(ids)-soakMaxSubs])
			}
			if err == nil && len(ids) > 0 {
				err = sc.subscribe(cctx, cl, ids)
			}
		case p < 75:
			if subs := cl.Subscriptions(); len(subs) > 0 {
				err = sc.unsubscribe(cctx, cl, subs[:1+rand.IntN(len(subs))])
			}
		case p < 87:
			err = cl.Logout(cctx)
			sc.mu.Lock()
			sc.loggedIn = cl.LoginStatus() == core.Logined
			sc.mu.Unlock()
			if err == nil {
				st.changes.Add(1)
				if err = sc.login(cctx, st); err == nil {
					st.changes.Add(1)
				}
			}
		default:
			// The link drops (the app dies): a new client logs in and
			// subscribes again to what the old one followed.
			subs := cl.Subscriptions()
			cl.Close()
			st.changes.Add(1)
			if err = sc.connect(cctx, st); err == nil {
				st.changes.Add(1)
				if len(subs) > 0 {
					err = sc.subscribe(cctx, sc.client(), subs)
				}
			}
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			st.failed.Add(1)
		}
	}
}

// subscribe subscribes cl to ids; those it was unsure of are sure again
// when it succeeds.
func (sc *soakClient) subscribe(ctx context.Context, cl *core.Client, ids []string) error {
	err := cl.Subscribe(ctx, ids)
	if err == nil {
		sc.mu.Lock()
		for _, id := range ids {
			delete(sc.unsure, id)
		}
		sc.mu.Unlock()
	}
	return err
}

// unsubscribe unsubscribes cl from ids; when it fails, they are unsure.
func (sc *soakClient) unsubscribe(ctx context.Context, cl *core.Client, ids []string) error {
	err := cl.Unsubscribe(ctx, ids)
	if err != nil {
		sc.mu.Lock()
		if sc.unsure == nil {
			sc.unsure = map[string]bool{}
		}
		for _, id := range ids {
			sc.unsure[id] = true
		}
		sc.mu.Unlock()
	}
	return err
}

// ensure brings the client back to logged in, whatever a fault left.
func (sc *soakClient) ensure(ctx context.Context, st *soakStats) {
	for range 5 {
		if sc.client().LoginStatus() == core.Logined {
			sc.mu.Lock()
			sc.loggedIn = true
			sc.mu.Unlock()
			return
		}
		if sc.login(ctx, st) == nil {
			return
		}
		time.Sleep(time.Second)
	}
}

// soakCheck waits until every client's view of everyone it subscribes to
// equals the truth, and counts what never does (lost) and the truths that
// contradict what the clients did (stale), and the custom statuses the
// cluster cleared and told their clients of since the last check (cleared:
// who, at which version).
func soakCheck(t *testing.T, c *cluster, clients []*soakClient, oracle *peer, cons *consoles) (lost, stale int, cleared []string) {
	t.Helper()
	// The nodes' trails of the first wrong views, read when first seen
	// wrong: a node forgets a user's last delivery a minute after it.
	early := map[string]string{}
	users := make([]string, len(clients))
	for i, sc := range clients {
		users[i] = sc.user
	}
	deadline := time.Now().Add(soakSettle)
	for {
		truth := soakTruth(t, oracle, users)
		var wrong, contradicted []string
		type pair struct {
			watcher *soakClient
			target  string
		}
		var pairs []pair // the first wrong views
		var clearedNow []*soakClient
		var offline []*soakClient // logged in, and OFFLINE in the cluster
		for _, sc := range clients {
			cl := sc.client()
			subs := cl.Subscriptions()
			sc.mu.Lock()
			for _, id := range subs {
				if v := sc.view[id]; !sc.unsure[id] && !v.Equal(truth[id]) {
					wrong = append(wrong, fmt.Sprintf("%s sees %s as %v %q %v v%d, truth %v %q %v v%d", sc.user, id,
						v.Type, v.Custom, v.Devices, v.Version, truth[id].Type, truth[id].Custom, truth[id].Devices, truth[id].Version))
					if len(pairs) < 10 {
						pairs = append(pairs, pair{sc, id})
					}
				}
			}
			own := truth[sc.user]
			switch {
			case !sc.loggedIn:
				contradicted = append(contradicted, fmt.Sprintf("%s could not log in again", sc.user))
			case own.Type != wire.StatusOnline:
				contradicted = append(contradicted, fmt.Sprintf("%s is logged in; the cluster says %v", sc.user, own.Type))
				offline = append(offline, sc)
			case sc.customKnown && own.Custom != sc.custom && sc.toldSince && sc.told.Version == own.Version && sc.told.Custom == own.Custom:
				// The cluster cleared it, and told the client: checked
				// against the sweeps, in the round it was first seen.
				if sc.clearCounted != own.Version {
					clearedNow = append(clearedNow, sc)
				}
			case sc.customKnown && own.Custom != sc.custom:
				contradicted = append(contradicted, fmt.Sprintf("%s set %q; the cluster says %q", sc.user, sc.custom, own.Custom))
			}
			sc.mu.Unlock()
		}
		if len(wrong) == 0 && len(contradicted) == 0 {
			return 0, 0, countCleared(clearedNow, truth)
		}
		for _, p := range pairs {
			if k := p.watcher.user + " " + p.target; early[k] == "" && len(early) < 40 {
				early[k] = time.Now().UTC().Format("15:04:05.000") + cons.trail(t.Context(), c, p.watcher.user, p.target)
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("after %v quiet, %d views differ from the truth and %d truths from what clients did; first ones below", soakSettle, len(wrong), len(contradicted))
			// One line each, so that a report that keeps only the test's
			// lines keeps them.
			for _, l := range append(wrong[:min(10, len(wrong))], contradicted[:min(10, len(contradicted))]...) {
				t.Log(l)
			}
			for _, p := range pairs {
				t.Log(soakDiagnose(t, c, p.watcher.user, p.target))
				if e := early[p.watcher.user+" "+p.target]; e != "" {
					t.Logf("%s → %s, the nodes when first seen wrong, at %s", p.watcher.user, p.target, e)
				}
				t.Logf("%s → %s, the nodes now:%s", p.watcher.user, p.target, cons.trail(t.Context(), c, p.watcher.user, p.target))
				t.Logf("%s's client last warned: %q", p.watcher.user, p.watcher.warns.get())
			}
			// A client that believes it is logged in where the cluster
			// has no device of it: where its session lives, what each
			// node holds of its devices, what its client warned of.
			for _, sc := range offline[:min(5, len(offline))] {
				cl := sc.client()
				t.Logf("%s, logged in per its client (status %v), OFFLINE in the cluster: %s; the nodes:%s; its client last warned: %q",
					sc.user, cl.LoginStatus(), soakDiagnose(t, c, sc.user, sc.user), cons.trail(t.Context(), c, sc.user, sc.user), sc.warns.get())
			}
			return len(wrong), len(contradicted), countCleared(clearedNow, truth)
		}
		time.Sleep(time.Second)
	}
}

// countCleared marks the clients' cleared statuses counted, and names
// them, for a round whose sweeps do not account for them.
func countCleared(clients []*soakClient, truth map[string]wire.Status) []string {
	var names []string
	for _, sc := range clients {
		v := truth[sc.user].Version
		sc.mu.Lock()
		sc.clearCounted = v
		sc.mu.Unlock()
		names = append(names, fmt.Sprintf("%s v%d", sc.user, v))
	}
	return names
}

// soakDiagnose says what the cluster holds of watcher's subscription to
// target: whether target's watchers hold watcher, the nodes that listen to
// target, and the nodes of watcher's devices.
func soakDiagnose(t *testing.T, c *cluster, watcher, target string) string {
	rdb := c.redis.Client()
	key := func(user, what string) string { return fmt.Sprintf("{%s:%d:%s}:%s", redisPrefix, redisApp, user, what) }
	listed, err1 := rdb.SIsMember(t.Context(), key(target, "w"), watcher).Result()
	at, err2 := rdb.SMembers(t.Context(), key(target, "at")).Result()
	rec, err3 := rdb.Get(t.Context(), key(watcher, "p")).Result()
	list, err4 := rdb.Get(t.Context(), key(watcher, "s")).Result()
	return fmt.Sprintf("%s → %s: in %s's watchers %v; %s listened to at %v; %s's record %s, list %s (errors %v)",
		watcher, target, target, listed, target, at, watcher, rec, list, errors.Join(err1, err2, err3, err4))
}

// lastLines keeps the last few lines written to it.
type lastLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *lastLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(string(p)))
	if len(l.lines) > 4 {
		l.lines = slices.Delete(l.lines, 0, len(l.lines)-4)
	}
	return len(p), nil
}

func (l *lastLines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// soakTruth reads everyone's status afresh, 500 at a time.
func soakTruth(t *testing.T, oracle *peer, users []string) map[string]wire.Status {
	t.Helper()
	m := make(map[string]wire.Status, len(users))
	for ids := range slices.Chunk(users, 500) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		sts, err := oracle.cl.GetUserStatus(ctx, ids)
		cancel()
		if err != nil {
			t.Fatalf("reading the truth: %v", err)
		}
		for _, s := range sts {
			m[s.UserID] = s
		}
	}
	return m
}

// parallel runs f on every client, at most n at a time.
func parallel(clients []*soakClient, n int, f func(*soakClient)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, sc := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(sc)
		})
	}
	wg.Wait()
}

var (
	vmRSS   = regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB`)
	rssFile = regexp.MustCompile(`(?m)^RssFile:\s+(\d+) kB`)
)

// leasesLost counts, per node, the times its log says it found its lease
// lost (swept by another while it stalled) and sent its clients away.
// swept counts the devices the nodes ended with a lease ("device lost with
// its node's lease"), in every log of logs and of the nodes now running,
// which it adds to logs.
func swept(c *cluster, logs map[string]bool) int {
	for _, d := range c.nodes {
		logs[d.log] = true
	}
	n := 0
	for path := range logs {
		b, _ := os.ReadFile(path)
		n += bytes.Count(b, []byte("device lost with its node's lease"))
	}
	return n
}

// keepLogs copies every node's log, a restarted node's old ones too, to
// dir, numbered in the order the nodes started.
func keepLogs(t *testing.T, c *cluster, logs map[string]bool, dir string) {
	for _, d := range c.nodes {
		logs[d.log] = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Log(err)
		return
	}
	for _, path := range slices.Sorted(maps.Keys(logs)) {
		b, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(filepath.Dir(path))+".log"), b, 0o644)
		}
		if err != nil {
			t.Log(err)
		}
	}
	t.Logf("soak: the nodes' logs are in %s", dir)
}

func leasesLost(c *cluster) []int {
	n := make([]int, len(c.nodes))
	for i, d := range c.nodes {
		b, _ := os.ReadFile(d.log)
		n[i] = bytes.Count(b, []byte("this node's lease was lost"))
	}
	return n
}

// goMemory is a node's Go memory not returned to the OS, in KiB, by the
// classes of goMemoryClasses.
type goMemory [5]int64

var goMemoryClasses = [...]string{"all", "heap in use (objects and the room between them)", "heap free", "stacks", "the runtime's own"}

// goMemoryOf reads them from a scrape of a node's /metrics.
func goMemoryOf(t *testing.T, m map[string]int) goMemory {
	inuse := int64(m["go_memstats_heap_inuse_bytes"])
	free := int64(m["go_memstats_heap_idle_bytes"] - m["go_memstats_heap_released_bytes"])
	stacks := int64(m["go_memstats_stack_inuse_bytes"])
	all := int64(m["go_memstats_sys_bytes"] - m["go_memstats_heap_released_bytes"])
	if all == 0 {
		t.Fatal("no go_memstats_sys_bytes in /metrics")
	}
	return goMemory{all >> 10, inuse >> 10, free >> 10, stacks >> 10, (all - inuse - free - stacks) >> 10}
}

// rssKiB is a process's resident set, and of it the pages of files (its
// binary's), 0 if they cannot be read.
func rssKiB(pid int) (all, files int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	kib := func(re *regexp.Regexp) int64 {
		m := re.FindSubmatch(b)
		if m == nil {
			return 0
		}
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		return n
	}
	return kib(vmRSS), kib(rssFile)
}

// saveHeap saves d's heap profile, taken after a GC, to file.
func saveHeap(t *testing.T, d *daemon, file string) {
	t.Helper()
	addr := d.lineAfter(t, "pprof on ")
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || len(b) == 0 {
		t.Fatalf("heap profile of %s: %v, %s, %d bytes", addr, err, resp.Status, len(b))
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
