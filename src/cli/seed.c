/* seed.c — `tonearm seed --tracks N [--seed S]`, a hidden command for benchmarks and tests:
 * fill the catalogue with N synthetic tracks shaped like a real library (about N/10 albums,
 * N/40 artists, 50 genres, years 1955–2024, some featured artists and compilations), through
 * the catalogue's own API in large transactions. The same seed gives the same catalogue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/setup.h"
#include "db/db.h"
#include "db/migrate.h"

#define SEED_BATCH 2000 /* tracks per transaction */

static const char *const words[] = {
	"Love", "Night", "Blue", "Fire", "Dream", "River", "Light", "Heart", "Song", "Rain", "Summer",
	"Shadow", "Gold", "Road", "Home", "Star", "Ocean", "Wild", "Silver", "Morning", "Echo", "Glass",
	"Winter", "Electric", "Paper", "Stone", "Midnight", "Velvet", "Garden", "Thunder", "Crystal",
	"Árvore", "Sommer", "Nuit", "Träume", "Café", "夜", "Звезда", "Corazón", "Mañana",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

/* xorshift64*: small, fast, and the same sequence on every machine. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void words_into(char *out, size_t cap, uint64_t *s, int n, const char *prefix)
{
	size_t o = (size_t)snprintf(out, cap, "%s", prefix);

	for (int i = 0; i < n && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "", words[rnd(s) % NWORDS]);
}

/* Artist number `n`'s name: the same for every track that credits it. */
static void artist_name_of(long n, unsigned long long seed, char *out, size_t cap)
{
	uint64_t s = (uint64_t)n * 0x9E3779B97F4A7C15ULL + seed;
	size_t len;

	words_into(out, cap, &s, 1 + (int)(rnd(&s) % 2), rnd(&s) % 8 == 0 ? "The" : "");
	len = strlen(out);
	snprintf(out + len, cap - len, " %ld", n);
}

static int parse_args(int argc, char **argv, long *tracks, unsigned long long *seed)
{
	for (int i = 0; i < argc; i++) {
		char *end;

		if (i + 1 < argc && strcmp(argv[i], "--tracks") == 0) {
			*tracks = strtol(argv[++i], &end, 10);
			if (*end || *tracks < 1 || *tracks > 100000000)
				return -1;
		} else if (i + 1 < argc && strcmp(argv[i], "--seed") == 0) {
			*seed = strtoull(argv[++i], &end, 10);
			if (*end)
				return -1;
		} else {
			return -1;
		}
	}
	return *tracks > 0 ? 0 : -1;
}

int cmd_seed(const struct config *conf, int argc, char **argv)
{
	struct db *db = NULL;
	struct catalog *cat = NULL;
	struct err e = ERR_INIT;
	long tracks = 0, nalbums, nartists, done = 0;
	unsigned long long seed = 1;
	uint64_t s;
	int64_t t0 = clock_mono_ns(), now = clock_now_ms();
	bool in_batch = false;
	int ret = 1;

	if (parse_args(argc, argv, &tracks, &seed) < 0) {
		fprintf(stderr, "usage: tonearm seed --tracks N [--seed S]\n");
		return 2;
	}
	cli_setup_logging(conf);
	if (cli_open_db(conf, &db, &e) < 0 || db_migrate(db, &e) < 0)
		goto out;
	cat = catalog_new(db, &e);
	if (!cat)
		goto out;
	nalbums = tracks / 10 > 0 ? tracks / 10 : 1;
	nartists = tracks / 40 > 0 ? tracks / 40 : 1;
	s = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (long k = 0; k < tracks; k++) {
		long album = k * nalbums / tracks;
		uint64_t as = (uint64_t)album * 0x9E3779B97F4A7C15ULL + seed + 7; /* per-album stream */
		long artist = (long)(rnd(&as) % (uint64_t)nartists);
		bool compilation = rnd(&as) % 50 == 0;
		int year = 1955 + (int)(rnd(&as) % 70);
		char title[160], album_title[160], artist_name[96], feat_name[96], sha[65], key[80], date[16];
		const char *genres[2];
		char g1[32], g2[32];
		struct catalog_artist_input credits[2];
		struct catalog_track_input in;
		struct catalog_track_added added;

		words_into(album_title, sizeof(album_title), &as, 1 + (int)(rnd(&as) % 3), "");
		snprintf(album_title + strlen(album_title), sizeof(album_title) - strlen(album_title), " %ld", album);
		artist_name_of(artist, seed, artist_name, sizeof(artist_name));
		words_into(title, sizeof(title), &s, 1 + (int)(rnd(&s) % 4), "");
		snprintf(g1, sizeof(g1), "Genre %02d", (int)(rnd(&s) % 50));
		snprintf(g2, sizeof(g2), "Genre %02d", (int)(rnd(&s) % 50));
		genres[0] = g1;
		genres[1] = g2;
		snprintf(sha, sizeof(sha), "%016llx%016llx%016llx%016llx", (unsigned long long)seed,
			 (unsigned long long)k, (unsigned long long)rnd(&s), (unsigned long long)rnd(&s));
		snprintf(key, sizeof(key), "orig/%s", sha);
		snprintf(date, sizeof(date), "%04d-%02d-%02d", year, 1 + (int)(rnd(&as) % 12), 1 + (int)(rnd(&as) % 28));

		memset(credits, 0, sizeof(credits));
		credits[0].name = artist_name;
		credits[0].role = CATALOG_ROLE_MAIN;
		memset(&in, 0, sizeof(in));
		in.artists = credits;
		in.nartists = 1;
		if (compilation) {
			/* A compilation: each track by someone else. */
			uint64_t cs = (uint64_t)k * 31 + seed;

			artist_name_of((long)(rnd(&cs) % (uint64_t)nartists), seed, artist_name, sizeof(artist_name));
			in.compilation = true;
		} else if (rnd(&s) % 10 == 0) {
			artist_name_of((long)(rnd(&s) % (uint64_t)nartists), seed, feat_name, sizeof(feat_name));
			credits[1].name = feat_name;
			credits[1].role = CATALOG_ROLE_FEATURED;
			in.nartists = 2;
		}
		in.title = title;
		in.album = album_title;
		in.album_artist = compilation ? NULL : artist_name;
		in.genres = genres;
		in.ngenres = rnd(&s) % 3 == 0 ? 2 : 1;
		in.disc = 1;
		in.track = (int)(k % 10) + 1;
		in.track_total = 10;
		in.year = year;
		in.date = date;
		in.duration_ms = 90000 + (int64_t)(rnd(&s) % 300000);
		in.sha256 = sha;
		in.object_key = key;
		in.container = "flac";
		in.codec = "flac";
		in.sample_rate = 44100;
		in.channels = 2;
		in.bits = 16;
		in.bitrate = 900000;
		in.lossless = true;
		in.file_size = in.duration_ms * 110;
		in.created_at = now - (int64_t)(rnd(&s) % (5LL * 365 * 86400 * 1000));
		in.has = CATALOG_HAS_LOUDNESS;
		in.loudness_lufs = -14.0 - (double)(rnd(&s) % 80) / 10;
		in.loudness_range = 5.5;
		in.true_peak = -1.0;

		if (!in_batch) {
			if (catalog_batch_begin(cat, &e) < 0)
				goto out;
			in_batch = true;
		}
		if (catalog_track_add(cat, &in, &added, &e) < 0 && e.code != ERR_CONFLICT)
			goto out;
		done++;
		if (done % SEED_BATCH == 0) {
			in_batch = false;
			if (catalog_batch_end(cat, true, &e) < 0)
				goto out;
			if (isatty(2))
				fprintf(stderr, "\rseeded %ld/%ld", done, tracks);
		}
	}
	if (in_batch) {
		in_batch = false;
		if (catalog_batch_end(cat, true, &e) < 0)
			goto out;
	}
	printf("seeded %ld tracks in %.1f s\n", done, (double)(clock_mono_ns() - t0) / 1e9);
	ret = 0;
out:
	if (in_batch)
		catalog_batch_end(cat, false, NULL);
	if (ret)
		fprintf(stderr, "tonearm seed: %s\n", e.msg);
	catalog_free(cat);
	if (db)
		db_close(db);
	return ret;
}
