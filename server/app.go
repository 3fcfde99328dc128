package server

import (
	"context"
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

// app is the presence engine of one SDKAppID on this node. Its state lives
// behind the three contracts of package presence: accounts and friends in
// the directory, devices, statuses and subscriptions in the store, and
// changes travel through the broker to every node, this one included
// (Deliver). Nothing here holds a lock across a call to them: what orders
// a user's changes is the version the store gives each one.
type app struct {
	srv    *Server
	id     uint64
	set    atomic.Pointer[settings] // replaced by Server.Reload
	dir    presence.Directory
	store  presence.Store
	broker presence.Broker
	hub    *hub

	// router is the broker when it sends a change only to the nodes that
	// listen to its user (nil when every node hears every change): then
	// this node keeps itself listening to what its connections hear of,
	// and stops listening to a user a delivery of whom nobody here took
	// (unheard).
	router  presence.Router
	unheard chan string

	// resyncs asks resyncLoop for a pass (Resync must not block).
	resyncs chan struct{}

	// scratch holds watcher lists between deliveries, so notifying
	// allocates nothing.
	scratch sync.Pool

	// leaves are departures the store failed to record, retried at each
	// sweep: a device the store still holds live would stay ONLINE.
	leaves retryQueue[departure]

	// unsent are changes in the store that publish could not send.
	unsent retryQueue[wire.Status]
	// doubts are the users of changes the store failed to answer: it may
	// have taken one all the same (its answer came after the deadline, as
	// when this process or Redis stalled), and nobody was told. Their
	// statuses are read and sent again at the next sweeps.
	doubts userSet
	// fanout caps how often each user's changes are sent (fanout.go).
	fanout *fanoutCap
	counts appCounts

	// renewedSince is when this node's unbroken run of lease renewals
	// began (the clock's UnixNano; 0 after a failed one). A node sweeps
	// others' leases only once it has been renewing its own for a lease's
	// length: after an outage of the store every lease has run out, and
	// the nodes that are alive need that long to renew theirs before the
	// first one back takes them for dead.
	renewedSince atomic.Int64
	// lease is the name this node holds its lease and devices under: the
	// node's id, then a new name each time it finds its lease lost
	// (leaseName). A sweep of the lost lease that is still running ends
	// only the devices of the old name, not those logged in since.
	lease    atomic.Pointer[string]
	epoch    atomic.Int64 // the revivals behind lease
	newLease atomic.Bool  // lease not renewed yet: its first renewal finds it new
}

func (a *app) leaseID() string { return *a.lease.Load() }

// renew renews this node's lease. A revived node renews its id too: the
// broker takes a node without a lease of its id for gone.
func (a *app) renew(ctx context.Context, now time.Time) (lost bool, err error) {
	name := a.leaseID()
	if lost, err = a.store.RenewLease(ctx, name, now, a.srv.opts.LeaseTTL); err != nil || name == a.srv.nodeID {
		return lost, err
	}
	_, err = a.store.RenewLease(ctx, a.srv.nodeID, now, a.srv.opts.LeaseTTL)
	return lost, err
}

// departure is a device that went away: what the store and the webhook
// are told.
type departure struct {
	user, platform, ip string
	userData           string // the login's user_define_data
	key                presence.DeviceKey
	how                presence.Leave
	reason             string // the webhook's; "" sends none
	at                 time.Time
	event              string // the history's, when not the one reason implies
}

// settings are an app's configuration and what is derived from it; a
// reload of the apps file replaces them whole, so a request reads one
// consistent set (conf) and the next request the new one.
type settings struct {
	AppConfig
	policy           presence.Policy
	heartbeatTimeout time.Duration
	clearDelay       time.Duration
	heartbeatEvery   time.Duration
}

func newSettings(s *Server, cfg AppConfig) *settings {
	policy, _ := presence.ParsePolicy(cfg.MultiDevicePolicy) // Validate has checked it
	st := &settings{AppConfig: cfg, policy: policy,
		heartbeatTimeout: ms(cfg.HeartbeatTimeoutMS), clearDelay: ms(cfg.SubscriptionClearDelayMS)}
	st.heartbeatEvery = s.opts.HeartbeatInterval
	if st.heartbeatEvery <= 0 {
		st.heartbeatEvery = min(st.heartbeatTimeout/4, 30*time.Second)
	}
	return st
}

// conf is the app's current settings.
func (a *app) conf() *settings { return a.set.Load() }

// configure makes cfg the app's settings, for the requests and logins
// that follow.
func (a *app) configure(cfg AppConfig) {
	a.set.Store(newSettings(a.srv, cfg))
	a.fanout.setRate(cfg.FanoutsPerSecond, cfg.FanoutBurst)
}

func newApp(s *Server, cfg AppConfig, b presence.Backend) *app {
	a := &app{
		srv:    s,
		id:     cfg.SDKAppID,
		dir:    b.Directory,
		store:  b.Store,
		broker: b.Broker,
		hub:    newHub(),
	}
	a.scratch.New = func() any { return new([]string) }
	a.resyncs = make(chan struct{}, 1)
	if r, ok := b.Broker.(presence.Router); ok {
		a.router = r
		a.unheard = make(chan string, maxUnheard)
	}
	a.unsent.max = maxUnsent
	a.doubts.max = maxUnsent
	a.lease.Store(&s.nodeID)
	a.fanout = newFanoutCap(cfg.FanoutsPerSecond, cfg.FanoutBurst)
	a.configure(cfg)
	return a
}

func (a *app) now() time.Time { return a.srv.clock.Now() }

// call is the context of one round of calls to the backend: none may
// outlast the store timeout.
func (a *app) call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(a.srv.ctx, a.srv.opts.StoreTimeout)
}

