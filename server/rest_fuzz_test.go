package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/server"
	"github.com/imstatus/imstatus/usersig"
)

// restCommands are the REST commands of server/rest.go, and one it lacks.
var restCommands = []string{
	"im_open_login_svc/account_import", "im_open_login_svc/multiaccount_import", "im_open_login_svc/kick",
	"openim/query_online_status", "sns/friend_add", "sns/friend_import", "sns/friend_delete", "sns/nope",
}

// FuzzREST: any body to any command, by the admin or another caller,
// answers HTTP 200 with upstream's envelope (ActionStatus OK or FAIL, a
// number ErrorCode, and an ErrorInfo that is not empty on FAIL) and never
// panics.
func FuzzREST(f *testing.F) {
	for i, body := range []string{
		`{}`, ``, `{"Identifier":"a"}`, `{"Accounts":["a","b"]}`, `{"To_Account":["a"]}`,
		`{"From_Account":"a","AddFriendItem":[{"To_Account":"b"}]}`, `{"From_Account":"a","To_Account":["b"]}`,
		`[`, `{"Identifier":"` + strings.Repeat("x", 40) + `"}`, "{\"Identifier\":\"\xff\"}", strings.Repeat("[", 100),
	} {
		f.Add(uint8(i), body, true)
	}
	e := newEnvWith(f, server.Options{Apps: []server.AppConfig{fullApp()}})
	h := e.srv.Handler()
	app := e.app
	sig := func(who string) string {
		s, err := usersig.Generate(app.SecretKey, app.SDKAppID, who, 24*time.Hour, e.clock.Now())
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	admin, other := sig(app.Admin), sig("alice")
	f.Fuzz(func(t *testing.T, cmd uint8, body string, asAdmin bool) {
		who, s := app.Admin, admin
		if !asAdmin {
			who, s = "alice", other
		}
		q := url.Values{"sdkappid": {strconv.FormatUint(app.SDKAppID, 10)}, "identifier": {who}, "usersig": {s}, "random": {"1"}, "contenttype": {"json"}}
		req := httptest.NewRequest(http.MethodPost, "/v4/"+restCommands[int(cmd)%len(restCommands)]+"?"+q.Encode(), strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
		}
		r := gjson.ParseBytes(rec.Body.Bytes())
		st, code, info := r.Get("ActionStatus"), r.Get("ErrorCode"), r.Get("ErrorInfo")
		if !gjson.ValidBytes(rec.Body.Bytes()) || code.Type != gjson.Number || info.Type != gjson.String ||
			(st.Str != "OK" && st.Str != "FAIL") || (st.Str == "FAIL" && info.Str == "") {
			t.Fatalf("not upstream's envelope: %.300s", rec.Body)
		}
	})
}
