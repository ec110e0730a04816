/*
 * What the files of qnet-load share: a simulated qdevice client, the whole
 * benchmark's state, and the entry points of the protocol client
 * (load_client.c) and of the figures (load_report.c) that load.c's phases
 * use.
 */
#ifndef QNET_LOAD_H
#define QNET_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

#include "msg.h"
#include "reader.h"

enum state {
	ST_IDLE,		/* not connected */
	ST_CONNECTING,
	ST_PREINIT,		/* waiting for PREINIT_REPLY */
	ST_STARTTLS,		/* STARTTLS queued; TLS starts once it is written */
	ST_INIT,		/* waiting for INIT_REPLY */
	ST_READY
};

struct client {
	int fd;
	SSL *ssl;
	SSL_SESSION *sess;	/* -R: the session the next connect offers */
	uint8_t state;
	uint8_t polling_out;
	uint8_t vote;		/* last ACK/NACK for the current ring */
	uint8_t held;		/* last ACK/NACK, any ring, any connection */
	uint8_t live;		/* last ACK/NACK qnetd sent on this connection */
	uint8_t expect;		/* the vote this phase must end with */
	uint8_t done;		/* vote == expect */
	uint8_t tls;		/* STARTTLS after PREINIT_REPLY */
	uint8_t bg;		/* background client (tls-storm) */
	uint8_t last_vote;	/* the last vote of any kind, for diagnosis */
	uint8_t last_vote_msg;	/* the message type that carried it */
	uint8_t last_vote_ring_ok;	/* its ring was the client's */
	uint32_t cluster;
	uint32_t node_id;	/* 1..nodes */
	uint32_t seq;
	uint32_t echo_seq;
	uint64_t echo_sent;	/* ns; 0 = none outstanding */
	uint64_t done_at;	/* ns since the phase start */
	uint64_t connect_deadline;	/* ns; 0: none running (-C) */
	uint64_t retry_at;	/* ns: when a dropped client connects again */
	uint32_t member_lo, member_n;	/* membership: ids member_lo.. */
	struct qn_ring_id ring;
	struct reader rd;
	struct buf out;
	size_t out_off;
};

struct samples {
	uint32_t *v;		/* microseconds */
	size_t n, cap;
};

struct bench {
	const char *host;
	int port;
	uint32_t clusters, nodes;
	uint32_t hb_ms;
	uint32_t steady_s;
	uint32_t timeout_s;
	int qnetd_pid;
	const char *phases;
	SSL_CTX *tls;
	const char *cluster_prefix;
	int src_addrs;
	uint32_t bg_clusters;	/* background clusters after the main ones */
	uint32_t bg_echo_ms;	/* their echo interval during tls-storm */
	int bg_tls;
	int resume;		/* -R: reconnect with the last TLS session */
	size_t resumed;		/* handshakes that resumed (this phase) */
	long rss_base_kb;	/* qnetd RSS before the first connect */

	int ep;
	int ep_bg;		/* background clients: polled between events */
	struct client *c;
	size_t n;		/* all clients: main ones, then background */
	size_t nmain;
	int bg_fast;		/* background clients echo every bg_echo_ms */
	int quiet;		/* hold: no echo requests */
	uint64_t ring_seq;
	uint64_t phase_t0;
	size_t done;
	size_t unexpected;	/* votes seen that differ from the expected one */
	size_t errors;		/* SERVER_ERRORs, failed connects */
	struct samples echo;
	struct samples bg_echo;
	struct samples decide;
	struct client **retry;	/* dropped clients waiting to reconnect */
	size_t nretry, retry_cap;
	size_t retries;
	int reconnecting;	/* drops are wanted: do not retry them */
	uint32_t connect_timeout_ms;	/* -C: give up and reconnect, as qdevice */
	uint32_t jitter_ms;	/* -J: random delay before a reconnect */
	uint64_t next_scan;	/* ns: next look for expired connect timers */
	size_t timeouts;	/* connect timers that expired */
	size_t timeouts_in[ST_READY];	/* ... by the state they hit */
	size_t double_ack;	/* two partitions of a cluster held ACK at once */
	uint64_t all_done_at;	/* ns since the phase start: all done (again) */
};

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The protocol client (load_client.c). */
void	queue(struct bench *b, struct client *c, struct msg *m);
void	send_list(struct bench *b, struct client *c, uint8_t type);
void	set_done(struct bench *b, struct client *c, int done);
void	run_retries(struct bench *b);
void	disconnect(struct bench *b, struct client *c);
void	drop(struct bench *b, struct client *c, int timed_out);
void	check_connect_timers(struct bench *b);
void	connect_client(struct bench *b, struct client *c, size_t index);
void	on_event(struct bench *b, struct client *c, uint32_t events);

/* The figures (load_report.c). */
void	sample(struct samples *s, uint64_t ns);
double	proc_cpu_s(int pid);
long	proc_rss_kb(int pid);
int	proc_alive(int pid);
double	self_cpu_s(void);
void	report(struct bench *b, const char *phase, double cpu0, double self0,
	    int finished);

#endif
