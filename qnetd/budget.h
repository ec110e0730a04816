/*
 * max_cluster_cpu_per_second: how long the event loop may spend on one
 * cluster's messages in each second.  The cost of a message grows with
 * its cluster (node lists of thousands of nodes, many clients to compare
 * them with), so a per-client message rate does not bound it: a cluster
 * over its budget has all its clients' reading paused until the next
 * second, its messages wait in the network, and the other clusters keep
 * the loop.  Time its clients wait unread is not held against them by
 * dead-peer detection.
 */
#ifndef QNETD_BUDGET_H
#define QNETD_BUDGET_H

#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

struct client;
struct cluster;
struct qnetd;

/* The server's, in struct qnetd. */
struct budget {
	uv_timer_t timer;		/* resumes the paused at the next second */
	LIST_HEAD(, cluster) paused;
};

void	budget_init(struct qnetd *q);
void	budget_stop(struct qnetd *q);

/* Charge the client's cluster for a message handled since started_ns
 * (uv_hrtime()); pauses the cluster when it is over its budget. */
void	budget_charge(struct client *c, uint64_t started_ns);

/* Is the client's reading paused by its cluster's budget? */
int	budget_holds(const struct client *c);

#endif
