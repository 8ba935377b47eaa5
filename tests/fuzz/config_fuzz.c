/* config_fuzz — arbitrary bytes as a configuration file, as an environment and as a flag.
 * Checks: no crash or leak; a failure always says why; a failed load changes nothing;
 * whatever loads also finishes (or fails with a reason), prints and releases cleanly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"

static char *dump(const struct config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	config_print(c, f);
	fclose(f);
	return text;
}

static void check_failure(const struct err *e, const char *before, const struct config *c)
{
	char *after = dump(c);

	if (e->code == ERR_NONE || !e->msg[0] || strcmp(before, after) != 0)
		abort();
	free(after);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct err e = ERR_INIT;
	char *before;

	config_init(&c);
	before = dump(&c);
	if (size > 0 && data[0] == 'E') {
		/* NUL-separated "NAME=value" entries, each given the TONEARM_ prefix */
		char *copy = malloc(size + 1), *env[64];
		size_t n = 0;

		memcpy(copy, data + 1, size - 1);
		copy[size - 1] = '\0';
		for (char *p = copy; p < copy + size - 1 && n < 63; p += strlen(p) + 1) {
			size_t len = strlen(p);
			env[n] = malloc(len + 9);
			memcpy(env[n], "TONEARM_", 8);
			memcpy(env[n] + 8, p, len + 1);
			n++;
		}
		env[n] = NULL;
		if (config_load_env(&c, env, &e) < 0)
			check_failure(&e, before, &c);
		for (size_t i = 0; i < n; i++)
			free(env[i]);
		free(copy);
	} else if (size > 0 && data[0] == 'F') {
		/* "key\0value" as a flag */
		char *copy = malloc(size + 1);
		memcpy(copy, data + 1, size - 1);
		copy[size - 1] = '\0';
		const char *value = memchr(copy, '\0', size - 1) ? copy + strlen(copy) + 1 : NULL;
		if (value && value > copy + size - 1)
			value = NULL;
		if (config_set(&c, copy, value, "--fuzz", &e) < 0)
			check_failure(&e, before, &c);
		free(copy);
	} else if (config_load_text(&c, (const char *)data, size, "fuzz.conf", &e) < 0) {
		check_failure(&e, before, &c);
	}
	free(before);

	struct err fe = ERR_INIT;
	if (config_finish(&c, &fe) < 0 && (fe.code == ERR_NONE || !fe.msg[0]))
		abort();
	free(dump(&c));
	config_release(&c);
	return 0;
}
