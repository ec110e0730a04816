/*
 * corosync-qnetd-tool: asks the running qnetd over its local socket and
 * prints the answer (BEHAVIOUR.md §4.6).  --json asks for our JSON output.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ipc.h"

#define PROG		"corosync-qnetd-tool"
#define SOCKET_PATH	LOCALSTATEDIR "/run/corosync-qnetd/corosync-qnetd.sock"

enum { OP_NONE, OP_STATUS, OP_LIST, OP_SHUTDOWN, OP_FOLLOW, OP_METRICS };

static void
usage(void)
{
	printf("usage: %s [-Hhlsv] [-c cluster_name] [-p qnetd_ipc_socket_path] "
	    "[--json] [--follow] [--metrics]\n", PROG);
}

/* The cluster name goes in double quotes with " and \ escaped. */
static void
put_quoted(struct buf *b, const char *s)
{
	buf_put_u8(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_put_u8(b, '\\');
		buf_put_u8(b, (uint8_t)*s);
	}
	buf_printf(b, "\" ");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "follow", no_argument, NULL, 'F' },
		{ "metrics", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = SOCKET_PATH, *cluster = NULL;
	int op = OP_NONE, verbose = 0, json = 0, ch;
	struct buf req;

	while ((ch = getopt_long(argc, argv, "Hhlsvc:p:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			op = OP_SHUTDOWN;
			break;
		case 'l':
			op = OP_LIST;
			break;
		case 's':
			op = OP_STATUS;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'c':
			cluster = optarg;
			break;
		case 'p':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'F':
			op = OP_FOLLOW;
			break;
		case 'M':
			op = OP_METRICS;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 1;
		}
	}
	if (op == OP_NONE) {
		usage();
		return 1;
	}

	/* The request is one line: a newline would cut it in two. */
	if (op == OP_LIST && cluster != NULL && strchr(cluster, '\n') != NULL) {
		fprintf(stderr, "%s: Cluster name must not contain a newline\n",
		    PROG);
		return 1;
	}

	if (op == OP_FOLLOW)
		return ipc_tool_follow(PROG, path, "follow",
		    "qnetd socket (is QNetd running?)");
	buf_init(&req);
	/* Prometheus text; -v adds the per-node series. */
	if (op == OP_METRICS) {
		buf_printf(&req, "metrics %s", verbose ? "nodes" : "");
		return ipc_tool_call(PROG, path, &req,
		    "qnetd socket (is QNetd running?)");
	}
	buf_printf(&req, "%s ", op == OP_STATUS ? "status" :
	    op == OP_LIST ? "list" : "shutdown");
	if (op != OP_SHUTDOWN && verbose)
		buf_printf(&req, "verbose ");
	if (op == OP_LIST && cluster != NULL) {
		buf_printf(&req, "cluster ");
		put_quoted(&req, cluster);
	}
	if (op != OP_SHUTDOWN && json)
		buf_printf(&req, "json ");
	return ipc_tool_call(PROG, path, &req, "qnetd socket (is QNetd running?)");
}
