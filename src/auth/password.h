/* password.h — Argon2id password hashing (libargon2), and the password rules.
 *
 * Hashing costs tens of milliseconds and argon2_memory KiB of memory by design: call these
 * only on blocking paths (the handler pool, the command line), never on an event loop.
 * Hashes are PHC strings ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash"), so each carries its own
 * parameters and old hashes keep verifying after the configuration changes.
 */
#ifndef TONEARM_AUTH_PASSWORD_H
#define TONEARM_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AUTH_PASSWORD_MIN 10    /* bytes */
#define AUTH_PASSWORD_MAX 1024  /* bytes: bounds the work an attacker can ask for */

/* Defaults are OWASP's minimum recommendation for Argon2id (2023): m = 19 MiB, t = 2, p = 1. */
struct auth_argon2 {
	uint32_t memory_kib;
	uint32_t iterations;
	uint32_t parallelism;
};

/* 0 when `len` bytes of `pw` make an acceptable password (AUTH_PASSWORD_MIN–MAX bytes, no NUL);
 * -1 with ERR_INVALID saying which rule fails. */
int auth_password_check(const char *pw, size_t len, struct err *e);

/* Hash with a fresh 16-byte salt. *out is the PHC string, caller frees. -1 with ERR_INVALID
 * (parameters libargon2 refuses), ERR_NOMEM or ERR_INTERNAL. */
int auth_password_hash(const struct auth_argon2 *p, const char *pw, size_t len, char **out, struct err *e);

/* 1 when `pw` matches `encoded`, 0 when it does not or `encoded` is not an Argon2id hash.
 * The comparison inside libargon2 is constant-time. */
int auth_password_verify(const char *encoded, const char *pw, size_t len);

/* A PHC string with parameters `p`, a random salt and a random tag, which no password matches
 * (a 256-bit tag: the chance is 2^-256) but which costs auth_password_verify() exactly what a
 * real hash with `p` costs: verification recomputes Argon2id with the parameters in the string.
 * Sign-in verifies against it when the name is unknown, so timing does not tell names apart;
 * building it costs no hash (it used to be the hash of a random password: one more Argon2id
 * run on every start). *out is caller-freed. -1 with ERR_INVALID (parameters libargon2 would
 * refuse), ERR_NOMEM or ERR_INTERNAL (random source). */
int auth_password_dummy(const struct auth_argon2 *p, char **out, struct err *e);

/* True when `encoded` was made with parameters other than `p` (so sign-in should re-hash). */
bool auth_password_needs_rehash(const struct auth_argon2 *p, const char *encoded);

/* Fill `out` (cap bytes, at least 33) with a random password of 24 characters from an
 * unambiguous alphabet. -1 if the random source fails. */
int auth_password_generate(char *out, size_t cap);

#endif
