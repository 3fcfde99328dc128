package boltdir

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/memstore"
	"github.com/imstatus/imstatus/wire"
)

var _ presence.Directory = (*AppDir)(nil)

// holdEnv makes the test binary a helper process that holds a data file
// open until its stdin closes.
const holdEnv = "BOLTDIR_TEST_HOLD"

func TestMain(m *testing.M) {
	if path := os.Getenv(holdEnv); path != "" {
		os.Exit(hold(path))
	}
	os.Exit(m.Run())
}

func hold(path string) int {
	d, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	if err := d.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

var ctx = context.Background()

func open(t testing.TB, path string) *DB {
	t.Helper()
	return openOpts(t, path, Options{})
}

func openOpts(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	d, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// txID is the id of the last committed write: it moves iff something wrote.
func txID(t testing.TB, d *DB) int {
	t.Helper()
	var id int
	must(t, d.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }))
	return id
}

const (
	self      = "cannot add yourself as a friend"
	noFrom    = "From_Account does not exist"
	noTo      = "To_Account does not exist"
	codeParam = wire.CodeServerParams
	codeNone  = wire.CodeAccountNotFound
)

func ok(to string) presence.FriendResult { return presence.FriendResult{To: to} }
func fail(to string, code int, info string) presence.FriendResult {
	return presence.FriendResult{To: to, Code: code, Info: info}
}

// state is every user's friend list and friend-of list, sorted.
type state map[string][2][]string

func stateOf(t *testing.T, a *AppDir, users []string) state {
	t.Helper()
	s := state{}
	for _, u := range users {
		f, err := a.Friends(ctx, u)
		must(t, err)
		of, err := a.AppendFriendOf(ctx, nil, u)
		must(t, err)
		if !slices.IsSorted(f) {
			t.Fatalf("Friends(%s) = %q, not sorted", u, f)
		}
		slices.Sort(of)
		if len(f)+len(of) > 0 {
			s[u] = [2][]string{f, of}
		}
	}
	return s
}

// memState is the same view of the in-memory store, the reference.
func memState(t *testing.T, m *memstore.Directory, users []string) state {
	t.Helper()
	s := state{}
	for _, u := range users {
		f, err := m.Friends(ctx, u)
		must(t, err)
		of, err := m.AppendFriendOf(ctx, nil, u)
		must(t, err)
		slices.Sort(of)
		if len(f) == 0 {
			f = nil
		}
		if len(f)+len(of) > 0 {
			s[u] = [2][]string{f, of}
		}
	}
	return s
}

