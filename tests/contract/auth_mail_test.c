/* E-mail tokens on every database backend (auth/verify.h): verification and password reset
 * are single use and expire, stored only as hashes; a reset revokes every session and never
 * tells whether an account exists; two spenders of one token race and exactly one wins.
 *
 * SQLite always; PostgreSQL too when TA_TEST_PG holds a server URL (tests/lib/pg.sh start):
 *   D=$(mktemp -d); export TA_TEST_PG=$(tests/lib/pg.sh start $D); ctest -R auth_mail; tests/lib/pg.sh stop $D
 */
#include <pthread.h>

#include "auth/auth.h"
#include "auth/verify.h"
#include "base/clock.h"
#include "base/log.h"
#include "contract/auth_fixture.c"

static void (*const unused_fixture_helpers[])(void) = {
	(void (*)(void))fx_table_exists, (void (*)(void))fx_migrate, (void (*)(void))fx_now_ms,
	(void (*)(void))fx_prepare, (void (*)(void))fx_step,
};



static int wipe(void **state)
{
	struct db_conn *c = fx_acquire(*state);

	fx_exec(c, "DELETE FROM email_tokens; DELETE FROM refresh_tokens; DELETE FROM sessions; DELETE FROM users");
	db_release(c);
	return 0;
}

static void mkuser(const char *name, const char *email, struct auth_user *out)
{
	struct auth_user_input in = { .username = name, .email = email, .password = "old password 1",
				      .password_len = 14, .role = AUTH_ROLE_FREE };
	struct err e = ERR_INIT;

	if (auth_user_create(A, &in, out, &e) < 0)
		fail_msg("create %s: %s", name, e.msg);
}

static bool verified(const char *id)
{
	struct err e = ERR_INIT;
	bool v = true;

	if (auth_email_verified(A, id, &v, &e) < 0)
		fail_msg("verified: %s", e.msg);
	return v;
}

