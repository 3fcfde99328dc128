package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// sanitize is what AppendString promises a decoder gets back: every byte
// that is not part of valid UTF-8 becomes U+FFFD.
func sanitize(s string) string { return string([]rune(s)) }

// bodyOf decodes frame (which must be a valid request) and returns its body.
func bodyOf(t *testing.T, frame string) gjson.Result {
	t.Helper()
	r, err := DecodeRequest([]byte(frame))
	if err != nil {
		t.Fatalf("DecodeRequest(%q): %v", frame, err)
	}
	return r.Body
}

func TestDecodeRequest(t *testing.T) {
	type want struct {
		seq      uint64
		op       Op
		body     string // Body.Raw
		hasBody  bool
		bodyType gjson.Type
	}
	tests := []struct {
		name  string
		frame string
		err   string // substring of the error; "" for success
		want  want
	}{
		{"login", `{"seq":1,"op":"login","body":{"v":1,"sdkappid":1400000000}}`, "",
			want{1, OpLogin, `{"v":1,"sdkappid":1400000000}`, true, gjson.JSON}},
		{"heartbeat no seq no body", `{"op":"heartbeat"}`, "", want{0, OpHeartbeat, "", false, gjson.Null}},
		{"seq zero", `{"seq":0,"op":"logout"}`, "", want{0, OpLogout, "", false, gjson.Null}},
		{"body null", `{"seq":2,"op":"set_status","body":null}`, "", want{2, OpSetStatus, "null", true, gjson.Null}},
		{"body array", `{"seq":3,"op":"get_status","body":["a"]}`, "", want{3, OpGetStatus, `["a"]`, true, gjson.JSON}},
		{"body string", `{"seq":3,"op":"x","body":"s"}`, "", want{3, "x", `"s"`, true, gjson.String}},
		{"member order", `{"body":{},"op":"subscribe","seq":9}`, "", want{9, OpSubscribe, `{}`, true, gjson.JSON}},
		{"whitespace", " \t\r\n{ \"seq\" : 4 , \"op\" : \"unsubscribe\" } \n", "", want{4, OpUnsubscribe, "", false, gjson.Null}},
		{"unknown op kept", `{"seq":5,"op":"frobnicate"}`, "", want{5, "frobnicate", "", false, gjson.Null}},
		{"escaped op", `{"seq":5,"op":"log\u0069n"}`, "", want{5, OpLogin, "", false, gjson.Null}},
		{"max seq", `{"seq":18446744073709551615,"op":"heartbeat"}`, "", want{1<<64 - 1, OpHeartbeat, "", false, gjson.Null}},
		{"escaped keys", `{"se\u0071":5,"o\u0070":"x"}`, "", want{5, "x", "", false, gjson.Null}},
		{"duplicate members: the first wins", `{"seq":1,"op":"a","seq":2,"op":"b"}`, "", want{1, "a", "", false, gjson.Null}},
		{"extra members", `{"seq":6,"op":"heartbeat","x":[1,{"y":null}]}`, "", want{6, OpHeartbeat, "", false, gjson.Null}},

		{"missing op", `{"seq":1}`, "missing op", want{}},
		{"empty op", `{"seq":1,"op":""}`, "missing op", want{}},
		{"op number", `{"seq":1,"op":1}`, "missing op", want{}},
		{"op null", `{"seq":1,"op":null}`, "missing op", want{}},
		{"op object", `{"seq":1,"op":{"a":"login"}}`, "missing op", want{}},
		{"empty object", `{}`, "missing op", want{}},

		{"array", `[{"seq":1,"op":"login"}]`, "not a JSON object", want{}},
		{"string", `"login"`, "not a JSON object", want{}},
		{"number", `1`, "not a JSON object", want{}},
		{"null", `null`, "not a JSON object", want{}},
		{"true", `true`, "not a JSON object", want{}},
		{"empty", ``, "not valid JSON", want{}},
		{"spaces", `   `, "not valid JSON", want{}},
		{"truncated", `{"seq":1,"op":"login"`, "not valid JSON", want{}},
		{"trailing garbage", `{"seq":1,"op":"login"}x`, "not valid JSON", want{}},
		{"two objects", `{"op":"a"}{"op":"b"}`, "not valid JSON", want{}},
		{"single quotes", `{'op':'login'}`, "not valid JSON", want{}},
		{"raw control char", "{\"op\":\"log\x01in\"}", "not valid JSON", want{}},

		{"seq string", `{"seq":"1","op":"heartbeat"}`, "seq must be", want{}},
		{"seq negative", `{"seq":-1,"op":"heartbeat"}`, "seq must be", want{}},
		{"seq negative zero", `{"seq":-0,"op":"heartbeat"}`, "seq must be", want{}},
		{"seq float", `{"seq":1.5,"op":"heartbeat"}`, "seq must be", want{}},
		{"seq float integral", `{"seq":1.0,"op":"heartbeat"}`, "seq must be", want{}},
		{"seq exponent", `{"seq":1e3,"op":"heartbeat"}`, "seq must be", want{}},
		{"seq leading zero", `{"seq":01,"op":"heartbeat"}`, "not valid JSON", want{}},
		{"seq huge", `{"seq":18446744073709551616,"op":"heartbeat"}`, "seq must be", want{}},
		{"seq very huge", `{"seq":123456789012345678901234567890,"op":"heartbeat"}`, "seq must be", want{}},
		{"seq null", `{"seq":null,"op":"heartbeat"}`, "seq must be", want{}},
		{"seq bool", `{"seq":true,"op":"heartbeat"}`, "seq must be", want{}},
		{"seq array", `{"seq":[1],"op":"heartbeat"}`, "seq must be", want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeRequest([]byte(tt.frame))
			if errCase(t, err, tt.err, r) {
				if !errors.Is(err, ErrFrame) {
					t.Errorf("error %v does not wrap ErrFrame", err)
				}
				return
			}
			if r.Seq != tt.want.seq || r.Op != tt.want.op {
				t.Errorf("seq, op = %d, %q; want %d, %q", r.Seq, r.Op, tt.want.seq, tt.want.op)
			}
			if r.Body.Exists() != tt.want.hasBody {
				t.Errorf("Body.Exists() = %v, want %v", r.Body.Exists(), tt.want.hasBody)
			}
			if tt.want.hasBody && (r.Body.Raw != tt.want.body || r.Body.Type != tt.want.bodyType) {
				t.Errorf("body = %v %q, want %v %q", r.Body.Type, r.Body.Raw, tt.want.bodyType, tt.want.body)
			}
		})
	}
}

