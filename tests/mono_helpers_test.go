package tests

// Helpers of mono_test.go: the Mono toolchain, building libImSDK and the C#
// program, and the Go peers the C# program drives.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imstatus/imstatus/core"
	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/wire"
)

// monoTools are the programs and the assembly the Mono tests need.
type monoTools struct {
	mono, mcs  string
	newtonsoft string // Newtonsoft.Json.dll (Debian: libnewtonsoft-json-cil-dev)
}

var (
	monoToolsOnce sync.Once
	monoToolsVal  monoTools
	monoToolsErr  error
)

// monoNeedTools finds mono, mcs and Newtonsoft.Json.dll, installing the
// Debian packages when running as root; otherwise the test fails.
func monoNeedTools(t *testing.T) monoTools {
	t.Helper()
	monoToolsOnce.Do(func() {
		monoToolsVal, monoToolsErr = monoFindTools()
		if monoToolsErr == nil || os.Geteuid() != 0 {
			return
		}
		if _, err := exec.LookPath("apt-get"); err != nil {
			return
		}
		pkgs := []string{"mono-mcs", "mono-runtime", "libnewtonsoft-json-cil-dev"}
		for _, args := range [][]string{{"update", "-qq"}, append([]string{"install", "-y", "-qq"}, pkgs...)} {
			cmd := exec.Command("apt-get", args...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if out, err := cmd.CombinedOutput(); err != nil {
				monoToolsErr = fmt.Errorf("%w; apt-get %s failed: %v\n%s", monoToolsErr, args[0], err, monoTail(string(out), 2000))
				return
			}
		}
		monoToolsVal, monoToolsErr = monoFindTools()
	})
	if monoToolsErr != nil {
		t.Fatalf("the Mono tests need mono, mcs and Newtonsoft.Json (Debian: apt-get install mono-mcs mono-runtime libnewtonsoft-json-cil-dev): %v", monoToolsErr)
	}
	return monoToolsVal
}

func monoFindTools() (monoTools, error) {
	var tl monoTools
	var missing []string
	var err error
	if tl.mono, err = exec.LookPath("mono"); err != nil {
		missing = append(missing, "mono")
	}
	if tl.mcs, err = exec.LookPath("mcs"); err != nil {
		missing = append(missing, "mcs")
	}
	var found []string
	for _, root := range []string{"/usr/lib/mono", "/usr/lib/cli"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == "Newtonsoft.Json.dll" {
				found = append(found, p)
			}
			return nil
		})
	}
	if len(found) == 0 {
		missing = append(missing, "Newtonsoft.Json.dll under /usr/lib/mono or /usr/lib/cli")
	} else {
		sort.Strings(found) // /usr/lib/cli/... before /usr/lib/mono/gac/...; either works
		tl.newtonsoft = found[0]
	}
	if len(missing) > 0 {
		return tl, errors.New("missing " + strings.Join(missing, ", "))
	}
	return tl, nil
}

// monoRepoRoot is the module's root (go test runs in tests/).
func monoRepoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above tests/: %v", err)
	}
	return root
}

// monoBuildLibrary builds libImSDK.so into dir, as ./build.sh does.
func monoBuildLibrary(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-buildmode=c-shared",
		"-ldflags=-extldflags=-Wl,-soname,libImSDK.so",
		"-o", filepath.Join(dir, "libImSDK.so"), "./capi")
	cmd.Dir = monoRepoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building libImSDK.so: %v\n%s", err, out)
	}
}

// monoMCS runs mcs with args, failing the test on any error or warning.
func monoMCS(t *testing.T, tl monoTools, args ...string) {
	t.Helper()
	all := append([]string{"-codepage:utf8", "-warnaserror", "-nologo"}, args...)
	cmd := exec.Command(tl.mcs, all...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mcs %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// monoCompile compiles the package's Runtime sources, plus (with extra nil)
// the test program of tests/csharp into out, an executable; with extra
// given, those arguments and sources instead of the test program.
// Newtonsoft.Json.dll is copied next to out.
func monoCompile(t *testing.T, tl monoTools, dir, out string, extra []string) string {
	t.Helper()
	root := monoRepoRoot(t)
	var sources []string
	filepath.WalkDir(filepath.Join(root, "bindings", "unity", "Runtime"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".cs") {
			sources = append(sources, p)
		}
		return nil
	})
	if len(sources) == 0 {
		t.Fatal("no C# sources under bindings/unity/Runtime")
	}
	args := []string{"-out:" + out, "-r:" + tl.newtonsoft, "-r:System.Core"}
	if extra == nil {
		tests, _ := filepath.Glob(filepath.Join(root, "tests", "csharp", "*.cs"))
		args = append(append(args, "-target:exe"), tests...)
	} else {
		args = append(args, extra...)
	}
	monoMCS(t, tl, append(args, sources...)...)
	nj, err := os.ReadFile(tl.newtonsoft)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "Newtonsoft.Json.dll"), nj, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// monoListSep returns ":"+v, or "" when v is empty.
func monoListSep(v string) string {
	if v == "" {
		return ""
	}
	return ":" + v
}

// monoPeers are the other users of the Mono tests: real core.Client
// sessions against the test server, keyed "user/platform".
type monoPeers struct {
	t   *testing.T
	srv *testserver.Server

	mu      sync.Mutex
	clients map[string]*monoPeer
}

// monoPeer is one session and the last status it was told of each user.
type monoPeer struct {
	c *core.Client

	mu   sync.Mutex
	seen map[string]wire.Status
}

// monoCommand is a "@@" line of the C# program.
type monoCommand struct {
	Op       string   `json:"op"`
	User     string   `json:"user"`
	Platform string   `json:"platform"`
	Text     string   `json:"text"`
	IDs      []string `json:"ids"`
	Target   string   `json:"target"`
	Type     int      `json:"type"`
	Custom   string   `json:"custom"`
	Literal  bool     `json:"literal"`
}

func newMonoPeers(t *testing.T, srv *testserver.Server) *monoPeers {
	p := &monoPeers{t: t, srv: srv, clients: make(map[string]*monoPeer)}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.clients {
			c.c.Close()
		}
	})
	return p
}

