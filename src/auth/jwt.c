/* jwt.c — ES256 JWTs: the keyring, signing and verification (see jwt.h). */
#include "auth/jwt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "auth/b64url.h"
#include "base/json.h"

#define COORD_B64 44  /* a 32-byte coordinate in base64url (43) and its NUL */

struct key {
	char kid[AUTH_KID_MAX + 1];
	EVP_PKEY *pkey;
	int64_t valid_until_ms;
	bool current;
	char x[COORD_B64], y[COORD_B64];
};

struct auth_keyring {
	pthread_rwlock_t lock;
	struct key *keys;
	size_t nkeys;
	char *issuer;
	_Atomic uint64_t gen; /* bumped when keys go (auth_keyring_gen) */
};

static void keys_free(struct key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		EVP_PKEY_free(keys[i].pkey);
	free(keys);
}

struct auth_keyring *auth_keyring_new(const char *issuer, struct err *e)
{
	struct auth_keyring *kr = calloc(1, sizeof(*kr));

	if (!kr || !(kr->issuer = strdup(issuer ? issuer : ""))) {
		free(kr);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_rwlock_init(&kr->lock, NULL);
	atomic_init(&kr->gen, 1);
	return kr;
}

void auth_keyring_free(struct auth_keyring *kr)
{
	if (!kr)
		return;
	keys_free(kr->keys, kr->nkeys);
	pthread_rwlock_destroy(&kr->lock);
	free(kr->issuer);
	free(kr);
}

/* The public point's coordinates, each as 32 big-endian bytes in base64url. */
static int public_coords(EVP_PKEY *pkey, char x[COORD_B64], char y[COORD_B64])
{
	BIGNUM *bx = NULL, *by = NULL;
	unsigned char bin[32];
	int ret = -1;

	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by))
		goto out;
	if (BN_bn2binpad(bx, bin, 32) != 32 || b64url_encode(bin, 32, x, COORD_B64) < 0)
		goto out;
	if (BN_bn2binpad(by, bin, 32) != 32 || b64url_encode(bin, 32, y, COORD_B64) < 0)
		goto out;
	ret = 0;
out:
	BN_free(bx);
	BN_free(by);
	return ret;
}

static bool is_p256(EVP_PKEY *pkey)
{
	char group[32];

	return EVP_PKEY_base_id(pkey) == EVP_PKEY_EC &&
	       EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) &&
	       strcmp(group, "prime256v1") == 0;
}

static EVP_PKEY *pem_to_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (pkey && !is_p256(pkey)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	return pkey;
}

/* Whether a token the old keys verified may fail with the new ones: a key went, or verifies for
 * less long. Only then does the generation change (a reload every few seconds that finds the
 * same keys, or a rotation that adds one, keeps what was verified). */
static bool keys_narrowed(const struct key *old, size_t nold, const struct key *keys, size_t n)
{
	for (size_t i = 0; i < nold; i++) {
		size_t j = 0;

		while (j < n && strcmp(old[i].kid, keys[j].kid) != 0)
			j++;
		if (j == n || keys[j].valid_until_ms < old[i].valid_until_ms)
			return true;
	}
	return false;
}

int auth_keyring_set(struct auth_keyring *kr, const struct auth_key_spec *specs, size_t n, struct err *e)
{
	struct key *keys = n ? calloc(n, sizeof(*keys)) : NULL, *old;
	size_t nold, ncurrent = 0;
	int ret = -1;

	if (n && !keys)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t klen = specs[i].kid ? strlen(specs[i].kid) : 0;

		if (klen == 0 || klen > AUTH_KID_MAX) {
			err_set(e, ERR_INVALID, "signing key %zu: bad kid", i);
			goto out;
		}
		memcpy(keys[i].kid, specs[i].kid, klen + 1);
		keys[i].pkey = pem_to_key(specs[i].private_pem);
		if (!keys[i].pkey || public_coords(keys[i].pkey, keys[i].x, keys[i].y) < 0) {
			err_set(e, ERR_INVALID, "signing key %s: not a P-256 private key", keys[i].kid);
			goto out;
		}
		keys[i].valid_until_ms = specs[i].valid_until_ms;
		keys[i].current = specs[i].current;
		ncurrent += specs[i].current;
	}
	if (ncurrent > 1) {
		err_set(e, ERR_INVALID, "more than one current signing key");
		goto out;
	}
	pthread_rwlock_wrlock(&kr->lock);
	old = kr->keys;
	nold = kr->nkeys;
	kr->keys = keys;
	kr->nkeys = n;
	if (keys_narrowed(old, nold, keys, n))
		atomic_fetch_add(&kr->gen, 1);
	pthread_rwlock_unlock(&kr->lock);
	keys = old;
	n = nold;
	ret = 0;
