/*
 * The descriptors the heuristics worker inherits at the fork, and closing
 * exactly those (heuristics_worker.h).
 */
/* <>: not qdevice/config.h, the daemon's configuration module */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heuristics_ipc.h"
#include "heuristics_worker.h"

/* ------------------------------------------------------------------ */
/* Inherited descriptors */

struct fd_id {
	int fd;
	dev_t dev;
	ino_t ino;
};

struct fd_snapshot {
	size_t n;
	struct fd_id ids[];
};

static struct fd_snapshot *
snapshot_add(struct fd_snapshot *snap, size_t *cap, int fd,
    const struct stat *st)
{
	if (snap->n == *cap) {
		struct fd_snapshot *bigger;

		*cap *= 2;
		bigger = realloc(snap, sizeof(*snap) + *cap * sizeof(snap->ids[0]));
		if (bigger == NULL) {
			free(snap);
			return NULL;
		}
		snap = bigger;
	}
	snap->ids[snap->n++] = (struct fd_id){ fd, st->st_dev, st->st_ino };
	return snap;
}

struct fd_snapshot *
fd_snapshot_take(void)
{
	size_t cap = 16;
	struct fd_snapshot *snap;
	struct dirent *de;
	struct stat st;
	uint32_t fd;
	DIR *d;

	snap = malloc(sizeof(*snap) + cap * sizeof(snap->ids[0]));
	d = opendir("/proc/self/fd");
	if (snap == NULL || d == NULL) {
		free(snap);
		if (d != NULL)
			closedir(d);
		return NULL;
	}
	snap->n = 0;
	while (snap != NULL && (de = readdir(d)) != NULL) {
		if (parse_u32(de->d_name, NULL, &fd) != 0 || fd > INT32_MAX ||
		    (int)fd == dirfd(d) || fstat((int)fd, &st) != 0)
			continue;
		snap = snapshot_add(snap, &cap, (int)fd, &st);
	}
	closedir(d);
	return snap;
}

void
fd_snapshot_free(struct fd_snapshot *snap)
{
	free(snap);
}

/*
 * Close what the daemon had open (its loop, sockets, its ends of our
 * pipes), but not stdio, our pipes, or what fork handlers made since.
 */
void
fd_snapshot_close(const struct fd_snapshot *snap, int keep1, int keep2)
{
	struct stat st;

	for (size_t i = 0; i < snap->n; i++) {
		const struct fd_id *id = &snap->ids[i];

		if (id->fd <= STDERR_FILENO || id->fd == keep1 ||
		    id->fd == keep2 || fstat(id->fd, &st) != 0)
			continue;
		if (st.st_dev == id->dev && st.st_ino == id->ino)
			close(id->fd);
	}
}

