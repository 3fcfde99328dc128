// Package wire is the imstatus client–server protocol: JSON text frames over
// a WebSocket, described in docs/PROTOCOL.md. It holds the types both ends
// share (user status, error codes) and hand-written encoders for the frames
// on the notification hot path, so a status change is encoded once and the
// same bytes are sent to every recipient.
package wire

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Version is the protocol version a client states at login.
const Version = 1

// Subprotocol is the WebSocket subprotocol name of this protocol version.
const Subprotocol = "imstatus.v1"

// MaxFrame is the largest client → server frame the server accepts, in
// bytes. A GetUserStatus of 500 ids of 32 bytes each fits with room to spare.
const MaxFrame = 64 << 10

// MaxServerFrame is the largest server → client frame a client accepts. The
// answer to a GetUserStatus of 500 ids, each with a 100-byte custom status
// escaped at worst as \u00XX and seven devices, stays under half of it.
const MaxServerFrame = 1 << 20

// MaxCustomStatus is the largest custom status, in bytes of UTF-8.
const MaxCustomStatus = 100

// MaxUserDefineData is the largest user_define_data of a login, in bytes
// of UTF-8: upstream's bound on set_config_user_define_data.
const MaxUserDefineData = 64

// Op names a frame's operation.
type Op string

// Client → server operations; each is answered by one OpReply with the same seq.
const (
	OpLogin       Op = "login"
	OpLogout      Op = "logout"
	OpHeartbeat   Op = "heartbeat"
	OpSetStatus   Op = "set_status"
	OpGetStatus   Op = "get_status"
	OpSubscribe   Op = "subscribe"
	OpUnsubscribe Op = "unsubscribe"
)

// Server → client frames.
const (
	OpReply      Op = "reply"       // the answer to a request
	OpStatus     Op = "status"      // push: user statuses changed
	OpKicked     Op = "kicked"      // push: this device was kicked; the server closes the link
	OpSigExpired Op = "sig_expired" // push: the UserSig expired; the server closes the link
	OpShutdown   Op = "shutdown"    // push: the server is going away; reconnect elsewhere
)

// StatusType is a user's status (SEMANTICS §1).
type StatusType int

// The status types, with upstream's values.
const (
	StatusUnknown   StatusType = 0 // no such account
	StatusOnline    StatusType = 1
	StatusOffline   StatusType = 2
	StatusUnlogined StatusType = 3
)

func (t StatusType) String() string {
	switch t {
	case StatusOnline:
		return "ONLINE"
	case StatusOffline:
		return "OFFLINE"
	case StatusUnlogined:
		return "UNLOGINED"
	}
	return "UNKNOWN"
}

// Status is one user's status as the SDK JSON object carries it.
type Status struct {
	UserID  string
	Type    StatusType
	Custom  string
	Devices []string // platforms of the live devices, in login order
	// Version grows with every change of the user's status (0: unknown,
	// from a server that does not version). A receiver that holds a higher
	// version of the user drops this status as stale (docs/PROTOCOL.md).
	Version uint64
}

// Stale reports whether s is older than held, a status of the same user:
// both are versioned and s's version is lower.
func (s Status) Stale(held Status) bool {
	return s.Version != 0 && s.Version < held.Version
}

// Equal reports whether two statuses say the same; versions are not compared.
func (s Status) Equal(o Status) bool {
	if s.UserID != o.UserID || s.Type != o.Type || s.Custom != o.Custom || len(s.Devices) != len(o.Devices) {
		return false
	}
	for i := range s.Devices {
		if s.Devices[i] != o.Devices[i] {
			return false
		}
	}
	return true
}

// Platforms are the device platforms a client may state at login (SEMANTICS §10).
var Platforms = []string{"iPhone", "Android", "iPad", "Windows", "Mac", "Linux", "Web"}

// ValidPlatform reports whether p is one of Platforms.
func ValidPlatform(p string) bool {
	for _, q := range Platforms {
		if p == q {
			return true
		}
	}
	return false
}

// Request is a decoded client → server frame.
type Request struct {
	Seq  uint64
	Op   Op
	Body gjson.Result // the "body" member; Exists() is false when absent
}

