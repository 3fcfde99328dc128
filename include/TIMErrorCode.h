/*
 * TIMErrorCode.h: the error codes libImSDK (imstatus) answers, with upstream
 * 8.x's names and numbers (enum TIMErrCode), in a callback's code.
 *
 * Only the codes imstatus can answer are declared; upstream's others belong
 * to features imstatus does not have. One code has no upstream name:
 * 70503, server busy (IMSTATUS_ERR_SERVER_OVERLOADED in imstatus.h).
 */
#ifndef IMSTATUS_TIMERRORCODE_H_
#define IMSTATUS_TIMERRORCODE_H_

enum TIMErrCode {
    ERR_SUCC                                  = 0, /* success */
    ERR_REQUEST_TIME_OUT                      = 6012, /* no answer in time */
    ERR_SDK_NOT_INITIALIZED                   = 6013, /* SDK not initialised, or the call was pending at TIMUninit */
    ERR_SDK_NOT_LOGGED_IN                     = 6014, /* not logged in, or kicked */
    ERR_INVALID_PARAMETERS                    = 6017, /* invalid parameters (checked by the library) */
    ERR_INVALID_JSON                          = 6027, /* invalid JSON */
    ERR_USER_SIG_EXPIRED                      = 6206, /* UserSig expired (found by the library) */
    ERR_LOGIN_KICKED_OFF_BY_OTHER             = 6208, /* kicked offline by another login */
    ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT     = 7008, /* API call frequency limit */
    ERR_SDK_INTERFACE_NOT_SUPPORT             = 7013, /* the app's edition does not include this API, or an upstream call imstatus does not have */
    ERR_SDK_NET_DISCONNECT                    = 9508, /* the link is down, or dropped mid-call */
    ERR_SVR_ACCOUNT_USERSIG_EXPIRED           = 70001, /* UserSig expired */
    ERR_SVR_ACCOUNT_USERSIG_EMPTY             = 70002, /* UserSig empty */
    ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED      = 70003, /* UserSig check failed */
    ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID       = 70013, /* the user id does not match the UserSig */
    ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID = 70014, /* the SDKAppID does not match the UserSig */
    ERR_SVR_ACCOUNT_NOT_FOUND                 = 70107, /* no such account (REST) */
    ERR_SVR_ACCOUNT_INVALID_COUNT             = 70206, /* too many ids in one call */
    ERR_SVR_ACCOUNT_INVALID_PARAMETERS        = 70402, /* invalid parameters (checked by the server) */
    ERR_SVR_ACCOUNT_ADMIN_REQUIRED            = 70403, /* the REST call needs the app's admin */
    ERR_SVR_ACCOUNT_INTERNAL_ERROR            = 70500, /* server internal error; retry */
    ERR_SVR_ACCOUNT_USER_STATUS_DISABLED      = 72001, /* the user-status switch is off */
};

#endif /* IMSTATUS_TIMERRORCODE_H_ */
