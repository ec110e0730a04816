/*
 * The decision memory (memory.h) on disk: STATE_DIR/state.json, written by
 * json-c.  Saving writes a temporary file, fsyncs it, renames it over the
 * old one and fsyncs the directory, so a crash leaves the old state or the
 * new one, never a mix.  Loading takes the whole file or nothing: a
 * missing, truncated, corrupt, other-version or other-host file yields no
 * record and one line saying why, and this qnetd starts afresh.
 *
 * Plain blocking file I/O and no event loop: persist.c loads at start and
 * writes snapshots on a worker thread, coalesced by a timer, and at exit.
 */
#ifndef QNETD_STATEFILE_H
#define QNETD_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "memory.h"

#define STATEFILE_NAME		"state.json"
#define STATEFILE_FORMAT	"corosync-qnetd-state"
#define STATEFILE_VERSION	1
/* Larger than any state a qnetd keeps; a bigger file is not ours. */
#define STATEFILE_MAX_SIZE	(256L * 1024 * 1024)

/*
 * A copy of the records, taken on the event loop (a memcpy per record), so
 * that building the JSON text and writing it can run on a worker thread
 * while the loop goes on changing the records.
 */
struct statefile_snapshot;
/* NULL when out of memory. */
struct statefile_snapshot *statefile_snapshot(const struct memory *mem,
	    uint64_t now);
void	statefile_snapshot_free(struct statefile_snapshot *snap);
size_t	statefile_snapshot_count(const struct statefile_snapshot *snap);
/* Write snap into dir; any thread.  0, or -1 and err says why. */
int	statefile_write(const char *dir, const struct statefile_snapshot *snap,
	    char *err, size_t errlen);

/* Snapshot and write at once (at exit, and the tests). */
int	statefile_save(const char *dir, const struct memory *mem, uint64_t now,
	    char *err, size_t errlen);

/*
 * Load dir's state into mem (which must be empty) at loop time now, then
 * sweep it (memory_sweep).  Returns the number of records loaded, 0 when
 * there is no file, -1 when it was rejected: err says why and mem is left
 * empty.  A file saved on another host is rejected unless any_host (the
 * directory moves between hosts: state_dir_shared).
 */
long	statefile_load(const char *dir, struct memory *mem, uint64_t now,
	    int any_host, char *err, size_t errlen);

#endif
