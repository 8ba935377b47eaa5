/* lazy.c — the server binary's side of the media stack (stack.h): a trampoline for each entry
 * point, which loads MEDIA_STACK_MODULE from the binary's folder on the first call and jumps to
 * the function of the same name in it.
 *
 * The module is opened RTLD_NOW | RTLD_LOCAL: every symbol it needs (FFmpeg's, and base/,
 * store/, catalog/ … from this binary, which exports exactly those: see CMakeLists.txt) is
 * bound before the first call, so a broken install fails once, whole and with dlerror()'s
 * words, not half-way through an upload; and its own symbols stay out of the global scope,
 * so the trampolines here and the real functions there never get mixed up. All entry points
 * are looked up at load too, and the module must be from this very build (the structs passed
 * across are this build's). Loading happens once (pthread_once); a failure is final until
 * the process restarts. */
#include "media/stack.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "media/analyse.h"
#include "media/art.h"
#include "media/probe.h"
#include "media/tags.h"
#include "stream/live.h"
#include "stream/stream.h"

/* Every entry point: CALL(return type, name, parameters, arguments) for those that fail with
 * -1 and *e (the parameter must be called e), RELEASE(name, parameters, arguments, what to do
 * when the module was never loaded) for those that only free what the stack made. */
#define MEDIA_STACK_ENTRY_POINTS(CALL, RELEASE)                                                         \
	CALL(int, media_probe, (const char *path, struct media_info *out, struct err *e), (path, out, e))      \
	CALL(int, media_probe_known, (const char *path, const char *format, struct media_info *out, struct err *e), \
	     (path, format, out, e))                                                                           \
	CALL(int, media_tags_read, (const char *path, struct media_tags *out, struct err *e), (path, out, e))  \
	CALL(int, media_tags_read_audio, (const char *path, struct media_tags *out, struct err *e),            \
	     (path, out, e))                                                                                   \
	RELEASE(media_tags_release, (struct media_tags *t), (t), memset(t, 0, sizeof(*t)))                     \
	CALL(int, media_analyse,                                                                               \
	     (const char *path, const struct media_analyse_options *opt, struct media_analysis *out, struct err *e), \
	     (path, opt, out, e))                                                                              \
	RELEASE(media_analysis_release, (struct media_analysis *a), (a), memset(a, 0, sizeof(*a)))             \
	CALL(int, media_fingerprint_decode, (const char *text, uint32_t **raw, size_t *len, struct err *e),    \
	     (text, raw, len, e))                                                                              \
	CALL(int, media_art_resize,                                                                            \
	     (const void *data, size_t len, int box, struct buf *out, int *w, int *h, struct err *e),          \
	     (data, len, box, out, w, h, e))                                                                   \
	CALL(int, stream_transcode_path,                                                                       \
	     (struct stream *s, const char *track_id, const char *path, struct stream_analysis *analysis,      \
	      stream_progress_fn progress, void *ud, struct err *e),                                           \
	     (s, track_id, path, analysis, progress, ud, e))                                                   \
	CALL(int, stream_live_open,                                                                            \
	     (struct stream *s, const char *track_id, enum stream_live_format f, int kbps,                     \
	      struct stream_live **out, struct err *e),                                                        \
	     (s, track_id, f, kbps, out, e))                                                                   \
	CALL(ssize_t, stream_live_read, (struct stream_live *l, void *buf, size_t cap, struct err *e),         \
	     (l, buf, cap, e))                                                                                 \
	RELEASE(stream_live_free, (struct stream_live *l), (l), (void)l)

#define POINTER(ret, name, params, args) ret(*name) params;
#define RELEASE_POINTER(name, params, args, unloaded) void(*name) params;
static struct {
	MEDIA_STACK_ENTRY_POINTS(POINTER, RELEASE_POINTER)
} real;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static atomic_bool loaded;

/* Where the module is: the folder of /proc/self/exe, as $ORIGIN would say. */
static int module_path(char *out, size_t cap, struct err *e)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return err_errno(e, ERR_UNAVAILABLE, n < 0 ? errno : ENOENT, "media module: cannot find this binary");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return err_set(e, ERR_UNAVAILABLE, "media module: odd binary path %s", exe);
	slash[1] = '\0';
	if ((size_t)snprintf(out, cap, "%s%s", exe, MEDIA_STACK_MODULE) >= cap)
		return err_set(e, ERR_UNAVAILABLE, "media module: path too long");
	return 0;
}

