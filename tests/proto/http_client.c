/* The tests' HTTP client (http_client.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "http_client.h"

int
http_connect(const char *to)
{
	int fd;

	if (to[0] == '/') {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", to);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a,
		    sizeof(a)) == 0)
			return fd;
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET };
		const char *colon = strrchr(to, ':');

		a.sin_port = htons((uint16_t)atoi(colon + 1));
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a,
		    sizeof(a)) == 0)
			return fd;
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

void
http_get(const char *to, const char *method, const char *path,
    const char *headers, struct http_reply *r)
{
	char req[1024], chunk[4096], *hdr_end, *ct;
	struct buf in;
	int64_t deadline = now_ms() + TIMEOUT_MS;
	int fd;

	memset(r, 0, sizeof(*r));
	buf_init(&r->body);
	buf_init(&in);
	/* The daemon may still be binding it right after its start. */
	while ((fd = http_connect(to)) < 0 && (errno == ECONNREFUSED ||
	    errno == ENOENT) && now_ms() < deadline)
		sleep_ms(20);
	ck_assert_msg(fd >= 0, "can't connect to %s: %s", to, strerror(errno));
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: test\r\n"
	    "Connection: close\r\n%s\r\n", method, path,
	    headers ? headers : "");
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
			break;
		buf_put(&in, chunk, (size_t)n);
	}
	close(fd);
	buf_put_u8(&in, 0);
	if (sscanf((char *)in.data, "HTTP/1.%*d %d", &r->status) != 1)
		r->status = 0;
	if ((hdr_end = strstr((char *)in.data, "\r\n\r\n")) != NULL) {
		*hdr_end = '\0';
		if ((ct = strcasestr((char *)in.data, "\r\nContent-Type: ")) !=
		    NULL)
			sscanf(ct + 16, "%127[^\r]", r->type);
		buf_put(&r->body, hdr_end + 4, strlen(hdr_end + 4));
	}
	buf_put_u8(&r->body, 0);
	buf_free(&in);
}

void
http_reply_free(struct http_reply *r)
{
	buf_free(&r->body);
}

double
metric(const char *text, const char *sample)
{
	size_t len = strlen(sample);

	for (const char *l = text; l != NULL && *l; ) {
		if (strncmp(l, sample, len) == 0 && l[len] == ' ')
			return strtod(l + len + 1, NULL);
		l = strchr(l, '\n');
		if (l != NULL)
			l++;
	}
	return -1;
}

int
promtool_check(const char *text, struct buf *err)
{
	char path[PATH_MAX];
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", NULL, NULL };
	char cmd[PATH_MAX + 64];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/metrics.XXXXXX", base_dir);
	rc = mkstemp(path);
	ck_assert_int_ge(rc, 0);
	close(rc);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	argv[2] = cmd;
	rc = run_capture(argv, err, NULL, 20000);
	unlink(path);
	return rc;
}
