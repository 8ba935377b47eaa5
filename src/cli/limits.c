/* limits.c (cli) — see limits.h. The one table of stricter per-route buckets lives here,
 * keyed by route name (api/routes.c names the routes). */
#include "cli/limits.h"

#include <string.h>

#include "api/auth.h"
#include "auth/auth.h"
#include "auth/throttle.h"
#include "base/log.h"
#include "http/limits.h"

/* The account a request is from: the principal the authentication hook found. */
static const char *account_of(const struct http_req *req)
{
	const struct auth_principal *p = api_principal(req);

	return p && p->user_id[0] ? p->user_id : NULL;
}

const struct http_hook cli_serve_hooks[] = {
	{ "auth", api_auth_hook },
	{ "ratelimit_account", http_limits_account_hook },
};
const size_t cli_serve_nhooks = sizeof(cli_serve_hooks) / sizeof(cli_serve_hooks[0]);

static struct ratelimit_rule per_minute(int n)
{
	return (struct ratelimit_rule){ n / 60.0, (unsigned)n };
}

int cli_limits_open(const struct config *conf, struct api *app, struct http_server_options *opt, struct err *e)
{
	/* Sign-in, registration and the routes that mint or reset credentials. Route names
	 * that do not exist (yet) simply never match. */
	const struct http_limit_named named[] = {
		{ "auth_login", per_minute(conf->rate_login_per_min) },
		{ "oauth_authorize_post", per_minute(conf->rate_login_per_min) }, /* the sign-in form */
		{ "auth_register", per_minute(conf->rate_register_per_min) },
		{ "auth_refresh", per_minute(conf->rate_refresh_per_min) },
		{ "me_password", per_minute(conf->rate_refresh_per_min) },
		{ "auth_password_reset", per_minute(conf->rate_register_per_min) },
		{ "auth_password_forgot", per_minute(conf->rate_register_per_min) },
		{ "oauth_token", per_minute(conf->rate_refresh_per_min) },
	};
	struct http_limits_options lo = {
		.per_ip = { conf->rate_ip_rps, (unsigned)conf->rate_ip_burst },
		.per_account = { conf->rate_user_rps, (unsigned)conf->rate_user_burst },
		.named = named,
		.nnamed = sizeof(named) / sizeof(named[0]),
		.exempt = conf->rate_exempt,
		.trusted_proxies = conf->trusted_proxies,
		.account_of = account_of,
	};
	struct auth_throttle_options to = { .after = (unsigned)conf->login_throttle_after,
					    .max_ms = conf->login_throttle_max };

	if (strncmp(conf->cache, "redis", 5) == 0)
		log_kv(LOG_WARN, NULL, "rate limits are kept per process: the Redis backend is not written yet",
		       LOG_FIELDS(LOG_STR("cache", conf->cache)));
	opt->limits = http_limits_new(&lo, e);
	if (!opt->limits)
		return -1;
	app->throttle = auth_throttle_new(&to, e);
	if (!app->throttle)
		return -1;
	opt->max_conns_per_ip = conf->max_conns_per_ip;
	opt->request_timeout_ms = (int)conf->request_timeout;
	opt->idle_timeout_ms = (int)conf->idle_timeout;
	opt->tls_cert = conf->tls_cert;
	opt->tls_key = conf->tls_key;
	opt->cors_origins = conf->cors_origins;
	opt->hooks = cli_serve_hooks;
	opt->nhooks = cli_serve_nhooks;
	return 0;
}

void cli_limits_release(struct http_server_options *opt, struct api *app)
{
	http_limits_free(opt->limits);
	opt->limits = NULL;
	auth_throttle_free(app->throttle);
	app->throttle = NULL;
}
