/*
 * signals_host.c: a C host that installs signal handlers the way managed
 * runtimes do (without SA_ONSTACK), run by TestSignalsCHost
 * (tests/mono_signals_test.go). It links libImSDK, so the Go runtime
 * starts before main() and cannot see handlers main() installs: only
 * TIMInit can (TIMCloud.h, "Signals").
 *
 *   1. Handlers installed before TIMInit: TIMInit turns SA_ONSTACK on and
 *      keeps the handler, its mask and its other flags; SIG_IGN and SIG_DFL
 *      stay as they are.
 *   2. While the library is busy (calls from this thread, callbacks on its
 *      dispatcher thread, Go's GC), two threads send SIGUSR1 to every thread
 *      of the process over and over, as a stop-the-world GC does; the
 *      handler uses 6 KiB of stack, as a runtime's suspend handler can.
 *      Every call's callback must run exactly once. Without SA_ONSTACK a
 *      signal that lands on a thread running Go code runs the handler on a
 *      goroutine's stack, and the Go runtime crashes within seconds
 *      ("unexpected fault address", "marked free object in span", ...).
 *   3. A handler installed after TIMInit is not changed until the next
 *      TIMInit: the host's own duty (TIMCloud.h).
 *
 * Output: "ok ..." / "FAIL line: ..." per check, "stats ...", and last
 * "N passed, M failed"; exit status 0 only when M is 0.
 * Argument: the seconds the signals run (default 4).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "TIMCloud.h"
#include "imstatus.h"

static int passed, failed;

#define CHECK(cond, ...)                                  \
	do {                                                  \
		if (cond) {                                       \
			passed++;                                     \
			printf("ok   ");                              \
		} else {                                          \
			failed++;                                     \
			printf("FAIL %d: ", __LINE__);                \
		}                                                 \
		printf(__VA_ARGS__);                              \
		printf("\n");                                     \
		fflush(stdout);                                   \
	} while (0)

/* ---- the handlers ---- */

static volatile long usr1_handled;
static volatile long winch_handled;

/* As a runtime's suspend handler: several kilobytes of stack. */
static void usr1_handler(int sig, siginfo_t* si, void* ctx) {
	volatile char frame[6144];
	(void)si;
	(void)ctx;
	memset((char*)frame, sig, sizeof frame);
	__sync_fetch_and_add(&usr1_handled, frame[sizeof frame / 2] == sig);
}

static void winch_handler(int sig) {
	(void)sig;
	__sync_fetch_and_add(&winch_handled, 1);
}

static void usr2_handler(int sig, siginfo_t* si, void* ctx) {
	(void)sig;
	(void)si;
	(void)ctx;
}

static struct sigaction get(int sig) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	if (sigaction(sig, NULL, &sa) != 0) {
		perror("sigaction");
		exit(2);
	}
	return sa;
}

/* ---- signalling every thread, as a stop-the-world GC does ---- */

static volatile int stop_senders;
static volatile long signals_sent;

static void* sender(void* arg) {
	pid_t pid = getpid();
	long self = syscall(SYS_gettid);
	(void)arg;
	while (!stop_senders) {
		DIR* d = opendir("/proc/self/task");
		if (d == NULL) {
			perror("opendir /proc/self/task");
			exit(2);
		}
		struct dirent* e;
		while ((e = readdir(d)) != NULL) {
			long tid = atol(e->d_name);
			if (tid > 0 && tid != self && syscall(SYS_tgkill, pid, tid, SIGUSR1) == 0) {
				__sync_fetch_and_add(&signals_sent, 1);
			}
		}
		closedir(d);
		usleep(200);
	}
	return NULL;
}

/* ---- calls and their callbacks ---- */

#define MAX_CALLS 400000
static int callbacks_of[MAX_CALLS]; /* callbacks run, per call */
static volatile long callbacks;
static volatile long bad_codes;

static void comm_cb(int32_t code, const char* desc, const char* json, const void* user_data) {
	(void)desc;
	(void)json;
	uintptr_t i = (uintptr_t)user_data;
	if (i < MAX_CALLS) {
		__sync_fetch_and_add(&callbacks_of[i], 1);
	}
	if (code != 0) {
		__sync_fetch_and_add(&bad_codes, 1);
	}
	__sync_fetch_and_add(&callbacks, 1);
}

/* set_custom_server_info with 40 addresses: JSON for Go to parse and keep. */
static int busy_call(uintptr_t i) {
	char json[4096];
	int n = snprintf(json, sizeof json,
	                 "{\"request_internal_operation\":\"internal_operation_set_custom_server_info\","
	                 "\"request_set_custom_server_info_param\":{\"longconnection_address_array\":[");
	for (int a = 0; a < 40; a++) {
		n += snprintf(json + n, sizeof json - n, "%s{\"server_address_ip\":\"10.0.%d.%d\",\"server_address_port\":%d}",
		              a ? "," : "", (int)(i % 250), a, 1000 + a);
	}
	snprintf(json + n, sizeof json - n, "]}}");
	return callExperimentalAPI(json, comm_cb, (const void*)i);
}

