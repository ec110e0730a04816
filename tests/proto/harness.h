/*
 * The protocol-test harness: every program in tests/proto/ talks to a real
 * corosync-qnetd (or Debian's 3.0.3) through it.
 *
 *   run       harness_run() finds the binaries, makes the scratch directory
 *             (and the certificates once, when asked), runs the suite and
 *             cleans up; harness_tcase() adds a tcase whose checked
 *             teardown kills any daemon the test left behind
 *   daemon    srv_start()/SRV_START (a free port, retried), or
 *             srv_prepare() + SRV_LAUNCH when a test changes paths or
 *             limits first; srv_stop() (IPC "shutdown") or srv_term()
 *             (SIGTERM), both asserting a clean exit 0; the log
 *   client    qc_connect(), raw/hex/message sends, qc_expect() & co. with
 *             file:line in every failure, STARTTLS with OpenSSL
 *   messages  the requests a qdevice sends and the exact replies the
 *             specification gives (harness_msgs.c)
 *   tools     run_capture() of a tool or the daemon, ipc_request()
 *
 * Environment: QNETD_BIN, QNETD_TOOL_BIN, QDEVICE_TOOL_BIN (default: the
 * build tree's, found relative to the test binary; no daemon: exit 77),
 * QNETD_IS_DEBIAN=1 (deliberate differences expect 3.0.3), QNETD_TEST_KEEP=1
 * (keep the scratch directory; also kept when a test fails),
 * QNETD_TEST_TIMES=1 (print each test's duration), CK_RUN_CASE /
 * CK_VERBOSITY (check).
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "proto.h"
#include "buf.h"
#include "msg.h"
#include "reader.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define TIMEOUT_MS	8000	/* a reply that must come */
#define QUIET_MS	300	/* a reply that must not come */
#define TEST_TIMEOUT	60	/* seconds, per test */
#define HERE		__FILE__, __LINE__

/* ------------------------------------------------------------------ */
/* The run (harness.c) */

/* harness_run() flags */
#define H_CERTS		0x1	/* make the certificates at start */
/*
 * The qnetd protocol tests' daemon settings: nss_db_dir (the certificates,
 * else the daemon's own directory) and, unless keep_gate is set or the
 * daemon is 3.0.3, ack_grace_coefficient=0: the ACK gate holds ACKs for
 * seconds in the partial clusters most tests build.
 */
#define H_PROTO		0x2

extern const char *qnetd_bin;
extern const char *tool_bin;
extern const char *qdevice_tool_bin;
extern int debian;		/* QNETD_IS_DEBIAN=1 */
extern int keep_gate;		/* this test checks the ACK gate */
extern char base_dir[256];	/* scratch, removed at the end */
extern int have_certs;		/* 1 made, 0 not asked or no tools, -1 failed */
extern char nss_dir[PATH_MAX + 16];	/* qnetd's: "QNetd Cert", CA "QNet CA" */
extern char ca_pem[PATH_MAX + 16];

int	harness_run(Suite *s, unsigned flags);
TCase	*harness_tcase(Suite *s, const char *name, int timeout_s);

/* Without certutil & co the TLS tests are skipped; a failure fails. */
#define NEED_CERTS(name) do {						\
	ck_assert_msg(have_certs >= 0, "no certificates (see "	\
	    "certs.log in the scratch directory)");			\
	if (have_certs == 0) {						\
		note("no certificate tools: %s skipped", name);		\
		return;							\
	}								\
} while (0)

void	note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	deliberate(const char *what);
int	is_executable(const char *path);
int64_t	now_ms(void);
void	sleep_ms(int ms);
void	scratch_dir(char *dir, size_t len);

