/* auth_fixture.c — what every identity contract test starts from: a migrated database of
 * each backend (db_fixture.c) and a struct auth over it with cheap Argon2id (the tests are
 * about the flows, not the cost). Included by tests/contract/auth_*_test.c, which define
 * their own `wipe`. */
#include "auth/auth.h"
#include "contract/db_fixture.c"

static const struct auth_options opts = { .argon2 = { 1024, 1, 1 } };
static struct auth *A;
static struct fx *F;

static int group_setup(void **state, int (*setup)(void **))
{
	struct err e = ERR_INIT;

	if (setup(state) < 0)
		return -1;
	F = *state;
	if (db_migrate(F->db, &e) < 0) {
		fprintf(stderr, "migrate: %s\n", e.msg);
		return -1;
	}
	A = auth_new(F->db, &opts, &e);
	if (!A)
		fprintf(stderr, "auth_new: %s\n", e.msg);
	return A ? 0 : -1;
}

static int setup_sqlite(void **state)
{
	return group_setup(state, fx_setup_sqlite);
}

static int setup_pg(void **state)
{
	return group_setup(state, fx_setup_pg);
}

static int teardown(void **state)
{
	auth_free(A);
	A = NULL;
	return fx_teardown(state);
}
