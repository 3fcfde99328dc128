package console_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotsDir, when set, is where TestBrowser saves a screenshot of
// each page (the README's come from there: docs/console/).
var screenshotsDir = os.Getenv("IMSTATUS_CONSOLE_SCREENSHOTS")

// page is a headless Chromium tab on the console.
type page struct {
	t   *testing.T
	ctx context.Context
}

func newPage(t *testing.T, url string) *page {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		// Never skipped: ./build.sh test installs it (Debian package chromium).
		t.Fatalf("chromium is missing (Debian package chromium; ./build.sh test installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI containers
		chromedp.WindowSize(1280, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	p := &page{t: t, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/console/")); err != nil {
		t.Fatalf("opening the console: %v", err)
	}
	return p
}

// eval runs JavaScript in the page and returns its value as JSON.
func (p *page) eval(js string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[json.RawMessage](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", js, err)
	}
	return string(v)
}

// text is the text of the element sel ("" when there is none).
func (p *page) text(sel string) string {
	p.t.Helper()
	var s string
	json.Unmarshal([]byte(p.eval(`(document.querySelector(`+strconv.Quote(sel)+`)||{}).textContent||""`)), &s)
	return s
}

// waitText waits until the text of sel satisfies ok.
func (p *page) waitText(sel, what string, ok func(string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		s := p.text(sel)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: %s is %q", what, sel, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *page) waitHas(sel, want string) string {
	p.t.Helper()
	return p.waitText(sel, "waiting for "+strconv.Quote(want), func(s string) bool { return strings.Contains(s, want) })
}

func (p *page) fill(sel, value string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.SetValue(chromedp.CSS(sel), value)); err != nil {
		p.t.Fatalf("filling %s: %v", sel, err)
	}
}

func (p *page) click(sel string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		p.t.Fatalf("clicking %s: %v", sel, err)
	}
}

func (p *page) screenshot(name string) {
	p.t.Helper()
	if screenshotsDir == "" {
		return
	}
	b, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(screenshotsDir, name+".png"), b, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *page) login(app uint64, key string) {
	p.t.Helper()
	p.fill("#login-app", strconv.FormatUint(app, 10))
	p.fill("#login-secret", key)
	p.click("#login-submit")
}

// TestBrowser drives the console in headless Chromium against a real
// server with real SDK clients: the live device count, the user
// inspector, the relation check, an import, a kick the client hears of,
// and the refusals of a wrong key and of a cross-app access.
func TestBrowser(t *testing.T) {
	e := newEnv(t, true, false)
	p := newPage(t, e.hs.URL)

	// A wrong key, then another app's key, are refused.
	p.waitText("#login", "the login form", func(string) bool { return p.eval(`document.getElementById("login").hidden`) == "false" })
	p.login(appA, keyB)
	p.waitHas("#login-error", "login refused")
	p.eval(`document.getElementById("login-error").textContent = ""`)
	p.login(appB, keyA)
	p.waitHas("#login-error", "login refused")
	p.screenshot("login")

	p.login(appA, keyA)
	p.waitHas("#who", "app 1400000001")
	p.waitText("#stat-devices", "no devices yet", func(s string) bool { return s == "0" })

	// The live count moves as real clients log in.
	alice, aliceKicked := e.client("alice", "Windows")
	bob, _ := e.client("bob", "Android")
	carol, _ := e.client("carol", "iPhone")
	p.waitText("#stat-devices", "three devices", func(s string) bool { return s == "3" })
	if n, _ := strconv.Atoi(p.text("#stat-logins")); n < 3 {
		t.Errorf("logins shown: %q, want at least 3", p.text("#stat-logins"))
	}

	// An account imported from the page exists for the clients.
	p.click("#nav-user")
	p.fill("#import-text", "dave, erin")
	p.click("#import-submit")
	p.waitHas("#flash", "imported: dave, erin")

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := alice.Subscribe(ctx, []string{"bob", "dave"}); err != nil {
		t.Fatalf("alice subscribes: %v", err)
	}
	if err := bob.Subscribe(ctx, []string{"alice"}); err != nil {
		t.Fatalf("bob subscribes: %v", err)
	}
	if err := alice.SetSelfStatus(ctx, "in a match"); err != nil {
		t.Fatal(err)
	}
	e.rest("sns/friend_add", map[string]any{"From_Account": "carol", "AddType": "Add_Type_Both",
		"AddFriendItem": []map[string]string{{"To_Account": "alice"}}})
	if screenshotsDir != "" {
		// Some traffic, so that the charts have something to show.
		sctx, cancel := context.WithTimeout(context.Background(), 2*wait)
		defer cancel()
		for i := range 50 {
			alice.SetSelfStatus(sctx, "in a match "+strconv.Itoa(i%3))
			if i%10 == 0 {
				e.client("guest"+strconv.Itoa(i), "Web")
			}
			time.Sleep(200 * time.Millisecond)
		}
		alice.SetSelfStatus(sctx, "in a match")
	}
	p.click("#nav-overview")
	p.screenshot("overview")

	devices, _ := strconv.Atoi(p.text("#stat-devices"))

	// The inspector shows what the clients set up.
	p.click("#nav-user")
	p.fill("#user-id", "alice")
	p.click("#user-submit")
	p.waitHas("#user-status", "ONLINE")
	if got := p.text("#user-custom"); got != "in a match" {
		t.Errorf("custom status %q", got)
	}
	if got := p.text("#user-devices tbody"); !strings.Contains(got, "Windows") || !strings.Contains(got, e.srv.NodeID()) {
		t.Errorf("devices: %q, want alice's Windows device on node %s", got, e.srv.NodeID())
	}
	var subs []string
	json.Unmarshal([]byte(p.eval(`[...document.querySelectorAll("#user-subs li")].map(li => li.textContent)`)), &subs)
	if strings.Join(subs, ",") != "bob,dave" {
		t.Errorf("subscriptions in eviction order: %q, want bob,dave", subs)
	}
	if got := p.text("#user-subscribers"); got != "bob" {
		t.Errorf("subscribers %q, want bob", got)
	}
	if got := p.text("#user-friends"); got != "carol" {
		t.Errorf("friends %q, want carol", got)
	}
	if got := p.text("#user-friendof"); got != "carol" {
		t.Errorf("in the friend list of %q, want carol", got)
	}
	if got := p.text("#user-transitions tbody"); !strings.Contains(got, "login") {
		t.Errorf("transitions %q, want its login", got)
	}
	p.screenshot("user")

	// The relation check: bob subscribes, carol is a friend with
	// auto-notify, erin neither.
	p.click("#nav-relation")
	tests := []struct{ x, y, answer, reason string }{
		{"alice", "bob", "yes", "bob subscribes to alice"},
		{"alice", "carol", "yes", "auto-notify is on"},
		{"alice", "erin", "no", "erin does not subscribe to alice"},
		{"dave", "alice", "yes", "alice subscribes to dave (place 2 of 2"},
	}
	for _, tc := range tests {
		p.fill("#rel-x", tc.x)
		p.fill("#rel-y", tc.y)
		p.click("#rel-submit")
		p.waitHas("#rel-answer", tc.answer+": "+tc.y)
		if got := p.text("#rel-reasons"); !strings.Contains(got, tc.reason) {
			t.Errorf("relation %s→%s: reasons %q, want %q", tc.x, tc.y, got, tc.reason)
		}
		if tc.y == "carol" {
			p.screenshot("relation")
		}
	}

	// A session of app A may not touch app B, whatever the page asks.
	if got := p.eval(`fetch("api/user?id=alice&sdkappid=1400000002").then(r => r.status)`); got != "403" {
		t.Errorf("cross-app request: %s, want 403", got)
	}
	if got := p.eval(`fetch("api/kick", {method: "POST", body: '{"user":"alice"}'}).then(r => r.status)`); got != "403" {
		t.Errorf("kick without the session's token: %s, want 403", got)
	}

	// Kicking alice's device from the inspector: her client hears of it.
	p.click("#nav-user")
	p.fill("#user-id", "alice")
	// The inspector still shows alice from before: emptied, so that the
	// wait below is for the new answer, whose render would otherwise
	// replace the button between finding it and clicking it.
	p.eval(`document.querySelector("#user-devices tbody").replaceChildren(); 0`)
	p.click("#user-submit")
	p.waitHas("#user-devices tbody", "Windows")
	p.click("#user-devices button.kick")
	select {
	case k := <-aliceKicked:
		if !strings.Contains(k.Desc, "administrator") {
			t.Errorf("kicked with %q", k.Desc)
		}
	case <-time.After(wait):
		t.Fatal("alice's client was not told it was kicked")
	}
	p.waitHas("#user-transitions tbody", "kicked by the admin")
	p.waitHas("#user-status", "UNLOGINED")
	p.click("#nav-overview")
	p.waitText("#stat-devices", "one device fewer after the kick", func(s string) bool { return s == strconv.Itoa(devices-1) })
	_ = carol
}
