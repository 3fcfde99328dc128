// Package memstore holds the presence engine's state in the memory of one
// process: a presence.Store, a presence.Directory and a presence.Broker.
// It is the single-node engine, and the reference the conformance suite
// (storetest) checks the networked implementations against.
//
// Nothing here does I/O: the methods never block on anything but a mutex
// held for a few microseconds, and fail only when ctx is done already.
package memstore

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/wire"
)

// NewBackend returns an app's three contracts, all in memory.
func NewBackend() presence.Backend {
	return presence.Backend{Directory: NewDirectory(), Store: NewStore(), Broker: NewBroker()}
}

// Store is a presence.Store in memory.
type Store struct {
	mu       sync.Mutex
	users    map[string]*user
	watchers map[string]map[string]struct{} // target → owners whose list holds it
	away     map[string]time.Time           // owners with a list, since they went away
	leases   map[string]time.Time           // node → end of its lease
	leaders  map[string]leader              // task → its holder
	windows  map[string]*window             // rate-limit key → its window
	pruned   time.Time                      // when spent windows were last forgotten
	subs     presence.Subscriptions         // scratch space, under mu
}

type user struct {
	recs    []presence.DeviceRecord
	custom  string
	version uint64
	subs    []string // oldest first
}

type leader struct {
	node  string
	until time.Time
}

type window struct {
	start time.Time
	count int
}

var _ presence.Store = (*Store)(nil)

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		users:    make(map[string]*user),
		watchers: make(map[string]map[string]struct{}),
		away:     make(map[string]time.Time),
		leases:   make(map[string]time.Time),
		leaders:  make(map[string]leader),
		windows:  make(map[string]*window),
	}
}

func (m *Store) user(id string) *user {
	u := m.users[id]
	if u == nil {
		u = &user{}
		m.users[id] = u
	}
	return u
}

func (u *user) status(id string) wire.Status {
	s := presence.Derive(id, u.recs, u.custom)
	s.Version = u.version
	return s
}

// settle applies the rules after an operation on u and keeps the result.
func (m *Store) settle(id string, u *user, before wire.Status, now time.Time) presence.Change {
	c, custom := presence.Settle(before, id, u.recs, u.custom, now)
	u.custom, u.version = custom, c.After.Version
	if c.After.Type != wire.StatusOnline {
		if before.Type == wire.StatusOnline && len(u.subs) > 0 {
			m.away[id] = now
		}
	} else {
		delete(m.away, id)
	}
	return c
}

