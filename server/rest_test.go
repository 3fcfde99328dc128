package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// End-to-end tests of the REST admin API (SEMANTICS §8) over real HTTP.

// restQuery returns the query of a REST call by identifier with usersig.
func (e *env) restQuery(identifier, sig string) url.Values {
	return url.Values{"sdkappid": {fmt.Sprint(e.app.SDKAppID)}, "identifier": {identifier},
		"usersig": {sig}, "random": {"4242"}, "contenttype": {"json"}}
}

// restDo sends a REST request with a raw body and checks what every answer
// must be: HTTP 200, a JSON object with the upstream envelope, and a
// non-empty ErrorInfo on FAIL.
func (e *env) restDo(method, path string, q url.Values, body string) gjson.Result {
	e.t.Helper()
	req, err := http.NewRequest(method, e.hs.URL+path+"?"+q.Encode(), strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("%s %s: HTTP %d, want 200 always: %s", method, path, resp.StatusCode, out)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	r, err := restEnvelope(out)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// restEnvelope reads an answer of the REST API, which must be upstream's
// envelope: a JSON object whose ActionStatus is OK with ErrorCode 0, or
// FAIL with a code and a non-empty ErrorInfo.
func restEnvelope(out []byte) (gjson.Result, error) {
	if !gjson.ValidBytes(out) || !gjson.ParseBytes(out).IsObject() {
		return gjson.Result{}, fmt.Errorf("answer is not a JSON object: %.300s", out)
	}
	r := gjson.ParseBytes(out)
	st, code, info := r.Get("ActionStatus"), r.Get("ErrorCode"), r.Get("ErrorInfo")
	if st.Type != gjson.String || code.Type != gjson.Number || info.Type != gjson.String {
		return r, fmt.Errorf("envelope incomplete: %.300s", out)
	}
	switch st.Str {
	case "OK":
		if code.Int() != 0 {
			return r, fmt.Errorf("OK with ErrorCode %d: %.300s", code.Int(), out)
		}
	case "FAIL":
		if code.Int() == 0 || info.Str == "" {
			return r, fmt.Errorf("FAIL needs a code and an ErrorInfo: %.300s", out)
		}
	default:
		return r, fmt.Errorf("ActionStatus %q: %.300s", st.Str, out)
	}
	return r, nil
}

// adminPost is a POST by the app's admin with a valid UserSig.
func (e *env) adminPost(path string, body any) gjson.Result {
	e.t.Helper()
	raw, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		raw = string(b)
	}
	return e.restDo(http.MethodPost, path, e.restQuery(e.app.Admin, e.sig(e.app.Admin)), raw)
}

// mustOK fails unless r is a success.
func mustOK(t *testing.T, r gjson.Result) {
	t.Helper()
	if r.Get("ActionStatus").Str != "OK" || r.Get("ErrorCode").Int() != 0 || r.Get("ErrorInfo").Str != "" {
		t.Fatalf("want OK, got %s", clip(r.Raw))
	}
}

// mustFail fails unless r is a FAIL with code (restDo checked ErrorInfo).
func mustFail(t *testing.T, r gjson.Result, code int) {
	t.Helper()
	if r.Get("ActionStatus").Str != "FAIL" || r.Get("ErrorCode").Int() != int64(code) {
		t.Fatalf("want FAIL %d, got %s", code, clip(r.Raw))
	}
}

// jsonEqual fails unless got and want hold the same JSON value (key order
// and spacing aside, no missing or extra members).
func jsonEqual(t *testing.T, got gjson.Result, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got.Raw), &g); err != nil {
		t.Fatalf("got is not JSON: %v: %s", err, got.Raw)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got  %s\nwant %s", clip(compact(got.Raw)), clip(compact(want)))
	}
}

// clip shortens a long answer for a failure message.
func clip(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

func compact(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return s
	}
	return b.String()
}

// statusOf asks the server for who's status through c.
func statusOf(c *client, who string) wire.Status {
	c.t.Helper()
	return c.statuses(who)[0]
}

