// Package presence holds an app's user-status state in memory: accounts,
// devices, custom statuses, subscriptions and friends. It derives each user's
// status from all of that user's devices (SPEC §1) and reports every change as
// a before/after pair, so the caller notifies only real transitions.
//
// A Memory is safe for concurrent use. It does no I/O, never blocks and
// never fails: its methods take a context and return an error only to match
// the server's Store interface, which an engine over the network implements too.
package presence

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/imstatus/imstatus/wire"
)

// Policy decides which live devices a new login replaces (SPEC §10).
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

// Device is one logged-in connection of a user.
type Device struct {
	Conn     uint64 // the connection's id, unique within the server
	Platform string
	DeviceID string
}

// Leave says how a device went away.
type Leave int

const (
	// Lost: the link closed or heartbeats stopped without a logout. The
	// device counts as OFFLINE.
	Lost Leave = iota
	// LoggedOut: the device logged out, or an admin kicked it. The device
	// counts as UNLOGINED.
	LoggedOut
)

// Change is the status of one user before and after an operation.
type Change struct {
	Before, After wire.Status
}

// Changed reports whether the operation changed anything a subscriber sees.
func (c Change) Changed() bool { return !c.Before.Equal(c.After) }

// maxDeviceRecords bounds the per-user records of devices that went away, so
// a client that invents a new device id at every start cannot grow them.
const maxDeviceRecords = 16

type device struct {
	slot  string
	conn  uint64 // 0 once the device has gone away
	plat  string
	state wire.StatusType
}

type user struct {
	devices []device // live first-come order, then the ones that went away
	custom  string
	subs    []string // oldest first
	friends map[string]struct{}
}

// Memory is the in-memory state of one app.
type Memory struct {
	mu       sync.Mutex
	users    map[string]*user
	watchers map[string]map[string]struct{} // target → subscribers
	friendOf map[string]map[string]struct{} // user → users whose friend list holds them
	away     map[string]time.Time           // owners with subscriptions, since they went away

	// scratch is Subscribe's and Unsubscribe's index of the targets of one
	// call (under mu, empty between calls), kept to spare an allocation.
	scratch map[string]slot
}

// slot is what Subscribe knows of one target: its last place among the
// call's targets, and whether the list already held it.
type slot struct {
	last   int
	listed bool
}

// NewMemory returns an empty state.
func NewMemory() *Memory {
	return &Memory{
		users:    make(map[string]*user),
		watchers: make(map[string]map[string]struct{}),
		friendOf: make(map[string]map[string]struct{}),
		away:     make(map[string]time.Time),
		scratch:  make(map[string]slot),
	}
}

// ImportAccounts creates accounts; existing ones are left alone. A new account is UNLOGINED.
func (m *Memory) ImportAccounts(_ context.Context, ids ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		m.account(id)
	}
	return nil
}

// Exists reports which of ids have an account.
func (m *Memory) Exists(_ context.Context, ids ...string) ([]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]bool, len(ids))
	for i, id := range ids {
		_, out[i] = m.users[id]
	}
	return out, nil
}

func (m *Memory) account(id string) *user {
	u := m.users[id]
	if u == nil {
		u = &user{}
		m.users[id] = u
	}
	return u
}

func slotOf(p Policy, d Device) string {
	if p == Unlimited && d.DeviceID != "" {
		return d.Platform + "/" + d.DeviceID
	}
	return d.Platform
}

// Login records a new live device, creating the account if needed (a valid
// UserSig registers the user, as upstream does). It returns the devices the
// policy kicks; their records are replaced, not left OFFLINE.
func (m *Memory) Login(_ context.Context, id string, d Device, p Policy, now time.Time) (Change, []Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.account(id)
	before := u.status(id)
	slot := slotOf(p, d)
	var kicked []Device
	kept := u.devices[:0]
	for _, x := range u.devices {
		replace := x.slot == slot
		if x.conn != 0 && (p == Single || (p == PerPlatform && x.plat == d.Platform)) {
			replace = true
		}
		if replace {
			if x.conn != 0 {
				kicked = append(kicked, Device{Conn: x.conn, Platform: x.plat})
			}
			continue
		}
		kept = append(kept, x)
	}
	u.devices = kept
	u.insertLive(device{slot: slot, conn: d.Conn, plat: d.Platform, state: wire.StatusOnline})
	return m.finish(id, u, before, now), kicked, nil
}

// insertLive puts a live device after the other live ones.
func (u *user) insertLive(d device) {
	i := 0
	for i < len(u.devices) && u.devices[i].conn != 0 {
		i++
	}
	u.devices = slices.Insert(u.devices, i, d)
	// Drop the records of devices that went away longest ago; live ones stay.
	for len(u.devices) > maxDeviceRecords && u.devices[len(u.devices)-1].conn == 0 {
		u.devices = u.devices[:len(u.devices)-1]
	}
}

