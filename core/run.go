package core

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/imstatus/imstatus/wire"
)

// run is the connection manager of one login: it connects (failing over
// across the addresses with jittered exponential backoff), logs in,
// restores subscriptions after a reconnect, sends heartbeats and notices a
// dead link. first gets the outcome of the first login.
func (c *Client) run(ctx context.Context, done chan struct{}, first chan<- error) {
	defer close(done)
	defer func() {
		// A panic here would end the host process: log out instead.
		if r := recover(); r != nil {
			c.log.Error("connection manager failed", "panic", r)
			c.end(nil, wire.Errorf(wire.CodeServerInternal, "internal error in the SDK: %v", r))
			select {
			case first <- wire.Errorf(wire.CodeServerInternal, "internal error in the SDK: %v", r):
			default:
			}
		}
	}()
	var (
		attempt  int  // failed attempts since the last good session
		next     int  // index of the next address to try
		loggedIn bool // the first login has succeeded
	)
	fail := func(err *wire.Error) {
		if !loggedIn {
			first <- err
		}
	}
	for ctx.Err() == nil {
		if attempt > 0 && !c.sleep(ctx, c.backoff(attempt)) {
			break
		}
		addrs := c.Servers()
		if len(addrs) == 0 {
			fail(wire.Errorf(wire.CodeInvalidParams, "no server address"))
			c.end(nil, ErrNotLoggedIn)
			return
		}
		addr := addrs[next%len(addrs)]
		c.events.emit(NetworkChanged{Status: Connecting})
		s, reply, err := c.connect(ctx, addr)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var we *wire.Error
			if errors.As(err, &we) && fatalLogin(we.Code) {
				// The server refused this user: retrying cannot help.
				c.events.emit(NetworkChanged{Status: ConnectFailed, Code: we.Code, Desc: we.Desc})
				if loggedIn && (we.Code == wire.CodeSigExpired) {
					c.end(UserSigExpired{Code: we.Code, Desc: we.Desc}, &wire.Error{Code: wire.CodeSigExpiredLocal, Desc: we.Desc})
				} else {
					c.end(nil, ErrNotLoggedIn)
				}
				fail(we)
				return
			}
			code, desc := wire.CodeNetwork, err.Error()
			if errors.As(err, &we) {
				code, desc = we.Code, we.Desc
			}
			c.log.Info("connection attempt failed", "addr", addr, "err", err)
			c.mu.Lock()
			c.lastConnErr = desc
			c.mu.Unlock()
			c.events.emit(NetworkChanged{Status: ConnectFailed, Code: code, Desc: desc})
			attempt++
			next++
			continue
		}
		interval := c.heartbeatInterval(reply)
		// Every heartbeat is answered, so three intervals of silence mean
		// the link is dead even if no FIN or RST ever arrives.
		s.setReadTimeout(3 * interval)
		if loggedIn {
			if err := c.restoreSubscriptions(ctx, s); err != nil {
				// Without the restore's snapshots the app would never hear
				// what changed while it was away: this link is given up,
				// and the next one (the next server, after a pause)
				// restores again.
				s.end(endClosed, 0, "")
				if ctx.Err() != nil {
					break
				}
				c.log.Warn("restoring subscriptions failed; reconnecting", "addr", addr, "err", err)
				c.events.emit(NetworkChanged{Status: ConnectFailed, Code: wire.CodeNetwork, Desc: err.Error()})
				attempt++
				next++
				continue
			}
		}
		c.mu.Lock()
		if ctx.Err() != nil || c.state == Logouting {
			// Ended (end cancels ctx under mu), or a logout that found no
			// link is ending it: this link is not the client's.
			c.mu.Unlock()
			s.end(endClosed, 0, "")
			break
		}
		lr := wire.ParseLoginReply(reply.Body)
		c.limits = lr.Limits
		if lr.ServerTime > 0 {
			c.serverTime, c.serverTimeAt = time.UnixMilli(lr.ServerTime), time.Now()
		}
		c.sess = s
		c.state = Logined
		c.broadcast()
		c.mu.Unlock()
		c.log.Info("logged in", "addr", addr, "user", c.UserID())
		c.events.emit(NetworkChanged{Status: Connected})
		if !loggedIn {
			loggedIn = true
			first <- nil
		}
		attempt = 0

		how, code, desc := c.serve(ctx, s, interval)
		c.mu.Lock()
		if c.sess == s {
			c.sess = nil
			c.broadcast()
		}
		c.mu.Unlock()
		switch how {
		case endClosed:
			return
		case endKicked:
			c.end(KickedOffline{Code: code, Desc: desc}, &wire.Error{Code: wire.CodeKickedOffline, Desc: desc})
			return
		case endSigExpired:
			c.end(UserSigExpired{Code: code, Desc: desc}, &wire.Error{Code: wire.CodeSigExpiredLocal, Desc: desc})
			return
		}
		c.log.Info("disconnected; reconnecting", "addr", addr, "reason", desc)
		c.events.emit(NetworkChanged{Status: Disconnected, Code: code, Desc: desc})
		attempt = 1 // a short, jittered pause: a server that went away takes its clients with it
		if how == endShutdown {
			next++ // that server is going away: fail over
		}
	}
	if !loggedIn {
		first <- wire.Errorf(wire.CodeTimeout, "login cancelled")
	}
}

