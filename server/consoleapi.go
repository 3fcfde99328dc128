package server

import (
	"context"
	"crypto/subtle"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/server/console"
	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/wire"
)

// consoleBackend is the server as the admin console sees it
// (console.Backend).
type consoleBackend struct{ s *Server }

var _ console.Backend = consoleBackend{}

func (b consoleBackend) Node() string { return b.s.nodeID }

// consoleOn reports whether a's admin may use the console: the server
// serves it for every app (Options.Console), or the apps file for a.
func (s *Server) consoleOn(a *app) bool {
	return s.opts.Console || a.conf().Console != nil && *a.conf().Console
}

// consoleGate serves the console while it is on for some app; a reload
// of the apps file may turn it on or off. Otherwise /console/ is not
// there (404), as with no console at all.
func (s *Server) consoleGate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		on := s.opts.Console
		for _, a := range s.apps.Load().live {
			on = on || s.consoleOn(a)
		}
		if !on {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// CheckAdmin is the REST API's check of its caller (checkAdmin).
func (b consoleBackend) CheckAdmin(app uint64, identifier, userSig string) error {
	a := b.s.app(app)
	if a == nil {
		return &console.Refusal{Code: restBadAuth, Info: "sdkappid missing or unknown"}
	}
	if !b.s.consoleOn(a) {
		return &console.Refusal{Info: "the console is off for this app (\"console\": true in the apps file turns it on)"}
	}
	if r := b.s.checkAdmin(a, "", identifier, userSig); r != nil {
		return restOutcome(r)
	}
	return nil
}

func (b consoleBackend) CheckKey(app uint64, key string) (string, bool) {
	a := b.s.app(app)
	if a == nil || !b.s.consoleOn(a) {
		return "", false
	}
	c := a.conf()
	return c.Admin, subtle.ConstantTimeCompare([]byte(key), []byte(c.SecretKey)) == 1
}

func (b consoleBackend) Stats(ctx context.Context, app uint64) console.Stats {
	s := b.s
	m := &s.metrics
	st := console.Stats{Node: s.nodeID, Time: s.clock.Now(), Connections: s.connCount()}
	if a := s.app(app); a != nil {
		st.Devices = a.hub.devices.Load()
		st.Nodes, st.NodesError = b.nodes(ctx, a, st)
		c := &a.counts
		st.AppCounters = map[string]uint64{
			"logins":              c.logins.Load(),
			"logins_refused":      c.loginsRefused.Load(),
			"status_pushes":       c.pushes.Load(),
			"statuses_superseded": c.superseded.Load(),
			"slow_readers_closed": c.slowReaders.Load(),
		}
	}
	hs := s.hooks.Stats()
	st.Counters = map[string]uint64{
		"logins":              m.logins.Load(),
		"logins_refused":      m.loginRefused.Load(),
		"logins_limited":      m.loginsLimited.Load(),
		"status_pushes":       m.statusPushes.Load(),
		"statuses_superseded": m.statusesSuperseded.Load(),
		"slow_readers_closed": m.slowReaders.Load(),
		"rate_limited":        m.rateLimited.Load(),
		"store_errors":        m.storeErrors.Load(),
		"requests_shed":       m.shed.Load(),
		"connections_refused": m.connsRefused.Load(),
		"webhook_sent":        hs.Sent,
		"webhook_failed":      hs.Failed,
		"webhook_dropped":     hs.Dropped,
	}
	return st
}

// nodes are the cluster's nodes as they last posted their figures (this
// one as it is now), with each one's share of the app's devices.
func (b consoleBackend) nodes(ctx context.Context, a *app, here console.Stats) ([]console.Node, string) {
	fs, err := a.store.Nodes(ctx, here.Time)
	var why string
	if err != nil {
		a.storeErr(err)
		fs, why = nil, "the other nodes' figures could not be read: the backend failed"
	}
	out := []console.Node{{Node: here.Node, Connections: here.Connections, Devices: here.Devices, At: here.Time}}
	for _, f := range fs {
		if f.Node != here.Node {
			out = append(out, console.Node{Node: f.Node, Connections: f.Connections, Devices: f.Devices, At: f.At})
		}
	}
	var total int64
	for _, n := range out {
		total += n.Devices
	}
	for i := range out {
		if total > 0 {
			out[i].Share = float64(out[i].Devices) / float64(total)
		}
	}
	slices.SortFunc(out, func(x, y console.Node) int { return strings.Compare(x.Node, y.Node) })
	return out, why
}

func (b consoleBackend) live(app uint64) (*app, error) {
	a := b.s.app(app)
	if a == nil {
		return nil, &console.Refusal{Code: restBadAuth, Info: "app " + strconv.FormatUint(app, 10) + " is not served"}
	}
	return a, nil
}

func statusName(t wire.StatusType) string {
	switch t {
	case wire.StatusOnline:
		return "ONLINE"
	case wire.StatusOffline:
		return "OFFLINE"
	case wire.StatusUnlogined:
		return "UNLOGINED"
	}
	return "UNKNOWN"
}

func (b consoleBackend) Inspect(ctx context.Context, app uint64, user string) (console.User, error) {
	a, err := b.live(app)
	if err != nil {
		return console.User{}, err
	}
	cf := a.conf()
	u := console.User{ID: user, AutoNotify: *cf.FriendStatusAutoNotify, MaxSubscriptions: cf.MaxSubscriptions,
		HistoryLen: historyLen}
	sts, err := a.statuses(ctx, []string{user})
	if err != nil {
		return u, err
	}
	st := sts[0]
	u.Exists = st.Type != wire.StatusUnknown
	u.Status, u.Custom, u.Version, u.Platforms = statusName(st.Type), st.Custom, st.Version, st.Devices
	if u.Subscriptions, err = a.store.Subscriptions(ctx, user); err != nil {
		return u, err
	}
	if u.Subscribers, err = a.store.AppendWatchers(ctx, nil, user); err != nil {
		return u, err
	}
	if u.Friends, err = a.dir.Friends(ctx, user); err != nil {
		return u, err
	}
	if u.FriendOf, err = a.dir.AppendFriendOf(ctx, nil, user); err != nil {
		return u, err
	}
	slices.Sort(u.Subscribers)
	slices.Sort(u.FriendOf)
	if v, at, ok := a.hub.lastDelivery(user); ok {
		u.Delivered = &console.Delivery{Version: v, At: at}
	}
	if r, ok := a.router.(listenersReader); ok {
		if u.Listeners, err = r.Listeners(ctx, user); err != nil {
			return u, err
		}
		slices.Sort(u.Listeners)
	}
	hist := a.hub.hist.of(user)
	for _, t := range hist {
		u.Transitions = append(u.Transitions, console.Transition{At: time.Unix(0, t.at), Event: t.event,
			Platform: t.platform, Device: t.device, Status: statusName(t.status)})
	}
	here := make(map[uint64]bool)
	for _, c := range a.hub.connsOf(user) {
		_, ss, ok := c.session()
		if !ok || ss.user != user {
			continue
		}
		here[ss.key.Conn] = true
		d := console.Device{Device: ss.key.Conn, Node: ss.key.Node, Platform: ss.platform, Here: true,
			LastHeartbeat: time.Unix(0, c.lastSeen.Load())}
		for _, t := range hist {
			if t.device == ss.key.Conn && t.event == evLogin {
				d.Since = time.Unix(0, t.at)
			}
		}
		u.Devices = append(u.Devices, d)
	}
	// The devices on the other nodes, as the store has them.
	live, err := a.store.LiveDevices(ctx, user)
	if err != nil {
		return u, err
	}
	for _, r := range live {
		if presence.NodeOf(r.Key.Node) == b.s.nodeID && here[r.Key.Conn] {
			continue
		}
		u.Devices = append(u.Devices, console.Device{Device: r.Key.Conn, Node: r.Key.Node, Platform: r.Platform})
	}
	return u, nil
}

// listenersReader is a router that can tell which nodes a user's changes
// are sent to.
type listenersReader interface {
	Listeners(ctx context.Context, user string) ([]string, error)
}

func (b consoleBackend) Relation(ctx context.Context, app uint64, x, y string) (console.Relation, error) {
	a, err := b.live(app)
	if err != nil {
		return console.Relation{}, err
	}
	cf := a.conf()
	r := console.Relation{X: x, Y: y, AutoNotify: *cf.FriendStatusAutoNotify,
		SwitchesOn: cf.Edition == "ultimate" && *cf.UserStatusEnabled}
	sts, err := a.statuses(ctx, []string{x, y})
	if err != nil {
		return r, err
	}
	r.XStatus, r.YStatus = statusName(sts[0].Type), statusName(sts[1].Type)
	r.YHasDevices = sts[1].Type == wire.StatusOnline
	why := func(s string) { r.Reasons = append(r.Reasons, s) }
	switch {
	case x == y:
		r.Hears = sts[0].Type != wire.StatusUnknown
		why("a user always hears of its own changes, on each of its devices")
		return r, nil
	case sts[0].Type == wire.StatusUnknown:
		why(x + " has no account")
		return r, nil
	case sts[1].Type == wire.StatusUnknown:
		why(y + " has no account")
		return r, nil
	}
	subs, err := a.store.Subscriptions(ctx, y)
	if err != nil {
		return r, err
	}
	if i := slices.Index(subs, x); i >= 0 {
		r.Subscribed = true
		why(y + " subscribes to " + x + " (place " + strconv.Itoa(i+1) + " of " + strconv.Itoa(len(subs)) +
			" in its list, oldest first; past " + strconv.Itoa(cf.MaxSubscriptions) + " the oldest is evicted)")
	} else {
		why(y + " does not subscribe to " + x)
	}
	friends, err := a.dir.Friends(ctx, y)
	if err != nil {
		return r, err
	}
	r.Friends = slices.Contains(friends, x)
	switch {
	case r.Friends && r.AutoNotify:
		why(x + " is in " + y + "'s friend list and the app's friend auto-notify is on")
	case r.Friends:
		why(x + " is in " + y + "'s friend list, but the app's friend auto-notify is off")
	default:
		why(x + " is not in " + y + "'s friend list")
	}
	if !r.SwitchesOn {
		why("the app's edition (" + cf.Edition + ") or user-status switch does not allow subscribing: new subscriptions are refused")
	}
	r.Hears = r.Subscribed || (r.Friends && r.AutoNotify)
	if r.Hears && !r.YHasDevices {
		why(y + " is " + r.YStatus + ": it hears of " + x + "'s changes once a device of it logs in")
	}
	why(x + " is " + r.XStatus + " now")
	return r, nil
}

func (b consoleBackend) KickDevice(ctx context.Context, app uint64, user, node string, device uint64) error {
	a, err := b.live(app)
	if err != nil {
		return err
	}
	if n := presence.NodeOf(node); n != "" && n != b.s.nodeID {
		// The node that holds it ends it; it is not here to check.
		k := presence.Kick{User: user, Key: presence.DeviceKey{Node: node, Conn: device}, ByAdmin: true}
		if err := a.broker.PublishKick(ctx, n, k); err != nil {
			a.storeErr(err)
			return err
		}
		return nil
	}
	for _, c := range a.hub.connsOf(user) {
		if c.device.Load() != device {
			continue
		}
		if !a.adminKick(c) {
			break
		}
		return nil
	}
	return &console.Refusal{Info: "no device " + strconv.FormatUint(device, 10) + " of " + user + " on this node"}
}

// KickUser and Import run the REST API's commands, with their checks.
func (b consoleBackend) KickUser(_ context.Context, app uint64, user string) error {
	a, err := b.live(app)
	if err != nil {
		return err
	}
	req := wire.AppendString([]byte(`{"UserID":`), user)
	return restOutcome(a.restKick(gjson.ParseBytes(append(req, '}'))))
}

func (b consoleBackend) Import(_ context.Context, app uint64, ids []string) error {
	a, err := b.live(app)
	if err != nil {
		return err
	}
	req := []byte(`{"Accounts":[`)
	for i, id := range ids {
		if i > 0 {
			req = append(req, ',')
		}
		req = wire.AppendString(req, id)
	}
	return restOutcome(a.restMultiAccountImport(gjson.ParseBytes(append(req, "]}"...))))
}

// restOutcome is a REST reply as an error: nil when it says OK, a
// refusal with its code and info otherwise.
func restOutcome(r *restReply) error {
	res := gjson.ParseBytes(append(r.b, '}'))
	if res.Get("ErrorCode").Int() == 0 {
		if fails := res.Get("FailAccounts"); fails.IsArray() && len(fails.Array()) > 0 {
			return &console.Refusal{Info: "invalid ids: " + fails.Raw}
		}
		return nil
	}
	return &console.Refusal{Code: int(res.Get("ErrorCode").Int()), Info: res.Get("ErrorInfo").String()}
}
