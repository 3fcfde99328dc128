package server_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/imstatus/imstatus/internal/redistest"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/redisstore"
	"github.com/imstatus/imstatus/wire"
)

// A node that stored a change and died before publishing it: the node that
// sweeps its lease sends the status again, though the sweep changed
// nothing of it, and watchers hear what was stored.
func TestSweepSendsWhatADeadNodeMayNotHavePublished(t *testing.T) {
	rdb := redistest.Standalone(t)
	const prefix = "imstatus-resend"
	e := newEnvWith(t, server.Options{
		Apps:     []server.AppConfig{fullApp()},
		NodeID:   "alive",
		LeaseTTL: 15 * time.Second,
		Backend: func(a server.AppConfig) (presence.Backend, error) {
			return redisstore.NewBackend(rdb, prefix, a.SDKAppID, slog.New(slog.NewTextHandler(io.Discard, nil))), nil
		},
	})
	e.importAccounts("u")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"u"}})
	w.expect("u", wire.StatusUnlogined, "")

	// The dead node, as its store calls left things: u logged in on it
	// and set a custom status, stored but never published.
	ctx, now := t.Context(), e.clock.Now()
	dead := redisstore.NewStore(rdb, prefix, testApp)
	if _, err := dead.RenewLease(ctx, "dead", now, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	key := presence.DeviceKey{Node: "dead", Conn: 1}
	if _, _, err := dead.Login(ctx, "u", presence.Device{Key: key, Platform: "Web"}, presence.PerPlatform, now); err != nil {
		t.Fatal(err)
	}
	if _, err := dead.SetCustom(ctx, "u", "stored, never published", now); err != nil {
		t.Fatal(err)
	}
	// u logs in on the live node on the same platform: it replaces the
	// dead node's device, and its status does not change, so nothing is
	// published.
	e.login("u", loginOpts{platform: "Web"})
	w.quiet()

	e.clock.Advance(16 * time.Second)
	e.srv.Sweep() // the live node renews, leads, and ends the dead node's lease
	w.expect("u", wire.StatusOnline, "stored, never published", "Web")
}
