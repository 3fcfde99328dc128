package wire

import (
	"fmt"
	"slices"
)

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

// CodeDoc is what the C headers and the docs say of a code: its name in
// imstatus.h, its name in upstream 8.x's TIMErrorCode.h ("" when upstream
// has none), and what it means. wire/internal/gencodes writes them from
// CodeDocs (go generate ./wire).
type CodeDoc struct {
	Code     int
	IMStatus string
	Upstream string
	Doc      string
}

//go:generate go run ./internal/gencodes -root ..

// CodeDocs lists every code a callback can carry, in the headers' order.
func CodeDocs() []CodeDoc { return slices.Clone(codeDocs) }

var codeDocs = []CodeDoc{
	{CodeOK, "IMSTATUS_OK", "ERR_SUCC", "Success."},
	{CodeNetwork, "IMSTATUS_ERR_NETWORK", "ERR_SDK_NET_DISCONNECT", "The link is down, or dropped mid-call and the call could not be completed (imstatus 0.1.0 answered 6010, which upstream uses for a failed HTTP request)."},
	{CodeTimeout, "IMSTATUS_ERR_TIMEOUT", "ERR_REQUEST_TIME_OUT", "No answer in time, e.g. no server reachable (calls wait up to 15 s for the link)."},
	{CodeSDKUninit, "IMSTATUS_ERR_SDK_UNINIT", "ERR_SDK_NOT_INITIALIZED", "SDK not initialised; also: the call was pending when TIMUninit ran."},
	{CodeNotLoggedIn, "IMSTATUS_ERR_NOT_LOGGED_IN", "ERR_SDK_NOT_LOGGED_IN", "Not logged in (the session ended while the call was pending)."},
	{CodeInvalidParams, "IMSTATUS_ERR_INVALID_PARAMS", "ERR_INVALID_PARAMETERS", "Invalid parameters: custom status > 100 bytes or not UTF-8, no server address, bad server address, another user logged in, unknown experimental operation, a TIMSetConfig value out of range."},
	{CodeInvalidJSON, "IMSTATUS_ERR_INVALID_JSON", "ERR_INVALID_JSON", "Invalid JSON."},
	{CodeSigExpiredLocal, "IMSTATUS_ERR_SIG_EXPIRED_LOCAL", "ERR_USER_SIG_EXPIRED", "The UserSig expired (noticed locally)."},
	{CodeKickedOffline, "IMSTATUS_ERR_KICKED_OFFLINE", "ERR_LOGIN_KICKED_OFF_BY_OTHER", "Kicked offline: a newer login on the same platform, or the app's admin."},
	{CodeRateLimited, "IMSTATUS_ERR_FREQUENCY_LIMIT", "ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT", "API call frequency limit (20 calls per 5 s per user and API by default); answered locally when the window is already spent."},
	{CodeEditionRequired, "IMSTATUS_ERR_EDITION", "ERR_SDK_INTERFACE_NOT_SUPPORT", "The app's edition does not include this API (needs ultimate), or an upstream call imstatus does not have."},
	{CodeSigExpired, "IMSTATUS_ERR_SIG_EXPIRED", "ERR_SVR_ACCOUNT_USERSIG_EXPIRED", "Login: the UserSig expired."},
	{CodeSigEmpty, "IMSTATUS_ERR_SIG_EMPTY", "ERR_SVR_ACCOUNT_USERSIG_EMPTY", "Login: the UserSig is empty."},
	{CodeSigInvalid, "IMSTATUS_ERR_SIG_INVALID", "ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED", "Login: the UserSig failed verification."},
	{CodeSigIdentifier, "IMSTATUS_ERR_SIG_IDENTIFIER", "ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID", "Login: the user id does not match the UserSig's identifier."},
	{CodeSigSDKAppID, "IMSTATUS_ERR_SIG_SDKAPPID", "ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID", "Login: the SDKAppID does not match the UserSig's, or the server does not know it."},
	{CodeAccountNotFound, "IMSTATUS_ERR_ACCOUNT_NOT_FOUND", "ERR_SVR_ACCOUNT_NOT_FOUND", "An id has no account (subscribe; desc lists the ids)."},
	{CodeBatchTooLarge, "IMSTATUS_ERR_BATCH_TOO_LARGE", "ERR_SVR_ACCOUNT_INVALID_COUNT", "Too many ids in one call: > 500 for Get, > 100 for Subscribe/Unsubscribe."},
	{CodeServerParams, "IMSTATUS_ERR_SERVER_PARAMS", "ERR_SVR_ACCOUNT_INVALID_PARAMETERS", "The server refused the request's parameters."},
	{CodeAdminRequired, "IMSTATUS_ERR_ADMIN_REQUIRED", "ERR_SVR_ACCOUNT_ADMIN_REQUIRED", "REST: the call needs the app's admin."},
	{CodeServerInternal, "IMSTATUS_ERR_SERVER_INTERNAL", "ERR_SVR_ACCOUNT_INTERNAL_ERROR", "The server failed internally; try again later."},
	{CodeServerOverloaded, "IMSTATUS_ERR_SERVER_OVERLOADED", "", "The server is overloaded; try again later (imstatus's own code: upstream has none)."},
	{CodeStatusDisabled, "IMSTATUS_ERR_STATUS_DISABLED", "ERR_SVR_ACCOUNT_USER_STATUS_DISABLED", "The app's user-status switch is off."},
}
