/*
 * What cmap.c and votequorum.c do alike with a corosync client library:
 * retry its calls while corosync starts, and watch its descriptor on the
 * loop.  A leaf below both adapters: it calls neither.
 */
#ifndef QDEVICE_CS_H
#define QDEVICE_CS_H

#include <uv.h>
#include <corosync/corotypes.h>

#include "events.h"

struct qd_cs_poll {
	int fd;
	uv_poll_t poll;		/* data: this, NULL until started */
	int polling;
	const char *lib;	/* "cmap": for the log */
	cs_error_t (*dispatch)(void *arg);
	void *arg;
	const struct qd_events *ev;
};

/*
 * Retry a corosync call on CS_ERR_TRY_AGAIN, up to tries times 1 s apart
 * (start-up only).
 */
int	qd_cs_retry(long long tries, cs_error_t (*call)(void *), void *arg,
	    cs_error_t *res);
/*
 * Watch p->fd, which the library's fd_get (its result in fd_get) filled
 * in, and call dispatch(arg) when it is readable; not while the daemon
 * exits.  A failed dispatch stops the watch and reports
 * DISC_COROSYNC_CONNECTION_CLOSED.  Logs why not and returns -1.
 */
int	qd_cs_poll_start(uv_loop_t *loop, struct qd_cs_poll *p,
	    const char *lib, cs_error_t fd_get, cs_error_t (*dispatch)(void *),
	    void *arg, const struct qd_events *ev);
void	qd_cs_poll_pause(struct qd_cs_poll *p, int paused);
void	qd_cs_poll_close(struct qd_cs_poll *p);

#endif
