// Data types of the C API's JSON, with upstream's class names and with field
// names that are exactly the C JSON keys (TIMCloudDef.h). They are plain
// classes: the JSON library is chosen in Internal/Json.cs only. A null field
// is left out of the JSON the SDK sends.

using System.Collections.Generic;
using com.tencent.imsdk.unity.enums;
using com.tencent.imsdk.unity.utils;

namespace com.tencent.imsdk.unity.types
{
    /// <summary>
    /// A user's status: an element of GetUserStatus's result and of the
    /// status-changed callback's list. SetSelfStatus reads only
    /// <see cref="user_status_custom_status"/>.
    /// </summary>
    [Preserve]
    public class UserStatus
    {
        /// <summary>Read only: the user id.</summary>
        public string user_status_identifier;
        /// <summary>Read only: online, offline, unlogined, or unknown (no such account).</summary>
        public TIMUserStatusType? user_status_status_type;
        /// <summary>Read and write: free UTF-8 text, at most 100 bytes; "" when none.</summary>
        public string user_status_custom_status;
        /// <summary>Read only: the platforms of the user's live devices, e.g. ["Windows","Android"].</summary>
        public List<string> user_status_online_devices;
    }

    /// <summary>
    /// Init's configuration. Every field is optional.
    /// </summary>
    [Preserve]
    public class SdkConfig
    {
        /// <summary>Directory for the SDK's configuration files.</summary>
        public string sdk_config_config_file_path;
        /// <summary>Directory the SDK writes its log files into.</summary>
        public string sdk_config_log_file_path;
        /// <summary>The device's model or type.</summary>
        public string sdk_config_device_type;
        /// <summary>The device's brand.</summary>
        public string sdk_config_brand_type;
        /// <summary>The operating system's version.</summary>
        public string sdk_config_system_version;
        /// <summary>The JavaVM pointer on Android; ignored elsewhere.</summary>
        public ulong? sdk_config_java_vm;
    }

    /// <summary>One server address of <see cref="CustomServerInfo"/>.</summary>
    [Preserve]
    public class ServerAddress
    {
        /// <summary>Host name, IPv4 or IPv6 address; or, for imstatus, a full
        /// ws:// or wss:// URL ("wss://presence.example.com/ws"), whose port
        /// makes <see cref="server_address_port"/> unused.</summary>
        public string server_address_ip;
        /// <summary>Port, 1..65535 (unused with a URL).</summary>
        public int server_address_port;
        /// <summary>Whether <see cref="server_address_ip"/> is an IPv6 address.</summary>
        public bool server_address_is_ipv6;
    }

    /// <summary>
    /// The servers of a private deployment (internal_operation_set_custom_server_info).
    /// Several addresses mean failover: tried in order.
    /// </summary>
    [Preserve]
    public class CustomServerInfo
    {
        /// <summary>Required, non-empty: the long-connection servers.</summary>
        public List<ServerAddress> longconnection_address_array;
        /// <summary>Upstream only; ignored by imstatus.</summary>
        public List<ServerAddress> shortconnection_address_array;
        /// <summary>For imstatus: PEM certificates to trust for wss:// besides
        /// the platform's authorities (e.g. a self-signed server's); any other
        /// value (an upstream key) is ignored.</summary>
        public string server_public_key;
    }

    /// <summary>
    /// The argument of <c>TencentIMSDK.CallExperimentalAPI</c> (upstream's
    /// spelling; <see cref="ExperimentalAPIRequestParam"/> is the same type
    /// under the newer upstream name).
    /// </summary>
    [Preserve]
    public class ExperimentalAPIReqeustParam : ExtraData
    {
        /// <summary>Required: the operation, a <see cref="TIMInternalOperation"/> name.</summary>
        public string request_internal_operation;
        /// <summary>Upstream's, for internal_operation_sso_data (imstatus answers 6017).</summary>
        public SSODataParam request_sso_data_param;
        /// <summary>Upstream's, for internal_operation_userid_tinyid (imstatus answers 6017).</summary>
        public List<string> request_userid_tinyid_param;
        /// <summary>Upstream's, for internal_operation_tinyid_userid (imstatus answers 6017).</summary>
        public List<ulong> request_tinyid_userid_param;
        /// <summary>Upstream's, for internal_operation_set_env (imstatus answers 6017).</summary>
        public bool? request_set_env_param;
        /// <summary>Upstream's, for internal_operation_set_max_retry_count (imstatus answers 6017).</summary>
        public int? request_set_max_retry_count_param;
        /// <summary>For internal_operation_set_custom_server_info.</summary>
        public CustomServerInfo request_set_custom_server_info_param;
        /// <summary>Upstream's, for internal_operation_set_sm4_gcm_callback (imstatus answers 6017).</summary>
        public SM4GCMCallbackParam request_set_sm4_gcm_callback_param;
        /// <summary>Upstream's, for internal_operation_init_local_storage (imstatus answers 6017).</summary>
        public string request_init_local_storage_user_id_param;
        /// <summary>Upstream's, for internal_operation_set_cos_save_region_for_conversation (imstatus answers 6017).</summary>
        public CosSaveRegionForConversationParam request_set_cos_save_region_for_conversation_param;
        /// <summary>For internal_operation_set_ui_platform (upstream sends a number or a string).</summary>
        public object request_set_ui_platform_param;
        /// <summary>For internal_operation_write_log: the line's <see cref="TIMLogLevel"/>.</summary>
        public int? request_write_log_log_level_param;
        /// <summary>For internal_operation_write_log: the line's text.</summary>
        public string request_write_log_log_content_param;
        /// <summary>For internal_operation_write_log: the caller's source file.</summary>
        public string request_write_log_file_name_param;
        /// <summary>For internal_operation_write_log: the caller's function.</summary>
        public string request_write_log_func_name_param;
        /// <summary>For internal_operation_write_log: the caller's line number.</summary>
        public int? request_write_log_line_number_param;
    }

