/*
 * Faults and bad configuration of a real corosync-qnetd over loopback:
 * clients that vanish at awkward moments (PROTOCOL.md §14.1, mid-message,
 * mid-TLS-handshake), TLS handshake slots under a stalling attack, a log
 * on a full disk, and configuration errors that must end the daemon
 * cleanly.
 *
 * Every test starts its own daemon (harness.h; -f -d, 127.0.0.1, a free
 * port, lock file and IPC socket in a scratch directory), killed with a
 * failed test and asserted to exit 0 on SIGTERM at a normal stop (a
 * sanitizer report at exit fails).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS		5000	/* a reply, or a close, that must come */

/* ------------------------------------------------------------------ */
/* Clients vanishing at awkward moments */

/*
 * PROTOCOL.md §14.1: two clients of one cluster complete INIT and leave
 * before any node list (3.0.3 crashes).  Each algorithm, twice.
 */
START_TEST(t_init_then_gone)
{
	static const uint8_t algos[] = { QN_ALGO_FFSPLIT, QN_ALGO_LMS,
	    QN_ALGO_2NODELMS, QN_ALGO_TEST };
	struct srv s;

	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "off");
	for (size_t a = 0; a < ARRAY_LEN(algos); a++) {
		for (int round = 0; round < 2; round++) {
			struct qc c1, c2;

			qc_connect(&c1, &s);
			qc_connect(&c2, &s);
			ck_assert_int_eq(qc_join(&c1, "gone", 1, algos[a], 8000),
			    0);
			ck_assert_int_eq(qc_join(&c2, "gone", 2, algos[a], 8000),
			    0);
			qc_close(&c1);
			qc_close(&c2);
			sleep_ms(50);
			ck_assert_msg(srv_alive(&s), "qnetd died (algorithm %u)",
			    algos[a]);
		}
	}
	/* One with lists, one without, the listed one stays. */
	{
		struct qc c1, c2;
		struct msg r;

		qc_connect(&c1, &s);
		qc_connect(&c2, &s);
		ck_assert_int_eq(qc_join(&c1, "half", 1, QN_ALGO_FFSPLIT, 8000),
		    0);
		send_node_lists(&c1);
		ck_assert_int_eq(qc_join(&c2, "half", 2, QN_ALGO_FFSPLIT, 8000),
		    0);
		qc_close(&c2);
		sleep_ms(100);
		while (qc_read_msg(&c1, &r, 300) == RECV_MSG)
			msg_free(&r);
		ck_assert_int_ge(qc_echo(&c1, WAIT_MS), 0);
		qc_close(&c1);
	}
	assert_serving(&s, "after");
	srv_term(&s);
}
END_TEST

/* Mid-message: a header promising more, a partial body, then gone. */
START_TEST(t_gone_mid_message)
{
	static const uint8_t partial[] = { 0, 3, 0, 0, 0, 100, 0, 0, 0, 4 };
	/* Longer than max_client_receive_size: being skipped. */
	static const uint8_t huge[] = { 0, 8, 0x7f, 0xff, 0xff, 0xff, 1, 2 };
	struct srv s;

	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "off");
	for (int i = 0; i < 20; i++) {
		struct qc c;

		qc_connect(&c, &s);
		if (i % 3 == 1)
			qc_preinit(&c, "x");
		if (i % 2 == 0)
			qc_send(&c, partial, 3 + (size_t)i % 7);
		else
			qc_send(&c, huge, sizeof(huge));
		qc_close(&c);
	}
	{
		/* After INIT, a node list cut in the middle. */
		struct qc c;
		struct msg m;
		struct buf b;
		struct qn_node nodes[2] = { { .node_id = 1 }, { .node_id = 2 } };

		qc_connect(&c, &s);
		ck_assert_int_eq(qc_join(&c, "x", 1, QN_ALGO_FFSPLIT, 8000), 0);
		msg_init(&m, QN_MSG_NODE_LIST);
		msg_set_seq(&m, 9);
		msg_set_node_list_type(&m, QN_LIST_INITIAL_CONFIG);
		msg_set_nodes(&m, nodes, 2);
		buf_init(&b);
		msg_encode(&m, &b, SIZE_MAX);
		qc_send(&c, b.data, b.len - 5);
		buf_free(&b);
		qc_close(&c);
	}
	sleep_ms(100);
	assert_serving(&s, "after");
	srv_term(&s);
}
END_TEST

