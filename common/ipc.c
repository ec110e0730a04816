#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"

/* Retry of an accept that found no memory. */
#define ACCEPT_RETRY_MS	1000
/* Idle clients dropped are logged once per interval, with a count. */
#define IDLE_LOG_INTERVAL_MS	10000

struct ipc_conn {
	uv_pipe_t pipe;
	uv_write_t wr;
	struct ipc_server *srv;
	TAILQ_ENTRY(ipc_conn) link;	/* srv->conns until it is closing */
	uint64_t deadline;		/* loop time it is dropped at */
	struct buf in;
	struct buf out;
	int shutdown_after;
	int answered;
	int following;			/* in srv->followers */
	size_t queued;			/* bytes written, not yet taken */
};

/* One broadcast write to a follower. */
struct follow_wr {
	uv_write_t wr;
	struct ipc_conn *ic;
	size_t len;
	char data[];
};

static void accept_one(struct ipc_server *s);

static void
conn_closed(uv_handle_t *h)
{
	struct ipc_conn *ic = h->data;
	struct ipc_server *s = ic->srv;

	s->clients--;
	buf_free(&ic->in);
	buf_free(&ic->out);
	free(ic);
	/* A slot is free: the connection that waited for one gets it. */
	if (s->accept_waiting && s->open)
		accept_one(s);
}

/* Close once, whoever asks first (answer, error, timeout, stop). */
static void
conn_close(struct ipc_conn *ic)
{
	if (uv_is_closing((uv_handle_t *)&ic->pipe))
		return;
	if (ic->following)
		TAILQ_REMOVE(&ic->srv->followers, ic, link);
	else
		TAILQ_REMOVE(&ic->srv->conns, ic, link);
	uv_close((uv_handle_t *)&ic->pipe, conn_closed);
}

static void
written(uv_write_t *wr, int status)
{
	struct ipc_conn *ic = wr->data;
	struct ipc_server *s = ic->srv;
	int shutdown = ic->shutdown_after && status == 0;

	if (ic->following && status == 0)
		return;
	conn_close(ic);
	if (shutdown && s->on_shutdown != NULL)
		s->on_shutdown(s->arg);
}

/* Queue ic->out, then close. */
static void
send_out(struct ipc_conn *ic)
{
	uv_buf_t ub;

	ic->answered = 1;
	/* A follower is read on: its end of file ends it. */
	if (!ic->following)
		uv_read_stop((uv_stream_t *)&ic->pipe);
	if (ic->out.failed) {
		conn_close(ic);
		return;
	}
	ub = uv_buf_init((char *)ic->out.data, (unsigned)ic->out.len);
	ic->wr.data = ic;
	if (uv_write(&ic->wr, (uv_stream_t *)&ic->pipe, &ub, 1, written) != 0)
		conn_close(ic);
}

static void
answer(struct ipc_conn *ic, char *line)
{
	struct ipc_server *s = ic->srv;
	struct buf payload;
	enum ipc_result r;

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
	if (r == IPC_OK_FOLLOW) {
		/* No idle timeout: it waits for events by design. */
		TAILQ_REMOVE(&s->conns, ic, link);
		TAILQ_INSERT_TAIL(&s->followers, ic, link);
		ic->following = 1;
	}
	send_out(ic);
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
	if (ic->following && n < 0) {
		conn_close(ic);
		return;
	}
	if (ic->answered) {
		ic->in.len = 0;		/* a follower's chatter */
		return;
	}
	if (n < 0) {
		conn_close(ic);
		return;
	}
	ic->in.len += (size_t)n;
	nl = memchr(ic->in.data, '\n', ic->in.len);
	if (nl == NULL && ic->in.len < ic->srv->max_receive)
		return;
	if (nl == NULL) {
		buf_printf(&ic->out, "Error\nCommand too long\n");
		send_out(ic);
		return;
	}
	*nl = '\0';
	answer(ic, (char *)ic->in.data);
}

static void
idle_log(struct ipc_server *s, uint64_t now)
{
	char more[64] = "";

	if (now < s->idle_log_next) {
		s->idle_log_suppressed++;
		return;
	}
	s->idle_log_next = now + IDLE_LOG_INTERVAL_MS;
	if (s->idle_log_suppressed != 0)
		snprintf(more, sizeof(more), " (%lu more since the last report)",
		    s->idle_log_suppressed);
	s->idle_log_suppressed = 0;
	log_warn("Limit ipc_idle_timeout = %llu reached by a local socket "
	    "client: disconnecting it%s", (unsigned long long)s->idle_timeout,
	    more);
}

