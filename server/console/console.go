// Package console serves imstatusd's admin console at /console/: a page
// (plain HTML, CSS and JavaScript, embedded) and the JSON API it calls. An
// app's admin logs in with the admin identifier and a UserSig, or with the
// app's secret key; the session is a cookie (HttpOnly, SameSite=Strict,
// Secure under TLS) of one app, and each request checks its credentials
// again, as the REST API checks every call. No secret is sent to the page.
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

// Limits of the console.
const (
	// MaxBody bounds a request's body: the largest is an import of 100 ids.
	MaxBody = 8 << 10
	// SessionTTL is how long a session lasts after its last request.
	SessionTTL = 8 * time.Hour
	// MaxSessions bounds the sessions held; past it the oldest is ended.
	MaxSessions = 256
	// loginsPerMinute and loginBurst bound login attempts per remote
	// address; maxAddrs bounds the addresses tracked, and past it every
	// address shares one bucket (a flood from many addresses is slowed
	// down as a whole).
	loginsPerMinute = 10
	loginBurst      = 5
	maxAddrs        = 4096
	// callTimeout bounds one request's calls to the backend.
	callTimeout = 5 * time.Second
)

const (
	cookieName  = "imstatus_console"
	tokenHeader = "X-Console-Token"
)

// Console is the handler of /console/.
type Console struct {
	b     Backend
	log   *slog.Logger
	now   func() time.Time
	mux   *http.ServeMux
	files http.Handler

	mu       sync.Mutex
	sessions map[string]*session // by the SHA-256 of the cookie's value
	logins   map[string]*bucket  // login attempts by remote address
}

// session is one admin's login. It keeps the credentials it was opened
// with, server side, so that each request checks them again: a reload that
// changes the admin, the key or removes the app ends it.
type session struct {
	app      uint64
	admin    string
	userSig  string // "" when opened with the key
	key      string
	csrf     string
	lastUsed time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns the console of b. log receives the console's lines; the
// caller rate-limits it (every line here is client-triggered).
func New(b Backend, log *slog.Logger) *Console {
	c := &Console{b: b, log: log, now: time.Now,
		sessions: make(map[string]*session), logins: make(map[string]*bucket)}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	c.files = http.StripPrefix("/console/static/", http.FileServerFS(sub))
	m := http.NewServeMux()
	m.HandleFunc("GET /console/{$}", c.serveFile)
	m.HandleFunc("GET /console/static/", c.serveFile)
	m.HandleFunc("POST /console/api/login", c.serveLogin)
	m.HandleFunc("POST /console/api/logout", c.authed(c.serveLogout))
	m.HandleFunc("GET /console/api/session", c.authed(c.serveSession))
	m.HandleFunc("GET /console/api/stats", c.authed(c.serveStats))
	m.HandleFunc("GET /console/api/user", c.authed(c.serveUser))
	m.HandleFunc("GET /console/api/relation", c.authed(c.serveRelation))
	m.HandleFunc("POST /console/api/kick", c.authed(c.serveKick))
	m.HandleFunc("POST /console/api/import", c.authed(c.serveImport))
	c.mux = m
	return c
}

// ServeHTTP serves the page, its files and its API, with headers that
// keep the page out of other sites' frames and its scripts to this server.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) serveFile(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/console/" {
		// Served here: the file server would redirect index.html.
		b, err := static.ReadFile("static/index.html")
		if err != nil {
			http.Error(w, "missing page", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
		return
	}
	c.files.ServeHTTP(w, r)
}

// fail answers an API call with status and a message for the page.
func fail(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string]string{"error": msg})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// sameOrigin reports whether a browser's request came from a page of this
// server: a POST from another site's page carries its Origin.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		// Browsers send Origin with every POST made by fetch; a request
		// without one is not a browser's cross-site form either (those
		// carry it too), so it is let through to the token check.
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// readBody reads a POST's body, at most MaxBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, "request body larger than "+strconv.Itoa(MaxBody)+" bytes")
		} else {
			fail(w, http.StatusBadRequest, "reading the body failed")
		}
		return nil, false
	}
	return b, true
}

