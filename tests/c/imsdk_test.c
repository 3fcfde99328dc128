/*
 * imsdk_test.c: the C test suite of the real libImSDK.so (TIMCloud.h and
 * imstatus.h), run by tests/c_test.go against a real imstatus server that
 * the Go driver holds in-process.
 *
 * ==== Environment (set by the driver) ====
 *
 *   IMSDK_SERVER_ADDR       host:port of the server (also read by the library)
 *   IMSDK_SIG_alice         UserSig of alice (valid 24 h at the server's clock)
 *   IMSDK_SIG_bob           UserSig of bob
 *   IMSDK_SIG_SHORT_alice   UserSig of alice valid 60 s at the server's clock
 *   IMSDK_SIG_OTHERAPP_alice UserSig of alice for SDKAppID 1400000001
 *   IMSDK_TEST_LOGDIR       an empty directory for sdk_config_log_file_path
 *
 * Accounts: alice (this process's user), bob (the driver's "other" user),
 * carol (has an account, never logs in). nobody_here has no account.
 *
 * ==== Control protocol (stdout / stdin) ====
 *
 * The program prints one line "@@COMMAND args" on stdout and blocks reading
 * one line from stdin; the driver answers "ok" when done, or "err <why>".
 *
 *   @@RESTART               shut the server down and start a new one on the
 *                           same port (accounts imported again)
 *   @@STOP / @@START        shut the server down / start it again (same port)
 *   @@SWEEP <seconds>       advance the server's fake clock, then Sweep()
 *   @@LOGIN_OTHER <user>    log <user> in from the driver (a core.Client on
 *                           the platform of the library under test, Linux or
 *                           Windows: for alice this kicks us)
 *   @@SET_STATUS <user> <custom...>  the driver's client of <user> sets its
 *                           custom status (logging it in first if needed)
 *
 * ==== Output ====
 *
 * One line per check ("ok   ..." or "FAIL file:line: ..."), section
 * headers ("== ..."), and last "N passed, M failed". The exit status is 0
 * only when M is 0.
 *
 * Callbacks never count checks themselves (so that N is the same in every
 * run): they record what happened under one mutex, and the main thread
 * checks it. Every wait is bounded (WAIT_MS); a timeout is a failed check.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "TIMCloud.h"
#include "TIMErrorCode.h" /* upstream 8.x's layout, beside the older one */
#include "TIMExperimentalAPI.h"
#include "TIMManager.h"
#include "imstatus.h"

#define APP 1400000000ULL
#define OTHER_APP 1400000001ULL
#define ME "alice"
#define PEER "bob"
#define NEVER "carol"
#define NOBODY "nobody_here"
#define WAIT_MS 10000

/* The platform the library reports for this process's device. */
#ifdef _WIN32
#define MY_PLATFORM "Windows"
#else
#define MY_PLATFORM "Linux"
#endif

/* ======================================================================== */
/* Checks and output                                                         */
/* ======================================================================== */

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static int n_pass, n_fail;

static void say(const char* fmt, ...) {
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&out_mu);
	fputs(buf, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_mu);
}

static void check_(int ok, const char* file, int line, const char* fmt, ...) {
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&out_mu);
	if (ok) {
		n_pass++;
		printf("ok   %s\n", msg);
	} else {
		n_fail++;
		printf("FAIL %s:%d: %s\n", file, line, msg);
	}
	fflush(stdout);
	pthread_mutex_unlock(&out_mu);
}

#define CHECK(cond, ...) check_((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_EQ(got, want, what)                                                                 \
	do {                                                                                          \
		long long g_ = (long long)(got), w_ = (long long)(want);                                  \
		check_(g_ == w_, __FILE__, __LINE__, "%s: got %lld, want %lld", (what), g_, w_);          \
	} while (0)

static void section(const char* name) { say("== %s", name); }

static void msleep(int ms) {
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static void* xmalloc(size_t n) {
	void* p = malloc(n);
	if (!p) abort();
	return p;
}

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ======================================================================== */
/* The control protocol                                                      */
/* ======================================================================== */

static int control(const char* fmt, ...) {
	char cmd[512], reply[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	say("@@%s", cmd);
	if (!fgets(reply, sizeof reply, stdin)) {
		say("   (driver closed stdin)");
		return 0;
	}
	if (strncmp(reply, "ok", 2) != 0) {
		reply[strcspn(reply, "\n")] = 0;
		say("   driver: %s", reply);
		return 0;
	}
	return 1;
}

/* ======================================================================== */
/* Shared state: everything below is guarded by mu; cv is broadcast on any   */
/* change.                                                                   */
/* ======================================================================== */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void deadline_in(struct timespec* ts, int ms) {
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* WAIT_UNTIL(ok, ms, expr): waits until expr (evaluated with mu held) is
 * true, at most ms; ok gets whether it became true. */
#define WAIT_UNTIL(ok, ms, expr)                                                  \
	do {                                                                          \
		struct timespec dl_;                                                      \
		deadline_in(&dl_, (ms));                                                  \
		pthread_mutex_lock(&mu);                                                  \
		(ok) = 1;                                                                 \
		while (!(expr)) {                                                         \
			if (pthread_cond_timedwait(&cv, &mu, &dl_) == ETIMEDOUT) {            \
				(ok) = (expr) ? 1 : 0;                                            \
				break;                                                            \
			}                                                                     \
		}                                                                         \
		pthread_mutex_unlock(&mu);                                                \
	} while (0)

static long cb_seq;              /* incremented by every callback of any kind */
static int after_uninit;         /* set right after a TIMUninit returned */
static int n_after_uninit;       /* callbacks that ran while after_uninit was set */
static char after_uninit_what[256];
static int n_bad_ud;             /* a callback got a user_data it was not given */
static char bad_ud_what[256];

/* Called first, with mu held, by every callback: returns the event's seq. */
static long on_callback_locked(const char* kind) {
	if (after_uninit) {
		n_after_uninit++;
		snprintf(after_uninit_what, sizeof after_uninit_what, "%s", kind);
	}
	return ++cb_seq;
}

static void set_after_uninit(int v) {
	pthread_mutex_lock(&mu);
	after_uninit = v;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* ======================================================================== */
/* Calls: one call_t per API call, passed as its user_data                   */
/* ======================================================================== */

typedef struct call {
	char what[128];
	pthread_t caller;      /* the thread that made the call */
	int ret;               /* what the function returned */
	int returned;          /* set by the caller right after the function returned */
	int fired;             /* how many times the callback ran */
	int fired_inside;      /* ran on the caller's thread before the function returned */
	int fired_after_uninit;
	long seq;
	int32_t code;
	char desc[512];
	char* json;            /* copy of json_params */
	pthread_t thread;      /* where the callback ran */
	int login_status;      /* TIMGetLoginStatus() inside the callback */
	/* actions */
	int slow_ms;           /* sleep this long inside the callback */
	int uninit_in_cb;      /* call TIMUninit inside the callback */
	int chain;             /* make another call (child) inside the callback */
	struct call* child;
	int started;           /* the callback has started */
	int uninit_ret;        /* TIMUninit's result inside the callback */
	int uninit_done;       /* TIMUninit returned inside the callback */
	struct call* next;
} call_t;

static call_t* all_calls;
static int n_calls;

static call_t* call_new(const char* fmt, ...) {
	call_t* c = calloc(1, sizeof *c);
	if (!c) abort();
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->what, sizeof c->what, fmt, ap);
	va_end(ap);
	c->caller = pthread_self();
	c->ret = 12345;
	pthread_mutex_lock(&mu);
	c->next = all_calls;
	all_calls = c;
	n_calls++;
	pthread_mutex_unlock(&mu);
	return c;
}

/* call_ret records what the function returned, right after it returned. */
static int call_ret(call_t* c, int r) {
	pthread_mutex_lock(&mu);
	c->ret = r;
	c->returned = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return r;
}

static void comm_cb(int32_t code, const char* desc, const char* json, const void* user_data) {
	call_t* c = (call_t*)user_data;
	pthread_t self = pthread_self();
	int ls = (int)TIMGetLoginStatus();
	pthread_mutex_lock(&mu);
	long seq = on_callback_locked(c->what);
	if (!c->returned) {
		if (pthread_equal(self, c->caller)) {
			c->fired_inside++; /* called from inside the function */
		} else {
			/* The library releases a result as the function returns; the
			 * caller may not have stored the flag yet. Give it 2 s. */
			struct timespec dl;
			deadline_in(&dl, 2000);
			while (!c->returned && pthread_cond_timedwait(&cv, &mu, &dl) != ETIMEDOUT) {
			}
			if (!c->returned) c->fired_inside++;
		}
	}
	c->fired++;
	if (after_uninit) c->fired_after_uninit++;
	c->seq = seq;
	c->code = code;
	snprintf(c->desc, sizeof c->desc, "%s", desc ? desc : "(null)");
	free(c->json);
	c->json = strdup(json ? json : "(null)");
	c->thread = self;
	c->login_status = ls;
	c->started = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	if (c->slow_ms) msleep(c->slow_ms);
	if (c->chain) {
		call_t* k = call_new("TIMGetUserStatus(self) made inside a callback");
		call_ret(k, TIMGetUserStatus("[\"" ME "\"]", comm_cb, k));
		pthread_mutex_lock(&mu);
		c->child = k;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	if (c->uninit_in_cb) {
		int r = TIMUninit();
		pthread_mutex_lock(&mu);
		after_uninit = 1;
		c->uninit_ret = r;
		c->uninit_done = 1;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
}

static int wait_fired(call_t* c) {
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, c->fired > 0);
	return ok;
}

/* expect_cb: the call returned TIM_SUCC and its callback ran once with want
 * (and a non-empty desc when want != 0). One check. */
static void expect_cb_(call_t* c, int want, const char* file, int line) {
	if (c->ret != TIM_SUCC) {
		check_(0, file, line, "%s: returned %d, want TIM_SUCC and callback code %d", c->what, c->ret, want);
		return;
	}
	int ok = wait_fired(c);
	pthread_mutex_lock(&mu);
	int fired = c->fired, code = c->code, descok = code == 0 || (c->desc[0] && strcmp(c->desc, "(null)") != 0);
	char desc[200];
	snprintf(desc, sizeof desc, "%.199s", c->desc);
	pthread_mutex_unlock(&mu);
	if (!ok) {
		check_(0, file, line, "%s: callback did not run within %d ms (want code %d)", c->what, WAIT_MS, want);
		return;
	}
	check_(fired == 1 && code == want && descok, file, line, "%s: callback code %d (want %d), ran %d time(s), desc \"%s\"",
	       c->what, code, want, fired, desc);
}
#define expect_cb(c, want) expect_cb_((c), (want), __FILE__, __LINE__)

/* expect_ret: the call returned want (not TIM_SUCC). One check. */
#define expect_ret(c, want) check_((c)->ret == (want), __FILE__, __LINE__, "%s: returned %d, want %d", (c)->what, (c)->ret, (want))

/* expect_refused: returned TIM_ERR_JSON or TIM_ERR_PARAM, or TIM_SUCC with
 * an error callback. One check. */
static void expect_refused_(call_t* c, const char* file, int line) {
	if (c->ret == TIM_ERR_JSON || c->ret == TIM_ERR_PARAM) {
		check_(1, file, line, "%s: refused with %d", c->what, c->ret);
		return;
	}
	if (c->ret != TIM_SUCC) {
		check_(0, file, line, "%s: returned %d, want TIM_ERR_JSON, TIM_ERR_PARAM or an error callback", c->what, c->ret);
		return;
	}
	int ok = wait_fired(c);
	pthread_mutex_lock(&mu);
	int code = c->code, descok = c->desc[0] != 0;
	pthread_mutex_unlock(&mu);
	check_(ok && code != 0 && descok, file, line, "%s: accepted; callback %s code %d (want an error with a desc)", c->what,
	       ok ? "ran with" : "did not run,", code);
}
#define expect_refused(c) expect_refused_((c), __FILE__, __LINE__)

/* A few one-liners: make a call and record its return. */
static call_t* get_status(const char* ids, const char* what) {
	call_t* c = call_new("TIMGetUserStatus(%s)", what);
	call_ret(c, TIMGetUserStatus(ids, comm_cb, c));
	return c;
}
static call_t* set_status(const char* json, const char* what) {
	call_t* c = call_new("TIMSetSelfStatus(%s)", what);
	call_ret(c, TIMSetSelfStatus(json, comm_cb, c));
	return c;
}
static call_t* subscribe(const char* ids, const char* what) {
	call_t* c = call_new("TIMSubscribeUserStatus(%s)", what);
	call_ret(c, TIMSubscribeUserStatus(ids, comm_cb, c));
	return c;
}
static call_t* unsubscribe(const char* ids, const char* what) {
	call_t* c = call_new("TIMUnsubscribeUserStatus(%s)", what);
	call_ret(c, TIMUnsubscribeUserStatus(ids, comm_cb, c));
	return c;
}
static call_t* experimental(const char* json, const char* what) {
	call_t* c = call_new("callExperimentalAPI(%s)", what);
	call_ret(c, callExperimentalAPI(json, comm_cb, c));
	return c;
}
static call_t* set_config(const char* json, const char* what) {
	call_t* c = call_new("TIMSetConfig(%s)", what);
	call_ret(c, TIMSetConfig(json, comm_cb, c));
	return c;
}
static call_t* login(const char* user, const char* sig, const char* what) {
	call_t* c = call_new("TIMLogin(%s)", what);
	call_ret(c, TIMLogin(user, sig, comm_cb, c));
	return c;
}
static call_t* logout(const char* what) {
	call_t* c = call_new("TIMLogout(%s)", what);
	call_ret(c, TIMLogout(comm_cb, c));
	return c;
}

/* ======================================================================== */
/* A minimal JSON reader for arrays of user status objects                   */
/* ======================================================================== */

typedef struct {
	char id[64];
	int type; /* -1 when missing */
	char custom[256];
	int has_custom;
	int ndev;
	char devs[8][16];
} ustatus;

typedef struct {
	const char* p;
	const char* end;
	int depth;
} jp_t;

static void jws(jp_t* j) {
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static void put_utf8(char* out, size_t cap, size_t* n, unsigned cp) {
	char b[4];
	size_t k;
	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		k = 4;
	}
	for (size_t i = 0; i < k; i++) {
		if (out && *n + 1 < cap) out[*n] = b[i];
		(*n)++;
	}
}

static int hex4(const char* p, unsigned* v) {
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char ch = p[i];
		unsigned d;
		if (ch >= '0' && ch <= '9') d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f') d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F') d = (unsigned)(ch - 'A' + 10);
		else return -1;
		*v = *v * 16 + d;
	}
	return 0;
}

/* jstr reads a string into out (truncated to cap, NUL-terminated; out may be NULL). */
static int jstr(jp_t* j, char* out, size_t cap) {
	size_t n = 0;
	if (j->p >= j->end || *j->p != '"') return -1;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char ch = (unsigned char)*j->p++;
		if (ch < 0x20) return -1;
		if (ch != '\\') {
			if (out && n + 1 < cap) out[n] = (char)ch;
			n++;
			continue;
		}
		if (j->p >= j->end) return -1;
		char e = *j->p++;
		unsigned cp;
		switch (e) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (j->end - j->p < 4 || hex4(j->p, &cp)) return -1;
			j->p += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
				unsigned lo;
				if (hex4(j->p + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					j->p += 6;
				}
			}
			break;
		default: return -1;
		}
		put_utf8(out, cap, &n, cp);
	}
	if (j->p >= j->end) return -1;
	j->p++;
	if (out && cap) out[n < cap ? n : cap - 1] = 0;
	return 0;
}

