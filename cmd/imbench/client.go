package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/wire"
)

// dialPool dials WebSockets from a rotating set of local source addresses,
// so that ~20,000 connections to one server port do not run out of
// ephemeral ports. The dialers use small buffers: the load generator must
// hold as many connections as the server does.
type dialPool struct {
	dialers []*websocket.Dialer
}

func newDialPool(sources []net.IP) *dialPool {
	mk := func(src net.IP) *websocket.Dialer {
		d := &websocket.Dialer{
			ReadBufferSize:   1024,
			WriteBufferSize:  1024,
			HandshakeTimeout: 20 * time.Second,
			Subprotocols:     []string{wire.Subprotocol},
		}
		if src != nil {
			nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 20 * time.Second}
			d.NetDialContext = nd.DialContext
		}
		return d
	}
	p := &dialPool{}
	for _, s := range sources {
		p.dialers = append(p.dialers, mk(s))
	}
	if len(p.dialers) == 0 {
		p.dialers = append(p.dialers, mk(nil))
	}
	return p
}

// dial opens connection number i (which picks the source address) to
// ws://addr+path.
func (p *dialPool) dial(ctx context.Context, i int, addr, path string) (*websocket.Conn, error) {
	d := p.dialers[i%len(p.dialers)]
	ws, resp, err := d.DialContext(ctx, "ws://"+addr+path, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	return ws, err
}

// pushFunc handles a frame that is not a reply, on the connection's reader
// goroutine; msg is valid only during the call.
type pushFunc func(c *wsConn, msg []byte)

// wsConn is a lightweight client of one connection: docs/PROTOCOL.md
// spoken directly, one reader goroutine, at most one request in flight.
// Against the baselines it carries raw text frames instead.
type wsConn struct {
	ws     *websocket.Conn
	idx    int // the connection's number in its fleet
	onPush pushFunc
	// replies carries reply frames (copies) to the caller waiting in call;
	// the baselines' acknowledgements come through it too.
	replies chan []byte
	done    chan struct{} // closed when the reader ends
	err     error         // why the reader ended; read after done

	wmu sync.Mutex
	seq uint64
}

func newWSConn(ws *websocket.Conn, idx int, onPush pushFunc) *wsConn {
	c := &wsConn{ws: ws, idx: idx, onPush: onPush, replies: make(chan []byte, 4), done: make(chan struct{})}
	go c.read()
	return c
}

func (c *wsConn) read() {
	defer close(c.done)
	c.ws.SetReadLimit(wire.MaxServerFrame)
	var buf []byte
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			c.err = err
			return
		}
		buf, err = readInto(buf[:0], r)
		if err != nil {
			c.err = err
			return
		}
		if gjson.GetBytes(buf, "op").Str == string(wire.OpReply) {
			select {
			case c.replies <- bytes.Clone(buf):
			default: // nobody is waiting: a caller gave up on it
			}
		} else if c.onPush != nil {
			c.onPush(c, buf)
		}
		if cap(buf) > 64<<10 {
			buf = nil // do not keep a large reply's buffer for every connection
		}
	}
}

