package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/imstatus/imstatus/internal/redistest"
	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

var binary string

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestMain builds the real binary once; the tests run it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imstatusd-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "imstatusd")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building imstatusd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running imstatusd.
type daemon struct {
	cmd  *exec.Cmd
	addr string
	out  []string // stdout lines before "listening on"
	log  string   // the file its standard error goes to
	done chan error

	mu    sync.Mutex
	after []string // stdout lines after "listening on" (e.g. "pprof on")
}

// lineAfter waits up to 10 s for a stdout line after "listening on" that
// starts with prefix, and returns the rest of it.
func (d *daemon) lineAfter(t *testing.T, prefix string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		d.mu.Lock()
		for _, l := range d.after {
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				d.mu.Unlock()
				return rest
			}
		}
		d.mu.Unlock()
	}
	t.Fatalf("imstatusd printed no %q line", prefix)
	return ""
}

// startEnv is start with env added to imstatusd's environment.
func startEnv(t *testing.T, env []string, args ...string) *daemon {
	t.Helper()
	return startWith(t, 0, env, args...)
}

// start runs imstatusd with args; its data goes to a fresh directory
// unless args name one.
func start(t *testing.T, args ...string) *daemon {
	t.Helper()
	return startLimited(t, 0, args...)
}

// startLimited is start with the files imstatusd writes limited to
// fsizeKiB (RLIMIT_FSIZE, through bash's ulimit -f; 0: no limit): past it
// a write fails with EFBIG, as it fails with ENOSPC on a full disk.
func startLimited(t *testing.T, fsizeKiB int, args ...string) *daemon {
	t.Helper()
	return startWith(t, fsizeKiB, nil, args...)
}

func startWith(t *testing.T, fsizeKiB int, env []string, args ...string) *daemon {
	t.Helper()
	if !slices.Contains(args, "--data") {
		args = append([]string{"--data", t.TempDir()}, args...)
	}
	argv := append([]string{binary, "--addr", "127.0.0.1:0"}, args...)
	if fsizeKiB > 0 {
		argv = append([]string{"bash", "-c", `ulimit -S -f "$0" && exec "$@"`, strconv.Itoa(fsizeKiB)}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	stdout, _ := cmd.StdoutPipe()
	logf, err := os.Create(filepath.Join(t.TempDir(), "imstatusd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		logf.Close()
		if b, _ := os.ReadFile(logf.Name()); t.Failed() && len(b) > 0 {
			t.Logf("imstatusd %v said:\n%s", args, tail(b, 40))
		}
	})
	d := &daemon{cmd: cmd, log: logf.Name(), done: make(chan error, 1)}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		d.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	timeout := time.After(10 * time.Second)
	for d.addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("imstatusd exited before listening: %v", d.out)
			}
			if a, found := strings.CutPrefix(l, "listening on "); found {
				d.addr = a
			} else {
				d.out = append(d.out, l)
			}
		case <-timeout:
			t.Fatal("imstatusd did not start")
		}
	}
	go func() {
		for l := range lines {
			d.mu.Lock()
			if len(d.after) < 100 {
				d.after = append(d.after, l)
			}
			d.mu.Unlock()
		}
	}()
	return d
}

