/*
 * libFuzzer target: qnetd's per-client state machine fed arbitrary message
 * sequences from several clients at once.
 *
 * Every input builds a fresh instance the way corosync-qnetd's main() does
 * (defaults, a libuv loop, the connection context, the cluster table; TLS
 * off, no listening or local socket) and serves each client over one end of
 * a socketpair (server_add_client), exactly as an accepted TCP client.
 *
 * Input: two configuration bytes (CFG_*, CFG2_*), then records
 *
 *	[op] [len] [len bytes]		op < 0xa0: bytes for client (op & 3)
 *	[op]				op >= 0xa0: an event, see below
 *
 * Bytes for a client whose connection is gone (never opened, or closed by
 * either side) open a new connection first: a qdevice reconnecting.  After
 * each record the loop runs until nothing more happens, and every client's
 * replies are read and checked: each must be a whole, decodable
 * server-to-client message carrying the options the qdevice requires
 * (PROTOCOL.md §5.1), no larger than max_client_send_size; and every
 * client in a cluster is in the one its PREINIT named (D25).
 *
 * Events (op >= 0xa0; the low two bits pick the client):
 *	0xa0-0xbf  close the client's end (the qdevice goes away)
 *	0xc0-0xdf  time passes up to the next timer deadline (dead-peer and
 *		   INIT timers, the lms algorithm timer, the rate limiter's
 *		   tick): the timers due then fire
 *	0xe0-0xff  stop / resume reading the client's replies (with small
 *		   socket buffers this fills the server's send queue)
 *
 * At the end either every client closes its end or the server shuts down
 * (as on SIGTERM); then every handle is closed and the loop run dry, so
 * LeakSanitizer sees the whole life cycle: disconnect, reaper, decide_leave.
 * The instance must then be empty: no client, no cluster.
 *
 * FUZZ_QNETD_LOG=1 in the environment logs at debug level to stderr.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "decide.h"
#include "log.h"
#include "msg.h"
#include "qnetd.h"
#include "reader.h"
#include "qnetd_harness.h"
#include "server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	harness_init("fuzz_qnetd");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;
	size_t off = 2;

	if (size < 2)
		return 0;
	memset(&h, 0, sizeof(h));
	setup(&h, data[0], data[1]);
	while (off < size) {
		uint8_t op = data[off++];
		int k = op & (SLOTS - 1);

		if (op < 0xa0) {
			size_t len;

			if (off >= size)
				break;
			len = data[off++];
			if (len > size - off)
				len = size - off;
			slot_write(&h, k, data + off, len);
			off += len;
			pump(&h);
		} else if (op < 0xc0) {
			slot_close(&h.s[k]);
			pump(&h);
		} else if (op < 0xe0) {
			advance(&h);
		} else {
			h.s[k].paused = !h.s[k].paused;
			pump(&h);
		}
	}
	teardown(&h, (data[0] & CFG_SHUTDOWN) != 0);
	return 0;
}
