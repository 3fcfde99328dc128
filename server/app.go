package server

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/webhook"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// app is the presence engine of one SDKAppID. Its mutex serialises every
// change with the queueing of the frames that tell of it, so notifications
// of one user reach every recipient in the order the changes happened.
type app struct {
	srv     *Server
	cfg     AppConfig
	policy  presence.Policy
	state   Store
	limiter *limiter

	heartbeatTimeout time.Duration
	clearDelay       time.Duration
	heartbeatEvery   time.Duration

	mu       sync.Mutex
	conns    map[string][]*conn // user → live devices on this node
	devices  atomic.Int64       // how many conns holds, for /metrics
	watchers []string           // notify's scratch lists, reused under mu
	targets  []*conn
}

func newApp(s *Server, cfg AppConfig, state Store) *app {
	policy, _ := parsePolicy(cfg.MultiDevicePolicy) // Validate has checked it
	a := &app{
		srv:              s,
		cfg:              cfg,
		policy:           policy,
		state:            state,
		limiter:          newLimiter(cfg.RateLimitCalls, ms(cfg.RateLimitWindowMS)),
		heartbeatTimeout: ms(cfg.HeartbeatTimeoutMS),
		clearDelay:       ms(cfg.SubscriptionClearDelayMS),
		conns:            make(map[string][]*conn),
	}
	a.heartbeatEvery = s.opts.HeartbeatInterval
	if a.heartbeatEvery <= 0 {
		a.heartbeatEvery = min(a.heartbeatTimeout/4, 30*time.Second)
	}
	return a
}

func (a *app) now() time.Time { return a.srv.clock.Now() }

