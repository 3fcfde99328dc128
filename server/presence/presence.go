// Package presence is the domain of the presence engine: its types (device,
// change, policy), its rules as pure functions (a user's status derived from
// its devices, which devices a login kicks, which subscription is evicted,
// the friend result codes, how versions grow), and the three contracts the
// engine stores its state through:
//
//   - a Directory, durable: accounts and friend links;
//   - a Store, ephemeral and leased: devices keyed by (node, connection),
//     custom statuses, subscription lists, per-user versions, rate windows;
//   - a Broker: carries a user's change to every node, and control messages
//     (kick a device) to the node that holds a device.
//
// The rules are written once, here; an implementation of a contract keeps
// state and applies them (package memstore on one node; a networked one
// runs the same functions on what it reads). docs/SEMANTICS.md states the
// rules in prose; storetest checks every implementation against them.
package presence

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imstatus/imstatus/wire"
)

// Policy decides which live devices a new login replaces (SEMANTICS §10).
type Policy int

const (
	// PerPlatform allows one device per platform: a new login kicks the
	// user's older device on the same platform. This is the default.
	PerPlatform Policy = iota
	// Single allows one device in all: a new login kicks every other device.
	Single
	// Unlimited kicks nothing, except an older connection of the same
	// device id on the same platform.
	Unlimited
)

// ParsePolicy reads a policy's configuration name.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "per_platform":
		return PerPlatform, nil
	case "single":
		return Single, nil
	case "unlimited":
		return Unlimited, nil
	}
	return 0, fmt.Errorf("multi_device_policy %q is not one of per_platform, single, unlimited", s)
}

// DeviceKey names one logged-in connection across every node: the node that
// holds it and that node's connection counter. Node ids are unique per
// process start, so a restarted node never reuses a key.
type DeviceKey struct {
	Node string // the lease the node held it under (LeaseName)
	Conn uint64
}

// LeaseName is the name under which a node holds its lease and devices
// after its epoch-th revival: a node that finds its lease lost (swept while
// it stalled) takes a new name, so that a sweep of the old one still
// running ends none of the devices logged in on it since.
func LeaseName(node string, epoch int64) string {
	if epoch == 0 {
		return node
	}
	return node + "~" + strconv.FormatInt(epoch, 10)
}

// NodeOf is the node that holds a lease name (LeaseName): where a device's
// kicks and deliveries go.
func NodeOf(lease string) string {
	if i := strings.LastIndexByte(lease, '~'); i >= 0 {
		if _, err := strconv.ParseInt(lease[i+1:], 10, 64); err == nil {
			return lease[:i]
		}
	}
	return lease
}

// IsZero reports whether k names no connection.
func (k DeviceKey) IsZero() bool { return k.Node == "" && k.Conn == 0 }

// Device is one logged-in connection of a user.
type Device struct {
	Key      DeviceKey
	Platform string
	DeviceID string
}

// Leave says how a device went away.
type Leave int

const (
	// Lost: the link closed, heartbeats stopped, or the node holding the
	// device stopped renewing its lease; no logout. The device counts as OFFLINE.
	Lost Leave = iota
	// LoggedOut: the device logged out, or an admin kicked it. The device
	// counts as UNLOGINED.
	LoggedOut
)

// Change is the status of one user before and after an operation. After
// carries the user's version; Before is what the operation replaced.
type Change struct {
	Before, After wire.Status
	// Audience, when a store reads it with the change, is who hears of
	// it; nil means ask (AppendWatchers, and the broker its listeners).
	Audience *Audience
}

// Audience is who hears of a change, as read with it: the users whose
// subscription list holds the user and, for a Router whose keys the store
// shares, the nodes that listen to the user (Listeners of a Delivery).
type Audience struct {
	Watchers  []string
	Listeners []string
}

// Changed reports whether the operation changed anything a watcher sees.
func (c Change) Changed() bool { return !c.Before.Equal(c.After) }

// DeviceRecord is what a store keeps of one device slot of a user: a live
// device, or one that went away and still counts towards the status (a lost
// device makes its user OFFLINE rather than UNLOGINED).
type DeviceRecord struct {
	Slot     string    // the policy's slot: platform, or platform/device id
	Key      DeviceKey // zero once the device has gone away
	Platform string
	State    wire.StatusType // ONLINE while live; then OFFLINE or UNLOGINED
}

