// TencentIMSDK: the user-status part of upstream's Unity API
// (com.tencent.imsdk.unity) over libImSDK (imstatus).
//
// Threading. The package puts the library in queued mode
// (IMStatusSetCallbackMode(1)): no library thread ever calls into C#. Pump()
// runs the queued native callbacks, which only copy their strings into a
// managed queue, and then hands each result to the app's callback. So every
// app callback runs on the thread that calls Pump(): in Unity the package
// calls it once per frame from the PlayerLoop (MainThreadPump.cs); other
// hosts, and tests, call TencentIMSDK.Pump() from their main thread. App
// code never runs inside a native frame, so an exception it throws cannot
// cross into native code (it is logged and delivery goes on).
//
// Uninit. In queued mode TIMUninit runs, on the calling thread, whatever is
// still queued, pending calls completing with 6013. Uninit() called on the
// main thread then delivers those results before it returns; called on
// another thread, it leaves them for the next Pump(). Either way each
// callback runs exactly once, on the main thread.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using AOT;
using com.tencent.imsdk.unity.callback;
using com.tencent.imsdk.unity.enums;
using com.tencent.imsdk.unity.native;
using com.tencent.imsdk.unity.types;
using com.tencent.imsdk.unity.utils;

namespace com.tencent.imsdk.unity
{
    /// <summary>
    /// The SDK: initialisation, login, and user status (query, set, subscribe,
    /// change notifications). Every method may be called from any thread;
    /// every callback runs on the main thread (see <see cref="Pump"/>).
    /// A plain class with static members, as upstream's.
    /// </summary>
    public class TencentIMSDK
    {
        /// <summary>The async code for JSON the SDK handed over that could not be read.</summary>
        private const int ErrInvalidJson = 6027;

        private enum Kind : byte
        {
            Comm,
            StatusChanged,
            Network,
            Kicked,
            SigExpired,
            Log,
        }

        // One result or event, copied out of native memory, waiting for the main thread.
        private struct Event
        {
            public Kind Kind;
            public int Key;
            public int Code;
            public int Extra;
            public string Desc;
            public string Json;
        }

        // A call whose result has not arrived yet.
        private struct Pending
        {
            public string Api;
            public Delegate Callback;
        }

        private static readonly object s_lock = new object();
        private static volatile bool s_setup;
        private static volatile int s_mainThreadId; // 0: not known yet
        private static int s_pumping; // 1 while Pump runs
        private static int s_nextKey;
        private static int s_registrations;
        private static readonly Dictionary<int, Pending> s_pending = new Dictionary<int, Pending>();
        private static readonly Queue<Event> s_events = new Queue<Event>();
        private static string s_version;

        // The app's listeners (guarded by s_lock) and the user_data each is given.
        private static UserStatusChangedCallback s_statusCallback;
        private static UserStatusChangedStringCallback s_statusStringCallback;
        private static string s_statusUserData;
        private static NetworkStatusListenerCallback s_networkCallback;
        private static string s_networkUserData;
        private static KickedOfflineCallback s_kickedCallback;
        private static string s_kickedUserData;
        private static UserSigExpiredCallback s_sigExpiredCallback;
        private static string s_sigExpiredUserData;
        private static LogCallback s_logCallback;
        private static string s_logUserData;

        // The native entry points, one delegate each for the life of the
        // process: the library holds pointers to them, so the GC must never
        // collect them.
        private static readonly IMNativeSDK.CommonValueCallback s_nativeComm = OnNativeComm;
        private static readonly IMNativeSDK.TIMUserStatusChangedCallback s_nativeStatus = OnNativeStatusChanged;
        private static readonly IMNativeSDK.TIMNetworkStatusListenerCallback s_nativeNetwork = OnNativeNetwork;
        private static readonly IMNativeSDK.TIMKickedOfflineCallback s_nativeKicked = OnNativeKicked;
        private static readonly IMNativeSDK.TIMUserSigExpiredCallback s_nativeSigExpired = OnNativeSigExpired;
        private static readonly IMNativeSDK.TIMLogCallback s_nativeLog = OnNativeLog;

        // ================================================================
        // Initialisation
        // ================================================================