// ErrFrame is wrapped by every frame decoding error.
var ErrFrame = errors.New("bad frame")

// DecodeRequest parses a client frame: {"seq":N,"op":"…","body":…}.
func DecodeRequest(b []byte) (Request, error) {
	if err := CheckJSON(b); err != nil {
		return Request{}, fmt.Errorf("%w: %w", ErrFrame, err)
	}
	root := gjson.ParseBytes(b)
	if !root.IsObject() {
		return Request{}, fmt.Errorf("%w: not a JSON object", ErrFrame)
	}
	seq := root.Get("seq")
	op := root.Get("op")
	if op.Type != gjson.String || op.Str == "" {
		return Request{}, fmt.Errorf("%w: missing op", ErrFrame)
	}
	r := Request{Op: Op(op.Str), Body: root.Get("body")}
	if seq.Exists() {
		n, err := strconv.ParseUint(seq.Raw, 10, 64)
		if seq.Type != gjson.Number || err != nil {
			return Request{}, fmt.Errorf("%w: seq must be an unsigned integer", ErrFrame)
		}
		r.Seq = n
	}
	return r, nil
}

// LoginBody is the body of an OpLogin request.
type LoginBody struct {
	Version  int
	SDKAppID uint64
	UserID   string
	UserSig  string
	Platform string
	DeviceID string
	// UserDefineData is the app's set_config_user_define_data, passed to
	// the State.StateChange webhook of this device's events; "" for none.
	UserDefineData string
}

// ParseLogin reads a login body.
func ParseLogin(body gjson.Result) (LoginBody, error) {
	if !body.IsObject() {
		return LoginBody{}, errors.New("login body must be an object")
	}
	var l LoginBody
	v := body.Get("v")
	if v.Exists() {
		// An integer literal only: v.Int() would read 1.5 or 1e0 as 1, and
		// int() of an int64 wraps on 32-bit platforms.
		n, err := strconv.ParseInt(v.Raw, 10, 0)
		if v.Type != gjson.Number || err != nil {
			return l, errors.New("v must be an integer")
		}
		l.Version = int(n)
	} else {
		l.Version = Version
	}
	app := body.Get("sdkappid")
	n, err := strconv.ParseUint(app.Raw, 10, 64)
	if app.Type != gjson.Number || err != nil {
		return l, errors.New("sdkappid must be an unsigned integer")
	}
	l.SDKAppID = n
	var ok bool
	if l.UserID, ok = str(body, "user_id"); !ok {
		return l, errors.New("user_id must be a string")
	}
	if l.UserSig, ok = str(body, "user_sig"); !ok {
		return l, errors.New("user_sig must be a string")
	}
	if l.Platform, ok = str(body, "platform"); !ok {
		return l, errors.New("platform must be a string")
	}
	if l.DeviceID, ok = str(body, "device_id"); !ok {
		return l, errors.New("device_id must be a string")
	}
	l.UserDefineData, ok = str(body, "user_define_data")
	if !ok || len(l.UserDefineData) > MaxUserDefineData || !utf8.ValidString(l.UserDefineData) {
		return l, fmt.Errorf("user_define_data must be a UTF-8 string of at most %d bytes", MaxUserDefineData)
	}
	// These outlive the frame (they key the server's maps): copy them, so
	// they do not pin the whole frame they were sliced from.
	l.UserID, l.Platform, l.DeviceID = strings.Clone(l.UserID), strings.Clone(l.Platform), strings.Clone(l.DeviceID)
	l.UserDefineData = strings.Clone(l.UserDefineData)
	return l, nil
}

// str returns the string member key; absent or null give "", true.
func str(obj gjson.Result, key string) (string, bool) {
	v := obj.Get(key)
	switch v.Type {
	case gjson.String:
		return v.Str, true
	case gjson.Null:
		return "", true
	}
	return "", false
}

// ParseIDs reads the "ids" member of a body: a JSON array of strings.
// An absent body, an absent member or null gives an empty list.
func ParseIDs(body gjson.Result) ([]string, error) {
	if !body.Exists() || body.Type == gjson.Null {
		return nil, nil
	}
	if !body.IsObject() {
		return nil, errors.New("body must be an object")
	}
	return ParseIDArray(body.Get("ids"))
}

