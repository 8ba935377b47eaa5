/* stream.c (cli) — configuration → struct stream (see cli/stream.h). */
#include "cli/stream.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/log.h"

struct stream *cli_stream_new(const struct config *conf, struct db *db, struct store *store,
			      struct catalog *cat, struct err *e)
{
	struct stream_options opt;
	struct stream *s = NULL;
	char path[4096];

	stream_options_default(&opt);
	if (stream_ladder_parse(conf->ladder, &opt, e) < 0)
		return NULL;
	opt.segment_seconds = conf->segment_seconds;
	opt.live_cache_max = conf->live_cache_max;
	if (conf->master_key && *conf->master_key) {
		if (stream_master_key_parse(conf->master_key, opt.master_key, e) < 0)
			goto out;
	} else {
		if ((size_t)snprintf(path, sizeof(path), "%s/master.key", conf->data) >= sizeof(path)) {
			err_set(e, ERR_INVALID, "data path too long");
			goto out;
		}
		/* The data folder may not exist yet on a first start with a custom db and store. */
		mkdir(conf->data, 0755);
		if (stream_master_key_load(path, opt.master_key, e) < 0) {
			err_wrap(e, "master key %s", path);
			goto out;
		}
	}
	s = stream_new(db, store, cat, &opt, e);
out:
	OPENSSL_cleanse(&opt, sizeof(opt));
	return s;
}