        /// <summary>
        /// Initialises the SDK for one app. Point it at a server first or
        /// afterwards, before Login (<see cref="SetServerAddress"/>).
        /// </summary>
        /// <param name="sdk_app_id">The app's SDKAppID; not 0.</param>
        /// <param name="json_sdk_config">Optional configuration (log directory, ...); null for none.</param>
        /// <param name="need_log">Upstream's switch for logging calls; accepted and ignored.</param>
        /// <returns>TIM_SUCC (also when already initialised with the same id); TIM_ERR_PARAM for 0 or another id.</returns>
        public static TIMResult Init(long sdk_app_id, SdkConfig json_sdk_config, bool? need_log = false)
        {
            EnsureSetup();
            if (s_mainThreadId == 0)
            {
                s_mainThreadId = Thread.CurrentThread.ManagedThreadId;
            }
            // As upstream's wrapper does: tell the SDK which UI platform calls it.
            var ui = new ExperimentalAPIReqeustParam
            {
                request_internal_operation = TIMInternalOperation.internal_operation_set_ui_platform.ToString(),
                request_set_ui_platform_param = 5,
            };
            IMNativeSDK.callExperimentalAPI(Utf8.Arg(Json.Serialize(ui)), null, IntPtr.Zero);
            byte[] config = json_sdk_config == null ? null : Utf8.Arg(Json.Serialize(json_sdk_config));
            return (TIMResult)IMNativeSDK.TIMInit(unchecked((ulong)sdk_app_id), config);
        }

        /// <summary>
        /// Ends the SDK: closes the connection and completes pending calls
        /// with 6013. Called on the main thread, it delivers those results
        /// before it returns. As upstream's, it first removes the network,
        /// kicked-offline, UserSig-expired and log listeners; status-changed
        /// listeners stay registered for a later Init.
        /// Log out first (and wait for the callback) if others should see this
        /// user UNLOGINED rather than OFFLINE.
        /// </summary>
        public static TIMResult Uninit()
        {
            EnsureSetup();
            RemoveNetworkStatusListenerCallback();
            RemoveKickedOfflineCallback();
            RemoveUserSigExpiredCallback();
            RemoveLogCallback();
            int res = IMNativeSDK.TIMUninit();
            if (IsMainThread())
            {
                Drain();
            }
            return (TIMResult)res;
        }

        /// <summary>The native library's version.</summary>
        public static string GetSDKVersion()
        {
            EnsureSetup();
            if (s_version == null)
            {
                s_version = Utf8.FromNative(IMNativeSDK.TIMGetSDKVersion());
            }
            return s_version;
        }

        /// <summary>
        /// Delivers every result and event that is ready to its callback, on
        /// the calling thread; returns how many were delivered. In Unity the
        /// package calls it once per frame; elsewhere call it regularly from
        /// the main thread. A call from inside a callback does nothing.
        /// </summary>
        public static int Pump()
        {
            if (Interlocked.CompareExchange(ref s_pumping, 1, 0) != 0)
            {
                return 0;
            }
            try
            {
                if (s_mainThreadId == 0)
                {
                    s_mainThreadId = Thread.CurrentThread.ManagedThreadId;
                }
                if (s_setup)
                {
                    IMNativeSDK.IMStatusPumpCallbacks(0);
                }
                return Drain();
            }
            finally
            {
                Interlocked.Exchange(ref s_pumping, 0);
            }
        }

        // ================================================================
        // Server address (private deployment)
        // ================================================================

        /// <summary>
        /// Runs an experimental operation; imstatus supports
        /// internal_operation_set_custom_server_info (the server addresses),
        /// internal_operation_set_ui_platform and internal_operation_write_log.
        /// Works before Init. data is null: imstatus answers no data.
        /// </summary>
        public static TIMResult CallExperimentalAPI(ExperimentalAPIReqeustParam json_param, ValueCallback<ResponseInfo> callback)
        {
            return Experimental(json_param, callback);
        }

        /// <summary>As the other overload, with the result as JSON text ("" from imstatus).</summary>
        public static TIMResult CallExperimentalAPI(ExperimentalAPIReqeustParam json_param, ValueCallback<string> callback)
        {
            return Experimental(json_param, callback);
        }

        /// <summary>
        /// Points the SDK at imstatus servers, used from the next Login: each
        /// "host:port" (ws://host:port/ws), an IPv6 host in brackets
        /// ("[::1]:8080"), or a full "wss://host[:port]/ws" (or ws://) URL. Several
        /// mean failover, tried in order. Works before Init. A shorthand for
        /// CallExperimentalAPI(internal_operation_set_custom_server_info);
        /// to trust a certificate the platform does not, call that with the
        /// certificate (PEM) as server_public_key.
        /// </summary>
        /// <returns>TIM_SUCC, or TIM_ERR_PARAM when no address is given or one is malformed.</returns>
        public static TIMResult SetServerAddress(params string[] hostPorts)
        {
            if (hostPorts == null || hostPorts.Length == 0)
            {
                return TIMResult.TIM_ERR_PARAM;
            }
            var addrs = new List<ServerAddress>(hostPorts.Length);
            foreach (string hp in hostPorts)
            {
                ServerAddress a = ParseHostPort(hp);
                if (a == null)
                {
                    return TIMResult.TIM_ERR_PARAM;
                }
                addrs.Add(a);
            }
            var param = new ExperimentalAPIReqeustParam
            {
                request_internal_operation = TIMInternalOperation.internal_operation_set_custom_server_info.ToString(),
                request_set_custom_server_info_param = new CustomServerInfo
                {
                    longconnection_address_array = addrs,
                    server_public_key = "",
                },
            };
            return Experimental(param, null);
        }

