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
#include "db/db.h"
#include "ingest/internal.h"
#include "jobs/jobs.h"
#include "media/analyse.h"
#include "media/probe.h"
#include "media/tags.h"
#include "store/store.h"

/* How many times a file of a batch is recorded again after losing a race (ERR_CONFLICT). */
#define RECORD_ATTEMPTS 4

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
	if (ingest_art_seen_init(ing) < 0) {
		free(ing);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	ing->db = db;
	ing->store = store;
	ing->cat = cat;
	snprintf(ing->tmp_dir, sizeof(ing->tmp_dir), "%s", tmp && *tmp ? tmp : "/tmp");
	return ing;
}

void ingest_set_analyse(struct ingest *ing, bool analyse)
{
	ing->skip_analysis = !analyse;
}

void ingest_set_jobs(struct ingest *ing, struct jobs *q)
{
	ing->jobs = q;
}

void ingest_free(struct ingest *ing)
{
	if (!ing)
		return;
	ingest_art_seen_release(ing);
	free(ing);
}

static void result_init(struct ingest_result *res)
{
	memset(res, 0, sizeof(*res));
}

/* One file between its two phases: prepared (read, probed, its objects committed to the
 * store) and recorded (its rows written). Uploads and single files go through both at once;
 * a folder import records many prepared files in one transaction (ingest_items_record). */
struct ingest_item {
	struct ingest_src src;
	char *path, *name;          /* owned: src.path, src.media_path and src.name point here */
	char dir[PATH_MAX];         /* src.dir, when the file sits in a folder */
	bool record;                /* a folder file: its import_files row goes with it */
	int64_t size, mtime_ns;     /* as stat(2) saw it before it was read */
	struct ingest_record old;   /* its import_files row before this run */
	enum { ITEM_DONE, ITEM_REFUSE, ITEM_ADD } step; /* what recording it still needs */
	struct ingest_result res;
	/* ITEM_ADD: the catalogue input and what its pointers point into */
	struct media_tags tags;
	struct media_info info;
	struct media_analysis an;   /* the input's fingerprint points into it */
	struct ingest_mapped m;
	bool mapped, stored;
	bool unsynced;              /* stored, durable only after a store_sync */
	struct catalog_track_input in;
	char cover_hash[65], key[80];
};

static void item_release_media(struct ingest_item *it)
{
	if (it->mapped)
		ingest_mapped_release(&it->m);
	it->mapped = false;
	media_tags_release(&it->tags);
	media_analysis_release(&it->an);
}

void ingest_item_free(struct ingest_item *it)
{
	if (!it)
		return;
	item_release_media(it);
	if (it->src.fd >= 0)
		close(it->src.fd);
	free(it->path);
	free(it->name);
	free(it);
}

/* A refusal found while preparing: the reason in the result, the bytes of an upload kept
 * under quarantine/<sha256>; the quarantine row is written when the item is recorded. */
static int refuse_prepared(struct ingest *ing, struct ingest_item *it, const char *reason, struct err *e)
{
	struct ingest_src *src = &it->src;

	it->step = ITEM_REFUSE;
	it->res.outcome = INGEST_REFUSED;
	it->res.track_id[0] = '\0';
	snprintf(it->res.reason, sizeof(it->res.reason), "%s", reason);
	snprintf(it->res.sha256, sizeof(it->res.sha256), "%s", src->sha256);
	if (src->upload && src->sha256[0]) {
		char key[80];

		snprintf(key, sizeof(key), "quarantine/%s", src->sha256);
		if (ingest_copy_fd(ing->store, src->fd, key, src->sha256, src->size, false, e) < 0)
			return err_wrap(e, "keeping a refused file");
	}
	return 0;
}

/* The quarantine row of a refused item. */
static int record_refusal(struct ingest *ing, struct ingest_item *it, struct err *e)
{
	if (ingest_quarantine_add(ing, &it->src, it->res.reason, e) < 0)
		return err_wrap(e, "recording a refused file");
	log_kv(LOG_INFO, NULL, "ingest refused",
	       LOG_FIELDS(LOG_STR("name", it->src.name), LOG_STR("sha256", it->src.sha256),
			  LOG_STR("reason", it->res.reason)));
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
	hash[0] = '\0';
	if (t->picture.data && t->picture.size)
		return ingest_art_store(ing, t->picture.data, t->picture.size, hash, e);
	if (!src->dir)
		return 0;
	return ingest_art_folder_store(ing, src->dir, hash, e) < 0 ? -1 : 0;
}

