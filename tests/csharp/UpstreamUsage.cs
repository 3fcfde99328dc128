// The package used as upstream's documentation writes it, end to end:
// Init with a null config, the server set with a typed CallExperimentalAPI
// lambda, listeners added and removed, Logout, Uninit and Init again. Only
// upstream's public API appears here (no helper of StatusTests).

using System;
using System.Collections.Generic;
using System.Linq;
using com.tencent.imsdk.unity;
using com.tencent.imsdk.unity.callback;
using com.tencent.imsdk.unity.enums;
using com.tencent.imsdk.unity.types;

namespace ImStatus.MonoTests
{
    internal static class UpstreamUsage
    {
        /// <summary>Runs the usage; restore re-registers the suite's own listeners after it.</summary>
        internal static void Run(Action restore)
        {
            string[] hp = Environment.GetEnvironmentVariable("IMS_SERVER").Split(':');
            long sdkAppID = long.Parse(Environment.GetEnvironmentVariable("IMS_APP"));
            string userSig = Environment.GetEnvironmentVariable("IMS_SIG_ALICE");
            TencentIMSDK.Uninit(); // from whatever state the suite left
            TencentIMSDK.RemoveUserStatusChangedCallback();

            Check.Equal(TIMResult.TIM_SUCC, TencentIMSDK.Init(sdkAppID, null), "Init(sdkappid, null)");
            int serverSet = int.MinValue;
            var param = new ExperimentalAPIRequestParam
            {
                request_internal_operation = TIMInternalOperation.internal_operation_set_custom_server_info.ToString(),
                request_set_custom_server_info_param = new CustomServerInfo
                {
                    longconnection_address_array = new List<ServerAddress>
                    {
                        new ServerAddress { server_address_ip = hp[0], server_address_port = int.Parse(hp[1]), server_address_is_ipv6 = false },
                    },
                    server_public_key = "",
                },
            };
            Check.Equal(TIMResult.TIM_SUCC, TencentIMSDK.CallExperimentalAPI(param, (int code, string desc, ResponseInfo data, string user_data) =>
            {
                Program.OnCallback("upstream usage: set server");
                serverSet = code;
            }), "CallExperimentalAPI(set_custom_server_info)");
            Wait.Until(() => serverSet == 0, "upstream usage: the server address to be set");

            var network = new List<TIMNetworkStatus>();
            NetworkStatusListenerCallback onNetwork = (status, code, desc, user_data) =>
            {
                Program.OnCallback("upstream usage: network");
                network.Add(status);
            };
            TencentIMSDK.SetNetworkStatusListenerCallback(onNetwork);
            var typed = new List<string>();
            var text = new List<string>();
            UserStatusChangedCallback onStatus = (list, user_data) =>
            {
                Program.OnCallback("upstream usage: status");
                typed.AddRange(list.Select(s => s.user_status_custom_status));
            };
            UserStatusChangedStringCallback onStatusText = (json, user_data) =>
            {
                Program.OnCallback("upstream usage: status text");
                text.Add(json);
            };
            TencentIMSDK.SetUserStatusChangedCallback(onStatus, onStatusText);

            Login(userSig, "Login");
            Wait.Until(() => network.Contains(TIMNetworkStatus.kTIMConnected), "upstream usage: kTIMConnected");
            SetStatus("upstream usage");
            Wait.Until(() => typed.Contains("upstream usage") && text.Any(j => j.Contains("upstream usage")),
                "upstream usage: both status listeners to hear the change");

            TencentIMSDK.RemoveUserStatusChangedCallback(onStatus);
            SetStatus("after remove");
            Wait.Until(() => text.Any(j => j.Contains("after remove")), "upstream usage: the listener left to hear the change");
            Wait.Pumping(50);
            Check.True(!typed.Contains("after remove"), "upstream usage: a removed listener heard a change");
            TencentIMSDK.RemoveNetworkStatusListenerCallback(onNetwork);

            int logout = int.MinValue;
            Check.Equal(TIMResult.TIM_SUCC, TencentIMSDK.Logout((int code, string desc, string user_data) =>
            {
                Program.OnCallback("upstream usage: logout");
                logout = code;
            }), "Logout");
            Wait.Until(() => logout == 0, "upstream usage: Logout");
            Check.Equal(TIMResult.TIM_SUCC, TencentIMSDK.Uninit(), "Uninit");
            Check.Equal(TIMResult.TIM_SUCC, TencentIMSDK.Init(sdkAppID, null), "Init again");
            Login(userSig, "Login after re-Init");
            SetStatus("after re-Init");
            Wait.Until(() => text.Any(j => j.Contains("after re-Init")), "upstream usage: the status listener to stay across Uninit");

            TencentIMSDK.RemoveUserStatusChangedCallback();
            restore();
        }

        private static void Login(string userSig, string what)
        {
            int login = int.MinValue;
            Check.Equal(TIMResult.TIM_SUCC, TencentIMSDK.Login("alice", userSig, (int code, string desc, string user_data) =>
            {
                Program.OnCallback("upstream usage: login");
                login = code;
            }), what);
            Wait.Until(() => login == 0, "upstream usage: " + what);
        }

        private static void SetStatus(string custom)
        {
            int set = int.MinValue;
            Check.Equal(TIMResult.TIM_SUCC, TencentIMSDK.SetSelfStatus(new UserStatus { user_status_custom_status = custom },
                (int code, string desc, string user_data) =>
                {
                    Program.OnCallback("upstream usage: set status");
                    set = code;
                }), "SetSelfStatus(" + custom + ")");
            Wait.Until(() => set == 0, "upstream usage: SetSelfStatus(" + custom + ")");
        }
    }
}
