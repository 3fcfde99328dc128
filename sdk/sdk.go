// Package sdk implements the contract of the upstream SDK's C API — result
// codes, JSON arguments, callback rules — over core, in plain Go. capi is a
// thin cgo layer that turns C values into the arguments here and C function
// pointers into the Go callbacks here; everything it exports is testable
// from Go through this package.
package sdk

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// The synchronous results (enum TIMResult).
const (
	Succ         = 0
	ErrSDKUninit = -1
	ErrNotLogin  = -2
	ErrJSON      = -3
	ErrParam     = -4
)

// Result receives an asynchronous result: the TIMCommCallback of one call
// with its user_data bound. nil means the caller passed no callback.
type Result func(code int, desc, json string)

// Handlers are the registered listeners. A nil field means none.
type Handlers struct {
	StatusChanged func(json string)
	Network       func(status int, code int, desc string) // status: enum TIMNetworkStatus
	Kicked        func()
	SigExpired    func()
	Log           func(level int, line string)
}

// ServerAddrEnv names the environment variable read at login when no
// address was set through the experimental API.
const ServerAddrEnv = "IMSDK_SERVER_ADDR"

// SDK is one process's SDK state, as the C API sees it.
type SDK struct {
	// Dispatcher delivers every callback.
	Dispatcher Dispatcher
	// Getenv reads the environment; default os.Getenv.
	Getenv func(string) string
	// ClientConfig, when set, adjusts each client's configuration (tests
	// shorten backoffs and heartbeats with it).
	ClientConfig func(*core.Config)

	mu       sync.Mutex
	handlers Handlers
	client   *core.Client
	appID    uint64
	servers  []string
	// tlsConfig trusts the certificates given in server_public_key, or
	// is nil (the system's authorities).
	tlsConfig *tls.Config
	logs      *logSink
	settings  settings // TIMSetConfig's
	closing   bool
	inflight  sync.WaitGroup
}

func (s *SDK) getenv(k string) string {
	if s.Getenv != nil {
		return s.Getenv(k)
	}
	return os.Getenv(k)
}

// SetHandlers replaces the registered listeners; they persist across
// Init/Uninit until changed.
func (s *SDK) SetHandlers(f func(*Handlers)) {
	s.mu.Lock()
	f(&s.handlers)
	s.mu.Unlock()
}

func (s *SDK) handler() Handlers {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handlers
}

// call is one asynchronous call. Its result reaches the dispatcher only
// after the API function has returned TIM_SUCC: release, deferred by the
// function, opens the gate.
type call struct {
	s  *SDK
	cb Result

	mu       sync.Mutex
	released bool
	result   func()
}

func (s *SDK) begin(cb Result) *call { return &call{s: s, cb: cb} }

// start runs op for a call that has passed its checks, and returns TIM_SUCC.
func (s *SDK) start(cb Result, op func(ctx context.Context) (string, error)) int {
	return s.startCtx(context.Background(), cb, op)
}

// startCtx is start with op's context given, e.g. one holding the call's
// place in the client's order (core.Client.Reserve).
func (s *SDK) startCtx(ctx context.Context, cb Result, op func(ctx context.Context) (string, error)) int {
	k := s.begin(cb)
	defer k.release()
	k.async(ctx, op)
	return Succ
}

// fail answers a call that passed its synchronous checks with err, through
// its callback, and returns TIM_SUCC.
func (s *SDK) fail(cb Result, err error) int {
	return s.start(cb, func(context.Context) (string, error) { return "", err })
}

// release is deferred by the API function; a result that is ready goes now.
func (c *call) release() {
	c.mu.Lock()
	c.released = true
	f := c.result
	c.result = nil
	c.mu.Unlock()
	if f != nil {
		f()
	}
}

