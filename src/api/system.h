/* system.h — operational routes: /healthz, /readyz, /metrics, /api/v1/version. */
#ifndef TONEARM_API_SYSTEM_H
#define TONEARM_API_SYSTEM_H

struct http_req;

void api_healthz(struct http_req *req, void *app);
void api_readyz(struct http_req *req, void *app);
void api_metrics(struct http_req *req, void *app);
void api_version(struct http_req *req, void *app);

#endif
