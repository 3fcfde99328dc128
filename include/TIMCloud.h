/*
 * TIMCloud.h: the C API of libImSDK (imstatus), user presence.
 *
 * imstatus is a self-hosted drop-in for the user-status part of Tencent Cloud
 * IM's native C API: an app written against that API links this library
 * instead (libImSDK.so, ImSDK.dll, libImSDK.dylib) and points it at an
 * imstatusd server. Names, argument order and JSON keys are upstream's.
 * Types, enums and JSON keys are in TIMCloudDef.h; imstatus extras (queued
 * callbacks, named error codes) are in imstatus.h.
 *
 * ==== A session ====
 *
 *   callExperimentalAPI(set_custom_server_info)   optional, any time
 *   TIMSetUserStatusChangedCallback(...)          any time, also before TIMInit
 *   TIMInit(sdk_app_id, config)
 *   TIMLogin(user_id, user_sig, cb, ud)           cb: code 0 = logged in
 *   TIMSubscribeUserStatus / TIMGetUserStatus / TIMSetSelfStatus ...
 *   TIMLogout(cb, ud)
 *   TIMUninit()
 *
 * ==== Threading ====
 *
 * Every function may be called from any thread.
 *
 * By default every callback of every kind (call results, status changes,
 * network, kicked, UserSig expired, log) is delivered on ONE thread owned by
 * the library, one at a time, in the order the results became ready. That
 * thread starts at TIMInit (or at the first callExperimentalAPI before
 * TIMInit) and ends inside TIMUninit: when it ran a callback, TIMUninit
 * also waits (at most 2 s) until the thread has exited and its thread-exit
 * hooks have run, so a runtime that attached it (Mono) has let it go; not
 * when TIMUninit is called from a callback. In queued mode (imstatus.h,
 * IMStatusSetCallbackMode) callbacks instead wait until the host calls
 * IMStatusPumpCallbacks from a thread of its own, e.g. its main thread.
 *
 * A callback may call any function of this API, TIMUninit included. Return
 * quickly from callbacks: each one delays the ones after it.
 *
 * Exactly once: a function's TIMCommCallback is called if and only if the
 * function returned TIM_SUCC, exactly once, never from inside the function:
 * its result is handed to the callback thread only as the function returns.
 * The callback may therefore run while the calling thread is still on the
 * instructions right after the call: set up whatever the callback needs
 * (e.g. the object user_data points to) BEFORE making the call. A NULL
 * TIMCommCallback is accepted; the result is then dropped.
 *
 * After TIMUninit returns, no callback of any kind fires again: calls still
 * pending when TIMUninit runs complete with code 6013 before it returns (in
 * queued mode TIMUninit runs them, and whatever is still queued, on its own
 * thread). A call made while TIMUninit runs (from a callback it delivers,
 * or from another thread) returns TIM_ERR_SDKUNINIT and has no callback;
 * callExperimentalAPI and TIMSetConfig included. Registrations
 * (TIMSet...Callback) are kept across TIMUninit/TIMInit until changed.
 *
 * ==== Memory ====
 *
 * - Strings passed in are copied before the function returns; the caller may
 *   free them right after.
 * - Strings passed to a callback belong to the library and are valid only
 *   during the call: copy what you keep. Never free them.
 * - TIMGetSDKVersion's string is static; never free it.
 * - TIMGetLoginUserID writes into a buffer the caller owns (>= 128 bytes).
 * - user_data is never dereferenced: it is handed back unchanged.
 * All strings are NUL-terminated UTF-8; JSON arguments are JSON text.
 *
 * ==== Process rules ====
 *
 * - The library embeds the Go runtime. Only one Go runtime can live in a
 *   process: do not load two Go-built shared libraries into one process.
 * - The library cannot be unloaded: dlclose/FreeLibrary are unsupported (load
 *   it once and keep it until the process exits).
 * - Signals: see below.
 *
 * ==== Signals (not on Windows) ====
 *
 * The library embeds the Go runtime, and Go needs every signal handler in
 * the process to run on the alternate signal stack (sigaction's
 * SA_ONSTACK): a handler that runs on the stack of a thread that is in Go
 * code runs on a goroutine's stack, a few KiB, overflows it, and the
 * process crashes later, anywhere. Managed runtimes install such handlers:
 * Mono's and the Boehm GC's thread suspension (a signal to each thread,
 * Linux), SIGSEGV for NullReferenceException.
 *
 * What the library does:
 * - When it is loaded into a running process (dlopen, a first P/Invoke),
 *   the Go runtime sets SA_ONSTACK on the handlers it finds, and installs
 *   its own for SIGSEGV, SIGBUS, SIGFPE, SIGPIPE and SIGURG; a fault outside
 *   Go code is forwarded to the handler it found.
 * - TIMInit, each call, sets SA_ONSTACK on every handler installed by then
 *   (a host linked against the library, or that preloads it, installs its
 *   handlers after the Go runtime started). It keeps the handler, its mask
 *   and its other flags, and leaves SIG_DFL and SIG_IGN alone.
 * - A thread's first call (of the functions declared here and in
 *   imstatus.h) waits, signals blocked, for one of the Go runtime's spare
 *   threads; a host that stops threads with signals wherever they are
 *   (preemptive suspension: the Boehm GC of Unity's Mono and of IL2CPP,
 *   Mono with MONO_THREADS_SUSPEND=preemptive) could stop the thread that
 *   owes the next spare and then wait forever for the waiting one. So the
 *   library makes first calls one at a time. (Upstream's entry points that
 *   imstatus only answers with 7013 do not: make a thread's first call one
 *   of these.)
 *
 * What the host must do:
 * - Install a handler after TIMInit only with SA_ONSTACK (or before
 *   TIMInit). A thread without an alternate stack runs it as before.
 * - A SIGSEGV, SIGBUS or SIGFPE handler installed after the library was
 *   loaded should pass a fault in the library's code on to the handler it
 *   replaced (Go's os/signal documentation, "Go programs that use cgo");
 *   otherwise a fault the library would recover as an error code ends the
 *   process.
 * - Neither block signals on the library's threads nor disable the
 *   alternate stack (SS_DISABLE) of a thread that calls the library.
 * A handler must fit the alternate stack it then runs on: Go's own are
 * 32 KiB; a runtime's own may be smaller (CoreCLR's thread-suspension
 * handler was reported not to fit, with any Go-built library:
 * golang/go#78883). Mono's handlers fit: Mono is tested with the library
 * loaded first and last, with its hybrid and preemptive thread suspension
 * (tests/mono_signals_test.go).
 *
 * ==== The server ====
 *
 * The library connects to the addresses set with callExperimentalAPI
 * (internal_operation_set_custom_server_info; several addresses mean
 * failover: tried in order, then round robin with jittered exponential
 * backoff), else to those in the environment variable IMSDK_SERVER_ADDR
 * ("host:port[,host:port...]", an IPv6 host in brackets: "[::1]:8080"), read at
 * TIMLogin. TIMLogin with neither answers its callback with 6017.
 * A plain host:port means ws://host:port/ws. For TLS give a full URL, as
 * server_address_ip (its server_address_port is then unused) or in
 * IMSDK_SERVER_ADDR: "wss://presence.example.com/ws" (imstatusd --tls-cert,
 * or a TLS terminator in front). The server's certificate must chain to the
 * platform's authorities, or to PEM certificates given as server_public_key
 * (e.g. a self-signed server's); any other server_public_key (upstream's key)
 * is ignored. A login that cannot connect answers 6012 when it times out,
 * its desc ending with why the last attempt failed.
 *
 * ==== Errors ====
 *
 * Synchronous (the int return): enum TIMResult, TIMCloudDef.h.
 * - TIM_ERR_SDKUNINIT: before TIMInit, for every function but TIMInit,
 *   TIMUninit, TIMGetSDKVersion, TIMGetServerTime, TIMSetConfig, TIMGetLoginStatus, callExperimentalAPI,
 *   the TIMSet...Callback setters and imstatus.h's functions (these work
 *   before TIMInit).
 * - TIM_ERR_NOTLOGIN: TIMLogout, TIMSetSelfStatus, TIMGetUserStatus,
 *   TIMSubscribeUserStatus, TIMUnsubscribeUserStatus when not logged in.
 *   While the library reconnects on its own the user IS logged in: such calls
 *   wait for the link up to 15 s, then answer 6012.
 * - TIM_ERR_JSON: a JSON argument is not valid JSON, or nests arrays and
 *   objects more than 32 levels deep (refused before it is parsed, so no
 *   input can exhaust the library's stack).
 * - TIM_ERR_PARAM: NULL where a value is required, a JSON value of the wrong
 *   type, an empty id list where ids are required, an id outside the id
 *   rules, subscribing to yourself.
 * User ids: 1 to 32 bytes of A-Z a-z 0-9 _ -.
 * Asynchronous (a callback's code): IMSTATUS_ERR_..., imstatus.h. Every
 * error callback carries a non-empty desc.
 */
