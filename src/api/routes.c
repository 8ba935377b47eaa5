/* routes.c — the one route table. Read it top to bottom to see the whole API; every row says
 * where its handler runs (QUICK on the event loop, BLOCKING on the handler pool) and the
 * permission it needs (0: open; api/perm.h, enforced by the hook in api/auth.c).
 * docs/api/openapi.yaml describes the same routes (tests/e2e/docs.test.mjs checks it). */
#include "api/acoustic.h"
#include "api/api.h"

#include "api/apikeys.h"
#include "api/art.h"
#include "api/auth.h"
#include "api/catalog.h"
#include "api/hls.h"
#include "api/ingest.h"
#include "api/jobs.h"
#include "api/mail.h"
#include "api/oauth.h"
#include "api/perm.h"
#include "api/playback.h"
#include "api/system.h"
#include "api/uploads.h"
#include "http/http.h"

static const struct http_route routes[] = {
	{ HTTP_GET, "/healthz", api_healthz, HTTP_QUICK, 0, "healthz" },
	{ HTTP_GET, "/readyz", api_readyz, HTTP_BLOCKING, 0, "readyz" },
	{ HTTP_GET, "/metrics", api_metrics, HTTP_QUICK, 0, "metrics" },
	{ HTTP_GET, "/api/v1/version", api_version, HTTP_QUICK, 0, "version" },

	/* Identity (api/auth.c, api/auth_admin.c). Hashing passwords blocks: those routes do too. */
	{ HTTP_GET, "/.well-known/jwks.json", api_jwks, HTTP_QUICK, 0, "jwks" },
	{ HTTP_POST, "/api/v1/auth/register", api_auth_register, HTTP_BLOCKING, 0, "auth_register" },
	{ HTTP_POST, "/api/v1/auth/login", api_auth_login, HTTP_BLOCKING, 0, "auth_login" },
	{ HTTP_POST, "/api/v1/auth/refresh", api_auth_refresh, HTTP_BLOCKING, 0, "auth_refresh" },
	{ HTTP_POST, "/api/v1/auth/logout", api_auth_logout, HTTP_BLOCKING, 0, "auth_logout" },
	{ HTTP_GET, "/api/v1/me", api_me, HTTP_BLOCKING, PERM_ACCOUNT, "me" },
	{ HTTP_POST, "/api/v1/me/password", api_me_password, HTTP_BLOCKING, PERM_ACCOUNT, "me_password" },
	{ HTTP_GET, "/api/v1/me/sessions", api_me_sessions, HTTP_BLOCKING, PERM_ACCOUNT, "me_sessions" },
	{ HTTP_DELETE, "/api/v1/me/sessions/{id}", api_me_session_delete, HTTP_BLOCKING, PERM_ACCOUNT, "me_session_delete" },
	/* E-mail verification and password reset (api/mail.c): they send mail, so they block. */
	{ HTTP_POST, "/api/v1/auth/verify-email", api_auth_verify_email, HTTP_BLOCKING, 0, "auth_verify_email" },
	{ HTTP_POST, "/api/v1/me/email/verify", api_me_email_verify, HTTP_BLOCKING, PERM_ACCOUNT, "me_email_verify" },
	{ HTTP_POST, "/api/v1/auth/password-reset", api_auth_password_forgot, HTTP_BLOCKING, 0, "auth_password_forgot" },
	{ HTTP_POST, "/api/v1/auth/password-reset/confirm", api_auth_password_reset, HTTP_BLOCKING, 0, "auth_password_reset" },
	{ HTTP_GET, "/api/v1/admin/users", api_admin_users_list, HTTP_BLOCKING, PERM_ADMIN, "admin_users" },
	{ HTTP_POST, "/api/v1/admin/users", api_admin_users_create, HTTP_BLOCKING, PERM_ADMIN, "admin_user_create" },
	{ HTTP_PATCH, "/api/v1/admin/users/{id}", api_admin_user_patch, HTTP_BLOCKING, PERM_ADMIN, "admin_user_patch" },
	{ HTTP_DELETE, "/api/v1/admin/users/{id}", api_admin_user_delete, HTTP_BLOCKING, PERM_ADMIN, "admin_user_delete" },
	{ HTTP_POST, "/api/v1/admin/invitations", api_admin_invitations_create, HTTP_BLOCKING, PERM_ADMIN, "admin_invitations" },

	/* The OAuth 2.0 authorization server (api/oauth.c, api/oauth_page.c). Open routes: clients
	 * authenticate in the form or with Basic, users on the sign-in page. */
	{ HTTP_GET, "/.well-known/oauth-authorization-server", api_oauth_metadata, HTTP_QUICK, 0, "oauth_metadata" },
	{ HTTP_GET, "/oauth/authorize", api_oauth_authorize_get, HTTP_BLOCKING, 0, "oauth_authorize" },
	{ HTTP_POST, "/oauth/authorize", api_oauth_authorize_post, HTTP_BLOCKING, 0, "oauth_authorize_post" },
	{ HTTP_POST, "/oauth/token", api_oauth_token, HTTP_BLOCKING, 0, "oauth_token" },
	{ HTTP_POST, "/oauth/revoke", api_oauth_revoke, HTTP_BLOCKING, 0, "oauth_revoke" },
	{ HTTP_POST, "/oauth/introspect", api_oauth_introspect, HTTP_BLOCKING, 0, "oauth_introspect" },
	{ HTTP_GET, "/api/v1/admin/oauth/clients", api_oauth_clients_list, HTTP_BLOCKING, PERM_ADMIN, "admin_oauth_clients" },
	{ HTTP_POST, "/api/v1/admin/oauth/clients", api_oauth_clients_create, HTTP_BLOCKING, PERM_ADMIN, "admin_oauth_client_create" },
	{ HTTP_GET, "/api/v1/admin/oauth/clients/{id}", api_oauth_client_get, HTTP_BLOCKING, PERM_ADMIN, "admin_oauth_client" },
	{ HTTP_DELETE, "/api/v1/admin/oauth/clients/{id}", api_oauth_client_delete, HTTP_BLOCKING, PERM_ADMIN, "admin_oauth_client_delete" },
	/* App passwords / API keys (api/apikeys.c) and the audit trail. */
	{ HTTP_GET, "/api/v1/me/api-keys", api_me_apikeys_list, HTTP_BLOCKING, PERM_ACCOUNT, "me_api_keys" },
	{ HTTP_POST, "/api/v1/me/api-keys", api_me_apikeys_create, HTTP_BLOCKING, PERM_ACCOUNT, "me_api_key_create" },
	{ HTTP_DELETE, "/api/v1/me/api-keys/{id}", api_me_apikey_delete, HTTP_BLOCKING, PERM_ACCOUNT, "me_api_key_delete" },
	{ HTTP_GET, "/api/v1/admin/audit", api_admin_audit, HTTP_BLOCKING, PERM_ADMIN, "admin_audit" },

	/* The catalogue (api/catalog.c): reading needs a signed-in user, correcting an admin. */
	{ HTTP_GET, "/api/v1/artists", api_artists_list, HTTP_BLOCKING, PERM_LIBRARY_READ, "artists" },
	{ HTTP_GET, "/api/v1/artists/{id}", api_artist_get, HTTP_BLOCKING, PERM_LIBRARY_READ, "artist" },
	{ HTTP_GET, "/api/v1/albums", api_albums_list, HTTP_BLOCKING, PERM_LIBRARY_READ, "albums" },
	{ HTTP_GET, "/api/v1/albums/{id}", api_album_get, HTTP_BLOCKING, PERM_LIBRARY_READ, "album" },
	{ HTTP_GET, "/api/v1/tracks", api_tracks_list, HTTP_BLOCKING, PERM_LIBRARY_READ, "tracks" },
	/* The plain single-request upload and the quarantine (api/ingest.c). */
	{ HTTP_POST, "/api/v1/tracks", api_tracks_upload, HTTP_BLOCKING, PERM_UPLOAD, "track_upload" },
	{ HTTP_GET, "/api/v1/quarantine", api_quarantine_list, HTTP_BLOCKING, PERM_ADMIN, "quarantine" },
	{ HTTP_GET, "/api/v1/tracks/{id}", api_track_get, HTTP_BLOCKING, PERM_LIBRARY_READ, "track" },
	{ HTTP_PATCH, "/api/v1/tracks/{id}", api_track_patch, HTTP_BLOCKING, PERM_CATALOG_WRITE, "track_patch" },
	{ HTTP_DELETE, "/api/v1/tracks/{id}", api_track_delete, HTTP_BLOCKING, PERM_CATALOG_WRITE, "track_delete" },
	/* Processing state from the job queue (api/jobs.c). */
	{ HTTP_GET, "/api/v1/tracks/{id}/status", api_track_status, HTTP_BLOCKING, PERM_LIBRARY_READ, "track_status" },
	{ HTTP_GET, "/api/v1/tracks/{id}/waveform", api_track_waveform, HTTP_BLOCKING, PERM_LIBRARY_READ, "track_waveform" },
	{ HTTP_GET, "/api/v1/tracks/{id}/duplicates", api_track_duplicates, HTTP_BLOCKING, PERM_LIBRARY_READ, "track_duplicates" },
	{ HTTP_GET, "/api/v1/duplicates", api_duplicates_list, HTTP_BLOCKING, PERM_LIBRARY_READ, "duplicates" },
	{ HTTP_GET, "/api/v1/admin/jobs", api_admin_jobs, HTTP_BLOCKING, PERM_ADMIN, "admin_jobs" },
	{ HTTP_GET, "/api/v1/genres", api_genres_list, HTTP_BLOCKING, PERM_LIBRARY_READ, "genres" },
	{ HTTP_GET, "/api/v1/genres/{id}", api_genre_get, HTTP_BLOCKING, PERM_LIBRARY_READ, "genre" },

	/* HLS (api/hls.c, api/hls_segment.c): playlists and the key take a Bearer token or a signed
	 * query (checked by the handler, hence perm 0); segments are public ciphertext. */
	{ HTTP_GET, "/api/v1/tracks/{id}/hls", api_hls_url, HTTP_QUICK, PERM_STREAM, "track_hls" },
	/* Progressive stream and download (api/playback.c). */
	{ HTTP_GET, "/api/v1/tracks/{id}/stream", api_track_stream, HTTP_BLOCKING, PERM_STREAM, "track_stream" },
	{ HTTP_GET, "/api/v1/tracks/{id}/download", api_track_download, HTTP_BLOCKING, PERM_DOWNLOAD, "track_download" },
	{ HTTP_GET, "/hls/{track}/master.m3u8", api_hls_master, HTTP_BLOCKING, 0, "hls_master" },
	{ HTTP_GET, "/hls/{track}/key", api_hls_key, HTTP_BLOCKING, 0, "hls_key" },
	{ HTTP_GET, "/hls/{track}/{rendition}/index.m3u8", api_hls_media, HTTP_BLOCKING, 0, "hls_media" },
	{ HTTP_GET, "/hls/{track}/{rendition}/{file}", api_hls_segment, HTTP_QUICK, 0, "hls_segment" },
	{ HTTP_GET, "/hls/{track}/{rendition}/r/{file}", api_hls_segment_read, HTTP_BLOCKING, 0, "hls_segment_read" },

	/* Cover art by content hash, resized on demand and kept (api/art.c). */
	{ HTTP_GET, "/api/v1/art/{hash}", api_art_get, HTTP_BLOCKING, PERM_LIBRARY_READ, "art" },

	/* tus 1.0 resumable uploads (api/uploads.c). OPTIONS is tus's discovery: open to all. */
	{ HTTP_OPTIONS, "/api/v1/uploads", api_uploads_options, HTTP_BLOCKING, 0, "uploads_options" },
	{ HTTP_POST, "/api/v1/uploads", api_uploads_create, HTTP_BLOCKING, PERM_UPLOAD, "upload_create" },
	{ HTTP_GET | HTTP_HEAD, "/api/v1/uploads/{id}", api_upload_get, HTTP_BLOCKING, PERM_UPLOAD, "upload" },
	{ HTTP_PATCH, "/api/v1/uploads/{id}", api_upload_patch, HTTP_BLOCKING, PERM_UPLOAD, "upload_patch" },
	{ HTTP_DELETE, "/api/v1/uploads/{id}", api_upload_delete, HTTP_BLOCKING, PERM_UPLOAD, "upload_delete" },
};

const struct http_route *api_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
