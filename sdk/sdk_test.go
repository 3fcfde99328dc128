package sdk

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/wire"
)

// results records the results of calls, each by its own key.
type results struct {
	t  *testing.T
	mu sync.Mutex
	n  map[string]int
	r  map[string]res
	ch chan string
}

type res struct {
	code       int
	desc, json string
}

func newResults(t *testing.T) *results {
	return &results{t: t, n: map[string]int{}, r: map[string]res{}, ch: make(chan string, 1000)}
}

// cb returns the callback of call key.
func (r *results) cb(key string) Result {
	return func(code int, desc, json string) {
		r.mu.Lock()
		r.n[key]++
		r.r[key] = res{code, desc, json}
		r.mu.Unlock()
		r.ch <- key
	}
}

// wait returns the result of call key.
func (r *results) wait(key string) res {
	r.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		got, ok := r.r[key]
		r.mu.Unlock()
		if ok {
			return got
		}
		select {
		case <-r.ch:
		case <-deadline:
			r.t.Fatalf("no result for %s", key)
		}
	}
}

func newSDK(t *testing.T, s *testserver.Server) *SDK {
	sd := sdkOn(s)
	t.Cleanup(func() { sd.Uninit() })
	return sd
}

// sdkOn returns an SDK whose server is s, with short reconnect backoffs.
func sdkOn(s *testserver.Server) *SDK {
	return &SDK{Dispatcher: Dispatcher{ThreadID: tid}, Getenv: func(k string) string {
		if k == ServerAddrEnv {
			return s.Addr
		}
		return ""
	}, ClientConfig: func(c *core.Config) { c.BackoffMin, c.BackoffMax = 10*time.Millisecond, 100*time.Millisecond }}
}

// check runs fn (an API function taking a callback) and checks that it
// returns TIM_SUCC and its callback comes with wantCode (exactly once: see
// the counts at the end of the tests).
func check(t *testing.T, r *results, key string, fn func(Result) int, wantCode int) res {
	t.Helper()
	if got := fn(r.cb(key)); got != Succ {
		t.Fatalf("%s returned %d, want TIM_SUCC", key, got)
	}
	got := r.wait(key)
	if got.code != wantCode {
		t.Fatalf("%s: code %d (%s), want %d", key, got.code, got.desc, wantCode)
	}
	if wantCode != 0 && got.desc == "" {
		t.Fatalf("%s: error without a desc", key)
	}
	return got
}

