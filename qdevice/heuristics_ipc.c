/* <>: not qdevice/config.h, the daemon's configuration module */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heuristics_ipc.h"

/* ------------------------------------------------------------------ */
/* Reading lines */

static void
reader_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *ub)
{
	struct line_reader *lr = h->data;

	(void)suggested;
	/* Never full here: reader_scan() empties a full buffer. */
	*ub = uv_buf_init(lr->buf + lr->len, (unsigned)(lr->max - lr->len));
}

/*
 * Hand out every complete line among the bytes from start on (the ones
 * before hold no newline, they were scanned already).  A buffer that fills
 * up without a newline is a line over the limit: report it once and drop
 * the rest of it.
 */
static void
reader_scan(struct line_reader *lr, size_t start)
{
	size_t line = 0;

	for (size_t i = start; i < lr->len; i++) {
		if (lr->buf[i] != '\n')
			continue;
		if (lr->discarding) {
			lr->discarding = 0;
		} else {
			lr->buf[i] = '\0';
			lr->on_line(lr, lr->buf + line);
			if (uv_is_closing((uv_handle_t *)&lr->pipe))
				return;
		}
		line = i + 1;
	}
	memmove(lr->buf, lr->buf + line, lr->len - line);
	lr->len -= line;
	if (lr->discarding) {
		lr->len = 0;
	} else if (lr->len == lr->max) {
		lr->discarding = 1;
		lr->len = 0;
		lr->on_line(lr, NULL);
	}
}

static void
reader_read(uv_stream_t *st, ssize_t n, const uv_buf_t *ub)
{
	struct line_reader *lr = st->data;
	size_t old = lr->len;

	(void)ub;
	if (n < 0) {
		uv_read_stop(st);
		lr->on_end(lr, n == UV_EOF ? 0 : (int)n);
		return;
	}
	lr->len += (size_t)n;
	reader_scan(lr, old);
}

static void
reader_closed(uv_handle_t *h)
{
	struct line_reader *lr = h->data;

	free(lr->buf);
	lr->buf = NULL;
	if (lr->on_closed != NULL)
		lr->on_closed(lr->owner);
}

int
line_reader_open(struct line_reader *lr, uv_loop_t *loop, int fd,
    size_t max)
{
	int err;

	lr->len = 0;
	lr->max = max;
	lr->discarding = 0;
	/* Cannot fail on Unix; the handle must exist for *_close(). */
	(void)uv_pipe_init(loop, &lr->pipe, 0);
	lr->pipe.data = lr;
	lr->buf = malloc(max);
	if (lr->buf == NULL) {
		close(fd);
		return UV_ENOMEM;
	}
	err = uv_pipe_open(&lr->pipe, fd);
	if (err != 0) {
		close(fd);
		return err;
	}
	return uv_read_start((uv_stream_t *)&lr->pipe, reader_alloc,
	    reader_read);
}

void
line_reader_close(struct line_reader *lr)
{
	if (!uv_is_closing((uv_handle_t *)&lr->pipe))
		uv_close((uv_handle_t *)&lr->pipe, reader_closed);
}

/* ------------------------------------------------------------------ */
/* Writing lines */

struct line_req {
	uv_write_t req;		/* first: the request is the allocation */
	struct line_writer *lw;
	size_t len;
	char data[];
};

static void
writer_done(uv_write_t *req, int status)
{
	struct line_req *r = (struct line_req *)req;

	if (status < 0 && r->lw->on_error != NULL) {
		r->data[r->len - 1] = '\0';
		r->lw->on_error(r->lw, r->data, status);
	}
	free(r);
}

static void
writer_closed(uv_handle_t *h)
{
	struct line_writer *lw = h->data;

	if (lw->on_closed != NULL)
		lw->on_closed(lw->owner);
}

int
line_writer_open(struct line_writer *lw, uv_loop_t *loop, int fd,
    size_t max)
{
	int err;

	lw->max = max;
	(void)uv_pipe_init(loop, &lw->pipe, 0);
	lw->pipe.data = lw;
	err = uv_pipe_open(&lw->pipe, fd);
	if (err != 0)
		close(fd);
	return err;
}

void
line_writer_close(struct line_writer *lw)
{
	if (!uv_is_closing((uv_handle_t *)&lw->pipe))
		uv_close((uv_handle_t *)&lw->pipe, writer_closed);
}

int
line_write(struct line_writer *lw, const char *line, size_t len)
{
	struct line_req *r;
	uv_buf_t ub;
	int err;

	if (len + 1 > lw->max)
		return UV_E2BIG;
	r = malloc(sizeof(*r) + len + 1);
	if (r == NULL)
		return UV_ENOMEM;
	r->lw = lw;
	r->len = len + 1;
	for (size_t i = 0; i < len; i++)
		r->data[i] = line[i] == '\n' ? ' ' : line[i];
	r->data[len] = '\n';
	ub = uv_buf_init(r->data, (unsigned)r->len);
	err = uv_write(&r->req, (uv_stream_t *)&lw->pipe, &ub, 1, writer_done);
	if (err != 0)
		free(r);
	return err;
}

/* ------------------------------------------------------------------ */

int
parse_u32(const char *s, const char **end, uint32_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	if (end != NULL)
		*end = p;
	else if (*p != '\0')
		return -1;
	*out = (uint32_t)v;
	return 0;
}