// expectFinal takes pushes until who's status has type typ; intermediate
// statuses of who (and pushes about others) are skipped.
func (c *client) expectFinal(who string, typ wire.StatusType) wire.Status {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case f := <-c.pushes:
			if f.Op != wire.OpStatus {
				c.t.Fatalf("%s: push %s (%d %s) while waiting for %s to become %v", c.user, f.Op, f.Code, f.Desc, who, typ)
			}
			sts, err := wire.ParseStatuses(f.Body)
			if err != nil {
				c.t.Fatal(err)
			}
			for _, s := range sts {
				if s.UserID == who && s.Type == typ {
					return s
				}
			}
		case <-deadline:
			c.t.Fatalf("%s: %s did not become %v in %v", c.user, who, typ, wait)
		}
	}
}

// waitKicked waits for the server to close the link and checks that the
// last push before the close was kicked-offline, with code 6208 and a desc.
func (c *client) waitKicked() {
	c.t.Helper()
	// The reader queues every push before it marks the link closed, so
	// waiting for the close first loses nothing.
	c.waitClosed()
	for {
		select {
		case f := <-c.pushes:
			switch f.Op {
			case wire.OpStatus: // own status changes before the kick
				continue
			case wire.OpKicked:
				if f.Code != wire.CodeKickedOffline || f.Desc == "" {
					c.t.Fatalf("%s: kicked push %d %q, want 6208 with a desc", c.user, f.Code, f.Desc)
				}
				select {
				case f := <-c.pushes:
					c.t.Fatalf("%s: push %s after the kicked push", c.user, f.Op)
				default:
				}
				return
			default:
				c.t.Fatalf("%s: push %s (%d %s) while waiting to be kicked", c.user, f.Op, f.Code, f.Desc)
			}
		default:
			c.t.Fatalf("%s: link closed without a kicked push", c.user)
		}
	}
}

const (
	pathAccountImport = "/v4/im_open_login_svc/account_import"
	pathMultiImport   = "/v4/im_open_login_svc/multiaccount_import"
	pathKick          = "/v4/im_open_login_svc/kick"
	pathQueryOnline   = "/v4/openim/query_online_status"
	pathFriendAdd     = "/v4/sns/friend_add"
	pathFriendImport  = "/v4/sns/friend_import"
	pathFriendDelete  = "/v4/sns/friend_delete"
)

const okEnvelope = `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`

func TestRESTAccountImport(t *testing.T) {
	e := newEnv(t)
	watcher := e.login("watcher")
	for _, key := range []string{"UserID", "Identifier"} {
		t.Run(key, func(t *testing.T) {
			e.t, watcher.t = t, t
			id := "imported_" + strings.ToLower(key)
			if st := statusOf(watcher, id); st.Type != wire.StatusUnknown {
				t.Fatalf("before import: %+v", st)
			}
			jsonEqual(t, e.adminPost(pathAccountImport, map[string]any{key: id}), okEnvelope)
			if st := statusOf(watcher, id); !st.Equal(wire.Status{UserID: id, Type: wire.StatusUnlogined}) {
				t.Fatalf("after import: %+v, want UNLOGINED", st)
			}
			// Importing again is fine and changes nothing.
			jsonEqual(t, e.adminPost(pathAccountImport, map[string]any{key: id}), okEnvelope)
			if st := statusOf(watcher, id); st.Type != wire.StatusUnlogined {
				t.Fatalf("after re-import: %+v", st)
			}
		})
	}
	e.t, watcher.t = t, t

	// Importing an account that is online leaves it online.
	watcher.drain()
	mustOK(t, e.adminPost(pathAccountImport, map[string]any{"UserID": "watcher"}))
	if st := statusOf(watcher, "watcher"); st.Type != wire.StatusOnline {
		t.Fatalf("online account after import: %+v", st)
	}
	watcher.quiet()

	for _, body := range []string{`{}`, `{"UserID":""}`, `{"UserID":"bad id"}`, `{"UserID":5}`,
		`{"UserID":null}`, `{"Identifier":"` + strings.Repeat("x", 33) + `"}`, `{"Other":"a"}`} {
		t.Run("invalid "+body, func(t *testing.T) {
			e.t = t
			mustFail(t, e.adminPost(pathAccountImport, body), wire.CodeServerParams)
		})
	}
}

