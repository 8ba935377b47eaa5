/* The standard process collector: the gauges every Prometheus client exports about its own
 * process, read from /proc/self when the registry is rendered. */
#include "base/metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The gauges are found again by name at each render (registering an existing family finds
 * it), so the collector needs no state the registry would have to free. */
static struct metric *gauge(struct metrics *reg, const char *name, const char *help)
{
	return metric_child(metrics_family(reg, METRIC_GAUGE, name, help, NULL, NULL, 0), NULL);
}

#define RESIDENT "process_resident_memory_bytes", "Resident memory size in bytes."
#define OPEN_FDS "process_open_fds", "Number of open file descriptors."
#define MAX_FDS "process_max_fds", "Maximum number of open file descriptors."
#define START_TIME "process_start_time_seconds", "Start time of the process since unix epoch in seconds."

/* Read a small /proc file whole into `out` (NUL-terminated). */
static bool read_small(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return false;
	while (len < cap - 1) {
		ssize_t n = read(fd, out + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	out[len] = '\0';
	return len > 0;
}

/* Field `n` (1-based, as proc(5) numbers them) of /proc/self/stat. The second field is the
 * command name in parentheses and may itself hold spaces and parentheses, so counting starts
 * after the last ')'. */
static bool stat_field(unsigned n, unsigned long long *out)
{
	char text[1024];
	char *p, *end;

	if (n < 3 || !read_small("/proc/self/stat", text, sizeof(text)))
		return false;
	p = strrchr(text, ')');
	if (!p)
		return false;
	p++;
	for (unsigned field = 3; field <= n; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return false;
		if (field == n) {
			*out = strtoull(p, &end, 10);
			return end != p;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

/* Seconds since the epoch at which this process started: boot time + start ticks. /proc/stat
 * is read line by line: on a machine with many CPUs and interrupts, "btime" comes after
 * kilobytes of other lines. */
static bool start_time(double *out)
{
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	if (hz <= 0 || !stat_field(22, &ticks))
		return false;
	f = fopen("/proc/stat", "re");
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		if (strncmp(line, "btime ", 6) == 0) {
			*out = strtod(line + 6, NULL) + (double)ticks / (double)hz;
			found = true;
		}
	}
	free(line);
	fclose(f);
	return found;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	long n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* not the descriptor that read the directory */
}

static void collect(struct metrics *reg, void *ud)
{
	unsigned long long pages;
	struct rlimit rl;
	long fds = open_fds();

	(void)ud;
	if (stat_field(24, &pages))
		metric_set(gauge(reg, RESIDENT), (double)pages * (double)sysconf(_SC_PAGESIZE));
	if (fds >= 0)
		metric_set(gauge(reg, OPEN_FDS), (double)fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		metric_set(gauge(reg, MAX_FDS), rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
}

int metrics_process_register(struct metrics *reg)
{
	struct metric *start;
	double started;

	if (!reg || !start_time(&started))
		return -1;
	start = gauge(reg, START_TIME);
	if (!start || !gauge(reg, RESIDENT) || !gauge(reg, OPEN_FDS) || !gauge(reg, MAX_FDS))
		return -1;
	metric_set(start, started);
	metrics_on_collect(reg, collect, NULL);
	return 0;
}
