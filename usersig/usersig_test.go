package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Reference test vector.
const (
	testKey      = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	testApp      = 1400000000
	testID       = "xiaojun"
	testTime     = 1700000000
	testExpire   = 15552000
	vectorSig    = "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="
	vectorSigBuf = "GX1EVdi0RAQP5VK6vqu86Ixw4cLQ8x2f+lJZtI/g0Og="
)

var (
	testNow     = time.Unix(testTime, 0)
	testExpireD = testExpire * time.Second
	testBuf     = []byte{1, 2, 3}
)

// packRaw zlib-compresses b at level and applies the UserSig encoding.
func packRaw(t testing.TB, b []byte, level int) string {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return sigEncode(buf.Bytes())
}

func pack(t testing.TB, js string, level int) string {
	t.Helper()
	return packRaw(t, []byte(js), level)
}

// sigEncode is base64 with the UserSig substitutions, written independently
// of the package's replacer.
func sigEncode(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	s = strings.ReplaceAll(s, "+", "*")
	s = strings.ReplaceAll(s, "/", "-")
	return strings.ReplaceAll(s, "=", "_")
}

// hmacOf computes TLS.sig for the given content text under testKey.
func hmacOf(content string) string {
	m := hmac.New(sha256.New, []byte(testKey))
	m.Write([]byte(content))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// field is one raw JSON member; obj joins them in the given order.
type field struct{ k, v string }

func obj(fs ...field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%q:%s", f.k, f.v)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// refFields is the reference generator's layout for the test vector.
func refFields() []field {
	return []field{
		{"TLS.ver", `"2.0"`},
		{"TLS.identifier", `"xiaojun"`},
		{"TLS.sdkappid", "1400000000"},
		{"TLS.expire", "15552000"},
		{"TLS.time", "1700000000"},
		{"TLS.sig", `"` + vectorSig + `"`},
	}
}

// with returns fs with key k set to v (appended if absent).
func with(fs []field, k, v string) []field {
	out := append([]field(nil), fs...)
	for i := range out {
		if out[i].k == k {
			out[i].v = v
			return out
		}
	}
	return append(out, field{k, v})
}

// without returns fs with key k removed.
func without(fs []field, k string) []field {
	var out []field
	for _, f := range fs {
		if f.k != k {
			out = append(out, f)
		}
	}
	return out
}

func TestVectors(t *testing.T) {
	tests := []struct {
		name    string
		userbuf []byte // nil: Generate, else GenerateWithUserBuf
		content string
		wantSig string
	}{
		{"plain", nil, "TLS.identifier:xiaojun\nTLS.sdkappid:1400000000\nTLS.time:1700000000\nTLS.expire:15552000\n", vectorSig},
		{"userbuf", testBuf, "TLS.identifier:xiaojun\nTLS.sdkappid:1400000000\nTLS.time:1700000000\nTLS.expire:15552000\nTLS.userbuf:AQID\n", vectorSigBuf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Cross-check the vector against an independent HMAC.
			if got := hmacOf(tt.content); got != tt.wantSig {
				t.Fatalf("independent HMAC = %s, want %s", got, tt.wantSig)
			}
			var sig string
			var err error
			if tt.userbuf == nil {
				sig, err = Generate(testKey, testApp, testID, testExpireD, testNow)
			} else {
				sig, err = GenerateWithUserBuf(testKey, testApp, testID, testExpireD, testNow, tt.userbuf)
			}
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			tk, sigField, err := Decode(sig)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if sigField != tt.wantSig {
				t.Errorf("TLS.sig = %s, want %s", sigField, tt.wantSig)
			}
			want := Ticket{Identifier: testID, SDKAppID: testApp, Time: testTime, Expire: testExpire, UserBuf: tt.userbuf}
			if !reflect.DeepEqual(tk, want) {
				t.Errorf("Decode = %+v, want %+v", tk, want)
			}
			for _, now := range []time.Time{testNow, testNow.Add(24 * time.Hour), time.Unix(testTime+testExpire, 0)} {
				got, err := Verify(sig, testKey, testApp, testID, now)
				if err != nil {
					t.Errorf("Verify at %d: %v", now.Unix(), err)
				} else if !reflect.DeepEqual(got, want) {
					t.Errorf("Verify = %+v, want %+v", got, want)
				}
			}
			if tt.userbuf != nil {
				if _, err := VerifyWithUserBuf(sig, testKey, testApp, testID, tt.userbuf, testNow); err != nil {
					t.Errorf("VerifyWithUserBuf: %v", err)
				}
			}
		})
	}
}

// TestReferenceLayout verifies tickets built by hand in the reference
// generator's exact layout, independent of this package's encoder.
func TestReferenceLayout(t *testing.T) {
	plain := pack(t, obj(refFields()...), zlib.DefaultCompression)
	buf := pack(t, obj(with(with(refFields(), "TLS.sig", `"`+vectorSigBuf+`"`), "TLS.userbuf", `"AQID"`)...), zlib.DefaultCompression)
	if _, err := Verify(plain, testKey, testApp, testID, testNow); err != nil {
		t.Errorf("plain: %v", err)
	}
	if _, err := VerifyWithUserBuf(buf, testKey, testApp, testID, testBuf, testNow); err != nil {
		t.Errorf("userbuf: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		id      string
		app     uint64
		expire  time.Duration
		userbuf []byte
		bufMode bool
	}{
		{"a", 1, time.Second, nil, false},
		{"user_01-X", 1400000000, time.Hour, nil, false},
		{strings.Repeat("z", 32), 1<<64 - 1, 180 * 24 * time.Hour, nil, false},
		{"buf", 1400000000, 90 * time.Minute, []byte("hello\x00world"), true},
		{"emptybuf", 1400000000, time.Hour, []byte{}, true},
		{"nilbuf", 1400000000, time.Hour, nil, true},
		{"frac", 1400000000, 1500 * time.Millisecond, nil, false}, // truncated to 1s
	}
	now := time.Unix(1712345678, 999_000_000)
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			var sig string
			var err error
			if tt.bufMode {
				sig, err = GenerateWithUserBuf(testKey, tt.app, tt.id, tt.expire, now, tt.userbuf)
			} else {
				sig, err = Generate(testKey, tt.app, tt.id, tt.expire, now)
			}
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			got, err := Verify(sig, testKey, tt.app, tt.id, now)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			wantExp := now.Unix() + int64(tt.expire/time.Second)
			if got.Identifier != tt.id || got.SDKAppID != tt.app || got.Time != now.Unix() || got.ExpiresAt() != time.Unix(wantExp, 0) {
				t.Errorf("ticket = %+v, ExpiresAt %v", got, got.ExpiresAt())
			}
			if tt.bufMode {
				if got.UserBuf == nil || !bytes.Equal(got.UserBuf, tt.userbuf) {
					t.Errorf("UserBuf = %v, want %v (non-nil)", got.UserBuf, tt.userbuf)
				}
				if _, err := VerifyWithUserBuf(sig, testKey, tt.app, tt.id, tt.userbuf, now); err != nil {
					t.Errorf("VerifyWithUserBuf: %v", err)
				}
			} else if got.UserBuf != nil {
				t.Errorf("UserBuf = %v, want nil", got.UserBuf)
			}
			if _, err := Verify(sig, testKey, tt.app, tt.id, time.Unix(wantExp+1, 0)); !errors.Is(err, ErrExpired) {
				t.Errorf("after expiry: err = %v, want ErrExpired", err)
			}
		})
	}
}

