/*
 * Private to the heuristics code: the worker process's entry point.
 */
#ifndef QDEVICE_HEURISTICS_WORKER_H
#define QDEVICE_HEURISTICS_WORKER_H

#include "heuristics.h"

/*
 * The descriptors open just before the fork (number, device, inode), so
 * that the worker can close exactly what it inherited: fork handlers (of
 * libuv) create descriptors of their own in the child, which must stay.
 * NULL when /proc/self/fd can't be read.
 */
struct fd_snapshot;

struct fd_snapshot *fd_snapshot_take(void);
void	fd_snapshot_free(struct fd_snapshot *snap);
/*
 * Close what the daemon had open (its loop, sockets, its ends of our
 * pipes), but not stdio, keep1, keep2, or what fork handlers made since.
 */
void	fd_snapshot_close(const struct fd_snapshot *snap, int keep1, int keep2);

/* Runs in the freshly forked child; takes snap over; never returns. */
void	heur_worker_main(int cmd_fd, int out_fd,
	    const struct heur_settings *s, struct fd_snapshot *snap)
	    __attribute__((noreturn));

#endif