// login verifies the UserSig and makes c a live device of the user,
// kicking the devices the multi-device policy replaces.
func (a *app) login(c *conn, seq uint64, l wire.LoginBody) {
	if err := usersig.CheckUserID(l.UserID); err != nil {
		c.refuseLogin(seq, a.id, l.UserID, &wire.Error{Code: wire.CodeServerParams, Desc: err.Error()})
		return
	}
	if !wire.ValidPlatform(l.Platform) {
		c.refuseLogin(seq, a.id, l.UserID, wire.Errorf(wire.CodeServerParams, "invalid platform: one of iPhone, Android, iPad, Windows, Mac, Linux, Web"))
		return
	}
	now := a.now()
	t, err := usersig.Verify(l.UserSig, a.conf().SecretKey, a.id, l.UserID, now)
	if err != nil {
		a.srv.metrics.loginRefused.Add(1)
		a.counts.loginsRefused.Add(1)
		c.refuseLogin(seq, a.id, l.UserID, &wire.Error{Code: usersig.CodeOf(err), Desc: err.Error()})
		// A client guessing UserSigs makes the server check each one; past a
		// few on one link it must open a new link to go on guessing.
		if c.failedLogins.Add(1) >= maxFailedLogins {
			c.closeWith(nil, websocket.ClosePolicyViolation, "too many failed logins")
		}
		return
	}
	ctx, cancel := a.call()
	defer cancel()
	// A valid UserSig registers the user, as upstream does.
	if err := a.ensureAccount(ctx, l.UserID); err != nil {
		c.refuseLogin(seq, a.id, l.UserID, a.storeErr(err))
		return
	}
	// In the hub before the store knows the device, so that a concurrent
	// login the store lets kick it finds it; not taking deliveries until
	// it has its answer.
	c.ready.Store(false)
	d := presence.Device{Key: presence.DeviceKey{Node: a.leaseID(), Conn: a.srv.nextConn.Add(1)},
		Platform: l.Platform, DeviceID: l.DeviceID}
	c.device.Store(d.Key.Conn)
	a.hub.add(l.UserID, c)
	ch, kicked, err := a.store.Login(ctx, l.UserID, d, a.conf().policy, now)
	if err != nil {
		a.hub.take(l.UserID, d.Key.Conn)
		// The store may have taken the login before failing to answer in
		// time (a busy Redis): its watchers were told nothing, and its
		// device would stay live. It is ended as a link closed, now or at
		// the next sweeps; no later login has its key. No webhook: the
		// login's own was never sent. Ended before the answer, so that a
		// client told its login failed finds it undone.
		a.end(departure{user: l.UserID, platform: l.Platform, ip: c.ip, key: d.Key, how: presence.Lost, at: now})
		c.refuseLogin(seq, a.id, l.UserID, a.storeErr(err))
		return
	}
	if err := a.listen(ctx, l.UserID); err != nil {
		a.hub.take(l.UserID, d.Key.Conn)
		a.end(departure{user: l.UserID, platform: l.Platform, ip: c.ip, key: d.Key, how: presence.Lost, at: now})
		c.refuseLogin(seq, a.id, l.UserID, a.storeErr(err))
		return
	}
	a.hub.hist.record(l.UserID, transition{at: now.UnixNano(), event: evLogin, platform: l.Platform, device: d.Key.Conn, status: ch.After.Type})
	var kickedPlatforms []string
	for _, k := range kicked {
		kickedPlatforms = append(kickedPlatforms, k.Platform)
		a.kickDevice(ctx, l.UserID, k, l.Platform)
	}
	// The others hear of the arrival before the answer, as with every
	// change; the device itself right after it: the user's latest status,
	// read once the device takes deliveries (a change in between would
	// otherwise pass it by), and left out if a delivery was newer.
	a.publish(ch)
	c.attach(session{app: a, user: l.UserID, platform: l.Platform, key: d.Key, sigExpire: t.ExpiresAt(),
		userData: l.UserDefineData})
	c.beginSnapshot()
	defer c.endSnapshot()
	c.ready.Store(true)
	own, err := a.store.Statuses(ctx, l.UserID)
	if err != nil {
		own = []wire.Status{ch.After}
	}
	// Counted before the answer: a client that has it finds its login in
	// the counters.
	a.srv.metrics.logins.Add(1)
	a.counts.logins.Add(1)
	c.replyOK(seq, wire.AppendLoginReply(make([]byte, 0, 192), wire.LoginReply{
		UserID:            l.UserID,
		HeartbeatInterval: a.conf().heartbeatEvery.Milliseconds(),
		ServerTime:        now.UnixMilli(),
		Limits:            a.limits(),
	}))
	c.sendSnapshot(own)
	a.srv.hooks.Send(a.conf().WebhookURL, webhook.Event{
		SDKAppID: a.id, Action: webhook.ActionLogin, Account: l.UserID,
		Reason: webhook.ReasonRegister, Platform: l.Platform, ClientIP: c.ip,
		Kicked: kickedPlatforms, UserDefineData: l.UserDefineData, Time: now,
	})
}