static int jnum(jp_t* j, long long* v) {
	char* e;
	errno = 0;
	long long x = strtoll(j->p, &e, 10);
	if (e == j->p || errno) return -1;
	if (e < j->end && (*e == '.' || *e == 'e' || *e == 'E')) {
		strtod(j->p, &e);
		x = -1;
	}
	j->p = e;
	*v = x;
	return 0;
}

static int jskip(jp_t* j) {
	jws(j);
	if (j->p >= j->end) return -1;
	if (++j->depth > 64) return -1;
	int r = 0;
	char ch = *j->p;
	if (ch == '"') {
		r = jstr(j, NULL, 0);
	} else if (ch == '{' || ch == '[') {
		char close = ch == '{' ? '}' : ']';
		j->p++;
		jws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
		} else {
			for (;;) {
				if (ch == '{') {
					jws(j);
					if (jstr(j, NULL, 0)) return -1;
					jws(j);
					if (j->p >= j->end || *j->p++ != ':') return -1;
				}
				if (jskip(j)) return -1;
				jws(j);
				if (j->p >= j->end) return -1;
				if (*j->p == ',') {
					j->p++;
					continue;
				}
				if (*j->p++ != close) return -1;
				break;
			}
		}
	} else if (!strncmp(j->p, "true", 4)) {
		j->p += 4;
	} else if (!strncmp(j->p, "false", 5)) {
		j->p += 5;
	} else if (!strncmp(j->p, "null", 4)) {
		j->p += 4;
	} else {
		long long v;
		r = jnum(j, &v);
	}
	j->depth--;
	return r;
}

/* parse_statuses reads a JSON array of user status objects; returns how
 * many (at most max are stored), or -1 if the text is not such an array. */
static int parse_statuses(const char* js, ustatus* out, int max) {
	jp_t j = {js, js + strlen(js), 0};
	int n = 0;
	jws(&j);
	if (j.p >= j.end || *j.p++ != '[') return -1;
	jws(&j);
	if (j.p < j.end && *j.p == ']') {
		j.p++;
	} else {
		for (;;) {
			ustatus st;
			memset(&st, 0, sizeof st);
			st.type = -1;
			jws(&j);
			if (j.p >= j.end || *j.p++ != '{') return -1;
			jws(&j);
			if (j.p < j.end && *j.p == '}') {
				j.p++;
			} else {
				for (;;) {
					char key[64];
					jws(&j);
					if (jstr(&j, key, sizeof key)) return -1;
					jws(&j);
					if (j.p >= j.end || *j.p++ != ':') return -1;
					jws(&j);
					if (!strcmp(key, "user_status_identifier")) {
						if (jstr(&j, st.id, sizeof st.id)) return -1;
					} else if (!strcmp(key, "user_status_status_type")) {
						long long v;
						if (jnum(&j, &v)) return -1;
						st.type = (int)v;
					} else if (!strcmp(key, "user_status_custom_status")) {
						if (jstr(&j, st.custom, sizeof st.custom)) return -1;
						st.has_custom = 1;
					} else if (!strcmp(key, "user_status_online_devices")) {
						if (j.p >= j.end || *j.p++ != '[') return -1;
						jws(&j);
						if (j.p < j.end && *j.p == ']') {
							j.p++;
						} else {
							for (;;) {
								jws(&j);
								char dev[16];
								if (jstr(&j, dev, sizeof dev)) return -1;
								if (st.ndev < 8) snprintf(st.devs[st.ndev], sizeof st.devs[0], "%s", dev);
								st.ndev++;
								jws(&j);
								if (j.p >= j.end) return -1;
								if (*j.p == ',') {
									j.p++;
									continue;
								}
								if (*j.p++ != ']') return -1;
								break;
							}
						}
					} else if (jskip(&j)) {
						return -1;
					}
					jws(&j);
					if (j.p >= j.end) return -1;
					if (*j.p == ',') {
						j.p++;
						continue;
					}
					if (*j.p++ != '}') return -1;
					break;
				}
			}
			if (n < max) out[n] = st;
			n++;
			jws(&j);
			if (j.p >= j.end) return -1;
			if (*j.p == ',') {
				j.p++;
				continue;
			}
			if (*j.p++ != ']') return -1;
			break;
		}
	}
	jws(&j);
	return j.p == j.end ? n : -1;
}

/* ======================================================================== */
/* Event callbacks                                                           */
/* ======================================================================== */

static char ud_status, ud_net, ud_kick, ud_sig, ud_log; /* their addresses are the user_data */

typedef struct {
	long seq;
	ustatus st;
} status_ev;

#define MAX_STATUS_EV 4096
static status_ev status_evs[MAX_STATUS_EV];
static int n_status_ev, n_status_cb, n_status_bad_json;
static pthread_t status_thread; /* where the last status changed callback ran */
static char status_bad_json[256];

