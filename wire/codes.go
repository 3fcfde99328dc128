package wire

import "fmt"

// Error codes shared by the server, the client core and the C API. The
// numbers are upstream's (Tencent Cloud IM), so an app's error handling keeps
// working when it switches to imstatus.
const (
	CodeOK = 0

	// Client-side (SDK) codes.
	CodeSDKUninit       = 6013 // SDK not initialised
	CodeNotLoggedIn     = 6014 // not logged in, or kicked
	CodeInvalidParams   = 6017 // invalid parameters (checked by the client)
	CodeInvalidJSON     = 6027 // invalid JSON from the caller
	CodeSigExpiredLocal = 6206 // UserSig expired (reported by the client)
	CodeKickedOffline   = 6208 // kicked offline by another login
	CodeTimeout         = 6012 // request timed out (no answer from the server)
	CodeNetwork         = 9508 // the link is down or dropped mid-call (upstream: ERR_SDK_NET_DISCONNECT; its 6010 is an HTTP request failure)

	// Server codes.
	CodeRateLimited      = 7008  // API call frequency limit
	CodeEditionRequired  = 7013  // the app's edition does not include this API; also an upstream call imstatus does not have (upstream: ERR_SDK_INTERFACE_NOT_SUPPORT)
	CodeSigExpired       = 70001 // UserSig expired
	CodeSigEmpty         = 70002 // UserSig empty
	CodeSigInvalid       = 70003 // UserSig check failed
	CodeSigIdentifier    = 70013 // identifier does not match UserSig
	CodeSigSDKAppID      = 70014 // SDKAppID does not match UserSig
	CodeAccountNotFound  = 70107 // account does not exist (REST)
	CodeBatchTooLarge    = 70206 // invalid batch count (too many ids)
	CodeServerParams     = 70402 // invalid parameters (checked by the server)
	CodeAdminRequired    = 70403 // REST: caller is not the app's admin
	CodeStatusDisabled   = 72001 // user-status switch is off
	CodeServerInternal   = 70500 // server internal error
	CodeServerOverloaded = 70503 // server is shutting down or overloaded
)

// Error is a coded error with a readable description, as carried in a reply
// frame and handed to the app's callbacks.
type Error struct {
	Code int
	Desc string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Desc, e.Code) }

// Errorf returns an *Error with a formatted description.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Desc: fmt.Sprintf(format, args...)}
}
