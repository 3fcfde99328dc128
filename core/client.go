// Package core is the imstatus client: it logs a user in to an imstatus
// server over a WebSocket, keeps the link alive (heartbeats, reconnection
// with jittered exponential backoff, failover across addresses, re-login and
// re-subscription after a reconnect), checks calls locally before any round
// trip, and reports status changes and link events in order.
//
// It is a plain Go API: Go programs and tests use it directly, and the C
// library (capi) is a thin layer over it.
package core

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// Config configures a Client. Zero values take the defaults given.
type Config struct {
	SDKAppID uint64
	// Servers are "host:port" (or ws:// / wss:// URLs) tried in order,
	// then round robin. SetServers changes them later.
	Servers []string
	// TLSConfig configures wss:// connections; nil trusts the system's
	// certificate authorities.
	TLSConfig *tls.Config
	// Platform is the device's platform (wire.Platforms); default from GOOS.
	Platform string
	// DeviceID tells devices of the same platform apart (optional).
	DeviceID string
	// UserDefineData, if set, is asked at every login (reconnects
	// included) for the data the server passes to its webhook with this
	// device's events: a UTF-8 string of at most wire.MaxUserDefineData
	// bytes (anything else is left out, with a warning).
	UserDefineData func() string
	Logger         *slog.Logger
	// OnEvent receives events, from one goroutine, in order. It should
	// return quickly; events wait behind it.
	OnEvent func(Event)
	// InlineEvents calls OnEvent on the client's own goroutines as events
	// happen, saving a hand-off; OnEvent must then never block (the C API
	// only queues what it gets).
	InlineEvents bool
	// RequestTimeout bounds a call without a deadline of its own, waiting
	// for the link included. Default 15 s.
	RequestTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait between connection attempts
	// (exponential, jittered). Defaults 250 ms and 30 s.
	BackoffMin, BackoffMax time.Duration
	// HeartbeatInterval overrides the interval the server asks for.
	HeartbeatInterval time.Duration
	// Now tells the time for the local rate limits; default time.Now.
	Now func() time.Time
}

// Client is one SDK instance: at most one logged-in user at a time.
// Its methods are safe for concurrent use.
type Client struct {
	cfg    Config
	log    *slog.Logger
	events *eventQueue

	mu      sync.Mutex
	servers []string
	state   LoginStatus
	endErr  *wire.Error // why calls fail while not logged in
	userID  string
	userSig string
	sess    *session      // the logged-in link, nil while (re)connecting
	changed chan struct{} // closed and replaced whenever state or sess changes
	stop    context.CancelFunc
	runDone chan struct{}
	// afterEnd, when a test sets it (export_test.go), runs each time end
	// releases mu.
	afterEnd func()
	subs     []string               // subscriptions, oldest first (mirrors the server)
	cache    map[string]wire.Status // last status reported per user
	// floor keeps the versions reported before the last logout, for the
	// next login of the same user (floorUser): a status older than one
	// the app was told then is older still.
	floor     map[string]uint64
	floorUser string
	// statusMu orders the reports of statuses: an ended link's reader
	// still reporting must not pass the next link's.
	statusMu sync.Mutex
	limits   wire.Limits
	// serverTime is the server's clock as its last login reply gave it,
	// and serverTimeAt the local (monotonic) time it arrived.
	serverTime, serverTimeAt time.Time
	windows                  map[string]*window
	closed                   bool
	order                    orderer // calls reach the server in the order they were made
	// lastConnErr is why the last connection attempt failed, for a login
	// that times out to say.
	lastConnErr string
	tlsConfig   *tls.Config // for wss:// (Config.TLSConfig, SetTLSConfig)
}

// Errors a Client returns besides the server's; all are *wire.Error.
var (
	ErrNotLoggedIn = &wire.Error{Code: wire.CodeNotLoggedIn, Desc: "not logged in"}
	ErrClosed      = &wire.Error{Code: wire.CodeSDKUninit, Desc: "SDK uninitialised"}
)

