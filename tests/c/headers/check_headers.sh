#!/usr/bin/env bash
# check_headers.sh INCLUDE_DIR: the public headers of libImSDK compile on
# their own as C11 and C++11 (-Wall -Wextra -Werror -pedantic), survive
# being included twice, and their enum values are those of SEMANTICS §5.
# Prints "N passed, M failed"; exits 1 on any failure.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 INCLUDE_DIR" >&2; exit 2; }
INC=$(cd "$1" && pwd)
CC=${CC:-gcc}
CXX=${CXX:-g++}
HEADERS=(TIMCloudComm.h TIMCloudDef.h TIMCloud.h imstatus.h TIMManager.h TIMErrorCode.h TIMExperimentalAPI.h)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

pass=0
fail=0
failures=()

# check NAME CMD...: run CMD, count the result, keep its output on failure.
check() {
	local name=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failures+=("$name")
		printf 'FAIL %s\n' "$name"
		head -n 40 "$TMP/out" | sed 's/^/    /'
	fi
}

# compile NAME FILE: syntax-check FILE as C11 and as C++11.
compile() {
	local name=$1 file=$2
	check "$name (C11)" "$CC" -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$INC" -x c "$file"
	check "$name (C++11)" "$CXX" -std=c++11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$INC" -x c++ "$file"
}

for h in "${HEADERS[@]}"; do
	# (A declaration of its own: a header of macros alone would leave ISO C
	# an empty translation unit.)
	printf '#include "%s"\ntypedef int check_headers_unit;\n' "$h" >"$TMP/alone_$h.c"
	compile "$h alone" "$TMP/alone_$h.c"
done

{
	for _ in 1 2; do
		for h in "${HEADERS[@]}"; do printf '#include "%s"\n' "$h"; done
	done
} >"$TMP/twice.c"
compile "all headers twice" "$TMP/twice.c"

# once MARKER: after preprocessing twice.c, MARKER appears exactly once (the
# include guards work, not only the tolerance of repeated declarations).
once() {
	local n
	n=$("$CC" -E -P -I"$INC" "$TMP/twice.c" | grep -c -- "$1" || true)
	[ "$n" -eq 1 ] || { echo "\"$1\" appears $n times"; return 1; }
}
check "TIMCloudDef.h guard" once 'TIMCommCallback)('
check "TIMCloud.h guard" once 'TIMSetLogCallback('
check "imstatus.h guard" once 'IMStatusPumpCallbacks('
check "TIMErrorCode.h guard" once 'enum TIMErrCode {'

# Upstream 8.x's ENABLE_STATIC_LIB empties TIM_API and TIM_DECL (a static
# library exports nothing); without it they mark exports.
cat >"$TMP/static.c" <<'C'
#define ENABLE_STATIC_LIB
#include "TIMManager.h"
#define S(x) #x
#define XS(x) S(x)
_Static_assert(sizeof(XS(TIM_API)) == 1, "TIM_API is empty with ENABLE_STATIC_LIB");
_Static_assert(sizeof(XS(TIM_DECL)) == 1, "TIM_DECL is empty with ENABLE_STATIC_LIB");
C
check "ENABLE_STATIC_LIB (C11)" "$CC" -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$INC" "$TMP/static.c"
cat >"$TMP/shared.c" <<'C'
#include "TIMManager.h"
#define S(x) #x
#define XS(x) S(x)
_Static_assert(sizeof(XS(TIM_DECL)) > 1, "TIM_DECL marks exports without ENABLE_STATIC_LIB");
C
check "TIM_DECL (C11)" "$CC" -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$INC" "$TMP/shared.c"

# The values of SEMANTICS §5, checked at compile time.
cat >"$TMP/values.c" <<'C'
#include "TIMCloud.h"
#include "imstatus.h"
#include "TIMErrorCode.h"
#include <string.h>

#define EQ(a, b) _Static_assert((a) == (b), #a " == " #b)

