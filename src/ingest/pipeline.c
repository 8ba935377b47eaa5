/* pipeline.c — one file through the steps of ingest.h, whichever door it came in by:
 * hash → duplicate? → probe → tags → analyse → cover art → original into the store (copy
 * mode, uploads) → one catalogue transaction. Refusals go to quarantine.
 *
 * The steps are ordered by cost: the hash (a sequential read) decides duplicates before any
 * decoding, and the catalogue row is written last, after every object it names is committed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "catalog/catalog.h"
#include "ingest/internal.h"
#include "jobs/jobs.h"
#include "media/analyse.h"
#include "media/probe.h"
#include "media/tags.h"
#include "store/store.h"

/* An object downloaded for the media libraries (S3) may not be larger than this. */
#define INGEST_DOWNLOAD_MAX ((uint64_t)8 << 30)

struct ingest *ingest_new(struct db *db, struct store *store, struct catalog *cat, struct err *e)
{
	struct ingest *ing = calloc(1, sizeof(*ing));
	const char *tmp = getenv("TMPDIR");

	if (!ing) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	ing->db = db;
	ing->store = store;
	ing->cat = cat;
	snprintf(ing->tmp_dir, sizeof(ing->tmp_dir), "%s", tmp && *tmp ? tmp : "/tmp");
	media_av_setup();
	return ing;
}

void ingest_set_analyse(struct ingest *ing, bool analyse)
{
	ing->skip_analysis = !analyse;
	ing->defer_analysis = false;
}

void ingest_set_defer_analysis(struct ingest *ing, bool defer)
{
	ing->skip_analysis = defer;
	ing->defer_analysis = defer;
}

void ingest_set_jobs(struct ingest *ing, struct jobs *q)
{
	ing->jobs = q;
}

void ingest_free(struct ingest *ing)
{
	free(ing);
}

static void result_init(struct ingest_result *res)
{
	memset(res, 0, sizeof(*res));
}

/* Record a refusal: the reason in *res, the bytes (uploads) and a quarantine row. */
static int refuse(struct ingest *ing, struct ingest_src *src, struct ingest_result *res,
		  const char *reason, struct err *e)
{
	res->outcome = INGEST_REFUSED;
	res->track_id[0] = '\0';
	snprintf(res->reason, sizeof(res->reason), "%s", reason);
	snprintf(res->sha256, sizeof(res->sha256), "%s", src->sha256);
	if (src->upload && src->sha256[0]) {
		char key[80];

		snprintf(key, sizeof(key), "quarantine/%s", src->sha256);
		if (ingest_copy_fd(ing->store, src->fd, key, src->sha256, src->size, e) < 0)
			return err_wrap(e, "keeping a refused file");
	}
	if (ingest_quarantine_add(ing, src, res->reason, e) < 0)
		return err_wrap(e, "recording a refused file");
	log_kv(LOG_INFO, NULL, "ingest refused",
	       LOG_FIELDS(LOG_STR("name", src->name), LOG_STR("sha256", src->sha256), LOG_STR("reason", res->reason)));
	return 0;
}

/* Is this failure the file's (refuse it) or the service's (give up, retry later)? */
static bool file_fault(const struct err *fe)
{
	return fe->code == ERR_INVALID || fe->code == ERR_IO || fe->code == ERR_NOT_FOUND ||
	       fe->code == ERR_UNSUPPORTED || fe->code == ERR_TOO_LARGE || fe->code == ERR_RANGE;
}

static int cover(struct ingest *ing, const struct ingest_src *src, const struct media_tags *t,
		 char hash[65], struct err *e)
{
	unsigned char *img = NULL;
	size_t len = 0;
	int rc;

	hash[0] = '\0';
	if (t->picture.data && t->picture.size)
		return ingest_art_store(ing, t->picture.data, t->picture.size, hash, e);
	if (!src->dir)
		return 0;
	rc = ingest_art_folder(src->dir, &img, &len, e);
	if (rc <= 0)
		return rc;
	rc = ingest_art_store(ing, img, len, hash, e);
	free(img);
	return rc;
}

