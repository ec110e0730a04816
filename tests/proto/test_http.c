/*
 * The HTTP endpoint of corosync-qnetd (-S http_listen, corosync-qnetd(8),
 * METRICS): /metrics values after clients connect, vote and leave,
 * OpenMetrics, /livez and /readyz (?verbose), the same text from
 * corosync-qnetd-tool --metrics, promtool's check, TLS counters, and
 * hostile HTTP clients that must not touch the votes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "http_client.h"

static char http_sock[PATH_MAX + 16];

/* A qnetd with its HTTP endpoint on a unix socket in its directory. */
static void
start_http(struct srv *s, const char *tls, const char *extra)
{
	char opt[2 * PATH_MAX];

	srv_prepare(s);
	snprintf(http_sock, sizeof(http_sock), "%s/http.sock", s->dir);
	snprintf(opt, sizeof(opt), "http_listen=%s%s%s", http_sock,
	    extra ? "," : "", extra ? extra : "");
	SRV_LAUNCH(s, "-s", tls, "-S", opt);
}

/* A free port: bind 0, look, close. */
static int
free_tcp_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

static void
scrape(const char *path, struct http_reply *r)
{
	http_get(http_sock, "GET", path, NULL, r);
	ck_assert_msg(r->status == 200, "GET %s: %d", path, r->status);
}

#define ASSERT_METRIC(text, sample, want) do {				\
	double v_ = metric((text), (sample));				\
	if (v_ != (double)(want))					\
		fprintf(stderr, "%s\n", (text));			\
	ck_assert_msg(v_ == (double)(want), "%s is %g, not %g",		\
	    (sample), v_, (double)(want));				\
} while (0)

static void
assert_promtool_clean(const char *text)
{
	struct buf err;

	buf_init(&err);
	if (promtool_check(text, &err) != 0) {
		fprintf(stderr, "%s\n", text);
		ck_abort_msg("promtool check metrics: %.500s",
		    (char *)err.data);
	}
	buf_free(&err);
}

/* ------------------------------------------------------------------ */
/* Four ffsplit nodes, then the split {1,2} / {3,4} (test_algorithms.c) */

static void
four_join_and_split(struct srv *s, struct qc c[4])
{
	uint32_t seq;

	for (uint32_t i = 0; i < 4; i++) {
		struct init_p p = init_p(2, i + 1, QN_ALGO_FFSPLIT);

		p.ring = R0;
		join(&c[i], s, "demo", &p);
	}
	for (int i = 0; i < 4; i++) {
		seq = send_config(&c[i], 1, 2, 3, 4);
		expect_nlr(&c[i], seq, QN_LIST_INITIAL_CONFIG, R0,
		    QN_VOTE_ASK_LATER);
	}
	for (int i = 0; i < 3; i++) {
		seq = send_members(&c[i], R0, 0, 1, 2, 3, 4);
		expect_nlr(&c[i], seq, QN_LIST_MEMBERSHIP, R0,
		    QN_VOTE_WAIT_FOR_REPLY);
	}
	seq = send_members(&c[3], R0, 0, 1, 2, 3, 4);
	expect_vote_info(&c[3], 1, QN_VOTE_ACK, R0);
	expect_nlr(&c[3], seq, QN_LIST_MEMBERSHIP, R0, QN_VOTE_NO_CHANGE);
	for (int i = 0; i < 3; i++)
		expect_vote_info(&c[i], 1, QN_VOTE_ACK, R0);
	for (int i = 0; i < 4; i++)
		send_vote_info_reply(&c[i], 1);

	seq = send_members(&c[0], R1, 0, 1, 2);
	expect_nlr(&c[0], seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_WAIT_FOR_REPLY);
	seq = send_members(&c[1], R1, 0, 1, 2);
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_WAIT_FOR_REPLY);
	seq = send_members(&c[2], R2, 0, 3, 4);
	expect_nlr(&c[2], seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_WAIT_FOR_REPLY);
	seq = send_members(&c[3], R2, 0, 3, 4);
	expect_vote_info(&c[2], 2, QN_VOTE_NACK, R2);
	expect_vote_info(&c[3], 2, QN_VOTE_NACK, R2);
	expect_nlr(&c[3], seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_NO_CHANGE);
	send_vote_info_reply(&c[2], 2);
	send_vote_info_reply(&c[3], 2);
	expect_vote_info(&c[0], 2, QN_VOTE_ACK, R1);
	expect_vote_info(&c[1], 2, QN_VOTE_ACK, R1);
	send_vote_info_reply(&c[0], 2);
	send_vote_info_reply(&c[1], 2);
	for (int i = 0; i < 4; i++)
		echo_ok(&c[i]);
}