// Live reports whether the record is a logged-in connection.
func (r DeviceRecord) Live() bool { return !r.Key.IsZero() }

// MaxDeviceRecords bounds a user's records of devices that went away, so a
// client that invents a new device id at every start cannot grow them.
const MaxDeviceRecords = 16

// Derive is a user's status from its device records and custom status
// (SEMANTICS §1): any live device makes it ONLINE, listing the live devices'
// platforms in login order; else a device lost without logout makes it
// OFFLINE; else UNLOGINED. Only an ONLINE user has a custom status. The
// version is the caller's.
func Derive(id string, recs []DeviceRecord, custom string) wire.Status {
	s := wire.Status{UserID: id, Type: wire.StatusUnlogined}
	for _, d := range recs {
		switch {
		case d.Live():
			s.Type = wire.StatusOnline
			s.Devices = append(s.Devices, d.Platform)
		case d.State == wire.StatusOffline && s.Type != wire.StatusOnline:
			s.Type = wire.StatusOffline
		}
	}
	if s.Type == wire.StatusOnline {
		s.Custom = custom
	}
	return s
}

func slotOf(p Policy, d Device) string {
	if p == Unlimited && d.DeviceID != "" {
		return d.Platform + "/" + d.DeviceID
	}
	return d.Platform
}

// Login applies a new login to a user's records under the policy: the
// devices it replaces are returned as kicked (live ones) and their records
// dropped, and the new device goes after the other live ones. recs is
// reused.
func Login(recs []DeviceRecord, d Device, p Policy) (next []DeviceRecord, kicked []Device) {
	if slices.ContainsFunc(recs, func(x DeviceRecord) bool { return x.Live() && x.Key == d.Key }) {
		// This login, applied already: a store's write sent again when its
		// answer was lost. The device does not replace (kick) itself.
		return recs, nil
	}
	slot := slotOf(p, d)
	kept := recs[:0]
	for _, x := range recs {
		replace := x.Slot == slot
		if x.Live() && (p == Single || (p == PerPlatform && x.Platform == d.Platform)) {
			replace = true
		}
		if replace {
			if x.Live() {
				kicked = append(kicked, Device{Key: x.Key, Platform: x.Platform})
			}
			continue
		}
		kept = append(kept, x)
	}
	clear(recs[len(kept):])
	next = insertAfterLive(kept, DeviceRecord{Slot: slot, Key: d.Key, Platform: d.Platform, State: wire.StatusOnline})
	// Drop the records of devices that went away longest ago; live ones stay.
	for len(next) > MaxDeviceRecords && !next[len(next)-1].Live() {
		next = next[:len(next)-1]
	}
	return next, kicked
}

// Depart records that the device key went away, how. found is false when
// no live record holds the key (it was replaced already). The record moves
// to the front of the gone ones: most recently gone first.
func Depart(recs []DeviceRecord, key DeviceKey, how Leave) (next []DeviceRecord, found bool) {
	for i := range recs {
		if recs[i].Key != key || !recs[i].Live() {
			continue
		}
		d := recs[i]
		d.Key = DeviceKey{}
		d.State = wire.StatusOffline
		if how == LoggedOut {
			d.State = wire.StatusUnlogined
		}
		recs = slices.Delete(recs, i, i+1)
		return insertAfterLive(recs, d), true
	}
	return recs, false
}

func insertAfterLive(recs []DeviceRecord, d DeviceRecord) []DeviceRecord {
	i := 0
	for i < len(recs) && recs[i].Live() {
		i++
	}
	return slices.Insert(recs, i, d)
}

// NextVersion is the version of a user's next status after prev. It grows
// by at least one, and is at least the time in microseconds, so versions
// keep growing across a restart that lost the previous ones (an in-memory
// store) as long as the clock does not go back. Microseconds since 1970 stay
// below 2^53 until the year 2255: a JavaScript number holds them exactly.
func NextVersion(prev uint64, now time.Time) uint64 {
	v := prev + 1
	if t := now.UnixMicro(); t > 0 && uint64(t) > v {
		v = uint64(t)
	}
	return v
}

