// Package server is the imstatus presence server: the WebSocket gateway that
// SDK clients log in to, the presence engine that derives and notifies user
// status (SEMANTICS §1–§3, §10), the upstream-compatible REST admin API (§8) and
// the state-change webhook (§9). cmd/imstatusd wraps it in a binary.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imstatus/imstatus/server/console"
	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/memstore"
	"github.com/imstatus/imstatus/server/ratelog"
	"github.com/imstatus/imstatus/server/webhook"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// Clock tells the time. Tests inject a fake one so that a 400 s heartbeat
// timeout is tested in microseconds.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options configures a Server. Zero values take the defaults given.
type Options struct {
	Apps   []AppConfig
	Clock  Clock        // default: the system clock
	Logger *slog.Logger // default: slog.Default()

	// SendQueue is how many frames may wait for a slow reader before its
	// connection is closed. Default 1024.
	SendQueue int
	// SendQueueBytes is how many bytes of frames may wait for a slow reader
	// before its connection is closed: a client that sends requests and
	// never reads their answers holds no more than this. Default 1 MiB.
	SendQueueBytes int
	// WriteTimeout bounds one frame's write. Default 10 s.
	WriteTimeout time.Duration
	// LoginTimeout is how long a new connection may wait before logging in.
	// Default 15 s.
	LoginTimeout time.Duration
	// SweepInterval is how often Run sweeps for lost devices, expired
	// UserSigs and subscription lists to clear. Default 1 s.
	SweepInterval time.Duration
	// HeartbeatInterval is what the server asks clients to use; default a
	// quarter of the app's heartbeat timeout, at most 30 s.
	HeartbeatInterval time.Duration
	// Webhook overrides the webhook sender's options.
	Webhook webhook.Options
	// Backend makes each app's directory, store and broker (package
	// presence); default: all three in memory (memstore), which holds
	// everything on this node and forgets it when the process ends.
	Backend func(AppConfig) (presence.Backend, error)
	// NodeID names this process among the nodes that share a backend; it
	// is part of every device key, so it must be unique per process start.
	// Default: "n-" and 12 random hex digits.
	NodeID string
	// StoreTimeout bounds each round of calls to the backend for one
	// request; past it the client gets a server error. Default 5 s.
	StoreTimeout time.Duration
	// MaxBackendCalls bounds the client requests (login, logout, status
	// calls) this node runs against the backend at once, and the closed
	// links' departures apart (a quarter as many); 0 is no bound. A
	// networked backend needs one: a reconnect storm of thousands of
	// clients otherwise has every call wait on Redis's connection pool past
	// its deadline, each failure retried by its client, and nobody gets
	// through. A request waits up to AdmitWait for its turn (StoreTimeout
	// counts from then) and is otherwise answered 70503, server busy; a
	// departure waits as long as it takes.
	MaxBackendCalls int
	// MaxConns and MaxConnsPerAddr bound the open WebSocket connections,
	// in all and from one remote address; 0 is no bound. A connection past
	// either is closed at once with 1013 (try again later) and a reason.
	// Behind a proxy or a balancer that hides the clients' addresses, leave
	// MaxConnsPerAddr 0.
	MaxConns, MaxConnsPerAddr int
	// LoginsPerAddr bounds the logins a second from one remote address
	// (bursts of as many); one past it is answered 7008 (frequency limit)
	// before its UserSig is checked. 0 is no bound; leave it 0 behind a
	// proxy or balancer that hides the clients' addresses.
	LoginsPerAddr int
	// AdmitWait is how long a request waits for its turn. Default 8 s: with
	// StoreTimeout, within the SDK's 15 s request timeout.
	AdmitWait time.Duration
	// LeaseTTL is how long this node's devices stay live in the store
	// without the node renewing its lease (every sweep). Default 15 s.
	LeaseTTL time.Duration
	// Health, when set, checks the shared backend (a Redis PING) for
	// /healthz, which answers 503 while it fails.
	Health func(context.Context) error
	// Counters, when set, adds the backend's counters to /metrics.
	Counters func() []Counter
	// RESTBodyLimit bounds a REST request's body, in bytes; past it the
	// call is refused in upstream's envelope. Default DefaultRESTBodyLimit.
	RESTBodyLimit int
	// Console serves the admin console at /console/ (package console) for
	// every app; without it, only for the apps whose AppConfig.Console is
	// set, and not at all (404) when none is.
	Console bool
}

