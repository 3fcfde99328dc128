package ratelog

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTest(burst int, rate float64) (*slog.Logger, *bytes.Buffer, *fakeClock) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(1800000000, 0)}
	h := New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}), Options{Burst: burst, Rate: rate, Now: clk.now})
	return slog.New(h), &buf, clk
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSpace(buf.String())
	buf.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestBurstThenRate(t *testing.T) {
	log, buf, clk := newTest(3, 2)
	for range 10 {
		log.Info("flood", "k", 1)
	}
	if got := lines(buf); len(got) != 3 {
		t.Fatalf("a burst of 10 wrote %d lines, want 3: %q", len(got), got)
	}
	clk.t = clk.t.Add(500 * time.Millisecond) // one token at 2 a second
	for range 5 {
		log.Info("flood", "k", 1)
	}
	got := lines(buf)
	if len(got) != 1 || !strings.Contains(got[0], "suppressed=7") || !strings.Contains(got[0], "k=1") {
		t.Fatalf("after half a second: %q, want one line saying 7 were suppressed", got)
	}
	clk.t = clk.t.Add(time.Hour) // refills to the burst, no further
	for range 10 {
		log.Info("flood")
	}
	if got := lines(buf); len(got) != 3 || !strings.Contains(got[0], "suppressed=4") || strings.Contains(got[1], "suppressed") {
		t.Fatalf("after an hour: %q, want 3 lines, the first saying 4 were suppressed", got)
	}
}

func TestMessagesAreLimitedApart(t *testing.T) {
	log, buf, _ := newTest(1, 1)
	log.Info("a")
	log.Info("a")
	log.Warn("b")
	log.With("conn", 7).Info("a") // derived loggers share the limits
	log.WithGroup("g").Info("c")
	got := lines(buf)
	if len(got) != 3 || !strings.Contains(got[0], "msg=a") || !strings.Contains(got[1], "msg=b") || !strings.Contains(got[2], "msg=c") {
		t.Fatalf("got %q, want one line each of a, b and c", got)
	}
}

func TestClockSteppedBackRefillsNothing(t *testing.T) {
	log, buf, clk := newTest(1, 1)
	log.Info("x")
	clk.t = clk.t.Add(-time.Hour)
	log.Info("x")
	clk.t = clk.t.Add(time.Hour)
	log.Info("x")
	if got := lines(buf); len(got) != 1 {
		t.Fatalf("got %q, want only the first line", got)
	}
}

// Messages past maxMessages share one bucket, so a message carrying text of
// a client's cannot grow the limiter without bound.
func TestDistinctMessagesAreBounded(t *testing.T) {
	log, buf, _ := newTest(1, 1)
	h := log.Handler().(*Handler)
	for i := range 3 * maxMessages {
		log.Info("m" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if n := len(h.lim.msgs); n > maxMessages+1 {
		t.Fatalf("%d buckets, want at most %d", n, maxMessages+1)
	}
	if got := lines(buf); len(got) != maxMessages+1 {
		t.Fatalf("%d lines, want one per bucket: %d", len(got), maxMessages+1)
	}
}

func TestEnabledFollowsNext(t *testing.T) {
	h := New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}), Options{})
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Fatal("Enabled does not follow the next handler's level")
	}
}

func TestConcurrentUse(t *testing.T) {
	log, buf, _ := newTest(50, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				log.Info("c")
			}
		}()
	}
	wg.Wait()
	if got := lines(buf); len(got) != 50 {
		t.Fatalf("%d lines from 800 calls, want the burst of 50", len(got))
	}
}

// Wrapping a Handler again adds no second limit.
func TestWrappingTwiceLimitsOnce(t *testing.T) {
	log, _, _ := newTest(1, 1)
	h := log.Handler().(*Handler)
	if New(h, Options{Burst: 5}) != h {
		t.Fatal("New of a Handler made another one")
	}
}