/*
 * Every client must send its command and take the answer within
 * idle_timeout: one that connects and waits would hold its slot for ever,
 * and ipc_max_clients of them would lock the tools out.  The timer also
 * retries an accept that found no memory.
 */
static void
idle_sweep(uv_timer_t *t)
{
	struct ipc_server *s = t->data;
	uint64_t now = uv_now(s->loop);
	struct ipc_conn *ic;

	while (s->idle_timeout != 0 && (ic = TAILQ_FIRST(&s->conns)) != NULL &&
	    ic->deadline <= now) {
		idle_log(s, now);
		conn_close(ic);
	}
	if (s->accept_waiting && s->open)
		accept_one(s);
	if ((ic = TAILQ_FIRST(&s->conns)) != NULL && s->idle_timeout != 0)
		uv_timer_start(&s->idle_timer, idle_sweep, ic->deadline - now,
		    0);
}

/*
 * Take the connection libuv holds for us.  At ipc_max_clients it is left
 * there: libuv stops listening until uv_accept(), so the tool waits in
 * connect/read for a free slot (idle ones are freed after idle_timeout)
 * instead of being closed on, which it saw as a reset or died of as
 * SIGPIPE.
 */
static void
accept_one(struct ipc_server *s)
{
	struct ipc_conn *ic;

	if (s->max_clients && s->clients >= s->max_clients) {
		s->accept_waiting = 1;
		return;
	}
	if ((ic = calloc(1, sizeof(*ic))) == NULL) {
		s->accept_waiting = 1;
		if (!uv_is_active((uv_handle_t *)&s->idle_timer))
			uv_timer_start(&s->idle_timer, idle_sweep,
			    ACCEPT_RETRY_MS, 0);
		return;
	}
	s->accept_waiting = 0;
	ic->srv = s;
	buf_init(&ic->in);
	buf_init(&ic->out);
	uv_pipe_init(s->loop, &ic->pipe, 0);
	ic->pipe.data = ic;
	if (s->unref)
		uv_unref((uv_handle_t *)&ic->pipe);
	ic->deadline = uv_now(s->loop) + s->idle_timeout;
	TAILQ_INSERT_TAIL(&s->conns, ic, link);
	s->clients++;
	if (s->idle_timeout != 0 && !uv_is_active((uv_handle_t *)&s->idle_timer))
		uv_timer_start(&s->idle_timer, idle_sweep, s->idle_timeout, 0);
	if (uv_accept((uv_stream_t *)&s->pipe, (uv_stream_t *)&ic->pipe) != 0 ||
	    uv_read_start((uv_stream_t *)&ic->pipe, alloc_cb, read_cb) != 0)
		conn_close(ic);
}

static void
accept_cb(uv_stream_t *server, int status)
{
	if (status == 0)
		accept_one(server->data);
}

/*
 * libuv reports a bind() to a missing directory as EACCES (uv_pipe_bind
 * turns ENOENT into it), so "Permission denied" would hide the cause:
 * look at the directory.
 */
static int
bind_errno(const char *path, int rc)
{
	char dir[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	char *slash;
	struct stat st;

	if (rc != UV_EACCES)
		return -rc;
	(void)snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		(void)snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) != 0)
		return errno;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	return EACCES;
}

int
ipc_server_start(struct ipc_server *s, uv_loop_t *loop, const char *path,
    int backlog)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int rc, fd;

	s->loop = loop;
	s->clients = 0;
	s->accept_waiting = 0;
	s->unref = 0;
	s->dev = 0;
	s->ino = 0;
	s->idle_log_next = 0;
	s->idle_log_suppressed = 0;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->followers);
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
	uv_timer_init(loop, &s->idle_timer);
	s->idle_timer.data = s;
	s->open = 1;
	(void)unlink(path);
	/*
	 * Bound here, not with uv_pipe_bind(): libuv would unlink the path
	 * when the handle closes, whoever's file it is by then.
	 */
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		rc = -errno;
	else if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		rc = -errno;
		close(fd);
	} else {
		if (stat(path, &st) == 0) {
			s->dev = st.st_dev;
			s->ino = st.st_ino;
		}
		if ((rc = uv_pipe_open(&s->pipe, fd)) != 0)
			close(fd);
	}
	if (rc != 0 ||
	    (rc = uv_listen((uv_stream_t *)&s->pipe, backlog, accept_cb)) != 0) {
		rc = bind_errno(path, rc);
		ipc_server_stop(s);
		errno = rc;
		return -1;
	}
	return 0;
}