/*
 * Mid-TLS-handshake: after STARTTLS, a ClientHello and gone; a ClientHello
 * cut short; gone after the server's first flight; and garbage instead of
 * TLS.  The daemon serves on.
 */
START_TEST(t_gone_mid_tls)
{
	char settings[PATH_MAX + 32];
	SSL_CTX *ctx;
	struct srv s;

	if (have_certs <= 0) {
		printf("note: no NSS certutil: mid-TLS test skipped\n");
		return;
	}
	snprintf(settings, sizeof(settings), "nss_db_dir=%s", nss_dir);
	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "on", "-c", "off", "-S", settings);
	ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	for (int mode = 0; mode < 4; mode++) {
		for (int i = 0; i < 5; i++) {
			struct qc c;
			SSL *ssl;
			int r;

			qc_connect(&c, &s);
			qc_preinit(&c, "tls");
			send_starttls(&c);
			if (mode == 3) {
				qc_send(&c, "GET / HTTP/1.0\r\n\r\n", 18);
				qc_wait_closed(&c, WAIT_MS);
				qc_close(&c);
				continue;
			}
			if (mode == 1) {
				/* A ClientHello record header, 6 of 200 bytes. */
				static const uint8_t hello[] = { 0x16, 3, 1, 0,
				    0xc8, 1, 0, 0, 0xc4, 3, 3 };

				qc_send(&c, hello, sizeof(hello));
				qc_close(&c);
				continue;
			}
			ssl = SSL_new(ctx);
			fcntl(c.fd, F_SETFL, O_NONBLOCK);
			SSL_set_fd(ssl, c.fd);
			/* The ClientHello goes out; on loopback the handshake
			 * may even finish at once. */
			r = SSL_connect(ssl);
			if (mode == 2 && r <= 0) {
				struct pollfd p = { .fd = c.fd,
				    .events = POLLIN };

				poll(&p, 1, WAIT_MS);
				(void)SSL_connect(ssl);
			}
			SSL_free(ssl);
			qc_close(&c);
		}
		ck_assert_msg(srv_alive(&s), "qnetd died (mode %d)", mode);
	}
	SSL_CTX_free(ctx);
	assert_serving(&s, "after");
	srv_term(&s);
}
END_TEST

/*
 * max_tls_handshakes=1: while one handshake is in progress (a client that
 * sent STARTTLS and stalls), the next waits; it proceeds once the first
 * is over, or has stalled for tls_handshake_stall_timeout.  A client that
 * gives up while waiting costs no handshake.
 */
START_TEST(t_tls_handshake_slots)
{
	char settings[PATH_MAX + 96];
	struct qc staller, waiter, quitter;
	SSL_CTX *ctx;
	struct srv s;

	if (have_certs <= 0) {
		printf("note: no NSS certutil: TLS handshake test skipped\n");
		return;
	}
	snprintf(settings, sizeof(settings), "nss_db_dir=%s,"
	    "max_tls_handshakes=1,tls_handshake_stall_timeout=2000", nss_dir);
	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "on", "-c", "off", "-S", settings);
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	qc_connect(&staller, &s);
	qc_preinit(&staller, "tls");
	send_starttls(&staller);
	sleep_ms(100);
	/* One that gives up while waiting. */
	qc_connect(&quitter, &s);
	qc_preinit(&quitter, "tls");
	send_starttls(&quitter);
	qc_connect(&waiter, &s);
	qc_preinit(&waiter, "tls");
	send_starttls(&waiter);
	ck_assert_msg(!tls_handshake_within(ctx, waiter.fd, 700),
	    "a second handshake ran beside the first");
	ASSERT_LOG(&s, "Limit max_tls_handshakes = 1 reached by client");
	qc_close(&quitter);
	qc_close(&waiter);
	qc_connect(&waiter, &s);
	qc_preinit(&waiter, "tls");
	send_starttls(&waiter);
	sleep_ms(100);
	/* The stalled one ends: the quitter is skipped, the waiter served. */
	qc_close(&staller);
	ck_assert_msg(tls_handshake_within(ctx, waiter.fd, WAIT_MS),
	    "the waiting handshake did not proceed");
	ASSERT_LOG(&s, "gone while waiting for its TLS handshake");
	qc_close(&waiter);
	/* A staller that stays holds its slot for 2 s only. */
	qc_connect(&staller, &s);
	qc_preinit(&staller, "tls");
	send_starttls(&staller);
	sleep_ms(100);
	qc_connect(&waiter, &s);
	qc_preinit(&waiter, "tls");
	send_starttls(&waiter);
	ck_assert_msg(tls_handshake_within(ctx, waiter.fd, 3500),
	    "a stalled handshake blocks the others for good");
	qc_close(&waiter);
	qc_close(&staller);
	SSL_CTX_free(ctx);
	assert_serving(&s, "after");
	srv_term(&s);
}
END_TEST

