/* The identity module's contract on every database backend: accounts, sign-in, refresh token
 * rotation and reuse detection, sessions, password changes, invitations, key rotation.
 *
 * SQLite always; PostgreSQL too when TA_TEST_PG holds a server URL (tests/lib/pg.sh start):
 *   D=$(mktemp -d); export TA_TEST_PG=$(tests/lib/pg.sh start $D); ctest -R auth_; tests/lib/pg.sh stop $D
 */
#include <pthread.h>

#include "auth/auth.h"
#include "auth/jwt.h"
#include "base/log.h"
#include "contract/auth_fixture.c"

static void (*const unused_fixture_helpers[])(void) = {
	(void (*)(void))fx_table_exists, (void (*)(void))fx_migrate, (void (*)(void))fx_now_ms,
};



static int wipe(void **state)
{
	struct db_conn *c = fx_acquire(*state);

	fx_exec(c, "DELETE FROM refresh_tokens; DELETE FROM sessions; DELETE FROM invitations; DELETE FROM users");
	db_release(c);
	return 0;
}

static void mkuser(const char *name, const char *pw, enum auth_role role, struct auth_user *out)
{
	struct auth_user_input in = { .username = name, .password = pw, .password_len = strlen(pw), .role = role };
	struct err e = ERR_INIT;

	if (auth_user_create(A, &in, out, &e) < 0)
		fail_msg("create %s: %s", name, e.msg);
}

static void login_ok(const char *name, const char *pw, struct auth_tokens *t)
{
	struct err e = ERR_INIT;
	struct auth_client cl = { "test-agent/1.0", "127.0.0.1" };

	if (auth_login(A, name, pw, strlen(pw), &cl, t, &e) < 0)
		fail_msg("login %s: %s", name, e.msg);
}

