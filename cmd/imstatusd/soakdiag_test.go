package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/imstatus/imstatus/server/console"
)

// consoles reads the nodes' consoles (as the app's administrator, with its
// key): what each node last delivered of a user, who it routes the user's
// changes to, and the user's transitions there. A node restarted since is
// logged in to again.
type consoles struct {
	mu       sync.Mutex
	sessions map[string]*http.Client // by node address
	routing  *atJournal              // the changes of each user's routing, when kept
}

// user inspects user on the node at addr.
func (cs *consoles) user(ctx context.Context, addr, user string) (console.User, error) {
	var u console.User
	for attempt := range 2 {
		hc, err := cs.session(ctx, addr, attempt > 0)
		if err != nil {
			return u, err
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/console/api/user?id="+url.QueryEscape(user), nil)
		resp, err := hc.Do(req)
		if err != nil {
			return u, err
		}
		err = json.NewDecoder(resp.Body).Decode(&u)
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			continue // a node restarted since: its sessions are gone
		}
		if resp.StatusCode != http.StatusOK {
			return u, fmt.Errorf("inspecting %s on %s: HTTP %d", user, addr, resp.StatusCode)
		}
		return u, err
	}
	return u, fmt.Errorf("inspecting %s on %s: the console refused the session", user, addr)
}

func (cs *consoles) session(ctx context.Context, addr string, fresh bool) (*http.Client, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if hc := cs.sessions[addr]; hc != nil && !fresh {
		return hc, nil
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body := `{"sdkappid":"` + strconv.FormatUint(redisApp, 10) + `","key":"` + redisKey + `"}`
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/console/api/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("console login on %s: HTTP %d", addr, resp.StatusCode)
	}
	if cs.sessions == nil {
		cs.sessions = map[string]*http.Client{}
	}
	cs.sessions[addr] = hc
	return hc, nil
}

// trail says, node by node, what each node holds of a wrong view: its last
// delivery of target (version and time) and where it routes target's
// changes, and watcher's devices and recent transitions there.
func (cs *consoles) trail(ctx context.Context, c *cluster, watcher, target string) string {
	var b strings.Builder
	for i, d := range c.nodes {
		t, err1 := cs.user(ctx, d.addr, target)
		w, err2 := cs.user(ctx, d.addr, watcher)
		fmt.Fprintf(&b, "\n  node %d: ", i+1)
		if err1 != nil || err2 != nil {
			fmt.Fprintf(&b, "unreadable (%v %v)", err1, err2)
			continue
		}
		if t.Delivered != nil {
			fmt.Fprintf(&b, "%s delivered here v%d, last at %s", target, t.Delivered.Version, t.Delivered.At.UTC().Format("15:04:05.000"))
		} else {
			fmt.Fprintf(&b, "%s delivered here: nothing kept", target)
		}
		fmt.Fprintf(&b, " (status v%d); routed to %v; %s here:", t.Version, t.Listeners, watcher)
		for _, dv := range w.Devices {
			if dv.Here {
				fmt.Fprintf(&b, " device %d since %s", dv.Device, dv.Since.UTC().Format("15:04:05.000"))
			}
		}
		for _, tr := range w.Transitions {
			fmt.Fprintf(&b, " [%s %s device %d]", tr.At.UTC().Format("15:04:05.000"), tr.Event, tr.Device)
		}
	}
	if cs.routing != nil {
		fmt.Fprintf(&b, "\n  %s's routing, its changes in the last %v:%s", target, routingShown, cs.routing.since(target, time.Now().Add(-routingShown)))
	}
	return b.String()
}

// atJournal keeps, for each user, the last changes of the set of nodes
// that route the user's changes ({…:USER}:at), as Redis's keyspace
// notifications tell of them (the soak's Redis runs with
// notify-keyspace-events Ks; Redis tells only of a member really added or
// removed), each with the set read right after and, for a node gone from
// it, how many subscribers that node's channel had then. A lost view's
// trail tells from it whether a node stopped routing between two changes.
type atJournal struct {
	mu     sync.Mutex
	events map[string][]atEvent // by user, oldest first
	last   map[string][]string  // each user's set as last read
}