// finish posts the result, or holds it until release. Results of calls
// still pending when Uninit runs become 6013.
func (c *call) finish(code int, desc, json string) {
	if c.cb == nil {
		return
	}
	c.s.mu.Lock()
	if c.s.closing && code != 0 {
		code, desc = wire.CodeSDKUninit, "SDK uninitialised while the call was pending"
	}
	c.s.mu.Unlock()
	cb := c.cb
	post := func() { c.s.Dispatcher.Post(func() { cb(code, desc, json) }) }
	c.mu.Lock()
	if !c.released {
		c.result = post
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	post()
}

// async runs op on its own goroutine and finishes the call with its result.
func (c *call) async(ctx context.Context, op func(ctx context.Context) (string, error)) {
	c.s.inflight.Add(1)
	go func() {
		defer c.s.inflight.Done()
		// A panic here would end the host process: it becomes the call's
		// error instead.
		defer func() {
			if r := recover(); r != nil {
				c.finish(wire.CodeServerInternal, fmt.Sprintf("internal error in the SDK: %v", r), "")
			}
		}()
		json, err := op(ctx)
		code, desc := codeOf(err)
		c.finish(code, desc, json)
	}()
}

func codeOf(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	var we *wire.Error
	if errors.As(err, &we) {
		desc := we.Desc
		if desc == "" {
			desc = "error " + strconv.Itoa(we.Code)
		}
		return we.Code, desc
	}
	return wire.CodeServerInternal, err.Error()
}

// Init starts the SDK for an app. config is TIMInit's JSON object; "",
// "null" (what upstream's C# wrapper sends for a null SdkConfig) and "{}"
// are none. Keys it does not use are accepted and ignored.
func (s *SDK) Init(appID uint64, config string) int {
	if appID == 0 {
		return ErrParam
	}
	if c := strings.TrimSpace(config); c == "null" {
		config = ""
	} else if c != "" && (wire.CheckJSON(config) != nil || !gjson.Parse(config).IsObject()) {
		return ErrJSON
	}
	cfg := gjson.Parse(config)
	s.mu.Lock()
	if s.client != nil {
		same := s.appID == appID
		s.mu.Unlock()
		if same {
			return Succ
		}
		return ErrParam
	}
	logs, logErr := newLogSink(cfg.Get("sdk_config_log_file_path").String(), s)
	if logErr != nil {
		// Logging to a file is best effort: the SDK works without it.
		logs, _ = newLogSink("", s)
	}
	ccfg := core.Config{
		SDKAppID:     appID,
		Logger:       logs.logger,
		OnEvent:      s.onEvent, // only posts to the dispatcher: never blocks
		InlineEvents: true,
		// TIMSetConfig's set_config_user_define_data, as it is at each login.
		UserDefineData: s.userDefineData,
	}
	if s.ClientConfig != nil {
		s.ClientConfig(&ccfg)
	}
	client, err := core.New(ccfg)
	if err != nil {
		s.mu.Unlock()
		logs.close()
		return ErrParam
	}
	s.Dispatcher.Start()
	s.client, s.appID, s.logs, s.closing = client, appID, logs, false
	s.mu.Unlock()
	// Not under s.mu: the log handler takes it to find the log callback.
	if logErr != nil {
		logs.logger.Warn("cannot open the log directory; logging to the callback only", "err", logErr)
	}
	logs.logger.Info("SDK initialised", "sdkappid", appID, "version", core.Version)
	return Succ
}

// Uninit stops the SDK: the link is dropped, pending calls complete with
// 6013, every queued callback runs, and then no callback runs any more.
func (s *SDK) Uninit() int {
	s.mu.Lock()
	client, logs := s.client, s.logs
	s.closing = true
	s.mu.Unlock()
	if client != nil {
		client.Close() // in-flight calls return; events stop
	}
	s.inflight.Wait() // every pending result has been posted
	s.Dispatcher.Stop()
	s.mu.Lock()
	s.client, s.appID, s.logs = nil, 0, nil
	s.closing = false // calls made from now on (callExperimentalAPI) answer normally
	s.mu.Unlock()
	if logs != nil {
		logs.close()
	}
	return Succ
}

// enter admits a call that may answer through a callback. Once Uninit has
// begun it refuses (TIM_ERR_SDKUNINIT): a call made then — from a callback
// Uninit is delivering, or from another thread — could otherwise post its
// answer after the delivery thread stopped (lost), or arm that thread again
// (a callback that calls again from its answer would keep Uninit from
// returning). An admitted call counts as in flight until done, and Uninit
// waits for it before it stops the delivery thread.
func (s *SDK) enter() (done func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, false
	}
	s.inflight.Add(1)
	return s.inflight.Done, true
}

