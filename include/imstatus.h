/*
 * imstatus.h: libImSDK extras that upstream's API does not have.
 *
 * - Callback modes: by default (IMSTATUS_CALLBACKS_DIRECT) every callback
 *   runs on one thread owned by the library. In IMSTATUS_CALLBACKS_QUEUED
 *   mode callbacks are held until the host runs them with
 *   IMStatusPumpCallbacks on a thread of its choosing (e.g. a game's main
 *   thread), for hosts that must not be called on foreign threads.
 * - Named asynchronous error codes: the `code` a TIMCommCallback receives
 *   (and the codes of the network callback).
 *
 * The rules of TIMCloud.h apply (threading, memory, exactly-once).
 */
#ifndef IMSTATUS_IMSTATUS_H_
#define IMSTATUS_IMSTATUS_H_

#include <stdint.h>

#include "TIMCloudDef.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* Callback modes                                                            */
/* ======================================================================== */

/* Callbacks run on the library's dispatcher thread, one at a time (default). */
#define IMSTATUS_CALLBACKS_DIRECT 0
/* Callbacks wait in a queue until the host calls IMStatusPumpCallbacks. */
#define IMSTATUS_CALLBACKS_QUEUED 1

/**
 * IMStatusSetCallbackMode chooses how callbacks are delivered. It may be
 * called at any time, before TIMInit too, from any thread. Callbacks keep
 * their order in either mode. Switching from QUEUED to DIRECT hands whatever
 * is queued to the dispatcher thread. In QUEUED mode TIMUninit runs, on its
 * own calling thread, whatever is still queued and the 6013 completions of
 * pending calls, before it returns.
 *
 * @param mode IMSTATUS_CALLBACKS_DIRECT or IMSTATUS_CALLBACKS_QUEUED.
 * @return TIM_SUCC, or TIM_ERR_PARAM for any other mode.
 */
TIM_API int TIM_CALL IMStatusSetCallbackMode(int mode);

/**
 * IMStatusPumpCallbacks runs queued callbacks on the calling thread, one at
 * a time, in order. Call it regularly (e.g. once per frame) from one thread,
 * and not from inside a callback.
 *
 * @param max the most callbacks to run; max <= 0 runs all that are queued.
 * @return in QUEUED mode, how many callbacks ran (0 when none was queued);
 *         -1 in DIRECT mode (nothing is run).
 */
TIM_API int TIM_CALL IMStatusPumpCallbacks(int max);

/* ======================================================================== */
/* Asynchronous error codes                                                  */
/*                                                                           */
/* The `code` of a callback (SEMANTICS §4: upstream's). Every error comes    */
/* with a non-empty, readable `desc`.                                        */
/* ======================================================================== */

/* Codes: written by go generate ./wire from wire.CodeDocs; do not edit. */
/* Success. */
#define IMSTATUS_OK 0
/* The link is down, or dropped mid-call and the call could not be
 * completed (imstatus 0.1.0 answered 6010, which upstream uses for a
 * failed HTTP request). */
#define IMSTATUS_ERR_NETWORK 9508
/* No answer in time, e.g. no server reachable (calls wait up to 15 s for
 * the link). */
#define IMSTATUS_ERR_TIMEOUT 6012
/* SDK not initialised; also: the call was pending when TIMUninit ran. */
#define IMSTATUS_ERR_SDK_UNINIT 6013
/* Not logged in (the session ended while the call was pending). */
#define IMSTATUS_ERR_NOT_LOGGED_IN 6014
/* Invalid parameters: custom status > 100 bytes or not UTF-8, no server
 * address, bad server address, another user logged in, unknown
 * experimental operation, a TIMSetConfig value out of range. */
#define IMSTATUS_ERR_INVALID_PARAMS 6017
/* Invalid JSON. */
#define IMSTATUS_ERR_INVALID_JSON 6027
/* The UserSig expired (noticed locally). */
#define IMSTATUS_ERR_SIG_EXPIRED_LOCAL 6206
/* Kicked offline: a newer login on the same platform, or the app's admin. */
#define IMSTATUS_ERR_KICKED_OFFLINE 6208
/* API call frequency limit (20 calls per 5 s per user and API by default);
 * answered locally when the window is already spent. */
#define IMSTATUS_ERR_FREQUENCY_LIMIT 7008
/* The app's edition does not include this API (needs ultimate), or an
 * upstream call imstatus does not have. */
#define IMSTATUS_ERR_EDITION 7013
/* Login: the UserSig expired. */
#define IMSTATUS_ERR_SIG_EXPIRED 70001
/* Login: the UserSig is empty. */
#define IMSTATUS_ERR_SIG_EMPTY 70002
/* Login: the UserSig failed verification. */
#define IMSTATUS_ERR_SIG_INVALID 70003
/* Login: the user id does not match the UserSig's identifier. */
#define IMSTATUS_ERR_SIG_IDENTIFIER 70013
/* Login: the SDKAppID does not match the UserSig's, or the server does not
 * know it. */
#define IMSTATUS_ERR_SIG_SDKAPPID 70014
/* An id has no account (subscribe; desc lists the ids). */
#define IMSTATUS_ERR_ACCOUNT_NOT_FOUND 70107
/* Too many ids in one call: > 500 for Get, > 100 for
 * Subscribe/Unsubscribe. */
#define IMSTATUS_ERR_BATCH_TOO_LARGE 70206
/* The server refused the request's parameters. */
#define IMSTATUS_ERR_SERVER_PARAMS 70402
/* REST: the call needs the app's admin. */
#define IMSTATUS_ERR_ADMIN_REQUIRED 70403
/* The server failed internally; try again later. */
#define IMSTATUS_ERR_SERVER_INTERNAL 70500
/* The server is overloaded; try again later (imstatus's own code: upstream
 * has none). */
#define IMSTATUS_ERR_SERVER_OVERLOADED 70503
/* The app's user-status switch is off. */
#define IMSTATUS_ERR_STATUS_DISABLED 72001
/* End of codes. */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* IMSTATUS_IMSTATUS_H_ */
