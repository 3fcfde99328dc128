package tests

// The Unity package (bindings/unity) on Mono: its Runtime sources and the
// test program in tests/csharp are compiled with mcs and run with mono
// against libImSDK.so and real imstatus servers (internal/testserver).
//
// Two or more clients: the C# program is "alice" through the package; the
// other users are core.Client sessions in this Go process, driven by the C#
// program over a line protocol (monoPeers, mono_helpers_test.go): a stdout
// line "@@ {json}" is a command, answered on its stdin with "ok",
// "ok <json>" or "err <why>". The C# side waits for each answer, so the
// scenario reads top to bottom in tests/csharp/StatusTests.cs.
//
// The test fails, never skips, when mcs, mono or Newtonsoft.Json are
// missing and cannot be installed.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imstatus/imstatus/internal/testserver"
	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/wire"
)

// monoExpectedTests is the number of tests in tests/csharp/StatusTests.cs.
const monoExpectedTests = 29

// monoNonASCII is the custom status the C# tests set; the Go peers check
// that they receive exactly these bytes.
const monoNonASCII = "正在游戏中 🎮 ünï"

// monoExitGrace bounds the time from the C# runner's summary line to the
// process's exit: Mono 6.8 hangs at exit when a library thread has called
// into managed code, which the package's queued mode must prevent.
const monoExitGrace = 20 * time.Second

var monoSummaryRE = regexp.MustCompile(`^(\d+) passed, (\d+) failed$`)

