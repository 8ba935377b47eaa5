/* limits.h (cli) — abuse protection wiring for `tonearm serve`: the rate limiter, the
 * sign-in throttle, connection limits, timeouts, TLS and CORS, from the configuration. */
#ifndef TONEARM_CLI_LIMITS_H
#define TONEARM_CLI_LIMITS_H

#include "api/api.h"
#include "base/config.h"
#include "http/http.h"

/* The hooks in the order they run: authentication, then the per-account bucket. */
extern const struct http_hook cli_serve_hooks[];
extern const size_t cli_serve_nhooks;

/* Fill the abuse-protection fields of *opt and app->throttle from `conf`. What it makes is
 * released by cli_limits_release(opt, app), also after a failure. -1 with `e` set
 * (ERR_INVALID for a bad trusted proxy address, ERR_NOMEM). */
int cli_limits_open(const struct config *conf, struct api *app, struct http_server_options *opt, struct err *e);
void cli_limits_release(struct http_server_options *opt, struct api *app);

#endif