// rest calls the REST API command of app as its administrator and returns
// the answer's body.
func (d *daemon) rest(t *testing.T, key string, app uint64, cmd, body string) string {
	t.Helper()
	sig, _ := usersig.Generate(key, app, "administrator", time.Hour, time.Now())
	q := url.Values{"sdkappid": {fmt.Sprint(app)}, "identifier": {"administrator"}, "usersig": {sig}, "random": {"1"}, "contenttype": {"json"}}
	resp, err := http.Post("http://"+d.addr+"/v4/"+cmd+"?"+q.Encode(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metric reads a counter of d's /metrics.
func (d *daemon) metric(t *testing.T, name string) int {
	t.Helper()
	n, ok := d.metrics(t)[name]
	if !ok {
		t.Fatalf("no %s in /metrics", name)
	}
	return n
}

var sampleLine = regexp.MustCompile(`(?m)^([^# ]+) (\d+)$`)

// metrics reads every sample of d's /metrics at once.
func (d *daemon) metrics(t *testing.T) map[string]int {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := map[string]int{}
	for _, l := range sampleLine.FindAllSubmatch(b, -1) {
		m[string(l[1])], _ = strconv.Atoi(string(l[2]))
	}
	return m
}

func TestUserSigCommand(t *testing.T) {
	key := "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	out, err := exec.Command(binary, "usersig", "--sdkappid", "1400000000", "--key", key, "--user", "xiaojun", "--expire", "60").Output()
	if err != nil {
		t.Fatal(err)
	}
	sig := strings.TrimSpace(string(out))
	tk, err := usersig.Verify(sig, key, 1400000000, "xiaojun", time.Now())
	if err != nil {
		t.Fatalf("printed UserSig does not verify: %v", err)
	}
	if tk.Expire != 60 {
		t.Fatalf("expire = %d, want 60", tk.Expire)
	}
	for _, args := range [][]string{
		{"usersig", "--key", key, "--user", "u"},
		{"usersig", "--sdkappid", "1", "--key", key, "--user", "bad id"},
		{"--apps", "/nonexistent/apps.json"},
		{"--no-such-flag"},
	} {
		out, err := exec.Command(binary, args...).CombinedOutput()
		if err == nil || len(out) == 0 {
			t.Errorf("%v: err %v, output %q; want a failure with a message", args, err, out)
		}
	}
}

// A mistaken apps file stops the server with an error that names the
// file and the problem, rather than starting with a trap in it.
func TestBadAppsFile(t *testing.T) {
	const key = `"secret_key":"0123456789abcdef0123"`
	for _, tc := range []struct{ name, content, want string }{
		{"unknown field", `{"apps":[{"sdkappid":1,` + key + `,"user_status_enabld":true}]}`, "unknown field"},
		{"no key", `{"apps":[{"sdkappid":1}]}`, "secret_key is missing"},
		{"bad edition", `{"apps":[{"sdkappid":1,` + key + `,"edition":"gold"}]}`, "edition"},
		{"not json", `apps: 1`, "apps file"},
		{"README's placeholder key", `{"apps":[{"sdkappid":1,"secret_key":"…"}]}`, "placeholder"},
		{"one-character key", `{"apps":[{"sdkappid":1,"secret_key":"k"}]}`, "at least 16"},
		{"key with a space", `{"apps":[{"sdkappid":1,"secret_key":"0123456789 abcdef"}]}`, "without spaces"},
		{"trailing garbage", `{"apps":[{"sdkappid":1,` + key + `}]} trailing`, "follows the JSON"},
		{"malformed webhook_url", `{"apps":[{"sdkappid":1,` + key + `,"webhook_url":"localhost:9000/hook"}]}`, "webhook_url"},
		{"heartbeat timeout of 1 ms", `{"apps":[{"sdkappid":1,` + key + `,"heartbeat_timeout_ms":1}]}`, "heartbeat_timeout_ms 1 is out of range"},
		{"rate window of a week", `{"apps":[{"sdkappid":1,` + key + `,"rate_limit_window_ms":604800000}]}`, "rate_limit_window_ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "apps.json")
			os.WriteFile(path, []byte(tc.content), 0o600)
			out, err := exec.Command(binary, "--addr", "127.0.0.1:0", "--data", "", "--apps", path).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "apps file") || !strings.Contains(string(out), tc.want) {
				t.Fatalf("err %v, output %q; want a failure naming the apps file and saying %q", err, out, tc.want)
			}
		})
	}
}

// The development app: the printed admin UserSig works on the REST API.
func TestDevApp(t *testing.T) {
	d := start(t)
	text := strings.Join(d.out, "\n")
	m := regexp.MustCompile(`sdkappid=(\d+) secret_key=([0-9a-f]{64}) admin=(\S+)\nadmin usersig: (\S+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no development app in %q", text)
	}
	q := url.Values{"sdkappid": {m[1]}, "identifier": {m[3]}, "usersig": {m[4]}, "random": {"1"}, "contenttype": {"json"}}
	resp, err := http.Post("http://"+d.addr+"/v4/openim/query_online_status?"+q.Encode(), "application/json",
		strings.NewReader(`{"To_Account":["administrator"]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ ActionStatus string }
	json.NewDecoder(resp.Body).Decode(&r)
	if r.ActionStatus != "OK" {
		t.Fatalf("REST with the printed admin UserSig: %+v", r)
	}
}

// SIGTERM: connected clients are told and closed cleanly, and the process exits 0.
func TestGracefulSIGTERM(t *testing.T) {
	key := "0123456789abcdef"
	apps := filepath.Join(t.TempDir(), "apps.json")
	os.WriteFile(apps, []byte(`{"apps":[{"sdkappid":1400000001,"secret_key":"`+key+`"}]}`), 0o600)
	d := start(t, "--apps", apps)

	resp, err := http.Get("http://" + d.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}

	ws, _, err := websocket.DefaultDialer.Dial("ws://"+d.addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	sig, _ := usersig.Generate(key, 1400000001, "u1", time.Hour, time.Now())
	ws.WriteJSON(map[string]any{"seq": 1, "op": "login", "body": map[string]any{
		"sdkappid": 1400000001, "user_id": "u1", "user_sig": sig, "platform": "Linux"}})
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := ws.ReadMessage()
	if f, _ := wire.DecodeServerFrame(msg); err != nil || f.Op != wire.OpReply || f.Code != 0 {
		t.Fatalf("login: %s %v", msg, err)
	}

	d.cmd.Process.Signal(syscall.SIGTERM)
	var sawShutdown bool
	var closeCode int
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				closeCode = ce.Code
			}
			break
		}
		if f, _ := wire.DecodeServerFrame(msg); f.Op == wire.OpShutdown {
			sawShutdown = true
		}
	}
	if !sawShutdown || closeCode != websocket.CloseGoingAway {
		t.Fatalf("shutdown push %v, close code %d; want both (1001)", sawShutdown, closeCode)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("imstatusd did not exit after SIGTERM")
	}
}

