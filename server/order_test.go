package server_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/wire"
)

// Subscribes, unsubscribes and status changes of many users of one app run
// at once. However they interleave, what a subscriber hears of a target
// never goes back in time — a subscribe's
// answer (the targets' statuses) may never reach it after a newer change of
// one of them, and one user's changes arrive in order — and its last news
// of each target is the target's final status.
func TestConcurrentChangesAndSubscribesConverge(t *testing.T) {
	const (
		users   = 24
		follows = 12 // each user subscribes to the next 12 on a ring
		changes = 30
	)
	e := newBenchEnv(t)
	ids := names("ring_", users)
	e.importAccounts(ids...)

	type view struct {
		mu        sync.Mutex
		last      map[string]string // target → custom status last heard
		backwards []string
	}
	views := make([]*view, users)
	conns := make([]*websocket.Conn, users)
	var readers sync.WaitGroup
	for i, id := range ids {
		conns[i] = e.rawLogin(id)
		v := &view{last: make(map[string]string)}
		views[i] = v
		ws := conns[i]
		readers.Go(func() {
			for {
				_, msg, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if gjson.GetBytes(msg, "op").Str != string(wire.OpStatus) {
					continue
				}
				v.mu.Lock()
				gjson.GetBytes(msg, "body").ForEach(func(_, s gjson.Result) bool {
					who, now := s.Get("user_status_identifier").Str, s.Get("user_status_custom_status").Str
					if before := v.last[who]; changeNo(now) < changeNo(before) {
						v.backwards = append(v.backwards, who+": "+strconv.Quote(before)+" then "+strconv.Quote(now))
					}
					v.last[who] = now
					return true
				})
				v.mu.Unlock()
			}
		})
	}
	targetsOf := func(i int) []string {
		var ts []string
		for k := 1; k <= follows; k++ {
			ts = append(ts, ids[(i+k)%users])
		}
		return ts
	}

	// Each user, on its own goroutine, changes its status and re-subscribes
	// (sometimes after dropping half its list) in turns. Replies are read by
	// the reader above; requests are written one at a time per connection.
	var wg sync.WaitGroup
	for i := range users {
		ws := conns[i]
		wg.Go(func() {
			ts := targetsOf(i)
			for n := range changes {
				set := `{"seq":` + strconv.Itoa(3*n+10) + `,"op":"set_status","body":{"user_status_custom_status":"` + ids[i] + "#" + strconv.Itoa(n) + `"}}`
				if err := ws.WriteMessage(websocket.TextMessage, []byte(set)); err != nil {
					t.Error(err)
					return
				}
				if n%3 == 1 {
					ws.WriteMessage(websocket.TextMessage, idsRequestSeq(wire.OpUnsubscribe, ts[:follows/2], uint64(3*n+11)))
				}
				ws.WriteMessage(websocket.TextMessage, idsRequestSeq(wire.OpSubscribe, ts, uint64(3*n+12)))
			}
		})
	}
	wg.Wait()

	// Every final status is "<id>#<changes-1>"; wait for every view to
	// show it, and fail with what is stale.
	deadline := time.Now().Add(wait)
	for {
		var stale []string
		for i, v := range views {
			v.mu.Lock()
			if back := v.backwards; len(back) > 0 {
				v.mu.Unlock()
				t.Fatalf("%s heard statuses go back in time: %v", ids[i], back[:min(3, len(back))])
			}
			for _, tgt := range targetsOf(i) {
				if want := tgt + "#" + strconv.Itoa(changes-1); v.last[tgt] != want {
					stale = append(stale, ids[i]+" sees "+tgt+" as "+strconv.Quote(v.last[tgt]))
				}
			}
			v.mu.Unlock()
		}
		if len(stale) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d stale views, e.g. %v", len(stale), stale[:min(5, len(stale))])
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, ws := range conns {
		ws.Close()
	}
	readers.Wait() // (closing makes everyone OFFLINE: views change now, rightly)
}

// changeNo is n of a custom status "<id>#<n>", -1 for any other.
func changeNo(custom string) int {
	_, n, ok := strings.Cut(custom, "#")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(n)
	if err != nil {
		return -1
	}
	return i
}
