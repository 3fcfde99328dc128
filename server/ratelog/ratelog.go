// Package ratelog bounds how fast log lines are written, per message, so
// that no client can fill a disk by making a server log: a flood of one
// kind of line becomes a few lines that say how many they stand for.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Handler passes records to another slog.Handler, each message at most
// Burst times at once and then Rate times a second. The next record of a
// message let through after some were held back carries "suppressed", how
// many. Records of different messages do not limit each other.
type Handler struct {
	next slog.Handler
	lim  *limiter
}

// Options sets a Handler's limits; zero values take the defaults.
type Options struct {
	Burst int              // default 100
	Rate  float64          // records per second after the burst; default 10
	Now   func() time.Time // default time.Now
}

// New returns a Handler that writes to next; if next is a Handler
// already, it is returned as it is, so wrapping twice limits once.
func New(next slog.Handler, opts Options) *Handler {
	if h, ok := next.(*Handler); ok {
		return h
	}
	if opts.Burst <= 0 {
		opts.Burst = 100
	}
	if opts.Rate <= 0 {
		opts.Rate = 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{next: next, lim: &limiter{opts: opts, msgs: map[string]*bucket{}}}
}

// Enabled reports whether next handles level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle writes r unless its message is over its rate.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	ok, held := h.lim.take(r.Message)
	if !ok {
		return nil
	}
	if held > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int64("suppressed", held))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns a Handler that shares h's limits.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(as), lim: h.lim}
}

// WithGroup returns a Handler that shares h's limits.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), lim: h.lim}
}

// maxMessages bounds the buckets kept: messages are the program's own
// constants, but should one carry client text, the rest share one bucket.
const maxMessages = 1024

type limiter struct {
	opts Options
	mu   sync.Mutex
	msgs map[string]*bucket
}

// bucket is a token bucket for one message.
type bucket struct {
	tokens float64
	last   time.Time
	held   int64
}

// take spends a token of msg's bucket; it reports whether there was one,
// and how many records were held back since the last let through.
func (l *limiter) take(msg string) (bool, int64) {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.msgs[msg]
	if b == nil {
		if len(l.msgs) >= maxMessages {
			msg = "" // the shared bucket
			b = l.msgs[msg]
		}
		if b == nil {
			b = &bucket{tokens: float64(l.opts.Burst), last: now}
			l.msgs[msg] = b
		}
	}
	if d := now.Sub(b.last); d > 0 { // a clock stepped back refills nothing
		b.tokens += d.Seconds() * l.opts.Rate
		if max := float64(l.opts.Burst); b.tokens > max {
			b.tokens = max
		}
		b.last = now
	}
	if b.tokens < 1 {
		b.held++
		return false, 0
	}
	b.tokens--
	held := b.held
	b.held = 0
	return true, held
}
