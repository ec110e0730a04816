/*
 * Renewal over the qnetd port (corosync-qdevice-net-certutil -R): the
 * check of the certificate a node presented in the TLS handshake of a
 * renewal connection (conn_starttls_server(..., CONN_CERT_UNCHECKED)),
 * before enroll.c has its new request signed.  The handshake proved that
 * the node holds the certificate's key; this says whether the certificate
 * itself still vouches for the node.
 */
#ifndef QNETD_ENROLL_RENEW_H
#define QNETD_ENROLL_RENEW_H

#include <stddef.h>

struct conn;

/*
 * 0 when the peer's certificate is signed by the certificate ca_nickname
 * ("QNet CA"), valid now and for exactly CN=<cluster>; its serial number
 * in hex then goes to serial (for the log).  -1 with *why (a constant
 * string, for the log and the node) otherwise.
 */
int	enroll_renew_check(const struct conn *conn, const char *cluster,
	    const char *ca_nickname, char *serial, size_t serial_size,
	    const char **why);

#endif
