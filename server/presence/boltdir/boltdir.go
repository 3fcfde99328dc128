// Package boltdir keeps the server's accounts and friend lists in one bbolt
// file, so a restart keeps them. Statuses, devices and subscriptions stay in
// memory: they describe live connections, which a restart drops anyway.
//
// One file holds every app of a server; (*DB).App returns one app's
// directory. Each app is a bucket "app/<SDKAppID>" with three sub-buckets:
//
//	accounts   id            -> 1
//	friends    from \x00 to  -> 1   (from's friend list, a prefix scan)
//	friend_of  to \x00 from  -> 1   (who lists to, a prefix scan)
//
// Account ids never hold a NUL byte, so a pair key splits one way only.
// A DB and its AppDirs are safe for concurrent use.
package boltdir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/imstatus/imstatus/server/presence"
)

// Format is the layout version this package reads and writes. A file of
// another version is refused rather than misread.
const Format = 1

// Errors Open wraps, for errors.Is; the message names the file.
var (
	ErrInUse         = errors.New("in use by another process")
	ErrCorrupt       = errors.New("corrupt or not an imstatus data file")
	ErrUnknownFormat = errors.New("of an unknown format version")
)

// MaxIDLen is the longest account id: two ids and a separator make a pair
// key, which bbolt caps at 32 KiB.
const MaxIDLen = (bolt.MaxKeySize - 1) / 2

var (
	bucketMeta     = []byte("meta")
	keyFormat      = []byte("format")
	bucketAccounts = []byte("accounts")
	bucketFriends  = []byte("friends")
	bucketFriendOf = []byte("friend_of")
	// present is every value: a one-byte value keeps "absent" (nil from
	// Get) apart from "present" without relying on how empty values read.
	present = []byte{1}
)

// Options tune Open. The zero value is ready to use.
type Options struct {
	// LockTimeout is how long Open waits for another holder of the file
	// to let go before failing with ErrInUse. Default 1 s.
	LockTimeout time.Duration
	// MaxBatchDelay is how long a write waits for others to share its
	// transaction and fsync. Default bbolt's 10 ms.
	MaxBatchDelay time.Duration
}

// DB is one data file holding the directories of all apps.
type DB struct {
	db   *bolt.DB
	path string
}

// Open opens the data file at path, creating it (0600) and its directory
// (0700) when missing. It fails, naming path, when another process holds
// the file, when the file is not a sound imstatus data file, or when its
// format is unknown: a restart must never quietly start empty.
func Open(path string, opts Options) (*DB, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("boltdir: create data directory: %w", err)
	}
	// bbolt formats an empty file as a new database; one that exists
	// empty lost its data (a bad copy, a full disk) and is refused.
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.Size() == 0:
		return nil, corrupt(path, errors.New("file is empty"))
	case err == nil:
		if err := checkSize(path, fi.Size(), opts.LockTimeout); err != nil {
			return nil, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("boltdir: data file: %w", err)
	default:
		if err := create(path, opts.LockTimeout); err != nil {
			return nil, err
		}
	}
	bdb, err := openBolt(path, opts.LockTimeout, false)
	if err != nil {
		return nil, err
	}
	if opts.MaxBatchDelay > 0 {
		bdb.MaxBatchDelay = opts.MaxBatchDelay
	}
	d := &DB{db: bdb, path: path}
	if err := d.checkFormat(); err != nil {
		bdb.Close()
		return nil, err
	}
	return d, nil
}

// create makes a new data file at path, formatted, or leaves none: it is
// made under another name and linked into place only when complete, so a
// disk that fills up meanwhile leaves no half-made file for the next start
// to refuse as corrupt. If another process links its own first, that one
// is kept.
func create(path string, timeout time.Duration) error {
	tmp := fmt.Sprintf("%s.new-%d-%d", path, os.Getpid(), time.Now().UnixNano())
	defer os.Remove(tmp)
	bdb, err := openBolt(tmp, timeout, false)
	if err != nil {
		return fmt.Errorf("boltdir: create data file %s: %w", path, err)
	}
	d := &DB{db: bdb, path: path}
	err = d.checkFormat()
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("boltdir: create data file %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("boltdir: create data file %s: %w", path, err)
	}
	// The new name must outlive a crash: sync the directory that holds it.
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("boltdir: create data file %s: %w", path, err)
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("boltdir: create data file %s: sync its directory: %w", path, err)
	}
	return nil
}