EQ(sizeof(enum TIMResult), sizeof(int));
EQ(sizeof(enum TIMNetworkStatus), sizeof(int));
EQ(sizeof(enum TIMLogLevel), sizeof(int));
EQ(sizeof(enum TIMLoginStatus), sizeof(int));
EQ(sizeof(enum TIMUserStatusType), sizeof(int));

EQ(TIM_SUCC, 0);
EQ(TIM_ERR_SDKUNINIT, -1);
EQ(TIM_ERR_NOTLOGIN, -2);
EQ(TIM_ERR_JSON, -3);
EQ(TIM_ERR_PARAM, -4);
EQ(TIM_ERR_CONV, -5);
EQ(TIM_ERR_GROUP, -6);

EQ(kTIMConnected, 0);
EQ(kTIMDisconnected, 1);
EQ(kTIMConnecting, 2);
EQ(kTIMConnectFailed, 3);

EQ(kTIMLog_Off, 0);
EQ(kTIMLog_Test, 1);
EQ(kTIMLog_Verbose, 2);
EQ(kTIMLog_Debug, 3);
EQ(kTIMLog_Info, 4);
EQ(kTIMLog_Warn, 5);
EQ(kTIMLog_Error, 6);
EQ(kTIMLog_Assert, 7);

EQ(kTIMLoginStatus_Logined, 1);
EQ(kTIMLoginStatus_Logining, 2);
EQ(kTIMLoginStatus_UnLogined, 3);
EQ(kTIMLoginStatus_Logouting, 4);

EQ(kTIMUserStatusType_Unkown, 0);
EQ(kTIMUserStatusType_Unknown, 0);
EQ(kTIMUserStatusType_Online, 1);
EQ(kTIMUserStatusType_Offline, 2);
EQ(kTIMUserStatusType_UnLogined, 3);

/* Upstream 8.x's names of the codes (TIMErrorCode.h) are imstatus.h's. */
EQ(ERR_SUCC, IMSTATUS_OK);
EQ(ERR_REQUEST_TIME_OUT, IMSTATUS_ERR_TIMEOUT);
EQ(ERR_SDK_NOT_INITIALIZED, IMSTATUS_ERR_SDK_UNINIT);
EQ(ERR_SDK_NOT_LOGGED_IN, IMSTATUS_ERR_NOT_LOGGED_IN);
EQ(ERR_INVALID_PARAMETERS, IMSTATUS_ERR_INVALID_PARAMS);
EQ(ERR_INVALID_JSON, IMSTATUS_ERR_INVALID_JSON);
EQ(ERR_USER_SIG_EXPIRED, IMSTATUS_ERR_SIG_EXPIRED_LOCAL);
EQ(ERR_LOGIN_KICKED_OFF_BY_OTHER, IMSTATUS_ERR_KICKED_OFFLINE);
EQ(ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT, IMSTATUS_ERR_FREQUENCY_LIMIT);
EQ(ERR_SDK_INTERFACE_NOT_SUPPORT, IMSTATUS_ERR_EDITION);
EQ(ERR_SDK_NET_DISCONNECT, IMSTATUS_ERR_NETWORK);
EQ(ERR_SVR_ACCOUNT_USERSIG_EXPIRED, IMSTATUS_ERR_SIG_EXPIRED);
EQ(ERR_SVR_ACCOUNT_USERSIG_EMPTY, IMSTATUS_ERR_SIG_EMPTY);
EQ(ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED, IMSTATUS_ERR_SIG_INVALID);
EQ(ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID, IMSTATUS_ERR_SIG_IDENTIFIER);
EQ(ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID, IMSTATUS_ERR_SIG_SDKAPPID);
EQ(ERR_SVR_ACCOUNT_NOT_FOUND, IMSTATUS_ERR_ACCOUNT_NOT_FOUND);
EQ(ERR_SVR_ACCOUNT_INVALID_COUNT, IMSTATUS_ERR_BATCH_TOO_LARGE);
EQ(ERR_SVR_ACCOUNT_INVALID_PARAMETERS, IMSTATUS_ERR_SERVER_PARAMS);
EQ(ERR_SVR_ACCOUNT_ADMIN_REQUIRED, IMSTATUS_ERR_ADMIN_REQUIRED);
EQ(ERR_SVR_ACCOUNT_INTERNAL_ERROR, IMSTATUS_ERR_SERVER_INTERNAL);
EQ(ERR_SVR_ACCOUNT_USER_STATUS_DISABLED, IMSTATUS_ERR_STATUS_DISABLED);
EQ(ERR_SDK_NET_DISCONNECT, 9508);
EQ(ERR_SVR_ACCOUNT_USER_STATUS_DISABLED, 72001);
/* And upstream's codes imstatus never answers are declared, so code that
 * switches on them compiles (first, last and a server one of upstream's). */
