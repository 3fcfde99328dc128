package server_test

import (
	"bytes"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// Reload takes a new apps file: a changed key holds for new logins (a
// device logged in stays), a new app serves, a removed one's connections
// are closed and its logins refused, one added back serves again, and an
// invalid file changes nothing.
func TestReload(t *testing.T) {
	e := newEnv(t)
	const other = testApp + 1
	sigWith := func(key string, app uint64, user string) string {
		s, err := usersig.Generate(key, app, user, time.Hour, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	login := func(app uint64, key, user string, want int) *client {
		t.Helper()
		c := e.dial()
		c.user = user
		body := e.loginBody(user, loginOpts{sig: sigWith(key, app, user)})
		body["sdkappid"] = app
		c.mustCall(want, wire.OpLogin, body)
		return c
	}
	reload := func(apps ...server.AppConfig) ([]uint64, []uint64, []uint64, error) {
		return e.srv.Reload(apps)
	}
	a := login(testApp, testKey, "a", 0)

	const newKey = "a-new-key-of-at-least-sixteen-bytes"
	changed := e.app
	changed.SecretKey = newKey
	second := server.AppConfig{SDKAppID: other, SecretKey: "the-second-app-key-0123", Edition: "ultimate", UserStatusEnabled: on()}
	if _, _, _, err := reload(changed, server.AppConfig{SDKAppID: other}); err == nil {
		t.Fatal("an app without a key was taken")
	}
	login(testApp, testKey, "b", 0) // the invalid set changed nothing
	added, chg, removed, err := reload(changed, second)
	if err != nil || !slices.Equal(added, []uint64{other}) || !slices.Equal(chg, []uint64{testApp}) || len(removed) != 0 {
		t.Fatalf("Reload = %v %v %v, %v; want added [%d], changed [%d]", added, chg, removed, err, other, testApp)
	}
	login(testApp, testKey, "c", wire.CodeSigInvalid)
	login(testApp, newKey, "c", 0)
	login(other, second.SecretKey, "d", 0)
	if st := a.statuses("a")[0]; st.Type != wire.StatusOnline {
		t.Fatalf("a, logged in before the reload: %+v", st)
	}

	_, _, removed, err = reload(second)
	if err != nil || !slices.Equal(removed, []uint64{testApp}) {
		t.Fatalf("Reload = removed %v, %v; want [%d]", removed, err, testApp)
	}
	if ce := a.waitClosed(); ce == nil || ce.Code != 1001 {
		t.Fatalf("a's link after its app was removed: %v, want closed 1001", ce)
	}
	login(testApp, newKey, "e", wire.CodeSigSDKAppID)

	added, _, _, err = reload(changed, second)
	if err != nil || !slices.Equal(added, []uint64{testApp}) {
		t.Fatalf("Reload = added %v, %v; want [%d] back", added, err, testApp)
	}
	e2 := login(testApp, newKey, "e", 0)
	w := login(testApp, newKey, "w", 0)
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"e"}})
	w.expect("e", wire.StatusOnline, "", "Windows")
	e2.setStatus("back")
	w.expect("e", wire.StatusOnline, "back", "Windows")
}

// Every refused login is logged at info with the app, the user, the
// remote address and the reason.
func TestRefusedLoginsAreLogged(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	e := newEnvWith(t, server.Options{Apps: []server.AppConfig{fullApp()},
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, nil))})
	c := e.dial()
	c.mustCall(wire.CodeSigInvalid, wire.OpLogin, e.loginBody("mallory", loginOpts{sig: "forged"}))
	body := e.loginBody("eve", loginOpts{})
	body["sdkappid"] = 42
	c.mustCall(wire.CodeSigSDKAppID, wire.OpLogin, body)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{
		`level=INFO msg="login refused" sdkappid=` + strconv.FormatUint(testApp, 10) + ` user=mallory addr=127.0.0.1 code=70003`,
		`level=INFO msg="login refused" sdkappid=42 user=eve addr=127.0.0.1 code=70014 reason="unknown SDKAppID"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