func TestRESTMultiAccountImport(t *testing.T) {
	e := newEnv(t)
	watcher := e.login("watcher")
	long := strings.Repeat("y", 33)
	r := e.adminPost(pathMultiImport, map[string]any{
		"Accounts": []string{"m1", "bad id", "", "m2", long, "m1", "ok-_3", "naïve"}})
	jsonEqual(t, r, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"",
		"FailAccounts":["bad id","","`+long+`","naïve"]}`)
	got := watcher.statuses("m1", "m2", "ok-_3", strings.Repeat("y", 32))
	want := []wire.Status{
		{UserID: "m1", Type: wire.StatusUnlogined},
		{UserID: "m2", Type: wire.StatusUnlogined},
		{UserID: "ok-_3", Type: wire.StatusUnlogined},
		{UserID: strings.Repeat("y", 32), Type: wire.StatusUnknown},
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("status %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	// All valid: FailAccounts is an empty array, not null or missing.
	jsonEqual(t, e.adminPost(pathMultiImport, map[string]any{"Accounts": []string{"m3"}}),
		`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","FailAccounts":[]}`)

	// 100 accounts is the limit; 101 are rejected and none is created.
	hundred := names("h", 100)
	jsonEqual(t, e.adminPost(pathMultiImport, map[string]any{"Accounts": hundred}),
		`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","FailAccounts":[]}`)
	if st := statusOf(watcher, "h99"); st.Type != wire.StatusUnlogined {
		t.Fatalf("h99 after import: %+v", st)
	}
	mustFail(t, e.adminPost(pathMultiImport, map[string]any{"Accounts": names("over", 101)}), wire.CodeServerParams)
	if sts := watcher.statuses("over0", "over100"); sts[0].Type != wire.StatusUnknown || sts[1].Type != wire.StatusUnknown {
		t.Fatalf("a rejected import created accounts: %+v", sts)
	}

	for _, body := range []string{`{}`, `{"Accounts":[]}`, `{"Accounts":null}`, `{"Accounts":"a"}`, `{"Accounts":["a",1]}`} {
		t.Run("invalid "+body, func(t *testing.T) {
			e.t = t
			mustFail(t, e.adminPost(pathMultiImport, body), wire.CodeServerParams)
		})
	}
}

func TestRESTKick(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("w", "k", "idle")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"k"}})
	pc := e.login("k", loginOpts{platform: "Windows"})
	phone := e.login("k", loginOpts{platform: "Android"})
	if st := statusOf(w, "k"); !st.Equal(wire.Status{UserID: "k", Type: wire.StatusOnline, Devices: []string{"Windows", "Android"}}) {
		t.Fatalf("before kick: %+v", st)
	}
	pc.drain()
	phone.drain()
	w.drain()

	jsonEqual(t, e.adminPost(pathKick, map[string]any{"UserID": "k"}), okEnvelope)
	// Every device of the user is kicked: a kicked-offline push, then the link closes.
	pc.waitKicked()
	phone.waitKicked()
	// A subscriber sees the user go UNLOGINED (an admin kick is a logout).
	w.expectFinal("k", wire.StatusUnlogined)
	if st := statusOf(w, "k"); !st.Equal(wire.Status{UserID: "k", Type: wire.StatusUnlogined}) {
		t.Fatalf("after kick: %+v", st)
	}
	w.quiet()

	// The user can log in again afterwards.
	again := e.login("k", loginOpts{platform: "Android"})
	w.expect("k", wire.StatusOnline, "", "Android")
	again.drain()

	// Kicking an account with no device, named with the legacy key, is fine.
	jsonEqual(t, e.adminPost(pathKick, map[string]any{"Identifier": "idle"}), okEnvelope)
	// Unknown account → 70107, and nothing happens to anyone.
	mustFail(t, e.adminPost(pathKick, map[string]any{"UserID": "nobody"}), wire.CodeAccountNotFound)
	mustFail(t, e.adminPost(pathKick, map[string]any{"UserID": "bad id"}), wire.CodeServerParams)
	mustFail(t, e.adminPost(pathKick, `{}`), wire.CodeServerParams)
	again.quiet()
	w.quiet()
}

