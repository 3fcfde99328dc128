package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/wire"
)

// Broker is a presence.Broker over Redis sharded pub/sub (SPUBLISH,
// SSUBSCRIBE; Redis 7): one channel an app for its deliveries and admin
// kicks, one a node for the kicks addressed to it, all with the app's hash
// tag so one subscription covers them. Every node hears every delivery of
// the app: routing to the nodes that hold a watcher is yet to come.
type Broker struct {
	rdb redis.UniversalClient
	app string // "{PREFIX:APP}"
	log *slog.Logger
}

var _ presence.Broker = (*Broker)(nil)

// NewBroker returns app's broker over rdb, its channels under prefix.
func NewBroker(rdb redis.UniversalClient, prefix string, app uint64, log *slog.Logger) *Broker {
	if log == nil {
		log = slog.Default()
	}
	return &Broker{rdb: rdb, app: "{" + prefix + ":" + strconv.FormatUint(app, 10) + "}", log: log}
}

func (b *Broker) appChannel() string           { return b.app + ":deliveries" }
func (b *Broker) nodeChannel(id string) string { return b.app + ":node:" + id }

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
// to Resync.
func (b *Broker) Register(ctx context.Context, id string, n presence.Node) (func(), error) {
	sub := b.rdb.SSubscribe(ctx, b.appChannel(), b.nodeChannel(id))
	for range 2 {
		if _, err := sub.Receive(ctx); err != nil {
			sub.Close()
			return nil, fmt.Errorf("redisstore: subscribing: %w", err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.receive(sub, n)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			sub.Close()
			<-done
		})
	}, nil
}

// receive hands sub's messages to n until sub is closed. A read that times
// out sends a PING, so a link that died without a word is found; after a
// failed read it waits (up to a second) before the next, which reconnects.
func (b *Broker) receive(sub *redis.PubSub, n presence.Node) {
	ctx := context.Background()
	gap, wait := false, 50*time.Millisecond
	for {
		msg, err := sub.ReceiveTimeout(ctx, receiveTimeout)
		if err != nil {
			if errors.Is(err, redis.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if sub.Ping(ctx) == nil {
					continue // the PONG is the next message
				}
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
			if gap && m.Kind == "ssubscribe" && m.Count == 2 {
				gap = false
				n.Resync()
			}
		}
	}
}

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

// Publish implements presence.Broker.
func (b *Broker) Publish(ctx context.Context, d presence.Delivery) error {
	p, err := json.Marshal(message{Kind: "d", Status: wire.AppendStatus(nil, d.Status), Watchers: d.Watchers})
	if err != nil {
		return err
	}
	return b.rdb.SPublish(ctx, b.appChannel(), p).Err()
}

// PublishKick implements presence.Broker.
func (b *Broker) PublishKick(ctx context.Context, id string, k presence.Kick) error {
	p, err := json.Marshal(message{Kind: "k", User: k.User, Node: k.Key.Node, Conn: k.Key.Conn, Platform: k.Platform, ByAdmin: k.ByAdmin})
	if err != nil {
		return err
	}
	ch := b.appChannel()
	if !k.Key.IsZero() {
		ch = b.nodeChannel(id)
	}
	return b.rdb.SPublish(ctx, ch, p).Err()
}

// NewBackend returns app's three contracts in rdb, under prefix.
func NewBackend(rdb redis.UniversalClient, prefix string, app uint64, log *slog.Logger) presence.Backend {
	return presence.Backend{
		Directory: NewDirectory(rdb, prefix, app),
		Store:     NewStore(rdb, prefix, app),
		Broker:    NewBroker(rdb, prefix, app, log),
	}
}
