// Upstream's public Utils, for the calls apps make of it: its JSON helpers
// (here over the package's one JSON contact, Json.cs) and time stamp.

using System;

namespace com.tencent.imsdk.unity.utils
{
    /// <summary>
    /// Helpers of upstream's package that apps call: JSON text to and from
    /// the SDK's types, with the C JSON keys as field names.
    /// </summary>
    public class Utils
    {
        /// <summary>value as JSON text, null fields left out; "" when it cannot be written.</summary>
        public static string ToJson(object pData)
        {
            try
            {
                return Json.Serialize(pData);
            }
            catch (Exception)
            {
                return "";
            }
        }

        /// <summary>
        /// The value of JSON text: the text itself for T string, default(T)
        /// for null or empty text or text that is not a T (never throws, as
        /// upstream's).
        /// </summary>
        public static T FromJson<T>(string pJson)
        {
            if (typeof(T) == typeof(string))
            {
                return (T)(object)pJson;
            }
            try
            {
                return Json.Deserialize<T>(pJson);
            }
            catch (Exception)
            {
                return default(T);
            }
        }

        /// <summary>Milliseconds since 1970-01-01 UTC.</summary>
        public static long GetTimeStamp()
        {
            return (long)(DateTime.UtcNow - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalMilliseconds;
        }
    }
}