// checkSize refuses a file cut short. Opening for writing, bbolt reads the
// freelist page near the end of the data at once, past the end of such a
// file; opened read-only it reads only the two meta pages, which say how
// long the data is.
func checkSize(path string, size int64, timeout time.Duration) error {
	bdb, err := openBolt(path, timeout, true)
	if err != nil {
		return err
	}
	defer bdb.Close()
	var need int64
	if err := bdb.View(func(tx *bolt.Tx) error { need = tx.Size(); return nil }); err != nil {
		return fmt.Errorf("boltdir: data file %s: %w", path, err)
	}
	if need > size {
		return corrupt(path, fmt.Errorf("file is %d bytes, its pages need %d", size, need))
	}
	return nil
}

// openBolt opens path with bbolt, turning its failures into Open's errors.
func openBolt(path string, timeout time.Duration, readOnly bool) (*bolt.DB, error) {
	// A damaged file can make bbolt panic or touch memory it did not map;
	// both become a corrupt-file error, and the file is unlocked and closed
	// so that a good copy can take its place.
	var file *os.File
	bo := &bolt.Options{
		Timeout:  timeout,
		ReadOnly: readOnly,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	}
	var bdb *bolt.DB
	err := guard(func() (err error) {
		bdb, err = bolt.Open(path, 0o600, bo)
		return err
	})
	var p panicked
	switch {
	case err == nil:
		return bdb, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("boltdir: data file %s is %w (still locked after %v)", path, ErrInUse, timeout)
	case errors.As(err, &p):
		if file != nil {
			unlock(file)
			file.Close()
		}
		return nil, corrupt(path, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum),
		// bbolt has no sentinel for a file shorter than its two meta pages.
		strings.HasPrefix(err.Error(), "file size too small"):
		return nil, corrupt(path, err)
	}
	return nil, fmt.Errorf("boltdir: open data file %s: %w", path, err)
}

// checkFormat reads the format marker, writing it into a new file.
func (d *DB) checkFormat() error {
	empty := false
	err := guard(func() error {
		return d.db.View(func(tx *bolt.Tx) error {
			m := tx.Bucket(bucketMeta)
			if m == nil {
				k, _ := tx.Cursor().First()
				empty = k == nil
				if !empty {
					return errors.New("no format marker")
				}
				return nil
			}
			v := m.Get(keyFormat)
			if n, err := strconv.Atoi(string(v)); err != nil || n != Format {
				return fmt.Errorf("boltdir: data file %s is %w %q (this build reads %d)", d.path, ErrUnknownFormat, v, Format)
			}
			return nil
		})
	})
	if errors.Is(err, ErrUnknownFormat) {
		return err
	}
	if err != nil {
		return corrupt(d.path, err)
	}
	if !empty {
		return nil
	}
	err = d.db.Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return m.Put(keyFormat, []byte(strconv.Itoa(Format)))
	})
	if err != nil {
		return fmt.Errorf("boltdir: initialise data file %s: %w", d.path, err)
	}
	return nil
}

func corrupt(path string, err error) error {
	return fmt.Errorf("boltdir: data file %s is %w: %w", path, ErrCorrupt, err)
}

// panicked is a panic or memory fault inside bbolt, turned into an error.
type panicked struct{ v any }

func (p panicked) Error() string { return fmt.Sprintf("bbolt: %v", p.v) }

// guard runs fn, turning a panic or a fault on mapped memory into an error.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = panicked{r}
		}
	}()
	return fn()
}

// Close closes the data file. AppDirs fail after it.
func (d *DB) Close() error { return d.db.Close() }

// Path returns the data file's path.
func (d *DB) Path() string { return d.path }