// ensureAccount creates the user's account unless it exists; reading
// first keeps a durable directory from writing at every login.
func (a *app) ensureAccount(ctx context.Context, user string) error {
	ok, err := a.dir.Exists(ctx, user)
	if err != nil || ok[0] {
		return err
	}
	return a.dir.ImportAccounts(ctx, user)
}

// maxFailedLogins is how many refused UserSigs one connection may send.
const maxFailedLogins = 10

// limits are what the login reply tells clients.
func (a *app) limits() wire.Limits {
	return wire.Limits{
		RateLimitCalls:    a.conf().RateLimitCalls,
		RateLimitWindowMS: int(a.conf().RateLimitWindowMS),
		MaxGetIDs:         a.conf().MaxGetIDs,
		MaxSubscribeIDs:   a.conf().MaxSubscribeIDs,
		MaxSubscriptions:  a.conf().MaxSubscriptions,
	}
}

// kickDevice kicks a device the policy replaced: here if this node holds
// it, else through the broker to the node that does.
func (a *app) kickDevice(ctx context.Context, user string, k presence.Device, by string) {
	node := presence.NodeOf(k.Key.Node)
	if node == a.srv.nodeID {
		a.kickLocal(user, k.Key.Conn, by)
		return
	}
	if err := a.broker.PublishKick(ctx, node, presence.Kick{User: user, Key: k.Key, Platform: by}); err != nil {
		a.storeErr(err)
	}
}

func (a *app) kickLocal(user string, id uint64, by string) {
	kc := a.hub.take(user, id)
	if kc == nil {
		return
	}
	if _, ss, ok := kc.detach(); ok {
		a.hub.hist.record(user, transition{at: a.now().UnixNano(), event: evKicked, platform: ss.platform, device: id, status: wire.StatusOnline})
	}
	kc.closeWith(wire.AppendPush(nil, wire.OpKicked, wire.CodeKickedOffline, "kicked offline: the account logged in on another "+by+" device"),
		1000, "kicked offline")
}

// Kick implements presence.Node: a kick the broker brings from another node
// (or from this one, for an admin's kick).
func (a *app) Kick(k presence.Kick) {
	if !k.Key.IsZero() {
		switch {
		case presence.NodeOf(k.Key.Node) != a.srv.nodeID:
		case k.ByAdmin: // one device, from another node's console
			for _, c := range a.hub.connsOf(k.User) {
				if c.device.Load() == k.Key.Conn {
					a.adminKick(c)
				}
			}
		default:
			a.kickLocal(k.User, k.Key.Conn, k.Platform)
		}
		return
	}
	for _, c := range a.hub.connsOf(k.User) {
		a.adminKick(c)
	}
}

// adminKick logs c's session out at the admin's request and closes its
// link; it reports whether c had a session to end.
func (a *app) adminKick(c *conn) bool {
	_, ss, ok := c.detach()
	if !ok {
		return false
	}
	a.hub.take(ss.user, ss.key.Conn)
	a.end(departure{user: ss.user, platform: ss.platform, ip: c.ip, userData: ss.userData, key: ss.key,
		how: presence.LoggedOut, reason: webhook.ReasonUnregister, at: a.now(), event: evAdminKicked})
	c.closeWith(wire.AppendPush(nil, wire.OpKicked, wire.CodeKickedOffline, "kicked offline by the app's administrator"),
		1000, "kicked offline")
	return true
}

// kickUser logs out every device of user, on every node, at the admin's request.
func (a *app) kickUser(ctx context.Context, user string) error {
	return a.broker.PublishKick(ctx, "", presence.Kick{User: user, ByAdmin: true})
}

// logout ends c's session at the client's request; the link stays open.
func (a *app) logout(c *conn, seq uint64) {
	_, ss, ok := c.detach()
	if !ok {
		c.reply(seq, wire.CodeNotLoggedIn, "not logged in", nil)
		return
	}
	c.anonSince.Store(a.now().UnixNano())
	a.leave(c, ss, presence.LoggedOut, webhook.ReasonUnregister)
	c.replyOK(seq, nil) // after the change is on its way, as set_status
}

// leave records that c's device went away; c's session is already detached.
func (a *app) leave(c *conn, ss session, how presence.Leave, reason string) {
	a.hub.take(ss.user, ss.key.Conn)
	a.end(departure{user: ss.user, platform: ss.platform, ip: c.ip, userData: ss.userData, key: ss.key,
		how: how, reason: reason, at: a.now()})
}

