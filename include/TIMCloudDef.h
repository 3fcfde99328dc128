/*
 * TIMCloudDef.h: types, constants and JSON keys of libImSDK (imstatus).
 *
 * imstatus is a self-hosted drop-in for the user-status part of Tencent Cloud
 * IM's native C API. This header holds everything but the function
 * prototypes: the enums (with
 * upstream's tags and constant names), the callback typedefs and the JSON
 * keys. The functions are declared in TIMCloud.h (upstream's API) and
 * imstatus.h (imstatus extras); both include this file. The export and
 * calling-convention macros are in TIMCloudComm.h, as in upstream 8.x.
 *
 * This header declares no function, so the library's own cgo preamble can
 * include it. See TIMCloud.h for the rules on threading and memory.
 */
#ifndef IMSTATUS_TIMCLOUDDEF_H_
#define IMSTATUS_TIMCLOUDDEF_H_

#include <stdint.h>

#include "TIMCloudComm.h" /* TIM_API, TIM_DECL, TIM_CALL */

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Enums                                                                     */
/* ------------------------------------------------------------------------ */

/*
 * TIMResult is the synchronous return value of every int-returning function.
 * A function's TIMCommCallback is called if and only if it returned TIM_SUCC,
 * exactly once. The asynchronous codes a callback receives are listed in
 * imstatus.h (IMSTATUS_ERR_...).
 */
enum TIMResult {
    /* The call was accepted; its callback will be called exactly once. */
    TIM_SUCC = 0,
    /* TIMInit has not been called (or TIMUninit has). */
    TIM_ERR_SDKUNINIT = -1,
    /* The call needs a logged-in user and there is none. */
    TIM_ERR_NOTLOGIN = -2,
    /* A JSON argument is not valid JSON (or TIMInit's config is not an object). */
    TIM_ERR_JSON = -3,
    /* An argument is missing (NULL), of the wrong JSON type, or out of range. */
    TIM_ERR_PARAM = -4,
    /* Upstream: invalid conversation. Never returned by imstatus. */
    TIM_ERR_CONV = -5,
    /* Upstream: invalid group. Never returned by imstatus. */
    TIM_ERR_GROUP = -6
};

/* TIMNetworkStatus is the state reported to TIMNetworkStatusListenerCallback. */
enum TIMNetworkStatus {
    /* Logged in over a new connection (first login or reconnect). */
    kTIMConnected = 0,
    /* An established connection dropped; reconnection starts. */
    kTIMDisconnected = 1,
    /* A connection attempt starts. */
    kTIMConnecting = 2,
    /* A connection attempt failed; code and desc say why. */
    kTIMConnectFailed = 3
};

/* TIMLogLevel is the level of a line given to TIMLogCallback. */
enum TIMLogLevel {
    kTIMLog_Off = 0,
    kTIMLog_Test = 1,
    kTIMLog_Verbose = 2,
    kTIMLog_Debug = 3,
    kTIMLog_Info = 4,
    kTIMLog_Warn = 5,
    kTIMLog_Error = 6,
    kTIMLog_Assert = 7
};

/* TIMLoginStatus is what TIMGetLoginStatus returns. */
enum TIMLoginStatus {
    /* Logged in (also while the library reconnects on its own). */
    kTIMLoginStatus_Logined = 1,
    /* TIMLogin is in progress. */
    kTIMLoginStatus_Logining = 2,
    /* Not logged in, or not initialised. */
    kTIMLoginStatus_UnLogined = 3,
    /* TIMLogout is in progress. */
    kTIMLoginStatus_Logouting = 4
};

/*
 * TIMUserStatusType is the value of kTIMUserStatusStatusType in a user status
 * object. A user's status is shared by all of its devices.
 */
enum TIMUserStatusType {
    /* Upstream's spelling, kept for source compatibility. */
    kTIMUserStatusType_Unkown = 0,
    /* The id has no account. */
    kTIMUserStatusType_Unknown = 0,
    /* At least one device is logged in over a live connection. */
    kTIMUserStatusType_Online = 1,
    /* No live connection, but the last device did not log out. */
    kTIMUserStatusType_Offline = 2,
    /* Never logged in, or every device logged out. */
    kTIMUserStatusType_UnLogined = 3
};

/*
 * TIMConvEvent is upstream's conversation event, needed only to declare
 * TIMConvEventCallback. imstatus has no conversations and never reports one.
 */
enum TIMConvEvent {
    kTIMConvEvent_Add = 0,
    kTIMConvEvent_Del = 1,
    kTIMConvEvent_Update = 2,
    kTIMConvEvent_Start = 3,
    kTIMConvEvent_Finish = 4
};

/* ------------------------------------------------------------------------ */
/* Callbacks                                                                 */
/*                                                                           */
/* Every callback runs on the library's dispatcher thread (or, in queued     */
/* mode, inside IMStatusPumpCallbacks), one at a time. Strings it receives   */
/* belong to the library and are valid only during the call: copy what you  */
/* keep. user_data is the pointer given at registration or call time,        */
/* handed back unchanged and never dereferenced.                             */
/* ------------------------------------------------------------------------ */

