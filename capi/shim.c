/*
 * shim.c defines libImSDK's public C functions exactly as include/ declares
 * them, so that a prototype that drifts from the header is a compile error
 * here instead of a silent ABI mismatch in a user's program. Each function
 * that does work converts its arguments (user_data becomes an integer: Go
 * never holds a C pointer) and calls the Go export of the same name with an
 * imstatus_ prefix (main.go); those prefixed symbols are internal and not
 * part of the API.
 *
 * The upstream registrations that imstatus has no feature for (messaging,
 * conversations, relationships, groups, profiles) are plain C no-ops: they
 * never reach Go.
 */
#define TIM_EXPORTS /* dllexport on Windows: these are the DLL's exports */

#include <stdint.h>
#ifndef _WIN32
#include <pthread.h>
#include <signal.h>
#include <time.h>
#endif

#include "TIMCloud.h"
#include "imstatus.h"
#include "_cgo_export.h"

#define UD(p) ((uintptr_t)(p))

/*
 * Signals (TIMCloud.h, "Signals"). Go needs every signal handler in the
 * process to run on the alternate signal stack (SA_ONSTACK): a handler that
 * runs on the thread's current stack while the thread is in Go code runs
 * on a goroutine's stack, a few kilobytes, and overflows it into other
 * goroutines' stacks. When the library is loaded into a running process
 * the Go runtime turns SA_ONSTACK on for the handlers it finds; a handler
 * installed after that (a host that loaded the library first: linked
 * against it, LD_PRELOAD, a static link; or one that installs handlers
 * later) keeps its flags. Mono, for one, installs its thread-suspend
 * handlers without SA_ONSTACK, and its preemptive suspension signals
 * threads that are in Go code: the Go runtime then crashes within seconds
 * (tests/mono_signals_test.go). So TIMInit turns SA_ONSTACK on for every
 * handler installed by then, as the Go runtime does at load. The handler,
 * its mask and its other flags are kept; a thread without an alternate
 * stack runs the handler where it did before. SIG_DFL, SIG_IGN and
 * handlers that have the flag are left alone.
 */
static void onstack_handlers(void) {
#ifndef _WIN32
#ifdef NSIG
	const int nsig = NSIG;
#else
	const int nsig = 65;
#endif
	for (int sig = 1; sig < nsig; sig++) {
		struct sigaction sa;
		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) != 0) {
			continue; /* not changeable, or reserved by the C library */
		}
		if ((sa.sa_flags & SA_ONSTACK) != 0) {
			continue;
		}
		if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) {
			continue; /* sa_handler shares its storage with sa_sigaction */
		}
		sa.sa_flags |= SA_ONSTACK;
		sigaction(sig, &sa, NULL);
	}
#endif
}

/*
 * A thread's first call into Go takes one of the Go runtime's spare
 * threads ("extra Ms", kept bound to the calling thread from then on) with
 * every signal blocked, and waits while none is spare; the thread that
 * took the last one makes the next, once it is in Go. A host that stops
 * its threads with signals wherever they are (Mono's preemptive suspension,
 * the Boehm GC of Unity's Mono and of IL2CPP) can stop that thread first
 * and then wait forever for a thread that waits with signals blocked:
 * sixteen threads making their first call during a GC hung Mono every time
 * (tests/mono_signals_test.go). So first calls go one at a time, through
 * imstatus_bindThread (an empty Go export) under a mutex: each finds a
 * spare M, and a thread waiting for the mutex can still be stopped.
 */
#ifndef _WIN32
static pthread_mutex_t first_call_mu = PTHREAD_MUTEX_INITIALIZER;
static __thread int first_call_done;

static void first_call(void) {
	if (first_call_done) {
		return;
	}
	pthread_mutex_lock(&first_call_mu);
	imstatus_bindThread();
	pthread_mutex_unlock(&first_call_mu);
	first_call_done = 1;
}
#else
static void first_call(void) {} /* no signals on Windows */
#endif

TIM_API int TIM_CALL TIMInit(uint64_t sdk_app_id, const char* json_sdk_config) {
	onstack_handlers();
	first_call();
	return imstatus_TIMInit(sdk_app_id, (char*)json_sdk_config);
}

