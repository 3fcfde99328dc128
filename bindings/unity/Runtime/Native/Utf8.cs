// UTF-8 in and out of native code, the same on every platform and on every
// runtime (Mono 6.8 has no Marshal.PtrToStringUTF8; the default `string`
// marshaling uses the ANSI code page on Windows).

using System;
using System.Runtime.InteropServices;
using System.Text;

namespace com.tencent.imsdk.unity.native
{
    internal static class Utf8
    {
        // Scratch for FromNative, one per thread: the bytes are decoded at
        // once, so the buffer is free again when FromNative returns.
        [ThreadStatic] private static byte[] t_scratch;

        /// <summary>s as UTF-8 plus a NUL; null stays null (a NULL pointer).</summary>
        internal static byte[] Arg(string s)
        {
            if (s == null)
            {
                return null;
            }
            int n = Encoding.UTF8.GetByteCount(s);
            byte[] b = new byte[n + 1]; // the last byte stays 0
            Encoding.UTF8.GetBytes(s, 0, s.Length, b, 0);
            return b;
        }

        /// <summary>
        /// Copies the NUL-terminated UTF-8 string at p (valid only during the
        /// native call that handed it over) into a managed string. NULL gives "".
        /// </summary>
        internal static string FromNative(IntPtr p)
        {
            if (p == IntPtr.Zero)
            {
                return "";
            }
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0)
            {
                n++;
            }
            if (n == 0)
            {
                return "";
            }
            byte[] buf = t_scratch;
            if (buf == null || buf.Length < n)
            {
                int size = 256;
                while (size < n)
                {
                    size *= 2;
                }
                buf = new byte[size];
                t_scratch = buf;
            }
            Marshal.Copy(p, buf, 0, n);
            return Encoding.UTF8.GetString(buf, 0, n);
        }

        /// <summary>Decodes a NUL-terminated UTF-8 string held in a managed buffer.</summary>
        internal static string FromBuffer(byte[] b)
        {
            int n = Array.IndexOf(b, (byte)0);
            if (n < 0)
            {
                n = b.Length;
            }
            return Encoding.UTF8.GetString(b, 0, n);
        }
    }
}
