/* live_format.c — the formats of on-the-fly transcodes and their bit-rate steps (live.h).
 * Plain C: the API validates a request with these before anything is transcoded, so they stay
 * in the binary while the transcoder itself (live.c) is in the media stack (media/stack.h). */
#include <stdio.h>
#include <strings.h>
#include <string.h>

#include "store/store.h"
#include "stream/internal.h"
#include "stream/live.h"

static const struct stream_live_fmt formats[] = {
	[STREAM_LIVE_MP3] = { "mp3", "libmp3lame", "mp3", "audio/mpeg", "mp3", { 64, 96, 128, 160, 192, 256, 320 }, 192 },
	[STREAM_LIVE_OPUS] = { "opus", "libopus", "ogg", "audio/ogg", "opus", { 32, 48, 64, 96, 128, 160, 192, 256 }, 128 },
	[STREAM_LIVE_AAC] = { "aac", "aac", "adts", "audio/aac", "aac", { 64, 96, 128, 160, 192, 256 }, 192 },
};

const struct stream_live_fmt *stream_live_fmt(enum stream_live_format f)
{
	return f >= STREAM_LIVE_MP3 && f <= STREAM_LIVE_AAC ? &formats[f] : &formats[STREAM_LIVE_AAC];
}

int stream_live_format_parse(const char *name, enum stream_live_format *out, struct err *e)
{
	for (int f = STREAM_LIVE_MP3; f <= STREAM_LIVE_AAC; f++) {
		if (name && strcasecmp(name, formats[f].name) == 0) {
			*out = (enum stream_live_format)f;
			return 0;
		}
	}
	return err_set(e, ERR_INVALID, "format must be mp3, opus or aac");
}

int stream_live_kbps_min(enum stream_live_format f)
{
	return stream_live_fmt(f)->steps[0];
}

int stream_live_kbps(enum stream_live_format f, int max_kbps, int cap_kbps)
{
	const struct stream_live_fmt *lf = stream_live_fmt(f);
	int limit = max_kbps > 0 ? max_kbps : lf->def, best = lf->steps[0];

	if (cap_kbps > 0 && cap_kbps < limit)
		limit = cap_kbps;
	for (int i = 0; i < STREAM_LIVE_STEPS_MAX && lf->steps[i]; i++)
		if (lf->steps[i] <= limit)
			best = lf->steps[i];
	return best;
}

const char *stream_live_content_type(enum stream_live_format f)
{
	return stream_live_fmt(f)->content_type;
}

int stream_live_key(const char *track_id, enum stream_live_format f, int kbps, char *out, size_t cap,
		    struct err *e)
{
	const struct stream_live_fmt *lf = stream_live_fmt(f);
	int n;

	if (!track_id || !*track_id || strchr(track_id, '/'))
		return err_set(e, ERR_INVALID, "not a track id");
	n = snprintf(out, cap, "live/%s/%s_%d.%s", track_id, lf->name, kbps, lf->ext);
	if (n < 0 || (size_t)n >= cap)
		return err_set(e, ERR_INVALID, "track id too long");
	return store_key_check(out, e);
}
