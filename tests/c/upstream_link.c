/*
 * upstream_link.c: links every native entry point of upstream's Unity SDK
 * (upstream_entry_points.h, generated from capi/upstream.txt) against
 * libImSDK.a, as IL2CPP links a Unity app on iOS, then calls some that
 * imstatus does not have:
 *   - before TIMInit, one that takes a callback returns TIM_ERR_SDKUNINIT (-1);
 *   - after, it returns TIM_SUCC and its callback runs once with 7013 and a
 *     desc naming the call;
 *   - one that upstream answers at once returns TIM_ERR_PARAM (-4);
 *   - a callback setter accepts a callback and never calls it.
 * Prints what it saw; exits 0 when all held.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "upstream_entry_points.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int calls, last_code;
static const void* last_ud;
static char last_desc[256];

static void on_result(int32_t code, const char* desc, const char* json, const void* ud) {
	(void)json;
	pthread_mutex_lock(&mu);
	calls++;
	last_code = code;
	last_ud = ud;
	snprintf(last_desc, sizeof last_desc, "%s", desc ? desc : "(null)");
	pthread_mutex_unlock(&mu);
}

static void never(void) {
	pthread_mutex_lock(&mu);
	calls += 100;
	pthread_mutex_unlock(&mu);
}

static int calls_now(void) {
	pthread_mutex_lock(&mu);
	int n = calls;
	pthread_mutex_unlock(&mu);
	return n;
}

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int main(void) {
	int ok = 1;
	printf("%d entry points linked\n", entry_point_count);
	int before = TIMConvGetConvList(on_result, NULL);
	printf("TIMConvGetConvList before TIMInit: %d\n", before);
	ok &= before == -1;
	if (TIMInit(1400000000ULL, NULL) != 0) {
		printf("TIMInit failed\n");
		return 1;
	}
	TIMSetConvEventCallback(never, NULL);
	int r = TIMConvGetConvList(on_result, (const void*)(uintptr_t)7);
	for (int i = 0; i < 500 && calls_now() == 0; i++) sleep_ms(10);
	sleep_ms(50);
	pthread_mutex_lock(&mu);
	printf("TIMConvGetConvList: %d; callback ran %d time(s): code %d, user_data %lu, desc \"%s\"\n", r, calls, last_code,
	       (unsigned long)(uintptr_t)last_ud, last_desc);
	ok &= r == 0 && calls == 1 && last_code == 7013 && last_ud == (const void*)(uintptr_t)7 &&
	      strstr(last_desc, "TIMConvGetConvList") != NULL;
	pthread_mutex_unlock(&mu);
	int sync = TIMConvCancelDraft("c2c_bob", 1);
	int special = TIMMsgGetGroupMessageReadMemberList("{}", 0, 0, 10, never, NULL);
	printf("TIMConvCancelDraft: %d; TIMMsgGetGroupMessageReadMemberList: %d\n", sync, special);
	ok &= sync == -4 && special == -4;
	TIMUninit();
	sleep_ms(50);
	printf("callbacks after all: %d\n", calls_now());
	ok &= calls_now() == 1;
	printf(ok ? "PASS\n" : "FAIL\n");
	return ok ? 0 : 1;
}