func TestVerifyErrors(t *testing.T) {
	good, err := Generate(testKey, testApp, testID, testExpireD, testNow)
	if err != nil {
		t.Fatal(err)
	}
	goodRaw, _ := base64.StdEncoding.DecodeString(strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(good))
	ref := refFields()
	refPack := func(fs []field) string { return pack(t, obj(fs...), zlib.DefaultCompression) }

	// A tampered TLS.sig: flip one character of the signature.
	tampered := []byte(vectorSig)
	tampered[5] ^= 1 // 'd' -> 'e'

	// Genuine content but signed with a different key.
	m := hmac.New(sha256.New, []byte("other key"))
	m.Write([]byte("TLS.identifier:xiaojun\nTLS.sdkappid:1400000000\nTLS.time:1700000000\nTLS.expire:15552000\n"))
	otherKeySig := base64.StdEncoding.EncodeToString(m.Sum(nil))

	// Content that is long when inflated but tiny when compressed.
	bomb := packRaw(t, bytes.Repeat([]byte(" "), 1<<20), zlib.BestCompression)

	expireAt := time.Unix(testTime+testExpire, 0)
	tests := []struct {
		name string
		sig  string
		app  uint64
		id   string
		now  time.Time
		want *Error // nil: valid
	}{
		{"ok", good, testApp, testID, testNow, nil},
		{"ok at exactly time+expire", good, testApp, testID, expireAt, nil},
		{"ok at time+expire plus 999ms", good, testApp, testID, expireAt.Add(999 * time.Millisecond), nil},
		{"expired one second later", good, testApp, testID, expireAt.Add(time.Second), ErrExpired},
		{"empty", "", testApp, testID, testNow, ErrEmpty},
		{"garbage", "hello, world!", testApp, testID, testNow, ErrInvalid},
		{"not base64 length", "abc", testApp, testID, testNow, ErrInvalid},
		{"standard alphabet", strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(good), testApp, testID, testNow, ErrInvalid},
		{"embedded newline", good[:10] + "\n" + good[10:], testApp, testID, testNow, ErrInvalid},
		{"not zlib", sigEncode([]byte("definitely not zlib data")), testApp, testID, testNow, ErrInvalid},
		{"truncated zlib", sigEncode(goodRaw[:len(goodRaw)-3]), testApp, testID, testNow, ErrInvalid},
		{"zlib trailing garbage", sigEncode(append(append([]byte(nil), goodRaw...), "xyz"...)), testApp, testID, testNow, ErrInvalid},
		{"zlib bad checksum", sigEncode(append(append([]byte(nil), goodRaw[:len(goodRaw)-1]...), goodRaw[len(goodRaw)-1]^0xff)), testApp, testID, testNow, ErrInvalid},
		{"too long", strings.Repeat("A", MaxSigLen+4), testApp, testID, testNow, ErrInvalid},
		{"zip bomb", bomb, testApp, testID, testNow, ErrInvalid},
		{"bad JSON", pack(t, `{"TLS.ver":"2.0",`, 6), testApp, testID, testNow, ErrInvalid},
		{"JSON array", pack(t, `[1,2,3]`, 6), testApp, testID, testNow, ErrInvalid},
		{"JSON null", pack(t, `null`, 6), testApp, testID, testNow, ErrInvalid},
		{"JSON trailing garbage", pack(t, obj(ref...)+"x", 6), testApp, testID, testNow, ErrInvalid},
		{"wrong version", refPack(with(ref, "TLS.ver", `"1.0"`)), testApp, testID, testNow, ErrInvalid},
		{"numeric version", refPack(with(ref, "TLS.ver", `2.0`)), testApp, testID, testNow, ErrInvalid},
		{"missing TLS.ver", refPack(without(ref, "TLS.ver")), testApp, testID, testNow, ErrInvalid},
		{"missing TLS.identifier", refPack(without(ref, "TLS.identifier")), testApp, testID, testNow, ErrInvalid},
		{"missing TLS.sdkappid", refPack(without(ref, "TLS.sdkappid")), testApp, testID, testNow, ErrInvalid},
		{"missing TLS.expire", refPack(without(ref, "TLS.expire")), testApp, testID, testNow, ErrInvalid},
		{"missing TLS.time", refPack(without(ref, "TLS.time")), testApp, testID, testNow, ErrInvalid},
		{"missing TLS.sig", refPack(without(ref, "TLS.sig")), testApp, testID, testNow, ErrInvalid},
		{"null identifier", refPack(with(ref, "TLS.identifier", `null`)), testApp, testID, testNow, ErrInvalid},
		{"key case differs", refPack(with(without(ref, "TLS.sig"), "tls.sig", `"`+vectorSig+`"`)), testApp, testID, testNow, ErrInvalid},
		{"fractional time", refPack(with(ref, "TLS.time", `1700000000.0`)), testApp, testID, testNow, ErrInvalid},
		{"exponent app", refPack(with(ref, "TLS.sdkappid", `1.4e9`)), testApp, testID, testNow, ErrInvalid},
		{"negative expire", refPack(with(ref, "TLS.expire", `-1`)), testApp, testID, testNow, ErrInvalid},
		{"leading zero string", refPack(with(ref, "TLS.sdkappid", `"01400000000"`)), testApp, testID, testNow, ErrInvalid},
		{"bool time", refPack(with(ref, "TLS.time", `true`)), testApp, testID, testNow, ErrInvalid},
		{"time overflow", refPack(with(with(ref, "TLS.time", "9223372036854775807"), "TLS.expire", "1")), testApp, testID, testNow, ErrInvalid},
		{"app overflow", refPack(with(ref, "TLS.sdkappid", "18446744073709551616")), testApp, testID, testNow, ErrInvalid},
		{"wrong app", good, testApp + 1, testID, testNow, ErrSDKAppID},
		{"wrong identifier", good, testApp, "xiaojun2", testNow, ErrIdentifier},
		{"wrong app and identifier", good, 1, "other", testNow, ErrSDKAppID},
		{"tampered sig byte", refPack(with(ref, "TLS.sig", `"`+string(tampered)+`"`)), testApp, testID, testNow, ErrInvalid},
		{"tampered time", refPack(with(ref, "TLS.time", "1700000001")), testApp, testID, testNow, ErrInvalid},
		{"sig without padding", refPack(with(ref, "TLS.sig", `"`+strings.TrimRight(vectorSig, "=")+`"`)), testApp, testID, testNow, ErrInvalid},
		{"other key", refPack(with(ref, "TLS.sig", `"`+otherKeySig+`"`)), testApp, testID, testNow, ErrInvalid},
		// A forged ticket must not reveal that it is also expired.
		{"forged and expired", refPack(with(ref, "TLS.sig", `"`+string(tampered)+`"`)), testApp, testID, expireAt.Add(time.Hour), ErrInvalid},
		{"added userbuf", refPack(with(ref, "TLS.userbuf", `"AQID"`)), testApp, testID, testNow, ErrInvalid},
		{"bad userbuf base64", refPack(with(ref, "TLS.userbuf", `"AQI"`)), testApp, testID, testNow, ErrInvalid},
		{"null userbuf", refPack(with(ref, "TLS.userbuf", `null`)), testApp, testID, testNow, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(tt.sig, testKey, tt.app, tt.id, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: err = %v, want %v", err, tt.want)
			}
			t.Logf("err: %v", err)
			if !reflect.DeepEqual(got, Ticket{}) {
				t.Errorf("ticket on error = %+v, want zero", got)
			}
			var ue *Error
			if !errors.As(err, &ue) || ue.Code != tt.want.Code {
				t.Errorf("errors.As: %v, code %v, want %d", err, ue, tt.want.Code)
			}
			if c := CodeOf(err); c != tt.want.Code {
				t.Errorf("CodeOf = %d, want %d", c, tt.want.Code)
			}
		})
	}

	if _, err := Verify(good, "", testApp, testID, testNow); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty key: err = %v, want ErrInvalid", err)
	}
	if _, err := Verify(good, testKey+"x", testApp, testID, testNow); !errors.Is(err, ErrInvalid) {
		t.Errorf("wrong key: err = %v, want ErrInvalid", err)
	}
}