// ParseIDArray reads a JSON array of strings; null or absent give nil.
func ParseIDArray(v gjson.Result) ([]string, error) {
	if !v.Exists() || v.Type == gjson.Null {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, errors.New("ids must be an array of strings")
	}
	var ids []string
	var bad error
	v.ForEach(func(_, e gjson.Result) bool {
		if e.Type != gjson.String {
			bad = errors.New("ids must be an array of strings")
			return false
		}
		ids = append(ids, e.Str)
		return true
	})
	return ids, bad
}

// ParseCustomStatus reads the custom status of a set_status body (an SDK user
// status object; other members are ignored). Absent or null clear it.
func ParseCustomStatus(body gjson.Result) (string, error) {
	if !body.Exists() || body.Type == gjson.Null {
		return "", nil
	}
	if !body.IsObject() {
		return "", errors.New("body must be a user status object")
	}
	s, ok := str(body, "user_status_custom_status")
	if !ok {
		return "", errors.New("user_status_custom_status must be a string")
	}
	return s, CheckCustomStatus(s)
}

// AppendSetStatusBody appends the body of an OpSetStatus request, which
// ParseCustomStatus reads.
func AppendSetStatusBody(dst []byte, custom string) []byte {
	dst = append(dst, `{"user_status_custom_status":`...)
	dst = AppendString(dst, custom)
	return append(dst, '}')
}

// CheckCustomStatus enforces the custom status rules: UTF-8, ≤ 100 bytes.
func CheckCustomStatus(s string) error {
	if len(s) > MaxCustomStatus {
		return fmt.Errorf("custom status is %d bytes, more than the limit of %d", len(s), MaxCustomStatus)
	}
	if !utf8.ValidString(s) {
		return errors.New("custom status is not valid UTF-8")
	}
	return nil
}

// AppendReply appends a reply frame. body is raw JSON, or nil (or empty) for
// none.
func AppendReply(dst []byte, seq uint64, code int, desc string, body []byte) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"op":"reply","code":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	if desc != "" {
		dst = append(dst, `,"desc":`...)
		dst = AppendString(dst, desc)
	}
	if len(body) > 0 {
		dst = append(dst, `,"body":`...)
		dst = append(dst, body...)
	}
	return append(dst, '}')
}