// Settle applies the derived rules after an operation on a user: the custom
// status is kept only while ONLINE (cleared on OFFLINE/UNLOGINED, SEMANTICS
// §1), and a change gets the next version. It returns the change and the
// custom status to keep.
func Settle(before wire.Status, id string, recs []DeviceRecord, custom string, now time.Time) (Change, string) {
	after := Derive(id, recs, custom)
	if after.Type != wire.StatusOnline {
		custom = ""
	}
	after.Version = before.Version
	c := Change{Before: before, After: after}
	if c.Changed() {
		c.After.Version = NextVersion(before.Version, now)
	}
	return c, custom
}

// Subscriptions applies the subscription list rules (SEMANTICS §2) to one
// owner's list, oldest first. A Subscriptions holds scratch space reused
// from call to call: it is not safe for concurrent use.
type Subscriptions struct {
	scratch map[string]subSlot
}

// subSlot is what Add knows of one target: its last place among the call's
// targets, and whether the list already held it.
type subSlot struct {
	last   int
	listed bool
}

// scratchFrom is the list length from which Add and Remove index through a
// map instead of searching the list: searching and deleting target by
// target was the top cost of a reconnect storm's re-subscribes.
const scratchFrom = 8

// Add puts targets at the newest end of list; a target already there moves
// to the newest place, a repeated target counts at its last place. Past max
// the oldest are evicted. It returns the new list (list's array reused), the
// targets new to the list, and the evicted ones.
func (s *Subscriptions) Add(list, targets []string, max int) (next, added, evicted []string) {
	if s.scratch == nil {
		s.scratch = make(map[string]subSlot)
	}
	sc := s.scratch
	defer clear(sc) // holding no ids between calls
	for i, t := range targets {
		sc[t] = subSlot{last: i}
	}
	kept := list[:0]
	for _, t := range list {
		if x, ok := sc[t]; ok {
			x.listed = true
			sc[t] = x
			continue
		}
		kept = append(kept, t)
	}
	clear(list[len(kept):])
	next = kept
	for i, t := range targets {
		x := sc[t]
		if x.last != i {
			continue
		}
		next = append(next, t)
		if !x.listed {
			added = append(added, t)
		}
	}
	if n := len(next) - max; n > 0 {
		evicted = slices.Clone(next[:n])
		next = slices.Delete(next, 0, n)
	}
	return next, added, evicted
}

// Remove drops targets from list; no targets drops all. It returns the new
// list (list's array reused) and what it removed.
func (s *Subscriptions) Remove(list, targets []string) (next, removed []string) {
	if len(targets) == 0 {
		return nil, list
	}
	drop := func(t string) bool { return slices.Contains(targets, t) }
	if len(targets) >= scratchFrom {
		if s.scratch == nil {
			s.scratch = make(map[string]subSlot)
		}
		sc := s.scratch
		defer clear(sc)
		for _, t := range targets {
			sc[t] = subSlot{}
		}
		drop = func(t string) bool { _, ok := sc[t]; return ok }
	}
	kept := list[:0]
	for _, t := range list {
		if drop(t) {
			removed = append(removed, t)
		} else {
			kept = append(kept, t)
		}
	}
	clear(list[len(kept):])
	if len(kept) == 0 {
		kept = nil
	}
	return kept, removed
}

// FriendResult is the outcome of one friend operation, with upstream's code.
type FriendResult struct {
	To   string
	Code int
	Info string
}

// CheckFriend is the result of a friend operation from → to, given whether
// each account exists.
func CheckFriend(from, to string, fromExists, toExists bool) FriendResult {
	switch {
	case from == to:
		return FriendResult{To: to, Code: wire.CodeServerParams, Info: "cannot add yourself as a friend"}
	case !fromExists:
		return FriendResult{To: to, Code: wire.CodeAccountNotFound, Info: "From_Account does not exist"}
	case !toExists:
		return FriendResult{To: to, Code: wire.CodeAccountNotFound, Info: "To_Account does not exist"}
	}
	return FriendResult{To: to}
}

