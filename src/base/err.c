#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 0)))
static void err_vset(struct err *e, enum err_code code, const char *fmt, va_list ap)
{
	e->code = code;
	if (vsnprintf(e->msg, sizeof(e->msg), fmt, ap) < 0)
		e->msg[0] = '\0';
}

int err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	err_vset(e, code, fmt, ap);
	va_end(ap);
	return -1;
}

int err_errno(struct err *e, enum err_code code, int errnum, const char *fmt, ...)
{
	va_list ap;
	char why[128];
	size_t n;

	if (!e)
		return -1;
	va_start(ap, fmt);
	err_vset(e, code, fmt, ap);
	va_end(ap);
	/* GNU strerror_r may return a static string rather than fill `why`. */
	const char *s = strerror_r(errnum, why, sizeof(why));
	n = strlen(e->msg);
	if (n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", s);
	return -1;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
	char prefix[ERR_MSG_MAX], old[ERR_MSG_MAX];
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	if (vsnprintf(prefix, sizeof(prefix), fmt, ap) < 0)
		prefix[0] = '\0';
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	/* prefix + ": " + old, cut to fit (by hand: snprintf("%s: %s") trips -Wformat-truncation). */
	size_t n = 0, pl = strlen(prefix), ol = strlen(old);
	if (pl > sizeof(e->msg) - 1)
		pl = sizeof(e->msg) - 1;
	memcpy(e->msg, prefix, pl);
	n = pl;
	for (const char *sep = ": "; *sep && n < sizeof(e->msg) - 1; sep++)
		e->msg[n++] = *sep;
	if (ol > sizeof(e->msg) - 1 - n)
		ol = sizeof(e->msg) - 1 - n;
	memcpy(e->msg + n, old, ol);
	e->msg[n + ol] = '\0';
	if (e->code == ERR_NONE)
		e->code = ERR_INTERNAL;
	return -1;
}

void err_clear(struct err *e)
{
	if (!e)
		return;
	e->code = ERR_NONE;
	e->msg[0] = '\0';
}

const char *err_code_name(enum err_code code)
{
	switch (code) {
	case ERR_NONE: return "none";
	case ERR_INVALID: return "invalid";
	case ERR_NOT_FOUND: return "not_found";
	case ERR_CONFLICT: return "conflict";
	case ERR_TOO_LARGE: return "too_large";
	case ERR_RANGE: return "range";
	case ERR_UNAUTHORIZED: return "unauthorized";
	case ERR_FORBIDDEN: return "forbidden";
	case ERR_UNSUPPORTED: return "unsupported";
	case ERR_UNAVAILABLE: return "unavailable";
	case ERR_TIMEOUT: return "timeout";
	case ERR_IO: return "io";
	case ERR_NOMEM: return "nomem";
	case ERR_INTERNAL: return "internal";
	}
	return "unknown";
}
