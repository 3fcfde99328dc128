package console

import (
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

// FuzzParse: the parsers of the console's bodies never panic, and what
// they accept keeps their promises.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"sdkappid":"1400000001","key":"k"}`))
	f.Add([]byte(`{"sdkappid":1,"identifier":"administrator","usersig":"eJx"}`))
	f.Add([]byte(`{"user":"alice","device":3}`))
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
		if k, err := parseKick(body); err == nil && !usersig.ValidUserID(k.User) {
			t.Fatalf("accepted kick of %q", k.User)
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
