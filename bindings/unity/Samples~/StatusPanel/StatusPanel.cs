// StatusPanel: a small IMGUI panel over the package. Add it to any
// GameObject, fill in the fields in the Inspector (server, SDKAppID, user
// id, UserSig from your backend, ids to watch), press Play.
//
// It logs in, lets you set your custom status, subscribes to the watched
// users and shows their status as it changes. Every callback below runs on
// the main thread (the package pumps them once per frame), so it may touch
// Unity objects directly.

using System.Collections.Generic;
using com.tencent.imsdk.unity;
using com.tencent.imsdk.unity.callback;
using com.tencent.imsdk.unity.enums;
using com.tencent.imsdk.unity.types;
using UnityEngine;

public class StatusPanel : MonoBehaviour
{
    [Tooltip("imstatusd address, host:port")]
    public string serverAddress = "127.0.0.1:8080";
    public long sdkAppId = 1400000000;
    public string userId = "alice";
    [Tooltip("The user's UserSig, signed by your backend (imstatusd usersig ... for tests)")]
    public string userSig = "";
    [Tooltip("Comma-separated ids to subscribe to")]
    public string watch = "bob,carol";

    private readonly Dictionary<string, UserStatus> _statuses = new Dictionary<string, UserStatus>();
    private string _custom = "";
    private string _line = "not logged in";
    private bool _loggedIn;

    private void Start()
    {
        TencentIMSDK.SetServerAddress(serverAddress);
        TencentIMSDK.SetUserStatusChangedCallback(OnStatusChanged);
        TencentIMSDK.SetKickedOfflineCallback(user_data => { _loggedIn = false; _line = "kicked offline"; });
        TIMResult r = TencentIMSDK.Init(sdkAppId, new SdkConfig
        {
            sdk_config_log_file_path = Application.persistentDataPath + "/imsdk-log",
        });
        if (r != TIMResult.TIM_SUCC)
        {
            _line = "Init: " + r;
            return;
        }
        TencentIMSDK.Login(userId, userSig, new NullValueCallback(OnLogin));
    }

    private void OnLogin(int code, string desc, string user_data)
    {
        if (code != 0)
        {
            _line = "login failed: " + code + " " + desc;
            return;
        }
        _loggedIn = true;
        _line = "logged in as " + userId;
        var ids = new List<string>();
        foreach (string id in watch.Split(','))
        {
            if (id.Trim().Length > 0)
            {
                ids.Add(id.Trim());
            }
        }
        if (ids.Count == 0)
        {
            return;
        }
        // The current state of each arrives through OnStatusChanged.
        TencentIMSDK.SubscribeUserStatus(ids, new NullValueCallback((c, d, ud) =>
        {
            if (c != 0)
            {
                _line = "subscribe failed: " + c + " " + d;
            }
        }));
    }

    private void OnStatusChanged(List<UserStatus> list, string user_data)
    {
        foreach (UserStatus s in list)
        {
            _statuses[s.user_status_identifier] = s;
        }
    }

    private void OnGUI()
    {
        GUILayout.BeginVertical("box");
        GUILayout.Label(_line);
        if (_loggedIn)
        {
            GUILayout.BeginHorizontal();
            _custom = GUILayout.TextField(_custom, GUILayout.Width(240));
            if (GUILayout.Button("Set my status"))
            {
                TencentIMSDK.SetSelfStatus(new UserStatus { user_status_custom_status = _custom },
                    new NullValueCallback((c, d, ud) => _line = c == 0 ? "status set" : "set failed: " + c + " " + d));
            }
            GUILayout.EndHorizontal();
        }
        foreach (KeyValuePair<string, UserStatus> kv in _statuses)
        {
            UserStatus s = kv.Value;
            string devices = s.user_status_online_devices == null ? "" : string.Join(",", s.user_status_online_devices.ToArray());
            GUILayout.Label(kv.Key + ": " + Describe(s.user_status_status_type) +
                (string.IsNullOrEmpty(s.user_status_custom_status) ? "" : " \u2014 " + s.user_status_custom_status) +
                (devices.Length > 0 ? " [" + devices + "]" : ""));
        }
        GUILayout.EndVertical();
    }

    private static string Describe(TIMUserStatusType? t)
    {
        switch (t)
        {
            case TIMUserStatusType.kTIMUserStatusType_Online:
                return "online";
            case TIMUserStatusType.kTIMUserStatusType_Offline:
                return "offline";
            case TIMUserStatusType.kTIMUserStatusType_UnLogined:
                return "logged out";
            default:
                return "unknown";
        }
    }

    private void OnApplicationQuit()
    {
        // Best effort: a logout that reaches the server shows this user as
        // UNLOGINED rather than OFFLINE. Uninit completes whatever is still
        // pending (code 6013) and delivers it before it returns.
        if (_loggedIn)
        {
            TencentIMSDK.Logout(new NullValueCallback((c, d, ud) => { }));
        }
        TencentIMSDK.Uninit();
    }
}
