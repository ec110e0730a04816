/*
 * The cmap adapter: corosync.conf as struct kv for conf.c, and the keys
 * that may change at runtime, reported as config_changed events.
 */
#ifndef QDEVICE_CMAP_H
#define QDEVICE_CMAP_H

#include <uv.h>
#include <corosync/corotypes.h>

#include "conf.h"
#include "events.h"

struct qd_cmap;

struct qd_cmap *qd_cmap_new(void);
/* Connect to cmap, retrying up to tries times; *e says why not. */
int	qd_cmap_init(struct qd_cmap *c, long long tries, cs_error_t *e);
const struct kv *qd_cmap_kv(struct qd_cmap *c);
/* Track the keys and watch the descriptor: events flow from the loop. */
int	qd_cmap_track(struct qd_cmap *c, uv_loop_t *loop,
	    const struct qd_events *ev);
void	qd_cmap_untrack(struct qd_cmap *c);
void	qd_cmap_pause(struct qd_cmap *c, int paused);
void	qd_cmap_close(struct qd_cmap *c);
void	qd_cmap_finalize(struct qd_cmap *c);
void	qd_cmap_free(struct qd_cmap *c);

#endif
