/* crypt.c — track keys (RFC 3394 wrap under the master key), segment AES-128-CBC, master key file. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stream/stream.h"

int stream_key_wrap(const unsigned char master[STREAM_MASTER_KEY_LEN], const unsigned char key[STREAM_KEY_LEN],
		    unsigned char out[STREAM_WRAPPED_KEY_LEN], struct err *e)
{
	int ret = -1, n = 0, m = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (!c)
		return err_set(e, ERR_NOMEM, "out of memory");
	/* OpenSSL refuses wrap modes unless asked for explicitly. */
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_EncryptInit_ex(c, EVP_aes_256_wrap(), NULL, master, NULL) != 1 ||
	    EVP_EncryptUpdate(c, out, &n, key, STREAM_KEY_LEN) != 1 || EVP_EncryptFinal_ex(c, out + n, &m) != 1 ||
	    n + m != STREAM_WRAPPED_KEY_LEN) {
		err_set(e, ERR_INTERNAL, "key wrap failed");
		goto out;
	}
	ret = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return ret;
}

int stream_key_unwrap(const unsigned char master[STREAM_MASTER_KEY_LEN],
		      const unsigned char wrapped[STREAM_WRAPPED_KEY_LEN], unsigned char key[STREAM_KEY_LEN],
		      struct err *e)
{
	int ret = -1, n = 0, m = 0;
	unsigned char tmp[STREAM_WRAPPED_KEY_LEN];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (!c)
		return err_set(e, ERR_NOMEM, "out of memory");
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_DecryptInit_ex(c, EVP_aes_256_wrap(), NULL, master, NULL) != 1 ||
	    EVP_DecryptUpdate(c, tmp, &n, wrapped, STREAM_WRAPPED_KEY_LEN) != 1 || n < 0 ||
	    EVP_DecryptFinal_ex(c, tmp + n, &m) != 1 || n + m != STREAM_KEY_LEN) {
		err_set(e, ERR_INTERNAL, "key unwrap failed (wrong master key?)");
		goto out;
	}
	memcpy(key, tmp, STREAM_KEY_LEN);
	ret = 0;
out:
	OPENSSL_cleanse(tmp, sizeof(tmp));
	EVP_CIPHER_CTX_free(c);
	return ret;
}

static void seq_iv(uint64_t seq, unsigned char iv[16])
{
	memset(iv, 0, 16);
	for (int i = 0; i < 8; i++)
		iv[15 - i] = (unsigned char)(seq >> (8 * i));
}

static int cbc(int enc, const unsigned char key[STREAM_KEY_LEN], uint64_t seq, const void *in, size_t len,
	       unsigned char **out, size_t *out_len, struct err *e)
{
	int ret = -1, n = 0, m = 0;
	unsigned char iv[16];
	unsigned char *o = NULL;
	EVP_CIPHER_CTX *c = NULL;

	if (len > (size_t)1 << 30)
		return err_set(e, ERR_TOO_LARGE, "segment too large to encrypt");
	o = malloc(len + 16);
	c = EVP_CIPHER_CTX_new();
	if (!o || !c) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	seq_iv(seq, iv);
	if (EVP_CipherInit_ex(c, EVP_aes_128_cbc(), NULL, key, iv, enc) != 1 ||
	    EVP_CipherUpdate(c, o, &n, in, (int)len) != 1) {
		err_set(e, ERR_INTERNAL, "AES-128-CBC failed");
		goto out;
	}
	if (EVP_CipherFinal_ex(c, o + n, &m) != 1) {
		err_set(e, enc ? ERR_INTERNAL : ERR_INVALID, enc ? "AES-128-CBC failed" : "bad padding (wrong key?)");
		goto out;
	}
	*out = o;
	*out_len = (size_t)n + (size_t)m;
	o = NULL;
	ret = 0;
out:
	free(o);
	EVP_CIPHER_CTX_free(c);
	return ret;
}

int stream_segment_encrypt(const unsigned char key[STREAM_KEY_LEN], uint64_t seq, const void *in, size_t len,
			   unsigned char **out, size_t *out_len, struct err *e)
{
	return cbc(1, key, seq, in, len, out, out_len, e);
}

int stream_segment_decrypt(const unsigned char key[STREAM_KEY_LEN], uint64_t seq, const void *in, size_t len,
			   unsigned char **out, size_t *out_len, struct err *e)
{
	return cbc(0, key, seq, in, len, out, out_len, e);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int stream_master_key_parse(const char *hex, unsigned char key[STREAM_MASTER_KEY_LEN], struct err *e)
{
	if (!hex || strlen(hex) != 2 * STREAM_MASTER_KEY_LEN)
		return err_set(e, ERR_INVALID, "master_key must be 64 hex characters");
	for (size_t i = 0; i < STREAM_MASTER_KEY_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return err_set(e, ERR_INVALID, "master_key must be 64 hex characters");
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int stream_master_key_load(const char *path, unsigned char key[STREAM_MASTER_KEY_LEN], struct err *e)
{
	int ret = -1, fd = -1;
	char text[2 * STREAM_MASTER_KEY_LEN + 2];
	ssize_t n;
	size_t got = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		unsigned char k[STREAM_MASTER_KEY_LEN];
		static const char digits[] = "0123456789abcdef";
		if (RAND_bytes(k, sizeof(k)) != 1)
			return err_set(e, ERR_INTERNAL, "no randomness for the master key");
		for (size_t i = 0; i < sizeof(k); i++) {
			text[2 * i] = digits[k[i] >> 4];
			text[2 * i + 1] = digits[k[i] & 15];
		}
		text[2 * sizeof(k)] = '\n';
		/* O_EXCL: two servers starting at once on one data folder must not each keep a key. */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST) {
			OPENSSL_cleanse(k, sizeof(k));
			return stream_master_key_load(path, key, e);
		}
		if (fd < 0) {
			OPENSSL_cleanse(k, sizeof(k));
			return err_errno(e, ERR_IO, errno, "creating the master key file");
		}
		if (write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1) || fsync(fd) < 0) {
			err_errno(e, ERR_IO, errno, "writing the master key file");
			unlink(path);
		} else {
			memcpy(key, k, sizeof(k));
			ret = 0;
		}
		OPENSSL_cleanse(k, sizeof(k));
		OPENSSL_cleanse(text, sizeof(text));
		close(fd);
		return ret;
	}
	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "opening the master key file");
	while (got < sizeof(text) && (n = read(fd, text + got, sizeof(text) - got)) > 0)
		got += (size_t)n;
	if (got == STREAM_MASTER_KEY_LEN) {
		memcpy(key, text, STREAM_MASTER_KEY_LEN);
		ret = 0;
		goto out;
	}
	while (got > 0 && (text[got - 1] == '\n' || text[got - 1] == '\r'))
		got--;
	if (got != 2 * STREAM_MASTER_KEY_LEN) {
		err_set(e, ERR_INVALID, "the master key file must hold 64 hex characters");
		goto out;
	}
	text[got] = '\0';
	ret = stream_master_key_parse(text, key, e);
out:
	OPENSSL_cleanse(text, sizeof(text));
	close(fd);
	return ret;
}
