package server

import (
	"sync"
	"time"

	"github.com/imstatus/imstatus/wire"
)

// fanoutCap bounds how often one user's changes are fanned out from this
// node: a token bucket per user (rate a second, bursts of burst). A change
// past it is held, and a newer change of the same user replaces the held
// one (merged: its watchers learn of the newer only, which is all a status
// push says anyway). Held changes go out at the sweeps, as the user's
// bucket refills. So a user who logs in and out, or sets its status, in a
// loop costs its watchers — and everyone who shares their node — a few
// pushes a second, not thousands, and its final status still arrives.
type fanoutCap struct {
	mu          sync.Mutex
	rate, burst float64                  // a reload of the apps file changes them
	users       map[string]*fanoutBucket // users with tokens spent or a change held
}

type fanoutBucket struct {
	tokens float64
	at     time.Time    // when tokens was brought up to date
	held   *wire.Status // the latest change past the cap, not yet sent
}

func newFanoutCap(rate, burst int) *fanoutCap {
	return &fanoutCap{rate: float64(rate), burst: float64(max(burst, 1)), users: make(map[string]*fanoutBucket)}
}

// setRate changes the cap; buckets keep their tokens (at most the new
// burst).
func (f *fanoutCap) setRate(rate, burst int) {
	f.mu.Lock()
	f.rate, f.burst = float64(rate), float64(max(burst, 1))
	for _, b := range f.users {
		b.tokens = min(b.tokens, f.burst)
	}
	f.mu.Unlock()
}

// refill brings b's tokens up to now.
func (f *fanoutCap) refill(b *fanoutBucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(f.burst, b.tokens+d.Seconds()*f.rate)
		b.at = now
	}
}

// admit reports whether st may be fanned out now. If not, it is held (and
// merged reports that it replaced an older held change of the user).
func (f *fanoutCap) admit(st wire.Status, now time.Time) (ok, merged bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.users[st.UserID]
	if b == nil {
		b = &fanoutBucket{tokens: f.burst, at: now}
		f.users[st.UserID] = b
	}
	f.refill(b, now)
	if b.held == nil && b.tokens >= 1 {
		b.tokens--
		return true, false
	}
	// Past the cap, or behind a held change that must go first: hold the
	// newest, in version order.
	merged = b.held != nil
	if b.held == nil || !st.Stale(*b.held) {
		b.held = &st
	}
	return false, merged
}

// due returns the held changes whose user has a token again, taking it,
// and forgets the users whose buckets are full again with nothing held.
func (f *fanoutCap) due(now time.Time) []wire.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []wire.Status
	for user, b := range f.users {
		f.refill(b, now)
		if b.held != nil && b.tokens >= 1 {
			b.tokens--
			out = append(out, *b.held)
			b.held = nil
		}
		if b.held == nil && b.tokens >= f.burst {
			delete(f.users, user)
		}
	}
	return out
}

// tracked is how many users the cap holds state for (tests).
func (f *fanoutCap) tracked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.users)
}
