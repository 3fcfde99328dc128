package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // the profile endpoints, on DefaultServeMux
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/imstatus/imstatus/server"
)

// serve runs the imstatus server in this process, as imstatusd does, with
// net/http/pprof on a separate listener: what --server-profile loads, so
// that profiles show the server's own code. RSS is measured on the real
// imstatusd binary, never on this.
//
//	imbench serve --apps FILE [--addr HOST:PORT] [--pprof HOST:PORT]
func serve(args []string) error {
	fs := flag.NewFlagSet("imbench serve", flag.ContinueOnError)
	apps := fs.String("apps", "", "apps `FILE` (required)")
	addr := fs.String("addr", "127.0.0.1:0", "listen `HOST:PORT` for the server")
	pprofAddr := fs.String("pprof", "127.0.0.1:0", "listen `HOST:PORT` for /debug/pprof/")
	level := fs.String("log-level", "info", "log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *apps == "" {
		return errors.New("serve: --apps is required")
	}
	for _, a := range []string{*addr, *pprofAddr} {
		if err := checkLoopback(a); err != nil {
			return err
		}
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return err
	}
	cfg, err := server.LoadApps(*apps)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	srv, err := server.New(server.Options{Apps: cfg, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	pln, err := net.Listen("tcp", *pprofAddr)
	if err != nil {
		return err
	}
	go http.Serve(pln, http.DefaultServeMux)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go srv.Run(ctx)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	fmt.Printf("pprof on %s\nlistening on %s\n", pln.Addr(), ln.Addr())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	return srv.Shutdown(sctx)
}

// fetchProfile saves the server's profile kind to path: "profile" (CPU)
// over the next d, or "heap" now, after a GC.
func fetchProfile(ctx context.Context, pprofAddr, kind string, d time.Duration, path string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", pprofAddr, kind, int(d.Seconds()))
	if kind == "heap" {
		url = fmt.Sprintf("http://%s/debug/pprof/heap?gc=1", pprofAddr)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