// beginAnytime admits a call that works before Init too
// (callExperimentalAPI, TIMSetConfig), arming the delivery thread its
// answer needs; end releases the answer and then the admission.
func (s *SDK) beginAnytime(cb Result) (k *call, end func(), ok bool) {
	done, ok := s.enter()
	if !ok {
		return nil, nil, false
	}
	if !s.Dispatcher.Armed() {
		s.Dispatcher.Start()
	}
	k = s.begin(cb)
	return k, func() { k.release(); done() }, true
}

// current returns the client, or nil before Init.
func (s *SDK) current() *core.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

// loggedIn returns the client when it is logged in, else a TIMResult.
func (s *SDK) loggedIn() (*core.Client, int) {
	c := s.current()
	if c == nil {
		return nil, ErrSDKUninit
	}
	if c.LoginStatus() != core.Logined {
		return nil, ErrNotLogin
	}
	return c, Succ
}

// Login logs userID in (TIMLogin).
func (s *SDK) Login(userID, userSig string, cb Result) int {
	done, ok := s.enter()
	if !ok {
		return ErrSDKUninit
	}
	defer done()
	c := s.current()
	if c == nil {
		return ErrSDKUninit
	}
	if !usersig.ValidUserID(userID) {
		return ErrParam
	}
	s.mu.Lock()
	servers, tlsCfg := s.servers, s.tlsConfig
	s.mu.Unlock()
	if len(servers) == 0 {
		servers = splitAddrs(s.getenv(ServerAddrEnv))
	}
	c.SetTLSConfig(tlsCfg)
	if len(servers) == 0 {
		return s.fail(cb, wire.Errorf(wire.CodeInvalidParams, "no server address: call callExperimentalAPI with internal_operation_set_custom_server_info, or set %s", ServerAddrEnv))
	}
	c.SetServers(servers)
	// The state changes (Logining) before TIMLogin returns.
	wait, err := c.StartLogin(userID, userSig)
	if err != nil {
		return s.fail(cb, err)
	}
	return s.start(cb, func(ctx context.Context) (string, error) { return "", wait(ctx) })
}