EQ(ERR_IN_PROGESS, 6015);
EQ(ERR_REQUEST_INVALID_COOKIE, 6258);
EQ(ERR_SVR_GROUP_NOT_FOUND, 10010);

EQ(IMSTATUS_CALLBACKS_DIRECT, 0);
EQ(IMSTATUS_CALLBACKS_QUEUED, 1);
EQ(IMSTATUS_OK, 0);
EQ(IMSTATUS_ERR_NETWORK, 9508);
EQ(IMSTATUS_ERR_TIMEOUT, 6012);
EQ(IMSTATUS_ERR_SDK_UNINIT, 6013);
EQ(IMSTATUS_ERR_NOT_LOGGED_IN, 6014);
EQ(IMSTATUS_ERR_INVALID_PARAMS, 6017);
EQ(IMSTATUS_ERR_INVALID_JSON, 6027);
EQ(IMSTATUS_ERR_SIG_EXPIRED_LOCAL, 6206);
EQ(IMSTATUS_ERR_KICKED_OFFLINE, 6208);
EQ(IMSTATUS_ERR_FREQUENCY_LIMIT, 7008);
EQ(IMSTATUS_ERR_EDITION, 7013);
EQ(IMSTATUS_ERR_SIG_EXPIRED, 70001);
EQ(IMSTATUS_ERR_SIG_EMPTY, 70002);
EQ(IMSTATUS_ERR_SIG_INVALID, 70003);
EQ(IMSTATUS_ERR_SIG_IDENTIFIER, 70013);
EQ(IMSTATUS_ERR_SIG_SDKAPPID, 70014);
EQ(IMSTATUS_ERR_ACCOUNT_NOT_FOUND, 70107);
EQ(IMSTATUS_ERR_BATCH_TOO_LARGE, 70206);
EQ(IMSTATUS_ERR_SERVER_PARAMS, 70402);
EQ(IMSTATUS_ERR_ADMIN_REQUIRED, 70403);
EQ(IMSTATUS_ERR_SERVER_INTERNAL, 70500);
EQ(IMSTATUS_ERR_SERVER_OVERLOADED, 70503);
EQ(IMSTATUS_ERR_STATUS_DISABLED, 72001);

/* The JSON keys are string literals with upstream's values. */
#define KEY(k, v) EQ(sizeof(k), sizeof(v))
KEY(kTIMUserStatusIdentifier, "user_status_identifier");
KEY(kTIMUserStatusStatusType, "user_status_status_type");
KEY(kTIMUserStatusCustomStatus, "user_status_custom_status");
KEY(kTIMUserStatusOnlineDevices, "user_status_online_devices");
KEY(KTIMUserStatusOnlineDevices, "user_status_online_devices");
KEY(kTIMSdkConfigConfigFilePath, "sdk_config_config_file_path");
KEY(kTIMSdkConfigLogFilePath, "sdk_config_log_file_path");

/* Upstream-style callbacks register without casts (the drop-in promise). */
static void on_conv(enum TIMConvEvent e, const char* j, const void* u) { (void)e; (void)j; (void)u; }
static void on_status(const char* j, const void* u) { (void)j; (void)u; }
static void on_result(int32_t c, const char* d, const char* j, const void* u) { (void)c; (void)d; (void)j; (void)u; }
void registers(void);
void registers(void) {
	TIMSetConvEventCallback(on_conv, NULL);
	TIMSetUserStatusChangedCallback(on_status, "unity user_data");
	TIMRemoveRecvNewMsgCallback(NULL);
	(void)TIMLogin("alice", "sig", on_result, NULL);
}