/*
 * TIMUninit ends the dispatcher thread, and returns once it is gone. The
 * goroutine ends inside TIMUninit, but the thread's own end comes after:
 * the Go runtime blocks every signal, and the host's thread-exit hooks run
 * (Mono's detach of a thread that entered managed code). A host that stops
 * its threads with signals at exit (Mono does) waits forever for a thread
 * that is exiting with signals blocked, holding the lock that thread's hook
 * needs: one direct-mode run in ten hung at exit
 * (tests/mono_signals_test.go). So the thread that ran a direct-mode
 * callback (capi/main.go, noteCallbackThread) gets a thread-specific value
 * whose destructor counts it gone; created after the host runtime's own,
 * the key's destructor runs after theirs (glibc runs them in key order).
 * TIMUninit waits for the count, at most 2 s, unless it is called from a
 * callback on that thread itself.
 */
#ifndef _WIN32
static pthread_once_t cb_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t cb_key;
static pthread_mutex_t cb_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cb_gone = PTHREAD_COND_INITIALIZER;
static int cb_threads; /* dispatcher threads that ran a callback and still exist */

static void cb_thread_gone(void* v) {
	(void)v;
	pthread_mutex_lock(&cb_mu);
	cb_threads--;
	pthread_cond_broadcast(&cb_gone);
	pthread_mutex_unlock(&cb_mu);
}

static void cb_key_create(void) { pthread_key_create(&cb_key, cb_thread_gone); }

void imstatus_note_callback_thread(void) {
	pthread_once(&cb_key_once, cb_key_create);
	if (pthread_getspecific(cb_key) != NULL) {
		return;
	}
	pthread_mutex_lock(&cb_mu);
	cb_threads++;
	pthread_mutex_unlock(&cb_mu);
	pthread_setspecific(cb_key, &cb_threads);
}

static void wait_callback_threads(void) {
	pthread_once(&cb_key_once, cb_key_create);
	if (pthread_getspecific(cb_key) != NULL) {
		return; /* called from a callback: this thread ends after it */
	}
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 2;
	pthread_mutex_lock(&cb_mu);
	while (cb_threads > 0 && pthread_cond_timedwait(&cb_gone, &cb_mu, &deadline) == 0) {
	}
	pthread_mutex_unlock(&cb_mu);
}
#else
void imstatus_note_callback_thread(void) {}
static void wait_callback_threads(void) {}
#endif

TIM_API int TIM_CALL TIMUninit(void) {
	first_call();
	int r = imstatus_TIMUninit();
	wait_callback_threads();
	return r;
}

TIM_API const char* TIM_CALL TIMGetSDKVersion(void) {
	first_call();
	return imstatus_TIMGetSDKVersion();
}

TIM_API uint64_t TIM_CALL TIMGetServerTime(void) {
	first_call();
	return imstatus_TIMGetServerTime();
}

TIM_API int TIM_CALL TIMSetConfig(const char* json_config, TIMCommCallback cb, const void* user_data) {
	first_call();
	return imstatus_TIMSetConfig((char*)json_config, cb, UD(user_data));
}

TIM_API int TIM_CALL TIMLogin(const char* user_id, const char* user_sig, TIMCommCallback cb, const void* user_data) {
	first_call();
	return imstatus_TIMLogin((char*)user_id, (char*)user_sig, cb, UD(user_data));
}

TIM_API int TIM_CALL TIMLogout(TIMCommCallback cb, const void* user_data) {
	first_call();
	return imstatus_TIMLogout(cb, UD(user_data));
}

TIM_API enum TIMLoginStatus TIM_CALL TIMGetLoginStatus(void) {
	first_call();
	return (enum TIMLoginStatus)imstatus_TIMGetLoginStatus();
}

TIM_API int TIM_CALL TIMGetLoginUserID(char* user_id_buffer) {
	first_call();
	return imstatus_TIMGetLoginUserID(user_id_buffer);
}

TIM_API int TIM_CALL TIMSetSelfStatus(const char* json_current_user_status, TIMCommCallback cb, const void* user_data) {
	first_call();
	return imstatus_TIMSetSelfStatus((char*)json_current_user_status, cb, UD(user_data));
}

TIM_API int TIM_CALL TIMGetUserStatus(const char* json_identifier_array, TIMCommCallback cb, const void* user_data) {
	first_call();
	return imstatus_TIMGetUserStatus((char*)json_identifier_array, cb, UD(user_data));
}

TIM_API int TIM_CALL TIMSubscribeUserStatus(const char* json_identifier_array, TIMCommCallback cb, const void* user_data) {
	first_call();
	return imstatus_TIMSubscribeUserStatus((char*)json_identifier_array, cb, UD(user_data));
}

TIM_API int TIM_CALL TIMUnsubscribeUserStatus(const char* json_identifier_array, TIMCommCallback cb, const void* user_data) {
	first_call();
	return imstatus_TIMUnsubscribeUserStatus((char*)json_identifier_array, cb, UD(user_data));
}

