/* password.c — Argon2id hashing and the password rules (see password.h). */
#include "auth/password.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define SALT_LEN 16
#define HASH_LEN 32

int auth_password_check(const char *pw, size_t len, struct err *e)
{
	if (!pw || len < AUTH_PASSWORD_MIN)
		return err_set(e, ERR_INVALID, "password must be at least %d bytes", AUTH_PASSWORD_MIN);
	if (len > AUTH_PASSWORD_MAX)
		return err_set(e, ERR_INVALID, "password must be at most %d bytes", AUTH_PASSWORD_MAX);
	if (memchr(pw, '\0', len))
		return err_set(e, ERR_INVALID, "password must not contain NUL");
	return 0;
}

int auth_password_hash(const struct auth_argon2 *p, const char *pw, size_t len, char **out, struct err *e)
{
	unsigned char salt[SALT_LEN];
	size_t enclen;
	char *enc;
	int rc;

	*out = NULL;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return err_set(e, ERR_INTERNAL, "random source failed");
	enclen = argon2_encodedlen(p->iterations, p->memory_kib, p->parallelism, SALT_LEN, HASH_LEN, Argon2_id);
	enc = malloc(enclen);
	if (!enc)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = argon2id_hash_encoded(p->iterations, p->memory_kib, p->parallelism, pw, len, salt, SALT_LEN,
				   HASH_LEN, enc, enclen);
	if (rc != ARGON2_OK) {
		free(enc);
		return err_set(e, rc == ARGON2_MEMORY_ALLOCATION_ERROR ? ERR_NOMEM : ERR_INVALID,
			       "argon2id: %s", argon2_error_message(rc));
	}
	*out = enc;
	return 0;
}

/* Standard base64 without padding, as PHC strings (and libargon2's decoder) want it. */
static size_t b64_nopad(char *out, const unsigned char *in, size_t n)
{
	size_t len = (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	while (len && out[len - 1] == '=')
		out[--len] = '\0';
	return len;
}

int auth_password_dummy(const struct auth_argon2 *p, char **out, struct err *e)
{
	unsigned char salt[SALT_LEN], tag[HASH_LEN];
	char salt64[4 * ((SALT_LEN + 2) / 3) + 1], tag64[4 * ((HASH_LEN + 2) / 3) + 1];
	size_t cap;
	char *enc;

	*out = NULL;
	/* libargon2's own limits (argon2.h), checked here because nothing is hashed now (its
	 * maximum memory is past what a uint32_t of KiB can say). */
	if (p->parallelism < ARGON2_MIN_LANES || p->parallelism > ARGON2_MAX_LANES ||
	    p->iterations < ARGON2_MIN_TIME || p->memory_kib < 8 * p->parallelism)
		return err_set(e, ERR_INVALID, "argon2id: parameters out of range (m=%u, t=%u, p=%u)", p->memory_kib,
			       p->iterations, p->parallelism);
	if (RAND_bytes(salt, sizeof(salt)) != 1 || RAND_bytes(tag, sizeof(tag)) != 1)
		return err_set(e, ERR_INTERNAL, "random source failed");
	b64_nopad(salt64, salt, sizeof(salt));
	b64_nopad(tag64, tag, sizeof(tag));
	cap = argon2_encodedlen(p->iterations, p->memory_kib, p->parallelism, SALT_LEN, HASH_LEN, Argon2_id);
	enc = malloc(cap);
	if (!enc)
		return err_set(e, ERR_NOMEM, "out of memory");
	int n = snprintf(enc, cap, "$argon2id$v=%d$m=%u,t=%u,p=%u$%s$%s", ARGON2_VERSION_NUMBER, p->memory_kib,
			 p->iterations, p->parallelism, salt64, tag64);
	if (n < 0 || (size_t)n >= cap) {
		free(enc);
		return err_set(e, ERR_INTERNAL, "argon2id: encoded hash does not fit");
	}
	*out = enc;
	return 0;
}

int auth_password_verify(const char *encoded, const char *pw, size_t len)
{
	if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0)
		return 0;
	return argon2id_verify(encoded, pw, len) == ARGON2_OK ? 1 : 0;
}

bool auth_password_needs_rehash(const struct auth_argon2 *p, const char *encoded)
{
	char want[96];
	int n = snprintf(want, sizeof(want), "$argon2id$v=%d$m=%u,t=%u,p=%u$", ARGON2_VERSION_NUMBER,
			 p->memory_kib, p->iterations, p->parallelism);

	return !encoded || n < 0 || strncmp(encoded, want, (size_t)n) != 0;
}

int auth_password_generate(char *out, size_t cap)
{
	/* No 0/O, 1/l/I: it is read off a terminal and typed. 56 symbols × 24 ≈ 139 bits. */
	static const char alpha[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char r[64];
	size_t n = 0;

	if (cap < 33)
		return -1;
	while (n < 24) {
		if (RAND_bytes(r, sizeof(r)) != 1)
			return -1;
		/* Rejection sampling keeps every symbol equally likely. */
		for (size_t i = 0; i < sizeof(r) && n < 24; i++)
			if (r[i] < 256 - 256 % (sizeof(alpha) - 1))
				out[n++] = alpha[r[i] % (sizeof(alpha) - 1)];
	}
	out[n] = '\0';
	return 0;
}
