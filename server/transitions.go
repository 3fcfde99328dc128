package server

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/webhook"
	"github.com/imstatus/imstatus/wire"
)

// Events of a user's recent transitions, as the console shows them.
const (
	evLogin       = "login"
	evLogout      = "logout"
	evLinkClosed  = "link closed"
	evTimeout     = "heartbeat timeout"
	evKicked      = "kicked: replaced by a newer login"
	evAdminKicked = "kicked by the admin"
	evLoginFailed = "login undone: the store failed"
)

// historyLen is how many transitions of a user a node keeps: the last
// few are what tells why a user looks offline; older ones are in the logs.
// A user's ring is 472 bytes (480 allocated); with its map entry and id,
// about 0.6 KiB (TestHistoryMemory).
const historyLen = 8

// historyKeep is how long a user's transitions are kept after its last.
const historyKeep = time.Hour

// transition is one change of a device of a user on this node.
type transition struct {
	at       int64  // the clock's UnixNano
	event    string // one of the ev constants: never a client's string
	platform string
	device   uint64 // the DeviceKey's Conn: this node's device number
	status   wire.StatusType
}

// history is each user's last historyLen transitions on this node, a
// fixed ring per user: recording one costs a map read and an uncontended
// lock, off the delivery path (only logins and departures record).
type history struct {
	users  sync.Map // user → *ring
	pruned atomic.Int64
}

type ring struct {
	mu   sync.Mutex
	n    int // transitions recorded, ever
	ev   [historyLen]transition
	last atomic.Int64 // at of the newest
}

func (h *history) record(user string, t transition) {
	// Neither string may hold on to the frame it was read from.
	t.platform = platformName(t.platform)
	v, ok := h.users.Load(user)
	if !ok {
		v, _ = h.users.LoadOrStore(strings.Clone(user), new(ring))
	}
	r := v.(*ring)
	r.mu.Lock()
	r.ev[r.n%historyLen] = t
	r.n++
	r.mu.Unlock()
	r.last.Store(t.at)
}

// of returns user's transitions, newest first.
func (h *history) of(user string) []transition {
	v, ok := h.users.Load(user)
	if !ok {
		return nil
	}
	r := v.(*ring)
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(r.n, historyLen)
	out := make([]transition, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.ev[(r.n-i)%historyLen])
	}
	return out
}

// prune forgets the users whose last transition is older than
// historyKeep; it scans at most once a minute.
func (h *history) prune(now time.Time) {
	n := now.UnixNano()
	if last := h.pruned.Load(); n-last < int64(time.Minute) || !h.pruned.CompareAndSwap(last, n) {
		return
	}
	cut := n - int64(historyKeep)
	h.users.Range(func(k, v any) bool {
		if v.(*ring).last.Load() < cut {
			h.users.CompareAndDelete(k, v)
		}
		return true
	})
}

// platformName is p as one of wire.Platforms (they are checked at
// login), or a copy.
func platformName(p string) string {
	if i := slices.Index(wire.Platforms, p); i >= 0 {
		return wire.Platforms[i]
	}
	return strings.Clone(p)
}

// departEvent names a departure for the history.
func departEvent(d departure) string {
	switch {
	case d.event != "":
		return d.event
	case d.how == presence.LoggedOut:
		return evLogout
	case d.reason == webhook.ReasonTimeOut:
		return evTimeout
	case d.reason == "":
		return evLoginFailed
	}
	return evLinkClosed
}