#ifndef IMSTATUS_TIMCLOUD_H_
#define IMSTATUS_TIMCLOUD_H_

#include <stdint.h>

#include "TIMCloudDef.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* Initialisation                                                            */
/* ======================================================================== */

/**
 * TIMInit initialises the SDK for one app and starts the callback thread.
 * Each call also sets SA_ONSTACK on the signal handlers installed by then
 * (see "Signals").
 *
 * @param sdk_app_id      the app's SDKAppID; not 0.
 * @param json_sdk_config NULL, "", "null" (what upstream's C# wrapper sends
 *                        for a null SdkConfig) or a JSON object with the optional keys
 *                        kTIMSdkConfig... (TIMCloudDef.h): config and log
 *                        directories (log files are written under
 *                        sdk_config_log_file_path when set), device type,
 *                        brand, system version, JavaVM (Android only).
 *                        Other keys are ignored.
 * @return TIM_SUCC; also for a repeated TIMInit with the id already
 *         initialised (the call changes nothing).
 *         TIM_ERR_PARAM if sdk_app_id is 0 or differs from the id already
 *         initialised (call TIMUninit first).
 *         TIM_ERR_JSON if json_sdk_config is neither NULL, "", "null" nor a
 *         JSON object.
 */
TIM_API int TIM_CALL TIMInit(uint64_t sdk_app_id, const char* json_sdk_config);