// TestVerifyVariants checks tickets from other generators: any zlib level,
// reordered keys, whitespace, numeric strings and unknown keys.
func TestVerifyVariants(t *testing.T) {
	ref := refFields()
	reordered := []field{ref[5], ref[4], ref[0], ref[3], ref[1], ref[2]}
	spaced := `  {  "TLS.sig" : "` + vectorSig + `" ,
		"TLS.time" :	1700000000 , "TLS.ver" : "2.0",
		"TLS.expire" : 15552000, "TLS.identifier" : "xiaojun",
		"TLS.sdkappid" : 1400000000 }  ` + "\n"
	stringNums := with(with(with(ref, "TLS.sdkappid", `"1400000000"`), "TLS.time", `"1700000000"`), "TLS.expire", `"15552000"`)
	tests := []struct {
		name  string
		js    string
		level int
	}{
		{"level 0", obj(ref...), zlib.NoCompression},
		{"level 1", obj(ref...), zlib.BestSpeed},
		{"level 9", obj(ref...), zlib.BestCompression},
		{"default level", obj(ref...), zlib.DefaultCompression},
		{"huffman only", obj(ref...), zlib.HuffmanOnly},
		{"reordered level 1", obj(reordered...), zlib.BestSpeed},
		{"reordered level 9", obj(reordered...), zlib.BestCompression},
		{"spaces level 1", spaced, zlib.BestSpeed},
		{"spaces level 9", spaced, zlib.BestCompression},
		{"numeric strings", obj(stringNums...), zlib.DefaultCompression},
		{"unknown key", obj(with(ref, "TLS.extra", `{"a":[1,2]}`)...), zlib.DefaultCompression},
		{"escaped identifier", obj(with(ref, "TLS.identifier", `"xiao\u006aun"`)...), zlib.DefaultCompression},
	}
	want := Ticket{Identifier: testID, SDKAppID: testApp, Time: testTime, Expire: testExpire}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(pack(t, tt.js, tt.level), testKey, testApp, testID, testNow)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ticket = %+v, want %+v", got, want)
			}
		})
	}
}

