package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
)

// TestTransitions: each way a device goes away shows in the inspector's
// history with its reason, and the user's status after it.
func TestTransitions(t *testing.T) {
	clock := testserver.NewClock(time.Now())
	e := newEnvWith(t, false, server.Options{Console: true, Clock: clock})
	b := e.browser()
	b.login()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	tests := []struct {
		user   string
		act    func(t *testing.T)
		event  string
		status string // the user's status after the event
	}{
		{"u-logout", func(t *testing.T) {
			c, _ := e.client("u-logout", "Android")
			if err := c.Logout(ctx); err != nil {
				t.Fatal(err)
			}
		}, "logout", "UNLOGINED"},
		{"u-close", func(t *testing.T) {
			c, _ := e.client("u-close", "Android")
			c.Close()
		}, "link closed", "OFFLINE"},
		{"u-twice", func(t *testing.T) {
			_, kicked := e.client("u-twice", "Mac")
			e.client("u-twice", "Mac")
			select {
			case <-kicked:
			case <-time.After(wait):
				t.Fatal("the first device was not kicked")
			}
		}, "kicked: replaced by a newer login", "ONLINE"},
		{"u-admin", func(t *testing.T) {
			_, kicked := e.client("u-admin", "Linux")
			if st, m, _ := b.do("POST", "/console/api/kick", `{"user":"u-admin"}`, "X-Console-Token", b.csrf); st != 200 {
				t.Fatalf("kick: %d %v", st, m)
			}
			select {
			case <-kicked:
			case <-time.After(wait):
				t.Fatal("the device was not kicked")
			}
		}, "kicked by the admin", "UNLOGINED"},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			tc.act(t)
			waitTransition(t, b, tc.user, tc.event, tc.status)
		})
	}

	// A device that stops sending heartbeats: the raw link stays open,
	// the clock passes the timeout, a sweep ends it.
	t.Run("u-timeout", func(t *testing.T) {
		c, _ := e.client("u-timeout", "iPad")
		// Logged in: from now on the client's heartbeats move lastSeen to
		// the clock's time, so the clock jumps past the timeout and the
		// sweep runs before the next one can arrive.
		clock.Advance(server.DefaultHeartbeatTimeout + time.Second)
		e.srv.Sweep()
		waitTransition(t, b, "u-timeout", "heartbeat timeout", "OFFLINE")
		c.Close()
	})
}

// waitTransition waits until user's history holds event with status.
func waitTransition(t *testing.T, b *browser, user, event, status string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		_, m, _ := b.do("GET", "/console/api/user?id="+user, "")
		trs, _ := m["transitions"].([]any)
		for _, x := range trs {
			tr := x.(map[string]any)
			if tr["event"] == event && tr["status"] == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q transition to %s in %v", user, event, status, trs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