// end records a departure, or keeps it for the sweeps to retry if the
// store fails.
func (a *app) end(d departure) {
	ctx, cancel := a.call()
	defer cancel()
	if err := a.depart(ctx, d); err != nil {
		a.leaves.add(d)
	}
}

// depart tells the store that a device went away and, if it was still a
// live device there, the watchers and the webhook.
func (a *app) depart(ctx context.Context, d departure) error {
	ch, found, err := a.store.Leave(ctx, d.user, d.key, d.how, d.at)
	if err != nil {
		a.doubt(d.user) // a retry that finds the device gone publishes nothing
		a.storeErr(err)
		return err
	}
	if !found {
		return nil
	}
	a.hub.hist.record(d.user, transition{at: d.at.UnixNano(), event: departEvent(d), platform: d.platform, device: d.key.Conn, status: ch.After.Type})
	a.publish(ch)
	if d.reason == "" {
		return nil
	}
	action := webhook.ActionDisconnect
	if d.how == presence.LoggedOut {
		action = webhook.ActionLogout
	}
	a.srv.hooks.Send(a.conf().WebhookURL, webhook.Event{
		SDKAppID: a.id, Action: action, Account: d.user,
		Reason: d.reason, Platform: d.platform, ClientIP: d.ip, UserDefineData: d.userData, Time: d.at,
	})
	return nil
}

// publish sends a change to every node, with who besides the user is told
// of it: its subscribers and, with auto-notify on, the users whose friend
// list holds it. The change is in the store already, so it must reach the
// watchers even when the request that made it ran out of time: publish has
// a deadline of its own, and a change it could not send is sent again at
// the next sweeps (a receiver drops it if a newer one came first).
func (a *app) publish(ch presence.Change) {
	if !ch.Changed() {
		return
	}
	if ok, merged := a.fanout.admit(ch.After, a.now()); !ok {
		a.srv.metrics.fanoutsHeld.Add(1)
		if merged {
			a.srv.metrics.fanoutsMerged.Add(1)
		}
		return // sent at a sweep, unless a newer change replaces it
	}
	ctx, cancel := a.call()
	defer cancel()
	if err := a.send(ctx, ch.After, ch.Audience); err != nil {
		a.storeErr(err)
		if !a.unsent.add(ch.After) {
			a.srv.metrics.unsentDropped.Add(1)
		}
	}
}

// maxUnsent bounds the changes a node keeps to send again while its
// backend fails, and the users it keeps in doubt; one past it is not kept
// (counted in imstatus_unsent_dropped_total): its watchers learn of the
// user's next change.
const maxUnsent = 1 << 16

// doubt keeps user to have its status sent again at the next sweeps: a
// change of it may be in the store unpublished.
func (a *app) doubt(user string) {
	a.srv.metrics.doubted.Add(1)
	if !a.doubts.add(user) {
		a.srv.metrics.unsentDropped.Add(1)
	}
}

// resend sends user's status as the store has it now; receivers drop it
// if they hold it, or a newer one, already.
func (a *app) resend(ctx context.Context, user string) error {
	sts, err := a.store.Statuses(ctx, user)
	if err == nil && sts[0].Type != wire.StatusUnknown {
		err = a.send(ctx, sts[0], nil)
	}
	if err != nil {
		a.storeErr(err)
	}
	return err
}

// send hands st to the broker with who is told of it: aud, when the store
// read it with the change, else what the store says now.
func (a *app) send(ctx context.Context, st wire.Status, aud *presence.Audience) error {
	wp := a.scratch.Get().(*[]string)
	defer a.scratch.Put(wp)
	d := presence.Delivery{Status: st, Watchers: (*wp)[:0]}
	var err error
	if aud != nil {
		d.Watchers = append(d.Watchers, aud.Watchers...)
		d.Listeners = aud.Listeners // nil: the router reads them
		if *a.conf().FriendStatusAutoNotify {
			d.Watchers, err = a.appendFriendOf(ctx, d.Watchers, st.UserID)
		}
	} else {
		d.Watchers, err = a.appendWatchers(ctx, d.Watchers, st.UserID)
	}
	if err == nil {
		err = a.broker.Publish(ctx, d)
	}
	clear(d.Watchers)
	*wp = d.Watchers[:0]
	return err
}

// dedupe drops repeated ids (a subscriber that is also a friend).
func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	clear(ids[len(out):])
	return out
}