// New returns a client; it connects at Login.
func New(cfg Config) (*Client, error) {
	if cfg.SDKAppID == 0 {
		return nil, errors.New("core: SDKAppID is 0")
	}
	if cfg.Platform == "" {
		cfg.Platform = PlatformOf(runtime.GOOS)
	}
	if !wire.ValidPlatform(cfg.Platform) {
		return nil, fmt.Errorf("core: platform %q is not one of %v", cfg.Platform, wire.Platforms)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = 250 * time.Millisecond
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = max(30*time.Second, cfg.BackoffMin)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{
		cfg:       cfg,
		log:       cfg.Logger,
		events:    newEventQueue(cfg.OnEvent, cfg.InlineEvents),
		servers:   slices.Clone(cfg.Servers),
		tlsConfig: cfg.TLSConfig,
		state:     UnLogined,
		endErr:    ErrNotLoggedIn,
		changed:   make(chan struct{}),
		cache:     make(map[string]wire.Status),
		floor:     make(map[string]uint64),
		windows:   make(map[string]*window),
	}
	return c, nil
}

// PlatformOf maps a GOOS to a platform name of the protocol.
func PlatformOf(goos string) string {
	switch goos {
	case "windows":
		return "Windows"
	case "darwin":
		return "Mac"
	case "android":
		return "Android"
	case "ios":
		return "iPhone"
	case "js", "wasip1":
		return "Web"
	}
	return "Linux"
}

// SetServers replaces the server addresses; the next connection attempt uses them.
func (c *Client) SetServers(addrs []string) {
	c.mu.Lock()
	c.servers = slices.Clone(addrs)
	c.mu.Unlock()
}

// SetTLSConfig replaces Config.TLSConfig for the connections made from now
// on (nil: the system's certificate authorities).
func (c *Client) SetTLSConfig(cfg *tls.Config) {
	c.mu.Lock()
	c.tlsConfig = cfg
	c.mu.Unlock()
}

// Servers returns the server addresses.
func (c *Client) Servers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.servers)
}

// broadcast wakes everyone waiting on a state change. c.mu is held.
func (c *Client) broadcast() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// LoginStatus returns the login state.
func (c *Client) LoginStatus() LoginStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// UserID returns the logged-in user, or "".
func (c *Client) UserID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != Logined {
		return ""
	}
	return c.userID
}

// Login connects and logs userID in. It returns once the server accepted
// the login, or with the server's error (70001 … 70014), or when ctx (or,
// without a deadline, RequestTimeout) ends while no server answers (6012).
// While logged in the client stays connected, reconnecting as needed.
func (c *Client) Login(ctx context.Context, userID, userSig string) error {
	wait, err := c.StartLogin(userID, userSig)
	if err != nil {
		return err
	}
	return wait(ctx)
}

// StartLogin begins a login: it checks the arguments and the state and
// enters Logining before it returns; wait returns the outcome, as Login
// does. wait must be called exactly once.
func (c *Client) StartLogin(userID, userSig string) (wait func(context.Context) error, err error) {
	if err := usersig.CheckUserID(userID); err != nil {
		return nil, &wire.Error{Code: wire.CodeInvalidParams, Desc: err.Error()}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, ErrClosed
	case c.state == Logined && c.userID == userID:
		return func(context.Context) error { return nil }, nil
	case c.state == Logined:
		return nil, wire.Errorf(wire.CodeInvalidParams, "already logged in as %s; log out first", c.userID)
	case c.state != UnLogined:
		return nil, wire.Errorf(wire.CodeInvalidParams, "a login or logout is in progress")
	case len(c.servers) == 0:
		return nil, wire.Errorf(wire.CodeInvalidParams, "no server address: set one (IMSDK_SERVER_ADDR or set_custom_server_info)")
	case len(userSig) > usersig.MaxSigLen:
		// The server would refuse it 70003; one too long for a frame would
		// not even be read (the link closed, retried until the timeout).
		err := wire.Errorf(wire.CodeSigInvalid, "UserSig check failed: it is %d bytes, more than %d", len(userSig), usersig.MaxSigLen)
		return func(context.Context) error { return err }, nil
	}
	c.state = Logining
	c.userID, c.userSig = userID, userSig
	c.lastConnErr = ""
	c.subs = nil
	if userID == c.floorUser {
		c.forget()
	} else {
		clear(c.cache)
		clear(c.floor)
		c.floorUser = userID
	}
	clear(c.windows)
	runCtx, stop := context.WithCancel(context.Background())
	c.stop = stop
	done := make(chan struct{})
	c.runDone = done
	first := make(chan error, 1)
	c.broadcast()
	go c.run(runCtx, done, first)

	return func(ctx context.Context) error {
		ctx, cancel := c.withTimeout(ctx)
		defer cancel()
		select {
		case err := <-first:
			return err
		case <-ctx.Done():
			c.end(nil, wire.Errorf(wire.CodeNotLoggedIn, "not logged in"))
			<-done
			c.mu.Lock()
			last := c.lastConnErr
			c.mu.Unlock()
			if last != "" {
				return wire.Errorf(wire.CodeTimeout, "login timed out: no server answered in time; the last attempt: %s", last)
			}
			return wire.Errorf(wire.CodeTimeout, "login timed out: no server answered in time")
		}
	}, nil
}

func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.cfg.RequestTimeout)
}

