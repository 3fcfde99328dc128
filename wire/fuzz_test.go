package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Realistic client frames, also used as seeds for the server-frame target.
var requestSeeds = []string{
	`{"seq":1,"op":"login","body":{"v":1,"sdkappid":1400000000,"user_id":"alice","user_sig":"eJwtzEELgjAYxvHvsnOEc1ptN6GDRUKUdhUW3cYrNTcIe--","platform":"Linux","device_id":"d-1"}}`,
	`{"seq":2,"op":"heartbeat"}`,
	`{"seq":3,"op":"set_status","body":{"user_status_custom_status":"in a meeting 中文 😀"}}`,
	`{"seq":4,"op":"set_status","body":{"user_status_custom_status":null}}`,
	`{"seq":5,"op":"get_status","body":{"ids":["alice","bob","carol"]}}`,
	`{"seq":6,"op":"subscribe","body":{"ids":["bob"]}}`,
	`{"seq":7,"op":"unsubscribe","body":null}`,
	`{"seq":8,"op":"logout"}`,
	`{"seq":18446744073709551615,"op":"heartbeat","body":{}}`,
	`{"seq":"1","op":"login","body":{"v":"1","sdkappid":"1"}}`,
	`{"seq":-1,"op":"get_status","body":{"ids":["a",1,null,{}]}}`,
	`{"seq":1.5,"op":"set_status","body":{"user_status_custom_status":"a\u2028\ud800\"\\"}}`,
	`{"op":"set_status","body":{"user_status_custom_status":"` + "\xff\xfe" + `"}}`,
	`{"op":"get_status","body":{"ids":[[[[[[[]]]]]]]}}`,
	`[{"op":"login"}]`,
	`{"op":"login","body":{"v":1e0,"sdkappid":1.4e9}}`,
	`  {"seq" : 0 , "op" : "x" }  `,
	``,
	`{`,
	`null`,
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		req, err := DecodeRequest(b)
		if !bytes.Equal(in, b) {
			t.Fatal("DecodeRequest modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("error %v does not wrap ErrFrame", err)
			}
			if req.Op != "" || req.Seq != 0 || req.Body.Exists() {
				t.Fatalf("error with a non-zero request: %+v", req)
			}
			return
		}
		// Only JSON objects with a non-empty string op get through.
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if req.Op == "" {
			t.Fatal("accepted an empty op")
		}
		// When seq and op appear once, encoding/json reads the same values.
		if m, ok := members(b); ok {
			if raws := m["op"]; len(raws) == 1 {
				var op string
				if err := json.Unmarshal(raws[0], &op); err != nil || op != sanitize(string(req.Op)) {
					t.Fatalf("op %q, encoding/json reads %q, %v", req.Op, op, err)
				}
			}
			if raws := m["seq"]; len(raws) == 1 {
				var n uint64
				if err := json.Unmarshal(raws[0], &n); err != nil || n != req.Seq {
					t.Fatalf("seq %d, encoding/json reads %d, %v", req.Seq, n, err)
				}
			} else if len(raws) == 0 && req.Seq != 0 {
				t.Fatalf("seq %d without a seq member", req.Seq)
			}
		}

		body := req.Body
		l, err := ParseLogin(body)
		if err == nil {
			if !body.IsObject() {
				t.Fatal("ParseLogin accepted a non-object")
			}
			_ = l
		}
		if ids, err := ParseIDs(body); err == nil {
			// Every id encodes and reads back.
			var arr []byte
			arr = append(arr, '[')
			for i, id := range ids {
				if i > 0 {
					arr = append(arr, ',')
				}
				arr = AppendString(arr, id)
			}
			arr = append(arr, ']')
			if !json.Valid(arr) {
				t.Fatalf("ids re-encode to invalid JSON %q", arr)
			}
			back, err := ParseIDArray(gjson.ParseBytes(arr))
			if err != nil || len(back) != len(ids) {
				t.Fatalf("ids %q read back as %q, %v", ids, back, err)
			}
			for i := range ids {
				if back[i] != sanitize(ids[i]) {
					t.Fatalf("id %q read back as %q", ids[i], back[i])
				}
			}
		}
		if s, err := ParseCustomStatus(body); err == nil {
			if len(s) > MaxCustomStatus || !utf8.ValidString(s) || CheckCustomStatus(s) != nil {
				t.Fatalf("ParseCustomStatus accepted %q", s)
			}
		} else if s != "" && CheckCustomStatus(s) == nil {
			t.Fatalf("ParseCustomStatus rejected %q: %v", s, err)
		}
		_, _ = ParseIDArray(body)
		_, _ = ParseStatuses(body)
		_, _ = ParseStatus(body)

		// Echoing the request's parts back in a reply gives valid JSON.
		var raw []byte
		if body.Exists() {
			raw = []byte(body.Raw)
		}
		reply := AppendReply(nil, req.Seq, CodeServerParams, string(req.Op), raw)
		if !json.Valid(reply) {
			t.Fatalf("reply %q is not valid JSON", reply)
		}
		rf, err := DecodeServerFrame(reply)
		if err != nil {
			t.Fatalf("reply %q: %v", reply, err)
		}
		if rf.Seq != req.Seq || rf.Op != OpReply || rf.Code != CodeServerParams || rf.Desc != sanitize(string(req.Op)) {
			t.Fatalf("reply %q reads back as %+v", reply, rf)
		}
		if body.Exists() && rf.Body.Raw != body.Raw {
			t.Fatalf("reply body %q, want %q", rf.Body.Raw, body.Raw)
		}
	})
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{
		"", "alice", "in a meeting", "中文 😀", `"quoted" \back\slash/`, "\n\r\t\b\f\x00\x1f\x7f",
		"<script>&amp;</script>", "\u2028\u2029", "\uFFFD", "\U0010FFFF",
		"\xff", "\x80", "\xe4\xb8", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "ok\xf0\x9f\x98",
		"kicked offline: the account logged in on another Linux device",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		if !json.Valid(out) {
			t.Fatalf("AppendString(%q) = %q: not valid JSON", s, out)
		}
		if !utf8.Valid(out) {
			t.Fatalf("AppendString(%q) = %q: not valid UTF-8", s, out)
		}
		if bytes.ContainsRune(out, '\u2028') || bytes.ContainsRune(out, '\u2029') {
			t.Fatalf("AppendString(%q) = %q: raw U+2028/U+2029", s, out)
		}
		for _, c := range out {
			if c < 0x20 {
				t.Fatalf("AppendString(%q) = %q: raw control byte", s, out)
			}
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %q: %v", s, out, err)
		}
		want := sanitize(s)
		if utf8.ValidString(s) && want != s {
			t.Fatalf("sanitize changed valid %q", s)
		}
		if back != want {
			t.Fatalf("AppendString(%q) = %q reads back as %q, want %q", s, out, back, want)
		}
		if g := gjson.ParseBytes(out); g.Type != gjson.String || g.Str != want {
			t.Fatalf("AppendString(%q) = %q: gjson reads %q", s, out, g.Str)
		}
		// Same string as encoding/json's encoder (which escapes differently).
		std, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var stdBack string
		if err := json.Unmarshal(std, &stdBack); err != nil || stdBack != back {
			t.Fatalf("encoding/json reads its own encoding as %q, ours as %q", stdBack, back)
		}
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(out) {
			t.Fatalf("AppendString does not append: %q", got)
		}
	})
}

