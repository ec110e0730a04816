/* Dispatch of client messages (PROTOCOL.md §5.2). */
#ifndef QNETD_HANDLERS_H
#define QNETD_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "counter.h"
#include "reader.h"

/* A complete message, or one the reader skipped (st says why). */
void	handle_message(struct client *c, enum reader_status st,
	    const uint8_t *data, size_t len);

/* Messages received by type ("unknown": a type we don't know). */
const struct counter *handlers_received(void);

#endif
