/*
 * Client-certificate verification for the TLS server without certificate
 * searches in the NSS database.
 *
 * NSS's own check (SSL_AuthCertificate -> CERT_VerifyCert) looks up the
 * issuer of the client certificate with a PKCS#11 object search on every
 * handshake, and the softoken answers it by walking every session object
 * it holds: the keys of every live TLS connection.  With thousands of
 * connections that walk dominated the handshake (the rate fell from ~350/s
 * at 1,000 live connections to ~50/s at 4,000).
 *
 * So the trust anchors are read once, when the server is set up, and a
 * client certificate issued directly by one of them is checked in memory.
 * This fast check only ever accepts: whatever it is not sure about (an
 * intermediate CA, an unusual extension, a CRL in the database, expiry, a
 * bad signature...) goes to NSS's own check, so what is accepted or refused,
 * and with which error, stays NSS's decision.
 */
#ifndef QN_TLS_ANCHOR_H
#define QN_TLS_ANCHOR_H

typedef struct CERTCertificateStr CERTCertificate;
struct tls_anchors;

/*
 * The root CAs of the default certificate database trusted to issue client
 * certificates and fit for the fast check.  NULL when there are none (or
 * on error): then every certificate takes NSS's check.
 */
struct tls_anchors *tls_anchors_load(void);
void	tls_anchors_free(struct tls_anchors *a);

/*
 * 1 when cert is certainly valid for TLS client authentication now: issued
 * and signed by one of the anchors, within its validity (and theirs), with
 * usages and extensions NSS would accept.  0: unknown, ask NSS.
 */
int	tls_anchors_accept(const struct tls_anchors *a, CERTCertificate *cert,
	    void *pin_arg);

/*
 * For the OpenSSL back end's copy of the fast check (tls_ossl_anchor.h):
 * fn(arg, 1, der) for each anchor, then fn(arg, 0, der) for each
 * certificate of the database with SSL trust of its own (distrust, a
 * trusted peer...), which the fast check must leave to NSS.  0, or -1
 * when there are no anchors or the database could not be listed (then
 * there must be no fast check).
 */
int	tls_anchors_each(const struct tls_anchors *a,
	    void (*fn)(void *arg, int anchor, const unsigned char *der,
	    unsigned int len), void *arg);

#endif
