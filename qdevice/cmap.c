/*
 * cmap: the qdevice's view of corosync.conf.  Reads values for conf*.c
 * through struct kv and tracks the keys that may change at runtime
 * (BEHAVIOUR.md §3.4): the node list, logging and heuristics.  During a
 * configuration reload every event is ignored; when the reload ends all
 * three are re-read once.  Changes seen during one dispatch are handled
 * together after it, so a reload of twenty node keys costs one re-read.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qdevice.h"

#define RELOAD_KEY	"config.totemconfig_reload_in_progress"

/* ------------------------------------------------------------------ */
/* struct kv over cmap */

static int
kv_get(void *arg, const char *key, struct kv_value *v)
{
	struct qdevice *q = arg;
	cmap_value_types_t type;
	union {
		int8_t i8; uint8_t u8; int16_t i16; uint16_t u16;
		int32_t i32; uint32_t u32; int64_t i64; uint64_t u64;
	} n;
	size_t len = 0;
	cs_error_t e;

	memset(v, 0, sizeof(*v));
	e = cmap_get(q->cmap.handle, key, NULL, &len, &type);
	if (e == CS_ERR_NOT_EXIST)
		return 1;
	if (e != CS_OK)
		return -1;
	if (type == CMAP_VALUETYPE_STRING) {
		e = cmap_get_string(q->cmap.handle, key, &v->str);
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
	e = cmap_get(q->cmap.handle, key, &n, &len, &type);
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
	struct qdevice *q = arg;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t it;
	cmap_value_types_t type;
	size_t len;
	cs_error_t e;
	int rc = 0;

	if (cmap_iter_init(q->cmap.handle, prefix, &it) != CS_OK)
		return -1;
	while ((e = cmap_iter_next(q->cmap.handle, it, key, &len, &type)) ==
	    CS_OK) {
		if (fn(ctx, key) != 0)
			break;
	}
	if (e != CS_OK && e != CS_ERR_NO_SECTIONS)
		rc = -1;
	cmap_iter_finalize(q->cmap.handle, it);
	return rc;
}

const struct kv *
qd_cmap_kv(struct qdevice *q)
{
	return &q->cmap.kv;
}

/* ------------------------------------------------------------------ */
/* Start-up */

static cs_error_t
do_cmap_initialize(void *arg)
{
	return cmap_initialize(arg);
}

int
qd_cmap_init(struct qdevice *q, cs_error_t *e)
{
	if (qd_cs_retry(q, do_cmap_initialize, &q->cmap.handle, e) != 0)
		return -1;
	q->cmap.initialized = 1;
	q->cmap.kv = (struct kv){ kv_get, kv_each, q };
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tracking */

static void
process_changes(struct qdevice *q)
{
	struct qd_cmap *c = &q->cmap;
	char err[CONFIG_ERR_LEN];

	if (c->logging_changed) {
		c->logging_changed = 0;
		qdevice_apply_debug(q);
	}
	if (c->nodelist_changed) {
		struct nodelist nl;

		c->nodelist_changed = 0;
		log_debug("Node list configuration possibly changed");
		if (config_read_nodelist(qd_cmap_kv(q), &nl, err,
		    sizeof(err)) != 0) {
			log_err("Can't read node list: %s", err);
			net_disconnect(q, DISC_CANT_ALLOCATE_MSG_BUFFER);
		} else {
			net_nodelist_changed(q, &nl);
		}
	}
	if (c->heuristics_changed) {
		struct heur_config h;

		c->heuristics_changed = 0;
		log_debug("Heuristics configuration possibly changed");
		if (config_read_heuristics(qd_cmap_kv(q), &q->limits,
		    q->cfg.timeout, q->cfg.sync_timeout, &h, err,
		    sizeof(err)) != 0) {
			/* 3.0.3 ends the daemon here too (D14). */
			log_crit("Invalid heuristics configuration: %s", err);
			qdevice_exit(q, 1);
			return;
		}
		if (qd_heur_configure(q, &h) != 0)
			qdevice_exit(q, 1);
	}
}

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
	struct qdevice *q = user_data;
	struct qd_cmap *c = &q->cmap;

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
			c->nodelist_changed = 1;
			c->logging_changed = 1;
			c->heuristics_changed = 1;
		}
		return;
	}
	if (c->reload_in_progress)
		return;
	if (has_prefix(key, "nodelist."))
		c->nodelist_changed = 1;
	else if (has_prefix(key, "logging."))
		c->logging_changed = 1;
	else if (has_prefix(key, "quorum.device.heuristics."))
		c->heuristics_changed = 1;
}

/* Changes seen during one dispatch are handled together after it. */
static cs_error_t
dispatch(struct qdevice *q)
{
	cs_error_t e = cmap_dispatch(q->cmap.handle, CS_DISPATCH_ALL);

	if (e == CS_OK || e == CS_ERR_TRY_AGAIN)
		process_changes(q);
	return e;
}

int
qd_cmap_track(struct qdevice *q)
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
	struct qd_cmap *c = &q->cmap;

	log_debug("Initializing cmap tracking");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (cmap_track_add(c->handle, keys[i].key, keys[i].type, notify,
		    q, &c->track[c->tracks]) != CS_OK) {
			log_crit("Can't initialize cmap tracking of %s",
			    keys[i].key);
			return -1;
		}
		c->tracks++;
	}
	return qd_cs_poll_start(q, &c->cs, "cmap",
	    cmap_fd_get(c->handle, &c->cs.fd), dispatch);
}

void
qd_cmap_untrack(struct qdevice *q)
{
	struct qd_cmap *c = &q->cmap;

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
qd_cmap_pause(struct qdevice *q, int paused)
{
	qd_cs_poll_pause(&q->cmap.cs, paused);
}

void
qd_cmap_close(struct qdevice *q)
{
	qd_cs_poll_close(&q->cmap.cs);
}

void
qd_cmap_finalize(struct qdevice *q)
{
	if (q->cmap.initialized)
		cmap_finalize(q->cmap.handle);
	q->cmap.initialized = 0;
}