func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allowLogin takes a login attempt from addr's bucket.
func (c *Console) allowLogin(addr string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	rate := float64(loginsPerMinute) / 60
	for a, b := range c.logins {
		if b.tokens+now.Sub(b.at).Seconds()*rate >= loginBurst {
			delete(c.logins, a) // full again: forgotten
		}
	}
	if _, ok := c.logins[addr]; !ok && len(c.logins) >= maxAddrs {
		addr = "" // the shared bucket
	}
	b, ok := c.logins[addr]
	if !ok {
		b = &bucket{tokens: loginBurst, at: now}
		c.logins[addr] = b
	}
	b.tokens = min(loginBurst, b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (c *Console) serveLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		fail(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	now := c.now()
	if !c.allowLogin(remoteAddr(r), now) {
		c.log.Warn("console: login attempts rate-limited", "addr", remoteAddr(r))
		fail(w, http.StatusTooManyRequests, "too many login attempts; wait a minute")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	req, err := parseLogin(body)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s := &session{app: req.App, lastUsed: now}
	if req.Key != "" {
		admin, ok := c.b.CheckKey(req.App, req.Key)
		if !ok {
			c.log.Warn("console: login refused", "sdkappid", req.App, "addr", remoteAddr(r), "with", "key")
			fail(w, http.StatusForbidden, "login refused: unknown app or wrong key")
			return
		}
		s.admin, s.key = admin, req.Key
	} else {
		if err := c.b.CheckAdmin(req.App, req.Identifier, req.UserSig); err != nil {
			c.log.Warn("console: login refused", "sdkappid", req.App, "addr", remoteAddr(r), "with", "usersig")
			fail(w, http.StatusForbidden, "login refused: "+err.Error())
			return
		}
		s.admin, s.userSig = req.Identifier, req.UserSig
	}
	token := randomToken()
	s.csrf = randomToken()
	c.mu.Lock()
	c.expireLocked(now)
	if len(c.sessions) >= MaxSessions {
		var oldest string
		for k, x := range c.sessions {
			if oldest == "" || x.lastUsed.Before(c.sessions[oldest].lastUsed) {
				oldest = k
			}
		}
		delete(c.sessions, oldest)
	}
	c.sessions[hashToken(token)] = s
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/console/",
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
		MaxAge: int(SessionTTL / time.Second)})
	c.log.Info("console: admin logged in", "sdkappid", s.app, "admin", s.admin, "addr", remoteAddr(r))
	reply(w, http.StatusOK, c.sessionInfo(s))
}

func (c *Console) expireLocked(now time.Time) {
	for k, s := range c.sessions {
		if now.Sub(s.lastUsed) > SessionTTL {
			delete(c.sessions, k)
		}
	}
}

func (c *Console) sessionInfo(s *session) map[string]any {
	with := "usersig"
	if s.key != "" {
		with = "key"
	}
	return map[string]any{"sdkappid": strconv.FormatUint(s.app, 10), "admin": s.admin, "csrf": s.csrf,
		"node": c.b.Node(), "with": with}
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return string(h[:])
}

// authed wraps an API handler: the request needs a session whose
// credentials pass again now, of the app it names (if it names one), and a
// POST needs the session's token in its header and no foreign Origin.
func (c *Console) authed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(cookieName)
		if err != nil {
			fail(w, http.StatusUnauthorized, "not logged in")
			return
		}
		now := c.now()
		key := hashToken(ck.Value)
		c.mu.Lock()
		s := c.sessions[key]
		if s != nil && now.Sub(s.lastUsed) > SessionTTL {
			delete(c.sessions, key)
			s = nil
		}
		var cp session
		if s != nil {
			s.lastUsed = now
			cp = *s
		}
		c.mu.Unlock()
		if s == nil {
			fail(w, http.StatusUnauthorized, "not logged in (or the session expired)")
			return
		}
		if r.Method == http.MethodPost {
			got := r.Header.Get(tokenHeader)
			if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(got), []byte(cp.csrf)) != 1 {
				fail(w, http.StatusForbidden, "missing or wrong "+tokenHeader+" header, or cross-origin request")
				return
			}
		}
		if q := r.URL.Query().Get("sdkappid"); q != "" && q != strconv.FormatUint(cp.app, 10) {
			c.log.Warn("console: cross-app request refused", "sdkappid", cp.app, "asked", truncate(q, 24))
			fail(w, http.StatusForbidden, "this session is for app "+strconv.FormatUint(cp.app, 10)+" only")
			return
		}
		// Checked again as the REST API checks each call: a reload may have
		// removed the app, changed its admin or key, or the UserSig expired.
		if err := c.recheck(&cp); err != nil {
			c.mu.Lock()
			delete(c.sessions, key)
			c.mu.Unlock()
			fail(w, http.StatusUnauthorized, "session ended: "+err.Error())
			return
		}
		h(w, r, &cp)
	}
}

