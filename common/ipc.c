#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"

struct ipc_conn {
	uv_pipe_t pipe;
	uv_write_t wr;
	struct ipc_server *srv;
	struct buf in;
	struct buf out;
	int shutdown_after;
	int answered;
};

static void
conn_closed(uv_handle_t *h)
{
	struct ipc_conn *ic = h->data;

	ic->srv->clients--;
	buf_free(&ic->in);
	buf_free(&ic->out);
	free(ic);
}

static void
written(uv_write_t *wr, int status)
{
	struct ipc_conn *ic = wr->data;
	struct ipc_server *s = ic->srv;
	int shutdown = ic->shutdown_after && status == 0;

	uv_close((uv_handle_t *)&ic->pipe, conn_closed);
	if (shutdown && s->on_shutdown != NULL)
		s->on_shutdown(s->arg);
}

static void
answer(struct ipc_conn *ic, char *line)
{
	struct ipc_server *s = ic->srv;
	struct buf payload;
	enum ipc_result r;
	uv_buf_t ub;

	buf_init(&payload);
	r = s->handler(s->arg, line, &payload);
	if (payload.failed || (s->max_send && payload.len + 8 > s->max_send)) {
		r = IPC_ERROR;
		buf_reset(&payload);
		buf_printf(&payload, "Internal IPC buffer too small");
	}
	buf_printf(&ic->out, "%s\n", r == IPC_ERROR ? "Error" : "OK");
	buf_put(&ic->out, payload.data, payload.len);
	if (r == IPC_ERROR)
		buf_put_u8(&ic->out, '\n');
	buf_free(&payload);
	ic->shutdown_after = r == IPC_OK_SHUTDOWN;
	ic->answered = 1;
	uv_read_stop((uv_stream_t *)&ic->pipe);
	if (ic->out.failed) {
		uv_close((uv_handle_t *)&ic->pipe, conn_closed);
		return;
	}
	ub = uv_buf_init((char *)ic->out.data, (unsigned)ic->out.len);
	ic->wr.data = ic;
	if (uv_write(&ic->wr, (uv_stream_t *)&ic->pipe, &ub, 1, written) != 0)
		uv_close((uv_handle_t *)&ic->pipe, conn_closed);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *ub)
{
	struct ipc_conn *ic = h->data;

	(void)suggested;
	if (buf_reserve(&ic->in, 512) != 0) {
		*ub = uv_buf_init(NULL, 0);
		return;
	}
	*ub = uv_buf_init((char *)ic->in.data + ic->in.len,
	    (unsigned)(ic->in.cap - ic->in.len));
}

static void
read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *ub)
{
	struct ipc_conn *ic = st->data;
	char *nl;

	(void)ub;
	if (ic->answered)
		return;
	if (n < 0) {
		uv_close((uv_handle_t *)&ic->pipe, conn_closed);
		return;
	}
	ic->in.len += (size_t)n;
	nl = memchr(ic->in.data, '\n', ic->in.len);
	if (nl == NULL && ic->in.len < ic->srv->max_receive)
		return;
	if (nl == NULL) {
		struct buf *o = &ic->out;

		buf_printf(o, "Error\nCommand too long\n");
		ic->answered = 1;
		uv_read_stop(st);
		ic->wr.data = ic;
		uv_buf_t wb = uv_buf_init((char *)o->data, (unsigned)o->len);
		if (o->failed || uv_write(&ic->wr, st, &wb, 1, written) != 0)
			uv_close((uv_handle_t *)&ic->pipe, conn_closed);
		return;
	}
	*nl = '\0';
	answer(ic, (char *)ic->in.data);
}