// end stops the connection manager and marks the client logged out; calls
// that wait for the link fail with why.
func (c *Client) end(emit Event, why *wire.Error) {
	c.mu.Lock()
	if c.stop != nil {
		// Under mu: the connection manager looks at its context under mu
		// before it makes the client Logined, so a link it finishes after
		// this cannot log the client back in (left Logined with no link).
		c.stop()
		c.stop = nil
	}
	c.sess = nil
	if c.state != UnLogined {
		c.state = UnLogined
		c.endErr = why
	}
	c.broadcast()
	c.mu.Unlock()
	if c.afterEnd != nil {
		c.afterEnd()
	}
	if emit != nil {
		c.events.emit(emit)
	}
}

// Logout logs the user out on the server and disconnects.
func (c *Client) Logout(ctx context.Context) error {
	wait, err := c.StartLogout()
	if err != nil {
		return err
	}
	return wait(ctx)
}

// StartLogout begins a logout: it checks the state and enters Logouting
// before it returns; wait sends the logout (after every call made before
// it) and disconnects. wait must be called exactly once.
func (c *Client) StartLogout() (wait func(context.Context) error, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.state != Logined {
		return nil, ErrNotLoggedIn
	}
	c.state = Logouting
	s := c.sess
	done := c.runDone
	t := c.order.reserve()
	c.broadcast()
	return func(ctx context.Context) error {
		defer c.order.release(t)
		var err error
		if s != nil {
			ctx, cancel := c.withTimeout(ctx)
			if err = c.order.wait(ctx, t); err == nil {
				_, err = s.request(ctx, wire.OpLogout, nil)
			}
			cancel()
		}
		// Logged out either way: a server that did not hear it sees the
		// link close and marks the device OFFLINE.
		c.end(nil, ErrNotLoggedIn)
		if done != nil {
			<-done
		}
		c.mu.Lock()
		c.subs = nil
		c.forget()
		c.mu.Unlock()
		if err != nil && !errors.Is(err, errSessionLost) {
			c.log.Info("logout not acknowledged by the server", "err", err)
		}
		return nil
	}, nil
}

// Close logs nothing out: it drops the link (the server sees the device
// go OFFLINE), fails calls still waiting with 6013, and stops events. No
// event is delivered after Close returns. It must not be called from OnEvent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	done := c.runDone
	c.mu.Unlock()
	c.end(nil, ErrClosed)
	c.mu.Lock()
	c.endErr = ErrClosed
	c.broadcast()
	c.mu.Unlock()
	if done != nil {
		<-done
	}
	c.events.close()
	return nil
}

// ready returns the logged-in session, waiting for a reconnect if needed.
func (c *Client) ready(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		if c.state != Logined {
			err := c.endErr
			c.mu.Unlock()
			return nil, err
		}
		if s := c.sess; s != nil && !s.ended() {
			c.mu.Unlock()
			return s, nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, wire.Errorf(wire.CodeTimeout, "timed out waiting for the connection to the server")
		}
	}
}

// call sends a request once a session is ready and its turn has come (see
// Reserve), and returns its reply. A request whose link dropped is sent
// again on the next one: every operation is idempotent.
func (c *Client) call(ctx context.Context, op wire.Op, body []byte) (wire.ServerFrame, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	t := c.ticket(ctx)
	defer c.order.release(t)
	if err := c.order.wait(ctx, t); err != nil {
		return wire.ServerFrame{}, err
	}
	for {
		s, err := c.ready(ctx)
		if err != nil {
			return wire.ServerFrame{}, err
		}
		f, err := s.requestThen(ctx, op, body, func() { c.order.release(t) })
		if errors.Is(err, errSessionLost) {
			continue
		}
		if err != nil {
			return f, err
		}
		if f.Code != 0 {
			desc := f.Desc
			if desc == "" {
				desc = "server error"
			}
			return f, &wire.Error{Code: f.Code, Desc: desc}
		}
		return f, nil
	}
}

// loggedIn returns the user id, or ErrNotLoggedIn (or why the session ended).
func (c *Client) loggedIn() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", ErrClosed
	}
	if c.state != Logined {
		return "", c.endErr
	}
	return c.userID, nil
}

// SetSelfStatus sets the user's custom status (≤ 100 bytes of UTF-8; ""
// clears it). Not rate limited.
func (c *Client) SetSelfStatus(ctx context.Context, custom string) error {
	defer c.releaseReserved(ctx) // also when a check refuses the call
	if _, err := c.loggedIn(); err != nil {
		return err
	}
	if err := wire.CheckCustomStatus(custom); err != nil {
		return &wire.Error{Code: wire.CodeInvalidParams, Desc: err.Error()}
	}
	_, err := c.call(ctx, wire.OpSetStatus, wire.AppendSetStatusBody(nil, custom))
	return err
}