// login verifies the UserSig and makes c a live device of the user,
// kicking the devices the multi-device policy replaces.
func (a *app) login(c *conn, seq uint64, l wire.LoginBody) {
	if !usersig.ValidUserID(l.UserID) {
		c.reply(seq, wire.CodeServerParams, "invalid user id: 1 to 32 characters of A-Z a-z 0-9 _ -", nil)
		return
	}
	if !wire.ValidPlatform(l.Platform) {
		c.reply(seq, wire.CodeServerParams, "invalid platform: one of iPhone, Android, iPad, Windows, Mac, Linux, Web", nil)
		return
	}
	now := a.now()
	t, err := usersig.Verify(l.UserSig, a.cfg.SecretKey, a.cfg.SDKAppID, l.UserID, now)
	if err != nil {
		a.srv.metrics.loginRefused.Add(1)
		c.reply(seq, usersig.CodeOf(err), err.Error(), nil)
		// A client guessing UserSigs makes the server check each one; past a
		// few on one link it must open a new link to go on guessing.
		if c.failedLogins.Add(1) >= maxFailedLogins {
			c.closeWith(nil, websocket.ClosePolicyViolation, "too many failed logins")
		}
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ch, kicked, err := a.state.Login(a.srv.ctx, l.UserID, presence.Device{Conn: c.id, Platform: l.Platform, DeviceID: l.DeviceID}, a.policy, now)
	if err != nil {
		c.replyErr(seq, a.storeErr(err))
		return
	}
	var kickedPlatforms []string
	for _, k := range kicked {
		kc := a.takeConn(l.UserID, k.Conn)
		if kc == nil {
			continue
		}
		kickedPlatforms = append(kickedPlatforms, k.Platform)
		kc.detach()
		kc.closeWith(wire.AppendPush(nil, wire.OpKicked, wire.CodeKickedOffline, "kicked offline: the account logged in on another "+k.Platform+" device"),
			1000, "kicked offline")
	}
	c.attach(session{app: a, user: l.UserID, platform: l.Platform, sigExpire: t.ExpiresAt()})
	a.conns[l.UserID] = append(a.conns[l.UserID], c)
	a.devices.Add(1)
	body := make([]byte, 0, 96)
	body = append(body, `{"user_id":`...)
	body = wire.AppendString(body, l.UserID)
	body = append(body, `,"heartbeat_interval_ms":`...)
	body = appendInt(body, a.heartbeatEvery.Milliseconds())
	body = append(body, `,"server_time_ms":`...)
	body = appendInt(body, now.UnixMilli())
	body = append(body, `,"limits":`...)
	body = wire.AppendLimits(body, a.limits())
	body = append(body, '}')
	c.replyOK(seq, body)
	a.srv.metrics.logins.Add(1)
	a.notify(ch)
	a.srv.hooks.Send(a.cfg.WebhookURL, webhook.Event{
		SDKAppID: a.cfg.SDKAppID, Action: webhook.ActionLogin, Account: l.UserID,
		Reason: webhook.ReasonRegister, Platform: l.Platform, ClientIP: c.ip,
		Kicked: kickedPlatforms, Time: now,
	})
}

// maxFailedLogins is how many refused UserSigs one connection may send.
const maxFailedLogins = 10

// limits are what the login reply tells clients.
func (a *app) limits() wire.Limits {
	return wire.Limits{
		RateLimitCalls:    a.cfg.RateLimitCalls,
		RateLimitWindowMS: int(a.cfg.RateLimitWindowMS),
		MaxGetIDs:         a.cfg.MaxGetIDs,
		MaxSubscribeIDs:   a.cfg.MaxSubscribeIDs,
		MaxSubscriptions:  a.cfg.MaxSubscriptions,
	}
}

// takeConn removes the connection id from the user's live devices.
// a.mu is held.
func (a *app) takeConn(user string, id uint64) *conn {
	cs := a.conns[user]
	for i, c := range cs {
		if c.id == id {
			cs = slices.Delete(cs, i, i+1)
			a.devices.Add(-1)
			if len(cs) == 0 {
				delete(a.conns, user)
			} else {
				a.conns[user] = cs
			}
			return c
		}
	}
	return nil
}

// logout ends c's session at the client's request; the link stays open.
func (a *app) logout(c *conn, seq uint64) {
	_, ss, ok := c.detach()
	if !ok {
		c.reply(seq, wire.CodeNotLoggedIn, "not logged in", nil)
		return
	}
	c.anonSince.Store(a.now().UnixNano())
	a.mu.Lock()
	defer a.mu.Unlock()
	c.replyOK(seq, nil)
	a.leaveLocked(c, ss, presence.LoggedOut, webhook.ReasonUnregister)
}

// leave records that c's device went away; c's session is already detached.
func (a *app) leave(c *conn, ss session, how presence.Leave, reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.leaveLocked(c, ss, how, reason)
}

func (a *app) leaveLocked(c *conn, ss session, how presence.Leave, reason string) {
	now := a.now()
	a.takeConn(ss.user, c.id)
	ch, found, err := a.state.Leave(a.srv.ctx, ss.user, c.id, how, now)
	if err != nil {
		a.storeErr(err)
		return
	}
	if !found {
		return
	}
	a.notify(ch)
	action := webhook.ActionDisconnect
	if how == presence.LoggedOut {
		action = webhook.ActionLogout
	}
	a.srv.hooks.Send(a.cfg.WebhookURL, webhook.Event{
		SDKAppID: a.cfg.SDKAppID, Action: action, Account: ss.user,
		Reason: reason, Platform: ss.platform, ClientIP: c.ip, Time: now,
	})
}

// kick logs out every device of user at the admin's request.
func (a *app) kick(user string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	cs := slices.Clone(a.conns[user])
	for _, c := range cs {
		_, ss, ok := c.detach()
		if !ok {
			continue
		}
		a.leaveLocked(c, ss, presence.LoggedOut, webhook.ReasonUnregister)
		c.closeWith(wire.AppendPush(nil, wire.OpKicked, wire.CodeKickedOffline, "kicked offline by the app's administrator"),
			1000, "kicked offline")
	}
	return len(cs)
}

// notify tells everyone concerned of a change: the user's own devices, its
// online subscribers and, with auto-notify on, its online friends. The frame
// is encoded once. a.mu is held.
func (a *app) notify(ch presence.Change) {
	if !ch.Changed() {
		return
	}
	id := ch.After.UserID
	watchers, err := a.state.AppendWatchers(a.srv.ctx, a.watchers[:0], id, *a.cfg.FriendStatusAutoNotify)
	if err != nil {
		a.storeErr(err)
	}
	a.watchers = watchers
	targets := append(a.targets[:0], a.conns[id]...)
	for _, w := range watchers {
		targets = append(targets, a.conns[w]...)
	}
	// Encoded once; every recipient's queue holds the same bytes.
	frame := wire.AppendStatusPush(nil, ch.After)
	for _, c := range targets {
		c.sendStatus(frame, id)
	}
	a.srv.metrics.statusPushes.Add(uint64(len(targets)))
	clear(targets)
	a.targets = targets[:0]
}

func (a *app) setStatus(c *conn, ss session, req wire.Request) {
	custom, err := wire.ParseCustomStatus(req.Body)
	if err != nil {
		c.reply(req.Seq, wire.CodeServerParams, err.Error(), nil)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !c.attachedTo(a) {
		c.reply(req.Seq, wire.CodeNotLoggedIn, "not logged in", nil)
		return
	}
	ch, err := a.state.SetCustom(a.srv.ctx, ss.user, custom, a.now())
	if err != nil {
		c.replyErr(req.Seq, a.storeErr(err))
		return
	}
	c.replyOK(req.Seq, nil)
	a.notify(ch)
}

// API names for rate limiting.
const (
	apiGet         = "get"
	apiSubscribe   = "subscribe"
	apiUnsubscribe = "unsubscribe"
)

// gate applies the edition and switch checks of SPEC §3, the batch size and
// the id rules, then the rate limit. It returns nil when the call may go on.
func (a *app) gate(ss session, api string, ids []string, max int) *wire.Error {
	switch {
	case a.cfg.Edition != "ultimate":
		return wire.Errorf(wire.CodeEditionRequired, "the app's edition (%s) does not include this API; the ultimate edition does", a.cfg.Edition)
	case !*a.cfg.UserStatusEnabled:
		return wire.Errorf(wire.CodeStatusDisabled, "the app's user status switch is off")
	case len(ids) > max:
		return wire.Errorf(wire.CodeBatchTooLarge, "%d ids in one call; at most %d", len(ids), max)
	}
	for _, id := range ids {
		if !usersig.ValidUserID(id) {
			return wire.Errorf(wire.CodeServerParams, "invalid user id %q", truncate(id, 40))
		}
	}
	if !a.limiter.allow(ss.user, api, a.now()) {
		a.srv.metrics.rateLimited.Add(1)
		return wire.Errorf(wire.CodeRateLimited, "more than %d calls in %v; try again later", a.cfg.RateLimitCalls, ms(a.cfg.RateLimitWindowMS))
	}
	return nil
}

// requireIDs reads a request's non-empty id list.
func requireIDs(req wire.Request) ([]string, *wire.Error) {
	ids, err := wire.ParseIDs(req.Body)
	if err != nil {
		return nil, &wire.Error{Code: wire.CodeServerParams, Desc: err.Error()}
	}
	if len(ids) == 0 {
		return nil, &wire.Error{Code: wire.CodeServerParams, Desc: "no user ids given"}
	}
	return ids, nil
}

func (a *app) getStatus(c *conn, ss session, req wire.Request) {
	ids, e := requireIDs(req)
	if e != nil {
		c.replyErr(req.Seq, e)
		return
	}
	// Querying only yourself needs no edition, switch or rate limit.
	if !(len(ids) == 1 && ids[0] == ss.user) {
		if e := a.gate(ss, apiGet, ids, a.cfg.MaxGetIDs); e != nil {
			c.replyErr(req.Seq, e)
			return
		}
	}
	sts, err := a.state.Statuses(a.srv.ctx, ids...)
	if err != nil {
		c.replyErr(req.Seq, a.storeErr(err))
		return
	}
	c.send(wire.AppendStatusesReply(make([]byte, 0, 64), req.Seq, sts))
}

func (a *app) subscribe(c *conn, ss session, req wire.Request) {
	ids, e := requireIDs(req)
	if e != nil {
		c.replyErr(req.Seq, e)
		return
	}
	if e := a.gate(ss, apiSubscribe, ids, a.cfg.MaxSubscribeIDs); e != nil {
		c.replyErr(req.Seq, e)
		return
	}
	if slices.Contains(ids, ss.user) {
		c.reply(req.Seq, wire.CodeServerParams, "cannot subscribe to yourself; your own changes always reach your devices", nil)
		return
	}
	exist, err := a.state.Exists(a.srv.ctx, ids...)
	if err != nil {
		c.replyErr(req.Seq, a.storeErr(err))
		return
	}
	var missing []string
	for i, ok := range exist {
		if !ok {
			missing = append(missing, ids[i])
		}
	}
	if len(missing) > 0 {
		// The ids go in the body too, so a client restoring its list after a
		// reconnect can subscribe to the rest.
		c.reply(req.Seq, wire.CodeAccountNotFound, "no such account: "+truncate(joinIDs(missing), 200),
			wire.AppendIDsBody(nil, missing))
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !c.attachedTo(a) {
		c.reply(req.Seq, wire.CodeNotLoggedIn, "not logged in", nil)
		return
	}
	if _, err := a.state.Subscribe(a.srv.ctx, ss.user, ids, a.cfg.MaxSubscriptions); err != nil {
		c.replyErr(req.Seq, a.storeErr(err))
		return
	}
	sts, err := a.state.Statuses(a.srv.ctx, ids...)
	if err != nil {
		c.replyErr(req.Seq, a.storeErr(err))
		return
	}
	c.replyOK(req.Seq, nil)
	// The current state, so a client that (re)subscribes converges.
	c.send(wire.AppendStatusPush(nil, sts...))
	a.srv.metrics.statusPushes.Add(1)
}

func (a *app) unsubscribe(c *conn, ss session, req wire.Request) {
	ids, err := wire.ParseIDs(req.Body)
	if err != nil {
		c.reply(req.Seq, wire.CodeServerParams, err.Error(), nil)
		return
	}
	if e := a.gate(ss, apiUnsubscribe, ids, a.cfg.MaxSubscribeIDs); e != nil {
		c.replyErr(req.Seq, e)
		return
	}
	if err := a.state.Unsubscribe(a.srv.ctx, ss.user, ids); err != nil {
		c.replyErr(req.Seq, a.storeErr(err))
		return
	}
	c.replyOK(req.Seq, nil)
}

// storeErr logs a failure of the state store and returns what the client is told.
func (a *app) storeErr(err error) *wire.Error {
	a.srv.log.Error("presence store", "sdkappid", a.cfg.SDKAppID, "err", err)
	return wire.Errorf(wire.CodeServerInternal, "server error: the presence store failed; try again")
}

// sweep clears the subscription lists of owners who went away long enough
// ago, and forgets spent rate-limit windows.
func (a *app) sweep(now time.Time) {
	owners, err := a.state.ClearAwaySubscriptions(a.srv.ctx, now, a.clearDelay)
	if err != nil {
		a.storeErr(err)
	}
	for _, owner := range owners {
		a.srv.log.Debug("cleared subscriptions", "sdkappid", a.cfg.SDKAppID, "user", owner)
	}
	a.limiter.prune(now)
}
