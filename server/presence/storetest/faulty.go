package storetest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/wire"
)

// ErrInjected is the error a Faulty backend fails calls with.
var ErrInjected = errors.New("storetest: injected fault")

// Faults says how a Faulty backend misbehaves; change it at any time.
type Faults struct {
	mu    sync.Mutex
	mode  int // ok, failing or stalling
	calls int // calls that met a fault
}

const (
	faultsOff = iota
	faultsFail
	faultsStall
)

// Fail makes every call fail at once with ErrInjected.
func (f *Faults) Fail() { f.set(faultsFail) }

// Stall makes every call wait until its context is done, then fail with
// the context's error: a backend that stopped answering.
func (f *Faults) Stall() { f.set(faultsStall) }

// Heal makes calls go through again.
func (f *Faults) Heal() { f.set(faultsOff) }

// Hits is how many calls met a fault.
func (f *Faults) Hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *Faults) set(m int) {
	f.mu.Lock()
	f.mode = m
	f.mu.Unlock()
}

// check applies the faults to one call.
func (f *Faults) check(ctx context.Context) error {
	f.mu.Lock()
	m := f.mode
	if m != faultsOff {
		f.calls++
	}
	f.mu.Unlock()
	switch m {
	case faultsFail:
		return ErrInjected
	case faultsStall:
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// Faulty wraps a backend so that its calls fail or stall as f says. A
// broker that routes stays a presence.Router.
func Faulty(b presence.Backend, f *Faults) presence.Backend {
	var broker presence.Broker = faultyBroker{b.Broker, f}
	if r, ok := b.Broker.(presence.Router); ok {
		broker = faultyRouter{faultyBroker{r, f}, r}
	}
	return presence.Backend{
		Directory: faultyDir{b.Directory, f},
		Store:     faultyStore{b.Store, f},
		Broker:    broker,
	}
}

type faultyDir struct {
	d presence.Directory
	f *Faults
}

func (x faultyDir) ImportAccounts(ctx context.Context, ids ...string) error {
	if err := x.f.check(ctx); err != nil {
		return err
	}
	return x.d.ImportAccounts(ctx, ids...)
}

func (x faultyDir) Exists(ctx context.Context, ids ...string) ([]bool, error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.d.Exists(ctx, ids...)
}

func (x faultyDir) AddFriends(ctx context.Context, from string, to []string, both bool) ([]presence.FriendResult, error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.d.AddFriends(ctx, from, to, both)
}

func (x faultyDir) DeleteFriends(ctx context.Context, from string, to []string, both bool) ([]presence.FriendResult, error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.d.DeleteFriends(ctx, from, to, both)
}

func (x faultyDir) Friends(ctx context.Context, id string) ([]string, error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.d.Friends(ctx, id)
}

func (x faultyDir) AppendFriendOf(ctx context.Context, dst []string, id string) ([]string, error) {
	if err := x.f.check(ctx); err != nil {
		return dst, err
	}
	return x.d.AppendFriendOf(ctx, dst, id)
}

type faultyStore struct {
	s presence.Store
	f *Faults
}

func (x faultyStore) Login(ctx context.Context, user string, d presence.Device, p presence.Policy, now time.Time) (presence.Change, []presence.Device, error) {
	if err := x.f.check(ctx); err != nil {
		return presence.Change{}, nil, err
	}
	return x.s.Login(ctx, user, d, p, now)
}

func (x faultyStore) Leave(ctx context.Context, user string, key presence.DeviceKey, how presence.Leave, now time.Time) (presence.Change, bool, error) {
	if err := x.f.check(ctx); err != nil {
		return presence.Change{}, false, err
	}
	return x.s.Leave(ctx, user, key, how, now)
}

func (x faultyStore) SetCustom(ctx context.Context, user, custom string, now time.Time) (presence.Change, error) {
	if err := x.f.check(ctx); err != nil {
		return presence.Change{}, err
	}
	return x.s.SetCustom(ctx, user, custom, now)
}

func (x faultyStore) Statuses(ctx context.Context, ids ...string) ([]wire.Status, error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.s.Statuses(ctx, ids...)
}

func (x faultyStore) Subscribe(ctx context.Context, owner string, targets []string, max int) ([]string, error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.s.Subscribe(ctx, owner, targets, max)
}

func (x faultyStore) Unsubscribe(ctx context.Context, owner string, targets []string) error {
	if err := x.f.check(ctx); err != nil {
		return err
	}
	return x.s.Unsubscribe(ctx, owner, targets)
}

func (x faultyStore) Subscriptions(ctx context.Context, owner string) ([]string, error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.s.Subscriptions(ctx, owner)
}

func (x faultyStore) AppendWatchers(ctx context.Context, dst []string, user string) ([]string, error) {
	if err := x.f.check(ctx); err != nil {
		return dst, err
	}
	return x.s.AppendWatchers(ctx, dst, user)
}

func (x faultyStore) ClearAwaySubscriptions(ctx context.Context, now time.Time, delay time.Duration) ([]string, error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.s.ClearAwaySubscriptions(ctx, now, delay)
}

func (x faultyStore) RenewLease(ctx context.Context, node string, now time.Time, ttl time.Duration) (bool, error) {
	if err := x.f.check(ctx); err != nil {
		return false, err
	}
	return x.s.RenewLease(ctx, node, now, ttl)
}

func (x faultyStore) ExpireLeases(ctx context.Context, now time.Time) ([]presence.Expiry, error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.s.ExpireLeases(ctx, now)
}

func (x faultyStore) Lead(ctx context.Context, task, node string, now time.Time, ttl time.Duration) (bool, error) {
	if err := x.f.check(ctx); err != nil {
		return false, err
	}
	return x.s.Lead(ctx, task, node, now, ttl)
}

func (x faultyStore) Allow(ctx context.Context, key string, n int, window time.Duration, now time.Time) (bool, error) {
	if err := x.f.check(ctx); err != nil {
		return false, err
	}
	return x.s.Allow(ctx, key, n, window, now)
}

type faultyBroker struct {
	b presence.Broker
	f *Faults
}

func (x faultyBroker) Register(ctx context.Context, id string, n presence.Node) (func(), error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.b.Register(ctx, id, n)
}

func (x faultyBroker) Publish(ctx context.Context, d presence.Delivery) error {
	if err := x.f.check(ctx); err != nil {
		return err
	}
	return x.b.Publish(ctx, d)
}

func (x faultyBroker) PublishKick(ctx context.Context, id string, k presence.Kick) error {
	if err := x.f.check(ctx); err != nil {
		return err
	}
	return x.b.PublishKick(ctx, id, k)
}

type faultyRouter struct {
	faultyBroker
	r presence.Router
}

func (x faultyRouter) Listen(ctx context.Context, node string, users ...string) error {
	if err := x.f.check(ctx); err != nil {
		return err
	}
	return x.r.Listen(ctx, node, users...)
}

func (x faultyRouter) ListenFor(ctx context.Context, watcher string, users ...string) error {
	if err := x.f.check(ctx); err != nil {
		return err
	}
	return x.r.ListenFor(ctx, watcher, users...)
}

func (x faultyRouter) Unlisten(ctx context.Context, node, user string) error {
	if err := x.f.check(ctx); err != nil {
		return err
	}
	return x.r.Unlisten(ctx, node, user)
}

func (x faultyStore) LiveDevices(ctx context.Context, user string) ([]presence.DeviceRecord, error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.s.LiveDevices(ctx, user)
}

func (x faultyStore) PostNode(ctx context.Context, f presence.NodeFigures) error {
	if err := x.f.check(ctx); err != nil {
		return err
	}
	return x.s.PostNode(ctx, f)
}

func (x faultyStore) Nodes(ctx context.Context, now time.Time) ([]presence.NodeFigures, error) {
	if err := x.f.check(ctx); err != nil {
		return nil, err
	}
	return x.s.Nodes(ctx, now)
}
