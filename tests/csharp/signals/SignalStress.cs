// The Go runtime of libImSDK inside a Mono host, driven by
// tests/mono_signals_test.go: while the library is busy (status calls in
// flight from many threads, results and status changes arriving, Go's GC
// running), the host does what makes Mono send signals: it allocates and
// runs GC.Collect on many threads (the GC stops the world with a signal to
// every thread it must suspend, a real-time signal on Linux) and throws and
// catches NullReferenceException (Mono turns a SIGSEGV in managed code into
// it), also inside the library's callbacks. The process must not crash or
// hang, and every call's callback must run exactly once with the right
// result.
//
// A separate program from tests/csharp/*.cs (its own Main). Environment:
//   IMS_APP, IMS_SIG_ALICE     the app and alice's UserSig
//   IMSDK_SERVER_ADDR          the server (the library reads it at login)
//   IMS_SIGNAL_CALLBACKS       "queued": the package (TencentIMSDK) and its
//                              main-thread Pump, as in Unity; "direct": the
//                              raw P/Invoke layer (IMNativeSDK) with the
//                              library's default mode, callbacks on its
//                              dispatcher thread, as upstream's C# runs
//   IMS_SIGNAL_SECONDS         how long the load runs
//   IMS_SIGNAL_THREADS         how many threads allocate, collect, throw and call
//
// Output: "handlers <when>: <signal>=<flags> ..." for every signal with a
// handler (onstack, or NO when the handler lacks SA_ONSTACK; IGN), "stats
// key=value ...", "PASS name"/"FAIL name: why", and last "N passed, M
// failed". A line "@@ {json}" is a command for the Go peers (bob), answered
// on stdin with "ok" or "err <why>".

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using com.tencent.imsdk.unity;
using com.tencent.imsdk.unity.callback;
using com.tencent.imsdk.unity.enums;
using com.tencent.imsdk.unity.native;
using com.tencent.imsdk.unity.types;
using Newtonsoft.Json;

namespace ImStatus.SignalTests
{
    internal sealed class Failure : Exception
    {
        public Failure(string message) : base(message)
        {
        }
    }

    /// <summary>One call made to the library, and what its callback saw.</summary>
    internal sealed class Call
    {
        internal int Id;
        internal string Api;
        internal List<string> Ids;  // GetUserStatus
        internal string Custom;     // SetSelfStatus
        internal int Calls;         // callbacks run (exactly 1 in the end)
        internal string Problem;    // a wrong result, or null
    }

    /// <summary>The process's signal handlers, read with sigaction(2).</summary>
    internal static class Handlers
    {
        private const int SA_ONSTACK = 0x08000000;
        // struct sigaction of glibc on Linux (x86-64 and arm64): the handler,
        // a 128-byte sigset_t, int sa_flags, then sa_restorer.
        private const int FlagsOffset = 8 + 128;

        [DllImport("libc", EntryPoint = "sigaction")]
        private static extern int sigaction(int sig, IntPtr act, IntPtr oldact);

        /// <summary>signal -> "onstack", "NO" (no SA_ONSTACK) or "IGN", for every signal with a handler.</summary>
        internal static SortedDictionary<int, string> Read()
        {
            var all = new SortedDictionary<int, string>();
            IntPtr buf = Marshal.AllocHGlobal(512);
            try
            {
                for (int sig = 1; sig < 65; sig++)
                {
                    if (sig == 9 || sig == 19 || sigaction(sig, IntPtr.Zero, buf) != 0)
                    {
                        continue; // SIGKILL, SIGSTOP; or not a signal here
                    }
                    long handler = Marshal.ReadInt64(buf, 0);
                    int flags = Marshal.ReadInt32(buf, FlagsOffset);
                    if (handler == 0)
                    {
                        continue; // SIG_DFL
                    }
                    all[sig] = handler == 1 ? "IGN" : ((flags & SA_ONSTACK) != 0 ? "onstack" : "NO");
                }
            }
            finally
            {
                Marshal.FreeHGlobal(buf);
            }
            return all;
        }

        internal static string Show(SortedDictionary<int, string> hs)
        {
            var sb = new StringBuilder();
            foreach (KeyValuePair<int, string> h in hs)
            {
                sb.Append(' ').Append(h.Key).Append('=').Append(h.Value);
            }
            return sb.ToString();
        }