/*
 * TIMCommCallback receives the result of an asynchronous call.
 *   code:        0 on success, else an asynchronous error code (imstatus.h).
 *   desc:        a readable reason; never empty when code != 0.
 *   json_params: the call's result as JSON text ("" when the call returns
 *                no data), e.g. TIMGetUserStatus's array of status objects.
 */
typedef void (TIM_CALL *TIMCommCallback)(int32_t code, const char* desc, const char* json_params, const void* user_data);

/*
 * TIMUserStatusChangedCallback receives a JSON array of user status objects
 * (the shape of TIMGetUserStatus's result) whose status changed.
 */
typedef void (TIM_CALL *TIMUserStatusChangedCallback)(const char* json_user_status_array, const void* user_data);

/* TIMNetworkStatusListenerCallback receives connection state changes. */
typedef void (TIM_CALL *TIMNetworkStatusListenerCallback)(enum TIMNetworkStatus status, int32_t code, const char* desc, const void* user_data);

/* TIMKickedOfflineCallback: this device was logged out by the server (6208). */
typedef void (TIM_CALL *TIMKickedOfflineCallback)(const void* user_data);

/* TIMUserSigExpiredCallback: the session's UserSig expired; log in again. */
typedef void (TIM_CALL *TIMUserSigExpiredCallback)(const void* user_data);

/* TIMLogCallback receives every SDK log line with its level. */
typedef void (TIM_CALL *TIMLogCallback)(enum TIMLogLevel level, const char* log, const void* user_data);

/*
 * Upstream's messaging, conversation, relationship, group, profile and
 * experimental-notify callbacks, with
 * upstream's signatures, so that code written against the upstream SDK can
 * register its callbacks unchanged (TIMCloud.h, "Drop-in registrations").
 * imstatus accepts these registrations and never calls them.
 */
typedef void (TIM_CALL *TIMRecvNewMsgCallback)(const char* json_msg_array, const void* user_data);
typedef void (TIM_CALL *TIMMsgElemUploadProgressCallback)(const char* json_msg, uint32_t index, uint32_t cur_size, uint32_t total_size, const void* user_data);
typedef void (TIM_CALL *TIMMsgReadedReceiptCallback)(const char* json_msg_read_receipt_array, const void* user_data);
typedef void (TIM_CALL *TIMMsgRevokeCallback)(const char* json_msg_revoke_info_array, const void* user_data);
typedef void (TIM_CALL *TIMMsgUpdateCallback)(const char* json_msg_array, const void* user_data);
typedef void (TIM_CALL *TIMMsgReactionsChangedCallback)(const char* message_reaction_change_info_array, const void* user_data);
typedef void (TIM_CALL *TIMMsgAllMessageReceiveOptionCallback)(const char* json_receive_message_option_info, const void* user_data);
typedef void (TIM_CALL *TIMConvEventCallback)(enum TIMConvEvent conv_event, const char* json_conv_array, const void* user_data);
typedef void (TIM_CALL *TIMConvTotalUnreadMessageCountChangedCallback)(int total_unread_count, const void* user_data);
typedef void (TIM_CALL *TIMOnAddFriendCallback)(const char* json_identifier_array, const void* user_data);
typedef void (TIM_CALL *TIMOnDeleteFriendCallback)(const char* json_identifier_array, const void* user_data);
typedef void (TIM_CALL *TIMUpdateFriendProfileCallback)(const char* json_friend_profile_update_array, const void* user_data);
typedef void (TIM_CALL *TIMFriendAddRequestCallback)(const char* json_friend_add_request_pendency_array, const void* user_data);
typedef void (TIM_CALL *TIMFriendApplicationListDeletedCallback)(const char* json_identifier_array, const void* user_data);
typedef void (TIM_CALL *TIMFriendApplicationListReadCallback)(const void* user_data);
typedef void (TIM_CALL *TIMFriendBlackListAddedCallback)(const char* json_friend_black_added_array, const void* user_data);
typedef void (TIM_CALL *TIMFriendBlackListDeletedCallback)(const char* json_identifier_array, const void* user_data);
typedef void (TIM_CALL *TIMGroupTipsEventCallback)(const char* json_group_tip, const void* user_data);
typedef void (TIM_CALL *TIMGroupAttributeChangedCallback)(const char* group_id, const char* json_group_attribute_array, const void* user_data);
typedef void (TIM_CALL *TIMSelfInfoUpdatedCallback)(const char* json_user_profile, const void* user_data);
typedef void (TIM_CALL *TIMUserInfoChangedCallback)(const char* json_user_info_array, const void* user_data);
typedef void (TIM_CALL *TIMExperimentalNotifyCallback)(const char* key, const char* data, const void* user_data);

/*
 * TIMGenericCallback is a function pointer of no particular signature. Every
 * callback type above has the same representation, so the library stores any
 * of them as a TIMGenericCallback; C code may use it to hold or pass a
 * callback of unknown type (cast explicitly; C++: reinterpret_cast).
 */
typedef void (TIM_CALL *TIMGenericCallback)(void);

