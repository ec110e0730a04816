/*
 * The OpenSSL back end of a TLS server (issue 15): the certificate and key
 * qnetd serves, read from the NSS database once (start-up, SIGHUP) and
 * handed to OpenSSL, whose handshake costs the same however many
 * connections are open (NSS's softoken walks lists that grow with them)
 * and whose connections keep a few KiB instead of NSS's ~70.  Client
 * certificates are still judged by NSS against the database (accept()).
 */
#ifndef QN_TLS_OSSL_H
#define QN_TLS_OSSL_H

#include "conn.h"

typedef struct CERTCertificateStr CERTCertificate;
typedef struct SECKEYPrivateKeyStr SECKEYPrivateKey;
typedef struct ssl_st SSL;
typedef struct x509_st X509;

struct tls_ossl;
struct tls_anchors;

/*
 * Serve cert with key.  require: a client certificate is required, and
 * each one is judged in memory when anchors (tls_anchor.h) vouch for it,
 * else by NSS's CERT_VerifyCertNow against the database.  NULL, with the
 * error text for tls_error(), on failure.
 */
struct tls_ossl *tls_ossl_new(CERTCertificate *cert, SECKEYPrivateKey *key,
	    int require, const struct tls_anchors *anchors);
/* Connections made before keep what they need (it goes with the last). */
void	tls_ossl_free(struct tls_ossl *o);

/* A server SSL for one connection, set up for client_cert; or NULL. */
SSL	*tls_ossl_ssl(const struct tls_ossl *o,
	    enum conn_client_cert client_cert);
/* The client certificate of ssl (resumed) passes today's check: 1 or 0. */
int	tls_ossl_peer_trusted(SSL *ssl);
/* "OpenSSL 3.0.19 27 Jan 2026", the library in use. */
const char *tls_ossl_library(void);
/* x as an NSS certificate (a temporary one), or NULL. */
CERTCertificate *tls_ossl_nss_cert(X509 *x);

/*
 * An OpenSSL failure becomes this thread's NSS error (an error code of
 * ours) with the text of OpenSSL's error queue; what names the step.
 */
void	tls_ossl_set_error(const char *what);
/* This thread's NSS error code (PR_GetError, minding NSPR's adoption). */
int	tls_ossl_pr_error(void);
/* The text when the thread's NSS error is ours, else NULL. */
const char *tls_ossl_error(void);
/* A worker thread is done with NSS for now (it may have called in). */
void	tls_ossl_thread_done(void);
/* Make text (from tls_ossl_error() on another thread) this thread's. */
void	tls_ossl_restore_error(const char *text);

#endif