static void
accept_cb(uv_stream_t *server, int status)
{
	struct ipc_server *s = server->data;
	struct ipc_conn *ic;

	if (status != 0 || (ic = calloc(1, sizeof(*ic))) == NULL)
		return;
	ic->srv = s;
	buf_init(&ic->in);
	buf_init(&ic->out);
	uv_pipe_init(s->loop, &ic->pipe, 0);
	ic->pipe.data = ic;
	s->clients++;
	if (uv_accept(server, (uv_stream_t *)&ic->pipe) != 0 ||
	    (s->max_clients && s->clients > s->max_clients)) {
		uv_close((uv_handle_t *)&ic->pipe, conn_closed);
		return;
	}
	if (uv_read_start((uv_stream_t *)&ic->pipe, alloc_cb, read_cb) != 0)
		uv_close((uv_handle_t *)&ic->pipe, conn_closed);
}

int
ipc_server_start(struct ipc_server *s, uv_loop_t *loop, const char *path,
    int backlog)
{
	int rc;

	struct sockaddr_un sun;

	s->loop = loop;
	s->clients = 0;
	/* libuv would bind a truncated path: another file than asked for. */
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((s->path = strdup(path)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	uv_pipe_init(loop, &s->pipe, 0);
	s->pipe.data = s;
	s->open = 1;
	(void)unlink(path);
	if ((rc = uv_pipe_bind(&s->pipe, path)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&s->pipe, backlog, accept_cb)) != 0) {
		ipc_server_stop(s);
		errno = -rc;
		return -1;
	}
	return 0;
}

void
ipc_server_stop(struct ipc_server *s)
{
	if (!s->open)
		return;
	s->open = 0;
	uv_close((uv_handle_t *)&s->pipe, NULL);
	(void)unlink(s->path);
	free(s->path);
	s->path = NULL;
}

int
ipc_split(char *line, char **words, int max, int quoting)
{
	int n = 0;
	char *r = line, *w = line;

	while (n < max) {
		int quoted = 0;

		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '\0')
			break;
		words[n++] = w;
		for (; *r != '\0'; r++) {
			if (quoting && *r == '\\' && r[1] != '\0') {
				*w++ = *++r;
			} else if (quoting && *r == '"') {
				quoted = !quoted;
			} else if (!quoted && (*r == ' ' || *r == '\t')) {
				r++;
				break;
			} else {
				*w++ = *r;
			}
		}
		*w++ = '\0';
	}
	return n;
}

int
ipc_call(const char *path, const char *request, struct buf *reply)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(request);
	int fd, saved;
	ssize_t n;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	if (write(fd, request, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		goto fail;
	for (;;) {
		if (buf_reserve(reply, 4096) != 0) {
			errno = ENOMEM;
			goto fail;
		}
		n = read(fd, reply->data + reply->len, reply->cap - reply->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		reply->len += (size_t)n;
	}
	close(fd);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
ipc_print_answer(const struct buf *reply)
{
	const char *p = (const char *)reply->data;
	size_t len = reply->len;

	if (len >= 3 && memcmp(p, "OK\n", 3) == 0) {
		fwrite(p + 3, 1, len - 3, stdout);
		return 0;
	}
	if (len >= 6 && memcmp(p, "Error\n", 6) == 0) {
		fputs("Error: ", stderr);
		fwrite(p + 6, 1, len - 6, stderr);
		return 4;
	}
	fprintf(stderr, "Unknown status line returned by the daemon\n");
	return 3;
}

int
ipc_tool_call(const char *prog, const char *path, struct buf *req,
    const char *target)
{
	struct buf reply;
	int rc;

	buf_put_u8(req, '\0');
	if (req->failed) {
		fprintf(stderr, "%s: out of memory\n", prog);
		buf_free(req);
		return 2;
	}
	buf_init(&reply);
	if (ipc_call(path, (const char *)req->data, &reply) != 0) {
		fprintf(stderr, "%s: Can't connect to %s: %s\n", prog, target,
		    strerror(errno));
		rc = 3;
	} else {
		rc = ipc_print_answer(&reply);
	}
	buf_free(&reply);
	buf_free(req);
	return rc;
}