// Leave records that the device on conn went away. found is false when the
// connection holds no live device of id (it was already replaced).
func (m *Memory) Leave(_ context.Context, id string, conn uint64, how Leave, now time.Time) (c Change, found bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.users[id]
	if u == nil {
		return Change{}, false, nil
	}
	before := u.status(id)
	for i := range u.devices {
		if u.devices[i].conn != conn {
			continue
		}
		d := u.devices[i]
		d.conn = 0
		d.state = wire.StatusOffline
		if how == LoggedOut {
			d.state = wire.StatusUnlogined
		}
		// Most recently gone first among the records that went away.
		u.devices = slices.Delete(u.devices, i, i+1)
		j := 0
		for j < len(u.devices) && u.devices[j].conn != 0 {
			j++
		}
		u.devices = slices.Insert(u.devices, j, d)
		return m.finish(id, u, before, now), true, nil
	}
	return Change{Before: before, After: before}, false, nil
}

// SetCustom sets the user's custom status. It is kept only while the user is
// ONLINE: an offline user's custom status is always empty.
func (m *Memory) SetCustom(_ context.Context, id, custom string, now time.Time) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.account(id)
	before := u.status(id)
	u.custom = custom
	return m.finish(id, u, before, now), nil
}

// finish applies the derived rules after a change and returns it.
func (m *Memory) finish(id string, u *user, before wire.Status, now time.Time) Change {
	after := u.status(id)
	if after.Type != wire.StatusOnline {
		u.custom = "" // cleared on OFFLINE/UNLOGINED (SPEC §1)
		after.Custom = ""
		if before.Type == wire.StatusOnline && len(u.subs) > 0 {
			m.away[id] = now
		}
	} else {
		delete(m.away, id)
	}
	return Change{Before: before, After: after}
}

// status derives the user's status from the device records.
func (u *user) status(id string) wire.Status {
	s := wire.Status{UserID: id, Type: wire.StatusUnlogined}
	for _, d := range u.devices {
		switch {
		case d.conn != 0:
			s.Type = wire.StatusOnline
			s.Devices = append(s.Devices, d.plat)
		case d.state == wire.StatusOffline && s.Type != wire.StatusOnline:
			s.Type = wire.StatusOffline
		}
	}
	if s.Type == wire.StatusOnline {
		s.Custom = u.custom
	}
	return s
}

// Statuses returns the status of each id, in order; ids without an account
// are UNKNOWN.
func (m *Memory) Statuses(_ context.Context, ids ...string) ([]wire.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]wire.Status, len(ids))
	for i, id := range ids {
		if u := m.users[id]; u != nil {
			out[i] = u.status(id)
		} else {
			out[i] = wire.Status{UserID: id, Type: wire.StatusUnknown}
		}
	}
	return out, nil
}

// Subscribe adds targets to owner's subscriptions, newest last; a target
// already there moves to the newest place. Past max the oldest are evicted,
// and returned.
func (m *Memory) Subscribe(_ context.Context, owner string, targets []string, max int) (evicted []string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.account(owner)
	// In passes over the list and the targets, through a scratch map:
	// searching the list and deleting from it target by target was the
	// top cost of a reconnect storm's re-subscribes.
	sc := m.scratch
	defer clear(sc) // holding no ids between calls
	for i, t := range targets {
		sc[t] = slot{last: i}
	}
	// Targets already on the list leave their place (and stay watchers)...
	kept := u.subs[:0]
	for _, t := range u.subs {
		if s, ok := sc[t]; ok {
			s.listed = true
			sc[t] = s
			continue
		}
		kept = append(kept, t)
	}
	clear(u.subs[len(kept):])
	u.subs = kept
	// ...and every target goes to the end, a repeated one at its last place.
	for i, t := range targets {
		s := sc[t]
		if s.last != i {
			continue
		}
		u.subs = append(u.subs, t)
		if !s.listed {
			addTo(m.watchers, t, owner)
		}
	}
	if n := len(u.subs) - max; n > 0 {
		evicted = slices.Clone(u.subs[:n])
		u.subs = slices.Delete(u.subs, 0, n)
		for _, t := range evicted {
			removeFrom(m.watchers, t, owner)
		}
	}
	return evicted, nil
}

// Unsubscribe removes targets from owner's subscriptions; no targets removes all.
func (m *Memory) Unsubscribe(_ context.Context, owner string, targets []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unsubscribe(owner, targets)
	return nil
}

