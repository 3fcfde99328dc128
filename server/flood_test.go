package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/wire"
)

// pipeListener hands the server the far ends of in-memory pipes: a write to
// a client that does not read blocks at once, with no kernel buffer to
// fill first.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, errors.New("listener closed")
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// A user floods status changes while one of its subscribers reads nothing:
// the subscriber's queue keeps only the newest pending status of that user,
// so it is not disconnected as a slow reader, and once it reads it gets the
// final status.
func TestStatusFloodDoesNotDropSlowSubscribers(t *testing.T) {
	e := newEnvWith(t, server.Options{
		Apps: []server.AppConfig{{SDKAppID: testApp, SecretKey: testKey, Edition: "ultimate",
			UserStatusEnabled: on(), RateLimitCalls: 1 << 30, FanoutsPerSecond: noFanoutCap, FanoutBurst: noFanoutCap}},
		SendQueue: 16,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	e.importAccounts("x", "w")

	// w's link is an in-memory pipe to the same server.
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	hs := &http.Server{Handler: e.srv.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	d := websocket.Dialer{Subprotocols: []string{wire.Subprotocol}, HandshakeTimeout: wait,
		NetDialContext: func(context.Context, string, string) (net.Conn, error) {
			client, srv := net.Pipe()
			ln.conns <- srv
			return client, nil
		}}
	ws, _, err := d.Dial("ws://pipe/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(wait))
	login := `{"seq":1,"op":"login","body":{"v":1,"sdkappid":` + strconv.Itoa(testApp) + `,"user_id":"w","user_sig":"` + e.sig("w") + `","platform":"Linux"}}`
	rawCall(t, ws, []byte(login))
	rawCall(t, ws, idsRequest(wire.OpSubscribe, []string{"x"}))

	// w stops reading; x changes its status 1,000 times (a queue of 16).
	x := e.login("x")
	const n = 1000
	for i := range n {
		x.setStatus("change " + strconv.Itoa(i))
	}
	x.drain()

	// w reads again: its link is alive, and the last it hears of x is the
	// final change. The statuses it hears of x never go back.
	last, prev := "", -1
	for last != "change "+strconv.Itoa(n-1) {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("w's link: %v (after %q): a flooding user got its subscriber disconnected", err, last)
		}
		gjson.GetBytes(msg, "body").ForEach(func(_, s gjson.Result) bool {
			if s.Get("user_status_identifier").Str != "x" {
				return true
			}
			last = s.Get("user_status_custom_status").Str
			if num, ok := strings.CutPrefix(last, "change "); ok {
				k, _ := strconv.Atoi(num)
				if k < prev {
					t.Fatalf("x's statuses went back: %d after %d", k, prev)
				}
				prev = k
			}
			return true
		})
	}
	if s := e.scrape()["imstatus_statuses_superseded_total"]; s == 0 {
		t.Fatal("no status was superseded: the test did not flood w's queue")
	}
}

// One user changing in a loop is fanned out a few times a second: past the
// per-user cap its changes wait for the sweep, merged, and its watchers
// hear its final status once (W4: a flooding user used to cost everyone
// on its watchers' node latency).
func TestFanoutCapMergesAFlood(t *testing.T) {
	e := newEnv(t, func(a *server.AppConfig) {
		a.RateLimitCalls = 1 << 30
		a.FanoutsPerSecond, a.FanoutBurst = 2, 4
	})
	e.importAccounts("x")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, ids("x"))
	w.drain()
	x := e.login("x") // one token of x's four
	w.expect("x", wire.StatusOnline, "", "Windows")

	heard := func() []string {
		w.sync()
		var out []string
		for {
			select {
			case f := <-w.pushes:
				sts, _ := wire.ParseStatuses(f.Body)
				for _, s := range sts {
					if s.UserID == "x" {
						out = append(out, s.Custom)
					}
				}
			default:
				return out
			}
		}
	}
	const n = 30
	for i := range n {
		x.setStatus("c" + strconv.Itoa(i))
	}
	// The burst's three go out; w's queue may replace one still queued
	// with the next (a newer status of the same user supersedes it), so w
	// hears c2 last, after any of c0 and c1, in order, and nothing past it.
	if got := strings.Join(heard(), ","); !slices.Contains([]string{"c0,c1,c2", "c0,c2", "c1,c2", "c2"}, got) {
		t.Fatalf("w heard x's flood as %v; want the burst's three, c0 to c2 (or the later of them, superseded in w's queue)", got)
	}
	// The sweep after a second sends the newest held change, once.
	e.clock.Advance(time.Second)
	e.srv.Sweep()
	if got := heard(); strings.Join(got, ",") != "c29" {
		t.Fatalf("after the sweep w heard %v; want x's last status, c29, once", got)
	}
	e.clock.Advance(time.Second)
	e.srv.Sweep()
	w.quiet()
	m := e.scrape()
	if held, merged := m["imstatus_fanouts_held_total"], m["imstatus_fanouts_merged_total"]; held != n-3 || merged != n-4 {
		t.Fatalf("held %d, merged %d; want %d and %d", held, merged, n-3, n-4)
	}
}
