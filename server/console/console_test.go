package console_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/imstatus/imstatus/server"
)

func TestConsoleOffByDefault(t *testing.T) {
	e := newEnv(t, false, false)
	for _, path := range []string{"/console/", "/console/api/session", "/console/static/console.js"} {
		resp, err := e.hs.Client().Get(e.hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without the console: %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestPageServedAndLocked(t *testing.T) {
	e := newEnv(t, true, false)
	b := e.browser()
	st, m, resp := b.do("GET", "/console/", "")
	if st != http.StatusOK || !strings.Contains(m["raw"].(string), "console.js") {
		t.Fatalf("GET /console/: %d %v", st, m)
	}
	for _, f := range []string{"console.js", "console.css"} {
		if st, m, _ := b.do("GET", "/console/static/"+f, ""); st != http.StatusOK || len(m["raw"].(string)) < 1000 {
			t.Errorf("GET /console/static/%s: %d", f, st)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for _, path := range []string{"/console/api/session", "/console/api/stats", "/console/api/user?id=a", "/console/api/relation?x=a&y=b"} {
		if st, _, _ := b.do("GET", path, ""); st != http.StatusUnauthorized {
			t.Errorf("GET %s without a session: %d, want 401", path, st)
		}
	}
}

func TestCookie(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(tls), func(t *testing.T) {
			e := newEnv(t, true, tls)
			resp := e.browser().login()
			var c *http.Cookie
			for _, x := range resp.Cookies() {
				if x.Name == "imstatus_console" {
					c = x
				}
			}
			if c == nil {
				t.Fatal("no session cookie")
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tls || c.Path != "/console/" {
				t.Errorf("cookie HttpOnly=%v SameSite=%v Secure=%v Path=%q; want HttpOnly, Strict, Secure=%v, /console/",
					c.HttpOnly, c.SameSite, c.Secure, c.Path, tls)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	admin := sig(t, keyA, appA, "administrator")
	tests := []struct {
		name string
		body string
		want int
	}{
		{"key", `{"sdkappid":"1400000001","key":"` + keyA + `"}`, 200},
		{"usersig", `{"sdkappid":1400000001,"identifier":"administrator","usersig":"` + admin + `"}`, 200},
		{"wrong key", `{"sdkappid":"1400000001","key":"` + keyB + `"}`, 403},
		{"other app's key", `{"sdkappid":"1400000002","key":"` + keyA + `"}`, 403},
		{"other app's admin usersig", `{"sdkappid":"1400000002","identifier":"administrator","usersig":"` + admin + `"}`, 403},
		{"not the admin", `{"sdkappid":"1400000001","identifier":"alice","usersig":"` + sig(t, keyA, appA, "alice") + `"}`, 403},
		{"unknown app", `{"sdkappid":"42","key":"` + keyA + `"}`, 403},
		{"both", `{"sdkappid":"1400000001","key":"k","identifier":"administrator","usersig":"` + admin + `"}`, 400},
		{"neither", `{"sdkappid":"1400000001"}`, 400},
		{"unknown field", `{"sdkappid":"1400000001","key":"k","admin":true}`, 400},
		{"not json", `sdkappid=1400000001`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A server each: this test is not the login rate limit's.
			b := newEnv(t, true, false).browser()
			st, m, _ := b.do("POST", "/console/api/login", tc.body)
			if st != tc.want {
				t.Fatalf("status %d (%v), want %d", st, m, tc.want)
			}
			if st == 200 {
				for _, secret := range []string{keyA, admin} {
					for _, v := range m {
						if s, _ := v.(string); strings.Contains(s, secret) {
							t.Errorf("the login's answer holds a secret: %v", m)
						}
					}
				}
				if st, _, _ := b.do("GET", "/console/api/stats", ""); st != 200 {
					t.Errorf("stats after login: %d", st)
				}
			}
		})
	}
}

func TestLoginRateLimited(t *testing.T) {
	e := newEnv(t, true, false)
	b := e.browser()
	var codes []int
	for range 8 {
		st, _, _ := b.do("POST", "/console/api/login", `{"sdkappid":"1400000001","key":"wrong"}`)
		codes = append(codes, st)
	}
	// A burst of 5, then refused before the key is looked at.
	want := []int{403, 403, 403, 403, 403, 429, 429, 429}
	if !slicesEqual(codes, want) {
		t.Fatalf("statuses %v, want %v", codes, want)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestActionsNeedTokenAndOrigin(t *testing.T) {
	e := newEnv(t, true, false)
	b := e.browser()
	b.login()
	body := `{"text":"zed"}`
	tests := []struct {
		name    string
		headers []string
		want    int
	}{
		{"no token", nil, 403},
		{"wrong token", []string{"X-Console-Token", "x" + b.csrf}, 403},
		{"foreign origin", []string{"X-Console-Token", b.csrf, "Origin", "https://evil.example"}, 403},
		{"token", []string{"X-Console-Token", b.csrf}, 200},
		{"token, same origin", []string{"X-Console-Token", b.csrf, "Origin", e.hs.URL}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, m, _ := b.do("POST", "/console/api/import", body, tc.headers...)
			if st != tc.want {
				t.Fatalf("status %d (%v), want %d", st, m, tc.want)
			}
		})
	}
}

func TestCrossAppRefused(t *testing.T) {
	e := newEnv(t, true, false)
	b := e.browser()
	b.login()
	if st, _, _ := b.do("GET", "/console/api/user?id=alice&sdkappid=1400000001", ""); st != 200 {
		t.Fatalf("own app: %d", st)
	}
	if st, m, _ := b.do("GET", "/console/api/user?id=alice&sdkappid=1400000002", ""); st != http.StatusForbidden {
		t.Fatalf("other app: %d %v, want 403", st, m)
	}
	if st, _, _ := b.do("POST", "/console/api/kick?sdkappid=1400000002", `{"user":"alice"}`, "X-Console-Token", b.csrf); st != http.StatusForbidden {
		t.Fatalf("kick in the other app: %d, want 403", st)
	}
}

func TestBodyBounded(t *testing.T) {
	e := newEnv(t, true, false)
	b := e.browser()
	b.login()
	big := `{"text":"` + strings.Repeat("a ", 8<<10) + `"}`
	if st, _, _ := b.do("POST", "/console/api/import", big, "X-Console-Token", b.csrf); st != http.StatusRequestEntityTooLarge {
		t.Fatalf("import of %d bytes: %d, want 413", len(big), st)
	}
	if st, _, _ := b.do("POST", "/console/api/login", `{"sdkappid":"1","key":"`+strings.Repeat("k", 9<<10)+`"}`); st != http.StatusRequestEntityTooLarge {
		t.Fatalf("login of 9 KiB: %d, want 413", st)
	}
}

// A reload that changes the app's key ends the sessions opened with the
// old one: each request checks its credentials again, as REST does.
func TestSessionEndsWithKeyChange(t *testing.T) {
	e := newEnv(t, true, false)
	b := e.browser()
	b.login()
	if st, _, _ := b.do("GET", "/console/api/stats", ""); st != 200 {
		t.Fatalf("stats: %d", st)
	}
	next := apps()
	next[0].SecretKey = keyB
	if _, _, _, err := e.srv.Reload(next); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := b.do("GET", "/console/api/stats", ""); st != http.StatusUnauthorized {
		t.Fatalf("stats after the key changed: %d, want 401", st)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, true, false)
	b := e.browser()
	b.login()
	if st, _, _ := b.do("POST", "/console/api/logout", "", "X-Console-Token", b.csrf); st != 200 {
		t.Fatalf("logout: %d", st)
	}
	if st, _, _ := b.do("GET", "/console/api/stats", ""); st != http.StatusUnauthorized {
		t.Fatalf("stats after logout: %d, want 401", st)
	}
}

// "console": true in the apps file turns the console on for that app
// only, without --console; a reload turns it on or off, and a session of
// an app whose console a reload turned off ends at its next request.
func TestConsoleFromTheAppsFile(t *testing.T) {
	withConsole := func(a, b bool) []server.AppConfig {
		as := apps()
		as[0].Console, as[1].Console = &a, &b
		return as
	}
	e := newEnvWith(t, false, server.Options{}) // apps() turn it on for nobody
	login := func(b *browser, app uint64, key string) int {
		st, _, _ := b.do("POST", "/console/api/login", `{"sdkappid":"`+strconv.FormatUint(app, 10)+`","key":"`+key+`"}`)
		return st
	}
	if st, _, _ := e.browser().do("GET", "/console/", ""); st != http.StatusNotFound {
		t.Fatalf("GET /console/ with the console on for no app: %d, want 404", st)
	}
	if _, _, _, err := e.srv.Reload(withConsole(true, false)); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	if st, _, _ := b.do("GET", "/console/", ""); st != http.StatusOK {
		t.Fatalf("GET /console/ with the console on for app A: %d, want 200", st)
	}
	if st := login(e.browser(), appB, keyB); st == http.StatusOK {
		t.Fatal("app B, whose console is off, logged in")
	}
	b.login()
	if st, _, _ := b.do("GET", "/console/api/session", ""); st != http.StatusOK {
		t.Fatalf("app A's session: %d, want 200", st)
	}
	if _, _, _, err := e.srv.Reload(withConsole(false, true)); err != nil {
		t.Fatal(err)
	}
	if st, m, _ := b.do("GET", "/console/api/session", ""); st != http.StatusUnauthorized {
		t.Fatalf("app A's session once its console is off: %d %v, want 401", st, m)
	}
	if st := login(e.browser(), appB, keyB); st != http.StatusOK {
		t.Fatalf("app B, its console now on: login %d, want 200", st)
	}
}