// Deliver implements presence.Node: it queues a change to this node's
// connections of the user and of its watchers. The frame is encoded once.
// Deliveries of one user are serialised and an older version than one
// already delivered is dropped, so every connection gets a user's statuses
// in order; different users' deliveries never wait for each other.
func (a *app) Deliver(d presence.Delivery) {
	st := d.Status
	o, done := a.hub.deliver(st.UserID, a.now())
	defer done()
	o.order.Lock()
	defer o.order.Unlock()
	if st.Version != 0 && st.Version <= o.version {
		a.srv.metrics.staleDeliveries.Add(1)
		return
	}
	o.version = st.Version
	tp := a.srv.targets.Get().(*[]*conn)
	defer a.srv.targets.Put(tp)
	targets := a.hub.appendConns((*tp)[:0], st.UserID)
	for _, w := range d.Watchers {
		targets = a.hub.appendConns(targets, w)
	}
	if len(targets) == 0 && a.router != nil {
		a.srv.metrics.unheard.Add(1)
		select {
		case a.unheard <- st.UserID:
		default: // it stays a listener a while longer: harmless
		}
	}
	if len(targets) > 0 {
		frame := wire.AppendStatusPush(nil, st)
		n := 0
		for _, c := range targets {
			if c.ready.Load() { // not a device still logging in
				c.sendStatus(frame, st.UserID, st.Version)
				n++
			}
		}
		a.srv.metrics.statusPushes.Add(uint64(n))
		a.counts.pushes.Add(uint64(n))
	}
	clear(targets)
	*tp = targets[:0]
}

func (a *app) setStatus(c *conn, ss session, req wire.Request) {
	custom, err := wire.ParseCustomStatus(req.Body)
	if err != nil {
		c.reply(req.Seq, wire.CodeServerParams, err.Error(), nil)
		return
	}
	if !c.attachedTo(a) {
		c.reply(req.Seq, wire.CodeNotLoggedIn, "not logged in", nil)
		return
	}
	ctx, cancel := a.call()
	defer cancel()
	ch, err := a.store.SetCustom(ctx, ss.user, custom, a.now())
	if err != nil {
		a.doubt(ss.user)
		c.replyErr(req.Seq, a.storeErr(err))
		return
	}
	// Published before the reply: once a client has its answer, the change
	// is on its way to every watcher (on this node, in their queues).
	a.publish(ch)
	c.replyOK(req.Seq, nil)
}

