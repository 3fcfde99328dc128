package main

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
)

// certSource is the certificate TLS handshakes present: loaded from its
// files at start and again on SIGHUP, so a renewed certificate is taken up
// without a restart. Handshakes in progress keep the one they started with.
type certSource struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

func newCertSource(certFile, keyFile string) (*certSource, error) {
	s := &certSource{certFile: certFile, keyFile: keyFile}
	return s, s.load()
}

// load reads the files; on failure the certificate in use stays.
func (s *certSource) load() error {
	c, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", s.certFile, s.keyFile, err)
	}
	s.cur.Store(&c)
	return nil
}

func (s *certSource) config() *tls.Config {
	return &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cur.Load(), nil },
		MinVersion:     tls.VersionTLS12,
		// WebSocket upgrades are HTTP/1.1 requests.
		NextProtos: []string{"http/1.1"},
	}
}
