package server_test

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync"
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
// newBenchEnv: no rate limit, no fan-out cap (the same users change
// again and again, faster than any cap).
func newBenchEnv(b testing.TB) *env {
	return newEnvWith(b, server.Options{Apps: []server.AppConfig{{SDKAppID: testApp, SecretKey: testKey,
		Edition: "ultimate", UserStatusEnabled: on(), RateLimitCalls: 1 << 30,
		FanoutsPerSecond: noFanoutCap, FanoutBurst: noFanoutCap}}})
}

// noFanoutCap, as fanouts_per_second and fanout_burst, turns the per-user
// fan-out cap off for tests of something else that change one user fast,
// under a clock that does not move.
const noFanoutCap = 1 << 30

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

// BenchmarkNeighbourOfAFlood is one status change of a user, heard by b, while
// another user with 500 online subscribers logs in and out as fast as it
// can: what that flood costs everyone else. With the per-user fan-out cap
// (fanouts_per_second, the default) the flood reaches its subscribers a
// few times a second; "uncapped" is the server without it. Reports the
// propagation p50 and p99.
func BenchmarkNeighbourOfAFlood(b *testing.B) {
	for _, bc := range []struct {
		name        string
		rate, burst int
	}{{"uncapped", noFanoutCap, noFanoutCap}, {"capped", server.DefaultFanoutsPerSecond, server.DefaultFanoutBurst}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnvWith(b, server.Options{Apps: []server.AppConfig{{SDKAppID: testApp, SecretKey: testKey,
				Edition: "ultimate", UserStatusEnabled: on(), RateLimitCalls: 1 << 30, MaxSubscriptions: 1000,
				FanoutsPerSecond: bc.rate, FanoutBurst: bc.burst}}})
			fans := names("fan_", 500)
			e.importAccounts(fans...)
			e.importAccounts("flooder", "b")
			sub := idsRequest(wire.OpSubscribe, []string{"flooder"})
			for _, f := range fans {
				ws := e.rawLogin(f)
				rawCall(b, ws, sub)
				go func() {
					for {
						if _, _, err := ws.ReadMessage(); err != nil {
							return
						}
					}
				}()
			}
			// The server's sweeps, on the test's clock, ten times a second.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
						e.clock.Advance(100 * time.Millisecond)
						e.srv.Sweep()
					}
				}
			})
			// The flood: log in, log out, on one link, as fast as answered.
			fl := e.rawLogin("flooder")
			login := []byte(`{"seq":3,"op":"login","body":{"v":1,"sdkappid":` + strconv.Itoa(testApp) +
				`,"user_id":"flooder","user_sig":"` + e.sig("flooder") + `","platform":"Linux"}}`)
			logout := []byte(`{"seq":4,"op":"logout"}`)
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if fl.WriteMessage(websocket.TextMessage, logout) != nil || fl.WriteMessage(websocket.TextMessage, login) != nil {
						return
					}
					for range 2 { // the two replies (and the own-status pushes between)
						for {
							_, msg, err := fl.ReadMessage()
							if err != nil {
								return
							}
							if bytes.Contains(msg[:min(len(msg), 40)], []byte(`"op":"reply"`)) {
								break
							}
						}
					}
				}
			})
			// The pair: b hears 1,000 users who take turns, each changing a
			// few times a second, under the cap like any normal user.
			speakers := names("a_", 1000)
			e.importAccounts(speakers...)
			as := make([]*websocket.Conn, len(speakers))
			for i, u := range speakers {
				as[i] = e.rawLogin(u)
			}
			bw := e.rawLogin("b")
			for ids := range slices.Chunk(speakers, 100) {
				rawCall(b, bw, idsRequest(wire.OpSubscribe, ids))
			}
			var lat []time.Duration
			pushes0, began0 := e.scrape()["imstatus_status_pushes_total"], time.Now()
			for i := 0; b.Loop(); i++ {
				custom := "m" + strconv.Itoa(i)
				a := as[i%len(as)]
				began := time.Now()
				if err := a.WriteMessage(websocket.TextMessage, []byte(`{"seq":9,"op":"set_status","body":{"user_status_custom_status":"`+custom+`"}}`)); err != nil {
					b.Fatal(err)
				}
				for {
					_, msg, err := bw.ReadMessage()
					if err != nil {
						b.Fatal(err)
					}
					if bytes.Contains(msg, []byte(`"`+custom+`"`)) {
						break
					}
				}
				lat = append(lat, time.Since(began))
				for { // a's reply
					_, msg, err := a.ReadMessage()
					if err != nil {
						b.Fatal(err)
					}
					if bytes.Contains(msg[:min(len(msg), 40)], []byte(`"op":"reply"`)) {
						break
					}
				}
			}
			pushes := float64(e.scrape()["imstatus_status_pushes_total"]-pushes0) / time.Since(began0).Seconds()
			close(stop)
			fl.Close()
			wg.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(pushes, "pushes/s")
		})
	}
}
