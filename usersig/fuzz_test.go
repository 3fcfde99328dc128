package usersig

import (
	"compress/zlib"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzSeeds returns genuine tickets and junk for the fuzz corpora.
func fuzzSeeds(f *testing.F) []string {
	plain, err := Generate(testKey, testApp, testID, testExpireD, testNow)
	if err != nil {
		f.Fatal(err)
	}
	buf, err := GenerateWithUserBuf(testKey, testApp, testID, testExpireD, testNow, testBuf)
	if err != nil {
		f.Fatal(err)
	}
	empty, err := GenerateWithUserBuf(testKey, testApp, "u", time.Second, testNow, nil)
	if err != nil {
		f.Fatal(err)
	}
	ref := refFields()
	return []string{
		plain, buf, empty,
		pack(f, obj(ref...), zlib.BestSpeed),
		pack(f, obj(with(ref, "TLS.time", `"1700000000"`)...), zlib.NoCompression),
		pack(f, obj(with(ref, "TLS.ver", `"1.0"`)...), zlib.BestCompression),
		pack(f, obj(with(ref, "TLS.userbuf", `"AQID"`)...), zlib.DefaultCompression),
		pack(f, `{"TLS.ver":"2.0"}`, zlib.DefaultCompression),
		pack(f, `[]`, zlib.DefaultCompression),
		"", "_", "****", "eJw_", "AAAA", "!!", "eJyrVkrOz1Wy",
		strings.Repeat("A", 64),
		plain[:len(plain)/2],
	}
}

// FuzzDecode checks that Decode never panics, only returns package errors,
// and that a decoded ticket re-encodes to an equivalent ticket.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sig string) {
		tk, sigField, err := Decode(sig)
		if err != nil {
			if !reflect.DeepEqual(tk, Ticket{}) || sigField != "" {
				t.Fatalf("non-zero result on error: %+v %q", tk, sigField)
			}
			switch c := CodeOf(err); {
			case sig == "" && c != ErrEmpty.Code:
				t.Fatalf("Decode(\"\") = %v, want ErrEmpty", err)
			case sig != "" && !errors.Is(err, ErrInvalid):
				t.Fatalf("Decode = %v, want ErrInvalid", err)
			}
			return
		}
		if tk.Time < 0 || tk.Expire < 0 || tk.ExpiresAt().Unix() < tk.Time {
			t.Fatalf("out-of-range ticket decoded: %+v", tk)
		}
		// Re-encoding can legitimately exceed the size limits (JSON
		// escaping may grow the identifier); otherwise it must round-trip.
		again, err := encode(tk, sigField)
		if err != nil {
			if !strings.Contains(err.Error(), "too large") {
				t.Fatalf("encode: %v", err)
			}
			return
		}
		tk2, sigField2, err := Decode(again)
		if err != nil {
			t.Fatalf("Decode(encode(%+v)) = %v", tk, err)
		}
		if !reflect.DeepEqual(tk, tk2) || sigField != sigField2 {
			t.Fatalf("round trip changed ticket: %+v %q -> %+v %q", tk, sigField, tk2, sigField2)
		}
		// A ticket accepted by Verify must carry the expected signature.
		if _, err := Verify(sig, testKey, tk.SDKAppID, tk.Identifier, time.Unix(tk.Time, 0)); err == nil && sigField != sign(testKey, tk) {
			t.Fatalf("Verify accepted a wrong signature %q", sigField)
		}
	})
}

// FuzzVerify checks that Verify never panics, that success implies every
// documented check passed, and that generated tickets verify.
func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, testID, int64(testTime))
		f.Add(s, testID, int64(testTime+testExpire+1))
	}
	f.Add("", "", int64(0))
	f.Add("x", "bad id!", int64(-1))
	f.Fuzz(func(t *testing.T, sig, identifier string, nowUnix int64) {
		now := time.Unix(nowUnix, 0)
		tk, err := Verify(sig, testKey, testApp, identifier, now)
		if err != nil {
			switch CodeOf(err) {
			case ErrExpired.Code, ErrEmpty.Code, ErrInvalid.Code, ErrIdentifier.Code, ErrSDKAppID.Code:
			default:
				t.Fatalf("unexpected error %v", err)
			}
		} else {
			dec, sigField, derr := Decode(sig)
			switch {
			case derr != nil:
				t.Fatalf("Verify ok but Decode failed: %v", derr)
			case !reflect.DeepEqual(tk, dec):
				t.Fatalf("Verify ticket %+v != Decode %+v", tk, dec)
			case tk.SDKAppID != testApp || tk.Identifier != identifier:
				t.Fatalf("Verify accepted ticket for %d/%q", tk.SDKAppID, tk.Identifier)
			case nowUnix > tk.Time+tk.Expire:
				t.Fatalf("Verify accepted expired ticket %+v at %d", tk, nowUnix)
			case sigField != sign(testKey, tk):
				t.Fatalf("Verify accepted bad signature")
			}
		}

		// Fresh tickets for valid identifiers must verify inside their
		// window and expire one second after it.
		if !ValidUserID(identifier) || nowUnix < 0 || nowUnix > 1<<40 {
			return
		}
		gen, err := Generate(testKey, testApp, identifier, time.Hour, now)
		if err != nil {
			t.Fatalf("Generate(%q): %v", identifier, err)
		}
		if _, err := Verify(gen, testKey, testApp, identifier, now.Add(time.Hour)); err != nil {
			t.Fatalf("Verify(fresh ticket): %v", err)
		}
		if _, err := Verify(gen, testKey, testApp, identifier, now.Add(time.Hour+time.Second)); !errors.Is(err, ErrExpired) {
			t.Fatalf("Verify(after expiry) = %v, want ErrExpired", err)
		}
	})
}
