/*
 * Source addresses: how many of our connections come from each (for
 * max_clients_per_address), the clients of each waiting for a TLS
 * handshake, and the refusals logged per address.
 */
#ifndef QNETD_PEER_H
#define QNETD_PEER_H

#include <sys/socket.h>

#include "htab.h"

struct qnetd;
struct peer;
struct hs_source;

/* The server's, in struct qnetd. */
struct peer_table {
	struct htab by_ip;	/* seeded: clients choose their addresses */
};

void	peer_table_init(struct peer_table *t);
void	peer_table_free(struct peer_table *t);

/*
 * Count one more connection from ss, formatted as addr: 0 with *peer set
 * (NULL for an address family without counts), or -1 when it is refused
 * (max_clients_per_address, out of memory; logged).
 */
int	peer_admit(struct qnetd *q, const struct sockaddr_storage *ss,
	    const char *addr, struct peer **peer);
/* One connection fewer; the last one frees the peer. */
void	peer_put(struct peer_table *t, struct peer *p);
/* Its clients waiting for a TLS handshake (handshake.c). */
struct hs_source *peer_hs(struct peer *p);

#endif