static void status_cb(const char* json, const void* user_data) {
	ustatus sts[16];
	int n = json ? parse_statuses(json, sts, 16) : -1;
	pthread_mutex_lock(&mu);
	long seq = on_callback_locked("status changed");
	n_status_cb++;
	status_thread = pthread_self();
	if (user_data != &ud_status) {
		n_bad_ud++;
		snprintf(bad_ud_what, sizeof bad_ud_what, "status changed callback: %p", user_data);
	}
	if (n < 1) {
		n_status_bad_json++;
		snprintf(status_bad_json, sizeof status_bad_json, "%.200s", json ? json : "(null)");
	}
	for (int i = 0; i < n && i < 16; i++) {
		if (n_status_ev < MAX_STATUS_EV) {
			status_evs[n_status_ev].seq = seq;
			status_evs[n_status_ev].st = sts[i];
			n_status_ev++;
		}
	}
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* find_status_locked: the first status event of id after seq with the
 * given custom status (NULL: any) and type (-1: any); NULL if none. */
static const ustatus* find_status_locked(const char* id, const char* custom, int type, long after) {
	for (int i = 0; i < n_status_ev; i++) {
		const status_ev* e = &status_evs[i];
		if (e->seq <= after || strcmp(e->st.id, id) != 0) continue;
		if (custom && strcmp(e->st.custom, custom) != 0) continue;
		if (type >= 0 && e->st.type != type) continue;
		return &e->st;
	}
	return NULL;
}

static long current_seq(void) {
	pthread_mutex_lock(&mu);
	long s = cb_seq;
	pthread_mutex_unlock(&mu);
	return s;
}

typedef struct {
	long seq;
	int status;
	int code;
} net_ev;
#define MAX_NET_EV 1024
static net_ev net_evs[MAX_NET_EV];
static int n_net_ev, n_net_bad;

static void net_cb(enum TIMNetworkStatus status, int32_t code, const char* desc, const void* user_data) {
	pthread_mutex_lock(&mu);
	long seq = on_callback_locked("network");
	if (user_data != &ud_net) {
		n_bad_ud++;
		snprintf(bad_ud_what, sizeof bad_ud_what, "network callback: %p", user_data);
	}
	if ((int)status < 0 || (int)status > 3 || desc == NULL || (status == kTIMConnectFailed && !desc[0])) n_net_bad++;
	if (n_net_ev < MAX_NET_EV) {
		net_evs[n_net_ev].seq = seq;
		net_evs[n_net_ev].status = (int)status;
		net_evs[n_net_ev].code = code;
		n_net_ev++;
	}
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* net_seq_locked: the seq of the first network event with status after
 * seq `after`, or -1. */
static long net_seq_locked(int status, long after) {
	for (int i = 0; i < n_net_ev; i++)
		if (net_evs[i].seq > after && net_evs[i].status == status) return net_evs[i].seq;
	return -1;
}

/* net_reconnected_locked: Disconnected, then Connecting, then Connected, after seq. */
static int net_reconnected_locked(long after) {
	long d = net_seq_locked(kTIMDisconnected, after);
	if (d < 0) return 0;
	long c = net_seq_locked(kTIMConnecting, d);
	if (c < 0) return 0;
	return net_seq_locked(kTIMConnected, c) >= 0;
}

static int n_kicked, n_sig_expired;

static void kicked_cb(const void* user_data) {
	pthread_mutex_lock(&mu);
	on_callback_locked("kicked offline");
	if (user_data != &ud_kick) {
		n_bad_ud++;
		snprintf(bad_ud_what, sizeof bad_ud_what, "kicked callback: %p", user_data);
	}
	n_kicked++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void sig_cb(const void* user_data) {
	pthread_mutex_lock(&mu);
	on_callback_locked("UserSig expired");
	if (user_data != &ud_sig) {
		n_bad_ud++;
		snprintf(bad_ud_what, sizeof bad_ud_what, "UserSig expired callback: %p", user_data);
	}
	n_sig_expired++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static int n_log, n_log_bad;
static char log_marker[64];
static int log_marker_seen;

static void log_cb(enum TIMLogLevel level, const char* line, const void* user_data) {
	pthread_mutex_lock(&mu);
	on_callback_locked("log");
	if (user_data != &ud_log) {
		n_bad_ud++;
		snprintf(bad_ud_what, sizeof bad_ud_what, "log callback: %p", user_data);
	}
	n_log++;
	if ((int)level < 0 || (int)level > 7 || line == NULL) n_log_bad++;
	if (line && log_marker[0] && strstr(line, log_marker)) log_marker_seen++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void register_callbacks(void) {
	TIMSetUserStatusChangedCallback(status_cb, &ud_status);
	TIMSetNetworkStatusListenerCallback(net_cb, &ud_net);
	TIMSetKickedOfflineCallback(kicked_cb, &ud_kick);
	TIMSetUserSigExpiredCallback(sig_cb, &ud_sig);
	TIMSetLogCallback(log_cb, &ud_log);
}

/* A TIMCommCallback for user_data values that are not call_t pointers. */
#define MAX_UD 16
static uintptr_t ud_seen[MAX_UD];
static int n_ud_seen;

static void ud_cb(int32_t code, const char* desc, const char* json, const void* user_data) {
	(void)desc;
	(void)json;
	(void)code;
	pthread_mutex_lock(&mu);
	on_callback_locked("user_data callback");
	if (n_ud_seen < MAX_UD) ud_seen[n_ud_seen] = (uintptr_t)user_data;
	n_ud_seen++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static int ud_count(uintptr_t v) {
	int n = 0;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < n_ud_seen && i < MAX_UD; i++)
		if (ud_seen[i] == v) n++;
	pthread_mutex_unlock(&mu);
	return n;
}

/* ---- the drop-in registrations: these must never be called ------------- */

static int n_dropin_fired;
static void dropin_fired(void) {
	pthread_mutex_lock(&mu);
	on_callback_locked("drop-in");
	n_dropin_fired++;
	pthread_mutex_unlock(&mu);
}
static void d_recv(const char* a, const void* u) { (void)a; (void)u; dropin_fired(); }
static void d_conv(enum TIMConvEvent e, const char* a, const void* u) { (void)e; (void)a; (void)u; dropin_fired(); }
static void d_unread(int n, const void* u) { (void)n; (void)u; dropin_fired(); }
static void d_str(const char* a, const void* u) { (void)a; (void)u; dropin_fired(); }
static void d_void(const void* u) { (void)u; dropin_fired(); }
static void d_group_attr(const char* g, const char* a, const void* u) { (void)g; (void)a; (void)u; dropin_fired(); }
static void d_notify(const char* k, const char* d, const void* u) { (void)k; (void)d; (void)u; dropin_fired(); }
static void d_upload(const char* m, uint32_t i, uint32_t c, uint32_t t, const void* u) {
	(void)m; (void)i; (void)c; (void)t; (void)u;
	dropin_fired();
}

/* ======================================================================== */
/* Helpers for JSON arguments                                                */
/* ======================================================================== */

/* ids_json returns a malloc'ed JSON array of n ids prefix0..prefix{n-1}. */
static char* ids_json(int n, const char* prefix) {
	size_t cap = (size_t)n * (strlen(prefix) + 12) + 8;
	char* s = xmalloc(cap);
	size_t k = 0;
	s[k++] = '[';
	for (int i = 0; i < n; i++) k += (size_t)snprintf(s + k, cap - k, "%s\"%s%d\"", i ? "," : "", prefix, i);
	s[k++] = ']';
	s[k] = 0;
	return s;
}

static char server_info[512];

static void make_server_info(const char* addr) {
	char host[256] = "127.0.0.1";
	int port = 0;
	const char* colon = strrchr(addr, ':');
	if (colon) {
		size_t hl = (size_t)(colon - addr);
		if (hl < sizeof host) {
			memcpy(host, addr, hl);
			host[hl] = 0;
		}
		port = atoi(colon + 1);
	}
	snprintf(server_info, sizeof server_info,
	         "{\"request_internal_operation\":\"internal_operation_set_custom_server_info\","
	         "\"request_set_custom_server_info_param\":{\"longconnection_address_array\":[{\"server_address_ip\":\"%s\","
	         "\"server_address_port\":%d,\"server_address_is_ipv6\":false}],\"server_public_key\":\"\"}}",
	         host, port);
}

static const char *sig_me, *sig_peer, *sig_short, *sig_otherapp, *server_addr, *log_dir;

/* ======================================================================== */
/* The tests                                                                 */
/* ======================================================================== */

static int settle_marker(const char* marker);

static void test_before_init(void) {
	section("before TIMInit");
	const char* v1 = TIMGetSDKVersion();
	const char* v2 = TIMGetSDKVersion();
	CHECK(v1 != NULL && v1[0] != 0, "TIMGetSDKVersion is a non-empty string (\"%s\")", v1 ? v1 : "(null)");
	CHECK(v1 == v2, "TIMGetSDKVersion returns the same pointer twice");
	long long skew = (long long)TIMGetServerTime() - (long long)time(NULL);
	CHECK(skew >= -2 && skew <= 2, "TIMGetServerTime before TIMInit is the local clock (%lld s off)", skew);
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_UnLogined, "TIMGetLoginStatus before TIMInit");
	CHECK_EQ(TIMUninit(), TIM_SUCC, "TIMUninit before TIMInit");

	char buf[128] = "junk";
	CHECK_EQ(TIMGetLoginUserID(buf), TIM_ERR_SDKUNINIT, "TIMGetLoginUserID before TIMInit");
	CHECK(buf[0] == 0, "TIMGetLoginUserID before TIMInit leaves \"\" (got \"%.20s\")", buf);
	CHECK_EQ(TIMGetLoginUserID(NULL), TIM_ERR_PARAM, "TIMGetLoginUserID(NULL) before TIMInit");
	expect_ret(login(ME, sig_me, "before TIMInit"), TIM_ERR_SDKUNINIT);
	expect_ret(logout("before TIMInit"), TIM_ERR_SDKUNINIT);
	expect_ret(set_status("{\"user_status_custom_status\":\"x\"}", "before TIMInit"), TIM_ERR_SDKUNINIT);
	expect_ret(set_status(NULL, "NULL before TIMInit"), TIM_ERR_SDKUNINIT);
	expect_ret(get_status("[\"" ME "\"]", "before TIMInit"), TIM_ERR_SDKUNINIT);
	expect_ret(subscribe("[\"" PEER "\"]", "before TIMInit"), TIM_ERR_SDKUNINIT);
	expect_ret(unsubscribe("[\"" PEER "\"]", "before TIMInit"), TIM_ERR_SDKUNINIT);
	expect_ret(unsubscribe(NULL, "NULL before TIMInit"), TIM_ERR_SDKUNINIT);

	/* callExperimentalAPI works before TIMInit. */
	expect_cb(experimental("{\"request_internal_operation\":\"internal_operation_set_ui_platform\",\"request_set_ui_platform_param\":4}",
	                       "set_ui_platform before TIMInit"),
	          0);
	expect_cb(experimental(server_info, "set_custom_server_info before TIMInit"), 0);
	expect_cb(experimental("{\"request_internal_operation\":\"internal_operation_write_log\",\"request_write_log_param\":{"
	                       "\"request_write_log_log_level_param\":4,\"request_write_log_log_content_param\":\"before init\"}}",
	                       "write_log before TIMInit"),
	          0);
	expect_cb(experimental("{\"request_internal_operation\":\"internal_operation_no_such_thing\"}", "unknown op"), 6017);
	expect_cb(experimental("{\"request_internal_operation\":\"internal_operation_set_custom_server_info\","
	                       "\"request_set_custom_server_info_param\":{\"longconnection_address_array\":[]}}",
	                       "set_custom_server_info, no address"),
	          6017);
	expect_cb(experimental("{\"request_internal_operation\":\"internal_operation_set_custom_server_info\","
	                       "\"request_set_custom_server_info_param\":{\"longconnection_address_array\":[{\"server_address_ip\":"
	                       "\"127.0.0.1\",\"server_address_port\":70000}]}}",
	                       "set_custom_server_info, port 70000"),
	          6017);
	expect_ret(experimental("{\"request_internal_operation\":", "bad JSON"), TIM_ERR_JSON);
	expect_ret(experimental(NULL, "NULL"), TIM_ERR_PARAM);
	expect_ret(experimental("", "\"\""), TIM_ERR_PARAM);
	expect_ret(experimental("[1]", "an array"), TIM_ERR_PARAM);
	expect_ret(experimental("{}", "no operation"), TIM_ERR_PARAM);
	expect_ret(experimental("{\"request_internal_operation\":5}", "operation not a string"), TIM_ERR_PARAM);

	/* Every setter accepts NULL (unregisters) before TIMInit. */
	TIMSetUserStatusChangedCallback(NULL, NULL);
	TIMSetNetworkStatusListenerCallback(NULL, NULL);
	TIMSetKickedOfflineCallback(NULL, NULL);
	TIMSetUserSigExpiredCallback(NULL, NULL);
	TIMSetLogCallback(NULL, NULL);
	CHECK(1, "the 5 TIMSet...Callback setters accept NULL");

	/* The 22 drop-in registrations exist and accept a callback and NULL. */
	const void* u = (const void*)(uintptr_t)7;
	TIMRemoveRecvNewMsgCallback(d_recv);
	TIMRemoveRecvNewMsgCallback(NULL);
	TIMSetConvEventCallback(d_conv, u);
	TIMSetConvTotalUnreadMessageCountChangedCallback(d_unread, u);
	TIMSetFriendAddRequestCallback(d_str, u);
	TIMSetFriendApplicationListDeletedCallback(d_str, u);
	TIMSetFriendApplicationListReadCallback(d_void, u);
	TIMSetFriendBlackListAddedCallback(d_str, u);
	TIMSetFriendBlackListDeletedCallback(d_str, u);
	TIMSetGroupAttributeChangedCallback(d_group_attr, u);
	TIMSetGroupTipsEventCallback(d_str, u);
	TIMSetMsgElemUploadProgressCallback(d_upload, u);
	TIMSetMsgReadedReceiptCallback(d_str, u);
	TIMSetMsgReactionsChangedCallback(d_str, u);
	TIMSetMsgAllMessageReceiveOptionCallback(d_str, u);
	TIMSetMsgRevokeCallback(d_str, u);
	TIMSetMsgUpdateCallback(d_str, u);
	TIMSetOnAddFriendCallback(d_str, u);
	TIMSetOnDeleteFriendCallback(d_str, u);
	TIMSetUpdateFriendProfileCallback(d_str, u);
	TIMSetSelfInfoUpdatedCallback(d_str, u);
	TIMSetUserInfoChangedCallback(d_str, u);
	TIMSetExperimentalNotifyCallback(d_notify, u);
	TIMSetExperimentalNotifyCallback(NULL, NULL);
	TIMSetExperimentalNotifyCallback(d_notify, u);
	TIMSetConvEventCallback(NULL, NULL);
	TIMSetConvEventCallback(d_conv, u);
	CHECK(1, "the 22 drop-in registration functions accept a callback (and NULL)");

	register_callbacks();
}

static void test_init(void) {
	section("TIMInit");
	CHECK_EQ(TIMInit(APP, "{\"sdk_config_log_file_path\":"), TIM_ERR_JSON, "TIMInit with bad JSON config");
	CHECK_EQ(TIMInit(APP, "[1]"), TIM_ERR_JSON, "TIMInit with a JSON array config");
	CHECK_EQ(TIMInit(0, NULL), TIM_ERR_PARAM, "TIMInit with app id 0");
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_UnLogined, "TIMGetLoginStatus after failed TIMInit");
	CHECK_EQ(TIMInit(APP, NULL), TIM_SUCC, "TIMInit with NULL config");
	CHECK_EQ(TIMUninit(), TIM_SUCC, "TIMUninit");
	CHECK_EQ(TIMInit(APP, ""), TIM_SUCC, "TIMInit with \"\" config");
	CHECK_EQ(TIMUninit(), TIM_SUCC, "TIMUninit");
	CHECK_EQ(TIMInit(APP, "null"), TIM_SUCC, "TIMInit with \"null\" config (upstream's C# wrapper, SdkConfig null)");
	CHECK_EQ(TIMUninit(), TIM_SUCC, "TIMUninit");
	CHECK_EQ(TIMInit(APP, "nul"), TIM_ERR_JSON, "TIMInit with \"nul\" config");
	char cfg[1024];
	snprintf(cfg, sizeof cfg,
	         "{\"sdk_config_log_file_path\":\"%s\",\"sdk_config_config_file_path\":\"%s\","
	         "\"sdk_config_device_type\":\"PC\",\"sdk_config_brand_type\":2000,\"sdk_config_system_version\":\"1\","
	         "\"sdk_config_java_vm\":0,\"sdk_config_main_thread_id\":12,\"sdk_config_api_type\":3,"
	         "\"some_unknown_key\":[1,2]}",
	         log_dir, log_dir);
	CHECK_EQ(TIMInit(APP, "{\"sdk_config_log_file_path\":\"/dev/null/imsdk\"}"), TIM_SUCC,
	         "TIMInit with a log directory that cannot be created (logging to files is best effort)");
	CHECK_EQ(TIMUninit(), TIM_SUCC, "TIMUninit");
	CHECK_EQ(TIMInit(APP, cfg), TIM_SUCC, "TIMInit with every config key");
	CHECK_EQ(TIMInit(APP, "{}"), TIM_SUCC, "TIMInit twice with the same app id");
	CHECK_EQ(TIMInit(OTHER_APP, NULL), TIM_ERR_PARAM, "TIMInit with another app id while initialised");
	CHECK_EQ(TIMInit(0, "{}"), TIM_ERR_PARAM, "TIMInit with app id 0 while initialised");
}

static void test_not_logged_in(void) {
	section("before TIMLogin");
	char buf[128] = "junk";
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_UnLogined, "TIMGetLoginStatus before TIMLogin");
	CHECK_EQ(TIMGetLoginUserID(buf), TIM_ERR_NOTLOGIN, "TIMGetLoginUserID before TIMLogin");
	CHECK(buf[0] == 0, "TIMGetLoginUserID before TIMLogin leaves \"\" (got \"%.20s\")", buf);
	expect_ret(logout("before TIMLogin"), TIM_ERR_NOTLOGIN);
	expect_ret(set_status("{\"user_status_custom_status\":\"x\"}", "before TIMLogin"), TIM_ERR_NOTLOGIN);
	expect_ret(get_status("[\"" ME "\"]", "before TIMLogin"), TIM_ERR_NOTLOGIN);
	expect_ret(subscribe("[\"" PEER "\"]", "before TIMLogin"), TIM_ERR_NOTLOGIN);
	expect_ret(unsubscribe("[\"" PEER "\"]", "before TIMLogin"), TIM_ERR_NOTLOGIN);
}

static void test_login(void) {
	section("TIMLogin");
	expect_ret(login(NULL, sig_me, "NULL user"), TIM_ERR_PARAM);
	expect_ret(login(ME, NULL, "NULL sig"), TIM_ERR_PARAM);
	expect_ret(login(NULL, NULL, "NULL, NULL"), TIM_ERR_PARAM);
	expect_ret(login("bad id!", sig_me, "id with a space and !"), TIM_ERR_PARAM);
	expect_ret(login("", sig_me, "empty id"), TIM_ERR_PARAM);
	expect_ret(login("abcdefghijabcdefghijabcdefghijabc", sig_me, "33-byte id"), TIM_ERR_PARAM);
	expect_cb(login(ME, "garbage", "garbage sig"), ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED);
	expect_cb(login(ME, "", "empty sig"), ERR_SVR_ACCOUNT_USERSIG_EMPTY);
	expect_cb(login(ME, sig_peer, "bob's sig"), ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID);
	expect_cb(login(ME, sig_otherapp, "sig of another app"), ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID);
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_UnLogined, "TIMGetLoginStatus after refused logins");

	long seq0 = current_seq();
	call_t* c = login(ME, sig_me, "alice");
	int st_now = (int)TIMGetLoginStatus();
	CHECK(st_now == kTIMLoginStatus_Logining || st_now == kTIMLoginStatus_Logined,
	      "TIMGetLoginStatus right after TIMLogin returned is Logining (2) or already Logined (1): %d", st_now);
	expect_cb(c, 0);
	CHECK_EQ(c->login_status, kTIMLoginStatus_Logined, "TIMGetLoginStatus inside the login callback");
	CHECK(c->json && c->json[0] == 0, "TIMLogin's callback gets json_params \"\" (\"%.40s\")", c->json ? c->json : "(null)");
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_Logined, "TIMGetLoginStatus after login");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, net_seq_locked(kTIMConnected, net_seq_locked(kTIMConnecting, seq0)) > 0);
	CHECK(ok, "network callback: kTIMConnecting then kTIMConnected during login");

	char* buf = xmalloc(128); /* exactly 128 bytes: ASan sees any overflow */
	memset(buf, 'x', 128);
	CHECK_EQ(TIMGetLoginUserID(buf), TIM_SUCC, "TIMGetLoginUserID");
	CHECK(memchr(buf, 0, 128) && strcmp(buf, ME) == 0, "TIMGetLoginUserID fills \"%s\"", ME);
	free(buf);
	CHECK_EQ(TIMGetLoginUserID(NULL), TIM_ERR_PARAM, "TIMGetLoginUserID(NULL)");

	expect_cb(login(ME, sig_me, "alice again"), 0);
	expect_cb(login(PEER, sig_peer, "bob while alice is logged in"), 6017);
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_Logined, "still logged in as alice");
}

