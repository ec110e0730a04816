/*
 * corosync-qdevice-net-enroll, shared by its files: enroll.c (the
 * exchange, token enrolment) and enroll_renew.c (renewal: the node's
 * database, its current certificate and the swap to the new one);
 * enroll_die.c the way out of both.
 */
#ifndef QDEVICE_ENROLL_H
#define QDEVICE_ENROLL_H

#include <stddef.h>
#include <stdint.h>

#include <prio.h>

#define PROG		"corosync-qdevice-net-enroll"
#define SERVER_CN	"Qnetd Server"
#define CLUSTER_NICKNAME	"Cluster Cert"

void	die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
	    noreturn));
const char *nss_err(void);

/*
 * Open the node's database dir read-write and take its cluster
 * certificate; dies, saying why, when it can't be renewed (none, no key,
 * expired).  Returns the cluster name (its CN).
 */
const char *renew_open(const char *dir);
/* TLS to the qnetd over tcp: its certificate checked against the node's
 * QNet CA, the node's current certificate presented. */
PRFileDesc *renew_start_tls(PRFileDesc *tcp);
/*
 * Store the new certificate (DER) under the cluster certificate's
 * nickname once it checks out (for the key made for it, valid, issued by
 * the node's CA), then delete the old certificate and its key.  Dies, the
 * old one kept, when the new one does not check out.
 */
void	renew_store(const uint8_t *der, size_t len);
/* Release what renew_open took (before NSS_Shutdown). */
void	renew_close(void);

#endif