// --tls-cert/--tls-key: WebSocket, REST and /healthz over TLS; SIGHUP takes
// up a renewed certificate without dropping connections, and keeps the
// one in use when the new files are bad.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePair := func(certPEM, keyPEM []byte) {
		t.Helper()
		if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	certA, keyA, _ := testserver.SelfSigned(t, 1)
	certB, keyB, _ := testserver.SelfSigned(t, 2)
	writePair(certA, keyA)
	key := "0123456789abcdef"
	apps := filepath.Join(dir, "apps.json")
	os.WriteFile(apps, []byte(`{"apps":[{"sdkappid":1400000001,"secret_key":"`+key+`"}]}`), 0o600)
	d := start(t, "--apps", apps, "--tls-cert", certFile, "--tls-key", keyFile)

	// serial is the serial number of the certificate a new connection gets.
	serial := func(trust []byte) int64 {
		t.Helper()
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: testserver.Trusting(t, trust)}, Timeout: 10 * time.Second}
		resp, err := c.Get("https://" + d.addr + "/healthz")
		if err != nil {
			return -1
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("healthz over TLS: %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	if s := serial(certA); s != 1 {
		t.Fatalf("serial %d, want 1", s)
	}
	if resp, err := http.Get("http://" + d.addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered on the TLS port")
		}
	}

	dl := websocket.Dialer{TLSClientConfig: testserver.Trusting(t, certA), HandshakeTimeout: 10 * time.Second}
	ws, _, err := dl.Dial("wss://"+d.addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	call := func(req map[string]any) {
		t.Helper()
		ws.WriteJSON(req)
		for {
			_, msg, err := ws.ReadMessage()
			f, _ := wire.DecodeServerFrame(msg)
			if err == nil && f.Op == wire.OpStatus {
				continue // the login's own status
			}
			if err != nil || f.Op != wire.OpReply || f.Code != 0 {
				t.Fatalf("%v over wss: %s %v", req["op"], msg, err)
			}
			return
		}
	}
	sig, _ := usersig.Generate(key, 1400000001, "u1", time.Hour, time.Now())
	call(map[string]any{"seq": 1, "op": "login", "body": map[string]any{
		"sdkappid": 1400000001, "user_id": "u1", "user_sig": sig, "platform": "Linux"}})

	// Renewed in place, then SIGHUP: new connections get B.
	writePair(certB, keyB)
	d.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for serial(certB) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not load the new certificate")
		}
		time.Sleep(20 * time.Millisecond)
	}
	call(map[string]any{"seq": 2, "op": "heartbeat"}) // the old connection lives on

	// Bad files: the certificate in use stays, the server too.
	os.WriteFile(certFile, []byte("not a certificate"), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(100 * time.Millisecond)
	if s := serial(certB); s != 2 {
		t.Fatalf("after a bad reload: serial %d, want 2 still", s)
	}
	call(map[string]any{"seq": 3, "op": "heartbeat"})
}

func TestTLSFlagErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"cert alone":    {[]string{"--tls-cert", missing}, "go together"},
		"key alone":     {[]string{"--tls-key", missing}, "go together"},
		"missing files": {[]string{"--tls-cert", missing, "--tls-key", missing}, missing},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(binary, append([]string{"--addr", "127.0.0.1:0"}, tc.args...)...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("err %v, output %q; want a failure saying %q", err, out, tc.want)
			}
		})
	}
}

// Accounts and friend links survive a kill -9 and a start on the same
// --data: query_online_status knows the imported accounts (it answered
// 70107 for each before there was a data directory), and a friend still
// hears of a change without subscribing (auto-notify).
func TestRestartKeepsAccountsAndFriends(t *testing.T) {
	const key, app = "restart-key-0123456789", 1400000002
	dir := t.TempDir()
	apps := filepath.Join(dir, "apps.json")
	os.WriteFile(apps, []byte(fmt.Sprintf(`{"apps":[{"sdkappid":%d,"secret_key":%q,"edition":"ultimate","user_status_enabled":true,"friend_status_auto_notify":true}]}`, app, key)), 0o600)
	data := filepath.Join(dir, "data")
	rest := func(d *daemon, cmd, body string) string {
		t.Helper()
		return d.rest(t, key, app, cmd, body)
	}
	const query = `{"To_Account":["alice","bob","carol"]}`

	d := start(t, "--apps", apps, "--data", data)
	if got := rest(d, "openim/query_online_status", query); !strings.Contains(got, `"ErrorCode":70107`) {
		t.Fatalf("before importing: %s; want 70107 for each", got)
	}
	if got := rest(d, "im_open_login_svc/multiaccount_import", `{"Accounts":["alice","bob","carol"]}`); !strings.Contains(got, `"ActionStatus":"OK"`) {
		t.Fatalf("import: %s", got)
	}
	if got := rest(d, "sns/friend_add", `{"From_Account":"alice","AddFriendItem":[{"To_Account":"bob"}],"AddType":"Add_Type_Both"}`); !strings.Contains(got, `"ResultCode":0`) {
		t.Fatalf("friend_add: %s", got)
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done

	d = start(t, "--apps", apps, "--data", data)
	got := rest(d, "openim/query_online_status", query)
	if strings.Contains(got, "70107") || strings.Count(got, `"Status":"Offline"`) != 3 {
		t.Fatalf("after kill -9 and restart: %s; want the 3 accounts, none unknown", got)
	}
	login := func(user string) *websocket.Conn {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+d.addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		sig, _ := usersig.Generate(key, app, user, time.Hour, time.Now())
		ws.WriteJSON(map[string]any{"seq": 1, "op": "login", "body": map[string]any{
			"sdkappid": app, "user_id": user, "user_sig": sig, "platform": "Linux"}})
		for {
			ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, msg, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if f, _ := wire.DecodeServerFrame(msg); f.Op == wire.OpReply {
				if f.Code != 0 {
					t.Fatalf("login %s: %s", user, msg)
				}
				return ws
			}
		}
	}
	bob := login("bob")
	alice := login("alice")
	alice.WriteJSON(map[string]any{"seq": 2, "op": "set_status", "body": map[string]any{"user_status_custom_status": "back"}})
	for {
		bob.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := bob.ReadMessage()
		if err != nil {
			t.Fatalf("bob, alice's friend, never heard of her custom status after the restart: %v", err)
		}
		f, _ := wire.DecodeServerFrame(msg)
		sts, _ := wire.ParseStatuses(f.Body)
		if f.Op == wire.OpStatus && len(sts) == 1 && sts[0].UserID == "alice" && sts[0].Custom == "back" {
			break
		}
	}
}

// A data file another process holds, or one that is not a data file, is a
// clear startup error, never an empty start.
func TestDataFileErrors(t *testing.T) {
	dir := t.TempDir()
	d := start(t, "--data", dir)
	out, err := exec.Command(binary, "--addr", "127.0.0.1:0", "--data", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another process") {
		t.Fatalf("second imstatusd on the same --data: err %v, output %q", err, out)
	}
	d.cmd.Process.Kill()
	<-d.done

	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "imstatus.db"), []byte(strings.Repeat("not a database\n", 2000)), 0o600)
	out, err = exec.Command(binary, "--addr", "127.0.0.1:0", "--data", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "corrupt") {
		t.Fatalf("corrupt data file: err %v, output %q", err, out)
	}
}

