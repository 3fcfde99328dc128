package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func nest(open, close string, n int) string {
	return strings.Repeat(open, n) + strings.Repeat(close, n)
}

func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      error
	}{
		{"object", `{"a":[1,{"b":"c"}]}`, nil},
		{"at the limit", nest("[", "]", MaxDepth), nil},
		{"objects at the limit", strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth), nil},
		{"one past the limit", nest("[", "]", MaxDepth+1), ErrTooDeep},
		{"objects past the limit", strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1), ErrTooDeep},
		{"10 MB of [", strings.Repeat("[", 10<<20), ErrTooDeep},
		{"unclosed but shallow", strings.Repeat("[", MaxDepth), ErrNotJSON},
		{"brackets in strings do not count", `["` + strings.Repeat("[{", 100) + `"]`, nil},
		{"escaped quote keeps the string open", `["\"` + strings.Repeat("[", 100) + `"]`, nil},
		{"escaped backslash ends before the quote", `["\\",` + nest("[", "]", MaxDepth) + `]`, ErrTooDeep},
		{"closings do not pay for later openings", nest("[", "]", MaxDepth) + nest("[", "]", MaxDepth), ErrNotJSON},
		{"side by side within the limit", "[" + nest("[", "]", MaxDepth-1) + "," + nest("[", "]", MaxDepth-1) + "]", nil},
		{"empty", ``, ErrNotJSON},
		{"garbage", `{"a":}`, ErrNotJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CheckJSON(tc.doc); got != tc.want {
				t.Errorf("CheckJSON(string) = %v, want %v", got, tc.want)
			}
			if got := CheckJSON([]byte(tc.doc)); got != tc.want {
				t.Errorf("CheckJSON([]byte) = %v, want %v", got, tc.want)
			}
		})
	}
}

// A frame nested past MaxDepth is refused as a bad frame that says why,
// before anything recurses into it: 10 MB of "[" would otherwise overflow
// the stack, a fatal error that no recover catches.
func TestDeepFramesAreRefused(t *testing.T) {
	deep := []byte(`{"seq":1,"op":"heartbeat","body":` + strings.Repeat("[", 10<<20) + `}`)
	if _, err := DecodeRequest(deep); !errors.Is(err, ErrFrame) || !errors.Is(err, ErrTooDeep) {
		t.Errorf("DecodeRequest: %v, want a bad frame nested too deep", err)
	}
	if _, err := DecodeServerFrame(deep); !errors.Is(err, ErrFrame) || !errors.Is(err, ErrTooDeep) {
		t.Errorf("DecodeServerFrame: %v, want a bad frame nested too deep", err)
	}
	ok := []byte(`{"seq":1,"op":"heartbeat","body":` + nest("[", "]", MaxDepth-1) + `}`)
	if _, err := DecodeRequest(ok); err != nil {
		t.Errorf("a frame at the limit: %v", err)
	}
}

// jsonDepth is the deepest nesting of a valid document, by encoding/json's
// tokenizer (which does not recurse).
func jsonDepth(doc []byte) (int, bool) {
	d := json.NewDecoder(bytes.NewReader(doc))
	depth, max := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return max, true
		}
		if err != nil {
			return 0, false
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			if depth++; depth > max {
				max = depth
			}
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}

// CheckJSON accepts exactly the documents gjson finds valid that nest at
// most MaxDepth deep.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,"]"]}`, nest("[", "]", MaxDepth), nest("[", "]", MaxDepth+1), `["\"[["]`, `"\\"`, `[{]}`, `{"a":{"b":{}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := CheckJSON(doc)
		if err == nil && !gjson.ValidBytes(doc) {
			t.Fatalf("accepted %q, which gjson refuses", doc)
		}
		if err == ErrTooDeep && !bytes.ContainsAny(doc, "[{") {
			t.Fatalf("too deep without a bracket: %q", doc)
		}
		if !gjson.ValidBytes(doc) {
			return
		}
		depth, ok := jsonDepth(doc)
		if !ok {
			return // the two parsers differ on an edge; gjson's verdict held above
		}
		if want := depth <= MaxDepth; (err == nil) != want {
			t.Fatalf("depth %d: CheckJSON = %v", depth, err)
		}
	})
}

// DecodeRequest's cost on the frames clients send most (a heartbeat) and
// the largest they send (500 ids).
func BenchmarkDecodeRequest(b *testing.B) {
	ids := make([]string, 500)
	for i := range ids {
		ids[i] = `"user_` + strconv.Itoa(100000+i) + `"`
	}
	for _, bc := range []struct{ name, frame string }{
		{"heartbeat", `{"seq":12345,"op":"heartbeat"}`},
		{"get500", `{"seq":12345,"op":"get_status","body":{"ids":[` + strings.Join(ids, ",") + `]}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			frame := []byte(bc.frame)
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if _, err := DecodeRequest(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
