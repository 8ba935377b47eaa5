#include "api/body.h"

#include "base/err.h"
#include "http/http.h"

json_t *api_body_object(struct http_req *req)
{
	struct err e = ERR_INIT;
	json_t *j = http_req_json(req, &e);

	if (!j) {
		http_res_err(req, &e);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		http_res_problem(req, 400, "Bad Request", "the body must be a JSON object");
		return NULL;
	}
	return j;
}
