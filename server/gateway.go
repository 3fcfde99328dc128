package server

import (
	"errors"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/webhook"
	"github.com/imstatus/imstatus/wire"
)

// conn is one client WebSocket. One goroutine reads it and handles its
// requests in order; writes go through a bounded queue drained by a
// goroutine that exists only while the queue is not empty, so an idle
// connection costs one goroutine.
type conn struct {
	srv      *Server
	ws       *websocket.Conn
	id       uint64
	ip       string
	lastSeen atomic.Int64 // clock's UnixNano of the last frame read
	// failedLogins counts the UserSigs refused on this connection.
	failedLogins atomic.Int32
	// ready: a logged-in device that takes deliveries (false while its
	// login is under way).
	ready atomic.Bool
	// device numbers this connection's current login among the node's
	// devices (the Conn of its DeviceKey): each login attempt gets a new
	// one, so a departure of an earlier login, recorded late, can never
	// end a later one on the same connection.
	device atomic.Uint64
	// anonSince is when the connection last had no session (opened or
	// logged out), in the clock's UnixNano: it must log in within
	// LoginTimeout of that, heartbeats or not.
	anonSince atomic.Int64

	mu   sync.Mutex // guards the session
	sess session
	// counts are the session's app's counters (nil without a session), for
	// the send queue to count in without taking mu.
	counts atomic.Pointer[appCounts]

	qmu      sync.Mutex // guards the send queue
	queue    []outFrame
	queued   int        // bytes in queue
	spare    []outFrame // the writer's other slice, kept between bursts
	writing  bool
	closed   bool // no more frames are accepted
	closeMsg []byte
	// While a subscribe reads its snapshot, recent holds the highest
	// version of each user whose status push is queued (sendSnapshot);
	// nil otherwise, so an idle connection pays nothing for it.
	snapshots int
	recent    map[string]uint64
}

// session is what a logged-in connection is: a device of a user of an app.
type session struct {
	app       *app
	user      string
	platform  string
	key       presence.DeviceKey
	sigExpire time.Time
	userData  string // the login's user_define_data, for the webhook
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	// The clock is read before the upgrade answers: once the client has its
	// 101 it may act (and a test may move the clock), and the login wait
	// must count from no later than that.
	now := s.clock.Now()
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	c := &conn{srv: s, ws: ws, id: s.nextConn.Add(1), ip: ip}
	c.lastSeen.Store(now.UnixNano())
	c.anonSince.Store(now.UnixNano())
	if code, reason := s.addConn(c); code != 0 {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		ws.Close()
		return
	}
	s.wg.Add(1)
	go c.readLoop()
}

func (c *conn) readLoop() {
	defer c.srv.wg.Done()
	defer c.srv.removeConn(c)
	c.ws.SetReadLimit(wire.MaxFrame)
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.srv.metrics.badFrames.Add(1)
				c.srv.log.Info("frame too large; closing", "conn", c.id)
			}
			break
		}
		c.lastSeen.Store(c.srv.clock.Now().UnixNano())
		// The request runs on a goroutine of its own while this one waits:
		// handling (a login verifies a UserSig) needs a deep stack, and a
		// stack once grown stays with its goroutine. This one then spends
		// its idle life, which is most of it, on a small stack.
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer c.recoverRequest()
			c.handle(msg)
		}()
		<-done
	}
	c.ws.Close()
	c.markClosed()
	if a, ss, ok := c.detach(); ok {
		// In turns of their own: thousands of links closing at once must
		// neither crowd the backend nor the logins that follow.
		c.srv.admitLeave()
		defer c.srv.releaseLeave()
		a.leave(c, ss, presence.Lost, webhook.ReasonLinkClose)
	}
}

// recoverRequest turns a panic in a request's handling into the end of that
// one connection, as net/http does for a request: a bug hit by one client
// must not take every other one down. (Locks are released by defers.)
func (c *conn) recoverRequest() {
	if r := recover(); r != nil {
		c.srv.log.Error("request handling panicked; closing the connection", "conn", c.id, "panic", r, "stack", string(debug.Stack()))
		c.closeWith(nil, websocket.CloseInternalServerErr, "internal error")
	}
}