// Directory holds an app's durable data: accounts and friend links. It
// survives restarts; every method is safe for concurrent use and honours
// ctx's deadline.
type Directory interface {
	// ImportAccounts creates accounts; existing ones are left alone.
	ImportAccounts(ctx context.Context, ids ...string) error
	// Exists reports which of ids have an account.
	Exists(ctx context.Context, ids ...string) ([]bool, error)
	// AddFriends adds each of to into from's friend list and, when both,
	// from into theirs, with a result per target (CheckFriend). Adding an
	// existing friend succeeds.
	AddFriends(ctx context.Context, from string, to []string, both bool) ([]FriendResult, error)
	// DeleteFriends removes each of to from from's friend list and, when
	// both, from from theirs.
	DeleteFriends(ctx context.Context, from string, to []string, both bool) ([]FriendResult, error)
	// Friends returns id's friend list, sorted.
	Friends(ctx context.Context, id string) ([]string, error)
	// AppendFriendOf appends to dst the users whose friend list holds id
	// (the ones auto-notify tells of id's changes).
	AppendFriendOf(ctx context.Context, dst []string, id string) ([]string, error)
}

// Store holds an app's ephemeral presence state: each user's device
// records, custom status, version and subscription list, the nodes' leases
// and the rate windows. Every method is safe for concurrent use, atomic for
// the user it changes, and honours ctx's deadline. A change of a user's
// status gets the next version (Settle), stored with it, so Statuses and
// every Change carry it.
type Store interface {
	// Login adds a live device, returning the user's change and the live
	// devices the policy kicks (their records are replaced).
	Login(ctx context.Context, user string, d Device, p Policy, now time.Time) (Change, []Device, error)
	// Leave records that the device went away, how; found is false when it
	// was no longer a live device of user.
	Leave(ctx context.Context, user string, key DeviceKey, how Leave, now time.Time) (c Change, found bool, err error)
	// SetCustom sets the user's custom status (kept only while ONLINE).
	SetCustom(ctx context.Context, user, custom string, now time.Time) (Change, error)
	// Statuses returns each id's status with its version, in order; an id
	// the store holds nothing of is StatusUnknown with version 0 (the
	// directory tells whether it is an account that never logged in).
	Statuses(ctx context.Context, ids ...string) ([]wire.Status, error)

	// Subscribe adds targets to owner's list, evicting the oldest past max.
	Subscribe(ctx context.Context, owner string, targets []string, max int) (evicted []string, err error)
	// Unsubscribe removes targets from owner's list; none removes all.
	Unsubscribe(ctx context.Context, owner string, targets []string) error
	// Subscriptions returns owner's list, oldest first.
	Subscriptions(ctx context.Context, owner string) ([]string, error)
	// AppendWatchers appends to dst the users whose list holds user.
	AppendWatchers(ctx context.Context, dst []string, user string) ([]string, error)
	// ClearAwaySubscriptions empties the list of every owner that went
	// OFFLINE or UNLOGINED at least delay before now and has not come back,
	// and returns those owners.
	ClearAwaySubscriptions(ctx context.Context, now time.Time, delay time.Duration) ([]string, error)

	// RenewLease says node holds its devices until now+ttl. lost reports
	// that node held no lease: its first, or one that ended (swept by
	// ExpireLeases) or that the store lost — then its devices are gone
	// from the store, and the node must have them asserted again.
	RenewLease(ctx context.Context, node string, now time.Time, ttl time.Duration) (lost bool, err error)
	// ExpireLeases makes every live device of a node whose lease ended
	// before now Lost, as if its link had closed, forgets that node, and
	// returns, per user, the change and the devices it ended. A store
	// that keeps which users a node served returns too, for each of them
	// whose status the sweep did not change, an Expiry with no Devices and
	// the status unchanged (Before equal to After): the dead node may have
	// stored a change of theirs and died before publishing it, so the
	// caller sends their status again.
	ExpireLeases(ctx context.Context, now time.Time) ([]Expiry, error)
	// Lead reports whether node holds (now, or from now on) the app-wide
	// lease of task until now+ttl: one node of the app runs a task such as
	// the sweeps of ClearAwaySubscriptions and ExpireLeases.
	Lead(ctx context.Context, task, node string, now time.Time, ttl time.Duration) (bool, error)

	// Allow counts a call of key and reports whether it is within n calls
	// in a fixed window that starts at the key's first call; spent windows
	// are forgotten.
	Allow(ctx context.Context, key string, n int, window time.Duration, now time.Time) (bool, error)

	// LiveDevices returns user's live devices on every node, in login
	// order (the admin console's inspector).
	LiveDevices(ctx context.Context, user string) ([]DeviceRecord, error)
	// PostNode keeps f, a node's figures, for the other nodes to read
	// until f.Until; Nodes returns those of every node posted and not
	// past Until at now, by node name (the admin console's cluster view).
	PostNode(ctx context.Context, f NodeFigures) error
	Nodes(ctx context.Context, now time.Time) ([]NodeFigures, error)
}