// AppendStatusesReply appends a successful reply whose body is sts: what
// AppendReply makes of AppendStatuses, in one buffer instead of two.
func AppendStatusesReply(dst []byte, seq uint64, sts []Status) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"op":"reply","code":0,"body":`...)
	dst = AppendStatuses(dst, sts)
	return append(dst, '}')
}

// AppendPush appends a server push frame without a body.
func AppendPush(dst []byte, op Op, code int, desc string) []byte {
	dst = append(dst, `{"op":`...)
	dst = AppendString(dst, string(op))
	if code != 0 {
		dst = append(dst, `,"code":`...)
		dst = strconv.AppendInt(dst, int64(code), 10)
	}
	if desc != "" {
		dst = append(dst, `,"desc":`...)
		dst = AppendString(dst, desc)
	}
	return append(dst, '}')
}

// AppendStatusPush appends an OpStatus push carrying the given statuses.
func AppendStatusPush(dst []byte, sts ...Status) []byte {
	dst = append(dst, `{"op":"status","body":`...)
	dst = AppendStatuses(dst, sts)
	return append(dst, '}')
}

// AppendStatuses appends a JSON array of the protocol's user status
// objects: the SDK's keys and the version.
func AppendStatuses(dst []byte, sts []Status) []byte {
	return appendStatuses(dst, sts, true)
}

// AppendUserStatuses appends a JSON array of SDK user status objects, the
// C API's JSON: upstream's keys only, no version.
func AppendUserStatuses(dst []byte, sts []Status) []byte {
	return appendStatuses(dst, sts, false)
}

func appendStatuses(dst []byte, sts []Status, versioned bool) []byte {
	// One allocation for the whole array: growing as it goes costs the
	// server most of its allocations when it answers 100-id subscribes.
	n := 2 - 1 // the brackets, less the comma statusSize counts for the last
	for _, s := range sts {
		n += statusSize(s, versioned)
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, '[')
	for i, s := range sts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendStatus(dst, s, versioned)
	}
	return append(dst, ']')
}

// statusSize is about how long AppendStatus makes s (exact unless strings
// need escaping).
func statusSize(s Status, versioned bool) int {
	const fixed = len(`{"user_status_identifier":"","user_status_status_type":0,"user_status_custom_status":"","user_status_online_devices":[]},`)
	n := fixed + len(s.UserID) + len(s.Custom)
	if versioned && s.Version != 0 {
		n += len(`,"user_status_version":`) + digits(s.Version)
	}
	for i, d := range s.Devices {
		if i > 0 {
			n++ // the comma
		}
		n += len(d) + 2
	}
	return n
}

func digits(n uint64) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// AppendStatus appends one protocol user status object: the SDK's keys
// (SEMANTICS §5) and, when s is versioned, "user_status_version".
func AppendStatus(dst []byte, s Status) []byte { return appendStatus(dst, s, true) }

func appendStatus(dst []byte, s Status, versioned bool) []byte {
	dst = append(dst, `{"user_status_identifier":`...)
	dst = AppendString(dst, s.UserID)
	dst = append(dst, `,"user_status_status_type":`...)
	dst = strconv.AppendInt(dst, int64(s.Type), 10)
	dst = append(dst, `,"user_status_custom_status":`...)
	dst = AppendString(dst, s.Custom)
	dst = append(dst, `,"user_status_online_devices":[`...)
	for i, d := range s.Devices {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, d)
	}
	dst = append(dst, ']')
	if versioned && s.Version != 0 {
		dst = append(dst, `,"user_status_version":`...)
		dst = strconv.AppendUint(dst, s.Version, 10)
	}
	return append(dst, '}')
}

// cutVersion returns obj's text before its last member,
// "user_status_version" with a number, and without the closing brace. The
// member cannot be inside a string: a quote there is escaped.
func cutVersion(obj string) (string, bool) {
	const key = `,"user_status_version":`
	if !strings.HasPrefix(obj, `{"user_status_identifier":`) || !strings.HasSuffix(obj, "}") {
		return "", false
	}
	i := strings.LastIndex(obj, key)
	if i < 0 {
		return "", false
	}
	n := obj[i+len(key) : len(obj)-1]
	if n == "" || strings.Trim(n, "0123456789") != "" {
		return "", false
	}
	return obj[:i], true
}

// ParseStatuses reads a JSON array of SDK user status objects.
func ParseStatuses(v gjson.Result) ([]Status, error) {
	sts, _, err := parseStatuses(v, false)
	return sts, err
}

// ParseStatusPush reads a status push's body as ParseStatuses does and, in
// the same pass, cuts from its text the C API's JSON of the statuses: each
// object up to its "user_status_version" member, instead of encoding the
// statuses again. json is "" when an object does not have the form
// AppendStatus writes (the identifier first, the version last) or the body
// is not valid UTF-8; AppendUserStatuses then makes it.
func ParseStatusPush(body gjson.Result) (sts []Status, json string, err error) {
	return parseStatuses(body, true)
}

func parseStatuses(v gjson.Result, cut bool) ([]Status, string, error) {
	if !v.IsArray() {
		return nil, "", errors.New("statuses must be an array")
	}
	var b strings.Builder
	if cut = cut && utf8.ValidString(v.Raw); cut {
		b.Grow(len(v.Raw))
		b.WriteByte('[')
	}
	var out []Status
	var bad error
	v.ForEach(func(_, e gjson.Result) bool {
		s, err := ParseStatus(e)
		if err != nil {
			bad = err
			return false
		}
		out = append(out, s)
		if cut {
			obj, ok := cutVersion(e.Raw)
			if cut = ok; ok {
				if len(out) > 1 {
					b.WriteByte(',')
				}
				b.WriteString(obj)
				b.WriteByte('}')
			}
		}
		return true
	})
	if bad != nil || !cut {
		return out, "", bad
	}
	b.WriteByte(']')
	return out, b.String(), nil
}

// ParseStatus reads one SDK user status object.
func ParseStatus(e gjson.Result) (Status, error) {
	if !e.IsObject() {
		return Status{}, errors.New("a user status must be an object")
	}
	var s Status
	var ok bool
	if s.UserID, ok = str(e, "user_status_identifier"); !ok {
		return s, errors.New("user_status_identifier must be a string")
	}
	if s.Custom, ok = str(e, "user_status_custom_status"); !ok {
		return s, errors.New("user_status_custom_status must be a string")
	}
	t := e.Get("user_status_status_type")
	if t.Exists() && t.Type != gjson.Number {
		return s, errors.New("user_status_status_type must be a number")
	}
	s.Type = StatusType(t.Int())
	devs, err := ParseIDArray(e.Get("user_status_online_devices"))
	if err != nil {
		return s, errors.New("user_status_online_devices must be an array of strings")
	}
	s.Devices = devs
	if v := e.Get("user_status_version"); v.Exists() {
		n, err := strconv.ParseUint(v.Raw, 10, 64)
		if v.Type != gjson.Number || err != nil {
			return s, errors.New("user_status_version must be an unsigned integer")
		}
		s.Version = n
	}
	return s, nil
}

// ServerFrame is a decoded server → client frame.
type ServerFrame struct {
	Seq  uint64
	Op   Op
	Code int
	Desc string
	Body gjson.Result
}

// DecodeServerFrame parses a server frame.
func DecodeServerFrame(b []byte) (ServerFrame, error) {
	if err := CheckJSON(b); err != nil {
		return ServerFrame{}, fmt.Errorf("%w: %w", ErrFrame, err)
	}
	root := gjson.ParseBytes(b)
	if !root.IsObject() {
		return ServerFrame{}, fmt.Errorf("%w: not a JSON object", ErrFrame)
	}
	op := root.Get("op")
	if op.Type != gjson.String {
		return ServerFrame{}, fmt.Errorf("%w: missing op", ErrFrame)
	}
	return ServerFrame{
		Seq:  root.Get("seq").Uint(),
		Op:   Op(op.Str),
		Code: int(root.Get("code").Int()),
		Desc: root.Get("desc").String(),
		Body: root.Get("body"),
	}, nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// the output is always valid JSON; the characters HTML treats specially are
// left alone because these frames are never embedded in HTML.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript parsers.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Limits are an app's per-user limits, sent in the login reply so that a
// client can refuse what the server would refuse without a round trip.
type Limits struct {
	RateLimitCalls    int `json:"rate_limit_calls"`
	RateLimitWindowMS int `json:"rate_limit_window_ms"`
	MaxGetIDs         int `json:"max_get_ids"`
	MaxSubscribeIDs   int `json:"max_subscribe_ids"`
	MaxSubscriptions  int `json:"max_subscriptions"`
}

// AppendLimits appends l as a JSON object.
func AppendLimits(dst []byte, l Limits) []byte {
	dst = append(dst, `{"rate_limit_calls":`...)
	dst = strconv.AppendInt(dst, int64(l.RateLimitCalls), 10)
	dst = append(dst, `,"rate_limit_window_ms":`...)
	dst = strconv.AppendInt(dst, int64(l.RateLimitWindowMS), 10)
	dst = append(dst, `,"max_get_ids":`...)
	dst = strconv.AppendInt(dst, int64(l.MaxGetIDs), 10)
	dst = append(dst, `,"max_subscribe_ids":`...)
	dst = strconv.AppendInt(dst, int64(l.MaxSubscribeIDs), 10)
	dst = append(dst, `,"max_subscriptions":`...)
	dst = strconv.AppendInt(dst, int64(l.MaxSubscriptions), 10)
	return append(dst, '}')
}

// ParseLimits reads a limits object; absent or non-positive members are 0,
// meaning "unknown: let the server decide".
func ParseLimits(v gjson.Result) Limits {
	get := func(k string) int {
		n := v.Get(k).Int()
		if n <= 0 || n > 1<<30 {
			return 0
		}
		return int(n)
	}
	return Limits{
		RateLimitCalls:    get("rate_limit_calls"),
		RateLimitWindowMS: get("rate_limit_window_ms"),
		MaxGetIDs:         get("max_get_ids"),
		MaxSubscribeIDs:   get("max_subscribe_ids"),
		MaxSubscriptions:  get("max_subscriptions"),
	}
}

// AppendRequest appends a client request frame. body is raw JSON, or empty for none.
func AppendRequest(dst []byte, seq uint64, op Op, body []byte) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"op":`...)
	dst = AppendString(dst, string(op))
	if len(body) > 0 {
		dst = append(dst, `,"body":`...)
		dst = append(dst, body...)
	}
	return append(dst, '}')
}

// AppendIDsBody appends {"ids":[…]}.
func AppendIDsBody(dst []byte, ids []string) []byte {
	dst = append(dst, `{"ids":[`...)
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, id)
	}
	return append(dst, "]}"...)
}

// AppendLoginBody appends the body of an OpLogin request.
func AppendLoginBody(dst []byte, l LoginBody) []byte {
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, int64(l.Version), 10)
	dst = append(dst, `,"sdkappid":`...)
	dst = strconv.AppendUint(dst, l.SDKAppID, 10)
	dst = append(dst, `,"user_id":`...)
	dst = AppendString(dst, l.UserID)
	dst = append(dst, `,"user_sig":`...)
	dst = AppendString(dst, l.UserSig)
	dst = append(dst, `,"platform":`...)
	dst = AppendString(dst, l.Platform)
	dst = append(dst, `,"device_id":`...)
	dst = AppendString(dst, l.DeviceID)
	if l.UserDefineData != "" {
		dst = append(dst, `,"user_define_data":`...)
		dst = AppendString(dst, l.UserDefineData)
	}
	return append(dst, '}')
}

// LoginReply is the body of a successful login's reply.
type LoginReply struct {
	UserID            string
	HeartbeatInterval int64 // ms the client should wait between heartbeats; 0: unknown
	ServerTime        int64 // the server's clock, Unix ms
	Limits            Limits
}

// AppendLoginReply appends a login reply body.
func AppendLoginReply(dst []byte, r LoginReply) []byte {
	dst = append(dst, `{"user_id":`...)
	dst = AppendString(dst, r.UserID)
	dst = append(dst, `,"heartbeat_interval_ms":`...)
	dst = strconv.AppendInt(dst, r.HeartbeatInterval, 10)
	dst = append(dst, `,"server_time_ms":`...)
	dst = strconv.AppendInt(dst, r.ServerTime, 10)
	dst = append(dst, `,"limits":`...)
	dst = AppendLimits(dst, r.Limits)
	return append(dst, '}')
}

// ParseLoginReply reads a login reply body. Absent or out-of-range numbers
// are 0, meaning unknown: an older server may leave them out.
func ParseLoginReply(body gjson.Result) LoginReply {
	hb := body.Get("heartbeat_interval_ms").Int()
	if hb < 0 || hb > 1<<40 {
		hb = 0
	}
	return LoginReply{
		UserID:            body.Get("user_id").String(),
		HeartbeatInterval: hb,
		ServerTime:        body.Get("server_time_ms").Int(),
		Limits:            ParseLimits(body.Get("limits")),
	}
}

// The APIs that rate limits count, by name.
const (
	APIGet         = "get"
	APISubscribe   = "subscribe"
	APIUnsubscribe = "unsubscribe"
)

// Upstream's default limits (SEMANTICS §2): what an app gets when its
// configuration names none, and what a client assumes until the server's
// login reply says otherwise.
const (
	DefaultRateLimitCalls    = 20
	DefaultRateLimitWindowMS = 5000
	DefaultMaxGetIDs         = 500
	DefaultMaxSubscribeIDs   = 100
	DefaultMaxSubscriptions  = 200
)

// DefaultLimits are the default limits together.
var DefaultLimits = Limits{
	RateLimitCalls:    DefaultRateLimitCalls,
	RateLimitWindowMS: DefaultRateLimitWindowMS,
	MaxGetIDs:         DefaultMaxGetIDs,
	MaxSubscribeIDs:   DefaultMaxSubscribeIDs,
	MaxSubscriptions:  DefaultMaxSubscriptions,
}
