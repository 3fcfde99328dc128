// In Unity, TencentIMSDK.Pump() runs once per frame on the main thread, so
// that every callback reaches the app there, without the app doing anything:
// - Unity 2019.3 and later: a system appended to the PlayerLoop's Update
//   phase (UnityEngine.LowLevel.PlayerLoop);
// - older Unity: a hidden, never destroyed GameObject whose Update pumps.
// It also ends the SDK when the app quits (in the Editor: when Play mode
// stops) and before Unity unloads the scripting domain (script reload), so
// that the native library, which stays loaded, never calls into code that is
// gone. Outside Unity this file compiles to nothing: hosts call
// TencentIMSDK.Pump() from their own main thread, and Uninit() when done.

#if UNITY_5_3_OR_NEWER
using UnityEngine;
#if UNITY_2019_3_OR_NEWER
using UnityEngine.LowLevel;
#endif

namespace com.tencent.imsdk.unity.utils
{
    internal static class MainThreadPump
    {
        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.BeforeSceneLoad)]
        private static void Boot()
        {
            TencentIMSDK.SetMainThread();
            Application.quitting -= OnQuitting;
            Application.quitting += OnQuitting;
            System.AppDomain.CurrentDomain.DomainUnload -= OnDomainUnload;
            System.AppDomain.CurrentDomain.DomainUnload += OnDomainUnload;
#if UNITY_2019_3_OR_NEWER
            InstallPlayerLoopSystem();
#else
            var go = new GameObject("TencentIMSDK.Pump");
            go.hideFlags = HideFlags.HideAndDontSave;
            Object.DontDestroyOnLoad(go);
            go.AddComponent<TencentIMSDKPumpBehaviour>();
#endif
        }

        private static void OnQuitting()
        {
            TencentIMSDK.Shutdown(false);
        }

        private static void OnDomainUnload(object sender, System.EventArgs e)
        {
            TencentIMSDK.Shutdown(true);
        }

#if UNITY_2019_3_OR_NEWER
        // Marks the package's system in the PlayerLoop.
        private struct TencentIMSDKPump
        {
        }

        private static void InstallPlayerLoopSystem()
        {
            PlayerLoopSystem root = PlayerLoop.GetCurrentPlayerLoop();
            if (root.subSystemList == null)
            {
                return;
            }
            for (int i = 0; i < root.subSystemList.Length; i++)
            {
                if (root.subSystemList[i].type != typeof(UnityEngine.PlayerLoop.Update))
                {
                    continue;
                }
                PlayerLoopSystem[] subs = root.subSystemList[i].subSystemList ?? new PlayerLoopSystem[0];
                foreach (PlayerLoopSystem s in subs)
                {
                    if (s.type == typeof(TencentIMSDKPump))
                    {
                        return; // already there (domain reload disabled)
                    }
                }
                var list = new PlayerLoopSystem[subs.Length + 1];
                System.Array.Copy(subs, list, subs.Length);
                list[subs.Length] = new PlayerLoopSystem
                {
                    type = typeof(TencentIMSDKPump),
                    updateDelegate = PumpOnce,
                };
                root.subSystemList[i].subSystemList = list;
                PlayerLoop.SetPlayerLoop(root);
                return;
            }
        }

        private static void PumpOnce()
        {
            TencentIMSDK.Pump();
        }
#endif
    }
}
#endif
