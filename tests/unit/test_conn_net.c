/*
 * Addresses and listening sockets (net.h): how peers are shown, name
 * resolution, the listener kinds and a busy port.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_harness.h"

START_TEST(test_format_addr)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char buf[NET_ADDR_STRLEN];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(54321);
	inet_pton(AF_INET, "10.0.0.1", &sin.sin_addr);
	net_format_addr((struct sockaddr *)&sin, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.0.0.1:54321");

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(54321);
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &sin6.sin6_addr);
	net_format_addr((struct sockaddr *)&sin6, buf, sizeof(buf));
	ck_assert_str_eq(buf, "::ffff:10.0.0.1:54321");

	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	net_format_addr((struct sockaddr *)&sin6, buf, sizeof(buf));
	ck_assert_str_eq(buf, "::1:54321");

	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
	    &sin6.sin6_addr);
	sin6.sin6_port = htons(65535);
	net_format_addr((struct sockaddr *)&sin6, buf, sizeof(buf));
	ck_assert_str_eq(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:65535");
}
END_TEST

START_TEST(test_resolve)
{
	char err[NET_ERR_LEN];
	struct addrinfo *res, *ai;

	ck_assert_int_eq(net_resolve("127.0.0.1", 5403, 4, &res, err), 0);
	ck_assert_int_eq(res->ai_family, AF_INET);
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port),
	    5403);
	freeaddrinfo(res);
	ck_assert_int_eq(net_resolve("127.0.0.1", 5403, 6, &res, err), -1);
	ck_assert_int_eq(net_resolve("::1", 5403, 4, &res, err), -1);
	ck_assert_int_eq(net_resolve("::1", 5403, 6, &res, err), 0);
	ck_assert_int_eq(res->ai_family, AF_INET6);
	freeaddrinfo(res);
	ck_assert_int_eq(net_resolve("localhost", 1, 4, &res, err), 0);
	for (ai = res; ai != NULL; ai = ai->ai_next)
		ck_assert_int_eq(ai->ai_family, AF_INET);
	freeaddrinfo(res);
	ck_assert_int_eq(net_resolve("localhost", 1, 5, &res, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "IP version"));
	ck_assert_int_eq(net_resolve("no-such-host.invalid", 1, 0, &res, err),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "no-such-host.invalid"));
}
END_TEST

/* Accepted peers are shown as 3.0.3 shows them for each listener kind. */
static void
check_peer_addr(int lfd, const char *connect_to, const char *prefix)
{
	struct env e;
	struct sockaddr_storage ss;
	struct addrinfo *res;
	char err[NET_ERR_LEN], want[NET_ADDR_STRLEN];
	int fd;

	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(env_init(&e, lfd), 0);
	ck_assert_int_eq(net_resolve(connect_to, e.port, 0, &res, err), 0);
	ck_assert_int_eq(conn_connect(&e.cli.conn, &e.ctx, res->ai_addr,
	    res->ai_addrlen, &peer_cb, &e.cli, 64, 64, 4), 0);
	freeaddrinfo(res);
	e.cli.up = 1;
	RUN_UNTIL(&e, e.cli.connected && e.srv.up);
	ck_assert(e.srv.up);
	fd = e.cli.conn.fd;
	socklen_t sl = sizeof(ss);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	snprintf(want, sizeof(want), "%s:%u", prefix, local_port(fd));
	ck_assert_str_eq(e.peer_addr, want);
	ck_assert_int_eq(env_done(&e), 0);
}

START_TEST(test_listen_kinds)
{
	char err[NET_ERR_LEN];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd;

	/* Default: the IPv6 wildcard, IPv4 peers mapped. */
	fd = net_listen(NULL, 0, 0, 16, err);
	ck_assert_msg(fd >= 0, "%s", err);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	if (ss.ss_family == AF_INET6) {
		check_peer_addr(fd, "127.0.0.1", "::ffff:127.0.0.1");
		check_peer_addr(net_listen(NULL, 0, 6, 16, err), "::1", "::1");
	} else {
		close(fd);	/* no IPv6 here: the IPv4 wildcard */
	}
	check_peer_addr(net_listen(NULL, 0, 4, 16, err), "127.0.0.1",
	    "127.0.0.1");
	check_peer_addr(net_listen("127.0.0.1", 0, 0, 16, err), "127.0.0.1",
	    "127.0.0.1");
	check_peer_addr(net_listen("localhost", 0, 4, 16, err), "127.0.0.1",
	    "127.0.0.1");

	/* A family restriction the address does not satisfy. */
	ck_assert_int_eq(net_listen("127.0.0.1", 0, 6, 16, err), -1);
	ck_assert_int_eq(net_listen("no-such-host.invalid", 0, 0, 16, err),
	    -1);
}
END_TEST

START_TEST(test_listen_busy)
{
	char err[NET_ERR_LEN];
	int fd = listen_local(), fd2;
	char port[8];

	ck_assert_int_ge(fd, 0);
	snprintf(port, sizeof(port), "%u", local_port(fd));
	fd2 = net_listen("127.0.0.1", local_port(fd), 4, 16, err);
	ck_assert_int_eq(fd2, -1);
	ck_assert_ptr_nonnull(strstr(err, "bind"));
	ck_assert_ptr_nonnull(strstr(err, port));
	close(fd);
}
END_TEST

TCase *
conn_net_tcase(void)
{
	TCase *tc = tcase_create("net");

	tcase_add_test(tc, test_format_addr);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_listen_kinds);
	tcase_add_test(tc, test_listen_busy);
	return tc;
}
