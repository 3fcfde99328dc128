// Native code calls back into C# only through static methods marked
// [MonoPInvokeCallback]: IL2CPP and full AOT (iOS) need it to generate the
// reverse P/Invoke wrappers. Unity defines AOT.MonoPInvokeCallbackAttribute
// itself; elsewhere (plain Mono, .NET, the tests) this stand-in takes its
// place so the same source compiles.

#if !UNITY_5_3_OR_NEWER
using System;

namespace AOT
{
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        public MonoPInvokeCallbackAttribute(Type type)
        {
            Type = type;
        }

        public Type Type { get; private set; }
    }
}
#endif