int keys_match(void);
int keys_match(void) {
	return strcmp(kTIMUserStatusIdentifier, "user_status_identifier") == 0 &&
	       strcmp(kTIMUserStatusStatusType, "user_status_status_type") == 0 &&
	       strcmp(kTIMUserStatusCustomStatus, "user_status_custom_status") == 0 &&
	       strcmp(kTIMUserStatusOnlineDevices, "user_status_online_devices") == 0 &&
	       strcmp(KTIMUserStatusOnlineDevices, "user_status_online_devices") == 0 &&
	       strcmp(kTIMSdkConfigConfigFilePath, "sdk_config_config_file_path") == 0 &&
	       strcmp(kTIMSdkConfigLogFilePath, "sdk_config_log_file_path") == 0 &&
	       strcmp(kTIMSdkConfigDeviceType, "sdk_config_device_type") == 0 &&
	       strcmp(kTIMSdkConfigBrandType, "sdk_config_brand_type") == 0 &&
	       strcmp(kTIMSdkConfigSystemVersion, "sdk_config_system_version") == 0 &&
	       strcmp(kTIMSdkConfigJavaVM, "sdk_config_java_vm") == 0 &&
	       strcmp(kTIMRequestInternalOperation, "request_internal_operation") == 0 &&
	       strcmp(kTIMInternalOperationSetCustomServerInfo, "internal_operation_set_custom_server_info") == 0 &&
	       strcmp(kTIMInternalOperationSetUIPlatform, "internal_operation_set_ui_platform") == 0 &&
	       strcmp(kTIMInternalOperationWriteLog, "internal_operation_write_log") == 0 &&
	       strcmp(kTIMRequestSetCustomServerInfoParam, "request_set_custom_server_info_param") == 0 &&
	       strcmp(kTIMCustomServerInfoLongConnectionAddressArray, "longconnection_address_array") == 0;
}
C
check "enum values and keys (C11)" "$CC" -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$INC" "$TMP/values.c"

# Every function is declared with SEMANTICS §5's exact type (C++ compares
# function types exactly: const, return and parameter types included), and
# the six callback typedefs are SEMANTICS §5's.
cat >"$TMP/protos.cc" <<'CXX'
#include "TIMCloud.h"
#include "imstatus.h"

