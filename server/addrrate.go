package server

import (
	"sync"
	"time"
)

// addrRate allows each remote address n logins a second, in bursts of up
// to n: a token bucket per address, forgotten once full again (so idle
// addresses cost nothing).
type addrRate struct {
	n  float64
	mu sync.Mutex
	by map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newAddrRate(n int) *addrRate { return &addrRate{n: float64(n), by: make(map[string]*bucket)} }

// allow takes a token of addr's bucket at now, if there is one.
func (r *addrRate) allow(addr string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.by[addr]
	if !ok {
		b = &bucket{tokens: r.n, at: now}
		r.by[addr] = b
	}
	b.tokens = min(r.n, b.tokens+now.Sub(b.at).Seconds()*r.n)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep forgets the buckets that are full again at now.
func (r *addrRate) sweep(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for addr, b := range r.by {
		if b.tokens+now.Sub(b.at).Seconds()*r.n >= r.n {
			delete(r.by, addr)
		}
	}
}
