// The app's callback types, with upstream's names and signatures. Every one
// of them runs on the main thread: inside TencentIMSDK.Pump(), which the
// package calls once per frame in Unity (see TencentIMSDK).

using System.Collections.Generic;
using com.tencent.imsdk.unity.enums;
using com.tencent.imsdk.unity.types;

namespace com.tencent.imsdk.unity.callback
{
    /// <summary>
    /// The result of an asynchronous call that returns data. code 0 is
    /// success; otherwise desc says why and data is default(T).
    /// user_data names the call (e.g. "GetUserStatus_42").
    /// </summary>
    public delegate void ValueCallback<T>(int code, string desc, T data, string user_data);

    /// <summary>
    /// The result of an asynchronous call without data. code 0 is success;
    /// otherwise desc says why.
    /// </summary>
    public delegate void NullValueCallback(int code, string desc, string user_data);

    /// <summary>
    /// Users whose status changed: subscribed users, friends (when the app's
    /// auto-notify switch is on) and the current user itself (multi-device sync).
    /// </summary>
    public delegate void UserStatusChangedCallback(List<UserStatus> json_user_status_array, string user_data);

    /// <summary>As <see cref="UserStatusChangedCallback"/>, with the list as JSON text.</summary>
    public delegate void UserStatusChangedStringCallback(string json_user_status_array, string user_data);

    /// <summary>Connection state changes.</summary>
    public delegate void NetworkStatusListenerCallback(TIMNetworkStatus status, int code, string desc, string user_data);

    /// <summary>This device was logged out by a newer login of the same user on the same platform, or by the app's admin.</summary>
    public delegate void KickedOfflineCallback(string user_data);

    /// <summary>The session's UserSig expired: log in again with a new one.</summary>
    public delegate void UserSigExpiredCallback(string user_data);

    /// <summary>A line of the SDK's log.</summary>
    public delegate void LogCallback(TIMLogLevel log_level, string log, string user_data);
}
