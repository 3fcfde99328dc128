package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imstatus/imstatus/internal/faultproxy"
	"github.com/imstatus/imstatus/wire"
)

// Faults of one client's link, made by a TCP proxy (faultproxy) between
// the client and a real imstatusd: a link that goes silent both ways (no FIN,
// no RST, as when a network path dies), one that goes silent one way only
// (half-open), and one that is slow. The server must notice the silence by
// the heartbeat and sweep the device; the client must notice it and come
// back; a slow link must lose nothing and flicker nothing.

// heartbeatNode starts one imstatusd whose app drops a silent device after
// 4 s (clients then send a heartbeat every second).
func heartbeatNode(t *testing.T) *daemon {
	t.Helper()
	return start(t, "--apps", writeApps(t, redisApp, redisKey, `,"heartbeat_timeout_ms":4000`))
}

func TestLinkFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		ways int // what goes silent
	}{
		{"blackholed", faultproxy.Both},
		{"half-open, the server hears nothing", faultproxy.ToServer},
		{"half-open, the client hears nothing", faultproxy.ToClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := heartbeatNode(t)
			p := faultproxy.New(t, n.addr)
			w := newPeer(t, "w", "Linux", n.addr)
			x := newPeer(t, "x", "Android", p.Addr())
			w.subscribe("x")
			x.set("before")
			w.waitFor("x", "ONLINE before", online("before"))

			// The link goes silent and no new one can be made: the
			// server sweeps x's device (the heartbeat), so w hears x
			// go OFFLINE; x, hearing no answer, drops the link itself.
			silenced := time.Now()
			p.Silence(tc.ways)
			w.waitFor("x", "OFFLINE", func(st wire.Status) bool { return st.Type == wire.StatusOffline })
			t.Logf("w heard x OFFLINE %v after its link went silent (heartbeat timeout 4 s)", time.Since(silenced).Round(10*time.Millisecond))

			// The network heals: x comes back by itself, its status kept.
			p.SetRefuse(false)
			w.waitFor("x", "ONLINE again", func(st wire.Status) bool { return st.Type == wire.StatusOnline })
			x.set("after")
			w.waitFor("x", "ONLINE after", online("after"))
			truth := newPeer(t, "oracle", "Web", n.addr)
			ctx, cancel := truth.ctx()
			defer cancel()
			sts, err := truth.cl.GetUserStatus(ctx, []string{"x"})
			if err != nil || len(sts) != 1 || sts[0].Type != wire.StatusOnline || sts[0].Custom != "after" || len(sts[0].Devices) != 1 {
				t.Fatalf("the truth of x afterwards: %+v, %v; want ONLINE, after, one device", sts, err)
			}
			if got := n.metric(t, `imstatus_devices{sdkappid="1400000003"}`); got != 3 {
				t.Fatalf("%d devices on the node, want 3 (w, x, oracle): the silent one was not swept", got)
			}
		})
	}
}

// A slow link (150 ms each way, every chunk) loses nothing and flickers
// nothing: every status x sets reaches w, in order, and x never looks
// OFFLINE.
func TestSlowLink(t *testing.T) {
	n := heartbeatNode(t)
	p := faultproxy.New(t, n.addr)
	w := newPeer(t, "w", "Linux", n.addr)
	x := newPeer(t, "x", "Android", p.Addr())
	w.subscribe("x")
	w.waitFor("x", "ONLINE", online(""))
	p.SetDelay(150 * time.Millisecond)
	for i := range 10 {
		x.set(fmt.Sprintf("slow-%d", i))
	}
	w.waitFor("x", "ONLINE slow-9", online("slow-9"))
	time.Sleep(6 * time.Second) // past the heartbeat timeout, on the slow link
	w.mu.Lock()
	hist := w.history["x"]
	w.mu.Unlock()
	last := -1
	for _, st := range hist {
		if st.Type != wire.StatusOnline {
			t.Fatalf("w was told x went %v on a slow link", st.Type)
		}
		var i int
		if _, err := fmt.Sscanf(st.Custom, "slow-%d", &i); err == nil {
			if i < last {
				t.Fatalf("w heard slow-%d after slow-%d", i, last)
			}
			last = i
		}
	}
	if last != 9 {
		t.Fatalf("w's last status of x: slow-%d", last)
	}
}

