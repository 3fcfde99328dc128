// The C ABI of libImSDK (include/TIMCloud.h, include/imstatus.h) as P/Invoke
// declarations. Apps use TencentIMSDK; this class is public, as upstream's
// is, for the few who need the raw calls.
//
// Strings cross as UTF-8 on every platform: arguments are byte[] holding
// UTF-8 plus a NUL (Utf8.Arg), results are copied out of the native buffer
// with Utf8.FromNative. Never let the runtime marshal `string` here: on
// Windows it would use the ANSI code page and mangle non-ASCII text.

using System;
using System.Runtime.InteropServices;

namespace com.tencent.imsdk.unity.native
{
    /// <summary>
    /// P/Invoke declarations of libImSDK. Library name: "ImSDK" (ImSDK.dll,
    /// libImSDK.so, libImSDK.dylib); "__Internal" on iOS, where the library
    /// is linked statically (libImSDK.a). A plain class, as upstream's.
    /// </summary>
    public class IMNativeSDK
    {
#if UNITY_IOS && !UNITY_EDITOR
        /// <summary>The library's name for DllImport.</summary>
        public const string MyLibName = "__Internal";
#else
        /// <summary>The library's name for DllImport.</summary>
        public const string MyLibName = "ImSDK";
#endif

        /// <summary>Callbacks run on the library's dispatcher thread.</summary>
        public const int IMSTATUS_CALLBACKS_DIRECT = 0;
        /// <summary>Callbacks wait until IMStatusPumpCallbacks runs them.</summary>
        public const int IMSTATUS_CALLBACKS_QUEUED = 1;

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate void CommonValueCallback(int code, IntPtr desc, IntPtr json_params, IntPtr user_data);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate void TIMUserStatusChangedCallback(IntPtr json_user_status_array, IntPtr user_data);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate void TIMNetworkStatusListenerCallback(int status, int code, IntPtr desc, IntPtr user_data);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate void TIMKickedOfflineCallback(IntPtr user_data);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate void TIMUserSigExpiredCallback(IntPtr user_data);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate void TIMLogCallback(int level, IntPtr log, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int TIMInit(ulong sdk_app_id, byte[] json_sdk_config);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int TIMUninit();

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr TIMGetSDKVersion();

        /// <summary>The server's clock in Unix seconds (C: uint64_t).</summary>
        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern long TIMGetServerTime();

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int TIMSetConfig(byte[] json_config, CommonValueCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int TIMLogin(byte[] user_id, byte[] user_sig, CommonValueCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int TIMLogout(CommonValueCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int TIMGetLoginStatus();

        /// <summary>user_id_buffer must hold at least 128 bytes.</summary>
        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int TIMGetLoginUserID([In, Out] byte[] user_id_buffer);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int TIMSetSelfStatus(byte[] json_current_user_status, CommonValueCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int TIMGetUserStatus(byte[] json_identifier_array, CommonValueCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int TIMSubscribeUserStatus(byte[] json_identifier_array, CommonValueCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int TIMUnsubscribeUserStatus(byte[] json_identifier_array, CommonValueCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern void TIMSetUserStatusChangedCallback(TIMUserStatusChangedCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern void TIMSetNetworkStatusListenerCallback(TIMNetworkStatusListenerCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern void TIMSetKickedOfflineCallback(TIMKickedOfflineCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern void TIMSetUserSigExpiredCallback(TIMUserSigExpiredCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern void TIMSetLogCallback(TIMLogCallback cb, IntPtr user_data);

        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int callExperimentalAPI(byte[] json_param, CommonValueCallback cb, IntPtr user_data);

        /// <summary>imstatus.h: IMSTATUS_CALLBACKS_DIRECT (0) or IMSTATUS_CALLBACKS_QUEUED (1).</summary>
        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int IMStatusSetCallbackMode(int mode);

        /// <summary>imstatus.h: runs queued callbacks on the calling thread; max &lt;= 0 runs all.</summary>
        [DllImport(MyLibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern int IMStatusPumpCallbacks(int max);
    }
}
