#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "addrwatch.h"
#include "log.h"

/* The address listen_fd is bound to; -1 for the wildcard. */
static int
bound_addr(struct addrwatch *w, int listen_fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(listen_fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		if (a->sin_addr.s_addr == htonl(INADDR_ANY))
			return -1;
		memcpy(w->addr, &a->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
			return -1;
		memcpy(w->addr, &a->sin6_addr, 16);
	} else {
		return -1;
	}
	w->family = ss.ss_family;
	return 0;
}

/* Is this address message about our address? */
static int
ifaddr_is_ours(const struct addrwatch *w, const struct nlmsghdr *nh)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	size_t alen = w->family == AF_INET ? 4 : 16;
	int len = (int)IFA_PAYLOAD(nh);
	const struct rtattr *rta;

	if (ifa->ifa_family != w->family)
		return 0;
	for (rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if ((rta->rta_type == IFA_LOCAL || rta->rta_type == IFA_ADDRESS) &&
		    RTA_PAYLOAD(rta) == alen &&
		    memcmp(RTA_DATA(rta), w->addr, alen) == 0)
			return 1;
	return 0;
}

static void
addr_event(struct addrwatch *w, int removed)
{
	char text[INET6_ADDRSTRLEN];

	if (removed == w->gone)
		return;
	w->gone = removed;
	inet_ntop(w->family, w->addr, text, sizeof(text));
	if (removed)
		log_warn("Listen address %s was removed from the system: no new "
		    "client can connect until it is back; connected clients "
		    "are still served", text);
	else
		log_notice("Listen address %s is back: accepting clients again",
		    text);
}

/* NLMSG_OK() without its signed/unsigned comparison (clang warns). */
static int
nlmsg_ok(const struct nlmsghdr *nh, int len)
{
	return len >= (int)sizeof(*nh) && nh->nlmsg_len >= sizeof(*nh) &&
	    nh->nlmsg_len <= (unsigned int)len;
}

static void
on_netlink(uv_poll_t *p, int status, int events)
{
	struct addrwatch *w = p->data;
	uint8_t buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n;

	(void)events;
	if (status < 0)
		return;
	/* ENOBUFS (we missed events) is no reason to stop listening. */
	while ((n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0 ||
	    (n < 0 && (errno == EINTR || errno == ENOBUFS))) {
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		int len = (int)n;

		for (; n > 0 && nlmsg_ok(nh, len); nh = NLMSG_NEXT(nh, len))
			if ((nh->nlmsg_type == RTM_NEWADDR ||
			    nh->nlmsg_type == RTM_DELADDR) &&
			    ifaddr_is_ours(w, nh))
				addr_event(w, nh->nlmsg_type == RTM_DELADDR);
	}
}

void
addrwatch_start(struct addrwatch *w, uv_loop_t *loop, int listen_fd)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	w->fd = -1;
	if (bound_addr(w, listen_fd) != 0)
		return;
	sa.nl_groups = w->family == AF_INET ?
	    RTMGRP_IPV4_IFADDR : RTMGRP_IPV6_IFADDR;
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_ROUTE);
	if (w->fd == -1 ||
	    bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		/* Only a log line is lost: go on without. */
		log_debug("Can't watch the listen address: %s", strerror(errno));
		if (w->fd != -1)
			close(w->fd);
		w->fd = -1;
		return;
	}
	uv_poll_init(loop, &w->poll, w->fd);
	w->poll.data = w;
	uv_poll_start(&w->poll, UV_READABLE, on_netlink);
}

static void
watch_closed(uv_handle_t *h)
{
	struct addrwatch *w = h->data;

	close(w->fd);
	w->fd = -1;
}

void
addrwatch_stop(struct addrwatch *w)
{
	if (w->fd != -1)
		uv_close((uv_handle_t *)&w->poll, watch_closed);
}