func TestUserBuf(t *testing.T) {
	withBuf, err := GenerateWithUserBuf(testKey, testApp, testID, testExpireD, testNow, testBuf)
	if err != nil {
		t.Fatal(err)
	}
	emptyBuf, err := GenerateWithUserBuf(testKey, testApp, testID, testExpireD, testNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	noBuf, err := Generate(testKey, testApp, testID, testExpireD, testNow)
	if err != nil {
		t.Fatal(err)
	}
	expired := time.Unix(testTime+testExpire+1, 0)
	tests := []struct {
		name string
		sig  string
		buf  []byte
		now  time.Time
		want error
	}{
		{"match", withBuf, []byte{1, 2, 3}, testNow, nil},
		{"mismatch", withBuf, []byte{1, 2, 4}, testNow, ErrInvalid},
		{"prefix", withBuf, []byte{1, 2}, testNow, ErrInvalid},
		{"expected empty", withBuf, nil, testNow, ErrInvalid},
		{"ticket has none", noBuf, []byte{1, 2, 3}, testNow, ErrInvalid},
		{"ticket has none, expect empty", noBuf, nil, testNow, ErrInvalid},
		{"empty matches nil", emptyBuf, nil, testNow, nil},
		{"empty matches empty", emptyBuf, []byte{}, testNow, nil},
		{"match but expired", withBuf, []byte{1, 2, 3}, expired, ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyWithUserBuf(tt.sig, testKey, testApp, testID, tt.buf, tt.now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Plain Verify does not compare userbuf but still returns it.
	got, err := Verify(withBuf, testKey, testApp, testID, testNow)
	if err != nil || !bytes.Equal(got.UserBuf, testBuf) {
		t.Errorf("Verify with userbuf = %+v, %v", got, err)
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		app    uint64
		id     string
		expire time.Duration
		buf    []byte
	}{
		{"empty key", "", testApp, testID, time.Hour, nil},
		{"zero app", testKey, 0, testID, time.Hour, nil},
		{"empty identifier", testKey, testApp, "", time.Hour, nil},
		{"long identifier", testKey, testApp, strings.Repeat("a", 33), time.Hour, nil},
		{"bad identifier", testKey, testApp, "a@b", time.Hour, nil},
		{"zero expire", testKey, testApp, testID, 0, nil},
		{"negative expire", testKey, testApp, testID, -time.Hour, nil},
		{"sub-second expire", testKey, testApp, testID, 500 * time.Millisecond, nil},
		{"huge userbuf", testKey, testApp, testID, time.Hour, make([]byte, 64<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.buf != nil {
				_, err = GenerateWithUserBuf(tt.key, tt.app, tt.id, tt.expire, testNow, tt.buf)
			} else {
				_, err = Generate(tt.key, tt.app, tt.id, tt.expire, testNow)
			}
			if err == nil {
				t.Fatal("Generate succeeded, want error")
			}
			if !strings.HasPrefix(err.Error(), "usersig: ") {
				t.Errorf("error %q lacks package prefix", err)
			}
		})
	}
	if _, err := Generate(testKey, testApp, testID, time.Hour, time.Unix(-1, 0)); err == nil {
		t.Error("negative issue time accepted")
	}
}

func TestValidUserID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"", false},
		{"a", true},
		{"xiaojun", true},
		{"A-Z_a-z_0-9", true},
		{"-", true},
		{strings.Repeat("x", 32), true},
		{strings.Repeat("x", 33), false},
		{"héllo", false},
		{"用户", false},
		{"has space", false},
		{" lead", false},
		{"user@example", false},
		{"a.b", false},
		{"a/b", false},
		{"tab\t", false},
		{"nul\x00", false},
		{"\xff", false},
	}
	for _, tt := range tests {
		if got := ValidUserID(tt.id); got != tt.want {
			t.Errorf("ValidUserID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	detailed := invalid("bad zlib data")
	if got, want := detailed.Error(), "UserSig check failed: bad zlib data (code 70003)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := ErrExpired.Error(), "UserSig expired (code 70001)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("login: %w", detailed)
	if !errors.Is(wrapped, ErrInvalid) {
		t.Error("wrapped detailed error does not match ErrInvalid")
	}
	if errors.Is(wrapped, ErrExpired) || errors.Is(ErrExpired, ErrInvalid) {
		t.Error("errors with different codes match")
	}
	var e *Error
	if !errors.As(wrapped, &e) || e.Code != 70003 {
		t.Errorf("errors.As = %v", e)
	}
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{ErrExpired, 70001},
		{ErrEmpty, 70002},
		{ErrInvalid, 70003},
		{ErrIdentifier, 70013},
		{ErrSDKAppID, 70014},
		{fmt.Errorf("x: %w", ErrSDKAppID), 70014},
		{detailed, 70003},
		{io.EOF, 70003},
	}
	for _, tt := range tests {
		if got := CodeOf(tt.err); got != tt.want {
			t.Errorf("CodeOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, _, err := Decode(""); err != ErrEmpty {
		t.Errorf("Decode(\"\") = %v, want ErrEmpty", err)
	}
	if _, _, err := Decode("!!!"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Decode(garbage) = %v, want ErrInvalid", err)
	}
}

func ExampleGenerate() {
	const key = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	issued := time.Unix(1700000000, 0)
	sig, err := Generate(key, 1400000000, "xiaojun", 180*24*time.Hour, issued)
	if err != nil {
		fmt.Println(err)
		return
	}
	t, sigField, err := Decode(sig)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sigField)
	fmt.Println(t.ExpiresAt().UTC())

	_, err = Verify(sig, key, 1400000000, "xiaojun", issued.Add(time.Hour))
	fmt.Println(err)
	_, err = Verify(sig, key, 1400000000, "xiaojun", issued.Add(181*24*time.Hour))
	fmt.Println(err, CodeOf(err))
	// Output:
	// LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=
	// 2024-05-12 22:13:20 +0000 UTC
	// <nil>
	// UserSig expired (code 70001) 70001
}

func BenchmarkVerify(b *testing.B) {
	now := time.Unix(1700000000, 0)
	sig, err := Generate(testKey, testApp, testID, time.Hour, now)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(sig, testKey, testApp, testID, now); err != nil {
			b.Fatal(err)
		}
	}
}