func (m *Memory) unsubscribe(owner string, targets []string) {
	u := m.users[owner]
	if u == nil {
		return
	}
	// One pass over the list, as in Subscribe, rather than a search and a
	// shift of the tail per removed entry.
	drop := func(string) bool { return true } // no targets: all
	if len(targets) > 0 {
		sc := m.scratch
		defer clear(sc)
		for _, t := range targets {
			sc[t] = slot{}
		}
		drop = func(t string) bool { _, ok := sc[t]; return ok }
	}
	kept := u.subs[:0]
	for _, t := range u.subs {
		if drop(t) {
			removeFrom(m.watchers, t, owner)
		} else {
			kept = append(kept, t)
		}
	}
	clear(u.subs[len(kept):])
	u.subs = kept
	if len(u.subs) == 0 {
		u.subs = nil
		delete(m.away, owner)
	}
}

// Subscriptions returns owner's subscriptions, oldest first.
func (m *Memory) Subscriptions(_ context.Context, owner string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u := m.users[owner]; u != nil {
		return slices.Clone(u.subs), nil
	}
	return nil, nil
}

// AppendWatchers appends to dst who is told of id's changes besides id
// itself: its subscribers and, when friends is true, every user whose
// friend list holds id.
func (m *Memory) AppendWatchers(_ context.Context, dst []string, id string, friends bool) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for w := range m.watchers[id] {
		dst = append(dst, w)
	}
	if friends {
		for f := range m.friendOf[id] {
			if _, dup := m.watchers[id][f]; !dup {
				dst = append(dst, f)
			}
		}
	}
	return dst, nil
}

// ClearAwaySubscriptions drops the subscriptions of every owner who went
// away at least delay before now and has not come back. It returns those owners.
func (m *Memory) ClearAwaySubscriptions(_ context.Context, now time.Time, delay time.Duration) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cleared []string
	for owner, since := range m.away {
		if now.Sub(since) >= delay {
			m.unsubscribe(owner, nil)
			delete(m.away, owner)
			cleared = append(cleared, owner)
		}
	}
	return cleared, nil
}

// FriendResult is the outcome of one friend operation, with upstream's code.
type FriendResult struct {
	To   string
	Code int
	Info string
}

// AddFriends adds each of to into from's friend list and, when both is
// true, from into theirs. Adding an existing friend succeeds.
func (m *Memory) AddFriends(_ context.Context, from string, to []string, both bool) ([]FriendResult, error) {
	return m.friendOp(from, to, both, m.link), nil
}

// DeleteFriends removes each of to from from's friend list and, when both is
// true, from from theirs.
func (m *Memory) DeleteFriends(_ context.Context, from string, to []string, both bool) ([]FriendResult, error) {
	return m.friendOp(from, to, both, m.unlink), nil
}

// friendOp applies op to each valid pair, both ways when both is true.
func (m *Memory) friendOp(from string, to []string, both bool, op func(a, b string)) []FriendResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]FriendResult, 0, len(to))
	for _, t := range to {
		r := m.checkFriend(from, t)
		if r.Code == 0 {
			op(from, t)
			if both {
				op(t, from)
			}
		}
		out = append(out, r)
	}
	return out
}

// Friends returns id's friend list, sorted.
func (m *Memory) Friends(_ context.Context, id string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.users[id]
	if u == nil {
		return nil, nil
	}
	out := make([]string, 0, len(u.friends))
	for f := range u.friends {
		out = append(out, f)
	}
	slices.Sort(out)
	return out, nil
}

func (m *Memory) checkFriend(from, to string) FriendResult {
	switch {
	case from == to:
		return FriendResult{To: to, Code: wire.CodeServerParams, Info: "cannot add yourself as a friend"}
	case m.users[from] == nil:
		return FriendResult{To: to, Code: wire.CodeAccountNotFound, Info: "From_Account does not exist"}
	case m.users[to] == nil:
		return FriendResult{To: to, Code: wire.CodeAccountNotFound, Info: "To_Account does not exist"}
	}
	return FriendResult{To: to}
}

func (m *Memory) link(a, b string) {
	u := m.users[a]
	if u.friends == nil {
		u.friends = make(map[string]struct{})
	}
	u.friends[b] = struct{}{}
	addTo(m.friendOf, b, a)
}

func (m *Memory) unlink(a, b string) {
	delete(m.users[a].friends, b)
	removeFrom(m.friendOf, b, a)
}

func addTo(idx map[string]map[string]struct{}, k, v string) {
	s := idx[k]
	if s == nil {
		s = make(map[string]struct{})
		idx[k] = s
	}
	s[v] = struct{}{}
}

func removeFrom(idx map[string]map[string]struct{}, k, v string) {
	if s := idx[k]; s != nil {
		delete(s, v)
		if len(s) == 0 {
			delete(idx, k)
		}
	}
}