/* A ClientHello as OpenSSL sends it: into out, and its length. */
static size_t
client_hello(uint8_t *out, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	BIO *from = BIO_new(BIO_s_mem()), *to = BIO_new(BIO_s_mem());
	SSL *ssl;
	int n;

	ck_assert_ptr_nonnull(ctx);
	ssl = SSL_new(ctx);
	SSL_set_bio(ssl, from, to);
	ck_assert_int_le(SSL_connect(ssl), 0);
	n = BIO_read(to, out, (int)cap);
	ck_assert_int_gt(n, 0);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return (size_t)n;
}

/*
 * The attack of issue 10 (item 3), in a child process until it is killed:
 * per_second connections from the addresses srcs in turn, each sending
 * PREINIT, STARTTLS and a ClientHello at once and then nothing, reading
 * nothing.  Its connections end with it.
 */
static pid_t
stall_attack(const struct srv *s, const char *const *srcs, size_t nsrcs,
    int per_second)
{
	uint8_t hello[4096];
	size_t hello_len = client_hello(hello, sizeof(hello));
	struct buf b;
	struct msg m;
	pid_t pid;

	buf_init(&b);
	msg_init(&m, QN_MSG_PREINIT);
	msg_set_seq(&m, 1);
	msg_set_cluster_name(&m, "attack", strlen("attack"));
	ck_assert_int_eq(msg_encode(&m, &b, SIZE_MAX), 0);
	msg_init(&m, QN_MSG_STARTTLS);
	msg_set_seq(&m, 2);
	ck_assert_int_eq(msg_encode(&m, &b, SIZE_MAX), 0);
	buf_put(&b, hello, hello_len);
	ck_assert(!b.failed);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int64_t next = now_ms();

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (size_t i = 0;; i++) {
			struct sockaddr_in to = { .sin_family = AF_INET,
			    .sin_port = htons((uint16_t)s->port),
			    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
			struct sockaddr_in from = { .sin_family = AF_INET };
			int fd = socket(AF_INET, SOCK_STREAM, 0);

			inet_pton(AF_INET, srcs[i % nsrcs], &from.sin_addr);
			if (fd >= 0 && bind(fd, (struct sockaddr *)&from,
			    sizeof(from)) == 0 && connect(fd,
			    (struct sockaddr *)&to, sizeof(to)) == 0)
				(void)send(fd, b.data, b.len, MSG_NOSIGNAL);
			next += 1000 / per_second;
			if (next > now_ms())
				sleep_ms((int)(next - now_ms()));
		}
	}
	buf_free(&b);
	return pid;
}

/*
 * A well-behaved TLS client from 127.0.0.1: PREINIT, STARTTLS, handshake,
 * INIT and its node lists.  Milliseconds from its connect to its ACK, or
 * -1 when that did not come within ms.
 */
static int64_t
tls_client_vote_within(const struct srv *s, SSL_CTX *ctx, int ms)
{
	int64_t t0 = now_ms(), deadline = t0 + ms;
	struct qc c;
	struct init_p p;
	struct msg r;
	int got_vote = 0;

	ck_assert_int_eq(qc_connect_from(&c, s, "127.0.0.1", 0), 0);
	qc_preinit(&c, "good");
	send_starttls(&c);
	c.ssl = tls_connect_within(ctx, c.fd, (int)(deadline - now_ms()));
	if (c.ssl != NULL) {
		p = init_p(++c.seq, 1, QN_ALGO_FFSPLIT);
		p.hb = 8000;
		send_init(&c, &p);
		if (qc_read_msg(&c, &r, (int)(deadline - now_ms())) == RECV_MSG) {
			ck_assert_int_eq(r.type, QN_MSG_INIT_REPLY);
			ck_assert_int_eq(r.reply_error_code, 0);
			msg_free(&r);
			send_node_lists(&c);
		}
	}
	while (c.ssl != NULL && !got_vote &&
	    qc_read_msg(&c, &r, (int)(deadline - now_ms())) == RECV_MSG) {
		got_vote = (r.type == QN_MSG_NODE_LIST_REPLY ||
		    r.type == QN_MSG_VOTE_INFO) && r.vote == QN_VOTE_ACK;
		msg_free(&r);
	}
	qc_close(&c);
	return got_vote ? now_ms() - t0 : -1;
}