type atEvent struct {
	at      time.Time        // when Redis told of it
	read    time.Time        // when the set was read
	op      string           // sadd, srem, del
	members []string         // the set read right after
	gone    map[string]int64 // nodes gone since the last read: their channel's subscribers
}

// atJournalKept bounds the events kept per user.
const atJournalKept = 16

// routingShown is how far back a trail shows a user's routing changes:
// past the start of the round a view went wrong in.
const routingShown = 90 * time.Second

// startAtJournal follows the notifications of app's listener sets in rdb
// until ctx ends; after a restart of Redis, go-redis subscribes again.
func startAtJournal(ctx context.Context, rdb redis.UniversalClient, app uint64) *atJournal {
	j := &atJournal{events: map[string][]atEvent{}, last: map[string][]string{}}
	prefix := fmt.Sprintf("__keyspace@0__:{%s:%d:", redisPrefix, app)
	ps := rdb.PSubscribe(ctx, prefix+"*}:at")
	msgs := ps.Channel(redis.WithChannelSize(1 << 16))
	go func() {
		<-ctx.Done()
		ps.Close() // which closes msgs
	}()
	// Each event is timed as it comes, and its set read after: the reads
	// fall behind in a burst (a node's kill makes thousands), the times
	// must not.
	type event struct {
		user, op string
		at       time.Time
	}
	timed := make(chan event, 1<<18)
	go func() {
		defer close(timed)
		for m := range msgs {
			timed <- event{strings.TrimSuffix(strings.TrimPrefix(m.Channel, prefix), "}:at"), m.Payload, time.Now()}
		}
	}()
	go func() {
		for e := range timed {
			j.note(ctx, rdb, app, e.user, e.op, e.at)
		}
	}()
	return j
}

func (j *atJournal) note(ctx context.Context, rdb redis.UniversalClient, app uint64, user, op string, at time.Time) {
	members, _ := rdb.SMembers(ctx, fmt.Sprintf("{%s:%d:%s}:at", redisPrefix, app, user)).Result()
	slices.Sort(members)
	j.mu.Lock()
	before := j.last[user]
	j.mu.Unlock()
	e := atEvent{at: at, read: time.Now(), op: op, members: members}
	for _, n := range before {
		if !slices.Contains(members, n) {
			ch := fmt.Sprintf("{%s:%d:node:%s}:in", redisPrefix, app, n)
			subs, _ := rdb.PubSubShardNumSub(ctx, ch).Result()
			if e.gone == nil {
				e.gone = map[string]int64{}
			}
			e.gone[n] = subs[ch]
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.last[user] = members
	ev := append(j.events[user], e)
	if len(ev) > atJournalKept {
		ev = slices.Delete(ev, 0, len(ev)-atJournalKept)
	}
	j.events[user] = ev
}

// counts returns how many changes the journal saw, and how many nodes
// left a set with nobody on their channel (a dead node forgotten).
func (j *atJournal) counts() (changes, deadGone int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, ev := range j.events {
		changes += len(ev)
		for _, e := range ev {
			for _, subs := range e.gone {
				if subs == 0 {
					deadGone++
				}
			}
		}
	}
	return changes, deadGone
}

// since says what the journal holds of user's set from from on.
func (j *atJournal) since(user string, from time.Time) string {
	if j == nil {
		return ""
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var b strings.Builder
	for _, e := range j.events[user] {
		if e.at.Before(from) {
			continue
		}
		fmt.Fprintf(&b, " [%s %s → %v (read %v after)", e.at.UTC().Format("15:04:05.000"), e.op, e.members, e.read.Sub(e.at).Round(time.Millisecond))
		for _, n := range slices.Sorted(maps.Keys(e.gone)) {
			fmt.Fprintf(&b, "; %s gone, its channel's subscribers %d", n, e.gone[n])
		}
		b.WriteString("]")
	}
	if b.Len() == 0 {
		return " none"
	}
	return b.String()
}