func TestMonoUnityPackage(t *testing.T) {
	tools := monoNeedTools(t)
	dir := t.TempDir()
	monoBuildLibrary(t, dir)
	exe := monoCompile(t, tools, dir, filepath.Join(dir, "MonoTests.exe"), nil)

	main := testserver.Start(t)
	if err := main.Srv.ImportAccounts(testserver.App, "alice", "bob", "carol"); err != nil {
		t.Fatal(err)
	}
	std := testserver.Start(t, func(a *server.AppConfig) { a.Edition = "standard" })
	off := testserver.Start(t, func(a *server.AppConfig) { f := false; a.UserStatusEnabled = &f })
	limited := testserver.Start(t, func(a *server.AppConfig) { a.RateLimitCalls = 2 })
	certPEM, _, pair := testserver.SelfSigned(t, 1)
	secure := testserver.Start(t)
	secure.Stop()
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	secure.Start("alice")
	// A UserSig valid for a minute, then two minutes pass on that server.
	expired := std.Sig("alice", time.Minute)
	std.Clock.Advance(2 * time.Minute)

	peers := newMonoPeers(t, main)
	env := append(os.Environ(),
		"LD_LIBRARY_PATH="+dir+monoListSep(os.Getenv("LD_LIBRARY_PATH")),
		"LANG=C.UTF-8", "LC_ALL=C.UTF-8",
		"IMS_APP="+strconv.FormatUint(testserver.App, 10),
		"IMS_TMP="+dir,
		"IMS_SERVER="+main.Addr,
		"IMS_SERVER_STANDARD="+std.Addr,
		"IMS_SERVER_SWITCHOFF="+off.Addr,
		"IMS_SERVER_LIMITED="+limited.Addr,
		"IMS_SERVER_TLS=wss://"+secure.Addr+"/ws",
		"IMS_SERVER_TLS_CERT="+string(certPEM),
		"IMS_SIG_ALICE_TLS="+secure.Sig("alice", time.Hour),
		"IMS_SIG_ALICE="+main.Sig("alice", time.Hour),
		"IMS_SIG_ALICE_STANDARD="+std.Sig("alice", time.Hour),
		"IMS_SIG_ALICE_STANDARD_EXPIRED="+expired,
		"IMS_SIG_ALICE_SWITCHOFF="+off.Sig("alice", time.Hour),
		"IMS_SIG_ALICE_LIMITED="+limited.Sig("alice", time.Hour),
	)

	start := time.Now()
	res := monoRun(t, tools.mono, exe, env, peers.handle)
	t.Logf("mono ran %d tests in %v (exit %v after the last one)", res.passed+res.failed, res.elapsed.Round(time.Millisecond), res.exitAfter.Round(time.Millisecond))
	if res.stderr != "" {
		t.Logf("mono stderr:\n%s", res.stderr)
	}
	res.mustPass(t, monoExpectedTests)

	// The C# program ended logged in, without Uninit: its connection closed
	// with the process, so bob (subscribed to alice) sees alice OFFLINE.
	if err := peers.waitStatus("bob/Windows", "alice", wire.StatusOffline, "", 10*time.Second); err != nil {
		t.Errorf("after mono exited: %v", err)
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// TestMonoUnityDefines compiles the package as Unity would, against stub
// UnityEngine types (tests/csharp/unity-stubs): the PlayerLoop hook
// (2019.3+), the hidden-MonoBehaviour pump (older Unity), the iOS
// "__Internal" library name, and the StatusPanel sample. It proves that the
// Unity-only code type-checks; it does not run it.
func TestMonoUnityDefines(t *testing.T) {
	tools := monoNeedTools(t)
	dir := t.TempDir()
	root := monoRepoRoot(t)
	stub := filepath.Join(dir, "UnityEngine.dll")
	monoMCS(t, tools, "-target:library", "-out:"+stub, filepath.Join(root, "tests", "csharp", "unity-stubs", "UnityEngine.cs"))
	sample := filepath.Join(root, "bindings", "unity", "Samples~", "StatusPanel", "StatusPanel.cs")
	for i, defines := range []string{
		"UNITY_5_3_OR_NEWER;UNITY_2019_3_OR_NEWER;UNITY_2019_4_OR_NEWER;UNITY_STANDALONE_LINUX",
		"UNITY_5_3_OR_NEWER;UNITY_2019_3_OR_NEWER;UNITY_2019_4_OR_NEWER;UNITY_EDITOR;UNITY_EDITOR_WIN",
		"UNITY_5_3_OR_NEWER;UNITY_2019_3_OR_NEWER;UNITY_2019_4_OR_NEWER;UNITY_IOS;UNITY_IPHONE",
		"UNITY_5_3_OR_NEWER;UNITY_2018_4_OR_NEWER",
	} {
		out := filepath.Join(dir, fmt.Sprintf("unity%d.dll", i))
		monoCompile(t, tools, dir, out, []string{"-target:library", "-define:" + defines, "-r:" + stub, sample})
	}
}

// monoResult is what a run of the C# program showed.
type monoResult struct {
	passed, failed int
	summary        bool
	hung           bool
	err            error
	stderr         string
	lines          []string      // stdout, but the "@@" commands
	elapsed        time.Duration // to the summary line
	exitAfter      time.Duration // from the summary line to the exit
}

// mustPass fails the test unless mono exited in time after a summary
// line that says want passed and none failed.
func (res monoResult) mustPass(t *testing.T, want int) {
	t.Helper()
	switch {
	case res.hung:
		t.Fatalf("mono did not exit within %v after its summary line: the process hangs at exit", monoExitGrace)
	case res.err != nil:
		t.Fatalf("mono: %v", res.err)
	case !res.summary:
		t.Fatalf("mono printed no summary line \"N passed, M failed\"")
	case res.failed != 0 || res.passed != want:
		t.Fatalf("mono: %d passed, %d failed; want %d passed, 0 failed", res.passed, res.failed, want)
	}
}

// monoRun runs the C# program, answering its "@@" lines with handle, and
// enforces monoExitGrace after the summary line.
func monoRun(t *testing.T, mono, exe string, env []string, handle func(string) string) monoResult {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mono, "--debug", exe)
	cmd.Env = env
	cmd.Dir = filepath.Dir(exe)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting mono: %v", err)
	}

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var res monoResult
	var grace <-chan time.Time
	var summaryAt time.Time
	for lines != nil {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			if cmdText, isCmd := strings.CutPrefix(line, "@@ "); isCmd {
				reply := handle(cmdText)
				t.Logf("peer: %s -> %s", cmdText, reply)
				if _, err := io.WriteString(stdin, reply+"\n"); err != nil {
					t.Logf("writing to mono: %v", err)
				}
				continue
			}
			t.Logf("mono: %s", line)
			res.lines = append(res.lines, line)
			if m := monoSummaryRE.FindStringSubmatch(line); m != nil {
				res.summary = true
				res.passed, _ = strconv.Atoi(m[1])
				res.failed, _ = strconv.Atoi(m[2])
				summaryAt = time.Now()
				res.elapsed = summaryAt.Sub(start)
				grace = time.After(monoExitGrace)
			}
		case <-grace:
			// Still running (stdout open) long after the last test.
			res.hung = true
			grace = nil
			cancel() // kills mono; its stdout closes
		}
	}
	// stdout is closed: mono exited, or is exiting. Wait only now, once
	// every line has been read.
	stdin.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	limit := monoExitGrace
	if !summaryAt.IsZero() {
		limit -= time.Since(summaryAt)
	}
	select {
	case err := <-exited:
		res.err = err
	case <-time.After(max(limit, time.Second)):
		res.hung = true
		cancel()
		<-exited
	}
	if !summaryAt.IsZero() {
		res.exitAfter = time.Since(summaryAt)
	}
	if ctx.Err() != nil && !res.hung {
		res.err = fmt.Errorf("killed after %v: %w (last error %v)", time.Since(start).Round(time.Second), ctx.Err(), res.err)
	}
	res.stderr = stderr.String()
	return res
}

