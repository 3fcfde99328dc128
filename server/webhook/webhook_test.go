package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// waitLimit bounds every wait on a channel; nothing here should come close.
const waitLimit = 10 * time.Second

const okAnswer = `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`

// captured is what the test server saw of one request.
type captured struct {
	method      string
	path        string
	rawQuery    string
	contentType string
	body        string
}

// newServer starts a loopback server that reports each request on the
// returned channel and answers with answer.
func newServer(t *testing.T, answer func(w http.ResponseWriter)) (*httptest.Server, <-chan captured) {
	t.Helper()
	reqs := make(chan captured, 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reqs <- captured{
			method:      r.Method,
			path:        r.URL.Path,
			rawQuery:    r.URL.RawQuery,
			contentType: r.Header.Get("Content-Type"),
			body:        string(body),
		}
		answer(w)
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

// answerWith returns an answer function writing status and body.
func answerWith(status int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// recordHandler is a slog.Handler that forwards records to a channel.
type recordHandler struct{ ch chan slog.Record }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.ch <- r.Clone():
	default:
	}
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

// newLogger returns a logger whose records arrive on the returned channel.
func newLogger() (*slog.Logger, chan slog.Record) {
	ch := make(chan slog.Record, 1000)
	return slog.New(recordHandler{ch: ch}), ch
}

// waitLog waits for the next record whose message contains msg.
func waitLog(t *testing.T, logs <-chan slog.Record, msg string) slog.Record {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case r := <-logs:
			if strings.Contains(r.Message, msg) {
				return r
			}
		case <-deadline:
			t.Fatalf("no log record %q within %v", msg, waitLimit)
		}
	}
}

// attrs returns the attributes of r by key.
func attrs(r slog.Record) map[string]slog.Value {
	m := map[string]slog.Value{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value
		return true
	})
	return m
}

// waitRequest waits for the next request seen by a test server.
func waitRequest(t *testing.T, reqs <-chan captured) captured {
	t.Helper()
	select {
	case c := <-reqs:
		return c
	case <-time.After(waitLimit):
		t.Fatalf("no request within %v", waitLimit)
		return captured{}
	}
}

// closeSender closes s, failing the test if draining does not finish.
func closeSender(t *testing.T, s *Sender) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestNewDefaults(t *testing.T) {
	s := New(Options{})
	defer closeSender(t, s)
	if s.timeout != DefaultTimeout {
		t.Errorf("timeout = %v, want %v", s.timeout, DefaultTimeout)
	}
	if cap(s.queue) != DefaultQueueSize {
		t.Errorf("queue size = %d, want %d", cap(s.queue), DefaultQueueSize)
	}
	if s.log != slog.Default() {
		t.Errorf("logger is not slog.Default()")
	}
	if s.client == nil || s.client.CheckRedirect == nil {
		t.Errorf("default client missing or follows redirects")
	}
}

