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
	"hash/maphash"
	"slices"
	"strings"
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

// Store is a presence.Store in memory. It is split in shards by user id,
// each with its own lock, so calls about different users rarely wait for
// one another: one lock for all made a reconnect storm's thousands of
// requests queue on it, a handoff at a time.
type Store struct {
	seed    maphash.Seed
	users   [shards]userShard  // by user: records, custom, version, list
	watch   [shards]watchShard // by target: who lists it
	windows [shards]windowShard

	mu      sync.Mutex           // guards leases, leaders and nodes
	leases  map[string]time.Time // node → end of its lease
	leaders map[string]leader    // task → its holder
	nodes   map[string]presence.NodeFigures
}

const shards = 1024

// A userShard is locked before a watchShard, never after: Subscribe and
// Unsubscribe change an owner's list and its targets' watchers together.
type userShard struct {
	mu    sync.Mutex
	users map[string]*user
	away  map[string]time.Time   // owners with a list, since they went away
	subs  presence.Subscriptions // scratch space, under mu
}

type watchShard struct {
	mu sync.RWMutex
	m  map[string]map[string]struct{} // target → owners whose list holds it
}

type windowShard struct {
	mu     sync.Mutex
	m      map[string]*window // rate-limit key → its window
	pruned time.Time          // when spent windows were last forgotten
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
	m := &Store{seed: maphash.MakeSeed(), leases: make(map[string]time.Time), leaders: make(map[string]leader),
		nodes: make(map[string]presence.NodeFigures)}
	for i := range shards {
		m.users[i] = userShard{users: make(map[string]*user), away: make(map[string]time.Time)}
		m.watch[i].m = make(map[string]map[string]struct{})
		m.windows[i].m = make(map[string]*window)
	}
	return m
}

func (m *Store) shard(id string) int { return int(maphash.String(m.seed, id) % shards) }

func (m *Store) userShard(id string) *userShard { return &m.users[m.shard(id)] }

func (s *userShard) user(id string) *user {
	u := s.users[id]
	if u == nil {
		u = &user{}
		s.users[id] = u
	}
	return u
}

func (u *user) status(id string) wire.Status {
	st := presence.Derive(id, u.recs, u.custom)
	st.Version = u.version
	return st
}

// settle applies the rules after an operation on u and keeps the result.
// s.mu is held.
func (s *userShard) settle(id string, u *user, before wire.Status, now time.Time) presence.Change {
	c, custom := presence.Settle(before, id, u.recs, u.custom, now)
	u.custom, u.version = custom, c.After.Version
	if c.After.Type != wire.StatusOnline {
		if before.Type == wire.StatusOnline && len(u.subs) > 0 {
			s.away[id] = now
		}
	} else {
		delete(s.away, id)
	}
	return c
}

// Login implements presence.Store.
func (m *Store) Login(ctx context.Context, id string, d presence.Device, p presence.Policy, now time.Time) (presence.Change, []presence.Device, error) {
	if err := ctx.Err(); err != nil {
		return presence.Change{}, nil, err
	}
	s := m.userShard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(id)
	before := u.status(id)
	var kicked []presence.Device
	u.recs, kicked = presence.Login(u.recs, d, p)
	return s.settle(id, u, before, now), kicked, nil
}

// Leave implements presence.Store.
func (m *Store) Leave(ctx context.Context, id string, key presence.DeviceKey, how presence.Leave, now time.Time) (presence.Change, bool, error) {
	if err := ctx.Err(); err != nil {
		return presence.Change{}, false, err
	}
	s := m.userShard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return presence.Change{}, false, nil
	}
	before := u.status(id)
	var found bool
	if u.recs, found = presence.Depart(u.recs, key, how); !found {
		return presence.Change{Before: before, After: before}, false, nil
	}
	return s.settle(id, u, before, now), true, nil
}

// SetCustom implements presence.Store.
func (m *Store) SetCustom(ctx context.Context, id, custom string, now time.Time) (presence.Change, error) {
	if err := ctx.Err(); err != nil {
		return presence.Change{}, err
	}
	s := m.userShard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(id)
	before := u.status(id)
	u.custom = custom
	return s.settle(id, u, before, now), nil
}

// Statuses implements presence.Store.
func (m *Store) Statuses(ctx context.Context, ids ...string) ([]wire.Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]wire.Status, len(ids))
	for i, id := range ids {
		s := m.userShard(id)
		s.mu.Lock()
		if u := s.users[id]; u != nil {
			out[i] = u.status(id)
		} else {
			out[i] = wire.Status{UserID: id, Type: wire.StatusUnknown}
		}
		s.mu.Unlock()
	}
	return out, nil
}

