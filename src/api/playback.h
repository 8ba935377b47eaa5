/* playback.h — progressive streaming and download of a track.
 *
 *   GET /api/v1/tracks/{id}/stream[?rendition=aac_128]
 *       One rendition as a plain fragmented-MP4 file: the init section followed by every segment
 *       decrypted. Its length is exact (each segment's PKCS#7 padding is read from its last
 *       block before answering), so Content-Length, Range (a range maps to the segments it
 *       covers, each decrypted whole and cut), ETag and conditional requests all work. Without
 *       `rendition`, the best AAC rendition the caller may have. 409 while the ladder is not
 *       ready (no on-the-fly transcode yet).
 *   GET /api/v1/tracks/{id}/download
 *       The original file as uploaded (PERM_DOWNLOAD), `Content-Disposition: attachment` with
 *       an RFC 8187 filename, Range and conditionals.
 */
#ifndef TONEARM_API_PLAYBACK_H
#define TONEARM_API_PLAYBACK_H

struct http_req;

void api_track_stream(struct http_req *req, void *app);
void api_track_download(struct http_req *req, void *app);

#endif
