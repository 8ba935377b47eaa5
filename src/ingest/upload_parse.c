/* upload_parse.c — the tus header formats: Upload-Metadata, Upload-Checksum, and the rules
 * for a client's file name. Every input here comes straight from a request header, so every
 * length is checked before it is used (tests/fuzz/tus_fuzz.c runs these). */
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/utf8.h"
#include "ingest/upload.h"

/* Longest header we parse: far more than two base64 names need, small enough to decode on
 * the stack. */
#define METADATA_MAX 8192
#define METADATA_PAIRS_MAX 32

int upload_filename_check(const char *name, size_t len, struct err *e)
{
	if (!name || len == 0)
		return err_set(e, ERR_INVALID, "the file name is empty");
	if (len > UPLOAD_FILENAME_MAX)
		return err_set(e, ERR_INVALID, "the file name is longer than %d bytes", UPLOAD_FILENAME_MAX);
	if (memchr(name, '\0', len))
		return err_set(e, ERR_INVALID, "the file name holds a NUL byte");
	if (!utf8_valid(name, len))
		return err_set(e, ERR_INVALID, "the file name is not valid UTF-8");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == '\\')
			return err_set(e, ERR_INVALID, "the file name holds a path separator");
		if (c < 0x20 || c == 0x7f)
			return err_set(e, ERR_INVALID, "the file name holds a control character");
	}
	/* ".." anywhere, not only as a whole name: "a..b" is harmless on its own, but nothing
	 * legitimate needs it and a rule without exceptions is easier to trust downstream. */
	if ((len == 1 && name[0] == '.') || memmem(name, len, "..", 2))
		return err_set(e, ERR_INVALID, "the file name holds \"..\"");
	return 0;
}

/* Decode standard base64 (with its padding) of `len` bytes into `out` (room for `cap` bytes).
 * Returns the decoded length, or -1 when malformed or too long. */
static long b64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
	size_t pad = 0;
	int n;

	if (len == 0)
		return 0;
	if (len % 4 != 0 || len / 4 * 3 > cap || len > (size_t)1 << 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '+' || c == '/';

		if (c == '=' && i >= len - 2) {
			pad++;
			continue;
		}
		if (!ok || pad)
			return -1;
	}
	/* EVP_DecodeBlock counts padding as zero bytes: take them off. */
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad)
		return -1;
	return (long)((size_t)n - pad);
}

static bool key_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ',';
}

int upload_metadata_parse(const char *hdr, size_t len, struct upload_metadata *out, struct err *e)
{
	unsigned char val[METADATA_MAX];
	const char *keys[METADATA_PAIRS_MAX];
	size_t keylens[METADATA_PAIRS_MAX];
	size_t nkeys = 0, pos = 0;

	memset(out, 0, sizeof(*out));
	if (len > METADATA_MAX)
		return err_set(e, ERR_INVALID, "Upload-Metadata is longer than %d bytes", METADATA_MAX);
	while (pos < len) {
		size_t end = pos, kstart, klen, vstart, vlen;
		long n;

		while (end < len && hdr[end] != ',')
			end++;
		/* One pair: optional spaces, key, optional (space value), optional spaces. */
		while (pos < end && hdr[pos] == ' ')
			pos++;
		kstart = pos;
		while (pos < end && key_char((unsigned char)hdr[pos]))
			pos++;
		klen = pos - kstart;
		if (klen == 0)
			return err_set(e, ERR_INVALID, "Upload-Metadata has an empty key");
		vstart = vlen = 0;
		if (pos < end && hdr[pos] == ' ') {
			while (pos < end && hdr[pos] == ' ')
				pos++;
			vstart = pos;
			while (pos < end && hdr[pos] != ' ')
				pos++;
			vlen = pos - vstart;
			while (pos < end && hdr[pos] == ' ')
				pos++;
		}
		if (pos != end)
			return err_set(e, ERR_INVALID, "Upload-Metadata is malformed (a key holds a character it may not)");
		for (size_t i = 0; i < nkeys; i++)
			if (keylens[i] == klen && memcmp(keys[i], hdr + kstart, klen) == 0)
				return err_set(e, ERR_INVALID, "Upload-Metadata gives a key twice");
		if (nkeys == METADATA_PAIRS_MAX)
			return err_set(e, ERR_INVALID, "Upload-Metadata has more than %d keys", METADATA_PAIRS_MAX);
		keys[nkeys] = hdr + kstart;
		keylens[nkeys++] = klen;
		n = b64_decode(hdr + vstart, vlen, val, sizeof(val));
		if (n < 0)
			return err_set(e, ERR_INVALID, "Upload-Metadata: the value of a key is not base64");
		if (klen == 8 && memcmp(hdr + kstart, "filename", 8) == 0) {
			if (upload_filename_check((const char *)val, (size_t)n, e) < 0)
				return -1;
			memcpy(out->filename, val, (size_t)n);
			out->filename[n] = '\0';
			out->has_filename = true;
		} else if (klen == 8 && memcmp(hdr + kstart, "filetype", 8) == 0) {
			if ((size_t)n > UPLOAD_FILETYPE_MAX)
				return err_set(e, ERR_INVALID, "the file type is longer than %d bytes", UPLOAD_FILETYPE_MAX);
			for (long i = 0; i < n; i++)
				if (val[i] < 0x20 || val[i] >= 0x7f)
					return err_set(e, ERR_INVALID, "the file type is not printable ASCII");
			memcpy(out->filetype, val, (size_t)n);
			out->filetype[n] = '\0';
		}
		pos = end + 1;
		if (end + 1 == len)
			return err_set(e, ERR_INVALID, "Upload-Metadata ends with a comma");
	}
	return 0;
}

int upload_checksum_parse(const char *hdr, size_t len, unsigned char sha256[32], struct err *e)
{
	unsigned char digest[48];
	const char *sp = memchr(hdr, ' ', len);
	size_t alen;
	long n;

	if (!sp)
		return err_set(e, ERR_INVALID, "Upload-Checksum is not \"<algorithm> <base64>\"");
	alen = (size_t)(sp - hdr);
	if (alen != 6 || memcmp(hdr, "sha256", 6) != 0)
		return err_set(e, ERR_UNSUPPORTED, "Upload-Checksum: only sha256 is supported");
	n = b64_decode(sp + 1, len - alen - 1, digest, sizeof(digest));
	if (n != 32)
		return err_set(e, ERR_INVALID, "Upload-Checksum: the sha256 value is not 32 bytes in base64");
	memcpy(sha256, digest, 32);
	return 0;
}
