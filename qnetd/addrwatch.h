/*
 * The fate of the listen address: a listening socket whose address is
 * removed from the system stays open and silent (nothing fails, clients
 * just stop arriving).  The kernel's address notifications (netlink) let us
 * say so in the log, and say when the address is back.  Only with -l: the
 * wildcard can't go away.
 */
#ifndef QNETD_ADDRWATCH_H
#define QNETD_ADDRWATCH_H

#include <stdint.h>
#include <uv.h>

/* The listener's, in struct listener. */
struct addrwatch {
	int fd;				/* netlink; -1 when not watching */
	uv_poll_t poll;
	int family;			/* AF_INET, AF_INET6 */
	uint8_t addr[16];		/* the address listened on */
	int gone;			/* removed from the system */
};

/* Watch the address listen_fd is bound to (nothing for a wildcard). */
void	addrwatch_start(struct addrwatch *w, uv_loop_t *loop, int listen_fd);
void	addrwatch_stop(struct addrwatch *w);

#endif