func TestSyncCodes(t *testing.T) {
	s := testserver.Start(t)
	sd := newSDK(t, s)
	never := func(int, string, string) { t.Error("a callback fired for a call that did not return TIM_SUCC") }
	before := map[string]func() int{
		"Login":       func() int { return sd.Login("u", "sig", never) },
		"Logout":      func() int { return sd.Logout(never) },
		"SetSelf":     func() int { return sd.SetSelfStatus(`{}`, never) },
		"Get":         func() int { return sd.GetUserStatus(`["a"]`, never) },
		"Subscribe":   func() int { return sd.SubscribeUserStatus(`["a"]`, never) },
		"Unsubscribe": func() int { return sd.UnsubscribeUserStatus(`["a"]`, never) },
	}
	for name, f := range before {
		if got := f(); got != ErrSDKUninit {
			t.Errorf("%s before Init: %d, want %d", name, got, ErrSDKUninit)
		}
	}
	if _, r := sd.LoginUserID(); r != ErrSDKUninit {
		t.Errorf("LoginUserID before Init: %d", r)
	}
	for _, tc := range []struct {
		app    uint64
		config string
		want   int
	}{
		{0, "", ErrParam}, {testserver.App, "not json", ErrJSON}, {testserver.App, "[]", ErrJSON},
		{testserver.App, "nul", ErrJSON}, {testserver.App, "null null", ErrJSON}, {testserver.App, `"null"`, ErrJSON},
		{testserver.App, " null\n", Succ}, {testserver.App, "", Succ},
		{testserver.App, `{"sdk_config_device_type":"x"}`, Succ}, {testserver.App + 1, "", ErrParam},
		// What upstream's wrappers send: integer types, a thread id, an API type.
		{testserver.App, `{"sdk_config_config_file_path":"cfg","sdk_config_api_type":64,"sdk_config_brand_type":2,"sdk_config_main_thread_id":140234,"sdk_config_main_looper_pointer":1}`, Succ},
	} {
		if got := sd.Init(tc.app, tc.config); got != tc.want {
			t.Errorf("Init(%d, %q) = %d, want %d", tc.app, tc.config, got, tc.want)
		}
	}
	for name, f := range before {
		if name == "Login" {
			continue
		}
		if got := f(); got != ErrNotLogin {
			t.Errorf("%s before login: %d, want %d", name, got, ErrNotLogin)
		}
	}
	if sd.Login("bad id", "x", never) != ErrParam || sd.Login("", "x", never) != ErrParam {
		t.Error("Login with an invalid id must be TIM_ERR_PARAM")
	}
	r := newResults(t)
	check(t, r, "login", func(cb Result) int { return sd.Login("me", s.Sig("me", time.Hour), cb) }, 0)
	if sd.LoginStatus() != core.Logined {
		t.Fatal("not logged in after the login callback")
	}
	if id, rr := sd.LoginUserID(); rr != Succ || id != "me" {
		t.Fatalf("LoginUserID = %q, %d", id, rr)
	}
	for _, tc := range []struct {
		name string
		f    func() int
		want int
	}{
		{"set NULL", func() int { return sd.SetSelfStatus("", never) }, ErrParam},
		{"set not JSON", func() int { return sd.SetSelfStatus("{", never) }, ErrJSON},
		{"set array", func() int { return sd.SetSelfStatus("[]", never) }, ErrParam},
		{"set number custom", func() int { return sd.SetSelfStatus(`{"user_status_custom_status":1}`, never) }, ErrParam},
		{"get null", func() int { return sd.GetUserStatus("null", never) }, ErrParam},
		{"get empty", func() int { return sd.GetUserStatus("[]", never) }, ErrParam},
		{"get numbers", func() int { return sd.GetUserStatus("[1,2]", never) }, ErrParam},
		{"get bad id", func() int { return sd.GetUserStatus(`["a b"]`, never) }, ErrParam},
		{"get not JSON", func() int { return sd.GetUserStatus(`["a"`, never) }, ErrJSON},
		{"subscribe self", func() int { return sd.SubscribeUserStatus(`["x","me"]`, never) }, ErrParam},
		{"subscribe empty", func() int { return sd.SubscribeUserStatus(``, never) }, ErrParam},
		{"unsubscribe object", func() int { return sd.UnsubscribeUserStatus(`{}`, never) }, ErrParam},
		{"experimental empty", func() int { return sd.Experimental(``, never) }, ErrParam},
		{"experimental not JSON", func() int { return sd.Experimental(`{`, never) }, ErrJSON},
		{"experimental no op", func() int { return sd.Experimental(`{}`, never) }, ErrParam},
	} {
		if got := tc.f(); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	// Give a wrongly fired callback the chance to show up.
	check(t, r, "sync", func(cb Result) int { return sd.SetSelfStatus(`{"user_status_custom_status":null}`, cb) }, 0)
}

func TestAsyncResults(t *testing.T) {
	s := testserver.Start(t, func(a *server.AppConfig) { a.RateLimitCalls = 20 })
	s.Srv.ImportAccounts(testserver.App, "friend")
	sd := newSDK(t, s)
	var statusJSON []string
	var smu sync.Mutex
	statusArrived := make(chan struct{}, 100)
	sd.SetHandlers(func(h *Handlers) {
		h.StatusChanged = func(json string) {
			smu.Lock()
			statusJSON = append(statusJSON, json)
			smu.Unlock()
			statusArrived <- struct{}{}
		}
	})
	if sd.Init(testserver.App, "") != Succ {
		t.Fatal("Init")
	}
	r := newResults(t)
	check(t, r, "login", func(cb Result) int { return sd.Login("me", s.Sig("me", time.Hour), cb) }, 0)
	check(t, r, "set", func(cb Result) int { return sd.SetSelfStatus(`{"user_status_custom_status":"hi"}`, cb) }, 0)
	check(t, r, "set101", func(cb Result) int {
		return sd.SetSelfStatus(`{"user_status_custom_status":"`+strings.Repeat("x", 101)+`"}`, cb)
	}, wire.CodeInvalidParams)
	got := check(t, r, "get", func(cb Result) int { return sd.GetUserStatus(`["me","nobody"]`, cb) }, 0)
	arr := gjson.Parse(got.json).Array()
	if len(arr) != 2 || arr[0].Get("user_status_custom_status").Str != "hi" || arr[1].Get("user_status_status_type").Int() != 0 {
		t.Fatalf("get result %s", got.json)
	}
	many := `["` + strings.Repeat(`u","`, 500) + `u"]`
	check(t, r, "get501", func(cb Result) int { return sd.GetUserStatus(many, cb) }, wire.CodeBatchTooLarge)
	check(t, r, "sub", func(cb Result) int { return sd.SubscribeUserStatus(`["friend"]`, cb) }, 0)
	check(t, r, "sub-ghost", func(cb Result) int { return sd.SubscribeUserStatus(`["ghost"]`, cb) }, wire.CodeAccountNotFound)
	check(t, r, "unsub-all", func(cb Result) int { return sd.UnsubscribeUserStatus(`null`, cb) }, 0)
	// The status callback saw our own change and the subscribed user's state.
	deadline := time.After(10 * time.Second)
	for {
		smu.Lock()
		all := strings.Join(statusJSON, "\n")
		smu.Unlock()
		if strings.Contains(all, `"user_status_custom_status":"hi"`) && strings.Contains(all, `"user_status_identifier":"friend"`) {
			break
		}
		select {
		case <-statusArrived:
		case <-deadline:
			t.Fatalf("status callbacks: %s", all)
		}
	}
	// Rate limit: GetUserStatus of others, 20 per window (the server said
	// so); "get" above was the first.
	for i := range 19 {
		check(t, r, "rl"+string(rune('a'+i)), func(cb Result) int { return sd.GetUserStatus(`["friend"]`, cb) }, 0)
	}
	check(t, r, "rl-over", func(cb Result) int { return sd.GetUserStatus(`["friend"]`, cb) }, wire.CodeRateLimited)
	check(t, r, "logout", func(cb Result) int { return sd.Logout(cb) }, 0)
	if sd.LoginStatus() != core.UnLogined {
		t.Fatal("still logged in")
	}
	// Every callback fired exactly once.
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, n := range r.n {
		if n != 1 {
			t.Errorf("%s fired %d times", k, n)
		}
	}
}

// A result is held until the API function releases it on its way out.
func TestResultHeldUntilRelease(t *testing.T) {
	sd := &SDK{Dispatcher: Dispatcher{ThreadID: tid}}
	sd.Dispatcher.Start()
	defer sd.Dispatcher.Stop()
	var ran atomic.Int32
	k := sd.begin(func(int, string, string) { ran.Add(1) })
	k.finish(0, "", "")
	time.Sleep(20 * time.Millisecond) // a negative check
	if ran.Load() != 0 {
		t.Fatal("the result ran before release")
	}
	k.release()
	waitFor(t, "the released result", func() bool { return ran.Load() == 1 })
	// Finished after release: posted at once.
	k2 := sd.begin(func(int, string, string) { ran.Add(1) })
	k2.release()
	k2.finish(0, "", "")
	waitFor(t, "the second result", func() bool { return ran.Load() == 2 })
	// No callback: nothing to hold.
	k3 := sd.begin(nil)
	k3.finish(1, "x", "")
	k3.release()
}

func TestExperimental(t *testing.T) {
	sd := &SDK{Dispatcher: Dispatcher{ThreadID: tid}}
	t.Cleanup(func() { sd.Uninit() })
	r := newResults(t)
	// Before Init.
	check(t, r, "server", func(cb Result) int {
		return sd.Experimental(`{"request_internal_operation":"internal_operation_set_custom_server_info",
			"request_set_custom_server_info_param":{"longconnection_address_array":[
			{"server_address_ip":"127.0.0.1","server_address_port":9,"server_address_is_ipv6":false},
			{"server_address_ip":"::1","server_address_port":10,"server_address_is_ipv6":true}],"server_public_key":""}}`, cb)
	}, 0)
	if got := sd.servers; len(got) != 2 || got[0] != "127.0.0.1:9" || got[1] != "[::1]:10" {
		t.Fatalf("servers %v", got)
	}
	for name, body := range map[string]string{
		"no addresses": `{"request_internal_operation":"internal_operation_set_custom_server_info","request_set_custom_server_info_param":{"longconnection_address_array":[]}}`,
		"port 0":       `{"request_internal_operation":"internal_operation_set_custom_server_info","request_set_custom_server_info_param":{"longconnection_address_array":[{"server_address_ip":"a","server_address_port":0}]}}`,
		"unknown op":   `{"request_internal_operation":"internal_operation_make_coffee"}`,
	} {
		check(t, r, name, func(cb Result) int { return sd.Experimental(body, cb) }, wire.CodeInvalidParams)
	}
	check(t, r, "ui", func(cb Result) int {
		return sd.Experimental(`{"request_internal_operation":"internal_operation_set_ui_platform","request_set_ui_platform_param":27}`, cb)
	}, 0)
	check(t, r, "log", func(cb Result) int {
		return sd.Experimental(`{"request_internal_operation":"internal_operation_write_log","request_write_log_param":{"request_write_log_log_level_param":4,"request_write_log_log_content_param":"hello"}}`, cb)
	}, 0)
	// The address set before Init is used at Login: nothing listens there.
	if sd.Init(testserver.App, "") != Succ {
		t.Fatal("Init")
	}
	var netEvents []int
	var nmu sync.Mutex
	sd.SetHandlers(func(h *Handlers) {
		h.Network = func(st int, _ int, _ string) {
			nmu.Lock()
			netEvents = append(netEvents, st)
			nmu.Unlock()
		}
	})
	if sd.Login("u", "sig", r.cb("login")) != Succ {
		t.Fatal("Login")
	}
	waitFor(t, "a failed connection attempt", func() bool {
		nmu.Lock()
		defer nmu.Unlock()
		for _, e := range netEvents {
			if e == int(core.ConnectFailed) {
				return true
			}
		}
		return false
	})
}

// Calls pending at Uninit complete with 6013 before Uninit returns, and no
// callback of any kind runs after it.
func TestUninitCompletesPendingCalls(t *testing.T) {
	s := testserver.Start(t)
	sd := newSDK(t, s)
	var uninitDone atomic.Bool
	var late atomic.Int32
	sd.SetHandlers(func(h *Handlers) {
		h.StatusChanged = func(string) {
			if uninitDone.Load() {
				late.Add(1)
			}
		}
		h.Network = func(int, int, string) {
			if uninitDone.Load() {
				late.Add(1)
			}
		}
	})
	sd.Init(testserver.App, "")
	r := newResults(t)
	check(t, r, "login", func(cb Result) int { return sd.Login("me", s.Sig("me", time.Hour), cb) }, 0)
	s.Stop() // the client now waits for the link
	const n = 20
	var codes sync.Map
	var fired atomic.Int32
	for i := range n {
		sd.SetSelfStatus(`{"user_status_custom_status":"x"}`, func(code int, desc, _ string) {
			if uninitDone.Load() {
				late.Add(1)
			}
			codes.Store(i, code)
			fired.Add(1)
		})
	}
	sd.Uninit()
	uninitDone.Store(true)
	if got := fired.Load(); got != n {
		t.Fatalf("%d of %d pending callbacks ran before Uninit returned", got, n)
	}
	codes.Range(func(_, v any) bool {
		if v.(int) != wire.CodeSDKUninit {
			t.Errorf("pending call completed with %d, want 6013", v)
		}
		return true
	})
	s.Start("me")
	time.Sleep(300 * time.Millisecond) // a negative check: give stragglers their chance
	if late.Load() != 0 {
		t.Fatalf("%d callbacks ran after Uninit returned", late.Load())
	}
	// Init again works.
	if sd.Init(testserver.App, "") != Succ {
		t.Fatal("Init after Uninit")
	}
}

func TestLogFileAndCallback(t *testing.T) {
	s := testserver.Start(t)
	sd := newSDK(t, s)
	var mu sync.Mutex
	var lines []string
	levels := map[int]bool{}
	sd.SetHandlers(func(h *Handlers) {
		h.Log = func(level int, line string) {
			mu.Lock()
			lines = append(lines, line)
			levels[level] = true
			mu.Unlock()
		}
	})
	dir := t.TempDir() + "/logs"
	if sd.Init(testserver.App, `{"sdk_config_log_file_path":"`+dir+`"}`) != Succ {
		t.Fatal("Init")
	}
	r := newResults(t)
	check(t, r, "login", func(cb Result) int { return sd.Login("me", s.Sig("me", time.Hour), cb) }, 0)
	check(t, r, "log", func(cb Result) int {
		return sd.Experimental(`{"request_internal_operation":"internal_operation_write_log","request_write_log_param":{"request_write_log_log_level_param":5,"request_write_log_log_content_param":"from the app"}}`, cb)
	}, 0)
	check(t, r, "log-top", func(cb Result) int {
		return sd.Experimental(`{"request_internal_operation":"internal_operation_write_log","request_write_log_log_level_param":4,"request_write_log_log_content_param":"top level"}`, cb)
	}, 0)
	waitFor(t, "log lines", func() bool {
		mu.Lock()
		defer mu.Unlock()
		all := strings.Join(lines, "\n")
		return strings.Contains(all, "SDK initialised") && strings.Contains(all, "logged in") &&
			strings.Contains(all, "from the app") && strings.Contains(all, "top level")
	})
	mu.Lock()
	if !levels[LogInfo] || !levels[LogWarn] {
		t.Errorf("levels seen %v, want Info (4) and Warn (5)", levels)
	}
	mu.Unlock()
	sd.Uninit()
	files, _ := filepath.Glob(dir + "/imsdk_*.log")
	if len(files) != 1 {
		t.Fatalf("log files %v", files)
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), "SDK initialised") || !strings.Contains(string(b), "from the app") {
		t.Fatalf("log file:\n%s", b)
	}
}

