/* apikeys.h (api) — app passwords / API keys of the caller (auth/apikey.h) and the admin's view
 * of the audit trail.
 *
 *   POST   /api/v1/me/api-keys        {name, scope?} → 201 with the key, shown once
 *   GET    /api/v1/me/api-keys        the caller's keys (never the secret)
 *   DELETE /api/v1/me/api-keys/{id}   revoke one
 *   GET    /api/v1/admin/audit?cursor=&limit=&user=&event=   newest first (admin)
 *
 * Keys are then sent as `Authorization: Bearer ta_…` or `X-API-Key: ta_…` (api/auth.c's hook).
 */
#ifndef TONEARM_API_APIKEYS_H
#define TONEARM_API_APIKEYS_H

struct http_req;

void api_me_apikeys_create(struct http_req *req, void *app);
void api_me_apikeys_list(struct http_req *req, void *app);
void api_me_apikey_delete(struct http_req *req, void *app);
void api_admin_audit(struct http_req *req, void *app);

#endif
