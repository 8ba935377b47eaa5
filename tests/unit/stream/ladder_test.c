/* ladder_test.c — the ladder end to end into a temp file store and SQLite, checked with the
 * ffmpeg CLI as an independent decoder: each rendition is cut into an HLS playlist with
 * separate segment files + AES-128 key and decoded; FLAC must be bit-exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "catalog/catalog.h"
#include "db/db.h"
#include "db/migrate.h"
#include "store/store.h"
#include "stream/stream.h"

static char *dir;
static struct db *db;
static struct store *st;
static struct catalog *cat;
static struct stream *sm;
static unsigned char master[STREAM_MASTER_KEY_LEN];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* The first line a command prints, into out. */
static void capture(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void capture(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(out, (int)cap, p))
		out[0] = '\0';
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/tonearm-ladder-XXXXXX", url[512];
	struct err e = ERR_INIT;
	struct stream_options opt;
	(void)state;

	dir = strdup(mkdtemp(tmpl));
	assert_int_equal(sh("cd '%s' && F='ffmpeg -nostdin -hide_banner -loglevel error -y' && "
			    "S='aevalsrc=exprs=0.5*sin(2*PI*440*t)|0.5*sin(2*PI*660*t)' && "
			    "$F -f lavfi -i \"$S:s=44100:d=35\" -sample_fmt s16 -c:a flac s16.flac && "
			    "$F -f lavfi -i \"$S:s=48000:d=30\" -sample_fmt s32 -c:a flac -bits_per_raw_sample 24 s24.flac && "
			    "$F -f lavfi -i \"$S:s=44100:d=31\" -c:a libmp3lame -b:a 128k lossy.mp3 && "
			    "$F -f lavfi -i \"$S:s=44100:d=32\" -c:a libmp3lame -b:a 128k lossy2.mp3 && "
			    "$F -f lavfi -i \"$S:s=44100:d=33\" -c:a libmp3lame -b:a 128k lossy3.mp3 && "
			    "$F -f lavfi -i anoisesrc=c=white:d=10:a=0.5:r=44100 -ac 2 -c:a flac noise.flac && "
			    "cp noise.flac corrupt.flac && s=$(stat -c %%s noise.flac) && "
			    "openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 0 </dev/zero 2>/dev/null | head -c $(( s / 3 )) | dd of=corrupt.flac bs=1 seek=$(( s / 2 )) conv=notrunc status=none",
			    dir),
			 0);
	snprintf(url, sizeof(url), "sqlite://%s/db.sqlite", dir);
	assert_non_null(db = db_open(url, NULL, &e));
	assert_int_equal(db_migrate(db, &e), 0);
	snprintf(url, sizeof(url), "file://%s/store", dir);
	assert_non_null(st = store_open(url, NULL, &e));
	assert_non_null(cat = catalog_new(db, &e));
	stream_options_default(&opt);
	for (size_t i = 0; i < sizeof(master); i++)
		master[i] = (unsigned char)(i * 7 + 1);
	memcpy(opt.master_key, master, sizeof(master));
	assert_non_null(sm = stream_new(db, st, cat, &opt, &e));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stream_free(sm);
	catalog_free(cat);
	store_close(st);
	db_close(db);
	sh("rm -rf '%s'", dir);
	free(dir);
	return 0;
}

static void add_track(const char *file, bool lossless, char id[64])
{
	struct err e = ERR_INIT;
	struct catalog_artist_input artist = { "Tone", NULL, NULL, CATALOG_ROLE_MAIN };
	struct catalog_track_input in;
	struct catalog_track_added added;
	char path[512], sha[65];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	capture(sha, sizeof(sha), "sha256sum '%s' | cut -c1-64", path);
	memset(&in, 0, sizeof(in));
	in.title = file;
	in.artists = &artist;
	in.nartists = 1;
	in.sha256 = sha;
	in.path = path;
	in.lossless = lossless;
	assert_int_equal(catalog_track_add(cat, &in, &added, &e), 0);
	snprintf(id, 64, "%s", added.id);
}

