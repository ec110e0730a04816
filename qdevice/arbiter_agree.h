/*
 * The rule by which a cluster's qdevices agree on one arbiter of the host
 * list (arbiter_agree.c).  Pure: no I/O, no clock.  Each member feeds it the
 * views and the reports its group messaging (CPG) delivers, in delivery
 * order; members that see the same views and messages compute the same
 * agreement.  Not yet wired to CPG: failover is off in this build
 * (net_hosts.c).
 */
#ifndef QDEVICE_ARBITER_AGREE_H
#define QDEVICE_ARBITER_AGREE_H

#include <stddef.h>
#include <stdint.h>

#define AGREE_MAX_HOSTS		8
#define AGREE_MAX_NODES		64

/* What one member says, broadcast when it changes and after each view. */
struct agree_report {
	uint32_t nodeid;
	uint32_t epoch;		/* of the agreement the member holds */
	uint8_t index;		/* the agreed arbiter the member holds */
	uint8_t reach;		/* bit i: host i of the list reachable */
	uint8_t lost;		/* the agreed arbiter is lost */
	uint8_t first_held;	/* host 0 reachable for host_return_hold */
	uint32_t list;		/* hash of the member's host list */
};

/* Why the agreed arbiter is the one it is. */
enum agree_why {
	AGREE_FIRST,		/* nothing agreed yet: the first host */
	AGREE_SWITCHED,		/* all members lost the previous one */
	AGREE_RETURNED,		/* all members held the first reachable */
	AGREE_ADOPTED		/* a member reported a later agreement */
};

/* Where the current view stands. */
enum agree_state {
	AGREE_NO_MAJORITY,	/* the view lacks the nodes needed (all) */
	AGREE_WAITING,		/* not every member reported this agreement */
	AGREE_AGREED,		/* every member did; no reason to move */
	AGREE_NO_COMMON_HOST	/* all lost it, no other host all reach */
};

struct agree {
	uint32_t nodes[AGREE_MAX_NODES];	/* configured node ids */
	size_t node_count;
	size_t need;		/* configured nodes a view needs to switch */
	unsigned host_count;
	/*
	 * Hash of the host list: an index means the same host only where
	 * the lists are the same.  A report of another list is not counted,
	 * so nothing is agreed or confirmed with its sender.
	 */
	uint32_t list;
	uint32_t foreign_list_from;	/* the last such sender, 0: none */

	uint32_t epoch;		/* the agreement: (epoch, index) */
	unsigned index;
	unsigned prev;		/* the index before the last change */
	enum agree_why why;
	enum agree_state state;
	/*
	 * Every configured node reported holding this agreement in one view:
	 * all know it, none can be on another arbiter.  Only then may a
	 * member connect to it; a change clears it.
	 */
	int confirmed;

	uint32_t members[AGREE_MAX_NODES];	/* the current view */
	size_t member_count;
	size_t configured;	/* configured nodes in the view */
	struct agree_report rep[AGREE_MAX_NODES];	/* by member slot */
	uint8_t have[AGREE_MAX_NODES];
};

/*
 * The configured nodes and hosts.  need = 0: all of them (a majority alone
 * would leave a node that was away on the old arbiter: it could win a split
 * there while the others win on the new one).
 * Returns -1 on a bad argument (no or too many nodes or hosts, need too big).
 */
int	agree_init(struct agree *a, const uint32_t *nodes, size_t node_count,
	    unsigned host_count, size_t need);

/*
 * The configured nodes changed (a reload): all of them are needed from now
 * on; a node that is new may hold nothing yet, so the agreement must be
 * confirmed again.  -1 on a bad list (nothing changed).
 */
int	agree_set_nodes(struct agree *a, const uint32_t *nodes, size_t count);

/* A new view: its members (any order); every member must report again. */
void	agree_view(struct agree *a, const uint32_t *members, size_t count);

/* A delivered report.  Returns 1 when the agreed arbiter changed. */
int	agree_deliver(struct agree *a, const struct agree_report *r);

/* Why the agreement is what it is: short ids, and text naming the hosts. */
const char *agree_why_id(const struct agree *a);
const char *agree_state_id(const struct agree *a);
const char *agree_why_text(const struct agree *a, const char *const *names,
	    char *buf, size_t len);

#endif
