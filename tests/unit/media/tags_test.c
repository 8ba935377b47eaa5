/* media/tags: every file of the generated corpus (tests/fixtures/make-corpus.sh) read with
 * TagLib and compared field by field with its manifest, plus explicit checks of the cases
 * that are easy to get wrong (lists per format, encodings, ID3v1 fallback, invalid bytes,
 * huge frames, absurd numbers, pictures, MusicBrainz ids, ReplayGain). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/utf8.h"
#include "media/tags.h"

#define FFFD "\xef\xbf\xbd"

static char tmpdir[] = "/tmp/tonearm-tags-XXXXXX";
static char corpus[sizeof tmpdir + 16];
static json_t *manifest;

/* ---- setup: generate the corpus once for the whole suite ---------------------------- */

static void script_path(char *out, size_t cap)
{
#ifdef TONEARM_SOURCE_DIR
	snprintf(out, cap, "%s/tests/fixtures/make-corpus.sh", TONEARM_SOURCE_DIR);
#else
	/* __FILE__ is <source>/tests/unit/media/tags_test.c */
	const char *tail = strstr(__FILE__, "tests/unit/media/tags_test.c");
	int n = tail ? (int)(tail - __FILE__) : 0;
	snprintf(out, cap, "%.*stests/fixtures/make-corpus.sh", n, n ? __FILE__ : "./");
#endif
}