/* ------------------------------------------------------------------------ */
/* JSON keys                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * User status object: an element of TIMGetUserStatus's result and of the
 * status-changed callback's array; TIMSetSelfStatus reads only
 * kTIMUserStatusCustomStatus from it.
 *   {"user_status_identifier":"alice","user_status_status_type":1,
 *    "user_status_custom_status":"in a match",
 *    "user_status_online_devices":["Windows","Android"]}
 */
/* string: the user id. */
#define kTIMUserStatusIdentifier "user_status_identifier"
/* uint, enum TIMUserStatusType: 0 unknown, 1 online, 2 offline, 3 unlogined. */
#define kTIMUserStatusStatusType "user_status_status_type"
/* string: free UTF-8 text, at most 100 bytes; "" when none. */
#define kTIMUserStatusCustomStatus "user_status_custom_status"
/* array of strings, read only: platforms of the user's live devices
 * ("iPhone", "Android", "iPad", "Windows", "Mac", "Linux", "Web"). */
#define kTIMUserStatusOnlineDevices "user_status_online_devices"
/* Upstream 8.x's own spelling of the same key (capital K): code written
 * against its TIMCloudDef.h compiles unchanged. */
#define KTIMUserStatusOnlineDevices kTIMUserStatusOnlineDevices

/* TIMInit's json_sdk_config: an object; every key optional. */
/* string: directory for the SDK's configuration files. */
#define kTIMSdkConfigConfigFilePath "sdk_config_config_file_path"
/* string: directory the SDK writes its log files into. */
#define kTIMSdkConfigLogFilePath "sdk_config_log_file_path"
/* string: the device's model or type. */
#define kTIMSdkConfigDeviceType "sdk_config_device_type"
/* string: the device's brand. */
#define kTIMSdkConfigBrandType "sdk_config_brand_type"
/* string: the operating system's version. */
#define kTIMSdkConfigSystemVersion "sdk_config_system_version"
/* uint64: the JavaVM pointer on Android; ignored elsewhere. */
#define kTIMSdkConfigJavaVM "sdk_config_java_vm"

/* TIMSetConfig's json_config: an object; every key optional. */
/* uint, enum TIMLogLevel: the lowest level written to the log file. */
#define kTIMSetConfigLogLevel "set_config_log_level"
/* uint, enum TIMLogLevel: the lowest level passed to the log callback. */
#define kTIMSetConfigCallbackLogLevel "set_config_callback_log_level"
/* bool: upstream's console switch; kept and answered (imstatus writes no console log). */
#define kTIMSetConfigIsLogOutputConsole "set_config_is_log_output_console"
/* string, at most 64 bytes: the app's own data; kept and answered. */
#define kTIMSetConfigUserDefineData "set_config_user_define_data"

/* callExperimentalAPI's json_param. */
/* string: the operation, one of the kTIMInternalOperation... values. */
#define kTIMRequestInternalOperation "request_internal_operation"
/* Operation: set the server addresses (param kTIMRequestSetCustomServerInfoParam). */
#define kTIMInternalOperationSetCustomServerInfo "internal_operation_set_custom_server_info"
/* Operation: tell the SDK which UI framework calls it (param kTIMRequestSetUIPlatformParam). */
#define kTIMInternalOperationSetUIPlatform "internal_operation_set_ui_platform"
/* Operation: add a line to the SDK log (params kTIMRequestWriteLog...). */
#define kTIMInternalOperationWriteLog "internal_operation_write_log"
/* object: {"longconnection_address_array":[...],"server_public_key":"..."}. */
#define kTIMRequestSetCustomServerInfoParam "request_set_custom_server_info_param"
/* array of server address objects, required, non-empty; tried in order. */
#define kTIMCustomServerInfoLongConnectionAddressArray "longconnection_address_array"
/* string: accepted and ignored by imstatus. */
#define kTIMCustomServerInfoServerPublicKey "server_public_key"
/* string: host name, IPv4 or IPv6 address (server address object). */
#define kTIMServerAddressIp "server_address_ip"
/* int: port, 1..65535 (server address object). */
#define kTIMServerAddressPort "server_address_port"
/* bool, optional: server_address_ip is an IPv6 address (server address object). */
#define kTIMServerAddressIsIPv6 "server_address_is_ipv6"
/* uint: the UI platform (set_ui_platform). */
#define kTIMRequestSetUIPlatformParam "request_set_ui_platform_param"
/* int, enum TIMLogLevel: the line's level (write_log). */
#define kTIMRequestWriteLogLogLevelParam "request_write_log_log_level_param"
/* string: the line's text (write_log). */
#define kTIMRequestWriteLogLogContentParam "request_write_log_log_content_param"
/* string: the caller's source file (write_log). */
#define kTIMRequestWriteLogFileNameParam "request_write_log_file_name_param"
/* string: the caller's function (write_log). */
#define kTIMRequestWriteLogFuncNameParam "request_write_log_func_name_param"
/* int: the caller's line number (write_log). */
#define kTIMRequestWriteLogLineNumberParam "request_write_log_line_number_param"

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* IMSTATUS_TIMCLOUDDEF_H_ */