// handle runs one command and returns the reply line.
func (p *monoPeers) handle(line string) string {
	var c monoCommand
	if err := json.Unmarshal([]byte(line), &c); err != nil {
		return "err bad command: " + err.Error()
	}
	if err := p.run(c); err != nil {
		return "err " + strings.ReplaceAll(err.Error(), "\n", " ")
	}
	return "ok"
}

func (p *monoPeers) run(c monoCommand) error {
	key := c.User + "/" + c.Platform
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c.Op == "login" {
		return p.login(ctx, key, c.User, c.Platform)
	}
	p.mu.Lock()
	peer := p.clients[key]
	p.mu.Unlock()
	if peer == nil {
		return fmt.Errorf("%s: no session %s", c.Op, key)
	}
	switch c.Op {
	case "logout":
		return peer.c.Logout(ctx)
	case "drop":
		p.mu.Lock()
		delete(p.clients, key)
		p.mu.Unlock()
		return peer.c.Close()
	case "set_status":
		return peer.c.SetSelfStatus(ctx, c.Text)
	case "subscribe":
		return peer.c.Subscribe(ctx, c.IDs)
	case "wait_status":
		if c.Literal && c.Custom != monoNonASCII {
			return fmt.Errorf("the command's text %q is not the test's non-ASCII text %q: the C# side or its JSON mangled it", c.Custom, monoNonASCII)
		}
		return p.waitStatus(key, c.Target, wire.StatusType(c.Type), c.Custom, 10*time.Second)
	}
	return fmt.Errorf("unknown op %q", c.Op)
}

func (p *monoPeers) login(ctx context.Context, key, user, platform string) error {
	p.mu.Lock()
	old := p.clients[key]
	delete(p.clients, key)
	p.mu.Unlock()
	if old != nil {
		old.c.Close()
	}
	peer := &monoPeer{seen: make(map[string]wire.Status)}
	c, err := core.New(core.Config{
		SDKAppID: testserver.App,
		Servers:  []string{p.srv.Addr},
		Platform: platform,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnEvent: func(e core.Event) {
			if sc, ok := e.(core.StatusChanged); ok {
				peer.mu.Lock()
				for _, s := range sc.Statuses {
					peer.seen[s.UserID] = s
				}
				peer.mu.Unlock()
			}
		},
	})
	if err != nil {
		return err
	}
	peer.c = c
	if err := c.Login(ctx, user, p.srv.Sig(user, time.Hour)); err != nil {
		c.Close()
		return err
	}
	p.mu.Lock()
	p.clients[key] = peer
	p.mu.Unlock()
	return nil
}

// waitStatus waits until session key's latest news of target has type and custom.
func (p *monoPeers) waitStatus(key, target string, typ wire.StatusType, custom string, d time.Duration) error {
	p.mu.Lock()
	peer := p.clients[key]
	p.mu.Unlock()
	if peer == nil {
		return fmt.Errorf("no session %s", key)
	}
	deadline := time.Now().Add(d)
	for {
		peer.mu.Lock()
		s, ok := peer.seen[target]
		peer.mu.Unlock()
		if ok && s.Type == typ && s.Custom == custom {
			return nil
		}
		if time.Now().After(deadline) {
			if !ok {
				return fmt.Errorf("%s was told nothing of %s in %v", key, target, d)
			}
			return fmt.Errorf("%s last saw %s as type %d custom %q devices %v; want type %d custom %q (waited %v)",
				key, target, s.Type, s.Custom, s.Devices, typ, custom, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// monoTail returns the last n bytes of s.
func monoTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
