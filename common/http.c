/* libmicrohttpd on the libuv loop (http.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "net.h"
#include "prom.h"
#include "settings.h"

#define HTTP_BACKLOG	64
#define HTTP_TICK_MS	1000

/* One listen address: its own MHD daemon, poll and timer. */
struct http_ep {
	struct http *h;
	struct MHD_Daemon *d;
	uv_poll_t poll;
	uv_timer_t timer;
	char *unix_path;		/* unlinked at stop */
	int handles;			/* not yet closed */
};

struct http {
	uv_loop_t *loop;
	http_handler handler;
	void *arg;
	struct http_ep *ep;
	size_t nep;
	int closing;			/* handles still open */
};

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_debug("HTTP: %s", line);
}

struct query {
	int verbose, nodes;
};

static enum MHD_Result
query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct query *q = cls;

	(void)kind;
	if (strcmp(key, "verbose") == 0)
		q->verbose = 1;
	else if (strcmp(key, "nodes") == 0)
		q->nodes = value == NULL || *value == '\0' ||
		    strcmp(value, "1") == 0 || strcasecmp(value, "yes") == 0 ||
		    strcasecmp(value, "on") == 0 ||
		    strcasecmp(value, "true") == 0;
	return MHD_YES;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type,
    const void *data, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct http_request rq = { 0 };
	struct query q = { 0, 0 };
	const char *type = NULL;
	enum MHD_Result ret;
	struct buf body;
	int status;

	(void)version;
	(void)upload;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		*upload_size = 0;
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
		    "method not allowed\n", 19);
	}
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &q);
	rq.path = url;
	rq.verbose = q.verbose;
	rq.nodes = q.nodes;
	rq.openmetrics = prom_wants_openmetrics(MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
	buf_init(&body);
	status = h->handler(h->arg, &rq, &body, &type);
	if (body.failed)
		ret = reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
		    "out of memory\n", 14);
	else
		ret = reply(c, (unsigned)status, type ? type :
		    "text/plain; charset=utf-8", body.data ? (void *)body.data :
		    "", body.len);
	buf_free(&body);
	return ret;
}

static void on_timer(uv_timer_t *t);

/*
 * Run MHD, then wake up again when it says, and at least every
 * HTTP_TICK_MS: MHD puts its listening socket back into its epoll set
 * (after it was at http_max_connections) only at the start of a run, and
 * nothing else would wake us for that run.
 */
static void
ep_run(struct http_ep *e)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(e->d);
	MHD_run(e->d);
	if (MHD_get_timeout(e->d, &ms) != MHD_YES || ms > HTTP_TICK_MS)
		ms = HTTP_TICK_MS;
	uv_timer_start(&e->timer, on_timer, ms, 0);
}

static void
on_timer(uv_timer_t *t)
{
	ep_run(t->data);
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	ep_run(p->data);
}

/* A unix socket path: a stale socket file of ours goes first. */
static int
listen_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("HTTP: socket path %s is too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fd, HTTP_BACKLOG) != 0) {
		log_err("HTTP: can't listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* "ADDR:PORT" or "[ADDR]:PORT". */
static int
listen_tcp(const char *spec)
{
	char host[256], err[NET_ERR_LEN];
	const char *colon = strrchr(spec, ':');
	long long port;
	size_t len;
	int fd;

	if (colon == NULL || parse_ll(colon + 1, 1, 65535, &port) != 0) {
		log_err("HTTP: %s is not ADDR:PORT or a socket path", spec);
		return -1;
	}
	len = (size_t)(colon - spec);
	if (len >= 2 && spec[0] == '[' && spec[len - 1] == ']') {
		spec++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(host)) {
		log_err("HTTP: %s is not ADDR:PORT or a socket path", spec);
		return -1;
	}
	memcpy(host, spec, len);
	host[len] = '\0';
	fd = net_listen(host, (uint16_t)port, 0, HTTP_BACKLOG, err);
	if (fd < 0)
		log_err("HTTP: can't listen on %s: %s", spec, err);
	return fd;
}

static int
ep_start(struct http *h, struct http_ep *e, const char *spec,
    const struct http_limits *lim)
{
	const union MHD_DaemonInfo *info;
	int fd;

	e->h = h;
	if (spec[0] == '/') {
		if ((fd = listen_unix(spec)) < 0)
			return -1;
		if ((e->unix_path = strdup(spec)) == NULL) {
			close(fd);
			return -1;
		}
	} else if ((fd = listen_tcp(spec)) < 0) {
		return -1;
	}
	/* MHD closes fd from here on, also when it fails. */
	e->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL,
	    NULL, on_request, h,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)lim->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)lim->timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)lim->memory,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_END);
	if (e->d == NULL ||
	    (info = MHD_get_daemon_info(e->d, MHD_DAEMON_INFO_EPOLL_FD)) ==
	    NULL) {
		log_err("HTTP: can't start the server on %s", spec);
		return -1;
	}
	uv_poll_init(h->loop, &e->poll, info->epoll_fd);
	uv_timer_init(h->loop, &e->timer);
	uv_unref((uv_handle_t *)&e->timer);
	e->poll.data = e->timer.data = e;
	e->handles = 2;
	uv_poll_start(&e->poll, UV_READABLE, on_poll);
	ep_run(e);
	log_info("HTTP endpoint on %s", spec);
	return 0;
}

struct http *
http_start(uv_loop_t *loop, const char *listen, const struct http_limits *lim,
    http_handler handler, void *arg)
{
	struct http *h = calloc(1, sizeof(*h));
	size_t n = 1;
	char *list, *spec, *save = NULL;

	if (h == NULL)
		return NULL;
	for (const char *s = listen; *s; s++)
		n += *s == '\n';
	h->loop = loop;
	h->handler = handler;
	h->arg = arg;
	if ((h->ep = calloc(n, sizeof(*h->ep))) == NULL ||
	    (list = strdup(listen)) == NULL) {
		free(h->ep);
		free(h);
		return NULL;
	}
	for (spec = strtok_r(list, "\n", &save); spec != NULL;
	    spec = strtok_r(NULL, "\n", &save)) {
		if (ep_start(h, &h->ep[h->nep++], spec, lim) != 0) {
			free(list);
			http_stop(h);
			return NULL;
		}
	}
	free(list);
	return h;
}

static void
ep_closed(uv_handle_t *u)
{
	struct http_ep *e = u->data;
	struct http *h = e->h;

	if (--e->handles == 0 && --h->closing == 0) {
		free(h->ep);
		free(h);
	}
}

void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	h->closing = 1;		/* until every endpoint is looked at */
	for (size_t i = 0; i < h->nep; i++) {
		struct http_ep *e = &h->ep[i];

		if (e->handles) {
			h->closing++;
			/* Out of epoll before MHD closes the descriptor. */
			uv_close((uv_handle_t *)&e->poll, ep_closed);
			uv_close((uv_handle_t *)&e->timer, ep_closed);
		}
		if (e->d != NULL)
			MHD_stop_daemon(e->d);
		e->d = NULL;
		if (e->unix_path != NULL) {
			unlink(e->unix_path);
			free(e->unix_path);
			e->unix_path = NULL;
		}
	}
	if (--h->closing == 0) {
		free(h->ep);
		free(h);
	}
}
