/*
 * TCP socket helpers: the server's listening socket, accept, the client's
 * address resolution and the "address:port" text 3.0.3 logs for a peer.
 *
 * Functions that can fail write the reason into err (NET_ERR_LEN bytes),
 * ready to log.  Families are given as 0 (any), 4 or 6, like the
 * daemons' -4/-6 options and quorum.device.net.force_ip_version.
 */
#ifndef QN_NET_H
#define QN_NET_H

#include <stddef.h>
#include <stdint.h>
#include <netdb.h>
#include <sys/socket.h>

#define NET_ERR_LEN	256
/* "ffff:ffff:...:255.255.255.255" + ":65535" + NUL */
#define NET_ADDR_STRLEN	(INET6_ADDRSTRLEN + 7)

/*
 * A non-blocking listening socket with SO_REUSEADDR.  Without addr it is
 * the IPv6 wildcard accepting IPv4 peers too (IPV6_V6ONLY off), or the
 * IPv4 wildcard with family 4 or when the host has no IPv6.  With addr
 * (a name or a numeric address) the first resolved address of the allowed
 * family that binds is used.  Returns the socket or -1.
 */
int	net_listen(const char *addr, uint16_t port, int family, int backlog,
	    char *err);

/*
 * Accept one pending connection as a non-blocking, close-on-exec socket
 * with TCP_NODELAY.  Returns it, or -1 with errno (EAGAIN: none left; the
 * caller accepts in a loop until then).  sa/salen may be NULL.
 */
int	net_accept(int lfd, struct sockaddr_storage *sa, socklen_t *salen);

/* "10.0.0.1:54321", "::ffff:10.0.0.1:54321" or "::1:54321". */
void	net_format_addr(const struct sockaddr *sa, char *buf, size_t len);

/*
 * Addresses to try, in order, for connecting to host:port; free with
 * freeaddrinfo().  Returns 0 or -1.
 */
int	net_resolve(const char *host, uint16_t port, int family,
	    struct addrinfo **res, char *err);

#endif
