package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imstatus/imstatus/wire"
)

// errSessionLost fails requests whose link dropped before the reply; the
// client sends them again on the next link.
var errSessionLost = errors.New("link to the server lost")

// How a session ended, besides an I/O error.
const (
	endIO = iota
	endKicked
	endSigExpired
	endShutdown
	endClosed
)

// session is one WebSocket to the server. One goroutine reads it; requests
// wait for their reply by seq.
type session struct {
	ws       *websocket.Conn
	addr     string
	onStatus func(sts []wire.Status, json string)

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex
	seq     uint64
	pending map[uint64]chan wire.ServerFrame
	done    chan struct{}
	how     int
	code    int
	desc    string

	readTimeout time.Duration // 0: none; reset at every frame
}

func newSession(ws *websocket.Conn, addr string, onStatus func([]wire.Status, string)) *session {
	s := &session{ws: ws, addr: addr, onStatus: onStatus,
		pending: make(map[uint64]chan wire.ServerFrame), done: make(chan struct{})}
	ws.SetReadLimit(wire.MaxServerFrame)
	go s.read()
	return s
}

func (s *session) read() {
	// A panic on this goroutine would end the host process (the C library's
	// host included): it ends the link instead, and the client reconnects.
	defer func() {
		if r := recover(); r != nil {
			s.end(endIO, wire.CodeNetwork, fmt.Sprintf("internal error reading from the server: %v", r))
		}
	}()
	for {
		if t := s.getReadTimeout(); t > 0 {
			s.ws.SetReadDeadline(time.Now().Add(t))
		}
		_, msg, err := s.ws.ReadMessage()
		if err != nil {
			s.end(endIO, wire.CodeNetwork, "connection lost: "+err.Error())
			return
		}
		f, err := wire.DecodeServerFrame(msg)
		if err != nil {
			s.end(endIO, wire.CodeNetwork, "the server sent a bad frame")
			return
		}
		switch f.Op {
		case wire.OpReply:
			s.mu.Lock()
			ch := s.pending[f.Seq]
			delete(s.pending, f.Seq)
			s.mu.Unlock()
			if ch != nil {
				ch <- f
			}
		case wire.OpStatus:
			if sts, json, err := wire.ParseStatusPush(f.Body); err == nil && s.onStatus != nil {
				s.onStatus(sts, json)
			}
		case wire.OpKicked:
			s.end(endKicked, orCode(f.Code, wire.CodeKickedOffline), orDesc(f.Desc, "kicked offline"))
		case wire.OpSigExpired:
			s.end(endSigExpired, orCode(f.Code, wire.CodeSigExpired), orDesc(f.Desc, "UserSig expired"))
		case wire.OpShutdown:
			s.end(endShutdown, orCode(f.Code, wire.CodeServerOverloaded), orDesc(f.Desc, "server shutting down"))
		}
	}
}

func orCode(c, d int) int {
	if c == 0 {
		return d
	}
	return c
}

func orDesc(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (s *session) setReadTimeout(d time.Duration) {
	s.mu.Lock()
	s.readTimeout = d
	s.mu.Unlock()
}

func (s *session) getReadTimeout() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readTimeout
}

// end records why the session ended (the first reason wins), fails the
// waiting requests and closes the link.
func (s *session) end(how, code int, desc string) {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
	}
	s.how, s.code, s.desc = how, code, desc
	close(s.done)
	s.pending = nil
	s.mu.Unlock()
	s.ws.Close()
}

// ended reports whether the session is over.
func (s *session) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// reason returns how and why the session ended.
func (s *session) reason() (how, code int, desc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.how, s.code, s.desc
}

// request sends one request and waits for its reply.
func (s *session) request(ctx context.Context, op wire.Op, body []byte) (wire.ServerFrame, error) {
	return s.requestThen(ctx, op, body, nil)
}

// requestThen is request, calling sent (if not nil) once the frame is
// written or could not be.
func (s *session) requestThen(ctx context.Context, op wire.Op, body []byte, sent func()) (wire.ServerFrame, error) {
	ch := make(chan wire.ServerFrame, 1)
	s.mu.Lock()
	if s.pending == nil {
		s.mu.Unlock()
		return wire.ServerFrame{}, errSessionLost
	}
	s.seq++
	seq := s.seq
	s.pending[seq] = ch
	s.mu.Unlock()

	frame := wire.AppendRequest(make([]byte, 0, 64+len(body)), seq, op, body)
	s.wmu.Lock()
	s.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err := s.ws.WriteMessage(websocket.TextMessage, frame)
	s.wmu.Unlock()
	if sent != nil {
		sent()
	}
	if err != nil {
		s.end(endIO, wire.CodeNetwork, "connection lost: "+err.Error())
		return wire.ServerFrame{}, errSessionLost
	}
	select {
	case f := <-ch:
		return f, nil
	case <-s.done:
		select {
		case f := <-ch: // the reply came just before the end
			return f, nil
		default:
		}
		return wire.ServerFrame{}, errSessionLost
	case <-ctx.Done():
		s.mu.Lock()
		if s.pending != nil {
			delete(s.pending, seq)
		}
		s.mu.Unlock()
		return wire.ServerFrame{}, wire.Errorf(wire.CodeTimeout, "no answer from the server in time")
	}
}