static void test_user_data(void) {
	section("user_data and NULL callbacks");
	const char* unity_key = "TIMGetUserStatus-callback-key-1";
	CHECK_EQ(TIMGetUserStatus("[\"" ME "\"]", ud_cb, (const void*)(uintptr_t)42), TIM_SUCC, "TIMGetUserStatus with user_data 42");
	CHECK_EQ(TIMGetUserStatus("[\"" ME "\"]", ud_cb, NULL), TIM_SUCC, "TIMGetUserStatus with user_data NULL");
	CHECK_EQ(TIMGetUserStatus("[\"" ME "\"]", ud_cb, (const void*)UINTPTR_MAX), TIM_SUCC, "TIMGetUserStatus with user_data UINTPTR_MAX");
	CHECK_EQ(TIMSetSelfStatus("{\"user_status_custom_status\":\"ud\"}", ud_cb, unity_key), TIM_SUCC,
	         "TIMSetSelfStatus with a C string user_data");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, n_ud_seen >= 4);
	CHECK(ok, "4 user_data callbacks ran");
	CHECK(ud_count(42) == 1 && ud_count(0) == 1 && ud_count(UINTPTR_MAX) == 1 && ud_count((uintptr_t)unity_key) == 1,
	      "user_data came back unchanged, once each: 42, NULL, UINTPTR_MAX, a C string");

	CHECK_EQ(TIMGetUserStatus("[\"" ME "\"]", NULL, NULL), TIM_SUCC, "TIMGetUserStatus with a NULL callback");
	CHECK_EQ(TIMSetSelfStatus("{\"user_status_custom_status\":\"01234567890123456789012345678901234567890123456789"
	                          "012345678901234567890123456789012345678901234567890\"}",
	                          NULL, (const void*)(uintptr_t)7),
	         TIM_SUCC, "TIMSetSelfStatus (failing: 101 bytes) with a NULL callback");
	expect_cb(get_status("[\"" ME "\"]", "after NULL-callback calls"), 0);

	call_t* p = call_new("TIMGetUserStatus(self), callback makes another call");
	p->chain = 1;
	call_ret(p, TIMGetUserStatus("[\"" ME "\"]", comm_cb, p));
	expect_cb(p, 0);
	int ok2;
	WAIT_UNTIL(ok2, WAIT_MS, p->child != NULL);
	if (ok2) {
		expect_cb(p->child, 0);
	} else {
		CHECK(0, "the call made inside a callback was not made");
	}
}

static void test_set_self_status(void) {
	section("TIMSetSelfStatus and the own status change");
	long seq0 = current_seq();
	call_t* c = set_status("{\"user_status_custom_status\":\"hi-1\"}", "hi-1");
	expect_cb(c, 0);
	CHECK(c->json && c->json[0] == 0, "TIMSetSelfStatus's callback gets json_params \"\" (\"%.40s\")", c->json ? c->json : "(null)");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, find_status_locked(ME, "hi-1", -1, seq0) != NULL);
	CHECK(ok, "status changed callback reports own custom status hi-1");
	pthread_mutex_lock(&mu);
	const ustatus* st = find_status_locked(ME, "hi-1", -1, seq0);
	ustatus copy;
	memset(&copy, 0, sizeof copy);
	if (st) copy = *st;
	pthread_mutex_unlock(&mu);
	CHECK(copy.type == kTIMUserStatusType_Online, "own status type is Online (%d)", copy.type);
	CHECK(copy.ndev >= 1 && strcmp(copy.devs[0], MY_PLATFORM) == 0, "own online devices are [\"" MY_PLATFORM "\"] (%d device(s), first \"%s\")",
	      copy.ndev, copy.ndev ? copy.devs[0] : "");

	char s100[200], s101[200];
	snprintf(s100, sizeof s100, "{\"user_status_custom_status\":\"%.100s\"}",
	         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	snprintf(s101, sizeof s101, "{\"user_status_custom_status\":\"%.100sy\"}",
	         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	expect_cb(set_status(s100, "100 bytes"), 0);
	expect_cb(set_status(s101, "101 bytes"), 6017);
	/* 34 x U+4E2D (3 bytes) = 102 bytes, 34 characters */
	char cjk[400] = "{\"user_status_custom_status\":\"";
	for (int i = 0; i < 34; i++) strcat(cjk, "\xE4\xB8\xAD");
	strcat(cjk, "\"}");
	expect_cb(set_status(cjk, "34 CJK characters = 102 bytes"), 6017);
	expect_ret(set_status("{\"user_status_custom_status\":", "invalid JSON"), TIM_ERR_JSON);
	expect_ret(set_status(NULL, "NULL"), TIM_ERR_PARAM);
	expect_ret(set_status("[]", "an array"), TIM_ERR_PARAM);
	expect_ret(set_status("\"text\"", "a string"), TIM_ERR_PARAM);
	expect_ret(set_status("{\"user_status_custom_status\":5}", "custom status a number"), TIM_ERR_PARAM);

	seq0 = current_seq();
	expect_cb(set_status("{\"user_status_custom_status\":\"hi-2\",\"user_status_status_type\":2,\"foo\":[1,{}]}", "extra keys"), 0);
	WAIT_UNTIL(ok, WAIT_MS, find_status_locked(ME, "hi-2", -1, seq0) != NULL);
	pthread_mutex_lock(&mu);
	st = find_status_locked(ME, "hi-2", -1, seq0);
	int t = st ? st->type : -1;
	pthread_mutex_unlock(&mu);
	CHECK(ok && t == kTIMUserStatusType_Online, "extra keys are ignored: own change hi-2 with type Online (type %d)", t);

	seq0 = current_seq();
	expect_cb(set_status("{\"user_status_custom_status\":\"\"}", "\"\" clears"), 0);
	WAIT_UNTIL(ok, WAIT_MS, find_status_locked(ME, "", -1, seq0) != NULL);
	CHECK(ok, "own change with custom status \"\" after clearing");

	/* Calls made one after the other take effect in that order: the last
	 * custom status set is the one that stays. */
	enum { NSEQ = 100 };
	call_t* sq[NSEQ];
	long seq_before = current_seq();
	for (int i = 0; i < NSEQ; i++) {
		char js[100], what[32];
		snprintf(js, sizeof js, "{\"user_status_custom_status\":\"seq-%d\"}", i);
		snprintf(what, sizeof what, "seq-%d, back to back", i);
		sq[i] = set_status(js, what);
	}
	int all_ok = 1;
	for (int i = 0; i < NSEQ; i++) all_ok &= sq[i]->ret == TIM_SUCC && wait_fired(sq[i]) && sq[i]->code == 0;
	call_t* g = get_status("[\"" ME "\"]", "after 100 back-to-back TIMSetSelfStatus");
	ustatus gs[2];
	memset(gs, 0, sizeof gs);
	int gn = g->ret == TIM_SUCC && wait_fired(g) ? parse_statuses(g->json, gs, 2) : -1;
	CHECK(all_ok && gn == 1 && !strcmp(gs[0].custom, "seq-99"),
	      "100 TIMSetSelfStatus calls made back to back take effect in call order: the custom status is seq-99 (\"%s\")",
	      gs[0].custom);
	WAIT_UNTIL(ok, WAIT_MS, find_status_locked(ME, gs[0].custom, -1, seq_before) != NULL);
	int last = -1, inorder = 1, nseen = 0;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < n_status_ev; i++) {
		const status_ev* e = &status_evs[i];
		if (e->seq <= seq_before || strcmp(e->st.id, ME) != 0 || strncmp(e->st.custom, "seq-", 4) != 0) continue;
		int v = atoi(e->st.custom + 4);
		if (v <= last) inorder = 0;
		last = v;
		nseen++;
	}
	pthread_mutex_unlock(&mu);
	CHECK(inorder && last == NSEQ - 1, "the own changes seq-0..seq-99 were applied and notified in call order (%d seen, %s, last seq-%d)",
	      nseen, inorder ? "in order" : "OUT OF ORDER", last);

	/* null and an absent key clear the custom status too. */
	CHECK(settle_marker("before-null"), "own marker before-null came back");
	seq0 = current_seq();
	expect_cb(set_status("{\"user_status_custom_status\":null}", "null clears"), 0);
	WAIT_UNTIL(ok, WAIT_MS, find_status_locked(ME, "", -1, seq0) != NULL);
	CHECK(ok, "own change with custom status \"\" after setting null");
	CHECK(settle_marker("before-absent"), "own marker before-absent came back");
	seq0 = current_seq();
	expect_cb(set_status("{\"foo\":1}", "absent key clears"), 0);
	WAIT_UNTIL(ok, WAIT_MS, find_status_locked(ME, "", -1, seq0) != NULL);
	CHECK(ok, "own change with custom status \"\" after an object without the key");

	/* A NULL status callback unregisters; registering again restores it. */
	seq0 = current_seq();
	TIMSetUserStatusChangedCallback(NULL, NULL);
	expect_cb(set_status("{\"user_status_custom_status\":\"hidden-1\"}", "while unregistered"), 0);
	msleep(300); /* negative check: let a wrongly delivered change arrive */
	TIMSetUserStatusChangedCallback(status_cb, &ud_status);
	expect_cb(set_status("{\"user_status_custom_status\":\"shown-1\"}", "registered again"), 0);
	WAIT_UNTIL(ok, WAIT_MS, find_status_locked(ME, "shown-1", -1, seq0) != NULL);
	pthread_mutex_lock(&mu);
	int hidden = find_status_locked(ME, "hidden-1", -1, seq0) != NULL;
	pthread_mutex_unlock(&mu);
	CHECK(ok && !hidden, "no change delivered while the status callback was NULL (hidden-1 %s), and again after (shown-1 %s)",
	      hidden ? "seen" : "not seen", ok ? "seen" : "not seen");
}