/* What the file is. The full probe (libavformat: first packets decoded, the tail read to
 * catch a cut file) runs when the analysis is inline, and for every file TagLib did not
 * describe (lossless formats, unreadable or odd files). With the analysis skipped (left to
 * the transcode job), a lossy file TagLib read with a positive duration is taken on its
 * headers: the trade-off is that such a file cut short is caught only by the analysis in its
 * transcode job (which then leaves it unanalysed, logged) instead of being refused here. Lossless files, where a cut is common
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

/* Everything before the database is written: hash → duplicate? → tags → probe → analyse →
 * cover art → original into the store (copy mode, uploads). Leaves it->step saying what
 * recording remains. -1 only when the service failed (nothing to record). */
static int prepare(struct ingest *ing, struct ingest_item *it, struct err *e)
{
	struct ingest_src *src = &it->src;
	struct ingest_result *res = &it->res;
	struct media_info *info = &it->info;
	struct media_analysis *an = &it->an;
	struct media_analyse_options aopt = { 0 };
	struct err fe = ERR_INIT;
	char why[ERR_MSG_MAX + 32];
	int ret = -1, rc;

	it->step = ITEM_DONE;
	if (!src->sha256[0] && ingest_hash_fd(src->fd, src->sha256, &src->size, &fe) < 0) {
		if (fe.code != ERR_IO) {
			*e = fe;
			goto out;
		}
		ret = refuse_prepared(ing, it, fe.msg, e);
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
	if ((ing->skip_analysis ? media_tags_read_audio : media_tags_read)(src->media_path, &it->tags, &fe) < 0) {
		if (fe.code == ERR_NOMEM) {
			*e = fe;
			goto out;
		}
		log_kv(LOG_WARN, NULL, "ingest: tags unreadable",
		       LOG_FIELDS(LOG_STR("name", src->name), LOG_STR("error", fe.msg)));
		media_tags_release(&it->tags);
		err_clear(&fe);
	}
	if (probe_or_tags(ing, src, &it->tags, info, &fe) < 0) {
		if (!file_fault(&fe)) {
			*e = fe;
			goto out;
		}
		ret = refuse_prepared(ing, it, fe.msg, e);
		goto out;
	}
	aopt.duration_ms = info->duration_ms > 0 ? info->duration_ms : 0;
	if (!ing->skip_analysis && media_analyse(src->media_path, &aopt, an, &fe) < 0) {
		if (!file_fault(&fe)) {
			*e = fe;
			goto out;
		}
		snprintf(why, sizeof(why), "analysis failed: %s", fe.msg);
		ret = refuse_prepared(ing, it, why, e);
		goto out;
	}
	if (cover(ing, src, &it->tags, it->cover_hash, e) < 0)
		goto out;
	/* Stored (or not wanted): the picture's bytes need not wait for the batch. */
	free(it->tags.picture.data);
	it->tags.picture.data = NULL;
	it->tags.picture.size = 0;
	if (ingest_map(&it->tags, info, ing->skip_analysis ? NULL : an, src->name, &it->in, &it->m, e) < 0)
		goto out;
	it->mapped = true;
	it->in.sha256 = src->sha256;
	it->in.file_size = (int64_t)src->size;
	it->in.cover_hash = it->cover_hash[0] ? it->cover_hash : NULL;
	snprintf(it->key, sizeof(it->key), "orig/%s", src->sha256);
	if (src->in_place) {
		it->in.path = src->path;
	} else {
		/* The original is committed before the row that names it. A folder file's is made
		 * durable with the others of its batch by one store_sync just before the batch's
		 * transaction (ingest_items_record); an upload's at once. */
		it->unsynced = !src->upload;
		if (ingest_copy_fd(ing->store, src->fd, it->key, src->sha256, src->size, it->unsynced, e) < 0)
			goto out;
		it->stored = true;
		it->in.object_key = it->key;
	}
	it->step = ITEM_ADD;
	ret = 0;
out:
	return ret;
}

/* The catalogue row of a prepared file, and its jobs. 0, -1, or 1: refused (see record). */
static int record_add(struct ingest *ing, struct ingest_item *it, struct err *e)
{
	struct ingest_result *res = &it->res;
	struct catalog_track_added added;
	struct err fe = ERR_INIT;
	char why[ERR_MSG_MAX + 32];

	if (catalog_track_add(ing->cat, &it->in, &added, &fe) == 0) {
		res->outcome = INGEST_ADDED;
		snprintf(res->track_id, sizeof(res->track_id), "%s", added.id);
		/* After the row (or with it, in a batch), so the job always finds its track. The
		 * track is in either way: a failed enqueue is logged, and re-enqueueing is
		 * idempotent. */
		if (ing->jobs) {
			struct err je = ERR_INIT;

			if (jobs_enqueue(ing->jobs, "transcode", res->track_id, NULL, &je) < 0)
				log_kv(LOG_WARN, NULL, "cannot enqueue transcode",
				       LOG_FIELDS(LOG_STR("track", res->track_id), LOG_STR("error", je.msg)));
			/* A deferred analysis is made in that job's decode (ingest.h). */
		}
		return 0;
	}
	if (fe.code == ERR_CONFLICT && added.id[0]) {
		/* Another file, import or upload of the same bytes won: the object is theirs too. */
		res->outcome = INGEST_DUPLICATE;
		snprintf(res->track_id, sizeof(res->track_id), "%s", added.id);
		return 0;
	}
	if (fe.code == ERR_INVALID) {
		struct err de = ERR_INIT;

		if (it->stored)
			store_delete(ing->store, it->key, &de);
		it->stored = false;
		it->step = ITEM_REFUSE;
		res->outcome = INGEST_REFUSED;
		res->track_id[0] = '\0';
		/* Cut to fit, as the refusal always was. */
		snprintf(why, sizeof(why), "tags break a rule: %s", fe.msg);
		memcpy(res->reason, why, sizeof(res->reason) - 1);
		res->reason[sizeof(res->reason) - 1] = '\0';
		return 1;
	}
	*e = fe;
	return -1;
}

/* A file read in place replaced the one recorded at its path: the track made from the old
 * bytes goes (with the objects only it used). */
static bool replaces_track(const struct ingest_item *it)
{
	return it->record && it->old.found && it->old.in_place && strcmp(it->old.outcome, "added") == 0 &&
	       it->old.track_id[0];
}

/* Every row of a prepared item: catalogue or quarantine, then its import_files record.
 * 0 when done, -1 when it failed, and 1 when the catalogue refused the file's tags: the item
 * is a refusal now, and must be recorded again once what this call did is undone (a failed
 * statement may have spoilt the transaction: the caller rolls back to its savepoint; outside
 * a batch, catalog_track_add's own transaction is already rolled back). */
static int record(struct ingest *ing, struct ingest_item *it, struct err *e)
{
	if (it->step == ITEM_ADD) {
		int rc = record_add(ing, it, e);

		if (rc != 0)
			return rc;
	}
	if (it->step == ITEM_REFUSE && it->res.outcome == INGEST_REFUSED && record_refusal(ing, it, e) < 0)
		return -1;
	if (!it->record)
		return 0;
	if (replaces_track(it) && strcmp(it->old.track_id, it->res.track_id) != 0 &&
	    ingest_track_remove(ing, it->old.track_id, e) < 0)
		return -1;
	return ingest_record_put(ing, it->path, it->size, it->mtime_ns, it->src.in_place, &it->res, e);
}

/* record outside a batch: each write its own transaction. */
static int record_alone(struct ingest *ing, struct ingest_item *it, struct err *e)
{
	int rc = record(ing, it, e);

	return rc == 1 ? record(ing, it, e) : rc;
}

static struct ingest_item *item_new(const char *path, const char *display_name, struct err *e)
{
	struct ingest_item *it = calloc(1, sizeof(*it));
	const char *slash;

	if (!it || !(it->path = strdup(path))) {
		free(it);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	it->src.fd = -1;
	it->src.media_path = it->path;
	it->src.path = it->path;
	slash = strrchr(it->path, '/');
	it->name = strdup(display_name ? display_name : slash ? slash + 1 : it->path);
	if (!it->name) {
		ingest_item_free(it);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	it->src.name = it->name;
	if (slash && (size_t)(slash - it->path) < sizeof(it->dir)) {
		memcpy(it->dir, it->path, (size_t)(slash - it->path));
		it->dir[slash - it->path] = '\0';
		it->src.dir = slash == it->path ? "/" : it->dir;
	} else if (!slash) {
		it->src.dir = ".";
	}
	return it;
}

int ingest_file_prepare(struct ingest *ing, const char *path, const char *display_name, bool in_place,
			const struct ingest_stat *skip_if_seen, struct ingest_item **out, struct err *e)
{
	struct ingest_item *it;
	struct ingest_record old;
	struct stat sb;
	int fd;

	*out = NULL;
	if (in_place && path[0] != '/')
		return err_set(e, ERR_INVALID, "an in-place import needs an absolute path");
	if (skip_if_seen) {
		if (ingest_record_get(ing, path, &old, e) < 0)
			return -1;
		if (old.found && old.in_place == in_place && old.size == skip_if_seen->size &&
		    old.mtime_ns == skip_if_seen->mtime_ns)
			return 1;
	}
	it = item_new(path, display_name, e);
	if (!it)
		return -1;
	it->src.in_place = in_place;
	it->record = true;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		struct err fe = ERR_INIT;

		if (fd < 0)
			err_errno(&fe, ERR_IO, errno, "cannot open");
		else
			err_set(&fe, ERR_INVALID, "not a regular file");
		if (fd >= 0)
			close(fd);
		if (refuse_prepared(ing, it, fe.msg, e) < 0)
			goto fail;
		/* Recorded as before this change: a quarantine row, no import_files row. */
		it->record = false;
		*out = it;
		return 0;
	}
	it->src.fd = fd;
	it->src.size = (uint64_t)sb.st_size;
	it->size = (int64_t)sb.st_size;
	it->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	if (skip_if_seen)
		it->old = old;
	else if (ingest_record_get(ing, path, &it->old, e) < 0)
		goto fail;
	if (prepare(ing, it, e) < 0)
		goto fail;
	/* The reads are done: a batch of prepared files holds no descriptors. */
	close(it->src.fd);
	it->src.fd = -1;
	*out = it;
	return 0;
fail:
	ingest_item_free(it);
	return -1;
}

/* The batch in one transaction without a savepoint per file: 0 when it committed, 1 when any
 * file's rows failed or were refused (then nothing is recorded: the transaction is rolled
 * back, and the caller records the batch again file by file under savepoints), -1 with *e
 * when the transaction could not begin. Nearly every batch commits here. A savepoint per file
 * made SQLite copy every page a file touched into its statement journal first (about 70
 * pages a file): a twentieth of an import's instructions. */
static int record_fast(struct ingest *ing, struct db_conn *c, struct ingest_item **items, size_t n,
		       const bool *later, struct err *e)
{
	struct err fe = ERR_INIT;

	if (db_begin(c, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (later[i])
			continue;
		if (record(ing, items[i], &fe) != 0)
			goto undo;
		err_clear(&fe);
	}
	/* A statement that failed without its caller failing (a swallowed error) spoilt the
	 * transaction: the commit then fails too, and the batch is recorded again. */
	if (db_commit(c, &fe) == 0)
		return 0;
undo:
	if (db_in_transaction(c))
		db_rollback(c, NULL);
	return 1;
}

int ingest_items_record(struct ingest *ing, struct ingest_item **items, size_t n, struct ingest_result *res,
			struct err *errs, struct err *e)
{
	struct db_conn *c = NULL;
	bool *later = NULL;
	int ret = -1, fast;

	for (size_t i = 0; i < n; i++)
		errs[i] = (struct err)ERR_INIT;
	later = calloc(n ? n : 1, sizeof(*later));
	if (!later) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	/* The originals copied for this batch become durable before any row names them. */
	for (size_t i = 0; i < n; i++) {
		if (items[i]->unsynced) {
			if (store_sync(ing->store, e) < 0)
				goto out;
			break;
		}
	}
	c = db_acquire(ing->db, e);
	if (!c)
		goto out;
	/* A file replacing a track read in place deletes that track in a transaction of its own,
	 * and its objects: that one goes after the batch, as ingest_file would. */
	for (size_t i = 0; i < n; i++)
		later[i] = replaces_track(items[i]);
	fast = record_fast(ing, c, items, n, later, e);
	if (fast == 0)
		goto recorded;
	if (fast < 0 || db_begin(c, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct ingest_item *it = items[i];

		if (later[i])
			continue;
		/* A failure undoes this file's rows only: the others of the batch stay. A conflict
		 * that is not a duplicate is a race lost to another writer (PostgreSQL): again, as
		 * catalog_track_add does on its own. */
		for (int attempt = 1; attempt <= RECORD_ATTEMPTS; attempt++) {
			struct err re = ERR_INIT;
			int rc;

			errs[i] = (struct err)ERR_INIT;
			if (db_savepoint(c, e) < 0)
				goto out;
			rc = record(ing, it, &errs[i]);
			if (rc == 1) {
				/* Refused by the catalogue: its rows go, the refusal's come. */
				if (db_savepoint_rollback(c, e) < 0 || db_savepoint(c, e) < 0)
					goto out;
				rc = record(ing, it, &errs[i]);
			}
			if (rc == 0 && db_savepoint_release(c, &errs[i]) == 0)
				break;
			if (db_savepoint_rollback(c, &re) < 0) {
				*e = re;
				goto out;
			}
			if (errs[i].code != ERR_CONFLICT)
				break;
		}
	}
	if (db_commit(c, e) < 0)
		goto out;
recorded:
	for (size_t i = 0; i < n; i++)
		if (later[i])
			record_alone(ing, items[i], &errs[i]); /* a failure is in errs[i] */
	ret = 0;
out:
	if (c) {
		if (ret < 0 && db_in_transaction(c))
			db_rollback(c, NULL);
		db_release(c);
	}
	for (size_t i = 0; i < n; i++) {
		if (ret < 0 && errs[i].code == ERR_NONE)
			errs[i] = *e;
		res[i] = items[i]->res;
	}
	free(later);
	return ret;
}

int ingest_file(struct ingest *ing, const char *path, const char *display_name, bool in_place,
		struct ingest_result *res, struct err *e)
{
	struct ingest_item *it = NULL;
	int ret = -1;

	result_init(res);
	if (ingest_file_prepare(ing, path, display_name, in_place, NULL, &it, e) < 0)
		return -1;
	if ((it->unsynced && store_sync(ing->store, e) < 0) || record_alone(ing, it, e) < 0)
		goto out;
	*res = it->res;
	ret = 0;
out:
	ingest_item_free(it);
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
	struct ingest_item *it;
	char media_path[64];
	uint64_t size = 0;
	int fd = -1, ret = -1;
	struct err de = ERR_INIT;

	result_init(res);
	it = item_new("upload", display_name && *display_name ? display_name : "upload", e);
	if (!it)
		return -1;
	it->src.path = NULL;
	it->src.dir = NULL;
	it->src.upload = true;
	if (ingest_object_fd(ing, tmp_key, &fd, &size, e) < 0)
		goto out;
	snprintf(media_path, sizeof(media_path), "/proc/self/fd/%d", fd);
	it->src.fd = fd;
	it->src.media_path = media_path;
	it->src.size = size;
	if (prepare(ing, it, e) < 0 || record_alone(ing, it, e) < 0)
		goto out;
	*res = it->res;
	/* Every outcome has the bytes where they belong now (orig/, quarantine/, or the existing
	 * track's original): the temporary object goes. */
	store_delete(ing->store, tmp_key, &de);
	ret = 0;
out:
	ingest_item_free(it); /* closes fd */
	return ret;
}