// The server reads frames into reused buffers; a decoded request must not
// alias its input.
func TestDecodeRequestDoesNotAliasInput(t *testing.T) {
	buf := []byte(`{"seq":1,"op":"set_status","body":{"user_status_custom_status":"hello"}}`)
	r, err := DecodeRequest(buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'x'
	}
	if r.Op != OpSetStatus {
		t.Errorf("op = %q after overwriting the input", r.Op)
	}
	if s, err := ParseCustomStatus(r.Body); err != nil || s != "hello" {
		t.Errorf("ParseCustomStatus = %q, %v after overwriting the input", s, err)
	}
}

func TestParseLogin(t *testing.T) {
	full := LoginBody{Version: 1, SDKAppID: 1400000000, UserID: "alice", UserSig: "sig", Platform: "Linux", DeviceID: "dev-1"}
	const fields = `"user_id":"alice","user_sig":"sig","platform":"Linux","device_id":"dev-1"`
	tests := []struct {
		name string
		body string // JSON text; "" means no body member
		err  string // substring of the error; "" for success
		want LoginBody
	}{
		{"full", `{"v":1,"sdkappid":1400000000,` + fields + `}`, "", full},
		{"v absent", `{"sdkappid":1400000000,` + fields + `}`, "", full},
		{"v other", `{"v":2,"sdkappid":1400000000,` + fields + `}`, "", LoginBody{Version: 2, SDKAppID: 1400000000, UserID: "alice", UserSig: "sig", Platform: "Linux", DeviceID: "dev-1"}},
		{"v zero", `{"v":0,"sdkappid":1}`, "", LoginBody{Version: 0, SDKAppID: 1}},
		{"v negative", `{"v":-3,"sdkappid":1}`, "", LoginBody{Version: -3, SDKAppID: 1}},
		{"only sdkappid", `{"sdkappid":7}`, "", LoginBody{Version: Version, SDKAppID: 7}},
		{"sdkappid zero", `{"sdkappid":0}`, "", LoginBody{Version: Version}},
		{"sdkappid max", `{"sdkappid":18446744073709551615}`, "", LoginBody{Version: Version, SDKAppID: 1<<64 - 1}},
		{"nulls are empty", `{"sdkappid":1,"user_id":null,"user_sig":null,"platform":null,"device_id":null}`, "", LoginBody{Version: Version, SDKAppID: 1}},
		{"unknown members ignored", `{"sdkappid":1,"extra":[1,2],"user_id":"u"}`, "", LoginBody{Version: Version, SDKAppID: 1, UserID: "u"}},
		{"escapes", `{"sdkappid":1,"user_id":"a\"b\\c\u00e9"}`, "", LoginBody{Version: Version, SDKAppID: 1, UserID: "a\"b\\c\u00e9"}},

		{"body absent", "", "must be an object", LoginBody{}},
		{"body null", `null`, "must be an object", LoginBody{}},
		{"body array", `[]`, "must be an object", LoginBody{}},
		{"body string", `"x"`, "must be an object", LoginBody{}},

		{"v string", `{"v":"1","sdkappid":1}`, "v must be", LoginBody{}},
		{"v null", `{"v":null,"sdkappid":1}`, "v must be", LoginBody{}},
		{"v bool", `{"v":true,"sdkappid":1}`, "v must be", LoginBody{}},
		{"v object", `{"v":{},"sdkappid":1}`, "v must be", LoginBody{}},
		{"v float", `{"v":1.5,"sdkappid":1}`, "v must be", LoginBody{}},
		{"v float integral", `{"v":1.0,"sdkappid":1}`, "v must be", LoginBody{}},
		{"v exponent", `{"v":1e0,"sdkappid":1}`, "v must be", LoginBody{}},
		{"v overflow", `{"v":99999999999999999999,"sdkappid":1}`, "v must be", LoginBody{}},

		{"sdkappid absent", `{"v":1}`, "sdkappid must be", LoginBody{}},
		{"sdkappid string", `{"sdkappid":"1400000000"}`, "sdkappid must be", LoginBody{}},
		{"sdkappid null", `{"sdkappid":null}`, "sdkappid must be", LoginBody{}},
		{"sdkappid negative", `{"sdkappid":-1}`, "sdkappid must be", LoginBody{}},
		{"sdkappid float", `{"sdkappid":1400000000.5}`, "sdkappid must be", LoginBody{}},
		{"sdkappid exponent", `{"sdkappid":1.4e9}`, "sdkappid must be", LoginBody{}},
		{"sdkappid overflow", `{"sdkappid":18446744073709551616}`, "sdkappid must be", LoginBody{}},
		{"sdkappid bool", `{"sdkappid":true}`, "sdkappid must be", LoginBody{}},
		{"sdkappid array", `{"sdkappid":[1]}`, "sdkappid must be", LoginBody{}},

		{"user_id number", `{"sdkappid":1,"user_id":1}`, "user_id must be", LoginBody{}},
		{"user_id bool", `{"sdkappid":1,"user_id":false}`, "user_id must be", LoginBody{}},
		{"user_id array", `{"sdkappid":1,"user_id":["a"]}`, "user_id must be", LoginBody{}},
		{"user_sig number", `{"sdkappid":1,"user_sig":1}`, "user_sig must be", LoginBody{}},
		{"user_sig object", `{"sdkappid":1,"user_sig":{}}`, "user_sig must be", LoginBody{}},
		{"platform number", `{"sdkappid":1,"platform":3}`, "platform must be", LoginBody{}},
		{"platform array", `{"sdkappid":1,"platform":["Linux"]}`, "platform must be", LoginBody{}},
		{"device_id number", `{"sdkappid":1,"device_id":12}`, "device_id must be", LoginBody{}},
		{"device_id bool", `{"sdkappid":1,"device_id":true}`, "device_id must be", LoginBody{}},

		{"user_define_data", `{"sdkappid":1,"user_define_data":"room=7 中"}`, "", LoginBody{Version: Version, SDKAppID: 1, UserDefineData: "room=7 中"}},
		{"user_define_data 64 bytes", `{"sdkappid":1,"user_define_data":"` + strings.Repeat("x", 64) + `"}`, "", LoginBody{Version: Version, SDKAppID: 1, UserDefineData: strings.Repeat("x", 64)}},
		{"user_define_data null", `{"sdkappid":1,"user_define_data":null}`, "", LoginBody{Version: Version, SDKAppID: 1}},
		{"user_define_data 65 bytes", `{"sdkappid":1,"user_define_data":"` + strings.Repeat("x", 65) + `"}`, "user_define_data must be", LoginBody{}},
		{"user_define_data number", `{"sdkappid":1,"user_define_data":7}`, "user_define_data must be", LoginBody{}},
		{"user_define_data invalid UTF-8", "{\"sdkappid\":1,\"user_define_data\":\"\xff\"}", "user_define_data must be", LoginBody{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := `{"seq":1,"op":"login"}`
			if tt.body != "" {
				frame = `{"seq":1,"op":"login","body":` + tt.body + `}`
			}
			l, err := ParseLogin(bodyOf(t, frame))
			if errCase(t, err, tt.err, l) {
				return
			}
			if l != tt.want {
				t.Errorf("got %+v, want %+v", l, tt.want)
			}
		})
	}
}

