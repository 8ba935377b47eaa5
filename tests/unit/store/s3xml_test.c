/* s3xml_test.c — the bounded XML extractor for S3 answers (src/store/s3xml.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/s3xml.h"

/* What AWS documents as a ListObjectsV2 answer, with the quirks we must survive. */
static const char LIST[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
	"  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>\n"
	"  <IsTruncated>true</IsTruncated>\n"
	"  <Contents>\n"
	"    <Key>p/a&amp;b</Key>\n"
	"    <LastModified>2009-10-12T17:50:30.000Z</LastModified>\n"
	"    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>\n"
	"    <Size>434234</Size>\n"
	"    <StorageClass>STANDARD</StorageClass>\n"
	"    <Owner><ID>x</ID><DisplayName>me</DisplayName></Owner>\n"
	"  </Contents>\n"
	"  <!-- a comment <Key>not-a-key</Key> -->\n"
	"  <Contents><Key><![CDATA[p/<cdata>]]></Key><Size>0</Size></Contents>\n"
	"  <Contents><Key>p/&#x41;&#66;&lt;&gt;&apos;</Key><Size>18446744073709551615</Size>"
	"<LastModified>2024-02-29T23:59:59Z</LastModified><ETag>\"m-2\"</ETag></Contents>\n"
	"  <Contents><Key>p/skipped-bad-size</Key><Size>12x</Size></Contents>\n"
	"  <Contents><Size>1</Size></Contents>\n"
	"  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\n"
	"</ListBucketResult>\n";

struct seen {
	char keys[8][64];
	uint64_t sizes[8];
	int64_t mtimes[8];
	char etags[8][80];
	int n;
	int stop_at;
};

static int on_obj(void *ud, const struct s3xml_object *o)
{
	struct seen *s = ud;

	assert_true(s->n < 8);
	size_t kl = strlen(o->key), el = strlen(o->etag);
	assert_true(kl < 64 && el < 80);
	memcpy(s->keys[s->n], o->key, kl + 1);
	memcpy(s->etags[s->n], o->etag, el + 1);
	s->sizes[s->n] = o->size;
	s->mtimes[s->n] = o->mtime;
	s->n++;
	return s->stop_at && s->n == s->stop_at ? 42 : 0;
}

static void test_list(void **state)
{
	struct seen s = { .n = 0 };
	struct s3xml_list *res = malloc(sizeof(*res));
	struct err e = ERR_INIT;

	(void)state;
	assert_non_null(res);
	assert_int_equal(s3xml_parse_list(LIST, sizeof(LIST) - 1, on_obj, &s, res, &e), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.keys[0], "p/a&b");
	assert_int_equal(s.sizes[0], 434234);
	assert_int_equal(s.mtimes[0], 1255369830);
	assert_string_equal(s.etags[0], "\"fba9dede5f27731c9771645a39863328\"");
	assert_string_equal(s.keys[1], "p/<cdata>");
	assert_int_equal(s.sizes[1], 0);
	assert_int_equal(s.mtimes[1], 0);
	assert_string_equal(s.etags[1], "");
	assert_string_equal(s.keys[2], "p/AB<>'");
	assert_int_equal(s.sizes[2], UINT64_MAX);
	assert_int_equal(s.mtimes[2], 1709251199);
	assert_true(res->truncated);
	assert_string_equal(res->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");

	/* the callback stops it */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(s3xml_parse_list(LIST, sizeof(LIST) - 1, on_obj, &s, res, &e), 42);
	assert_int_equal(s.n, 2);

	/* an empty, final page */
	static const char EMPTY[] = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
	memset(&s, 0, sizeof(s));
	assert_int_equal(s3xml_parse_list(EMPTY, sizeof(EMPTY) - 1, on_obj, &s, res, &e), 0);
	assert_int_equal(s.n, 0);
	assert_false(res->truncated);
	assert_string_equal(res->next_token, "");
	assert_int_equal(s3xml_parse_list("<ListBucketResult/>", 19, on_obj, &s, res, &e), 0);
	free(res);
}

static void test_list_malformed(void **state)
{
	static const char *bad[] = {
		"",
		"   ",
		"<Error><Code>AccessDenied</Code></Error>",
		"<ListBucketResult>",
		"<ListBucketResult><Contents></ListBucketResult>",
		"<ListBucketResult></Contents></ListBucketResult>",
		"<ListBucketResult></ListBucketResult><ListBucketResult></ListBucketResult>",
		"<ListBucketResult><Key>&bogus;</Key></ListBucketResult>x<a>",
		"<!DOCTYPE x [<!ENTITY e \"boom\">]><ListBucketResult/>",
		"<ListBucketResult><!-- unterminated </ListBucketResult>",
		"<ListBucketResult><![CDATA[ unterminated </ListBucketResult>",
		"<ListBucketResult attr=\"unterminated></ListBucketResult>",
		"<ListBucketResult><NextContinuationToken>&#0;</NextContinuationToken></ListBucketResult>",
		"<ListBucketResult><1bad/></ListBucketResult>",
		"<ListBucketResult></ ListBucketResult>",
	};
	struct seen s = { .n = 0 };
	struct s3xml_list *res = malloc(sizeof(*res));
	struct err e;

	(void)state;
	assert_non_null(res);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		if (s3xml_parse_list(bad[i], strlen(bad[i]), on_obj, &s, res, &e) != -1)
			fail_msg("accepted #%zu: %s", i, bad[i]);
		assert_int_equal(e.code, ERR_IO);
	}
	/* a NUL byte inside */
	static const char nul[] = "<ListBucketResult>a\0b</ListBucketResult>";
	assert_int_equal(s3xml_parse_list(nul, sizeof(nul) - 1, on_obj, &s, res, &e), -1);
	/* deeper than the stack */
	char deep[S3XML_DEPTH_MAX * 8 + 64];
	size_t o = 0;
	o += (size_t)snprintf(deep + o, sizeof(deep) - o, "<ListBucketResult>");
	for (int i = 0; i < S3XML_DEPTH_MAX; i++)
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, "<a>");
	assert_int_equal(s3xml_parse_list(deep, o, on_obj, &s, res, &e), -1);
	/* a continuation token longer than its buffer is an error, a long key a skip */
	size_t big = S3XML_TOKEN_MAX + 100;
	char *doc = malloc(big + 200);
	assert_non_null(doc);
	o = (size_t)snprintf(doc, big + 200, "<ListBucketResult><NextContinuationToken>");
	memset(doc + o, 't', big);
	o += big;
	o += (size_t)snprintf(doc + o, 200, "</NextContinuationToken></ListBucketResult>");
	assert_int_equal(s3xml_parse_list(doc, o, on_obj, &s, res, &e), -1);
	o = (size_t)snprintf(doc, big + 200, "<ListBucketResult><Contents><Key>");
	memset(doc + o, 'k', S3XML_KEY_MAX + 1);
	o += S3XML_KEY_MAX + 1;
	o += (size_t)snprintf(doc + o, 200, "</Key><Size>1</Size></Contents></ListBucketResult>");
	memset(&s, 0, sizeof(s));
	assert_int_equal(s3xml_parse_list(doc, o, on_obj, &s, res, &e), 0);
	assert_int_equal(s.n, 0);
	free(doc);
	free(res);
}

