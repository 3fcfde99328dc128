// Package redisstore keeps the presence engine's state in Redis, so that
// several imstatusd nodes share it: standalone, Sentinel or Cluster, through
// a go-redis UniversalClient. Every implementation here passes the same
// conformance suite (storetest) as the memory one.
//
// Keys are hash-tagged by app and user — {PREFIX:APP:USER} — so a user's
// keys share a slot, and one app's users spread over every shard of a
// cluster.
//
// This file holds the Directory (accounts and friend links). Run Redis with
// AOF persistence to keep them across a Redis restart (docs/CLUSTER.md).
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/imstatus/imstatus/server/presence"
)

// Directory is a presence.Directory in Redis.
//
// A friend link lives on both users' keys (from's friends, to's friend-of
// index), which a cluster keeps in different slots: the two writes go in
// one pipeline, not one transaction. Each is idempotent, so a failed call
// repeated puts them right.
type Directory struct {
	rdb    redis.UniversalClient
	prefix string // "PREFIX:APP:"
}

var _ presence.Directory = (*Directory)(nil)

// NewDirectory returns app's directory in rdb, its keys under prefix.
func NewDirectory(rdb redis.UniversalClient, prefix string, app uint64) *Directory {
	return &Directory{rdb: rdb, prefix: prefix + ":" + strconv.FormatUint(app, 10) + ":"}
}

// key is the key of one of user's records: {PREFIX:APP:USER}:what.
func (d *Directory) key(user, what string) string {
	return "{" + d.prefix + user + "}:" + what
}

// validID reports whether id can name a key: a brace would move the hash
// tag. (The server accepts only [A-Za-z0-9_-] anyway.)
func validID(id string) bool { return id != "" && !strings.ContainsAny(id, "{}") }

// ImportAccounts implements presence.Directory.
func (d *Directory) ImportAccounts(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if !validID(id) {
			return fmt.Errorf("redisstore: invalid account id %q", id)
		}
	}
	if len(ids) == 0 {
		return ctx.Err()
	}
	_, err := d.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Set(ctx, d.key(id, "acct"), "1", 0)
		}
		return nil
	})
	return err
}

// Exists implements presence.Directory.
func (d *Directory) Exists(ctx context.Context, ids ...string) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]bool, len(ids))
	cmds := make([]*redis.IntCmd, len(ids))
	_, err := d.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			if validID(id) {
				cmds[i] = p.Exists(ctx, d.key(id, "acct"))
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for i, c := range cmds {
		out[i] = c != nil && c.Val() == 1
	}
	return out, nil
}

// AddFriends implements presence.Directory.
func (d *Directory) AddFriends(ctx context.Context, from string, to []string, both bool) ([]presence.FriendResult, error) {
	return d.friendOp(ctx, from, to, both, true)
}

// DeleteFriends implements presence.Directory.
func (d *Directory) DeleteFriends(ctx context.Context, from string, to []string, both bool) ([]presence.FriendResult, error) {
	return d.friendOp(ctx, from, to, both, false)
}

func (d *Directory) friendOp(ctx context.Context, from string, to []string, both, add bool) ([]presence.FriendResult, error) {
	exist, err := d.Exists(ctx, append([]string{from}, to...)...)
	if err != nil {
		return nil, err
	}
	out := make([]presence.FriendResult, len(to))
	for i, t := range to {
		out[i] = presence.CheckFriend(from, t, exist[0], exist[i+1])
	}
	_, err = d.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		link := func(a, b string) {
			if add {
				p.SAdd(ctx, d.key(a, "friends"), b)
				p.SAdd(ctx, d.key(b, "friendof"), a)
			} else {
				p.SRem(ctx, d.key(a, "friends"), b)
				p.SRem(ctx, d.key(b, "friendof"), a)
			}
		}
		for i, t := range to {
			if out[i].Code != 0 {
				continue
			}
			link(from, t)
			if both {
				link(t, from)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Friends implements presence.Directory.
func (d *Directory) Friends(ctx context.Context, id string) ([]string, error) {
	if !validID(id) {
		return nil, ctx.Err()
	}
	fs, err := d.rdb.SMembers(ctx, d.key(id, "friends")).Result()
	if err != nil {
		return nil, err
	}
	slices.Sort(fs)
	return fs, nil
}

// AppendFriendOf implements presence.Directory.
func (d *Directory) AppendFriendOf(ctx context.Context, dst []string, id string) ([]string, error) {
	if !validID(id) {
		return dst, ctx.Err()
	}
	fs, err := d.rdb.SMembers(ctx, d.key(id, "friendof")).Result()
	if err != nil {
		return dst, err
	}
	return append(dst, fs...), nil
}