func TestRequestFormat(t *testing.T) {
	evTime := time.UnixMilli(1700000000123)
	tests := []struct {
		name      string
		ev        Event
		wantQuery string
		wantBody  string
	}{
		{
			name: "login register with kicked devices",
			ev: Event{SDKAppID: 1400000001, Action: ActionLogin, Account: "alice", Reason: ReasonRegister,
				Platform: "iPhone", ClientIP: "10.0.0.7", Kicked: []string{"Android", "Web"}, Time: evTime},
			wantQuery: "SdkAppid=1400000001&CallbackCommand=State.StateChange&contenttype=json&ClientIP=10.0.0.7&OptPlatform=iPhone",
			wantBody:  `{"CallbackCommand":"State.StateChange","EventTime":1700000000123,"Info":{"Action":"Login","To_Account":"alice","Reason":"Register"},"KickedDevice":[{"Platform":"Android"},{"Platform":"Web"}]}`,
		},
		{
			name: "login register without kicked devices",
			ev: Event{SDKAppID: 1400000001, Action: ActionLogin, Account: "alice", Reason: ReasonRegister,
				Platform: "Android", ClientIP: "10.0.0.7", Time: evTime},
			wantQuery: "SdkAppid=1400000001&CallbackCommand=State.StateChange&contenttype=json&ClientIP=10.0.0.7&OptPlatform=Android",
			wantBody:  `{"CallbackCommand":"State.StateChange","EventTime":1700000000123,"Info":{"Action":"Login","To_Account":"alice","Reason":"Register"}}`,
		},
		{
			name: "empty kicked slice is omitted",
			ev: Event{SDKAppID: 1, Action: ActionLogin, Account: "alice", Reason: ReasonRegister,
				Platform: "Web", ClientIP: "10.0.0.7", Kicked: []string{}, Time: evTime},
			wantQuery: "SdkAppid=1&CallbackCommand=State.StateChange&contenttype=json&ClientIP=10.0.0.7&OptPlatform=Web",
			wantBody:  `{"CallbackCommand":"State.StateChange","EventTime":1700000000123,"Info":{"Action":"Login","To_Account":"alice","Reason":"Register"}}`,
		},
		{
			name: "logout unregister",
			ev: Event{SDKAppID: 42, Action: ActionLogout, Account: "bob", Reason: ReasonUnregister,
				Platform: "Windows", ClientIP: "192.168.1.2", Time: evTime},
			wantQuery: "SdkAppid=42&CallbackCommand=State.StateChange&contenttype=json&ClientIP=192.168.1.2&OptPlatform=Windows",
			wantBody:  `{"CallbackCommand":"State.StateChange","EventTime":1700000000123,"Info":{"Action":"Logout","To_Account":"bob","Reason":"Unregister"}}`,
		},
		{
			name: "disconnect link close",
			ev: Event{SDKAppID: 42, Action: ActionDisconnect, Account: "carol", Reason: ReasonLinkClose,
				Platform: "Mac", ClientIP: "::1", Time: evTime},
			wantQuery: "SdkAppid=42&CallbackCommand=State.StateChange&contenttype=json&ClientIP=%3A%3A1&OptPlatform=Mac",
			wantBody:  `{"CallbackCommand":"State.StateChange","EventTime":1700000000123,"Info":{"Action":"Disconnect","To_Account":"carol","Reason":"LinkClose"}}`,
		},
		{
			name: "disconnect timeout with escaped values",
			ev: Event{SDKAppID: 42, Action: ActionDisconnect, Account: `d"ave`, Reason: ReasonTimeOut,
				Platform: "Windows Phone&x=1", ClientIP: "", Time: evTime},
			wantQuery: "SdkAppid=42&CallbackCommand=State.StateChange&contenttype=json&ClientIP=&OptPlatform=Windows+Phone%26x%3D1",
			wantBody:  `{"CallbackCommand":"State.StateChange","EventTime":1700000000123,"Info":{"Action":"Disconnect","To_Account":"d\"ave","Reason":"TimeOut"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := newServer(t, answerWith(http.StatusOK, okAnswer))
			logger, logs := newLogger()
			s := New(Options{Logger: logger})
			if !s.Send(srv.URL+"/im/callback", tt.ev) {
				t.Fatal("Send returned false")
			}
			got := waitRequest(t, reqs)
			closeSender(t, s)

			if got.method != http.MethodPost {
				t.Errorf("method = %q, want POST", got.method)
			}
			if got.path != "/im/callback" {
				t.Errorf("path = %q, want /im/callback", got.path)
			}
			if got.contentType != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got.contentType)
			}
			if got.rawQuery != tt.wantQuery {
				t.Errorf("query =\n  %s\nwant\n  %s", got.rawQuery, tt.wantQuery)
			}
			q, err := url.ParseQuery(got.rawQuery)
			if err != nil {
				t.Fatalf("query does not parse: %v", err)
			}
			if q.Get("OptPlatform") != tt.ev.Platform || q.Get("ClientIP") != tt.ev.ClientIP {
				t.Errorf("decoded OptPlatform=%q ClientIP=%q, want %q %q",
					q.Get("OptPlatform"), q.Get("ClientIP"), tt.ev.Platform, tt.ev.ClientIP)
			}
			if got.body != tt.wantBody {
				t.Errorf("body =\n  %s\nwant\n  %s", got.body, tt.wantBody)
			}
			if st := s.Stats(); st != (Stats{Sent: 1}) {
				t.Errorf("Stats = %+v, want Sent 1", st)
			}
			select {
			case r := <-logs:
				t.Errorf("unexpected log: %s %v", r.Message, attrs(r))
			default:
			}
		})
	}
}

func TestURLWithQuery(t *testing.T) {
	ev := Event{SDKAppID: 7, Action: ActionLogin, Account: "a", Reason: ReasonRegister,
		Platform: "Web", ClientIP: "1.2.3.4", Time: time.UnixMilli(1)}
	const params = "SdkAppid=7&CallbackCommand=State.StateChange&contenttype=json&ClientIP=1.2.3.4&OptPlatform=Web"
	tests := []struct {
		name      string
		suffix    string
		wantQuery string
	}{
		{"no query", "/cb", params},
		{"empty query", "/cb?", params},
		{"existing query", "/cb?token=a%2Fb&x=1", "token=a%2Fb&x=1&" + params},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := newServer(t, answerWith(http.StatusOK, okAnswer))
			s := New(Options{Logger: slog.New(slog.DiscardHandler)})
			if !s.Send(srv.URL+tt.suffix, ev) {
				t.Fatal("Send returned false")
			}
			got := waitRequest(t, reqs)
			closeSender(t, s)
			if got.path != "/cb" {
				t.Errorf("path = %q, want /cb", got.path)
			}
			if got.rawQuery != tt.wantQuery {
				t.Errorf("query =\n  %s\nwant\n  %s", got.rawQuery, tt.wantQuery)
			}
			if st := s.Stats(); st.Sent != 1 {
				t.Errorf("Stats = %+v, want Sent 1", st)
			}
		})
	}
}

func TestEmptyURLIsNoop(t *testing.T) {
	s := New(Options{Logger: slog.New(slog.DiscardHandler)})
	if !s.Send("", Event{Account: "a"}) {
		t.Error("Send with empty url returned false")
	}
	closeSender(t, s)
	if !s.Send("", Event{Account: "a"}) {
		t.Error("Send with empty url after Close returned false")
	}
	if st := s.Stats(); st != (Stats{}) {
		t.Errorf("Stats = %+v, want zero", st)
	}
}

func TestZeroTimeUsesSendTime(t *testing.T) {
	srv, reqs := newServer(t, answerWith(http.StatusOK, okAnswer))
	s := New(Options{Logger: slog.New(slog.DiscardHandler)})
	before := time.Now().UnixMilli()
	s.Send(srv.URL, Event{Action: ActionLogin, Account: "a", Reason: ReasonRegister})
	after := time.Now().UnixMilli()
	got := waitRequest(t, reqs)
	closeSender(t, s)
	var body struct{ EventTime int64 }
	if err := json.Unmarshal([]byte(got.body), &body); err != nil {
		t.Fatal(err)
	}
	if body.EventTime < before || body.EventTime > after {
		t.Errorf("EventTime = %d, want within [%d, %d]", body.EventTime, before, after)
	}
}

func TestHangingEndpoint(t *testing.T) {
	release := make(chan struct{})
	srv, reqs := newServer(t, func(http.ResponseWriter) { <-release })
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	const timeout = 100 * time.Millisecond
	logger, logs := newLogger()
	s := New(Options{Timeout: timeout, Workers: 4, Logger: logger})

	start := time.Now()
	for i := range 100 {
		if !s.Send(srv.URL, Event{Action: ActionLogin, Account: "user" + strconv.Itoa(i), Reason: ReasonRegister}) {
			t.Fatalf("Send %d returned false", i)
		}
	}
	if elapsed := time.Since(start); elapsed >= time.Second { // blocking Sends would take 100/4 timeouts: 2.5 s
		t.Fatalf("100 Sends took %v; Send must not block", elapsed)
	}

	waitRequest(t, reqs)
	r := waitLog(t, logs, "callback failed")
	elapsed := time.Since(start)
	if elapsed < timeout {
		t.Errorf("request failed after %v, before the %v timeout", elapsed, timeout)
	}
	if elapsed >= DefaultTimeout {
		t.Errorf("request abandoned after %v, want about %v", elapsed, timeout)
	}
	a := attrs(r)
	if a["url"].String() != srv.URL || !strings.HasPrefix(a["account"].String(), "user") {
		t.Errorf("log attrs = %v, want url and account", a)
	}
	if err, ok := a["error"].Any().(error); !ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("logged error = %v, want context.DeadlineExceeded", a["error"])
	}
	if st := s.Stats(); st.Failed < 1 || st.Sent != 0 {
		t.Errorf("Stats = %+v, want Failed >= 1 and Sent 0", st)
	}

	// Closing with a short deadline gives up on the rest of the queue.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want context.DeadlineExceeded", err)
	}
	st := s.Stats()
	if st.Sent != 0 || st.Failed+st.Dropped != 100 || st.Dropped == 0 {
		t.Errorf("Stats after Close = %+v, want Failed+Dropped = 100 with some Dropped", st)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestQueueFull(t *testing.T) {
	gate := make(chan struct{})
	srv, reqs := newServer(t, func(w http.ResponseWriter) {
		<-gate
		answerWith(http.StatusOK, okAnswer)(w)
	})
	var gateOnce atomic.Bool
	openGate := func() {
		if gateOnce.CompareAndSwap(false, true) {
			close(gate)
		}
	}
	t.Cleanup(openGate)

	logger, logs := newLogger()
	s := New(Options{Workers: 1, QueueSize: 2, Logger: logger})
	ev := Event{Action: ActionLogin, Account: "a", Reason: ReasonRegister}

	// The only worker takes the first event and blocks on the gate.
	if !s.Send(srv.URL, ev) {
		t.Fatal("first Send returned false")
	}
	waitRequest(t, reqs)
	// Fill the queue.
	for i := range 2 {
		if !s.Send(srv.URL, ev) {
			t.Fatalf("Send %d into a non-full queue returned false", i)
		}
	}
	// Now it is full.
	for i := range 5 {
		if s.Send(srv.URL, ev) {
			t.Fatalf("Send %d into a full queue returned true", i)
		}
	}
	if st := s.Stats(); st.Dropped != 5 {
		t.Errorf("Dropped = %d, want 5", st.Dropped)
	}
	r := waitLog(t, logs, "event dropped")
	if a := attrs(r); a["reason"].String() != "queue full" || a["url"].String() != srv.URL {
		t.Errorf("drop log attrs = %v", a)
	}
	// The warning is rate-limited: one record for the burst.
	select {
	case r := <-logs:
		t.Errorf("second log record for the same burst: %s %v", r.Message, attrs(r))
	default:
	}

	openGate()
	closeSender(t, s)
	if st := s.Stats(); st != (Stats{Sent: 3, Dropped: 5}) {
		t.Errorf("Stats = %+v, want Sent 3 Dropped 5", st)
	}
}

func TestFailingAnswers(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{"ActionStatus FAIL", http.StatusOK, `{"ActionStatus":"FAIL","ErrorCode":1}`, `ActionStatus="FAIL"`},
		{"non-zero ErrorCode", http.StatusOK, `{"ActionStatus":"OK","ErrorCode":2,"ErrorInfo":"x"}`, "ErrorCode=2"},
		{"HTTP 500 with OK body", http.StatusInternalServerError, okAnswer, "500"},
		{"HTTP 500 empty", http.StatusInternalServerError, "", "500"},
		{"redirect", http.StatusFound, "", "302"},
		{"not JSON", http.StatusOK, "OK", "decoding answer"},
		{"answer over 64 KiB", http.StatusOK, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"` + strings.Repeat("x", 70<<10) + `"}`, "decoding answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := newServer(t, answerWith(tt.status, tt.body))
			logger, logs := newLogger()
			s := New(Options{Logger: logger})
			if !s.Send(srv.URL, Event{Action: ActionLogout, Account: "bob", Reason: ReasonUnregister}) {
				t.Fatal("Send returned false")
			}
			waitRequest(t, reqs)
			r := waitLog(t, logs, "callback failed")
			closeSender(t, s)
			if r.Level != slog.LevelWarn {
				t.Errorf("level = %v, want WARN", r.Level)
			}
			a := attrs(r)
			if a["url"].String() != srv.URL || a["account"].String() != "bob" {
				t.Errorf("log attrs = %v, want url and account", a)
			}
			if !strings.Contains(a["error"].String(), tt.wantErr) {
				t.Errorf("logged error = %q, want it to contain %q", a["error"], tt.wantErr)
			}
			if st := s.Stats(); st != (Stats{Failed: 1}) {
				t.Errorf("Stats = %+v, want Failed 1", st)
			}
			// No retries.
			select {
			case <-reqs:
				t.Error("failed event was retried")
			default:
			}
		})
	}
}