// A panic in a call's work becomes that call's error, not the end of the host.
func TestPanicInCallBecomesError(t *testing.T) {
	sd := &SDK{Dispatcher: Dispatcher{ThreadID: tid}}
	sd.Dispatcher.Start()
	defer sd.Dispatcher.Stop()
	r := newResults(t)
	got := check(t, r, "boom", func(cb Result) int {
		return sd.start(cb, func(context.Context) (string, error) { panic("boom") })
	}, wire.CodeServerInternal)
	if !strings.Contains(got.desc, "boom") {
		t.Fatalf("desc %q", got.desc)
	}
}

// internal_operation_set_custom_server_info with a wss:// URL as the address
// and the server's certificate (PEM) as server_public_key: the login goes
// over TLS, trusting that certificate. Without the certificate the login
// fails, saying why; a PEM block that is not a certificate is refused.
func TestCustomServerInfoTLS(t *testing.T) {
	certPEM, _, pair := testserver.SelfSigned(t, 7)
	s := testserver.Start(t)
	s.Stop()
	s.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	s.Start("u")
	info := func(key string) string {
		k, _ := json.Marshal(key)
		return `{"request_internal_operation":"internal_operation_set_custom_server_info",
			"request_set_custom_server_info_param":{"longconnection_address_array":[
			{"server_address_ip":"wss://` + s.Addr + `/ws","server_address_port":0}],"server_public_key":` + string(k) + `}}`
	}
	r := newResults(t)

	sd := &SDK{Dispatcher: Dispatcher{ThreadID: tid}, ClientConfig: func(c *core.Config) {
		c.BackoffMin, c.BackoffMax, c.RequestTimeout = 10*time.Millisecond, 100*time.Millisecond, time.Second
	}}
	t.Cleanup(func() { sd.Uninit() })
	check(t, r, "bad pem", func(cb Result) int {
		return sd.Experimental(info("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), cb)
	}, wire.CodeInvalidParams)
	check(t, r, "untrusted", func(cb Result) int { return sd.Experimental(info("upstream-key"), cb) }, 0)
	if sd.Init(testserver.App, "") != Succ {
		t.Fatal("Init")
	}
	got := check(t, r, "login untrusted", func(cb Result) int { return sd.Login("u", s.Sig("u", time.Hour), cb) }, wire.CodeTimeout)
	if !strings.Contains(got.desc, "certificate") {
		t.Fatalf("login without trusting the certificate: %q; want the reason", got.desc)
	}
	check(t, r, "trusted", func(cb Result) int { return sd.Experimental(info(string(certPEM)), cb) }, 0)
	check(t, r, "login", func(cb Result) int { return sd.Login("u", s.Sig("u", time.Hour), cb) }, 0)
	check(t, r, "set", func(cb Result) int { return sd.SetSelfStatus(`{"user_status_custom_status":"over wss"}`, cb) }, 0)
	got = check(t, r, "get", func(cb Result) int { return sd.GetUserStatus(`["u"]`, cb) }, 0)
	if !strings.Contains(got.json, `"over wss"`) {
		t.Fatalf("GetUserStatus over TLS: %s", got.json)
	}
}

// In queued mode a host that pumps rarely gets, for a user who changed many
// times meanwhile, that user's latest status — not every change — in order.
func TestQueuedModeKeepsEachUsersLatestStatus(t *testing.T) {
	s := testserver.Start(t, func(a *server.AppConfig) { a.RateLimitCalls = 1 << 20 })
	s.Srv.ImportAccounts(testserver.App, "x")
	sd := newSDK(t, s)
	var mu sync.Mutex
	var seen []string // x's custom statuses, as the callbacks report them
	sd.SetHandlers(func(h *Handlers) {
		h.StatusChanged = func(json string) {
			mu.Lock()
			defer mu.Unlock()
			for _, st := range gjson.Parse(json).Array() {
				if st.Get("user_status_identifier").Str == "x" {
					seen = append(seen, st.Get("user_status_custom_status").Str)
				}
			}
		}
	})
	if sd.Init(testserver.App, "") != Succ {
		t.Fatal("Init")
	}
	r := newResults(t)
	check(t, r, "login", func(cb Result) int { return sd.Login("w", s.Sig("w", time.Hour), cb) }, 0)
	check(t, r, "sub", func(cb Result) int { return sd.SubscribeUserStatus(`["x"]`, cb) }, 0)
	waitFor(t, "x's first status", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) > 0 })

	sd.Dispatcher.SetQueued(true)
	mu.Lock()
	seen = nil
	mu.Unlock()
	x, err := core.New(core.Config{SDKAppID: testserver.App, Servers: []string{s.Addr}, Platform: "Linux"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	if err := x.Login(ctx, "x", s.Sig("x", time.Hour)); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		if err := x.SetSelfStatus(ctx, "change "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	// w's query is answered after every push of those changes reached w:
	// pumping until its result runs delivers them all.
	var done atomic.Bool
	if sd.GetUserStatus(`["x"]`, func(int, string, string) { done.Store(true) }) != Succ {
		t.Fatal("GetUserStatus")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !done.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the query's result never came")
		}
		sd.Dispatcher.Pump(0)
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 || seen[len(seen)-1] != "change "+strconv.Itoa(n-1) {
		t.Fatalf("x's statuses seen: %q; want the last change last", seen)
	}
	if len(seen) >= n {
		t.Fatalf("%d status callbacks for %d changes: waiting ones were not replaced", len(seen), n)
	}
	prev := -1
	for _, c := range seen {
		if num, ok := strings.CutPrefix(c, "change "); ok {
			k, _ := strconv.Atoi(num)
			if k < prev {
				t.Fatalf("x's statuses went back: %q", seen)
			}
			prev = k
		}
	}
	t.Logf("%d changes of x reached the host as %d callbacks", n, len(seen))
}

// JSON nested past wire.MaxDepth is refused with TIM_ERR_JSON by every entry
// point that takes JSON, before anything recurses into it. Without the bound
// 10 MB of "[" overflows the goroutine's stack: a fatal error that no
// recover catches, and this test process (like a host app) would die.
func TestDeepJSONIsRefused(t *testing.T) {
	s := testserver.Start(t)
	sd := newSDK(t, s)
	never := func(int, string, string) { t.Error("a callback fired for a refused call") }
	deep := strings.Repeat("[", 10<<20)
	deepObj := strings.Repeat(`{"user_status_custom_status":`, wire.MaxDepth+1)
	if got := sd.Init(testserver.App, deepObj+"1"+strings.Repeat("}", wire.MaxDepth+1)); got != ErrJSON {
		t.Errorf("Init with a deep config: %d, want %d", got, ErrJSON)
	}
	if got := sd.Init(testserver.App, deep); got != ErrJSON {
		t.Errorf("Init with 10 MB of [: %d, want %d", got, ErrJSON)
	}
	if got := sd.Experimental(deep, never); got != ErrJSON {
		t.Errorf("Experimental: %d, want %d", got, ErrJSON)
	}
	if got := sd.Init(testserver.App, ""); got != Succ {
		t.Fatalf("Init: %d", got)
	}
	r := newResults(t)
	check(t, r, "login", func(cb Result) int { return sd.Login("me", s.Sig("me", time.Hour), cb) }, 0)
	for name, f := range map[string]func(string) int{
		"SetSelf":      func(j string) int { return sd.SetSelfStatus(j, never) },
		"Get":          func(j string) int { return sd.GetUserStatus(j, never) },
		"Subscribe":    func(j string) int { return sd.SubscribeUserStatus(j, never) },
		"Unsubscribe":  func(j string) int { return sd.UnsubscribeUserStatus(j, never) },
		"Experimental": func(j string) int { return sd.Experimental(j, never) },
	} {
		if got := f(deep); got != ErrJSON {
			t.Errorf("%s with 10 MB of [: %d, want %d", name, got, ErrJSON)
		}
		if got := f(`{"a":` + deep); got != ErrJSON {
			t.Errorf("%s with a deep member: %d, want %d", name, got, ErrJSON)
		}
	}
	// Within the bound the same shapes are read, and refused for what they are.
	if got := sd.GetUserStatus(strings.Repeat("[", wire.MaxDepth)+`"a"`+strings.Repeat("]", wire.MaxDepth), never); got != ErrParam {
		t.Errorf("Get with nested arrays within the bound: %d, want %d", got, ErrParam)
	}
	check(t, r, "still working", func(cb Result) int { return sd.GetUserStatus(`["me"]`, cb) }, 0)
}
