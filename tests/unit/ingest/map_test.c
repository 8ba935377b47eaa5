/* Units of the ingest pipeline that need no database: fitting tags to the catalogue's limits
 * (ingest_map), the folder image choice (ingest_art_folder) and hashing (ingest_hash_fd). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "ingest/internal.h"
#include "media/analyse.h"
#include "media/probe.h"
#include "media/tags.h"

static void test_fallbacks(void **state)
{
	struct media_tags t;
	struct catalog_track_input in;
	struct ingest_mapped m;
	struct err e = ERR_INIT;
	char *aa = "The Album Artist";

	(void)state;
	memset(&t, 0, sizeof(t));
	/* No title, no artist: the file name and "Unknown Artist". */
	assert_int_equal(ingest_map(&t, NULL, NULL, "Some Folder/07 Caf\xe9.mp3", &in, &m, &e), 0);
	assert_string_equal(in.title, "07 Caf\xef\xbf\xbd"); /* Latin-1 byte in a name: U+FFFD */
	assert_int_equal(in.nartists, 1);
	assert_string_equal(in.artists[0].name, "Unknown Artist");
	assert_int_equal(in.artists[0].role, CATALOG_ROLE_MAIN);
	ingest_mapped_release(&m);
	/* No artist but an album artist: that. */
	t.album_artists[0] = aa;
	t.nalbum_artists = 1;
	assert_int_equal(ingest_map(&t, NULL, NULL, ".hidden", &in, &m, &e), 0);
	assert_string_equal(in.title, ".hidden");
	assert_string_equal(in.artists[0].name, aa);
	assert_string_equal(in.album_artist, aa);
	ingest_mapped_release(&m);
}

static void test_limits(void **state)
{
	struct media_tags t;
	struct catalog_track_input in;
	struct ingest_mapped m;
	struct err e = ERR_INIT;
	char *title = malloc(3 * 1500 + 1), *isrc = malloc(200);
	char *artist = "A", *composer = "C", *mbid = "0383dadf-2a4e-4d10-a46a-e9e041da8eb3";

	(void)state;
	/* 1500 three-byte characters: cut to 1000 whole characters. */
	for (int i = 0; i < 1500; i++)
		memcpy(title + 3 * i, "\xe6\x97\xa5", 3);
	title[4500] = '\0';
	memset(isrc, 'X', 199);
	isrc[199] = '\0';
	memset(&t, 0, sizeof(t));
	t.title = title;
	t.isrc = isrc;
	t.artists[0] = artist;
	t.nartists = 1;
	t.mb_artist_ids[0] = mbid;
	t.nmb_artist_ids = 1;
	t.composers[0] = composer;
	t.ncomposers = 1;
	t.bpm = 1e9;
	t.has_rg_track = true;
	t.rg_track_gain = -3.5;
	assert_int_equal(ingest_map(&t, NULL, NULL, "x.flac", &in, &m, &e), 0);
	assert_int_equal(strlen(in.title), 3000);
	assert_int_equal(memcmp(in.title, title, 3000), 0);
	assert_null(in.isrc);                 /* an identifier that cannot be right is dropped */
	assert_false(in.has & CATALOG_HAS_BPM); /* an absurd tempo is unknown */
	assert_true(in.has & CATALOG_HAS_RG_TRACK);
	assert_true(in.rg_track_gain == -3.5);
	assert_int_equal(in.nartists, 2);
	assert_string_equal(in.artists[0].mbid, mbid);
	assert_int_equal(in.artists[1].role, CATALOG_ROLE_COMPOSER);
	ingest_mapped_release(&m);
	free(title);
	free(isrc);
}

static void test_analysis(void **state)
{
	struct media_tags t;
	struct media_analysis an;
	struct media_info info;
	struct catalog_track_input in;
	struct ingest_mapped m;
	struct err e = ERR_INIT;
	float peaks[4] = { -1.5f, 0.5f, -0.25f, 1.0f };

	(void)state;
	memset(&t, 0, sizeof(t));
	memset(&an, 0, sizeof(an));
	memset(&info, 0, sizeof(info));
	snprintf(info.codec, sizeof(info.codec), "flac");
	info.duration_ms = 2000;
	info.bit_rate = 5000000000LL; /* past the catalogue's range: unknown */
	an.integrated_lufs = -20.0;
	an.track_gain_db = 2.0;
	an.true_peak = 0.5;
	an.true_peak_dbtp = -6.0;
	an.peaks = peaks;
	an.npeaks = 2;
	assert_int_equal(ingest_map(&t, &info, &an, "a.flac", &in, &m, &e), 0);
	assert_true(in.has & CATALOG_HAS_LOUDNESS);
	assert_true(in.loudness_lufs == -20.0);
	assert_true(in.rg_track_gain == 2.0); /* measured, as no tag said */
	assert_int_equal(in.bitrate, 0);
	assert_int_equal(in.duration_ms, 2000);
	assert_int_equal(in.peaks_len, 4);
	assert_int_equal(((const signed char *)in.peaks)[0], -127); /* clamped */
	assert_int_equal(((const signed char *)in.peaks)[1], 64);
	assert_int_equal(((const signed char *)in.peaks)[3], 127);
	ingest_mapped_release(&m);
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void test_folder_image_choice(void **state)
{
	char dir[] = "/tmp/ta-ingest-art-XXXXXX", p[256];
	unsigned char *data = NULL;
	size_t len = 0;
	struct err e = ERR_INIT;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(ingest_art_folder(dir, &data, &len, &e), 0);
	snprintf(p, sizeof(p), "%s/AlbumArt_{x}_Large.jpg", dir);
	write_file(p, "albumart");
	snprintf(p, sizeof(p), "%s/Folder.PNG", dir);
	write_file(p, "folder");
	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	write_file(p, "text");
	assert_int_equal(ingest_art_folder(dir, &data, &len, &e), 1);
	assert_int_equal(len, 6);
	assert_memory_equal(data, "folder", 6);
	free(data);
	snprintf(p, sizeof(p), "%s/COVER.jpg", dir);
	write_file(p, "cover!");
	assert_int_equal(ingest_art_folder(dir, &data, &len, &e), 1);
	assert_memory_equal(data, "cover!", 6);
	free(data);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
}

static void test_hash(void **state)
{
	char path[] = "/tmp/ta-ingest-hash-XXXXXX", hex[65];
	int fd = mkstemp(path);
	uint64_t n = 1;
	struct err e = ERR_INIT;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ingest_hash_fd(fd, hex, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(ingest_hash_fd(fd, hex, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fallbacks),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_analysis),
		cmocka_unit_test(test_folder_image_choice),
		cmocka_unit_test(test_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