// gate applies the edition and switch checks of SEMANTICS §3, the batch
// size and the id rules, then the rate limit. It returns nil when the call
// may go on.
func (a *app) gate(ctx context.Context, ss session, api string, ids []string, max int) *wire.Error {
	switch {
	case a.conf().Edition != "ultimate":
		return wire.Errorf(wire.CodeEditionRequired, "the app's edition (%s) does not include this API; the ultimate edition does", a.conf().Edition)
	case !*a.conf().UserStatusEnabled:
		return wire.Errorf(wire.CodeStatusDisabled, "the app's user status switch is off")
	case len(ids) > max:
		return wire.Errorf(wire.CodeBatchTooLarge, "%d ids in one call; at most %d", len(ids), max)
	}
	for _, id := range ids {
		if err := usersig.CheckUserID(id); err != nil {
			return &wire.Error{Code: wire.CodeServerParams, Desc: err.Error()}
		}
	}
	ok, err := a.store.Allow(ctx, ss.user+"\x00"+api, a.conf().RateLimitCalls, ms(a.conf().RateLimitWindowMS), a.now())
	if err != nil {
		return a.storeErr(err)
	}
	if !ok {
		a.srv.metrics.rateLimited.Add(1)
		return wire.Errorf(wire.CodeRateLimited, "more than %d calls in %v; try again later", a.conf().RateLimitCalls, ms(a.conf().RateLimitWindowMS))
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

// statuses returns each id's status: the store's, UNLOGINED for an account
// the store holds nothing of, UNKNOWN for an id without an account.
func (a *app) statuses(ctx context.Context, ids []string) ([]wire.Status, error) {
	sts, err := a.store.Statuses(ctx, ids...)
	if err != nil {
		return nil, err
	}
	var unknown []string
	for _, st := range sts {
		if st.Type == wire.StatusUnknown {
			unknown = append(unknown, st.UserID)
		}
	}
	if len(unknown) == 0 {
		return sts, nil
	}
	exist, err := a.dir.Exists(ctx, unknown...)
	if err != nil {
		return nil, err
	}
	j := 0
	for i := range sts {
		if sts[i].Type == wire.StatusUnknown {
			if exist[j] {
				sts[i].Type = wire.StatusUnlogined
			}
			j++
		}
	}
	return sts, nil
}

func (a *app) getStatus(c *conn, ss session, req wire.Request) {
	ids, e := requireIDs(req)
	if e != nil {
		c.replyErr(req.Seq, e)
		return
	}
	ctx, cancel := a.call()
	defer cancel()
	// Querying only yourself needs no edition, switch or rate limit.
	if !(len(ids) == 1 && ids[0] == ss.user) {
		if e := a.gate(ctx, ss, wire.APIGet, ids, a.conf().MaxGetIDs); e != nil {
			c.replyErr(req.Seq, e)
			return
		}
	}
	sts, err := a.statuses(ctx, ids)
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
	ctx, cancel := a.call()
	defer cancel()
	if e := a.gate(ctx, ss, wire.APISubscribe, ids, a.conf().MaxSubscribeIDs); e != nil {
		c.replyErr(req.Seq, e)
		return
	}
	if slices.Contains(ids, ss.user) {
		c.reply(req.Seq, wire.CodeServerParams, "cannot subscribe to yourself; your own changes always reach your devices", nil)
		return
	}
	exist, err := a.dir.Exists(ctx, ids...)
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
	if !c.attachedTo(a) {
		c.reply(req.Seq, wire.CodeNotLoggedIn, "not logged in", nil)
		return
	}
	if _, err := a.store.Subscribe(ctx, ss.user, ids, a.conf().MaxSubscriptions); err != nil {
		c.replyErr(req.Seq, a.storeErr(err))
		return
	}
	if a.router != nil {
		// Every node with a device of the user listens, not only this one.
		if err := a.router.ListenFor(ctx, ss.user, ids...); err != nil {
			c.replyErr(req.Seq, a.storeErr(err))
			return
		}
	}
	// Read after subscribing: a change between the two reaches c as a push.
	// c notes the pushes it queues from now on, so the snapshot leaves out
	// a status older than one of them (sendSnapshot).
	c.beginSnapshot()
	defer c.endSnapshot()
	sts, err := a.store.Statuses(ctx, ids...)
	if err != nil {
		c.replyErr(req.Seq, a.storeErr(err))
		return
	}
	for i := range sts {
		if sts[i].Type == wire.StatusUnknown {
			sts[i].Type = wire.StatusUnlogined // an account the store holds nothing of
		}
	}
	c.replyOK(req.Seq, nil)
	c.sendSnapshot(sts)
}

func (a *app) unsubscribe(c *conn, ss session, req wire.Request) {
	ids, err := wire.ParseIDs(req.Body)
	if err != nil {
		c.reply(req.Seq, wire.CodeServerParams, err.Error(), nil)
		return
	}
	ctx, cancel := a.call()
	defer cancel()
	if e := a.gate(ctx, ss, wire.APIUnsubscribe, ids, a.conf().MaxSubscribeIDs); e != nil {
		c.replyErr(req.Seq, e)
		return
	}
	if err := a.store.Unsubscribe(ctx, ss.user, ids); err != nil {
		c.replyErr(req.Seq, a.storeErr(err))
		return
	}
	c.replyOK(req.Seq, nil)
}

// storeErr logs a failure of the backend (rate-limited like every line
// clients trigger) and returns what the client is told.
func (a *app) storeErr(err error) *wire.Error {
	a.srv.metrics.storeErrors.Add(1)
	a.srv.log.Error("presence backend", "sdkappid", a.id, "err", err)
	return wire.Errorf(wire.CodeServerInternal, "server error: the presence store failed; try again")
}

// renewLease renews this node's lease, on a loop of its own (Server.Run):
// a sweep slowed by a backlog must not let it lapse. A lease found lost
// sends this node's clients to reconnect (reassert).
func (a *app) renewLease(now time.Time) {
	ctx, cancel := a.call()
	defer cancel()
	lost, err := a.renew(ctx, now)
	if err != nil {
		a.renewedSince.Store(0)
		a.storeErr(err)
		return
	}
	a.renewedSince.CompareAndSwap(0, now.UnixNano())
	if fresh := a.newLease.Swap(false); lost && !fresh {
		a.reassert(ctx, now)
	}
	// For the console's cluster view, kept as long as the lease.
	f := presence.NodeFigures{Node: a.srv.nodeID, Connections: a.srv.connCount(), Devices: a.hub.devices.Load(),
		At: now, Until: now.Add(a.srv.opts.LeaseTTL)}
	if err := a.store.PostNode(ctx, f); err != nil {
		a.storeErr(err)
	}
}

// sweep is this node's share of the time-driven work besides its lease: it
// retries the departures the store failed to take, and forgets idle
// delivery orders; the node that leads the app's sweep also ends the
// devices of nodes whose lease ran out and clears the subscription lists
// of owners who went away long enough ago.
func (a *app) sweep(now time.Time) {
	a.hub.prune(now)
	if a.renewedSince.Load() == 0 {
		return // the last renewal failed: not leading a sweep that could end this node's own devices
	}
	ctx, cancel := a.call()
	defer cancel()
	a.leaves.retry(func(d departure) error { return a.depart(ctx, d) })
	a.unsent.retry(func(st wire.Status) error {
		err := a.send(ctx, st, nil)
		if err != nil {
			a.storeErr(err)
		}
		return err
	})
	a.doubts.retry(func(user string) error { return a.resend(ctx, user) })
	for _, st := range a.fanout.due(now) {
		if err := a.send(ctx, st, nil); err != nil {
			a.storeErr(err)
			if !a.unsent.add(st) {
				a.srv.metrics.unsentDropped.Add(1)
			}
		}
	}
	lead, err := a.store.Lead(ctx, "sweep", a.srv.nodeID, now, a.srv.opts.LeaseTTL)
	if err != nil {
		a.storeErr(err)
		return
	}
	if !lead {
		return
	}
	var expired []presence.Expiry
	if now.Sub(time.Unix(0, a.renewedSince.Load())) >= a.srv.opts.LeaseTTL {
		if expired, err = a.store.ExpireLeases(ctx, now); err != nil {
			a.storeErr(err)
		}
	}
	for _, e := range expired {
		if len(e.Devices) == 0 {
			// A dead node's user whose status the sweep left, sent again:
			// the node may have died between storing a change and
			// publishing it. A watcher that already holds it, or a newer
			// one, drops it by its version (kept across links).
			if err := a.send(ctx, e.Change.After, nil); err != nil {
				a.storeErr(err)
				if !a.unsent.add(e.Change.After) {
					a.srv.metrics.unsentDropped.Add(1)
				}
			}
			continue
		}
		a.publish(e.Change)
		for _, d := range e.Devices {
			a.srv.log.Info("device lost with its node's lease", "sdkappid", a.id,
				"user", e.Change.After.UserID, "node", d.Key.Node, "platform", d.Platform)
			// As a heartbeat timeout: the device went silent. Its IP was
			// the other node's to know.
			a.srv.hooks.Send(a.conf().WebhookURL, webhook.Event{
				SDKAppID: a.id, Action: webhook.ActionDisconnect, Account: e.Change.After.UserID,
				Reason: webhook.ReasonTimeOut, Platform: d.Platform, Time: now,
			})
		}
	}
	owners, err := a.store.ClearAwaySubscriptions(ctx, now, a.conf().clearDelay)
	if err != nil {
		a.storeErr(err)
	}
	for _, owner := range owners {
		a.srv.log.Debug("cleared subscriptions", "sdkappid", a.id, "user", owner)
	}
}

// Resync implements presence.Node: deliveries to this node may have been
// lost while its link to the broker was down, so each connection gets,
// afresh from the store, the statuses of everyone it hears of: its
// subscriptions, its friends (with auto-notify on) and its own user. The
// work is resyncLoop's.
func (a *app) Resync() {
	select {
	case a.resyncs <- struct{}{}:
	default: // a pass is asked for already
	}
}

// resyncWaitMax is the longest pause between a resync's tries of the
// users the store failed to answer for.
const resyncWaitMax = 5 * time.Second

// resyncLoop runs the passes Resync asks for until done is closed. A user
// whose resync the store failed (a Redis back from a restart answers
// LOADING a while: the broker's subscription, allowed meanwhile, comes
// back first) is tried again, 250 ms doubling to 5 s apart, until one
// passes: its connections would otherwise never hear what they missed.
func (a *app) resyncLoop(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-a.resyncs:
		}
		var users []string
		a.hub.users.Range(func(k, v any) bool {
			if v.(*hubUser).conns.Load() != nil {
				users = append(users, k.(string))
			}
			return true
		})
		n := len(users)
		for wait := 250 * time.Millisecond; ; wait = min(2*wait, resyncWaitMax) {
			users = slices.DeleteFunc(users, func(u string) bool {
				conns := a.hub.connsOf(u)
				return len(conns) == 0 || a.resyncUser(u, conns) == nil
			})
			if len(users) == 0 {
				a.srv.log.Info("broker link back: statuses sent afresh", "sdkappid", a.id, "users", n)
				break
			}
			select {
			case <-done:
				return
			case <-a.resyncs:
				a.Resync() // a new pass, which covers these users too
			case <-time.After(wait):
				continue
			}
			break
		}
	}
}

