// Package usersig generates and verifies Tencent Cloud IM "UserSig v2"
// (TLSSigAPIv2) login tickets.
//
// A ticket is a JSON object carrying the identifier, SDKAppID, issue time,
// lifetime and an HMAC-SHA256 signature, zlib-compressed and encoded with a
// URL-safe variant of standard base64 ('+' → '*', '/' → '-', '=' → '_').
package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imstatus/imstatus/wire"
)

// Size limits guarding Decode against oversized input and zip bombs.
const (
	MaxSigLen  = 16 << 10 // encoded ticket; a longer one is refused 70003
	maxJSONLen = 64 << 10 // decompressed JSON
)

// version is the only supported value of "TLS.ver".
const version = "2.0"

// Error is a UserSig failure carrying an upstream error code.
type Error struct {
	// Code is an upstream error code (70001 etc).
	Code int
	// Msg is a human-readable description.
	Msg string
}

// Error returns the message followed by the code.
func (e *Error) Error() string {
	return e.Msg + " (code " + strconv.Itoa(e.Code) + ")"
}

// Is reports whether target is an *Error with the same code, so that a
// detailed error such as "UserSig check failed: bad zlib data" still
// matches ErrInvalid under errors.Is.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

// Errors returned by Decode and Verify. Returned errors may carry more
// detail in Msg; compare them with errors.Is, not ==.
var (
	// ErrExpired reports a genuine ticket used after time+expire.
	ErrExpired = &Error{Code: wire.CodeSigExpired, Msg: "UserSig expired"}
	// ErrEmpty reports an empty ticket string.
	ErrEmpty = &Error{Code: wire.CodeSigEmpty, Msg: "UserSig is empty"}
	// ErrInvalid reports a malformed or forged ticket: bad encoding, bad
	// zlib data, bad JSON, wrong version, missing field or bad HMAC.
	ErrInvalid = &Error{Code: wire.CodeSigInvalid, Msg: "UserSig check failed"}
	// ErrIdentifier reports a ticket issued for another identifier.
	ErrIdentifier = &Error{Code: wire.CodeSigIdentifier, Msg: "identifier does not match UserSig"}
	// ErrSDKAppID reports a ticket issued for another application.
	ErrSDKAppID = &Error{Code: wire.CodeSigSDKAppID, Msg: "SDKAppID does not match UserSig"}
)

// invalid returns an ErrInvalid-matching error with a detail message.
func invalid(detail string) error {
	return &Error{Code: ErrInvalid.Code, Msg: ErrInvalid.Msg + ": " + detail}
}

// CodeOf returns the upstream code of err: 0 for nil, the Code of a
// usersig *Error anywhere in the chain, and 70003 (ErrInvalid) otherwise.
func CodeOf(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e.Code
	}
	return ErrInvalid.Code
}

// UserIDRule says what ValidUserID accepts, for error messages.
const UserIDRule = "1 to 32 characters of A-Z a-z 0-9 _ -"

// CheckUserID returns an error that quotes id (shortened) and states the
// rule when id is not valid: the one message every layer gives.
func CheckUserID(id string) error {
	if ValidUserID(id) {
		return nil
	}
	if len(id) > 40 {
		id = id[:40] + "…"
	}
	return fmt.Errorf("invalid user id %q: %s", id, UserIDRule)
}

// ValidUserID reports whether id is an acceptable user identifier:
// 1 to 32 bytes drawn from [A-Za-z0-9_-] (SEMANTICS §7).
func ValidUserID(id string) bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// Ticket is the decoded content of a UserSig.
type Ticket struct {
	Identifier string // user the ticket was issued to
	SDKAppID   uint64 // application the ticket was issued for
	Time       int64  // issue time, Unix seconds
	Expire     int64  // lifetime in seconds
	// UserBuf is nil when the ticket has no "TLS.userbuf" field and
	// non-nil (possibly empty) when it has one; the two sign differently.
	UserBuf []byte
}