static int setup(void **state)
{
	(void)state;
	char script[4096], cmd[8192];
	json_error_t jerr;

	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(corpus, sizeof corpus, "%s/corpus", tmpdir);
	script_path(script, sizeof script);
	snprintf(cmd, sizeof cmd, "sh '%s' '%s'", script, corpus);
	if (system(cmd) != 0) {
		fprintf(stderr, "corpus generation failed: %s\n", cmd);
		return -1;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/manifest.json", corpus);
	manifest = json_load_file(path, 0, &jerr);
	if (!manifest) {
		fprintf(stderr, "manifest: %s\n", jerr.text);
		return -1;
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	json_decref(manifest);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void cpath(char *out, size_t cap, const char *rel)
{
	snprintf(out, cap, "%s/%s", corpus, rel);
}

/* Read a corpus file, asserting success. */
static void read_ok(const char *rel, struct media_tags *t)
{
	char path[4096];
	struct err e = ERR_INIT;
	cpath(path, sizeof path, rel);
	if (media_tags_read(path, t, &e) != 0)
		fail_msg("%s: %s", rel, e.msg);
}

/* ---- the manifest, field by field ---------------------------------------------------- */

enum kind { F_STR, F_LIST, F_INT, F_DBL, F_BOOL };
struct field {
	const char *name;
	enum kind kind;
	size_t off, count_off;
};
#define S(f) { #f, F_STR, offsetof(struct media_tags, f), 0 }
#define L(f) { #f, F_LIST, offsetof(struct media_tags, f), offsetof(struct media_tags, n##f) }
#define I(f) { #f, F_INT, offsetof(struct media_tags, f), 0 }
#define D(f) { #f, F_DBL, offsetof(struct media_tags, f), 0 }
#define B(f) { #f, F_BOOL, offsetof(struct media_tags, f), 0 }
static const struct field fields[] = {
	S(title), L(artists), S(album), L(album_artists), B(compilation), I(track), I(track_total),
	I(disc), I(disc_total), S(date), I(year), L(genres), L(composers), S(isrc), S(label), D(bpm),
	S(lyrics), S(mb_recording_id), S(mb_release_id), L(mb_artist_ids), L(mb_album_artist_ids),
	D(rg_track_gain), D(rg_track_peak), D(rg_album_gain), D(rg_album_peak), B(has_rg_track),
	B(has_rg_album), S(sort_title), S(sort_artist), S(sort_album_artist), S(sort_album),
};

/* Every string: valid UTF-8, no surrounding white space, not empty. */
static int check_text(const char *file, const char *name, const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || !utf8_valid(s, n) || s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == '\n') {
		print_error("%s: %s is empty, untrimmed or invalid UTF-8: \"%s\"\n", file, name, s);
		return 1;
	}
	return 0;
}

static int check_all_text(const char *file, const struct media_tags *t)
{
	int bad = 0;
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const char *base = (const char *)t + fields[i].off;
		if (fields[i].kind == F_STR && *(char *const *)base)
			bad += check_text(file, fields[i].name, *(char *const *)base);
		if (fields[i].kind == F_LIST) {
			size_t n = *(const size_t *)((const char *)t + fields[i].count_off);
			for (size_t j = 0; j < n; j++)
				bad += check_text(file, fields[i].name, ((char *const *)base)[j]);
		}
	}
	return bad;
}

/* Compare one field with `want` (NULL: must be empty). Returns the number of mismatches. */
static int check_field(const char *file, const struct field *f, const struct media_tags *t, json_t *want)
{
	const char *base = (const char *)t + f->off;
	switch (f->kind) {
	case F_STR: {
		const char *got = *(char *const *)base;
		const char *exp = want ? json_string_value(want) : NULL;
		if ((got == NULL) != (exp == NULL) || (got && strcmp(got, exp) != 0)) {
			print_error("%s: %s = \"%s\", want \"%s\"\n", file, f->name, got ? got : "(null)", exp ? exp : "(null)");
			return 1;
		}
		return 0;
	}
	case F_LIST: {
		char *const *got = (char *const *)base;
		size_t n = *(const size_t *)((const char *)t + f->count_off);
		size_t m = want ? json_array_size(want) : 0;
		int bad = n != m;
		for (size_t i = 0; !bad && i < n; i++)
			bad = strcmp(got[i], json_string_value(json_array_get(want, i))) != 0;
		if (bad) {
			print_error("%s: %s has %zu values (want %zu):", file, f->name, n, m);
			for (size_t i = 0; i < n; i++)
				print_error(" \"%s\"", got[i]);
			print_error("\n");
		}
		return bad;
	}
	case F_INT: {
		int got = *(const int *)base;
		json_int_t exp = want ? json_integer_value(want) : 0;
		if (got != exp) {
			print_error("%s: %s = %d, want %lld\n", file, f->name, got, (long long)exp);
			return 1;
		}
		return 0;
	}
	case F_DBL: {
		double got = *(const double *)base;
		double exp = want ? json_number_value(want) : 0;
		if (fabs(got - exp) > 1e-9) {
			print_error("%s: %s = %g, want %g\n", file, f->name, got, exp);
			return 1;
		}
		return 0;
	}
	case F_BOOL: {
		bool got = *(const bool *)base;
		bool exp = want ? json_is_true(want) : false;
		if (got != exp) {
			print_error("%s: %s = %d, want %d\n", file, f->name, got, exp);
			return 1;
		}
		return 0;
	}
	}
	return 1;
}

static int check_picture(const char *file, const struct media_tags *t, json_t *want)
{
	const struct media_picture *p = &t->picture;
	if (!want) {
		if (p->data || p->size) {
			print_error("%s: unexpected picture (%zu bytes)\n", file, p->size);
			return 1;
		}
		return 0;
	}
	if (!p->data || p->size != (size_t)json_integer_value(json_object_get(want, "size")) ||
	    strcmp(p->mime, json_string_value(json_object_get(want, "mime"))) != 0 ||
	    p->type != json_integer_value(json_object_get(want, "type"))) {
		print_error("%s: picture %s %zu bytes type %d, want %s %lld type %lld\n", file, p->mime, p->size,
		            p->type, json_string_value(json_object_get(want, "mime")),
		            (long long)json_integer_value(json_object_get(want, "size")),
		            (long long)json_integer_value(json_object_get(want, "type")));
		return 1;
	}
	return 0;
}

static bool tags_empty(const struct media_tags *t)
{
	struct media_tags zero = { 0 };
	return memcmp(t, &zero, sizeof zero) == 0;
}

static void test_manifest(void **state)
{
	(void)state;
	json_t *files = json_object_get(manifest, "files");
	size_t i, checked = 0;
	int bad = 0;
	json_t *entry;

	assert_true(json_array_size(files) >= 40);
	json_array_foreach(files, i, entry) {
		const char *rel = json_string_value(json_object_get(entry, "path"));
		const char *mode = json_string_value(json_object_get(entry, "read"));
		json_t *expect = json_object_get(entry, "expect");
		char path[4096];
		struct media_tags t = { 0 };
		struct err e = ERR_INIT;

		cpath(path, sizeof path, rel);
		int rc = media_tags_read(path, &t, &e);
		if (strcmp(mode, "fail_or_empty") == 0) {
			if (rc == 0 ? !tags_empty(&t) : e.code != ERR_INVALID) {
				print_error("%s: want failure (invalid) or empty tags, got rc %d %s\n", rel, rc, e.msg);
				bad++;
			}
		} else if (rc != 0) {
			if (strcmp(mode, "ok") == 0 || json_object_size(expect) > 0) {
				print_error("%s: read failed: %s\n", rel, e.msg);
				bad++;
			}
		} else {
			bool strict = strcmp(mode, "ok") == 0;
			bad += check_all_text(rel, &t);
			for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
				json_t *want = json_object_get(expect, fields[k].name);
				if (strict || want)
					bad += check_field(rel, &fields[k], &t, want);
			}
			json_t *pic = json_object_get(expect, "picture");
			if (strict || pic)
				bad += check_picture(rel, &t, pic);
		}
		media_tags_release(&t);
		assert_true(tags_empty(&t));

		/* the folder image a later import picks up is where the manifest says */
		json_t *img = json_object_get(entry, "folder_image");
		if (img) {
			char dir[4096], ipath[4200];
			struct stat st;
			snprintf(dir, sizeof dir, "%s", path);
			*strrchr(dir, '/') = '\0';
			snprintf(ipath, sizeof ipath, "%s/%s", dir, json_string_value(json_object_get(img, "name")));
			if (stat(ipath, &st) != 0 || st.st_size != json_integer_value(json_object_get(img, "size"))) {
				print_error("%s: folder image %s missing or of the wrong size\n", rel, ipath);
				bad++;
			}
		}
		checked++;
	}
	assert_int_equal(checked, json_array_size(files));
	assert_int_equal(bad, 0);
}

