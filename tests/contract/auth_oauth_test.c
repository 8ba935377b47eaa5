/* The OAuth server, API keys and the audit trail on every database backend: clients and their
 * authentication, the code flow with PKCE and its single-use codes, refresh bound to the
 * client, client credentials, revocation, introspection; keys; the stored audit events.
 *
 * SQLite always; PostgreSQL too when TA_TEST_PG holds a server URL (tests/lib/pg.sh start).
 */
#include "auth/apikey.h"
#include "auth/auth.h"
#include "auth/oauth.h"
#include "base/log.h"
#include "contract/auth_fixture.c"

static void (*const unused_fixture_helpers[])(void) = {
	(void (*)(void))fx_table_exists, (void (*)(void))fx_migrate, (void (*)(void))fx_now_ms, (void (*)(void))fx_int,
};


#define REDIRECT "https://app.example/cb"
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


static int wipe(void **state)
{
	struct db_conn *c = fx_acquire(*state);

	fx_exec(c, "DELETE FROM oauth_codes; DELETE FROM oauth_requests; DELETE FROM oauth_clients; DELETE FROM api_keys; "
		   "DELETE FROM audit_events; DELETE FROM refresh_tokens; DELETE FROM sessions; DELETE FROM invitations; "
		   "DELETE FROM users");
	db_release(c);
	return 0;
}

static void mkuser(const char *name, enum auth_role role, struct auth_user *out)
{
	struct auth_user_input in = { .username = name, .password = "correct horse", .password_len = 13, .role = role };
	struct err e = ERR_INIT;

	if (auth_user_create(A, &in, out, &e) < 0)
		fail_msg("create %s: %s", name, e.msg);
}

static void mkclient(enum oauth_client_type type, unsigned grants, const char *scope, const char *by,
		     struct oauth_client *out, char *secret)
{
	const char *uris[] = { REDIRECT, "http://127.0.0.1:8123/cb" };
	struct oauth_client_input in = { .name = "App", .type = type, .grants = grants, .scope = scope,
					 .redirect = uris, .nredirect = 2, .created_by = by };
	struct err e = ERR_INIT;

	if (oauth_client_create(A, &in, out, secret, &e) < 0)
		fail_msg("client: %s", e.msg);
}