// A version that does not fit an int is an error, not a wrapped number (on
// 32-bit platforms 4294967297 used to become 1).
func TestParseLoginVersionRange(t *testing.T) {
	body := bodyOf(t, `{"op":"login","body":{"v":4294967297,"sdkappid":1}}`)
	l, err := ParseLogin(body)
	if strconv.IntSize == 32 {
		if err == nil {
			t.Fatalf("got %+v, want an error", l)
		}
		return
	}
	if err != nil || int64(l.Version) != 4294967297 {
		t.Fatalf("got %+v, %v", l, err)
	}
}

func TestParseIDs(t *testing.T) {
	tests := []struct {
		name    string
		body    string // "" means no body member
		want    []string
		wantErr bool
	}{
		{"body absent", "", nil, false},
		{"body null", `null`, nil, false},
		{"ids absent", `{}`, nil, false},
		{"ids null", `{"ids":null}`, nil, false},
		{"ids empty", `{"ids":[]}`, nil, false},
		{"one", `{"ids":["alice"]}`, []string{"alice"}, false},
		{"several in order", `{"ids":["b","a","b",""]}`, []string{"b", "a", "b", ""}, false},
		{"escapes", `{"ids":["a\"b","\u4e2d"]}`, []string{"a\"b", "中"}, false},
		{"other members", `{"x":1,"ids":["a"],"y":[2]}`, []string{"a"}, false},

		{"body array", `["a"]`, nil, true},
		{"body string", `"a"`, nil, true},
		{"body number", `1`, nil, true},
		{"ids string", `{"ids":"a"}`, nil, true},
		{"ids number", `{"ids":1}`, nil, true},
		{"ids object", `{"ids":{"0":"a"}}`, nil, true},
		{"ids bool", `{"ids":false}`, nil, true},
		{"mixed number", `{"ids":["a",1]}`, nil, true},
		{"mixed null", `{"ids":["a",null]}`, nil, true},
		{"mixed bool", `{"ids":[true,"a"]}`, nil, true},
		{"nested array", `{"ids":[["a"]]}`, nil, true},
		{"nested object", `{"ids":[{"id":"a"}]}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := `{"op":"get_status"}`
			if tt.body != "" {
				frame = `{"op":"get_status","body":` + tt.body + `}`
			}
			ids, err := ParseIDs(bodyOf(t, frame))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %q, want an error", ids)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !equalStrings(ids, tt.want) {
				t.Errorf("got %q, want %q", ids, tt.want)
			}
		})
	}
}

func TestParseIDArray(t *testing.T) {
	tests := []struct {
		name    string
		json    string // "" means an absent value
		want    []string
		wantErr bool
	}{
		{"absent", "", nil, false},
		{"null", `null`, nil, false},
		{"empty", `[]`, nil, false},
		{"empty spaced", `[ ]`, nil, false},
		{"strings", `["a","b"]`, []string{"a", "b"}, false},
		{"whitespace", " [ \"a\" ,\n\"b\" ] ", []string{"a", "b"}, false},
		{"string", `"a"`, nil, true},
		{"number", `3`, nil, true},
		{"object", `{"a":"b"}`, nil, true},
		{"bool", `true`, nil, true},
		{"mixed", `["a",2,"c"]`, nil, true},
		{"null element", `[null]`, nil, true},
		{"nested", `[["a"]]`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v gjson.Result
			if tt.json != "" {
				v = gjson.Parse(tt.json)
			}
			ids, err := ParseIDArray(v)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %q, want an error", ids)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !equalStrings(ids, tt.want) {
				t.Errorf("got %q, want %q", ids, tt.want)
			}
		})
	}
	// The same value reached through a member lookup on an object.
	obj := gjson.Parse(`{"To_Account":["x","y"]}`)
	if ids, err := ParseIDArray(obj.Get("To_Account")); err != nil || !equalStrings(ids, []string{"x", "y"}) {
		t.Errorf("member lookup: %q, %v", ids, err)
	}
	if ids, err := ParseIDArray(obj.Get("Accounts")); err != nil || ids != nil {
		t.Errorf("absent member: %q, %v", ids, err)
	}
}

func equalStrings(a, b []string) bool {
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

func TestParseCustomStatus(t *testing.T) {
	const han = "中"   // 3 bytes
	const emoji = "😀" // 4 bytes
	tests := []struct {
		name  string
		frame []byte // the whole request, built as raw bytes
		want  string
		err   string // substring of the error; "" for success
	}{
		{"body absent", []byte(`{"op":"set_status"}`), "", ""},
		{"body null", []byte(`{"op":"set_status","body":null}`), "", ""},
		{"member absent", []byte(`{"op":"set_status","body":{}}`), "", ""},
		{"member null", setStatus(`null`), "", ""},
		{"empty", setStatus(`""`), "", ""},
		{"plain", setStatus(`"in a meeting"`), "in a meeting", ""},
		{"other members ignored", []byte(`{"op":"set_status","body":{"user_status_status_type":1,"user_status_identifier":"x","user_status_custom_status":"hi","user_status_online_devices":["Web"]}}`), "hi", ""},
		{"100 ascii", setStatus(`"` + strings.Repeat("a", 100) + `"`), strings.Repeat("a", 100), ""},
		{"101 ascii", setStatus(`"` + strings.Repeat("a", 101) + `"`), "", "101 bytes"},
		{"100 bytes of han and ascii", setStatus(`"` + strings.Repeat(han, 33) + `a"`), strings.Repeat(han, 33) + "a", ""},
		{"101 bytes: 2-byte rune at the boundary", setStatus(`"` + strings.Repeat(han, 33) + `é"`), "", "101 bytes"},
		{"102 bytes: 3-byte rune at the boundary", setStatus(`"` + strings.Repeat(han, 34) + `"`), "", "102 bytes"},
		{"100 bytes of emoji", setStatus(`"` + strings.Repeat(emoji, 25) + `"`), strings.Repeat(emoji, 25), ""},
		{"103 bytes: emoji crosses the boundary", setStatus(`"` + strings.Repeat("a", 99) + emoji + `"`), "", "103 bytes"},
		// The limit is on the decoded text, not the escaped JSON.
		{"100 bytes escaped", setStatus(`"` + strings.Repeat(`\u4e2d`, 33) + `\n"`), strings.Repeat(han, 33) + "\n", ""},
		{"101 bytes escaped", setStatus(`"` + strings.Repeat(`\n`, 101) + `"`), "", "101 bytes"},
		{"surrogate pair escape", setStatus(`"\ud83d\ude00"`), emoji, ""},
		// gjson decodes a lone surrogate escape to U+FFFD, which is valid.
		{"lone surrogate escape", setStatus(`"a\ud800b"`), "a\uFFFDb", ""},
		{"real U+FFFD", setStatus(`"` + "\uFFFD" + `"`), "\uFFFD", ""},

		// gjson accepts raw invalid bytes inside a string; CheckCustomStatus must not.
		{"invalid byte 0xff", setStatus("\"ab\xffcd\""), "", "not valid UTF-8"},
		{"lone continuation byte", setStatus("\"\x80\""), "", "not valid UTF-8"},
		{"truncated 3-byte rune", setStatus("\"\xe4\xb8\""), "", "not valid UTF-8"},
		{"truncated rune at the end", setStatus("\"ok\xf0\x9f\x98\""), "", "not valid UTF-8"},
		{"overlong encoding", setStatus("\"\xc0\xaf\""), "", "not valid UTF-8"},
		{"encoded surrogate", setStatus("\"\xed\xa0\x80\""), "", "not valid UTF-8"},
		{"beyond U+10FFFF", setStatus("\"\xf4\x90\x80\x80\""), "", "not valid UTF-8"},
		{"invalid byte next to escape", setStatus("\"\\n\xff\""), "", "not valid UTF-8"},
		{"too long beats invalid", setStatus("\"" + strings.Repeat("a", 101) + "\xff\""), "", "102 bytes"},

		{"number", setStatus(`1`), "", "must be a string"},
		{"bool", setStatus(`true`), "", "must be a string"},
		{"array", setStatus(`["a"]`), "", "must be a string"},
		{"object", setStatus(`{"s":"a"}`), "", "must be a string"},
		{"body array", []byte(`{"op":"set_status","body":["a"]}`), "", "must be a user status object"},
		{"body string", []byte(`{"op":"set_status","body":"a"}`), "", "must be a user status object"},
		{"body number", []byte(`{"op":"set_status","body":0}`), "", "must be a user status object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeRequest(tt.frame)
			if err != nil {
				t.Fatalf("DecodeRequest(%q): %v", tt.frame, err)
			}
			s, err := ParseCustomStatus(r.Body)
			if errCase(t, err, tt.err, s) {
				return
			}
			if s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}

func setStatus(custom string) []byte {
	return []byte(`{"seq":1,"op":"set_status","body":{"user_status_custom_status":` + custom + `}}`)
}

func TestCheckCustomStatus(t *testing.T) {
	tests := []struct {
		name string
		s    string
		ok   bool
	}{
		{"empty", "", true},
		{"ascii", "busy", true},
		{"100", strings.Repeat("x", 100), true},
		{"101", strings.Repeat("x", 101), false},
		{"100 multi-byte", strings.Repeat("é", 50), true},
		{"102 multi-byte", strings.Repeat("é", 51), false},
		{"99 + 2-byte", strings.Repeat("x", 99) + "é", false},
		{"97 + 3-byte", strings.Repeat("x", 97) + "中", true},
		{"98 + 3-byte", strings.Repeat("x", 98) + "中", false},
		{"NUL is valid UTF-8", "a\x00b", true},
		{"invalid", "a\xffb", false},
		{"truncated", "\xe4\xb8", false},
		{"surrogate bytes", "\xed\xb0\x80", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCustomStatus(tt.s)
			if (err == nil) != tt.ok {
				t.Errorf("CheckCustomStatus(%q) = %v, want ok=%v", tt.s, err, tt.ok)
			}
		})
	}
}

func TestAppendReply(t *testing.T) {
	tests := []struct {
		name string
		seq  uint64
		code int
		desc string
		body []byte
		want string
	}{
		{"ok", 7, CodeOK, "", nil, `{"seq":7,"op":"reply","code":0}`},
		{"seq zero", 0, CodeOK, "", nil, `{"seq":0,"op":"reply","code":0}`},
		{"max seq", 1<<64 - 1, CodeOK, "", nil, `{"seq":18446744073709551615,"op":"reply","code":0}`},
		{"error", 3, CodeServerParams, `ids must be an array of strings`, nil,
			`{"seq":3,"op":"reply","code":70402,"desc":"ids must be an array of strings"}`},
		{"negative code", 3, -1, "", nil, `{"seq":3,"op":"reply","code":-1}`},
		{"desc escaped", 4, CodeNotLoggedIn, "say \"hi\"\n\\", nil,
			`{"seq":4,"op":"reply","code":6014,"desc":"say \"hi\"\n\\"}`},
		{"desc invalid utf8", 4, CodeServerParams, "bad \xff", nil,
			`{"seq":4,"op":"reply","code":70402,"desc":"bad \ufffd"}`},
		{"body array", 5, CodeOK, "", []byte(`[{"user_status_identifier":"a"}]`),
			`{"seq":5,"op":"reply","code":0,"body":[{"user_status_identifier":"a"}]}`},
		{"body and desc", 6, CodeBatchTooLarge, "too many", []byte(`{"n":501}`),
			`{"seq":6,"op":"reply","code":70206,"desc":"too many","body":{"n":501}}`},
		{"body null", 8, CodeOK, "", []byte(`null`), `{"seq":8,"op":"reply","code":0,"body":null}`},
		{"body empty non-nil", 9, CodeOK, "", []byte{}, `{"seq":9,"op":"reply","code":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendReply(nil, tt.seq, tt.code, tt.desc, tt.body)
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("not valid JSON: %s", got)
			}
			// Appending keeps what was there.
			if got := AppendReply([]byte("prefix"), tt.seq, tt.code, tt.desc, tt.body); string(got) != "prefix"+tt.want {
				t.Errorf("with prefix: %s", got)
			}
			f, err := DecodeServerFrame(got)
			if err != nil {
				t.Fatal(err)
			}
			if f.Seq != tt.seq || f.Op != OpReply || f.Code != tt.code || f.Desc != sanitize(tt.desc) {
				t.Errorf("round trip: %+v", f)
			}
			if f.Body.Exists() != (len(tt.body) > 0) || (len(tt.body) > 0 && f.Body.Raw != string(tt.body)) {
				t.Errorf("round trip body: exists=%v raw=%q", f.Body.Exists(), f.Body.Raw)
			}
		})
	}
}