// App returns the directory of one app. It touches nothing on disk: the
// app's buckets are made by its first ImportAccounts.
func (d *DB) App(sdkAppID uint64) *AppDir {
	return &AppDir{db: d.db, name: []byte("app/" + strconv.FormatUint(sdkAppID, 10)), known: make(map[string]struct{})}
}

// AppDir is one app's accounts and friend lists.
type AppDir struct {
	db   *bolt.DB
	name []byte
	// known holds ids known to have an account. Accounts are never
	// deleted, so a yes stays true: every login asks, and a reconnect
	// storm's thousands of read transactions queued on bbolt's lock. (A
	// map, not a sync.Map: it costs a third of the memory per account.)
	mu    sync.RWMutex
	known map[string]struct{}
}

func (a *AppDir) isKnown(id string) bool {
	a.mu.RLock()
	_, ok := a.known[id]
	a.mu.RUnlock()
	return ok
}

// learn notes that id has an account; the id is copied, as it may be a
// slice of a request's frame.
func (a *AppDir) learn(id string) {
	a.mu.Lock()
	if _, ok := a.known[id]; !ok {
		a.known[strings.Clone(id)] = struct{}{}
	}
	a.mu.Unlock()
}

// buckets is one app's sub-buckets in a transaction; all nil when the app
// has no account yet.
type buckets struct{ accounts, friends, friendOf *bolt.Bucket }

func (a *AppDir) buckets(tx *bolt.Tx) buckets {
	b := tx.Bucket(a.name)
	if b == nil {
		return buckets{}
	}
	return buckets{b.Bucket(bucketAccounts), b.Bucket(bucketFriends), b.Bucket(bucketFriendOf)}
}

// accountSet answers "has an account?" for many ids through one cursor,
// which spares the allocations of a Get per id.
type accountSet struct{ c *bolt.Cursor }

func (b buckets) accountSet() accountSet {
	if b.accounts == nil {
		return accountSet{}
	}
	return accountSet{b.accounts.Cursor()}
}

func (s accountSet) has(id string) bool {
	if s.c == nil || !validID(id) {
		return false
	}
	k, _ := s.c.Seek([]byte(id))
	return string(k) == id
}

func validID(id string) bool {
	return id != "" && len(id) <= MaxIDLen && strings.IndexByte(id, 0) < 0
}