// GetUserStatus returns the status of each id, in order (type 0 for an id
// without an account).
func (c *Client) GetUserStatus(ctx context.Context, ids []string) ([]wire.Status, error) {
	defer c.releaseReserved(ctx) // also when a check refuses the call
	me, err := c.loggedIn()
	if err != nil {
		return nil, err
	}
	if err := checkIDs(ids, false); err != nil {
		return nil, err
	}
	if !(len(ids) == 1 && ids[0] == me) {
		if err := c.admit(apiGet, len(ids)); err != nil {
			return nil, err
		}
	}
	f, err := c.call(ctx, wire.OpGetStatus, wire.AppendIDsBody(nil, ids))
	if err != nil {
		return nil, err
	}
	sts, err := wire.ParseStatuses(f.Body)
	if err != nil || len(sts) != len(ids) {
		return nil, wire.Errorf(wire.CodeServerInternal, "the server's answer is malformed")
	}
	return sts, nil
}

// Subscribe subscribes to the ids' status changes; their current state is
// then delivered as a StatusChanged event.
func (c *Client) Subscribe(ctx context.Context, ids []string) error {
	defer c.releaseReserved(ctx) // also when a check refuses the call
	me, err := c.loggedIn()
	if err != nil {
		return err
	}
	if err := checkIDs(ids, false); err != nil {
		return err
	}
	if slices.Contains(ids, me) {
		return wire.Errorf(wire.CodeInvalidParams, "cannot subscribe to yourself; your own changes always reach you")
	}
	if err := c.admit(apiSubscribe, len(ids)); err != nil {
		return err
	}
	if _, err := c.call(ctx, wire.OpSubscribe, wire.AppendIDsBody(nil, ids)); err != nil {
		return err
	}
	c.mu.Lock()
	c.subs = addSubs(c.subs, ids, c.maxSubscriptions())
	c.mu.Unlock()
	return nil
}

// Unsubscribe removes the ids' subscriptions; no ids removes all.
func (c *Client) Unsubscribe(ctx context.Context, ids []string) error {
	defer c.releaseReserved(ctx) // also when a check refuses the call
	if _, err := c.loggedIn(); err != nil {
		return err
	}
	if err := checkIDs(ids, true); err != nil {
		return err
	}
	if err := c.admit(apiUnsubscribe, len(ids)); err != nil {
		return err
	}
	if _, err := c.call(ctx, wire.OpUnsubscribe, wire.AppendIDsBody(nil, ids)); err != nil {
		return err
	}
	c.mu.Lock()
	if len(ids) == 0 {
		c.subs = nil
	} else {
		c.subs = slices.DeleteFunc(c.subs, func(s string) bool { return slices.Contains(ids, s) })
	}
	c.mu.Unlock()
	return nil
}

// maxFloor bounds the versions kept from logins before: past it they are
// forgotten (a late status older than one of theirs is then taken).
const maxFloor = 1 << 16

// forget clears the statuses reported, keeping their versions in the
// floor. c.mu is held.
func (c *Client) forget() {
	if len(c.floor)+len(c.cache) > maxFloor {
		clear(c.floor)
	}
	for id, st := range c.cache {
		c.floor[id] = max(c.floor[id], st.Version)
	}
	clear(c.cache)
}

// Subscriptions returns the subscriptions, oldest first.
func (c *Client) Subscriptions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.subs)
}

// checkIDs applies the id rules; an empty list is allowed only when emptyOK.
func checkIDs(ids []string, emptyOK bool) error {
	if len(ids) == 0 && !emptyOK {
		return wire.Errorf(wire.CodeInvalidParams, "no user ids given")
	}
	for _, id := range ids {
		if err := usersig.CheckUserID(id); err != nil {
			return &wire.Error{Code: wire.CodeInvalidParams, Desc: err.Error()}
		}
	}
	return nil
}

// addSubs appends ids (moving ones already there to the newest place) and
// evicts the oldest past max, as the server does.
func addSubs(subs, ids []string, max int) []string {
	for _, id := range ids {
		if i := slices.Index(subs, id); i >= 0 {
			subs = slices.Delete(subs, i, i+1)
		}
		subs = append(subs, id)
	}
	if n := len(subs) - max; n > 0 {
		subs = slices.Delete(subs, 0, n)
	}
	return subs
}

// ServerTime is the server's clock now: what the last login reply said,
// moved on by the local monotonic clock since; the local clock before any
// login.
func (c *Client) ServerTime() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.serverTimeAt.IsZero() {
		return time.Now()
	}
	return c.serverTime.Add(time.Since(c.serverTimeAt))
}