/*
 * Handshake slots can't be starved (issue 10, item 3): with
 * max_tls_handshakes 16, 25 connections a second that send a ClientHello
 * and stall, from one address and then spread over eight.  Good TLS
 * clients that come one after the other once the attack is under way
 * (so at any moment of it, and after a qdevice's 8 s connect timeout has
 * passed since it began) each get their vote within those 8 s.
 */
#define GOOD_CLIENTS	5

START_TEST(t_tls_handshake_starvation)
{
	static const char *const one[] = { "127.0.0.2" };
	static const char *const eight[] = { "127.0.0.2", "127.0.0.3",
	    "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8",
	    "127.0.0.9" };
	static const struct {
		const char *const *srcs;
		size_t n;
	} attacks[] = { { one, ARRAY_LEN(one) }, { eight, ARRAY_LEN(eight) } };
	char settings[PATH_MAX + 64];
	SSL_CTX *ctx;

	if (have_certs <= 0) {
		printf("note: no NSS certutil: handshake starvation test "
		    "skipped\n");
		return;
	}
	snprintf(settings, sizeof(settings), "nss_db_dir=%s,"
	    "max_tls_handshakes=16", nss_dir);
	ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	for (size_t i = 0; i < ARRAY_LEN(attacks); i++) {
		struct srv s;
		int64_t t = -1, worst = 0;
		pid_t pid;

		srv_prepare(&s);
		SRV_LAUNCH(&s, "-s", "on", "-c", "off", "-S", settings);
		pid = stall_attack(&s, attacks[i].srcs, attacks[i].n, 25);
		/* Every slot taken, the queue growing. */
		sleep_ms(3000);
		for (int k = 0; k < GOOD_CLIENTS; k++) {
			if ((t = tls_client_vote_within(&s, ctx, 8000)) < 0)
				break;
			worst = t > worst ? t : worst;
			sleep_ms(150);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ck_assert_msg(t >= 0, "a good TLS client got no vote within "
		    "8 s while %zu address(es) stalled TLS handshakes",
		    attacks[i].n);
		printf("note: under attack from %zu address(es), %d good TLS "
		    "clients voted, the slowest after %" PRId64 " ms\n",
		    attacks[i].n, GOOD_CLIENTS, worst);
		assert_serving(&s, "after");
		srv_term(&s);
	}
	SSL_CTX_free(ctx);
}
END_TEST

/* The log can't be written (disk full): the daemon serves on. */
START_TEST(t_log_disk_full)
{
	struct srv s;
	struct qc c[3];

	srv_prepare(&s);
	s.stderr_full = 1;
	SRV_LAUNCH(&s, "-s", "off", "-S", "init_timeout=300");
	for (int i = 0; i < 3; i++)
		qc_connect(&c[i], &s);
	ck_assert_int_ge(qc_wait_closed(&c[0], WAIT_MS), 0);
	assert_serving(&s, "full");
	for (int i = 0; i < 3; i++)
		qc_close(&c[i]);
	srv_term(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bad configuration: a message naming it, exit non-zero, nothing left */

/*
 * Run the daemon with args; it must exit non-zero within 10 s, say
 * something containing expect on stderr, and leave neither a listener nor
 * the IPC socket file.
 */
static void
assert_refused(struct srv *s, const char *expect, const char *const *args)
{
	int status;

	srv_spawn(s, args);
	if (!srv_wait(s, 10000, &status)) {
		kill(s->pid, SIGKILL);
		srv_wait(s, 10000, &status);
		print_log(s);
		ck_abort_msg("qnetd did not exit");
	}
	if (log_count(s, expect) == 0)
		print_log(s);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "status %d", status);
	ck_assert_msg(log_count(s, expect) > 0, "no message \"%s\"", expect);
	ck_assert_int_eq(log_count(s, "AddressSanitizer"), 0);
	ck_assert(!port_listening(s->port));
	ck_assert_msg(access(s->sock, F_OK) != 0, "socket file left behind");
}

#define ASSERT_REFUSED(s, expect, ...) \
	assert_refused((s), (expect), (const char *const[]){ __VA_ARGS__, NULL })

START_TEST(t_bad_setting)
{
	struct srv s;

	srv_prepare(&s);
	ASSERT_REFUSED(&s, "Unknown option 'no_such_key'", "-s", "off", "-S",
	    "no_such_key=1");
	srv_prepare(&s);
	ASSERT_REFUSED(&s, "Invalid value '-1' for option 'max_clusters'",
	    "-s", "off", "-S", "max_clusters=-1");
	srv_prepare(&s);
	ASSERT_REFUSED(&s, "Invalid value '99999999999' for option "
	    "'init_timeout'", "-s", "off", "-S", "init_timeout=99999999999");
	srv_prepare(&s);
	ASSERT_REFUSED(&s, "Invalid value 'x' for option "
	    "'max_clients_per_address'", "-s", "off", "-S",
	    "max_clients_per_address=x");
	srv_prepare(&s);
	ASSERT_REFUSED(&s, "max clients value -5 is invalid", "-s", "off",
	    "-m", "-5");
}
END_TEST

START_TEST(t_bad_nss)
{
	char settings[PATH_MAX + 64];
	struct srv s;

	srv_prepare(&s);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s/none", s.dir);
	ASSERT_REFUSED(&s, "Can't open NSS DB directory", "-s", "on", "-S",
	    settings);
	/* A directory that is no NSS database. */
	srv_prepare(&s);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s", s.dir);
	{
		char junk[PATH_MAX + 16];
		FILE *f;

		snprintf(junk, sizeof(junk), "%s/cert9.db", s.dir);
		ck_assert_ptr_nonnull(f = fopen(junk, "w"));
		fputs("this is not a database\n", f);
		fclose(f);
	}
	ASSERT_REFUSED(&s, "NSS error", "-s", "on", "-S", settings);
	if (have_certs <= 0)
		return;
	/* The certificate is not there. */
	srv_prepare(&s);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s,cert_nickname="
	    "No Such Cert", nss_dir);
	ASSERT_REFUSED(&s, "can't load certificate 'No Such Cert'", "-s", "on",
	    "-S", settings);
}
END_TEST

START_TEST(t_lock_held)
{
	struct srv a, b;

	srv_prepare(&a);
	SRV_LAUNCH(&a, "-s", "off");
	srv_prepare(&b);
	/* The same lock file, another port and socket. */
	snprintf(b.lock, sizeof(b.lock), "%s", a.lock);
	ASSERT_REFUSED(&b, "Another instance is running", "-s", "off");
	assert_serving(&a, "still");
	srv_term(&a);
}
END_TEST

START_TEST(t_socket_path_too_long)
{
	struct srv s;
	char *p;

	srv_prepare(&s);
	p = s.sock + strlen(s.dir);
	*p++ = '/';
	while (p < s.sock + 200)
		*p++ = 'x';
	*p = '\0';
	ASSERT_REFUSED(&s, "Can't create local socket", "-s", "off");
	ck_assert_int_gt(log_count(&s, "too long"), 0);
}
END_TEST

/* The port is taken: the IPC socket created before is removed again. */
START_TEST(t_port_in_use)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct srv s;
	int fd, one = 1;

	srv_prepare(&s);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)s.port);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	srv_spawn(&s, (const char *const[]){ "-s", "off", NULL });
	{
		int status;

		ck_assert(srv_wait(&s, 10000, &status));
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	}
	ck_assert_int_gt(log_count(&s, "Can't create listening socket"), 0);
	ck_assert_msg(access(s.sock, F_OK) != 0, "socket file left behind");
	close(fd);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd faults");
	TCase *t;

	t = harness_tcase(s, "faults", TEST_TIMEOUT);
	tcase_add_test(t, t_init_then_gone);
	tcase_add_test(t, t_gone_mid_message);
	tcase_add_test(t, t_gone_mid_tls);
	tcase_add_test(t, t_tls_handshake_slots);
	tcase_add_test(t, t_tls_handshake_starvation);
	tcase_add_test(t, t_log_disk_full);

	t = harness_tcase(s, "bad configuration", TEST_TIMEOUT);
	tcase_add_test(t, t_bad_setting);
	tcase_add_test(t, t_bad_nss);
	tcase_add_test(t, t_lock_held);
	tcase_add_test(t, t_socket_path_too_long);
	tcase_add_test(t, t_port_in_use);
	return harness_run(s, H_CERTS);
}
