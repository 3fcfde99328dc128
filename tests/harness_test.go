// Package tests holds end-to-end tests that cross package and language
// boundaries: the C test suite of libImSDK (c_test.go; cross_test.go runs
// it on Windows under Wine and on linux/arm64 under qemu-user) and the Unity
// package under Mono (mono_test.go), each against a real imstatus server.
package tests

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/usersig"
)

// cAccounts are imported at every (re)start of the C suite's server: alice
// is the C program's user, bob the driver's "other" user, carol never logs
// in.
var cAccounts = []string{"alice", "bob", "carol", "dave"}

// cDriver is the Go side of the C suite: the server (which it stops,
// restarts and sweeps on command) and the "other devices" it logs in.
type cDriver struct {
	t        testing.TB
	ts       *testserver.Server
	platform string // of the library under test: the driver's clients log in on it

	mu     sync.Mutex
	others []*core.Client          // every client made, closed at the end
	byUser map[string]*core.Client // the latest client of each user
}

// newCDriver starts the server: every feature on, upstream's default rate
// limit (20 calls per 5 s), friends notified, and a heartbeat timeout of an
// hour of the fake clock, so that moving the clock for UserSig and
// rate-limit tests declares no device gone until a test means it to.
// platform is the one the library under test reports (core.PlatformOf of
// its GOOS).
func newCDriver(t testing.TB, platform string) *cDriver {
	ts := testserver.Start(t, func(a *server.AppConfig) {
		on := true
		a.RateLimitCalls = 0 // the default, 20
		a.FriendStatusAutoNotify = &on
		a.HeartbeatTimeoutMS = time.Hour.Milliseconds()
	})
	if err := ts.Srv.ImportAccounts(ts.App.SDKAppID, cAccounts...); err != nil {
		t.Fatal(err)
	}
	d := &cDriver{t: t, ts: ts, platform: platform, byUser: make(map[string]*core.Client)}
	t.Cleanup(d.close) // runs before the server's own cleanup
	return d
}

// sig returns a UserSig of user for appID, valid for expire from the fake
// clock's now.
func (d *cDriver) sig(user string, appID uint64, expire time.Duration) string {
	s, err := usersig.Generate(d.ts.App.SecretKey, appID, user, expire, d.ts.Clock.Now())
	if err != nil {
		d.t.Fatal(err)
	}
	return s
}

// control carries out one command of the C program (the protocol is
// described at the top of tests/c/imsdk_test.c).
func (d *cDriver) control(line string) error {
	verb, args, _ := strings.Cut(line, " ")
	switch verb {
	case "RESTART":
		d.ts.Stop()
		d.ts.Start(cAccounts...)
		return nil
	case "STOP":
		d.ts.Stop()
		return nil
	case "START":
		d.ts.Start(cAccounts...)
		return nil
	case "SWEEP":
		secs, err := strconv.Atoi(args)
		if err != nil || secs < 0 {
			return fmt.Errorf("SWEEP wants seconds, got %q", args)
		}
		d.ts.Clock.Advance(time.Duration(secs) * time.Second)
		d.ts.Srv.Sweep()
		return nil
	case "LOGIN_OTHER":
		_, err := d.loginOther(args)
		return err
	case "SET_STATUS":
		user, custom, _ := strings.Cut(args, " ")
		return d.setStatus(user, custom)
	}
	return fmt.Errorf("unknown command %q", verb)
}

// loginOther logs user in from a new client on the C library's platform:
// for the C program's own user this is a newer login on the same platform,
// which kicks the C program.
func (d *cDriver) loginOther(user string) (*core.Client, error) {
	c, err := core.New(core.Config{
		SDKAppID: d.ts.App.SDKAppID,
		Servers:  []string{d.ts.Addr},
		Platform: d.platform,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.others = append(d.others, c)
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Login(ctx, user, d.sig(user, d.ts.App.SDKAppID, 24*time.Hour)); err != nil {
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	d.mu.Lock()
	d.byUser[user] = c
	d.mu.Unlock()
	return c, nil
}

// setStatus sets user's custom status from the driver's client of user,
// logging one in first when there is none (or it was logged out).
func (d *cDriver) setStatus(user, custom string) error {
	d.mu.Lock()
	c := d.byUser[user]
	d.mu.Unlock()
	if c == nil || c.LoginStatus() != core.Logined {
		var err error
		if c, err = d.loginOther(user); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.SetSelfStatus(ctx, custom)
}

// close ends the driver's clients.
func (d *cDriver) close() {
	d.mu.Lock()
	others := d.others
	d.others = nil
	d.mu.Unlock()
	for _, c := range others {
		c.Close()
	}
}
