package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/wire"
)

// Broker is a presence.Router over Redis sharded pub/sub (SPUBLISH,
// SSUBSCRIBE; Redis 7). Each node has a channel of its own, hash-tagged
// apart from the others' so the nodes' traffic spreads over the shards of
// a cluster. The nodes that listen to a user are a set in the user's slot,
// {PREFIX:APP:USER}:at, beside the user's status: a change is published to
// the channels of those nodes only. A node that died stays in such sets
// until a publish finds nobody on its channel and no lease of it, and
// takes it out.
type Broker struct {
	rdb    redis.UniversalClient
	prefix string // "PREFIX:APP:"
	app    string // "{PREFIX:APP}"
	log    *slog.Logger
}

var _ presence.Router = (*Broker)(nil)

// NewBroker returns app's broker over rdb, its channels under prefix.
func NewBroker(rdb redis.UniversalClient, prefix string, app uint64, log *slog.Logger) *Broker {
	if log == nil {
		log = slog.Default()
	}
	a := prefix + ":" + strconv.FormatUint(app, 10)
	return &Broker{rdb: rdb, prefix: a + ":", app: "{" + a + "}", log: log}
}

// nodeChannel is node id's channel: {PREFIX:APP:node:ID}:in. A user id
// holds no colon, so no user's keys share its tag.
func (b *Broker) nodeChannel(id string) string { return "{" + b.prefix + "node:" + id + "}:in" }

// listeners is the key of the set of nodes that listen to user.
func (b *Broker) listeners(user string) string { return "{" + b.prefix + user + "}:at" }

// message is what travels on a channel: a delivery or a kick.
type message struct {
	Kind     string          `json:"t"` // "d" or "k"
	Status   json.RawMessage `json:"s,omitempty"`
	Watchers []string        `json:"w,omitempty"`
	User     string          `json:"u,omitempty"`
	Node     string          `json:"n,omitempty"`
	Conn     uint64          `json:"c,omitempty"`
	Platform string          `json:"p,omitempty"`
	ByAdmin  bool            `json:"a,omitempty"`
}

// Register implements presence.Broker: it returns once Redis has confirmed
// the subscription, so a message published after it reaches n. When the
// link to Redis breaks, go-redis subscribes again; messages published in
// between are lost, so once the subscription is confirmed again n is told
// to Resync. When a resharding moves the channel's slot to another shard,
// Redis ends the subscription itself; the broker then subscribes afresh
// where the channel now lives, and n resyncs too.
func (b *Broker) Register(ctx context.Context, id string, n presence.Node) (func(), error) {
	ch := b.nodeChannel(id)
	sub := b.rdb.SSubscribe(ctx, ch)
	if _, err := sub.Receive(ctx); err != nil {
		sub.Close()
		return nil, fmt.Errorf("redisstore: subscribing: %w", err)
	}
	s := newSubscription(sub)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.receive(s, ch, n)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.close()
			<-done
		})
	}, nil
}

// subscription is a node's subscription to its channel, which the broker
// replaces when Redis ends it. The receive loop reads it at every message,
// so without a lock; replace and close, which are rare, hold mu.
type subscription struct {
	sub    atomic.Pointer[redis.PubSub]
	closed atomic.Bool
	mu     sync.Mutex
}

func newSubscription(p *redis.PubSub) *subscription {
	s := &subscription{}
	s.sub.Store(p)
	return s
}

func (s *subscription) current() (*redis.PubSub, bool) { return s.sub.Load(), s.closed.Load() }

// replace puts p in the place of the current subscription, unless the
// broker is closing (then p is closed).
func (s *subscription) replace(p *redis.PubSub) bool {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		p.Close()
		return false
	}
	old := s.sub.Swap(p)
	s.mu.Unlock()
	old.Close()
	return true
}

func (s *subscription) close() {
	s.mu.Lock()
	s.closed.Store(true)
	p := s.sub.Load()
	s.mu.Unlock()
	p.Close()
}

