package core_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
)

// BenchmarkPropagation is one SetSelfStatus until a subscriber's OnEvent
// sees it, both clients in this process, the server too: what the core
// adds to a notification, for profiling (imbench measures it between
// processes against an echo baseline).
func BenchmarkPropagation(b *testing.B) {
	for _, inline := range []bool{false, true} {
		b.Run("inline="+strconv.FormatBool(inline), func(b *testing.B) {
			s := testserver.Start(b, func(a *server.AppConfig) { a.RateLimitCalls = 1 << 30 })
			s.Srv.ImportAccounts(testApp, "x", "w")
			seen := make(chan string, 16)
			w, err := core.New(core.Config{SDKAppID: testApp, Servers: []string{s.Addr}, Platform: "Linux", Logger: quiet,
				InlineEvents: inline,
				OnEvent: func(e core.Event) {
					if sc, ok := e.(core.StatusChanged); ok {
						for _, st := range sc.Statuses {
							if st.UserID == "x" {
								seen <- st.Custom
							}
						}
					}
				}})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			x, err := core.New(core.Config{SDKAppID: testApp, Servers: []string{s.Addr}, Platform: "Linux", Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer x.Close()
			ctx := context.Background()
			if err := w.Login(ctx, "w", s.Sig("w", time.Hour)); err != nil {
				b.Fatal(err)
			}
			if err := x.Login(ctx, "x", s.Sig("x", time.Hour)); err != nil {
				b.Fatal(err)
			}
			if err := w.Subscribe(ctx, []string{"x"}); err != nil {
				b.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			for len(seen) > 0 {
				<-seen
			}
			i := 0
			for b.Loop() {
				i++
				want := strconv.Itoa(i)
				if err := x.SetSelfStatus(ctx, want); err != nil {
					b.Fatal(err)
				}
				for got := <-seen; got != want; got = <-seen {
				}
			}
		})
	}
}
