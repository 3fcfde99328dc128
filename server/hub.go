package server

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// hub is one app's connections on this node, by user, and the order of
// each user's deliveries. A delivery looks up hundreds of watchers: those
// lookups take no lock and write no shared memory (a sync.Map read, an
// atomic load), so deliveries on both cores do not slow each other down
// (one lock per stripe of users cost a delivery 200 contended atomic
// writes, and queued it behind logins).
type hub struct {
	users   sync.Map     // user → *hubUser
	devices atomic.Int64 // logged-in connections, for /metrics
	hist    history      // each user's recent transitions, for the console
}

// hubUser is one user on this node: its connections, and the order of its
// deliveries.
type hubUser struct {
	mu    sync.Mutex              // serialises changes of conns, and dead
	conns atomic.Pointer[[]*conn] // copied on write, read without a lock
	dead  bool                    // pruned from the map: look it up again

	// order serialises the user's deliveries, and version is the newest
	// delivered here, so an older one that a concurrent publisher delivers
	// late is dropped: every connection gets the user's statuses in order.
	order   sync.Mutex
	version uint64
	used    atomic.Int64 // clock's UnixNano of the last delivery
	// delivering counts the deliveries that hold this entry (under mu to
	// take one): an entry is pruned only when none does, so two deliveries
	// of one user never go through two entries, each with its own version.
	delivering atomic.Int32
}

func newHub() *hub { return &hub{} }

// user returns user's entry, made on first use.
func (h *hub) user(user string) *hubUser {
	if v, ok := h.users.Load(user); ok {
		return v.(*hubUser)
	}
	v, _ := h.users.LoadOrStore(strings.Clone(user), &hubUser{})
	return v.(*hubUser)
}

// locked returns user's entry with its mu held, made on first use, and
// never one that prune has taken out of the map.
func (h *hub) locked(user string) *hubUser {
	for {
		u := h.user(user)
		u.mu.Lock()
		if !u.dead {
			return u
		}
		u.mu.Unlock()
	}
}

// add makes c one of user's connections.
func (h *hub) add(user string, c *conn) {
	u := h.locked(user)
	var next []*conn
	if p := u.conns.Load(); p != nil {
		next = slices.Clone(*p)
	}
	next = append(next, c)
	u.conns.Store(&next)
	u.mu.Unlock()
	h.devices.Add(1)
}

// take removes user's connection whose current device number is id, and
// returns it (nil when it was not there).
func (h *hub) take(user string, id uint64) *conn {
	v, ok := h.users.Load(user)
	if !ok {
		return nil
	}
	u := v.(*hubUser)
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.conns.Load()
	if p == nil {
		return nil
	}
	i := slices.IndexFunc(*p, func(c *conn) bool { return c.device.Load() == id })
	if i < 0 {
		return nil
	}
	c := (*p)[i]
	if next := slices.Delete(slices.Clone(*p), i, i+1); len(next) > 0 {
		u.conns.Store(&next)
	} else {
		u.conns.Store(nil)
	}
	h.devices.Add(-1)
	return c
}

// appendConns appends user's connections to dst.
func (h *hub) appendConns(dst []*conn, user string) []*conn {
	if v, ok := h.users.Load(user); ok {
		if p := v.(*hubUser).conns.Load(); p != nil {
			dst = append(dst, *p...)
		}
	}
	return dst
}

// has reports whether user has a connection on this node.
func (h *hub) has(user string) bool {
	if v, ok := h.users.Load(user); ok {
		return v.(*hubUser).conns.Load() != nil
	}
	return false
}

// connsOf returns user's connections on this node.
func (h *hub) connsOf(user string) []*conn {
	return h.appendConns(nil, user)
}

// deliver returns user's entry, held for a delivery until done is called.
func (h *hub) deliver(user string, now time.Time) (u *hubUser, done func()) {
	u = h.locked(user)
	u.delivering.Add(1)
	u.mu.Unlock()
	u.used.Store(now.UnixNano())
	return u, func() { u.delivering.Add(-1) }
}

// lastDelivery returns the newest version of user's status that a
// delivery on this node took (whether or not a connection here heard it)
// and when one last came, while the node keeps user's delivery order: the
// console shows them, to tell a node that missed a change from a client
// that did.
func (h *hub) lastDelivery(user string) (version uint64, at time.Time, ok bool) {
	v, found := h.users.Load(user)
	if !found {
		return 0, time.Time{}, false
	}
	u := v.(*hubUser)
	n := u.used.Load()
	if n == 0 {
		return 0, time.Time{}, false // connections here, no delivery yet
	}
	u.order.Lock()
	version = u.version
	u.order.Unlock()
	return version, time.Unix(0, n), true
}

// orderingIdle is how long a user without connections here is kept after
// its last delivery. A delivery of that user delayed longer than this could
// pass a newer one; the client's own version check still drops it.
const orderingIdle = time.Minute

// prune forgets the users without connections here, with no delivery
// under way, and idle since before now-orderingIdle.
func (h *hub) prune(now time.Time) {
	h.hist.prune(now)
	cut := now.Add(-orderingIdle).UnixNano()
	h.users.Range(func(k, v any) bool {
		u := v.(*hubUser)
		if u.used.Load() >= cut || u.conns.Load() != nil {
			return true
		}
		u.mu.Lock()
		if u.conns.Load() == nil && u.delivering.Load() == 0 && u.used.Load() < cut {
			u.dead = true
			h.users.CompareAndDelete(k, u)
		}
		u.mu.Unlock()
		return true
	})
}