// handle answers one request.
func (c *conn) handle(msg []byte) {
	req, err := wire.DecodeRequest(msg)
	if err != nil {
		// Without a usable seq there is nothing to answer; a client that
		// sends garbage is closed so it cannot spin here.
		c.srv.metrics.badFrames.Add(1)
		c.closeWith(wire.AppendPush(nil, wire.OpShutdown, wire.CodeServerParams, err.Error()),
			websocket.CloseUnsupportedData, "bad frame")
		return
	}
	switch req.Op {
	case wire.OpHeartbeat:
		c.replyOK(req.Seq, nil)
		return
	case wire.OpLogin:
		if c.srv.logins != nil && !c.srv.logins.allow(c.ip, c.srv.clock.Now()) {
			c.srv.metrics.loginsLimited.Add(1)
			c.refuseLogin(req.Seq, 0, "", wire.Errorf(wire.CodeRateLimited, "too many logins from this address; try again shortly"))
			return
		}
		if !c.srv.admitLogin(c.srv.opts.AdmitWait) {
			c.refuseLogin(req.Seq, 0, "", wire.Errorf(wire.CodeServerOverloaded, busy))
			return
		}
		defer c.srv.releaseLogin()
		c.login(req)
		return
	}
	a, ss, ok := c.session()
	if !ok {
		c.reply(req.Seq, wire.CodeNotLoggedIn, "not logged in", nil)
		return
	}
	if !c.srv.admit(c.srv.opts.AdmitWait) {
		c.reply(req.Seq, wire.CodeServerOverloaded, busy, nil)
		return
	}
	defer c.srv.release()
	switch req.Op {
	case wire.OpLogout:
		a.logout(c, req.Seq)
	case wire.OpSetStatus:
		a.setStatus(c, ss, req)
	case wire.OpGetStatus:
		a.getStatus(c, ss, req)
	case wire.OpSubscribe:
		a.subscribe(c, ss, req)
	case wire.OpUnsubscribe:
		a.unsubscribe(c, ss, req)
	default:
		// The op is the client's: echo no more of it than a glance needs.
		c.reply(req.Seq, wire.CodeServerParams, "unknown op "+truncate(string(req.Op), 32), nil)
	}
}

func (c *conn) login(req wire.Request) {
	if _, _, ok := c.session(); ok {
		c.reply(req.Seq, wire.CodeServerParams, "already logged in on this connection; log out first", nil)
		return
	}
	l, err := wire.ParseLogin(req.Body)
	if err != nil {
		c.refuseLogin(req.Seq, 0, "", &wire.Error{Code: wire.CodeServerParams, Desc: err.Error()})
		return
	}
	if l.Version != wire.Version {
		c.refuseLogin(req.Seq, l.SDKAppID, l.UserID, wire.Errorf(wire.CodeServerParams, "unsupported protocol version"))
		return
	}
	a := c.srv.app(l.SDKAppID)
	if a == nil {
		c.refuseLogin(req.Seq, l.SDKAppID, l.UserID, wire.Errorf(wire.CodeSigSDKAppID, "unknown SDKAppID"))
		return
	}
	a.login(c, req.Seq, l)
}

// refuseLogin answers a login with e, and logs the refusal at info: the
// app (0: not known yet), the user as given, the remote address, the code
// and reason. The server's logger bounds how fast such lines are written,
// so a flood of bad logins cannot fill a disk.
func (c *conn) refuseLogin(seq, sdkAppID uint64, user string, e *wire.Error) {
	// Logged before the answer: a client told of its refusal finds it in
	// the log (a test read the log between the two and missed it).
	c.srv.log.Info("login refused", "sdkappid", sdkAppID, "user", truncate(user, 64), "addr", c.ip,
		"code", e.Code, "reason", truncate(e.Desc, 200))
	c.replyErr(seq, e)
}

func (c *conn) session() (*app, session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.app, c.sess, c.sess.app != nil
}

func (c *conn) attach(s session) {
	c.mu.Lock()
	c.sess = s
	c.counts.Store(&s.app.counts)
	c.mu.Unlock()
}

// detach ends the connection's session, once: only the caller that gets
// ok == true records the device's departure.
func (c *conn) detach() (*app, session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sess
	c.sess = session{}
	c.counts.Store(nil)
	return s.app, s, s.app != nil
}

func (c *conn) attachedTo(a *app) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.app == a
}

// sweep closes the connection when its login or heartbeat is overdue, and
// logs it out when its UserSig expired.
func (c *conn) sweep(now time.Time) {
	a, ss, ok := c.session()
	if !ok {
		if now.Sub(time.Unix(0, c.anonSince.Load())) > c.srv.opts.LoginTimeout {
			c.closeWith(nil, websocket.ClosePolicyViolation, "login timeout")
		}
		return
	}
	switch {
	case now.Sub(time.Unix(0, c.lastSeen.Load())) > a.conf().heartbeatTimeout:
		if a, ss, ok := c.detach(); ok {
			a.leave(c, ss, presence.Lost, webhook.ReasonTimeOut)
		}
		c.closeWith(nil, websocket.ClosePolicyViolation, "heartbeat timeout")
	case !ss.sigExpire.IsZero() && now.After(ss.sigExpire):
		if a, ss, ok := c.detach(); ok {
			a.leave(c, ss, presence.Lost, webhook.ReasonLinkClose)
		}
		c.closeWith(wire.AppendPush(nil, wire.OpSigExpired, wire.CodeSigExpired, "UserSig expired; log in with a new one"),
			websocket.ClosePolicyViolation, "UserSig expired")
	}
}