// Two imstatusd processes on one Redis are one service: a watcher on one
// hears a user on the other, and the same user's login on the second node
// kicks its device of the same platform on the first.
func TestTwoNodesOnRedis(t *testing.T) {
	rdb, ns := redisNodes(t, "--node-id", "node-1")
	n1, n2 := ns[0], ns[1]

	w := redisLogin(t, n2, "w")
	a := redisLogin(t, n1, "a")
	w.call(t, 2, "subscribe", map[string]any{"ids": []string{"a"}})
	a.call(t, 3, "set_status", map[string]any{"user_status_custom_status": "on node 1"})
	w.until(t, "a's status set on node 1", func(f wire.ServerFrame) bool {
		sts, _ := wire.ParseStatuses(f.Body)
		return f.Op == wire.OpStatus && len(sts) == 1 && sts[0].UserID == "a" && sts[0].Custom == "on node 1"
	})

	redisLogin(t, n2, "a") // the same platform, on the other node
	a.until(t, "a kick of a's device on node 1", func(f wire.ServerFrame) bool {
		return f.Op == wire.OpKicked && f.Code == wire.CodeKickedOffline
	})

	// /healthz tells whether the node reaches Redis.
	health := func() (int, string) {
		resp, err := http.Get("http://" + n1.addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := health(); code != 200 || !strings.Contains(body, `"backend":"ok"`) {
		t.Fatalf("healthz with Redis up: %d %s", code, body)
	}
	metric := func(name string) int { return n1.metric(t, name) }
	if metric("imstatus_redis_round_trips_total") == 0 {
		t.Fatal("no Redis round trips counted")
	}
	errs := metric("imstatus_redis_errors_total")
	rdb.ShutdownNoSave(t.Context())
	if code, body := health(); code != http.StatusServiceUnavailable || !strings.Contains(body, `"status":"degraded"`) {
		t.Fatalf("healthz with Redis down: %d %s", code, body)
	}
	if metric("imstatus_redis_errors_total") <= errs {
		t.Fatal("Redis errors not counted while it is down")
	}
}

// The app of the tests on Redis.
const redisApp, redisKey = 1400000003, "cluster-key-0123456"

// redisNodes starts a redis-server and two imstatusd on it serving
// redisApp; args go to the first node.
func redisNodes(t *testing.T, args ...string) (redis.UniversalClient, []*daemon) {
	t.Helper()
	rdb := redistest.Standalone(t)
	url := "redis://" + rdb.(*redis.Client).Options().Addr + "/0"
	apps := filepath.Join(t.TempDir(), "apps.json")
	os.WriteFile(apps, []byte(fmt.Sprintf(`{"apps":[{"sdkappid":%d,"secret_key":%q,"edition":"ultimate","user_status_enabled":true}]}`, redisApp, redisKey)), 0o600)
	n1 := start(t, append([]string{"--apps", apps, "--redis", url}, args...)...)
	var rest []string
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] != "--node-id" { // the second node's id is its own
			rest = append(rest, args[i], args[i+1])
		}
	}
	n2 := start(t, append([]string{"--apps", apps, "--redis", url}, rest...)...)
	return rdb, []*daemon{n1, n2}
}

// redisLogin logs user in to redisApp on d.
func redisLogin(t *testing.T, d *daemon, user string) *wsClient {
	t.Helper()
	c := dialClient(t, d)
	sig, _ := usersig.Generate(redisKey, redisApp, user, time.Hour, time.Now())
	c.call(t, 1, "login", map[string]any{"sdkappid": redisApp, "user_id": user, "user_sig": sig, "platform": "Linux"})
	return c
}

// wsClient is a raw protocol client whose frames a reader goroutine queues.
type wsClient struct {
	ws     *websocket.Conn
	frames chan wire.ServerFrame
}