func FuzzStatusRoundTrip(f *testing.F) {
	f.Add("alice", int64(1), "in a meeting", "Windows", "Android", uint8(2), uint64(1800000000000001))
	f.Add("bob", int64(2), "", "", "", uint8(0), uint64(0))
	f.Add("carol", int64(3), "中文😀\u2028", "iPhone", "", uint8(1), uint64(1))
	f.Add("", int64(0), "", "Web", "Mac", uint8(5), uint64(1<<63))
	f.Add("q\"u\\o\nte", int64(-1), "\x00\x1f", "Linux", "iPad", uint8(2), uint64(18446744073709551615))
	f.Add("bad\xff", int64(1<<62), "\xe4\xb8", "\x80", "\xed\xa0\x80", uint8(3), uint64(9))
	f.Fuzz(func(t *testing.T, user string, typ int64, custom, d1, d2 string, n uint8, version uint64) {
		s := Status{UserID: user, Type: StatusType(typ), Custom: custom, Version: version}
		if int64(s.Type) != typ {
			return // the type does not fit an int here: not an input this target is about
		}
		for i := 0; i < int(n%5); i++ {
			if i%2 == 0 {
				s.Devices = append(s.Devices, d1)
			} else {
				s.Devices = append(s.Devices, d2)
			}
		}
		want := Status{UserID: sanitize(user), Type: s.Type, Custom: sanitize(custom)}
		for _, d := range s.Devices {
			want.Devices = append(want.Devices, sanitize(d))
		}
		valid := want.Equal(s) // every string was valid UTF-8

		sts := []Status{s, {UserID: "other", Type: StatusOffline}}
		arr := AppendStatuses(nil, sts)
		if !json.Valid(arr) {
			t.Fatalf("AppendStatuses = %q: not valid JSON", arr)
		}
		back, err := ParseStatuses(gjson.ParseBytes(arr))
		if err != nil {
			t.Fatalf("ParseStatuses(%q): %v", arr, err)
		}
		if len(back) != 2 || !back[0].Equal(want) || !back[1].Equal(sts[1]) || back[0].Version != version {
			t.Fatalf("%+v\nencodes as %q\nreads back as %+v", s, arr, back)
		}
		// The C API's form: upstream's keys only, no version.
		user1 := AppendUserStatuses(nil, sts[:1])
		if bytes.Contains(user1, []byte("user_status_version")) {
			t.Fatalf("AppendUserStatuses wrote the version: %q", user1)
		}
		if back, err := ParseStatuses(gjson.ParseBytes(user1)); err != nil || len(back) != 1 || !back[0].Equal(want) || back[0].Version != 0 {
			t.Fatalf("AppendUserStatuses = %q reads back as %+v, %v", user1, back, err)
		}
		if valid && !back[0].Equal(s) {
			t.Fatalf("valid %+v reads back as %+v", s, back[0])
		}

		push := AppendStatusPush(nil, s)
		if !json.Valid(push) {
			t.Fatalf("AppendStatusPush = %q: not valid JSON", push)
		}
		fr, err := DecodeServerFrame(push)
		if err != nil || fr.Op != OpStatus {
			t.Fatalf("DecodeServerFrame(%q) = %+v, %v", push, fr, err)
		}
		back, err = ParseStatuses(fr.Body)
		if err != nil || len(back) != 1 || !back[0].Equal(want) {
			t.Fatalf("push %q reads back as %+v, %v", push, back, err)
		}
		// The push's body cut for the C API is exactly what encoding the
		// status for it writes; without a version there is nothing to cut.
		_, cut, err := ParseStatusPush(fr.Body)
		if err != nil || (cut != "") != (version != 0) {
			t.Fatalf("ParseStatusPush(%q) cuts %q, %v", fr.Body.Raw, cut, err)
		}
		if cut != "" && cut != string(AppendUserStatuses(nil, []Status{s})) {
			t.Fatalf("ParseStatusPush(%q) cuts %q, want %q", fr.Body.Raw, cut, AppendUserStatuses(nil, []Status{s}))
		}

		// encoding/json agrees on every member.
		var generic []struct {
			ID      string   `json:"user_status_identifier"`
			Type    int64    `json:"user_status_status_type"`
			Custom  string   `json:"user_status_custom_status"`
			Devices []string `json:"user_status_online_devices"`
		}
		if err := json.Unmarshal(arr, &generic); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		g := generic[0]
		if g.ID != want.UserID || g.Type != typ || g.Custom != want.Custom || !equalStrings(g.Devices, want.Devices) {
			t.Fatalf("encoding/json reads %+v, want %+v", g, want)
		}
	})
}

