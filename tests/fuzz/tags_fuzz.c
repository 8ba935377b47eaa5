/* tags_fuzz — media_tags_read on arbitrary bytes. TagLib takes a path, so the input goes to a
 * temporary file first; the first byte picks the file's extension (which matters when the
 * content does not say the format). Checks: no crash or leak, a failure has a known code, and
 * what comes back keeps tags.h's promises (valid UTF-8 without NUL, trimmed, not empty, at most
 * MEDIA_TAGS_MAX_VALUES distinct values, numbers in range, a bounded picture).
 * Seeds: the generated corpus (tests/fixtures/make-corpus.sh DIR), e.g.
 *   build-fuzz/tags_fuzz -max_len=65536 build-fuzz/corpus/tags_fuzz DIR/formats DIR/tags DIR/bad */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/utf8.h"
#include "media/tags.h"

static const char *const exts[] = { ".mp3", ".flac", ".m4a", ".ogg", ".opus", ".wav", ".aiff", ".ape", "" };
#define NEXT (sizeof exts / sizeof exts[0])

static char paths[NEXT][64];

static void check_text(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MEDIA_TAGS_TEXT_MAX || !utf8_valid(s, n) || s[0] == ' ' || s[n - 1] == ' ')
		abort();
}

static void check_list(char *const *v, size_t n)
{
	if (n > MEDIA_TAGS_MAX_VALUES)
		abort();
	for (size_t i = 0; i < n; i++) {
		check_text(v[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[i], v[j]) == 0)
				abort();
	}
}

static void check_number(int n)
{
	if (n < 0 || n > MEDIA_TAGS_NUMBER_MAX)
		abort();
}

static void check(const struct media_tags *t)
{
	const char *const strs[] = { t->title, t->album, t->date, t->isrc, t->label, t->lyrics,
		t->mb_recording_id, t->mb_release_id, t->sort_title, t->sort_artist,
		t->sort_album_artist, t->sort_album };
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		if (strs[i])
			check_text(strs[i]);
	check_list(t->artists, t->nartists);
	check_list(t->album_artists, t->nalbum_artists);
	check_list(t->genres, t->ngenres);
	check_list(t->composers, t->ncomposers);
	check_list(t->mb_artist_ids, t->nmb_artist_ids);
	check_list(t->mb_album_artist_ids, t->nmb_album_artist_ids);
	check_number(t->track);
	check_number(t->track_total);
	check_number(t->disc);
	check_number(t->disc_total);
	if (t->year < 0 || t->year > 9999 || (t->year && !t->date))
		abort();
	if ((t->picture.data == NULL) != (t->picture.size == 0) || t->picture.size > MEDIA_TAGS_PICTURE_MAX)
		abort();
	if (memchr(t->picture.mime, '\0', sizeof t->picture.mime) == NULL)
		abort();
}

static int setup(void)
{
	for (size_t i = 0; i < NEXT; i++) {
		snprintf(paths[i], sizeof paths[i], "/tmp/tonearm-tags-fuzz-%ld-XXXXXX%s", (long)getpid(), exts[i]);
		int fd = mkstemps(paths[i], (int)strlen(exts[i]));
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

static void cleanup(void)
{
	for (size_t i = 0; i < NEXT; i++)
		if (paths[i][0])
			unlink(paths[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (setup() != 0)
			abort();
		atexit(cleanup);
		ready = 1;
	}
	if (size == 0)
		return 0;
	const char *path = paths[data[0] % NEXT];
	int fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		abort();
	const uint8_t *p = data + 1;
	size_t left = size - 1;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n <= 0)
			abort();
		p += n;
		left -= (size_t)n;
	}
	close(fd);

	struct media_tags t = { 0 };
	struct err e = ERR_INIT;
	if (media_tags_read(path, &t, &e) == 0)
		check(&t);
	else if (e.code != ERR_INVALID && e.code != ERR_IO)
		abort(); /* ERR_NOMEM/ERR_INTERNAL would mean TagLib threw: worth a look */
	media_tags_release(&t);
	return 0;
}
