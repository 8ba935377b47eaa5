/* system.c — the routes an operator and a load balancer use: liveness, readiness, metrics,
 * and the version. */
#include "api/system.h"

#include <jansson.h>
#include <string.h>

#include "api/api.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/clock.h"
#include "base/jsonw.h"
#include "db/db.h"
#include "http/http.h"
#include "store/store.h"

/* Alive: the process answers. Deliberately checks nothing else, so a slow database never
 * makes an orchestrator restart a healthy process. */
void api_healthz(struct http_req *req, void *app)
{
	static const char ok[] = "{\"status\":\"ok\"}";

	(void)app;
	http_res_send(req, 200, "application/json", ok, sizeof(ok) - 1);
}

/* Ready: the database and the object store answer. Runs on the handler pool: both pings
 * may touch the network (PostgreSQL, S3). */
void api_readyz(struct http_req *req, void *app)
{
	struct api *a = app;
	struct err dberr = ERR_INIT, sterr = ERR_INIT;
	int dbok = db_ping(a->db, &dberr) == 0;
	int stok = store_ping(a->store, &sterr) == 0;
	char detail[2 * ERR_MSG_MAX + 32];

	if (dbok && stok) {
		http_res_json(req, 200, json_pack("{s:s, s:{s:s, s:s}}", "status", "ready", "checks",
						  "db", "ok", "store", "ok"));
		return;
	}
	snprintf(detail, sizeof(detail), "%s%s%s%s%s", dbok ? "" : "database: ", dbok ? "" : dberr.msg,
		 !dbok && !stok ? "; " : "", stok ? "" : "store: ", stok ? "" : sterr.msg);
	log_kv(LOG_WARN, http_req_id(req), "not ready",
	       LOG_FIELDS(LOG_STR("db", dbok ? "ok" : dberr.msg), LOG_STR("store", stok ? "ok" : sterr.msg)));
	http_res_problem(req, 503, "Not ready", detail);
}

/* Prometheus scrape: the text exposition format. */
void api_metrics(struct http_req *req, void *app)
{
	struct api *a = app;
	struct buf out = BUF_INIT;

	buf_init(&out, 16u << 20);
	if (!a->metrics || metrics_render(a->metrics, &out) < 0) {
		buf_release(&out);
		http_res_problem(req, 500, "Internal Server Error", "metrics could not be rendered");
		return;
	}
	http_res_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
	buf_release(&out);
}

/* Written with jsonw, not a jansson tree: a load balancer or monitor may ask often, and
 * building, dumping and freeing six jansson values was most of this route's CPU. */
void api_version(struct http_req *req, void *app)
{
	struct api *a = app;
	struct jsonw w;

	jsonw_init(&w, 4096);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "name");
	jsonw_str(&w, "tonearm");
	jsonw_key(&w, "version");
	jsonw_str(&w, TONEARM_VERSION);
	jsonw_key(&w, "commit");
	jsonw_str(&w, TONEARM_COMMIT);
	jsonw_key(&w, "db");
	jsonw_str(&w, db_backend_name(a->db));
	jsonw_key(&w, "store");
	jsonw_str(&w, store_backend_name(a->store));
	jsonw_key(&w, "uptime_seconds");
	jsonw_int(&w, (clock_now_ms() - a->started_ms) / 1000);
	jsonw_obj_end(&w);
	api_send_jsonw(req, 200, &w);
	jsonw_release(&w);
}