func TestFriends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "imstatus.db")
	d := open(t, path)
	a := d.App(1)
	must(t, a.ImportAccounts(ctx, "a", "b", "c", "d"))

	steps := []struct {
		name  string
		add   bool
		from  string
		to    []string
		both  bool
		want  []presence.FriendResult
		state state
	}{
		{"one-way add, rules in order", true, "a", []string{"b", "a", "x", "c", "b"}, false,
			[]presence.FriendResult{ok("b"), fail("a", codeParam, self), fail("x", codeNone, noTo), ok("c"), ok("b")},
			state{"a": {{"b", "c"}, nil}, "b": {nil, {"a"}}, "c": {nil, {"a"}}}},
		{"from missing, self first", true, "x", []string{"a", "x"}, true,
			[]presence.FriendResult{fail("a", codeNone, noFrom), fail("x", codeParam, self)},
			state{"a": {{"b", "c"}, nil}, "b": {nil, {"a"}}, "c": {nil, {"a"}}}},
		{"both-way add over an existing one-way link", true, "b", []string{"a", "d"}, true,
			[]presence.FriendResult{ok("a"), ok("d")},
			state{"a": {{"b", "c"}, {"b"}}, "b": {{"a", "d"}, {"a", "d"}}, "c": {nil, {"a"}}, "d": {{"b"}, {"b"}}}},
		{"one-way delete keeps the other way", false, "a", []string{"b", "d"}, false,
			[]presence.FriendResult{ok("b"), ok("d")},
			state{"a": {{"c"}, {"b"}}, "b": {{"a", "d"}, {"d"}}, "c": {nil, {"a"}}, "d": {{"b"}, {"b"}}}},
		{"both-way delete", false, "d", []string{"b", "d", "y"}, true,
			[]presence.FriendResult{ok("b"), fail("d", codeParam, self), fail("y", codeNone, noTo)},
			state{"a": {{"c"}, {"b"}}, "b": {{"a"}, nil}, "c": {nil, {"a"}}}},
		{"delete from a missing account", false, "z", []string{"a"}, true,
			[]presence.FriendResult{fail("a", codeNone, noFrom)},
			state{"a": {{"c"}, {"b"}}, "b": {{"a"}, nil}, "c": {nil, {"a"}}}},
	}
	users := []string{"a", "b", "c", "d", "x"}
	for _, st := range steps {
		op := a.DeleteFriends
		if st.add {
			op = a.AddFriends
		}
		got, err := op(ctx, st.from, st.to, st.both)
		must(t, err)
		if !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: results\n got %v\nwant %v", st.name, got, st.want)
		}
		if s := stateOf(t, a, users); !reflect.DeepEqual(s, st.state) {
			t.Errorf("%s: state\n got %v\nwant %v", st.name, s, st.state)
		}
	}

	must(t, d.Close())
	d = open(t, path)
	defer d.Close()
	a = d.App(1)
	if s, want := stateOf(t, a, users), steps[len(steps)-1].state; !reflect.DeepEqual(s, want) {
		t.Errorf("after reopen: state\n got %v\nwant %v", s, want)
	}
	got, err := a.Exists(ctx, "a", "b", "c", "d", "x", "")
	must(t, err)
	if want := []bool{true, true, true, true, false, false}; !reflect.DeepEqual(got, want) {
		t.Errorf("after reopen: Exists = %v, want %v", got, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("data file mode: %v %v, want 0600", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode: %v %v, want 0700", fi.Mode(), err)
	}
}

// TestMatchesMemory runs random operations on both stores, reopening the
// file now and then: results and lists must agree with the in-memory one.
func TestMatchesMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imstatus.db")
	// One caller at a time: waiting for others to batch with, and fsync
	// (a reopen reads the same page cache), only slow it down.
	opts := Options{MaxBatchDelay: 10 * time.Microsecond}
	reopen := func() *DB {
		d := openOpts(t, path, opts)
		d.db.NoSync = true
		return d
	}
	d := reopen()
	defer func() { d.Close() }()
	m := memstore.NewDirectory()
	users := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"}
	r := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return users[r.IntN(len(users))] }
	for i := range 3000 {
		a := d.App(7)
		switch op := r.IntN(10); {
		case op == 0:
			id := pick()
			must(t, a.ImportAccounts(ctx, id))
			must(t, m.ImportAccounts(ctx, id))
		default:
			from, both := pick(), r.IntN(2) == 0
			to := make([]string, 1+r.IntN(4))
			for j := range to {
				to[j] = pick()
			}
			bop, mop := a.AddFriends, m.AddFriends
			if op > 5 {
				bop, mop = a.DeleteFriends, m.DeleteFriends
			}
			got, err := bop(ctx, from, to, both)
			must(t, err)
			want, _ := mop(ctx, from, to, both)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("op %d (%d %s %q %v): got %v, want %v", i, op, from, to, both, got, want)
			}
		}
		if i%500 == 499 {
			must(t, d.Close())
			d = reopen()
		}
		if i%100 == 99 {
			if got, want := stateOf(t, d.App(7), users), memState(t, m, users); !reflect.DeepEqual(got, want) {
				t.Fatalf("op %d: state\n got %v\nwant %v", i, got, want)
			}
		}
	}
}

