package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/wire"
)

// Store is a presence.Store in Redis. A user's status record and
// subscription list are keys of the user's slot. A change of the record
// applies the rules of package presence (the same functions as the memory
// store) to the record as last read, and writes the result with the next
// version in one script that checks the record is still the one read; a
// conflict with another node's write retries it. What spans
// users — a target's watchers, the app's away list, the nodes' leases and
// device index — is updated right after, by idempotent commands.
type Store struct {
	rdb    redis.UniversalClient
	prefix string // "PREFIX:APP:"
	app    string // "{PREFIX:APP}": the app-wide keys' tag
	// users serialises this node's transactions on one user (striped), so
	// they do not make one another retry; other nodes' writes still can.
	seed  maphash.Seed
	users [256]stripe
}

// stripe is a lock on some users' transactions and what it last read or
// wrote of their records: a change of a user known here is one script
// (whose compare catches a record another node changed since), not a
// read and then a script.
type stripe struct {
	sync.Mutex
	known map[string]string
}

// knownPerStripe bounds the records a stripe remembers (65,536 users in
// all, some 170 bytes each); a full stripe forgets one at random.
const knownPerStripe = 256

// lock holds this node's stripe of user's transactions.
func (s *Store) lock(user string) *stripe {
	m := &s.users[maphash.String(s.seed, user)%uint64(len(s.users))]
	m.Lock()
	return m
}

// remember notes user's record as last seen; the stripe is held.
func (m *stripe) remember(user, rec string) {
	if m.known == nil {
		m.known = make(map[string]string)
	}
	if _, ok := m.known[user]; !ok && len(m.known) >= knownPerStripe {
		for k := range m.known {
			delete(m.known, k)
			break
		}
	}
	m.known[user] = rec
}