TIM_API int TIM_CALL callExperimentalAPI(const char* json_param, TIMCommCallback cb, const void* user_data) {
	first_call();
	return imstatus_callExperimentalAPI((char*)json_param, cb, UD(user_data));
}

TIM_API void TIM_CALL TIMSetUserStatusChangedCallback(TIMUserStatusChangedCallback cb, const void* user_data) {
	first_call();
	imstatus_TIMSetUserStatusChangedCallback(cb, UD(user_data));
}

TIM_API void TIM_CALL TIMSetNetworkStatusListenerCallback(TIMNetworkStatusListenerCallback cb, const void* user_data) {
	first_call();
	imstatus_TIMSetNetworkStatusListenerCallback(cb, UD(user_data));
}

TIM_API void TIM_CALL TIMSetKickedOfflineCallback(TIMKickedOfflineCallback cb, const void* user_data) {
	first_call();
	imstatus_TIMSetKickedOfflineCallback(cb, UD(user_data));
}

TIM_API void TIM_CALL TIMSetUserSigExpiredCallback(TIMUserSigExpiredCallback cb, const void* user_data) {
	first_call();
	imstatus_TIMSetUserSigExpiredCallback(cb, UD(user_data));
}

TIM_API void TIM_CALL TIMSetLogCallback(TIMLogCallback cb, const void* user_data) {
	first_call();
	imstatus_TIMSetLogCallback(cb, UD(user_data));
}

TIM_API int TIM_CALL IMStatusSetCallbackMode(int mode) {
	first_call();
	return imstatus_IMStatusSetCallbackMode(mode);
}

TIM_API int TIM_CALL IMStatusPumpCallbacks(int max) {
	first_call();
	return imstatus_IMStatusPumpCallbacks(max);
}

/* Upstream's registrations for features imstatus does not have: accepted
 * (NULL included), never called. */
#define ACCEPT(name, type) \
	TIM_API void TIM_CALL name(type cb, const void* user_data) { (void)cb; (void)user_data; }

TIM_API void TIM_CALL TIMRemoveRecvNewMsgCallback(TIMRecvNewMsgCallback cb) { (void)cb; }
ACCEPT(TIMSetConvEventCallback, TIMConvEventCallback)
ACCEPT(TIMSetConvTotalUnreadMessageCountChangedCallback, TIMConvTotalUnreadMessageCountChangedCallback)
ACCEPT(TIMSetFriendAddRequestCallback, TIMFriendAddRequestCallback)
ACCEPT(TIMSetFriendApplicationListDeletedCallback, TIMFriendApplicationListDeletedCallback)
ACCEPT(TIMSetFriendApplicationListReadCallback, TIMFriendApplicationListReadCallback)
ACCEPT(TIMSetFriendBlackListAddedCallback, TIMFriendBlackListAddedCallback)
ACCEPT(TIMSetFriendBlackListDeletedCallback, TIMFriendBlackListDeletedCallback)
ACCEPT(TIMSetGroupAttributeChangedCallback, TIMGroupAttributeChangedCallback)
ACCEPT(TIMSetGroupTipsEventCallback, TIMGroupTipsEventCallback)
ACCEPT(TIMSetMsgElemUploadProgressCallback, TIMMsgElemUploadProgressCallback)
ACCEPT(TIMSetMsgReadedReceiptCallback, TIMMsgReadedReceiptCallback)
ACCEPT(TIMSetMsgReactionsChangedCallback, TIMMsgReactionsChangedCallback)
ACCEPT(TIMSetMsgAllMessageReceiveOptionCallback, TIMMsgAllMessageReceiveOptionCallback)
ACCEPT(TIMSetMsgRevokeCallback, TIMMsgRevokeCallback)
ACCEPT(TIMSetMsgUpdateCallback, TIMMsgUpdateCallback)
ACCEPT(TIMSetOnAddFriendCallback, TIMOnAddFriendCallback)
ACCEPT(TIMSetOnDeleteFriendCallback, TIMOnDeleteFriendCallback)
ACCEPT(TIMSetUpdateFriendProfileCallback, TIMUpdateFriendProfileCallback)
ACCEPT(TIMSetSelfInfoUpdatedCallback, TIMSelfInfoUpdatedCallback)
ACCEPT(TIMSetUserInfoChangedCallback, TIMUserInfoChangedCallback)
ACCEPT(TIMSetExperimentalNotifyCallback, TIMExperimentalNotifyCallback)