int main(int argc, char** argv) {
	int seconds = argc > 1 ? atoi(argv[1]) : 4;
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* 1. Handlers as a managed runtime installs them: no SA_ONSTACK. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = usr1_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = winch_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGHUP, SIG_DFL);
	CHECK((get(SIGUSR1).sa_flags & SA_ONSTACK) == 0, "SIGUSR1's handler starts without SA_ONSTACK (the Go runtime, started first, did not see it)");

	CHECK(TIMInit(1400000000, NULL) == TIM_SUCC, "TIMInit");
	struct sigaction usr1 = get(SIGUSR1), winch = get(SIGWINCH), usr2 = get(SIGUSR2), hup = get(SIGHUP);
	CHECK(usr1.sa_sigaction == usr1_handler, "SIGUSR1: the handler is kept");
	CHECK((usr1.sa_flags & (SA_ONSTACK | SA_SIGINFO | SA_RESTART)) == (SA_ONSTACK | SA_SIGINFO | SA_RESTART),
	      "SIGUSR1: SA_ONSTACK on, SA_SIGINFO and SA_RESTART kept (flags %#x)", (unsigned)usr1.sa_flags);
	CHECK(sigismember(&usr1.sa_mask, SIGUSR2) == 1 && sigismember(&usr1.sa_mask, SIGHUP) == 0, "SIGUSR1: the mask is kept");
	CHECK(winch.sa_handler == winch_handler && (winch.sa_flags & SA_ONSTACK) != 0 && (winch.sa_flags & SA_SIGINFO) == 0,
	      "SIGWINCH (an sa_handler handler): kept, SA_ONSTACK on, still without SA_SIGINFO (flags %#x)", (unsigned)winch.sa_flags);
	CHECK(usr2.sa_handler == SIG_IGN && (usr2.sa_flags & SA_ONSTACK) == 0, "SIGUSR2: SIG_IGN left alone");
	CHECK(hup.sa_handler == SIG_DFL && (hup.sa_flags & SA_ONSTACK) == 0, "SIGHUP: SIG_DFL left alone");
	raise(SIGWINCH);
	CHECK(winch_handled == 1, "SIGWINCH's handler still runs (%ld)", winch_handled);

	/* 2. Signals to every thread while the library is busy. */
	pthread_t senders[2];
	for (int i = 0; i < 2; i++) {
		pthread_create(&senders[i], NULL, sender, NULL);
	}
	uintptr_t calls = 0;
	long refused = 0;
	time_t end = time(NULL) + seconds;
	while (time(NULL) < end && calls < MAX_CALLS) {
		if (busy_call(calls) == TIM_SUCC) {
			calls++;
		} else {
			refused++;
		}
		if (calls % 64 == 0) {
			usleep(100); /* let the callbacks keep up */
		}
	}
	stop_senders = 1;
	for (int i = 0; i < 2; i++) {
		pthread_join(senders[i], NULL);
	}
	for (int i = 0; i < 3000 && callbacks < (long)calls; i++) {
		usleep(10000);
	}
	usleep(50000); /* a second callback, if any, would come now */
	long missing = 0, repeated = 0;
	for (uintptr_t i = 0; i < calls; i++) {
		missing += callbacks_of[i] == 0;
		repeated += callbacks_of[i] > 1;
	}
	printf("stats calls=%lu callbacks=%ld signals_sent=%ld handled=%ld\n", (unsigned long)calls, callbacks, signals_sent, usr1_handled);
	CHECK(refused == 0, "every call returned TIM_SUCC (%ld refused)", refused);
	CHECK(calls > 1000, "the library was busy: %lu calls", (unsigned long)calls);
	CHECK(missing == 0 && repeated == 0 && callbacks == (long)calls,
	      "every callback exactly once: %ld callbacks for %lu calls, %ld missing, %ld repeated", callbacks, (unsigned long)calls, missing, repeated);
	CHECK(bad_codes == 0, "every callback's code is 0 (%ld not)", bad_codes);
	CHECK(usr1_handled > 1000, "SIGUSR1's handler ran %ld times (%ld sent)", usr1_handled, signals_sent);

	/* 3. Installed after TIMInit: the host's duty, until the next TIMInit. */
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = usr2_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	CHECK((get(SIGUSR2).sa_flags & SA_ONSTACK) == 0, "a handler installed after TIMInit is left as installed");
	CHECK(TIMUninit() == TIM_SUCC, "TIMUninit");
	CHECK(TIMInit(1400000000, NULL) == TIM_SUCC, "TIMInit again");
	usr2 = get(SIGUSR2);
	CHECK(usr2.sa_sigaction == usr2_handler && (usr2.sa_flags & SA_ONSTACK) != 0, "the next TIMInit turns SA_ONSTACK on for it");
	CHECK(TIMUninit() == TIM_SUCC, "TIMUninit");

	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
