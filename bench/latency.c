/*
 * latency.c: what a C app pays through libImSDK, measured between two real
 * processes on one machine.
 *
 *   latency watch USER SIG PEER N [FILE]
 *        subscribe to PEER; for each of N changes of PEER's custom status
 *        (which carries the sender's CLOCK_MONOTONIC time) record now - then,
 *        until PEER's custom status says "end"; print percentiles, and write
 *        the samples (ns, one a line) to FILE. libImSDK hands a host that
 *        falls behind only each user's latest status, so a few changes may
 *        be skipped: the samples are the ones that reached the callback.
 *   latency set USER SIG N [PREFIX [FILE]]
 *        wait 1 s, then set the custom status N times (one at a time, each
 *        after its callback) and then to "end", then time min(N, 200) GetUserStatus calls of
 *        500 ids (PREFIX0 … PREFIX499; default prefix "u"), writing their
 *        round trips to FILE
 *
 * CLOCK_MONOTONIC is one clock for every process of a Linux machine, so the
 * delay is the end-to-end propagation: C caller -> libImSDK -> imstatusd ->
 * libImSDK -> C callback.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "TIMCloud.h"

static int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done, done_code;

static void on_done(int32_t code, const char* desc, const char* json, const void* ud) {
	(void)json;
	(void)ud;
	if (code != 0) fprintf(stderr, "call failed: %d %s\n", code, desc);
	pthread_mutex_lock(&mu);
	done = 1;
	done_code = code;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static int wait_done(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 15;
	pthread_mutex_lock(&mu);
	while (!done && pthread_cond_timedwait(&cv, &mu, &ts) == 0) {
	}
	int ok = done ? done_code : -100;
	done = 0;
	pthread_mutex_unlock(&mu);
	return ok;
}

static const char* peer;
static int64_t* samples;
static int nsamples, want, ended;

static void on_status(const char* json, const void* ud) {
	(void)ud;
	char key[64];
	snprintf(key, sizeof key, "\"user_status_identifier\":\"%s\"", peer);
	const char* p = strstr(json, key);
	if (!p) return;
	if (strstr(p, "\"user_status_custom_status\":\"end\"")) {
		pthread_mutex_lock(&mu);
		ended = 1;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
		return;
	}
	const char* t = strstr(p, "\"user_status_custom_status\":\"t=");
	if (!t) return;
	int64_t sent = strtoll(t + strlen("\"user_status_custom_status\":\"t="), NULL, 10);
	int64_t d = now_ns() - sent;
	pthread_mutex_lock(&mu);
	if (nsamples < want) samples[nsamples++] = d;
	pthread_mutex_unlock(&mu);
}

static int cmp(const void* a, const void* b) {
	int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
	return (x > y) - (x < y);
}

/* write_samples writes v (ns), one a line, to path (when given). */
static int write_samples(const char* path, const int64_t* v, int n) {
	if (!path) return 0;
	FILE* f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	for (int i = 0; i < n; i++) fprintf(f, "%lld\n", (long long)v[i]);
	return fclose(f);
}

static void report(const char* what, int64_t* v, int n) {
	qsort(v, n, sizeof *v, cmp);
	printf("%s: n=%d p50=%.1fus p90=%.1fus p99=%.1fus p99.9=%.1fus max=%.1fus\n", what, n, v[n / 2] / 1e3,
		v[n * 90 / 100] / 1e3, v[n * 99 / 100] / 1e3, v[n * 999 / 1000] / 1e3, v[n - 1] / 1e3);
}

int main(int argc, char** argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 5) {
		fprintf(stderr, "usage: %s watch USER SIG PEER N [FILE] | set USER SIG N [PREFIX [FILE]]\n", argv[0]);
		return 2;
	}
	int watch = strcmp(argv[1], "watch") == 0;
	if (watch && argc < 6) return 2;
	want = atoi(watch ? argv[5] : argv[4]);
	if (want <= 0) return 2;
	const char* file = argc > 6 ? argv[6] : NULL; /* both modes: the 6th argument */
	const char* prefix = !watch && argc > 5 ? argv[5] : "u";
	if (strlen(prefix) > 24) return 2;
	samples = calloc((size_t)want, sizeof *samples);
	if (watch) {
		peer = argv[4];
		TIMSetUserStatusChangedCallback(on_status, NULL);
	}
	if (TIMInit(1400000000ULL, "") != TIM_SUCC) return 1;
	if (TIMLogin(argv[2], argv[3], on_done, NULL) != TIM_SUCC || wait_done() != 0) return 1;

	if (watch) {
		char ids[80];
		snprintf(ids, sizeof ids, "[\"%s\"]", peer);
		for (int i = 0; i < 100; i++) { /* the peer's account appears at its login */
			if (TIMSubscribeUserStatus(ids, on_done, NULL) != TIM_SUCC) return 1;
			if (wait_done() == 0) break;
			usleep(100 * 1000);
		}
		printf("ready\n");
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 120;
		pthread_mutex_lock(&mu);
		while (!ended && pthread_cond_timedwait(&cv, &mu, &ts) == 0) {
		}
		int n = nsamples, end = ended;
		pthread_mutex_unlock(&mu);
		if (!end || n == 0) {
			fprintf(stderr, "the peer's last change never arrived (%d of %d notifications did)\n", n, want);
			return 1;
		}
		if (n < want)
			fprintf(stderr, "%d of %d changes were replaced by newer ones before the callback took them\n", want - n, want);
		if (write_samples(file, samples, n) != 0) return 1;
		report("notification C->C (SetSelfStatus to the subscriber's callback)", samples, n);
	} else {
		sleep(1);
		char body[96];
		for (int i = 0; i < want; i++) {
			snprintf(body, sizeof body, "{\"user_status_custom_status\":\"t=%lld\"}", (long long)now_ns());
			if (TIMSetSelfStatus(body, on_done, NULL) != TIM_SUCC || wait_done() != 0) return 1;
		}
		if (TIMSetSelfStatus("{\"user_status_custom_status\":\"end\"}", on_done, NULL) != TIM_SUCC || wait_done() != 0) return 1;
		/* GetUserStatus of 500 ids, one call at a time. */
		static char ids[500 * 32 + 4];
		char* p = ids;
		*p++ = '[';
		for (int i = 0; i < 500; i++) p += sprintf(p, "%s\"%s%d\"", i ? "," : "", prefix, i);
		*p++ = ']';
		*p = 0;
		int n = want < 200 ? want : 200;
		for (int i = 0; i < n; i++) {
			int64_t t0 = now_ns();
			if (TIMGetUserStatus(ids, on_done, NULL) != TIM_SUCC || wait_done() != 0) return 1;
			samples[i] = now_ns() - t0;
		}
		if (write_samples(file, samples, n) != 0) return 1;
		report("TIMGetUserStatus of 500 ids, round trip", samples, n);
	}
	TIMLogout(on_done, NULL);
	wait_done();
	TIMUninit();
	return 0;
}