        internal static void Print(string when)
        {
            Console.WriteLine("handlers " + when + ":" + Show(Read()));
        }
    }

    internal static class Program
    {
        private static ulong s_app;
        private static string s_sig;
        private static bool s_direct;
        private static int s_seconds;
        private static int s_threads;
        private static int s_mainThread;
        private static TextReader s_input;

        // Every call, by id; the callbacks' problems; counters.
        private static readonly object s_lock = new object();
        private static readonly Dictionary<int, Call> s_calls = new Dictionary<int, Call>();
        private static readonly List<string> s_problems = new List<string>();
        private static int s_nextId;
        private static int s_callbacks;
        private static int s_callbackThreadsSeen;
        private static int s_callbackThread = -1;
        private static long s_nre;
        private static long s_nreInCallbacks;
        private static long s_collects;
        private static long s_collectsInCallbacks;
        private static long s_allocatedMB;
        private static int s_workersStarted;
        private static int s_bobSeen = -1; // the last "b<n>" status of bob the SDK reported

        // The direct mode's native callbacks: kept alive for the process.
        private static readonly IMNativeSDK.CommonValueCallback s_nativeComm = NativeComm;
        private static readonly IMNativeSDK.TIMUserStatusChangedCallback s_nativeStatus = NativeStatus;

        private static int Main()
        {
            var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false));
            stdout.AutoFlush = true;
            stdout.NewLine = "\n";
            Console.SetOut(stdout);
            s_input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
            s_mainThread = Thread.CurrentThread.ManagedThreadId;

            // Before anything touches the library: Mono's own handlers.
            Handlers.Print("at start");