// DefaultRESTBodyLimit fits a 1,000-item friend_import.
const DefaultRESTBodyLimit = 1 << 20

// Counter is one cumulative count /metrics serves.
type Counter struct {
	Name, Help string
	Value      uint64
}

// Server is one imstatus node. Create it with New, serve its Handler,
// drive its sweeps with Run, and stop it with Shutdown.
type Server struct {
	// ctx is the parent of every backend call's context.
	ctx      context.Context
	nodeID   string
	opts     Options
	clock    Clock
	log      *slog.Logger
	apps     atomic.Pointer[appSet] // replaced whole by Reload
	hooks    *webhook.Sender
	upgrader websocket.Upgrader
	// writeBufs holds the framing buffers of connections' writers: a
	// connection has one only while it writes.
	writeBufs sync.Pool
	mux       *http.ServeMux
	metrics   metrics
	// targets holds the recipient lists of deliveries between uses.
	targets sync.Pool
	// reloadMu serialises Reload, and guards unregister, which ends the
	// apps' broker registrations and background loops.
	reloadMu   sync.Mutex
	unregister []func()

	// slots holds a token for each backend call under way (nil: no
	// bound; Options.MaxBackendCalls); logins also hold one of loginSlots,
	// half as many, so that a flood of logins leaves turns to the calls of
	// clients already logged in: a login whose next call (its subscribe)
	// found no turn would be wasted, and its client would come back.
	// The departures of closed links take turns of their own, leaveSlots
	// (a quarter as many): when thousands of links drop at once, their
	// departures queued for the same turns would hold every login back
	// until the last of them was done.
	slots, loginSlots, leaveSlots chan struct{}

	nextConn atomic.Uint64
	mu       sync.Mutex
	conns    map[uint64]*conn // every open connection, logged in or not
	perAddr  map[string]int   // open connections by remote address (with MaxConnsPerAddr)
	logins   *addrRate        // logins a second by remote address (nil: no bound)
	closing  bool
	wg       sync.WaitGroup // connection goroutines
}

