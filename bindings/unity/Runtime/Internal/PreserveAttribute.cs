// Unity's managed code stripping keeps anything marked with an attribute
// named PreserveAttribute, whatever its namespace: the JSON types carry it
// (with link.xml as a second line of defence) because the JSON library
// reaches their constructors and fields by reflection only.

using System;

namespace com.tencent.imsdk.unity.utils
{
    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Field | AttributeTargets.Constructor, Inherited = false)]
    internal sealed class PreserveAttribute : Attribute
    {
    }
}