/**
 * TIMUninit ends the SDK: closes the connection, completes every pending
 * call with 6013 and stops the callback thread. When it returns, no callback
 * of any kind fires again (see "Threading"). It may be called from inside a
 * callback. Log out first (TIMLogout, and wait for its callback) if other
 * users should see this user UNLOGINED rather than OFFLINE.
 * Registered callbacks stay registered for a later TIMInit.
 *
 * @return TIM_SUCC, always (also when not initialised).
 */
TIM_API int TIM_CALL TIMUninit(void);

/**
 * TIMGetSDKVersion returns the library's version string. It may be called
 * at any time, before TIMInit too.
 *
 * @return a static NUL-terminated string, valid for the life of the process;
 *         never free it.
 */
TIM_API const char* TIM_CALL TIMGetSDKVersion(void);

/**
 * TIMGetServerTime returns the server's clock, in Unix seconds: what the
 * server said at the last login, moved on by the local monotonic clock
 * since (kept across TIMLogout, until TIMUninit). Before any login, and
 * before TIMInit, it is the local clock. It may be called at any time,
 * from any thread.
 *
 * @return seconds since 1970-01-01 UTC; 0 only on an internal error.
 */
TIM_API uint64_t TIM_CALL TIMGetServerTime(void);

/**
 * TIMSetConfig sets the log levels and the app's own data; it may be called
 * at any time, before TIMInit too, and what it sets lasts until the process
 * ends. Keys (TIMCloudDef.h, all optional): kTIMSetConfigLogLevel (the log
 * file) and kTIMSetConfigCallbackLogLevel (the log callback), each an enum
 * TIMLogLevel 0-7, where kTIMLog_Off passes nothing and a level passes it
 * and those above; kTIMSetConfigIsLogOutputConsole (a bool);
 * kTIMSetConfigUserDefineData (a UTF-8 string of at most 64 bytes, sent
 * with each login, reconnects included, and passed by the server to its
 * State.StateChange webhook as "UserDefineData" with that device's events,
 * as upstream passes it; a change takes effect at the next login). Other
 * keys, upstream's proxies
 * among them (they serve file transfers imstatus does not make), are
 * accepted and ignored.
 *
 * @param json_config a JSON object.
 * @param cb          called once, after TIM_SUCC: code 0 and json_params an
 *                    object of every setting above; or 6017 with a desc when
 *                    a value has the wrong type or range (nothing is set).
 * @return TIM_SUCC; TIM_ERR_PARAM if json_config is NULL or empty;
 *         TIM_ERR_JSON if it is not a JSON object.
 */