// New returns a server for the given apps.
func New(opts Options) (_ *Server, err error) {
	if len(opts.Apps) == 0 {
		return nil, errors.New("server: no apps configured")
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	// Clients can make the server log (bad frames, slow readers, failed
	// webhooks, a failing store): no message may be written faster than
	// ratelog's bound, whoever triggers it.
	opts.Logger = slog.New(ratelog.New(opts.Logger.Handler(), ratelog.Options{}))
	if opts.SendQueue <= 0 {
		opts.SendQueue = 1024
	}
	if opts.SendQueueBytes <= 0 {
		opts.SendQueueBytes = 1 << 20
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.LoginTimeout <= 0 {
		opts.LoginTimeout = 15 * time.Second
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = time.Second
	}
	if opts.RESTBodyLimit <= 0 {
		opts.RESTBodyLimit = DefaultRESTBodyLimit
	}
	if opts.Webhook.Logger == nil {
		opts.Webhook.Logger = opts.Logger
	} else {
		opts.Webhook.Logger = slog.New(ratelog.New(opts.Webhook.Logger.Handler(), ratelog.Options{}))
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 5 * time.Second
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 15 * time.Second
	}
	if opts.AdmitWait <= 0 {
		opts.AdmitWait = 8 * time.Second
	}
	if opts.NodeID == "" {
		opts.NodeID = randomNodeID()
	}
	if opts.Backend == nil {
		opts.Backend = func(AppConfig) (presence.Backend, error) { return memstore.NewBackend(), nil }
	}
	s := &Server{
		ctx:     context.Background(),
		nodeID:  opts.NodeID,
		opts:    opts,
		clock:   opts.Clock,
		log:     opts.Logger,
		conns:   make(map[uint64]*conn),
		perAddr: make(map[string]int),
	}
	if opts.LoginsPerAddr > 0 {
		s.logins = newAddrRate(opts.LoginsPerAddr)
	}
	if opts.MaxBackendCalls > 0 {
		s.slots = make(chan struct{}, opts.MaxBackendCalls)
		s.loginSlots = make(chan struct{}, max(opts.MaxBackendCalls/2, 1))
		s.leaveSlots = make(chan struct{}, max(opts.MaxBackendCalls/4, 1))
	}
	// Ready before any app registers with its broker: from then on other
	// nodes' deliveries may arrive (they still route to a node that
	// restarts), and Deliver uses these.
	s.hooks = webhook.New(opts.Webhook)
	defer func() {
		if err != nil {
			s.stopApps() // the apps registered with their brokers before the error
			s.hooks.Close(context.Background())
		}
	}()
	s.targets.New = func() any { return new([]*conn) }
	s.writeBufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	cfgs, err := checkApps(opts.Apps)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	set := &appSet{live: make(map[uint64]*app)}
	for _, c := range cfgs {
		a, err := s.newStartedApp(c)
		if err != nil {
			return nil, err
		}
		set.live[c.SDKAppID] = a
		set.all = append(set.all, a)
	}
	s.apps.Store(set)
	s.upgrader = websocket.Upgrader{
		// Small read buffers: most connections are idle most of the time,
		// and a frame larger than the buffer is read past it, not through it.
		ReadBufferSize:    256,
		WriteBufferSize:   1024,
		WriteBufferPool:   &sync.Pool{},
		Subprotocols:      []string{wire.Subprotocol},
		EnableCompression: false,
		// Native clients send no Origin; browsers are not this protocol's clients.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("/v4/{service}/{command}", s.serveREST)
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.Handle("/console/", s.consoleGate(console.New(consoleBackend{s}, s.log)))
	return s, nil
}

// appSet is the apps of this node: live, by SDKAppID, are those it
// serves; all are every app started since New. An app a reload removed
// keeps running, without connections, until Shutdown, and serves again if
// a later reload adds it back: its broker registration and the listener
// sets it keeps are this node's, and a second app of the same SDKAppID
// would stop listening to what the first one's connections need.
type appSet struct {
	live map[uint64]*app
	all  []*app
}

// app returns the live app of sdkAppID, nil if none.
func (s *Server) app(sdkAppID uint64) *app { return s.apps.Load().live[sdkAppID] }

// checkApps fills the defaults of apps and validates them.
func checkApps(apps []AppConfig) ([]AppConfig, error) {
	if len(apps) == 0 {
		return nil, errors.New("no apps configured")
	}
	out := make([]AppConfig, 0, len(apps))
	seen := make(map[uint64]bool)
	for _, c := range apps {
		c = c.WithDefaults()
		if err := c.Validate(); err != nil {
			return nil, err
		}
		if seen[c.SDKAppID] {
			return nil, fmt.Errorf("sdkappid %d configured twice", c.SDKAppID)
		}
		seen[c.SDKAppID] = true
		out = append(out, c)
	}
	return out, nil
}

// newStartedApp makes app c's backend and starts the app on this node.
func (s *Server) newStartedApp(c AppConfig) (*app, error) {
	b, err := s.opts.Backend(c)
	if err != nil {
		return nil, fmt.Errorf("server: app %d: %w", c.SDKAppID, err)
	}
	if b.Directory == nil || b.Store == nil || b.Broker == nil {
		return nil, fmt.Errorf("server: app %d: the backend lacks a directory, a store or a broker", c.SDKAppID)
	}
	a := newApp(s, c, b)
	if err := s.startApp(a); err != nil {
		return nil, fmt.Errorf("server: app %d: %w", c.SDKAppID, err)
	}
	s.warnSwitches(c)
	return a, nil
}

func (s *Server) warnSwitches(c AppConfig) {
	if c.Edition != "ultimate" || !*c.UserStatusEnabled {
		s.log.Warn("querying others and subscribing are off for this app",
			"sdkappid", c.SDKAppID, "edition", c.Edition, "user_status_enabled", *c.UserStatusEnabled)
	}
}

// Reload makes apps this node's apps, as the apps file now says: a new app
// is started, a changed one takes its new settings for the requests and
// logins that follow (a device logged in stays, whatever its UserSig), and
// a removed one's connections are closed with a shutdown push (their
// clients' logins are then refused: unknown SDKAppID). An invalid set
// changes nothing. It returns what changed.
func (s *Server) Reload(apps []AppConfig) (added, changed, removed []uint64, err error) {
	cfgs, err := checkApps(apps)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("server: %w", err)
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	cur := s.apps.Load()
	next := &appSet{live: make(map[uint64]*app, len(cfgs)), all: slices.Clone(cur.all)}
	known := make(map[uint64]*app, len(cur.all))
	for _, a := range cur.all {
		known[a.id] = a
	}
	for _, c := range cfgs {
		if a := known[c.SDKAppID]; a != nil {
			next.live[c.SDKAppID] = a
			continue
		}
		a, err := s.newStartedApp(c)
		if err != nil {
			// The apps started so far run on, unserved, until Shutdown.
			s.apps.Store(&appSet{live: cur.live, all: next.all})
			return nil, nil, nil, err
		}
		next.live[c.SDKAppID] = a
		next.all = append(next.all, a)
		known[c.SDKAppID] = a
		added = append(added, c.SDKAppID)
	}
	for _, c := range cfgs {
		a := next.live[c.SDKAppID]
		if slices.Contains(added, c.SDKAppID) {
			continue
		}
		if cur.live[c.SDKAppID] == nil {
			added = append(added, c.SDKAppID) // back after a removal
		} else if !reflect.DeepEqual(a.conf().AppConfig, c) {
			changed = append(changed, c.SDKAppID)
		} else {
			continue
		}
		a.configure(c)
		s.warnSwitches(c)
	}
	s.apps.Store(next)
	for id, a := range cur.live {
		if next.live[id] == nil {
			removed = append(removed, id)
			a.retire()
		}
	}
	slices.Sort(added)
	slices.Sort(changed)
	slices.Sort(removed)
	return added, changed, removed, nil
}

// startApp readies an app's backend for this node: the admin's account,
// the node's lease, and its registration with the broker.
func (s *Server) startApp(a *app) error {
	ctx, cancel := a.call()
	defer cancel()
	if err := a.dir.ImportAccounts(ctx, a.conf().Admin); err != nil {
		return err
	}
	now := s.clock.Now()
	if _, err := a.store.RenewLease(ctx, a.leaseID(), now, s.opts.LeaseTTL); err != nil {
		return err
	}
	a.renewedSince.Store(now.UnixNano())
	stop, err := a.broker.Register(ctx, s.nodeID, a)
	if err != nil {
		return err
	}
	s.unregister = append(s.unregister, stop)
	s.background(a.resyncLoop)
	if a.router != nil {
		s.background(a.unlistenLoop)
	}
	return nil
}

// background runs loop until the apps stop.
func (s *Server) background(loop func(done <-chan struct{})) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		loop(done)
	}()
	s.unregister = append(s.unregister, func() { close(done); <-exited })
}

func (s *Server) stopApps() {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	for _, stop := range s.unregister {
		stop()
	}
	s.unregister = nil
}

// NodeID is this node's id, part of every device key it hands out.
func (s *Server) NodeID() string { return s.nodeID }

func randomNodeID() string {
	var b [6]byte
	rand.Read(b[:])
	return "n-" + hex.EncodeToString(b[:])
}

// serveHealth answers {"status":"ok","connections":N}, with "backend":"ok"
// or the backend's error when Options.Health is set (then 503 and
// "status":"degraded" while the backend fails: the node keeps its
// connections, and its calls answer server errors).
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.opts.Health == nil {
		fmt.Fprintf(w, `{"status":"ok","connections":%d}`+"\n", s.connCount())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, backend := "ok", "ok"
	if err := s.opts.Health(ctx); err != nil {
		status, backend = "degraded", "error: "+err.Error()
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	b := fmt.Appendf(nil, `{"status":%q,"connections":%d,"backend":`, status, s.connCount())
	b = wire.AppendString(b, truncate(backend, 200))
	w.Write(append(b, "}\n"...))
}

// ImportAccounts creates accounts in an app, as the REST account_import
// does; existing ones are left alone.
func (s *Server) ImportAccounts(sdkAppID uint64, ids ...string) error {
	a := s.app(sdkAppID)
	if a == nil {
		return fmt.Errorf("server: no app %d", sdkAppID)
	}
	for _, id := range ids {
		if err := usersig.CheckUserID(id); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	ctx, cancel := a.call()
	defer cancel()
	return a.dir.ImportAccounts(ctx, ids...)
}

// Handler serves the WebSocket gateway at /ws, the REST API under /v4/,
// /metrics, /healthz and, with Options.Console, the admin console under
// /console/.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Run renews this node's leases and sweeps, each every SweepInterval on
// its own loop, until ctx is done.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.every(ctx, func() { s.renewLeases(s.clock.Now()) }) })
	s.every(ctx, func() { s.sweep(s.clock.Now()) })
	wg.Wait()
}

// every calls f every SweepInterval until ctx is done.
func (s *Server) every(ctx context.Context, f func()) {
	t := time.NewTicker(s.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// Sweep does one pass of the time-driven work at the clock's current time:
// it closes connections that did not log in in time, declares devices whose
// heartbeats stopped gone (OFFLINE), logs out devices whose UserSig expired,
// renews this node's lease and, on the node that leads each app's sweep,
// ends the devices of nodes whose lease ran out and clears subscription
// lists whose owners went away long enough ago. Run calls it; tests call it
// after moving a fake clock.
func (s *Server) Sweep() {
	now := s.clock.Now()
	s.renewLeases(now)
	s.sweep(now)
}

func (s *Server) renewLeases(now time.Time) {
	for _, a := range s.apps.Load().all {
		a.renewLease(now)
	}
}

func (s *Server) sweep(now time.Time) {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.sweep(now)
	}
	if s.logins != nil {
		s.logins.sweep(now)
	}
	for _, a := range s.apps.Load().all {
		a.sweep(now)
	}
}

// addConn records c, unless the server is closing or a connection cap is
// reached: then it returns the close code and reason to answer with.
func (s *Server) addConn(c *conn) (closeCode int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return websocket.CloseGoingAway, "server shutting down"
	case s.opts.MaxConns > 0 && len(s.conns) >= s.opts.MaxConns:
		s.metrics.connsRefused.Add(1)
		return websocket.CloseTryAgainLater, "too many connections on this server; try again later"
	case s.opts.MaxConnsPerAddr > 0 && s.perAddr[c.ip] >= s.opts.MaxConnsPerAddr:
		s.metrics.connsRefused.Add(1)
		return websocket.CloseTryAgainLater, "too many connections from this address; try again later"
	}
	s.conns[c.id] = c
	if s.opts.MaxConnsPerAddr > 0 {
		s.perAddr[c.ip]++
	}
	return 0, ""
}

// admit waits for a turn to call the backend, up to wait (without end
// when wait < 0), and reports whether it came; release ends the turn.
func (s *Server) admit(wait time.Duration) bool {
	return s.take(s.slots, wait, nil)
}

// admitLogin is admit for a login: a login turn, then a turn, within wait.
func (s *Server) admitLogin(wait time.Duration) bool {
	if s.slots == nil {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	if !s.take(s.loginSlots, -1, t.C) {
		return false
	}
	if !s.take(s.slots, -1, t.C) {
		<-s.loginSlots
		return false
	}
	return true
}

// take puts a token in slots (nil: no bound), waiting up to wait (without
// end when wait < 0) or until timeout fires.
func (s *Server) take(slots chan struct{}, wait time.Duration, timeout <-chan time.Time) bool {
	if slots == nil {
		return true
	}
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	if wait >= 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case slots <- struct{}{}:
		return true
	case <-timeout:
		s.metrics.shed.Add(1)
		return false
	}
}

// release ends a turn admit gave.
func (s *Server) release() {
	if s.slots != nil {
		<-s.slots
	}
}

// admitLeave waits for a departure's turn, as long as it takes: the
// device must end. releaseLeave ends it.
func (s *Server) admitLeave() { s.take(s.leaveSlots, -1, nil) }

func (s *Server) releaseLeave() {
	if s.leaveSlots != nil {
		<-s.leaveSlots
	}
}

// releaseLogin ends a turn admitLogin gave.
func (s *Server) releaseLogin() {
	if s.slots != nil {
		<-s.slots
		<-s.loginSlots
	}
}

// busy is the answer to a request that found no turn in time.
const busy = "server busy: too many requests at once; try again shortly"

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c.id)
	if s.opts.MaxConnsPerAddr > 0 {
		if s.perAddr[c.ip]--; s.perAddr[c.ip] <= 0 {
			delete(s.perAddr, c.ip)
		}
	}
	s.mu.Unlock()
}

// Shutdown tells every connected client that the server is going away,
// closes the connections once their queued frames are written (or ctx is
// done), and stops the webhook sender after it has drained. The caller
// stops accepting new connections first (http.Server.Shutdown).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	frame := wire.AppendPush(nil, wire.OpShutdown, wire.CodeServerOverloaded, "server is shutting down; reconnect")
	for _, c := range conns {
		c.closeWith(frame, websocket.CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		for _, c := range conns {
			c.ws.NetConn().Close()
		}
	}
	s.stopApps()
	if herr := s.hooks.Close(ctx); err == nil {
		err = herr
	}
	return err
}
