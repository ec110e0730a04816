/*
 * cmap: the qdevice's view of corosync.conf.  Reads values for conf*.c
 * through struct kv and tracks the keys that may change at runtime
 * (BEHAVIOUR.md §3.4): the node list, logging and heuristics.  During a
 * configuration reload every event is ignored; when the reload ends all
 * three are reported once.  Changes seen during one dispatch are reported
 * together after it, so a reload of twenty node keys costs one re-read.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/cmap.h>

#include "cmap.h"
#include "cs.h"
#include "log.h"

#define RELOAD_KEY	"config.totemconfig_reload_in_progress"

struct qd_cmap {
	cmap_handle_t handle;
	int initialized;
	struct kv kv;			/* conf.c reads through this */
	struct qd_cs_poll cs;
	const struct qd_events *ev;
	cmap_track_handle_t track[4];
	size_t tracks;
	int reload_in_progress;
	/* CMAP_CHANGED_* seen during one dispatch, reported after it. */
	unsigned changed;
};

/* ------------------------------------------------------------------ */
/* struct kv over cmap */

static int
kv_get(void *arg, const char *key, struct kv_value *v)
{
	struct qd_cmap *c = arg;
	cmap_value_types_t type;
	union {
		int8_t i8; uint8_t u8; int16_t i16; uint16_t u16;
		int32_t i32; uint32_t u32; int64_t i64; uint64_t u64;
	} n;
	size_t len = 0;
	cs_error_t e;

	memset(v, 0, sizeof(*v));
	e = cmap_get(c->handle, key, NULL, &len, &type);
	if (e == CS_ERR_NOT_EXIST)
		return 1;
	if (e != CS_OK)
		return -1;
	if (type == CMAP_VALUETYPE_STRING) {
		e = cmap_get_string(c->handle, key, &v->str);
		if (e == CS_ERR_NOT_EXIST)
			return 1;
		if (e != CS_OK)
			return -1;
		v->is_string = 1;
		return 0;
	}
	if (len > sizeof(n))
		return -1;		/* binary, float: nothing we read */
	len = sizeof(n);
	memset(&n, 0, sizeof(n));
	e = cmap_get(c->handle, key, &n, &len, &type);
	if (e != CS_OK)
		return e == CS_ERR_NOT_EXIST ? 1 : -1;
	switch (type) {
	case CMAP_VALUETYPE_INT8:	v->num = (uint64_t)n.i8; break;
	case CMAP_VALUETYPE_UINT8:	v->num = n.u8; break;
	case CMAP_VALUETYPE_INT16:	v->num = (uint64_t)n.i16; break;
	case CMAP_VALUETYPE_UINT16:	v->num = n.u16; break;
	case CMAP_VALUETYPE_INT32:	v->num = (uint64_t)n.i32; break;
	case CMAP_VALUETYPE_UINT32:	v->num = n.u32; break;
	case CMAP_VALUETYPE_INT64:	v->num = (uint64_t)n.i64; break;
	case CMAP_VALUETYPE_UINT64:	v->num = n.u64; break;
	default:
		return -1;
	}
	return 0;
}

static int
kv_each(void *arg, const char *prefix, int (*fn)(void *, const char *),
    void *ctx)
{
	struct qd_cmap *c = arg;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t it;
	cmap_value_types_t type;
	size_t len;
	cs_error_t e;
	int rc = 0;

	if (cmap_iter_init(c->handle, prefix, &it) != CS_OK)
		return -1;
	while ((e = cmap_iter_next(c->handle, it, key, &len, &type)) ==
	    CS_OK) {
		if (fn(ctx, key) != 0)
			break;
	}
	if (e != CS_OK && e != CS_ERR_NO_SECTIONS)
		rc = -1;
	cmap_iter_finalize(c->handle, it);
	return rc;
}

const struct kv *
qd_cmap_kv(struct qd_cmap *c)
{
	return &c->kv;
}

struct qd_cmap *
qd_cmap_new(void)
{
	return calloc(1, sizeof(struct qd_cmap));
}

void
qd_cmap_free(struct qd_cmap *c)
{
	free(c);
}

/* ------------------------------------------------------------------ */
/* Start-up */