func TestAppsIsolated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imstatus.db")
	d := open(t, path)
	a1, a2 := d.App(1400000001), d.App(1400000002)
	must(t, a1.ImportAccounts(ctx, "alice", "bob"))
	must(t, a2.ImportAccounts(ctx, "alice", "carol"))
	r, err := a1.AddFriends(ctx, "alice", []string{"bob", "carol"}, true)
	must(t, err)
	if want := []presence.FriendResult{ok("bob"), fail("carol", codeNone, noTo)}; !reflect.DeepEqual(r, want) {
		t.Errorf("app 1 AddFriends = %v, want %v", r, want)
	}
	_, err = a2.AddFriends(ctx, "alice", []string{"carol"}, false)
	must(t, err)
	must(t, d.Close())

	d = open(t, path)
	defer d.Close()
	for _, c := range []struct {
		app      uint64
		exists   []bool
		friends  []string
		friendOf []string
	}{
		{1400000001, []bool{true, true, false}, []string{"bob"}, []string{"bob"}},
		{1400000002, []bool{true, false, true}, []string{"carol"}, nil},
		{3, []bool{false, false, false}, nil, nil},
	} {
		a := d.App(c.app)
		e, err := a.Exists(ctx, "alice", "bob", "carol")
		must(t, err)
		f, err := a.Friends(ctx, "alice")
		must(t, err)
		of, err := a.AppendFriendOf(ctx, nil, "alice")
		must(t, err)
		if !reflect.DeepEqual(e, c.exists) || !reflect.DeepEqual(f, c.friends) || !reflect.DeepEqual(of, c.friendOf) {
			t.Errorf("app %d: Exists %v Friends %q FriendOf %q, want %v %q %q", c.app, e, f, of, c.exists, c.friends, c.friendOf)
		}
	}
}

func TestAppendFriendOfKeepsDst(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "imstatus.db"))
	defer d.Close()
	a := d.App(1)
	must(t, a.ImportAccounts(ctx, "a", "b", "c"))
	_, err := a.AddFriends(ctx, "a", []string{"c"}, false)
	must(t, err)
	_, err = a.AddFriends(ctx, "b", []string{"c"}, false)
	must(t, err)
	got, err := a.AppendFriendOf(ctx, []string{"keep"}, "c")
	must(t, err)
	if want := []string{"keep", "a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AppendFriendOf = %q, want %q", got, want)
	}
}

func TestInvalidIDs(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "imstatus.db"))
	defer d.Close()
	a := d.App(1)
	for _, id := range []string{"", "a\x00b", strings.Repeat("x", MaxIDLen+1)} {
		if err := a.ImportAccounts(ctx, "ok", id); err == nil {
			t.Errorf("ImportAccounts(%q) succeeded", id)
		}
	}
	if e, _ := a.Exists(ctx, "ok"); e[0] {
		t.Error("a refused ImportAccounts created an account")
	}
	must(t, a.ImportAccounts(ctx, "a", strings.Repeat("x", MaxIDLen)))
	r, err := a.AddFriends(ctx, "a", []string{strings.Repeat("x", MaxIDLen)}, true)
	must(t, err)
	if r[0].Code != 0 {
		t.Errorf("AddFriends with a %d-byte id: %v", MaxIDLen, r)
	}
}

// TestReadOnlyWhenNothingChanges: logins import existing accounts all the
// time, and re-adding friends is common; neither may write.
func TestReadOnlyWhenNothingChanges(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "imstatus.db"))
	defer d.Close()
	a := d.App(1)
	must(t, a.ImportAccounts(ctx, "a", "b", "c"))
	_, err := a.AddFriends(ctx, "a", []string{"b"}, true)
	must(t, err)
	before := txID(t, d)

	for _, c := range []struct {
		name string
		fn   func() error
	}{
		{"ImportAccounts existing", func() error { return a.ImportAccounts(ctx, "c", "a", "b", "a") }},
		{"AddFriends existing", func() error { _, err := a.AddFriends(ctx, "b", []string{"a"}, true); return err }},
		{"AddFriends refused", func() error { _, err := a.AddFriends(ctx, "a", []string{"a", "x"}, true); return err }},
		{"DeleteFriends absent", func() error { _, err := a.DeleteFriends(ctx, "a", []string{"c"}, true); return err }},
		{"Exists", func() error { _, err := a.Exists(ctx, "a", "x"); return err }},
	} {
		must(t, c.fn())
		if after := txID(t, d); after != before {
			t.Errorf("%s wrote: tx id %d -> %d", c.name, before, after)
		}
	}
	// The observable does move on a write.
	must(t, a.ImportAccounts(ctx, "a", "new"))
	if after := txID(t, d); after == before {
		t.Error("ImportAccounts of a new id did not move the tx id")
	}
}