template <typename A, typename B> struct same { static const bool value = false; };
template <typename A> struct same<A, A> { static const bool value = true; };
#define SIG(name, ret, args) \
	static_assert(same<decltype(&name), ret(TIM_CALL*) args>::value, #name " has SEMANTICS §5's type")
#define CB(name, args) static_assert(same<name, void(TIM_CALL*) args>::value, #name " is SEMANTICS §5's")

CB(TIMCommCallback, (int32_t, const char*, const char*, const void*));
CB(TIMUserStatusChangedCallback, (const char*, const void*));
CB(TIMNetworkStatusListenerCallback, (enum TIMNetworkStatus, int32_t, const char*, const void*));
CB(TIMKickedOfflineCallback, (const void*));
CB(TIMUserSigExpiredCallback, (const void*));
CB(TIMLogCallback, (enum TIMLogLevel, const char*, const void*));

SIG(TIMInit, int, (uint64_t, const char*));
SIG(TIMUninit, int, (void));
SIG(TIMGetSDKVersion, const char*, (void));
SIG(TIMLogin, int, (const char*, const char*, TIMCommCallback, const void*));
SIG(TIMLogout, int, (TIMCommCallback, const void*));
SIG(TIMGetLoginStatus, enum TIMLoginStatus, (void));
SIG(TIMGetLoginUserID, int, (char*));
SIG(TIMSetSelfStatus, int, (const char*, TIMCommCallback, const void*));
SIG(TIMGetUserStatus, int, (const char*, TIMCommCallback, const void*));
SIG(TIMSubscribeUserStatus, int, (const char*, TIMCommCallback, const void*));
SIG(TIMUnsubscribeUserStatus, int, (const char*, TIMCommCallback, const void*));
SIG(TIMSetUserStatusChangedCallback, void, (TIMUserStatusChangedCallback, const void*));
SIG(TIMSetNetworkStatusListenerCallback, void, (TIMNetworkStatusListenerCallback, const void*));
SIG(TIMSetKickedOfflineCallback, void, (TIMKickedOfflineCallback, const void*));
SIG(TIMSetUserSigExpiredCallback, void, (TIMUserSigExpiredCallback, const void*));
SIG(TIMSetLogCallback, void, (TIMLogCallback, const void*));
SIG(callExperimentalAPI, int, (const char*, TIMCommCallback, const void*));
SIG(TIMRemoveRecvNewMsgCallback, void, (TIMRecvNewMsgCallback));
SIG(TIMSetConvEventCallback, void, (TIMConvEventCallback, const void*));
SIG(TIMSetConvTotalUnreadMessageCountChangedCallback, void, (TIMConvTotalUnreadMessageCountChangedCallback, const void*));
SIG(TIMSetFriendAddRequestCallback, void, (TIMFriendAddRequestCallback, const void*));
SIG(TIMSetFriendApplicationListDeletedCallback, void, (TIMFriendApplicationListDeletedCallback, const void*));
SIG(TIMSetFriendApplicationListReadCallback, void, (TIMFriendApplicationListReadCallback, const void*));
SIG(TIMSetFriendBlackListAddedCallback, void, (TIMFriendBlackListAddedCallback, const void*));
SIG(TIMSetFriendBlackListDeletedCallback, void, (TIMFriendBlackListDeletedCallback, const void*));
SIG(TIMSetGroupAttributeChangedCallback, void, (TIMGroupAttributeChangedCallback, const void*));
SIG(TIMSetGroupTipsEventCallback, void, (TIMGroupTipsEventCallback, const void*));
SIG(TIMSetMsgElemUploadProgressCallback, void, (TIMMsgElemUploadProgressCallback, const void*));
SIG(TIMSetMsgReadedReceiptCallback, void, (TIMMsgReadedReceiptCallback, const void*));
SIG(TIMSetMsgReactionsChangedCallback, void, (TIMMsgReactionsChangedCallback, const void*));
SIG(TIMSetMsgAllMessageReceiveOptionCallback, void, (TIMMsgAllMessageReceiveOptionCallback, const void*));
SIG(TIMSetMsgRevokeCallback, void, (TIMMsgRevokeCallback, const void*));
SIG(TIMSetMsgUpdateCallback, void, (TIMMsgUpdateCallback, const void*));
SIG(TIMSetOnAddFriendCallback, void, (TIMOnAddFriendCallback, const void*));
SIG(TIMSetOnDeleteFriendCallback, void, (TIMOnDeleteFriendCallback, const void*));
SIG(TIMSetUpdateFriendProfileCallback, void, (TIMUpdateFriendProfileCallback, const void*));
SIG(IMStatusSetCallbackMode, int, (int));
SIG(IMStatusPumpCallbacks, int, (int));

// Upstream-style callbacks register without casts (the drop-in promise).
static void on_conv(enum TIMConvEvent, const char*, const void*) {}
static void on_progress(const char*, uint32_t, uint32_t, uint32_t, const void*) {}
static void on_read(const void*) {}
void registers_upstream_callbacks();
void registers_upstream_callbacks() {
	TIMSetConvEventCallback(on_conv, nullptr);
	TIMSetMsgElemUploadProgressCallback(on_progress, nullptr);
	TIMSetFriendApplicationListReadCallback(on_read, nullptr);
	TIMSetConvEventCallback(nullptr, nullptr);
}
CXX
check "prototypes and callback types (C++11)" "$CXX" -std=c++11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$INC" "$TMP/protos.cc"

printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
