/* sign.h — signed URLs for HLS playlists and keys.
 *
 * Native players cannot send an Authorization header, so the master playlist, the media
 * playlists and the key are reachable through URLs that carry their own proof:
 *
 *     ?a=<account id>&p=<permission bits, hex>&exp=<unix seconds>&sig=<64 hex>
 *
 * sig = HMAC-SHA256(signing key, "tonearm-url-v1\n<kind>\n<account>\n<track>\n<perms>\n<exp>").
 * The signing key is derived from the server's master key with HKDF-SHA256 (its own label),
 * so the master key itself never signs anything and every node with the same master key
 * verifies every other node's URLs. The permissions the URL was issued under are part of
 * what is signed, so a free account's URL cannot be edited into a premium one; the kind is
 * signed so a playlist URL's signature does not open the key.
 *
 * A signer is plain data after init: any number of threads may sign and verify at once.
 */
#ifndef TONEARM_STREAM_SIGN_H
#define TONEARM_STREAM_SIGN_H

#include <stdint.h>

#include "base/err.h"
#include "stream/stream.h"

#define STREAM_SIGN_KEY_LEN 32
#define STREAM_SIG_HEX_LEN 64
#define STREAM_SIGN_TTL_DEFAULT (6 * 3600) /* a long film or album plays through on one URL */

/* What a signed URL opens. Part of the signed message. */
enum stream_sign_kind {
	STREAM_SIGN_MASTER = 1, /* /hls/<track>/master.m3u8 */
	STREAM_SIGN_MEDIA = 2,  /* /hls/<track>/<rendition>/index.m3u8 */
	STREAM_SIGN_KEY = 3,    /* /hls/<track>/key */
};

struct stream_signer {
	unsigned char key[STREAM_SIGN_KEY_LEN]; /* SECRET: never log */
};

/* Derive the signing key from a 32-byte master key (HKDF-SHA256, info "tonearm hls url
 * signing v1"). -1 with ERR_INTERNAL when OpenSSL fails. Release with stream_signer_release. */
int stream_signer_init(struct stream_signer *sg, const unsigned char master[STREAM_MASTER_KEY_LEN], struct err *e);

/* The same, from the master key a ladder service was built with. */
int stream_signer_init_from(struct stream_signer *sg, const struct stream *s, struct err *e);

/* Wipe the key. */
void stream_signer_release(struct stream_signer *sg);

/* Sign: out gets 64 lower-case hex characters and a NUL. `account` and `track` must be
 * non-empty and hold no newline (ERR_INVALID); -1 with ERR_INTERNAL when HMAC fails. */
int stream_sign(const struct stream_signer *sg, enum stream_sign_kind kind, const char *account, const char *track,
		unsigned perms, int64_t exp, char out[STREAM_SIG_HEX_LEN + 1], struct err *e);

/* Check a signature (compared in constant time) and its expiry against `now` (unix
 * seconds). 0 when it is good; -1 with ERR_FORBIDDEN "invalid signature" when it does not
 * match (tampered, another account's, another track's, another kind), ERR_UNAUTHORIZED
 * "signed URL expired" when exp < now (checked after the signature, so an attacker learns
 * nothing from the order). A `sig` that is not 64 hex characters is an invalid signature. */
int stream_sign_verify(const struct stream_signer *sg, enum stream_sign_kind kind, const char *account,
		       const char *track, unsigned perms, int64_t exp, const char *sig, int64_t now, struct err *e);

#endif
