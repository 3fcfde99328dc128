package console

import (
	"strings"
	"testing"

	"github.com/imstatus/imstatus/usersig"
)

func TestParseImport(t *testing.T) {
	tests := []struct {
		body string
		want []string
		ok   bool
	}{
		{`{"ids":["a","b"]}`, []string{"a", "b"}, true},
		{`{"text":"a, b\nc  d"}`, []string{"a", "b", "c", "d"}, true},
		{`{"text":" , "}`, nil, false},
		{`{"ids":[""]}`, nil, false},
		{`{"ids":["a"]} {}`, nil, false},
		{`{"ids":"a"}`, nil, false},
	}
	for _, tc := range tests {
		got, err := parseImport([]byte(tc.body))
		if (err == nil) != tc.ok || len(got) != len(tc.want) {
			t.Errorf("parseImport(%s) = %q, %v; want %q", tc.body, got, err, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("parseImport(%s) = %q; want %q", tc.body, got, tc.want)
			}
		}
	}
}

func TestParseKick(t *testing.T) {
	tests := []struct {
		body string
		want kickRequest
		ok   bool
	}{
		{`{"user":"alice"}`, kickRequest{User: "alice"}, true},
		{`{"user":"alice","device":3}`, kickRequest{User: "alice", Device: 3}, true},
		{`{"user":"alice","device":3,"node":"node-2-a1b2c3~1"}`, kickRequest{User: "alice", Device: 3, Node: "node-2-a1b2c3~1"}, true},
		{`{"user":"alice","node":"n1"}`, kickRequest{}, false},
		{`{"user":"alice","device":3,"node":"n 1"}`, kickRequest{}, false},
		{`{"user":"alice","device":3,"node":"` + strings.Repeat("n", 129) + `"}`, kickRequest{}, false},
		{`{"user":"","device":3}`, kickRequest{}, false},
	}
	for _, tc := range tests {
		got, err := parseKick([]byte(tc.body))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseKick(%s) = %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
	}
}

// FuzzParse: the parsers of the console's bodies never panic, and what
// they accept keeps their promises.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"sdkappid":"1400000001","key":"k"}`))
	f.Add([]byte(`{"sdkappid":1,"identifier":"administrator","usersig":"eJx"}`))
	f.Add([]byte(`{"user":"alice","device":3}`))
	f.Add([]byte(`{"user":"alice","device":3,"node":"node-2-a1b2c3~1"}`))
	f.Add([]byte(`{"ids":["a"],"text":"b c"}`))
	f.Add([]byte(`{"sdkappid":"-1"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if l, err := parseLogin(body); err == nil {
			if l.App == 0 || len(l.Key) > maxSecret || len(l.UserSig) > maxSecret {
				t.Fatalf("accepted %+v", l)
			}
			if (l.Key == "") == (l.UserSig == "") {
				t.Fatalf("accepted %+v: want the key or a UserSig, one", l)
			}
			if l.Key == "" && !usersig.ValidUserID(l.Identifier) {
				t.Fatalf("accepted identifier %q", l.Identifier)
			}
		}
		if k, err := parseKick(body); err == nil {
			if !usersig.ValidUserID(k.User) || len(k.Node) > maxNodeName || k.Node != "" && k.Device == 0 {
				t.Fatalf("accepted kick %+v", k)
			}
			for _, r := range k.Node {
				if r <= ' ' || r > '~' {
					t.Fatalf("accepted node %q", k.Node)
				}
			}
		}
		if ids, err := parseImport(body); err == nil {
			if len(ids) == 0 || len(ids) > maxImport {
				t.Fatalf("accepted %d ids", len(ids))
			}
			for _, id := range ids {
				if !usersig.ValidUserID(id) {
					t.Fatalf("accepted id %q", id)
				}
			}
		}
	})
}
