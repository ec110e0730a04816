/*
 * Message reader: turns a byte stream, in any chunking, into whole messages.
 *
 * It never asks for a byte past the end of the current message, so a
 * caller that reads exactly reader_want() bytes leaves whatever follows a
 * STARTTLS (the TLS ClientHello) in the socket (PROTOCOL.md §2.2).  A header
 * with an unknown type or a length over the limit makes the reader skip the
 * body and then report why.
 */
#ifndef QN_READER_H
#define QN_READER_H

#include <stddef.h>
#include <stdint.h>

/* Messages up to this size never touch the heap. */
#define READER_INLINE_SIZE	256

enum reader_status {
	READER_MORE,		/* message incomplete: feed more bytes */
	READER_MESSAGE,		/* a whole message is ready */
	READER_UNSUPPORTED,	/* a message of unknown type was skipped */
	READER_TOO_LONG,	/* a message over max_size was skipped */
	READER_NOMEM		/* no memory for the body: it was skipped */
};

struct reader {
	size_t max_size;	/* header included */
	size_t got;		/* bytes of the current message so far */
	size_t total;		/* its full size, once the header is known */
	enum reader_status skip;	/* READER_MORE unless skipping */
	uint8_t *data;		/* inline or heap */
	uint8_t inline_data[READER_INLINE_SIZE];
};

void	reader_init(struct reader *r, size_t max_size);
void	reader_free(struct reader *r);

/*
 * Where to put the next bytes and how many the current message still wants
 * (never 0).  After writing n <= *want bytes there, call reader_commit().
 */
uint8_t *reader_space(struct reader *r, size_t *want);
enum reader_status reader_commit(struct reader *r, size_t n);

/*
 * Copy from a buffer: consumes at most up to the end of one message and
 * returns as reader_commit() does; *used says how much was taken.
 */
enum reader_status reader_feed(struct reader *r, const uint8_t *data,
	    size_t len, size_t *used);

/* The complete message (header included) after READER_MESSAGE. */
const uint8_t *reader_message(const struct reader *r, size_t *len);

/* Forget the delivered or skipped message and start on the next one. */
void	reader_next(struct reader *r);

#endif
