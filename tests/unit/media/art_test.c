/* art_test.c — cover art: sniffing, resizing JPEG/PNG/WebP/GIF into a box as JPEG, and the
 * refusals (not an image, truncated, too many bytes, too many pixels). The images are made
 * at test time by the ffmpeg command line, as the rest of the test media is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "media/art.h"

static char dir[64];

static void make(const char *name, const char *size)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "ffmpeg -v error -y -f lavfi -i testsrc=size=%s -frames:v 1 '%s/%s'", size,
		 dir, name);
	assert_int_equal(system(cmd), 0);
}

static void load(const char *name, struct buf *b)
{
	char path[256];
	char chunk[65536];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	buf_init(b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_add(b, chunk, n), 0);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/art-test-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	make("land.png", "1600x900");
	make("land.jpg", "1600x900");
	make("land.webp", "1600x900");
	make("land.gif", "1600x900");
	make("tall.png", "900x1600");
	make("small.jpg", "100x50");
	make("wide.png", "16400x2");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void test_every_format(void **state)
{
	static const struct { const char *name; enum media_art_type type; } cases[] = {
		{ "land.png", MEDIA_ART_PNG },
		{ "land.jpg", MEDIA_ART_JPEG },
		{ "land.webp", MEDIA_ART_WEBP },
		{ "land.gif", MEDIA_ART_GIF },
	};
	static const int boxes[] = { 64, 300, 600, 1200 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf in, out = BUF_INIT;
		struct err e = ERR_INIT;

		load(cases[i].name, &in);
		assert_int_equal(media_art_sniff(in.data, in.len), cases[i].type);
		for (size_t b = 0; b < sizeof(boxes) / sizeof(boxes[0]); b++) {
			int w = 0, h = 0, w2 = 0, h2 = 0;
			struct buf again = BUF_INIT;

			buf_reset(&out);
			if (media_art_resize(in.data, in.len, boxes[b], &out, &w, &h, &e) < 0)
				fail_msg("%s at %d: %s", cases[i].name, boxes[b], e.msg);
			assert_int_equal(w, boxes[b]);
			assert_int_equal(h, (900 * boxes[b] + 800) / 1600);
			/* The result is a JPEG that decodes to the same size. */
			assert_int_equal(media_art_sniff(out.data, out.len), MEDIA_ART_JPEG);
			assert_int_equal(media_art_resize(out.data, out.len, 4096, &again, &w2, &h2, &e), 0);
			assert_int_equal(w2, w);
			assert_int_equal(h2, h);
			buf_release(&again);
		}
		/* Smaller boxes make smaller files. */
		{
			struct buf small = BUF_INIT;

			assert_int_equal(media_art_resize(in.data, in.len, 64, &small, NULL, NULL, &e), 0);
			assert_true(small.len < out.len);
			assert_true(small.len < 8192);
			buf_release(&small);
		}
		buf_release(&in);
		buf_release(&out);
	}
}

static void test_aspect_and_no_enlarging(void **state)
{
	struct buf in, out = BUF_INIT;
	struct err e = ERR_INIT;
	int w, h;

	(void)state;
	load("tall.png", &in);
	assert_int_equal(media_art_resize(in.data, in.len, 300, &out, &w, &h, &e), 0);
	assert_int_equal(w, 169);
	assert_int_equal(h, 300);
	buf_release(&in);

	load("small.jpg", &in);
	buf_reset(&out);
	assert_int_equal(media_art_resize(in.data, in.len, 600, &out, &w, &h, &e), 0);
	assert_int_equal(w, 100);
	assert_int_equal(h, 50);
	buf_release(&in);
	buf_release(&out);
}

static void test_refusals(void **state)
{
	struct buf in, out = BUF_INIT;
	struct err e = ERR_INIT;
	static const char junk[] = "this is not an image at all";

	(void)state;
	assert_int_equal(media_art_resize(junk, sizeof(junk), 300, &out, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(media_art_resize(junk, 0, 300, &out, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	/* The size is checked before a byte is read. */
	assert_int_equal(media_art_resize(junk, MEDIA_ART_MAX_BYTES + 1, 300, &out, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_TOO_LARGE);

	load("land.png", &in);
	assert_int_equal(media_art_resize(in.data, in.len, 0, &out, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	/* A truncated PNG: its header is intact, its pixels are not. */
	err_clear(&e);
	assert_int_equal(media_art_resize(in.data, 200, 300, &out, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	buf_release(&in);

	load("wide.png", &in);
	err_clear(&e);
	assert_int_equal(media_art_resize(in.data, in.len, 300, &out, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_TOO_LARGE);
	buf_release(&in);
	assert_int_equal(out.len, 0);
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_format),
		cmocka_unit_test(test_aspect_and_no_enlarging),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
