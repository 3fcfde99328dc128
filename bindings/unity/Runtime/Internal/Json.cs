// The package's only contact with a JSON library. To use another one,
// rewrite these two methods: field names are the C JSON keys as they are
// (no renaming), null fields are left out, enums are numbers.

using Newtonsoft.Json;

namespace com.tencent.imsdk.unity.utils
{
    internal static class Json
    {
        private static readonly JsonSerializerSettings Settings = new JsonSerializerSettings
        {
            NullValueHandling = NullValueHandling.Ignore,
            MissingMemberHandling = MissingMemberHandling.Ignore,
        };

        /// <summary>value as JSON text ("null" for null).</summary>
        internal static string Serialize(object value)
        {
            return JsonConvert.SerializeObject(value, Formatting.None, Settings);
        }

        /// <summary>The value of JSON text; default(T) for null or empty text.</summary>
        internal static T Deserialize<T>(string json)
        {
            if (string.IsNullOrEmpty(json))
            {
                return default(T);
            }
            return JsonConvert.DeserializeObject<T>(json, Settings);
        }
    }
}