// TestMonoUnityPackageLayout checks what Unity reads before any code runs:
// package.json, the assembly definition, a .meta (with a unique GUID) for
// every asset, as a package added by git URL is read-only and Unity ignores
// assets without one, and the .meta files Tools~/install-plugins.sh writes
// for the native libraries.
func TestMonoUnityPackageLayout(t *testing.T) {
	pkg := filepath.Join(monoRepoRoot(t), "bindings", "unity")

	var manifest struct {
		Name, DisplayName, Version, Unity, Description string
		Dependencies                                   map[string]string
		Samples                                        []struct{ DisplayName, Path string }
	}
	monoReadJSON(t, filepath.Join(pkg, "package.json"), &manifest)
	if manifest.Name != "com.imstatus.imsdk.unity" || manifest.Version != "0.1.0" || manifest.Unity != "2019.4" ||
		manifest.DisplayName == "" || manifest.Description == "" {
		t.Errorf("package.json: %+v", manifest)
	}
	if manifest.Dependencies["com.unity.nuget.newtonsoft-json"] == "" {
		t.Errorf("package.json: no dependency on com.unity.nuget.newtonsoft-json: %v", manifest.Dependencies)
	}
	for _, s := range manifest.Samples {
		if _, err := os.Stat(filepath.Join(pkg, filepath.FromSlash(s.Path))); err != nil {
			t.Errorf("sample %q: %v", s.DisplayName, err)
		}
	}
	var asmdef struct {
		Name                  string
		PrecompiledReferences []string
		OverrideReferences    bool
	}
	// The assembly is upstream's, by name and by the GUID of its .meta: an
	// app's assembly definition that references upstream's package (by
	// either) resolves to this one.
	asmdefPath := filepath.Join(pkg, "Runtime", "TencentIMSDK.asmdef")
	monoReadJSON(t, asmdefPath, &asmdef)
	if asmdef.Name != "TencentIMSDK" || !asmdef.OverrideReferences || !slices.Contains(asmdef.PrecompiledReferences, "Newtonsoft.Json.dll") {
		t.Errorf("asmdef: %+v", asmdef)
	}
	if meta, err := os.ReadFile(asmdefPath + ".meta"); err != nil || !strings.Contains(string(meta), "guid: 0f92008a670a742018fda71066884445\n") {
		t.Errorf("TencentIMSDK.asmdef.meta does not carry upstream's GUID (%v)", err)
	}

	guids := map[string]string{}
	guidRE := regexp.MustCompile(`(?m)^guid: ([0-9a-f]{32})$`)
	err := filepath.WalkDir(pkg, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == pkg {
			return err
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
			if d.IsDir() {
				return filepath.SkipDir // Unity ignores hidden and ~ folders
			}
			return nil
		}
		rel, _ := filepath.Rel(pkg, p)
		if asset, isMeta := strings.CutSuffix(p, ".meta"); isMeta {
			if _, err := os.Stat(asset); err != nil {
				t.Errorf("%s: a .meta without its asset", rel)
			}
			return nil
		}
		meta, err := os.ReadFile(p + ".meta")
		if err != nil {
			t.Errorf("%s: no .meta (Unity ignores it in a read-only package)", rel)
			return nil
		}
		m := guidRE.FindSubmatch(meta)
		if m == nil {
			t.Errorf("%s.meta: no guid", rel)
			return nil
		}
		if other, dup := guids[string(m[1])]; dup {
			t.Errorf("%s.meta and %s.meta share guid %s", rel, other, m[1])
		}
		guids[string(m[1])] = rel
		want := map[string]string{".cs": "MonoImporter:", ".asmdef": "AssemblyDefinitionImporter:", ".md": "TextScriptImporter:", ".json": "PackageManifestImporter:"}[filepath.Ext(p)]
		if d.IsDir() {
			want = "folderAsset: yes"
		}
		if want != "" && !bytes.Contains(meta, []byte(want)) {
			t.Errorf("%s.meta: want %q", rel, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"Linux/x86_64", "Windows/x86_64", "macOS", "Android/arm64-v8a", "iOS"} {
		if _, err := os.Stat(filepath.Join(pkg, "Plugins", filepath.FromSlash(dir))); err != nil {
			t.Errorf("Plugins/%s: %v", dir, err)
		}
	}

	// The plugin tool: each library lands in its folder with a .meta that
	// enables exactly its platform.
	dest := t.TempDir()
	lib := filepath.Join(dest, "lib.bin")
	if err := os.WriteFile(lib, []byte("not really a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(pkg, "Tools~", "install-plugins.sh"), "--dest", filepath.Join(dest, "out"),
		"--linux", lib, "--windows", lib, "--macos", lib, "--android-arm64", lib, "--ios", lib)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install-plugins.sh: %v\n%s", err, out)
	}
	for file, want := range map[string]struct {
		enabled string
		entries int // enabled entries: the Editor's and the player's, or the player's
	}{
		"Linux/x86_64/libImSDK.so":      {"Standalone: Linux64\n    second:\n      enabled: 1", 2},
		"Windows/x86_64/ImSDK.dll":      {"Standalone: Win64\n    second:\n      enabled: 1", 2},
		"macOS/libImSDK.dylib":          {"Standalone: OSXUniversal\n    second:\n      enabled: 1", 2},
		"Android/arm64-v8a/libImSDK.so": {"Android: Android\n    second:\n      enabled: 1\n      settings:\n        CPU: ARM64", 1},
		"iOS/libImSDK.a":                {"iPhone: iOS\n    second:\n      enabled: 1", 1},
	} {
		meta, err := os.ReadFile(filepath.Join(dest, "out", filepath.FromSlash(file)+".meta"))
		if err != nil {
			t.Errorf("install-plugins.sh: %v", err)
			continue
		}
		if !bytes.Contains(meta, []byte(want.enabled)) || bytes.Count(meta, []byte("enabled: 1")) != want.entries {
			t.Errorf("%s.meta does not enable exactly its platform:\n%s", file, meta)
		}
	}
}

func monoReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