/* What the file is. The full probe (libavformat: first packets decoded, the tail read to
 * catch a cut file) runs when the analysis is inline, and for every file TagLib did not
 * describe (lossless formats, unreadable or odd files). With the analysis skipped or deferred,
 * a lossy file TagLib read with a positive duration is taken on its headers: the trade-off is
 * that such a file cut short is caught only by its `analyse` job (which then fails and leaves
 * it unanalysed, logged) instead of being refused here. Lossless files, where a cut is common
 * and the check is what the probe is for, keep it. */
static int probe_or_tags(const struct ingest *ing, const struct ingest_src *src, const struct media_tags *t,
			 struct media_info *info, struct err *e)
{
	const struct media_tag_audio *a = &t->audio;

	if (!ing->skip_analysis)
		return media_probe(src->media_path, info, e);
	if (!a->known)
		return media_probe_known(src->media_path, a->container[0] ? a->container : NULL, info, e);
	memset(info, 0, sizeof(*info));
	snprintf(info->format, sizeof(info->format), "%s", a->format);
	snprintf(info->codec, sizeof(info->codec), "%s", a->codec);
	if (a->channels == 1)
		snprintf(info->layout, sizeof(info->layout), "mono");
	else if (a->channels == 2)
		snprintf(info->layout, sizeof(info->layout), "stereo");
	else
		snprintf(info->layout, sizeof(info->layout), "%d channels", a->channels);
	info->duration_ms = a->duration_ms;
	info->bit_rate = (int64_t)a->bitrate_kbps * 1000;
	info->sample_rate = a->sample_rate;
	info->channels = a->channels;
	info->has_picture = t->picture.data != NULL;
	return 0;
}

