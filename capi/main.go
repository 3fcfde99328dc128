// Command capi is libImSDK: the C ABI of SEMANTICS §5 over the sdk package.
// Build it with -buildmode=c-shared (or c-archive). shim.c defines the
// public functions with the header's own prototypes and calls the
// imstatus_-prefixed Go exports here, which convert C values, call sdk, and
// recover any panic into an error code: nothing that happens in Go may
// crash the host process.
//
// C never holds a Go pointer: strings are copied in (C.GoString) before an
// export returns, copied out (C.CString) for the length of a callback and
// then freed; user_data travels as an integer and is handed back untouched.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "TIMCloudDef.h"

#ifdef _WIN32
#include <windows.h>
static inline uint64_t imstatus_thread_id(void) { return (uint64_t)GetCurrentThreadId(); }
#else
#include <pthread.h>
static inline uint64_t imstatus_thread_id(void) { return (uint64_t)(uintptr_t)pthread_self(); }
#endif

// shim.c: notes the thread a direct-mode callback runs on.
void imstatus_note_callback_thread(void);

// Trampolines: Go cannot call C function pointers itself, and user_data
// becomes a pointer only here, never in Go.
static inline void call_comm(TIMCommCallback cb, int32_t code, const char* desc, const char* json, uintptr_t ud) {
	cb(code, desc, json, (const void*)ud);
}
static inline void call_status(TIMUserStatusChangedCallback cb, const char* json, uintptr_t ud) {
	cb(json, (const void*)ud);
}
static inline void call_network(TIMNetworkStatusListenerCallback cb, int status, int32_t code, const char* desc, uintptr_t ud) {
	cb((enum TIMNetworkStatus)status, code, desc, (const void*)ud);
}
static inline void call_kicked(TIMKickedOfflineCallback cb, uintptr_t ud) { cb((const void*)ud); }
static inline void call_sig(TIMUserSigExpiredCallback cb, uintptr_t ud) { cb((const void*)ud); }
static inline void call_log(TIMLogCallback cb, int level, const char* log, uintptr_t ud) {
	cb((enum TIMLogLevel)level, log, (const void*)ud);
}
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"unsafe"

	"github.com/imstatus/imstatus/sdk"
)

func main() {} // required by -buildmode=c-shared; never runs

// init keeps the Go runtime's first thread (m0) away from the dispatcher.
// That thread cannot exit: when a goroutine locked to it ends, Go parks it
// for good. The dispatcher goroutine locks its thread and ends inside
// TIMUninit, where TIMCloud.h promises that its thread ends; a host may
// have attached that thread to its runtime (Mono does at the first callback
// into managed code, and waits at exit for every attached thread: a
// dispatcher that had landed on m0 hung the process at exit,
// tests/mono_signals_test.go). Locked here, the main goroutine leaves m0
// parked as soon as the runtime's initialisation is done, so no goroutine
// ever runs there.
func init() { runtime.LockOSThread() }

// The process's one SDK. Global state is allowed here only: a C library has
// no other place to keep it.
var (
	theSDK  = &sdk.SDK{Dispatcher: sdk.Dispatcher{ThreadID: func() uint64 { return uint64(C.imstatus_thread_id()) }}}
	version = C.CString(sdk.Version()) // TIMGetSDKVersion's stable pointer, never freed
)

// guard turns a panic into *ret = code (and a line on stderr): a Go panic
// must never cross into the host.
func guard(ret *C.int, code C.int) {
	if r := recover(); r != nil {
		fmt.Fprintf(os.Stderr, "libImSDK: internal error recovered: %v\n%s", r, debug.Stack())
		if ret != nil {
			*ret = code
		}
	}
}

func goString(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// noteCallbackThread runs first in every callback: in direct mode the
// callback runs on the dispatcher thread, whose end TIMUninit then waits for
// (shim.c).
func noteCallbackThread() {
	if !theSDK.Dispatcher.Queued() {
		C.imstatus_note_callback_thread()
	}
}

// result binds a TIMCommCallback and its user_data into a Go callback.
func result(cb C.TIMCommCallback, ud C.uintptr_t) sdk.Result {
	if cb == nil {
		return nil
	}
	return func(code int, desc, json string) {
		defer guard(nil, 0)
		noteCallbackThread()
		cdesc, cjson := C.CString(desc), C.CString(json)
		defer C.free(unsafe.Pointer(cdesc))
		defer C.free(unsafe.Pointer(cjson))
		C.call_comm(cb, C.int32_t(code), cdesc, cjson, ud)
	}
}

// imstatus_bindThread does nothing: shim.c's first_call enters Go through
// it, one thread at a time, so that the thread gets its extra M.
//
//export imstatus_bindThread
func imstatus_bindThread() {}

//export imstatus_TIMInit
func imstatus_TIMInit(sdkAppID C.uint64_t, config *C.char) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	return C.int(theSDK.Init(uint64(sdkAppID), goString(config)))
}

//export imstatus_TIMUninit
func imstatus_TIMUninit() (ret C.int) {
	defer guard(&ret, sdk.Succ)
	return C.int(theSDK.Uninit())
}

//export imstatus_TIMGetSDKVersion
func imstatus_TIMGetSDKVersion() *C.char { return version }

//export imstatus_TIMGetServerTime
func imstatus_TIMGetServerTime() C.uint64_t {
	defer guard(nil, 0) // an internal error answers 0
	return C.uint64_t(theSDK.ServerTime())
}

//export imstatus_TIMSetConfig
func imstatus_TIMSetConfig(config *C.char, cb C.TIMCommCallback, ud C.uintptr_t) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	return C.int(theSDK.SetConfig(goString(config), result(cb, ud)))
}

