package core_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// A watcher in Go: bob subscribes to alice and hears her set a custom
// status and log out. Point Servers at your imstatusd (its development
// app is SDKAppID 1400000000, its key in the log at start); UserSigs come
// from your backend (usersig.Generate) or `imstatusd usersig`. Here a real
// server runs in-process on loopback so that `go test` runs the example.
func Example() {
	const app = 1400000000
	addr, key, stop := exampleServer(app)
	defer stop()
	sig := func(user string) string {
		s, err := usersig.Generate(key, app, user, time.Hour, time.Now())
		if err != nil {
			log.Fatal(err)
		}
		return s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Events come on one goroutine, in order; hand them on, never block.
	heard := make(chan wire.Status, 16)
	bob, err := core.New(core.Config{SDKAppID: app, Servers: []string{addr}, Platform: "Linux",
		OnEvent: func(e core.Event) {
			if ch, ok := e.(core.StatusChanged); ok {
				for _, st := range ch.Statuses {
					if st.UserID == "alice" {
						heard <- st
					}
				}
			}
		}})
	if err != nil {
		log.Fatal(err)
	}
	defer bob.Close()
	alice, err := core.New(core.Config{SDKAppID: app, Servers: []string{addr}, Platform: "Windows"})
	if err != nil {
		log.Fatal(err)
	}
	defer alice.Close()

	// Login returns once the server has answered; calls made before
	// then fail (6014, not logged in).
	if err := alice.Login(ctx, "alice", sig("alice")); err != nil {
		log.Fatal(err)
	}
	if err := bob.Login(ctx, "bob", sig("bob")); err != nil {
		log.Fatal(err)
	}
	// A subscription reports the current status at once, then each change.
	if err := bob.Subscribe(ctx, []string{"alice"}); err != nil {
		log.Fatal(err)
	}
	next := func() {
		st := <-heard
		fmt.Printf("alice is %v %q on %v\n", st.Type, st.Custom, st.Devices)
	}
	next()
	if err := alice.SetSelfStatus(ctx, "in a match"); err != nil {
		log.Fatal(err)
	}
	next()
	if err := alice.Logout(ctx); err != nil {
		log.Fatal(err)
	}
	next()

	// An error is a *wire.Error with upstream's code and desc.
	err = bob.Subscribe(ctx, []string{"nobody"})
	var we *wire.Error
	if errors.As(err, &we) {
		fmt.Println(we.Code, we.Desc)
	}
	// Output:
	// alice is ONLINE "" on [Windows]
	// alice is ONLINE "in a match" on [Windows]
	// alice is UNLOGINED "" on []
	// 70107 no such account: nobody
}

// exampleServer runs imstatusd's server on a loopback port with one app,
// every switch on, as `imstatusd` alone runs its development app.
func exampleServer(app uint64) (addr, key string, stop func()) {
	on := true
	key = "example-key-not-a-secret"
	cfg := server.AppConfig{SDKAppID: app, SecretKey: key, Edition: "ultimate", UserStatusEnabled: &on}.WithDefaults()
	srv, err := server.New(server.Options{Apps: []server.AppConfig{cfg},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	return ln.Addr().String(), key, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		srv.Shutdown(ctx)
	}
}
