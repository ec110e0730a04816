/*
 * The harness both qnetd fuzz targets share (fuzz_qnetd.c, fuzz_order.c):
 * a qnetd instance built as main() builds it, without listening, whose
 * clients are one end of a socketpair each; every reply is read back and
 * checked (a whole, decodable server message with the options a qdevice
 * requires), and after each record the loop runs until nothing more
 * happens, then every client must be in the cluster its PREINIT named.
 */
#ifndef FUZZ_QNETD_HARNESS_H
#define FUZZ_QNETD_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "qnetd.h"
#include "reader.h"

#define SLOTS		4
#define MAX_ROUNDS	20000	/* loop iterations for one record: livelock */

/* Configuration byte */
#define CFG_TLS_MASK	0x03	/* 0, 1: off, 2: on (but no certificate), 3: required */
#define CFG_KAP		0x04	/* keep_active_partition_tie_breaker */
#define CFG_NO_DPD	0x08	/* dpd_enabled = off */
#define CFG_SMALL_BUF	0x10	/* 2 send buffers, tiny socket buffers */
#define CFG_SMALL_MSG	0x20	/* max_client_receive/send_size = 256 */
#define CFG_NO_CERT	0x40	/* client_cert_required = off */
#define CFG_SHUTDOWN	0x80	/* end with server_stop(), not client EOFs */
/* Second configuration byte: the abuse limits (man corosync-qnetd, LIMITS) */
#define CFG2_RATE	0x01	/* max_client_message_rate = 20 */
#define CFG2_SEND_BYTES	0x02	/* max_client_send_bytes = 300 */
#define CFG2_INIT_TMO	0x04	/* init_timeout = 2000 */
#define CFG2_CLUSTERS	0x08	/* max_clusters = 1 */
#define CFG2_HB_MIN	0x10	/* heartbeat_interval_min = 1 */
#define CFG2_DPD_COEF	0x20	/* dpd_interval_coefficient = 1000 */

struct slot {
	int fd;			/* our end; -1 when there is no connection */
	int paused;		/* not reading replies */
	struct reader rd;	/* the replies */
	unsigned serial;	/* connections opened, for the address */
};

struct harness {
	struct qnetd q;
	uv_loop_t loop;
	struct slot s[SLOTS];
	size_t max_send;
	int small_buf;
};

void	fail(const char *what) __attribute__((noreturn));
/* Once per process: SIGPIPE ignored, FUZZ_QNETD_LOG=1 logs to stderr. */
void	harness_init(const char *name);
/* A fresh instance configured by the CFG_* and CFG2_* bits. */
void	setup(struct harness *h, uint8_t cfg, uint8_t cfg2);
/* Every client goes (or, with shutdown, the server); nothing may be left. */
void	teardown(struct harness *h, int shutdown);
/* Bytes from client k (connecting it first if it has no connection). */
void	slot_write(struct harness *h, int k, const uint8_t *p, size_t len);
void	slot_close(struct slot *s);
/* Run the loop until the server has nothing left to do. */
void	pump(struct harness *h);
/* Time passes up to the next timer deadline: the timers due then fire. */
void	advance(struct harness *h);

#endif
