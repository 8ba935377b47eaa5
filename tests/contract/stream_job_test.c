/* stream_job_test.c — the `transcode` job handler through the real job queue (jobs/) on
 * SQLite and a file store: a track whose original is a store object (read through
 * /proc/self/fd), a track read in place, and a corrupt source that fails with the decoder's
 * reason and leaves no rows; a track without an analysis gets it from the ladder's decode,
 * equal to a decode of its own, and only once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "catalog/catalog.h"
#include "db/db.h"
#include "db/migrate.h"
#include "jobs/jobs.h"
#include "media/analyse.h"
#include "store/store.h"
#include "stream/stream.h"

static char *dir;
static struct db *db;
static struct store *st;
static struct catalog *cat;
static struct stream *sm;
static struct jobs *q;

/* What the analysis sink was handed. */
static struct {
	int calls;
	char track[64];
	struct media_analysis an;
} sunk;

/* As ingest_record_analysis, reduced to what the test checks: keep a copy, record the
 * fingerprint and peaks so the track counts as analysed. */
static int sink(struct catalog *c, const char *track_id, const struct media_analysis *an, struct err *e)
{
	signed char peaks[4] = { -1, 1, -2, 2 };
	struct catalog_analysis ca = { .fingerprint = an->fingerprint, .peaks = peaks, .peaks_len = sizeof(peaks) };

	sunk.calls++;
	snprintf(sunk.track, sizeof(sunk.track), "%s", track_id);
	media_analysis_release(&sunk.an);
	sunk.an = *an;
	sunk.an.fingerprint = strdup(an->fingerprint);
	sunk.an.fingerprint_raw = NULL;
	sunk.an.peaks = NULL;
	assert_non_null(sunk.an.fingerprint);
	return catalog_track_set_analysis(c, track_id, &ca, e);
}

static bool use_pg;
static char pg_dir[600];