/* ---- the tricky cases, spelled out -------------------------------------------------------- */

static void test_lists_per_format(void **state)
{
	(void)state;
	static const char *const files[] = {
		"formats/mp3-id3v24.mp3", "formats/mp3-id3v23-utf16.mp3", "formats/m4a-aac.m4a",
		"formats/m4a-alac.m4a", "formats/flac.flac", "formats/vorbis.ogg", "formats/opus.opus",
		"formats/wav-id3.wav",
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		struct media_tags t = { 0 };
		read_ok(files[i], &t);
		/* ID3v2.4 lists, v2.3 TXXX ARTISTS over TPE1 "A feat. B", MP4 ARTISTS over ©ART,
		 * repeated Vorbis fields */
		assert_int_equal(t.nartists, 2);
		assert_string_equal(t.artists[0], "Artist A");
		assert_string_equal(t.artists[1], "Artist B");
		assert_int_equal(t.nmb_artist_ids, 2);
		assert_string_equal(t.mb_artist_ids[0], "0383dadf-2a4e-4d10-a46a-e9e041da8eb3");
		assert_string_equal(t.mb_artist_ids[1], "9c9f1380-2516-4fc9-a3e6-f9f61941d090");
		assert_string_equal(t.mb_recording_id, "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae");
		assert_string_equal(t.mb_release_id, "1d4f2a3b-5c6d-4e7f-8a9b-0c1d2e3f4a5b");
		assert_int_equal(t.track, 3);
		assert_int_equal(t.track_total, 12);
		assert_int_equal(t.disc, 1);
		assert_int_equal(t.disc_total, 2);
		assert_int_equal(t.year, 2019);
		assert_true(t.has_rg_track && t.has_rg_album);
		assert_true(fabs(t.rg_track_gain - -6.5) < 1e-9 && fabs(t.rg_track_peak - 0.988) < 1e-9);
		assert_true(fabs(t.rg_album_gain - -7.25) < 1e-9 && fabs(t.rg_album_peak - 1.0) < 1e-9);
		assert_true(fabs(t.bpm - 128) < 1e-9);
		assert_string_equal(t.isrc, "GBAYE1900001");
		assert_string_equal(t.label, "Tonearm Records");
		assert_string_equal(t.lyrics, "First line\nSecond line");
		/* the front cover, although a back cover comes first (MP4: the first covr) */
		assert_string_equal(t.picture.mime, "image/jpeg");
		assert_int_equal(t.picture.type, MEDIA_PICTURE_FRONT_COVER);
		assert_true(t.picture.size > 100 && t.picture.data[0] == 0xff && t.picture.data[1] == 0xd8);
		media_tags_release(&t);
	}
}

