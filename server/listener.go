package server

import (
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Listener wraps ln so that a failed Accept — the open-file limit reached,
// most often — is counted (imstatus_accept_errors_total) and logged as a
// warning, rate-limited like every log line; net/http alone only retries
// it, quietly, while real clients time out. Its connections also count the
// HTTP timeouts that end them (imstatus_http_timeouts_total) when the
// http.Server's ConnState is the Server's ConnState.
func (s *Server) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, s: s} }

type listener struct {
	net.Listener
	s *Server
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		if !errors.Is(err, net.ErrClosed) {
			l.s.metrics.acceptErrors.Add(1)
			l.s.log.Warn("accepting a connection failed (the open-file limit?); retrying", "err", err)
		}
		return c, err
	}
	return &timedConn{Conn: c, m: &l.s.metrics}, nil
}

// timedConn notes the HTTP state of its connection, so that a read that
// times out — net/http's deadlines — is counted under the phase it ended:
// waiting for a first request's headers, for a request's body, or for the
// next request of an idle keep-alive connection. A WebSocket link's own
// deadlines, once hijacked, are not counted here; nor is net/http ending a
// read on purpose by a deadline already past (it does, after each request).
type timedConn struct {
	net.Conn
	m       *metrics
	state   atomic.Int32 // http.ConnState
	past    atomic.Bool  // the read deadline was in the past when set
	counted atomic.Bool
}

func (c *timedConn) SetReadDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *timedConn) SetDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *timedConn) noteDeadline(t time.Time) {
	if http.ConnState(c.state.Load()) != http.StateHijacked { // a WebSocket's: not looked at
		c.past.Store(!t.IsZero() && t.Before(time.Now()))
	}
}

func (c *timedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && !c.past.Load() {
			if p, ok := phaseOf(http.ConnState(c.state.Load())); ok && !c.counted.Swap(true) {
				c.m.httpTimeouts[p].Add(1)
			} // else hijacked: a WebSocket's, not counted
		}
	}
	return n, err
}

// The phases of imstatus_http_timeouts_total.
const (
	phaseHeader = iota
	phaseBody
	phaseIdle
	phases
)

var phaseNames = [phases]string{"header", "body", "idle"}

// phaseOf is the phase a read in HTTP state st waits in; none once hijacked.
func phaseOf(st http.ConnState) (int, bool) {
	switch st {
	case http.StateNew:
		return phaseHeader, true
	case http.StateActive:
		return phaseBody, true
	case http.StateIdle:
		return phaseIdle, true
	}
	return 0, false
}

// ConnState is the http.Server's ConnState to set beside Listener: it
// tells each connection its HTTP state, for the timeout counts.
func (s *Server) ConnState(c net.Conn, st http.ConnState) {
	if u, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS
		c = u.NetConn()
	}
	if tc, ok := c.(*timedConn); ok {
		tc.state.Store(int32(st))
	}
}