static int read_log_file(const char* marker) {
	DIR* d = opendir(log_dir);
	if (!d) return 0;
	int found = 0;
	struct dirent* e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "imsdk_", 6) != 0) continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", log_dir, e->d_name);
		FILE* f = fopen(path, "r");
		if (!f) continue;
		char line[4096];
		while (fgets(line, sizeof line, f))
			if (strstr(line, marker)) found = 1;
		fclose(f);
	}
	closedir(d);
	return found;
}

static void test_log(void) {
	section("log callback and log files");
	pthread_mutex_lock(&mu);
	int n = n_log;
	snprintf(log_marker, sizeof log_marker, "imsdk-test-marker-1");
	log_marker_seen = 0;
	pthread_mutex_unlock(&mu);
	CHECK(n > 0, "the log callback received lines since TIMInit (%d)", n);
	expect_cb(experimental("{\"request_internal_operation\":\"internal_operation_write_log\",\"request_write_log_param\":{"
	                       "\"request_write_log_log_level_param\":4,\"request_write_log_log_content_param\":\"imsdk-test-marker-1\","
	                       "\"request_write_log_file_name_param\":\"imsdk_test.c\",\"request_write_log_func_name_param\":\"test_log\","
	                       "\"request_write_log_line_number_param\":1}}",
	                       "write_log marker-1"),
	          0);
	pthread_mutex_lock(&mu);
	int seen = log_marker_seen;
	pthread_mutex_unlock(&mu);
	CHECK(seen == 1, "write_log's line reached the log callback before the call's callback (seen %d)", seen);
	CHECK(read_log_file("imsdk-test-marker-1"), "write_log's line is in a log file under sdk_config_log_file_path (%s)", log_dir);

	TIMSetLogCallback(NULL, NULL);
	pthread_mutex_lock(&mu);
	snprintf(log_marker, sizeof log_marker, "imsdk-test-marker-2");
	log_marker_seen = 0;
	pthread_mutex_unlock(&mu);
	expect_cb(experimental("{\"request_internal_operation\":\"internal_operation_write_log\",\"request_write_log_param\":{"
	                       "\"request_write_log_log_level_param\":6,\"request_write_log_log_content_param\":\"imsdk-test-marker-2\"}}",
	                       "write_log marker-2, log callback NULL"),
	          0);
	msleep(100);
	TIMSetLogCallback(log_cb, &ud_log);
	pthread_mutex_lock(&mu);
	seen = log_marker_seen;
	pthread_mutex_unlock(&mu);
	CHECK(seen == 0, "no line reached the log callback while it was NULL (seen %d)", seen);

	/* TIMSetConfig: with the callback's level at Error, a warning stays out. */
	expect_ret(set_config(NULL, "NULL config"), TIM_ERR_PARAM);
	expect_ret(set_config("[6]", "an array"), TIM_ERR_JSON);
	expect_cb(set_config("{\"set_config_callback_log_level\":9}", "level 9"), 6017);
	call_t* c = set_config("{\"set_config_callback_log_level\":6,\"set_config_user_define_data\":\"room 7\"}", "callback level Error");
	expect_cb(c, 0);
	pthread_mutex_lock(&mu);
	int answered = c->json && strstr(c->json, "\"set_config_callback_log_level\":6") && strstr(c->json, "\"set_config_user_define_data\":\"room 7\"");
	pthread_mutex_unlock(&mu);
	CHECK(answered, "TIMSetConfig answers the settings (%.120s)", c->json ? c->json : "(null)");
	for (int i = 3; i <= 4; i++) {
		pthread_mutex_lock(&mu);
		snprintf(log_marker, sizeof log_marker, "imsdk-test-marker-%d", i);
		log_marker_seen = 0;
		pthread_mutex_unlock(&mu);
		char req[300];
		snprintf(req, sizeof req,
		         "{\"request_internal_operation\":\"internal_operation_write_log\",\"request_write_log_log_level_param\":%d,"
		         "\"request_write_log_log_content_param\":\"imsdk-test-marker-%d\"}",
		         i == 3 ? 5 : 6, i);
		expect_cb(experimental(req, i == 3 ? "write_log a warning" : "write_log an error"), 0);
		pthread_mutex_lock(&mu);
		seen = log_marker_seen;
		pthread_mutex_unlock(&mu);
		CHECK(seen == (i == 3 ? 0 : 1), "with the callback level at Error, %s the log callback (seen %d)",
		      i == 3 ? "a warning does not reach" : "an error reaches", seen);
	}
	expect_cb(set_config("{\"set_config_callback_log_level\":3}", "callback level back to Debug"), 0);
}

static void test_get_user_status(void) {
	section("TIMGetUserStatus");
	CHECK(control("SET_STATUS " PEER " hello"), "driver: bob online with custom status hello");
	call_t* c = get_status("[\"" PEER "\",\"" ME "\",\"" NOBODY "\",\"" NEVER "\"]", "bob, alice, nobody_here, carol");
	expect_cb(c, 0);
	ustatus sts[8];
	pthread_mutex_lock(&mu);
	int n = c->json ? parse_statuses(c->json, sts, 8) : -1;
	char json[300];
	snprintf(json, sizeof json, "%.280s", c->json ? c->json : "");
	pthread_mutex_unlock(&mu);
	CHECK_EQ(n, 4, "GetUserStatus answers 4 status objects");
	if (n != 4) {
		say("   json_params: %s", json);
		memset(sts, 0, sizeof sts);
	}
	CHECK(!strcmp(sts[0].id, PEER) && !strcmp(sts[1].id, ME) && !strcmp(sts[2].id, NOBODY) && !strcmp(sts[3].id, NEVER),
	      "results are in request order (%s, %s, %s, %s)", sts[0].id, sts[1].id, sts[2].id, sts[3].id);
	CHECK(sts[0].type == kTIMUserStatusType_Online && !strcmp(sts[0].custom, "hello"),
	      "bob: Online with custom status hello (type %d, \"%s\")", sts[0].type, sts[0].custom);
	CHECK(sts[1].type == kTIMUserStatusType_Online && sts[1].has_custom, "alice: Online (type %d)", sts[1].type);
	CHECK(sts[2].type == kTIMUserStatusType_Unkown && sts[2].has_custom, "nobody_here (no account): type 0 (type %d)", sts[2].type);
	CHECK(sts[3].type == kTIMUserStatusType_UnLogined && sts[3].ndev == 0, "carol (never logged in): UnLogined (type %d)", sts[3].type);

	c = get_status("[\"" ME "\"]", "self");
	expect_cb(c, 0);
	pthread_mutex_lock(&mu);
	n = c->json ? parse_statuses(c->json, sts, 8) : -1;
	pthread_mutex_unlock(&mu);
	CHECK(n == 1 && !strcmp(sts[0].id, ME) && sts[0].type == kTIMUserStatusType_Online, "GetUserStatus of self: alice Online");

	expect_ret(get_status(NULL, "NULL"), TIM_ERR_PARAM);
	expect_ret(get_status("", "\"\""), TIM_ERR_PARAM);
	expect_ret(get_status("null", "null"), TIM_ERR_PARAM);
	expect_ret(get_status("[]", "[]"), TIM_ERR_PARAM);
	expect_ret(get_status("[1,2]", "[1,2]"), TIM_ERR_PARAM);
	expect_ret(get_status("[\"" ME "\",2]", "[\"alice\",2]"), TIM_ERR_PARAM);
	expect_ret(get_status("{\"a\":1}", "an object"), TIM_ERR_PARAM);
	expect_ret(get_status("[\"bad id!\"]", "an invalid id"), TIM_ERR_PARAM);
	expect_ret(get_status("[\"\"]", "an empty id"), TIM_ERR_PARAM);
	expect_ret(get_status("[\"abcdefghijabcdefghijabcdefghijabc\"]", "a 33-byte id"), TIM_ERR_PARAM);
	expect_ret(get_status("[", "["), TIM_ERR_JSON);
	expect_ret(get_status("[\"" ME "\"", "unterminated array"), TIM_ERR_JSON);

	char* ids = ids_json(500, "u");
	c = get_status(ids, "500 ids");
	expect_cb(c, 0);
	pthread_mutex_lock(&mu);
	n = c->json ? parse_statuses(c->json, sts, 8) : -1;
	pthread_mutex_unlock(&mu);
	CHECK(n == 500 && !strcmp(sts[0].id, "u0") && sts[0].type == 0, "500 ids: 500 results, u0 first, type 0 (%d)", n);
	free(ids);
	ids = ids_json(501, "u");
	expect_cb(get_status(ids, "501 ids"), 70206);
	free(ids);
}