// backoff waits a little before retrying a write another node's write to
// the same user made fail: a random time up to 100 µs, doubling after each
// failure (to 100 ms). The node that keeps winning does not wait, so the
// loser must step back further each time, or it may lose every round.
func backoff(ctx context.Context, attempt int) error {
	t := time.NewTimer(time.Duration(rand.N(int64(100)<<min(attempt, 10)+1)) * time.Microsecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var _ presence.Store = (*Store)(nil)

// NewStore returns app's presence store in rdb, its keys under prefix.
func NewStore(rdb redis.UniversalClient, prefix string, app uint64) *Store {
	a := prefix + ":" + strconv.FormatUint(app, 10)
	return &Store{rdb: rdb, prefix: a + ":", app: "{" + a + "}", seed: maphash.MakeSeed()}
}

func (s *Store) key(user, what string) string { return "{" + s.prefix + user + "}:" + what }

// record is a user's status as stored: device records, custom status,
// version.
type record struct {
	Recs    []rec  `json:"r,omitempty"`
	Custom  string `json:"c,omitempty"`
	Version uint64 `json:"v,omitempty"`
}

type rec struct {
	Slot     string          `json:"s"`
	Node     string          `json:"n,omitempty"`
	Conn     uint64          `json:"k,omitempty"`
	Platform string          `json:"p"`
	State    wire.StatusType `json:"t"`
}

func (r record) devices() []presence.DeviceRecord {
	out := make([]presence.DeviceRecord, len(r.Recs))
	for i, x := range r.Recs {
		out[i] = presence.DeviceRecord{Slot: x.Slot, Key: presence.DeviceKey{Node: x.Node, Conn: x.Conn}, Platform: x.Platform, State: x.State}
	}
	return out
}

func (r *record) setDevices(ds []presence.DeviceRecord) {
	r.Recs = r.Recs[:0]
	for _, d := range ds {
		r.Recs = append(r.Recs, rec{Slot: d.Slot, Node: d.Key.Node, Conn: d.Key.Conn, Platform: d.Platform, State: d.State})
	}
}

func (r record) status(id string) wire.Status {
	st := presence.Derive(id, r.devices(), r.Custom)
	st.Version = r.Version
	return st
}

// maxRetries bounds the retries of a transaction that lost to another
// writer of the same user.
const maxRetries = 32

// casScript writes a user's record (KEYS[1]) if it still holds what the
// caller read (ARGV[1]; "" for none), and then answers whether the user
// has a subscription list (KEYS[2]) and, when ARGV[3] is "1", who hears
// of the change: the user's watchers (KEYS[3]) and listening nodes
// (KEYS[4]), read in the same step. A record changed meanwhile is
// answered instead, for the caller to apply its rule to again.
//
// A record that holds what the caller writes (ARGV[2]) already is the
// caller's own write: go-redis sends a command again when its answer did
// not come (a read timed out: the node was stalled, or Redis slow), and
// Redis may have run the first. Answered as a conflict, the caller would
// apply its rule to its own write, find nothing left to change, and
// publish nothing: the change stored and never told (the hour soak of
// 2026-12-01, round 57). Another writer cannot write the same bytes: the
// version in them grows at every change.
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] and cur ~= ARGV[2] then return {0, cur} end
if cur ~= ARGV[2] then redis.call('SET', KEYS[1], ARGV[2]) end
local listed = redis.call('EXISTS', KEYS[2])
if ARGV[3] ~= '1' then return {1, listed} end
return {1, listed, redis.call('SMEMBERS', KEYS[3]), redis.call('SMEMBERS', KEYS[4])}`)

// update runs f on user's record and stores the result with the rules
// applied, in one script that checks the record is still the one f saw
// (else f runs again on the new one). f reports whether it changed
// anything to store; update returns the change, with its audience when it
// is one watchers see, and that report.
func (s *Store) update(ctx context.Context, user string, now time.Time, f func(devs []presence.DeviceRecord, custom *string) ([]presence.DeviceRecord, bool)) (presence.Change, bool, error) {
	m := s.lock(user)
	defer m.Unlock()
	return s.updateLocked(ctx, m, user, now, f)
}

// updateLocked is update with user's stripe m held.
func (s *Store) updateLocked(ctx context.Context, m *stripe, user string, now time.Time, f func(devs []presence.DeviceRecord, custom *string) ([]presence.DeviceRecord, bool)) (presence.Change, bool, error) {
	keys := []string{s.key(user, "p"), s.key(user, "s"), s.key(user, "w"), s.key(user, "at")}
	// get reads the record as stored ("" for none).
	get := func() (string, error) {
		cur, err := s.rdb.Get(ctx, keys[0]).Result()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		return cur, err
	}
	cur, cached := m.known[user]
	if !cached {
		var err error
		if cur, err = get(); err != nil {
			return presence.Change{}, false, err
		}
	}
	for attempt := range maxRetries {
		r, err := decodeRecord(cur, keys[0])
		if err != nil {
			return presence.Change{}, false, err
		}
		before := r.status(user)
		custom := r.Custom
		devs, changed := f(r.devices(), &custom)
		if !changed && cached {
			// What this node knew may be old: another node's write since
			// (a login on a node now dead, a custom status it stored) may
			// hold what f looks for, and the status returned must be the
			// stored one (a sweep sends it again). Ask f again of the
			// record as it is.
			cached = false
			if cur, err = get(); err != nil {
				delete(m.known, user)
				return presence.Change{}, false, err
			}
			m.remember(user, cur)
			continue
		}
		if !changed {
			return presence.Change{Before: before, After: before}, false, nil
		}
		ch, custom := presence.Settle(before, user, devs, custom, now)
		r.setDevices(devs)
		r.Custom, r.Version = custom, ch.After.Version
		b, err := json.Marshal(r)
		if err != nil {
			return presence.Change{}, false, err
		}
		audience := "0"
		if ch.Changed() {
			audience = "1"
		}
		res, err := casScript.Run(ctx, s.rdb, keys, cur, b, audience).Slice()
		if err != nil {
			// The write may have been taken: what this node knew is no
			// longer known.
			delete(m.known, user)
			return presence.Change{}, false, err
		}
		if n, _ := res[0].(int64); n == 0 {
			// Another node's write came between (or what this node knew
			// was old): apply f to the record as it is.
			cur, _ = res[1].(string)
			m.remember(user, cur)
			if cached {
				cached = false // the first miss of what was known is no conflict
				continue
			}
			if err := backoff(ctx, attempt); err != nil {
				return presence.Change{}, false, err
			}
			continue
		}
		m.remember(user, string(b))
		listed, _ := res[1].(int64)
		if len(res) == 4 {
			ch.Audience = &presence.Audience{Watchers: strs(res[2]), Listeners: strs(res[3])}
		}
		if err := s.away(ctx, user, ch, listed == 1, now); err != nil {
			return presence.Change{}, false, err
		}
		return ch, true, nil
	}
	return presence.Change{}, false, fmt.Errorf("redisstore: %s: too many conflicting writers", user)
}

// strs reads a script's answer that is an array of strings.
func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// readRecord reads the answer to a GET of a record; no record is an
// empty one.
func readRecord(get *redis.StringCmd, key string) (record, error) {
	b, err := get.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return record{}, err
	}
	return decodeRecord(b, key)
}

// decodeRecord reads a stored record; none ("") is an empty one.
func decodeRecord(b, key string) (record, error) {
	var r record
	if b == "" {
		return r, nil
	}
	if err := json.Unmarshal([]byte(b), &r); err != nil {
		return r, fmt.Errorf("redisstore: the record of %s is corrupt: %w", key, err)
	}
	return r, nil
}

// away keeps the app's list of owners gone away since when (for
// ClearAwaySubscriptions) in step with a change: a user who comes back
// leaves it; one who goes away with a list joins it. (Two nodes' updates
// of the list may land out of order; ClearAwaySubscriptions checks the
// owner is still away.)
func (s *Store) away(ctx context.Context, user string, ch presence.Change, listed bool, now time.Time) error {
	k := s.app + ":away"
	switch {
	case ch.After.Type == wire.StatusOnline && ch.Before.Type != wire.StatusOnline:
		return s.rdb.ZRem(ctx, k, user).Err()
	case ch.Before.Type == wire.StatusOnline && ch.After.Type != wire.StatusOnline && listed:
		return s.rdb.ZAdd(ctx, k, redis.Z{Score: float64(now.UnixMilli()), Member: user}).Err()
	}
	return nil
}

// Login implements presence.Store.
//
// A node's device index (PREFIX:APP:node:ID) lists the users with a live
// device on the node, for the sweep when it dies. Only the node's own
// logins add to it and its own departures take from it, each under the
// user's stripe: a departure that leaves the user no device on the node
// cannot take out the entry of a login of the node in flight. An entry left
// over (a removal that failed, a device kicked from another node) costs the
// sweep one read; a missing one would leave a dead node's device ONLINE.
func (s *Store) Login(ctx context.Context, user string, d presence.Device, p presence.Policy, now time.Time) (presence.Change, []presence.Device, error) {
	m := s.lock(user)
	defer m.Unlock()
	// The index first: a node that dies right after still has the device
	// found by the sweep.
	if err := s.rdb.SAdd(ctx, s.app+":node:"+d.Key.Node, user).Err(); err != nil {
		return presence.Change{}, nil, err
	}
	var kicked []presence.Device
	ch, _, err := s.updateLocked(ctx, m, user, now, func(devs []presence.DeviceRecord, _ *string) ([]presence.DeviceRecord, bool) {
		devs, kicked = presence.Login(devs, d, p)
		return devs, true
	})
	return ch, kicked, err
}

// Leave implements presence.Store. A departure that leaves the user no
// live device on its node takes the user out of the node's device index
// (see Login), or the index would grow with every user the node ever had.
func (s *Store) Leave(ctx context.Context, user string, key presence.DeviceKey, how presence.Leave, now time.Time) (presence.Change, bool, error) {
	m := s.lock(user)
	defer m.Unlock()
	var stays bool // a live device on key's node after the departure
	ch, found, err := s.updateLocked(ctx, m, user, now, func(devs []presence.DeviceRecord, _ *string) ([]presence.DeviceRecord, bool) {
		next, found := presence.Depart(devs, key, how)
		stays = slices.ContainsFunc(next, func(d presence.DeviceRecord) bool { return d.Live() && d.Key.Node == key.Node })
		return next, found
	})
	if err == nil && !stays {
		// Best effort: an entry left over costs a sweep one read.
		s.rdb.SRem(ctx, s.app+":node:"+key.Node, user)
	}
	return ch, found, err
}

// SetCustom implements presence.Store.
func (s *Store) SetCustom(ctx context.Context, user, custom string, now time.Time) (presence.Change, error) {
	ch, _, err := s.update(ctx, user, now, func(devs []presence.DeviceRecord, c *string) ([]presence.DeviceRecord, bool) {
		*c = custom
		return devs, true
	})
	return ch, err
}

// Statuses implements presence.Store.
func (s *Store) Statuses(ctx context.Context, ids ...string) ([]wire.Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			if validID(id) {
				cmds[i] = p.Get(ctx, s.key(id, "p"))
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]wire.Status, len(ids))
	for i, id := range ids {
		out[i] = wire.Status{UserID: id, Type: wire.StatusUnknown}
		if cmds[i] == nil || errors.Is(cmds[i].Err(), redis.Nil) {
			continue // nothing held: UNKNOWN
		}
		r, err := readRecord(cmds[i], s.key(id, "p"))
		if err != nil {
			return nil, err
		}
		out[i] = r.status(id)
	}
	return out, nil
}

// errOnline is editList's answer when onlyAway and the owner is ONLINE.
var errOnline = errors.New("redisstore: the owner is ONLINE")

// editList changes owner's subscription list in a transaction; f returns
// the new list. It returns the targets added and removed. With onlyAway
// the transaction watches the owner's status record too, and changes
// nothing (errOnline) when the owner is ONLINE: a login that lands
// meanwhile makes it look again, so a sweep never clears the list of an
// owner who came back just before it.
func (s *Store) editList(ctx context.Context, owner string, onlyAway bool, f func(list []string) (next, added, removed []string)) ([]string, []string, error) {
	sk, rk := s.key(owner, "s"), s.key(owner, "p") // one slot: the owner's tag
	watched := []string{sk}
	if onlyAway {
		watched = append(watched, rk)
	}
	defer s.lock(owner).Unlock()
	for attempt := range maxRetries {
		var added, removed []string
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			if onlyAway {
				r, err := readRecord(tx.Get(ctx, rk), rk)
				if err != nil {
					return err
				}
				if r.status(owner).Type == wire.StatusOnline {
					return errOnline
				}
			}
			list, err := decodeList(tx.Get(ctx, sk), owner)
			if err != nil {
				return err
			}
			var next []string
			next, added, removed = f(list)
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				if len(next) == 0 {
					p.Del(ctx, sk)
					return nil
				}
				nb, err := json.Marshal(next)
				if err != nil {
					return err
				}
				p.Set(ctx, sk, nb, 0)
				return nil
			})
			return err
		}, watched...)
		if errors.Is(err, redis.TxFailedErr) {
			if err := backoff(ctx, attempt); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, t := range added {
				p.SAdd(ctx, s.key(t, "w"), owner)
			}
			for _, t := range removed {
				p.SRem(ctx, s.key(t, "w"), owner)
			}
			return nil
		})
		return added, removed, err
	}
	return nil, nil, fmt.Errorf("redisstore: %s: too many conflicting writers", owner)
}

// Subscribe implements presence.Store.
func (s *Store) Subscribe(ctx context.Context, owner string, targets []string, max int) ([]string, error) {
	var evicted []string
	_, _, err := s.editList(ctx, owner, false, func(list []string) ([]string, []string, []string) {
		var sub presence.Subscriptions // not shared: edits of several owners run at once
		next, _, ev := sub.Add(list, targets, max)
		evicted = ev
		// Every target listed joins its watchers, not only the new ones:
		// the watcher sets are written after the list, in other slots, so
		// an edit cut short between the two (its node killed, Redis gone)
		// left the owner listed where no change reaches it; the client's
		// retry, or its restoring subscribe on its next link, puts that
		// right (SADD and SREM change nothing done already).
		listed := slices.DeleteFunc(slices.Clone(targets), func(t string) bool { return slices.Contains(ev, t) })
		return next, listed, ev
	})
	return evicted, err
}

// Unsubscribe implements presence.Store.
func (s *Store) Unsubscribe(ctx context.Context, owner string, targets []string) error {
	_, _, err := s.editList(ctx, owner, false, func(list []string) ([]string, []string, []string) {
		var sub presence.Subscriptions
		next, removed := sub.Remove(list, targets)
		if len(targets) > 0 {
			removed = targets // those an edit cut short left too (Subscribe)
		}
		return next, nil, removed
	})
	if err == nil && len(targets) == 0 {
		err = s.rdb.ZRem(ctx, s.app+":away", owner).Err()
	}
	return err
}

// Subscriptions implements presence.Store.
func (s *Store) Subscriptions(ctx context.Context, owner string) ([]string, error) {
	return decodeList(s.rdb.Get(ctx, s.key(owner, "s")), owner)
}

// decodeList reads the answer to a GET of owner's subscription list; no
// list is an empty one.
func decodeList(get *redis.StringCmd, owner string) ([]string, error) {
	b, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("redisstore: the list of %s is corrupt: %w", owner, err)
	}
	return list, nil
}

// AppendWatchers implements presence.Store.
func (s *Store) AppendWatchers(ctx context.Context, dst []string, user string) ([]string, error) {
	ws, err := s.rdb.SMembers(ctx, s.key(user, "w")).Result()
	if err != nil {
		return dst, err
	}
	return append(dst, ws...), nil
}

// ClearAwaySubscriptions implements presence.Store. Each step is safe to
// run twice (go-redis sends a command again when its answer is lost) and
// on two nodes at once: clearing a list is an edit that finds the owner
// away, and the owner leaves the away set only as long as it is away since
// the time read, not if it came back and went away again meanwhile.
func (s *Store) ClearAwaySubscriptions(ctx context.Context, now time.Time, delay time.Duration) ([]string, error) {
	k := s.app + ":away"
	owners, err := s.rdb.ZRangeByScoreWithScores(ctx, k, &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now.Add(-delay).UnixMilli(), 10)}).Result()
	if err != nil {
		return nil, err
	}
	var cleared []string
	for _, z := range owners {
		o, _ := z.Member.(string)
		_, removed, editErr := s.editList(ctx, o, true, func(list []string) ([]string, []string, []string) {
			return nil, nil, list
		})
		// An owner found ONLINE is back; its entry is one a logout's update
		// wrote after the login's (two nodes' updates landed out of order).
		if editErr != nil && !errors.Is(editErr, errOnline) {
			return cleared, editErr
		}
		if err := awayDoneScript.Run(ctx, s.rdb, []string{k}, o, int64(z.Score)).Err(); err != nil {
			return cleared, err
		}
		if editErr == nil && len(removed) > 0 {
			cleared = append(cleared, o) // empty: cleared already, by another node
		}
	}
	return cleared, nil
}

// awayDoneScript takes ARGV[1] out of the away set KEYS[1] if it is away
// since ARGV[2] (ms) still.
var awayDoneScript = redis.NewScript(`
local since = redis.call('ZSCORE', KEYS[1], ARGV[1])
if since and tonumber(since) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0`)

// LiveDevices implements presence.Store.
func (s *Store) LiveDevices(ctx context.Context, user string) ([]presence.DeviceRecord, error) {
	if !validID(user) {
		return nil, ctx.Err()
	}
	k := s.key(user, "p")
	get := s.rdb.Get(ctx, k)
	if errors.Is(get.Err(), redis.Nil) {
		return nil, nil
	}
	r, err := readRecord(get, k)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(r.devices(), func(d presence.DeviceRecord) bool { return !d.Live() }), nil
}

// PostNode implements presence.Store: one hash of the app holds every
// node's figures; Nodes forgets those past their Until.
func (s *Store) PostNode(ctx context.Context, f presence.NodeFigures) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return s.rdb.HSet(ctx, s.app+":nodes", f.Node, b).Err()
}

// Nodes implements presence.Store.
func (s *Store) Nodes(ctx context.Context, now time.Time) ([]presence.NodeFigures, error) {
	all, err := s.rdb.HGetAll(ctx, s.app+":nodes").Result()
	if err != nil {
		return nil, err
	}
	var out []presence.NodeFigures
	var gone []string
	for node, v := range all {
		var f presence.NodeFigures
		if json.Unmarshal([]byte(v), &f) != nil || now.After(f.Until) {
			gone = append(gone, node)
			continue
		}
		out = append(out, f)
	}
	if len(gone) > 0 {
		// Best effort: a node that stopped posting is skipped all the same.
		s.rdb.HDel(ctx, s.app+":nodes", gone...)
	}
	slices.SortFunc(out, func(a, b presence.NodeFigures) int { return strings.Compare(a.Node, b.Node) })
	return out, nil
}

// RenewLease implements presence.Store. A node found without a lease
// takes itself off the list of nodes being swept: it has its devices
// asserted again itself, and a sweep must not end those.
func (s *Store) RenewLease(ctx context.Context, node string, now time.Time, ttl time.Duration) (bool, error) {
	lost, err := renewScript.Run(ctx, s.rdb, []string{s.app + ":leases", s.app + ":sweeping", s.app + ":renewed"},
		node, now.Add(ttl).UnixMilli(), callToken()).Int()
	return lost == 1, err
}

// renewScript renews node's (ARGV[1]) lease in KEYS[1] until ARGV[2] (ms)
// and answers 1 when it found none, taking node off the nodes being swept
// (KEYS[2]). It notes in KEYS[3] the call (ARGV[3], a token) that found
// the lease lost, so that the same call run again (its first answer lost,
// go-redis sent it again) still answers 1: a ZADD alone would answer 0
// the second time, and the node would not assert its devices again.
var renewScript = redis.NewScript(`
local had = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if had then
  if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[3] then return 1 end
  redis.call('HDEL', KEYS[3], ARGV[1])
  return 0
end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1`)

// callToken names one call of a script for the script to know it again
// when go-redis sends it twice.
func callToken() string {
	return strconv.FormatUint(rand.Uint64(), 36)
}

// ExpireLeases implements presence.Store. A node whose lease ran out moves
// from the leases to the set of nodes being swept, and leaves it only once
// all its devices are ended: a sweep that fails half-way is finished by
// the next one, rather than leaving the rest of the dead node's users
// ONLINE for good.
func (s *Store) ExpireLeases(ctx context.Context, now time.Time) ([]presence.Expiry, error) {
	sweeping := s.app + ":sweeping"
	if err := expireScript.Run(ctx, s.rdb, []string{s.app + ":leases", sweeping, s.app + ":renewed"}, now.UnixMilli()).Err(); err != nil {
		return nil, err
	}
	nodes, err := s.rdb.SMembers(ctx, sweeping).Result()
	if err != nil {
		return nil, err
	}
	var out []presence.Expiry
	for _, node := range nodes {
		if out, err = s.sweepNode(ctx, node, now, out); err != nil {
			return out, err
		}
		if err := s.rdb.SRem(ctx, sweeping, node).Err(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// expireScript moves the nodes whose lease (in KEYS[1]) ran out before
// ARGV[1] (ms) to the set of nodes being swept (KEYS[2]), in one step: a
// node taken from the leases is never left out of the set, even when a
// first run's answer was lost and go-redis ran it again. It forgets the
// node's last renewal (KEYS[3], renewScript's).
var expireScript = redis.NewScript(`
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, n in ipairs(dead) do
  redis.call('ZREM', KEYS[1], n)
  redis.call('SADD', KEYS[2], n)
  redis.call('HDEL', KEYS[3], n)
end
return #dead`)

// sweepNode ends every live device of node, appending to out the changes
// and, for the node's other users, their status to send again.
func (s *Store) sweepNode(ctx context.Context, node string, now time.Time, out []presence.Expiry) ([]presence.Expiry, error) {
	idx := s.app + ":node:" + node
	users, err := s.rdb.SMembers(ctx, idx).Result()
	if err != nil {
		return out, err
	}
	for _, u := range users {
		var ended []presence.Device
		ch, changed, err := s.update(ctx, u, now, func(devs []presence.DeviceRecord, _ *string) ([]presence.DeviceRecord, bool) {
			ended = nil
			for _, d := range append([]presence.DeviceRecord(nil), devs...) {
				if d.Live() && d.Key.Node == node {
					devs, _ = presence.Depart(devs, d.Key, presence.Lost)
					ended = append(ended, presence.Device{Key: d.Key, Platform: d.Platform})
				}
			}
			return devs, len(ended) > 0
		})
		if err != nil {
			return out, err
		}
		switch {
		case changed:
			out = append(out, presence.Expiry{Change: ch, Devices: ended})
		case ch.After.Version != 0:
			out = append(out, presence.Expiry{Change: ch})
		}
	}
	return out, s.rdb.Del(ctx, idx).Err()
}

// leadScript takes or keeps a task's lead: refused while another node
// holds it until at least now. Times are the caller's clock, in ms.
var leadScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'node', 'until')
if cur[1] and cur[1] ~= ARGV[1] and tonumber(cur[2]) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'until', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`)

// Lead implements presence.Store.
func (s *Store) Lead(ctx context.Context, task, node string, now time.Time, ttl time.Duration) (bool, error) {
	n, err := leadScript.Run(ctx, s.rdb, []string{s.app + ":lead:" + task},
		node, now.UnixMilli(), now.Add(ttl).UnixMilli(), 2*ttl.Milliseconds()+1).Int()
	return n == 1, err
}

// allowScript counts a call in a fixed window that starts at the key's
// first call, on the caller's clock (ms). The last call counted (ARGV[4],
// a token) run again, its first answer lost and go-redis sending it
// again, is allowed and not counted twice.
var allowScript = redis.NewScript(`
local w = redis.call('HMGET', KEYS[1], 'start', 'count', 'last')
if w[3] == ARGV[4] then return 1 end
local now, win, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local count = tonumber(w[2]) or 0
if not w[1] or now - tonumber(w[1]) >= win then
  redis.call('HSET', KEYS[1], 'start', now, 'count', 0)
  count = 0
end
if count >= n then return 0 end
redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[4])
redis.call('PEXPIRE', KEYS[1], 2 * win + 1)
return 1`)

// Allow implements presence.Store.
func (s *Store) Allow(ctx context.Context, key string, n int, window time.Duration, now time.Time) (bool, error) {
	r, err := allowScript.Run(ctx, s.rdb, []string{"{" + s.prefix + key + "}:rate"},
		now.UnixMilli(), window.Milliseconds(), n, callToken()).Int()
	return r == 1, err
}