static int run(struct ingest *ing, struct ingest_src *src, struct ingest_result *res, struct err *e)
{
	struct media_info info;
	struct media_tags tags;
	struct media_analysis an;
	struct media_analyse_options aopt = { 0 };
	struct catalog_track_input in;
	struct ingest_mapped m;
	struct catalog_track_added added;
	struct err fe = ERR_INIT;
	char why[ERR_MSG_MAX + 32], cover_hash[65], key[80];
	bool stored = false, mapped = false;
	int ret = -1, rc;

	memset(&tags, 0, sizeof(tags));
	memset(&an, 0, sizeof(an));
	result_init(res);
	if (!src->sha256[0] && ingest_hash_fd(src->fd, src->sha256, &src->size, &fe) < 0) {
		if (fe.code != ERR_IO) {
			*e = fe;
			goto out;
		}
		ret = refuse(ing, src, res, fe.msg, e);
		goto out;
	}
	snprintf(res->sha256, sizeof(res->sha256), "%s", src->sha256);

	rc = ingest_find_sha(ing, src->sha256, res->track_id, e);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		res->outcome = INGEST_DUPLICATE;
		ret = 0;
		goto out;
	}

	/* Tags that cannot be read do not make audio unusable: the track keeps its file name.
	 * Without the inline analysis, TagLib's audio properties stand in for the probe for the
	 * lossy formats it reads (see probe_or_tags). */
	if ((ing->skip_analysis ? media_tags_read_audio : media_tags_read)(src->media_path, &tags, &fe) < 0) {
		if (fe.code == ERR_NOMEM) {
			*e = fe;
			goto out;
		}
		log_kv(LOG_WARN, NULL, "ingest: tags unreadable",
		       LOG_FIELDS(LOG_STR("name", src->name), LOG_STR("error", fe.msg)));
		media_tags_release(&tags);
		err_clear(&fe);
	}
	if (probe_or_tags(ing, src, &tags, &info, &fe) < 0) {
		if (!file_fault(&fe)) {
			*e = fe;
			goto out;
		}
		ret = refuse(ing, src, res, fe.msg, e);
		goto out;
	}
	aopt.duration_ms = info.duration_ms > 0 ? info.duration_ms : 0;
	if (!ing->skip_analysis && media_analyse(src->media_path, &aopt, &an, &fe) < 0) {
		if (!file_fault(&fe)) {
			*e = fe;
			goto out;
		}
		snprintf(why, sizeof(why), "analysis failed: %s", fe.msg);
		ret = refuse(ing, src, res, why, e);
		goto out;
	}
	if (cover(ing, src, &tags, cover_hash, e) < 0)
		goto out;
	if (ingest_map(&tags, &info, ing->skip_analysis ? NULL : &an, src->name, &in, &m, e) < 0)
		goto out;
	mapped = true;
	in.sha256 = src->sha256;
	in.file_size = (int64_t)src->size;
	in.cover_hash = cover_hash[0] ? cover_hash : NULL;
	snprintf(key, sizeof(key), "orig/%s", src->sha256);
	if (src->in_place) {
		in.path = src->path;
	} else {
		/* The original is committed before the row that names it. */
		if (ingest_copy_fd(ing->store, src->fd, key, src->sha256, src->size, e) < 0)
			goto out;
		stored = true;
		in.object_key = key;
	}
	if (catalog_track_add(ing->cat, &in, &added, &fe) == 0) {
		res->outcome = INGEST_ADDED;
		snprintf(res->track_id, sizeof(res->track_id), "%s", added.id);
		/* After the row is committed, so the job always finds its track. The track is in
		 * either way: a failed enqueue is logged, and re-enqueueing is idempotent. */
		if (ing->jobs) {
			struct err je = ERR_INIT;

			if (jobs_enqueue(ing->jobs, "transcode", res->track_id, NULL, &je) < 0)
				log_kv(LOG_WARN, NULL, "cannot enqueue transcode",
				       LOG_FIELDS(LOG_STR("track", res->track_id), LOG_STR("error", je.msg)));
			err_clear(&je);
			if (ing->skip_analysis && ing->defer_analysis &&
			    jobs_enqueue(ing->jobs, "analyse", res->track_id, NULL, &je) < 0)
				log_kv(LOG_WARN, NULL, "cannot enqueue analyse",
				       LOG_FIELDS(LOG_STR("track", res->track_id), LOG_STR("error", je.msg)));
		}
		ret = 0;
		goto out;
	}
	if (fe.code == ERR_CONFLICT) {
		/* Another import or upload of the same bytes won the race: the object is theirs too. */
		res->outcome = INGEST_DUPLICATE;
		snprintf(res->track_id, sizeof(res->track_id), "%s", added.id);
		ret = 0;
		goto out;
	}
	if (fe.code == ERR_INVALID) {
		struct err de = ERR_INIT;

		if (stored)
			store_delete(ing->store, key, &de);
		snprintf(why, sizeof(why), "tags break a rule: %s", fe.msg);
		ret = refuse(ing, src, res, why, e);
		goto out;
	}
	*e = fe;
out:
	if (mapped)
		ingest_mapped_release(&m);
	media_tags_release(&tags);
	media_analysis_release(&an);
	return ret;
}

int ingest_file(struct ingest *ing, const char *path, const char *display_name, bool in_place,
		struct ingest_result *res, struct err *e)
{
	struct ingest_src src;
	struct ingest_record old;
	struct stat sb;
	char dir[PATH_MAX];
	const char *slash;
	int fd, ret = -1;