func dialClient(t *testing.T, d *daemon) *wsClient {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+d.addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	c := &wsClient{ws: ws, frames: make(chan wire.ServerFrame, 256)}
	go func() {
		defer close(c.frames)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if f, err := wire.DecodeServerFrame(msg); err == nil {
				c.frames <- f
			}
		}
	}()
	return c
}

// call sends a request and waits for its successful reply.
func (c *wsClient) call(t *testing.T, seq uint64, op string, body any) {
	t.Helper()
	if err := c.ws.WriteJSON(map[string]any{"seq": seq, "op": op, "body": body}); err != nil {
		t.Fatal(err)
	}
	c.until(t, op+"'s reply", func(f wire.ServerFrame) bool {
		if f.Op == wire.OpReply && f.Seq == seq && f.Code != 0 {
			t.Fatalf("%s: %d %s", op, f.Code, f.Desc)
		}
		return f.Op == wire.OpReply && f.Seq == seq
	})
}

// until takes frames until ok says one is what the test waits for.
func (c *wsClient) until(t *testing.T, what string, ok func(wire.ServerFrame) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, open := <-c.frames:
			if !open {
				t.Fatalf("link closed while waiting for %s", what)
			}
			if ok(f) {
				return
			}
		case <-timeout:
			t.Fatalf("no %s in 10 s", what)
		}
	}
}

// kill -9 of a node: its devices go OFFLINE within the lease, swept by the
// node that survives, and the watchers there hear it.
func TestNodeKilledOnRedis(t *testing.T) {
	_, ns := redisNodes(t, "--lease-ttl", "2s")
	n1, n2 := ns[0], ns[1]
	w := redisLogin(t, n2, "w")
	redisLogin(t, n1, "a")
	w.call(t, 2, "subscribe", map[string]any{"ids": []string{"a"}})
	w.until(t, "a ONLINE", func(f wire.ServerFrame) bool {
		sts, _ := wire.ParseStatuses(f.Body)
		return f.Op == wire.OpStatus && len(sts) == 1 && sts[0].UserID == "a" && sts[0].Type == wire.StatusOnline
	})

	n1.cmd.Process.Signal(syscall.SIGKILL)
	<-n1.done
	killed := time.Now()
	w.until(t, "a OFFLINE after its node died", func(f wire.ServerFrame) bool {
		sts, _ := wire.ParseStatuses(f.Body)
		return f.Op == wire.OpStatus && len(sts) == 1 && sts[0].UserID == "a" && sts[0].Type == wire.StatusOffline
	})
	t.Logf("a OFFLINE %v after node 1 was killed (lease 2 s)", time.Since(killed).Round(10*time.Millisecond))
}

// An HTTP request whose body does not arrive within --http-read-timeout,
// and a keep-alive connection idle past --http-idle-timeout, are closed; a
// WebSocket link outlives both.
func TestHTTPTimeouts(t *testing.T) {
	d := start(t, "--http-read-timeout", "500ms", "--http-idle-timeout", "500ms", "--http-header-timeout", "400ms")
	closedWithin := func(what string, c net.Conn, limit time.Duration) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(limit))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("%s: still open after %v", what, limit)
				}
				return // closed by the server
			}
		}
	}
	slow, err := net.Dial("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /v4/im_open_login_svc/account_import HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
	closedWithin("a POST whose body stops", slow, 5*time.Second)

	loris, err := net.Dial("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer loris.Close()
	fmt.Fprintf(loris, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	closedWithin("a request whose headers stop", loris, 5*time.Second)

	idle, err := net.Dial("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprintf(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	closedWithin("an idle keep-alive connection", idle, 5*time.Second)

	ws, _, err := websocket.DefaultDialer.Dial("ws://"+d.addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	time.Sleep(1500 * time.Millisecond) // three read timeouts
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"heartbeat","seq":1}`)); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws.ReadMessage(); err != nil {
		t.Fatalf("a WebSocket link after the HTTP timeouts: %v", err)
	}
	// Each counted once, under its phase; the WebSocket link not at all.
	for phase, want := range map[string]int{"header": 1, "body": 1, "idle": 1} {
		if got := d.metric(t, `imstatus_http_timeouts_total{phase="`+phase+`"}`); got != want {
			t.Errorf("imstatus_http_timeouts_total{phase=%q} = %d, want %d", phase, got, want)
		}
	}
}
