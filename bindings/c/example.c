/*
 * example.c: the user-status flow through libImSDK, from C.
 *
 *   imsdk_example watch USER SIG PEER   log in as USER, subscribe to PEER and
 *                                       print PEER's changes until PEER logs out
 *   imsdk_example act USER SIG          log in as USER, set a custom status,
 *                                       query, log out
 *
 * The server comes from IMSDK_SERVER_ADDR (host:port). SDKAppID: IMSDK_APP_ID
 * or 1400000000. Callbacks arrive on the library's thread; this program
 * waits for each with a condition variable.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "TIMCloud.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done_code = -1, done_flag = 0;
static char done_json[8192];
static int peer_seen_online = 0, peer_gone = 0;
static const char* peer = NULL;

/* One callback for every call: it records the result and wakes main. */
static void on_result(int32_t code, const char* desc, const char* json, const void* user_data) {
	pthread_mutex_lock(&mu);
	done_code = code;
	snprintf(done_json, sizeof done_json, "%s", json ? json : "");
	done_flag = 1;
	if (code != 0) fprintf(stderr, "  %s failed: %d %s\n", (const char*)user_data, code, desc);
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

/* Waits for on_result; returns its code (or -100 after 15 s). */
static int wait_result(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 15;
	pthread_mutex_lock(&mu);
	while (!done_flag) {
		if (pthread_cond_timedwait(&cv, &mu, &ts) != 0) {
			pthread_mutex_unlock(&mu);
			return -100;
		}
	}
	done_flag = 0;
	int code = done_code;
	pthread_mutex_unlock(&mu);
	return code;
}

static void on_status(const char* json, const void* user_data) {
	(void)user_data;
	printf("  [%s] status changed: %s\n", peer ? "watcher" : "actor", json);
	fflush(stdout);
	if (!peer) return;
	char online[96], unlogined[96];
	snprintf(online, sizeof online, "\"user_status_identifier\":\"%s\",\"user_status_status_type\":1", peer);
	snprintf(unlogined, sizeof unlogined, "\"user_status_identifier\":\"%s\",\"user_status_status_type\":3", peer);
	pthread_mutex_lock(&mu);
	if (strstr(json, online)) peer_seen_online = 1;
	if (peer_seen_online && strstr(json, unlogined)) {
		peer_gone = 1;
		pthread_cond_signal(&cv);
	}
	pthread_mutex_unlock(&mu);
}

static void on_network(enum TIMNetworkStatus status, int32_t code, const char* desc, const void* ud) {
	(void)ud;
	static const char* names[] = {"connected", "disconnected", "connecting", "connect failed"};
	if (status == kTIMConnectFailed) printf("  network: %s (%d %s)\n", names[status], code, desc);
}

#define CHECK(call)                                                             \
	do {                                                                        \
		int r_ = (call);                                                        \
		if (r_ != TIM_SUCC) {                                                   \
			fprintf(stderr, "%s returned %d\n", #call, r_);                     \
			return 1;                                                           \
		}                                                                       \
	} while (0)

int main(int argc, char** argv) {
	if (argc < 4 || (strcmp(argv[1], "watch") == 0 && argc < 5)) {
		fprintf(stderr, "usage: %s watch USER SIG PEER | act USER SIG\n", argv[0]);
		return 2;
	}
	int watch = strcmp(argv[1], "watch") == 0;
	const char *user = argv[2], *sig = argv[3];
	if (watch) peer = argv[4];
	uint64_t app = getenv("IMSDK_APP_ID") ? strtoull(getenv("IMSDK_APP_ID"), NULL, 10) : 1400000000ULL;

	setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a pipe */
	printf("%s: libImSDK %s\n", user, TIMGetSDKVersion());
	TIMSetUserStatusChangedCallback(on_status, NULL);
	TIMSetNetworkStatusListenerCallback(on_network, NULL);
	CHECK(TIMInit(app, "{}"));
	CHECK(TIMLogin(user, sig, on_result, "TIMLogin"));
	if (wait_result() != 0) return 1;
	char me[128];
	TIMGetLoginUserID(me);
	printf("%s: logged in as %s (login status %d)\n", user, me, (int)TIMGetLoginStatus());

	if (watch) {
		char ids[96];
		snprintf(ids, sizeof ids, "[\"%s\"]", peer);
		/* The peer's account exists once it has logged in: retry until then. */
		for (int i = 0; i < 100; i++) {
			CHECK(TIMSubscribeUserStatus(ids, on_result, "TIMSubscribeUserStatus"));
			if (wait_result() == 0) break;
			usleep(200 * 1000);
		}
		printf("%s: subscribed to %s\n", user, peer);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 30;
		pthread_mutex_lock(&mu);
		while (!peer_gone && pthread_cond_timedwait(&cv, &mu, &ts) == 0) {
		}
		int ok = peer_gone;
		pthread_mutex_unlock(&mu);
		printf("%s: %s\n", user, ok ? "saw the peer come online, change and log out" : "timed out");
		if (!ok) return 1;
	} else {
		sleep(1); /* let the watcher subscribe */
		CHECK(TIMSetSelfStatus("{\"user_status_custom_status\":\"in a match \xF0\x9F\x8E\xAE\"}", on_result, "TIMSetSelfStatus"));
		if (wait_result() != 0) return 1;
		printf("%s: custom status set\n", user);
		CHECK(TIMGetUserStatus("[\"alice\",\"bob\",\"carol\"]", on_result, "TIMGetUserStatus"));
		if (wait_result() != 0) return 1;
		printf("%s: GetUserStatus -> %s\n", user, done_json);
		sleep(1);
		CHECK(TIMLogout(on_result, "TIMLogout"));
		if (wait_result() != 0) return 1;
		printf("%s: logged out\n", user);
	}
	TIMUninit();
	return 0;
}