// fatalLogin reports whether a login refusal will not change on retry.
func fatalLogin(code int) bool {
	switch code {
	case wire.CodeSigExpired, wire.CodeSigEmpty, wire.CodeSigInvalid, wire.CodeSigIdentifier,
		wire.CodeSigSDKAppID, wire.CodeServerParams, wire.CodeInvalidParams:
		return true
	}
	return false
}

// connect dials addr and logs in over it.
func (c *Client) connect(ctx context.Context, addr string) (*session, wire.ServerFrame, error) {
	c.mu.Lock()
	tlsConfig := c.tlsConfig
	c.mu.Unlock()
	d := websocket.Dialer{
		Subprotocols:     []string{wire.Subprotocol},
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		TLSClientConfig:  tlsConfig,
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, resp, err := d.DialContext(dctx, wsURL(addr), http.Header{"User-Agent": {"imstatus-core/" + Version}})
	if err != nil {
		if resp != nil {
			return nil, wire.ServerFrame{}, wire.Errorf(wire.CodeNetwork, "connecting to %s: HTTP %d", addr, resp.StatusCode)
		}
		return nil, wire.ServerFrame{}, wire.Errorf(wire.CodeNetwork, "connecting to %s: %v", addr, err)
	}
	s := newSession(ws, addr, c.onStatus)
	c.mu.Lock()
	user, sig := c.userID, c.userSig
	// The cache keeps its versions across links: every server numbers a
	// user's statuses from one sequence that is at least its clock in µs
	// (docs/PROTOCOL.md), so a status older than one reported on the last
	// link is older still on this one — a dead node's resent status, say.
	c.mu.Unlock()
	body := wire.AppendLoginBody(nil, wire.LoginBody{Version: wire.Version, SDKAppID: c.cfg.SDKAppID,
		UserID: user, UserSig: sig, Platform: c.cfg.Platform, DeviceID: c.cfg.DeviceID, UserDefineData: c.userDefineData()})
	lctx, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	f, err := s.request(lctx, wire.OpLogin, body)
	if err != nil {
		s.end(endClosed, 0, "")
		if errors.Is(err, errSessionLost) {
			_, code, desc := s.reason()
			return nil, f, &wire.Error{Code: orCode(code, wire.CodeNetwork), Desc: desc}
		}
		return nil, f, err
	}
	if f.Code != 0 {
		s.end(endClosed, 0, "")
		return nil, f, &wire.Error{Code: f.Code, Desc: orDesc(f.Desc, "login refused")}
	}
	return s, f, nil
}

// wsURL turns "host:port" into the gateway URL; full ws(s):// URLs pass.
func wsURL(addr string) string {
	if strings.HasPrefix(addr, "ws://") || strings.HasPrefix(addr, "wss://") {
		return addr
	}
	return "ws://" + addr + "/ws"
}

func (c *Client) heartbeatInterval(reply wire.ServerFrame) time.Duration {
	if c.cfg.HeartbeatInterval > 0 {
		return c.cfg.HeartbeatInterval
	}
	if ms := wire.ParseLoginReply(reply.Body).HeartbeatInterval; ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return 30 * time.Second
}

// serve keeps a logged-in session alive until it ends or ctx is done, and
// returns how it ended.
func (c *Client) serve(ctx context.Context, s *session, interval time.Duration) (how, code int, desc string) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.end(endClosed, 0, "")
			return endClosed, 0, ""
		case <-s.done:
			return s.reason()
		case <-t.C:
			hctx, cancel := context.WithTimeout(ctx, 2*interval)
			_, err := s.request(hctx, wire.OpHeartbeat, nil)
			cancel()
			if err != nil && !errors.Is(err, errSessionLost) && ctx.Err() == nil {
				s.end(endIO, wire.CodeNetwork, "the server stopped answering heartbeats")
			}
		}
	}
}

// restoreWaitMax is the longest pause between the tries of a restoring
// subscribe that the server answered busy (70503), failed (70500) or
// refused for the rate limit (7008): 250 ms, 0.5 s, 1 s, then 2 s apart,
// for at most RequestTimeout in all (meanwhile the app's calls wait for
// the link). Past that the link is given up and the next one restores.
const restoreWaitMax = 2 * time.Second

