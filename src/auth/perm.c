/* perm.c — THE permission table: which role may do what, and what each scope grants.
 * Change access rules here and nowhere else (tests/unit/auth/perm_test.c pins the table). */
#include "auth/perm.h"

#include <string.h>

#define P(x) AUTH_PERM_##x

/* Listeners: the free tier streams lossy up to 128 kb/s; premium adds lossless and downloads.
 * Artists and labels are premium listeners who also upload and read their analytics; editing
 * catalogue entries stays with admins until ownership rules land (an artist's own tracks). */
#define PERMS_FREE (P(LIBRARY_READ) | P(STREAM) | P(PLAYLISTS) | P(ACCOUNT))
#define PERMS_PREMIUM (PERMS_FREE | P(STREAM_LOSSLESS) | P(DOWNLOAD))
#define PERMS_ARTIST (PERMS_PREMIUM | P(UPLOAD) | P(ANALYTICS_READ))

static const struct {
	const char *name;
	unsigned perms;
} roles[AUTH_ROLE_COUNT] = {
	[AUTH_ROLE_FREE] = { "free", PERMS_FREE },
	[AUTH_ROLE_PREMIUM] = { "premium", PERMS_PREMIUM },
	[AUTH_ROLE_ARTIST] = { "artist", PERMS_ARTIST },
	[AUTH_ROLE_LABEL] = { "label", PERMS_ARTIST },
	[AUTH_ROLE_ADMIN] = { "admin", AUTH_PERM_ALL },
};

/* OAuth scope names (what a user consents to) and the permissions each carries. */
static const struct {
	const char *name;
	unsigned perms;
} scopes[] = {
	{ "account", P(ACCOUNT) },
	{ "library:read", P(LIBRARY_READ) },
	{ "library:write", P(CATALOG_WRITE) | P(UPLOAD) },
	{ "playlists", P(PLAYLISTS) },
	{ "stream", P(STREAM) | P(STREAM_LOSSLESS) },
	{ "download", P(DOWNLOAD) },
	{ "analytics:read", P(ANALYTICS_READ) },
	{ "admin", P(ADMIN) },
};

static const char *const perm_names[] = {
	"library_read", "catalog_write", "stream", "stream_lossless", "download",
	"playlists", "analytics_read", "upload", "account", "admin",
};

const char *auth_role_name(enum auth_role role)
{
	if ((unsigned)role >= AUTH_ROLE_COUNT)
		return "unknown";
	return roles[role].name;
}

int auth_role_parse(const char *s, enum auth_role *out, struct err *e)
{
	for (unsigned i = 0; s && i < AUTH_ROLE_COUNT; i++) {
		if (strcmp(s, roles[i].name) == 0) {
			*out = (enum auth_role)i;
			return 0;
		}
	}
	return err_set(e, ERR_INVALID, "role must be one of admin, label, artist, premium, free");
}

unsigned auth_role_perms(enum auth_role role)
{
	if ((unsigned)role >= AUTH_ROLE_COUNT)
		return 0;
	return roles[role].perms;
}

const char *auth_perm_name(unsigned perm)
{
	for (unsigned i = 0; i < sizeof(perm_names) / sizeof(perm_names[0]); i++)
		if (perm == 1u << i)
			return perm_names[i];
	return NULL;
}

int auth_scope_parse(const char *scope, unsigned *perms, struct err *e)
{
	unsigned acc = 0;
	const char *p = scope;

	if (!scope)
		return err_set(e, ERR_INVALID, "no scope");
	if (strlen(scope) > 1024)
		return err_set(e, ERR_INVALID, "scope too long");
	while (*p) {
		size_t n;
		bool found = false;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n == 0)
			break;
		for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
			if (strlen(scopes[i].name) == n && memcmp(scopes[i].name, p, n) == 0) {
				acc |= scopes[i].perms;
				found = true;
				break;
			}
		}
		if (!found)
			return err_set(e, ERR_INVALID, "unknown scope \"%.*s\"", (int)(n > 64 ? 64 : n), p);
		p += n;
	}
	*perms = acc;
	return 0;
}

int auth_scope_format(unsigned perms, struct buf *out)
{
	bool first = true;

	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		if (!(scopes[i].perms & perms))
			continue;
		if ((!first && buf_addch(out, ' ') < 0) || buf_adds(out, scopes[i].name) < 0)
			return -1;
		first = false;
	}
	if (first && buf_adds(out, "") < 0)
		return -1;
	return 0;
}

bool auth_perms_allow_rendition(unsigned perms, int bitrate_kbps, bool lossless)
{
	if (!(perms & P(STREAM)))
		return false;
	if (lossless || bitrate_kbps > AUTH_FREE_MAX_KBPS || bitrate_kbps <= 0)
		return (perms & P(STREAM_LOSSLESS)) != 0;
	return true;
}
