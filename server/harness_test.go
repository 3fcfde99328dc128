package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

const (
	testApp = 1400000000
	testKey = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	// wait bounds every wait for something that must happen; it is long so
	// a loaded CI machine never flakes, and only a failing test waits it out.
	wait = 10 * time.Second
)

// env is a real server on a loopback port with one app.
type env struct {
	t     testing.TB
	srv   *server.Server
	hs    *httptest.Server
	clock *testserver.Clock // the injected time: tests move it instead of sleeping
	app   server.AppConfig
}

func on() *bool  { b := true; return &b }
func off() *bool { b := false; return &b }

// newEnv starts a server whose app has every feature on, then applies mods.
func newEnv(t testing.TB, mods ...func(*server.AppConfig)) *env {
	t.Helper()
	app := server.AppConfig{
		SDKAppID:               testApp,
		SecretKey:              testKey,
		Edition:                "ultimate",
		UserStatusEnabled:      on(),
		FriendStatusAutoNotify: off(),
	}
	for _, m := range mods {
		m(&app)
	}
	return newEnvWith(t, server.Options{Apps: []server.AppConfig{app}})
}

func newEnvWith(t testing.TB, opts server.Options) *env {
	t.Helper()
	clock, ok := opts.Clock.(*testserver.Clock)
	if !ok {
		clock = testserver.NewClock(time.Unix(1800000000, 0))
		opts.Clock = clock
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	e := &env{t: t, srv: srv, hs: hs, clock: clock, app: opts.Apps[0].WithDefaults()}
	t.Cleanup(func() {
		hs.Close()
		srv.Shutdown(t.Context())
	})
	return e
}

func (e *env) sig(user string) string {
	s, err := usersig.Generate(e.app.SecretKey, e.app.SDKAppID, user, 24*time.Hour, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) wsURL() string { return "ws" + strings.TrimPrefix(e.hs.URL, "http") + "/ws" }

// client is a test client speaking the wire protocol over a real WebSocket.
type client struct {
	t    testing.TB
	ws   *websocket.Conn
	user string

	mu      sync.Mutex
	seq     uint64
	waiting map[uint64]chan wire.ServerFrame
	pushes  chan wire.ServerFrame
	closed  chan struct{} // closed when the server closes the link
	closeCE *websocket.CloseError
	readErr []string // protocol errors seen by the reader, reported at cleanup
}

func (e *env) dial() *client {
	e.t.Helper()
	d := websocket.Dialer{Subprotocols: []string{wire.Subprotocol}, HandshakeTimeout: wait}
	ws, _, err := d.Dial(e.wsURL(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := &client{t: e.t, ws: ws, waiting: make(map[uint64]chan wire.ServerFrame),
		pushes: make(chan wire.ServerFrame, 4096), closed: make(chan struct{})}
	go c.read()
	e.t.Cleanup(func() {
		ws.Close()
		<-c.closed
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, msg := range c.readErr {
			e.t.Error(msg)
		}
	})
	return c
}

func (c *client) read() {
	defer close(c.closed)
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				c.mu.Lock()
				c.closeCE = ce
				c.mu.Unlock()
			}
			return
		}
		f, err := wire.DecodeServerFrame(msg)
		if err != nil {
			c.fail(fmt.Sprintf("server sent a bad frame %q: %v", msg, err))
			return
		}
		if f.Op == wire.OpReply {
			c.mu.Lock()
			ch := c.waiting[f.Seq]
			delete(c.waiting, f.Seq)
			c.mu.Unlock()
			if ch == nil {
				c.fail(fmt.Sprintf("reply to unknown seq %d: %s", f.Seq, msg))
				continue
			}
			ch <- f
			continue
		}
		c.pushes <- f
	}
}

// fail records a protocol error seen by the reader goroutine, which must
// not call t.Error itself: it may outlive the test.
func (c *client) fail(msg string) {
	c.mu.Lock()
	c.readErr = append(c.readErr, msg)
	c.mu.Unlock()
}

// call sends a request and waits for its reply.
func (c *client) call(op wire.Op, body any) wire.ServerFrame {
	c.t.Helper()
	return c.callRaw(func(seq uint64) []byte {
		frame := map[string]any{"seq": seq, "op": op}
		if body != nil {
			frame["body"] = body
		}
		b, _ := json.Marshal(frame)
		return b
	})
}

// loginSlowReader opens a link whose socket has a small receive buffer
// and sends user's login on it; the test then never reads it.
func (e *env) loginSlowReader(user string) *websocket.Conn {
	e.t.Helper()
	d := websocket.Dialer{
		Subprotocols: []string{wire.Subprotocol},
		NetDial: func(network, addr string) (net.Conn, error) {
			c, err := net.Dial(network, addr)
			if err == nil {
				c.(*net.TCPConn).SetReadBuffer(4096)
			}
			return c, err
		},
	}
	ws, _, err := d.Dial(e.wsURL(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { ws.Close() })
	login := `{"seq":1,"op":"login","body":{"v":1,"sdkappid":` + strconv.FormatUint(e.app.SDKAppID, 10) +
		`,"user_id":"` + user + `","user_sig":"` + e.sig(user) + `","platform":"Linux"}}`
	ws.WriteMessage(websocket.TextMessage, []byte(login))
	return ws
}

// callRaw sends the frame made for the next seq and waits for its reply.
func (c *client) callRaw(frame func(seq uint64) []byte) wire.ServerFrame {
	c.t.Helper()
	c.mu.Lock()
	c.seq++
	seq := c.seq
	ch := make(chan wire.ServerFrame, 1)
	c.waiting[seq] = ch
	c.mu.Unlock()
	b := frame(seq)
	op := gjson.GetBytes(b, "op").Str
	if len(op) > 40 {
		op = op[:40] + "…"
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("%s: write: %v", op, err)
	}
	select {
	case f := <-ch:
		return f
	case <-c.closed:
		// The reader hands over a reply before it marks the link closed.
		select {
		case f := <-ch:
			return f
		default:
		}
		c.t.Fatalf("%s: connection closed before the reply", op)
	case <-time.After(wait):
		c.t.Fatalf("%s: no reply in %v", op, wait)
	}
	return wire.ServerFrame{}
}

// mustCall calls and fails the test unless the reply's code is want.
func (c *client) mustCall(want int, op wire.Op, body any) wire.ServerFrame {
	c.t.Helper()
	f := c.call(op, body)
	if f.Code != want {
		c.t.Fatalf("%s %v: code %d (%s), want %d", op, body, f.Code, f.Desc, want)
	}
	if want != 0 && f.Desc == "" {
		c.t.Fatalf("%s: error %d without a desc", op, want)
	}
	return f
}

type loginOpts struct {
	platform, device, sig string
	data                  string // user_define_data; "" sends none
}

func (e *env) loginBody(user string, o loginOpts) map[string]any {
	if o.platform == "" {
		o.platform = "Windows"
	}
	if o.sig == "" {
		o.sig = e.sig(user)
	}
	body := map[string]any{"v": 1, "sdkappid": e.app.SDKAppID, "user_id": user,
		"user_sig": o.sig, "platform": o.platform, "device_id": o.device}
	if o.data != "" {
		body["user_define_data"] = o.data
	}
	return body
}

// login dials and logs user in; the push of its own new status stays queued.
func (e *env) login(user string, o ...loginOpts) *client {
	e.t.Helper()
	var lo loginOpts
	if len(o) > 0 {
		lo = o[0]
	}
	c := e.dial()
	c.user = user
	c.mustCall(0, wire.OpLogin, e.loginBody(user, lo))
	return c
}

// sync returns once every push caused by a login, set_status, subscribe or
// logout that completed before it has reached c: those are answered once
// their pushes are queued, and c's frames arrive in order.
func (c *client) sync() {
	c.t.Helper()
	// Setting the custom status the user already has changes nothing.
	cur := c.statuses(c.user)[0].Custom
	c.mustCall(0, wire.OpSetStatus, map[string]any{"user_status_custom_status": cur})
}

// setStatus sets c's custom status.
func (c *client) setStatus(custom string) {
	c.t.Helper()
	c.mustCall(0, wire.OpSetStatus, map[string]any{"user_status_custom_status": custom})
}

// next returns the next push.
func (c *client) next() wire.ServerFrame {
	c.t.Helper()
	select {
	case f := <-c.pushes:
		return f
	case <-time.After(wait):
		c.t.Fatalf("%s: no push in %v", c.user, wait)
	}
	return wire.ServerFrame{}
}

// expect takes pushes until a status of who arrives, and checks it. Pushes
// for other users before it are skipped.
func (c *client) expect(who string, typ wire.StatusType, custom string, devices ...string) {
	c.t.Helper()
	deadline := time.After(wait)
	closed := c.closed
	for {
		select {
		case f := <-c.pushes:
			if f.Op != wire.OpStatus {
				c.t.Fatalf("%s: push %s (%d %s) while waiting for %s's status", c.user, f.Op, f.Code, f.Desc, who)
			}
			sts, err := wire.ParseStatuses(f.Body)
			if err != nil {
				c.t.Fatal(err)
			}
			for _, s := range sts {
				if s.UserID != who {
					continue
				}
				want := wire.Status{UserID: who, Type: typ, Custom: custom, Devices: devices}
				if !s.Equal(want) {
					c.t.Fatalf("%s got %s's status %+v, want %+v", c.user, who, s, want)
				}
				return
			}
		case <-closed:
			// Pushes that arrived before the close are still to be read.
			if len(c.pushes) > 0 {
				closed = nil
				continue
			}
			c.t.Fatalf("%s: link closed while waiting for %s's status", c.user, who)
		case <-deadline:
			c.t.Fatalf("%s: no status of %s in %v", c.user, who, wait)
		}
	}
}

// quiet asserts that no push is waiting after a sync.
func (c *client) quiet() {
	c.t.Helper()
	c.sync()
	select {
	case f := <-c.pushes:
		c.t.Fatalf("%s: unexpected push %s %s", c.user, f.Op, f.Body.Raw)
	default:
	}
}

// drain discards the pushes already received, after a sync.
func (c *client) drain() {
	c.t.Helper()
	c.sync()
	for {
		select {
		case <-c.pushes:
		default:
			return
		}
	}
}

// waitClosed waits until the server closes the link and returns the close error (may be nil).
func (c *client) waitClosed() *websocket.CloseError {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(wait):
		c.t.Fatalf("%s: link not closed in %v", c.user, wait)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCE
}

func (c *client) statuses(ids ...string) []wire.Status {
	c.t.Helper()
	f := c.mustCall(0, wire.OpGetStatus, map[string]any{"ids": ids})
	sts, err := wire.ParseStatuses(f.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return sts
}

// rest calls the REST API as the given identifier and returns the answer.
func (e *env) rest(identifier, path string, body any) gjson.Result {
	e.t.Helper()
	q := url.Values{"sdkappid": {fmt.Sprint(e.app.SDKAppID)}, "identifier": {identifier},
		"usersig": {e.sig(identifier)}, "random": {"12345"}, "contenttype": {"json"}}
	return e.restRaw(path+"?"+q.Encode(), body)
}

func (e *env) restRaw(pathQuery string, body any) gjson.Result {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = strings.NewReader(string(j))
	}
	resp, err := http.Post(e.hs.URL+pathQuery, "application/json", rd)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		e.t.Fatalf("REST %s: HTTP %d", pathQuery, resp.StatusCode)
	}
	out, _ := io.ReadAll(resp.Body)
	if !gjson.ValidBytes(out) {
		e.t.Fatalf("REST %s: answer is not JSON: %s", pathQuery, out)
	}
	return gjson.ParseBytes(out)
}

// importAccounts creates accounts through the REST API.
func (e *env) importAccounts(ids ...string) {
	e.t.Helper()
	for len(ids) > 0 {
		n := min(100, len(ids))
		r := e.rest(e.app.Admin, "/v4/im_open_login_svc/multiaccount_import", map[string]any{"Accounts": ids[:n]})
		if r.Get("ActionStatus").Str != "OK" {
			e.t.Fatalf("import: %s", r.Raw)
		}
		ids = ids[n:]
	}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}
