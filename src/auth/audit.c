/* audit.c — reading the audit trail (see auth.h). Events are written by auth_audit() in
 * auth.c, which every part of identity calls. */
#include "auth/internal.h"
#include "base/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int auth_audit_list(struct auth *a, const char *cursor, int limit, const char *user_id, const char *event,
		    struct auth_audit_event **out, size_t *n, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	struct auth_audit_event *items = NULL;
	int ret = -1, rc;

	*out = NULL;
	*n = 0;
	if (cursor && !id_valid(cursor))
		return err_set(e, ERR_INVALID, "cursor: not one this server gave");
	if (limit < 1 || limit > 1000)
		return err_set(e, ERR_INVALID, "limit: 1 to 1000");
	if (!(items = calloc((size_t)limit, sizeof(*items))))
		return err_set(e, ERR_NOMEM, "out of memory");
	if (!(c = db_acquire(a->db, e)))
		goto out;
	/* NULL parameters switch their filter off, so one statement serves every combination. */
	s = db_prepare(c, "SELECT id, at, event, user_id, peer, detail FROM audit_events "
			  "WHERE (CAST($1 AS TEXT) IS NULL OR id < $1) AND (CAST($2 AS TEXT) IS NULL OR user_id = $2) "
			  "AND (CAST($3 AS TEXT) IS NULL OR event = $3) "
			  "ORDER BY id DESC LIMIT $4", e);
	if (!s || db_bind_str(s, 1, cursor) < 0 || db_bind_str(s, 2, user_id) < 0 || db_bind_str(s, 3, event) < 0 ||
	    db_bind_int(s, 4, limit) < 0)
		goto out;
	while ((rc = db_step(s, e)) == 1 && *n < (size_t)limit) {
		struct auth_audit_event *x = &items[(*n)++];

		utf8_copy(x->id, sizeof(x->id), db_col_text(s, 0));
		x->at = db_col_int(s, 1);
		utf8_copy(x->event, sizeof(x->event), db_col_text(s, 2));
		utf8_copy(x->user_id, sizeof(x->user_id), db_col_text(s, 3));
		utf8_copy(x->peer, sizeof(x->peer), db_col_text(s, 4));
		utf8_copy(x->detail, sizeof(x->detail), db_col_text(s, 5));
	}
	if (rc < 0)
		goto out;
	*out = items;
	items = NULL;
	ret = 0;
out:
	if (ret < 0)
		*n = 0;
	free(items);
	db_finalize(s);
	db_release(c);
	return ret;
}