/* ------------------------------------------------------------------ */

START_TEST(t_metrics_values)
{
	struct srv s;
	struct qc c[4];
	struct http_reply r;
	struct buf out, err;
	char *argv[6];
	const char *t;

	start_http(&s, "off", NULL);
	scrape("/metrics", &r);
	ck_assert_str_eq(r.type, "text/plain; version=0.0.4; charset=utf-8");
	t = (char *)r.body.data;
	ASSERT_METRIC(t, "qnetd_clients{tls=\"no\"}", 0);
	ASSERT_METRIC(t, "qnetd_clusters", 0);
	ck_assert_ptr_nonnull(strstr(t, "qnetd_build_info{version=\""));
	http_reply_free(&r);

	four_join_and_split(&s, c);
	scrape("/metrics", &r);
	t = (char *)r.body.data;
	ASSERT_METRIC(t, "qnetd_clients{tls=\"no\"}", 4);
	ASSERT_METRIC(t, "qnetd_clients{tls=\"yes\"}", 0);
	ASSERT_METRIC(t, "qnetd_clusters", 1);
	ASSERT_METRIC(t, "qnetd_connections_accepted_total", 4);
	ASSERT_METRIC(t, "qnetd_messages_received_total{type=\"init\"}", 4);
	ASSERT_METRIC(t, "qnetd_messages_received_total{type=\"node_list\"}",
	    12);
	ASSERT_METRIC(t,
	    "qnetd_messages_received_total{type=\"vote_info_reply\"}", 8);
	/* 4 ACKs in the whole cluster, then 2 NACKs and 2 ACKs. */
	ASSERT_METRIC(t, "qnetd_votes_total{vote=\"ack\"}", 6);
	ASSERT_METRIC(t, "qnetd_votes_total{vote=\"nack\"}", 2);
	ASSERT_METRIC(t, "qnetd_votes_total{vote=\"ask_later\"}", 4);
	ASSERT_METRIC(t, "qnetd_cluster_info{cluster=\"demo\","
	    "algorithm=\"ffsplit\",tie_breaker=\"lowest\"}", 1);
	ASSERT_METRIC(t, "qnetd_cluster_nodes{cluster=\"demo\",state=\"ack\"}",
	    2);
	ASSERT_METRIC(t,
	    "qnetd_cluster_nodes{cluster=\"demo\",state=\"nack\"}", 2);
	/* Per-node series only when asked for. */
	ck_assert_ptr_null(strstr(t, "qnetd_node_vote{"));
	assert_promtool_clean(t);
	http_reply_free(&r);

	scrape("/metrics?nodes=1", &r);
	t = (char *)r.body.data;
	ASSERT_METRIC(t, "qnetd_node_vote{cluster=\"demo\",node_id=\"1\","
	    "vote=\"ack\"}", 1);
	ASSERT_METRIC(t, "qnetd_node_vote{cluster=\"demo\",node_id=\"4\","
	    "vote=\"nack\"}", 1);
	assert_promtool_clean(t);
	http_reply_free(&r);

	/* The same text through the local socket, for the textfile
	 * collector. */
	argv[0] = (char *)tool_bin;
	argv[1] = (char *)"-p";
	argv[2] = s.sock;
	argv[3] = (char *)"--metrics";
	argv[4] = NULL;
	buf_init(&out);
	buf_init(&err);
	ck_assert_int_eq(run_capture(argv, &out, &err, 10000), 0);
	t = (char *)out.data;
	ASSERT_METRIC(t, "qnetd_clients{tls=\"no\"}", 4);
	ASSERT_METRIC(t, "qnetd_votes_total{vote=\"nack\"}", 2);
	ck_assert_ptr_null(strstr(t, "qnetd_node_vote{"));
	assert_promtool_clean(t);
	buf_free(&out);
	buf_free(&err);

	/* A node leaves: one client, the reason counted. */
	qc_close(&c[3]);
	for (int i = 0; i < 50; i++) {
		scrape("/metrics", &r);
		if (metric((char *)r.body.data,
		    "qnetd_clients{tls=\"no\"}") == 3)
			break;
		http_reply_free(&r);
		sleep_ms(100);
	}
	t = (char *)r.body.data;
	ASSERT_METRIC(t, "qnetd_clients{tls=\"no\"}", 3);
	ASSERT_METRIC(t, "qnetd_client_disconnects_total"
	    "{reason=\"closed_by_peer\"}", 1);
	http_reply_free(&r);
	for (int i = 0; i < 3; i++)
		qc_close(&c[i]);
	srv_term(&s);
}
END_TEST

