/* perm.h — roles, permissions and scopes: who may do what.
 *
 * A principal (a signed-in user, later an OAuth client or an API key) has a role and a set of
 * scopes. Its permissions are the role's permissions (the one table, in perm.c) intersected
 * with what its scopes grant: a first-party sign-in gets every scope its role can use, a
 * third-party app only the scopes the user consented to. Routes name the permission they need
 * (struct http_route.perm, the same bits through api/perm.h); ownership rules (an artist edits
 * their own tracks) are checked by the domain on top of these.
 */
#ifndef TONEARM_AUTH_PERM_H
#define TONEARM_AUTH_PERM_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

enum auth_role {
	AUTH_ROLE_FREE = 0,
	AUTH_ROLE_PREMIUM,
	AUTH_ROLE_ARTIST,
	AUTH_ROLE_LABEL,
	AUTH_ROLE_ADMIN,
	AUTH_ROLE_COUNT
};

/* Permission bits. The first two keep the values api/perm.h gave them before identity landed. */
enum auth_perm {
	AUTH_PERM_LIBRARY_READ = 1u << 0,    /* browse the catalogue */
	AUTH_PERM_CATALOG_WRITE = 1u << 1,   /* correct metadata, delete tracks */
	AUTH_PERM_STREAM = 1u << 2,          /* play, up to 128 kb/s lossy */
	AUTH_PERM_STREAM_LOSSLESS = 1u << 3, /* every rendition, lossless included */
	AUTH_PERM_DOWNLOAD = 1u << 4,        /* keep files offline */
	AUTH_PERM_PLAYLISTS = 1u << 5,       /* own playlists */
	AUTH_PERM_ANALYTICS_READ = 1u << 6,  /* play counts and reports (own catalogue) */
	AUTH_PERM_UPLOAD = 1u << 7,          /* add tracks */
	AUTH_PERM_ACCOUNT = 1u << 8,         /* one's own account: profile, password, sessions */
	AUTH_PERM_ADMIN = 1u << 9,           /* accounts, invitations, keys */
};
#define AUTH_PERM_ALL ((1u << 10) - 1)

/* The role's name ("premium"); "unknown" for a value out of range. Static storage. */
const char *auth_role_name(enum auth_role role);

/* Parse a role name (exact, lower case). 0 and *out set, or -1 with ERR_INVALID naming the
 * allowed roles. */
int auth_role_parse(const char *s, enum auth_role *out, struct err *e);

/* The permission bits the table gives `role` (0 for a value out of range). */
unsigned auth_role_perms(enum auth_role role);

/* A permission bit's name ("stream_lossless"); NULL for anything but a single known bit. */
const char *auth_perm_name(unsigned perm);

/* The permissions a space-separated scope string grants ("library:read stream"). Scope names:
 * account, library:read, library:write, playlists, stream, download, analytics:read, admin.
 * 0 and *perms set, or -1 with ERR_INVALID naming the first unknown scope (empty tokens from
 * repeated spaces are ignored; the string is at most 1024 bytes). */
int auth_scope_parse(const char *scope, unsigned *perms, struct err *e);

/* Append the names of the scopes needed for `perms`, space-separated, every scope whose
 * permissions intersect `perms`. -1 when the buffer refuses. */
int auth_scope_format(unsigned perms, struct buf *out);

/* Whether someone holding `perms` may receive a rendition of `bitrate_kbps` (lossy) or a
 * lossless one: free accounts (AUTH_PERM_STREAM) up to 128 kb/s, lossless and higher
 * bitrates need AUTH_PERM_STREAM_LOSSLESS. Nothing without AUTH_PERM_STREAM. */
bool auth_perms_allow_rendition(unsigned perms, int bitrate_kbps, bool lossless);

#define AUTH_FREE_MAX_KBPS 128

#endif
