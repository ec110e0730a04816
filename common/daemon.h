/*
 * Start-up and shutdown pieces both daemons share: leaving the foreground,
 * the log, the lock file, the local socket, the signals that stop them.
 */
#ifndef QN_DAEMON_H
#define QN_DAEMON_H

#include <uv.h>

#include "ipc.h"

struct setting;

/* SIGINT and SIGTERM, both delivered to one callback; SIGHUP to another. */
struct daemon_signals {
	uv_signal_t sigint, sigterm;
	uv_signal_t sighup;
	int stop_started, hup_started;
};

/* Print "<prog>: <message>" on stderr and exit 1 (command-line errors). */
void	daemon_die(const char *prog, const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 2, 3)));

/*
 * Apply one -S argument to dst: an unknown name or a bad value ends the
 * program as daemon_die() does; a deprecated name is warned about.
 */
void	daemon_setting(const char *prog, const struct setting *table,
	    void *dst, const char *arg);

/*
 * Open the log: stderr too in the foreground; one -d turns debug on, a
 * second sends it to syslog as info.
 */
void	daemon_log_open(const char *prog, int foreground, int debug);

/*
 * Fork (the parent exits 0), start a new session, point stdio at
 * /dev/null and chdir to /.  Returns 0, or -1 with errno in the child.
 */
int	daemonize(void);

/* Take the pid lock file: its descriptor, or -1 after logging why not. */
int	daemon_lock(const char *path);

/*
 * Serve the local socket on s, whose handler the caller has set, with
 * the limits of set and its umask and group (local_socket_umask,
 * local_socket_gid); logs why not and returns -1.
 */
/*
 * Resolve local_socket_umask and local_socket_gid into set->umask and
 * set->gid (-1: leave alone); a bad value ends the program as
 * daemon_die() does.
 */
void	daemon_ipc_settings(const char *prog, struct ipc_settings *set);
int	daemon_ipc_start(struct ipc_server *s, uv_loop_t *loop,
	    const char *path, const struct ipc_settings *set);

/* Call cb(handle, signum) with handle->data = data on SIGINT and SIGTERM. */
void	daemon_signals_start(struct daemon_signals *s, uv_loop_t *loop,
	    uv_signal_cb cb, void *data);
/*
 * Call cb on SIGHUP (a reload).  Until then the daemon ignores SIGHUP
 * (daemon_ignore_sighup(), early in main): it never ends a daemon.
 */
void	daemon_sighup_start(struct daemon_signals *s, uv_loop_t *loop,
	    uv_signal_cb cb, void *data);
void	daemon_ignore_sighup(void);
/* Close whichever of the handlers were started. */
void	daemon_signals_close(struct daemon_signals *s);

/*
 * The "-v" line that follows 3.0.3's: which upstream release the command
 * line, files, tool output and protocol are compatible with.
 */
#define DAEMON_COMPAT_RELEASE	"3.0.4"
void	daemon_print_compat(void);

/* Close every handle still open and run the loop until they are gone. */
void	daemon_loop_drain(uv_loop_t *loop);

#endif
