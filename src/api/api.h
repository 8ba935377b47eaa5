/* api.h — the REST handlers and their route table.
 *
 * Handlers turn HTTP requests into calls on the domain and ports; they never see SQL, a
 * database handle's internals or an h2o type. Everything they need is injected through
 * struct api, built once by the command line (`tonearm serve`).
 */
#ifndef TONEARM_API_API_H
#define TONEARM_API_API_H

#include <stddef.h>
#include <stdint.h>

struct auth;
struct auth_throttle;
struct catalog;
struct db;
struct store;
struct metrics;
struct http_route;
struct ingest;
struct uploads;
struct stream;
struct api_hls;
struct mail;

struct api {
	struct db *db;
	struct store *store;
	struct catalog *catalog; /* over db; the browse API's repository */
	struct auth *auth;       /* identity: accounts, tokens, the permission table */
	struct auth_throttle *throttle; /* sign-in throttling (auth/throttle.h); NULL: none */
	struct metrics *metrics;
	int64_t started_ms;  /* wall clock at start, for /api/v1/version's uptime */
	struct ingest *ingest;   /* takes completed uploads into the catalogue */
	struct uploads *uploads; /* tus upload state (ingest/upload.h); NULL: uploads answer 503 */
	struct jobs *jobs;       /* the job queue (jobs/jobs.h): track status, admin list; NULL: 503 */
	struct stream *stream;   /* the ladder service (stream/stream.h): keys; NULL: HLS answers 503 */
	struct api_hls *hls;     /* HLS signer and index cache (api/hls.h); NULL: HLS answers 503 */
	struct mail *mail;       /* the mailer port (mail/mail.h); NULL: no mail is sent, mail routes 503 */
	int64_t verify_ttl_ms;   /* e-mail verification links live this long (0: 24 h) */
	int64_t reset_ttl_ms;    /* password reset links live this long (0: 1 h) */
	char issuer[256];        /* OAuth issuer / public base URL, no trailing '/' (api_oauth_set_issuer) */
	struct revcache *track_json; /* tracks' list JSON by id and row revision (base/revcache.h); NULL: none */
};

struct jsonw;
struct http_req;

/* Send the writer's text (base/jsonw.h) as application/json with `status` (taken from the
 * writer without a copy; the caller still releases `w`, now empty), or a problem when the
 * writer failed. (catalog_json.c) */
void api_send_jsonw(struct http_req *req, int status, struct jsonw *w);

/* The whole route table (system routes and every /api/v1 route), for http_server_new.
 * Static storage; *n gets its length. */
const struct http_route *api_routes(size_t *n);

#endif