// resyncUser sends user's connections here the statuses they hear of,
// read afresh; it fails when the store does (the failure is counted and
// logged).
func (a *app) resyncUser(user string, conns []*conn) error {
	ctx, cancel := a.call()
	defer cancel()
	ids, err := a.hearsOf(ctx, user)
	if err != nil {
		a.storeErr(err)
		return err
	}
	if a.router != nil {
		// A Redis back from its AOF may have lost the last second's.
		if err := a.router.Listen(ctx, a.srv.nodeID, ids...); err != nil {
			a.storeErr(err)
			return err
		}
	}
	for _, c := range conns {
		c.beginSnapshot()
		defer c.endSnapshot()
	}
	sts, err := a.statuses(ctx, ids)
	if err != nil {
		a.storeErr(err)
		return err
	}
	for _, c := range conns {
		if c.ready.Load() {
			c.sendSnapshot(sts)
		}
	}
	return nil
}

// retire closes the app's connections: a reload removed the app. Their
// clients' next logins are refused (unknown SDKAppID).
func (a *app) retire() {
	n := a.closeAll(wire.AppendPush(nil, wire.OpShutdown, wire.CodeSigSDKAppID, "this app was removed from the server"), "app removed")
	a.srv.log.Warn("app removed by a reload; its connections closed", "sdkappid", a.id, "connections", n)
}

// closeAll closes every logged-in connection of the app with frame and
// reason, and returns how many it closed.
func (a *app) closeAll(frame []byte, reason string) int {
	var n int
	a.hub.users.Range(func(_, v any) bool {
		if p := v.(*hubUser).conns.Load(); p != nil {
			for _, c := range *p {
				c.closeWith(frame, websocket.CloseGoingAway, reason)
				n++
			}
		}
		return true
	})
	return n
}