void
ipc_server_unref(struct ipc_server *s)
{
	struct ipc_conn *ic;

	if (!s->open)
		return;
	/* Connections too: an idle tool must not hold the exit back. */
	s->unref = 1;
	uv_unref((uv_handle_t *)&s->pipe);
	uv_unref((uv_handle_t *)&s->idle_timer);
	TAILQ_FOREACH(ic, &s->conns, link)
		uv_unref((uv_handle_t *)&ic->pipe);
	/* Nor a --follow reader: it is told by the close at the end. */
	TAILQ_FOREACH(ic, &s->followers, link)
		uv_unref((uv_handle_t *)&ic->pipe);
}

void
ipc_server_stop(struct ipc_server *s)
{
	struct stat st;

	if (!s->open)
		return;
	s->open = 0;
	while (!TAILQ_EMPTY(&s->conns))
		conn_close(TAILQ_FIRST(&s->conns));
	while (!TAILQ_EMPTY(&s->followers))
		conn_close(TAILQ_FIRST(&s->followers));
	uv_close((uv_handle_t *)&s->idle_timer, NULL);
	uv_close((uv_handle_t *)&s->pipe, NULL);
	if (stat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		(void)unlink(s->path);
	free(s->path);
	s->path = NULL;
}

static void
follow_written(uv_write_t *wr, int status)
{
	struct follow_wr *fw = wr->data;
	struct ipc_conn *ic = fw->ic;

	ic->queued -= fw->len;
	free(fw);
	if (status != 0)
		conn_close(ic);
}

void
ipc_broadcast(struct ipc_server *s, const char *data, size_t len)
{
	struct ipc_conn *ic, *next;
	struct follow_wr *fw;
	uv_buf_t ub;

	if (!s->open)
		return;
	for (ic = TAILQ_FIRST(&s->followers); ic != NULL; ic = next) {
		next = TAILQ_NEXT(ic, link);
		if (ic->queued + len > IPC_FOLLOW_MAX_QUEUED) {
			log_warn("A local socket client following events "
			    "does not read them: disconnecting it");
			conn_close(ic);
			continue;
		}
		if ((fw = malloc(sizeof(*fw) + len)) == NULL) {
			conn_close(ic);
			continue;
		}
		fw->ic = ic;
		fw->len = len;
		fw->wr.data = fw;
		memcpy(fw->data, data, len);
		ub = uv_buf_init(fw->data, (unsigned)len);
		if (uv_write(&fw->wr, (uv_stream_t *)&ic->pipe, &ub, 1,
		    follow_written) != 0) {
			free(fw);
			conn_close(ic);
			continue;
		}
		ic->queued += len;
	}
}

size_t
ipc_followers(const struct ipc_server *s)
{
	const struct ipc_conn *ic;
	size_t n = 0;

	TAILQ_FOREACH(ic, &s->followers, link)
		n++;
	return n;
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

/* The whole request and its newline; -1 with errno. */
static int
send_line(int fd, const char *request)
{
	size_t len = strlen(request), off = 0;
	char *line = malloc(len + 1);
	ssize_t n;

	if (line == NULL) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(line, request, len);
	line[len++] = '\n';
	while (off < len) {
		/* MSG_NOSIGNAL: a daemon that closes must not kill the tool. */
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			free(line);
			errno = saved;
			return -1;
		}
		off += (size_t)n;
	}
	free(line);
	return 0;
}

/* Everything until the daemon closes; -1 with errno. */
static int
read_all(int fd, struct buf *reply)
{
	ssize_t n;

	for (;;) {
		if (buf_reserve(reply, 4096) != 0) {
			errno = ENOMEM;
			return -1;
		}
		n = read(fd, reply->data + reply->len, reply->cap - reply->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		reply->len += (size_t)n;
	}
}

enum ipc_call_result
ipc_call(const char *path, const char *request, struct buf *reply)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	enum ipc_call_result r = IPC_CALL_OK;
	int fd, saved, sent;

	/* The daemon would take the first line for the whole request. */
	if (strchr(request, '\n') != NULL)
		return IPC_CALL_BAD_REQUEST;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return IPC_CALL_NO_CONNECT;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return IPC_CALL_NO_CONNECT;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return IPC_CALL_NO_CONNECT;
	}
	/*
	 * The daemon may answer before it has read everything ("Command too
	 * long") and close: our send then fails, and the read returns the
	 * answer and then a reset.  The answer is what counts.
	 */
	sent = send_line(fd, request);
	saved = errno;
	if (read_all(fd, reply) != 0 &&
	    (reply->len == 0 || errno != ECONNRESET)) {
		saved = errno;
		r = IPC_CALL_LOST;
	} else if (reply->len == 0) {
		r = sent != 0 ? IPC_CALL_LOST : IPC_CALL_NO_ANSWER;
	}
	close(fd);
	errno = saved;
	return r;
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
	int rc = 3;

	/* Belt and braces: ipc_call() doesn't raise it, nothing else may. */
	signal(SIGPIPE, SIG_IGN);
	buf_put_u8(req, '\0');
	if (req->failed) {
		fprintf(stderr, "%s: out of memory\n", prog);
		buf_free(req);
		return 2;
	}
	buf_init(&reply);
	switch (ipc_call(path, (const char *)req->data, &reply)) {
	case IPC_CALL_OK:
		rc = ipc_print_answer(&reply);
		break;
	case IPC_CALL_NO_CONNECT:
		fprintf(stderr, "%s: Can't connect to %s: %s\n", prog, target,
		    strerror(errno));
		break;
	case IPC_CALL_LOST:
		fprintf(stderr, "%s: Connection to %s lost: %s\n", prog,
		    target, strerror(errno));
		break;
	case IPC_CALL_NO_ANSWER:
		fprintf(stderr, "%s: No answer from %s: it closed the "
		    "connection\n", prog, target);
		break;
	case IPC_CALL_BAD_REQUEST:
		fprintf(stderr, "%s: Can't send a command containing a "
		    "newline\n", prog);
		rc = 1;
		break;
	}
	buf_free(&reply);
	buf_free(req);
	return rc;
}

