#include "base/json.h"

#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

/* Line and column (1-based, columns in bytes) of byte offset `off`, for messages about input
 * that jansson never saw. */
static void locate(const unsigned char *p, size_t len, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (p[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Offset of the first invalid UTF-8 sequence (the caller knows there is one). Only on the
 * error path, so a plain scan trying each sequence length is fine. */
static size_t first_invalid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t k = 1;

		if ((unsigned char)s[i] >= 0x80) {
			for (k = 2; k <= 4 && i + k <= len; k++) {
				if (utf8_valid(s + i, k))
					break;
			}
			if (k > 4 || i + k > len)
				return i;
		}
		i += k;
	}
	return len;
}

/* Depth of the deepest container, or limit + 1 as soon as it is known to exceed `limit`.
 * Iterative, with one frame per open container, so the walk needs at most `limit` frames
 * however wide or deep the value is. */
static size_t depth_of(json_t *root, size_t limit, bool *nomem)
{
	struct frame {
		json_t *v;
		size_t idx;  /* arrays: next index */
		void *iter;  /* objects: next member */
	} *stack;
	size_t top = 0, deepest = 1;

	*nomem = false;
	if (!json_is_array(root) && !json_is_object(root))
		return 0;
	if (limit == 0)
		return 1;
	stack = malloc(limit * sizeof(*stack));
	if (!stack) {
		*nomem = true;
		return 0;
	}
	stack[top++] = (struct frame){ root, 0, json_object_iter(root) };
	while (top > 0) {
		struct frame *f = &stack[top - 1];
		json_t *child = NULL;

		if (json_is_array(f->v)) {
			if (f->idx < json_array_size(f->v))
				child = json_array_get(f->v, f->idx++);
		} else if (f->iter) {
			child = json_object_iter_value(f->iter);
			f->iter = json_object_iter_next(f->v, f->iter);
		}
		if (!child) {
			top--;
			continue;
		}
		if (!json_is_array(child) && !json_is_object(child))
			continue;
		if (top == limit) {
			deepest = limit + 1;
			break;
		}
		stack[top++] = (struct frame){ child, 0, json_object_iter(child) };
		if (top > deepest)
			deepest = top;
	}
	free(stack);
	return deepest;
}

json_t *tjson_parse_strict(const void *data, size_t len, size_t max_depth, struct err *e)
{
	json_error_t je;
	json_t *root;
	size_t line, col;

	if (!data && len)
		return err_set(e, ERR_INVALID, "invalid JSON: no data"), NULL;
	if (max_depth > TJSON_DEPTH_MAX)
		max_depth = TJSON_DEPTH_MAX;
	if (!utf8_valid(data, len)) {
		locate(data, len, first_invalid(data, len), &line, &col);
		err_set(e, ERR_INVALID, "invalid JSON at line %zu, column %zu: invalid UTF-8", line, col);
		return NULL;
	}
	root = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_out_of_memory) {
			err_set(e, ERR_NOMEM, "out of memory parsing JSON");
			return NULL;
		}
		err_set(e, ERR_INVALID, "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	bool nomem;
	if (depth_of(root, max_depth, &nomem) > max_depth || nomem) {
		json_decref(root);
		if (nomem)
			return err_set(e, ERR_NOMEM, "out of memory checking JSON depth"), NULL;
		err_set(e, ERR_INVALID, "invalid JSON: nested deeper than %zu levels", max_depth);
		return NULL;
	}
	return root;
}

/* Shared head of the getters: 1 with *v set when present, 0 absent and optional, -1 error. */
static int field(json_t *obj, const char *key, bool required, json_t **v, struct err *e)
{
	if (!json_is_object(obj))
		return err_set(e, ERR_INVALID, "expected a JSON object");
	*v = json_object_get(obj, key);
	if (*v && !json_is_null(*v))
		return 1;
	if (required)
		return err_set(e, ERR_INVALID, "field \"%s\" is required", key);
	return 0;
}

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

int tjson_get_str(json_t *obj, const char *key, bool required, size_t max_len, const char **out,
		  struct err *e)
{
	json_t *v;
	int r = field(obj, key, required, &v, e);

	if (r <= 0) {
		if (r == 0)
			*out = NULL;
		return r;
	}
	if (!json_is_string(v))
		return err_set(e, ERR_INVALID, "field \"%s\": expected a string", key);
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	/* Values built in code (not parsed) may hold a NUL or invalid UTF-8. */
	if (memchr(s, '\0', len) || !utf8_valid(s, len))
		return err_set(e, ERR_INVALID, "field \"%s\": expected a string of valid UTF-8 without NUL", key);
	if (utf8_chars(s, len) > max_len)
		return err_set(e, ERR_INVALID, "field \"%s\": expected a string of at most %zu characters", key,
			       max_len);
	*out = s;
	return 1;
}

int tjson_get_int(json_t *obj, const char *key, bool required, long long min, long long max,
		  long long *out, struct err *e)
{
	json_t *v;
	int r = field(obj, key, required, &v, e);

	if (r <= 0)
		return r;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return err_set(e, ERR_INVALID, "field \"%s\": expected an integer between %lld and %lld", key,
			       min, max);
	*out = json_integer_value(v);
	return 1;
}

int tjson_get_bool(json_t *obj, const char *key, bool required, bool *out, struct err *e)
{
	json_t *v;
	int r = field(obj, key, required, &v, e);

	if (r <= 0)
		return r;
	if (!json_is_boolean(v))
		return err_set(e, ERR_INVALID, "field \"%s\": expected true or false", key);
	*out = json_is_true(v);
	return 1;
}