static void test_encodings(void **state)
{
	(void)state;
	struct media_tags t = { 0 };

	read_ok("tags/mp3-latin1.mp3", &t);
	assert_string_equal(t.title, "Caf\xc3\xa9 M\xc3\xbcller");
	assert_string_equal(t.artists[0], "\xc3\x91" "and\xc3\xba Se\xc3\xb1or");
	media_tags_release(&t);

	read_ok("tags/mp3-utf16be.mp3", &t);
	assert_string_equal(t.title, "Без BOM — 日本語");
	assert_int_equal(t.nartists, 2);
	assert_string_equal(t.artists[1], "Виктор Цой");
	media_tags_release(&t);

	read_ok("formats/mp3-id3v23-utf16.mp3", &t);
	assert_string_equal(t.title, "MP3 ID3v2.3 UTF-16 \xe2\x98\x95");
	media_tags_release(&t);

	read_ok("unicode/emoji.opus", &t);
	assert_string_equal(t.title, "\xf0\x9f\x8e\xb5 Party \xf0\x9f\x8e\x89");
	media_tags_release(&t);

	read_ok("unicode/arabic.mp3", &t);
	assert_string_equal(t.artists[0], "فيروز");
	assert_string_equal(t.album, "שיר השירים");
	media_tags_release(&t);
}

static void test_id3v1(void **state)
{
	(void)state;
	struct media_tags t = { 0 };

	/* an ID3v2 tag with only TSSE must not hide the ID3v1 values */
	read_ok("tags/mp3-v2-encoder-v1-values.mp3", &t);
	assert_string_equal(t.title, "Fallback Title");
	assert_string_equal(t.artists[0], "Fallback Artist");
	assert_string_equal(t.album, "Fallback Album");
	assert_int_equal(t.year, 2001);
	assert_int_equal(t.track, 4);
	media_tags_release(&t);

	/* both: ID3v2 wins (the ID3v1 title is cut at 30 bytes), ID3v1 fills the album */
	read_ok("tags/mp3-v1-and-v2.mp3", &t);
	assert_string_equal(t.title, "A Title Longer Than Thirty Characters Fits v2");
	assert_string_equal(t.artists[0], "V2 Artist");
	assert_int_equal(t.nartists, 1);
	assert_string_equal(t.album, "V1 Album");
	media_tags_release(&t);

	read_ok("tags/mp3-id3v1-only.mp3", &t);
	assert_string_equal(t.title, "V1 Only Title");
	assert_string_equal(t.genres[0], "Rock");
	media_tags_release(&t);
}

/* TagLib 1.13 decodes each value in its declared encoding and drops one that is invalid
 * (bad UTF-8, a lone UTF-16 surrogate) or cuts it at a NUL, so invalid bytes never reach
 * us: the value is missing, never passed on, and the rest of the tag is intact. (Whatever
 * TagLib does return still goes through utf8_sanitize; the fuzzer checks that.) */
static void test_invalid_bytes(void **state)
{
	(void)state;
	struct media_tags t = { 0 };

	read_ok("bad/flac-invalid-utf8.flac", &t);
	assert_null(t.title);
	assert_int_equal(t.nartists, 1);
	assert_string_equal(t.artists[0], "Good Artist");
	media_tags_release(&t);

	read_ok("bad/mp3-invalid-utf8.mp3", &t);
	assert_null(t.title); /* v2.4 UTF-8 frame with \xff\xfe\xc3( */
	assert_null(t.album); /* UTF-16 frame with a lone high surrogate */
	assert_string_equal(t.artists[0], "Good Artist");
	media_tags_release(&t);

	read_ok("bad/flac-nul-byte.flac", &t);
	assert_string_equal(t.title, "Before");
	media_tags_release(&t);

	/* ID3v1 and RIFF INFO bytes that are UTF-8 are read as UTF-8, not as Latin-1 mojibake */
	read_ok("tags/mp3-id3v1-utf8.mp3", &t);
	assert_string_equal(t.title, "M\xc3\xb6tley Cr\xc3\xbc" "e");
	media_tags_release(&t);
	read_ok("formats/wav-info.wav", &t);
	assert_string_equal(t.artists[0], "Info \xc3\x84rtist");
	media_tags_release(&t);
}

