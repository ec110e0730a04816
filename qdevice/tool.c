/*
 * corosync-qdevice-tool: asks the running qdevice over its local socket and
 * prints the answer (BEHAVIOUR.md §5.4).  --json asks for our JSON status.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "ipc.h"

#define PROG		"corosync-qdevice-tool"
#define SOCKET_PATH	LOCALSTATEDIR "/run/corosync-qdevice/corosync-qdevice.sock"

enum { OP_NONE, OP_STATUS, OP_SHUTDOWN, OP_RUN_HEURISTICS, OP_FOLLOW,
    OP_METRICS };

static void
usage(void)
{
	printf("usage: %s [-Hhsv] [-p qdevice_ipc_socket_path] [--json] "
	    "[--run-heuristics] [--follow] [--metrics]\n", PROG);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "run-heuristics", no_argument, NULL, 'R' },
		{ "follow", no_argument, NULL, 'F' },
		{ "metrics", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = SOCKET_PATH;
	int op = OP_NONE, verbose = 0, json = 0, ch;
	struct buf req;

	while ((ch = getopt_long(argc, argv, "Hhsvp:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			op = OP_SHUTDOWN;
			break;
		case 's':
			op = OP_STATUS;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'p':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'R':
			op = OP_RUN_HEURISTICS;
			break;
		case 'F':
			op = OP_FOLLOW;
			break;
		case 'M':
			op = OP_METRICS;
			break;
		default:	/* -h too: 3.0.3 exits 1 */
			usage();
			return 1;
		}
	}
	if (op == OP_NONE) {
		usage();
		return 1;
	}

	if (op == OP_FOLLOW)
		return ipc_tool_follow(PROG, path, "follow",
		    "QDevice socket (is QDevice running?)");
	buf_init(&req);
	if (op == OP_SHUTDOWN)
		buf_printf(&req, "shutdown ");
	else if (op == OP_RUN_HEURISTICS)
		buf_printf(&req, "run-heuristics ");
	else if (op == OP_METRICS)
		buf_printf(&req, "metrics ");
	else
		buf_printf(&req, "status %s%s", verbose ? "verbose " : "",
		    json ? "json " : "");
	return ipc_tool_call(PROG, path, &req, "QDevice socket (is QDevice running?)");
}