            int passed = 0, failed = 0;
            foreach (KeyValuePair<string, Action> t in new[]
            {
                new KeyValuePair<string, Action>("InitAndLogin", InitAndLogin),
                new KeyValuePair<string, Action>("FirstCallsDuringGC", FirstCallsDuringGC),
                new KeyValuePair<string, Action>("LoadWithSignals", LoadWithSignals),
                new KeyValuePair<string, Action>("EveryCallbackOnce", EveryCallbackOnce),
                new KeyValuePair<string, Action>("LogoutAndUninit", LogoutAndUninit),
            })
            {
                var sw = Stopwatch.StartNew();
                try
                {
                    t.Value();
                    passed++;
                    Console.WriteLine("PASS " + t.Key + " (" + sw.ElapsedMilliseconds + " ms)");
                }
                catch (Exception e)
                {
                    failed++;
                    Console.WriteLine("FAIL " + t.Key + ": " + e.Message.Replace("\n", " | "));
                    Console.Error.WriteLine("FAIL " + t.Key + ": " + e);
                    if (t.Key == "InitAndLogin")
                    {
                        break; // nothing else can run
                    }
                }
            }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 ? 0 : 1;
        }

        private static string Env(string name)
        {
            string v = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(v))
            {
                throw new Failure("environment variable " + name + " is not set");
            }
            return v;
        }

        private static void Check(bool cond, string what)
        {
            if (!cond)
            {
                throw new Failure(what);
            }
        }

        // ================================================================
        // The Go peers (bob), over stdout/stdin
        // ================================================================

        private static void Peer(string op, string user, string platform, string text = null, string[] ids = null)
        {
            var c = new Dictionary<string, object> { { "op", op }, { "user", user }, { "platform", platform } };
            if (text != null)
            {
                c["text"] = text;
            }
            if (ids != null)
            {
                c["ids"] = ids;
            }
            Console.Out.WriteLine("@@ " + JsonConvert.SerializeObject(c));
            string reply = s_input.ReadLine();
            if (reply != "ok")
            {
                throw new Failure("Go peer: " + (reply ?? "closed the control channel"));
            }
        }

        // ================================================================
        // The library, in either mode
        // ================================================================

        private static byte[] Utf8Arg(string s)
        {
            byte[] b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
            Encoding.UTF8.GetBytes(s, 0, s.Length, b, 0);
            return b;
        }

        private static string FromNative(IntPtr p)
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
            byte[] b = new byte[n];
            Marshal.Copy(p, b, 0, n);
            return Encoding.UTF8.GetString(b);
        }

        /// <summary>Runs queued callbacks (queued mode); the direct mode has nothing to pump.</summary>
        private static void Pump()
        {
            if (!s_direct)
            {
                TencentIMSDK.Pump();
            }
        }

        private static void WaitUntil(Func<bool> cond, string what, int ms = 30000)
        {
            var sw = Stopwatch.StartNew();
            while (!cond())
            {
                if (sw.ElapsedMilliseconds > ms)
                {
                    throw new Failure("timed out after " + ms + " ms waiting for " + what);
                }
                Pump();
                Thread.Sleep(2);
            }
        }

        private static Call NewCall(string api)
        {
            lock (s_lock)
            {
                var c = new Call { Id = ++s_nextId, Api = api };
                s_calls[c.Id] = c;
                return c;
            }
        }

        /// <summary>Records a callback of c (any mode, any thread) and checks its result.</summary>
        private static void Completed(Call c, int code, string desc, string json)
        {
            int calls = Interlocked.Increment(ref c.Calls);
            Interlocked.Increment(ref s_callbacks);
            if (calls != 1)
            {
                Problem(c.Api + " #" + c.Id + ": callback number " + calls);
                return;
            }
            // Callbacks run on one thread: the main thread in queued mode,
            // the library's dispatcher thread in direct mode.
            int tid = Thread.CurrentThread.ManagedThreadId;
            if (Interlocked.CompareExchange(ref s_callbackThread, tid, -1) == -1)
            {
                Interlocked.Increment(ref s_callbackThreadsSeen);
            }
            else if (s_callbackThread != tid)
            {
                Problem(c.Api + " #" + c.Id + ": callback on thread " + tid + ", earlier ones on " + s_callbackThread);
            }
            if (s_direct == (tid == s_mainThread))
            {
                Problem(c.Api + " #" + c.Id + ": callback on thread " + tid + " (main thread " + s_mainThread + ", direct " + s_direct + ")");
            }
            if (code != 0)
            {
                c.Problem = "code " + code + " (" + desc + ")";
            }
            else if (c.Api == "GetUserStatus")
            {
                c.Problem = CheckStatuses(c, json);
            }
            if (c.Problem != null)
            {
                Problem(c.Api + " #" + c.Id + ": " + c.Problem);
            }
            // Inside the callback, as a game's code would: allocate, throw
            // and catch a NullReferenceException (a SIGSEGV on this thread),
            // now and then a full collection (the GC's signals, sent from
            // this thread).
            if (ThrowAndCatchNull())
            {
                Interlocked.Increment(ref s_nreInCallbacks);
            }
            if (c.Id % 97 == 0)
            {
                GC.Collect();
                Interlocked.Increment(ref s_collectsInCallbacks);
            }
        }

        private static string CheckStatuses(Call c, string json)
        {
            List<UserStatus> got;
            try
            {
                got = JsonConvert.DeserializeObject<List<UserStatus>>(json);
            }
            catch (Exception e)
            {
                return "bad JSON: " + e.Message;
            }
            if (got == null || got.Count != c.Ids.Count)
            {
                return "statuses for " + (got == null ? 0 : got.Count) + " ids, want " + c.Ids.Count;
            }
            for (int i = 0; i < got.Count; i++)
            {
                if (got[i].user_status_identifier != c.Ids[i])
                {
                    return "status " + i + " is of " + got[i].user_status_identifier + ", want " + c.Ids[i];
                }
                if (c.Ids[i] == "alice" && got[i].user_status_status_type != TIMUserStatusType.kTIMUserStatusType_Online)
                {
                    return "alice (logged in) is " + got[i].user_status_status_type;
                }
            }
            return null;
        }

        private static void StatusChanged(List<UserStatus> list)
        {
            foreach (UserStatus s in list)
            {
                int n;
                if (s.user_status_identifier == "bob" && s.user_status_custom_status.StartsWith("b", StringComparison.Ordinal) &&
                    int.TryParse(s.user_status_custom_status.Substring(1), out n) && n > s_bobSeen)
                {
                    s_bobSeen = n; // callbacks run one at a time
                }
            }
            ThrowAndCatchNull();
        }

        private static void Problem(string p)
        {
            lock (s_problems)
            {
                if (s_problems.Count < 20)
                {
                    s_problems.Add(p);
                }
            }
        }

        private static void NativeComm(int code, IntPtr desc, IntPtr json, IntPtr userData)
        {
            Call c;
            lock (s_lock)
            {
                s_calls.TryGetValue(userData.ToInt32(), out c);
            }
            if (c == null)
            {
                Problem("a callback with unknown user_data " + userData);
                return;
            }
            Completed(c, code, FromNative(desc), FromNative(json));
        }

        private static void NativeStatus(IntPtr json, IntPtr userData)
        {
            StatusChanged(JsonConvert.DeserializeObject<List<UserStatus>>(FromNative(json)));
        }

        /// <summary>Starts a call in the current mode; false when the library refused it.</summary>
        private static bool Start(Call c)
        {
            int r;
            if (c.Api == "GetUserStatus")
            {
                if (s_direct)
                {
                    r = IMNativeSDK.TIMGetUserStatus(Utf8Arg(JsonConvert.SerializeObject(c.Ids)), s_nativeComm, new IntPtr(c.Id));
                }
                else
                {
                    r = (int)TencentIMSDK.GetUserStatus(c.Ids, new ValueCallback<List<UserStatus>>((code, desc, data, ud) =>
                        Completed(c, code, desc, data == null ? "null" : JsonConvert.SerializeObject(data))));
                }
            }
            else if (s_direct)
            {
                string status = JsonConvert.SerializeObject(new UserStatus { user_status_custom_status = c.Custom });
                r = IMNativeSDK.TIMSetSelfStatus(Utf8Arg(status), s_nativeComm, new IntPtr(c.Id));
            }
            else
            {
                r = (int)TencentIMSDK.SetSelfStatus(new UserStatus { user_status_custom_status = c.Custom },
                    new NullValueCallback((code, desc, ud) => Completed(c, code, desc, "")));
            }
            if (r != 0)
            {
                lock (s_lock)
                {
                    s_calls.Remove(c.Id); // no callback will come
                }
                Problem(c.Api + " #" + c.Id + " returned " + r);
                return false;
            }
            return true;
        }

        private static int Outstanding()
        {
            int n = 0;
            lock (s_lock)
            {
                foreach (Call c in s_calls.Values)
                {
                    if (Volatile.Read(ref c.Calls) == 0)
                    {
                        n++;
                    }
                }
            }
            return n;
        }

        // ================================================================
        // What makes Mono send signals
        // ================================================================

        private sealed class Box
        {
            internal int Value = 1;
        }

        private static Box s_null = null; // read through a method the JIT cannot see through

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static Box NullBox()
        {
            return s_null;
        }

        /// <summary>Reads a field through a null reference: Mono's SIGSEGV handler turns the fault into the exception.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static bool ThrowAndCatchNull()
        {
            try
            {
                Box b = NullBox();
                return b.Value == 42; // faults
            }
            catch (NullReferenceException)
            {
                Interlocked.Increment(ref s_nre);
                return true;
            }
        }

        // ================================================================
        // Tests
        // ================================================================

        private static void InitAndLogin()
        {
            s_app = ulong.Parse(Env("IMS_APP"));
            s_sig = Env("IMS_SIG_ALICE");
            Env("IMSDK_SERVER_ADDR");
            string mode = Env("IMS_SIGNAL_CALLBACKS");
            Check(mode == "queued" || mode == "direct", "IMS_SIGNAL_CALLBACKS must be queued or direct, not " + mode);
            s_direct = mode == "direct";
            s_seconds = int.Parse(Env("IMS_SIGNAL_SECONDS"));
            s_threads = int.Parse(Env("IMS_SIGNAL_THREADS"));

            var login = NewCall("Login");
            int r;
            if (s_direct)
            {
                Check(IMNativeSDK.IMStatusSetCallbackMode(IMNativeSDK.IMSTATUS_CALLBACKS_DIRECT) == 0, "IMStatusSetCallbackMode(DIRECT)");
                IMNativeSDK.TIMSetUserStatusChangedCallback(s_nativeStatus, IntPtr.Zero);
                Handlers.Print("before TIMInit");
                Check(IMNativeSDK.TIMInit(s_app, null) == 0, "TIMInit");
                Handlers.Print("after TIMInit");
                r = IMNativeSDK.TIMLogin(Utf8Arg("alice"), Utf8Arg(s_sig), s_nativeComm, new IntPtr(login.Id));
            }
            else
            {
                TencentIMSDK.GetSDKVersion(); // loads the library
                TencentIMSDK.SetUserStatusChangedCallback((list, ud) => StatusChanged(list));
                Handlers.Print("before TIMInit");
                Check(TencentIMSDK.Init((long)s_app, null) == TIMResult.TIM_SUCC, "Init");
                Handlers.Print("after TIMInit");
                r = (int)TencentIMSDK.Login("alice", s_sig, new NullValueCallback((code, desc, ud) => Completed(login, code, desc, "")));
            }
            Check(r == 0, "Login returned " + r);
            WaitUntil(() => Volatile.Read(ref login.Calls) > 0, "the login callback");
            Check(login.Problem == null, "Login: " + login.Problem);

            Peer("login", "bob", "Windows");
            var sub = NewCall("Subscribe");
            if (s_direct)
            {
                r = IMNativeSDK.TIMSubscribeUserStatus(Utf8Arg("[\"bob\"]"), s_nativeComm, new IntPtr(sub.Id));
            }
            else
            {
                r = (int)TencentIMSDK.SubscribeUserStatus(new List<string> { "bob" }, new NullValueCallback((code, desc, ud) => Completed(sub, code, desc, "")));
            }
            Check(r == 0, "SubscribeUserStatus returned " + r);
            WaitUntil(() => Volatile.Read(ref sub.Calls) > 0, "the subscribe callback");
            Check(sub.Problem == null, "SubscribeUserStatus: " + sub.Problem);
        }

        // Threads that call the library for the first time, all at once,
        // while the GC stops the world over and over. A thread's first call
        // takes one of the Go runtime's spare threads (its "extra Ms") with
        // signals blocked, waiting while none is free; a thread stopped by
        // the GC right after it took the last one cannot make the next.
        private static void FirstCallsDuringGC()
        {
            const int threads = 16;
            var go = new ManualResetEvent(false);
            int done = 0, collecting = 1;
            var collector = new Thread(() =>
            {
                while (Volatile.Read(ref collecting) == 1)
                {
                    GC.Collect(0);
                    Interlocked.Increment(ref s_collects);
                }
            });
            collector.IsBackground = true;
            collector.Start();
            var ts = new List<Thread>();
            for (int i = 0; i < threads; i++)
            {
                var t = new Thread(() =>
                {
                    go.WaitOne();
                    int st = IMNativeSDK.TIMGetLoginStatus(); // this thread's first call into the library
                    if (st != (int)TIMLoginStatus.kTIMLoginStatus_Logined)
                    {
                        Problem("GetLoginStatus on a new thread: " + st);
                    }
                    Interlocked.Increment(ref done);
                });
                t.IsBackground = true;
                t.Start();
                ts.Add(t);
            }
            Thread.Sleep(20);
            go.Set();
            foreach (Thread t in ts)
            {
                Check(t.Join(30000), "a thread's first call did not return in 30 s");
            }
            Volatile.Write(ref collecting, 0);
            collector.Join();
            Check(done == threads, done + " of " + threads + " first calls returned");
        }

        private static void LoadWithSignals()
        {
            var deadline = Stopwatch.StartNew();
            var workers = new List<Thread>();
            for (int i = 0; i < s_threads; i++)
            {
                int me = i;
                var t = new Thread(() => Worker(me, deadline));
                t.IsBackground = true;
                t.Start();
                workers.Add(t);
            }
            // The main thread: pumps (queued mode), and has bob change his
            // status now and then; the SDK reports each change to alice.
            int bob = 0;
            var lastBob = Stopwatch.StartNew();
            while (deadline.ElapsedMilliseconds < s_seconds * 1000L)
            {
                Pump();
                if (lastBob.ElapsedMilliseconds >= 100)
                {
                    bob++;
                    Peer("set_status", "bob", "Windows", "b" + bob);
                    lastBob.Restart();
                }
                Thread.Sleep(1);
            }
            foreach (Thread t in workers)
            {
                while (!t.Join(5))
                {
                    Pump();
                }
            }
            int last = bob;
            WaitUntil(() => s_bobSeen == last, "bob's last status b" + last + " to reach the status-changed callback (last seen b" + s_bobSeen + ")");
            Console.WriteLine("stats workers=" + Volatile.Read(ref s_workersStarted) + " calls=" + s_nextId + " bob_changes=" + bob +
                " collects=" + Interlocked.Read(ref s_collects) + " collects_in_callbacks=" + Interlocked.Read(ref s_collectsInCallbacks) +
                " nre=" + Interlocked.Read(ref s_nre) + " nre_in_callbacks=" + Interlocked.Read(ref s_nreInCallbacks) +
                " allocated_mb=" + Interlocked.Read(ref s_allocatedMB) + " gc_gen2=" + GC.CollectionCount(2));
            Check(Interlocked.Read(ref s_nre) > 0 && Interlocked.Read(ref s_collects) > 0, "no exceptions or collections happened");
        }

        private static void Worker(int me, Stopwatch deadline)
        {
            Interlocked.Increment(ref s_workersStarted);
            var rnd = new Random(me * 7919 + 1);
            var keep = new object[256]; // survivors: the GC must promote and trace them
            long bytes = 0;
            int n = 0;
            var mine = new List<Call>();
            while (deadline.ElapsedMilliseconds < s_seconds * 1000L)
            {
                n++;
                // Allocate: arrays, strings, small objects; keep some.
                int size = rnd.Next(64, 32 * 1024);
                keep[rnd.Next(keep.Length)] = new byte[size];
                var strings = new List<string>(64);
                for (int i = 0; i < 64; i++)
                {
                    strings.Add("w" + me + "-" + n + "-" + i);
                }
                keep[rnd.Next(keep.Length)] = strings;
                bytes += size + 64 * 40;
                if (bytes > 1 << 20)
                {
                    Interlocked.Add(ref s_allocatedMB, bytes >> 20);
                    bytes &= (1 << 20) - 1;
                }
                ThrowAndCatchNull();
                if (n % 25 == 0)
                {
                    GC.Collect(n % 75 == 0 ? 2 : 0);
                    Interlocked.Increment(ref s_collects);
                }
                // Keep up to 8 calls of this thread in flight.
                mine.RemoveAll(c => Volatile.Read(ref c.Calls) > 0);
                if (mine.Count < 8)
                {
                    Call c;
                    if (n % 3 == 0)
                    {
                        c = NewCall("SetSelfStatus");
                        c.Custom = "w" + me + "-" + n;
                    }
                    else
                    {
                        c = NewCall("GetUserStatus");
                        // Mostly small queries, now and then 300 ids: work for Go's allocator and GC.
                        int count = n % 10 == 0 ? 300 : rnd.Next(1, 20);
                        c.Ids = new List<string>(count) { "alice" };
                        for (int i = 1; i < count; i++)
                        {
                            c.Ids.Add(i % 7 == 0 ? "bob" : "u" + rnd.Next(1000));
                        }
                    }
                    if (Start(c))
                    {
                        mine.Add(c);
                    }
                }
                else
                {
                    Thread.Sleep(1);
                }
            }
        }

        private static void EveryCallbackOnce()
        {
            WaitUntil(() => Outstanding() == 0, "every call's callback (" + Outstanding() + " outstanding)");
            Pump();
            Thread.Sleep(50);
            Pump(); // a second callback, if any, would come now
            lock (s_problems)
            {
                Check(s_problems.Count == 0, s_problems.Count + " problem(s): " + string.Join("; ", s_problems.ToArray()));
            }
            lock (s_lock)
            {
                foreach (Call c in s_calls.Values)
                {
                    Check(c.Calls == 1, c.Api + " #" + c.Id + ": " + c.Calls + " callbacks");
                }
                Console.WriteLine("stats callbacks=" + s_callbacks + " calls_checked=" + s_calls.Count + " callback_threads=" + s_callbackThreadsSeen);
                Check(s_callbacks == s_calls.Count, s_callbacks + " callbacks for " + s_calls.Count + " calls");
            }
        }

        private static void LogoutAndUninit()
        {
            var logout = NewCall("Logout");
            int r;
            if (s_direct)
            {
                r = IMNativeSDK.TIMLogout(s_nativeComm, new IntPtr(logout.Id));
            }
            else
            {
                r = (int)TencentIMSDK.Logout(new NullValueCallback((code, desc, ud) => Completed(logout, code, desc, "")));
            }
            Check(r == 0, "Logout returned " + r);
            WaitUntil(() => Volatile.Read(ref logout.Calls) > 0, "the logout callback");
            Check(logout.Problem == null, "Logout: " + logout.Problem);
            Check((s_direct ? IMNativeSDK.TIMUninit() : (int)TencentIMSDK.Uninit()) == 0, "Uninit");
            Handlers.Print("at the end");
        }
    }
}
