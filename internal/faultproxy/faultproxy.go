// Package faultproxy is a TCP relay on loopback between clients and a
// server, for tests that inject network faults on purpose: cut every link
// (the peers see FIN), refuse new ones, freeze links without closing them
// (bytes held, then let through), silence them one way or both (bytes
// dropped, no FIN when a side closes: a path that died), or slow them.
package faultproxy

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy relays connections made to Addr to the target.
type Proxy struct {
	ln     net.Listener
	target string
	done   chan struct{} // closed at the test's end

	mu       sync.Mutex
	links    []*link
	accepted int // links relayed so far
	refuse   bool
	frozen   chan struct{} // closed unless frozen
	delay    time.Duration // before each chunk is passed on
}

// link is one relayed connection: the client's side and the server's.
type link struct {
	client, server net.Conn
	mu             sync.Mutex
	drop           [2]bool // [0]: client → server; [1]: server → client
}

// New starts a Proxy to target, closed with every link at the test's end.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, done: make(chan struct{}), frozen: make(chan struct{})}
	close(p.frozen)
	go p.accept()
	t.Cleanup(func() {
		close(p.done)
		ln.Close()
		p.Drop()
	})
	return p
}

// Addr is the address clients dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Accepted is how many links the proxy has relayed (refused ones not
// counted).
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		l := &link{client: c, server: s}
		p.mu.Lock()
		p.links = append(p.links, l)
		p.accepted++
		p.mu.Unlock()
		go p.pipe(l, 0, c, s)
		go p.pipe(l, 1, s, c)
	}
}

// pipe copies src to dst chunk by chunk, as the faults say; an end of
// either side ends the other, unless the direction is silenced.
func (p *Proxy) pipe(l *link, dir int, src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			frozen, delay := p.frozen, p.delay
			p.mu.Unlock()
			<-frozen // held while frozen
			time.Sleep(delay)
			if !l.dropping(dir) {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
		}
		if err != nil {
			if err == io.EOF && l.dropping(dir) {
				// A silent path passes on no FIN either: the other side
				// stays open until the test ends.
				<-p.done
			}
			break
		}
	}
	dst.Close()
	src.Close()
}

func (l *link) dropping(dir int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.drop[dir]
}

// Drop closes every relayed connection (the peers see FIN).
func (p *Proxy) Drop() {
	p.mu.Lock()
	links := p.links
	p.links = nil
	p.mu.Unlock()
	for _, l := range links {
		l.client.Close()
		l.server.Close()
	}
}

// SetRefuse makes new connections close at once (true) or be relayed.
func (p *Proxy) SetRefuse(v bool) {
	p.mu.Lock()
	p.refuse = v
	p.mu.Unlock()
}

// SetFrozen holds every byte in flight (true) without closing anything,
// then lets them through (false): a link that stalled, then recovered.
func (p *Proxy) SetFrozen(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.frozen: // not frozen
		if v {
			p.frozen = make(chan struct{})
		}
	default:
		if !v {
			close(p.frozen)
		}
	}
}

// Directions for Silence.
const (
	ToServer = 1 << iota // what the client sends
	ToClient             // what the server sends
	Both     = ToServer | ToClient
)

// Silence makes the open links drop, for good, what goes the given ways,
// and refuses new connections (SetRefuse(false) lets them in again).
func (p *Proxy) Silence(ways int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = true
	for _, l := range p.links {
		l.mu.Lock()
		l.drop[0] = l.drop[0] || ways&ToServer != 0
		l.drop[1] = l.drop[1] || ways&ToClient != 0
		l.mu.Unlock()
	}
}

// SetDelay holds each chunk for d before passing it on, both ways.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}
