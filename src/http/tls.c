/* tls.c — the server's OpenSSL context: TLS 1.2 and 1.3 only, AEAD suites with forward
 * secrecy only, the server's order of preference, no compression, no renegotiation, and h2
 * offered by ALPN. h2o does the handshake once the context is on the accept context.
 *
 * The TLS 1.2 list is ECDHE with AES-GCM or ChaCha20-Poly1305 (ECDSA or RSA keys): what
 * Mozilla's "intermediate" profile keeps minus the DHE suites (finite-field DH is slow and
 * testssl.sh flags small groups). TLS 1.3 suites are OpenSSL's defaults, all AEAD.
 */
#include "http/internal.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#define TLS12_CIPHERS                                                                                        \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"           \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static int ssl_fail(struct err *e, const char *what, const char *path)
{
	unsigned long code = ERR_get_error();
	char buf[160] = "unknown error";

	if (code)
		ERR_error_string_n(code, buf, sizeof(buf));
	ERR_clear_error();
	return err_set(e, ERR_INVALID, "tls: %s%s%s: %s", what, path ? " " : "", path ? path : "", buf);
}

SSL_CTX *http_tls_ctx_new(const char *cert, const char *key, struct err *e)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		ssl_fail(e, "cannot create a context", NULL);
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		ssl_fail(e, "cannot set the minimum version", NULL);
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (!SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		ssl_fail(e, "cannot set the cipher list", NULL);
		goto fail;
	}
	if (!SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384")) {
		ssl_fail(e, "cannot set the key exchange groups", NULL);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_fail(e, "cannot load the certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_fail(e, "cannot load the private key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_fail(e, "the private key does not match the certificate", key);
		goto fail;
	}
	h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