out:
	keys_free(keys, n);
	return ret;
}

size_t auth_keyring_count(struct auth_keyring *kr)
{
	size_t n;

	pthread_rwlock_rdlock(&kr->lock);
	n = kr->nkeys;
	pthread_rwlock_unlock(&kr->lock);
	return n;
}

bool auth_keyring_can_sign(struct auth_keyring *kr)
{
	bool yes = false;

	pthread_rwlock_rdlock(&kr->lock);
	for (size_t i = 0; i < kr->nkeys; i++)
		yes |= kr->keys[i].current;
	pthread_rwlock_unlock(&kr->lock);
	return yes;
}

int auth_key_generate(char **pem, char kid[AUTH_KID_MAX + 1], struct err *e)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *bio = NULL;
	char x[COORD_B64], y[COORD_B64], thumb_in[160];
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char *data;
	long len;
	int ret = -1;

	*pem = NULL;
	if (!pkey || public_coords(pkey, x, y) < 0 || !(bio = BIO_new(BIO_s_mem())) ||
	    !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
		err_set(e, ERR_INTERNAL, "cannot generate a P-256 key");
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || !(*pem = malloc((size_t)len + 1))) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*pem, data, (size_t)len);
	(*pem)[len] = '\0';
	/* RFC 7638: the thumbprint hashes the required members in lexicographic order. */
	snprintf(thumb_in, sizeof(thumb_in), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	SHA256((const unsigned char *)thumb_in, strlen(thumb_in), digest);
	b64url_encode(digest, sizeof(digest), kid, AUTH_KID_MAX + 1);
	ret = 0;
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return ret;
}

/* ---- signing ---- */

static char *b64_of(const void *data, size_t n)
{
	char *out = malloc(B64URL_LEN(n) + 1);

	if (out)
		b64url_encode(data, n, out, B64URL_LEN(n) + 1);
	return out;
}

/* DER ECDSA signature → JOSE's fixed-size R||S. */
static int der_to_raw(const unsigned char *der, size_t len, unsigned char raw[64])
{
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &der, (long)len);
	int ok = sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) == 32 &&
		 BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) == 32;

	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

int auth_jwt_sign(struct auth_keyring *kr, const struct auth_claims *c, char **out, struct err *e)
{
	json_t *hdr = NULL, *pl = NULL;
	char *hs = NULL, *ps = NULL, *h64 = NULL, *p64 = NULL, *tok = NULL;
	unsigned char der[80], raw[64];
	size_t derlen = sizeof(der), hl, pln;
	EVP_MD_CTX *md = NULL;
	struct key *k = NULL;
	int ret = -1;

	*out = NULL;
	pthread_rwlock_rdlock(&kr->lock);
	for (size_t i = 0; i < kr->nkeys; i++)
		if (kr->keys[i].current)
			k = &kr->keys[i];
	if (!k) {
		err_set(e, ERR_UNAVAILABLE, "no current signing key");
		goto out;
	}
	hdr = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "JWT", "kid", k->kid);
	pl = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", kr->issuer, "aud",
		       AUTH_JWT_AUDIENCE, "sub", c->sub, "role", c->role, "scope", c->scope, "iat",
		       (json_int_t)c->iat, "nbf", (json_int_t)c->nbf, "exp", (json_int_t)c->exp, "jti", c->jti);
	if (!hdr || !pl || (c->sid[0] && json_object_set_new(pl, "sid", json_string(c->sid)) < 0))
		goto nomem;
	hs = json_dumps(hdr, JSON_COMPACT);
	ps = json_dumps(pl, JSON_COMPACT);
	if (!hs || !ps || !(h64 = b64_of(hs, strlen(hs))) || !(p64 = b64_of(ps, strlen(ps))))
		goto nomem;
	hl = strlen(h64);
	pln = strlen(p64);
	tok = malloc(hl + 1 + pln + 1 + B64URL_LEN(64) + 1);
	if (!tok)
		goto nomem;
	memcpy(tok, h64, hl);
	tok[hl] = '.';
	memcpy(tok + hl + 1, p64, pln);
	tok[hl + 1 + pln] = '\0';
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, der, &derlen, (const unsigned char *)tok, hl + 1 + pln) != 1 ||
	    der_to_raw(der, derlen, raw) < 0) {
		err_set(e, ERR_INTERNAL, "cannot sign the token");
		goto out;
	}
	tok[hl + 1 + pln] = '.';
	b64url_encode(raw, 64, tok + hl + 2 + pln, B64URL_LEN(64) + 1);
	*out = tok;
	tok = NULL;
	ret = 0;
	goto out;
