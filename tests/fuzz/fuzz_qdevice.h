/*
 * What the parts of the fuzz_qdevice target share: fuzz_qdevice.c (the
 * input, the loop, set-up and teardown), fuzz_qdevice_server.c (the
 * harness's end of the connection, playing qnetd) and fuzz_qdevice_stubs.c
 * (votequorum, the heuristics worker, start.c and corosync, stubbed).
 */
#ifndef FUZZ_QDEVICE_H
#define FUZZ_QDEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "cast.h"
#include "heur.h"
#include "msg.h"
#include "net_int.h"
#include "reader.h"
#include "vq.h"

#define MAX_PENDING	64	/* requests waiting for a reply */
#define NODES_MAX	4

/* First configuration byte */
#define CFG_ALGO_MASK	0x03	/* enum qn_algo */
#define CFG_HEUR_SHIFT	2	/* 0 off, 1 on, 2 sync, 3 off */
#define CFG_WFA		0x10	/* quorum.wait_for_all */
#define CFG_QUORATE	0x20	/* corosync says quorate at the start */
#define CFG_POLL_FAILS	0x40	/* votequorum_qdevice_poll fails */
#define CFG_SMALL_RECV	0x80	/* net_initial_msg_receive_size = 64 */
/* Second configuration byte */
#define CFG2_NO_KAP	0x01	/* keep_active_partition_tie_breaker off */
#define CFG2_TB_HIGH	0x02	/* tie_breaker highest */
#define CFG2_THREE	0x04	/* three configured nodes, not two */
#define CFG2_VOTES_2	0x08	/* node 3 has 2 votes (ffsplit refuses) */

/* A request of the qdevice, kept for the reply. */
struct request {
	uint16_t type;
	uint32_t seq;
	int has_seq;
	uint8_t list_type;
	uint8_t heuristics;
	uint32_t heartbeat;
	int has_heartbeat;
	uint8_t kap;
	int has_kap;
	uint8_t *raw;		/* ECHO_REQUEST: the bytes to copy */
	size_t len;
};

/* The adapters the model talks to, as stubs. */
struct qd_vq {
	struct qd_vq_view v;
	struct cast cast;
	int cast_up;
};

struct qd_heur {
	struct heur_config cfg;
	uint32_t pending_seq;		/* 0: no run outstanding */
	unsigned pending_for;		/* HEUR_FOR_* */
	uint32_t pending_timeout;
	struct qd_heur_results res;
};

struct harness {
	struct qd_net *net;
	struct qd_vq vq;
	struct qd_heur heur;
	struct qd_events ev;
	struct qdevice_settings set;
	struct qdevice_config conf;	/* corosync.conf */
	struct nodelist nodes;		/* until the model takes it */
	enum phase phase;
	int exit_status;
	uv_loop_t loop;
	int loop_up;
	uint8_t cfg, cfg2;

	/* The server's end of the current connection. */
	int srv;
	struct reader rd;
	struct request pending[MAX_PENDING];
	size_t npending;
	struct qn_ring_id ring;		/* the client's last ring id */
	uint32_t vote_info_seq;

	uint32_t heur_seq;
	uint64_t ring_seq;
	unsigned polls;
};

extern struct harness h;
extern int listen_fd;

void fail(const char *what) __attribute__((noreturn));

/* fuzz_qdevice_stubs.c */
int vq_poll(void *arg, int cast_vote);
void ev_exit(void *arg, int status, int unregister);
void vq_poll_failed(void *arg);
enum phase ev_phase(void *arg);
void heur_result(uint8_t v);
void set_members(size_t count);
void set_quorum(int quorate);
int make_nodelist(struct nodelist *nl, size_t count, int version);

/* fuzz_qdevice_server.c */
void server_close(void);
int server_io(void);
void server_write(const uint8_t *p, size_t len);
void auto_reply(uint8_t op);
void vote_info(uint8_t op);

#endif