func (c *conn) replyOK(seq uint64, body []byte) { c.reply(seq, wire.CodeOK, "", body) }

func (c *conn) reply(seq uint64, code int, desc string, body []byte) {
	c.send(wire.AppendReply(nil, seq, code, desc, body))
}

// replyErr answers with a coded error.
func (c *conn) replyErr(seq uint64, e *wire.Error) { c.reply(seq, e.Code, e.Desc, nil) }

// outFrame is a queued frame; user names the one user whose status a push
// carries ("" for any other frame), version that status's version.
type outFrame struct {
	b       []byte
	user    string
	version uint64
}

// send queues a frame. A client too slow to take its frames is disconnected
// rather than allowed to hold memory or stall the sender.
func (c *conn) send(frame []byte) { c.enqueue(frame, "", 0) }

// sendStatus queues a push of user's status at version. If a push of that
// user still waits in the queue, behind nothing but other users' status
// pushes, it is replaced instead (or, if it is newer, this one is dropped):
// a client that reads slower than a user changes skips the statuses it has
// not read yet that a newer one supersedes, and still gets every user's
// latest, in order. So a user who floods status changes cannot fill the
// queues of its subscribers and get them disconnected.
func (c *conn) sendStatus(frame []byte, user string, version uint64) {
	c.enqueue(frame, user, version)
}

func (c *conn) enqueue(frame []byte, user string, version uint64) {
	c.qmu.Lock()
	if c.closed {
		c.qmu.Unlock()
		return
	}
	if c.snapshots > 0 && user != "" && version > c.recent[user] {
		c.recent[user] = version
	}
	c.enqueueLocked(frame, user, version)
}