nomem:
	err_set(e, ERR_NOMEM, "out of memory");
out:
	pthread_rwlock_unlock(&kr->lock);
	EVP_MD_CTX_free(md);
	json_decref(hdr);
	json_decref(pl);
	free(hs);
	free(ps);
	free(h64);
	free(p64);
	free(tok);
	return ret;
}

/* ---- verification ---- */

static int refuse(struct err *e, const char *why)
{
	return err_set(e, ERR_UNAUTHORIZED, "invalid token: %s", why);
}

/* Decode one base64url segment and parse it as a strict JSON object. */
static json_t *segment_json(const char *s, size_t len, struct err *e)
{
	unsigned char raw[AUTH_JWT_MAX];
	long n = b64url_decode(s, len, raw, sizeof(raw));
	json_t *j;
	struct err pe = ERR_INIT;

	if (n <= 0) {
		refuse(e, "malformed base64url");
		return NULL;
	}
	j = tjson_parse_strict(raw, (size_t)n, 4, &pe);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		refuse(e, "malformed JSON");
		return NULL;
	}
	return j;
}

/* Copy a string claim; absent is "" unless required. -1 when of the wrong type or too long. */
static int claim_str(json_t *obj, const char *key, bool required, char *out, size_t cap)
{
	json_t *v = json_object_get(obj, key);

	out[0] = '\0';
	if (!v)
		return required ? -1 : 0;
	if (!json_is_string(v) || json_string_length(v) >= cap || json_string_length(v) != strlen(json_string_value(v)))
		return -1;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int claim_int(json_t *obj, const char *key, bool required, int64_t *out)
{
	json_t *v = json_object_get(obj, key);

	*out = 0;
	if (!v)
		return required ? -1 : 0;
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static bool audience_ok(json_t *aud)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), AUTH_JWT_AUDIENCE) == 0;
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), AUTH_JWT_AUDIENCE) == 0)
			return true;
	return false;
}

static int check_times(const struct auth_claims *c, int64_t now, struct err *e)
{
	if (now - AUTH_JWT_LEEWAY >= c->exp)
		return refuse(e, "expired");
	if (c->nbf && now + AUTH_JWT_LEEWAY < c->nbf)
		return refuse(e, "not yet valid");
	if (now + AUTH_JWT_LEEWAY < c->iat)
		return refuse(e, "issued in the future");
	return 0;
}

static bool signature_ok(EVP_PKEY *pkey, const char *input, size_t len, const unsigned char raw[64])
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
	unsigned char *der = NULL;
	EVP_MD_CTX *md = NULL;
	int derlen;
	bool ok = false;

	if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	derlen = i2d_ECDSA_SIG(sig, &der);
	md = EVP_MD_CTX_new();
	ok = derlen > 0 && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	     EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)input, len) == 1;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	return ok;
}

/* The checks on the signed parts, under the keyring's read lock. */
static int verify_locked(struct auth_keyring *kr, const char *token, size_t len, const char *d1,
			 const char *d2, int64_t now, struct auth_claims *c, struct err *e)
{
	json_t *hdr = NULL, *pl = NULL, *v;
	unsigned char raw[66];
	struct key *k = NULL;
	char iss[256];
	int ret = -1;

	if (!(hdr = segment_json(token, (size_t)(d1 - token), e)))
		goto out;
	v = json_object_get(hdr, "alg");
	if (!json_is_string(v) || strcmp(json_string_value(v), "ES256") != 0) {
		refuse(e, "algorithm not allowed");
		goto out;
	}
	if (json_object_get(hdr, "crit")) {
		refuse(e, "unsupported critical header");
		goto out;
	}
	v = json_object_get(hdr, "typ");
	if (v && (!json_is_string(v) || (strcasecmp(json_string_value(v), "JWT") != 0 &&
					  strcasecmp(json_string_value(v), "at+jwt") != 0))) {
		refuse(e, "wrong type");
		goto out;
	}
	if (claim_str(hdr, "kid", true, c->kid, sizeof(c->kid)) < 0) {
		refuse(e, "no key id");
		goto out;
	}
	for (size_t i = 0; i < kr->nkeys && !k; i++)
		if (strcmp(kr->keys[i].kid, c->kid) == 0)
			k = &kr->keys[i];
	if (!k || now * 1000 > k->valid_until_ms) {
		refuse(e, "unknown key");
		goto out;
	}
	if (b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), raw, sizeof(raw)) != 64) {
		refuse(e, "malformed signature");
		goto out;
	}
	if (!signature_ok(k->pkey, token, (size_t)(d2 - token), raw)) {
		refuse(e, "bad signature");
		goto out;
	}
	if (!(pl = segment_json(d1 + 1, (size_t)(d2 - d1 - 1), e)))
		goto out;
	if (claim_str(pl, "iss", true, iss, sizeof(iss)) < 0 || strcmp(iss, kr->issuer) != 0) {
		refuse(e, "wrong issuer");
		goto out;
	}
	if (!audience_ok(json_object_get(pl, "aud"))) {
		refuse(e, "wrong audience");
		goto out;
	}
	if (claim_str(pl, "sub", true, c->sub, sizeof(c->sub)) < 0 || !c->sub[0] ||
	    claim_str(pl, "sid", false, c->sid, sizeof(c->sid)) < 0 ||
	    claim_str(pl, "jti", false, c->jti, sizeof(c->jti)) < 0 ||
	    claim_str(pl, "role", false, c->role, sizeof(c->role)) < 0 ||
	    claim_str(pl, "scope", false, c->scope, sizeof(c->scope)) < 0 ||
	    claim_int(pl, "exp", true, &c->exp) < 0 || claim_int(pl, "iat", true, &c->iat) < 0 ||
	    claim_int(pl, "nbf", false, &c->nbf) < 0) {
		refuse(e, "malformed claims");
		goto out;
	}
	ret = check_times(c, now, e);
