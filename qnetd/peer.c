#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "handshake.h"
#include "limitlog.h"
#include "log.h"
#include "peer.h"
#include "qnetd.h"

/* One source address: how many of our connections come from it. */
struct peer {
	struct htab_entry by_ip;
	uint8_t ip[16];		/* IPv4 as ::ffff:a.b.c.d, like a dual socket */
	size_t count;
	struct hs_source hs;	/* its clients waiting for a TLS handshake */
	/*
	 * max_clients_per_address refusals are logged per address: one busy
	 * address (a NAT gateway) must not hide another from the log.
	 */
	struct log_limit refused_log;
};

void
peer_table_init(struct peer_table *t)
{
	htab_init(&t->by_ip);
}

void
peer_table_free(struct peer_table *t)
{
	struct htab_entry *e;

	while ((e = htab_any(&t->by_ip)) != NULL) {
		htab_remove(&t->by_ip, e);
		free(htab_item(e, struct peer, by_ip));
	}
	htab_free(&t->by_ip);
}

/* The peer's IP (not its port) as 16 bytes; 0, or -1 for other families. */
static int
peer_key(const struct sockaddr_storage *ss, uint8_t ip[16])
{
	if (ss->ss_family == AF_INET6) {
		memcpy(ip, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return 0;
	}
	if (ss->ss_family == AF_INET) {
		memset(ip, 0, 10);
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return 0;
	}
	return -1;
}

static struct peer *
peer_find(const struct peer_table *t, const uint8_t ip[16])
{
	struct htab_entry *e = htab_find(&t->by_ip, ip, 16);

	return e != NULL ? htab_item(e, struct peer, by_ip) : NULL;
}

/* Count one more connection from ip (p: its peer, if any); NULL when
 * memory ran out. */
static struct peer *
peer_get(struct peer_table *t, const uint8_t ip[16], struct peer *p)
{
	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return NULL;
		memcpy(p->ip, ip, 16);
		if (htab_insert(&t->by_ip, &p->by_ip, p->ip, 16) != 0) {
			free(p);
			return NULL;
		}
	}
	p->count++;
	return p;
}

void
peer_put(struct peer_table *t, struct peer *p)
{
	if (--p->count != 0)
		return;
	htab_remove(&t->by_ip, &p->by_ip);
	free(p);
}

struct hs_source *
peer_hs(struct peer *p)
{
	return &p->hs;
}

static void refused_log(struct qnetd *q, struct peer *p, const char *addr,
    long long value, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
refused_log(struct qnetd *q, struct peer *p, const char *addr,
    long long value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	limit_vlog(q, &p->refused_log, LIMIT_PER_ADDRESS, addr, value, fmt, ap);
	va_end(ap);
}

int
peer_admit(struct qnetd *q, const struct sockaddr_storage *ss,
    const char *addr, struct peer **peer)
{
	long long max = q->set.max_clients_per_address;
	struct peer *p;
	uint8_t ip[16];

	*peer = NULL;
	if (peer_key(ss, ip) != 0)
		return 0;
	p = peer_find(&q->peers, ip);
	if (max != 0 && p != NULL && (long long)p->count >= max) {
		refused_log(q, p, addr, max, "too many connections from its "
		    "address, not accepting");
		return -1;
	}
	if ((*peer = peer_get(&q->peers, ip, p)) == NULL) {
		log_err("Can't allocate client %s", addr);
		return -1;
	}
	return 0;
}
