/* sign.c — HMAC-signed HLS URLs (see sign.h). */
#include "stream/sign.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <string.h>

#include "stream/internal.h"

#define SIGN_INFO "tonearm hls url signing v1"

int stream_signer_init(struct stream_signer *sg, const unsigned char master[STREAM_MASTER_KEY_LEN], struct err *e)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[4];
	int ret = -1;

	memset(sg, 0, sizeof(*sg));
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	if (!ctx) {
		err_set(e, ERR_INTERNAL, "HKDF is not available");
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)master, STREAM_MASTER_KEY_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)SIGN_INFO, strlen(SIGN_INFO));
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, sg->key, sizeof(sg->key), params) != 1) {
		err_set(e, ERR_INTERNAL, "HKDF failed");
		goto out;
	}
	ret = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ret;
}

int stream_signer_init_from(struct stream_signer *sg, const struct stream *s, struct err *e)
{
	return stream_signer_init(sg, s->opt.master_key, e);
}

void stream_signer_release(struct stream_signer *sg)
{
	OPENSSL_cleanse(sg->key, sizeof(sg->key));
}

static int mac(const struct stream_signer *sg, enum stream_sign_kind kind, const char *account, const char *track,
	       unsigned perms, int64_t exp, unsigned char out[32], struct err *e)
{
	char msg[512];
	unsigned int len = 32;
	int n;

	if (!account || !*account || !track || !*track || strchr(account, '\n') || strchr(track, '\n'))
		return err_set(e, ERR_INVALID, "signed URL: empty or malformed account or track");
	n = snprintf(msg, sizeof(msg), "tonearm-url-v1\n%d\n%s\n%s\n%x\n%lld", (int)kind, account, track, perms,
		     (long long)exp);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return err_set(e, ERR_INVALID, "signed URL: account or track too long");
	if (!HMAC(EVP_sha256(), sg->key, sizeof(sg->key), (const unsigned char *)msg, (size_t)n, out, &len) ||
	    len != 32)
		return err_set(e, ERR_INTERNAL, "HMAC failed");
	return 0;
}

int stream_sign(const struct stream_signer *sg, enum stream_sign_kind kind, const char *account, const char *track,
		unsigned perms, int64_t exp, char out[STREAM_SIG_HEX_LEN + 1], struct err *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char m[32];

	if (mac(sg, kind, account, track, perms, exp, m, e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(m); i++) {
		out[2 * i] = hex[m[i] >> 4];
		out[2 * i + 1] = hex[m[i] & 15];
	}
	out[STREAM_SIG_HEX_LEN] = '\0';
	OPENSSL_cleanse(m, sizeof(m));
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

int stream_sign_verify(const struct stream_signer *sg, enum stream_sign_kind kind, const char *account,
		       const char *track, unsigned perms, int64_t exp, const char *sig, int64_t now, struct err *e)
{
	unsigned char want[32], got[32];
	int bad = 0;

	if (!sig || strlen(sig) != STREAM_SIG_HEX_LEN)
		return err_set(e, ERR_FORBIDDEN, "invalid signature");
	for (size_t i = 0; i < sizeof(got); i++) {
		int hi = hexval(sig[2 * i]), lo = hexval(sig[2 * i + 1]);

		bad |= (hi < 0) | (lo < 0);
		got[i] = (unsigned char)(((hi & 15) << 4) | (lo & 15));
	}
	if (mac(sg, kind, account, track, perms, exp, want, e) < 0) {
		/* A malformed account or track cannot have been signed by us. */
		if (e->code == ERR_INVALID)
			err_set(e, ERR_FORBIDDEN, "invalid signature");
		return -1;
	}
	if (CRYPTO_memcmp(want, got, sizeof(want)) != 0 || bad)
		return err_set(e, ERR_FORBIDDEN, "invalid signature");
	if (exp < now)
		return err_set(e, ERR_UNAUTHORIZED, "signed URL expired");
	return 0;
}
