// Unity before 2019.3 only (no public PlayerLoop API): a hidden component
// that pumps the SDK's callbacks once per frame. See MainThreadPump.cs.

#if UNITY_5_3_OR_NEWER && !UNITY_2019_3_OR_NEWER
using UnityEngine;

namespace com.tencent.imsdk.unity.utils
{
    [AddComponentMenu("")]
    internal sealed class TencentIMSDKPumpBehaviour : MonoBehaviour
    {
        private void Update()
        {
            TencentIMSDK.Pump();
        }
    }
}
#endif