	result_init(res);
	memset(&src, 0, sizeof(src));
	src.fd = -1;
	src.media_path = path;
	src.path = path;
	src.in_place = in_place;
	src.name = display_name ? display_name : (slash = strrchr(path, '/')) ? slash + 1 : path;
	slash = strrchr(path, '/');
	if (slash && (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		src.dir = slash == path ? "/" : dir;
	} else if (!slash) {
		src.dir = ".";
	}
	if (in_place && path[0] != '/')
		return err_set(e, ERR_INVALID, "an in-place import needs an absolute path");

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		struct err fe = ERR_INIT;

		if (fd < 0)
			err_errno(&fe, ERR_IO, errno, "cannot open");
		else
			err_set(&fe, ERR_INVALID, "not a regular file");
		ret = refuse(ing, &src, res, fe.msg, e);
		goto out;
	}
	src.fd = fd;
	src.size = (uint64_t)sb.st_size;
	if (ingest_record_get(ing, path, &old, e) < 0)
		goto out;
	if (run(ing, &src, res, e) < 0)
		goto out;
	/* The file changed since it was read in place: the track made from its old bytes goes. */
	if (old.found && old.in_place && strcmp(old.outcome, "added") == 0 && old.track_id[0] &&
	    strcmp(old.track_id, res->track_id) != 0 && ingest_track_remove(ing, old.track_id, e) < 0)
		goto out;
	if (ingest_record_put(ing, path, (int64_t)sb.st_size,
			      (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec, in_place, res, e) < 0)
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* S3 and other stores without file descriptors: download the object to a temporary file,
 * hashing it on the way (so the hash pass is this download). */
struct download {
	int fd;
	uint64_t written;
};

static int download_sink(void *ud, const void *data, size_t n)
{
	struct download *d = ud;
	const char *p = data;

	if (d->written + n > INGEST_DOWNLOAD_MAX)
		return -1;
	while (n) {
		ssize_t w = write(d->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
		d->written += (uint64_t)w;
	}
	return 0;
}

int ingest_object_fd(struct ingest *ing, const char *key, int *fd_out, uint64_t *size, struct err *e)
{
	struct store_stat st;
	char tmp_path[600];
	int fd = -1;
	struct download d = { .fd = -1 };

	*fd_out = -1;
	if (store_caps(ing->store) & STORE_CAP_FD) {
		if (store_open_fd(ing->store, key, fd_out, &st, e) < 0)
			return -1;
		*size = st.size;
		return 0;
	}
	if (store_stat(ing->store, key, &st, e) < 0)
		return -1;
	if (st.size > INGEST_DOWNLOAD_MAX)
		return err_set(e, ERR_TOO_LARGE, "the object is larger than %llu bytes",
			       (unsigned long long)INGEST_DOWNLOAD_MAX);
	snprintf(tmp_path, sizeof(tmp_path), "%s/tonearm-ingest-XXXXXX", ing->tmp_dir);
	fd = mkostemp(tmp_path, O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "creating a temporary file");
	/* Unlinked at once: the descriptor keeps it, and a crash leaves nothing behind. */
	unlink(tmp_path);
	d.fd = fd;
	if (store_read(ing->store, key, 0, UINT64_MAX, download_sink, &d, e) < 0) {
		close(fd);
		return -1;
	}
	*fd_out = fd;
	*size = st.size;
	return 0;
}

int ingest_object(struct ingest *ing, const char *tmp_key, const char *display_name,
		  struct ingest_result *res, struct err *e)
{
	struct ingest_src src;
	char media_path[64];
	uint64_t size = 0;
	int fd = -1, ret = -1;
	struct err de = ERR_INIT;

	result_init(res);
	memset(&src, 0, sizeof(src));
	src.name = display_name && *display_name ? display_name : "upload";
	src.upload = true;
	if (ingest_object_fd(ing, tmp_key, &fd, &size, e) < 0)
		return -1;
	snprintf(media_path, sizeof(media_path), "/proc/self/fd/%d", fd);
	src.fd = fd;
	src.media_path = media_path;
	src.size = size;
	if (run(ing, &src, res, e) < 0)
		goto out;
	/* Every outcome has the bytes where they belong now (orig/, quarantine/, or the existing
	 * track's original): the temporary object goes. */
	store_delete(ing->store, tmp_key, &de);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}