static void test_text(void **state)
{
	static const char ERR[] =
		"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>SignatureDoesNotMatch</Code>"
		"<Message>The request signature &amp; so on</Message><Empty/><RequestId>tx1</RequestId></Error>";
	char out[64];

	(void)state;
	assert_int_equal(s3xml_text(ERR, sizeof(ERR) - 1, "Code", out, sizeof(out)), 1);
	assert_string_equal(out, "SignatureDoesNotMatch");
	assert_int_equal(s3xml_text(ERR, sizeof(ERR) - 1, "Message", out, sizeof(out)), 1);
	assert_string_equal(out, "The request signature & so on");
	assert_int_equal(s3xml_text(ERR, sizeof(ERR) - 1, "Empty", out, sizeof(out)), 1);
	assert_string_equal(out, "");
	assert_int_equal(s3xml_text(ERR, sizeof(ERR) - 1, "UploadId", out, sizeof(out)), 0);
	/* too small a buffer */
	assert_int_equal(s3xml_text(ERR, sizeof(ERR) - 1, "Code", out, 5), -1);
	/* truncated document */
	assert_int_equal(s3xml_text(ERR, 60, "Message", out, sizeof(out)), -1);
	/* nested: only the element's own text */
	static const char NEST[] = "<R><UploadId>ab<X>zz</X>cd</UploadId></R>";
	assert_int_equal(s3xml_text(NEST, sizeof(NEST) - 1, "UploadId", out, sizeof(out)), 1);
	assert_string_equal(out, "abcd");
	assert_int_equal(s3xml_text("", 0, "Code", out, sizeof(out)), -1);
	assert_int_equal(s3xml_text("<a></b>", 7, "Code", out, sizeof(out)), -1);
}