// reassert is what a node does when its lease was lost — it was cut off
// from the store longer than the lease and another node swept its devices
// OFFLINE, or the store came back empty: its connections live on but the
// store no longer knows them. It closes them with a shutdown push; the
// clients reconnect at once and log in, re-subscribe and set their status
// again, which puts the store right for everyone.
func (a *app) reassert(ctx context.Context, now time.Time) {
	// A sweep of the lost lease may still be running: the devices of the
	// clients that come back must not carry its name, or it ends them
	// while their links stay open.
	name := presence.LeaseName(a.srv.nodeID, a.epoch.Add(1))
	a.newLease.Store(true)
	a.lease.Store(&name)
	if _, err := a.renew(ctx, now); err != nil {
		a.storeErr(err) // renewed at the next sweep
	} else {
		a.newLease.Store(false)
	}
	n := a.closeAll(wire.AppendPush(nil, wire.OpShutdown, wire.CodeServerOverloaded, "the server lost its shared state; reconnect"), "shared state lost")
	a.srv.log.Warn("this node's lease was lost; its devices reconnect to assert themselves again",
		"sdkappid", a.id, "node", a.srv.nodeID, "lease", name, "connections", n)
}

// listen makes this node listen to what a device of user that just logged
// in here hears of: the user, its subscriptions and, with auto-notify, its
// friends. The store has the device already, so a subscription or friend
// added on another node meanwhile makes that node listen for this one
// (ListenFor), if this read missed it.
func (a *app) listen(ctx context.Context, user string) error {
	if a.router == nil {
		return nil
	}
	ids, err := a.hearsOf(ctx, user)
	if err != nil {
		return err
	}
	return a.router.Listen(ctx, a.srv.nodeID, ids...)
}

// hearsOf returns the users a device of user hears of: user itself, its
// subscriptions and, with auto-notify, its friends; each once.
func (a *app) hearsOf(ctx context.Context, user string) ([]string, error) {
	ids, err := a.store.Subscriptions(ctx, user)
	if err != nil {
		return nil, err
	}
	if *a.conf().FriendStatusAutoNotify {
		friends, err := a.dir.Friends(ctx, user)
		if err != nil {
			return nil, err
		}
		ids = append(ids, friends...)
	}
	return dedupe(append(ids, user)), nil
}

// appendWatchers appends to dst who is told of user's changes: its
// subscribers and, with auto-notify, the users whose friend list holds it;
// each once.
func (a *app) appendWatchers(ctx context.Context, dst []string, user string) ([]string, error) {
	dst, err := a.store.AppendWatchers(ctx, dst, user)
	if err != nil || !*a.conf().FriendStatusAutoNotify {
		return dst, err
	}
	return a.appendFriendOf(ctx, dst, user)
}

// appendFriendOf appends to dst, which holds user's subscribers, the users
// whose friend list holds user, and drops repeats (a subscriber that is
// also a friend).
func (a *app) appendFriendOf(ctx context.Context, dst []string, user string) ([]string, error) {
	n := len(dst)
	dst, err := a.dir.AppendFriendOf(ctx, dst, user)
	if err == nil && n > 0 && len(dst) > n {
		dst = dedupe(dst)
	}
	return dst, err
}

// maxUnheard bounds the users waiting to be unlistened: past it a user
// stays listened to until a later delivery finds nobody again.
const maxUnheard = 4096

// unlistenLoop stops this node listening to the users of whom a delivery
// found nobody here, until done is closed.
func (a *app) unlistenLoop(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case user := <-a.unheard:
			if err := a.unlisten(user); err != nil {
				a.storeErr(err)
			}
		}
	}
}

// unlisten stops this node listening to user, then checks who hears of
// user here: a hearer that came meanwhile (its listen may have crossed
// this one) makes the node listen again, and get the user's status
// afresh, which a change in between would otherwise have passed by.
func (a *app) unlisten(user string) error {
	ctx, cancel := a.call()
	defer cancel()
	if err := a.router.Unlisten(ctx, a.srv.nodeID, user); err != nil {
		return err
	}
	w, err := a.appendWatchers(ctx, nil, user)
	if err != nil {
		// Unsure whether anyone here hears of user: listen again, as
		// before, rather than risk a hearer missing its changes.
		if lerr := a.router.Listen(ctx, a.srv.nodeID, user); lerr != nil {
			a.storeErr(lerr)
		}
		return err
	}
	if !a.hub.has(user) && !slices.ContainsFunc(w, a.hub.has) {
		a.srv.metrics.unlistened.Add(1)
		a.srv.log.Debug("routing: no longer listening to a user nobody here hears of", "sdkappid", a.id, "user", user)
		return nil
	}
	a.srv.metrics.relistened.Add(1)
	a.srv.log.Debug("routing: listening again to a user someone here hears of", "sdkappid", a.id, "user", user)
	if err := a.router.Listen(ctx, a.srv.nodeID, user); err != nil {
		return err
	}
	sts, err := a.store.Statuses(ctx, user)
	if err != nil {
		return err
	}
	if sts[0].Type != wire.StatusUnknown {
		a.Deliver(presence.Delivery{Status: sts[0], Watchers: w})
	}
	return nil
}