func (c *Console) recheck(s *session) error {
	if s.key != "" {
		admin, ok := c.b.CheckKey(s.app, s.key)
		if !ok {
			return errors.New("the app's key changed or the app is gone")
		}
		s.admin = admin
		return nil
	}
	return c.b.CheckAdmin(s.app, s.admin, s.userSig)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (c *Console) serveLogout(w http.ResponseWriter, r *http.Request, _ *session) {
	if ck, err := r.Cookie(cookieName); err == nil {
		c.mu.Lock()
		delete(c.sessions, hashToken(ck.Value))
		c.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	reply(w, http.StatusOK, map[string]bool{"ok": true})
}

func (c *Console) serveSession(w http.ResponseWriter, _ *http.Request, s *session) {
	reply(w, http.StatusOK, c.sessionInfo(s))
}

func (c *Console) serveStats(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	reply(w, http.StatusOK, c.b.Stats(ctx, s.app))
}

func (c *Console) serveUser(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := checkID(r.URL.Query().Get("id"))
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	u, err := c.b.Inspect(ctx, s.app, id)
	c.answer(w, u, err)
}

func (c *Console) serveRelation(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	x, err := checkID(q.Get("x"))
	if err == nil {
		var y string
		if y, err = checkID(q.Get("y")); err == nil {
			ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
			defer cancel()
			rel, err := c.b.Relation(ctx, s.app, x, y)
			c.answer(w, rel, err)
			return
		}
	}
	fail(w, http.StatusBadRequest, err.Error())
}

func (c *Console) serveKick(w http.ResponseWriter, r *http.Request, s *session) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	k, err := parseKick(body)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	if k.Device != 0 {
		err = c.b.KickDevice(ctx, s.app, k.User, k.Node, k.Device)
	} else {
		err = c.b.KickUser(ctx, s.app, k.User)
	}
	if err == nil {
		c.log.Info("console: kick", "sdkappid", s.app, "admin", s.admin, "user", k.User, "node", k.Node, "device", k.Device)
	}
	c.answer(w, map[string]bool{"ok": true}, err)
}

func (c *Console) serveImport(w http.ResponseWriter, r *http.Request, s *session) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	ids, err := parseImport(body)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	err = c.b.Import(ctx, s.app, ids)
	if err == nil {
		c.log.Info("console: accounts imported", "sdkappid", s.app, "admin", s.admin, "count", len(ids))
	}
	c.answer(w, map[string]any{"ok": true, "imported": ids}, err)
}

// answer replies v, or the refusal err is, or a failure that tells the
// page nothing of the server's internals (the log has it).
func (c *Console) answer(w http.ResponseWriter, v any, err error) {
	if err == nil {
		reply(w, http.StatusOK, v)
		return
	}
	if rf, ok := refusal(err); ok {
		reply(w, http.StatusUnprocessableEntity, map[string]any{"error": rf.Info, "code": rf.Code})
		return
	}
	c.log.Error("console: backend call failed", "err", err)
	fail(w, http.StatusInternalServerError, "server error; see the server's log")
}