func FuzzDecodeServerFrame(f *testing.F) {
	for _, s := range []string{
		`{"seq":7,"op":"reply","code":0}`,
		`{"seq":3,"op":"reply","code":70402,"desc":"ids must be an array of strings"}`,
		`{"seq":5,"op":"reply","code":0,"body":[{"user_status_identifier":"a","user_status_status_type":1,"user_status_custom_status":"","user_status_online_devices":["Web"]}]}`,
		`{"op":"status","body":[{"user_status_identifier":"alice","user_status_status_type":1,"user_status_custom_status":"busy","user_status_online_devices":["Windows","Android"]}]}`,
		`{"op":"status","body":[{"user_status_identifier":1}]}`,
		`{"op":"kicked","code":6208,"desc":"kicked offline: the account logged in on another Linux device"}`,
		`{"op":"sig_expired","code":70001,"desc":"UserSig expired; log in with a new one"}`,
		`{"op":"shutdown","code":70503,"desc":"server is shutting down; reconnect"}`,
		`{"seq":-1,"op":"reply","code":1e30,"desc":{"x":1},"body":"s"}`,
		`{"seq":99999999999999999999999,"op":"reply","code":-9223372036854775809}`,
		"{\"op\":\"status\",\"desc\":\"\xff\\ud800\"}",
		`{"op":1}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeServerFrame(b)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("error %v does not wrap ErrFrame", err)
			}
		} else {
			if !json.Valid(b) {
				t.Fatalf("accepted invalid JSON %q", b)
			}
			if sts, err := ParseStatuses(fr.Body); err == nil {
				// What the client hands the app re-encodes as valid JSON.
				arr := AppendStatuses(nil, sts)
				if !json.Valid(arr) {
					t.Fatalf("statuses re-encode to invalid JSON %q", arr)
				}
				// And what it cuts instead reads back as the same statuses,
				// without their versions.
				cutSts, cut, err := ParseStatusPush(fr.Body)
				if err != nil || len(cutSts) != len(sts) {
					t.Fatalf("ParseStatusPush(%q) = %+v, %v; ParseStatuses: %+v", fr.Body.Raw, cutSts, err, sts)
				}
				if cut != "" {
					checkCut(t, cut, sts)
				}
			}
			_, _ = ParseStatus(fr.Body)
			_, _ = ParseIDArray(fr.Body)
		}
		_, _ = DecodeRequest(b)

		// The input as a description and, when it is JSON, as a body.
		desc := string(b)
		var body []byte
		if gjson.ValidBytes(b) {
			body = b
		}
		reply := AppendReply(nil, uint64(len(b)), -len(b), desc, body)
		if !json.Valid(reply) {
			t.Fatalf("reply %q is not valid JSON", reply)
		}
		rf, err := DecodeServerFrame(reply)
		if err != nil {
			t.Fatalf("reply %q: %v", reply, err)
		}
		if rf.Seq != uint64(len(b)) || rf.Op != OpReply || rf.Code != -len(b) || rf.Desc != sanitize(desc) {
			t.Fatalf("reply %q reads back as %+v", reply, rf)
		}
		if len(body) > 0 {
			if rf.Body.Raw != strings.Trim(string(body), " \t\r\n") {
				t.Fatalf("reply body %q, want %q", rf.Body.Raw, body)
			}
		} else if rf.Body.Exists() {
			t.Fatalf("reply %q has a body", reply)
		}
		push := AppendPush(nil, Op(desc), len(b), desc)
		pf, err := DecodeServerFrame(push)
		if err != nil || !json.Valid(push) {
			t.Fatalf("push %q: %v", push, err)
		}
		if pf.Op != Op(sanitize(desc)) || pf.Code != len(b) || pf.Desc != sanitize(desc) {
			t.Fatalf("push %q reads back as %+v", push, pf)
		}
	})
}

// checkCut fails t unless cut, from ParseStatusPush, is valid JSON that
// reads back as sts with no version.
func checkCut(t *testing.T, cut string, sts []Status) {
	t.Helper()
	if !json.Valid([]byte(cut)) {
		t.Fatalf("ParseStatusPush cuts %q: not valid JSON", cut)
	}
	back, err := ParseStatuses(gjson.Parse(cut))
	if err != nil || len(back) != len(sts) {
		t.Fatalf("ParseStatusPush cuts %q reads back as %+v, %v; want %+v", cut, back, err, sts)
	}
	for i := range back {
		if !back[i].Equal(sts[i]) || back[i].Version != 0 {
			t.Fatalf("ParseStatusPush cuts %q: status %d reads back as %+v, want %+v without version", cut, i, back[i], sts[i])
		}
	}
}

// members lists the members of a JSON object by (unescaped) key, in order,
// using encoding/json.
func members(b []byte) (map[string][]json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	m := make(map[string][]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, ok := tok.(string)
		if !ok {
			return nil, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		m[key] = append(m[key], raw)
	}
	return m, true
}

// The login body and reply: what one side builds, the other reads back
// (strings as AppendString makes them valid), and a reply of any shape
// reads as some LoginReply without failing.
func FuzzLoginRoundTrip(f *testing.F) {
	f.Add(uint64(1400000000), "alice", "eJwtzEELgjAYxvHvsnOEc1ptN6GDRUKUdhUW3cYrNTcIe--", "Linux", "d-1", int64(30000), int64(1800000000000), 20)
	f.Add(uint64(0), "", "", "", "", int64(-1), int64(0), -5)
	f.Add(uint64(1<<64-1), "q\"u\\o\nte", "\xff", "中文", "\u2028", int64(1<<62), int64(-1<<62), 1<<31-1)
	f.Fuzz(func(t *testing.T, app uint64, user, sig, platform, device string, hb, st int64, n int) {
		l := LoginBody{Version: Version, SDKAppID: app, UserID: user, UserSig: sig, Platform: platform, DeviceID: device}
		body := AppendLoginBody(nil, l)
		if !json.Valid(body) {
			t.Fatalf("AppendLoginBody = %q: not valid JSON", body)
		}
		back, err := ParseLogin(gjson.ParseBytes(body))
		want := LoginBody{Version: Version, SDKAppID: app, UserID: sanitize(user), UserSig: sanitize(sig), Platform: sanitize(platform), DeviceID: sanitize(device)}
		if err != nil || back != want {
			t.Fatalf("%+v encodes as %q, reads back as %+v, %v", l, body, back, err)
		}
		// The device id as user_define_data too: read back when it fits.
		l.UserDefineData = device
		body = AppendLoginBody(nil, l)
		back, err = ParseLogin(gjson.ParseBytes(body))
		want.UserDefineData = sanitize(device)
		if fits := len(want.UserDefineData) <= MaxUserDefineData; fits != (err == nil) || fits && back != want {
			t.Fatalf("%+v encodes as %q, reads back as %+v, %v", l, body, back, err)
		}

		r := LoginReply{UserID: user, HeartbeatInterval: hb, ServerTime: st,
			Limits: Limits{RateLimitCalls: n, RateLimitWindowMS: n, MaxGetIDs: n, MaxSubscribeIDs: n, MaxSubscriptions: n}}
		rb := AppendLoginReply(nil, r)
		if !json.Valid(rb) {
			t.Fatalf("AppendLoginReply = %q: not valid JSON", rb)
		}
		got := ParseLoginReply(gjson.ParseBytes(rb))
		if got.UserID != sanitize(user) || got.ServerTime != st {
			t.Fatalf("%+v encodes as %q, reads back as %+v", r, rb, got)
		}
		if (hb >= 0 && hb <= 1<<40) != (got.HeartbeatInterval == hb) || got.HeartbeatInterval < 0 {
			t.Fatalf("heartbeat %d reads back as %d", hb, got.HeartbeatInterval)
		}
		wantLimits := r.Limits // out of range reads as 0: unknown
		if n <= 0 || n > 1<<30 {
			wantLimits = Limits{}
		}
		if got.Limits != wantLimits {
			t.Fatalf("limits %+v read back as %+v, want %+v", r.Limits, got.Limits, wantLimits)
		}
		// Anything at all, as a reply body.
		ParseLoginReply(gjson.Parse(sig))

		// The set_status body, with any text as the custom status.
		sb := AppendSetStatusBody(nil, sig)
		if custom, err := ParseCustomStatus(gjson.ParseBytes(sb)); !json.Valid(sb) ||
			(err == nil) != (CheckCustomStatus(sanitize(sig)) == nil) || (err == nil && custom != sanitize(sig)) {
			t.Fatalf("AppendSetStatusBody(%q) = %q reads back as %q, %v", sig, sb, custom, err)
		}
	})
}
