package server_test

import (
	"bytes"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/wire"
)

// The server's hot paths through real WebSockets on loopback, the client
// side kept to raw frames so the figures are the server's. imbench runs the
// same paths at scale against the binary; these are for profiling one path
// (go test -bench . -cpuprofile) and for comparing commits.

// newBenchEnv is a server whose one app has every feature on and no
// practical rate limit.
func newBenchEnv(b testing.TB) *env {
	return newEnvWith(b, server.Options{Apps: []server.AppConfig{{SDKAppID: testApp, SecretKey: testKey,
		Edition: "ultimate", UserStatusEnabled: on(), RateLimitCalls: 1 << 30}}})
}

// rawLogin dials and logs user in, leaving the socket to the caller.
func (e *env) rawLogin(user string) *websocket.Conn {
	e.t.Helper()
	d := websocket.Dialer{Subprotocols: []string{wire.Subprotocol}, HandshakeTimeout: wait}
	ws, _, err := d.Dial(e.wsURL(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { ws.Close() })
	login := `{"seq":1,"op":"login","body":{"v":1,"sdkappid":` + strconv.Itoa(testApp) + `,"user_id":"` + user +
		`","user_sig":"` + e.sig(user) + `","platform":"Linux"}}`
	rawCall(e.t, ws, []byte(login))
	return ws
}

// rawCall writes req and reads frames up to its reply, which must be a
// success.
func rawCall(t testing.TB, ws *websocket.Conn, req []byte) []byte {
	if err := ws.WriteMessage(websocket.TextMessage, req); err != nil {
		t.Fatal(err)
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(msg[:min(len(msg), 40)], []byte(`"op":"reply"`)) { // pushes are skipped
			// Only the code: validating all of a 500-status answer would
			// cost this client more than the server spends on it.
			if code := gjson.GetBytes(msg, "code"); code.Type != gjson.Number || code.Int() != 0 {
				t.Fatalf("reply %.200s", msg)
			}
			return msg
		}
	}
}

func idsRequest(op wire.Op, ids []string) []byte { return idsRequestSeq(op, ids, 2) }

func idsRequestSeq(op wire.Op, ids []string, seq uint64) []byte {
	return []byte(`{"seq":` + strconv.FormatUint(seq, 10) + `,"op":"` + string(op) + `","body":{"ids":["` + strings.Join(ids, `","`) + `"]}}`)
}

// BenchmarkGetStatus500 is one GetUserStatus of 500 ids, round trip.
func BenchmarkGetStatus500(b *testing.B) {
	e := newBenchEnv(b)
	targets := names("someone_", 500)
	e.importAccounts(targets...)
	e.importAccounts("asker")
	ws := e.rawLogin("asker")
	req := idsRequest(wire.OpGetStatus, targets)
	b.ReportAllocs()
	for b.Loop() {
		rawCall(b, ws, req)
	}
}

// BenchmarkResubscribe200 is a client restoring 200 subscriptions (two
// calls of 100) that the server still holds: what each client of a
// reconnect storm asks.
func BenchmarkResubscribe200(b *testing.B) {
	e := newBenchEnv(b)
	targets := names("someone_", 200)
	e.importAccounts(targets...)
	e.importAccounts("owner")
	ws := e.rawLogin("owner")
	reqs := [][]byte{idsRequest(wire.OpSubscribe, targets[:100]), idsRequest(wire.OpSubscribe, targets[100:])}
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range reqs {
			rawCall(b, ws, r)
		}
	}
}

// BenchmarkFanout1000 is one status change delivered to 1,000 online
// subscribers; an op ends when the last has read it.
func BenchmarkFanout1000(b *testing.B) {
	const n = 1000
	e := newBenchEnv(b)
	watchers := names("watcher_", n)
	e.importAccounts(watchers...)
	e.importAccounts("star")
	var got atomic.Int64
	sub := idsRequest(wire.OpSubscribe, []string{"star"})
	for _, w := range watchers {
		ws := e.rawLogin(w)
		rawCall(b, ws, sub)
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
				got.Add(1)
			}
		}()
	}
	star := e.rawLogin("star")
	// The watchers' readers may still see the pushes of the set-up.
	time.Sleep(100 * time.Millisecond)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		want := got.Load() + n
		rawCall(b, star, []byte(`{"seq":3,"op":"set_status","body":{"user_status_custom_status":"`+strconv.Itoa(i)+`"}}`))
		for got.Load() < want {
			time.Sleep(20 * time.Microsecond)
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "deliveries/s")
}