// restoreSubscriptions subscribes again, oldest first, to everything the
// client followed; the server answers each with the current state, which
// onStatus compares with what was last reported. It fails when the link
// went, or when the server could not take a subscribe within
// RequestTimeout: the caller then restores on a new link.
func (c *Client) restoreSubscriptions(ctx context.Context, s *session) error {
	c.mu.Lock()
	subs := append([]string(nil), c.subs...)
	batch := c.limitsLocked().MaxSubscribeIDs
	c.mu.Unlock()
	deadline := time.Now().Add(c.cfg.RequestTimeout)
	for len(subs) > 0 {
		n := min(batch, len(subs))
		var f wire.ServerFrame
		for attempt := 0; ; attempt++ {
			rctx, cancel := context.WithDeadline(ctx, deadline)
			var err error
			f, err = s.request(rctx, wire.OpSubscribe, wire.AppendIDsBody(nil, subs[:n]))
			cancel()
			if err != nil {
				return err
			}
			// A busy or failing server (a reconnect storm on a cluster, a
			// Redis still loading) is asked again: without the answer's
			// snapshot the app would not hear what changed while it was
			// away.
			if !retryRestore(f.Code) {
				break
			}
			wait := min(250*time.Millisecond<<min(attempt, 4), restoreWaitMax)
			if time.Until(deadline) < wait {
				return wire.Errorf(f.Code, "the server did not take the subscriptions back: %s", f.Desc)
			}
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if f.Code == wire.CodeAccountNotFound {
			// A server that restarted without its accounts: subscribe to
			// the users it knows; the others stay on the list, for the next
			// reconnect or an explicit Subscribe.
			missing, _ := wire.ParseIDs(f.Body)
			rest := slices.DeleteFunc(slices.Clone(subs[:n]), func(id string) bool { return slices.Contains(missing, id) })
			if len(missing) > 0 && len(rest) > 0 && len(rest) < n {
				rctx, cancel := context.WithDeadline(ctx, deadline)
				var err error
				f, err = s.request(rctx, wire.OpSubscribe, wire.AppendIDsBody(nil, rest))
				cancel()
				if err != nil {
					return err
				}
				if retryRestore(f.Code) {
					return wire.Errorf(f.Code, "the server did not take the subscriptions back: %s", f.Desc)
				}
			}
			c.log.Warn("restoring subscriptions: users unknown to the server", "ids", missing)
		}
		if f.Code != 0 && f.Code != wire.CodeAccountNotFound {
			// Retrying cannot help (a list the server's limits refuse).
			c.log.Warn("restoring subscriptions", "code", f.Code, "desc", f.Desc)
		}
		subs = subs[n:]
	}
	return nil
}

// retryRestore reports whether a restoring subscribe refused with code
// may pass if sent again.
func retryRestore(code int) bool {
	switch code {
	case wire.CodeServerOverloaded, wire.CodeServerInternal, wire.CodeRateLimited:
		return true
	}
	return false
}

// userDefineData is the login's user_define_data: Config.UserDefineData's,
// when the server would take it.
func (c *Client) userDefineData() string {
	if c.cfg.UserDefineData == nil {
		return ""
	}
	d := c.cfg.UserDefineData()
	if len(d) > wire.MaxUserDefineData || !utf8.ValidString(d) {
		c.log.Warn("user_define_data left out of the login: not UTF-8 of at most 64 bytes", "bytes", len(d))
		return ""
	}
	return d
}

// onStatus reports the statuses that differ from what was last reported:
// after a resubscribe the server sends the current state of everything,
// and only what changed while the client was away is news. json is the C
// API's JSON of sts cut from the push ("" if it could not be); it goes
// with the event when every status in it is news.
func (c *Client) onStatus(sts []wire.Status, json string) {
	c.statusMu.Lock()
	defer c.statusMu.Unlock()
	var changed []wire.Status
	c.mu.Lock()
	for _, st := range sts {
		if st.Version != 0 && st.Version < c.floor[st.UserID] {
			continue // older than one reported before a logout
		}
		if old, ok := c.cache[st.UserID]; ok {
			if st.Stale(old) {
				// Overtaken by a newer status already reported: a
				// subscribe's snapshot read before a change whose push
				// arrived first.
				continue
			}
			if old.Equal(st) {
				c.cache[st.UserID] = st // the same, at a newer version
				continue
			}
		}
		c.cache[st.UserID] = st
		changed = append(changed, st)
	}
	c.mu.Unlock()
	if len(changed) < len(sts) {
		json = ""
	}
	if len(changed) > 0 {
		c.events.emit(StatusChanged{Statuses: changed, JSON: json})
	}
}

// backoff is the wait before attempt n (n ≥ 1): exponential from
// BackoffMin, capped at BackoffMax, with equal jitter so that clients
// dropped together do not come back together.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.BackoffMin
	for i := 1; i < n && d < c.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.BackoffMax)
	half := d / 2
	return half + rand.N(half+1)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