TIM_API int TIM_CALL TIMSetConfig(const char* json_config, TIMCommCallback cb, const void* user_data);

/* ======================================================================== */
/* Login                                                                     */
/* ======================================================================== */

/**
 * TIMLogin logs user_id in with its UserSig (the login ticket the app's
 * backend signs, TLSSigAPIv2) and keeps the session alive: when the link
 * drops the library reconnects and logs in again on its own, re-subscribes,
 * and reports what changed meanwhile.
 *
 * The server address is read now (see "The server"). Network progress is
 * reported to the network status callback.
 *
 * @param user_id   the user's id: 1-32 bytes of A-Z a-z 0-9 _ -.
 * @param user_sig  the user's UserSig.
 * @param cb        receives the result; json_params is "".
 * @param user_data handed back to cb.
 * @return TIM_SUCC, TIM_ERR_SDKUNINIT, or TIM_ERR_PARAM (user_id or
 *         user_sig NULL, user_id outside the id rules). An empty user_sig
 *         is sent as is: the server answers 70002.
 *
 * Callback codes: 0 logged in (TIMGetLoginStatus is kTIMLoginStatus_Logined
 * from then on; logging in again as the user already logged in also
 * answers 0); 6017 no server address set, or another user is logged in (log
 * out first); 70001 UserSig expired; 70002 UserSig empty; 70003 UserSig check
 * failed (also, at once, a UserSig over 16 KiB); 70013 user_id does not match the UserSig; 70014 SDKAppID does not
 * match the UserSig or is unknown to the server; 6012 no server answered in
 * time; 9508 the link dropped during the login; 6013 TIMUninit ran.
 */
TIM_API int TIM_CALL TIMLogin(const char* user_id, const char* user_sig, TIMCommCallback cb, const void* user_data);

/**
 * TIMLogout logs the current user out of this device. When the user has no
 * other logged-in device, its status becomes UNLOGINED (and its custom status
 * is cleared).
 *
 * @param cb        receives the result; json_params is "".
 * @param user_data handed back to cb.
 * @return TIM_SUCC, TIM_ERR_SDKUNINIT, or TIM_ERR_NOTLOGIN.
 *
 * Callback codes: 0 logged out; 6013 TIMUninit ran. When the link is down
 * (the library is reconnecting) the logout still succeeds locally and
 * answers 0; the server then sees the link gone and marks the device
 * OFFLINE rather than UNLOGINED. A call waiting for the link when the user
 * logs out answers 6014; after a kick 6208; after a UserSig expiry 6206.
 */
TIM_API int TIM_CALL TIMLogout(TIMCommCallback cb, const void* user_data);

/**
 * TIMGetLoginStatus returns the login state of this device.
 *
 * @return kTIMLoginStatus_Logined (1) once the login succeeded (at the
 *         latest when its callback runs: the callback itself sees 1) until a
 *         logout, kick or UserSig expiry, also while the library reconnects
 *         on its own; kTIMLoginStatus_Logining (2)
 *         during TIMLogin; kTIMLoginStatus_Logouting (4) during TIMLogout;
 *         kTIMLoginStatus_UnLogined (3) otherwise, and when not initialised.
 */
TIM_API enum TIMLoginStatus TIM_CALL TIMGetLoginStatus(void);

/**
 * TIMGetLoginUserID writes the logged-in user's id into user_id_buffer.
 *
 * @param user_id_buffer the caller's buffer of at least 128 bytes; receives
 *                       a NUL-terminated id.
 * @return TIM_SUCC; TIM_ERR_PARAM if user_id_buffer is NULL;
 *         TIM_ERR_SDKUNINIT before TIMInit, TIM_ERR_NOTLOGIN when not
 *         logged in (with either, the buffer holds "").
 */
TIM_API int TIM_CALL TIMGetLoginUserID(char* user_id_buffer);

/* ======================================================================== */
/* User status                                                               */
/* ======================================================================== */

