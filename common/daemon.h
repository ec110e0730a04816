/* Leaving the foreground, the same way for both daemons. */
#ifndef QN_DAEMON_H
#define QN_DAEMON_H

/*
 * Fork (the parent exits 0), start a new session, point stdio at
 * /dev/null and chdir to /.  Returns 0, or -1 with errno in the child.
 */
int	daemonize(void);

#endif