// ImportAccounts creates accounts; existing ones are left alone. Logins
// call it every time, so when all ids exist it only reads; concurrent
// callers that do write share one transaction and one fsync.
func (a *AppDir) ImportAccounts(ctx context.Context, ids ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if !validID(id) {
			return fmt.Errorf("boltdir: invalid account id %q", id)
		}
	}
	var unsure []string
	for _, id := range ids {
		if !a.isKnown(id) {
			unsure = append(unsure, id)
		}
	}
	if len(unsure) == 0 {
		return nil
	}
	var missing []string
	err := a.db.View(func(tx *bolt.Tx) error {
		acc := a.buckets(tx).accountSet()
		for _, id := range unsure {
			if acc.has(id) {
				a.learn(id)
			} else {
				missing = append(missing, id)
			}
		}
		return nil
	})
	if err != nil || len(missing) == 0 {
		return err
	}
	err = a.db.Batch(func(tx *bolt.Tx) error {
		app, err := tx.CreateBucketIfNotExists(a.name)
		if err != nil {
			return err
		}
		acc, err := app.CreateBucketIfNotExists(bucketAccounts)
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketFriends, bucketFriendOf} {
			if _, err := app.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		for _, id := range missing {
			// Another caller may have made it since the read.
			if acc.Get([]byte(id)) == nil {
				if err := acc.Put([]byte(id), present); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range missing {
		a.learn(id) // committed
	}
	return nil
}

// Exists reports which of ids have an account.
func (a *AppDir) Exists(ctx context.Context, ids ...string) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]bool, len(ids))
	var unsure []int
	for i, id := range ids {
		if out[i] = a.isKnown(id); !out[i] {
			unsure = append(unsure, i)
		}
	}
	if len(unsure) == 0 {
		return out, nil
	}
	err := a.db.View(func(tx *bolt.Tx) error {
		acc := a.buckets(tx).accountSet()
		for _, i := range unsure {
			if out[i] = acc.has(ids[i]); out[i] {
				a.learn(ids[i])
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddFriends adds each of to into from's friend list and, when both is
// true, from into theirs, with a result per target in the order of to.
// Adding an existing friend succeeds.
func (a *AppDir) AddFriends(ctx context.Context, from string, to []string, both bool) ([]presence.FriendResult, error) {
	return a.friendOp(ctx, from, to, both, true)
}

// DeleteFriends removes each of to from from's friend list and, when both
// is true, from from theirs, with a result per target in the order of to.
func (a *AppDir) DeleteFriends(ctx context.Context, from string, to []string, both bool) ([]presence.FriendResult, error) {
	return a.friendOp(ctx, from, to, both, false)
}

// friendOp first checks in a read transaction; when no link would change
// (every target refused, or already as asked) it writes nothing.
func (a *AppDir) friendOp(ctx context.Context, from string, to []string, both, add bool) ([]presence.FriendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]presence.FriendResult, 0, len(to))
	changed := false
	err := a.db.View(func(tx *bolt.Tx) (err error) {
		out, changed, err = a.links(tx, out, from, to, both, add, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !changed {
		return out, nil
	}
	err = a.db.Batch(func(tx *bolt.Tx) (err error) {
		// Batch may run this more than once; each run starts afresh.
		out, _, err = a.links(tx, out[:0], from, to, both, add, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// links appends each target's result to out and reports whether any link
// would change. With apply false it stops at the first change, as the
// caller then redoes it all in a write; with apply true it makes them.
func (a *AppDir) links(tx *bolt.Tx, out []presence.FriendResult, from string, to []string, both, add, apply bool) ([]presence.FriendResult, bool, error) {
	b := a.buckets(tx)
	acc := b.accountSet()
	fromOK := acc.has(from)
	changed := false
	var key []byte
	for _, t := range to {
		r := presence.CheckFriend(from, t, fromOK, acc.has(t))
		out = append(out, r)
		if r.Code != 0 {
			continue
		}
		pairs := [2][2]string{{from, t}, {t, from}}
		n := 1
		if both {
			n = 2
		}
		for _, p := range pairs[:n] {
			key = pairKey(key[:0], p[0], p[1])
			if (b.friends.Get(key) != nil) == add {
				continue
			}
			if !apply {
				return out, true, nil
			}
			changed = true
			var err error
			if add {
				err = b.friends.Put(key, present)
			} else {
				err = b.friends.Delete(key)
			}
			if err != nil {
				return out, changed, err
			}
			key = pairKey(key[:0], p[1], p[0])
			if add {
				err = b.friendOf.Put(key, present)
			} else {
				err = b.friendOf.Delete(key)
			}
			if err != nil {
				return out, changed, err
			}
		}
	}
	return out, changed, nil
}

func pairKey(dst []byte, a, b string) []byte {
	dst = append(dst, a...)
	dst = append(dst, 0)
	return append(dst, b...)
}

// Friends returns id's friend list, sorted.
func (a *AppDir) Friends(ctx context.Context, id string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []string
	err := a.db.View(func(tx *bolt.Tx) error {
		out = appendSecond(out, a.buckets(tx).friends, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AppendFriendOf appends to dst the users whose friend list holds id.
func (a *AppDir) AppendFriendOf(ctx context.Context, dst []string, id string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	err := a.db.View(func(tx *bolt.Tx) error {
		dst = appendSecond(dst, a.buckets(tx).friendOf, id)
		return nil
	})
	return dst, err
}

// appendSecond appends the second id of every pair key in b that starts
// with id, in key order, which is string order.
func appendSecond(dst []string, b *bolt.Bucket, id string) []string {
	if b == nil || !validID(id) {
		return dst
	}
	prefix := pairKey(nil, id, "")
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		dst = append(dst, string(k[len(prefix):]))
	}
	return dst
}
