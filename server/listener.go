package server

import (
	"errors"
	"net"
)

// Listener wraps ln so that a failed Accept — the open-file limit reached,
// most often — is counted (imstatus_accept_errors_total) and logged as a
// warning, rate-limited like every log line; net/http alone only retries
// it, quietly, while real clients time out.
func (s *Server) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, s: s} }

type listener struct {
	net.Listener
	s *Server
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		l.s.metrics.acceptErrors.Add(1)
		l.s.log.Warn("accepting a connection failed (the open-file limit?); retrying", "err", err)
	}
	return c, err
}