/* Through the authorization request to a code, as the pages do. */
static void get_code(const struct oauth_client *cl, const char *scope, const char *challenge, char *code)
{
	struct oauth_authz_params p = { "code", cl->id, REDIRECT, "st", scope, challenge, challenge ? "S256" : NULL };
	struct oauth_client got;
	struct oauth_request r, r2;
	char granted[AUTH_SCOPE_MAX + 1], csrf[OAUTH_SECRET_LEN + 1], wrong[OAUTH_SECRET_LEN + 1];
	enum oauth_error oe;
	const char *why;
	struct err e = ERR_INIT;

	assert_int_equal(oauth_authorize_check(A, &p, &got, granted, &oe, &why), OAUTH_AUTHZ_OK);
	assert_int_equal(oauth_request_start(A, &p, &got, granted, &r, csrf, &e), 0);
	/* The CSRF token is bound to the request. */
	memcpy(wrong, csrf, sizeof(wrong));
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	assert_int_equal(oauth_request_load(A, r.id, wrong, &r2, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	assert_int_equal(oauth_request_load(A, r.id, csrf, &r2, &e), 0);
	assert_string_equal(r2.state, "st");
	/* Consent before sign-in is refused; a wrong password does not sign in. */
	assert_int_equal(oauth_request_finish(A, &r2, true, NULL, code, &e), -1);
	assert_int_equal(oauth_request_signin(A, &r2, "alice", "wrong password", 14, "10.0.0.1", &e), -1);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	assert_int_equal(oauth_request_signin(A, &r2, "alice", "correct horse", 13, "10.0.0.1", &e), 0);
	assert_int_equal(oauth_request_load(A, r.id, csrf, &r2, &e), 0);
	assert_true(r2.user_id[0]);
	assert_int_equal(oauth_request_finish(A, &r2, true, NULL, code, &e), 0);
	assert_int_equal(strlen(code), OAUTH_SECRET_LEN);
	/* The request is spent. */
	assert_int_equal(oauth_request_load(A, r.id, csrf, &r2, &e), -1);
}

static void test_clients(void **state)
{
	struct oauth_client c, got, *list;
	char secret[OAUTH_SECRET_LEN + 1];
	enum oauth_error oe;
	struct err e = ERR_INIT;
	size_t n;
	const char *bad_uris[] = { "https://x.example/cb#frag" };
	struct oauth_client_input in = { .name = "Bad", .type = OAUTH_CLIENT_PUBLIC, .redirect = bad_uris, .nredirect = 1 };

	(void)state;
	mkclient(OAUTH_CLIENT_CONFIDENTIAL, 0, "library:read stream", NULL, &c, secret);
	assert_int_equal(strlen(secret), OAUTH_SECRET_LEN);
	assert_int_equal(oauth_client_get(A, c.id, &got, &e), 0);
	assert_string_equal(got.scope, "library:read stream");
	assert_int_equal(got.nredirect, 2);
	assert_string_equal(got.redirect[0], REDIRECT);
	assert_int_equal(got.grants, OAUTH_GRANT_CODE | OAUTH_GRANT_REFRESH);
	assert_int_equal(oauth_client_authenticate(A, c.id, secret, &got, &oe, &e), 0);
	secret[5] ^= 1;
	assert_int_equal(oauth_client_authenticate(A, c.id, secret, &got, &oe, &e), -1);
	assert_int_equal(oe, OAUTH_INVALID_CLIENT);
	assert_int_equal(oauth_client_authenticate(A, c.id, NULL, &got, &oe, &e), -1);
	assert_int_equal(oauth_client_authenticate(A, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "x", &got, &oe, &e), -1);
	assert_int_equal(oe, OAUTH_INVALID_CLIENT);
	/* Registration rules. */
	assert_int_equal(oauth_client_create(A, &in, NULL, secret, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	in = (struct oauth_client_input){ .name = "CC", .type = OAUTH_CLIENT_PUBLIC, .grants = OAUTH_GRANT_CLIENT_CREDENTIALS };
	assert_int_equal(oauth_client_create(A, &in, NULL, secret, &e), -1);
	in = (struct oauth_client_input){ .name = "Code", .type = OAUTH_CLIENT_PUBLIC };
	assert_int_equal(oauth_client_create(A, &in, NULL, secret, &e), -1);
	in = (struct oauth_client_input){ .name = "Scope", .type = OAUTH_CLIENT_PUBLIC, .scope = "library:read root",
					  .redirect = (const char *[]){ REDIRECT }, .nredirect = 1 };
	assert_int_equal(oauth_client_create(A, &in, NULL, secret, &e), -1);
	assert_int_equal(oauth_client_list(A, &list, &n, &e), 0);
	assert_int_equal(n, 1);
	free(list);
	assert_int_equal(oauth_client_delete(A, c.id, &e), 0);
	assert_int_equal(oauth_client_delete(A, c.id, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

static void test_authorize_checks(void **state)
{
	struct oauth_client pub, got;
	char secret[OAUTH_SECRET_LEN + 1], scope[AUTH_SCOPE_MAX + 1];
	enum oauth_error oe;
	const char *why;
	struct oauth_authz_params p = { "code", NULL, REDIRECT, "s", NULL, CHALLENGE, "S256" };

	(void)state;
	mkclient(OAUTH_CLIENT_PUBLIC, 0, "account library:read", NULL, &pub, secret);
	p.client_id = pub.id;
	assert_int_equal(oauth_authorize_check(A, &p, &got, scope, &oe, &why), OAUTH_AUTHZ_OK);
	assert_string_equal(scope, "account library:read");
	/* Exact redirect URIs only: a prefix, an extra character, another case are shown, not sent. */
	static const char *const near[] = { REDIRECT "/", REDIRECT "x", "https://app.example/cB", "https://app.example/c",
					     "HTTPS://app.example/cb", NULL };
	for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
		struct oauth_authz_params q = p;

		q.redirect_uri = near[i];
		assert_int_equal(oauth_authorize_check(A, &q, &got, scope, &oe, &why), OAUTH_AUTHZ_SHOW_ERROR);
	}
	p.client_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
	assert_int_equal(oauth_authorize_check(A, &p, &got, scope, &oe, &why), OAUTH_AUTHZ_SHOW_ERROR);
	p.client_id = pub.id;
	/* plain, no PKCE for a public client, an unknown response type, a scope beyond the client's. */
	p.code_challenge_method = "plain";
	assert_int_equal(oauth_authorize_check(A, &p, &got, scope, &oe, &why), OAUTH_AUTHZ_REDIRECT);
	assert_int_equal(oe, OAUTH_INVALID_REQUEST);
	p.code_challenge_method = NULL;
	p.code_challenge = NULL;
	assert_int_equal(oauth_authorize_check(A, &p, &got, scope, &oe, &why), OAUTH_AUTHZ_REDIRECT);
	assert_int_equal(oe, OAUTH_INVALID_REQUEST);
	p.code_challenge = CHALLENGE;
	p.code_challenge_method = "S256";
	p.response_type = "token";
	assert_int_equal(oauth_authorize_check(A, &p, &got, scope, &oe, &why), OAUTH_AUTHZ_REDIRECT);
	assert_int_equal(oe, OAUTH_UNSUPPORTED_RESPONSE_TYPE);
	p.response_type = "code";
	p.scope = "library:read admin";
	assert_int_equal(oauth_authorize_check(A, &p, &got, scope, &oe, &why), OAUTH_AUTHZ_REDIRECT);
	assert_int_equal(oe, OAUTH_INVALID_SCOPE);
}

static void test_code_flow(void **state)
{
	struct auth_user alice;
	struct oauth_client pub, other;
	struct oauth_grant_result g, g2;
	struct oauth_introspection info;
	struct auth_principal pr;
	char secret[OAUTH_SECRET_LEN + 1], code[OAUTH_SECRET_LEN + 1];
	enum oauth_error oe;
	struct err e = ERR_INIT;

	(void)state;
	mkuser("alice", AUTH_ROLE_FREE, &alice);
	mkclient(OAUTH_CLIENT_PUBLIC, 0, "account library:read download", NULL, &pub, secret);
	mkclient(OAUTH_CLIENT_PUBLIC, 0, NULL, NULL, &other, secret);

	/* Wrong verifier: refused, and the code is spent. */
	get_code(&pub, NULL, CHALLENGE, code);
	assert_int_equal(oauth_grant_code(A, &pub, code, REDIRECT, "x" VERIFIER, NULL, &g, &oe, &e), -1);
	assert_int_equal(oe, OAUTH_INVALID_GRANT);
	assert_int_equal(oauth_grant_code(A, &pub, code, REDIRECT, VERIFIER, NULL, &g, &oe, &e), -1);

	/* Another client, another redirect URI, no verifier: refused. */
	get_code(&pub, NULL, CHALLENGE, code);
	assert_int_equal(oauth_grant_code(A, &other, code, REDIRECT, VERIFIER, NULL, &g, &oe, &e), -1);
	get_code(&pub, NULL, CHALLENGE, code);
	assert_int_equal(oauth_grant_code(A, &pub, code, "http://127.0.0.1:8123/cb", VERIFIER, NULL, &g, &oe, &e), -1);
	get_code(&pub, NULL, CHALLENGE, code);
	assert_int_equal(oauth_grant_code(A, &pub, code, REDIRECT, NULL, NULL, &g, &oe, &e), -1);

	/* The good exchange: role ∩ scopes (free has no download). */
	get_code(&pub, "account library:read download", CHALLENGE, code);
	assert_int_equal(oauth_grant_code(A, &pub, code, REDIRECT, VERIFIER, NULL, &g, &oe, &e), 0);
	assert_string_equal(g.scope, "account library:read download");
	assert_int_equal(auth_verify_access(A, g.tokens.access_token, strlen(g.tokens.access_token), &pr, &e), 0);
	assert_string_equal(pr.user_id, alice.id);
	assert_int_equal(pr.perms, AUTH_PERM_ACCOUNT | AUTH_PERM_LIBRARY_READ);
	assert_int_equal(oauth_introspect(A, g.tokens.access_token, &info, &e), 0);
	assert_true(info.active);
	assert_string_equal(info.client_id, pub.id);

	/* Refresh: bound to the client, scope kept; the first-party path refuses it. */
	assert_int_equal(auth_refresh(A, g.tokens.refresh_token, NULL, &g2.tokens, &e), -1);
	assert_int_equal(oauth_grant_refresh(A, &other, g.tokens.refresh_token, NULL, &g2, &oe, &e), -1);
	assert_int_equal(oauth_grant_refresh(A, &pub, g.tokens.refresh_token, NULL, &g2, &oe, &e), 0);
	assert_string_equal(g2.scope, "account library:read download");
	assert_int_equal(auth_verify_access(A, g2.tokens.access_token, strlen(g2.tokens.access_token), &pr, &e), 0);
	assert_int_equal(pr.perms, AUTH_PERM_ACCOUNT | AUTH_PERM_LIBRARY_READ);

	/* Replaying the code revokes what it gave. */
	auth_tokens_release(&g.tokens);
	assert_int_equal(oauth_grant_code(A, &pub, code, REDIRECT, VERIFIER, NULL, &g, &oe, &e), -1);
	assert_int_equal(oe, OAUTH_INVALID_GRANT);
	assert_int_equal(oauth_introspect(A, g2.tokens.access_token, &info, &e), 0);
	assert_false(info.active);
	assert_int_equal(oauth_introspect(A, g2.tokens.refresh_token, &info, &e), 0);
	assert_false(info.active);
	auth_tokens_release(&g.tokens);
	auth_tokens_release(&g2.tokens);

	/* Revocation: only by the client the token belongs to. */
	get_code(&pub, NULL, CHALLENGE, code);
	assert_int_equal(oauth_grant_code(A, &pub, code, REDIRECT, VERIFIER, NULL, &g, &oe, &e), 0);
	assert_int_equal(oauth_revoke(A, &other, g.tokens.refresh_token, &e), 0);
	assert_int_equal(oauth_introspect(A, g.tokens.refresh_token, &info, &e), 0);
	assert_true(info.active);
	assert_int_equal(oauth_revoke(A, &pub, g.tokens.refresh_token, &e), 0);
	assert_int_equal(oauth_introspect(A, g.tokens.refresh_token, &info, &e), 0);
	assert_false(info.active);
	assert_int_equal(oauth_revoke(A, &pub, "garbage", &e), 0);
	auth_tokens_release(&g.tokens);
}

static void test_client_credentials(void **state)
{
	struct auth_user boss;
	struct oauth_client cc, pub;
	struct oauth_grant_result g;
	struct auth_principal pr;
	char secret[OAUTH_SECRET_LEN + 1];
	enum oauth_error oe;
	struct err e = ERR_INIT;
	enum auth_role free_role = AUTH_ROLE_FREE;

	(void)state;
	mkuser("boss", AUTH_ROLE_ADMIN, &boss);
	mkclient(OAUTH_CLIENT_CONFIDENTIAL, OAUTH_GRANT_CLIENT_CREDENTIALS, "library:read analytics:read", boss.id, &cc, secret);
	mkclient(OAUTH_CLIENT_PUBLIC, 0, NULL, boss.id, &pub, secret);
	assert_int_equal(oauth_grant_client_credentials(A, &pub, NULL, &g, &oe, &e), -1);
	assert_int_equal(oe, OAUTH_UNAUTHORIZED_CLIENT);
	assert_int_equal(oauth_grant_client_credentials(A, &cc, "admin", &g, &oe, &e), -1);
	assert_int_equal(oe, OAUTH_INVALID_SCOPE);
	assert_int_equal(oauth_grant_client_credentials(A, &cc, NULL, &g, &oe, &e), 0);
	assert_string_equal(g.tokens.refresh_token, "");
	assert_int_equal(auth_verify_access(A, g.tokens.access_token, strlen(g.tokens.access_token), &pr, &e), 0);
	assert_string_equal(pr.user_id, cc.id);
	assert_int_equal(pr.perms, AUTH_PERM_LIBRARY_READ | AUTH_PERM_ANALYTICS_READ);
	auth_tokens_release(&g.tokens);
	/* The client acts with its registrar's role: a demoted registrar drags it down. */
	assert_int_equal(auth_user_update(A, boss.id, &free_role, NULL, NULL, &e), 0);
	assert_int_equal(oauth_grant_client_credentials(A, &cc, NULL, &g, &oe, &e), 0);
	assert_int_equal(auth_verify_access(A, g.tokens.access_token, strlen(g.tokens.access_token), &pr, &e), 0);
	assert_int_equal(pr.perms, AUTH_PERM_LIBRARY_READ);
	auth_tokens_release(&g.tokens);
}

static void test_apikeys(void **state)
{
	struct auth_user alice, bob;
	struct auth_apikey k, *list;
	struct auth_principal p;
	char key[AUTH_APIKEY_LEN + 1], key2[AUTH_APIKEY_LEN + 1];
	struct err e = ERR_INIT;
	bool off = true;
	size_t n;

	(void)state;
	mkuser("alice", AUTH_ROLE_PREMIUM, &alice);
	mkuser("bob", AUTH_ROLE_FREE, &bob);
	assert_int_equal(auth_apikey_create(A, alice.id, "player", "library:read stream", &k, key, &e), 0);
	assert_true(auth_apikey_looks(key));
	assert_int_equal(auth_apikey_verify(A, key, NULL, &p, &e), 0);
	assert_string_equal(p.user_id, alice.id);
	assert_int_equal(p.perms, AUTH_PERM_LIBRARY_READ | AUTH_PERM_STREAM | AUTH_PERM_STREAM_LOSSLESS);
	/* Subsonic style: the key must be the named user's (any case of the name). */
	assert_int_equal(auth_apikey_check(A, "ALICE", key, NULL, &p, &e), 0);
	assert_int_equal(auth_apikey_check(A, "bob", key, NULL, &p, &e), -1);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	/* One flipped secret character; another's id with this secret. */
	memcpy(key2, key, sizeof(key2));
	key2[AUTH_APIKEY_LEN - 1] = key2[AUTH_APIKEY_LEN - 1] == 'A' ? 'B' : 'A';
	assert_int_equal(auth_apikey_verify(A, key2, NULL, &p, &e), -1);
	assert_int_equal(auth_apikey_create(A, alice.id, "bad", "root", &k, key2, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(auth_apikey_list(A, alice.id, &list, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "player");
	assert_true(list[0].last_used_at > 0);
	free(list);
	/* Bob cannot revoke Alice's key; a disabled owner's key stops; a revoked key stops. */
	assert_int_equal(auth_apikey_delete(A, bob.id, k.id, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(auth_user_update(A, alice.id, NULL, &off, NULL, &e), 0);
	assert_int_equal(auth_apikey_verify(A, key, NULL, &p, &e), -1);
	off = false;
	assert_int_equal(auth_user_update(A, alice.id, NULL, &off, NULL, &e), 0);
	assert_int_equal(auth_apikey_verify(A, key, NULL, &p, &e), 0);
	assert_int_equal(auth_apikey_delete(A, alice.id, k.id, &e), 0);
	assert_int_equal(auth_apikey_verify(A, key, NULL, &p, &e), -1);
}

static void test_audit(void **state)
{
	struct auth_user alice;
	struct auth_tokens t;
	struct auth_audit_event *ev;
	struct auth_client cl = { "ua", "192.0.2.7" };
	struct err e = ERR_INIT;
	size_t n, total;

	(void)state;
	mkuser("alice", AUTH_ROLE_FREE, &alice);
	assert_int_equal(auth_login(A, "alice", "correct horse", 13, &cl, &t, &e), 0);
	auth_tokens_release(&t);
	assert_int_equal(auth_login(A, "alice", "wrong", 5, &cl, &t, &e), -1);
	assert_int_equal(auth_audit_list(A, NULL, 100, NULL, NULL, &ev, &total, &e), 0);
	assert_true(total >= 3);
	/* Newest first. */
	assert_string_equal(ev[0].event, "login_failed");
	assert_string_equal(ev[0].user_id, alice.id);
	assert_string_equal(ev[0].peer, "192.0.2.7");
	assert_string_equal(ev[1].event, "login");
	free(ev);
	assert_int_equal(auth_audit_list(A, NULL, 100, alice.id, "login", &ev, &n, &e), 0);
	assert_int_equal(n, 1);
	free(ev);
	/* Paging with the cursor walks every event once. */
	assert_int_equal(auth_audit_list(A, NULL, 1, NULL, NULL, &ev, &n, &e), 0);
	assert_int_equal(n, 1);
	{
		char cursor[ID_LEN + 1];
		size_t seen = 1;

		memcpy(cursor, ev[0].id, sizeof(cursor));
		free(ev);
		while (auth_audit_list(A, cursor, 1, NULL, NULL, &ev, &n, &e) == 0 && n == 1) {
			memcpy(cursor, ev[0].id, sizeof(cursor));
			free(ev);
			seen++;
		}
		free(ev);
		assert_int_equal(seen, total);
	}
	assert_int_equal(auth_audit_list(A, "not a cursor", 10, NULL, NULL, &ev, &n, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
}

#define T(f) cmocka_unit_test_setup(f, wipe)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_clients), T(test_authorize_checks), T(test_code_flow), T(test_client_credentials),
		T(test_apikeys), T(test_audit),
	};
	int failed = 0;

	(void)unused_fixture_helpers;
	log_setup(LOG_WARN, 2);
	failed += cmocka_run_group_tests_name("auth oauth contract: sqlite", tests, setup_sqlite, teardown);
	if (getenv("TA_TEST_PG") && *getenv("TA_TEST_PG"))
		failed += cmocka_run_group_tests_name("auth oauth contract: postgres", tests, setup_pg, teardown);
	else
		printf("SKIPPED postgres: TA_TEST_PG not set (start one with tests/lib/pg.sh start DIR)\n");
	return failed;
}
