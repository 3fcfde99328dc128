package sdk

import (
	"sync"
	"testing"
	"time"

	"github.com/imstatus/imstatus/internal/testserver"
)

// FuzzCallOrder drives the SDK, as the C entry points do, with a fuzzed
// program of calls against a real server: Init, Uninit, Login, Logout, the
// status calls, SetConfig and the experimental API, their JSON fuzzed, some
// of them made again from inside a callback. Every call that returned
// TIM_SUCC must have had exactly one callback by the time Uninit returns,
// a call that did not, none; and no callback may come after.
func FuzzCallOrder(f *testing.F) {
	for _, seed := range []struct {
		prog []byte
		arg  string
	}{
		{[]byte{0, 1, 3, 4, 5, 6, 2, 9}, `["u"]`},
		{[]byte{0, 1, 14, 9, 0, 1, 4, 9}, `{"user_status_custom_status":"x"}`},
		{[]byte{7, 8, 0, 7, 8, 9, 9}, `{"set_config_log_level":6}`},
		{[]byte{0, 4, 1, 1, 2, 2, 19, 0}, `[`},
	} {
		f.Add(seed.prog, seed.arg)
	}
	s := testserver.Start(f)
	sig := s.Sig("u", time.Hour)
	f.Fuzz(func(t *testing.T, prog []byte, arg string) {
		if len(prog) > 24 {
			prog = prog[:24]
		}
		sd := sdkOn(s)
		var mu sync.Mutex
		got := map[int]int{}   // callbacks by call
		want := map[int]bool{} // the calls that returned TIM_SUCC
		next := 0
		var call func(op byte) // one call, its callback recorded
		call = func(op byte) {
			mu.Lock()
			id := next
			next++
			mu.Unlock()
			cb := func(int, string, string) {
				mu.Lock()
				got[id]++
				mu.Unlock()
				if op >= 10 { // a call made from inside this callback
					call(op % 10)
				}
			}
			r := Succ
			switch op % 10 {
			case 0:
				sd.Init(testserver.App, "")
				return
			case 1:
				r = sd.Login("u", sig, cb)
			case 2:
				r = sd.Logout(cb)
			case 3:
				r = sd.SetSelfStatus(arg, cb)
			case 4:
				r = sd.GetUserStatus(arg, cb)
			case 5:
				r = sd.SubscribeUserStatus(arg, cb)
			case 6:
				r = sd.UnsubscribeUserStatus(arg, cb)
			case 7:
				r = sd.SetConfig(arg, cb)
			case 8:
				r = sd.Experimental(arg, cb)
			case 9:
				sd.Uninit()
				return
			}
			if r == Succ {
				mu.Lock()
				want[id] = true
				mu.Unlock()
			}
		}
		for _, op := range prog {
			call(op % 20)
		}
		sd.Uninit()
		mu.Lock()
		settled := len(got)
		for id, n := range got {
			if n != 1 || !want[id] {
				t.Errorf("call %d: %d callbacks (returned TIM_SUCC: %v)", id, n, want[id])
			}
		}
		for id := range want {
			if got[id] == 0 {
				t.Errorf("call %d returned TIM_SUCC but had no callback by the end of Uninit", id)
			}
		}
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if len(got) != settled {
			t.Errorf("callbacks came after Uninit returned")
		}
	})
}
