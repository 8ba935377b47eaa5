/* tags.h — what an audio file's tags say: title, artists, album, numbering, MusicBrainz ids,
 * ReplayGain, the cover picture.
 *
 * Reads MP3 (ID3v1, ID3v2.2/2.3/2.4, APEv2), MP4/M4A (AAC, ALAC: iTunes atoms, freeform
 * `----:com.apple.iTunes:…` atoms, `covr`), FLAC (Vorbis comments, picture blocks), Ogg
 * Vorbis, Opus, Ogg FLAC, Speex (Vorbis comments, METADATA_BLOCK_PICTURE), WAV (ID3 chunk,
 * RIFF INFO) and AIFF (ID3), with TagLib 1.13 (src/media/tags.cc, the one C++ file; nothing
 * else includes a TagLib header; DESIGN.md says why). The format is chosen by the file's
 * first bytes, then by its extension, so a FLAC named .mp3 still reads as FLAC.
 *
 * What comes out is cleaned, so callers need not distrust it again:
 *   - every string is valid UTF-8 without NUL, trimmed of surrounding white space (TagLib
 *     1.13 drops a value that is invalid in its declared encoding and cuts one at a NUL;
 *     whatever it returns is still passed through utf8_sanitize, so U+FFFD at worst);
 *     ID3v1 and RIFF INFO text is read as UTF-8 when it is valid UTF-8, else as Latin-1;
 *   - a value longer than MEDIA_TAGS_TEXT_MAX bytes is dropped, not cut; so is an empty one,
 *     and a picture larger than MEDIA_TAGS_PICTURE_MAX;
 *   - a list holds at most MEDIA_TAGS_MAX_VALUES distinct values, in tag order (duplicates
 *     dropped);
 *   - numbers out of range ("99999999", "-5", "abc") are 0, meaning unknown;
 *   - when a file holds several tags (MP3: ID3v2, APE, ID3v1; WAV: ID3v2, INFO; FLAC: Vorbis
 *     comments, ID3v2, ID3v1), each field comes from the first tag that has it, so an ID3v2
 *     tag holding only an encoder frame does not hide the ID3v1 values behind it.
 *
 * Thread-safety: media_tags_read may run concurrently on different files (import does).
 */
#ifndef TONEARM_MEDIA_TAGS_H
#define TONEARM_MEDIA_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" { /* base/err.h has no C++ guard of its own */
#endif

#include "base/err.h"

#define MEDIA_TAGS_MAX_VALUES 16                   /* per multi-valued field; more are dropped */
#define MEDIA_TAGS_TEXT_MAX (64 * 1024)            /* bytes per value; a longer one is dropped */
#define MEDIA_TAGS_PICTURE_MAX (16 * 1024 * 1024)  /* bytes; a larger picture is skipped */
#define MEDIA_TAGS_NUMBER_MAX 9999                 /* track, disc and totals above are unknown */

/* ID3v2 / FLAC picture types we care about (the full list is in the ID3v2 APIC spec). */
enum media_picture_type {
	MEDIA_PICTURE_OTHER = 0,
	MEDIA_PICTURE_FRONT_COVER = 3,
	MEDIA_PICTURE_BACK_COVER = 4,
};

struct media_picture {
	unsigned char *data; /* NULL and size 0 when the file has no usable picture */
	size_t size;
	char mime[32];       /* "image/jpeg", "image/png" … from the bytes when recognisable,
	                      * else as tagged; "" when unknown */
	int type;            /* ID3v2 picture type; MP4 `covr` counts as a front cover */
};

/* What TagLib's audio properties say, for the lossy formats it reads whole-header cheaply
 * (MP3, AAC in MP4, Vorbis, Opus): enough to catalogue a file without libavformat. Names
 * match media_info's (libavformat's). `known` is false for every other format, and whenever
 * TagLib reports no positive duration: then the caller must probe (media/probe.h). */
struct media_tag_audio {
	bool known;
	/* Whatever `known` says: "flac" or "wav" when the file's first bytes (not its name) made
	 * it one of those, else "". For media_probe_known (media/probe.h), which then skips the
	 * search for the container. */
	char container[8];
	char format[16];   /* "mp3", "mp4", "ogg" */
	char codec[16];    /* "mp3", "aac", "vorbis", "opus" */
	int64_t duration_ms;
	int bitrate_kbps, sample_rate, channels;
};

struct media_tags {
	char *title;
	char *artists[MEDIA_TAGS_MAX_VALUES];          /* ARTISTS when tagged, else ARTIST */
	size_t nartists;
	char *album;
	char *album_artists[MEDIA_TAGS_MAX_VALUES];
	size_t nalbum_artists;
	bool compilation;                              /* TCMP, cpil, COMPILATION=1 */
	int track, track_total, disc, disc_total;      /* 1..MEDIA_TAGS_NUMBER_MAX; 0 = unknown */
	char *date;                                    /* as tagged: "2019", "2019-03-01", … */
	int year;                                      /* from date; 0 = unknown */
	char *genres[MEDIA_TAGS_MAX_VALUES];
	size_t ngenres;
	char *composers[MEDIA_TAGS_MAX_VALUES];
	size_t ncomposers;
	char *isrc;
	char *label;
	double bpm;                                    /* 0 = unknown */
	char *lyrics;                                  /* unsynchronised lyrics */
	char *mb_recording_id;                         /* MusicBrainz ids as tagged */
	char *mb_release_id;
	char *mb_artist_ids[MEDIA_TAGS_MAX_VALUES];
	size_t nmb_artist_ids;
	char *mb_album_artist_ids[MEDIA_TAGS_MAX_VALUES];
	size_t nmb_album_artist_ids;
	double rg_track_gain, rg_track_peak;           /* ReplayGain: gain in dB, peak linear */
	double rg_album_gain, rg_album_peak;
	bool has_rg_track, has_rg_album;               /* the gain was tagged (the peak may be 0) */
	struct media_picture picture;                  /* the front cover, else the first picture */
	char *sort_title, *sort_artist, *sort_album_artist, *sort_album;
	struct media_tag_audio audio;                  /* media_tags_read_audio only */
};

/* Read the tags of the file at `path` into *out (which is overwritten, not released first:
 * pass a zeroed or released struct). `path` is opened read-only as given; the caller has
 * validated it. A file in a recognised format without tags succeeds with empty tags.
 * Afterwards *out owns its strings and picture: release them with media_tags_release(), on
 * success and on failure alike (on failure *out is empty).
 * Fails with -1 and:
 *   ERR_NOT_FOUND  the file does not exist;
 *   ERR_IO         it cannot be opened or read;
 *   ERR_INVALID    it is not in a format TagLib reads (a text file named .mp3, a PNG named
 *                  .flac, an empty file, an MP3 with neither a tag nor an audio frame);
 *   ERR_NOMEM      out of memory;
 *   ERR_INTERNAL   TagLib threw something unexpected (never propagated as an exception). */
int media_tags_read(const char *path, struct media_tags *out, struct err *e);

/* The same, and also read the audio properties into out->audio (see struct media_tag_audio):
 * a little more I/O (MP3's first frame, Ogg's last page, MP4's sample table), far less than a
 * libavformat probe. Same returns as media_tags_read. */
int media_tags_read_audio(const char *path, struct media_tags *out, struct err *e);

/* Free everything *t owns and zero it. Safe on a zeroed or already released struct. */
void media_tags_release(struct media_tags *t);

#ifdef __cplusplus
}
#endif

#endif