/* settle_marker sets the own custom status to marker and waits until the
 * own change comes back: every notification sent before it has arrived. */
static int settle_marker(const char* marker) {
	char json[128];
	snprintf(json, sizeof json, "{\"user_status_custom_status\":\"%s\"}", marker);
	long seq0 = current_seq();
	call_t* c = set_status(json, marker);
	if (c->ret != TIM_SUCC || !wait_fired(c)) return 0;
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, find_status_locked(ME, marker, -1, seq0) != NULL);
	return ok && c->code == 0;
}

/* unsubscribed_check: after removing every subscription with `how`, a
 * change of bob is not delivered. 4 checks. */
static void unsubscribed_check(const char* how, const char* bob_custom, const char* marker) {
	long seq0 = current_seq();
	call_t* c = call_new("TIMUnsubscribeUserStatus(%s)", how);
	const char* arg = !strcmp(how, "NULL") ? NULL : !strcmp(how, "\"\"") ? "" : how;
	call_ret(c, TIMUnsubscribeUserStatus(arg, comm_cb, c));
	expect_cb(c, 0);
	CHECK(control("SET_STATUS " PEER " %s", bob_custom), "driver: bob sets %s", bob_custom);
	CHECK(settle_marker(marker), "own marker %s came back", marker);
	pthread_mutex_lock(&mu);
	int seen = find_status_locked(PEER, bob_custom, -1, seq0) != NULL;
	pthread_mutex_unlock(&mu);
	CHECK(!seen, "after TIMUnsubscribeUserStatus(%s) bob's change %s is not delivered", how, bob_custom);
}

/* subscribed_check: subscribing to bob delivers his current state. 2 checks. */
static void subscribe_bob(const char* what, const char* current) {
	long seq0 = current_seq();
	expect_cb(subscribe("[\"" PEER "\"]", what), 0);
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, find_status_locked(PEER, current, kTIMUserStatusType_Online, seq0) != NULL);
	CHECK(ok, "after subscribing (%s), the status callback delivers bob's current state (Online, %s)", what, current);
}

static void test_subscribe(void) {
	section("TIMSubscribeUserStatus / TIMUnsubscribeUserStatus");
	expect_ret(subscribe("[\"" ME "\"]", "yourself"), TIM_ERR_PARAM);
	expect_ret(subscribe("[\"" PEER "\",\"" ME "\"]", "bob and yourself"), TIM_ERR_PARAM);
	expect_ret(subscribe(NULL, "NULL"), TIM_ERR_PARAM);
	expect_ret(subscribe("", "\"\""), TIM_ERR_PARAM);
	expect_ret(subscribe("null", "null"), TIM_ERR_PARAM);
	expect_ret(subscribe("[]", "[]"), TIM_ERR_PARAM);
	expect_ret(subscribe("[1]", "[1]"), TIM_ERR_PARAM);
	expect_ret(subscribe("[\"" PEER "\"", "bad JSON"), TIM_ERR_JSON);
	char* ids = ids_json(101, "u");
	expect_cb(subscribe(ids, "101 ids"), 70206);
	free(ids);
	expect_cb(subscribe("[\"" NOBODY "\"]", "an id without an account"), 70107);
	expect_ret(unsubscribe("[1]", "[1]"), TIM_ERR_PARAM);
	expect_ret(unsubscribe("{", "bad JSON"), TIM_ERR_JSON);
	expect_ret(unsubscribe("[\"bad id!\"]", "an invalid id"), TIM_ERR_PARAM);

	subscribe_bob("bob", "hello");
	long seq0 = current_seq();
	CHECK(control("SET_STATUS " PEER " away"), "driver: bob sets away");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, find_status_locked(PEER, "away", kTIMUserStatusType_Online, seq0) != NULL);
	CHECK(ok, "the status callback delivers bob's change to away");

	unsubscribed_check("NULL", "gone-1", "marker-1");
	subscribe_bob("bob again", "gone-1");
	unsubscribed_check("null", "gone-2", "marker-2");
	subscribe_bob("bob again", "gone-2");
	unsubscribed_check("\"\"", "gone-3", "marker-3");
	subscribe_bob("bob again", "gone-3");
	unsubscribed_check("[]", "gone-4", "marker-4");
	subscribe_bob("bob again", "gone-4");
	unsubscribed_check("[\"" PEER "\"]", "gone-5", "marker-5");
}

/* ---- many threads ------------------------------------------------------ */

#define THREADS 8
#define PER_THREAD 50
static call_t* mt_calls[THREADS][PER_THREAD];
static pthread_t mt_threads[THREADS];

static void* mt_worker(void* arg) {
	int t = (int)(intptr_t)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		call_t* c = call_new("TIMGetUserStatus(self) thread %d #%d", t, i);
		call_ret(c, TIMGetUserStatus("[\"" ME "\"]", comm_cb, c));
		mt_calls[t][i] = c;
	}
	return NULL;
}

static int mt_all_fired_locked(void) {
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < PER_THREAD; i++)
			if (mt_calls[t][i]->fired == 0) return 0;
	return 1;
}

static void test_threads(void) {
	section("8 threads x 50 calls, direct mode");
	for (int t = 0; t < THREADS; t++) pthread_create(&mt_threads[t], NULL, mt_worker, (void*)(intptr_t)t);
	for (int t = 0; t < THREADS; t++) pthread_join(mt_threads[t], NULL);
	int nsucc = 0;
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < PER_THREAD; i++) nsucc += mt_calls[t][i]->ret == TIM_SUCC;
	CHECK_EQ(nsucc, THREADS * PER_THREAD, "calls that returned TIM_SUCC");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, mt_all_fired_locked());
	msleep(50);
	int once = 0, code0 = 0, same = 1, foreign = 1;
	pthread_mutex_lock(&mu);
	pthread_t th = mt_calls[0][0]->thread;
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < PER_THREAD; i++) {
			call_t* c = mt_calls[t][i];
			once += c->fired == 1;
			code0 += c->fired == 1 && c->code == 0;
			if (c->fired && !pthread_equal(c->thread, th)) same = 0;
			if (c->fired && pthread_equal(c->thread, pthread_self())) foreign = 0;
			for (int k = 0; k < THREADS; k++)
				if (c->fired && pthread_equal(c->thread, mt_threads[k])) foreign = 0;
		}
	pthread_mutex_unlock(&mu);
	CHECK(ok && once == THREADS * PER_THREAD, "all %d callbacks ran exactly once (%d did)", THREADS * PER_THREAD, once);
	CHECK_EQ(code0, THREADS * PER_THREAD, "callbacks with code 0");
	CHECK(same, "all callbacks ran on one thread");
	CHECK(foreign, "that thread is none of the calling threads nor main");
	int marker_ok = settle_marker("threads-marker");
	pthread_mutex_lock(&mu);
	int st_same = pthread_equal(status_thread, th);
	pthread_mutex_unlock(&mu);
	CHECK(marker_ok && st_same, "the status changed callback runs on that thread too");
}

/* ---- queued mode -------------------------------------------------------- */

static void test_queued(void) {
	section("queued callback mode");
	CHECK_EQ(IMStatusSetCallbackMode(2), TIM_ERR_PARAM, "IMStatusSetCallbackMode(2)");
	CHECK_EQ(IMStatusSetCallbackMode(-1), TIM_ERR_PARAM, "IMStatusSetCallbackMode(-1)");
	CHECK_EQ(IMStatusPumpCallbacks(0), -1, "IMStatusPumpCallbacks in direct mode");
	CHECK_EQ(IMStatusSetCallbackMode(IMSTATUS_CALLBACKS_QUEUED), TIM_SUCC, "IMStatusSetCallbackMode(QUEUED)");
	CHECK(IMStatusPumpCallbacks(0) >= 0, "IMStatusPumpCallbacks(0) in queued mode runs what is queued");

	call_t* q[5];
	for (int i = 0; i < 5; i++) {
		q[i] = call_new("queued TIMGetUserStatus(self) #%d", i);
		call_ret(q[i], TIMGetUserStatus("[\"" ME "\"]", comm_cb, q[i]));
	}
	msleep(300); /* negative check: nothing may run without a pump */
	int fired = 0;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < 5; i++) fired += q[i]->fired;
	pthread_mutex_unlock(&mu);
	CHECK_EQ(fired, 0, "queued mode: no callback ran before IMStatusPumpCallbacks");
	int one = IMStatusPumpCallbacks(1);
	pthread_mutex_lock(&mu);
	fired = 0;
	for (int i = 0; i < 5; i++) fired += q[i]->fired;
	pthread_mutex_unlock(&mu);
	CHECK(one == 1 && fired <= 1, "IMStatusPumpCallbacks(1) ran one callback (returned %d, %d call callbacks ran)", one, fired);
	long long t0 = now_ms();
	int all = 0, total = one;
	while (now_ms() - t0 < WAIT_MS) {
		total += IMStatusPumpCallbacks(0);
		pthread_mutex_lock(&mu);
		all = 1;
		for (int i = 0; i < 5; i++) all &= q[i]->fired > 0;
		pthread_mutex_unlock(&mu);
		if (all) break;
		msleep(5);
	}
	int on_main = 1, once = 1;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < 5; i++) {
		if (!pthread_equal(q[i]->thread, pthread_self())) on_main = 0;
		if (q[i]->fired != 1 || q[i]->code != 0) once = 0;
	}
	pthread_mutex_unlock(&mu);
	CHECK(all && once && total >= 5, "pumping ran the 5 callbacks once each, code 0 (pump counted %d)", total);
	CHECK(on_main, "queued callbacks ran on the pumping (main) thread");

	call_t* r[3];
	for (int i = 0; i < 3; i++) {
		r[i] = call_new("queued then released TIMGetUserStatus(self) #%d", i);
		call_ret(r[i], TIMGetUserStatus("[\"" ME "\"]", comm_cb, r[i]));
	}
	msleep(200);
	pthread_mutex_lock(&mu);
	fired = r[0]->fired + r[1]->fired + r[2]->fired;
	pthread_mutex_unlock(&mu);
	CHECK_EQ(fired, 0, "queued mode: 3 more calls wait");
	CHECK_EQ(IMStatusSetCallbackMode(IMSTATUS_CALLBACKS_DIRECT), TIM_SUCC, "IMStatusSetCallbackMode(DIRECT)");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, r[0]->fired && r[1]->fired && r[2]->fired);
	pthread_mutex_lock(&mu);
	int off_main = !pthread_equal(r[0]->thread, pthread_self()) && !pthread_equal(r[1]->thread, pthread_self()) &&
	               !pthread_equal(r[2]->thread, pthread_self());
	pthread_mutex_unlock(&mu);
	CHECK(ok && off_main, "back to direct mode: the queued callbacks ran on the library's thread");
	CHECK_EQ(IMStatusPumpCallbacks(0), -1, "IMStatusPumpCallbacks in direct mode again");
}

/* ---- hostile input ------------------------------------------------------ */

