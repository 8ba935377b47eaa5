/* playback.h — progressive streaming and download of a track.
 *
 *   GET /api/v1/tracks/{id}/stream[?rendition=aac_128][&maxBitRate=KBPS]
 *       One rendition as a plain fragmented-MP4 file: the init section followed by every segment
 *       decrypted. Its length is exact (each segment's PKCS#7 padding is read from its last
 *       block before answering), so Content-Length, Range (a range maps to the segments it
 *       covers, each decrypted whole and cut), ETag and conditional requests all work. Without
 *       `rendition`, the best AAC rendition the caller may have (within maxBitRate). While the
 *       ladder is not ready, the track plays at once as AAC transcoded on the fly (below).
 *   GET /api/v1/tracks/{id}/stream?format=mp3|opus|aac[&maxBitRate=KBPS]
 *       An on-the-fly transcode (stream/live.h) at the largest step within maxBitRate and the
 *       account's limit: streamed while it is made the first time, then served from the cached
 *       copy with Range and conditionals.
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