/* tests/lib/pg.sh, found next to this file. */
static void pg_script(char *out, size_t cap)
{
	const char *f = __FILE__, *slash = strrchr(f, '/');
	snprintf(out, cap, "%.*s/../lib/pg.sh", slash ? (int)(slash - f) : 1, slash ? f : ".");
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/tonearm-sjob-XXXXXX", url[512], cmd[2048];
	struct err e = ERR_INIT;
	struct stream_options opt;
	(void)state;

	dir = strdup(mkdtemp(tmpl));
	assert_int_equal(chmod(dir, 0755), 0); /* pg.sh runs the server as `postgres` */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && F='ffmpeg -nostdin -hide_banner -loglevel error -y' && "
		 "$F -f lavfi -i 'aevalsrc=exprs=0.5*sin(2*PI*440*t)|0.5*sin(2*PI*660*t):s=44100:d=20' -c:a flac a.flac && "
		 "$F -f lavfi -i 'aevalsrc=exprs=0.4*sin(2*PI*330*t)*sin(2*PI*0.5*t)|0.3*sin(2*PI*550*t):s=44100:d=20' -c:a flac d.flac && "
		 "$F -f lavfi -i 'aevalsrc=exprs=0.5*sin(2*PI*440*t)|0.5*sin(2*PI*660*t):s=44100:d=21' -c:a libmp3lame b.mp3 && "
		 "$F -f lavfi -i anoisesrc=c=white:d=10:a=0.5:r=44100 -ac 2 -c:a flac c.flac && "
		 "s=$(stat -c %%s c.flac) && openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 0 </dev/zero 2>/dev/null | head -c $(( s / 3 )) | "
		 "dd of=c.flac bs=1 seek=$(( s / 2 )) conv=notrunc status=none",
		 dir);
	assert_int_equal(system(cmd), 0);
	snprintf(url, sizeof(url), "sqlite://%s/db.sqlite", dir);
	if (use_pg) {
		char script[600];
		FILE *p;
		pg_script(script, sizeof(script));
		snprintf(pg_dir, sizeof(pg_dir), "%s/pg", dir);
		snprintf(cmd, sizeof(cmd), "'%s' start '%s'", script, pg_dir);
		assert_non_null(p = popen(cmd, "r"));
		assert_non_null(fgets(url, sizeof(url), p));
		assert_int_equal(pclose(p), 0);
		url[strcspn(url, "\n")] = '\0';
	}
	assert_non_null(db = db_open(url, NULL, &e));
	assert_int_equal(db_migrate(db, &e), 0);
	snprintf(url, sizeof(url), "file://%s/store", dir);
	assert_non_null(st = store_open(url, NULL, &e));
	assert_non_null(cat = catalog_new(db, &e));
	stream_options_default(&opt);
	assert_int_equal(stream_ladder_parse("aac:64,flac", &opt, &e), 0);
	memset(opt.master_key, 0x5a, sizeof(opt.master_key));
	assert_non_null(sm = stream_new(db, st, cat, &opt, &e));
	stream_set_analysis_sink(sm, sink);
	assert_non_null(q = jobs_new(db, &(struct jobs_options){ .max_attempts = 1 }, &e));
	assert_int_equal(jobs_register(q, "transcode", stream_transcode_job, sm), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[1400];
	(void)state;
	jobs_free(q);
	stream_free(sm);
	media_analysis_release(&sunk.an);
	memset(&sunk, 0, sizeof(sunk));
	catalog_free(cat);
	store_close(st);
	db_close(db);
	q = NULL;
	sm = NULL;
	cat = NULL;
	st = NULL;
	db = NULL;
	if (use_pg) {
		char script[600];
		pg_script(script, sizeof(script));
		snprintf(cmd, sizeof(cmd), "'%s' stop '%s' >/dev/null 2>&1", script, pg_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not stop PostgreSQL in %s\n", pg_dir);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(dir);
	return 0;
}

/* Add the file as a track: as a store object (in_store) or read in place. */
static void add(const char *file, bool lossless, bool in_store, char id[64])
{
	struct err e = ERR_INIT;
	struct catalog_artist_input artist = { "Tone", NULL, NULL, CATALOG_ROLE_MAIN };
	struct catalog_track_input in;
	struct catalog_track_added added;
	char path[512], sha[80], key[128], cmd[700];
	FILE *p;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(cmd, sizeof(cmd), "sha256sum '%s' | cut -c1-64", path);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(sha, sizeof(sha), p));
	pclose(p);
	sha[64] = '\0';
	memset(&in, 0, sizeof(in));
	in.title = file;
	in.artists = &artist;
	in.nartists = 1;
	in.sha256 = sha;
	in.lossless = lossless;
	if (in_store) {
		struct buf b = BUF_INIT;
		FILE *f = fopen(path, "rb");
		char chunk[8192];
		size_t n;
		assert_non_null(f);
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			assert_int_equal(buf_add(&b, chunk, n), 0);
		fclose(f);
		snprintf(key, sizeof(key), "orig/%s", sha);
		assert_int_equal(store_put(st, key, b.data, b.len, &e), 0);
		buf_release(&b);
		in.object_key = key;
	} else {
		in.path = path;
	}
	assert_int_equal(catalog_track_add(cat, &in, &added, &e), 0);
	snprintf(id, 64, "%s", added.id);
}

/* Enqueue, claim and run the job for `id`: jobs_run's result (0 done, 1 failed). */
static int run_job(const char *id, struct jobs_info *info)
{
	struct err e = ERR_INIT;
	struct job *job = NULL;
	char jid[ID_LEN + 1];
	int rc;

	assert_int_equal(jobs_enqueue_id(q, "transcode", id, NULL, jid, &e), 0);
	assert_int_equal(jobs_claim(q, "test", &job, &e), 1);
	assert_string_equal(job_subject(job), id);
	rc = jobs_run(q, job, &e);
	job_free(job);
	assert_int_equal(jobs_get(q, jid, info, &e), 0);
	return rc;
}

static void test_store_object_source(void **state)
{
	char id[64];
	struct jobs_info info;
	struct stream_rendition_list l = { 0 };
	struct err e = ERR_INIT;
	(void)state;

	add("a.flac", true, true, id);
	if (run_job(id, &info) != 0)
		fail_msg("job failed: %s", info.error);
	assert_string_equal(info.state, "done");
	assert_true(info.progress > 0.99);
	assert_int_equal(stream_renditions(sm, id, &l, &e), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[1].codec, "fLaC");
	assert_int_equal(l.items[0].nsegments, 4); /* 20 s in 6 s segments */
	stream_rendition_list_release(&l);
}

static void test_analysis_in_the_ladders_decode(void **state)
{
	char id[64], path[512];
	struct jobs_info info;
	struct media_analysis own;
	struct err e = ERR_INIT;
	bool analysed = true;
	(void)state;

	add("d.flac", true, false, id);
	assert_int_equal(catalog_track_analysed(cat, id, &analysed, &e), 0);
	assert_false(analysed);
	sunk.calls = 0;
	if (run_job(id, &info) != 0)
		fail_msg("job failed: %s", info.error);
	assert_int_equal(sunk.calls, 1);
	assert_string_equal(sunk.track, id);
	assert_int_equal(catalog_track_analysed(cat, id, &analysed, &e), 0);
	assert_true(analysed);
	/* The same numbers as an analysis in a decode of its own. */
	snprintf(path, sizeof(path), "%s/d.flac", dir);
	assert_int_equal(media_analyse(path, NULL, &own, &e), 0);
	assert_int_equal(sunk.an.frames, own.frames);
	assert_int_equal(sunk.an.frames, 20 * 44100);
	assert_true(fabs(sunk.an.integrated_lufs - own.integrated_lufs) < 1e-9);
	assert_true(fabs(sunk.an.true_peak - own.true_peak) < 1e-9);
	assert_true(fabs(sunk.an.loudness_range_lu - own.loudness_range_lu) < 1e-9);
	assert_memory_equal(sunk.an.gating_hist, own.gating_hist, sizeof(own.gating_hist));
	assert_non_null(own.fingerprint);
	assert_string_equal(sunk.an.fingerprint, own.fingerprint);
	media_analysis_release(&own);
	/* Transcoded again: already analysed, so not again. */
	if (run_job(id, &info) != 0)
		fail_msg("job failed: %s", info.error);
	assert_int_equal(sunk.calls, 1);
}

static void test_in_place_lossy_source(void **state)
{
	char id[64];
	struct jobs_info info;
	struct stream_rendition_list l = { 0 };
	struct err e = ERR_INIT;
	(void)state;

	add("b.mp3", false, false, id);
	if (run_job(id, &info) != 0)
		fail_msg("job failed: %s", info.error);
	assert_int_equal(stream_renditions(sm, id, &l, &e), 0);
	assert_int_equal(l.n, 1); /* no FLAC from a lossy source */
	stream_rendition_list_release(&l);
}

static void test_corrupt_source_fails(void **state)
{
	char id[64];
	struct jobs_info info;
	struct stream_rendition_list l = { 0 };
	struct err e = ERR_INIT;
	(void)state;

	add("c.flac", true, true, id);
	assert_int_equal(run_job(id, &info), 1);
	assert_string_equal(info.state, "failed");
	assert_non_null(strstr(info.error, "corrupt at"));
	assert_int_equal(stream_renditions(sm, id, &l, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_object_source),
		cmocka_unit_test(test_analysis_in_the_ladders_decode),
		cmocka_unit_test(test_in_place_lossy_source),
		cmocka_unit_test(test_corrupt_source_fails),
	};
	int failed = cmocka_run_group_tests_name("sqlite", tests, setup, teardown);
	/* The same suite on PostgreSQL (tests/lib/pg.sh), unless TA_SKIP_PG is set. */
	if (!getenv("TA_SKIP_PG")) {
		use_pg = true;
		failed += cmocka_run_group_tests_name("postgres", tests, setup, teardown);
	}
	return failed;
}
