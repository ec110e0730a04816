/*
 * The local admin socket both daemons serve and their tools talk to: the
 * tool sends one line, the daemon answers "OK\n" and a payload or
 * "Error\n<message>\n", then closes (BEHAVIOUR.md §4.6).
 */
#ifndef QN_IPC_H
#define QN_IPC_H

#include <stddef.h>
#include <uv.h>

#include "buf.h"

enum ipc_result {
	IPC_OK,
	IPC_ERROR,		/* out holds the message */
	IPC_OK_SHUTDOWN		/* answer OK, then on_shutdown */
};

/* The local socket's -S settings, which both daemons have. */
struct ipc_settings {
	long long backlog;		/* local_socket_backlog */
	long long max_clients;		/* ipc_max_clients, 0 = unlimited */
	long long max_receive_size;	/* ipc_max_receive_size */
	long long max_send_size;	/* ipc_max_send_size */
};

struct ipc_server {
	uv_loop_t *loop;
	uv_pipe_t pipe;
	char *path;
	size_t max_clients;	/* 0 = unlimited */
	size_t max_receive;
	size_t max_send;
	size_t clients;
	enum ipc_result (*handler)(void *arg, char *line, struct buf *out);
	void	(*on_shutdown)(void *arg);
	void	*arg;
	int	open;
};

/* Bind (replacing a stale socket file) and listen; -1 with errno. */
int	ipc_server_start(struct ipc_server *s, uv_loop_t *loop,
	    const char *path, int backlog);
/* Stop accepting and remove the socket file. */
void	ipc_server_stop(struct ipc_server *s);

/*
 * Split a request line into words in place.  With quoting, "..." groups
 * and a backslash escapes the next character.  Returns the word count.
 */
int	ipc_split(char *line, char **words, int max, int quoting);

/*
 * Tool side: send request (a line without the newline) and read the whole
 * answer into reply.  Returns 0, or -1 with errno when the socket cannot be
 * reached.
 */
int	ipc_call(const char *path, const char *request, struct buf *reply);

/*
 * Print an answer the way the 3.0.3 tools do and return their exit code:
 * 0 OK (payload to stdout), 4 Error (message to stderr), 3 garbled.
 */
int	ipc_print_answer(const struct buf *reply);

/*
 * A tool's whole exchange: send the request built in req (freed here),
 * print the answer and return the tool's exit code; 3 with "<prog>: Can't
 * connect to <target>: <error>" when the socket cannot be reached.
 */
int	ipc_tool_call(const char *prog, const char *path, struct buf *req,
	    const char *target);

#endif
