/*
 * cboundary.c: what crossing libImSDK's C boundary costs, beside plain C
 * doing the same hand-offs. No server is needed.
 *
 *   cboundary [N [K [M]]]
 *
 * Prints "name value" lines, in nanoseconds:
 *   export_call_ns            TIMGetLoginStatus(), mean of N calls
 *   baseline_call_ns          an empty C function called through a pointer, mean of N calls
 *   callback_rtt_p50_ns, callback_rtt_p99_ns
 *                             callExperimentalAPI(set_ui_platform) until its
 *                             callback (on the library's thread) has woken
 *                             the caller: K calls, one at a time
 *   baseline_handoff_p50_ns, baseline_handoff_p99_ns
 *                             the same wake-up and answer between two plain C
 *                             threads (mutex and condition variables)
 *   callback_inflight_ns      per call, M calls issued at once then every
 *                             callback awaited (median of 20 rounds)
 *   baseline_inflight_ns      per item, M items queued to a plain C thread
 *                             that calls a function for each
 *   queued_rtt_p50_ns, queued_rtt_p99_ns
 *                             as callback_rtt, in the queued mode
 *                             (IMStatusSetCallbackMode(1)): the caller pumps
 *                             with IMStatusPumpCallbacks until the callback ran
 *   baseline_callback_ns      a call through a pointer that calls back through
 *                             a pointer, mean of N
 *   queued_inflight_ns        per call, M calls issued at once, then pumped
 *                             until every callback ran (median of 20 rounds)
 * Defaults: N 2,000,000, K 20,000, M 1,000.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "TIMCloud.h"
#include "imstatus.h"

static int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp(const void* a, const void* b) {
	int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
	return (x > y) - (x < y);
}

static int64_t pct(int64_t* v, int n, int per_mille) {
	qsort(v, n, sizeof *v, cmp);
	int i = (int)((int64_t)n * per_mille / 1000);
	return v[i < n ? i : n - 1];
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int answered, target;

/* One call's callback, on the library's thread. */
static void on_done(int32_t code, const char* desc, const char* json, const void* ud) {
	(void)desc;
	(void)json;
	(void)ud;
	if (code != 0) {
		fprintf(stderr, "callExperimentalAPI answered %d\n", code);
		exit(1);
	}
	pthread_mutex_lock(&mu);
	if (++answered >= target) pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static void wait_answers(int n) {
	pthread_mutex_lock(&mu);
	while (answered < n) pthread_cond_wait(&cv, &mu);
	answered = 0;
	pthread_mutex_unlock(&mu);
}

static const char* op = "{\"request_internal_operation\":\"internal_operation_set_ui_platform\","
			"\"request_set_ui_platform_param\":\"Linux\"}";

/* The baseline's worker: takes queued items and "calls back" for each. */
static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcv = PTHREAD_COND_INITIALIZER;
static int pending, stop_worker;

static void* worker(void* arg) {
	(void)arg;
	pthread_mutex_lock(&wmu);
	for (;;) {
		while (pending == 0 && !stop_worker) pthread_cond_wait(&wcv, &wmu);
		if (stop_worker) break;
		int n = pending;
		pending = 0;
		pthread_mutex_unlock(&wmu);
		for (int i = 0; i < n; i++) on_done(0, "", "", NULL);
		pthread_mutex_lock(&wmu);
	}
	pthread_mutex_unlock(&wmu);
	return NULL;
}

static void post(void) {
	pthread_mutex_lock(&wmu);
	pending++;
	pthread_cond_signal(&wcv);
	pthread_mutex_unlock(&wmu);
}

static int empty(void) { return 0; }
static int (*volatile empty_ptr)(void) = empty;

/* The queued mode's callback runs on the pumping thread: a plain counter. */
static int pumped;
static void on_pumped(int32_t code, const char* desc, const char* json, const void* ud) {
	(void)desc;
	(void)json;
	(void)ud;
	if (code != 0) {
		fprintf(stderr, "callExperimentalAPI answered %d\n", code);
		exit(1);
	}
	pumped++;
}

/* A call that calls back, both through pointers: the floor of call-and-callback. */
static void (*volatile pumped_ptr)(int32_t, const char*, const char*, const void*) = on_pumped;
static void call_back(void) { pumped_ptr(0, "", "", NULL); }
static void (*volatile call_back_ptr)(void) = call_back;

int main(int argc, char** argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	int k = argc > 2 ? atoi(argv[2]) : 20000;
	int m = argc > 3 ? atoi(argv[3]) : 1000;
	if (n <= 0 || k <= 0 || m <= 0) {
		fprintf(stderr, "usage: %s [N [K [M]]]\n", argv[0]);
		return 2;
	}
	if (TIMInit(1400000000ULL, "") != TIM_SUCC) return 1;

	/* Export calls, and the empty C call. */
	volatile long sink = 0;
	for (long i = 0; i < n / 10; i++) sink += TIMGetLoginStatus();
	int64_t t0 = now_ns();
	for (long i = 0; i < n; i++) sink += TIMGetLoginStatus();
	printf("export_call_ns %.2f\n", (double)(now_ns() - t0) / n);
	t0 = now_ns();
	for (long i = 0; i < n; i++) sink += empty_ptr();
	printf("baseline_call_ns %.2f\n", (double)(now_ns() - t0) / n);

	/* One callback at a time. */
	int64_t* s = calloc((size_t)k, sizeof *s);
	int warm = k / 10;
	for (int i = 0; i < warm + k; i++) {
		target = 1;
		int64_t a = now_ns();
		if (callExperimentalAPI(op, on_done, NULL) != TIM_SUCC) return 1;
		wait_answers(1);
		if (i >= warm) s[i - warm] = now_ns() - a;
	}
	printf("callback_rtt_p50_ns %lld\n", (long long)pct(s, k, 500));
	printf("callback_rtt_p99_ns %lld\n", (long long)pct(s, k, 990));

	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	for (int i = 0; i < warm + k; i++) {
		target = 1;
		int64_t a = now_ns();
		post();
		wait_answers(1);
		if (i >= warm) s[i - warm] = now_ns() - a;
	}
	printf("baseline_handoff_p50_ns %lld\n", (long long)pct(s, k, 500));
	printf("baseline_handoff_p99_ns %lld\n", (long long)pct(s, k, 990));

	/* M in flight. */
	int64_t r[20];
	for (int round = 0; round < 22; round++) {
		target = m;
		int64_t a = now_ns();
		for (int i = 0; i < m; i++)
			if (callExperimentalAPI(op, on_done, NULL) != TIM_SUCC) return 1;
		wait_answers(m);
		if (round >= 2) r[round - 2] = now_ns() - a;
	}
	printf("callback_inflight_ns %.1f\n", (double)pct(r, 20, 500) / m);
	for (int round = 0; round < 22; round++) {
		target = m;
		int64_t a = now_ns();
		for (int i = 0; i < m; i++) post();
		wait_answers(m);
		if (round >= 2) r[round - 2] = now_ns() - a;
	}
	printf("baseline_inflight_ns %.1f\n", (double)pct(r, 20, 500) / m);

	/* The queued mode: this thread pumps. */
	if (IMStatusSetCallbackMode(IMSTATUS_CALLBACKS_QUEUED) != TIM_SUCC) return 1;
	for (int i = 0; i < warm + k; i++) {
		pumped = 0;
		int64_t a = now_ns();
		if (callExperimentalAPI(op, on_pumped, NULL) != TIM_SUCC) return 1;
		while (pumped == 0) IMStatusPumpCallbacks(0);
		if (i >= warm) s[i - warm] = now_ns() - a;
	}
	printf("queued_rtt_p50_ns %lld\n", (long long)pct(s, k, 500));
	printf("queued_rtt_p99_ns %lld\n", (long long)pct(s, k, 990));
	pumped = 0;
	t0 = now_ns();
	for (long i = 0; i < n; i++) call_back_ptr();
	printf("baseline_callback_ns %.2f\n", (double)(now_ns() - t0) / n);
	for (int round = 0; round < 22; round++) {
		pumped = 0;
		int64_t a = now_ns();
		for (int i = 0; i < m; i++)
			if (callExperimentalAPI(op, on_pumped, NULL) != TIM_SUCC) return 1;
		while (pumped < m) IMStatusPumpCallbacks(0);
		if (round >= 2) r[round - 2] = now_ns() - a;
	}
	printf("queued_inflight_ns %.1f\n", (double)pct(r, 20, 500) / m);
	IMStatusSetCallbackMode(IMSTATUS_CALLBACKS_DIRECT);

	pthread_mutex_lock(&wmu);
	stop_worker = 1;
	pthread_cond_signal(&wcv);
	pthread_mutex_unlock(&wmu);
	pthread_join(th, NULL);
	TIMUninit();
	free(s);
	return sink == -1;
}
