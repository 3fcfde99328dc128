package server

import (
	"context"
	"time"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/wire"
)

// Store holds one app's presence state: accounts, devices, custom status,
// subscriptions and friends. Each change returns the user's status before
// and after, so the engine notifies only real transitions.
// presence.Memory is the single-node implementation.
type Store interface {
	ImportAccounts(ctx context.Context, ids ...string) error
	Exists(ctx context.Context, ids ...string) ([]bool, error)

	// Login adds a live device and returns the devices the policy kicks.
	Login(ctx context.Context, user string, d presence.Device, p presence.Policy, now time.Time) (presence.Change, []presence.Device, error)
	// Leave records that the device on conn went away; found is false when
	// it was no longer a live device of user.
	Leave(ctx context.Context, user string, conn uint64, how presence.Leave, now time.Time) (ch presence.Change, found bool, err error)
	SetCustom(ctx context.Context, user, custom string, now time.Time) (presence.Change, error)
	Statuses(ctx context.Context, ids ...string) ([]wire.Status, error)

	// Subscribe adds targets, evicting the oldest past max.
	Subscribe(ctx context.Context, owner string, targets []string, max int) (evicted []string, err error)
	// Unsubscribe removes targets; none removes all.
	Unsubscribe(ctx context.Context, owner string, targets []string) error
	// AppendWatchers appends to dst the users told of user's changes
	// besides itself (the caller reuses dst: notifying allocates nothing).
	AppendWatchers(ctx context.Context, dst []string, user string, friends bool) ([]string, error)
	ClearAwaySubscriptions(ctx context.Context, now time.Time, delay time.Duration) (owners []string, err error)

	AddFriends(ctx context.Context, from string, to []string, both bool) ([]presence.FriendResult, error)
	DeleteFriends(ctx context.Context, from string, to []string, both bool) ([]presence.FriendResult, error)
}

var _ Store = (*presence.Memory)(nil)
