/* ladder.c — the ladder's settings and the stream service; running it is transcode.c's. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/internal.h"

void stream_options_default(struct stream_options *opt)
{
	struct err e = ERR_INIT;
	memset(opt, 0, sizeof(*opt));
	opt->segment_seconds = STREAM_SEGMENT_SECONDS_DEFAULT;
	opt->live_cache_max = (uint64_t)1 << 30;
	(void)stream_ladder_parse(STREAM_LADDER_DEFAULT, opt, &e);
}

int stream_ladder_parse(const char *text, struct stream_options *opt, struct err *e)
{
	struct stream_rung rungs[STREAM_RUNGS_MAX];
	size_t n = 0, naac = 0, nflac = 0;
	const char *p = text;

	if (!text || !*text)
		return err_set(e, ERR_INVALID, "ladder: empty");
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char part[32];
		if (len == 0 || len >= sizeof(part))
			return err_set(e, ERR_INVALID, "ladder: bad rung at %zu", (size_t)(p - text));
		memcpy(part, p, len);
		part[len] = '\0';
		if (n == STREAM_RUNGS_MAX)
			return err_set(e, ERR_INVALID, "ladder: more than %d rungs", STREAM_RUNGS_MAX);
		if (strcmp(part, "flac") == 0) {
			if (nflac++)
				return err_set(e, ERR_INVALID, "ladder: flac twice");
			rungs[n++] = (struct stream_rung){ STREAM_FLAC, 0 };
		} else if (strncmp(part, "aac:", 4) == 0) {
			char *q;
			long k = strtol(part + 4, &q, 10);
			if (q == part + 4 || *q || k < 16 || k > 320)
				return err_set(e, ERR_INVALID, "ladder: AAC rate must be 16–320 kb/s");
			for (size_t i = 0; i < n; i++)
				if (rungs[i].codec == STREAM_AAC && rungs[i].kbps == k)
					return err_set(e, ERR_INVALID, "ladder: aac:%ld twice", k);
			rungs[n++] = (struct stream_rung){ STREAM_AAC, (int)k };
			naac++;
		} else {
			return err_set(e, ERR_INVALID, "ladder: unknown rung (want aac:KBPS or flac)");
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (naac == 0)
		return err_set(e, ERR_INVALID, "ladder: needs at least one aac rung");
	memcpy(opt->rungs, rungs, n * sizeof(rungs[0]));
	opt->nrungs = n;
	return 0;
}

struct stream *stream_new(struct db *db, struct store *store, struct catalog *cat,
			  const struct stream_options *opt, struct err *e)
{
	struct stream *s;
	if (!opt || opt->nrungs == 0 || opt->segment_seconds < 1 || opt->segment_seconds > 30) {
		err_set(e, ERR_INVALID, "stream: empty ladder or segment_seconds outside 1–30");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	s->db = db;
	s->store = store;
	s->cat = cat;
	s->opt = *opt;
	return s;
}

void stream_free(struct stream *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s->opt.master_key, sizeof(s->opt.master_key));
	free(s);
}