/**
 * TIMSetSelfStatus sets the current user's custom status. Only
 * kTIMUserStatusCustomStatus is read; other keys are ignored (the status type
 * is derived by the server and cannot be set). "", null or an absent key
 * clear the custom status.
 * The change reaches the user's own devices (this one included), its
 * subscribers and, when the app's auto-notify switch is on, its friends,
 * through the status-changed callback. Needs no edition or switch, and is not
 * rate-limited.
 *
 * @param json_current_user_status a user status object, e.g.
 *        {"user_status_custom_status":"in a match"}.
 * @param cb        receives the result; json_params is "".
 * @param user_data handed back to cb.
 * @return TIM_SUCC, TIM_ERR_SDKUNINIT, TIM_ERR_NOTLOGIN, TIM_ERR_JSON, or
 *         TIM_ERR_PARAM (NULL, not an object, custom status not a string).
 *
 * Callback codes: 0; 6017 custom status longer than 100 bytes or not UTF-8;
 * 9508, 6012 network; 6208 kicked; 6013 TIMUninit ran.
 */
TIM_API int TIM_CALL TIMSetSelfStatus(const char* json_current_user_status, TIMCommCallback cb, const void* user_data);

/**
 * TIMGetUserStatus queries the status of users.
 *
 * Querying only yourself needs no edition or switch and is not rate-limited.
 * Querying others needs the app's ultimate edition and user-status switch,
 * at most 500 ids per call, at most 20 calls per 5 s.
 *
 * @param json_identifier_array a JSON array of user ids, e.g. ["alice","bob"].
 * @param cb        receives the result: json_params is a JSON array of user
 *                  status objects, one per requested id, in request order; an
 *                  id without an account gets kTIMUserStatusStatusType 0.
 * @param user_data handed back to cb.
 * @return TIM_SUCC, TIM_ERR_SDKUNINIT, TIM_ERR_NOTLOGIN, TIM_ERR_JSON, or
 *         TIM_ERR_PARAM (NULL, "", "null", an empty array, not an array of
 *         strings, an id outside the id rules).
 *
 * Callback codes: 0; 70206 more than 500 ids; 7008 rate limit; 7013 edition;
 * 72001 switch off; 9508, 6012 network; 6208 kicked; 6013 TIMUninit ran.
 */
TIM_API int TIM_CALL TIMGetUserStatus(const char* json_identifier_array, TIMCommCallback cb, const void* user_data);

/**
 * TIMSubscribeUserStatus subscribes to the status of users: their changes
 * are then delivered to the status-changed callback, starting with their
 * current state right after the subscription succeeds. Subscriptions
 * survive automatic reconnects (the library re-subscribes and reports what
 * changed while it was away). A user holds at most 200 subscriptions
 * (friends count); past that the oldest is evicted.
 *
 * Needs the app's ultimate edition and user-status switch; at most 100 ids
 * per call, at most 20 calls per 5 s.
 *
 * @param json_identifier_array a JSON array of user ids, e.g. ["alice","bob"].
 * @param cb        receives the result; json_params is "".
 * @param user_data handed back to cb.
 * @return TIM_SUCC, TIM_ERR_SDKUNINIT, TIM_ERR_NOTLOGIN, TIM_ERR_JSON, or
 *         TIM_ERR_PARAM (NULL, "", "null", an empty array, not an array of
 *         strings, an id outside the id rules, your own id).
 *
 * Callback codes: 0; 70206 more than 100 ids; 70107 an id has no account
 * (desc lists them; nothing is subscribed); 7008 rate limit; 7013 edition;
 * 72001 switch off; 9508, 6012 network; 6208 kicked; 6013 TIMUninit ran.
 */
TIM_API int TIM_CALL TIMSubscribeUserStatus(const char* json_identifier_array, TIMCommCallback cb, const void* user_data);

/**
 * TIMUnsubscribeUserStatus ends subscriptions.
 *
 * Needs the app's ultimate edition and user-status switch; at most 100 ids
 * per call, at most 20 calls per 5 s.
 *
 * @param json_identifier_array a JSON array of user ids; NULL, "", "null" or
 *                  "[]" removes every subscription.
 * @param cb        receives the result; json_params is "".
 * @param user_data handed back to cb.
 * @return TIM_SUCC, TIM_ERR_SDKUNINIT, TIM_ERR_NOTLOGIN, TIM_ERR_JSON, or
 *         TIM_ERR_PARAM (not an array of strings, an id outside the id rules).
 *
 * Callback codes: 0; 70206 more than 100 ids; 7008 rate limit; 7013 edition;
 * 72001 switch off; 9508, 6012 network; 6208 kicked; 6013 TIMUninit ran.
 */
