/*
 * What cmap.c and votequorum.c do alike with a corosync client library:
 * retry its calls while corosync starts, and watch its descriptor on the
 * loop, dropping the qnetd connection when a dispatch fails.
 */
#include "config.h"

#include <unistd.h>

#include "log.h"
#include "qdevice.h"

int
qd_cs_retry(const struct qdevice *q, cs_error_t (*call)(void *), void *arg,
    cs_error_t *res)
{
	for (long long i = 0; ; i++) {
		*res = call(arg);
		if (*res != CS_ERR_TRY_AGAIN || i + 1 >= q->set.max_cs_try_again)
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
	struct qdevice *q = p->q;
	cs_error_t e;

	(void)events;
	if (q->phase == PHASE_EXITING)
		return;
	e = status < 0 ? CS_ERR_LIBRARY : p->dispatch(q);
	if (e == CS_OK || e == CS_ERR_TRY_AGAIN)
		return;
	log_err("%s dispatch returned error %s", p->lib, cs_strerror(e));
	qd_cs_poll_pause(p, 1);
	net_disconnect(q, DISC_COROSYNC_CONNECTION_CLOSED);
}

int
qd_cs_poll_start(struct qdevice *q, struct qd_cs_poll *p, const char *lib,
    cs_error_t fd_get, cs_error_t (*dispatch)(struct qdevice *))
{
	if (fd_get != CS_OK || uv_poll_init(q->loop, &p->poll, p->fd) != 0) {
		log_crit("Can't get %s file descriptor", lib);
		return -1;
	}
	p->poll.data = p;
	p->q = q;
	p->lib = lib;
	p->dispatch = dispatch;
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
