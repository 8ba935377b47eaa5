/* err.h — error values threaded through every call.
 *
 * A function that can fail returns -1 (or NULL) and fills a caller-provided struct err with
 * a code and a human-readable message; on success it leaves the struct alone. The code says
 * what kind of failure it is (not found, invalid input, backend unavailable …); http/ turns it
 * into an HTTP status and an application/problem+json body in exactly one place
 * (http_res_err). Messages are safe to show to a client: never put a secret in one.
 */
#ifndef TONEARM_BASE_ERR_H
#define TONEARM_BASE_ERR_H

#include <stddef.h>

enum err_code {
	ERR_NONE = 0,
	ERR_INVALID,      /* the input is malformed or breaks a rule (400/422) */
	ERR_NOT_FOUND,    /* no such thing (404) */
	ERR_CONFLICT,     /* exists already, or a concurrent change won (409) */
	ERR_TOO_LARGE,    /* over a size limit (413) */
	ERR_RANGE,        /* a byte range that cannot be satisfied (416) */
	ERR_UNAUTHORIZED, /* no or bad credentials (401) */
	ERR_FORBIDDEN,    /* credentials fine, not allowed (403) */
	ERR_UNSUPPORTED,  /* the backend or format does not do this (501/415) */
	ERR_UNAVAILABLE,  /* a backend (database, store) cannot be reached (503) */
	ERR_TIMEOUT,      /* gave up waiting (504) */
	ERR_IO,           /* a read or write failed (500) */
	ERR_NOMEM,        /* allocation failed (500) */
	ERR_INTERNAL,     /* a bug or an unexpected state (500) */
};

#define ERR_MSG_MAX 256

struct err {
	enum err_code code;
	char msg[ERR_MSG_MAX];
};

#define ERR_INIT { ERR_NONE, { 0 } }

/* Fill *e (which may be NULL) with code and a printf-style message, truncated to fit.
 * Always returns -1 so that `return err_set(e, ERR_INVALID, "…");` reads naturally. */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like err_set, with the message of errno value `errnum` appended (": No such file…"). */
int err_errno(struct err *e, enum err_code code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix the existing message with context: "opening store: <old message>". Returns -1. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void err_clear(struct err *e);

/* A stable lower-case name for the code ("not_found"), used in logs and problem types. */
const char *err_code_name(enum err_code code);

#endif
