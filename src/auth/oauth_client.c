/* oauth_client.c — registered OAuth clients: creation, lookup, deletion, authentication, and
 * the Basic credentials parser (see oauth.h). */
#include "auth/oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/b64url.h"
#include "auth/internal.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/utf8.h"

#define INVALID_CLIENT "invalid client credentials"

static const struct {
	const char *name;
	unsigned bit;
} grant_names[] = {
	{ "authorization_code", OAUTH_GRANT_CODE },
	{ "refresh_token", OAUTH_GRANT_REFRESH },
	{ "client_credentials", OAUTH_GRANT_CLIENT_CREDENTIALS },
};

const char *oauth_error_name(enum oauth_error oe)
{
	static const char *const names[] = {
		[OAUTH_OK] = "ok",
		[OAUTH_INVALID_REQUEST] = "invalid_request",
		[OAUTH_INVALID_CLIENT] = "invalid_client",
		[OAUTH_INVALID_GRANT] = "invalid_grant",
		[OAUTH_UNAUTHORIZED_CLIENT] = "unauthorized_client",
		[OAUTH_UNSUPPORTED_GRANT_TYPE] = "unsupported_grant_type",
		[OAUTH_UNSUPPORTED_RESPONSE_TYPE] = "unsupported_response_type",
		[OAUTH_INVALID_SCOPE] = "invalid_scope",
		[OAUTH_ACCESS_DENIED] = "access_denied",
		[OAUTH_SERVER_ERROR] = "server_error",
	};

	if ((unsigned)oe >= sizeof(names) / sizeof(names[0]))
		return "server_error";
	return names[oe];
}

int oauth_grant_parse(const char *name, unsigned *bit, struct err *e)
{
	for (size_t i = 0; name && i < sizeof(grant_names) / sizeof(grant_names[0]); i++) {
		if (strcmp(name, grant_names[i].name) == 0) {
			*bit = grant_names[i].bit;
			return 0;
		}
	}
	return err_set(e, ERR_INVALID, "grant_types: each must be authorization_code, refresh_token or client_credentials");
}

int oauth_grants_format(unsigned grants, struct buf *out)
{
	bool first = true;

	for (size_t i = 0; i < sizeof(grant_names) / sizeof(grant_names[0]); i++) {
		if (!(grants & grant_names[i].bit))
			continue;
		if ((!first && buf_addch(out, ' ') < 0) || buf_adds(out, grant_names[i].name) < 0)
			return -1;
		first = false;
	}
	return buf_adds(out, "");
}

/* A redirect URI we accept at registration: absolute http or https, no fragment (RFC 6749
 * §3.1.2), printable ASCII only (it is compared byte for byte and echoed in Location). */
static bool redirect_ok(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n > OAUTH_URI_MAX || strchr(u, '#'))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return false;
	return strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
}

/* The client's scope normalized: every known scope when NULL. */
static int scope_normalize(const char *in, char *out, size_t cap, struct err *e)
{
	struct buf b = BUF_INIT;
	unsigned perms = AUTH_PERM_ALL;
	int ret = -1;

	if (in && auth_scope_parse(in, &perms, e) < 0)
		goto out;
	if (auth_scope_format(perms, &b) < 0 || b.len >= cap) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(out, buf_str(&b), b.len + 1);
	ret = 0;
out:
	buf_release(&b);
	return ret;
}

