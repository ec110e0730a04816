/*
 * A minimal HTTP/1.1 client for the tests of -S http_listen: one GET (or
 * any method) on a fresh connection with "Connection: close", read to the
 * end.  Tests only; the daemons parse with libmicrohttpd.
 */
#ifndef HTTP_CLIENT_H
#define HTTP_CLIENT_H

#include "buf.h"

struct http_reply {
	int status;		/* 0: no reply */
	char type[128];		/* Content-Type */
	struct buf body;	/* NUL-terminated */
};

/* to: "/path/to.sock" or "127.0.0.1:PORT". */
int	http_connect(const char *to);
void	http_get(const char *to, const char *method, const char *path,
	    const char *headers, struct http_reply *r);
void	http_reply_free(struct http_reply *r);
/*
 * The value of the sample "name{labels}" (exactly as printed) in a metrics
 * text; -1 when absent.
 */
double	metric(const char *text, const char *sample);
/* promtool check metrics on text: 0 when clean (its output in err). */
int	promtool_check(const char *text, struct buf *err);

#endif
