/*
 * Certificates by nickname for tls.c: which one of several to use after a
 * rotation, the client certificate hook, and warnings before expiry.
 */
#ifndef QN_TLS_CERT_H
#define QN_TLS_CERT_H

#include <cert.h>
#include <keyhi.h>
#include <ssl.h>

#include "tls.h"

/* Days before its end from which a certificate's expiry is a warning. */
#define TLS_CERT_EXPIRY_WARN_DAYS	30

/*
 * Of the certificates under nickname, the one with its private key, valid
 * now, issued last (a new reference), or NULL with the NSS error set.
 */
CERTCertificate *tls_cert_find(const char *nickname);
/*
 * Log cert (what: "Server certificate") when it has expired (error) or
 * expires within TLS_CERT_EXPIRY_WARN_DAYS (warning), and so its issuer.
 */
void	tls_cert_log_expiry(CERTCertificate *cert, const char *what);
/*
 * cert (what: "Client certificate") and its issuer, those expired or
 * expiring within TLS_CERT_EXPIRY_WARN_DAYS, into out (up to max); how
 * many.  The one rule of both the log and the events.
 */
size_t	tls_cert_expiring(CERTCertificate *cert, const char *what,
	    struct tls_expiry *out, size_t max);
/* SSL_GetClientAuthDataHook: the certificate tls_cert_find(arg) picks. */
SECStatus tls_cert_client_auth(void *arg, PRFileDesc *fd,
	    CERTDistNames *ca_names, CERTCertificate **ret_cert,
	    SECKEYPrivateKey **ret_key);

struct conn;
/* The peer's certificate once the handshake is over (a reference), or NULL. */
CERTCertificate *conn_peer_cert(const struct conn *c);
/* OpenSSL back end: c's client certificate passes today's check. */
int	conn_peer_trusted(const struct conn *c);

#endif