static void test_bad_input(void) {
	section("bad JSON, huge JSON, NULL everywhere");
	/* 10 MB of "[" used to overflow the Go stack and abort the host: JSON
	 * nested deeper than 32 levels is TIM_ERR_JSON, refused at once. */
	size_t depth = 10 << 20;
	char* open = xmalloc(depth + 1);
	memset(open, '[', depth);
	open[depth] = 0;
	char* deep = xmalloc(2 * depth + 1);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = 0;
	expect_ret(get_status(open, "10 MB of ["), TIM_ERR_JSON);
	expect_ret(subscribe(open, "10 MB of ["), TIM_ERR_JSON);
	expect_ret(unsubscribe(open, "10 MB of ["), TIM_ERR_JSON);
	expect_ret(set_status(open, "10 MB of ["), TIM_ERR_JSON);
	expect_ret(experimental(open, "10 MB of ["), TIM_ERR_JSON);
	expect_ret(get_status(deep, "nested arrays 10 M deep"), TIM_ERR_JSON);
	expect_ret(subscribe(deep, "nested arrays 10 M deep"), TIM_ERR_JSON);
	expect_ret(unsubscribe(deep, "nested arrays 10 M deep"), TIM_ERR_JSON);
	expect_ret(set_status(deep, "nested arrays 10 M deep"), TIM_ERR_JSON);
	expect_ret(experimental(deep, "nested arrays 10 M deep"), TIM_ERR_JSON);
	CHECK_EQ(TIMInit(APP, open), TIM_ERR_JSON, "TIMInit with 10 MB of [ as config");
	size_t levels = 1 << 20;
	char* obj = xmalloc(levels * 6 + 64);
	size_t k = 0;
	for (size_t i = 0; i < levels; i++) k += (size_t)sprintf(obj + k, "{\"a\":");
	k += (size_t)sprintf(obj + k, "1");
	for (size_t i = 0; i < levels; i++) obj[k++] = '}';
	obj[k] = 0;
	expect_ret(experimental(obj, "objects nested 1 M deep"), TIM_ERR_JSON);
	expect_ret(set_status(obj, "objects nested 1 M deep"), TIM_ERR_JSON);
	free(open);
	free(deep);
	free(obj);

	size_t big = 1 << 20;
	char* huge = xmalloc(big + 64);
	strcpy(huge, "[\"");
	memset(huge + 2, 'a', big);
	strcpy(huge + 2 + big, "\"]");
	expect_refused(get_status(huge, "one 1 MB id"));
	expect_refused(subscribe(huge, "one 1 MB id"));
	expect_refused(unsubscribe(huge, "one 1 MB id"));
	strcpy(huge, "{\"user_status_custom_status\":\"");
	size_t h = strlen(huge);
	memset(huge + h, 'b', big);
	strcpy(huge + h + big, "\"}");
	expect_cb(set_status(huge, "1 MB custom status"), 6017);
	strcpy(huge, "{\"request_internal_operation\":\"");
	h = strlen(huge);
	memset(huge + h, 'c', big);
	strcpy(huge + h + big, "\"}");
	expect_cb(experimental(huge, "1 MB operation name"), 6017);
	free(huge);
	char* many = ids_json(100000, "x");
	CHECK(strlen(many) > 500000, "100000 ids are %zu bytes of JSON", strlen(many));
	expect_cb(get_status(many, "100000 ids"), 70206);
	expect_cb(subscribe(many, "100000 ids"), 70206);
	expect_cb(unsubscribe(many, "100000 ids"), 70206);
	free(many);

	expect_cb(set_status("{\"user_status_custom_status\":\"\xff\xfe\"}", "invalid UTF-8 bytes"), 6017);
	expect_cb(set_status("{\"user_status_custom_status\":\"ok \xE4\xB8\"}", "truncated UTF-8 sequence"), 6017);
	expect_cb(set_status("{\"user_status_custom_status\":\"\xC0\xAF\"}", "overlong UTF-8"), 6017);
	call_t* c = set_status("{\"user_status_custom_status\":\"\\ud800\"}", "escaped lone surrogate");
	CHECK(c->ret == TIM_SUCC || c->ret == TIM_ERR_JSON, "%s: returned %d", c->what, c->ret);
	if (c->ret == TIM_SUCC) wait_fired(c);
	expect_cb(set_status("{\"user_status_custom_status\":\"\\u00e9t\\u00e9 \\ud83c\\udfae\"}", "escaped UTF-16 with a surrogate pair"), 0);

	/* NULL everywhere */
	expect_ret(get_status(NULL, "NULL"), TIM_ERR_PARAM);
	expect_ret(subscribe(NULL, "NULL"), TIM_ERR_PARAM);
	expect_ret(set_status(NULL, "NULL"), TIM_ERR_PARAM);
	expect_ret(experimental(NULL, "NULL"), TIM_ERR_PARAM);
	expect_ret(login(NULL, NULL, "NULL, NULL while logged in"), TIM_ERR_PARAM);
	CHECK_EQ(TIMGetLoginUserID(NULL), TIM_ERR_PARAM, "TIMGetLoginUserID(NULL)");
	CHECK_EQ(TIMInit(APP, NULL), TIM_SUCC, "TIMInit(app, NULL) while initialised");
	CHECK_EQ(TIMGetUserStatus(NULL, NULL, NULL), TIM_ERR_PARAM, "TIMGetUserStatus(NULL, NULL, NULL)");
	CHECK_EQ(TIMSetSelfStatus(NULL, NULL, NULL), TIM_ERR_PARAM, "TIMSetSelfStatus(NULL, NULL, NULL)");
	CHECK_EQ(TIMSubscribeUserStatus(NULL, NULL, NULL), TIM_ERR_PARAM, "TIMSubscribeUserStatus(NULL, NULL, NULL)");
	CHECK_EQ(callExperimentalAPI(NULL, NULL, NULL), TIM_ERR_PARAM, "callExperimentalAPI(NULL, NULL, NULL)");
	expect_cb(get_status("[\"" ME "\"]", "still alive after all that"), 0);
}

/* ---- kicked by a login on another device --------------------------------- */

static void test_kick(void) {
	section("multi-device: kicked by a newer login");
	pthread_mutex_lock(&mu);
	int k0 = n_kicked;
	pthread_mutex_unlock(&mu);
	CHECK(control("LOGIN_OTHER " ME), "driver: alice logs in on another " MY_PLATFORM " device");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, n_kicked > k0);
	CHECK(ok, "the kicked-offline callback ran");
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_UnLogined, "TIMGetLoginStatus after the kick");
	expect_ret(get_status("[\"" ME "\"]", "after the kick"), TIM_ERR_NOTLOGIN);
	expect_ret(logout("after the kick"), TIM_ERR_NOTLOGIN);
	char buf[128];
	CHECK_EQ(TIMGetLoginUserID(buf), TIM_ERR_NOTLOGIN, "TIMGetLoginUserID after the kick");
	expect_cb(login(ME, sig_me, "alice after the kick"), 0);
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_Logined, "logged in again");
	pthread_mutex_lock(&mu);
	int k1 = n_kicked;
	pthread_mutex_unlock(&mu);
	CHECK_EQ(k1, k0 + 1, "the kicked callback ran exactly once");
}

/* ---- rate limit --------------------------------------------------------- */

static void test_rate_limit(void) {
	section("rate limit: 20 GetUserStatus of others per 5 s");
	/* A fresh login (test_kick) cleared the library's windows; a sweep 6 s
	 * later in the server's clock starts the server's window afresh. */
	CHECK(control("SWEEP 6"), "driver: advance the server's clock 6 s");
	int ok20 = 0;
	for (int i = 0; i < 20; i++) {
		call_t* c = get_status("[\"" PEER "\",\"" NEVER "\"]", "others, within the limit");
		if (c->ret == TIM_SUCC && wait_fired(c) && c->code == 0) ok20++;
		else say("   call %d: ret %d code %d %s", i + 1, c->ret, c->code, c->desc);
	}
	CHECK_EQ(ok20, 20, "20 GetUserStatus of others succeeded");
	long long t0 = now_ms();
	call_t* c = get_status("[\"" PEER "\",\"" NEVER "\"]", "others, the 21st");
	expect_cb(c, 7008);
	long long dt = now_ms() - t0;
	CHECK(dt < 1000, "7008 answered quickly (%lld ms)", dt);
	expect_cb(get_status("[\"" ME "\"]", "self, not rate limited"), 0);
}

/* ---- server restart ----------------------------------------------------- */

static void test_restart(void) {
	section("reconnect after a server restart");
	subscribe_bob("bob before the restart", "gone-5");
	long seq0 = current_seq();
	CHECK(control("RESTART"), "driver: server restarted on the same port");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, net_reconnected_locked(seq0));
	CHECK(ok, "network callback: kTIMDisconnected, then kTIMConnecting, then kTIMConnected");
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_Logined, "still logged in after the reconnect");
	CHECK(control("SET_STATUS " PEER " after-restart"), "driver: bob sets after-restart");
	WAIT_UNTIL(ok, WAIT_MS, find_status_locked(PEER, "after-restart", kTIMUserStatusType_Online, seq0) != NULL);
	CHECK(ok, "the subscription was restored: bob's change after-restart is delivered");
	expect_cb(get_status("[\"" ME "\"]", "after the restart"), 0);
	expect_cb(set_status("{\"user_status_custom_status\":\"back\"}", "after the restart"), 0);
}

/* ---- UserSig expiry ----------------------------------------------------- */

static void test_sig_expiry(void) {
	section("TIMLogout, and UserSig expiry");
	call_t* c = logout("alice");
	int st_now = (int)TIMGetLoginStatus();
	CHECK(st_now == kTIMLoginStatus_Logouting || st_now == kTIMLoginStatus_UnLogined,
	      "TIMGetLoginStatus right after TIMLogout returned is Logouting (4) or already UnLogined (3): %d", st_now);
	expect_cb(c, 0);
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_UnLogined, "TIMGetLoginStatus after TIMLogout");
	expect_ret(get_status("[\"" ME "\"]", "after logout"), TIM_ERR_NOTLOGIN);

	expect_cb(login(ME, sig_short, "alice with a 60 s UserSig"), 0);
	pthread_mutex_lock(&mu);
	int s0 = n_sig_expired;
	pthread_mutex_unlock(&mu);
	CHECK(control("SWEEP 61"), "driver: advance the server's clock 61 s and sweep");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, n_sig_expired > s0);
	CHECK(ok, "the UserSig-expired callback ran");
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_UnLogined, "TIMGetLoginStatus after the UserSig expired");
	expect_ret(set_status("{\"user_status_custom_status\":\"x\"}", "after the UserSig expired"), TIM_ERR_NOTLOGIN);
	expect_cb(login(ME, sig_short, "the expired UserSig again"), 70001);
	expect_cb(login(ME, sig_me, "alice with a good UserSig"), 0);
}

/* ---- TIMUninit ------------------------------------------------------------ */

static int after_uninit_reported; /* n_after_uninit already reported */

static int no_late_callbacks(const char* when) {
	msleep(300); /* negative check: give stragglers a chance */
	pthread_mutex_lock(&mu);
	int n = n_after_uninit - after_uninit_reported;
	after_uninit_reported = n_after_uninit;
	char what[256];
	snprintf(what, sizeof what, "%s", after_uninit_what);
	pthread_mutex_unlock(&mu);
	CHECK(n == 0, "%s: no callback ran after TIMUninit returned (%d did, last: %s)", when, n, n ? what : "-");
	return n;
}

static void reinit_and_login(const char* when) {
	set_after_uninit(0);
	CHECK_EQ(TIMInit(APP, NULL), TIM_SUCC, when);
	expect_cb(login(ME, sig_me, when), 0);
}

static void test_heartbeat_timeout(void) {
	section("the server declares the device gone (heartbeat timeout)");
	long seq0 = current_seq();
	CHECK(control("SWEEP 3601"), "driver: advance the server's clock past the heartbeat timeout and sweep");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, net_reconnected_locked(seq0));
	CHECK(ok, "network callback: kTIMDisconnected, then kTIMConnecting, then kTIMConnected");
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_Logined, "still logged in after the reconnect");
	/* The server's clock is now over an hour ahead of ours (the sweeps so
	 * far), and the reconnect's login told the library so. */
	long long ahead = (long long)TIMGetServerTime() - (long long)time(NULL);
	CHECK(ahead >= 3600 && ahead <= 3900, "TIMGetServerTime is the server's clock, %lld s ahead of the local one (want 3,600-3,900)",
	      ahead);
	expect_cb(set_status("{\"user_status_custom_status\":\"after-timeout\"}", "after the heartbeat timeout"), 0);
}

static void test_logout_link_down(void) {
	section("TIMLogout while the link is down");
	long seq0 = current_seq();
	CHECK(control("STOP"), "driver: server stopped");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, net_seq_locked(kTIMDisconnected, seq0) > 0);
	CHECK(ok, "network callback: kTIMDisconnected");
	call_t* q = set_status("{\"user_status_custom_status\":\"waiting\"}", "waiting for the link");
	msleep(100);
	call_t* lo = logout("while the link is down");
	expect_cb(lo, 0);
	expect_cb(q, 6014);
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_UnLogined, "TIMGetLoginStatus after TIMLogout with the link down");
	CHECK(control("START"), "driver: server started");
	expect_cb(login(ME, sig_me, "alice after logging out with the link down"), 0);
}

