package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/usersig"
)

const (
	appA = 1400000001
	keyA = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	appB = 1400000002
	keyB = "0b0b2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb9311"
	// wait bounds every wait for something that must happen.
	wait = 15 * time.Second
)

func on() *bool { b := true; return &b }

// env is a real server, console on, with two apps, on a loopback port.
type env struct {
	t   testing.TB
	srv *server.Server
	hs  *httptest.Server
}

func apps() []server.AppConfig {
	return []server.AppConfig{
		{SDKAppID: appA, SecretKey: keyA, Edition: "ultimate", UserStatusEnabled: on(), FriendStatusAutoNotify: on()},
		{SDKAppID: appB, SecretKey: keyB, Edition: "ultimate", UserStatusEnabled: on()},
	}
}

func newEnv(t testing.TB, consoleOn, tls bool) *env {
	t.Helper()
	return newEnvWith(t, tls, server.Options{Console: consoleOn})
}

// newEnvWith is newEnv with opts (its apps and logger filled in).
func newEnvWith(t testing.TB, tls bool, opts server.Options) *env {
	t.Helper()
	opts.Apps = apps()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var hs *httptest.Server
	if tls {
		hs = httptest.NewTLSServer(srv.Handler())
	} else {
		hs = httptest.NewServer(srv.Handler())
	}
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Run(ctx)
	t.Cleanup(func() {
		cancel()
		hs.Close()
		srv.Shutdown(context.Background())
	})
	return &env{t: t, srv: srv, hs: hs}
}

func sig(t testing.TB, key string, app uint64, user string) string {
	t.Helper()
	s, err := usersig.Generate(key, app, user, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client logs user in to app A with a real SDK client; kicked receives
// its kicked-offline events.
func (e *env) client(user, platform string) (c *core.Client, kicked chan core.KickedOffline) {
	e.t.Helper()
	kicked = make(chan core.KickedOffline, 4)
	c, err := core.New(core.Config{SDKAppID: appA, Servers: []string{strings.TrimPrefix(e.hs.URL, "http://")},
		Platform: platform, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnEvent: func(ev core.Event) {
			if k, ok := ev.(core.KickedOffline); ok {
				kicked <- k
			}
		}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Login(ctx, user, sig(e.t, keyA, appA, user)); err != nil {
		e.t.Fatalf("login %s: %v", user, err)
	}
	return c, kicked
}

// rest calls the REST API of app A as its admin and fails the test unless
// it answers OK.
func (e *env) rest(command string, body any) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	u := e.hs.URL + "/v4/" + command + "?sdkappid=" + strconv.Itoa(appA) + "&identifier=administrator&usersig=" +
		url.QueryEscape(sig(e.t, keyA, appA, "administrator")) + "&contenttype=json"
	resp, err := e.hs.Client().Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ ErrorCode int }
	json.NewDecoder(resp.Body).Decode(&r)
	if r.ErrorCode != 0 {
		e.t.Fatalf("REST %s: error %d", command, r.ErrorCode)
	}
}

// browser is an HTTP client with a cookie jar: what a browser does with
// the console's cookie, for the tests that need no page.
type browser struct {
	t    testing.TB
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := e.hs.Client()
	c.Jar = jar
	return &browser{t: e.t, e: e, c: c}
}

// do sends a request; headers are pairs of name and value.
func (b *browser) do(method, path, body string, headers ...string) (int, map[string]any, *http.Response) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.e.hs.URL+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, m, resp
}

// login logs in to app A with its key and keeps the session's token.
func (b *browser) login() *http.Response {
	b.t.Helper()
	st, m, resp := b.do("POST", "/console/api/login", `{"sdkappid":"`+strconv.Itoa(appA)+`","key":"`+keyA+`"}`)
	if st != http.StatusOK {
		b.t.Fatalf("login: %d %v", st, m)
	}
	b.csrf, _ = m["csrf"].(string)
	if b.csrf == "" {
		b.t.Fatalf("login: no csrf token in %v", m)
	}
	return resp
}
