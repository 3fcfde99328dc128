package server

import (
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imstatus/imstatus/wire"
)

// hub is one app's connections on this node, by user, and the order of
// each user's deliveries. It is split in stripes by user, so logins,
// departures and deliveries of different users rarely share a lock.
type hub struct {
	seed    maphash.Seed
	devices atomic.Int64 // logged-in connections, for /metrics
	stripes [hubStripes]hubStripe
}

const hubStripes = 64

type hubStripe struct {
	mu    sync.Mutex
	conns map[string][]*conn   // user → its connections on this node
	order map[string]*ordering // user → its delivery order
}

// ordering serialises the deliveries of one user's changes on this node
// and remembers the newest version delivered, so an older one that a
// concurrent publisher delivers late is dropped: every connection gets a
// user's statuses in version order.
type ordering struct {
	mu     sync.Mutex
	latest wire.Status  // the newest status delivered here
	used   atomic.Int64 // clock's UnixNano of the last use
}

func newHub() *hub {
	h := &hub{seed: maphash.MakeSeed()}
	for i := range h.stripes {
		h.stripes[i].conns = make(map[string][]*conn)
		h.stripes[i].order = make(map[string]*ordering)
	}
	return h
}

func (h *hub) stripe(user string) *hubStripe {
	return &h.stripes[maphash.String(h.seed, user)%hubStripes]
}

// add makes c one of user's connections.
func (h *hub) add(user string, c *conn) {
	s := h.stripe(user)
	s.mu.Lock()
	s.conns[user] = append(s.conns[user], c)
	s.mu.Unlock()
	h.devices.Add(1)
}

// take removes the connection id from user's and returns it (nil when it
// was not there).
func (h *hub) take(user string, id uint64) *conn {
	s := h.stripe(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.conns[user]
	for i, c := range cs {
		if c.id == id {
			cs = slices.Delete(cs, i, i+1)
			if len(cs) == 0 {
				delete(s.conns, user)
			} else {
				s.conns[user] = cs
			}
			h.devices.Add(-1)
			return c
		}
	}
	return nil
}

// appendConns appends user's connections to dst.
func (h *hub) appendConns(dst []*conn, user string) []*conn {
	s := h.stripe(user)
	s.mu.Lock()
	dst = append(dst, s.conns[user]...)
	s.mu.Unlock()
	return dst
}

// ordering returns user's delivery order, created on first use.
func (h *hub) ordering(user string, now time.Time) *ordering {
	s := h.stripe(user)
	s.mu.Lock()
	o := s.order[user]
	if o == nil {
		o = &ordering{}
		s.order[user] = o
	}
	s.mu.Unlock()
	o.used.Store(now.UnixNano())
	return o
}

// orderingIdle is how long a user's delivery order is kept after its last
// delivery. A delivery of that user delayed longer than this could pass a
// newer one; the client's own version check still drops it.
const orderingIdle = time.Minute

// prune forgets the delivery order of users idle since before now-orderingIdle.
func (h *hub) prune(now time.Time) {
	cut := now.Add(-orderingIdle).UnixNano()
	for i := range h.stripes {
		s := &h.stripes[i]
		s.mu.Lock()
		for u, o := range s.order {
			if o.used.Load() < cut {
				delete(s.order, u)
			}
		}
		s.mu.Unlock()
	}
}

// connsOf returns user's connections on this node.
func (h *hub) connsOf(user string) []*conn {
	return h.appendConns(nil, user)
}
