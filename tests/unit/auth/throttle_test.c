/* throttle_test.c — sign-in throttling (src/auth/throttle.c): the delays grow and cap, names
 * that exist and names that do not are treated alike, the owner's own address is not locked
 * out by an attacker's failures, and failures are forgotten after a quiet window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>

#include "auth/throttle.h"

#define T0 1000000LL

static struct auth_throttle *mk(void)
{
	struct auth_throttle_options o = { .after = 5, .max_ms = 60000, .window_ms = 15 * 60000 };
	struct err e = ERR_INIT;
	struct auth_throttle *t = auth_throttle_new(&o, &e);

	assert_non_null(t);
	return t;
}

static void growing_delays_capped(void **state)
{
	struct auth_throttle *t = mk();
	int64_t now = T0, want[] = { 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000 };

	(void)state;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(auth_throttle_wait(t, "alice", "192.0.2.9", now), 0);
		assert_int_equal(auth_throttle_fail(t, "alice", "192.0.2.9", now), 0);
	}
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(auth_throttle_wait(t, "alice", "192.0.2.9", now), 0);
		assert_int_equal(auth_throttle_fail(t, "alice", "192.0.2.9", now), want[i]);
		assert_int_equal(auth_throttle_wait(t, "alice", "192.0.2.9", now), want[i]);
		assert_int_equal(auth_throttle_wait(t, "alice", "192.0.2.9", now + want[i] - 1), 1);
		now += want[i];
	}
	/* The name is compared as typed, lower-cased. */
	assert_int_equal(auth_throttle_fail(t, "ALICE", "192.0.2.9", now), 60000);
	auth_throttle_free(t);
}

/* The throttle never looks at accounts: any two names behave the same. */
static void existing_and_unknown_alike(void **state)
{
	struct auth_throttle *t = mk();

	(void)state;
	for (int i = 0; i < 7; i++) {
		int64_t a = auth_throttle_fail(t, "admin", "192.0.2.1", T0);
		int64_t b = auth_throttle_fail(t, "no-such-user-xyz", "192.0.2.2", T0);

		assert_int_equal(a, b);
	}
	assert_int_equal(auth_throttle_wait(t, "admin", "192.0.2.1", T0),
			 auth_throttle_wait(t, "no-such-user-xyz", "192.0.2.2", T0));
	assert_true(auth_throttle_wait(t, "admin", "192.0.2.1", T0) > 0);
	auth_throttle_free(t);
}

/* An attacker hammering the owner's account from many addresses: the owner, who signed in
 * from home before, is never delayed there; a fresh address meets the account-wide delay. */
static void owner_not_locked_out(void **state)
{
	struct auth_throttle *t = mk();
	char addr[32];

	(void)state;
	auth_throttle_ok(t, "carol", "198.51.100.7", T0);
	for (int i = 0; i < 200; i++) {
		snprintf(addr, sizeof(addr), "203.0.113.%d", i % 250);
		auth_throttle_fail(t, "carol", addr, T0 + i);
	}
	assert_int_equal(auth_throttle_wait(t, "carol", "198.51.100.7", T0 + 300), 0);
	/* The attacker's own addresses are slowed down, and a new one meets the account-wide delay. */
	assert_true(auth_throttle_wait(t, "carol", "203.0.113.5", T0 + 300) > 0);
	assert_true(auth_throttle_wait(t, "carol", "192.0.2.200", T0 + 300) > 0);
	/* The owner's own typos at home delay only their pair, and a success clears it. */
	for (int i = 0; i < 5; i++)
		auth_throttle_fail(t, "carol", "198.51.100.7", T0 + 400);
	assert_true(auth_throttle_wait(t, "carol", "198.51.100.7", T0 + 400) > 0);
	auth_throttle_ok(t, "carol", "198.51.100.7", T0 + 2000);
	assert_int_equal(auth_throttle_wait(t, "carol", "198.51.100.7", T0 + 2000), 0);
	auth_throttle_free(t);
}

/* One address trying many names (credential stuffing) is slowed down across names. */
static void address_across_names(void **state)
{
	struct auth_throttle *t = mk();
	char name[32];
	int64_t d = 0;

	(void)state;
	for (int i = 0; i < 20 && d == 0; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		d = auth_throttle_fail(t, name, "192.0.2.50", T0);
	}
	assert_int_equal(d, 1000);
	assert_true(auth_throttle_wait(t, "somebody-else", "192.0.2.50", T0) > 0);
	assert_int_equal(auth_throttle_wait(t, "somebody-else", "192.0.2.51", T0), 0);
	auth_throttle_free(t);
}

static void forgotten_after_quiet_window(void **state)
{
	struct auth_throttle *t = mk();
	int64_t now = T0;

	(void)state;
	for (int i = 0; i < 5; i++)
		auth_throttle_fail(t, "dave", "192.0.2.3", now);
	assert_int_equal(auth_throttle_wait(t, "dave", "192.0.2.3", now), 1000);
	now += 16 * 60000;
	assert_int_equal(auth_throttle_wait(t, "dave", "192.0.2.3", now), 0);
	/* The count started over: four more failures start no delay. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(auth_throttle_fail(t, "dave", "192.0.2.3", now), 0);
	auth_throttle_free(t);
}

static void bounded_state(void **state)
{
	struct auth_throttle_options o = { .max_entries = 100 };
	struct auth_throttle *t = auth_throttle_new(&o, NULL);
	char name[32];

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		auth_throttle_fail(t, name, NULL, T0);
	}
	/* Still works after recycling entries (ASan checks the list surgery). */
	for (int i = 0; i < 5; i++)
		auth_throttle_fail(t, "eve", "192.0.2.4", T0);
	assert_true(auth_throttle_wait(t, "eve", "192.0.2.4", T0) > 0);
	auth_throttle_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(growing_delays_capped), cmocka_unit_test(existing_and_unknown_alike),
		cmocka_unit_test(owner_not_locked_out),	 cmocka_unit_test(address_across_names),
		cmocka_unit_test(forgotten_after_quiet_window), cmocka_unit_test(bounded_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