/* Hex as the spec prints it: pairs of digits; blanks and '|' ignored. */
void	hex_parse(const char *s, struct buf *out);
void	hex_vformat(struct buf *out, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
char	*hex_str(const uint8_t *p, size_t len);

/*
 * Run argv to completion (killed after timeout_ms; SIGPIPE at its default
 * action, as a shell gives it), stdout and stderr NUL-terminated into out
 * and err (either may be NULL).  run_wait() returns the wait status,
 * run_capture() the exit status or 128 + signal.
 */
int	run_wait(char *const argv[], struct buf *out, struct buf *err,
	    int timeout_ms);
int	run_capture(char *const argv[], struct buf *out, struct buf *err,
	    int timeout_ms);
/* The daemon with args to completion (10 s): exit status, output. */
int	run_qnetd(const char *const *args, struct buf *out, struct buf *err);
#define RUN_QNETD(out, err, ...) \
	run_qnetd((const char *const[]){ __VA_ARGS__, NULL }, (out), (err))
/* A shell command line (output to the test's log): its exit status, -1
 * when it did not exit. */
int	shf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The first line a shell command line prints, into out ("" if none). */
void	outf(char *out, size_t n, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ */
/* The daemon (harness_daemon.c) */

struct srv {
	pid_t pid;
	int port;
	char dir[PATH_MAX];
	char sock[PATH_MAX + 32];
	char lock[PATH_MAX + 32];
	char log[PATH_MAX + 32];
	/* May be changed between srv_prepare() and SRV_LAUNCH: */
	int stderr_full;	/* stderr is /dev/full (a full disk) */
	int no_debug;		/* log at the default level: no -d */
	rlim_t nofile;		/* the daemon's open files limit, 0: ours */
	char state_dir[PATH_MAX];	/* its state_dir, "": dir */
};

/*
 * Start the daemon (-f -d -l 127.0.0.1 -p <free port> -S <paths>) with
 * the extra arguments (NULL-terminated) and wait until it listens; another
 * port is tried when it can't.  Returns 0, or with may_fail the exit status
 * when it ended instead (otherwise the test fails).
 */
int	srv_start_opt(struct srv *s, const char *const *args, int may_fail);
void	srv_start(struct srv *s, const char *const *args);
#define SRV_START(s, ...) \
	srv_start((s), (const char *const[]){ __VA_ARGS__, NULL })

/* A fresh directory, paths and port; then spawn (don't wait) or launch. */
void	srv_prepare(struct srv *s);
void	srv_spawn(struct srv *s, const char *const *args);
void	srv_launch(struct srv *s, const char *const *args);
#define SRV_LAUNCH(s, ...) \
	srv_launch((s), (const char *const[]){ __VA_ARGS__, NULL })

int	srv_alive(const struct srv *s);
/* Wait up to ms for the daemon to end: 1 and *status (reaped), or 0. */
int	srv_wait(struct srv *s, int ms, int *status);
/* IPC "shutdown": it must still run, answer OK and exit 0. */
void	srv_stop(struct srv *s);
/* SIGTERM: it must still run and exit 0 (a sanitizer report would not). */
void	srv_term(struct srv *s);

void	print_file(const char *path, const char *prefix);
void	print_log(const struct srv *s);
int	log_count(const struct srv *s, const char *needle);
int	log_wait(const struct srv *s, const char *needle, int ms);
#define ASSERT_LOG(s, needle) do {					\
	if (!log_wait((s), (needle), TIMEOUT_MS))			\
		print_log(s);						\
	ck_assert_msg(log_count((s), (needle)) > 0,			\
	    "no log line with \"%s\"", (needle));			\
} while (0)
long	srv_rss_kb(const struct srv *s);
int64_t	srv_cpu_ms(const struct srv *s);
int	port_listening(int port);

/* A connection to a local socket; -1 when there is none. */
int	ipc_connect(const char *path);
/* The IPC request line; the answer (NUL-terminated) into out; 0 or -1. */
int	ipc_request(const struct srv *s, const char *line, struct buf *out);

/* ------------------------------------------------------------------ */
/* A protocol client (harness_client.c) */

struct qc {
	int fd;
	SSL *ssl;
	struct reader rd;
	uint32_t seq;		/* last request sequence number used */
	int cert_requested;	/* the TLS server asked for a certificate */
	SSL_SESSION *resume;	/* qc_starttls offers this session (owned) */
	int resumed;		/* qc_starttls: the server resumed it */
	uint16_t local_port;
};

enum { RECV_CLOSED = 0, RECV_MSG = 1, RECV_TIMEOUT = -1 };

/*
 * A non-blocking TCP connection (TCP_NODELAY) to the daemon from src
 * (NULL: the kernel's choice) with SO_RCVBUF rcvbuf (0: default): the
 * descriptor, or -1 and errno.
 */
int	tcp_connect(const struct srv *s, const char *src, int rcvbuf);
int	qc_connect_from(struct qc *c, const struct srv *s, const char *src,
	    int rcvbuf);
/* The same to dst (an IPv4 literal) instead of 127.0.0.1. */
int	tcp_connect_to(const struct srv *s, const char *dst, const char *src,
	    int rcvbuf);
int	qc_connect_to(struct qc *c, const struct srv *s, const char *dst,
	    const char *src, int rcvbuf);
void	qc_connect(struct qc *c, const struct srv *s);
void	qc_close(struct qc *c);
int	qc_wait(struct qc *c, short events, int64_t deadline);

/* Write everything; 0, or -1 when the connection is gone or stuck. */
int	qc_write(struct qc *c, const void *data, size_t len);
void	qc_send(struct qc *c, const void *data, size_t len);
void	qc_sendf(struct qc *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	qc_send_msg(struct qc *c, const struct msg *m);

/* One whole message, raw into out or decoded into m (msg_free it). */
int	qc_recv(struct qc *c, int timeout_ms, struct buf *out);
int	qc_read_msg(struct qc *c, struct msg *m, int timeout_ms);

/* The next message must be exactly the given hex. */
void	qc_expect_(struct qc *c, const char *file, int line, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));
#define qc_expect(c, ...)	qc_expect_((c), HERE, __VA_ARGS__)
/* The next message, decoded; its type must be the given one. */
void	qc_recv_msg_(struct qc *c, const char *file, int line, uint16_t type,
	    struct msg *m);
#define qc_recv_msg(c, type, m)	qc_recv_msg_((c), HERE, (type), (m))
/* Nothing may arrive for ms milliseconds (and the peer stays connected). */
void	qc_expect_quiet_(struct qc *c, const char *file, int line, int ms);
#define qc_expect_quiet(c, ms)	qc_expect_quiet_((c), HERE, (ms))
/* The server must close the connection, without sending anything. */
void	qc_expect_closed_(struct qc *c, const char *file, int line, int ms);
#define qc_expect_closed(c, ms)	qc_expect_closed_((c), HERE, (ms))
/* Wait for the server to drop c; returns ms from since to the drop. */
int	wait_dropped_(struct qc *c, const char *file, int line, int64_t since,
	    int max_ms);
#define wait_dropped(c, since, max_ms) \
	wait_dropped_((c), HERE, (since), (max_ms))
/* Milliseconds until the server closes (unread data dropped), or -1. */
int64_t	qc_wait_closed(struct qc *c, int ms);

/*
 * TLS client handshake after STARTTLS was sent, verifying the server
 * against our CA.  cert: NULL (none offered) or the base name of
 * <scratch>/<cert>.pem.  0 when the handshake completed (on TLS 1.3 the
 * server may still refuse the client certificate afterwards), -1 if not.
 */
int	qc_starttls(struct qc *c, const char *cert);
/* The server certificate: chain to our CA, subject CN=Qnetd Server. */
void	qc_check_server_cert(struct qc *c);
/* An OpenSSL handshake on fd (made non-blocking) within ms: SSL or NULL. */
SSL	*tls_connect_within(SSL_CTX *ctx, int fd, int ms);
int	tls_handshake_within(SSL_CTX *ctx, int fd, int ms);

/* ------------------------------------------------------------------ */
/* Messages (harness_msgs.c) */

#define RING(n, s)	((struct qn_ring_id){ (n), (s) })
/* The rings of the tests' splits: whole, then {1,2} / {3,4}. */
#define R0	RING(1, 1)
#define R1	RING(1, 2)
#define R2	RING(3, 2)

void	send_preinit(struct qc *c, uint32_t seq, const char *cluster);
/* PREINIT_REPLY with TLS mode tls and certificate flag cert. */
void	expect_preinit_reply_(struct qc *c, const char *file, int line,
	    uint32_t seq, int tls, int cert);
#define expect_preinit_reply(c, seq, tls, cert) \
	expect_preinit_reply_((c), HERE, (seq), (tls), (cert))
/* SERVER_ERROR, with the sequence number when seq_known. */
void	expect_error_(struct qc *c, const char *file, int line, int seq_known,
	    uint32_t seq, uint16_t code);
#define expect_error(c, seq, code)	expect_error_((c), HERE, 1, (seq), (code))
#define expect_error_noseq(c, code)	expect_error_((c), HERE, 0, 0, (code))

struct init_p {
	uint32_t seq, node, hb;
	uint16_t algo;
	struct qn_tie_breaker tb;
	struct qn_ring_id ring;
	uint32_t omit;		/* QN_BIT()s of options to leave out */
};
#define OMIT_NODE	QN_BIT(QN_OPT_NODE_ID)
#define OMIT_RING	QN_BIT(QN_OPT_RING_ID)
#define OMIT_HB		QN_BIT(QN_OPT_HEARTBEAT_INTERVAL)
#define OMIT_TB		QN_BIT(QN_OPT_TIE_BREAKER)
#define OMIT_ALGO	QN_BIT(QN_OPT_ALGORITHM)

/* INIT with ring (1,1), heartbeat 10000, tie-breaker lowest. */
struct init_p init_p(uint32_t seq, uint32_t node, uint16_t algo);
void	init_encode(const struct init_p *p, struct buf *b);
void	send_init(struct qc *c, const struct init_p *p);
/* INIT_REPLY, the exact bytes of PROTOCOL.md §12.5 (with options 4/5). */
void	expect_init_reply_(struct qc *c, const char *file, int line,
	    uint32_t seq, uint16_t err, int with45);
#define expect_init_reply(c, seq, err) \
	expect_init_reply_((c), HERE, (seq), (err), 1)
/* The error code of the next INIT_REPLY (other fields checked loosely). */
uint16_t recv_init_error_(struct qc *c, const char *file, int line,
	    uint32_t seq);
#define recv_init_error(c, seq)	recv_init_error_((c), HERE, (seq))
/* Connect, PREINIT (seq 1), INIT (seq 2): it must succeed. */
void	join_(struct qc *c, const char *file, int line, const struct srv *s,
	    const char *cluster, const struct init_p *p0);
#define join(c, s, cluster, p)	join_((c), HERE, (s), (cluster), (p))
void	join_simple_(struct qc *c, const char *file, int line,
	    const struct srv *s, const char *cluster, uint32_t node,
	    uint16_t algo);
#define join_simple(c, s, cluster, node, algo) \
	join_simple_((c), HERE, (s), (cluster), (node), (algo))

/* NODE_LIST; returns its sequence number.  heur 0 = option left out. */
uint32_t send_list(struct qc *c, uint8_t type, struct qn_ring_id ring,
	    int quorate, const uint32_t *ids, size_t n, uint8_t heur);
#define IDS(...)	(const uint32_t[]){ __VA_ARGS__ }, \
			ARRAY_LEN(((const uint32_t[]){ __VA_ARGS__ }))
#define send_config(c, ...) \
	send_list((c), QN_LIST_INITIAL_CONFIG, RING(0, 0), 0, IDS(__VA_ARGS__), 0)
#define send_members(c, ring, heur, ...) \
	send_list((c), QN_LIST_MEMBERSHIP, (ring), 0, IDS(__VA_ARGS__), (heur))
#define send_quorum(c, quorate, ...) \
	send_list((c), QN_LIST_QUORUM, RING(0, 0), (quorate), IDS(__VA_ARGS__), 0)
uint32_t send_seq_only(struct qc *c, uint16_t type);
#define send_ask_for_vote(c)	send_seq_only((c), QN_MSG_ASK_FOR_VOTE)
void	send_vote_info_reply(struct qc *c, uint32_t seq);
uint32_t send_heuristics_change(struct qc *c, uint8_t heur);

/* NODE_LIST_REPLY{seq, type, ring, vote}, exact bytes. */
void	expect_nlr_(struct qc *c, const char *file, int line, uint32_t seq,
	    uint8_t type, struct qn_ring_id ring, uint8_t vote);
#define expect_nlr(c, seq, type, ring, vote) \
	expect_nlr_((c), HERE, (seq), (type), (ring), (vote))
/* VOTE_INFO{seq, vote, ring}, exact bytes; seq 0 = any (returned). */
uint32_t expect_vote_info_(struct qc *c, const char *file, int line,
	    uint32_t seq, uint8_t vote, struct qn_ring_id ring);
#define expect_vote_info(c, seq, vote, ring) \
	expect_vote_info_((c), HERE, (seq), (vote), (ring))
/* ASK_FOR_VOTE_REPLY{seq, vote, ring}, exact bytes. */
void	expect_afvr_(struct qc *c, const char *file, int line, uint32_t seq,
	    uint8_t vote, struct qn_ring_id ring);
#define expect_afvr(c, seq, vote, ring) \
	expect_afvr_((c), HERE, (seq), (vote), (ring))
/* HEURISTICS_CHANGE_REPLY{seq, vote, ring, heuristics}, exact bytes. */
void	expect_hcr_(struct qc *c, const char *file, int line, uint32_t seq,
	    uint8_t vote, struct qn_ring_id ring, uint8_t heur);
#define expect_hcr(c, seq, vote, ring, heur) \
	expect_hcr_((c), HERE, (seq), (vote), (ring), (heur))
/* An ECHO_REQUEST is answered by its copy (the connection works). */
void	echo_ok_(struct qc *c, const char *file, int line);
#define echo_ok(c)	echo_ok_((c), HERE)
/* Before INIT an ECHO_REQUEST gets error 11: the connection still works. */
void	alive_before_init_(struct qc *c, const char *file, int line);
#define alive_before_init(c)	alive_before_init_((c), HERE)

/* PREINIT (the next seq); a PREINIT_REPLY must come. */
void	qc_preinit(struct qc *c, const char *cluster);
/* PREINIT + INIT (ring (1,1), tie-breaker lowest): INIT_REPLY's error. */
int	qc_join(struct qc *c, const char *cluster, uint32_t node, uint16_t algo,
	    uint32_t hb);
void	send_starttls(struct qc *c);
/* An ECHO_REQUEST (the next seq) appended to b: its seq. */
uint32_t echo_encode(struct qc *c, struct buf *b);
/* An ECHO_REQUEST answered within ms (other messages skipped): RTT or -1. */
int64_t	qc_echo(struct qc *c, int ms);
/* Config, membership (ring (1,1)) and quorum lists of nodes {1, 2}. */
void	send_node_lists(struct qc *c);
/* The server works: a new client joins, gets an ACK, echoes. */
void	assert_serving(const struct srv *s, const char *cluster);

/* Between the harness's own files. */
extern int harness_proto_settings;	/* H_PROTO */
void	harness_kill_servers(void);

#endif
