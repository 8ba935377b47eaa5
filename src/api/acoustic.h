/* acoustic.h (api) — what a track's analysis offers clients:
 *   GET /api/v1/tracks/{id}/waveform    its peaks for a player's scrubber, in the JSON format of
 *                                        BBC audiowaveform (version 2, 8 bits), which peaks.js
 *                                        and wavesurfer.js read as they are;
 *   GET /api/v1/tracks/{id}/duplicates  the other tracks that are the same recording (acoustic
 *                                        duplicates: Chromaprint fingerprints compared), most
 *                                        alike first, each with its `similarity` (0–100);
 *                                        `min_similarity` (default 70) sets the bar.
 *   GET /api/v1/duplicates              every such pair in the catalogue, recorded when the
 *                                        tracks were analysed: each track with the duplicates
 *                                        whose ids sort after its own, `limit` (1–100, 20) a
 *                                        page, `cursor` from the last page's next_cursor.
 * All are blocking routes (the database) and need library:read. Comparing fingerprints decodes
 * them with Chromaprint, so /tracks/{id}/duplicates loads the media module (media/stack.h). A track not analysed yet
 * answers 409 (its /status says when it will be). */
#ifndef TONEARM_API_ACOUSTIC_H
#define TONEARM_API_ACOUSTIC_H

struct http_req;

void api_track_waveform(struct http_req *req, void *app);
void api_track_duplicates(struct http_req *req, void *app);
void api_duplicates_list(struct http_req *req, void *app);

#endif