TIM_API int TIM_CALL TIMUnsubscribeUserStatus(const char* json_identifier_array, TIMCommCallback cb, const void* user_data);

/* ======================================================================== */
/* Event callbacks                                                           */
/*                                                                           */
/* Each setter replaces the previous registration of its kind; a NULL cb     */
/* unregisters. Setters work before TIMInit, and registrations are kept      */
/* across TIMUninit/TIMInit until changed. A change applies to deliveries    */
/* that start after the setter returns.                                      */
/* ======================================================================== */

/**
 * TIMSetUserStatusChangedCallback registers the status-changed callback. It
 * receives a JSON array of user status objects (the shape of
 * TIMGetUserStatus's result) for: subscribed users, friends (when the app's
 * auto-notify switch is on), and the current user itself (multi-device sync,
 * including changes this device made). After TIMSubscribeUserStatus it
 * receives the subscribed users' current state; after an automatic
 * reconnect, whatever changed while the library was away (a status it
 * already reported is not repeated). A user's statuses arrive in the order
 * they changed. When the host falls behind (a slow callback, or queued mode
 * pumped rarely), a waiting call of this callback about one user is
 * replaced by a newer one about the same user: the host gets each user's
 * latest status and never an older one after a newer one, and a user who
 * changes status in a flood cannot grow the queue.
 */
TIM_API void TIM_CALL TIMSetUserStatusChangedCallback(TIMUserStatusChangedCallback cb, const void* user_data);

/**
 * TIMSetNetworkStatusListenerCallback registers the network callback:
 * kTIMConnecting when a connection attempt starts; kTIMConnected when logged
 * in over it; kTIMDisconnected when an established link drops (reconnection
 * then starts on its own); kTIMConnectFailed when an attempt fails (code and
 * desc say why).
 */
TIM_API void TIM_CALL TIMSetNetworkStatusListenerCallback(TIMNetworkStatusListenerCallback cb, const void* user_data);

/**
 * TIMSetKickedOfflineCallback registers the kicked callback: this device was
 * replaced by a newer login of the same user on the same platform, or the
 * app's admin kicked the user. The SDK is then logged out and calls pending
 * at that moment complete with 6208.
 */
TIM_API void TIM_CALL TIMSetKickedOfflineCallback(TIMKickedOfflineCallback cb, const void* user_data);

/**
 * TIMSetUserSigExpiredCallback registers the UserSig-expired callback: the
 * server reports that the session's UserSig expired. The SDK is then logged
 * out; log in again with a new UserSig.
 */
TIM_API void TIM_CALL TIMSetUserSigExpiredCallback(TIMUserSigExpiredCallback cb, const void* user_data);

/**
 * TIMSetLogCallback registers the log callback: it receives every SDK log
 * line with its level. Logs are also written to files under
 * sdk_config_log_file_path when TIMInit's config sets it.
 */
TIM_API void TIM_CALL TIMSetLogCallback(TIMLogCallback cb, const void* user_data);

/* ======================================================================== */
/* Experimental API                                                          */
/* ======================================================================== */

/**
 * callExperimentalAPI runs an operation named by kTIMRequestInternalOperation.
 * It works before TIMInit (and then starts the callback thread).
 *
 * Operations (answer code 0):
 * - internal_operation_set_custom_server_info: the addresses of the servers
 *   to use from the next TIMLogin (see "The server"):
 *     {"request_internal_operation":"internal_operation_set_custom_server_info",
 *      "request_set_custom_server_info_param":{
 *        "longconnection_address_array":[{"server_address_ip":"10.0.0.5",
 *          "server_address_port":8080,"server_address_is_ipv6":false}],
 *        "server_public_key":""}}
 *   An empty or missing address array, or a port outside 1..65535, answers
 *   6017. server_public_key is ignored.
 * - internal_operation_set_ui_platform: accepted.
 * - internal_operation_write_log: adds a line to the SDK log
 *   (request_write_log_... keys, TIMCloudDef.h).
 * Any other operation answers 6017, with a desc naming it.
 *
 * @param json_param a JSON object as above.
 * @param cb        receives the result; json_params is "".
 * @param user_data handed back to cb.
 * @return TIM_SUCC, TIM_ERR_JSON, or TIM_ERR_PARAM (NULL, not an object,
 *         no operation string).
 */
