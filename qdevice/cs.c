/*
 * Retries of corosync calls during start-up, and the descriptor watch of
 * a corosync client library (cs.h).
 */
#include "config.h"

#include <unistd.h>

#include "cs.h"
#include "log.h"

int
qd_cs_retry(long long tries, cs_error_t (*call)(void *), void *arg,
    cs_error_t *res)
{
	for (long long i = 0; ; i++) {
		*res = call(arg);
		if (*res != CS_ERR_TRY_AGAIN || i + 1 >= tries)
			break;
		/* Only before the loop runs: corosync is still starting. */
		sleep(1);
	}
	return *res == CS_OK ? 0 : -1;
}

static void
on_readable(uv_poll_t *h, int status, int events)
{
	struct qd_cs_poll *p = h->data;
	cs_error_t e;

	(void)events;
	if (qd_phase(p->ev) == PHASE_EXITING)
		return;
	e = status < 0 ? CS_ERR_LIBRARY : p->dispatch(p->arg);
	if (e == CS_OK || e == CS_ERR_TRY_AGAIN)
		return;
	log_err("%s dispatch returned error %s", p->lib, cs_strerror(e));
	qd_cs_poll_pause(p, 1);
	p->ev->disconnect(p->ev->arg, DISC_COROSYNC_CONNECTION_CLOSED);
}

int
qd_cs_poll_start(uv_loop_t *loop, struct qd_cs_poll *p, const char *lib,
    cs_error_t fd_get, cs_error_t (*dispatch)(void *), void *arg,
    const struct qd_events *ev)
{
	if (fd_get != CS_OK || uv_poll_init(loop, &p->poll, p->fd) != 0) {
		log_crit("Can't get %s file descriptor", lib);
		return -1;
	}
	p->poll.data = p;
	p->lib = lib;
	p->dispatch = dispatch;
	p->arg = arg;
	p->ev = ev;
	p->polling = 0;
	qd_cs_poll_pause(p, 0);
	return 0;
}

void
qd_cs_poll_pause(struct qd_cs_poll *p, int paused)
{
	if (p->poll.data == NULL || uv_is_closing((uv_handle_t *)&p->poll))
		return;
	if (paused && p->polling) {
		uv_poll_stop(&p->poll);
		p->polling = 0;
	} else if (!paused && !p->polling) {
		uv_poll_start(&p->poll, UV_READABLE, on_readable);
		p->polling = 1;
	}
}

void
qd_cs_poll_close(struct qd_cs_poll *p)
{
	if (p->poll.data != NULL && !uv_is_closing((uv_handle_t *)&p->poll))
		uv_close((uv_handle_t *)&p->poll, NULL);
	p->polling = 0;
}
