package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imstatus/imstatus/server"
)

// restCommands are the REST commands of server/rest.go, and one it lacks.
var restCommands = []string{
	"im_open_login_svc/account_import", "im_open_login_svc/multiaccount_import", "im_open_login_svc/kick",
	"openim/query_online_status", "sns/friend_add", "sns/friend_import", "sns/friend_delete", "sns/nope",
}

// FuzzREST: any body to any command, by the admin or another caller,
// answers HTTP 200 with upstream's envelope (restEnvelope) and never
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
	admin := e.restQuery(e.app.Admin, e.sig(e.app.Admin)).Encode()
	other := e.restQuery("alice", e.sig("alice")).Encode()
	f.Fuzz(func(t *testing.T, cmd uint8, body string, asAdmin bool) {
		q := other
		if asAdmin {
			q = admin
		}
		req := httptest.NewRequest(http.MethodPost, "/v4/"+restCommands[int(cmd)%len(restCommands)]+"?"+q, strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
		}
		if _, err := restEnvelope(rec.Body.Bytes()); err != nil {
			t.Fatal(err)
		}
	})
}