func TestConcurrentImport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imstatus.db")
	d := open(t, path)
	a := d.App(1)
	before := txID(t, d)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Go(func() {
			// Each its own id plus one all share.
			errs[g] = a.ImportAccounts(ctx, "u"+strconv.Itoa(g), "shared")
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", g, err)
		}
	}
	t.Logf("%d concurrent imports took %d write transactions", n, txID(t, d)-before)
	must(t, d.Close())

	d = open(t, path)
	defer d.Close()
	ids := []string{"shared"}
	for g := range n {
		ids = append(ids, "u"+strconv.Itoa(g))
	}
	e, err := d.App(1).Exists(ctx, ids...)
	must(t, err)
	for i, ok := range e {
		if !ok {
			t.Errorf("%s missing after concurrent import", ids[i])
		}
	}
}

func TestCancelledContext(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "imstatus.db"))
	defer d.Close()
	a := d.App(1)
	must(t, a.ImportAccounts(ctx, "a", "b"))
	before := txID(t, d)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for _, c := range []struct {
		name string
		fn   func() error
	}{
		{"ImportAccounts", func() error { return a.ImportAccounts(cctx, "new") }},
		{"Exists", func() error { _, err := a.Exists(cctx, "a"); return err }},
		{"AddFriends", func() error { _, err := a.AddFriends(cctx, "a", []string{"b"}, true); return err }},
		{"DeleteFriends", func() error { _, err := a.DeleteFriends(cctx, "a", []string{"b"}, true); return err }},
		{"Friends", func() error { _, err := a.Friends(cctx, "a"); return err }},
		{"AppendFriendOf", func() error { _, err := a.AppendFriendOf(cctx, nil, "a"); return err }},
	} {
		if err := c.fn(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err %v, want context.Canceled", c.name, err)
		}
	}
	if after := txID(t, d); after != before {
		t.Errorf("cancelled calls wrote: tx id %d -> %d", before, after)
	}
}

func TestClosed(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "imstatus.db"))
	a := d.App(1)
	must(t, d.Close())
	if err := a.ImportAccounts(ctx, "a"); err == nil {
		t.Error("ImportAccounts after Close succeeded")
	}
	if _, err := a.Exists(ctx, "a"); err == nil {
		t.Error("Exists after Close succeeded")
	}
}

// TestInUseSameProcess: flock locks belong to an open file description,
// so a second Open in the same process waits and fails like another one's.
func TestInUseSameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imstatus.db")
	d := open(t, path)
	defer d.Close()
	checkInUse(t, path)
}

func TestInUseOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imstatus.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	waited := false
	defer func() {
		if !waited {
			stdin.Close()
			cmd.Wait()
		}
	}()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	checkInUse(t, path)

	// Once the other process lets go, the file opens.
	stdin.Close()
	waited = true
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	d := open(t, path)
	must(t, d.Close())
}

func checkInUse(t *testing.T, path string) {
	t.Helper()
	const timeout = 300 * time.Millisecond
	start := time.Now()
	d, err := Open(path, Options{LockTimeout: timeout})
	took := time.Since(start)
	if err == nil {
		d.Close()
		t.Fatal("second Open succeeded")
	}
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("err = %v, want ErrInUse naming %s", err, path)
	}
	if took < timeout/2 || took > timeout+time.Second {
		t.Errorf("failed after %v, want about %v", took, timeout)
	}
	t.Logf("%v after %v", err, took)
}