static cs_error_t
do_cmap_initialize(void *arg)
{
	return cmap_initialize(arg);
}

int
qd_cmap_init(struct qd_cmap *c, long long tries, cs_error_t *e)
{
	if (qd_cs_retry(tries, do_cmap_initialize, &c->handle, e) != 0)
		return -1;
	c->initialized = 1;
	c->kv = (struct kv){ kv_get, kv_each, c };
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tracking */

static int
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
notify(cmap_handle_t h, cmap_track_handle_t th, int32_t event,
    const char *key, struct cmap_notify_value nv,
    struct cmap_notify_value ov, void *user_data)
{
	struct qd_cmap *c = user_data;

	(void)h;
	(void)th;
	(void)ov;
	if (strcmp(key, RELOAD_KEY) == 0) {
		int on = event != CMAP_TRACK_DELETE && nv.type ==
		    CMAP_VALUETYPE_UINT8 && nv.len >= 1 &&
		    *(const uint8_t *)nv.data != 0;

		if (on) {
			c->reload_in_progress = 1;
		} else if (c->reload_in_progress) {
			/* The reload is over: look at everything once. */
			c->reload_in_progress = 0;
			c->changed |= CMAP_CHANGED_NODELIST |
			    CMAP_CHANGED_LOGGING | CMAP_CHANGED_HEURISTICS;
		}
		return;
	}
	if (c->reload_in_progress)
		return;
	if (has_prefix(key, "nodelist."))
		c->changed |= CMAP_CHANGED_NODELIST;
	else if (has_prefix(key, "logging."))
		c->changed |= CMAP_CHANGED_LOGGING;
	else if (has_prefix(key, "quorum.device.heuristics."))
		c->changed |= CMAP_CHANGED_HEURISTICS;
}

/* Changes seen during one dispatch are handled together after it. */
static cs_error_t
dispatch(void *arg)
{
	struct qd_cmap *c = arg;
	cs_error_t e = cmap_dispatch(c->handle, CS_DISPATCH_ALL);
	unsigned what = c->changed;

	if (e == CS_OK || e == CS_ERR_TRY_AGAIN) {
		c->changed = 0;
		if (what != 0)
			c->ev->config_changed(c->ev->arg, what);
	}
	return e;
}

int
qd_cmap_track(struct qd_cmap *c, uv_loop_t *loop, const struct qd_events *ev)
{
	static const struct { const char *key; int32_t type; } keys[] = {
		{ RELOAD_KEY, CMAP_TRACK_ADD | CMAP_TRACK_MODIFY },
		{ "nodelist.", CMAP_TRACK_ADD | CMAP_TRACK_DELETE |
		    CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX },
		{ "logging.", CMAP_TRACK_ADD | CMAP_TRACK_DELETE |
		    CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX },
		{ "quorum.device.heuristics.", CMAP_TRACK_ADD |
		    CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX },
	};
	c->ev = ev;
	log_debug("Initializing cmap tracking");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (cmap_track_add(c->handle, keys[i].key, keys[i].type, notify,
		    c, &c->track[c->tracks]) != CS_OK) {
			log_crit("Can't initialize cmap tracking of %s",
			    keys[i].key);
			return -1;
		}
		c->tracks++;
	}
	return qd_cs_poll_start(loop, &c->cs, "cmap",
	    cmap_fd_get(c->handle, &c->cs.fd), dispatch, c, ev);
}

void
qd_cmap_untrack(struct qd_cmap *c)
{
	if (c->tracks > 0)
		log_debug("Removing cmap tracking");
	while (c->tracks > 0)
		cmap_track_delete(c->handle, c->track[--c->tracks]);
}

/*
 * corosync may block cmap while it syncs a new membership, so cmap is not
 * dispatched between a node-list and the following quorum notification.
 */
void
qd_cmap_pause(struct qd_cmap *c, int paused)
{
	qd_cs_poll_pause(&c->cs, paused);
}

void
qd_cmap_close(struct qd_cmap *c)
{
	qd_cs_poll_close(&c->cs);
}

void
qd_cmap_finalize(struct qd_cmap *c)
{
	if (c->initialized)
		cmap_finalize(c->handle);
	c->initialized = 0;
}