// receive hands the subscription's messages to n until it is closed. A
// read that times out sends a PING, so a link that died without a word is
// found; after a failed read it waits (up to a second) before the next,
// which reconnects.
func (b *Broker) receive(s *subscription, ch string, n presence.Node) {
	ctx := context.Background()
	gap, wait := false, 50*time.Millisecond
	for {
		sub, closed := s.current()
		if closed {
			return
		}
		msg, err := sub.ReceiveTimeout(ctx, receiveTimeout)
		if err != nil {
			if errors.Is(err, redis.ErrClosed) {
				continue // closing, or replaced
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if sub.Ping(ctx) == nil {
					continue // the PONG is the next message
				}
			}
			if !gap {
				// Once per break: deliveries may be lost until it heals.
				b.log.Warn("broker: the subscription broke; resyncing once it is back", "channel", ch, "err", err)
			}
			gap = true
			time.Sleep(wait)
			wait = min(2*wait, time.Second)
			continue
		}
		wait = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Message:
			b.handle(n, m.Payload)
		case *redis.Subscription:
			switch {
			case gap && m.Kind == "ssubscribe":
				gap = false
				n.Resync()
			case m.Kind == "sunsubscribe" && m.Channel == ch:
				// Not asked for: the channel's slot moved.
				if !b.resubscribe(s, ch) {
					return
				}
				n.Resync()
			}
		}
	}
}

// resubscribe subscribes to ch afresh, on the shard that serves it now,
// until it is confirmed or s is closed; it reports whether it was.
func (b *Broker) resubscribe(s *subscription, ch string) bool {
	b.log.Warn("broker: Redis ended the subscription (its slot moved?); subscribing again", "channel", ch)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		if _, closed := s.current(); closed {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		p := b.rdb.SSubscribe(ctx, ch)
		_, err := p.Receive(ctx)
		cancel()
		if err == nil {
			return s.replace(p)
		}
		p.Close()
		// A MOVED answer: the client's map of the slots is older than the
		// move.
		if cc, ok := b.rdb.(*redis.ClusterClient); ok {
			cc.ReloadState(context.Background())
		}
		time.Sleep(wait)
	}
}

// Protocol is the RESP version to speak to Redis with: 2. Over RESP3,
// go-redis (v9.17) peeks, before each pub/sub read, at the next reply for
// a push notification's name; when only the start of "smessage" is
// buffered it takes the message for an unknown notification and drops it.
// A node that fell behind its channel (stalled, or sent a burst) lost a
// delivery now and then that way: the soak's one-node lost views
// (go-redis issue 3839; fixed upstream in v9.21, whose fix then hung on
// short frames, issue 3935). RESP2 has no push notifications; its pub/sub
// messages are plain replies, read without that peek.
const Protocol = 2

// receiveTimeout is how long the subscription may be silent before a PING
// checks it.
const receiveTimeout = 15 * time.Second

func (b *Broker) handle(n presence.Node, payload string) {
	var m message
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		b.log.Error("broker: unreadable message", "err", err)
		return
	}
	switch m.Kind {
	case "d":
		st, err := wire.ParseStatus(gjson.ParseBytes(m.Status))
		if err != nil {
			b.log.Error("broker: unreadable status", "err", err)
			return
		}
		n.Deliver(presence.Delivery{Status: st, Watchers: m.Watchers})
	case "k":
		n.Kick(presence.Kick{User: m.User, Key: presence.DeviceKey{Node: m.Node, Conn: m.Conn}, Platform: m.Platform, ByAdmin: m.ByAdmin})
	}
}

// Publish implements presence.Broker: d goes to the nodes that listen to
// its user.
func (b *Broker) Publish(ctx context.Context, d presence.Delivery) error {
	p, err := json.Marshal(message{Kind: "d", Status: wire.AppendStatus(nil, d.Status), Watchers: d.Watchers})
	if err != nil {
		return err
	}
	return b.toListeners(ctx, d.Status.UserID, d.Listeners, p)
}