out:
	json_decref(hdr);
	json_decref(pl);
	return ret;
}

/* Bytes a compact JWS may hold: base64url and the two dots. A table: a token is ≈ 600 bytes. */
static const bool jws_byte[256] = {
	['-'] = true, ['_'] = true, ['.'] = true,
	['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true, ['5'] = true, ['6'] = true,
	['7'] = true, ['8'] = true, ['9'] = true,
	['A'] = true, ['B'] = true, ['C'] = true, ['D'] = true, ['E'] = true, ['F'] = true, ['G'] = true,
	['H'] = true, ['I'] = true, ['J'] = true, ['K'] = true, ['L'] = true, ['M'] = true, ['N'] = true,
	['O'] = true, ['P'] = true, ['Q'] = true, ['R'] = true, ['S'] = true, ['T'] = true, ['U'] = true,
	['V'] = true, ['W'] = true, ['X'] = true, ['Y'] = true, ['Z'] = true,
	['a'] = true, ['b'] = true, ['c'] = true, ['d'] = true, ['e'] = true, ['f'] = true, ['g'] = true,
	['h'] = true, ['i'] = true, ['j'] = true, ['k'] = true, ['l'] = true, ['m'] = true, ['n'] = true,
	['o'] = true, ['p'] = true, ['q'] = true, ['r'] = true, ['s'] = true, ['t'] = true, ['u'] = true,
	['v'] = true, ['w'] = true, ['x'] = true, ['y'] = true, ['z'] = true,
};

static bool b64url_chars(const char *s, size_t n)
{
	bool ok = true;

	for (size_t i = 0; i < n; i++)
		ok &= jws_byte[(unsigned char)s[i]];
	return ok;
}

int auth_jwt_verify(struct auth_keyring *kr, const char *token, size_t len, int64_t now,
		    struct auth_claims *out, struct err *e)
{
	const char *d1, *d2;
	int ret;

	if (!token || len == 0)
		return refuse(e, "empty");
	if (len > AUTH_JWT_MAX)
		return refuse(e, "too large");
	if (!b64url_chars(token, len))
		return refuse(e, "malformed");
	d1 = memchr(token, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) || d1 == token || d2 == d1 + 1 ||
	    d2 + 1 == token + len)
		return refuse(e, "not three segments");
	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&kr->lock);
	ret = verify_locked(kr, token, len, d1, d2, now, out, e);
	pthread_rwlock_unlock(&kr->lock);
	return ret;
}

uint64_t auth_keyring_gen(struct auth_keyring *kr)
{
	return atomic_load(&kr->gen);
}

char *auth_keyring_jwks(struct auth_keyring *kr)
{
	json_t *keys = json_array(), *root = NULL;
	char *out = NULL;
	int64_t now_ms;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (!keys)
		return NULL;
	pthread_rwlock_rdlock(&kr->lock);
	for (size_t i = 0; i < kr->nkeys; i++) {
		struct key *k = &kr->keys[i];

		if (now_ms > k->valid_until_ms)
			continue;
		if (json_array_append_new(keys, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC",
							  "crv", "P-256", "x", k->x, "y", k->y, "kid",
							  k->kid, "alg", "ES256", "use", "sig")) < 0) {
			pthread_rwlock_unlock(&kr->lock);
			json_decref(keys);
			return NULL;
		}
	}
	pthread_rwlock_unlock(&kr->lock);
	root = json_pack("{s:o}", "keys", keys);
	if (root)
		out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}