static void test_accounts(void **state)
{
	struct auth_user u, v, *list;
	struct auth_user_input in = { .username = "ALICE", .password = "0123456789", .password_len = 10 };
	struct err e = ERR_INIT;
	enum auth_role role = AUTH_ROLE_PREMIUM;
	bool off = true;
	size_t n;

	(void)state;
	mkuser("Alice", "correct horse battery", AUTH_ROLE_FREE, &u);
	assert_true(id_valid(u.id));
	/* Unique ignoring case; the display spelling is kept. */
	assert_int_equal(auth_user_create(A, &in, &v, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	assert_int_equal(auth_user_by_name(A, "aLiCe", &v, &e), 0);
	assert_string_equal(v.id, u.id);
	assert_string_equal(v.username, "Alice");
	/* E-mail is unique too, ignoring case. */
	in = (struct auth_user_input){ .username = "al2", .email = "A@Example.org", .password = "0123456789", .password_len = 10 };
	assert_int_equal(auth_user_create(A, &in, &v, &e), 0);
	in.username = "al3";
	in.email = "a@example.ORG";
	assert_int_equal(auth_user_create(A, &in, &v, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	/* Field rules, with SQL metacharacters and odd bytes. */
	static const char *const bad_names[] = { "ab", "a b", "x'; DROP TABLE users; --", "ü-name", "a/b", "" };
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		in = (struct auth_user_input){ .username = bad_names[i], .password = "0123456789", .password_len = 10 };
		assert_int_equal(auth_user_create(A, &in, &v, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
	}
	in = (struct auth_user_input){ .username = "shortpw", .password = "123", .password_len = 3 };
	assert_int_equal(auth_user_create(A, &in, &v, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	in = (struct auth_user_input){ .username = "bademail", .email = "no at sign", .password = "0123456789", .password_len = 10 };
	assert_int_equal(auth_user_create(A, &in, &v, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	/* Update, list, delete. */
	assert_int_equal(auth_user_update(A, u.id, &role, &off, &v, &e), 0);
	assert_int_equal(v.role, AUTH_ROLE_PREMIUM);
	assert_true(v.disabled);
	assert_int_equal(auth_user_update(A, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &role, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(auth_user_list(A, NULL, 1, &list, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].id, u.id);
	free(list);
	assert_int_equal(auth_user_list(A, u.id, 10, &list, &n, &e), 0);
	assert_int_equal(n, 1);
	free(list);
	assert_int_equal(auth_user_delete(A, u.id, &e), 0);
	assert_int_equal(auth_user_delete(A, u.id, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

static void test_login(void **state)
{
	struct auth_user u;
	struct auth_tokens t;
	struct auth_principal p;
	struct err e = ERR_INIT, e2 = ERR_INIT;
	bool off = true;

	(void)state;
	mkuser("bob", "bob's password", AUTH_ROLE_PREMIUM, &u);
	login_ok("BOB", "bob's password", &t);
	assert_int_equal(t.expires_in, 900);
	assert_int_equal(strlen(t.refresh_token), AUTH_REFRESH_LEN);
	assert_int_equal(auth_verify_access(A, t.access_token, strlen(t.access_token), &p, &e), 0);
	assert_string_equal(p.user_id, u.id);
	assert_string_equal(p.session_id, t.session_id);
	assert_int_equal(p.role, AUTH_ROLE_PREMIUM);
	assert_int_equal(p.perms, auth_role_perms(AUTH_ROLE_PREMIUM));
	assert_true(auth_may_have_rendition(&p, 1411, true));
	auth_tokens_release(&t);
	/* Wrong password and unknown name: the same error. */
	assert_int_equal(auth_login(A, "bob", "wrong password", 14, NULL, &t, &e), -1);
	assert_int_equal(auth_login(A, "nobody", "wrong password", 14, NULL, &t, &e2), -1);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	assert_string_equal(e.msg, e2.msg);
	assert_int_equal(auth_login(A, "x' OR '1'='1", "' OR 1=1 --", 11, NULL, &t, &e), -1);
	assert_string_equal(e.msg, e2.msg);
	assert_int_equal(auth_login(A, "bob", "bob's password\0tail", 19, NULL, &t, &e), -1);
	/* Disabled accounts cannot sign in, with the same answer. */
	assert_int_equal(auth_user_update(A, u.id, NULL, &off, NULL, &e), 0);
	assert_int_equal(auth_login(A, "bob", "bob's password", 14, NULL, &t, &e), -1);
	assert_string_equal(e.msg, e2.msg);
}

static void test_rehash_on_login(void **state)
{
	struct auth_options stronger = opts;
	struct auth *b;
	struct auth_user u;
	struct auth_tokens t;
	struct err e = ERR_INIT;
	struct db_conn *c = fx_acquire(*state);
	struct db_stmt *s;

	mkuser("carol", "carol's password", AUTH_ROLE_FREE, &u);
	stronger.argon2.memory_kib = 2048;
	b = auth_new(F->db, &stronger, &e);
	assert_non_null(b);
	assert_int_equal(auth_login(b, "carol", "carol's password", 16, NULL, &t, &e), 0);
	auth_tokens_release(&t);
	s = fx_prepare(c, "SELECT password_hash FROM users WHERE username_norm = 'carol'");
	assert_int_equal(fx_step(s), 1);
	assert_non_null(strstr(db_col_text(s, 0), "m=2048,t=1,p=1"));
	db_finalize(s);
	db_release(c);
	/* The new hash still signs in. */
	assert_int_equal(auth_login(b, "carol", "carol's password", 16, NULL, &t, &e), 0);
	auth_tokens_release(&t);
	auth_free(b);
}

static void test_refresh_rotation_and_reuse(void **state)
{
	struct auth_user u;
	struct auth_tokens t1, t2, t3, tx;
	struct err e = ERR_INIT;
	struct auth_session *ss;
	size_t n;

	(void)state;
	mkuser("dave", "dave's password", AUTH_ROLE_FREE, &u);
	login_ok("dave", "dave's password", &t1);
	assert_int_equal(auth_refresh(A, t1.refresh_token, NULL, &t2, &e), 0);
	assert_string_not_equal(t1.refresh_token, t2.refresh_token);
	assert_string_equal(t1.session_id, t2.session_id);
	assert_int_equal(auth_refresh(A, t2.refresh_token, NULL, &t3, &e), 0);
	/* t1's token was rotated already: presenting it again revokes the family… */
	assert_int_equal(auth_refresh(A, t1.refresh_token, NULL, &tx, &e), -1);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	/* …so even the newest token of that family is dead now. */
	assert_int_equal(auth_refresh(A, t3.refresh_token, NULL, &tx, &e), -1);
	assert_int_equal(auth_sessions_list(A, u.id, &ss, &n, &e), 0);
	assert_int_equal(n, 0);
	free(ss);
	/* Garbage tokens. */
	assert_int_equal(auth_refresh(A, "short", NULL, &tx, &e), -1);
	assert_int_equal(auth_refresh(A, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, &tx, &e), -1);
	assert_int_equal(auth_refresh(A, NULL, NULL, &tx, &e), -1);
	auth_tokens_release(&t1);
	auth_tokens_release(&t2);
	auth_tokens_release(&t3);
}

struct race {
	const char *token;
	int ok;
};

static void *racer(void *arg)
{
	struct race *r = arg;
	struct auth_tokens t;
	struct err e = ERR_INIT;

	r->ok = auth_refresh(A, r->token, NULL, &t, &e) == 0;
	if (r->ok)
		auth_tokens_release(&t);
	return NULL;
}

static void test_concurrent_refresh_one_wins(void **state)
{
	struct auth_user u;
	struct auth_tokens t;
	struct race r[4];
	pthread_t th[4];
	int wins = 0;

	(void)state;
	mkuser("erin", "erin's password", AUTH_ROLE_FREE, &u);
	login_ok("erin", "erin's password", &t);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct race){ t.refresh_token, 0 };
		pthread_create(&th[i], NULL, racer, &r[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		wins += r[i].ok;
	}
	/* At most one exchange succeeds; the others are reuse. */
	assert_true(wins <= 1);
	auth_tokens_release(&t);
}

static void test_sessions_logout_password(void **state)
{
	struct auth_user u;
	struct auth_tokens a1, a2, a3, tx;
	struct auth_session *ss;
	size_t n;
	struct err e = ERR_INIT;

	(void)state;
	mkuser("fay", "fay's password", AUTH_ROLE_FREE, &u);
	login_ok("fay", "fay's password", &a1);
	login_ok("fay", "fay's password", &a2);
	login_ok("fay", "fay's password", &a3);
	assert_int_equal(auth_sessions_list(A, u.id, &ss, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ss[0].user_agent, "test-agent/1.0");
	assert_string_equal(ss[0].peer, "127.0.0.1");
	free(ss);
	/* Revoking another user's session is "not found". */
	assert_int_equal(auth_session_revoke(A, "01ARZ3NDEKTSV4RRFFQ69G5FAV", a1.session_id, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(auth_session_revoke(A, u.id, a1.session_id, &e), 0);
	assert_int_equal(auth_refresh(A, a1.refresh_token, NULL, &tx, &e), -1);
	/* Logout by refresh token. */
	assert_int_equal(auth_logout(A, a2.refresh_token, &e), 0);
	assert_int_equal(auth_refresh(A, a2.refresh_token, NULL, &tx, &e), -1);
	assert_int_equal(auth_logout(A, "unknown", &e), 0);
	/* A password change keeps the current session only. */
	auth_tokens_release(&a1);
	login_ok("fay", "fay's password", &a1);
	assert_int_equal(auth_password_change(A, u.id, "wrong", 5, "new password!", 13, a3.session_id, &e), -1);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	assert_int_equal(auth_password_change(A, u.id, "fay's password", 14, "short", 5, a3.session_id, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(auth_password_change(A, u.id, "fay's password", 14, "new password!", 13, a3.session_id, &e), 0);
	assert_int_equal(auth_refresh(A, a1.refresh_token, NULL, &tx, &e), -1);
	assert_int_equal(auth_refresh(A, a3.refresh_token, NULL, &tx, &e), 0);
	auth_tokens_release(&tx);
	assert_int_equal(auth_login(A, "fay", "fay's password", 14, NULL, &tx, &e), -1);
	login_ok("fay", "new password!", &tx);
	auth_tokens_release(&tx);
	auth_tokens_release(&a1);
	auth_tokens_release(&a2);
	auth_tokens_release(&a3);
}

static void test_registration_and_invitations(void **state)
{
	struct auth_options o = opts;
	struct auth *inv_only, *closed;
	struct auth_user u;
	struct auth_invitation inv;
	struct err e = ERR_INIT;
	struct auth_user_input in = { .username = "gus", .password = "gus's password", .password_len = 14,
				      .role = AUTH_ROLE_ADMIN };

	(void)state;
	/* Open: anyone, always free whatever they ask for. */
	assert_int_equal(auth_register(A, &in, &u, &e), 0);
	assert_int_equal(u.role, AUTH_ROLE_FREE);
	o.registration = AUTH_REG_CLOSED;
	closed = auth_new(F->db, &o, &e);
	in.username = "gus2";
	assert_int_equal(auth_register(closed, &in, &u, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	o.registration = AUTH_REG_INVITE;
	inv_only = auth_new(F->db, &o, &e);
	assert_int_equal(auth_register(inv_only, &in, &u, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	assert_int_equal(auth_invitation_create(inv_only, NULL, AUTH_ROLE_PREMIUM, 0, &inv, &e), 0);
	assert_int_equal(strlen(inv.code), AUTH_INVITE_LEN);
	in.invitation = "not-a-real-invitation-code-xxxxx";
	assert_int_equal(auth_register(inv_only, &in, &u, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	in.invitation = inv.code;
	assert_int_equal(auth_register(inv_only, &in, &u, &e), 0);
	assert_int_equal(u.role, AUTH_ROLE_PREMIUM);
	/* Single use: the account of a failed second use is not created either. */
	in.username = "gus3";
	assert_int_equal(auth_register(inv_only, &in, &u, &e), -1);
	assert_int_equal(auth_user_by_name(A, "gus3", &u, &e), -1);
	/* Expired. */
	assert_int_equal(auth_invitation_create(inv_only, NULL, AUTH_ROLE_FREE, 1, &inv, &e), 0);
	usleep(5000);
	in.invitation = inv.code;
	assert_int_equal(auth_register(inv_only, &in, &u, &e), -1);
	auth_free(closed);
	auth_free(inv_only);
}

static void test_bootstrap_admin(void **state)
{
	char pw[40];
	bool created;
	struct err e = ERR_INIT;
	struct auth_tokens t;

	(void)state;
	assert_int_equal(auth_bootstrap_admin(A, NULL, pw, sizeof(pw), &created, &e), 0);
	assert_true(created);
	assert_int_equal(strlen(pw), 24);
	login_ok("admin", pw, &t);
	auth_tokens_release(&t);
	assert_int_equal(auth_bootstrap_admin(A, "another password", pw, sizeof(pw), &created, &e), 0);
	assert_false(created);
}

static int64_t key_count(void)
{
	struct db_conn *c = fx_acquire(F);
	int64_t n = fx_int(c, "SELECT COUNT(*) FROM signing_keys");

	db_release(c);
	return n;
}

static void test_key_rotation(void **state)
{
	struct auth *node2;
	struct auth_user u;
	struct auth_tokens t, t2;
	struct auth_principal p;
	struct err e = ERR_INIT;
	char kid[AUTH_KID_MAX + 1], *jwks;
	struct db_conn *c;

	(void)state;
	node2 = auth_new(F->db, &opts, &e);
	assert_non_null(node2);
	mkuser("hal", "hal's password", AUTH_ROLE_FREE, &u);
	login_ok("hal", "hal's password", &t);
	assert_int_equal(auth_keys_rotate(A, kid, &e), 0);
	/* The old key's token still verifies, here and on the other node. */
	assert_int_equal(auth_verify_access(A, t.access_token, strlen(t.access_token), &p, &e), 0);
	assert_int_equal(auth_verify_access(node2, t.access_token, strlen(t.access_token), &p, &e), 0);
	jwks = auth_jwks(A);
	assert_non_null(strstr(jwks, kid));
	free(jwks);
	/* A token from the new key: node2 does not know the kid until it reloads. */
	login_ok("hal", "hal's password", &t2);
	assert_int_equal(auth_verify_access(node2, t2.access_token, strlen(t2.access_token), &p, &e), -1);
	assert_non_null(strstr(e.msg, "unknown key"));
	assert_int_equal(auth_keys_refresh(node2, true, &e), 0);
	assert_int_equal(auth_verify_access(node2, t2.access_token, strlen(t2.access_token), &p, &e), 0);
	/* Keys retired longer ago than a token lives are dropped at the next rotation. */
	c = fx_acquire(F);
	fx_exec(c, "UPDATE signing_keys SET retired_at = retired_at - 3600000 WHERE retired_at IS NOT NULL");
	db_release(c);
	assert_true(key_count() >= 2);
	assert_int_equal(auth_keys_rotate(A, kid, &e), 0);
	assert_int_equal(key_count(), 2); /* the just-retired one and the new one */
	assert_int_equal(auth_verify_access(A, t.access_token, strlen(t.access_token), &p, &e), -1);
	assert_int_equal(auth_verify_access(A, t2.access_token, strlen(t2.access_token), &p, &e), 0);
	auth_tokens_release(&t);
	auth_tokens_release(&t2);
	auth_free(node2);
}

#define T(f) cmocka_unit_test_setup(f, wipe)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_accounts),
		T(test_login),
		T(test_rehash_on_login),
		T(test_refresh_rotation_and_reuse),
		T(test_concurrent_refresh_one_wins),
		T(test_sessions_logout_password),
		T(test_registration_and_invitations),
		T(test_bootstrap_admin),
		T(test_key_rotation),
	};
	int failed = 0;

	(void)unused_fixture_helpers;
	log_setup(LOG_WARN, 2);
	failed += cmocka_run_group_tests_name("auth contract: sqlite", tests, setup_sqlite, teardown);
	if (getenv("TA_TEST_PG") && *getenv("TA_TEST_PG"))
		failed += cmocka_run_group_tests_name("auth contract: postgres", tests, setup_pg, teardown);
	else
		printf("SKIPPED postgres: TA_TEST_PG not set (start one with tests/lib/pg.sh start DIR)\n");
	return failed;
}
