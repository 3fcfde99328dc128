package wire

import (
	"bytes"
	"errors"
	"strconv"
	"unsafe"

	"github.com/tidwall/gjson"
)

// MaxDepth bounds how deeply JSON from outside may nest: frames, REST bodies
// and the C API's arguments alike. The deepest document any of them takes
// nests four levels; the bound leaves room for that and keeps every parse
// that recurses per level (gjson.Valid does, ~100 bytes of stack a level)
// shallow. Without it 10 MB of "[" overflows a goroutine's stack, a fatal
// error no recover catches, and each deep frame costs megabytes of stack.
const MaxDepth = 32

// JSON errors, as CheckJSON returns them.
var (
	ErrNotJSON = errors.New("not valid JSON")
	ErrTooDeep = errors.New("JSON nested deeper than " + strconv.Itoa(MaxDepth) + " levels")
)

// CheckJSON reports whether doc is one valid JSON value nested at most
// MaxDepth levels. It measures the depth first, in one pass without
// recursion, so that the validation after it never recurses deeper.
func CheckJSON[T string | []byte](doc T) error {
	if !depthWithin(doc, MaxDepth) {
		return ErrTooDeep
	}
	var ok bool
	switch v := any(doc).(type) {
	case string:
		ok = gjson.Valid(v)
	case []byte:
		ok = gjson.ValidBytes(v)
	}
	if !ok {
		return ErrNotJSON
	}
	return nil
}

// depthWithin reports whether no bracket of doc, outside strings, opens
// more than max levels deep. On a document that is not valid JSON the count
// may be off past the first error, but a validator stops there: up to it the
// document is valid and the count exact.
func depthWithin[T string | []byte](doc T, max int) bool {
	var b []byte
	switch v := any(doc).(type) {
	case string:
		// A read-only view: the scan only reads, and copying 10 MB to read
		// it once would cost more than the scan.
		b = unsafe.Slice(unsafe.StringData(v), len(v))
	case []byte:
		b = v
	}
	// Nesting past max needs more than max brackets: most documents have
	// far fewer, and counting them is many times faster than the scan.
	if bytes.Count(b, open1)+bytes.Count(b, open2) <= max {
		return true
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i+1)
		case '[', '{':
			if depth++; depth > max {
				return false
			}
		case ']', '}':
			depth--
		}
	}
	return true
}

var open1, open2 = []byte{'['}, []byte{'{'}

// stringEnd returns the index of the quote that closes the string whose
// contents start at b[from] (len(b) if none does). Strings are most of a
// document's bytes; IndexByte passes over them many bytes at a time.
func stringEnd(b []byte, from int) int {
	for i := from; i < len(b); {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b)
		}
		q += i
		// The quote is escaped if an odd number of backslashes precede it.
		n := 0
		for k := q - 1; k >= from && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		i = q + 1
	}
	return len(b)
}