func TestCloseDrains(t *testing.T) {
	gate := make(chan struct{})
	srv, reqs := newServer(t, func(w http.ResponseWriter) {
		<-gate
		answerWith(http.StatusOK, okAnswer)(w)
	})
	logger, logs := newLogger()
	s := New(Options{Workers: 1, Logger: logger})
	ev := Event{Action: ActionDisconnect, Account: "a", Reason: ReasonLinkClose}

	if !s.Send(srv.URL, ev) {
		t.Fatal("Send returned false")
	}
	waitRequest(t, reqs) // the worker is now busy; the rest stays queued
	for i := range 9 {
		if !s.Send(srv.URL, ev) {
			t.Fatalf("Send %d returned false", i)
		}
	}

	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v before the queue was drained", err)
	default:
	}
	close(gate)
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close = %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Close did not return")
	}
	for range 9 {
		waitRequest(t, reqs)
	}
	if st := s.Stats(); st != (Stats{Sent: 10}) {
		t.Errorf("Stats = %+v, want Sent 10", st)
	}

	// Closed: Send refuses and counts a drop; Close is idempotent.
	if s.Send(srv.URL, ev) {
		t.Error("Send after Close returned true")
	}
	if st := s.Stats(); st.Dropped != 1 {
		t.Errorf("Dropped = %d, want 1", st.Dropped)
	}
	if a := attrs(waitLog(t, logs, "event dropped")); a["reason"].String() != "sender closed" {
		t.Errorf("drop reason = %v, want sender closed", a["reason"])
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
}