// NodeFigures are what a node tells the other nodes of itself.
type NodeFigures struct {
	Node        string    `json:"node"`
	Connections int       `json:"connections"` // every app's, logged in or not
	Devices     int64     `json:"devices"`     // the app's logged-in devices
	At          time.Time `json:"at"`          // when posted
	Until       time.Time `json:"until"`       // when to forget them
}

// Expiry is what the end of nodes' leases did to one user: its change (not
// always a visible one: another live device may hide it) and the devices
// ended, for the state-change webhook; no Devices is a status to send
// again (ExpireLeases).
type Expiry struct {
	Change  Change
	Devices []Device
}

// Delivery is a user's change as the broker carries it: the new status
// (with its version) and who besides the user is told of it.
type Delivery struct {
	Status   wire.Status
	Watchers []string
	// Listeners, when not nil, are the nodes a Router sends d to, read
	// with the change; nil means the Router reads them.
	Listeners []string
}

// Kick asks the node holding a device to kick it. A zero Key asks every
// node to kick every device of User (an admin's kick).
type Kick struct {
	User     string
	Key      DeviceKey
	Platform string // the platform of the login that replaced it, for the message
	ByAdmin  bool
}

// Node is what a broker delivers to: one imstatusd process's gateway.
type Node interface {
	// Deliver pushes a change to the node's connections of the status's
	// user and of the watchers. Deliveries of one user may arrive out of
	// version order; the node drops the older.
	Deliver(d Delivery)
	// Kick kicks the node's device(s) that k names.
	Kick(k Kick)
	// Resync tells the node that deliveries to it may have been lost (its
	// link to the broker broke and is back): it brings what its
	// connections were told up to date from the store. It must not block.
	Resync()
}

// Broker carries messages between the nodes of an app. Publishing returns
// once the broker has taken the message; delivery is at most once.
type Broker interface {
	// Register makes n receive the app's deliveries, and the kicks
	// addressed to node id; stop ends that.
	Register(ctx context.Context, id string, n Node) (stop func(), err error)
	// Publish sends d to every registered node (a Router: to the nodes
	// that listen to d.Status.UserID).
	Publish(ctx context.Context, d Delivery) error
	// PublishKick sends k to node id or, when k.Key is zero, to every node
	// (a Router: to the nodes that listen to k.User).
	PublishKick(ctx context.Context, id string, k Kick) error
}

// Router is a Broker that carries a user's changes, and the admin's kicks
// of the user, only to the nodes that listen to that user rather than to
// every node. A node listens to every user its connections hear of: their
// own users, those users' subscriptions and, with auto-notify, their
// friends. What a node listens to is a superset of what it needs, kept so
// by the nodes: a node may listen to a user none of its connections hears
// of any more (a delivery nobody here took tells it so, and it calls
// Unlisten), never the other way round. Publish of a Router sends d to the
// nodes that listen to d.Status.UserID.
//
// Whoever adds a hearer writes its own record first (the login its
// device, the subscribe its list, the friend link) and calls Listen or
// ListenFor after; Unlisten's caller reads the hearers after it. So of a
// listen and an unlisten that cross, one sees the other, and no hearer is
// left on a node that does not listen.
type Router interface {
	Broker
	// Listen makes node listen to users.
	Listen(ctx context.Context, node string, users ...string) error
	// ListenFor makes every node that holds a live device of watcher
	// listen to users: a change of watcher's subscriptions or friends made
	// on one node reaches its devices on the others.
	ListenFor(ctx context.Context, watcher string, users ...string) error
	// Unlisten stops node listening to user.
	Unlisten(ctx context.Context, node, user string) error
}

// Backend is an app's three contracts.
type Backend struct {
	Directory Directory
	Store     Store
	Broker    Broker
}