        private static ServerAddress ParseHostPort(string hp)
        {
            if (string.IsNullOrEmpty(hp))
            {
                return null;
            }
            hp = hp.Trim();
            if (hp.StartsWith("ws://", StringComparison.Ordinal) || hp.StartsWith("wss://", StringComparison.Ordinal))
            {
                Uri uri;
                if (!Uri.TryCreate(hp, UriKind.Absolute, out uri) || string.IsNullOrEmpty(uri.Host))
                {
                    return null;
                }
                return new ServerAddress { server_address_ip = hp }; // the library takes the URL as it is
            }
            string host;
            string port;
            bool v6 = false;
            if (hp.StartsWith("[", StringComparison.Ordinal))
            {
                int end = hp.IndexOf("]:", StringComparison.Ordinal);
                if (end < 2)
                {
                    return null;
                }
                host = hp.Substring(1, end - 1);
                port = hp.Substring(end + 2);
                v6 = true;
            }
            else
            {
                int colon = hp.LastIndexOf(':');
                if (colon <= 0 || hp.IndexOf(':') != colon)
                {
                    return null;
                }
                host = hp.Substring(0, colon);
                port = hp.Substring(colon + 1);
            }
            int p;
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out p) || p < 1 || p > 65535)
            {
                return null;
            }
            return new ServerAddress { server_address_ip = host, server_address_port = p, server_address_is_ipv6 = v6 };
        }

        private static TIMResult Experimental(ExperimentalAPIReqeustParam param, Delegate callback)
        {
            EnsureSetup();
            byte[] json = param == null ? null : Utf8.Arg(Json.Serialize(param));
            int key = Begin("CallExperimentalAPI", callback);
            return End(key, IMNativeSDK.callExperimentalAPI(json, key != 0 ? s_nativeComm : null, new IntPtr(key)));
        }

        // ================================================================
        // Configuration and the server's clock
        // ================================================================

        /// <summary>
        /// Sets the log levels (file and callback) and the app's own data;
        /// works before Init and lasts for the process. The callback gets
        /// every setting; 6017 when a value is out of range (nothing is set).
        /// </summary>
        /// <returns>TIM_SUCC; TIM_ERR_PARAM for a null config.</returns>
        public static TIMResult SetConfig(SetConfig config, ValueCallback<SetConfig> callback)
        {
            return SetConfigImpl(config, callback);
        }

        /// <summary>As the other overload, with the settings as JSON text.</summary>
        public static TIMResult SetConfig(SetConfig config, ValueCallback<string> callback)
        {
            return SetConfigImpl(config, callback);
        }

        private static TIMResult SetConfigImpl(SetConfig config, Delegate callback)
        {
            EnsureSetup();
            if (config == null)
            {
                return TIMResult.TIM_ERR_PARAM;
            }
            int key = Begin("SetConfig", callback);
            return End(key, IMNativeSDK.TIMSetConfig(Utf8.Arg(Json.Serialize(config)), key != 0 ? s_nativeComm : null, new IntPtr(key)));
        }

        /// <summary>
        /// The server's clock, in Unix seconds: learnt at the last login and
        /// moved on by the local clock since; the local clock before any.
        /// </summary>
        public static long GetServerTime()
        {
            return IMNativeSDK.TIMGetServerTime();
        }

        // ================================================================
        // Login
        // ================================================================

        /// <summary>
        /// Logs user_id in with its UserSig. Callback codes: 0; 70001 UserSig
        /// expired; 70003 UserSig check failed; 70013/70014 id or app mismatch;
        /// 6017 no server address or another user logged in; 6012 no server
        /// answered in time.
        /// </summary>
        /// <returns>TIM_SUCC, TIM_ERR_SDKUNINIT, or TIM_ERR_PARAM (id outside 1-32 bytes of A-Z a-z 0-9 _ -).</returns>
        public static TIMResult Login(string user_id, string user_sig, NullValueCallback callback)
        {
            return LoginImpl(user_id, user_sig, callback);
        }

        /// <summary>As the other overload; data is "".</summary>
        public static TIMResult Login(string user_id, string user_sig, ValueCallback<string> callback)
        {
            return LoginImpl(user_id, user_sig, callback);
        }

        private static TIMResult LoginImpl(string user_id, string user_sig, Delegate callback)
        {
            EnsureSetup();
            int key = Begin("Login", callback);
            return End(key, IMNativeSDK.TIMLogin(Utf8.Arg(user_id), Utf8.Arg(user_sig), key != 0 ? s_nativeComm : null, new IntPtr(key)));
        }

        /// <summary>Logs the current user out of this device (UNLOGINED when it was the last device).</summary>
        /// <returns>TIM_SUCC, TIM_ERR_SDKUNINIT or TIM_ERR_NOTLOGIN.</returns>
        public static TIMResult Logout(NullValueCallback callback)
        {
            return LogoutImpl(callback);
        }

        /// <summary>As the other overload; data is "".</summary>
        public static TIMResult Logout(ValueCallback<string> callback)
        {
            return LogoutImpl(callback);
        }

        private static TIMResult LogoutImpl(Delegate callback)
        {
            EnsureSetup();
            int key = Begin("Logout", callback);
            return End(key, IMNativeSDK.TIMLogout(key != 0 ? s_nativeComm : null, new IntPtr(key)));
        }

        /// <summary>The login state of this device.</summary>
        public static TIMLoginStatus GetLoginStatus()
        {
            EnsureSetup();
            return (TIMLoginStatus)IMNativeSDK.TIMGetLoginStatus();
        }

        /// <summary>Writes the logged-in user's id into user_id (upstream's form).</summary>
        /// <returns>TIM_SUCC; TIM_ERR_SDKUNINIT or TIM_ERR_NOTLOGIN (user_id then holds "").</returns>
        public static TIMResult GetLoginUserID(StringBuilder user_id)
        {
            EnsureSetup();
            var buf = new byte[128];
            int res = IMNativeSDK.TIMGetLoginUserID(buf);
            if (user_id != null)
            {
                user_id.Length = 0;
                user_id.Append(Utf8.FromBuffer(buf));
            }
            return (TIMResult)res;
        }

        /// <summary>The logged-in user's id, or "" when none.</summary>
        public static string GetLoginUserID()
        {
            var sb = new StringBuilder(32);
            GetLoginUserID(sb);
            return sb.ToString();
        }

        // ================================================================
        // User status
        // ================================================================

        /// <summary>
        /// Sets the current user's custom status (only user_status_custom_status
        /// is read; "" or null clears it). The change reaches this user's
        /// devices (this one included), its subscribers and, with the app's
        /// auto-notify switch on, its friends. Callback codes: 0; 6017 custom
        /// status longer than 100 bytes (UTF-8).
        /// </summary>
        /// <returns>TIM_SUCC, TIM_ERR_SDKUNINIT, TIM_ERR_NOTLOGIN or TIM_ERR_PARAM (null status).</returns>
        public static TIMResult SetSelfStatus(UserStatus json_current_user_status, NullValueCallback callback)
        {
            return SetSelfStatusImpl(json_current_user_status, callback);
        }

        /// <summary>As the other overload; data is "".</summary>
        public static TIMResult SetSelfStatus(UserStatus json_current_user_status, ValueCallback<string> callback)
        {
            return SetSelfStatusImpl(json_current_user_status, callback);
        }

        private static TIMResult SetSelfStatusImpl(UserStatus status, Delegate callback)
        {
            EnsureSetup();
            byte[] json = Utf8.Arg(Json.Serialize(status));
            int key = Begin("SetSelfStatus", callback);
            return End(key, IMNativeSDK.TIMSetSelfStatus(json, key != 0 ? s_nativeComm : null, new IntPtr(key)));
        }

        /// <summary>
        /// Queries users' status: one object per id, in request order; an id
        /// without an account has type unknown. Querying others needs the
        /// app's ultimate edition (else 7013) and user-status switch (else
        /// 72001); at most 500 ids (else 70206) and 20 calls per 5 s (else 7008).
        /// </summary>
        /// <returns>TIM_SUCC, TIM_ERR_SDKUNINIT, TIM_ERR_NOTLOGIN or TIM_ERR_PARAM (null or empty list, invalid id).</returns>
        public static TIMResult GetUserStatus(List<string> json_identifier_array, ValueCallback<List<UserStatus>> callback)
        {
            return IdsCall("GetUserStatus", json_identifier_array, callback);
        }

        /// <summary>As the other overload, with the result as JSON text.</summary>
        public static TIMResult GetUserStatus(List<string> json_identifier_array, ValueCallback<string> callback)
        {
            return IdsCall("GetUserStatus", json_identifier_array, callback);
        }

        /// <summary>
        /// Subscribes to users' status: the status-changed callback then gets
        /// their current state and every change. At most 100 ids per call, 200
        /// subscriptions in all (the oldest is evicted); not yourself.
        /// Callback codes: 0; 70206; 70107 an id has no account; 7008; 7013; 72001.
        /// </summary>
        /// <returns>TIM_SUCC, TIM_ERR_SDKUNINIT, TIM_ERR_NOTLOGIN or TIM_ERR_PARAM (null or empty list, invalid id, your own id).</returns>
        public static TIMResult SubscribeUserStatus(List<string> json_identifier_array, NullValueCallback callback)
        {
            return IdsCall("SubscribeUserStatus", json_identifier_array, callback);
        }

        /// <summary>As the other overload; data is "".</summary>
        public static TIMResult SubscribeUserStatus(List<string> json_identifier_array, ValueCallback<string> callback)
        {
            return IdsCall("SubscribeUserStatus", json_identifier_array, callback);
        }

        /// <summary>Ends subscriptions; a null or empty list ends all of them.</summary>
        /// <returns>TIM_SUCC, TIM_ERR_SDKUNINIT, TIM_ERR_NOTLOGIN or TIM_ERR_PARAM (invalid id).</returns>
        public static TIMResult UnsubscribeUserStatus(List<string> json_identifier_array, NullValueCallback callback)
        {
            return IdsCall("UnsubscribeUserStatus", json_identifier_array, callback);
        }

        /// <summary>As the other overload; data is "".</summary>
        public static TIMResult UnsubscribeUserStatus(List<string> json_identifier_array, ValueCallback<string> callback)
        {
            return IdsCall("UnsubscribeUserStatus", json_identifier_array, callback);
        }

        private static TIMResult IdsCall(string api, List<string> ids, Delegate callback)
        {
            EnsureSetup();
            byte[] json = Utf8.Arg(Json.Serialize(ids)); // null list: "null"
            int key = Begin(api, callback);
            IMNativeSDK.CommonValueCallback cb = key != 0 ? s_nativeComm : null;
            var ud = new IntPtr(key);
            int res;
            switch (api)
            {
                case "GetUserStatus":
                    res = IMNativeSDK.TIMGetUserStatus(json, cb, ud);
                    break;
                case "SubscribeUserStatus":
                    res = IMNativeSDK.TIMSubscribeUserStatus(json, cb, ud);
                    break;
                default:
                    res = IMNativeSDK.TIMUnsubscribeUserStatus(json, cb, ud);
                    break;
            }
            return End(key, res);
        }

        // ================================================================
        // Listeners
        // ================================================================

        /// <summary>
        /// Adds status-changed listeners, as upstream's does: changes of
        /// subscribed users, of friends with the app's auto-notify switch on,
        /// and of the current user itself (multi-device sync, this device's
        /// own changes included). Each listener given is added (both fire,
        /// the typed one first); with neither, every one is removed. They
        /// stay registered across Uninit, as upstream's do.
        /// </summary>
        public static void SetUserStatusChangedCallback(UserStatusChangedCallback callback = null, UserStatusChangedStringCallback stringCallback = null)
        {
            EnsureSetup();
            if (callback == null && stringCallback == null)
            {
                RemoveUserStatusChangedCallback();
                return;
            }
            lock (s_lock)
            {
                s_statusCallback += callback;
                s_statusStringCallback += stringCallback;
                s_statusUserData = NewUserData("SetUserStatusChangedCallback");
            }
            IMNativeSDK.TIMSetUserStatusChangedCallback(s_nativeStatus, IntPtr.Zero);
        }

        /// <summary>Removes the listeners given, or every one when neither is.</summary>
        public static void RemoveUserStatusChangedCallback(UserStatusChangedCallback callback = null, UserStatusChangedStringCallback stringCallback = null)
        {
            EnsureSetup();
            bool none;
            lock (s_lock)
            {
                if (callback == null && stringCallback == null)
                {
                    s_statusCallback = null;
                    s_statusStringCallback = null;
                }
                s_statusCallback -= callback;
                s_statusStringCallback -= stringCallback;
                none = s_statusCallback == null && s_statusStringCallback == null;
            }
            if (none)
            {
                IMNativeSDK.TIMSetUserStatusChangedCallback(null, IntPtr.Zero);
            }
        }

        /// <summary>Adds a network status listener; null removes every one. Uninit removes them.</summary>
        public static void SetNetworkStatusListenerCallback(NetworkStatusListenerCallback callback)
        {
            EnsureSetup();
            if (callback == null)
            {
                RemoveNetworkStatusListenerCallback();
                return;
            }
            lock (s_lock)
            {
                s_networkCallback += callback;
                s_networkUserData = NewUserData("SetNetworkStatusListenerCallback");
            }
            IMNativeSDK.TIMSetNetworkStatusListenerCallback(s_nativeNetwork, IntPtr.Zero);
        }

        /// <summary>Removes the listener given, or every one.</summary>
        public static void RemoveNetworkStatusListenerCallback(NetworkStatusListenerCallback callback = null)
        {
            EnsureSetup();
            bool none;
            lock (s_lock)
            {
                s_networkCallback = callback == null ? null : s_networkCallback - callback;
                none = s_networkCallback == null;
            }
            if (none)
            {
                IMNativeSDK.TIMSetNetworkStatusListenerCallback(null, IntPtr.Zero);
            }
        }

        /// <summary>Adds a kicked-offline listener; null removes every one. Uninit removes them.</summary>
        public static void SetKickedOfflineCallback(KickedOfflineCallback callback)
        {
            EnsureSetup();
            if (callback == null)
            {
                RemoveKickedOfflineCallback();
                return;
            }
            lock (s_lock)
            {
                s_kickedCallback += callback;
                s_kickedUserData = NewUserData("SetKickedOfflineCallback");
            }
            IMNativeSDK.TIMSetKickedOfflineCallback(s_nativeKicked, IntPtr.Zero);
        }

        /// <summary>Removes the listener given, or every one.</summary>
        public static void RemoveKickedOfflineCallback(KickedOfflineCallback callback = null)
        {
            EnsureSetup();
            bool none;
            lock (s_lock)
            {
                s_kickedCallback = callback == null ? null : s_kickedCallback - callback;
                none = s_kickedCallback == null;
            }
            if (none)
            {
                IMNativeSDK.TIMSetKickedOfflineCallback(null, IntPtr.Zero);
            }
        }

        /// <summary>Adds a UserSig-expired listener; null removes every one. Uninit removes them.</summary>
        public static void SetUserSigExpiredCallback(UserSigExpiredCallback callback)
        {
            EnsureSetup();
            if (callback == null)
            {
                RemoveUserSigExpiredCallback();
                return;
            }
            lock (s_lock)
            {
                s_sigExpiredCallback += callback;
                s_sigExpiredUserData = NewUserData("SetUserSigExpiredCallback");
            }
            IMNativeSDK.TIMSetUserSigExpiredCallback(s_nativeSigExpired, IntPtr.Zero);
        }

        /// <summary>Removes the listener given, or every one.</summary>
        public static void RemoveUserSigExpiredCallback(UserSigExpiredCallback callback = null)
        {
            EnsureSetup();
            bool none;
            lock (s_lock)
            {
                s_sigExpiredCallback = callback == null ? null : s_sigExpiredCallback - callback;
                none = s_sigExpiredCallback == null;
            }
            if (none)
            {
                IMNativeSDK.TIMSetUserSigExpiredCallback(null, IntPtr.Zero);
            }
        }

        /// <summary>Adds a log listener (every SDK log line with its level); null removes every one. Uninit removes them.</summary>
        public static void SetLogCallback(LogCallback callback)
        {
            EnsureSetup();
            if (callback == null)
            {
                RemoveLogCallback();
                return;
            }
            lock (s_lock)
            {
                s_logCallback += callback;
                s_logUserData = NewUserData("SetLogCallback");
            }
            IMNativeSDK.TIMSetLogCallback(s_nativeLog, IntPtr.Zero);
        }

        /// <summary>Removes the listener given, or every one.</summary>
        public static void RemoveLogCallback(LogCallback callback = null)
        {
            EnsureSetup();
            bool none;
            lock (s_lock)
            {
                s_logCallback = callback == null ? null : s_logCallback - callback;
                none = s_logCallback == null;
            }
            if (none)
            {
                IMNativeSDK.TIMSetLogCallback(null, IntPtr.Zero);
            }
        }

        // ================================================================
        // Internals
        // ================================================================

        /// <summary>Called by the Unity hook on the main thread at startup.</summary>
        internal static void SetMainThread()
        {
            s_mainThreadId = Thread.CurrentThread.ManagedThreadId;
        }

        /// <summary>
        /// Ends the SDK when Unity quits or reloads its scripting domain
        /// (MainThreadPump.cs). Play mode in the Editor would otherwise leave
        /// the user logged in after Stop, and a domain reload would leave the
        /// library holding pointers to callbacks of the unloaded domain.
        /// </summary>
        /// <param name="domainUnload">true: unregister every native callback
        /// and drop undelivered results (the app's code is going away).</param>
        internal static void Shutdown(bool domainUnload)
        {
            if (!s_setup)
            {
                return;
            }
            IMNativeSDK.TIMUninit();
            if (!domainUnload)
            {
                if (IsMainThread())
                {
                    Drain();
                }
                return;
            }
            IMNativeSDK.TIMSetUserStatusChangedCallback(null, IntPtr.Zero);
            IMNativeSDK.TIMSetNetworkStatusListenerCallback(null, IntPtr.Zero);
            IMNativeSDK.TIMSetKickedOfflineCallback(null, IntPtr.Zero);
            IMNativeSDK.TIMSetUserSigExpiredCallback(null, IntPtr.Zero);
            IMNativeSDK.TIMSetLogCallback(null, IntPtr.Zero);
            lock (s_events)
            {
                s_events.Clear();
            }
            lock (s_lock)
            {
                s_pending.Clear();
            }
        }

        private static bool IsMainThread()
        {
            int id = s_mainThreadId;
            return id == 0 || id == Thread.CurrentThread.ManagedThreadId;
        }

        // Puts the library in queued mode before anything else reaches it.
        private static void EnsureSetup()
        {
            if (s_setup)
            {
                return;
            }
            lock (s_lock)
            {
                if (s_setup)
                {
                    return;
                }
                try
                {
                    IMNativeSDK.IMStatusSetCallbackMode(IMNativeSDK.IMSTATUS_CALLBACKS_QUEUED);
                }
                catch (DllNotFoundException e)
                {
                    throw new DllNotFoundException("com.imstatus.imsdk.unity: the native library ImSDK (libImSDK.so, ImSDK.dll, libImSDK.dylib) was not found; copy the build for this platform into the package's Plugins folder (see Plugins/README.md)", e);
                }
                catch (EntryPointNotFoundException e)
                {
                    throw new EntryPointNotFoundException("com.imstatus.imsdk.unity: the native library ImSDK that was loaded is not imstatus's libImSDK (IMStatusSetCallbackMode is missing)", e);
                }
                s_setup = true;
            }
        }

        private static string NewUserData(string api)
        {
            s_registrations++;
            return api + "_" + s_registrations.ToString(CultureInfo.InvariantCulture);
        }

        // Records a call's callback before the call; returns its key (the
        // user_data handed to native code), 0 when there is no callback.
        private static int Begin(string api, Delegate callback)
        {
            if (callback == null)
            {
                return 0;
            }
            lock (s_lock)
            {
                int key;
                do
                {
                    key = unchecked(++s_nextKey);
                }
                while (key == 0 || s_pending.ContainsKey(key));
                s_pending[key] = new Pending { Api = api, Callback = callback };
                return key;
            }
        }

        // A callback runs only when its call returned TIM_SUCC: forget the others.
        private static TIMResult End(int key, int res)
        {
            if (res != 0 && key != 0)
            {
                lock (s_lock)
                {
                    s_pending.Remove(key);
                }
            }
            return (TIMResult)res;
        }

        private static void Post(Event e)
        {
            lock (s_events)
            {
                s_events.Enqueue(e);
            }
        }

        // Hands what is queued to the app, one event at a time, in order.
        private static int Drain()
        {
            int n = 0;
            int limit;
            lock (s_events)
            {
                limit = s_events.Count;
            }
            while (n < limit)
            {
                Event e;
                lock (s_events)
                {
                    if (s_events.Count == 0)
                    {
                        break;
                    }
                    e = s_events.Dequeue();
                }
                n++;
                try
                {
                    Dispatch(ref e);
                }
                catch (Exception ex)
                {
                    Report(ex);
                }
            }
            return n;
        }

        private static void Dispatch(ref Event e)
        {
            switch (e.Kind)
            {
                case Kind.Comm:
                    Pending p;
                    lock (s_lock)
                    {
                        if (!s_pending.TryGetValue(e.Key, out p))
                        {
                            return;
                        }
                        s_pending.Remove(e.Key);
                    }
                    Complete(p, e.Code, e.Desc, e.Json, p.Api + "_" + e.Key.ToString(CultureInfo.InvariantCulture));
                    break;
                case Kind.StatusChanged:
                    UserStatusChangedCallback typed;
                    UserStatusChangedStringCallback text;
                    string ud;
                    lock (s_lock)
                    {
                        typed = s_statusCallback;
                        text = s_statusStringCallback;
                        ud = s_statusUserData;
                    }
                    if (typed != null)
                    {
                        typed(Json.Deserialize<List<UserStatus>>(e.Json) ?? new List<UserStatus>(), ud);
                    }
                    if (text != null)
                    {
                        text(e.Json, ud);
                    }
                    break;
                case Kind.Network:
                    NetworkStatusListenerCallback net;
                    lock (s_lock)
                    {
                        net = s_networkCallback;
                        ud = s_networkUserData;
                    }
                    if (net != null)
                    {
                        net((TIMNetworkStatus)e.Code, e.Extra, e.Desc, ud);
                    }
                    break;
                case Kind.Kicked:
                    KickedOfflineCallback kicked;
                    lock (s_lock)
                    {
                        kicked = s_kickedCallback;
                        ud = s_kickedUserData;
                    }
                    if (kicked != null)
                    {
                        kicked(ud);
                    }
                    break;
                case Kind.SigExpired:
                    UserSigExpiredCallback expired;
                    lock (s_lock)
                    {
                        expired = s_sigExpiredCallback;
                        ud = s_sigExpiredUserData;
                    }
                    if (expired != null)
                    {
                        expired(ud);
                    }
                    break;
                case Kind.Log:
                    LogCallback log;
                    lock (s_lock)
                    {
                        log = s_logCallback;
                        ud = s_logUserData;
                    }
                    if (log != null)
                    {
                        log((TIMLogLevel)e.Code, e.Json, ud);
                    }
                    break;
            }
        }

        // Calls a call's callback with its result, converted to the type the
        // callback takes.
        private static void Complete(Pending p, int code, string desc, string json, string userData)
        {
            var none = p.Callback as NullValueCallback;
            if (none != null)
            {
                none(code, desc, userData);
                return;
            }
            var str = p.Callback as ValueCallback<string>;
            if (str != null)
            {
                str(code, desc, json, userData);
                return;
            }
            var statuses = p.Callback as ValueCallback<List<UserStatus>>;
            if (statuses != null)
            {
                List<UserStatus> data = null;
                if (code == 0 && !TryDeserialize(json, out data, ref code, ref desc))
                {
                    data = null;
                }
                statuses(code, desc, data, userData);
                return;
            }
            var settings = p.Callback as ValueCallback<SetConfig>;
            if (settings != null)
            {
                SetConfig data = null;
                if (code == 0 && !TryDeserialize(json, out data, ref code, ref desc))
                {
                    data = null;
                }
                settings(code, desc, data, userData);
                return;
            }
            var info = p.Callback as ValueCallback<ResponseInfo>;
            if (info != null)
            {
                ResponseInfo data = null;
                if (code == 0 && !TryDeserialize(json, out data, ref code, ref desc))
                {
                    data = null;
                }
                info(code, desc, data, userData);
            }
        }

        private static bool TryDeserialize<T>(string json, out T value, ref int code, ref string desc)
        {
            try
            {
                value = Json.Deserialize<T>(json);
                return true;
            }
            catch (Exception e)
            {
                value = default(T);
                code = ErrInvalidJson;
                desc = "cannot read the SDK's result as " + typeof(T).Name + ": " + e.Message;
                return false;
            }
        }

        private static void Report(Exception e)
        {
#if UNITY_5_3_OR_NEWER
            UnityEngine.Debug.LogException(e);
#else
            Console.Error.WriteLine("TencentIMSDK: a callback threw: " + e);
#endif
        }

        // ---- Native callbacks: they run inside IMStatusPumpCallbacks or
        // TIMUninit. They copy the strings (valid only during the call) and
        // queue the event; app code runs later, in Drain. Nothing may throw
        // out of them into native code.

        [MonoPInvokeCallback(typeof(IMNativeSDK.CommonValueCallback))]
        private static void OnNativeComm(int code, IntPtr desc, IntPtr json_params, IntPtr user_data)
        {
            try
            {
                Post(new Event
                {
                    Kind = Kind.Comm,
                    Key = unchecked((int)user_data.ToInt64()),
                    Code = code,
                    Desc = Utf8.FromNative(desc),
                    Json = Utf8.FromNative(json_params),
                });
            }
            catch (Exception e)
            {
                Report(e);
            }
        }

        [MonoPInvokeCallback(typeof(IMNativeSDK.TIMUserStatusChangedCallback))]
        private static void OnNativeStatusChanged(IntPtr json_user_status_array, IntPtr user_data)
        {
            try
            {
                Post(new Event { Kind = Kind.StatusChanged, Json = Utf8.FromNative(json_user_status_array) });
            }
            catch (Exception e)
            {
                Report(e);
            }
        }

        [MonoPInvokeCallback(typeof(IMNativeSDK.TIMNetworkStatusListenerCallback))]
        private static void OnNativeNetwork(int status, int code, IntPtr desc, IntPtr user_data)
        {
            try
            {
                Post(new Event { Kind = Kind.Network, Code = status, Extra = code, Desc = Utf8.FromNative(desc) });
            }
            catch (Exception e)
            {
                Report(e);
            }
        }

        [MonoPInvokeCallback(typeof(IMNativeSDK.TIMKickedOfflineCallback))]
        private static void OnNativeKicked(IntPtr user_data)
        {
            try
            {
                Post(new Event { Kind = Kind.Kicked });
            }
            catch (Exception e)
            {
                Report(e);
            }
        }

        [MonoPInvokeCallback(typeof(IMNativeSDK.TIMUserSigExpiredCallback))]
        private static void OnNativeSigExpired(IntPtr user_data)
        {
            try
            {
                Post(new Event { Kind = Kind.SigExpired });
            }
            catch (Exception e)
            {
                Report(e);
            }
        }

        [MonoPInvokeCallback(typeof(IMNativeSDK.TIMLogCallback))]
        private static void OnNativeLog(int level, IntPtr log, IntPtr user_data)
        {
            try
            {
                Post(new Event { Kind = Kind.Log, Code = level, Json = Utf8.FromNative(log) });
            }
            catch (Exception e)
            {
                Report(e);
            }
        }
    }
}
