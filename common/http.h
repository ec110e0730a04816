/*
 * The daemons' HTTP endpoint (-S http_listen): libmicrohttpd in external
 * poll mode on the libuv loop.  MHD's epoll descriptor is one uv_poll, its
 * next timeout one uv_timer; MHD parses, the daemon only answers GETs.
 * Slow or hostile clients meet MHD's connection limit, idle timeout and
 * memory pool (which bounds the request headers); none of it touches the
 * daemon's other sockets.
 */
#ifndef QN_HTTP_H
#define QN_HTTP_H

#include <uv.h>

#include "buf.h"

struct http_request {
	const char *path;
	int verbose;		/* ?verbose */
	int nodes;		/* ?nodes=1 (or yes, on, true) */
	int openmetrics;	/* Accept: application/openmetrics-text */
};

/*
 * Answer rq into body: returns the HTTP status, *type the Content-Type
 * (text/plain when left NULL).  404 for an unknown path is the handler's.
 */
typedef int (*http_handler)(void *arg, const struct http_request *rq,
    struct buf *body, const char **type);

struct http_limits {
	long long max_connections;	/* at once, per listen address */
	long long timeout;		/* s of silence before a close */
	long long memory;		/* bytes per connection (headers) */
};

struct http;

/*
 * Listen on every address of listen, one per line: "ADDR:PORT",
 * "[V6ADDR]:PORT" or a unix socket path (starting with '/').  Returns the
 * server, or NULL with the reason logged.
 */
struct http *http_start(uv_loop_t *loop, const char *listen,
	    const struct http_limits *lim, http_handler h, void *arg);
/* Close everything; the memory goes once the loop ran the closes. */
void	http_stop(struct http *h);

#endif
