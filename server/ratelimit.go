package server

import (
	"sync"
	"time"
)

// limiter allows n calls per window for each (user, api), in fixed windows
// that start at a key's first call.
type limiter struct {
	n      int
	window time.Duration

	mu   sync.Mutex
	keys map[limitKey]*limitWindow
}

type limitKey struct{ user, api string }

type limitWindow struct {
	start time.Time
	count int
}

func newLimiter(n int, window time.Duration) *limiter {
	return &limiter{n: n, window: window, keys: make(map[limitKey]*limitWindow)}
}

// allow counts a call and reports whether it is within the limit.
func (l *limiter) allow(user, api string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := limitKey{user, api}
	w := l.keys[k]
	if w == nil || now.Sub(w.start) >= l.window {
		w = &limitWindow{start: now}
		l.keys[k] = w
	}
	if w.count >= l.n {
		return false
	}
	w.count++
	return true
}

// prune forgets windows that have ended, so the map holds only active callers.
func (l *limiter) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, w := range l.keys {
		if now.Sub(w.start) >= l.window {
			delete(l.keys, k)
		}
	}
}
