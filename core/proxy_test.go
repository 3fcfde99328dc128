package core_test

import (
	"net"
	"sync"
	"testing"
)

// proxy is a TCP relay between clients and a server, so a test can cut
// links (drop), freeze them without a FIN (blackhole), or refuse new ones.
type proxy struct {
	ln     net.Listener
	target string

	mu        sync.Mutex
	conns     []net.Conn
	refuse    bool
	blackhole bool
	frozen    chan struct{} // closed when the blackhole ends
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, frozen: make(chan struct{})}
	close(p.frozen)
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.drop() })
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
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
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			frozen := p.frozen
			p.mu.Unlock()
			<-frozen // hold the bytes while blackholed
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

// drop closes every relayed connection (the peers see FIN).
func (p *proxy) drop() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (p *proxy) setRefuse(v bool) {
	p.mu.Lock()
	p.refuse = v
	p.mu.Unlock()
}

// setBlackhole stops (true) or resumes (false) relaying bytes without
// closing anything: a link that died silently.
func (p *proxy) setBlackhole(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v == p.blackhole {
		return
	}
	p.blackhole = v
	if v {
		p.frozen = make(chan struct{})
	} else {
		close(p.frozen)
	}
}
