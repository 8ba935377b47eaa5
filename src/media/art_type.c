/* art_type.c — what kind of image a cover is, from its first bytes. Plain C, no FFmpeg: the
 * server answers with it for every original it serves, so it stays in the binary while the
 * rest of art.c lives in the media stack (media/stack.h). */
#include "media/art.h"

#include <string.h>

enum media_art_type media_art_sniff(const void *data, size_t len)
{
	const unsigned char *p = data;

	if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return MEDIA_ART_JPEG;
	if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return MEDIA_ART_PNG;
	if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
		return MEDIA_ART_WEBP;
	if (len >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
		return MEDIA_ART_GIF;
	return MEDIA_ART_UNKNOWN;
}

const char *media_art_mime(enum media_art_type t)
{
	switch (t) {
	case MEDIA_ART_JPEG: return "image/jpeg";
	case MEDIA_ART_PNG: return "image/png";
	case MEDIA_ART_WEBP: return "image/webp";
	case MEDIA_ART_GIF: return "image/gif";
	case MEDIA_ART_UNKNOWN: break;
	}
	return "application/octet-stream";
}
