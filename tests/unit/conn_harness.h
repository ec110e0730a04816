/*
 * The harness the connection tests share (conn_harness.c): messages whose
 * body says their index, peers whose callbacks count what they saw, and an
 * environment of one loop, a listening socket, a client and a server peer.
 */
#ifndef CONN_HARNESS_H
#define CONN_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <check.h>
#include <uv.h>

#include "buf.h"
#include "conn.h"
#include "msg.h"
#include "net.h"
#include "proto.h"

#define T_DATA		QN_MSG_ECHO_REQUEST	/* any known type */
#define T_UNKNOWN	99
#define MAX_SIZE	(2u * 1024 * 1024)
#define BIG_BODY	(1024u * 1024)
#define TLS_BIG_BODY	(300u * 1024)
#define SMALL_SNDBUF	4096
#define RUN_TIMEOUT_NS	(20ull * 1000 * 1000 * 1000)

/* One end of a connection, and what its callbacks saw. */
struct peer;
typedef void (*msg_hook)(struct peer *p, enum reader_status st,
    const uint8_t *m, size_t len);

struct peer {
	struct conn conn;
	struct env *env;
	int up;			/* between conn_init/connect and on_closed */
	int connected, closed, drained, errors;
	enum conn_error err;
	int err_errno;
	unsigned nmsg, nbad;
	enum reader_status st[8];	/* first statuses received */
	size_t len[8];
	msg_hook hook;
	void (*on_up)(struct peer *p);
	void (*refill)(struct peer *p);
	unsigned to_send, sent;
	size_t max_recv, max_send, max_queue;
	void *data;
};

/* One loop, a listening socket (lfd, or -1) and two peers. */
struct env {
	uv_loop_t loop;
	struct conn_ctx ctx;
	uv_timer_t tick;	/* wakes the loop so RUN_UNTIL sees time pass */
	int lfd;
	uv_poll_t lpoll;
	uint16_t port;
	int accepted;
	char peer_addr[NET_ADDR_STRLEN];
	struct peer srv, cli;
};

/* Run the loop until expr holds, at most RUN_TIMEOUT_NS. */
#define RUN_UNTIL(e, expr) do {						\
	uint64_t end_ = uv_hrtime() + RUN_TIMEOUT_NS;			\
	while (!(expr) && uv_hrtime() < end_)				\
		uv_run(&(e)->loop, UV_RUN_ONCE);			\
} while (0)

/* Messages: msg_make()'s body starts with idx, then a pattern. */
uint8_t	*msg_make(uint16_t type, uint32_t idx, size_t body, size_t *len);
/* Index of a message from msg_make(), or -1 when it is damaged. */
long	msg_index(const uint8_t *m, size_t len);
int	send_msg(struct conn *c, uint16_t type, uint32_t idx, size_t body);

/* The callbacks of every peer; they call the peer's hooks. */
extern const struct conn_cb peer_cb;

uint16_t	local_port(int fd);
/* Loop, context and peers; a listening socket unless lfd is given (>= 0). */
int	env_init(struct env *e, int lfd);
int	listen_local(void);
int	env_connect(struct env *e, uint16_t port);
/* Close what is open and check every handle went away. */
int	env_done(struct env *e);
/* A listening environment; the test sets limits, then calls connect_plain. */
void	start_plain(struct env *e);
void	connect_plain(struct env *e);

/* The test cases of each file, and the certificates of the TLS cases. */
TCase	*conn_net_tcase(void);
TCase	*conn_plain_tcase(void);
TCase	*conn_tls_tcase(void);
int	certs_create(void);
void	certs_remove(void);

#endif
