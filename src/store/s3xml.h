/* s3xml.h — a small, bounded extractor for the XML that S3 answers with.
 *
 * Not an XML parser: it reads exactly what the S3 backend needs (ListObjectsV2 results,
 * error bodies, multipart replies) from untrusted input, in one pass, without allocating,
 * and refuses what it does not understand. It handles elements with attributes, self-closing
 * elements, the XML declaration, comments, CDATA sections, the five predefined entities
 * (&amp; &lt; &gt; &quot; &apos;) and numeric character references (&#34; &#x22;). It
 * refuses DOCTYPE (so no entity definitions, no expansion), mismatched or unclosed tags,
 * nesting deeper than S3XML_DEPTH_MAX, NUL bytes, unknown entities, and a value longer
 * than its buffer. Every function reads only [xml, xml + len): the input need not be
 * NUL-terminated. Element names are compared exactly (no namespace handling: S3 uses a
 * default namespace, so its names carry no prefix).
 *
 * Fuzzed by tests/fuzz/s3xml_fuzz.c.
 */
#ifndef TONEARM_STORE_S3XML_H
#define TONEARM_STORE_S3XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define S3XML_DEPTH_MAX 32
#define S3XML_KEY_MAX 1024    /* S3's own limit on key length, in bytes */
#define S3XML_TOKEN_MAX 4096  /* continuation tokens */

enum s3xml_type {
	S3XML_EOF = 0,
	S3XML_OPEN,   /* <Name …>: p/n is the name */
	S3XML_CLOSE,  /* </Name> */
	S3XML_EMPTY,  /* <Name …/> */
	S3XML_TEXT,   /* character data between tags, entities not yet decoded */
	S3XML_CDATA,  /* the inside of <![CDATA[…]]>, literal */
};

struct s3xml_tok {
	enum s3xml_type type;
	const char *p;
	size_t n;
};

/* A cursor over a document. Zero-initialise it, or use s3xml_init. */
struct s3xml {
	const char *s;
	size_t len, pos;
};

void s3xml_init(struct s3xml *x, const char *xml, size_t len);

/* The next token into *t (S3XML_EOF at the end). Declarations and comments are skipped.
 * 0, or -1 when the input is malformed (the cursor then stays put). Does not check that
 * tags nest: the helpers below do. */
int s3xml_next(struct s3xml *x, struct s3xml_tok *t);

/* Decode character data [p, p + n): the predefined entities and numeric references (as
 * UTF-8; &#0;, surrogates and values past U+10FFFF are refused). Appends to out, which holds
 * *outlen bytes already and has room for outsz (including a terminating NUL it keeps there).
 * 0, or -1 on a bad entity, a NUL byte or when out is full (out then holds a prefix). */
int s3xml_decode(const char *p, size_t n, char *out, size_t outsz, size_t *outlen);

/* The decoded text of the first element named `name`, anywhere in the document, into out
 * (NUL-terminated). 1 when found, 0 when absent, -1 when the document is malformed or the
 * text does not fit. */
int s3xml_text(const char *xml, size_t len, const char *name, char *out, size_t outsz);

/* How many elements named `name` the document holds (nesting is checked). -1 if malformed. */
int s3xml_count(const char *xml, size_t len, const char *name);

/* "2009-10-12T17:50:30.000Z" (ISO 8601 in UTC, as S3 writes it; fraction optional; "Z" or
 * "+00:00") into seconds since the epoch. 0, or -1 if it is not that shape. */
int s3xml_time(const char *s, int64_t *out);

/* One <Contents> of a ListObjectsV2 result. Strings are NUL-terminated and decoded; they live
 * until the callback returns. */
struct s3xml_object {
	const char *key;
	uint64_t size;
	int64_t mtime;    /* 0 when LastModified is absent */
	const char *etag; /* as sent, usually with its quotes; "" when absent */
};

struct s3xml_list {
	bool truncated;                     /* IsTruncated was "true" */
	char next_token[S3XML_TOKEN_MAX + 1]; /* NextContinuationToken, "" when absent */
};

/* Parse a ListObjectsV2 result, calling cb for each <Contents> that has a Key and a Size
 * (an entry whose key is longer than S3XML_KEY_MAX or whose Size or LastModified is not a
 * number or date is skipped, not fatal). cb returns 0 to go on; any other value stops the
 * parse and is returned. Fills *res. 0 when the whole document was read, -1 with *e set
 * (ERR_IO "malformed …") when it is not a well-formed ListBucketResult. */
int s3xml_parse_list(const char *xml, size_t len,
		     int (*cb)(void *ud, const struct s3xml_object *obj), void *ud,
		     struct s3xml_list *res, struct err *e);

#endif
