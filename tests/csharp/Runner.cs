// A small test runner for the Unity package on Mono, driven by
// tests/mono_test.go: it runs the tests of StatusTests.cs in order (they
// share the one SDK of the process), prints "PASS name" / "FAIL name: why"
// and, last, "N passed, M failed"; the exit code is 0 only when all passed.
//
// The Go side also plays the other users. A line "@@ {json}" on stdout is a
// command for it (log in bob, set bob's status, wait until bob sees alice's
// status, ...); it answers on stdin with "ok", "ok <json>" or "err <why>".
// stdout and stdin are UTF-8 whatever the locale.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;
using com.tencent.imsdk.unity;
using Newtonsoft.Json;

namespace ImStatus.MonoTests
{
    internal sealed class TestFailure : Exception
    {
        public TestFailure(string message) : base(message)
        {
        }
    }

    internal static class Program
    {
        /// <summary>The thread every SDK callback must run on.</summary>
        internal static int MainThreadId;

        /// <summary>Callbacks seen, and those that ran on another thread.</summary>
        internal static int CallbackCount;
        internal static int OffMainThread;
        internal static string OffMainThreadWhere;

        private static int Main(string[] args)
        {
            var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false));
            stdout.AutoFlush = true;
            stdout.NewLine = "\n";
            Console.SetOut(stdout);
            Peer.Input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
            MainThreadId = Thread.CurrentThread.ManagedThreadId;

            int passed = 0;
            int failed = 0;
            foreach (KeyValuePair<string, Action> test in StatusTests.All())
            {
                var sw = Stopwatch.StartNew();
                try
                {
                    test.Value();
                    passed++;
                    Console.WriteLine("PASS " + test.Key + " (" + sw.ElapsedMilliseconds + " ms)");
                }
                catch (Exception e)
                {
                    failed++;
                    Console.WriteLine("FAIL " + test.Key + ": " + OneLine(e.Message));
                    Console.Error.WriteLine("FAIL " + test.Key + ": " + e);
                }
            }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 ? 0 : 1;
        }

        private static string OneLine(string s)
        {
            return s.Replace("\r", " ").Replace("\n", " | ");
        }

        /// <summary>Every test callback calls this first.</summary>
        internal static void OnCallback(string where)
        {
            CallbackCount++;
            if (Thread.CurrentThread.ManagedThreadId != MainThreadId)
            {
                OffMainThread++;
                OffMainThreadWhere = where + " on thread " + Thread.CurrentThread.ManagedThreadId;
            }
        }
    }

    /// <summary>Assertions.</summary>
    internal static class Check
    {
        internal static void True(bool cond, string what)
        {
            if (!cond)
            {
                throw new TestFailure(what);
            }
        }

        internal static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
            {
                throw new TestFailure(what + ": expected " + Show(expected) + ", got " + Show(actual));
            }
        }

        internal static void NonEmpty(string s, string what)
        {
            if (string.IsNullOrEmpty(s))
            {
                throw new TestFailure(what + ": empty");
            }
        }

        internal static string Show(object o)
        {
            if (o == null)
            {
                return "null";
            }
            var s = o as string;
            return s != null ? "\"" + s + "\"" : o.ToString();
        }
    }

    /// <summary>Real waiting: pump until a condition holds, with a deadline.</summary>
    internal static class Wait
    {
        internal const int DefaultMs = 10000;

        internal static void Until(Func<bool> cond, string what, int timeoutMs = DefaultMs)
        {
            var sw = Stopwatch.StartNew();
            while (true)
            {
                TencentIMSDK.Pump();
                if (cond())
                {
                    return;
                }
                if (sw.ElapsedMilliseconds > timeoutMs)
                {
                    throw new TestFailure("timed out after " + timeoutMs + " ms waiting for " + what);
                }
                Thread.Sleep(2);
            }
        }

        /// <summary>Pumps for a while: for checks that something does NOT happen.</summary>
        internal static void Pumping(int ms)
        {
            var sw = Stopwatch.StartNew();
            while (sw.ElapsedMilliseconds < ms)
            {
                TencentIMSDK.Pump();
                Thread.Sleep(2);
            }
        }
    }

    /// <summary>The Go side: the other users, as real core.Client sessions.</summary>
    internal static class Peer
    {
        internal static TextReader Input;

        private static readonly JsonSerializerSettings Ascii = new JsonSerializerSettings
        {
            StringEscapeHandling = StringEscapeHandling.EscapeNonAscii,
            NullValueHandling = NullValueHandling.Ignore,
        };

        /// <summary>Sends one command; returns what follows "ok", or throws.</summary>
        internal static string Do(Dictionary<string, object> command)
        {
            Console.Out.WriteLine("@@ " + JsonConvert.SerializeObject(command, Ascii));
            string reply = Input.ReadLine();
            if (reply == null)
            {
                throw new TestFailure("the Go side closed the control channel");
            }
            if (reply == "ok")
            {
                return "";
            }
            if (reply.StartsWith("ok ", StringComparison.Ordinal))
            {
                return reply.Substring(3);
            }
            throw new TestFailure("Go peer: " + reply);
        }

        internal static Dictionary<string, object> Cmd(string op, string user, string platform)
        {
            return new Dictionary<string, object> { { "op", op }, { "user", user }, { "platform", platform } };
        }

        internal static void Login(string user, string platform)
        {
            Do(Cmd("login", user, platform));
        }

        internal static void Logout(string user, string platform)
        {
            Do(Cmd("logout", user, platform));
        }

        /// <summary>Closes the connection without logging out: the user goes OFFLINE.</summary>
        internal static void Drop(string user, string platform)
        {
            Do(Cmd("drop", user, platform));
        }

        internal static void SetStatus(string user, string platform, string text)
        {
            var c = Cmd("set_status", user, platform);
            c["text"] = text;
            Do(c);
        }

        internal static void Subscribe(string user, string platform, params string[] ids)
        {
            var c = Cmd("subscribe", user, platform);
            c["ids"] = ids;
            Do(c);
        }

        /// <summary>
        /// Waits (on the Go side) until user's session has been told that
        /// target has the given type and custom status. literal: the Go side
        /// also compares custom with its own copy of the non-ASCII test text.
        /// </summary>
        internal static void WaitStatus(string user, string platform, string target, int type, string custom, bool literal = false)
        {
            var c = Cmd("wait_status", user, platform);
            c["target"] = target;
            c["type"] = type;
            c["custom"] = custom;
            c["literal"] = literal;
            Do(c);
        }
    }
}