// readInto appends all of r to buf.
func readInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// write sends one text frame.
func (c *wsConn) write(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(15 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

// call sends a request and waits for its reply. A reply with a non-zero
// code is returned as a *wire.Error.
func (c *wsConn) call(ctx context.Context, op wire.Op, body []byte) (wire.ServerFrame, error) {
	c.wmu.Lock()
	c.seq++
	seq := c.seq
	c.wmu.Unlock()
	if err := c.write(wire.AppendRequest(nil, seq, op, body)); err != nil {
		return wire.ServerFrame{}, fmt.Errorf("%s: %w", op, err)
	}
	for {
		select {
		case b := <-c.replies:
			if b == nil {
				continue // an acknowledgement, not a reply
			}
			f, err := wire.DecodeServerFrame(b)
			if err != nil {
				return f, fmt.Errorf("%s: %w", op, err)
			}
			if f.Seq != seq {
				continue // the reply of a call that gave up
			}
			if f.Code != 0 {
				return f, &wire.Error{Code: f.Code, Desc: f.Desc}
			}
			return f, nil
		case <-c.done:
			return wire.ServerFrame{}, fmt.Errorf("%s: connection closed: %v", op, c.err)
		case <-ctx.Done():
			return wire.ServerFrame{}, fmt.Errorf("%s: %w", op, ctx.Err())
		}
	}
}

// awaitAck waits for a frame a push handler passed to c.replies (the
// baselines' echo of the connection's own message).
func (c *wsConn) awaitAck(ctx context.Context) error {
	select {
	case <-c.replies:
		return nil
	case <-c.done:
		return fmt.Errorf("connection closed: %v", c.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ack hands an acknowledgement to awaitAck without ever blocking the reader.
func (c *wsConn) ack() {
	select {
	case c.replies <- nil:
	default:
	}
}

func loginBody(sdkAppID uint64, user, sig string) []byte {
	return wire.AppendLoginBody(nil, wire.LoginBody{Version: wire.Version, SDKAppID: sdkAppID,
		UserID: user, UserSig: sig, Platform: "Linux"})
}

func setStatusBody(custom string) []byte { return wire.AppendSetStatusBody(nil, custom) }

// abort drops the connection at once (RST, no close handshake): what a
// crashed client or a lost network looks like to the server, and it
// leaves no TIME_WAIT socket to hold the source port.
func (c *wsConn) abort() {
	if tc, ok := c.ws.NetConn().(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.ws.Close()
}

// closed reports whether the reader has ended.
func (c *wsConn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// fleet is a set of connections of one scenario.
type fleet []*wsConn

// abortAll drops every connection and waits for the readers to end.
func (f fleet) abortAll() {
	for _, c := range f {
		if c != nil {
			c.abort()
		}
	}
	for _, c := range f {
		if c != nil {
			<-c.done
		}
	}
}

// lost counts the connections whose reader ended.
func (f fleet) lost() int {
	n := 0
	for _, c := range f {
		if c != nil && c.closed() {
			n++
		}
	}
	return n
}

// connSetup opens, and prepares, connection i of a fleet.
type connSetup func(ctx context.Context, i int) (*wsConn, error)

// openFleet runs setup for 0..n-1 with par workers, showing progress. On
// the first error it drops what it opened and returns the error.
func (e *env) openFleet(ctx context.Context, label string, n, par int, setup connSetup) (fleet, error) {
	f := make(fleet, n)
	err := e.parallel(ctx, label, n, par, func(ctx context.Context, i int) error {
		c, err := setup(ctx, i)
		f[i] = c
		return err
	})
	if err != nil {
		f.abortAll()
		return nil, err
	}
	return f, nil
}

// parallel runs fn for 0..n-1 with par workers, showing progress, and
// stops at the first error.
func (e *env) parallel(ctx context.Context, label string, n, par int, fn func(ctx context.Context, i int) error) error {
	var next, done atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := e.prog.ticker(label, func() string { return fmt.Sprintf("%d/%d", done.Load(), n) })
	defer stop()
	var wg sync.WaitGroup
	for range min(par, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(fmt.Errorf("%s: %d: %w", label, i, err))
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// dialRetry dials with a few retries: under a connection storm the listen
// backlog overflows and SYNs are dropped.
func (e *env) dialRetry(ctx context.Context, i int, addr, path string, onPush pushFunc) (*wsConn, error) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var ws *websocket.Conn
		ws, err = e.pool.dial(ctx, i, addr, path)
		if err == nil {
			return newWSConn(ws, i, onPush), nil
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(time.Duration(100*(attempt+1)) * time.Millisecond):
		case <-ctx.Done():
		}
	}
	return nil, err
}

// loginConn dials addr and logs user in.
func (e *env) loginConn(ctx context.Context, i int, addr, user string, onPush pushFunc) (*wsConn, error) {
	c, err := e.dialRetry(ctx, i, addr, "/ws", onPush)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := c.call(lctx, wire.OpLogin, loginBody(e.sdkAppID, user, e.sig(user))); err != nil {
		c.abort()
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	return c, nil
}

// errLost is returned when connections dropped during a measurement.
var errLost = errors.New("connections lost")
