// MonoBoundary.cs: what crossing libImSDK's C boundary costs from C# on
// Mono, beside a P/Invoke into libc. imbench compiles it with mcs and runs
// it with mono (LD_LIBRARY_PATH holding libImSDK.so). No server is needed.
//
//   mono MonoBoundary.exe [N [K [M]]]
//
// Prints "name value" lines, in nanoseconds:
//   pinvoke_ns            TIMGetLoginStatus() through P/Invoke, mean of N calls
//   baseline_pinvoke_ns   libc's abs() through P/Invoke, mean of N calls
//   callback_rtt_p50_ns, callback_rtt_p99_ns
//                         callExperimentalAPI(set_ui_platform) until its
//                         callback ran, in the queued mode a Unity game uses
//                         (IMStatusSetCallbackMode(1), the caller pumping
//                         with IMStatusPumpCallbacks): K calls, one at a time
//   baseline_callback_ns  a P/Invoke into libc's qsort of two ints that calls
//                         a managed comparator once: the floor of a call
//                         out and a callback in, mean of K
//   callback_inflight_ns  per call, M calls issued at once, then pumped until
//                         every callback ran (median of 20 rounds)
// Defaults: N 2,000,000, K 20,000, M 1,000.

using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

internal static class MonoBoundary
{
    private const string Lib = "ImSDK";

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void CommCallback(int code, IntPtr desc, IntPtr json, IntPtr userData);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    private static extern int TIMInit(ulong sdkAppId, byte[] config);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    private static extern int TIMUninit();

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    private static extern int TIMGetLoginStatus();

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    private static extern int IMStatusSetCallbackMode(int mode);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    private static extern int IMStatusPumpCallbacks(int max);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    private static extern int callExperimentalAPI(byte[] json, CommCallback cb, IntPtr userData);

    [DllImport("libc", EntryPoint = "abs", CallingConvention = CallingConvention.Cdecl)]
    private static extern int LibcAbs(int x);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int Comparer(IntPtr a, IntPtr b);

    [DllImport("libc", EntryPoint = "qsort", CallingConvention = CallingConvention.Cdecl)]
    private static extern void LibcQsort(int[] items, UIntPtr count, UIntPtr size, Comparer cmp);

    private static int compared;
    private static readonly Comparer Compare = (a, b) =>
    {
        compared++;
        return Marshal.ReadInt32(a) - Marshal.ReadInt32(b);
    };

    private static int answered;
    private static int failed;
    // Kept in a static field so the collector never frees the thunk.
    private static readonly CommCallback OnDone = Done;

    private static void Done(int code, IntPtr desc, IntPtr json, IntPtr userData)
    {
        if (code != 0)
        {
            failed++;
        }
        answered++;
    }

    private static byte[] Utf8(string s)
    {
        return Encoding.UTF8.GetBytes(s + "\0");
    }

    private static double Ns(long ticks)
    {
        return ticks * 1e9 / Stopwatch.Frequency;
    }

    private static int Main(string[] args)
    {
        long n = args.Length > 0 ? long.Parse(args[0]) : 2000000;
        int k = args.Length > 1 ? int.Parse(args[1]) : 20000;
        int m = args.Length > 2 ? int.Parse(args[2]) : 1000;
        if (IMStatusSetCallbackMode(1) != 0 || TIMInit(1400000000UL, Utf8("")) != 0)
        {
            Console.Error.WriteLine("TIMInit failed");
            return 1;
        }

        long sink = 0;
        for (long i = 0; i < n / 10; i++)
        {
            sink += TIMGetLoginStatus() + LibcAbs((int)i);
        }
        var sw = Stopwatch.StartNew();
        for (long i = 0; i < n; i++)
        {
            sink += TIMGetLoginStatus();
        }
        Console.WriteLine("pinvoke_ns {0:F2}", Ns(sw.ElapsedTicks) / n);
        sw.Restart();
        for (long i = 0; i < n; i++)
        {
            sink += LibcAbs((int)i);
        }
        Console.WriteLine("baseline_pinvoke_ns {0:F2}", Ns(sw.ElapsedTicks) / n);

        byte[] op = Utf8("{\"request_internal_operation\":\"internal_operation_set_ui_platform\"," +
                         "\"request_set_ui_platform_param\":\"Linux\"}");
        int warm = k / 10;
        var rtt = new double[k];
        for (int i = 0; i < warm + k; i++)
        {
            answered = 0;
            long t0 = Stopwatch.GetTimestamp();
            if (callExperimentalAPI(op, OnDone, IntPtr.Zero) != 0)
            {
                Console.Error.WriteLine("callExperimentalAPI failed");
                return 1;
            }
            while (answered == 0)
            {
                IMStatusPumpCallbacks(0);
            }
            if (i >= warm)
            {
                rtt[i - warm] = Ns(Stopwatch.GetTimestamp() - t0);
            }
        }
        Array.Sort(rtt);
        Console.WriteLine("callback_rtt_p50_ns {0:F0}", rtt[k / 2]);
        Console.WriteLine("callback_rtt_p99_ns {0:F0}", rtt[Math.Min(k - 1, k * 99 / 100)]);

        var pair = new int[] { 2, 1 };
        var size = new UIntPtr(4);
        var two = new UIntPtr(2);
        for (int i = 0; i < warm; i++)
        {
            LibcQsort(pair, two, size, Compare);
        }
        sw.Restart();
        for (int i = 0; i < k; i++)
        {
            pair[0] = 2;
            pair[1] = 1;
            LibcQsort(pair, two, size, Compare);
        }
        Console.WriteLine("baseline_callback_ns {0:F1}", Ns(sw.ElapsedTicks) / k);

        var rounds = new double[20];
        for (int round = 0; round < 22; round++)
        {
            answered = 0;
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < m; i++)
            {
                callExperimentalAPI(op, OnDone, IntPtr.Zero);
            }
            while (answered < m)
            {
                IMStatusPumpCallbacks(0);
            }
            if (round >= 2)
            {
                rounds[round - 2] = Ns(Stopwatch.GetTimestamp() - t0) / m;
            }
        }
        Array.Sort(rounds);
        Console.WriteLine("callback_inflight_ns {0:F1}", rounds[10]);
        TIMUninit();
        if (failed > 0)
        {
            Console.Error.WriteLine(failed + " callbacks answered an error");
            return 1;
        }
        return sink == -1 ? 1 : 0;
    }
}
