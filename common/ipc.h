/*
 * The local admin socket both daemons serve and their tools talk to: the
 * tool sends one line, the daemon answers "OK\n" and a payload or
 * "Error\n<message>\n", then closes (BEHAVIOUR.md §4.6).
 */
#ifndef QN_IPC_H
#define QN_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <uv.h>

#include "buf.h"

enum ipc_result {
	IPC_OK,
	IPC_ERROR,		/* out holds the message */
	IPC_OK_SHUTDOWN,	/* answer OK, then on_shutdown */
	IPC_OK_FOLLOW		/* answer OK, then stay: ipc_broadcast() */
};

/* ipc_idle_timeout (not in 3.0.3): its default and largest value, in ms. */
#define IPC_IDLE_TIMEOUT_DEFAULT	5000
#define IPC_IDLE_TIMEOUT_MAX		18000000

/* The local socket's -S settings, which both daemons have. */
struct ipc_settings {
	long long backlog;		/* local_socket_backlog */
	long long max_clients;		/* ipc_max_clients, 0 = unlimited */
	long long max_receive_size;	/* ipc_max_receive_size */
	long long max_send_size;	/* ipc_max_send_size */
	long long idle_timeout;		/* ipc_idle_timeout (ms), 0 = none */
	char *umask_text;		/* local_socket_umask, "" = unchanged */
	char *gid_text;			/* local_socket_gid, "" or -1 = unchanged */
	int umask;			/* resolved (daemon.c), -1 = unchanged */
	long long gid;			/* resolved (daemon.c), -1 = unchanged */
};

struct ipc_conn;
TAILQ_HEAD(ipc_conn_queue, ipc_conn);

struct ipc_server {
	uv_loop_t *loop;
	uv_pipe_t pipe;
	char *path;
	size_t max_clients;	/* 0 = unlimited */
	size_t max_receive;
	size_t max_send;
	uint64_t idle_timeout;	/* ms a client may hold a slot, 0 = no limit */
	size_t clients;
	struct ipc_conn_queue conns;	/* oldest (first to time out) first */
	struct ipc_conn_queue followers;	/* IPC_OK_FOLLOW, no timeout */
	uv_timer_t idle_timer;
	int accept_waiting;	/* a connection waits for a free slot */
	uint64_t idle_log_next;	/* loop time the next drop may be logged */
	unsigned long idle_log_suppressed;
	enum ipc_result (*handler)(void *arg, char *line, struct buf *out);
	void	(*on_shutdown)(void *arg);
	void	*arg;
	int	open;
	int	unref;		/* stopping: nothing of it keeps the loop */
	dev_t	dev;		/* the socket file bound, so that stop */
	ino_t	ino;		/* removes that one and no successor's */
};

/* Bind (replacing a stale socket file) and listen; -1 with errno. */
int	ipc_server_start(struct ipc_server *s, uv_loop_t *loop,
	    const char *path, int backlog);
/*
 * Stop accepting, drop the clients and remove the socket file (if it is
 * still the one bound: a successor may have replaced it).
 */
void	ipc_server_stop(struct ipc_server *s);
/*
 * Keep answering but no longer keep the loop alive (neither the socket
 * nor its connections): a daemon that is shutting down stays visible to
 * its tool until its loop has ended.
 */
void	ipc_server_unref(struct ipc_server *s);

/*
 * Write data to every following client (a tool's --follow).  One that
 * has more than IPC_FOLLOW_MAX_QUEUED bytes not yet taken is too slow and
 * is disconnected (logged), so a stuck reader costs bounded memory.
 */
#define IPC_FOLLOW_MAX_QUEUED	(1024 * 1024)
void	ipc_broadcast(struct ipc_server *s, const char *data, size_t len);
size_t	ipc_followers(const struct ipc_server *s);

/*
 * Split a request line into words in place.  With quoting, "..." groups
 * and a backslash escapes the next character.  Returns the word count.
 */
int	ipc_split(char *line, char **words, int max, int quoting);

enum ipc_call_result {
	IPC_CALL_OK,
	IPC_CALL_NO_CONNECT,	/* errno says why */
	IPC_CALL_LOST,		/* connected, then a send/receive error: errno */
	IPC_CALL_NO_ANSWER,	/* the daemon closed without answering */
	IPC_CALL_BAD_REQUEST	/* the request contains a newline */
};

/*
 * Tool side: send request (a line without the newline) and read the whole
 * answer into reply.  Never raises SIGPIPE.
 */
enum ipc_call_result ipc_call(const char *path, const char *request,
	    struct buf *reply);

/*
 * Print an answer the way the 3.0.3 tools do and return their exit code:
 * 0 OK (payload to stdout), 4 Error (message to stderr), 3 garbled.
 */
int	ipc_print_answer(const struct buf *reply);

/*
 * A tool's whole exchange: send the request built in req (freed here),
 * print the answer and return the tool's exit code; 3 with "<prog>: Can't
 * connect to <target>: <error>" when the socket cannot be reached, and 3
 * with a message saying so when the exchange breaks off.  SIGPIPE is
 * ignored from here on.
 */
int	ipc_tool_call(const char *prog, const char *path, struct buf *req,
	    const char *target);

/*
 * A tool's --follow: send request, then copy what the daemon sends to
 * standard output as it comes, until it closes (exit code 0), or print
 * its error (4); the other codes as ipc_tool_call().
 */
int	ipc_tool_follow(const char *prog, const char *path, const char *request,
	    const char *target);

#endif