//export imstatus_TIMLogin
func imstatus_TIMLogin(userID, userSig *C.char, cb C.TIMCommCallback, ud C.uintptr_t) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	if userSig == nil {
		if r := theSDK.Login("", "", nil); r == sdk.ErrSDKUninit {
			return C.int(r)
		}
		return sdk.ErrParam
	}
	return C.int(theSDK.Login(goString(userID), C.GoString(userSig), result(cb, ud)))
}

//export imstatus_TIMLogout
func imstatus_TIMLogout(cb C.TIMCommCallback, ud C.uintptr_t) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	return C.int(theSDK.Logout(result(cb, ud)))
}

//export imstatus_TIMGetLoginStatus
func imstatus_TIMGetLoginStatus() (ret C.int) {
	defer guard(&ret, C.int(sdk.UnLogined))
	return C.int(theSDK.LoginStatus())
}

//export imstatus_TIMGetLoginUserID
func imstatus_TIMGetLoginUserID(buf *C.char) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	if buf == nil {
		return sdk.ErrParam
	}
	id, r := theSDK.LoginUserID()
	out := unsafe.Slice((*byte)(unsafe.Pointer(buf)), 128)
	n := copy(out[:127], id)
	out[n] = 0
	return C.int(r)
}

//export imstatus_TIMSetSelfStatus
func imstatus_TIMSetSelfStatus(json *C.char, cb C.TIMCommCallback, ud C.uintptr_t) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	return C.int(theSDK.SetSelfStatus(goString(json), result(cb, ud)))
}

//export imstatus_TIMGetUserStatus
func imstatus_TIMGetUserStatus(json *C.char, cb C.TIMCommCallback, ud C.uintptr_t) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	return C.int(theSDK.GetUserStatus(goString(json), result(cb, ud)))
}

//export imstatus_TIMSubscribeUserStatus
func imstatus_TIMSubscribeUserStatus(json *C.char, cb C.TIMCommCallback, ud C.uintptr_t) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	return C.int(theSDK.SubscribeUserStatus(goString(json), result(cb, ud)))
}

//export imstatus_TIMUnsubscribeUserStatus
func imstatus_TIMUnsubscribeUserStatus(json *C.char, cb C.TIMCommCallback, ud C.uintptr_t) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	return C.int(theSDK.UnsubscribeUserStatus(goString(json), result(cb, ud)))
}

//export imstatus_callExperimentalAPI
func imstatus_callExperimentalAPI(json *C.char, cb C.TIMCommCallback, ud C.uintptr_t) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	return C.int(theSDK.Experimental(goString(json), result(cb, ud)))
}

//export imstatus_TIMSetUserStatusChangedCallback
func imstatus_TIMSetUserStatusChangedCallback(cb C.TIMUserStatusChangedCallback, ud C.uintptr_t) {
	defer guard(nil, 0)
	var f func(string)
	if cb != nil {
		f = func(json string) {
			defer guard(nil, 0)
			noteCallbackThread()
			cjson := C.CString(json)
			defer C.free(unsafe.Pointer(cjson))
			C.call_status(cb, cjson, ud)
		}
	}
	theSDK.SetHandlers(func(h *sdk.Handlers) { h.StatusChanged = f })
}

//export imstatus_TIMSetNetworkStatusListenerCallback
func imstatus_TIMSetNetworkStatusListenerCallback(cb C.TIMNetworkStatusListenerCallback, ud C.uintptr_t) {
	defer guard(nil, 0)
	var f func(int, int, string)
	if cb != nil {
		f = func(st int, code int, desc string) {
			defer guard(nil, 0)
			noteCallbackThread()
			cdesc := C.CString(desc)
			defer C.free(unsafe.Pointer(cdesc))
			C.call_network(cb, C.int(st), C.int32_t(code), cdesc, ud)
		}
	}
	theSDK.SetHandlers(func(h *sdk.Handlers) { h.Network = f })
}

//export imstatus_TIMSetKickedOfflineCallback
func imstatus_TIMSetKickedOfflineCallback(cb C.TIMKickedOfflineCallback, ud C.uintptr_t) {
	defer guard(nil, 0)
	var f func()
	if cb != nil {
		f = func() { defer guard(nil, 0); noteCallbackThread(); C.call_kicked(cb, ud) }
	}
	theSDK.SetHandlers(func(h *sdk.Handlers) { h.Kicked = f })
}

//export imstatus_TIMSetUserSigExpiredCallback
func imstatus_TIMSetUserSigExpiredCallback(cb C.TIMUserSigExpiredCallback, ud C.uintptr_t) {
	defer guard(nil, 0)
	var f func()
	if cb != nil {
		f = func() { defer guard(nil, 0); noteCallbackThread(); C.call_sig(cb, ud) }
	}
	theSDK.SetHandlers(func(h *sdk.Handlers) { h.SigExpired = f })
}

//export imstatus_TIMSetLogCallback
func imstatus_TIMSetLogCallback(cb C.TIMLogCallback, ud C.uintptr_t) {
	defer guard(nil, 0)
	var f func(int, string)
	if cb != nil {
		f = func(level int, line string) {
			defer guard(nil, 0)
			noteCallbackThread()
			cline := C.CString(line)
			defer C.free(unsafe.Pointer(cline))
			C.call_log(cb, C.int(level), cline, ud)
		}
	}
	theSDK.SetHandlers(func(h *sdk.Handlers) { h.Log = f })
}

//export imstatus_IMStatusSetCallbackMode
func imstatus_IMStatusSetCallbackMode(mode C.int) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	return C.int(theSDK.SetCallbackMode(int(mode)))
}

//export imstatus_IMStatusPumpCallbacks
func imstatus_IMStatusPumpCallbacks(max C.int) (ret C.int) {
	defer guard(&ret, -1)
	return C.int(theSDK.Dispatcher.Pump(int(max)))
}
