/*
 * Private to the heuristics code: the line protocol between the daemon and
 * its heuristics worker, and libuv line readers and writers for its pipes.
 *
 * Daemon -> worker (command pipe):
 *	exec-list-clear
 *	exec-list-add <name> <command>
 *	exec <timeout ms> <seq>
 * Worker -> daemon (one output pipe, so a log line explaining a result is
 * always read before that result):
 *	exec-detail <seq> <name> pass|fail|signal|unfinished <code>
 *	    <start ms since the epoch> <duration ms>
 *	    (one per command of a run, before its result; code: exit
 *	    status, signal number, or -1)
 *	exec-result <seq> pass|fail|disabled
 *	<syslog priority> <text>
 */
#ifndef QDEVICE_HEURISTICS_IPC_H
#define QDEVICE_HEURISTICS_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HEUR_CMD_LIST_CLEAR	"exec-list-clear"
#define HEUR_CMD_LIST_ADD	"exec-list-add"
#define HEUR_CMD_EXEC		"exec"
#define HEUR_REPLY_RESULT	"exec-result"
#define HEUR_REPLY_DETAIL	"exec-detail"

#define HEUR_WORD_PASS		"pass"
#define HEUR_WORD_FAIL		"fail"
#define HEUR_WORD_DISABLED	"disabled"
/* exec-detail outcomes besides pass and fail */
#define HEUR_WORD_SIGNAL	"signal"
#define HEUR_WORD_UNFINISHED	"unfinished"

struct line_reader;

/*
 * One line, NUL-terminated, newline removed; NULL when a line longer than
 * the limit was dropped.  The callback may close the reader.
 */
typedef void (*line_cb)(struct line_reader *lr, char *line);

/* End of stream (err 0) or a read error (a libuv error code). */
typedef void (*line_end_cb)(struct line_reader *lr, int err);

typedef void (*line_closed_cb)(void *owner);

struct line_reader {
	uv_pipe_t pipe;
	char *buf;
	size_t len;
	size_t max;		/* longest line, newline included */
	int discarding;		/* inside a line that is too long */
	line_cb on_line;
	line_end_cb on_end;
	line_closed_cb on_closed;
	void *owner;
};

struct line_writer;

/* A queued line could not be written (err: libuv code). */
typedef void (*line_error_cb)(struct line_writer *lw, const char *line,
    int err);

struct line_writer {
	uv_pipe_t pipe;
	size_t max;		/* longest line, newline included */
	line_error_cb on_error;
	line_closed_cb on_closed;
	void *owner;
};

/*
 * Set the callbacks and owner first.  Both take over fd even when they
 * fail, and leave a handle that must be closed with the matching *_close()
 * in every case.  The reader starts reading at once.  Returns 0 or a
 * libuv error code.
 */
int	line_reader_open(struct line_reader *lr, uv_loop_t *loop, int fd,
	    size_t max);
int	line_writer_open(struct line_writer *lw, uv_loop_t *loop, int fd,
	    size_t max);

/* Idempotent; on_closed (if set) runs once the handle is closed. */
void	line_reader_close(struct line_reader *lr);
void	line_writer_close(struct line_writer *lw);

/*
 * Queue len bytes plus a newline; newlines inside become spaces.  Returns
 * 0, UV_E2BIG for a line over the limit, or another libuv error code.
 */
int	line_write(struct line_writer *lw, const char *line, size_t len);

/*
 * Strict decimal u32: digits only, no sign, no overflow.  With end NULL
 * the whole string must be the number, else *end gets the first byte
 * after it.  Returns 0 or -1.
 */
int	parse_u32(const char *s, const char **end, uint32_t *out);

#endif