func TestAppendPush(t *testing.T) {
	tests := []struct {
		name string
		op   Op
		code int
		desc string
		want string
	}{
		{"bare", OpShutdown, 0, "", `{"op":"shutdown"}`},
		{"kicked", OpKicked, CodeKickedOffline, "kicked offline: the account logged in on another Linux device",
			`{"op":"kicked","code":6208,"desc":"kicked offline: the account logged in on another Linux device"}`},
		{"sig expired", OpSigExpired, CodeSigExpired, "UserSig expired; log in with a new one",
			`{"op":"sig_expired","code":70001,"desc":"UserSig expired; log in with a new one"}`},
		{"desc only", OpShutdown, 0, "bye", `{"op":"shutdown","desc":"bye"}`},
		{"code only", OpShutdown, CodeServerOverloaded, "", `{"op":"shutdown","code":70503}`},
		{"op escaped", Op("a\"b"), 1, "\t", `{"op":"a\"b","code":1,"desc":"\t"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendPush(nil, tt.op, tt.code, tt.desc)
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("not valid JSON: %s", got)
			}
			if got := AppendPush([]byte("[]"), tt.op, tt.code, tt.desc); string(got) != "[]"+tt.want {
				t.Errorf("with prefix: %s", got)
			}
			f, err := DecodeServerFrame(got)
			if err != nil {
				t.Fatal(err)
			}
			if f.Seq != 0 || f.Op != tt.op || f.Code != tt.code || f.Desc != tt.desc || f.Body.Exists() {
				t.Errorf("round trip: %+v", f)
			}
		})
	}
}

func TestAppendStatusPush(t *testing.T) {
	tests := []struct {
		name string
		sts  []Status
		want string
	}{
		{"none", nil, `{"op":"status","body":[]}`},
		{"online", []Status{{UserID: "alice", Type: StatusOnline, Custom: "busy", Devices: []string{"Windows", "Android"}}},
			`{"op":"status","body":[{"user_status_identifier":"alice","user_status_status_type":1,"user_status_custom_status":"busy","user_status_online_devices":["Windows","Android"]}]}`},
		{"offline no devices", []Status{{UserID: "bob", Type: StatusOffline}},
			`{"op":"status","body":[{"user_status_identifier":"bob","user_status_status_type":2,"user_status_custom_status":"","user_status_online_devices":[]}]}`},
		{"two", []Status{{UserID: "a", Type: StatusUnlogined, Devices: []string{}}, {UserID: "b", Type: StatusUnknown}},
			`{"op":"status","body":[{"user_status_identifier":"a","user_status_status_type":3,"user_status_custom_status":"","user_status_online_devices":[]},{"user_status_identifier":"b","user_status_status_type":0,"user_status_custom_status":"","user_status_online_devices":[]}]}`},
		{"escapes", []Status{{UserID: "q\"u", Type: StatusOnline, Custom: "line1\nline2\u2028中😀", Devices: []string{"Web"}}},
			`{"op":"status","body":[{"user_status_identifier":"q\"u","user_status_status_type":1,"user_status_custom_status":"line1\nline2\u2028中😀","user_status_online_devices":["Web"]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendStatusPush(nil, tt.sts...)
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("not valid JSON: %s", got)
			}
			f, err := DecodeServerFrame(got)
			if err != nil {
				t.Fatal(err)
			}
			if f.Op != OpStatus || f.Seq != 0 || f.Code != 0 || f.Desc != "" {
				t.Errorf("frame: %+v", f)
			}
			back, err := ParseStatuses(f.Body)
			if err != nil {
				t.Fatal(err)
			}
			if len(back) != len(tt.sts) {
				t.Fatalf("got %d statuses back, want %d", len(back), len(tt.sts))
			}
			for i := range back {
				if !back[i].Equal(tt.sts[i]) {
					t.Errorf("status %d: got %+v, want %+v", i, back[i], tt.sts[i])
				}
			}
			// The body is what encoding/json makes of the same statuses.
			var generic []map[string]any
			if err := json.Unmarshal([]byte(f.Body.Raw), &generic); err != nil {
				t.Fatal(err)
			}
			for i, m := range generic {
				s := tt.sts[i]
				if m["user_status_identifier"] != s.UserID || m["user_status_status_type"] != float64(s.Type) ||
					m["user_status_custom_status"] != s.Custom || len(m["user_status_online_devices"].([]any)) != len(s.Devices) {
					t.Errorf("encoding/json reads status %d as %v", i, m)
				}
			}
		})
	}
}

func TestStatusRoundTripInvalidUTF8(t *testing.T) {
	s := Status{UserID: "u\xff", Type: StatusOnline, Custom: "\xe4\xb8", Devices: []string{"\x80Web"}}
	b := AppendStatuses(nil, []Status{s})
	if !json.Valid(b) || !utf8.Valid(b) {
		t.Fatalf("not valid UTF-8 JSON: %q", b)
	}
	back, err := ParseStatuses(gjson.ParseBytes(b))
	if err != nil {
		t.Fatal(err)
	}
	want := Status{UserID: "u\uFFFD", Type: StatusOnline, Custom: "\uFFFD\uFFFD", Devices: []string{"\uFFFDWeb"}}
	if len(back) != 1 || !back[0].Equal(want) {
		t.Errorf("got %+v, want %+v", back, want)
	}
}

func TestParseStatuses(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    []Status
		wantErr bool
	}{
		{"empty", `[]`, nil, false},
		{"minimal", `[{}]`, []Status{{}}, false},
		{"nulls", `[{"user_status_identifier":null,"user_status_custom_status":null,"user_status_online_devices":null}]`, []Status{{}}, false},
		{"full", `[{"user_status_identifier":"a","user_status_status_type":2,"user_status_custom_status":"c","user_status_online_devices":["iPad"],"extra":1}]`,
			[]Status{{UserID: "a", Type: StatusOffline, Custom: "c", Devices: []string{"iPad"}}}, false},
		{"not array", `{}`, nil, true},
		{"null", `null`, nil, true},
		{"element not object", `[1]`, nil, true},
		{"identifier number", `[{"user_status_identifier":1}]`, nil, true},
		{"custom number", `[{"user_status_custom_status":1}]`, nil, true},
		{"type string", `[{"user_status_status_type":"1"}]`, nil, true},
		{"type null", `[{"user_status_status_type":null}]`, nil, true},
		{"devices string", `[{"user_status_online_devices":"Web"}]`, nil, true},
		{"devices mixed", `[{"user_status_online_devices":["Web",1]}]`, nil, true},
		{"second bad", `[{},[]]`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatuses(gjson.Parse(tt.json))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("status %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestDecodeServerFrame(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  ServerFrame // Body compared by Raw
		err   bool
	}{
		{"reply", `{"seq":3,"op":"reply","code":70402,"desc":"x","body":[1]}`, ServerFrame{Seq: 3, Op: OpReply, Code: 70402, Desc: "x", Body: gjson.Result{Raw: "[1]"}}, false},
		{"push", `{"op":"shutdown"}`, ServerFrame{Op: OpShutdown}, false},
		{"empty op accepted", `{"op":""}`, ServerFrame{}, false},
		{"not json", `{"op":`, ServerFrame{}, true},
		{"not object", `["op"]`, ServerFrame{}, true},
		{"missing op", `{"seq":1}`, ServerFrame{}, true},
		{"op number", `{"op":1}`, ServerFrame{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := DecodeServerFrame([]byte(tt.frame))
			if tt.err {
				if err == nil || !errors.Is(err, ErrFrame) {
					t.Fatalf("got %+v, %v; want an ErrFrame", f, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Seq != tt.want.Seq || f.Op != tt.want.Op || f.Code != tt.want.Code || f.Desc != tt.want.Desc || f.Body.Raw != tt.want.Body.Raw {
				t.Errorf("got %+v, want %+v", f, tt.want)
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // exact output
		back string // what a JSON decoder reads; "" means in itself
	}{
		{"empty", "", `""`, ""},
		{"ascii", "hello, world", `"hello, world"`, ""},
		{"quote", `"`, `"\""`, ""},
		{"backslash", `\`, `"\\"`, ""},
		{"slash left alone", "a/b", `"a/b"`, ""},
		{"newline cr tab", "\n\r\t", `"\n\r\t"`, ""},
		{"NUL", "\x00", `"\u0000"`, ""},
		{"other controls", "\x01\x08\x0b\x0c\x1b\x1f", `"\u0001\u0008\u000b\u000c\u001b\u001f"`, ""},
		{"space is not a control", "\x20", `" "`, ""},
		{"DEL left alone", "\x7f", "\"\x7f\"", ""},
		{"HTML left alone", "<a href='x'>&amp;</a>", `"<a href='x'>&amp;</a>"`, ""},
		{"multi-byte", "中文 é 😀", `"中文 é 😀"`, ""},
		{"U+2028", "a\u2028b", `"a\u2028b"`, ""},
		{"U+2029", "\u2029", `"\u2029"`, ""},
		{"U+2027 and U+202A left alone", "\u2027\u202a", "\"\u2027\u202a\"", ""},
		{"U+FFFD left alone", "\uFFFD", "\"\uFFFD\"", ""},
		{"max rune", "\U0010FFFF", "\"\U0010FFFF\"", ""},
		{"mixed", "a\"b\\c\nd\x00e\u2028f", `"a\"b\\c\nd\u0000e\u2028f"`, ""},
		{"invalid byte", "a\xffb", `"a\ufffdb"`, "a\uFFFDb"},
		{"lone continuation", "\x80", `"\ufffd"`, "\uFFFD"},
		{"truncated rune", "\xe4\xb8", `"\ufffd\ufffd"`, "\uFFFD\uFFFD"},
		{"truncated rune at end", "ok\xf0\x9f\x98", `"ok\ufffd\ufffd\ufffd"`, "ok\uFFFD\uFFFD\uFFFD"},
		{"overlong", "\xc0\xaf", `"\ufffd\ufffd"`, "\uFFFD\uFFFD"},
		{"encoded surrogate", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`, "\uFFFD\uFFFD\uFFFD"},
		{"beyond max rune", "\xf4\x90\x80\x80", `"\ufffd\ufffd\ufffd\ufffd"`, "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"invalid then quote", "\xff\"", `"\ufffd\""`, "\uFFFD\""},
		{"invalid between valid runes", "中\xff文", "\"中\\ufffd文\"", "中\uFFFD文"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendString(nil, tt.in)
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) || !utf8.Valid(got) {
				t.Fatalf("not valid UTF-8 JSON: %q", got)
			}
			if bytes.Contains(got, []byte("\u2028")) || bytes.Contains(got, []byte("\u2029")) {
				t.Errorf("raw U+2028/U+2029 in %q", got)
			}
			back := tt.back
			if back == "" {
				back = tt.in
			}
			var s string
			if err := json.Unmarshal(got, &s); err != nil {
				t.Fatal(err)
			}
			if s != back {
				t.Errorf("encoding/json reads %q, want %q", s, back)
			}
			if g := gjson.ParseBytes(got); g.Type != gjson.String || g.Str != back {
				t.Errorf("gjson reads %v %q, want %q", g.Type, g.Str, back)
			}
			// Same text as encoding/json makes of the input.
			std, _ := json.Marshal(tt.in)
			var s2 string
			if err := json.Unmarshal(std, &s2); err != nil || s2 != s {
				t.Errorf("encoding/json round trip gives %q, ours %q", s2, s)
			}
			if got := AppendString([]byte(`{"k":`), tt.in); string(got) != `{"k":`+tt.want {
				t.Errorf("with prefix: %s", got)
			}
		})
	}
}

// Every single byte and every rune class through AppendString.
func TestAppendStringAllBytes(t *testing.T) {
	for c := 0; c < 256; c++ {
		for _, s := range []string{string([]byte{byte(c)}), "a" + string([]byte{byte(c)}) + "z", string(rune(c))} {
			got := AppendString(nil, s)
			if !json.Valid(got) || !utf8.Valid(got) {
				t.Fatalf("%q: not valid UTF-8 JSON: %q", s, got)
			}
			var back string
			if err := json.Unmarshal(got, &back); err != nil || back != sanitize(s) {
				t.Fatalf("%q: read back %q, %v", s, back, err)
			}
		}
	}
}

func TestStatusEqual(t *testing.T) {
	base := Status{UserID: "a", Type: StatusOnline, Custom: "c", Devices: []string{"Web", "Linux"}}
	tests := []struct {
		name string
		o    Status
		want bool
	}{
		{"same", Status{UserID: "a", Type: StatusOnline, Custom: "c", Devices: []string{"Web", "Linux"}}, true},
		{"user", Status{UserID: "b", Type: StatusOnline, Custom: "c", Devices: []string{"Web", "Linux"}}, false},
		{"type", Status{UserID: "a", Type: StatusOffline, Custom: "c", Devices: []string{"Web", "Linux"}}, false},
		{"custom", Status{UserID: "a", Type: StatusOnline, Custom: "", Devices: []string{"Web", "Linux"}}, false},
		{"fewer devices", Status{UserID: "a", Type: StatusOnline, Custom: "c", Devices: []string{"Web"}}, false},
		{"more devices", Status{UserID: "a", Type: StatusOnline, Custom: "c", Devices: []string{"Web", "Linux", "Mac"}}, false},
		{"device order", Status{UserID: "a", Type: StatusOnline, Custom: "c", Devices: []string{"Linux", "Web"}}, false},
		{"device name", Status{UserID: "a", Type: StatusOnline, Custom: "c", Devices: []string{"Web", "Mac"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := base.Equal(tt.o); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
			if got := tt.o.Equal(base); got != tt.want {
				t.Errorf("Equal is not symmetric")
			}
		})
	}
	if !(Status{}).Equal(Status{Devices: []string{}}) {
		t.Error("nil and empty device lists differ")
	}
	if !(Status{}).Equal(Status{}) {
		t.Error("zero statuses differ")
	}
}

func TestValidPlatform(t *testing.T) {
	for _, p := range []string{"iPhone", "Android", "iPad", "Windows", "Mac", "Linux", "Web"} {
		if !ValidPlatform(p) {
			t.Errorf("ValidPlatform(%q) = false", p)
		}
	}
	for _, p := range []string{"", "iphone", "IPHONE", "android", "Web ", " Web", "Linux\x00", "MacOS", "Unknown", "PC"} {
		if ValidPlatform(p) {
			t.Errorf("ValidPlatform(%q) = true", p)
		}
	}
}

func TestStatusTypeString(t *testing.T) {
	tests := []struct {
		t    StatusType
		want string
	}{
		{StatusUnknown, "UNKNOWN"},
		{StatusOnline, "ONLINE"},
		{StatusOffline, "OFFLINE"},
		{StatusUnlogined, "UNLOGINED"},
		{4, "UNKNOWN"},
		{-1, "UNKNOWN"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("StatusType(%d).String() = %q, want %q", int(tt.t), got, tt.want)
		}
	}
	// The numbers are upstream's and part of the C ABI.
	if StatusUnknown != 0 || StatusOnline != 1 || StatusOffline != 2 || StatusUnlogined != 3 {
		t.Error("status type values changed")
	}
}

func TestError(t *testing.T) {
	e := Errorf(CodeServerParams, "bad %s", "ids")
	if e.Code != CodeServerParams || e.Desc != "bad ids" || e.Error() != "bad ids (code 70402)" {
		t.Errorf("got %+v %q", e, e.Error())
	}
}

// AppendStatuses sizes its buffer once: a 100-status reply is one
// allocation, not a dozen growths. (Checked through the buffer, not
// testing.AllocsPerRun, which the race detector's own allocations upset.)
func TestAppendStatusesSizesOnce(t *testing.T) {
	sts := make([]Status, 100)
	for i := range sts {
		sts[i] = Status{UserID: fmt.Sprintf("user_%03d", i), Type: StatusOnline, Custom: "in a match", Devices: []string{"iPhone", "Windows"},
			Version: uint64(i) * 999_999_937} // 1 to 11 digits, and none for the first
	}
	want := 2 - 1 // brackets, less the last status's comma
	for _, s := range sts {
		want += statusSize(s, true)
	}
	out := AppendStatuses(nil, sts)
	if len(out) != want {
		t.Fatalf("statusSize says %d bytes in all, AppendStatuses wrote %d", want, len(out))
	}
	// Growing as it went would leave up to twice the length.
	if cap(out) > want+want/8 {
		t.Fatalf("capacity %d for %d bytes: the buffer grew more than once", cap(out), len(out))
	}
	// A buffer with room is used as it is.
	dst := make([]byte, 0, want)
	if out := AppendStatuses(dst, sts); &out[0] != &dst[:1][0] {
		t.Fatal("AppendStatuses reallocated a buffer that had room")
	}
}

func TestAppendStatusesReplyIsTheReplyOfTheStatuses(t *testing.T) {
	for _, sts := range [][]Status{nil, {{UserID: "a", Type: StatusOnline, Custom: "x\"y", Devices: []string{"iPhone"}}}, {{UserID: "a"}, {UserID: "b", Type: StatusOffline}}} {
		want := AppendReply(nil, 42, 0, "", AppendStatuses(nil, sts))
		if got := AppendStatusesReply(nil, 42, sts); !bytes.Equal(got, want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

// errCase checks err against a table case's want: "" wants no error,
// anything else an error containing it. It reports whether an error was
// wanted, i.e. the case is done.
func errCase(t *testing.T, err error, want string, got any) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return false
	}
	if err == nil {
		t.Fatalf("got %+v, want error containing %q", got, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to contain %q", err, want)
	}
	return true
}

func TestParseStatusPushCuts(t *testing.T) {
	alice := Status{UserID: "alice", Type: StatusOnline, Custom: `a ,"user_status_version":1} b`, Devices: []string{"Windows", "Android"}, Version: 1800000000000001}
	bob := Status{UserID: "bob", Type: StatusOffline, Version: 7}
	for _, tc := range []struct {
		name string
		body string
		want string // "" when it must not cut
	}{
		{"one", string(AppendStatuses(nil, []Status{alice})), string(AppendUserStatuses(nil, []Status{alice}))},
		{"two", string(AppendStatuses(nil, []Status{alice, bob})), string(AppendUserStatuses(nil, []Status{alice, bob}))},
		{"empty", `[]`, `[]`},
		{"bad status", `[{"user_status_identifier":1,"user_status_version":3}]`, ""},
		{"no version", string(AppendStatuses(nil, []Status{{UserID: "carol", Type: StatusOnline}})), ""},
		{"one of two without version", string(AppendStatuses(nil, []Status{alice, {UserID: "carol"}})), ""},
		{"version not last", `[{"user_status_identifier":"a","user_status_version":3,"user_status_status_type":1,"user_status_custom_status":"","user_status_online_devices":[]}]`, ""},
		{"version not a plain number", `[{"user_status_identifier":"a","user_status_status_type":1,"user_status_custom_status":"","user_status_online_devices":[],"user_status_version":3.5}]`, ""},
		{"identifier not first", `[{"user_status_status_type":1,"user_status_identifier":"a","user_status_custom_status":"","user_status_online_devices":[],"user_status_version":3}]`, ""},
		{"spaces", `[ {"user_status_identifier":"a","user_status_status_type":1,"user_status_custom_status":"","user_status_online_devices":[],"user_status_version":3} ]`,
			`[{"user_status_identifier":"a","user_status_status_type":1,"user_status_custom_status":"","user_status_online_devices":[]}]`},
		{"space before the brace", `[{"user_status_identifier":"a","user_status_status_type":1,"user_status_custom_status":"","user_status_online_devices":[],"user_status_version":3 }]`, ""},
		{"invalid UTF-8", "[{\"user_status_identifier\":\"\xff\",\"user_status_status_type\":1,\"user_status_custom_status\":\"\",\"user_status_online_devices\":[],\"user_status_version\":3}]", ""},
		{"not an array", `{"user_status_identifier":"a","user_status_version":3}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts, got, err := ParseStatusPush(gjson.Parse(tc.body))
			want, wantErr := ParseStatuses(gjson.Parse(tc.body))
			if (err != nil) != (wantErr != nil) || len(sts) != len(want) {
				t.Fatalf("ParseStatusPush(%s) = %+v, %v; ParseStatuses: %+v, %v", tc.body, sts, err, want, wantErr)
			}
			if got != tc.want {
				t.Fatalf("ParseStatusPush(%s) cuts %q, want %q", tc.body, got, tc.want)
			}
		})
	}
}

// The client's work between a status push and the C callback's JSON:
// encoding the parsed statuses again, or cutting the push's own text.
func BenchmarkPushToUserJSON(b *testing.B) {
	push := AppendStatusPush(nil, Status{UserID: "player-00042", Type: StatusOnline, Custom: "in a match: ranked 5v5", Devices: []string{"Windows", "Android"}, Version: 1800000000000001})
	for _, bc := range []struct {
		name string
		json func(ServerFrame) (string, error)
	}{
		{"encode", func(fr ServerFrame) (string, error) {
			sts, err := ParseStatuses(fr.Body)
			return string(AppendUserStatuses(nil, sts)), err
		}},
		{"cut", func(fr ServerFrame) (string, error) {
			_, json, err := ParseStatusPush(fr.Body)
			return json, err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fr, err := DecodeServerFrame(push)
				if err != nil {
					b.Fatal(err)
				}
				if json, err := bc.json(fr); err != nil || json == "" {
					b.Fatal("no JSON")
				}
			}
		})
	}
}
