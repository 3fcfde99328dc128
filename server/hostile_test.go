package server_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/wire"
)

// Hostile input that once cost the server gigabytes: each case holds the
// bound that now stops it.

// stackPeak samples the bytes of goroutine stacks in use until stop is
// called, and returns the highest sample above the first.
func stackPeak(t *testing.T) (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return max(peak.Load(), base) - base
	}
}

// A frame nested deeper than wire.MaxDepth closes its link as a bad frame,
// saying why, before anything recurses into it. Before the bound, 300
// unauthenticated links each sending 64 KB of "[" took the server from 9 MB
// to 1.25 GB of stacks (each level of gjson's validator ~96 bytes).
func TestDeepFramesCostNoStack(t *testing.T) {
	e := newEnv(t)
	const links = 200
	frame := []byte(`{"seq":1,"op":"heartbeat","body":` + strings.Repeat("[", 64<<10-40) + `}`)
	conns := make([]*client, links)
	for i := range conns {
		conns[i] = e.dial()
	}
	peak := stackPeak(t)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.ws.WriteMessage(websocket.TextMessage, frame)
		}()
	}
	wg.Wait()
	for i, c := range conns {
		f := c.next()
		if f.Op != wire.OpShutdown || f.Code != wire.CodeServerParams || !strings.Contains(f.Desc, "nested deeper") {
			t.Fatalf("link %d: got %+v, want a shutdown push saying the frame nests too deep", i, f)
		}
		if ce := c.waitClosed(); ce == nil || ce.Code != websocket.CloseUnsupportedData {
			t.Fatalf("link %d: close = %v, want 1003", i, ce)
		}
	}
	grew := peak()
	t.Logf("goroutine stacks grew by at most %d KiB for %d deep frames", grew>>10, links)
	// Unbounded, these frames took ~4 MB of stack each: 800 MB here.
	if grew > 64<<20 {
		t.Fatalf("goroutine stacks grew by %d MiB for %d deep frames", grew>>20, links)
	}
	if n := e.scrape()["imstatus_bad_frames_total"]; n != links {
		t.Errorf("imstatus_bad_frames_total = %d, want %d", n, links)
	}
	e.login("ok").mustCall(0, wire.OpHeartbeat, nil)
}

// A REST body nested deeper than wire.MaxDepth is refused with upstream's
// error envelope (one admin request of 524k levels once cost 113 MB).
func TestDeepRESTBodyIsRefused(t *testing.T) {
	e := newEnv(t)
	body := `{"Accounts":` + strings.Repeat("[", 512<<10) + `}`
	r := e.rest(e.app.Admin, "/v4/im_open_login_svc/multiaccount_import", body)
	if r.Get("ActionStatus").Str != "FAIL" || r.Get("ErrorCode").Int() == 0 || !strings.Contains(r.Get("ErrorInfo").Str, "nested deeper") {
		t.Fatalf("answer %s, want a FAIL saying the body nests too deep", r.Raw)
	}
	e.importAccounts("still_fine")
}

// An unknown op is named in the error by its first bytes only: the op is the
// client's, and echoing 65,000 bytes of 0xff (6 bytes each as \ufffd) made
// one link's answers hold hundreds of MB.
func TestUnknownOpIsNotEchoed(t *testing.T) {
	e := newEnv(t)
	c := e.login("u")
	// Raw bytes: JSON encoding would turn each into a 6-byte escape.
	f := c.callRaw(func(seq uint64) []byte {
		return fmt.Appendf(nil, `{"seq":%d,"op":"%s"}`, seq, bytes.Repeat([]byte{0xff}, 65000))
	})
	if f.Code != wire.CodeServerParams || !strings.HasPrefix(f.Desc, "unknown op") {
		t.Fatalf("got %+v, want 70402 unknown op", f)
	}
	if len(f.Desc) > 200 {
		t.Fatalf("the error echoes %d bytes of the op", len(f.Desc))
	}
	f = c.call(wire.Op(strings.Repeat("é", 1000)), nil)
	if len(f.Desc) > 200 || !strings.HasPrefix(f.Desc, "unknown op éé") || strings.ContainsRune(f.Desc, '\ufffd') {
		t.Fatalf("desc %q: want the op's first characters, cut whole", f.Desc)
	}
}