// enqueueLocked is enqueue with c.qmu held and c open; it unlocks c.qmu.
func (c *conn) enqueueLocked(frame []byte, user string, version uint64) {
	if user != "" {
		// Back from the newest; any other frame (a reply, a push of several
		// statuses) ends the search, so nothing overtakes what it says.
		for i := len(c.queue) - 1; i >= 0 && c.queue[i].user != ""; i-- {
			if q := &c.queue[i]; q.user == user {
				if version == 0 || version >= q.version {
					c.queued += len(frame) - len(q.b)
					q.b, q.version = frame, version
				}
				c.qmu.Unlock()
				c.srv.metrics.statusesSuperseded.Add(1)
				if p := c.counts.Load(); p != nil {
					p.superseded.Add(1)
				}
				return
			}
		}
	}
	// One frame is always let in, however large (an answer is bounded by
	// the batch caps), so the byte cap never refuses a lone answer.
	if len(c.queue) >= c.srv.opts.SendQueue || len(c.queue) > 0 && c.queued+len(frame) > c.srv.opts.SendQueueBytes {
		c.closed = true
		c.queue, c.queued = nil, 0
		c.qmu.Unlock()
		c.srv.metrics.slowReaders.Add(1)
		if p := c.counts.Load(); p != nil {
			p.slowReaders.Add(1)
		}
		c.srv.log.Info("slow reader: send queue full; closing", "conn", c.id)
		c.ws.NetConn().Close()
		return
	}
	c.queue = append(c.queue, outFrame{frame, user, version})
	c.queued += len(frame)
	start := !c.writing
	c.writing = true
	c.qmu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// beginSnapshot starts noting the status pushes queued to c, before a
// subscribe reads the statuses it answers with; endSnapshot stops.
func (c *conn) beginSnapshot() {
	c.qmu.Lock()
	c.snapshots++
	if c.recent == nil {
		c.recent = make(map[string]uint64)
	}
	c.qmu.Unlock()
}

func (c *conn) endSnapshot() {
	c.qmu.Lock()
	if c.snapshots--; c.snapshots <= 0 {
		c.snapshots, c.recent = 0, nil
	}
	c.qmu.Unlock()
}

// sendSnapshot queues a subscribe's answer: the targets' statuses, read
// after beginSnapshot. A push of a target queued since then carries a
// version at least as new as what was read, unless the read came first:
// then the read status is older than that push, and is left out, so c
// hears each target in version order. A push queued before beginSnapshot
// is older than the read. The frame is encoded outside the lock, again only
// when a status is left out (a change raced the read: rare).
func (c *conn) sendSnapshot(sts []wire.Status) {
	frame := wire.AppendStatusPush(nil, sts...)
	c.qmu.Lock()
	if c.closed {
		c.qmu.Unlock()
		return
	}
	stale := func(st wire.Status) bool { return st.Version != 0 && st.Version < c.recent[st.UserID] }
	if slices.ContainsFunc(sts, stale) {
		sts = slices.DeleteFunc(slices.Clone(sts), stale)
		if len(sts) == 0 {
			c.qmu.Unlock()
			return
		}
		frame = wire.AppendStatusPush(frame[:0], sts...)
	}
	c.srv.metrics.statusPushes.Add(1)
	if p := c.counts.Load(); p != nil {
		p.pushes.Add(1)
	}
	c.enqueueLocked(frame, "", 0)
}

// closeWith queues frame (if any), then a close frame, then closes the link.
func (c *conn) closeWith(frame []byte, code int, reason string) {
	c.qmu.Lock()
	if c.closed {
		c.qmu.Unlock()
		return
	}
	if frame != nil {
		c.queue = append(c.queue, outFrame{b: frame})
	}
	c.closed = true
	c.closeMsg = websocket.FormatCloseMessage(code, reason)
	start := !c.writing
	c.writing = true
	c.qmu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// markClosed stops accepting frames once the read side has ended.
func (c *conn) markClosed() {
	c.qmu.Lock()
	c.closed = true
	c.queue, c.queued = nil, 0
	c.qmu.Unlock()
}

func (c *conn) writeLoop() {
	for {
		c.qmu.Lock()
		batch := c.queue
		c.queue, c.spare = c.spare, nil // the two slices take turns: no allocation per burst
		c.queued = 0
		if len(batch) == 0 {
			c.spare = batch
			c.writing = false
			closeMsg := c.closeMsg
			c.closeMsg = nil
			c.qmu.Unlock()
			if closeMsg != nil {
				c.ws.WriteControl(websocket.CloseMessage, closeMsg, time.Now().Add(time.Second))
				// The read loop sees the close and cleans up.
				c.ws.NetConn().Close()
			}
			return
		}
		c.qmu.Unlock()
		if err := c.writeBatch(batch); err != nil {
			c.markClosed()
			c.ws.NetConn().Close()
			c.qmu.Lock()
			c.writing = false
			c.qmu.Unlock()
			return
		}
		clear(batch)
		c.qmu.Lock()
		if cap(batch) <= maxSpare {
			c.spare = batch[:0]
		}
		c.qmu.Unlock()
	}
}

// writeBatch frames the batch's messages itself and writes them to the
// socket in as few system calls as it can (one, unless the batch passes
// writeChunk), under one deadline. gorilla's WriteMessage would make a write
// and move the runtime's deadline timer for every frame, and the write
// system call is most of what a busy server spends its CPU on. Frames stay
// whole: a net.Conn Write is atomic with respect to other Writes, such as
// gorilla's control frames (pongs, close).
func (c *conn) writeBatch(batch []outFrame) error {
	nc := c.ws.NetConn()
	if err := nc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout)); err != nil {
		return err
	}
	bp := c.srv.writeBufs.Get().(*[]byte)
	defer c.srv.writeBufs.Put(bp)
	buf := (*bp)[:0]
	for i, f := range batch {
		buf = appendTextHeader(buf, len(f.b))
		buf = append(buf, f.b...)
		if len(buf) >= writeChunk || i == len(batch)-1 {
			if _, err := nc.Write(buf); err != nil {
				return err
			}
			c.srv.metrics.writeCalls.Add(1)
			buf = buf[:0]
		}
	}
	c.srv.metrics.framesWritten.Add(uint64(len(batch)))
	if cap(buf) <= 2*writeChunk {
		*bp = buf // keep the grown buffer; an outsized one goes to the collector
	}
	return nil
}

// writeChunk is about how much one write system call carries.
const writeChunk = 32 << 10

// appendTextHeader appends the header of a final, unmasked (server to
// client, RFC 6455 §5.2) text frame of n bytes.
func appendTextHeader(b []byte, n int) []byte {
	const finText = 0x81
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n <= 0xffff:
		return append(b, finText, 126, byte(n>>8), byte(n))
	default:
		return append(b, finText, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// maxSpare bounds the queue capacity an idle connection keeps.
const maxSpare = 64