static void run(const char *id, const char *file)
{
	struct err e = ERR_INIT;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (stream_transcode_path(sm, id, path, NULL, NULL, NULL, &e) < 0)
		fail_msg("transcode %s: %s", file, e.msg);
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* Cut rendition r into <dir>/<name>/ as an encrypted HLS playlist; returns the playlist path. */
static const char *make_playlist(const char *id, const struct stream_rendition *r, const unsigned char *key)
{
	static char pl[600];
	char sub[512], path[600];
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT, m = BUF_INIT;

	snprintf(sub, sizeof(sub), "%s/pl-%s-%s", dir, id, r->name);
	assert_int_equal(sh("mkdir -p '%s'", sub), 0);
	assert_int_equal(store_read_buf(st, r->object_key, 0, r->init_size, &b, &e), 0);
	snprintf(path, sizeof(path), "%s/init.mp4", sub);
	write_file(path, b.data, b.len);
	snprintf(path, sizeof(path), "%s/key.bin", sub);
	write_file(path, key, STREAM_KEY_LEN);
	buf_addf(&m, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:%d\n"
		     "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI=\"init.mp4\"\n",
		 r->target_duration, r->media_sequence);
	for (size_t i = 0; i < r->nsegments; i++) {
		uint64_t off, len;
		assert_int_equal(stream_segment_range(r, i, &off, &len, &e), 0);
		buf_reset(&b);
		assert_int_equal(store_read_buf(st, r->object_key, off, len, &b, &e), 0);
		snprintf(path, sizeof(path), "%s/%zu.m4s", sub, i);
		write_file(path, b.data, b.len);
		buf_addf(&m, "#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\",IV=0x%032zx\n#EXTINF:%.6f,\n%zu.m4s\n",
			 (size_t)(r->media_sequence + (int)i), (double)r->segments[i].duration / r->sample_rate, i);
	}
	buf_adds(&m, "#EXT-X-ENDLIST\n");
	snprintf(pl, sizeof(pl), "%s/index.m3u8", sub);
	write_file(pl, m.data, m.len);
	buf_release(&b);
	buf_release(&m);
	return pl;
}

static const char *hls_opt(const char *path)
{
	size_t n = strlen(path);
	return n > 5 && strcmp(path + n - 5, ".m3u8") == 0 ? "-allowed_extensions ALL" : "";
}

/* Decoded sample frames of a playlist or file, at `rate`, through the ffmpeg CLI. */
static long decoded_frames(const char *path, int rate)
{
	char out[64];
	capture(out, sizeof(out),
		"ffmpeg -nostdin -loglevel error %s -i '%s' -ar %d -ac 1 -f s16le - | wc -c",
		hls_opt(path), path, rate);
	return atol(out) / 2;
}

static void md5_of(const char *path, const char *fmt, char *out, size_t cap)
{
	capture(out, cap, "ffmpeg -nostdin -loglevel error %s -i '%s' -f %s -c:a pcm_%s -f md5 -", hls_opt(path), path,
		fmt, fmt);
}

static void check_track(const char *file, bool lossless, size_t want_renditions, const char *pcm_fmt, int rate)
{
	char id[64], src[512];
	struct err e = ERR_INIT;
	struct stream_rendition_list l = { 0 };
	unsigned char key[STREAM_KEY_LEN];
	long src_frames;

	add_track(file, lossless, id);
	run(id, file);
	assert_int_equal(stream_renditions(sm, id, &l, &e), 0);
	assert_int_equal(l.n, want_renditions);
	assert_int_equal(stream_key(sm, id, key, &e), 0);
	snprintf(src, sizeof(src), "%s/%s", dir, file);
	src_frames = decoded_frames(src, rate);
	assert_true(src_frames > (long)rate * 29);
	for (size_t i = 0; i < l.n; i++) {
		const struct stream_rendition *r = &l.items[i];
		const char *pl = make_playlist(id, r, key);
		long got = decoded_frames(pl, rate);
		uint64_t total = 0;
		/* AAC: ffmpeg (like its own HLS muxer's output) decodes the 1024 priming samples and
		 * the last frame's padding: within two AAC frames. FLAC: exact. */
		long tol = strcmp(r->codec, "fLaC") == 0 ? 0 : 2 * 1024 * (long)rate / r->sample_rate;
		if (got < src_frames || got - src_frames > tol)
			fail_msg("%s: decoded %ld frames, source %ld", r->name, got, src_frames);
		assert_true(r->nsegments >= 5);
		assert_true(r->peak_bandwidth >= r->avg_bandwidth && r->avg_bandwidth > 0);
		assert_true(r->target_duration >= 6 && r->target_duration <= 7);
		/* Aligned: every segment boundary at the same second in every rendition. */
		assert_int_equal(r->nsegments, l.items[0].nsegments);
		for (size_t n = 0; n < r->nsegments; n++) {
			double a = (double)total / r->sample_rate;
			double b = 0;
			for (size_t k = 0; k < n; k++)
				b += (double)l.items[0].segments[k].duration / l.items[0].sample_rate;
			assert_true(fabs(a - b) < 1e-9);
			assert_int_equal(r->segments[n].size % 16, 0);
			total += r->segments[n].duration;
		}
		/* The index's durations add up to the source exactly (the playlist's EXTINFs). */
		assert_int_equal((long)total, src_frames * r->sample_rate / rate);
		if (strcmp(r->codec, "fLaC") == 0) {
			char m1[128], m2[128];
			md5_of(src, pcm_fmt, m1, sizeof(m1));
			md5_of(pl, pcm_fmt, m2, sizeof(m2));
			assert_true(strlen(m1) > 4);
			assert_string_equal(m1, m2);
		} else {
			assert_string_equal(r->codec, "mp4a.40.2");
		}
	}
	/* Segment n decrypts with IV n to a moof; a wrong key does not. */
	{
		const struct stream_rendition *r = &l.items[0];
		struct buf b = BUF_INIT;
		unsigned char *pt = NULL, bad[STREAM_KEY_LEN];
		size_t ptlen = 0;
		assert_int_equal(store_read_buf(st, r->object_key, r->segments[2].offset, r->segments[2].size, &b, &e), 0);
		assert_int_equal(stream_segment_decrypt(key, 2, b.data, b.len, &pt, &ptlen, &e), 0);
		assert_memory_equal(pt + 4, "moof", 4);
		free(pt);
		pt = NULL;
		memcpy(bad, key, sizeof(bad));
		bad[0] ^= 1;
		if (stream_segment_decrypt(bad, 2, b.data, b.len, &pt, &ptlen, &e) == 0)
			assert_memory_not_equal(pt + 4, "moof", 4);
		free(pt);
		buf_release(&b);
	}
	stream_rendition_list_release(&l);
}

static void test_flac16(void **state)
{
	(void)state;
	check_track("s16.flac", true, 4, "s16le", 44100);
}

static void test_flac24(void **state)
{
	(void)state;
	check_track("s24.flac", true, 4, "s32le", 48000);
}

static void test_mp3_no_flac(void **state)
{
	(void)state;
	check_track("lossy.mp3", false, 3, "s16le", 44100);
}

static void test_wrong_key_playlist_fails(void **state)
{
	char id[64], out[64];
	struct err e = ERR_INIT;
	struct stream_rendition_list l = { 0 };
	unsigned char key[STREAM_KEY_LEN];
	const char *pl;
	(void)state;

	add_track("noise.flac", true, id);
	run(id, "noise.flac");
	assert_int_equal(stream_renditions(sm, id, &l, &e), 0);
	assert_int_equal(stream_key(sm, id, key, &e), 0);
	pl = make_playlist(id, &l.items[1], key);
	assert_true(decoded_frames(pl, 44100) > 44100 * 9);
	key[5] ^= 0x40;
	pl = make_playlist(id, &l.items[1], key);
	capture(out, sizeof(out), "ffmpeg -nostdin -loglevel quiet -allowed_extensions ALL -i '%s' -f s16le - | wc -c", pl);
	assert_true(atol(out) < 44100 * 2 * 2);
	stream_rendition_list_release(&l);
}

static void test_rerun_keeps_key(void **state)
{
	char id[64];
	struct err e = ERR_INIT;
	struct stream_rendition_list l = { 0 };
	unsigned char k1[STREAM_KEY_LEN], k2[STREAM_KEY_LEN];
	(void)state;

	add_track("lossy2.mp3", false, id);
	run(id, "lossy2.mp3");
	assert_int_equal(stream_key(sm, id, k1, &e), 0);
	run(id, "lossy2.mp3");
	assert_int_equal(stream_key(sm, id, k2, &e), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	assert_int_equal(stream_renditions(sm, id, &l, &e), 0);
	assert_int_equal(l.n, 3);
	stream_rendition_list_release(&l);
}

static void test_corrupt_source_fails_without_rows(void **state)
{
	char id[64], path[512];
	struct err e = ERR_INIT;
	struct stream_rendition_list l = { 0 };
	(void)state;

	add_track("corrupt.flac", true, id);
	snprintf(path, sizeof(path), "%s/corrupt.flac", dir);
	assert_int_equal(stream_transcode_path(sm, id, path, NULL, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "corrupt"));
	err_clear(&e);
	assert_int_equal(stream_renditions(sm, id, &l, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

static int stop_at_half(void *ud, double fraction, const char *step)
{
	(void)ud;
	(void)step;
	return fraction > 0.5 ? -1 : 0;
}

static void test_progress_stop(void **state)
{
	char id[64], path[512];
	struct err e = ERR_INIT;
	struct stream_rendition_list l = { 0 };
	(void)state;

	add_track("lossy3.mp3", false, id);
	snprintf(path, sizeof(path), "%s/lossy3.mp3", dir);
	assert_int_equal(stream_transcode_path(sm, id, path, NULL, stop_at_half, NULL, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	assert_int_equal(stream_renditions(sm, id, &l, &e), -1);
}

static void test_key_wrap(void **state)
{
	unsigned char k[STREAM_KEY_LEN], w[STREAM_WRAPPED_KEY_LEN], back[STREAM_KEY_LEN], m2[STREAM_MASTER_KEY_LEN];
	struct err e = ERR_INIT;
	(void)state;

	for (size_t i = 0; i < sizeof(k); i++)
		k[i] = (unsigned char)(200 - i);
	assert_int_equal(stream_key_wrap(master, k, w, &e), 0);
	assert_memory_not_equal(w, k, sizeof(k));
	assert_int_equal(stream_key_unwrap(master, w, back, &e), 0);
	assert_memory_equal(back, k, sizeof(k));
	memcpy(m2, master, sizeof(m2));
	m2[31] ^= 1;
	assert_int_equal(stream_key_unwrap(m2, w, back, &e), -1);
	assert_int_equal(e.code, ERR_INTERNAL);
}

static void test_master_key_file(void **state)
{
	char path[512];
	unsigned char a[STREAM_MASTER_KEY_LEN], b[STREAM_MASTER_KEY_LEN];
	struct err e = ERR_INIT;
	char mode[16];
	(void)state;

	snprintf(path, sizeof(path), "%s/master.key", dir);
	assert_int_equal(stream_master_key_load(path, a, &e), 0);
	assert_int_equal(stream_master_key_load(path, b, &e), 0);
	assert_memory_equal(a, b, sizeof(a));
	capture(mode, sizeof(mode), "stat -c %%a '%s'", path);
	assert_string_equal(mode, "600");
	sh("echo nothex > '%s'", path);
	assert_int_equal(stream_master_key_load(path, a, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
}

static void test_ladder_parse(void **state)
{
	struct stream_options o;
	struct err e = ERR_INIT;
	(void)state;

	stream_options_default(&o);
	assert_int_equal(o.nrungs, 4);
	assert_int_equal(stream_ladder_parse("aac:96,flac", &o, &e), 0);
	assert_int_equal(o.nrungs, 2);
	assert_int_equal(o.rungs[0].kbps, 96);
	assert_int_equal(stream_ladder_parse("flac", &o, &e), -1);
	assert_int_equal(stream_ladder_parse("aac:5", &o, &e), -1);
	assert_int_equal(stream_ladder_parse("aac:64,,flac", &o, &e), -1);
	assert_int_equal(stream_ladder_parse("opus:64", &o, &e), -1);
	assert_int_equal(stream_ladder_parse("aac:64,aac:64", &o, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ladder_parse),
		cmocka_unit_test(test_key_wrap),
		cmocka_unit_test(test_master_key_file),
		cmocka_unit_test(test_flac16),
		cmocka_unit_test(test_flac24),
		cmocka_unit_test(test_mp3_no_flac),
		cmocka_unit_test(test_wrong_key_playlist_fails),
		cmocka_unit_test(test_rerun_keeps_key),
		cmocka_unit_test(test_corrupt_source_fails_without_rows),
		cmocka_unit_test(test_progress_stop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
