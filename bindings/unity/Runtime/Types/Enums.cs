// Enums of the C API (TIMCloudDef.h), with upstream's names and values, in
// upstream's namespace so that `using com.tencent.imsdk.unity.enums;` keeps
// compiling.

namespace com.tencent.imsdk.unity.enums
{
    /// <summary>
    /// The synchronous result of every call. A call's callback runs if and
    /// only if the call returned <see cref="TIM_SUCC"/>, exactly once.
    /// </summary>
    public enum TIMResult
    {
        /// <summary>The call was accepted; its callback will run exactly once.</summary>
        TIM_SUCC = 0,
        /// <summary>Init has not been called (or Uninit has).</summary>
        TIM_ERR_SDKUNINIT = -1,
        /// <summary>The call needs a logged-in user and there is none.</summary>
        TIM_ERR_NOTLOGIN = -2,
        /// <summary>A JSON argument is not valid JSON.</summary>
        TIM_ERR_JSON = -3,
        /// <summary>An argument is missing, of the wrong type or out of range.</summary>
        TIM_ERR_PARAM = -4,
        /// <summary>Upstream: invalid conversation. Never returned by imstatus.</summary>
        TIM_ERR_CONV = -5,
        /// <summary>Upstream: invalid group. Never returned by imstatus.</summary>
        TIM_ERR_GROUP = -6,
    }

    /// <summary>What <c>TencentIMSDK.GetLoginStatus()</c> returns.</summary>
    public enum TIMLoginStatus
    {
        /// <summary>Logged in (also while the library reconnects on its own).</summary>
        kTIMLoginStatus_Logined = 1,
        /// <summary>Login is in progress.</summary>
        kTIMLoginStatus_Logining = 2,
        /// <summary>Not logged in, or not initialised.</summary>
        kTIMLoginStatus_UnLogined = 3,
        /// <summary>Logout is in progress.</summary>
        kTIMLoginStatus_Logouting = 4,
    }

    /// <summary>The state reported to the network status listener.</summary>
    public enum TIMNetworkStatus
    {
        /// <summary>Logged in over a new connection (first login or reconnect).</summary>
        kTIMConnected = 0,
        /// <summary>An established connection dropped; reconnection starts.</summary>
        kTIMDisconnected = 1,
        /// <summary>A connection attempt starts.</summary>
        kTIMConnecting = 2,
        /// <summary>A connection attempt failed; code and desc say why.</summary>
        kTIMConnectFailed = 3,
    }

    /// <summary>The level of a line given to the log callback.</summary>
    public enum TIMLogLevel
    {
        kTIMLog_Off = 0,
        kTIMLog_Test = 1,
        kTIMLog_Verbose = 2,
        kTIMLog_Debug = 3,
        kTIMLog_Info = 4,
        kTIMLog_Warn = 5,
        kTIMLog_Error = 6,
        kTIMLog_Assert = 7,
    }

    /// <summary>
    /// A user's status, shared by all of the user's devices.
    /// </summary>
    public enum TIMUserStatusType
    {
        /// <summary>The id has no account.</summary>
        kTIMUserStatusType_Unknown = 0,
        /// <summary>Upstream's spelling of <see cref="kTIMUserStatusType_Unknown"/>, kept for source compatibility.</summary>
        kTIMUserStatusType_Unkown = 0,
        /// <summary>At least one device is logged in over a live connection.</summary>
        kTIMUserStatusType_Online = 1,
        /// <summary>No live connection, but the last device did not log out.</summary>
        kTIMUserStatusType_Offline = 2,
        /// <summary>Never logged in, or every device logged out.</summary>
        kTIMUserStatusType_UnLogined = 3,
    }

    /// <summary>
    /// Operations of <c>TencentIMSDK.CallExperimentalAPI</c> that imstatus
    /// supports (the value goes into <c>request_internal_operation</c> as its name).
    /// </summary>
    public enum TIMInternalOperation
    {
        /// <summary>Upstream's SSO data request; imstatus answers 6017.</summary>
        internal_operation_sso_data,
        /// <summary>Upstream's user id to tiny id; imstatus answers 6017.</summary>
        internal_operation_userid_tinyid,
        /// <summary>Upstream's tiny id to user id; imstatus answers 6017.</summary>
        internal_operation_tinyid_userid,
        /// <summary>Upstream's test environment switch; imstatus answers 6017.</summary>
        internal_operation_set_env,
        /// <summary>Upstream's retry count; imstatus answers 6017.</summary>
        internal_operation_set_max_retry_count,
        /// <summary>Set the server addresses used from the next login.</summary>
        internal_operation_set_custom_server_info,
        /// <summary>Upstream's SM4-GCM callback; imstatus answers 6017.</summary>
        internal_operation_set_sm4_gcm_callback,
        /// <summary>Upstream's local storage; imstatus answers 6017.</summary>
        internal_operation_init_local_storage,
        /// <summary>Upstream's COS region of a conversation; imstatus answers 6017.</summary>
        internal_operation_set_cos_save_region_for_conversation,
        /// <summary>Tell the SDK which UI framework calls it (accepted, no effect).</summary>
        internal_operation_set_ui_platform,
        /// <summary>Add a line to the SDK log.</summary>
        internal_operation_write_log,
    }
}