// PublishKick implements presence.Broker.
func (b *Broker) PublishKick(ctx context.Context, id string, k presence.Kick) error {
	p, err := json.Marshal(message{Kind: "k", User: k.User, Node: k.Key.Node, Conn: k.Key.Conn, Platform: k.Platform, ByAdmin: k.ByAdmin})
	if err != nil {
		return err
	}
	if k.Key.IsZero() {
		return b.toListeners(ctx, k.User, nil, p)
	}
	return b.rdb.SPublish(ctx, b.nodeChannel(id), p).Err()
}

// toListeners publishes p on the channel of each node that listens to
// user (nodes, when the store read them with the change), and forgets the
// nodes found gone.
func (b *Broker) toListeners(ctx context.Context, user string, nodes []string, p []byte) error {
	if nodes == nil {
		var err error
		if nodes, err = b.rdb.SMembers(ctx, b.listeners(user)).Result(); err != nil {
			return err
		}
	}
	if len(nodes) == 0 {
		return nil
	}
	heard := make([]*redis.IntCmd, len(nodes))
	if _, err := b.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i, n := range nodes {
			heard[i] = pl.SPublish(ctx, b.nodeChannel(n), p)
		}
		return nil
	}); err != nil {
		return err
	}
	for i, n := range nodes {
		if heard[i].Val() == 0 {
			b.forgetIfGone(ctx, user, n)
		}
	}
	return nil
}

// forgetIfGone takes node out of user's listeners when it holds no lease:
// it is dead, or it was swept and will listen afresh when its clients log
// in again. A live node whose link is down for a moment still has its
// lease, and stays. A failure is left for the next publish to retry.
func (b *Broker) forgetIfGone(ctx context.Context, user, node string) {
	err := b.rdb.ZScore(ctx, b.app+":leases", node).Err()
	if errors.Is(err, redis.Nil) {
		err = b.rdb.SRem(ctx, b.listeners(user), node).Err()
	}
	if err != nil {
		b.log.Warn("broker: forgetting a gone node", "node", node, "err", err)
	}
}

// Listen implements presence.Router.
func (b *Broker) Listen(ctx context.Context, node string, users ...string) error {
	_, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, u := range users {
			if validID(u) {
				p.SAdd(ctx, b.listeners(u), node)
			}
		}
		return nil
	})
	return err
}

// ListenFor implements presence.Router: the nodes are read from watcher's
// status record, which the store keeps in the same slot.
func (b *Broker) ListenFor(ctx context.Context, watcher string, users ...string) error {
	if !validID(watcher) || len(users) == 0 {
		return nil
	}
	k := "{" + b.prefix + watcher + "}:p"
	r, err := readRecord(b.rdb.Get(ctx, k), k)
	if err != nil {
		return err
	}
	var nodes []string
	for _, x := range r.Recs {
		if n := presence.NodeOf(x.Node); n != "" && !slices.Contains(nodes, n) {
			nodes = append(nodes, n)
		}
	}
	_, err = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, u := range users {
			if validID(u) && len(nodes) > 0 {
				p.SAdd(ctx, b.listeners(u), nodes)
			}
		}
		return nil
	})
	return err
}

// Unlisten implements presence.Router.
func (b *Broker) Unlisten(ctx context.Context, node, user string) error {
	if !validID(user) {
		return nil
	}
	return b.rdb.SRem(ctx, b.listeners(user), node).Err()
}

// Listeners returns the nodes that listen to user (the console shows
// them).
func (b *Broker) Listeners(ctx context.Context, user string) ([]string, error) {
	if !validID(user) {
		return nil, nil
	}
	return b.rdb.SMembers(ctx, b.listeners(user)).Result()
}

// NewBackend returns app's three contracts in rdb, under prefix.
func NewBackend(rdb redis.UniversalClient, prefix string, app uint64, log *slog.Logger) presence.Backend {
	return presence.Backend{
		Directory: NewDirectory(rdb, prefix, app),
		Store:     NewStore(rdb, prefix, app),
		Broker:    NewBroker(rdb, prefix, app, log),
	}
}