static void test_uninit_pending(void) {
	section("TIMUninit while calls are pending");
	long seq0 = current_seq();
	CHECK(control("STOP"), "driver: server stopped");
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, net_seq_locked(kTIMDisconnected, seq0) > 0);
	CHECK(ok, "network callback: kTIMDisconnected");
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_Logined, "still logged in while reconnecting");
	call_t* p1 = set_status("{\"user_status_custom_status\":\"pending\"}", "while the server is down");
	call_t* p2 = get_status("[\"" ME "\"]", "while the server is down");
	call_t* p3 = subscribe("[\"" PEER "\"]", "while the server is down");
	CHECK(p1->ret == TIM_SUCC && p2->ret == TIM_SUCC && p3->ret == TIM_SUCC, "calls are accepted while reconnecting (%d, %d, %d)",
	      p1->ret, p2->ret, p3->ret);
	msleep(200);
	pthread_mutex_lock(&mu);
	int fired = p1->fired + p2->fired + p3->fired;
	pthread_mutex_unlock(&mu);
	CHECK_EQ(fired, 0, "the calls wait for the link");
	CHECK_EQ(TIMUninit(), TIM_SUCC, "TIMUninit with 3 pending calls");
	set_after_uninit(1);
	pthread_mutex_lock(&mu);
	int f1 = p1->fired, f2 = p2->fired, f3 = p3->fired;
	int c1 = p1->code, c2 = p2->code, c3 = p3->code;
	int late = p1->fired_after_uninit + p2->fired_after_uninit + p3->fired_after_uninit;
	pthread_mutex_unlock(&mu);
	CHECK(f1 == 1 && f2 == 1 && f3 == 1 && late == 0, "the pending callbacks ran once each before TIMUninit returned (%d %d %d)", f1,
	      f2, f3);
	CHECK(c1 == 6013 && c2 == 6013 && c3 == 6013, "the pending calls completed with 6013 (%d %d %d)", c1, c2, c3);
	CHECK_EQ(TIMGetLoginStatus(), kTIMLoginStatus_UnLogined, "TIMGetLoginStatus after TIMUninit");
	expect_ret(get_status("[\"" ME "\"]", "after TIMUninit"), TIM_ERR_SDKUNINIT);
	no_late_callbacks("TIMUninit with pending calls");

	/* A login that cannot reach the server is pending too. */
	set_after_uninit(0);
	CHECK_EQ(TIMInit(APP, NULL), TIM_SUCC, "TIMInit while the server is down");
	seq0 = current_seq();
	call_t* pl = login(ME, sig_me, "while the server is down");
	WAIT_UNTIL(ok, WAIT_MS, net_seq_locked(kTIMConnectFailed, seq0) > 0);
	CHECK(ok, "network callback: kTIMConnectFailed while the server is down");
	pthread_mutex_lock(&mu);
	fired = pl->fired;
	pthread_mutex_unlock(&mu);
	CHECK(pl->ret == TIM_SUCC && fired == 0, "the login is pending (returned %d, ran %d)", pl->ret, fired);
	CHECK_EQ(TIMUninit(), TIM_SUCC, "TIMUninit with a pending login");
	set_after_uninit(1);
	pthread_mutex_lock(&mu);
	f1 = pl->fired;
	c1 = pl->code;
	pthread_mutex_unlock(&mu);
	CHECK(f1 == 1 && c1 == 6013, "the pending login completed with 6013 before TIMUninit returned (ran %d, code %d)", f1, c1);
	no_late_callbacks("TIMUninit with a pending login");

	CHECK(control("START"), "driver: server started");
	reinit_and_login("TIMInit and TIMLogin again after TIMUninit");
}

static void test_uninit_in_callback(void) {
	section("TIMUninit from inside a callback");
	call_t* c = call_new("TIMGetUserStatus(self), callback calls TIMUninit");
	c->uninit_in_cb = 1;
	call_ret(c, TIMGetUserStatus("[\"" ME "\"]", comm_cb, c));
	int ok;
	WAIT_UNTIL(ok, WAIT_MS, c->uninit_done);
	CHECK(ok, "TIMUninit returned inside the callback (no deadlock)");
	CHECK_EQ(c->uninit_ret, TIM_SUCC, "TIMUninit inside a callback returned");
	no_late_callbacks("TIMUninit inside a callback");
	reinit_and_login("TIMInit and TIMLogin after TIMUninit inside a callback");

	/* Results that are ready when TIMUninit runs inside a callback run before
	 * TIMUninit returns (nested in it), or never; never after. */
	call_t* a = call_new("TIMGetUserStatus(self), slow callback");
	a->slow_ms = 500;
	call_ret(a, TIMGetUserStatus("[\"" ME "\"]", comm_cb, a));
	WAIT_UNTIL(ok, WAIT_MS, a->started);
	call_t* b = call_new("TIMGetUserStatus(self) queued behind the slow one, calls TIMUninit");
	b->uninit_in_cb = 1;
	call_ret(b, TIMGetUserStatus("[\"" ME "\"]", comm_cb, b));
	msleep(100); /* b's result is ready (and queued behind a's callback) before the others' */
	call_t* d[4];
	for (int i = 0; i < 4; i++) {
		d[i] = call_new("TIMGetUserStatus(self) #%d queued behind the one calling TIMUninit", i);
		call_ret(d[i], TIMGetUserStatus("[\"" ME "\"]", comm_cb, d[i]));
	}
	WAIT_UNTIL(ok, WAIT_MS, b->uninit_done);
	CHECK(ok && b->uninit_ret == TIM_SUCC, "TIMUninit returned inside the second callback");
	msleep(300);
	int dfired = 0, dlate = 0;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < 4; i++) {
		dfired += d[i]->fired == 1;
		dlate += d[i]->fired_after_uninit;
	}
	pthread_mutex_unlock(&mu);
	CHECK(dfired == 4 && dlate == 0,
	      "4 results ready before TIMUninit (called inside a callback) ran once, before TIMUninit returned (%d ran once, %d after)",
	      dfired, dlate);
	pthread_mutex_lock(&mu);
	after_uninit_reported += dlate; /* reported just above */
	for (int i = 0; i < 4; i++) d[i]->fired_after_uninit = 0;
	pthread_mutex_unlock(&mu);
	no_late_callbacks("TIMUninit inside a callback, results queued behind");
	reinit_and_login("TIMInit and TIMLogin again");
}

static void test_final_uninit(void) {
	section("TIMUninit in queued mode");
	CHECK_EQ(IMStatusSetCallbackMode(IMSTATUS_CALLBACKS_QUEUED), TIM_SUCC, "IMStatusSetCallbackMode(QUEUED)");
	call_t* c = get_status("[\"" ME "\"]", "queued, then TIMUninit");
	msleep(200);
	pthread_mutex_lock(&mu);
	int f0 = c->fired;
	pthread_mutex_unlock(&mu);
	CHECK_EQ(f0, 0, "the result waits in the queue");
	CHECK_EQ(TIMUninit(), TIM_SUCC, "TIMUninit in queued mode");
	set_after_uninit(1);
	pthread_mutex_lock(&mu);
	int f = c->fired, code = c->code, on_main = pthread_equal(c->thread, pthread_self());
	pthread_mutex_unlock(&mu);
	CHECK(f == 1 && on_main && (code == 0 || code == 6013),
	      "TIMUninit ran the queued callback on its own thread before returning (ran %d, code %d, main %d)", f, code, on_main);
	CHECK_EQ(IMStatusSetCallbackMode(IMSTATUS_CALLBACKS_DIRECT), TIM_SUCC, "IMStatusSetCallbackMode(DIRECT) after TIMUninit");
	no_late_callbacks("final TIMUninit");
}

/* ---- what every call must have done ------------------------------------ */

static void test_every_call(void) {
	section("every call");
	int succ = 0, not_once = 0, failed = 0, fired_failed = 0, inside = 0, late = 0;
	char bad1[256] = "-", bad2[256] = "-", bad3[256] = "-";
	pthread_mutex_lock(&mu);
	for (call_t* c = all_calls; c; c = c->next) {
		if (c->ret == TIM_SUCC) {
			succ++;
			if (c->fired != 1) {
				not_once++;
				snprintf(bad1, sizeof bad1, "%s (ran %d times)", c->what, c->fired);
			}
		} else {
			failed++;
			if (c->fired) {
				fired_failed++;
				snprintf(bad2, sizeof bad2, "%s (returned %d, ran %d times)", c->what, c->ret, c->fired);
			}
		}
		if (c->fired_inside) {
			inside++;
			snprintf(bad3, sizeof bad3, "%s", c->what);
		}
		late += c->fired_after_uninit;
	}
	int bad_ud = n_bad_ud, bad_json = n_status_bad_json, net_bad = n_net_bad, log_bad = n_log_bad, dropins = n_dropin_fired;
	int uds = n_ud_seen, nlog = n_log;
	char bud[256], bjs[256];
	snprintf(bud, sizeof bud, "%s", bad_ud_what);
	snprintf(bjs, sizeof bjs, "%s", status_bad_json);
	pthread_mutex_unlock(&mu);
	CHECK(not_once == 0, "each of the %d calls that returned TIM_SUCC ran its callback exactly once (%d did not; last: %s)", succ,
	      not_once, bad1);
	CHECK(fired_failed == 0, "none of the %d calls that did not return TIM_SUCC ran its callback (%d did; last: %s)", failed,
	      fired_failed, bad2);
	CHECK(inside == 0, "no callback ran before its function returned (%d did; last: %s)", inside, bad3);
	CHECK(late == 0, "no call's callback ran after TIMUninit returned (%d)", late);
	CHECK(bad_ud == 0, "every event callback got its registered user_data (%d did not; last: %s)", bad_ud, bud);
	CHECK_EQ(uds, 4, "the user_data callbacks ran 4 times in all");
	CHECK(bad_json == 0, "every status changed callback got a non-empty JSON array of status objects (bad: %s)", bjs);
	CHECK(net_bad == 0, "network callbacks had valid statuses and descs (%d bad)", net_bad);
	CHECK(log_bad == 0 && nlog > 0, "log callbacks had levels 0..7 and lines (%d lines, %d bad)", nlog, log_bad);
	CHECK_EQ(dropins, 0, "drop-in callbacks never ran");
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	sig_me = getenv("IMSDK_SIG_alice");
	sig_peer = getenv("IMSDK_SIG_bob");
	sig_short = getenv("IMSDK_SIG_SHORT_alice");
	sig_otherapp = getenv("IMSDK_SIG_OTHERAPP_alice");
	server_addr = getenv("IMSDK_SERVER_ADDR");
	log_dir = getenv("IMSDK_TEST_LOGDIR");
	if (!sig_me || !sig_peer || !sig_short || !sig_otherapp || !server_addr || !log_dir) {
		say("FAIL environment: IMSDK_SIG_alice, IMSDK_SIG_bob, IMSDK_SIG_SHORT_alice, IMSDK_SIG_OTHERAPP_alice, "
		    "IMSDK_SERVER_ADDR and IMSDK_TEST_LOGDIR are required");
		say("0 passed, 1 failed");
		return 2;
	}
	make_server_info(server_addr);
	long long t0 = now_ms();

	test_before_init();
	test_init();
	test_not_logged_in();
	test_login();
	test_user_data();
	test_set_self_status();
	test_log();
	test_get_user_status();
	test_subscribe();
	test_threads();
	test_queued();
	test_bad_input();
	test_kick();
	test_rate_limit();
	test_restart();
	test_sig_expiry();
	test_heartbeat_timeout();
	test_logout_link_down();
	test_uninit_pending();
	test_uninit_in_callback();
	test_final_uninit();
	test_every_call();

	say("(%d calls, %.1f s)", n_calls, (double)(now_ms() - t0) / 1000.0);
	for (call_t *c = all_calls, *next; c; c = next) {
		next = c->next;
		free(c->json);
		free(c);
	}
	say("%d passed, %d failed", n_pass, n_fail);
	return n_fail == 0 ? 0 : 1;
}
