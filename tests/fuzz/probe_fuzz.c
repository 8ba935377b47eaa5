/* probe_fuzz.c — arbitrary bytes as an audio file: media_probe() and, when it accepts them,
 * a bounded media_analyse() (the first 2 s). The first byte picks the file's extension
 * (low bits), which steers FFmpeg's format guess, and how the bytes are read (high bits: a
 * temp file by path — through media_probe_known's quick path when the extension is flac or
 * wav and the mode is 1, as an import does for files TagLib recognised — or a media_source
 * over memory, seekable or not); the rest is the file.
 * Neither may crash, leak or read without bound; a refusal must be ERR_INVALID /
 * ERR_UNSUPPORTED with a message. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "media/analyse.h"
#include "media/probe.h"

static const char *const exts[] = { "mp3", "flac", "m4a", "ogg", "opus", "wav", "aiff", "wv", "bin" };

struct mem {
	const uint8_t *data;
	size_t size, pos;
};

static long mem_read(void *opaque, uint8_t *buf, size_t len)
{
	struct mem *m = opaque;
	size_t n = m->size - m->pos < len ? m->size - m->pos : len;

	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (long)n;
}

static int mem_seek(void *opaque, int64_t offset)
{
	struct mem *m = opaque;

	if (offset < 0 || (uint64_t)offset > m->size)
		return -1;
	m->pos = (size_t)offset;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct media_info info;
	struct media_analysis a;
	struct media_analyse_options opt = { .max_s = 2.0, .peaks = 100, .fingerprint_s = 2.0 };
	struct err e = ERR_INIT;
	FILE *f;

	if (size < 1)
		return 0;
	log_setup(LOG_ERROR, 2);
	snprintf(path, sizeof(path), "/tmp/probe_fuzz.%d.%s", (int)getpid(), exts[data[0] % (sizeof(exts) / sizeof(exts[0]))]);
	f = fopen(path, "wb");
	if (!f)
		abort();
	if (size > 1 && fwrite(data + 1, 1, size - 1, f) != size - 1)
		abort();
	fclose(f);
	int mode = data[0] >> 6; /* 0, 1: path; 2: seekable source; 3: stream */
	struct mem m = { data + 1, size - 1, 0 };
	struct media_source src = { .opaque = &m, .read = mem_read, .seek = mode == 2 ? mem_seek : NULL,
				    .size = mode == 2 ? (int64_t)(size - 1) : -1, .name = path };
	const char *ext = exts[data[0] % (sizeof(exts) / sizeof(exts[0]))];
	bool known = mode == 1 && (strcmp(ext, "flac") == 0 || strcmp(ext, "wav") == 0);
	int r = known ? media_probe_known(path, ext, &info, &e)
		: mode < 2 ? media_probe(path, &info, &e) : media_probe_source(&src, &info, &e);

	if (r == 0) {
		if (info.duration_ms <= 0 || info.channels <= 0 || info.sample_rate <= 0)
			abort();
		m.pos = 0;
		if ((mode < 2 ? media_analyse(path, &opt, &a, &e) : media_analyse_source(&src, &opt, &a, &e)) == 0) {
			if (a.npeaks != 100 || !a.peaks)
				abort();
			media_analysis_release(&a);
		} else if (!e.msg[0]) {
			abort();
		}
	} else if (!e.msg[0] || (e.code != ERR_INVALID && e.code != ERR_UNSUPPORTED)) {
		fprintf(stderr, "probe refused with %s: %s\n", err_code_name(e.code), e.msg);
		abort();
	}
	unlink(path);
	return 0;
}