int oauth_client_create(struct auth *a, const struct oauth_client_input *in, struct oauth_client *out,
			char *secret, struct err *e)
{
	struct oauth_client cl;
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	struct buf grants = BUF_INIT;
	json_t *uris = NULL;
	char *uris_s = NULL;
	unsigned char raw[32], hash[32];
	int ret = -1;

	memset(&cl, 0, sizeof(cl));
	secret[0] = '\0';
	if (!in->name || !in->name[0] || strlen(in->name) > OAUTH_NAME_MAX || !utf8_valid(in->name, strlen(in->name)))
		return err_set(e, ERR_INVALID, "name: 1 to %d bytes of UTF-8", OAUTH_NAME_MAX);
	if (in->type != OAUTH_CLIENT_PUBLIC && in->type != OAUTH_CLIENT_CONFIDENTIAL)
		return err_set(e, ERR_INVALID, "type must be public or confidential");
	cl.grants = in->grants ? in->grants : OAUTH_GRANT_CODE | OAUTH_GRANT_REFRESH;
	if ((cl.grants & OAUTH_GRANT_CLIENT_CREDENTIALS) && in->type == OAUTH_CLIENT_PUBLIC)
		return err_set(e, ERR_INVALID, "grant_types: client_credentials needs a confidential client");
	if ((cl.grants & OAUTH_GRANT_CODE) && in->nredirect == 0)
		return err_set(e, ERR_INVALID, "redirect_uris: the authorization_code grant needs at least one");
	if (in->nredirect > OAUTH_REDIRECT_MAX)
		return err_set(e, ERR_INVALID, "redirect_uris: at most %d", OAUTH_REDIRECT_MAX);
	if (scope_normalize(in->scope, cl.scope, sizeof(cl.scope), e) < 0)
		return -1;
	if (!(uris = json_array())) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < in->nredirect; i++) {
		if (!in->redirect[i] || !redirect_ok(in->redirect[i])) {
			err_set(e, ERR_INVALID, "redirect_uris: each must be an absolute http(s) URI without fragment");
			goto out;
		}
		snprintf(cl.redirect[i], sizeof(cl.redirect[i]), "%s", in->redirect[i]);
		if (json_array_append_new(uris, json_string(in->redirect[i])) < 0) {
			err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	cl.nredirect = in->nredirect;
	id_new(cl.id);
	snprintf(cl.name, sizeof(cl.name), "%s", in->name);
	cl.type = in->type;
	cl.created_at = clock_now_ms();
	if (in->created_by)
		snprintf(cl.created_by, sizeof(cl.created_by), "%s", in->created_by);
	if (!(uris_s = json_dumps(uris, JSON_COMPACT)) || oauth_grants_format(cl.grants, &grants) < 0) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (cl.type == OAUTH_CLIENT_CONFIDENTIAL) {
		if (RAND_bytes(raw, sizeof(raw)) != 1) {
			err_set(e, ERR_INTERNAL, "random source failed");
			goto out;
		}
		b64url_encode(raw, sizeof(raw), secret, OAUTH_SECRET_LEN + 1);
		OPENSSL_cleanse(raw, sizeof(raw));
		auth_secret_hash(secret, hash);
	}
	if (!(c = db_acquire(a->db, e)))
		goto out;
	s = db_prepare(c, "INSERT INTO oauth_clients (id, name, type, secret_hash, redirect_uris, grant_types, scope, "
			  "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", e);
	if (!s || db_bind_str(s, 1, cl.id) < 0 || db_bind_str(s, 2, cl.name) < 0 ||
	    db_bind_str(s, 3, cl.type == OAUTH_CLIENT_PUBLIC ? "public" : "confidential") < 0 ||
	    (cl.type == OAUTH_CLIENT_CONFIDENTIAL ? db_bind_blob(s, 4, hash, sizeof(hash)) : db_bind_null(s, 4)) < 0 ||
	    db_bind_str(s, 5, uris_s) < 0 || db_bind_str(s, 6, buf_str(&grants)) < 0 || db_bind_str(s, 7, cl.scope) < 0 ||
	    db_bind_str(s, 8, in->created_by) < 0 || db_bind_int(s, 9, cl.created_at) < 0 || db_step(s, e) < 0)
		goto out;
	auth_audit(a, "oauth_client_created", in->created_by, NULL, cl.id);
	if (out)
		*out = cl;
	ret = 0;
out:
	if (ret < 0)
		OPENSSL_cleanse(secret, OAUTH_SECRET_LEN + 1);
	db_finalize(s);
	db_release(c);
	buf_release(&grants);
	free(uris_s);
	json_decref(uris);
	return ret;
}

#define CLIENT_COLS "id, name, type, redirect_uris, grant_types, scope, created_by, created_at, secret_hash"

/* Fill *out from a row of CLIENT_COLS; `hash` (may be NULL) gets the secret's hash, *has_hash
 * whether there is one. */
static int read_client(struct db_stmt *s, struct oauth_client *out, unsigned char *hash, bool *has_hash,
		       struct err *e)
{
	json_t *uris;
	const char *g = db_col_text(s, 4) ? db_col_text(s, 4) : "";
	const void *h;
	size_t hl = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", db_col_text(s, 0) ? db_col_text(s, 0) : "");
	snprintf(out->name, sizeof(out->name), "%s", db_col_text(s, 1) ? db_col_text(s, 1) : "");
	out->type = db_col_text(s, 2) && strcmp(db_col_text(s, 2), "confidential") == 0 ? OAUTH_CLIENT_CONFIDENTIAL
											    : OAUTH_CLIENT_PUBLIC;
	snprintf(out->scope, sizeof(out->scope), "%s", db_col_text(s, 5) ? db_col_text(s, 5) : "");
	snprintf(out->created_by, sizeof(out->created_by), "%s", db_col_text(s, 6) ? db_col_text(s, 6) : "");
	out->created_at = db_col_int(s, 7);
	for (size_t i = 0; i < sizeof(grant_names) / sizeof(grant_names[0]); i++) {
		size_t n = strlen(grant_names[i].name);

		for (const char *p = g; (p = strstr(p, grant_names[i].name)); p += n)
			if ((p == g || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
				out->grants |= grant_names[i].bit;
	}
	uris = json_loads(db_col_text(s, 3) ? db_col_text(s, 3) : "[]", 0, NULL);
	if (!json_is_array(uris)) {
		json_decref(uris);
		return err_set(e, ERR_INTERNAL, "oauth_clients.redirect_uris is not a JSON array");
	}
	for (size_t i = 0; i < json_array_size(uris) && i < OAUTH_REDIRECT_MAX; i++) {
		const char *u = json_string_value(json_array_get(uris, i));

		snprintf(out->redirect[out->nredirect++], OAUTH_URI_MAX + 1, "%s", u ? u : "");
	}
	json_decref(uris);
	h = db_col_blob(s, 8, &hl);
	if (has_hash)
		*has_hash = h && hl == 32;
	if (hash && h && hl == 32)
		memcpy(hash, h, 32);
	return 0;
}

static int client_load(struct auth *a, const char *id, struct oauth_client *out, unsigned char *hash, bool *has_hash,
		       struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int ret = -1, rc;

	if (!id || !id_valid(id))
		return err_set(e, ERR_NOT_FOUND, "no such client");
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "SELECT " CLIENT_COLS " FROM oauth_clients WHERE id = $1", e);
	if (!s || db_bind_str(s, 1, id) < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	if (rc == 0) {
		err_set(e, ERR_NOT_FOUND, "no such client");
		goto out;
	}
	ret = read_client(s, out, hash, has_hash, e);
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int oauth_client_get(struct auth *a, const char *id, struct oauth_client *out, struct err *e)
{
	return client_load(a, id, out, NULL, NULL, e);
}

int oauth_client_list(struct auth *a, struct oauth_client **out, size_t *n, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	struct oauth_client *items = NULL;
	size_t cap = 0;
	int ret = -1, rc;

	*out = NULL;
	*n = 0;
	if (!(c = db_acquire(a->db, e)))
		return -1;
	if (!(s = db_prepare(c, "SELECT " CLIENT_COLS " FROM oauth_clients ORDER BY id LIMIT 1000", e)))
		goto out;
	while ((rc = db_step(s, e)) == 1) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct oauth_client *x = realloc(items, ncap * sizeof(*x));

			if (!x) {
				err_set(e, ERR_NOMEM, "out of memory");
				goto out;
			}
			items = x;
			cap = ncap;
		}
		if (read_client(s, &items[*n], NULL, NULL, e) < 0)
			goto out;
		(*n)++;
	}
	if (rc < 0)
		goto out;
	*out = items;
	items = NULL;
	ret = 0;
out:
	if (ret < 0)
		*n = 0;
	free(items);
	db_finalize(s);
	db_release(c);
	return ret;
}

int oauth_client_delete(struct auth *a, const char *id, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int64_t changed;
	int ret = -1;

	if (!id || !id_valid(id))
		return err_set(e, ERR_NOT_FOUND, "no such client");
	if (!(c = db_acquire(a->db, e)))
		return -1;
	if (db_begin(c, e) < 0)
		goto out;
	s = db_prepare(c, "UPDATE sessions SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL", e);
	if (!s || db_bind_str(s, 1, id) < 0 || db_bind_int(s, 2, clock_now_ms()) < 0 || db_step(s, e) < 0)
		goto out;
	db_finalize(s);
	/* Requests and codes go with the client (ON DELETE CASCADE), but SQLite enforces foreign
	 * keys only when asked: delete them explicitly so both backends agree. */
	s = db_prepare(c, "DELETE FROM oauth_requests WHERE client_id = $1", e);
	if (!s || db_bind_str(s, 1, id) < 0 || db_step(s, e) < 0)
		goto out;
	db_finalize(s);
	s = db_prepare(c, "DELETE FROM oauth_codes WHERE client_id = $1", e);
	if (!s || db_bind_str(s, 1, id) < 0 || db_step(s, e) < 0)
		goto out;
	db_finalize(s);
	s = db_prepare(c, "DELETE FROM oauth_clients WHERE id = $1", e);
	if (!s || db_bind_str(s, 1, id) < 0 || db_step(s, e) < 0)
		goto out;
	changed = db_changes(s);
	db_finalize(s);
	s = NULL;
	if (changed == 0) {
		db_rollback(c, NULL);
		err_set(e, ERR_NOT_FOUND, "no such client");
		goto out;
	}
	if (db_commit(c, e) < 0)
		goto out;
	auth_audit(a, "oauth_client_deleted", NULL, NULL, id);
	ret = 0;
out:
	db_finalize(s);
	if (ret < 0 && db_in_transaction(c))
		db_rollback(c, NULL);
	db_release(c);
	return ret;
}

int oauth_client_authenticate(struct auth *a, const char *id, const char *secret, struct oauth_client *out,
			      enum oauth_error *oe, struct err *e)
{
	unsigned char stored[32], given[32];
	bool has_hash = false;
	struct err le = ERR_INIT;

	*oe = OAUTH_INVALID_CLIENT;
	if (client_load(a, id, out, stored, &has_hash, &le) < 0) {
		if (le.code != ERR_NOT_FOUND) {
			*oe = OAUTH_SERVER_ERROR;
			*e = le;
			return -1;
		}
		return err_set(e, ERR_UNAUTHORIZED, INVALID_CLIENT);
	}
	if (out->type == OAUTH_CLIENT_PUBLIC) {
		if (secret && secret[0])
			return err_set(e, ERR_UNAUTHORIZED, INVALID_CLIENT);
		*oe = OAUTH_OK;
		return 0;
	}
	if (!secret || !has_hash || strlen(secret) != OAUTH_SECRET_LEN)
		return err_set(e, ERR_UNAUTHORIZED, INVALID_CLIENT);
	auth_secret_hash(secret, given);
	if (CRYPTO_memcmp(stored, given, sizeof(given)) != 0)
		return err_set(e, ERR_UNAUTHORIZED, INVALID_CLIENT);
	*oe = OAUTH_OK;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Form-decode `len` bytes of `src` ('+' is a space, %XX a byte) into dst (cap bytes),
 * NUL-terminated; -1 on a malformed escape, a NUL, or when it does not fit. */
static int form_decode(const char *src, size_t len, char *dst, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)src[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= len || (hi = hexval(src[i + 1])) < 0 || (lo = hexval(src[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0 || o + 1 >= cap)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

int oauth_basic_parse(const char *header, char *id, size_t id_cap, char *secret, size_t secret_cap)
{
	unsigned char dec[512];
	const char *b64, *colon;
	size_t n;
	int dn;

	if (!header || strncasecmp(header, "Basic ", 6) != 0 || id_cap == 0 || secret_cap == 0)
		return -1;
	b64 = header + 6;
	while (*b64 == ' ')
		b64++;
	n = strlen(b64);
	while (n && b64[n - 1] == ' ')
		n--;
	/* 4 base64 characters make 3 bytes: refuse what could not fit before decoding. */
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof(dec) - 1)
		return -1;
	if ((dn = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)n)) < 0)
		return -1;
	/* EVP_DecodeBlock counts padding as zero bytes: take them back off. */
	if (b64[n - 1] == '=')
		dn--;
	if (n >= 2 && b64[n - 2] == '=')
		dn--;
	if (dn <= 0)
		return -1;
	if (!(colon = memchr(dec, ':', (size_t)dn)))
		return -1;
	if (form_decode((const char *)dec, (size_t)(colon - (const char *)dec), id, id_cap) < 0 ||
	    form_decode(colon + 1, (size_t)dn - (size_t)(colon - (const char *)dec) - 1, secret, secret_cap) < 0) {
		OPENSSL_cleanse(dec, sizeof(dec));
		return -1;
	}
	OPENSSL_cleanse(dec, sizeof(dec));
	return 0;
}