START_TEST(t_openmetrics_and_paths)
{
	struct srv s;
	struct http_reply r;
	const char *t;

	start_http(&s, "off", NULL);
	http_get(http_sock, "GET", "/metrics",
	    "Accept: application/openmetrics-text;version=1.0.0,"
	    "text/plain;version=0.0.4;q=0.5\r\n", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strncmp(r.type, "application/openmetrics-text", 28) == 0,
	    "Content-Type %s", r.type);
	t = (char *)r.body.data;
	ck_assert_msg(r.body.len > 7 &&
	    strcmp(t + strlen(t) - 6, "# EOF\n") == 0, "no # EOF:\n%s", t);
	/* OpenMetrics names a counter's family without _total. */
	ck_assert_ptr_nonnull(strstr(t, "# TYPE qnetd_votes counter\n"));
	ck_assert_ptr_nonnull(strstr(t, "# TYPE qnetd_build info\n"));
	ASSERT_METRIC(t, "qnetd_votes_total{vote=\"ack\"}", 0);
	http_reply_free(&r);

	http_get(http_sock, "GET", "/livez", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq((char *)r.body.data, "livez check passed\n");
	http_reply_free(&r);
	http_get(http_sock, "GET", "/livez?verbose", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq((char *)r.body.data,
	    "[+]event_loop ok\nlivez check passed\n");
	http_reply_free(&r);
	http_get(http_sock, "GET", "/readyz?verbose", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq((char *)r.body.data, "[+]listening ok\n"
	    "[+]tls_certificate ok\nreadyz check passed\n");
	http_reply_free(&r);
	http_get(http_sock, "GET", "/nothing", NULL, &r);
	ck_assert_int_eq(r.status, 404);
	http_reply_free(&r);
	http_get(http_sock, "POST", "/metrics", "Content-Length: 0\r\n", &r);
	ck_assert_int_eq(r.status, 405);
	http_reply_free(&r);
	srv_term(&s);
}
END_TEST

/* Two listen addresses (a socket path and TCP), and a bad one. */
START_TEST(t_listen_addresses)
{
	struct srv s;
	struct http_reply r;
	char opt[64], to[64];
	struct buf out, err;
	int port;

	port = free_tcp_port();
	snprintf(opt, sizeof(opt), "http_listen=127.0.0.1:%d", port);
	start_http(&s, "off", opt);
	snprintf(to, sizeof(to), "127.0.0.1:%d", port);
	http_get(to, "GET", "/readyz", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_reply_free(&r);
	http_get(http_sock, "GET", "/readyz", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_reply_free(&r);
	srv_term(&s);

	/* An address that is not one: qnetd does not start. */
	buf_init(&out);
	buf_init(&err);
	srv_prepare(&s);
	ck_assert_int_ne(RUN_QNETD(&out, &err, "-f", "-s", "off", "-p", "0",
	    "-S", "http_listen=nonsense", "-S", "lock_file=/nonexistent/x"),
	    0);
	buf_free(&out);
	buf_free(&err);
}
END_TEST

START_TEST(t_tls_metrics)
{
	struct srv s;
	struct qc c;
	struct http_reply r;
	const char *t;

	NEED_CERTS("t_tls_metrics");
	start_http(&s, "on", NULL);
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, QN_TLS_SUPPORTED, 1);
	qc_sendf(&c, "0002 00000008 0000 0004 00000002");
	ck_assert_int_eq(qc_starttls(&c, "demo"), 0);
	{
		struct init_p p = init_p(3, 1, QN_ALGO_FFSPLIT);

		send_init(&c, &p);
		expect_init_reply(&c, 3, 0);
	}
	scrape("/metrics", &r);
	t = (char *)r.body.data;
	ASSERT_METRIC(t, "qnetd_clients{tls=\"yes\"}", 1);
	ASSERT_METRIC(t, "qnetd_tls_handshakes_total{result=\"ok\"}", 1);
	ASSERT_METRIC(t, "qnetd_tls_handshake_duration_seconds_count", 1);
	ASSERT_METRIC(t, "qnetd_tls_handshake_duration_seconds_bucket"
	    "{le=\"+Inf\"}", 1);
	ck_assert_msg(metric(t, "qnetd_certificate_expiry_timestamp_seconds") >
	    (double)time(NULL), "no certificate expiry in the future:\n%s", t);
	assert_promtool_clean(t);
	http_reply_free(&r);
	qc_close(&c);
	srv_term(&s);
}
END_TEST

/* A cluster name is the client's choice: quotes, backslashes and newlines
 * are escaped, and the text stays valid. */
START_TEST(t_cluster_name_escaped)
{
	struct srv s;
	struct qc c;
	struct http_reply r;
	const char *t;

	start_http(&s, "off", NULL);
	join_simple(&c, &s, "a\"b\\c\nd", 1, QN_ALGO_FFSPLIT);
	scrape("/metrics?nodes=1", &r);
	t = (char *)r.body.data;
	ASSERT_METRIC(t, "qnetd_cluster_info{cluster=\"a\\\"b\\\\c\\nd\","
	    "algorithm=\"ffsplit\",tie_breaker=\"lowest\"}", 1);
	assert_promtool_clean(t);
	http_reply_free(&r);
	qc_close(&c);
	srv_term(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Hostile HTTP clients */

#define SLOW_CLIENTS	40
#define MANY_CLIENTS	10000	/* as fit the open files limit */

START_TEST(t_hostile_http)
{
	struct srv s;
	struct qc c[4];
	struct http_reply r;
	int slow[SLOW_CLIENTS], *many, big;
	size_t nmany = 0, want;
	char *huge;
	struct rlimit rl;
	int64_t until;
	char opt[128];
	int tcp_port;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	want = rl.rlim_cur > MANY_CLIENTS + 256 ? MANY_CLIENTS :
	    rl.rlim_cur > 512 ? rl.rlim_cur - 256 : 256;
	ck_assert_ptr_nonnull(many = calloc(want, sizeof(*many)));
	tcp_port = free_tcp_port();
	snprintf(opt, sizeof(opt), "http_max_connections=8,http_timeout=2,"
	    "http_listen=127.0.0.1:%d", tcp_port);
	start_http(&s, "off", opt);
	four_join_and_split(&s, c);

	/* Slowloris: requests that never end, a byte now and then. */
	for (int i = 0; i < SLOW_CLIENTS; i++) {
		slow[i] = http_connect(http_sock);
		ck_assert_int_ge(slow[i], 0);
		(void)!write(slow[i], "GET /metrics HTTP/1.1\r\nX-a: ", 28);
	}
	/* Headers far over http_max_request_size. */
	huge = malloc(256 * 1024);
	memset(huge, 'a', 256 * 1024);
	big = http_connect(http_sock);
	ck_assert_int_ge(big, 0);
	(void)!write(big, "GET /metrics HTTP/1.1\r\nX-big: ", 30);
	fcntl(big, F_SETFL, O_NONBLOCK);
	(void)!write(big, huge, 256 * 1024);
	free(huge);
	/* Many connections at once that send nothing (over TCP: a unix
	 * socket's connect would wait for room in the backlog). */
	while (nmany < want) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

		ck_assert_int_ge(fd, 0);
		a.sin_port = htons((uint16_t)tcp_port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 &&
		    errno != EINPROGRESS) {
			close(fd);
			break;
		}
		many[nmany++] = fd;
	}
	note("hostile: %d slow, 1 huge, %zu idle connections", SLOW_CLIENTS,
	    nmany);

	/* Meanwhile the nodes keep their votes: heartbeats are answered, a
	 * quorum list gets NO_CHANGE, nobody got a new vote. */
	until = now_ms() + 3000;
	while (now_ms() < until) {
		for (int i = 0; i < SLOW_CLIENTS; i++)
			(void)!write(slow[i], "b", 1);
		for (int i = 0; i < 4; i++)
			echo_ok(&c[i]);
		sleep_ms(500);
	}
	for (int i = 0; i < 4; i++) {
		uint32_t seq = send_quorum(&c[i], 1, i < 2 ? 1 : 3,
		    i < 2 ? 2 : 4);

		expect_nlr(&c[i], seq, QN_LIST_QUORUM, i < 2 ? R1 : R2,
		    QN_VOTE_NO_CHANGE);
		qc_expect_quiet(&c[i], 0);
	}
	ck_assert(srv_alive(&s));

	/* The hostile ones gone, HTTP serves again, votes as they were. */
	for (int i = 0; i < SLOW_CLIENTS; i++)
		close(slow[i]);
	close(big);
	for (size_t i = 0; i < nmany; i++)
		close(many[i]);
	free(many);
	r.status = 0;
	for (int i = 0; i < 100 && r.status != 200; i++) {
		http_get(http_sock, "GET", "/metrics", NULL, &r);
		if (r.status != 200) {
			http_reply_free(&r);
			sleep_ms(100);
		}
	}
	ck_assert_int_eq(r.status, 200);
	ASSERT_METRIC((char *)r.body.data,
	    "qnetd_cluster_nodes{cluster=\"demo\",state=\"ack\"}", 2);
	ASSERT_METRIC((char *)r.body.data, "qnetd_votes_total{vote=\"nack\"}",
	    2);
	ASSERT_METRIC((char *)r.body.data, "qnetd_clients{tls=\"no\"}", 4);
	http_reply_free(&r);
	for (int i = 0; i < 4; i++)
		qc_close(&c[i]);
	srv_term(&s);
}
END_TEST

/* A request with headers over the limit gets 431 (or a close), no more. */
START_TEST(t_huge_headers_refused)
{
	struct srv s;
	struct http_reply r;
	char *hdr = malloc(64 * 1024);

	start_http(&s, "off", NULL);
	memcpy(hdr, "X-big: ", 7);
	memset(hdr + 7, 'a', 40 * 1024);
	strcpy(hdr + 7 + 40 * 1024, "\r\n");
	http_get(http_sock, "GET", "/metrics", hdr, &r);
	ck_assert_msg(r.status == 431 || r.status == 0, "status %d", r.status);
	http_reply_free(&r);
	free(hdr);
	http_get(http_sock, "GET", "/livez", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_reply_free(&r);
	srv_term(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("http endpoint");
	TCase *t;

	t = harness_tcase(s, "metrics", TEST_TIMEOUT);
	tcase_add_test(t, t_metrics_values);
	tcase_add_test(t, t_openmetrics_and_paths);
	tcase_add_test(t, t_listen_addresses);
	tcase_add_test(t, t_tls_metrics);
	tcase_add_test(t, t_cluster_name_escaped);
	t = harness_tcase(s, "hostile", TEST_TIMEOUT);
	tcase_add_test(t, t_hostile_http);
	tcase_add_test(t, t_huge_headers_refused);
	return harness_run(s, H_PROTO | H_CERTS);
}