static void test_count(void **state)
{
	static const char UP[] =
		"<ListMultipartUploadsResult><Bucket>b</Bucket><Upload><Key>k</Key><UploadId>1</UploadId>"
		"</Upload><Upload><Key>k</Key><UploadId>2</UploadId></Upload></ListMultipartUploadsResult>";

	(void)state;
	assert_int_equal(s3xml_count(UP, sizeof(UP) - 1, "Upload"), 2);
	assert_int_equal(s3xml_count(UP, sizeof(UP) - 1, "UploadId"), 2);
	assert_int_equal(s3xml_count(UP, sizeof(UP) - 1, "Nope"), 0);
	assert_int_equal(s3xml_count("<a/>", 4, "a"), 1);
	assert_int_equal(s3xml_count("<a><b></a>", 10, "b"), -1);
	assert_int_equal(s3xml_count("<a/><a/>", 8, "a"), -1);
	assert_int_equal(s3xml_count("", 0, "a"), -1);
}

static void decode_is(const char *in, const char *want)
{
	char out[64];
	size_t n = 0;

	assert_int_equal(s3xml_decode(in, strlen(in), out, sizeof(out), &n), 0);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_decode(void **state)
{
	static const char *bad[] = { "&", "&amp", "&unknown;", "&#;", "&#x;", "&#0;", "&#xD800;",
				     "&#x110000;", "&#12a;", "&#x1234567890;", "&;", "a&b" };
	char out[8];
	size_t n;

	(void)state;
	decode_is("plain", "plain");
	decode_is("&amp;&lt;&gt;&quot;&apos;", "&<>\"'");
	decode_is("&#65;&#x42;&#X43;", "ABC");
	decode_is("&#xe9;", "\xc3\xa9");
	decode_is("&#x20AC;", "\xe2\x82\xac");
	decode_is("&#x1F3B5;", "\xf0\x9f\x8e\xb5");
	decode_is("&#x10FFFF;", "\xf4\x8f\xbf\xbf");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char big[64];
		n = 0;
		if (s3xml_decode(bad[i], strlen(bad[i]), big, sizeof(big), &n) != -1)
			fail_msg("accepted %s", bad[i]);
	}
	/* appends, and refuses to overflow (keeping a NUL-terminated prefix) */
	n = 0;
	assert_int_equal(s3xml_decode("abc", 3, out, sizeof(out), &n), 0);
	assert_int_equal(s3xml_decode("def", 3, out, sizeof(out), &n), 0);
	assert_string_equal(out, "abcdef");
	assert_int_equal(s3xml_decode("gh", 2, out, sizeof(out), &n), -1);
	assert_int_equal(strlen(out), n);
	assert_true(n < sizeof(out));
	n = 6;
	assert_int_equal(s3xml_decode("&#x20AC;", 8, out, sizeof(out), &n), -1);
}

static void test_time(void **state)
{
	int64_t t = 0;

	(void)state;
	assert_int_equal(s3xml_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(s3xml_time("2009-10-12T17:50:30.000Z", &t), 0);
	assert_int_equal(t, 1255369830);
	assert_int_equal(s3xml_time("2009-10-12T17:50:30.123456+00:00", &t), 0);
	assert_int_equal(t, 1255369830);
	static const char *bad[] = { "", "2009-10-12", "2009-10-12T17:50:30", "2009-10-12T17:50:30.Z",
				     "2009-13-12T17:50:30Z", "2009-10-12T24:00:00Z", "2009-10-12 17:50:30Z",
				     "2009-10-12T17:50:30+01:00", "20a9-10-12T17:50:30Z",
				     "2009-10-12T17:50:30ZZ" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (s3xml_time(bad[i], &t) != -1)
			fail_msg("accepted %s", bad[i]);
}

static void test_tokens(void **state)
{
	static const char DOC[] = "<?xml?><a x='1>' y=\"2\"><b/>t&amp;<![CDATA[c]]><!--x--></a>";
	struct s3xml x;
	struct s3xml_tok t;
	enum s3xml_type want[] = { S3XML_OPEN, S3XML_EMPTY, S3XML_TEXT, S3XML_CDATA, S3XML_CLOSE,
				   S3XML_EOF };

	(void)state;
	s3xml_init(&x, DOC, sizeof(DOC) - 1);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(s3xml_next(&x, &t), 0);
		assert_int_equal(t.type, want[i]);
	}
	/* a malformed tag leaves the cursor where it was */
	s3xml_init(&x, "ab<", 3);
	assert_int_equal(s3xml_next(&x, &t), 0);
	assert_int_equal(t.type, S3XML_TEXT);
	size_t pos = x.pos;
	assert_int_equal(s3xml_next(&x, &t), -1);
	assert_int_equal(x.pos, pos);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_malformed),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_tokens),
	};

	return cmocka_run_group_tests_name("store/s3xml", tests, NULL, NULL);
}