    /// <summary>The newer upstream name of <see cref="ExperimentalAPIReqeustParam"/>.</summary>
    [Preserve]
    public class ExperimentalAPIRequestParam : ExperimentalAPIReqeustParam
    {
    }

    /// <summary>
    /// SetConfig's settings, and its answer (every setting). imstatus takes
    /// these members of upstream's class; it ignores its proxies (they serve
    /// file transfers imstatus does not make) and user config.
    /// </summary>
    [Preserve]
    public class SetConfig
    {
        /// <summary>The lowest level written to the log file; kTIMLog_Off: none.</summary>
        public TIMLogLevel? set_config_log_level;
        /// <summary>The lowest level passed to the log callback; kTIMLog_Off: none.</summary>
        public TIMLogLevel? set_config_callback_log_level;
        /// <summary>Upstream's console switch: kept and answered (imstatus writes no console log).</summary>
        public bool? set_config_is_log_output_console;
        /// <summary>The app's own data, UTF-8, at most 64 bytes: kept and answered.</summary>
        public string set_config_user_define_data;
    }

    /// <summary>
    /// CallExperimentalAPI's result under its older upstream name (up to
    /// 7.9); <see cref="ResponseInfo"/>, 8.x's, derives from it, so a
    /// callback method written for this one still converts to
    /// <c>ValueCallback&lt;ResponseInfo&gt;</c>.
    /// </summary>
    [Preserve]
    public class ReponseInfo : ExtraData
    {
        /// <summary>The operation answered.</summary>
        public string response_internal_operation;
        /// <summary>Upstream's answer to internal_operation_sso_data (never, from imstatus).</summary>
        public SSODataRes response_sso_data_res;
        /// <summary>Upstream's answer to internal_operation_userid_tinyid (never, from imstatus).</summary>
        public List<UserInfo> response_userid_tinyid_res;
        /// <summary>Upstream's answer to internal_operation_tinyid_userid (never, from imstatus).</summary>
        public List<UserInfo> response_tinyid_userid_res;
        /// <summary>Upstream's answer to internal_operation_set_env (never, from imstatus).</summary>
        public bool response_set_env_res;
    }

    /// <summary>Upstream's SSO request (internal_operation_sso_data); imstatus has none.</summary>
    [Preserve]
    public class SSODataParam : ExtraData
    {
        public string sso_data_param_cmd;
        public string sso_data_param_body;
        public ulong sso_data_param_timeout;
    }

    /// <summary>Upstream's SSO answer; imstatus sends none.</summary>
    [Preserve]
    public class SSODataRes : ExtraData
    {
        public string sso_data_res_cmd;
        public string sso_data_res_body;
    }

    /// <summary>Upstream's user id and tiny id pair; imstatus sends none.</summary>
    [Preserve]
    public class UserInfo : ExtraData
    {
        public string user_info_userid;
        public uint user_info_tinyid;
    }

    /// <summary>Upstream's SM4-GCM callbacks (internal_operation_set_sm4_gcm_callback); imstatus has none.</summary>
    [Preserve]
    public class SM4GCMCallbackParam : ExtraData
    {
        public ulong sm4_gcm_callback_param_encrypt;
        public ulong sm4_gcm_callback_param_decrypt;
    }

    /// <summary>Upstream's COS region of a conversation; imstatus has none.</summary>
    [Preserve]
    public class CosSaveRegionForConversationParam : ExtraData
    {
        public string cos_save_region_for_conversation_param_conversation_id;
        public string cos_save_region_for_conversation_param_cos_save_region;
    }

    /// <summary>
    /// CallExperimentalAPI's result (upstream 8.x's name). imstatus answers
    /// no data: the callback's data is null.
    /// </summary>
    [Preserve]
    public class ResponseInfo : ReponseInfo
    {
    }

    /// <summary>
    /// Upstream's base of its data types, where its JSON library keeps the
    /// keys a type does not name. Here such keys are ignored; the class is
    /// kept so that code naming it compiles.
    /// </summary>
    [Preserve]
    public class ExtraData
    {
    }
}
