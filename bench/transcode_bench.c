/* transcode_bench.c — run tonearm's ingest work on audio files, `jobs` tracks at a time, and
 * print one line per track (wall seconds) plus the run's throughput and memory:
 *
 *     transcode_bench [-j JOBS] [-l LADDER] [-n | -s] FILE…
 *
 * Each file is added to a temporary catalogue (read in place) and transcoded into a temporary
 * file store while the same decode is analysed (loudness, true peak, fingerprint, peaks,
 * features), exactly as the `transcode` job does for an imported track. -n skips the analysis
 * (the ladder alone); -s analyses in a decode of its own first (media_analyse, as the `analyse`
 * job does). Memory: peak RSS (VmHWM) minus the RSS before the first run. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "catalog/catalog.h"
#include "db/db.h"
#include "db/migrate.h"
#include "media/analyse.h"
#include "store/store.h"
#include "stream/stream.h"

static struct stream *sm;
static char **files, ids[256][64];
static int nfiles;
static atomic_int next_file;
static double secs[256];
static int analyse = 1; /* 0: none (-n), 1: in the ladder's decode, 2: a decode of its own (-s) */

static long status_kb(const char *field)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = atol(line + strlen(field) + 1);
	fclose(f);
	return v;
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		int i = atomic_fetch_add(&next_file, 1);
		struct err e = ERR_INIT;
		int64_t t0;
		if (i >= nfiles)
			return NULL;
		t0 = clock_mono_ns();
		struct stream_analysis sa = { 0 };

		if (analyse == 2) {
			if (media_analyse(files[i], NULL, &sa.an, &e) < 0) {
				fprintf(stderr, "%s: %s\n", files[i], e.msg);
				exit(1);
			}
			media_analysis_release(&sa.an);
		}
		if (stream_transcode_path(sm, ids[i], files[i], analyse == 1 ? &sa : NULL, NULL, NULL, &e) < 0) {
			fprintf(stderr, "%s: %s\n", files[i], e.msg);
			exit(1);
		}
		if (analyse == 1 && sa.err.code != ERR_NONE) {
			fprintf(stderr, "%s: analysis: %s\n", files[i], sa.err.msg);
			exit(1);
		}
		media_analysis_release(&sa.an);
		secs[i] = (double)(clock_mono_ns() - t0) / 1e9;
	}
}

int main(int argc, char **argv)
{
	int jobs = 1, opt;
	const char *ladder = STREAM_LADDER_DEFAULT;
	char tmpl[] = "/tmp/tonearm-tbench-XXXXXX", url[512], cmd[600];
	struct err e = ERR_INIT;
	struct db *db;
	struct store *st;
	struct catalog *cat;
	struct stream_options o;
	pthread_t th[64];
	long rss0;
	int64_t t0;
	double wall;

	while ((opt = getopt(argc, argv, "j:l:ns")) != -1) {
		if (opt == 'j')
			jobs = atoi(optarg);
		else if (opt == 'l')
			ladder = optarg;
		else if (opt == 'n')
			analyse = 0;
		else if (opt == 's')
			analyse = 2;
		else
			return 2;
	}
	files = argv + optind;
	nfiles = argc - optind;
	if (nfiles < 1 || nfiles > 256 || jobs < 1 || jobs > 64) {
		fprintf(stderr, "usage: transcode_bench [-j JOBS] [-l LADDER] [-n | -s] FILE… (1–256 files)\n");
		return 2;
	}
	if (!mkdtemp(tmpl))
		return 1;
	snprintf(url, sizeof(url), "sqlite://%s/db.sqlite", tmpl);
	if (!(db = db_open(url, NULL, &e)) || db_migrate(db, &e) < 0)
		goto fail;
	snprintf(url, sizeof(url), "file://%s/store", tmpl);
	if (!(st = store_open(url, NULL, &e)) || !(cat = catalog_new(db, &e)))
		goto fail;
	stream_options_default(&o);
	if (stream_ladder_parse(ladder, &o, &e) < 0)
		goto fail;
	memset(o.master_key, 0x42, sizeof(o.master_key));
	if (!(sm = stream_new(db, st, cat, &o, &e)))
		goto fail;
	for (int i = 0; i < nfiles; i++) {
		struct catalog_artist_input a = { "Bench", NULL, NULL, CATALOG_ROLE_MAIN };
		struct catalog_track_input in = { 0 };
		struct catalog_track_added added;
		char sha[65];
		snprintf(sha, sizeof(sha), "%064x", i + 1);
		in.title = files[i];
		in.artists = &a;
		in.nartists = 1;
		in.sha256 = sha;
		in.path = files[i];
		in.lossless = true;
		if (catalog_track_add(cat, &in, &added, &e) < 0)
			goto fail;
		snprintf(ids[i], sizeof(ids[i]), "%s", added.id);
	}
	rss0 = status_kb("VmRSS:");
	t0 = clock_mono_ns();
	for (int i = 0; i < jobs; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (int i = 0; i < jobs; i++)
		pthread_join(th[i], NULL);
	wall = (double)(clock_mono_ns() - t0) / 1e9;
	for (int i = 0; i < nfiles; i++)
		printf("track %d %.3f s\n", i, secs[i]);
	printf("wall %.3f s, %.2f tracks/min, jobs %d\n", wall, nfiles * 60.0 / wall, jobs);
	printf("rss_above_idle %.1f MiB (peak %.1f MiB)\n", (status_kb("VmHWM:") - rss0) / 1024.0,
	       status_kb("VmHWM:") / 1024.0);
	stream_free(sm);
	catalog_free(cat);
	store_close(st);
	db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	return system(cmd) == 0 ? 0 : 1;
fail:
	fprintf(stderr, "transcode_bench: %s\n", e.msg);
	return 1;
}