int media_stack_check(struct err *e)
{
	char path[PATH_MAX];

	if (module_path(path, sizeof(path), e) < 0)
		return -1;
	if (access(path, R_OK) < 0)
		return err_errno(e, ERR_UNAVAILABLE, errno,
				 "media module %s (deploy it next to the binary)", path);
	return 0;
}

/* Point `slot` at the module's `name`. */
static int resolve(void *handle, const char *name, void *slot, size_t size)
{
	void *sym = dlsym(handle, name);

	if (!sym || size != sizeof(sym))
		return -1;
	memcpy(slot, &sym, sizeof(sym)); /* POSIX: a data pointer from dlsym holds a function's address */
	return 0;
}

static void load(void)
{
	struct err e = ERR_INIT;
	char path[PATH_MAX];
	const char *missing = NULL, *build;
	const char *(*init)(void) = NULL;
	void *handle = NULL;
	long long t0 = 0;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (module_path(path, sizeof(path), &e) < 0) {
		log_kv(LOG_ERROR, NULL, "cannot load the media module", LOG_FIELDS(LOG_STR("error", e.msg)));
		return;
	}
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		const char *why = dlerror();
		log_kv(LOG_ERROR, NULL, "cannot load the media module",
		       LOG_FIELDS(LOG_STR("path", path), LOG_STR("error", why ? why : "unknown")));
		return;
	}
#define RESOLVE(ret, name, params, args)                                      \
	if (!missing && resolve(handle, #name, &real.name, sizeof(real.name)) < 0) \
		missing = #name;
#define RESOLVE_RELEASE(name, params, args, unloaded) RESOLVE(void, name, params, args)
	MEDIA_STACK_ENTRY_POINTS(RESOLVE, RESOLVE_RELEASE)
	if (!missing && resolve(handle, "media_stack_init", &init, sizeof(init)) < 0)
		missing = "media_stack_init";
	if (missing) {
		log_kv(LOG_ERROR, NULL, "cannot load the media module: it lacks an entry point",
		       LOG_FIELDS(LOG_STR("path", path), LOG_STR("symbol", missing)));
		dlclose(handle);
		return;
	}
	build = init();
	if (strcmp(build, MEDIA_STACK_BUILD) != 0) {
		/* Its structs may not be ours: using it could corrupt memory. Not closed: it has run. */
		log_kv(LOG_ERROR, NULL, "cannot use the media module: it is from another build",
		       LOG_FIELDS(LOG_STR("path", path), LOG_STR("module", build), LOG_STR("binary", MEDIA_STACK_BUILD)));
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	log_kv(LOG_INFO, NULL, "media module loaded",
	       LOG_FIELDS(LOG_STR("path", path),
			  LOG_INT("ms", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t0)));
	atomic_store_explicit(&loaded, true, memory_order_release);
}

/* Load the module if that has not been tried yet. 0 when it is there; -1 with *e otherwise
 * (the details went to the log when loading failed: paths are not for clients). */
static int media_stack_load(struct err *e)
{
	pthread_once(&load_once, load);
	if (atomic_load_explicit(&loaded, memory_order_acquire))
		return 0;
	return err_set(e, ERR_INTERNAL, "the media module could not be loaded (see the server log)");
}

static void *preload_thread(void *arg)
{
	(void)arg;
	pthread_once(&load_once, load);
	return NULL;
}

void media_stack_preload(void)
{
	pthread_attr_t attr;
	pthread_t t;

	if (atomic_load_explicit(&loaded, memory_order_acquire) || pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	(void)pthread_create(&t, &attr, preload_thread, NULL);
	pthread_attr_destroy(&attr);
}

#define TRAMPOLINE(ret, name, params, args)  \
	ret name params                       \
	{                                     \
		if (media_stack_load(e) < 0)  \
			return -1;            \
		return real.name args;        \
	}
/* A release before the module was ever loaded has nothing of the stack's to free: it does
 * what the real one does to an empty value, and does not load 150 libraries to do it. */
#define RELEASE_TRAMPOLINE(name, params, args, unloaded)                       \
	void name params                                                        \
	{                                                                       \
		if (atomic_load_explicit(&loaded, memory_order_acquire))        \
			real.name args;                                         \
		else                                                            \
			unloaded;                                               \
	}
MEDIA_STACK_ENTRY_POINTS(TRAMPOLINE, RELEASE_TRAMPOLINE)