// Login implements presence.Store.
func (m *Store) Login(ctx context.Context, id string, d presence.Device, p presence.Policy, now time.Time) (presence.Change, []presence.Device, error) {
	if err := ctx.Err(); err != nil {
		return presence.Change{}, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.user(id)
	before := u.status(id)
	var kicked []presence.Device
	u.recs, kicked = presence.Login(u.recs, d, p)
	return m.settle(id, u, before, now), kicked, nil
}

// Leave implements presence.Store.
func (m *Store) Leave(ctx context.Context, id string, key presence.DeviceKey, how presence.Leave, now time.Time) (presence.Change, bool, error) {
	if err := ctx.Err(); err != nil {
		return presence.Change{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.users[id]
	if u == nil {
		return presence.Change{}, false, nil
	}
	before := u.status(id)
	var found bool
	if u.recs, found = presence.Depart(u.recs, key, how); !found {
		return presence.Change{Before: before, After: before}, false, nil
	}
	return m.settle(id, u, before, now), true, nil
}

// SetCustom implements presence.Store.
func (m *Store) SetCustom(ctx context.Context, id, custom string, now time.Time) (presence.Change, error) {
	if err := ctx.Err(); err != nil {
		return presence.Change{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.user(id)
	before := u.status(id)
	u.custom = custom
	return m.settle(id, u, before, now), nil
}

// Statuses implements presence.Store.
func (m *Store) Statuses(ctx context.Context, ids ...string) ([]wire.Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
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

// Subscribe implements presence.Store.
func (m *Store) Subscribe(ctx context.Context, owner string, targets []string, max int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.user(owner)
	var added, evicted []string
	u.subs, added, evicted = m.subs.Add(u.subs, targets, max)
	for _, t := range added {
		addTo(m.watchers, t, owner)
	}
	for _, t := range evicted {
		removeFrom(m.watchers, t, owner)
	}
	return evicted, nil
}

// Unsubscribe implements presence.Store.
func (m *Store) Unsubscribe(ctx context.Context, owner string, targets []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unsubscribe(owner, targets)
	return nil
}

func (m *Store) unsubscribe(owner string, targets []string) {
	u := m.users[owner]
	if u == nil {
		return
	}
	var removed []string
	u.subs, removed = m.subs.Remove(u.subs, targets)
	for _, t := range removed {
		removeFrom(m.watchers, t, owner)
	}
	if len(u.subs) == 0 {
		delete(m.away, owner)
	}
}

// Subscriptions implements presence.Store.
func (m *Store) Subscriptions(ctx context.Context, owner string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if u := m.users[owner]; u != nil {
		return slices.Clone(u.subs), nil
	}
	return nil, nil
}

// AppendWatchers implements presence.Store.
func (m *Store) AppendWatchers(ctx context.Context, dst []string, id string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for w := range m.watchers[id] {
		dst = append(dst, w)
	}
	return dst, nil
}

// ClearAwaySubscriptions implements presence.Store.
func (m *Store) ClearAwaySubscriptions(ctx context.Context, now time.Time, delay time.Duration) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
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

// RenewLease implements presence.Store.
func (m *Store) RenewLease(ctx context.Context, node string, now time.Time, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leases[node] = now.Add(ttl)
	return nil
}

// ExpireLeases implements presence.Store. It walks every user: a node's
// lease ends rarely, and the walk keeps logins free of a per-node index.
func (m *Store) ExpireLeases(ctx context.Context, now time.Time) ([]presence.Change, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	dead := make(map[string]bool)
	for node, until := range m.leases {
		if now.After(until) {
			dead[node] = true
			delete(m.leases, node)
		}
	}
	if len(dead) == 0 {
		return nil, nil
	}
	var changes []presence.Change
	for id, u := range m.users {
		before := u.status(id)
		gone := false
		for _, r := range slices.Clone(u.recs) {
			if r.Live() && dead[r.Key.Node] {
				u.recs, _ = presence.Depart(u.recs, r.Key, presence.Lost)
				gone = true
			}
		}
		if gone {
			if c := m.settle(id, u, before, now); c.Changed() {
				changes = append(changes, c)
			}
		}
	}
	return changes, nil
}

// Lead implements presence.Store.
func (m *Store) Lead(ctx context.Context, task, node string, now time.Time, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.leaders[task]
	if l.node != node && l.node != "" && !now.After(l.until) {
		return false, nil
	}
	m.leaders[task] = leader{node: node, until: now.Add(ttl)}
	return true, nil
}

// Allow implements presence.Store.
func (m *Store) Allow(ctx context.Context, key string, n int, win time.Duration, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Once a window's length, forget the spent windows, so the map holds
	// only active callers.
	if now.Sub(m.pruned) >= win {
		m.pruned = now
		for k, o := range m.windows {
			if now.Sub(o.start) >= win {
				delete(m.windows, k)
			}
		}
	}
	w := m.windows[key]
	if w == nil || now.Sub(w.start) >= win {
		w = &window{start: now}
		m.windows[key] = w
	}
	if w.count >= n {
		return false, nil
	}
	w.count++
	return true, nil
}

// Directory is a presence.Directory in memory: it forgets everything when
// the process ends (see package boltdir for one that does not).
type Directory struct {
	mu       sync.Mutex
	accounts map[string]map[string]struct{} // id → its friends
	friendOf map[string]map[string]struct{} // id → users whose friend list holds id
}

var _ presence.Directory = (*Directory)(nil)

// NewDirectory returns an empty directory.
func NewDirectory() *Directory {
	return &Directory{accounts: make(map[string]map[string]struct{}), friendOf: make(map[string]map[string]struct{})}
}

// ImportAccounts implements presence.Directory.
func (d *Directory) ImportAccounts(ctx context.Context, ids ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if _, ok := d.accounts[id]; !ok {
			d.accounts[id] = nil
		}
	}
	return nil
}

// Exists implements presence.Directory.
func (d *Directory) Exists(ctx context.Context, ids ...string) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]bool, len(ids))
	for i, id := range ids {
		_, out[i] = d.accounts[id]
	}
	return out, nil
}

// AddFriends implements presence.Directory.
func (d *Directory) AddFriends(ctx context.Context, from string, to []string, both bool) ([]presence.FriendResult, error) {
	return d.friendOp(ctx, from, to, both, d.link)
}

// DeleteFriends implements presence.Directory.
func (d *Directory) DeleteFriends(ctx context.Context, from string, to []string, both bool) ([]presence.FriendResult, error) {
	return d.friendOp(ctx, from, to, both, d.unlink)
}

func (d *Directory) friendOp(ctx context.Context, from string, to []string, both bool, op func(a, b string)) ([]presence.FriendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]presence.FriendResult, 0, len(to))
	_, fromOK := d.accounts[from]
	for _, t := range to {
		_, toOK := d.accounts[t]
		r := presence.CheckFriend(from, t, fromOK, toOK)
		if r.Code == 0 {
			op(from, t)
			if both {
				op(t, from)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func (d *Directory) link(a, b string) {
	fs := d.accounts[a]
	if fs == nil {
		fs = make(map[string]struct{})
		d.accounts[a] = fs
	}
	fs[b] = struct{}{}
	addTo(d.friendOf, b, a)
}

func (d *Directory) unlink(a, b string) {
	delete(d.accounts[a], b)
	removeFrom(d.friendOf, b, a)
}

// Friends implements presence.Directory.
func (d *Directory) Friends(ctx context.Context, id string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.accounts[id]))
	for f := range d.accounts[id] {
		out = append(out, f)
	}
	slices.Sort(out)
	return out, nil
}

// AppendFriendOf implements presence.Directory.
func (d *Directory) AppendFriendOf(ctx context.Context, dst []string, id string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for f := range d.friendOf[id] {
		dst = append(dst, f)
	}
	return dst, nil
}

// Broker is a presence.Broker within one process: Publish calls each
// registered node's Deliver before it returns. Several servers of one
// process sharing a Backend behave as the nodes of a cluster.
type Broker struct {
	mu    sync.Mutex // serialises registrations
	nodes atomic.Pointer[[]registered]
}

type registered struct {
	id string
	n  presence.Node
}

var _ presence.Broker = (*Broker)(nil)

// NewBroker returns a broker with no nodes.
func NewBroker() *Broker {
	b := &Broker{}
	b.nodes.Store(new([]registered))
	return b
}

// Register implements presence.Broker. The node list is copied on write,
// so publishing reads it without a lock and calls no node under one (a
// node's Kick publishes the changes it makes).
func (b *Broker) Register(_ context.Context, id string, n presence.Node) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next := slices.DeleteFunc(slices.Clone(*b.nodes.Load()), func(r registered) bool { return r.id == id })
	next = append(next, registered{id, n})
	b.nodes.Store(&next)
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		next := slices.DeleteFunc(slices.Clone(*b.nodes.Load()), func(r registered) bool { return r.id == id && r.n == n })
		b.nodes.Store(&next)
	}, nil
}

// Publish implements presence.Broker.
func (b *Broker) Publish(ctx context.Context, d presence.Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range *b.nodes.Load() {
		r.n.Deliver(d)
	}
	return nil
}

// PublishKick implements presence.Broker.
func (b *Broker) PublishKick(ctx context.Context, id string, k presence.Kick) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range *b.nodes.Load() {
		if k.Key.IsZero() || r.id == id {
			r.n.Kick(k)
		}
	}
	return nil
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
