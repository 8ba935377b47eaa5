/* perm.h — the permissions routes ask for (struct http_route.perm).
 *
 * The bits are auth/perm.h's, where the one table says which role has which; the
 * authentication hook (api/auth.c) checks route->perm on every request: no or a bad token
 * gets 401, a role without the permission 403. PERM_OPEN routes need nothing. */
#ifndef TONEARM_API_PERM_H
#define TONEARM_API_PERM_H

#include "auth/perm.h"

enum api_perm {
	PERM_OPEN = 0,                 /* anyone, signed in or not */
	PERM_LIBRARY_READ = 1u << 0,   /* browse the catalogue */
	PERM_CATALOG_WRITE = 1u << 1,  /* correct metadata, delete tracks (admins; later the owning
					* artist or label) */
	/* Identity (auth/perm.h is the source of these bits and of which role has which;
	 * the hook in api/auth.c checks them). */
	PERM_STREAM = AUTH_PERM_STREAM,                   /* play, up to 128 kb/s lossy */
	PERM_STREAM_LOSSLESS = AUTH_PERM_STREAM_LOSSLESS, /* every rendition (premium) */
	PERM_DOWNLOAD = AUTH_PERM_DOWNLOAD,
	PERM_PLAYLISTS = AUTH_PERM_PLAYLISTS,
	PERM_ANALYTICS_READ = AUTH_PERM_ANALYTICS_READ,
	PERM_UPLOAD = AUTH_PERM_UPLOAD,
	PERM_ACCOUNT = AUTH_PERM_ACCOUNT,                 /* one's own account: any signed-in user */
	PERM_ADMIN = AUTH_PERM_ADMIN,
};
_Static_assert((unsigned)PERM_LIBRARY_READ == (unsigned)AUTH_PERM_LIBRARY_READ, "api/perm.h and auth/perm.h disagree");
_Static_assert((unsigned)PERM_CATALOG_WRITE == (unsigned)AUTH_PERM_CATALOG_WRITE, "api/perm.h and auth/perm.h disagree");

#endif