/* Tool side of IPC_OK_FOLLOW: the status line, then a copy as it comes. */
int
ipc_tool_follow(const char *prog, const char *path, const char *request,
    const char *target)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char data[4096], head[6];
	size_t got = 0;
	ssize_t n;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	if (strlen(path) >= sizeof(sun.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "%s: Can't connect to %s: %s\n", prog, target,
		    strerror(strlen(path) >= sizeof(sun.sun_path) ?
		    ENAMETOOLONG : errno));
		return 3;
	}
	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    send_line(fd, request) != 0) {
		fprintf(stderr, "%s: Can't connect to %s: %s\n", prog, target,
		    strerror(errno));
		close(fd);
		return 3;
	}
	/* "OK\n", or "Error\n" and the message. */
	while (got < 3 && (n = read(fd, head + got, 3 - got)) > 0)
		got += (size_t)n;
	if (got < 3 || memcmp(head, "OK\n", 3) != 0) {
		struct buf rest;
		char *msg;
		int rc = 3;

		buf_init(&rest);
		buf_put(&rest, head, got);
		(void)read_all(fd, &rest);
		buf_put_u8(&rest, '\0');
		close(fd);
		msg = rest.failed ? NULL : (char *)rest.data;
		if (msg != NULL && strncmp(msg, "Error\n", 6) == 0) {
			fprintf(stderr, "Error: %s", msg + 6);
			rc = 4;
		} else {
			fprintf(stderr, "%s: No answer from %s\n", prog, target);
		}
		buf_free(&rest);
		return rc;
	}
	while ((n = read(fd, data, sizeof(data))) > 0 || (n < 0 &&
	    errno == EINTR)) {
		if (n > 0 && (fwrite(data, 1, (size_t)n, stdout) != (size_t)n ||
		    fflush(stdout) != 0))
			break;		/* the reader went away */
	}
	close(fd);
	return 0;
}
