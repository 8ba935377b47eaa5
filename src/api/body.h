/* body.h — what several handlers do with a request body. */
#ifndef TONEARM_API_BODY_H
#define TONEARM_API_BODY_H

#include <jansson.h>

struct http_req;

/* The request body as a JSON object, or NULL after answering the request itself: 400 (or 413)
 * problem+json for a body that is not JSON, is too large, or is JSON but not an object. The
 * caller owns the returned reference. */
json_t *api_body_object(struct http_req *req);

#endif