func TestRESTQueryOnlineStatus(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("w", "on", "gone", "never", "out")
	w := e.login("w")
	w.mustCall(0, wire.OpSubscribe, map[string]any{"ids": []string{"gone", "out"}})
	e.login("on", loginOpts{platform: "Windows"})
	e.login("on", loginOpts{platform: "Android"})
	gone := e.login("gone", loginOpts{platform: "iPhone"})
	out := e.login("out", loginOpts{platform: "Mac"})
	w.drain()
	gone.ws.Close()
	w.expect("gone", wire.StatusOffline, "")
	out.mustCall(0, wire.OpLogout, nil)
	w.expect("out", wire.StatusUnlogined, "")

	t.Run("detail", func(t *testing.T) {
		e.t = t
		r := e.adminPost(pathQueryOnline, map[string]any{"IsNeedDetail": 1,
			"To_Account": []string{"on", "gone", "nobody", "never", "out", "w"}})
		jsonEqual(t, r, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"",
			"QueryResult":[
				{"To_Account":"on","Status":"Online","State":"Online","Detail":[
					{"Platform":"Windows","Status":"Online"},{"Platform":"Android","Status":"Online"}]},
				{"To_Account":"gone","Status":"Offline","State":"Offline","Detail":[]},
				{"To_Account":"never","Status":"Offline","State":"Offline","Detail":[]},
				{"To_Account":"out","Status":"Offline","State":"Offline","Detail":[]},
				{"To_Account":"w","Status":"Online","State":"Online","Detail":[{"Platform":"Windows","Status":"Online"}]}],
			"ErrorList":[{"To_Account":"nobody","ErrorCode":70107}]}`)
	})
	for _, body := range []string{`{"IsNeedDetail":0,"To_Account":["on","gone","nobody"]}`, `{"To_Account":["on","gone","nobody"]}`} {
		t.Run("no detail "+body, func(t *testing.T) {
			e.t = t
			jsonEqual(t, e.adminPost(pathQueryOnline, body), `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"",
				"QueryResult":[
					{"To_Account":"on","Status":"Online","State":"Online"},
					{"To_Account":"gone","Status":"Offline","State":"Offline"}],
				"ErrorList":[{"To_Account":"nobody","ErrorCode":70107}]}`)
		})
	}
	t.Run("no errors", func(t *testing.T) {
		e.t = t
		r := e.adminPost(pathQueryOnline, map[string]any{"To_Account": []string{"never"}})
		jsonEqual(t, r.Get("QueryResult"), `[{"To_Account":"never","Status":"Offline","State":"Offline"}]`)
		if el := r.Get("ErrorList"); el.Exists() && len(el.Array()) != 0 {
			t.Fatalf("ErrorList without unknown accounts: %s", r.Raw)
		}
	})
	t.Run("500 is the limit", func(t *testing.T) {
		e.t = t
		r := e.adminPost(pathQueryOnline, map[string]any{"To_Account": names("u", 500)})
		mustOK(t, r)
		if n := len(r.Get("ErrorList").Array()); n != 500 || len(r.Get("QueryResult").Array()) != 0 {
			t.Fatalf("500 unknown ids: %d errors, QueryResult %s", n, r.Get("QueryResult").Raw)
		}
		if el := r.Get("ErrorList.499"); el.Get("To_Account").Str != "u499" || el.Get("ErrorCode").Int() != 70107 {
			t.Fatalf("last error: %s", el.Raw)
		}
		mustFail(t, e.adminPost(pathQueryOnline, map[string]any{"To_Account": names("u", 501)}), wire.CodeServerParams)
	})
	for _, body := range []string{`{}`, `{"To_Account":[]}`, `{"To_Account":"on"}`, `{"To_Account":[1]}`} {
		t.Run("invalid "+body, func(t *testing.T) {
			e.t = t
			mustFail(t, e.adminPost(pathQueryOnline, body), wire.CodeServerParams)
		})
	}
}

// checkResultItems compares a ResultItem array: To_Account and ResultCode
// exactly, ResultInfo empty on success and non-empty on failure.
func checkResultItems(t *testing.T, r gjson.Result, want ...any) {
	t.Helper()
	mustOK(t, r)
	items := r.Get("ResultItem")
	if !items.IsArray() || len(items.Array()) != len(want)/2 {
		t.Fatalf("ResultItem %s, want %d items", items.Raw, len(want)/2)
	}
	for i, it := range items.Array() {
		to, code := want[2*i].(string), want[2*i+1].(int)
		keys := 0
		it.ForEach(func(gjson.Result, gjson.Result) bool { keys++; return true })
		info := it.Get("ResultInfo")
		if it.Get("To_Account").Str != to || it.Get("ResultCode").Type != gjson.Number ||
			it.Get("ResultCode").Int() != int64(code) || info.Type != gjson.String || keys != 3 ||
			(code == 0) != (info.Str == "") {
			t.Fatalf("ResultItem %d = %s, want To_Account %q ResultCode %d (ResultInfo empty iff 0)", i, it.Raw, to, code)
		}
	}
}

func friendBody(from, addType string, to ...string) map[string]any {
	items := make([]map[string]any, len(to))
	for i, id := range to {
		items[i] = map[string]any{"To_Account": id, "AddSource": "AddSource_Type_Test"}
	}
	b := map[string]any{"From_Account": from, "AddFriendItem": items}
	if addType != "" {
		b["AddType"] = addType
	}
	return b
}

func TestRESTFriendResults(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("fa", "fb", "fc")
	for _, path := range []string{pathFriendAdd, pathFriendImport} {
		t.Run(path, func(t *testing.T) {
			e.t = t
			r := e.adminPost(path, friendBody("fa", "Add_Type_Both", "fb", "fc", "nobody", "fa"))
			checkResultItems(t, r, "fb", 0, "fc", 0, "nobody", wire.CodeAccountNotFound, "fa", wire.CodeServerParams)
			// Adding an existing friend again succeeds.
			checkResultItems(t, e.adminPost(path, friendBody("fa", "", "fb")), "fb", 0)
			// From an unknown account: every item fails.
			checkResultItems(t, e.adminPost(path, friendBody("ghost", "", "fb", "fc")),
				"fb", wire.CodeAccountNotFound, "fc", wire.CodeAccountNotFound)
			for _, body := range []string{
				`{}`,
				`{"From_Account":"fa"}`,
				`{"From_Account":"fa","AddFriendItem":[]}`,
				`{"From_Account":"fa","AddFriendItem":[{"AddSource":"AddSource_Type_X"}]}`,
				`{"From_Account":"fa","AddFriendItem":[{"To_Account":"bad id"}]}`,
				`{"From_Account":"bad id","AddFriendItem":[{"To_Account":"fb"}]}`,
				`{"From_Account":"fa","AddFriendItem":[{"To_Account":"fb"}],"AddType":"Add_Type_Sideways"}`,
			} {
				mustFail(t, e.adminPost(path, body), wire.CodeServerParams)
			}
		})
	}
	e.t = t
	t.Run("friend_import takes 1000 items", func(t *testing.T) {
		e.t = t
		r := e.adminPost(pathFriendImport, friendBody("fa", "", names("x", 1000)...))
		mustOK(t, r)
		if n := len(r.Get("ResultItem").Array()); n != 1000 {
			t.Fatalf("%d ResultItem for 1000 items", n)
		}
		if it := r.Get("ResultItem.999"); it.Get("To_Account").Str != "x999" || it.Get("ResultCode").Int() != wire.CodeAccountNotFound {
			t.Fatalf("last item: %s", it.Raw)
		}
		mustFail(t, e.adminPost(pathFriendImport, friendBody("fa", "", names("x", 1001)...)), wire.CodeServerParams)
	})
	t.Run("friend_delete", func(t *testing.T) {
		e.t = t
		r := e.adminPost(pathFriendDelete, map[string]any{"From_Account": "fa",
			"To_Account": []string{"fb", "nobody", "fa"}, "DeleteType": "Delete_Type_Both"})
		checkResultItems(t, r, "fb", 0, "nobody", wire.CodeAccountNotFound, "fa", wire.CodeServerParams)
		checkResultItems(t, e.adminPost(pathFriendDelete, map[string]any{"From_Account": "fa",
			"To_Account": []string{"fc"}}), "fc", 0)
		mustFail(t, e.adminPost(pathFriendDelete, map[string]any{"From_Account": "fa",
			"To_Account": names("x", 1001)}), wire.CodeServerParams)
		for _, body := range []string{
			`{}`,
			`{"From_Account":"fa"}`,
			`{"From_Account":"fa","To_Account":[]}`,
			`{"From_Account":"fa","To_Account":["bad id"]}`,
			`{"From_Account":"fa","To_Account":"fb"}`,
			`{"From_Account":"fa","To_Account":["fb"],"DeleteType":"Delete_Type_All"}`,
		} {
			mustFail(t, e.adminPost(pathFriendDelete, body), wire.CodeServerParams)
		}
	})
}

// notified checks whether watcher is told of changer's changes: changer
// sets a new custom status and watcher either receives it or stays quiet.
func notified(t *testing.T, watcher, changer *client, custom string, want bool) {
	t.Helper()
	changer.setStatus(custom)
	changer.drain()
	if want {
		watcher.expect(changer.user, wire.StatusOnline, custom, "Windows")
	}
	watcher.quiet()
}

// With friend auto-notify on, a friend is told of the user's changes
// without subscribing; with it off, not. A deleted friend is no longer told.
func TestRESTFriendAutoNotify(t *testing.T) {
	for _, auto := range []bool{true, false} {
		t.Run(fmt.Sprintf("auto_notify=%v", auto), func(t *testing.T) {
			e := newEnv(t, func(a *server.AppConfig) {
				a.FriendStatusAutoNotify = off()
				if auto {
					a.FriendStatusAutoNotify = on()
				}
			})
			e.importAccounts("a", "b")
			a := e.login("a")
			a.drain()
			checkResultItems(t, e.adminPost(pathFriendAdd, friendBody("a", "", "b")), "b", 0)

			// b's login is a change: a learns of it only through auto-notify.
			b := e.login("b")
			if auto {
				a.expect("b", wire.StatusOnline, "", "Windows")
			}
			a.quiet()
			b.drain()
			notified(t, a, b, "b busy", auto)
			notified(t, b, a, "a busy", auto) // friend_add defaults to both ways

			checkResultItems(t, e.adminPost(pathFriendDelete, map[string]any{"From_Account": "a",
				"To_Account": []string{"b"}, "DeleteType": "Delete_Type_Both"}), "b", 0)
			notified(t, a, b, "b free", false)
			notified(t, b, a, "a free", false)
			// Logging out is a change too: still nobody is told.
			b.mustCall(0, wire.OpLogout, nil)
			a.quiet()
		})
	}
}

// Which way a friendship goes decides who is told: the owner of a friend
// list is told of the changes of the friends on it.
func TestRESTFriendDirections(t *testing.T) {
	type step struct {
		path string
		body func() map[string]any
	}
	add := func(path, addType string) step {
		return step{path, func() map[string]any { return friendBody("a", addType, "b") }}
	}
	del := func(deleteType string) step {
		return step{pathFriendDelete, func() map[string]any {
			b := map[string]any{"From_Account": "a", "To_Account": []string{"b"}}
			if deleteType != "" {
				b["DeleteType"] = deleteType
			}
			return b
		}}
	}
	cases := []struct {
		name    string
		steps   []step
		aHearsB bool // b is on a's friend list
		bHearsA bool // a is on b's friend list
	}{
		{"add default is both", []step{add(pathFriendAdd, "")}, true, true},
		{"add both", []step{add(pathFriendAdd, "Add_Type_Both")}, true, true},
		{"add single", []step{add(pathFriendAdd, "Add_Type_Single")}, true, false},
		{"import is one-way", []step{add(pathFriendImport, "")}, true, false},
		{"import both", []step{add(pathFriendImport, "Add_Type_Both")}, true, true},
		{"delete single", []step{add(pathFriendAdd, "Add_Type_Both"), del("Delete_Type_Single")}, false, true},
		{"delete default is single", []step{add(pathFriendAdd, "Add_Type_Both"), del("")}, false, true},
		{"delete both", []step{add(pathFriendAdd, "Add_Type_Both"), del("Delete_Type_Both")}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(a *server.AppConfig) { a.FriendStatusAutoNotify = on() })
			e.importAccounts("a", "b")
			a := e.login("a")
			b := e.login("b")
			a.drain()
			b.drain()
			for _, s := range tc.steps {
				checkResultItems(t, e.adminPost(s.path, s.body()), "b", 0)
			}
			notified(t, a, b, "from b", tc.aHearsB)
			notified(t, b, a, "from a", tc.bHearsA)
		})
	}
}

func TestRESTAuth(t *testing.T) {
	e := newEnv(t)
	e.importAccounts("alice")
	admin := e.app.Admin
	app := fmt.Sprint(e.app.SDKAppID)
	now := e.clock.Now()
	gen := func(key string, appID uint64, id string, expire time.Duration, at time.Time) string {
		s, err := usersig.Generate(key, appID, id, expire, at)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	q := func(sdkappid, identifier, sig string) url.Values {
		v := url.Values{"random": {"1"}, "contenttype": {"json"}}
		if sdkappid != "-" {
			v.Set("sdkappid", sdkappid)
		}
		if identifier != "-" {
			v.Set("identifier", identifier)
		}
		if sig != "-" {
			v.Set("usersig", sig)
		}
		return v
	}
	good := q(app, admin, e.sig(admin))
	victim := `{"UserID":"victim"}`
	cases := []struct {
		name   string
		method string
		path   string
		query  url.Values
		body   string
		code   int
	}{
		{"non-admin account_import", "POST", pathAccountImport, q(app, "alice", e.sig("alice")), victim, 70403},
		{"non-admin multiaccount_import", "POST", pathMultiImport, q(app, "alice", e.sig("alice")), `{"Accounts":["victim"]}`, 70403},
		{"non-admin kick", "POST", pathKick, q(app, "alice", e.sig("alice")), `{"UserID":"alice"}`, 70403},
		{"non-admin query_online_status", "POST", pathQueryOnline, q(app, "alice", e.sig("alice")), `{"To_Account":["alice"]}`, 60010},
		{"non-admin friend_add", "POST", pathFriendAdd, q(app, "alice", e.sig("alice")), `{"From_Account":"alice","AddFriendItem":[{"To_Account":"victim"}]}`, 60010},
		{"non-admin friend_import", "POST", pathFriendImport, q(app, "alice", e.sig("alice")), `{"From_Account":"alice","AddFriendItem":[{"To_Account":"victim"}]}`, 60010},
		{"non-admin friend_delete", "POST", pathFriendDelete, q(app, "alice", e.sig("alice")), `{"From_Account":"alice","To_Account":["victim"]}`, 60010},
		{"identifier missing", "POST", pathAccountImport, q(app, "-", e.sig(admin)), victim, 60004},
		{"usersig of another user", "POST", pathAccountImport, q(app, admin, e.sig("alice")), victim, 60004},
		{"garbage usersig", "POST", pathAccountImport, q(app, admin, "garbage"), victim, 60004},
		{"empty usersig", "POST", pathAccountImport, q(app, admin, ""), victim, 60004},
		{"usersig missing", "POST", pathAccountImport, q(app, admin, "-"), victim, 60004},
		{"usersig of another key", "POST", pathAccountImport, q(app, admin, gen(strings.Repeat("0", 64), testApp, admin, time.Hour, now)), victim, 60004},
		{"usersig of another app", "POST", pathAccountImport, q(app, admin, gen(testKey, testApp+1, admin, time.Hour, now)), victim, 60004},
		{"expired admin usersig", "POST", pathAccountImport, q(app, admin, gen(testKey, testApp, admin, time.Hour, now.Add(-2*time.Hour))), victim, 60005},
		{"expired admin usersig, other service", "POST", pathQueryOnline, q(app, admin, gen(testKey, testApp, admin, time.Hour, now.Add(-2*time.Hour))), `{"To_Account":["alice"]}`, 60005},
		{"unknown sdkappid", "POST", pathAccountImport, q("1400000001", admin, gen(testKey, 1400000001, admin, time.Hour, now)), victim, 60004},
		{"sdkappid not a number", "POST", pathAccountImport, q("abc", admin, e.sig(admin)), victim, 60004},
		{"sdkappid missing", "POST", pathAccountImport, q("-", admin, e.sig(admin)), victim, 60004},
		{"GET", "GET", pathAccountImport, good, "", 60009},
		{"PUT", "PUT", pathAccountImport, good, victim, 60009},
		{"invalid JSON", "POST", pathAccountImport, good, `{"UserID":"victim"`, 60003},
		{"not JSON", "POST", pathAccountImport, good, `UserID=victim`, 60003},
		{"JSON array", "POST", pathAccountImport, good, `[{"UserID":"victim"}]`, 60003},
		{"JSON string", "POST", pathQueryOnline, good, `"x"`, 60003},
		{"JSON null", "POST", pathQueryOnline, good, `null`, 60003},
		// An empty body is {}: the command itself then finds its field missing.
		{"empty body", "POST", pathAccountImport, good, "", wire.CodeServerParams},
		{"blank body", "POST", pathQueryOnline, good, " \r\n\t", wire.CodeServerParams},
		{"unknown command", "POST", "/v4/im_open_login_svc/account_delete", good, victim, 60009},
		{"unknown service", "POST", "/v4/nosuch/account_import", good, victim, 60009},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			mustFail(t, e.restDo(tc.method, tc.path, tc.query, tc.body), tc.code)
		})
	}
	e.t = t

	// None of the refused calls did anything.
	r := e.adminPost(pathQueryOnline, map[string]any{"To_Account": []string{"victim"}})
	jsonEqual(t, r, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","QueryResult":[],
		"ErrorList":[{"To_Account":"victim","ErrorCode":70107}]}`)

	// The admin's UserSig expires with time: the same ticket, later.
	short := gen(testKey, testApp, admin, time.Minute, e.clock.Now())
	mustOK(t, e.restDo("POST", pathAccountImport, q(app, admin, short), `{"UserID":"late"}`))
	e.clock.Advance(2 * time.Minute)
	mustFail(t, e.restDo("POST", pathAccountImport, q(app, admin, short), `{"UserID":"later"}`), 60005)
}

// A REST body past 1 MiB is answered in upstream's envelope with 70402,
// read no further; one just under the cap is read (and refused for what it
// says, not for its size).
func TestRESTBodyCap(t *testing.T) {
	e := newEnv(t)
	pad := func(n int) string { // a JSON object of n bytes
		return `{"Identifier":"x","Pad":"` + strings.Repeat("a", n-len(`{"Identifier":"x","Pad":""}`)) + `"}`
	}
	r := e.adminPost(pathAccountImport, pad(1<<20+1))
	mustFail(t, r, wire.CodeServerParams)
	if !strings.Contains(r.Get("ErrorInfo").Str, "limit of 1048576 bytes") {
		t.Fatalf("ErrorInfo %q, want the cap named", r.Get("ErrorInfo").Str)
	}
	r = e.adminPost(pathAccountImport, pad(1<<20))
	if strings.Contains(r.Get("ErrorInfo").Str, "limit of") {
		t.Fatalf("a body of exactly 1 MiB refused for its size: %s", clip(r.Raw))
	}
	if n := e.scrape()["imstatus_rest_bodies_refused_total"]; n != 1 {
		t.Fatalf("imstatus_rest_bodies_refused_total = %d, want 1", n)
	}

	// The limit is the operator's to set.
	small := newEnvWith(t, server.Options{Apps: []server.AppConfig{e.app}, RESTBodyLimit: 100})
	mustFail(t, small.adminPost(pathAccountImport, pad(101)), wire.CodeServerParams)
	if r := small.adminPost(pathAccountImport, pad(100)); strings.Contains(r.Get("ErrorInfo").Str, "limit of") {
		t.Fatalf("a body of 100 bytes refused with a limit of 100: %s", clip(r.Raw))
	}
}
