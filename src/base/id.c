#include "base/id.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "base/clock.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The last id handed out. One lock for all threads: making an id takes well under a
 * microsecond, so a mutex is cheaper than anything cleverer would be to get right. */
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t id_last_ms = -1;
static unsigned char id_last_rand[10];

static bool random_bytes(unsigned char *p, size_t n)
{
	if (n <= INT32_MAX && RAND_bytes(p, (int)n) == 1)
		return true;
	/* OpenSSL failed (it should not): ask the kernel directly. */
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got <= 0)
			return false;
		p += got;
		n -= (size_t)got;
	}
	return true;
}

/* Add one to a big-endian 80-bit number; true if it wrapped to zero. */
static bool increment80(unsigned char r[10])
{
	for (int i = 9; i >= 0; i--) {
		if (++r[i] != 0)
			return false;
	}
	return true;
}

/* 16 bytes (48-bit time, 80 random bits) → 26 base32 characters, 5 bits each, the first
 * character carrying the top 3 bits of the 130-bit field (so it is always 0–7). */
static void encode(const unsigned char b[16], char out[ID_LEN + 1])
{
	/* 128 bits in two halves, shifted out 5 bits at a time from the least significant end. */
	uint64_t hi = 0, lo = 0;

	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | b[i];
		lo = lo << 8 | b[8 + i];
	}
	for (int i = ID_LEN - 1; i >= 0; i--) {
		out[i] = crockford[lo & 31];
		lo = lo >> 5 | (hi & 31) << 59;
		hi >>= 5;
	}
	out[ID_LEN] = '\0';
}

void id_new(char out[ID_LEN + 1])
{
	unsigned char b[16];
	int64_t now = clock_now_ms();

	if (now < 0)
		now = 0;
	pthread_mutex_lock(&id_lock);
	bool same = now <= id_last_ms;
	if (same)
		now = id_last_ms; /* same millisecond, or the clock stepped back */
	if (same || !random_bytes(b + 6, 10)) {
		/* Stay just after the last id (also the fallback when there is no randomness).
		 * If the 80 bits run out within a millisecond, borrow the next one. */
		memcpy(b + 6, id_last_rand, 10);
		if (increment80(b + 6) && same)
			now++;
	}
	id_last_ms = now;
	memcpy(id_last_rand, b + 6, 10);
	pthread_mutex_unlock(&id_lock);

	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)((uint64_t)now >> (40 - 8 * i));
	encode(b, out);
	OPENSSL_cleanse(b, sizeof(b));
}

static int decode_char(char ch)
{
	const char *at = ch ? strchr(crockford, ch) : NULL;
	return at ? (int)(at - crockford) : -1;
}

bool id_valid(const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < ID_LEN; i++) {
		if (decode_char(s[i]) < 0)
			return false;
	}
	return s[ID_LEN] == '\0' && s[0] <= '7';
}

int64_t id_time_ms(const char *s)
{
	int64_t ms = 0;

	if (!id_valid(s))
		return -1;
	/* The first 10 characters are 50 bits: the 48-bit time with two zero bits on top. */
	for (int i = 0; i < 10; i++)
		ms = ms << 5 | decode_char(s[i]);
	return ms;
}

int id_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char chunk[64];

	if (!out)
		return -1;
	out[0] = '\0';
	if (nbytes == 0 || nbytes > ((size_t)1 << 20))
		return -1;
	for (size_t done = 0; done < nbytes;) {
		size_t n = nbytes - done < sizeof(chunk) ? nbytes - done : sizeof(chunk);

		if (RAND_bytes(chunk, (int)n) != 1) {
			OPENSSL_cleanse(chunk, sizeof(chunk));
			OPENSSL_cleanse(out, 2 * done);
			out[0] = '\0';
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			out[2 * (done + i)] = hex[chunk[i] >> 4];
			out[2 * (done + i) + 1] = hex[chunk[i] & 15];
		}
		done += n;
	}
	out[2 * nbytes] = '\0';
	OPENSSL_cleanse(chunk, sizeof(chunk));
	return 0;
}