func TestCorrupt(t *testing.T) {
	dir := t.TempDir()
	// A real data file with enough data for many pages.
	real := filepath.Join(dir, "real.db")
	d := open(t, real)
	ids := make([]string, 20000)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%06d", i)
	}
	must(t, d.App(1).ImportAccounts(ctx, ids...))
	var used int // bytes in use; the file may be longer, grown ahead
	must(t, d.db.View(func(tx *bolt.Tx) error { used = int(tx.Size()); return nil }))
	must(t, d.Close())
	data, err := os.ReadFile(real)
	must(t, err)
	if used < 16*4096 || used > len(data) {
		t.Fatalf("real data file uses %d of %d bytes", used, len(data))
	}
	random := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{3}).Read(random)

	other := filepath.Join(dir, "other.db") // a bbolt file of some other program
	b, err := bolt.Open(other, 0o600, nil)
	must(t, err)
	must(t, b.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("things")); return err }))
	must(t, b.Close())
	otherData, err := os.ReadFile(other)
	must(t, err)

	flipped := slices.Clone(data)
	for i := range 2 * 4096 { // both meta pages
		flipped[i] ^= 0xff
	}
	// zeroPage zeroes the page whose id the newer meta page holds at off
	// (bbolt's layout: 16-byte page header, then the root bucket's page
	// at 32, the freelist's at 48, the transaction id at 64).
	zeroPage := func(off int) []byte {
		meta := data[:4096]
		if le64(data[4096+64:]) > le64(data[64:]) {
			meta = data[4096:]
		}
		z := slices.Clone(data)
		pg := int(le64(meta[off:]))
		clear(z[pg*4096 : (pg+1)*4096])
		return z
	}

	for _, c := range []struct {
		name string
		data []byte
	}{
		{"random bytes", random},
		{"text", []byte("not a database\n")},
		{"empty", nil},
		{"truncated to one page", data[:4096]},
		{"truncated to four pages", data[:4*4096]},
		{"truncated to half", data[:used/2&^4095]},
		{"truncated mid-page", data[:used-1000]},
		{"meta pages destroyed", flipped},
		{"freelist page zeroed", zeroPage(48)},
		{"root page zeroed", zeroPage(32)},
		{"another program's bbolt file", otherData},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "imstatus.db")
			must(t, os.WriteFile(path, c.data, 0o600))
			d, err := Open(path, Options{})
			if err == nil {
				d.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want ErrCorrupt naming %s", err, path)
			}
			t.Log(err)
			// The refused file is not held: it can be replaced and reopened.
			must(t, os.WriteFile(path, data, 0o600))
			d = open(t, path)
			e, err := d.App(1).Exists(ctx, ids[len(ids)-1])
			must(t, err)
			if !e[0] {
				t.Error("good file lost its accounts")
			}
			must(t, d.Close())
		})
	}
}

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

func TestUnknownFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imstatus.db")
	d := open(t, path)
	must(t, d.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyFormat, []byte("2"))
	}))
	must(t, d.Close())
	_, err := Open(path, Options{})
	if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"2"`) {
		t.Fatalf("err = %v, want ErrUnknownFormat naming %s and version 2", err, path)
	}
}

func BenchmarkImportExisting(b *testing.B) {
	d := open(b, filepath.Join(b.TempDir(), "imstatus.db"))
	defer d.Close()
	a := d.App(1)
	must(b, a.ImportAccounts(ctx, "user-1"))
	for b.Loop() {
		if err := a.ImportAccounts(ctx, "user-1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExists100(b *testing.B) {
	d := open(b, filepath.Join(b.TempDir(), "imstatus.db"))
	defer d.Close()
	a := d.App(1)
	ids := make([]string, 10000)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%05d", i)
	}
	must(b, a.ImportAccounts(ctx, ids...))
	q := make([]string, 100) // half exist
	for i := range q {
		q[i] = fmt.Sprintf("user-%05d", i*197)
	}
	for b.Loop() {
		if _, err := a.Exists(ctx, q...); err != nil {
			b.Fatal(err)
		}
	}
}
