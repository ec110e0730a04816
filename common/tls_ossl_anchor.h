/*
 * tls_anchor.h's fast check of a client certificate, in OpenSSL's terms,
 * for the OpenSSL back end: turning the certificate into an NSS one costs
 * database searches (sqlite, file locks) on every handshake, so the
 * common case is checked on the X509 OpenSSL already parsed.  As there,
 * it only ever accepts: anything it is not sure of goes to NSS.
 */
#ifndef QN_TLS_OSSL_ANCHOR_H
#define QN_TLS_OSSL_ANCHOR_H

typedef struct x509_st X509;
struct tls_anchors;
struct tls_ossl_anchors;

/* A copy of the NSS anchors and of the database's own-trust list; NULL
 * when there are none (then there is no fast check). */
struct tls_ossl_anchors *tls_ossl_anchors_new(const struct tls_anchors *a);
void	tls_ossl_anchors_free(struct tls_ossl_anchors *oa);

/* 1 when leaf is certainly valid for TLS client authentication now; 0:
 * ask NSS. */
int	tls_ossl_anchors_accept(const struct tls_ossl_anchors *oa, X509 *leaf);

#endif
