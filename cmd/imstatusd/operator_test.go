package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imstatus/imstatus/core"
)

// imstatusd runs the real binary with args (and env added) and returns its
// output and exit code.
func imstatusd(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// The command line as an operator meets it: --help and help list the
// subcommands and exit 0, --version prints the version, and a mistyped
// subcommand, a stray argument or a bad environment value is an error
// rather than a server started.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env, args []string
		code      int
		out, err  string // what stdout and stderr hold
	}{
		{"--help", nil, []string{"--help"}, 0, "imstatusd usersig", ""},
		{"-h lists the environment", nil, []string{"-h"}, 0, "IMSTATUSD_ADDR", ""},
		{"help", nil, []string{"help"}, 0, "imstatusd kick USER", ""},
		{"usersig --help", nil, []string{"usersig", "--help"}, 0, "-sdkappid", ""},
		{"status --help", nil, []string{"status", "--help"}, 0, "-server URL", ""},
		{"--version", nil, []string{"--version"}, 0, "imstatusd dev (go", ""},
		{"a mistyped subcommand", nil, []string{"usersign", "--user", "u"}, 1, "", `unknown subcommand "usersign"`},
		{"a stray argument", nil, []string{"--addr", "127.0.0.1:0", "stray"}, 1, "", `unexpected argument "stray"`},
		{"an unknown flag", nil, []string{"--adr", ":1"}, 1, "", "flag provided but not defined: -adr"},
		{"a bad environment value", []string{"IMSTATUSD_LEASE_TTL=soon"}, nil, 1, "", "IMSTATUSD_LEASE_TTL"},
		{"kick of two users", nil, []string{"kick", "a", "b"}, 1, "", "one user at a time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := imstatusd(t, tc.env, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.err) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					code, tail([]byte(out), 5), errOut, tc.code, tc.out, tc.err)
			}
		})
	}
}

// Every flag can come from the environment; the command line wins.
func TestEnvironmentConfig(t *testing.T) {
	apps := writeApps(t, redisApp, redisKey, "")
	// start gives --addr 127.0.0.1:0 on the command line: it must win.
	d := startEnv(t, []string{"IMSTATUSD_APPS=" + apps, "IMSTATUSD_ADDR=256.0.0.1:99999"})
	if strings.Contains(strings.Join(d.out, "\n"), "development app") {
		t.Fatalf("IMSTATUSD_APPS was not used: %q", d.out)
	}
	if got := d.rest(t, redisKey, redisApp, "openim/query_online_status", `{"To_Account":["administrator"]}`); !strings.Contains(got, `"ActionStatus":"OK"`) {
		t.Fatalf("REST with the key of IMSTATUSD_APPS's app: %s", got)
	}
}