// The data file cannot grow (RLIMIT_FSIZE: a write fails with EFBIG, as it
// fails with ENOSPC on a full disk). At start: a clear error, and no
// half-made file for the next start to refuse. While running: the import
// that needs more room fails with a clear error and changes nothing, the
// node goes on serving, and after a kill -9 and a start with room, every
// import it acknowledged is there and the file is sound. With room again
// the node takes the import that failed, without a restart.
func TestDataFileCannotGrow(t *testing.T) {
	const key, app = "disk-key-0123456789", 1400000004
	apps := writeApps(t, app, key, "")
	data := filepath.Join(t.TempDir(), "data")

	// At start, 8 KiB: not even the new file's first pages fit.
	out, err := exec.Command("bash", "-c", `ulimit -f 8 && exec "$@"`, "bash", binary,
		"--addr", "127.0.0.1:0", "--apps", apps, "--data", data).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "create data file") || !strings.Contains(string(out), "file too large") {
		t.Fatalf("start with no room: err %v, output %q; want a clear error", err, out)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Fatalf("a failed start left %v in the data directory", entries)
	}

	// Running, with room for the empty file and little more.
	d := startLimited(t, 96, "--apps", apps, "--data", data)
	var acknowledged []string
	var refused []string
	for batch := 0; ; batch++ {
		if batch == 200 {
			t.Fatal("200 imports of 100 accounts fitted in 96 KiB")
		}
		var ids []string
		for i := range 100 {
			ids = append(ids, fmt.Sprintf("u%03d-%03d-%s", batch, i, strings.Repeat("x", 20)))
		}
		body, _ := json.Marshal(map[string]any{"Accounts": ids})
		got := d.rest(t, key, app, "im_open_login_svc/multiaccount_import", string(body))
		if strings.Contains(got, `"ActionStatus":"OK"`) {
			if !strings.Contains(got, `"FailAccounts":[]`) {
				t.Fatalf("import: %.200s", got)
			}
			acknowledged = append(acknowledged, ids...)
			continue
		}
		if !strings.Contains(got, `"ErrorCode":70500`) {
			t.Fatalf("the import past the room: %s; want ErrorCode 70500", got)
		}
		t.Logf("import %d, past the room, answered %s", batch+1, got)
		refused = ids
		break
	}
	if len(acknowledged) == 0 {
		t.Fatal("no import fitted")
	}
	if code := d.healthz(); code != http.StatusOK {
		t.Fatalf("/healthz %d after the failed write: the node should go on serving", code)
	}
	// Room again (the operator freed the disk): the same import now works,
	// without a restart.
	if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(d.cmd.Process.Pid), "--fsize=unlimited").CombinedOutput(); err != nil {
		t.Fatalf("prlimit (util-linux): %v %s", err, out)
	}
	body, _ := json.Marshal(map[string]any{"Accounts": refused})
	if got := d.rest(t, key, app, "im_open_login_svc/multiaccount_import", string(body)); !strings.Contains(got, `"ActionStatus":"OK"`) {
		t.Fatalf("the import again, with room: %s", got)
	}
	acknowledged = append(acknowledged, refused...)
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done

	d = start(t, "--apps", apps, "--data", data)
	query := func(ids []string) string {
		body, _ := json.Marshal(map[string]any{"To_Account": ids})
		return d.rest(t, key, app, "openim/query_online_status", string(body))
	}
	for i := 0; i < len(acknowledged); i += 500 {
		if got := query(acknowledged[i:min(i+500, len(acknowledged))]); strings.Contains(got, "70107") || !strings.Contains(got, `"ActionStatus":"OK"`) {
			t.Fatalf("an acknowledged account is missing after the restart: %.300s", got)
		}
	}
	t.Logf("%d accounts acknowledged before the file could not grow; all there after kill -9 and restart", len(acknowledged))
}

// healthz returns d's /healthz status code, 0 when it does not answer.
func (d *daemon) healthz() int {
	resp, err := http.Get("http://" + d.addr + "/healthz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// writeApps writes an apps file of one app (ultimate, the status switch on,
// and extra added to its JSON object) and returns its path.
func writeApps(t *testing.T, app uint64, key, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "apps.json")
	js := fmt.Sprintf(`{"apps":[{"sdkappid":%d,"secret_key":%q,"edition":"ultimate","user_status_enabled":true%s}]}`, app, key, extra)
	if err := os.WriteFile(p, []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