// LiveDevices implements presence.Store.
func (m *Store) LiveDevices(ctx context.Context, user string) ([]presence.DeviceRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.userShard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []presence.DeviceRecord
	if u := s.users[user]; u != nil {
		for _, r := range u.recs {
			if r.Live() {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// PostNode implements presence.Store.
func (m *Store) PostNode(ctx context.Context, f presence.NodeFigures) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	m.nodes[f.Node] = f
	m.mu.Unlock()
	return nil
}

// Nodes implements presence.Store.
func (m *Store) Nodes(ctx context.Context, now time.Time) ([]presence.NodeFigures, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []presence.NodeFigures
	for node, f := range m.nodes {
		if now.After(f.Until) {
			delete(m.nodes, node)
			continue
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b presence.NodeFigures) int { return strings.Compare(a.Node, b.Node) })
	return out, nil
}

// Subscribe implements presence.Store.
func (m *Store) Subscribe(ctx context.Context, owner string, targets []string, max int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.userShard(owner)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(owner)
	var added, evicted []string
	u.subs, added, evicted = s.subs.Add(u.subs, targets, max)
	for _, t := range added {
		m.watchers(t, owner, true)
	}
	for _, t := range evicted {
		m.watchers(t, owner, false)
	}
	return evicted, nil
}

// watchers adds owner to target's watchers, or removes it.
func (m *Store) watchers(target, owner string, add bool) {
	w := &m.watch[m.shard(target)]
	w.mu.Lock()
	if add {
		addTo(w.m, target, owner)
	} else {
		removeFrom(w.m, target, owner)
	}
	w.mu.Unlock()
}

// Unsubscribe implements presence.Store.
func (m *Store) Unsubscribe(ctx context.Context, owner string, targets []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := m.userShard(owner)
	s.mu.Lock()
	defer s.mu.Unlock()
	m.unsubscribe(s, owner, targets)
	return nil
}

// unsubscribe removes targets from owner's list (all if none); s, owner's
// shard, is locked.
func (m *Store) unsubscribe(s *userShard, owner string, targets []string) {
	u := s.users[owner]
	if u == nil {
		return
	}
	var removed []string
	u.subs, removed = s.subs.Remove(u.subs, targets)
	for _, t := range removed {
		m.watchers(t, owner, false)
	}
	if len(u.subs) == 0 {
		delete(s.away, owner)
	}
}

// Subscriptions implements presence.Store.
func (m *Store) Subscriptions(ctx context.Context, owner string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.userShard(owner)
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[owner]; u != nil {
		return slices.Clone(u.subs), nil
	}
	return nil, nil
}

// AppendWatchers implements presence.Store.
func (m *Store) AppendWatchers(ctx context.Context, dst []string, id string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	w := &m.watch[m.shard(id)]
	w.mu.RLock()
	defer w.mu.RUnlock()
	for o := range w.m[id] {
		dst = append(dst, o)
	}
	return dst, nil
}

// ClearAwaySubscriptions implements presence.Store.
func (m *Store) ClearAwaySubscriptions(ctx context.Context, now time.Time, delay time.Duration) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var cleared []string
	for i := range m.users {
		s := &m.users[i]
		s.mu.Lock()
		for owner, since := range s.away {
			if now.Sub(since) >= delay {
				m.unsubscribe(s, owner, nil)
				delete(s.away, owner)
				cleared = append(cleared, owner)
			}
		}
		s.mu.Unlock()
	}
	return cleared, nil
}

// RenewLease implements presence.Store.
func (m *Store) RenewLease(ctx context.Context, node string, now time.Time, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, held := m.leases[node]
	m.leases[node] = now.Add(ttl)
	return !held, nil
}

// ExpireLeases implements presence.Store. It walks every user: a node's
// lease ends rarely, and the walk keeps logins free of a per-node index.
func (m *Store) ExpireLeases(ctx context.Context, now time.Time) ([]presence.Expiry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dead := make(map[string]bool)
	m.mu.Lock()
	for node, until := range m.leases {
		if now.After(until) {
			dead[node] = true
			delete(m.leases, node)
		}
	}
	m.mu.Unlock()
	if len(dead) == 0 {
		return nil, nil
	}
	var out []presence.Expiry
	for i := range m.users {
		s := &m.users[i]
		s.mu.Lock()
		for id, u := range s.users {
			before := u.status(id)
			var ended []presence.Device
			for _, r := range slices.Clone(u.recs) {
				if r.Live() && dead[r.Key.Node] {
					u.recs, _ = presence.Depart(u.recs, r.Key, presence.Lost)
					ended = append(ended, presence.Device{Key: r.Key, Platform: r.Platform})
				}
			}
			if len(ended) > 0 {
				out = append(out, presence.Expiry{Change: s.settle(id, u, before, now), Devices: ended})
			}
		}
		s.mu.Unlock()
	}
	return out, nil
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
	s := &m.windows[m.shard(key)]
	s.mu.Lock()
	defer s.mu.Unlock()
	// Once a window's length, forget the spent windows, so the map holds
	// only active callers.
	if now.Sub(s.pruned) >= win {
		s.pruned = now
		for k, o := range s.m {
			if now.Sub(o.start) >= win {
				delete(s.m, k)
			}
		}
	}
	w := s.m[key]
	if w == nil || now.Sub(w.start) >= win {
		w = &window{start: now}
		s.m[key] = w
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
	mu       sync.RWMutex                   // read-locked by the lookups of every login and change
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
	d.mu.RLock()
	defer d.mu.RUnlock()
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
	d.mu.RLock()
	defer d.mu.RUnlock()
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
	d.mu.RLock()
	defer d.mu.RUnlock()
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