// waitLog waits until d's log holds a line matching re.
func (d *daemon) waitLog(t *testing.T, re string) string {
	t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(d.log)
		if m := r.Find(b); m != nil {
			return string(m)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line matching %q in:\n%s", re, tail(b, 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SIGHUP reloads the apps file — a changed key holds for new calls, a new
// app serves — and never ends the server; a bad file keeps the apps in
// use, and the log says why. Without --apps or TLS there is nothing to
// reload, and the server lives on all the same.
func TestSIGHUPReloadsApps(t *testing.T) {
	apps := filepath.Join(t.TempDir(), "apps.json")
	write := func(content string) {
		if err := os.WriteFile(apps, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const key1, key2, key3 = "first-key-0123456789", "second-key-0123456789", "third-app-key-0123456789"
	write(fmt.Sprintf(`{"apps":[{"sdkappid":%d,"secret_key":%q}]}`, redisApp, key1))
	d := start(t, "--apps", apps)
	d.waitLog(t, fmt.Sprintf(`msg="apps loaded" sdkappids=\[%d\]`, redisApp))
	ok := func(key string, app uint64) bool {
		return strings.Contains(d.rest(t, key, app, "openim/query_online_status", `{"To_Account":["administrator"]}`), `"ActionStatus":"OK"`)
	}
	if !ok(key1, redisApp) {
		t.Fatal("the first key does not work")
	}

	write(fmt.Sprintf(`{"apps":[{"sdkappid":%d,"secret_key":%q},{"sdkappid":%d,"secret_key":%q}]}`, redisApp, key2, redisApp+1, key3))
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, fmt.Sprintf(`msg="SIGHUP: apps reloaded".* added=\[%d\] changed=\[%d\] removed=\[\]`, redisApp+1, redisApp))
	if ok(key1, redisApp) || !ok(key2, redisApp) || !ok(key3, redisApp+1) {
		t.Fatalf("after the reload: old key %v, new key %v, new app %v; want false, true, true",
			ok(key1, redisApp), ok(key2, redisApp), ok(key3, redisApp+1))
	}

	write(`{"apps":[{"sdkappid":1,"secret_key":"…"}]}`)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, `msg="SIGHUP: keeping the apps in use".*placeholder`)
	if !ok(key2, redisApp) {
		t.Fatal("a bad file replaced the apps in use")
	}
	select {
	case err := <-d.done:
		t.Fatalf("imstatusd ended: %v", err)
	default:
	}

	dev := start(t)
	dev.cmd.Process.Signal(syscall.SIGHUP)
	dev.waitLog(t, `SIGHUP: nothing to reload`)
	if dev.healthz() != 200 {
		t.Fatal("the development server does not answer after SIGHUP")
	}
}

// The operator's commands against a running server: import, status and
// kick, signed with the key of the apps file (or, for the development
// app, the key kept under --data, which survives a restart).
func TestAdminCommands(t *testing.T) {
	apps := writeApps(t, redisApp, redisKey, `,"edition":"ultimate","user_status_enabled":true`)
	d := start(t, "--apps", apps)
	url := "http://" + d.addr
	run := func(env []string, args ...string) string {
		t.Helper()
		out, errOut, code := imstatusd(t, env, args...)
		if code != 0 {
			t.Fatalf("imstatusd %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	if out := run(nil, "import", "alice", "bob", "--apps", apps, "--server", url); out != "imported 2 account(s)\n" {
		t.Fatalf("import: %q", out)
	}
	alice := newPeer(t, "alice", "Linux", d.addr)
	// The environment serves the commands too.
	env := []string{"IMSTATUSD_APPS=" + apps, "IMSTATUSD_SERVER=" + url}
	out := run(env, "status", "alice", "bob", "zed")
	for _, want := range []string{"alice\tOnline\tLinux\n", "bob\tOffline\n", "zed\tnot an account\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("status printed %q, want a line %q", out, want)
		}
	}
	if out := run(env, "kick", "alice"); out != "kicked alice\n" {
		t.Fatalf("kick: %q", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alice.cl.LoginStatus() == core.Logined {
		if time.Now().After(deadline) {
			t.Fatal("alice is still logged in after the kick")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, errOut, code := imstatusd(t, nil, "status", "alice", "--apps", apps, "--server", url, "--sdkappid", "7"); code == 0 || !strings.Contains(errOut, "no app 7") {
		t.Fatalf("status of an app not in the file: exit %d, %q", code, errOut)
	}

	// The development app's key is kept under --data: the same after a
	// restart, and the commands find it there.
	data := t.TempDir()
	keyOf := func(d *daemon) string {
		m := regexp.MustCompile(`secret_key=([0-9a-f]{64})`).FindStringSubmatch(strings.Join(d.out, "\n"))
		if m == nil {
			t.Fatalf("no development key in %q", d.out)
		}
		return m[1]
	}
	dev := start(t, "--data", data)
	first := keyOf(dev)
	dev.cmd.Process.Signal(syscall.SIGTERM)
	<-dev.done
	dev = start(t, "--data", data)
	if again := keyOf(dev); again != first {
		t.Fatalf("the development key changed at a restart: %s, then %s", first, again)
	}
	if out := run(nil, "status", "administrator", "--data", data, "--server", "http://"+dev.addr); !strings.Contains(out, "administrator\tOffline") {
		t.Fatalf("status on the development app: %q", out)
	}
}