// A client that sends requests and never reads their answers is closed once
// its queued answers pass SendQueueBytes, however few frames they are. The
// frame cap is set out of reach here: without the byte cap the queue would
// grow ~40 KB a request for as long as the client asks.
func TestSendQueueIsCappedInBytes(t *testing.T) {
	e := newEnvWith(t, server.Options{
		Apps: []server.AppConfig{{SDKAppID: testApp, SecretKey: testKey, Edition: "ultimate",
			UserStatusEnabled: on(), RateLimitCalls: 1 << 30}},
		SendQueue:      1 << 30,
		SendQueueBytes: 256 << 10,
		WriteTimeout:   time.Hour,
	})
	targets := names("target_with_a_long_name_", 500)
	e.importAccounts(targets...)
	e.importAccounts("slow")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, ids("slow"))
	w.drain()
	slow := e.loginSlowReader("slow")
	w.expect("slow", wire.StatusOnline, "", "Linux")
	get := []byte(`{"seq":2,"op":"get_status","body":{"ids":["` + strings.Join(targets, `","`) + `"]}}`)
	ctx, cancel := context.WithTimeout(t.Context(), 3*wait)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if slow.WriteMessage(websocket.TextMessage, get) != nil {
				return // the server closed the link
			}
		}
	}()
	for w.statuses("slow")[0].Type != wire.StatusOffline {
		if ctx.Err() != nil {
			t.Fatal("the slow reader was not disconnected")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.scrape()["imstatus_slow_readers_closed_total"]; n != 1 {
		t.Fatalf("imstatus_slow_readers_closed_total = %d, want 1", n)
	}
}

// countingHandler counts the records written with each message.
type countingHandler struct {
	mu   sync.Mutex
	msgs map[string]int
	held map[string]int64 // the sum of their "suppressed" attributes
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs[r.Message]++
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "suppressed" {
			h.held[r.Message] += a.Value.Int64()
		}
		return true
	})
	return nil
}

func (h *countingHandler) count(msg string) (int, int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.msgs[msg], h.held[msg]
}

// An unreachable webhook and one user's login/logout loop once wrote 41 MB
// of log in 10 s. Every line a client can trigger is rate-limited: the
// failures are counted in /metrics, and the log says how many it held back.
func TestWebhookFailuresAreLoggedAtABoundedRate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/hook"
	ln.Close() // connections to it are refused at once
	logs := &countingHandler{msgs: map[string]int{}, held: map[string]int64{}}
	e := newEnvWith(t, server.Options{
		Apps: []server.AppConfig{{SDKAppID: testApp, SecretKey: testKey, Edition: "ultimate",
			UserStatusEnabled: on(), WebhookURL: dead, RateLimitCalls: 1 << 30}},
		Logger: slog.New(logs),
	})
	e.importAccounts("looper")
	start := time.Now()
	const cycles = 200
	c := e.login("looper")
	for range cycles {
		c.mustCall(0, wire.OpLogout, nil)
		c.mustCall(0, wire.OpLogin, e.loginBody("looper", loginOpts{}))
	}
	const msg = "webhook: state change callback failed"
	deadline := time.Now().Add(wait)
	for e.scrape()["imstatus_webhook_failed_total"] < 2*cycles {
		if time.Now().After(deadline) {
			t.Fatalf("%d webhook failures counted, want %d", e.scrape()["imstatus_webhook_failed_total"], 2*cycles)
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	lines, held := logs.count(msg)
	// ratelog's defaults: a burst of 100, then 10 a second.
	if limit := 100 + int(elapsed.Seconds()*10) + 1; lines > limit {
		t.Fatalf("%d lines about %d failures in %v; the bound is %d", lines, 2*cycles, elapsed, limit)
	}
	// The lines let through say how many they stand for.
	if lines == 0 || held == 0 {
		t.Fatalf("%d lines, %d said to be held back, for %d failures", lines, held, 2*cycles)
	}
	t.Logf("%d webhook failures in %v: %d lines, saying %d more were held back", 2*cycles, elapsed, lines, held)
}