static void test_verify(void **state)
{
	struct auth_user u, v, out;
	struct auth_mail_token t, t2;
	struct err e = ERR_INIT;
	char bad[AUTH_MAIL_TOKEN_LEN + 1];

	(void)state;
	mkuser("alice", "Alice@Example.com", &u);
	mkuser("nomail", NULL, &v);
	assert_false(verified(u.id));
	assert_int_equal(auth_verify_email_issue(A, u.id, 0, &t, &e), 0);
	assert_int_equal(strlen(t.token), AUTH_MAIL_TOKEN_LEN);
	assert_string_equal(t.email, "Alice@Example.com");
	assert_string_equal(t.username, "alice");
	assert_true(t.expires_at > clock_now_ms() + 23 * 3600 * 1000LL);
	/* Only the hash is stored. */
	{
		struct db_conn *c = fx_acquire(F);

		assert_int_equal(fx_int(c, "SELECT count(*) FROM email_tokens WHERE email = 'Alice@Example.com'"), 1);
		db_release(c);
	}
	/* A second link works as well as the first (each once). */
	assert_int_equal(auth_verify_email_issue(A, u.id, 0, &t2, &e), 0);
	assert_string_not_equal(t.token, t2.token);
	/* Garbage, a reset-kind lookup of a verify token, a one-character change: all refused. */
	assert_int_equal(auth_verify_email(A, "short", NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	memcpy(bad, t.token, sizeof(bad));
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	err_clear(&e);
	assert_int_equal(auth_verify_email(A, bad, NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	assert_int_equal(auth_password_reset(A, t.token, "new password 12", 15, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_false(verified(u.id));
	assert_int_equal(auth_verify_email(A, t.token, &out, &e), 0);
	assert_string_equal(out.id, u.id);
	assert_true(verified(u.id));
	/* Single use. */
	err_clear(&e);
	assert_int_equal(auth_verify_email(A, t.token, NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	/* Verified already: no new link. No address: none either. Unknown account: not found. */
	err_clear(&e);
	assert_int_equal(auth_verify_email_issue(A, u.id, 0, &t, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	err_clear(&e);
	assert_int_equal(auth_verify_email_issue(A, v.id, 0, &t, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	assert_int_equal(auth_verify_email_issue(A, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 0, &t, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

static void test_verify_expired(void **state)
{
	struct auth_user u;
	struct auth_mail_token t;
	struct err e = ERR_INIT;

	(void)state;
	mkuser("bob", "bob@example.com", &u);
	assert_int_equal(auth_verify_email_issue(A, u.id, 1, &t, &e), 0);
	usleep(5000);
	assert_int_equal(auth_verify_email(A, t.token, NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_false(verified(u.id));
}

static void login(const char *name, const char *pw, struct auth_tokens *t)
{
	struct err e = ERR_INIT;
	struct auth_client cl = { "test", "127.0.0.1" };

	if (auth_login(A, name, pw, strlen(pw), &cl, t, &e) < 0)
		fail_msg("login %s: %s", name, e.msg);
}

static void test_reset(void **state)
{
	struct auth_user u, d;
	struct auth_mail_token t, t2;
	struct auth_tokens s1, s2, s3;
	struct err e = ERR_INIT;
	bool found = true;
	const char *unknown[] = { "nobody", "nobody@example.com", "", "x", "a\r\nb@c.d", NULL };

	(void)state;
	mkuser("carol", "carol@example.com", &u);
	mkuser("dave", NULL, &d);
	login("carol", "old password 1", &s1);
	/* Unknown names and addresses, malformed input, an account without an address: 0, nothing. */
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		found = true;
		assert_int_equal(auth_password_reset_issue(A, unknown[i], 0, &found, &t, &e), 0);
		assert_false(found);
		assert_string_equal(t.token, "");
	}
	assert_int_equal(auth_password_reset_issue(A, "dave", 0, &found, &t, &e), 0);
	assert_false(found);
	/* By name and by address, case-insensitive. */
	assert_int_equal(auth_password_reset_issue(A, "CAROL", 0, &found, &t, &e), 0);
	assert_true(found);
	assert_string_equal(t.email, "carol@example.com");
	assert_true(t.expires_at > clock_now_ms() + 3500 * 1000LL && t.expires_at <= clock_now_ms() + 3600 * 1000LL);
	assert_int_equal(auth_password_reset_issue(A, "Carol@Example.COM", 0, &found, &t2, &e), 0);
	assert_true(found);
	/* A weak password leaves the token unspent. */
	assert_int_equal(auth_password_reset(A, t.token, "short", 5, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	/* A verify lookup of a reset token is refused. */
	err_clear(&e);
	assert_int_equal(auth_verify_email(A, t.token, NULL, &e), -1);
	assert_int_equal(auth_password_reset(A, t.token, "brand new password", 18, &e), 0);
	/* Every session revoked; the new password works, the old one does not. */
	err_clear(&e);
	assert_int_equal(auth_refresh(A, s1.refresh_token, NULL, &s3, &e), -1);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	login("carol", "brand new password", &s2);
	err_clear(&e);
	assert_int_equal(auth_login(A, "carol", "old password 1", 14, NULL, &s3, &e), -1);
	/* Reading the mail proves the address. */
	assert_true(verified(u.id));
	/* Used: refused. The other outstanding link died with it. */
	err_clear(&e);
	assert_int_equal(auth_password_reset(A, t.token, "another password 1", 18, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	assert_int_equal(auth_password_reset(A, t2.token, "another password 1", 18, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	/* A disabled account gets no link. */
	{
		bool dis = true;

		assert_int_equal(auth_user_update(A, u.id, NULL, &dis, NULL, &e), 0);
		assert_int_equal(auth_password_reset_issue(A, "carol", 0, &found, &t, &e), 0);
		assert_false(found);
	}
	auth_tokens_release(&s1);
	auth_tokens_release(&s2);
}

static void test_reset_expired(void **state)
{
	struct auth_user u;
	struct auth_mail_token t;
	struct err e = ERR_INIT;
	bool found;

	(void)state;
	mkuser("erin", "erin@example.com", &u);
	assert_int_equal(auth_password_reset_issue(A, "erin", 1, &found, &t, &e), 0);
	assert_true(found);
	usleep(5000);
	assert_int_equal(auth_password_reset(A, t.token, "brand new password", 18, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
}

struct racer {
	const char *token;
	int rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct err e = ERR_INIT;

	r->rc = auth_password_reset(A, r->token, "raced password 123", 18, &e);
	return NULL;
}

static void test_reset_race_one_wins(void **state)
{
	struct auth_user u;
	struct auth_mail_token t;
	struct err e = ERR_INIT;
	struct racer r[4];
	pthread_t th[4];
	bool found;
	int wins = 0;

	(void)state;
	mkuser("frank", "frank@example.com", &u);
	assert_int_equal(auth_password_reset_issue(A, "frank", 0, &found, &t, &e), 0);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){ t.token, -2 };
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		wins += r[i].rc == 0;
	}
	assert_int_equal(wins, 1);
}

#define T(f) cmocka_unit_test_setup(f, wipe)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_verify), T(test_verify_expired), T(test_reset), T(test_reset_expired), T(test_reset_race_one_wins),
	};
	int failed = 0;

	(void)unused_fixture_helpers;
	log_setup(LOG_WARN, 2);
	failed += cmocka_run_group_tests_name("auth mail contract: sqlite", tests, setup_sqlite, teardown);
	if (getenv("TA_TEST_PG") && *getenv("TA_TEST_PG"))
		failed += cmocka_run_group_tests_name("auth mail contract: postgres", tests, setup_pg, teardown);
	else
		printf("SKIPPED postgres: TA_TEST_PG not set (start one with tests/lib/pg.sh start DIR)\n");
	return failed;
}