TIM_API int TIM_CALL callExperimentalAPI(const char* json_param, TIMCommCallback cb, const void* user_data);

/* ======================================================================== */
/* Drop-in registrations                                                     */
/*                                                                           */
/* Upstream's messaging, conversation, relationship and group callback       */
/* setters, with upstream's signatures, so that code written for the         */
/* upstream SDK (the Unity wrapper's Init/Uninit among it) links and runs    */
/* unchanged. imstatus has none of these features: each setter accepts its   */
/* registration (NULL included) and the callback never fires. They work      */
/* before TIMInit and never fail.                                            */
/* ======================================================================== */

/** Upstream: removes a new-message callback. Accepted; no effect. */
TIM_API void TIM_CALL TIMRemoveRecvNewMsgCallback(TIMRecvNewMsgCallback cb);
/** Upstream: conversation events. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetConvEventCallback(TIMConvEventCallback cb, const void* user_data);
/** Upstream: total unread count changes. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetConvTotalUnreadMessageCountChangedCallback(TIMConvTotalUnreadMessageCountChangedCallback cb, const void* user_data);
/** Upstream: friend requests. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetFriendAddRequestCallback(TIMFriendAddRequestCallback cb, const void* user_data);
/** Upstream: friend requests deleted. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetFriendApplicationListDeletedCallback(TIMFriendApplicationListDeletedCallback cb, const void* user_data);
/** Upstream: friend requests read. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetFriendApplicationListReadCallback(TIMFriendApplicationListReadCallback cb, const void* user_data);
/** Upstream: block list additions. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetFriendBlackListAddedCallback(TIMFriendBlackListAddedCallback cb, const void* user_data);
/** Upstream: block list removals. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetFriendBlackListDeletedCallback(TIMFriendBlackListDeletedCallback cb, const void* user_data);
/** Upstream: group attribute changes. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetGroupAttributeChangedCallback(TIMGroupAttributeChangedCallback cb, const void* user_data);
/** Upstream: group tips. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetGroupTipsEventCallback(TIMGroupTipsEventCallback cb, const void* user_data);
/** Upstream: file upload progress. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetMsgElemUploadProgressCallback(TIMMsgElemUploadProgressCallback cb, const void* user_data);
/** Upstream: read receipts. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetMsgReadedReceiptCallback(TIMMsgReadedReceiptCallback cb, const void* user_data);
/** Upstream: message reactions. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetMsgReactionsChangedCallback(TIMMsgReactionsChangedCallback cb, const void* user_data);
/** Upstream: global receive option changes. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetMsgAllMessageReceiveOptionCallback(TIMMsgAllMessageReceiveOptionCallback cb, const void* user_data);
/** Upstream: message revocations. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetMsgRevokeCallback(TIMMsgRevokeCallback cb, const void* user_data);
/** Upstream: message updates. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetMsgUpdateCallback(TIMMsgUpdateCallback cb, const void* user_data);
/** Upstream: friends added. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetOnAddFriendCallback(TIMOnAddFriendCallback cb, const void* user_data);
/** Upstream: friends deleted. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetOnDeleteFriendCallback(TIMOnDeleteFriendCallback cb, const void* user_data);
/** Upstream: friend profile updates. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetUpdateFriendProfileCallback(TIMUpdateFriendProfileCallback cb, const void* user_data);
/** Upstream: the current user's profile changed. Accepted; never fires
 * (imstatus keeps no profiles). */
TIM_API void TIM_CALL TIMSetSelfInfoUpdatedCallback(TIMSelfInfoUpdatedCallback cb, const void* user_data);
/** Upstream: a subscribed user's profile changed. Accepted; never fires. */
TIM_API void TIM_CALL TIMSetUserInfoChangedCallback(TIMUserInfoChangedCallback cb, const void* user_data);
/** Upstream (TIMExperimentalAPI.h): experimental notifications. Accepted;
 * never fires (imstatus sends none). */
TIM_API void TIM_CALL TIMSetExperimentalNotifyCallback(TIMExperimentalNotifyCallback cb, const void* user_data);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* IMSTATUS_TIMCLOUD_H_ */