static void test_huge_and_absurd(void **state)
{
	(void)state;
	struct media_tags t = { 0 };

	read_ok("bad/mp3-huge-frame.mp3", &t);
	assert_string_equal(t.title, "Huge Frame");
	assert_string_equal(t.artists[0], "Still Read");
	media_tags_release(&t);

	read_ok("bad/mp3-huge-tag.mp3", &t);
	assert_string_equal(t.title, "Huge Tag");
	media_tags_release(&t);

	read_ok("bad/mp3-absurd-numbers.mp3", &t);
	assert_int_equal(t.track, 0);
	assert_int_equal(t.track_total, 0);
	assert_int_equal(t.disc, 0);
	assert_int_equal(t.disc_total, 0);
	assert_true(t.bpm == 0);
	media_tags_release(&t);

	read_ok("bad/flac-absurd-numbers.flac", &t);
	assert_int_equal(t.track + t.track_total + t.disc + t.disc_total, 0);
	assert_int_equal(t.year, 2019);
	assert_false(t.has_rg_track);
	assert_int_equal(t.nartists, 2); /* "Same", "Same", " ", "", "Other " */
	assert_string_equal(t.artists[1], "Other");
	media_tags_release(&t);
}

static void test_compilation(void **state)
{
	(void)state;
	static const char *const files[] = {
		"compilation/Various Artists - Compilation Hits/01 One.mp3",
		"compilation/Various Artists - Compilation Hits/02 Two.m4a",
		"compilation/Various Artists - Compilation Hits/03 Three.flac",
	};
	for (size_t i = 0; i < 3; i++) {
		struct media_tags t = { 0 };
		read_ok(files[i], &t);
		assert_true(t.compilation);
		assert_string_equal(t.album_artists[0], "Various Artists");
		assert_int_equal(t.track, (int)i + 1);
		media_tags_release(&t);
	}
	struct media_tags t = { 0 };
	read_ok("formats/flac.flac", &t);
	assert_false(t.compilation);
	media_tags_release(&t);
}

/* The content decides the format, not the name: a FLAC named .mp3, an MP3 without extension. */
static void test_content_over_name(void **state)
{
	(void)state;
	static const struct { const char *src, *dst, *title; } cases[] = {
		{ "formats/flac.flac", "flac-named.mp3", "FLAC" },
		{ "formats/mp3-id3v24.mp3", "no-extension", "MP3 ID3v2.4" },
		{ "formats/m4a-aac.m4a", "mp4-named.ogg", "M4A AAC" },
		{ "formats/opus.opus", "opus-named.ogg", "Opus" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char src[4096], dst[4096], cmd[9000];
		struct media_tags t = { 0 };
		struct err e = ERR_INIT;
		cpath(src, sizeof src, cases[i].src);
		snprintf(dst, sizeof dst, "%s/%s", tmpdir, cases[i].dst);
		snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(media_tags_read(dst, &t, &e), 0);
		assert_string_equal(t.title, cases[i].title);
		assert_int_equal(t.nartists, 2);
		media_tags_release(&t);
	}
}

static void test_errors(void **state)
{
	(void)state;
	struct media_tags t = { 0 };
	struct err e = ERR_INIT;
	char path[4096];

	cpath(path, sizeof path, "does/not/exist.mp3");
	assert_int_equal(media_tags_read(path, &t, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_true(tags_empty(&t));

	err_clear(&e);
	cpath(path, sizeof path, "formats");
	assert_int_equal(media_tags_read(path, &t, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);

	err_clear(&e);
	cpath(path, sizeof path, "bad/text.mp3");
	assert_int_equal(media_tags_read(path, &t, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_true(tags_empty(&t));

	err_clear(&e);
	cpath(path, sizeof path, "bad/image.flac");
	assert_int_equal(media_tags_read(path, &t, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);

	media_tags_release(&t); /* a released (empty) struct may be released again */
	media_tags_release(NULL);
}

/* import reads in parallel: the same files from several threads give the same answers. */
static void *reader(void *arg)
{
	(void)arg;
	static const char *const files[] = { "formats/mp3-id3v24.mp3", "formats/flac.flac",
		                             "formats/m4a-aac.m4a", "formats/opus.opus" };
	for (int round = 0; round < 10; round++)
		for (size_t i = 0; i < 4; i++) {
			char path[4096];
			struct media_tags t = { 0 };
			struct err e = ERR_INIT;
			cpath(path, sizeof path, files[i]);
			if (media_tags_read(path, &t, &e) != 0 || t.nartists != 2 || t.picture.size == 0)
				return (void *)1;
			media_tags_release(&t);
		}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *res;
		assert_int_equal(pthread_join(th[i], &res), 0);
		assert_null(res);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_lists_per_format),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_id3v1),
		cmocka_unit_test(test_invalid_bytes),
		cmocka_unit_test(test_huge_and_absurd),
		cmocka_unit_test(test_compilation),
		cmocka_unit_test(test_content_over_name),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