func splitAddrs(v string) []string {
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Logout logs out (TIMLogout).
func (s *SDK) Logout(cb Result) int {
	done, ok := s.enter()
	if !ok {
		return ErrSDKUninit
	}
	defer done()
	c, r := s.loggedIn()
	if r != Succ {
		return r
	}
	// The state changes (Logouting) before TIMLogout returns, and the
	// logout is sent after every call made before it.
	wait, err := c.StartLogout()
	if err != nil {
		return s.fail(cb, err)
	}
	return s.start(cb, func(ctx context.Context) (string, error) { return "", wait(ctx) })
}

// UnLogined is TIMGetLoginStatus's kTIMLoginStatus_UnLogined.
const UnLogined = int(core.UnLogined)

// SetCallbackMode is IMStatusSetCallbackMode: 0 delivers callbacks on the
// library's thread, 1 queues them for PumpCallbacks.
func (s *SDK) SetCallbackMode(mode int) int {
	switch mode {
	case 0:
		s.Dispatcher.SetQueued(false)
	case 1:
		s.Dispatcher.SetQueued(true)
	default:
		return ErrParam
	}
	return Succ
}

// LoginStatus is TIMGetLoginStatus.
func (s *SDK) LoginStatus() core.LoginStatus {
	if c := s.current(); c != nil {
		return c.LoginStatus()
	}
	return core.UnLogined
}

// ServerTime is TIMGetServerTime's answer, in Unix seconds: the server's
// clock as learnt at the last login (kept across logout, until Uninit),
// else the local clock.
func (s *SDK) ServerTime() uint64 {
	t := time.Now()
	if c := s.current(); c != nil {
		t = c.ServerTime()
	}
	return uint64(max(t.Unix(), 0))
}

// LoginUserID is TIMGetLoginUserID's answer: the id, or ErrNotLogin / ErrSDKUninit.
func (s *SDK) LoginUserID() (string, int) {
	c, r := s.loggedIn()
	if r != Succ {
		return "", r
	}
	return c.UserID(), Succ
}

// SetSelfStatus is TIMSetSelfStatus: json is a user status object.
func (s *SDK) SetSelfStatus(json string, cb Result) int {
	done, ok := s.enter()
	if !ok {
		return ErrSDKUninit
	}
	defer done()
	c, r := s.loggedIn()
	if r != Succ {
		return r
	}
	custom, r := parseSelfStatus(json)
	if r != Succ {
		return r
	}
	return s.startCtx(c.Reserve(context.Background()), cb, func(ctx context.Context) (string, error) { return "", c.SetSelfStatus(ctx, custom) })
}

// parseSelfStatus reads the custom status of a user status object; absent
// or null clear it. Its length and UTF-8 are checked by core (6017).
func parseSelfStatus(json string) (string, int) {
	if strings.TrimSpace(json) == "" {
		return "", ErrParam
	}
	if wire.CheckJSON(json) != nil {
		return "", ErrJSON
	}
	v := gjson.Parse(json)
	if !v.IsObject() {
		return "", ErrParam
	}
	custom := v.Get("user_status_custom_status")
	if custom.Exists() && custom.Type != gjson.String && custom.Type != gjson.Null {
		return "", ErrParam
	}
	return custom.Str, Succ
}

// parseIDs reads a JSON array of user ids. "" and "null" give nil when
// emptyOK; otherwise an empty list is ErrParam.
func parseIDs(json string, emptyOK bool) ([]string, int) {
	t := strings.TrimSpace(json)
	if t == "" || t == "null" {
		if emptyOK {
			return nil, Succ
		}
		return nil, ErrParam
	}
	if wire.CheckJSON(json) != nil {
		return nil, ErrJSON
	}
	ids, err := wire.ParseIDArray(gjson.Parse(json))
	if err != nil {
		return nil, ErrParam
	}
	if len(ids) == 0 && !emptyOK {
		return nil, ErrParam
	}
	for _, id := range ids {
		if !usersig.ValidUserID(id) {
			return nil, ErrParam
		}
	}
	return ids, Succ
}

// loggedInWithIDs is the synchronous checks of a call taking an id list:
// logged in, then the list (see parseIDs).
func (s *SDK) loggedInWithIDs(json string, emptyOK bool) (*core.Client, []string, int) {
	c, r := s.loggedIn()
	if r != Succ {
		return nil, nil, r
	}
	ids, r := parseIDs(json, emptyOK)
	return c, ids, r
}

// GetUserStatus is TIMGetUserStatus; the result is a JSON array of user status objects.
func (s *SDK) GetUserStatus(json string, cb Result) int {
	done, ok := s.enter()
	if !ok {
		return ErrSDKUninit
	}
	defer done()
	c, ids, r := s.loggedInWithIDs(json, false)
	if r != Succ {
		return r
	}
	return s.startCtx(c.Reserve(context.Background()), cb, func(ctx context.Context) (string, error) {
		sts, err := c.GetUserStatus(ctx, ids)
		if err != nil {
			return "", err
		}
		return string(wire.AppendUserStatuses(make([]byte, 0, 128*len(sts)), sts)), nil
	})
}

// SubscribeUserStatus is TIMSubscribeUserStatus.
func (s *SDK) SubscribeUserStatus(json string, cb Result) int {
	done, ok := s.enter()
	if !ok {
		return ErrSDKUninit
	}
	defer done()
	c, ids, r := s.loggedInWithIDs(json, false)
	if r != Succ {
		return r
	}
	for _, id := range ids {
		if id == c.UserID() {
			return ErrParam
		}
	}
	return s.startCtx(c.Reserve(context.Background()), cb, func(ctx context.Context) (string, error) { return "", c.Subscribe(ctx, ids) })
}

// UnsubscribeUserStatus is TIMUnsubscribeUserStatus; an empty list removes all.
func (s *SDK) UnsubscribeUserStatus(json string, cb Result) int {
	done, ok := s.enter()
	if !ok {
		return ErrSDKUninit
	}
	defer done()
	c, ids, r := s.loggedInWithIDs(json, true)
	if r != Succ {
		return r
	}
	return s.startCtx(c.Reserve(context.Background()), cb, func(ctx context.Context) (string, error) { return "", c.Unsubscribe(ctx, ids) })
}

// Experimental is callExperimentalAPI. It works before Init.
func (s *SDK) Experimental(json string, cb Result) int {
	if strings.TrimSpace(json) == "" {
		return ErrParam
	}
	if wire.CheckJSON(json) != nil {
		return ErrJSON
	}
	req := gjson.Parse(json)
	if !req.IsObject() {
		return ErrParam
	}
	op := req.Get("request_internal_operation")
	if op.Type != gjson.String {
		return ErrParam
	}
	k, end, ok := s.beginAnytime(cb)
	if !ok {
		return ErrSDKUninit
	}
	defer end()
	switch op.Str {
	case "internal_operation_set_custom_server_info":
		addrs, tlsCfg, err := serverInfo(req.Get("request_set_custom_server_info_param"))
		if err != nil {
			k.finish(wire.CodeInvalidParams, err.Error(), "")
			return Succ
		}
		s.mu.Lock()
		s.servers, s.tlsConfig = addrs, tlsCfg
		c := s.client
		s.mu.Unlock()
		if c != nil {
			c.SetTLSConfig(tlsCfg)
			c.SetServers(addrs)
		}
		k.finish(0, "", "")
	case "internal_operation_set_ui_platform":
		k.finish(0, "", "")
	case "internal_operation_write_log":
		// Upstream's wrapper sends the keys at the top level; older callers
		// nest them in request_write_log_param.
		p := req
		if nested := req.Get("request_write_log_param"); nested.IsObject() {
			p = nested
		}
		s.logf(int(p.Get("request_write_log_log_level_param").Int()), p.Get("request_write_log_log_content_param").String())
		k.finish(0, "", "")
	default:
		k.finish(wire.CodeInvalidParams, fmt.Sprintf("unknown operation %q: imstatus supports internal_operation_set_custom_server_info, internal_operation_set_ui_platform and internal_operation_write_log", op.Str), "")
	}
	return Succ
}

// serverInfo reads request_set_custom_server_info_param: the addresses, and
// the TLS trust for wss:// ones. A server_address_ip that is a ws:// or
// wss:// URL is used as it is (its server_address_port is ignored); a
// server_public_key holding PEM certificates adds them to the system's
// authorities for wss:// (any other key, upstream's, is ignored).
func serverInfo(p gjson.Result) ([]string, *tls.Config, error) {
	addrs, err := serverAddrs(p)
	if err != nil {
		return nil, nil, err
	}
	key := p.Get("server_public_key")
	if key.Type != gjson.String || !strings.Contains(key.Str, "-----BEGIN CERTIFICATE-----") {
		return addrs, nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM([]byte(key.Str)) {
		return nil, nil, errors.New("server_public_key holds a PEM certificate block that cannot be read")
	}
	return addrs, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// serverAddrs reads longconnection_address_array into "host:port" strings
// (or the URLs given).
func serverAddrs(p gjson.Result) ([]string, error) {
	arr := p.Get("longconnection_address_array")
	if !arr.IsArray() || len(arr.Array()) == 0 {
		return nil, errors.New("request_set_custom_server_info_param.longconnection_address_array must be a non-empty array")
	}
	var out []string
	for _, a := range arr.Array() {
		ip := a.Get("server_address_ip")
		port := a.Get("server_address_port")
		if ip.Type != gjson.String || ip.Str == "" {
			return nil, errors.New("server_address_ip must be a non-empty string")
		}
		if strings.HasPrefix(ip.Str, "ws://") || strings.HasPrefix(ip.Str, "wss://") {
			u, err := url.Parse(ip.Str)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("server_address_ip %q is not a valid ws:// or wss:// URL", ip.Str)
			}
			out = append(out, ip.Str)
			continue
		}
		if port.Type != gjson.Number || port.Num < 1 || port.Num > 65535 || port.Num != float64(int(port.Num)) {
			return nil, errors.New("server_address_port must be an integer from 1 to 65535")
		}
		out = append(out, net.JoinHostPort(ip.Str, strconv.Itoa(int(port.Num))))
	}
	return out, nil
}

// onEvent turns the client's events into the registered callbacks.
func (s *SDK) onEvent(e core.Event) {
	h := s.handler()
	switch e := e.(type) {
	case core.StatusChanged:
		if h.StatusChanged != nil {
			json := e.JSON // the push's own text, when core could cut it
			if json == "" {
				json = string(wire.AppendUserStatuses(nil, e.Statuses))
			}
			f := func() { h.StatusChanged(json) }
			if len(e.Statuses) == 1 {
				// One user's status: a newer one may replace it while it waits.
				s.Dispatcher.PostLatest(e.Statuses[0].UserID, f)
			} else {
				s.Dispatcher.Post(f)
			}
		}
	case core.NetworkChanged:
		if h.Network != nil {
			s.Dispatcher.Post(func() { h.Network(int(e.Status), e.Code, e.Desc) })
		}
	case core.KickedOffline:
		if h.Kicked != nil {
			s.Dispatcher.Post(h.Kicked)
		}
	case core.UserSigExpired:
		if h.SigExpired != nil {
			s.Dispatcher.Post(h.SigExpired)
		}
	}
}

// logf writes a line the app asked to log (internal_operation_write_log).
func (s *SDK) logf(level int, msg string) {
	s.mu.Lock()
	logs := s.logs
	s.mu.Unlock()
	if logs == nil {
		return
	}
	logs.logger.Log(context.Background(), levelToSlog(level), msg, "source", "app")
}

// Version is TIMGetSDKVersion's answer.
func Version() string { return core.Version }

// NotSupported answers an upstream call imstatus does not have, through cb:
// 7013 (upstream's ERR_SDK_INTERFACE_NOT_SUPPORT) and a desc naming it.
func (s *SDK) NotSupported(api string, cb Result) int {
	done, ok := s.enter()
	if !ok {
		return ErrSDKUninit
	}
	defer done()
	if s.current() == nil {
		return ErrSDKUninit
	}
	return s.fail(cb, &wire.Error{Code: wire.CodeEditionRequired,
		Desc: api + " is not supported: imstatus serves user status, login and their listeners only"})
}

// NotSupportedSync answers, at once, an upstream call imstatus does not
// have and upstream answers synchronously: ErrParam.
func (s *SDK) NotSupportedSync(string) int {
	if s.current() == nil {
		return ErrSDKUninit
	}
	return ErrParam
}