// ExpiresAt returns time.Unix(Time+Expire).
func (t Ticket) ExpiresAt() time.Time {
	return time.Unix(t.Time+t.Expire, 0)
}

// content returns the text the HMAC is computed over.
func (t Ticket) content() string {
	var b strings.Builder
	b.WriteString("TLS.identifier:")
	b.WriteString(t.Identifier)
	b.WriteString("\nTLS.sdkappid:")
	b.WriteString(strconv.FormatUint(t.SDKAppID, 10))
	b.WriteString("\nTLS.time:")
	b.WriteString(strconv.FormatInt(t.Time, 10))
	b.WriteString("\nTLS.expire:")
	b.WriteString(strconv.FormatInt(t.Expire, 10))
	b.WriteString("\n")
	if t.UserBuf != nil {
		b.WriteString("TLS.userbuf:")
		b.WriteString(base64.StdEncoding.EncodeToString(t.UserBuf))
		b.WriteString("\n")
	}
	return b.String()
}

// sign returns the "TLS.sig" value for t under key.
func sign(key string, t Ticket) string {
	m := hmac.New(sha256.New, []byte(key))
	io.WriteString(m, t.content())
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Generate returns a UserSig for identifier in application sdkAppID, issued
// at now and valid for expire (truncated to whole seconds).
func Generate(key string, sdkAppID uint64, identifier string, expire time.Duration, now time.Time) (string, error) {
	return generate(key, sdkAppID, identifier, expire, now, nil)
}

// GenerateWithUserBuf is like Generate but embeds userbuf in the ticket.
// The "TLS.userbuf" field is always written, even when userbuf is empty.
func GenerateWithUserBuf(key string, sdkAppID uint64, identifier string, expire time.Duration, now time.Time, userbuf []byte) (string, error) {
	if userbuf == nil {
		userbuf = []byte{}
	}
	return generate(key, sdkAppID, identifier, expire, now, userbuf)
}

func generate(key string, sdkAppID uint64, identifier string, expire time.Duration, now time.Time, userbuf []byte) (string, error) {
	if key == "" {
		return "", errors.New("usersig: empty secret key")
	}
	if sdkAppID == 0 {
		return "", errors.New("usersig: SDKAppID must not be zero")
	}
	if !ValidUserID(identifier) {
		return "", errors.New("usersig: invalid identifier: want 1-32 bytes of [A-Za-z0-9_-]")
	}
	if expire <= 0 {
		return "", errors.New("usersig: expire must be positive")
	}
	secs := int64(expire / time.Second)
	if secs < 1 {
		// The wire format counts whole seconds; a zero lifetime would
		// produce a ticket that is only valid within its issue second.
		return "", errors.New("usersig: expire must be at least one second")
	}
	t := Ticket{
		Identifier: identifier,
		SDKAppID:   sdkAppID,
		Time:       now.Unix(),
		Expire:     secs,
		UserBuf:    userbuf,
	}
	if t.Time < 0 || t.Time > math.MaxInt64-secs {
		return "", errors.New("usersig: issue time out of range")
	}
	return encode(t, sign(key, t))
}

// payload is the JSON layout written by the reference generator.
type payload struct {
	Ver        string  `json:"TLS.ver"`
	Identifier string  `json:"TLS.identifier"`
	SDKAppID   uint64  `json:"TLS.sdkappid"`
	Expire     int64   `json:"TLS.expire"`
	Time       int64   `json:"TLS.time"`
	Sig        string  `json:"TLS.sig"`
	UserBuf    *string `json:"TLS.userbuf,omitempty"`
}

// toSig and fromSig map standard base64 to the UserSig alphabet and back.
var (
	toSig   = strings.NewReplacer("+", "*", "/", "-", "=", "_")
	fromSig = strings.NewReplacer("*", "+", "-", "/", "_", "=")
)

// encode serializes t with the given "TLS.sig" value.
func encode(t Ticket, sigField string) (string, error) {
	p := payload{
		Ver:        version,
		Identifier: t.Identifier,
		SDKAppID:   t.SDKAppID,
		Expire:     t.Expire,
		Time:       t.Time,
		Sig:        sigField,
	}
	if t.UserBuf != nil {
		s := base64.StdEncoding.EncodeToString(t.UserBuf)
		p.UserBuf = &s
	}
	js, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	if len(js) > maxJSONLen {
		return "", errors.New("usersig: ticket too large")
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(js); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	out := toSig.Replace(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if len(out) > MaxSigLen {
		return "", errors.New("usersig: ticket too large")
	}
	return out, nil
}

// Decode parses sig without checking its signature or expiry. It returns
// the ticket content and the raw "TLS.sig" field. Errors match ErrEmpty or
// ErrInvalid. The result is untrusted until checked by Verify.
func Decode(sig string) (t Ticket, sigField string, err error) {
	if sig == "" {
		return Ticket{}, "", ErrEmpty
	}
	if len(sig) > MaxSigLen {
		return Ticket{}, "", invalid("ticket too long")
	}
	// Reject characters outside the UserSig alphabet up front: the
	// standard decoder would silently skip CR/LF, and plain '+', '/', '='
	// would otherwise be accepted as aliases.
	for i := 0; i < len(sig); i++ {
		c := sig[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '*', c == '-', c == '_':
		default:
			return Ticket{}, "", invalid("bad base64 encoding")
		}
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(fromSig.Replace(sig))
	if err != nil {
		return Ticket{}, "", invalid("bad base64 encoding")
	}
	br := bytes.NewReader(raw)
	zr, err := getZlibReader(br)
	if err != nil {
		return Ticket{}, "", invalid("bad zlib data")
	}
	js, err := io.ReadAll(io.LimitReader(zr, maxJSONLen+1))
	zlibReaders.Put(zr)
	if err != nil {
		return Ticket{}, "", invalid("bad zlib data")
	}
	if len(js) > maxJSONLen {
		return Ticket{}, "", invalid("decompressed data too large")
	}
	// bytes.Reader is an io.ByteReader, so flate reads no further than the
	// end of the stream and anything left over is trailing garbage.
	if br.Len() != 0 {
		return Ticket{}, "", invalid("trailing data after zlib stream")
	}
	return parse(js)
}

// zlibReaders keeps inflaters between logins: each holds a 32 KiB window,
// and a reconnect storm verifies thousands of tickets at once.
var zlibReaders sync.Pool

// getZlibReader returns a pooled inflater reset to read r.
func getZlibReader(r io.Reader) (io.ReadCloser, error) {
	if zr, ok := zlibReaders.Get().(io.ReadCloser); ok {
		if err := zr.(zlib.Resetter).Reset(r, nil); err != nil {
			zlibReaders.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return zlib.NewReader(r)
}

// parse decodes the JSON object of a ticket.
func parse(js []byte) (Ticket, string, error) {
	// A map keeps key matching case-sensitive (struct decoding is not)
	// and lets numbers arrive either as JSON numbers or numeric strings.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil || m == nil {
		return Ticket{}, "", invalid("bad JSON")
	}
	ver, err := stringField(m, "TLS.ver")
	if err != nil {
		return Ticket{}, "", err
	}
	if ver != version {
		return Ticket{}, "", invalid("unsupported version")
	}
	var t Ticket
	if t.Identifier, err = stringField(m, "TLS.identifier"); err != nil {
		return Ticket{}, "", err
	}
	if t.SDKAppID, err = uintField(m, "TLS.sdkappid", math.MaxUint64); err != nil {
		return Ticket{}, "", err
	}
	tm, err := uintField(m, "TLS.time", math.MaxInt64)
	if err != nil {
		return Ticket{}, "", err
	}
	exp, err := uintField(m, "TLS.expire", math.MaxInt64)
	if err != nil {
		return Ticket{}, "", err
	}
	t.Time, t.Expire = int64(tm), int64(exp)
	if t.Time > math.MaxInt64-t.Expire {
		return Ticket{}, "", invalid("TLS.time + TLS.expire overflows")
	}
	sigField, err := stringField(m, "TLS.sig")
	if err != nil {
		return Ticket{}, "", err
	}
	if _, ok := m["TLS.userbuf"]; ok {
		s, err := stringField(m, "TLS.userbuf")
		if err != nil {
			return Ticket{}, "", err
		}
		// Strict decoding keeps the signed text canonical: content()
		// re-encodes UserBuf, which must reproduce s exactly.
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || base64.StdEncoding.EncodeToString(b) != s {
			return Ticket{}, "", invalid("bad TLS.userbuf")
		}
		if b == nil {
			b = []byte{}
		}
		t.UserBuf = b
	}
	return t, sigField, nil
}

// stringField returns the JSON string stored under key.
func stringField(m map[string]json.RawMessage, key string) (string, error) {
	raw, ok := m[key]
	if !ok {
		return "", invalid("missing " + key)
	}
	raw = bytes.TrimSpace(raw)
	// Unmarshal leaves s untouched for null, so insist on a string.
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", invalid("bad " + key)
	}
	return s, nil
}

// uintField returns the non-negative integer stored under key, written as
// a JSON number or a numeric string, in canonical decimal form (no sign,
// fraction, exponent or leading zeros) so the signed text is unambiguous.
func uintField(m map[string]json.RawMessage, key string, max uint64) (uint64, error) {
	raw, ok := m[key]
	if !ok {
		return 0, invalid("missing " + key)
	}
	raw = bytes.TrimSpace(raw)
	s := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return 0, invalid("bad " + key)
		}
	}
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, invalid("bad " + key)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, invalid("bad " + key)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > max {
		return 0, invalid("bad " + key)
	}
	return n, nil
}

// Verify checks that sig is a genuine, unexpired ticket for identifier in
// application sdkAppID under key. Checks run in this order: empty
// (ErrEmpty), decoding (ErrInvalid), SDKAppID (ErrSDKAppID), identifier
// (ErrIdentifier), HMAC (ErrInvalid), expiry (ErrExpired). The HMAC is
// checked before expiry so a forged ticket never reports ErrExpired.
// A ticket is valid while now <= Time+Expire at second resolution.
// A "TLS.userbuf" field, if present, is signed but not compared; use
// VerifyWithUserBuf to require specific contents. On error the returned
// Ticket is zero.
func Verify(sig, key string, sdkAppID uint64, identifier string, now time.Time) (Ticket, error) {
	return verify(sig, key, sdkAppID, identifier, now, nil, false)
}

// VerifyWithUserBuf is like Verify but also requires the ticket to carry a
// "TLS.userbuf" equal to userbuf (nil and empty are equivalent). A missing
// or different userbuf is reported as ErrInvalid after the HMAC check and
// before the expiry check.
func VerifyWithUserBuf(sig, key string, sdkAppID uint64, identifier string, userbuf []byte, now time.Time) (Ticket, error) {
	return verify(sig, key, sdkAppID, identifier, now, userbuf, true)
}

func verify(sig, key string, sdkAppID uint64, identifier string, now time.Time, userbuf []byte, checkBuf bool) (Ticket, error) {
	t, sigField, err := Decode(sig)
	if err != nil {
		return Ticket{}, err
	}
	if t.SDKAppID != sdkAppID {
		return Ticket{}, ErrSDKAppID
	}
	if t.Identifier != identifier {
		return Ticket{}, ErrIdentifier
	}
	if key == "" {
		// An empty key is a configuration error; never treat it as valid.
		return Ticket{}, invalid("empty secret key")
	}
	// Compare the canonical base64 text in constant time; comparing text
	// rather than decoded bytes rejects non-canonical encodings too.
	if !hmac.Equal([]byte(sign(key, t)), []byte(sigField)) {
		return Ticket{}, invalid("bad signature")
	}
	if checkBuf && (t.UserBuf == nil || !bytes.Equal(t.UserBuf, userbuf)) {
		return Ticket{}, invalid("userbuf mismatch")
	}
	if now.Unix() > t.Time+t.Expire {
		return Ticket{}, ErrExpired
	}
	return t, nil
}
