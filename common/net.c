#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net.h"

static int __attribute__((format(printf, 2, 3)))
set_err(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, NET_ERR_LEN, fmt, ap);
	va_end(ap);
	return -1;
}

static int
resolve(const char *host, uint16_t port, int family, int flags,
    struct addrinfo **res, char *err)
{
	struct addrinfo hints;
	char service[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	switch (family) {
	case 0:
		hints.ai_family = AF_UNSPEC;
		break;
	case 4:
		hints.ai_family = AF_INET;
		break;
	case 6:
		hints.ai_family = AF_INET6;
		break;
	default:
		return set_err(err, "Invalid IP version %d", family);
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = flags | AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	rc = getaddrinfo(host, service, &hints, res);
	if (rc == 0)
		return 0;
	return set_err(err, "Can't resolve %s: %s", host,
	    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
}

int
net_resolve(const char *host, uint16_t port, int family,
    struct addrinfo **res, char *err)
{
	return resolve(host, port, family, 0, res, err);
}

static int
listen_on(const struct sockaddr *sa, socklen_t salen, int backlog, char *err)
{
	const char *what = "socket";
	char addr[NET_ADDR_STRLEN];
	int one = 1, zero = 0, fd, e;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		goto fail;
	what = "setsockopt";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	/* One socket serves IPv4 peers as ::ffff:a.b.c.d, as in 3.0.3. */
	if (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &zero, sizeof(zero)) != 0)
		goto fail;
	what = "bind";
	if (bind(fd, sa, salen) != 0)
		goto fail;
	what = "listen";
	if (listen(fd, backlog) != 0)
		goto fail;
	return fd;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	net_format_addr(sa, addr, sizeof(addr));
	set_err(err, "Can't listen on %s (%s): %s", addr, what, strerror(e));
	errno = e;
	return -1;
}

static int
listen_wildcard(uint16_t port, int family, int backlog, char *err)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	int fd;

	if (family != 4) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = in6addr_any;
		sin6.sin6_port = htons(port);
		fd = listen_on((struct sockaddr *)&sin6, sizeof(sin6), backlog,
		    err);
		/* A kernel without IPv6 still gets the IPv4 wildcard. */
		if (fd >= 0 || family == 6 || errno != EAFNOSUPPORT)
			return fd;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	sin.sin_port = htons(port);
	return listen_on((struct sockaddr *)&sin, sizeof(sin), backlog, err);
}

int
net_listen(const char *addr, uint16_t port, int family, int backlog,
    char *err)
{
	struct addrinfo *res, *ai;
	int fd = -1;

	if (addr == NULL)
		return listen_wildcard(port, family, backlog, err);
	if (resolve(addr, port, family, AI_PASSIVE, &res, err) != 0)
		return -1;
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = listen_on(ai->ai_addr, ai->ai_addrlen, backlog, err);
	freeaddrinfo(res);
	return fd;
}

int
net_accept(int lfd, struct sockaddr_storage *sa, socklen_t *salen)
{
	socklen_t len = sizeof(*sa);
	int fd, one = 1;

	do {
		fd = accept4(lfd, (struct sockaddr *)sa, sa ? &len : NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	if (salen != NULL)
		*salen = len;
	/*
	 * Replies go out as soon as they are queued instead of waiting for
	 * the peer's delayed ACK (PROTOCOL.md §14.2).  Failing to set it only
	 * costs latency, so the connection is kept either way.
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Decimal of v at p; returns the end. */
static char *
put_dec(char *p, unsigned v)
{
	char d[10];
	int n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = d[--n];
	return p;
}

/*
 * "a.b.c.d:port", with prefix: what inet_ntop() and "%s:%u" make of an
 * IPv4 address (or an IPv4-mapped one, prefix "::ffff:"), by hand: every
 * accepted client is formatted, and a reconnect storm has thousands.
 */
static void
format_v4(const uint8_t a[4], uint16_t port, const char *prefix, char *buf,
    size_t len)
{
	char tmp[sizeof("::ffff:255.255.255.255:65535")], *p = tmp;
	size_t plen = strlen(prefix);

	memcpy(p, prefix, plen);
	p += plen;
	for (int i = 0; i < 4; i++) {
		p = put_dec(p, a[i]);
		*p++ = i < 3 ? '.' : ':';
	}
	p = put_dec(p, port);
	*p = '\0';
	snprintf(buf, len, "%s", tmp);
}

void
net_format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	const void *a;
	uint16_t port;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		format_v4((const uint8_t *)&sin->sin_addr,
		    ntohs(sin->sin_port), "", buf, len);
		return;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			format_v4(sin6->sin6_addr.s6_addr + 12,
			    ntohs(sin6->sin6_port), "::ffff:", buf, len);
			return;
		}
		a = &sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
	} else {
		snprintf(buf, len, "(unknown address family %d)",
		    sa->sa_family);
		return;
	}
	if (inet_ntop(sa->sa_family, a, host, sizeof(host)) == NULL)
		snprintf(host, sizeof(host), "?");
	snprintf(buf, len, "%s:%u", host, (unsigned)port);
}
