#include "config.h"

#include <stdlib.h>

#include <cert.h>
#include <certdb.h>
#include <pk11pub.h>
#include <secoid.h>

#include "tls_anchor.h"

struct tls_anchors {
	CERTCertList *list;	/* our own references to the anchors */
};

/*
 * Extensions whose meaning the fast check knows (it checks the first three
 * itself, and the name is checked later, against the cluster name).  A
 * certificate with any other critical extension goes to NSS.
 */
static int
known_critical(const CERTCertificate *cert)
{
	CERTCertExtension **e;

	for (e = cert->extensions; e != NULL && *e != NULL; e++) {
		/* "critical" is an optional DER BOOLEAN, absent when false. */
		if ((*e)->critical.len == 0 || (*e)->critical.data[0] == 0)
			continue;
		switch (SECOID_FindOIDTag(&(*e)->id)) {
		case SEC_OID_X509_BASIC_CONSTRAINTS:
		case SEC_OID_X509_KEY_USAGE:
		case SEC_OID_X509_EXT_KEY_USAGE:
		case SEC_OID_X509_SUBJECT_ALT_NAME:
			break;
		default:
			return 0;
		}
	}
	return 1;
}

static int
is_ca(const CERTCertificate *cert)
{
	SECItem ext = { siBuffer, NULL, 0 };
	CERTBasicConstraints bc;
	int ca;

	if (CERT_FindCertExtension(cert, SEC_OID_X509_BASIC_CONSTRAINTS,
	    &ext) != SECSuccess)
		return 0;
	ca = CERT_DecodeBasicConstraintValue(&bc, &ext) == SECSuccess &&
	    bc.isCA;
	SECITEM_FreeItem(&ext, PR_FALSE);
	return ca;
}

/*
 * The key usage and certificate type NSS demands for TLS client
 * authentication (CERT_KeyUsageAndTypeForCertUsage(certUsageSSLClient),
 * which this libnss3 does not export): digitalSignature and "SSL client"
 * for the client, keyCertSign and "SSL CA" for its issuer.  A key usage
 * extension, when present, must hold the bit; the type comes from the
 * extended key usage (or the Netscape type) as NSS decoded it.
 */
static int
usage_ok(CERTCertificate *cert, int ca)
{
	if (CERT_CheckCertUsage(cert, ca ? KU_KEY_CERT_SIGN :
	    KU_DIGITAL_SIGNATURE) != SECSuccess)
		return 0;
	return (cert->nsCertType & (ca ? NS_CERT_TYPE_SSL_CA :
	    NS_CERT_TYPE_SSL_CLIENT)) != 0;
}

/*
 * A root the database trusts to issue client certificates ("T" in the SSL
 * trust, as corosync-qnetd-certutil sets "CT,,"), usable as an issuer for
 * SSL client certificates, and without anything the fast check would have
 * to evaluate: name constraints, other critical extensions, a CRL.
 */
static int
fit_anchor(CERTCertificate *ca)
{
	CERTCertTrust trust;
	SECItem nc = { siBuffer, NULL, 0 };
	CERTSignedCrl *crl;

	if (CERT_GetCertTrust(ca, &trust) != SECSuccess ||
	    (trust.sslFlags & (CERTDB_VALID_CA | CERTDB_TRUSTED_CLIENT_CA)) !=
	    (CERTDB_VALID_CA | CERTDB_TRUSTED_CLIENT_CA))
		return 0;
	if (SECITEM_CompareItem(&ca->derIssuer, &ca->derSubject) != SECEqual ||
	    !is_ca(ca) || !known_critical(ca))
		return 0;
	if (!usage_ok(ca, 1))
		return 0;
	if (CERT_FindCertExtension(ca, SEC_OID_X509_NAME_CONSTRAINTS, &nc) ==
	    SECSuccess) {
		SECITEM_FreeItem(&nc, PR_FALSE);
		return 0;
	}
	/* Revocation is NSS's business; the database is read-only for us. */
	crl = SEC_FindCrlByName(CERT_GetDefaultCertDB(), &ca->derSubject,
	    SEC_CRL_TYPE);
	if (crl != NULL) {
		SEC_DestroyCrl(crl);
		return 0;
	}
	return 1;
}

struct tls_anchors *
tls_anchors_load(void)
{
	struct tls_anchors *a;
	CERTCertList *all;
	CERTCertListNode *n, *next;

	if ((all = PK11_ListCerts(PK11CertListCA, NULL)) == NULL)
		return NULL;
	for (n = CERT_LIST_HEAD(all); !CERT_LIST_END(n, all); n = next) {
		next = CERT_LIST_NEXT(n);
		if (!fit_anchor(n->cert))
			CERT_RemoveCertListNode(n);
	}
	if (CERT_LIST_EMPTY(all) || (a = malloc(sizeof(*a))) == NULL) {
		CERT_DestroyCertList(all);
		return NULL;
	}
	a->list = all;
	return a;
}

void
tls_anchors_free(struct tls_anchors *a)
{
	if (a == NULL)
		return;
	CERT_DestroyCertList(a->list);
	free(a);
}

/* The leaf itself as NSS's check would see it, minus the chain. */
static int
leaf_ok(CERTCertificate *cert, PRTime now)
{
	CERTCertTrust trust;

	/*
	 * Trust settings of its own (e.g. "p", distrust, or "P") are for NSS
	 * to weigh.  Only "u" (its key is in this database, as when the
	 * cluster certificate was made there) does not change the verdict.
	 */
	if (CERT_GetCertTrust(cert, &trust) == SECSuccess &&
	    (trust.sslFlags & ~CERTDB_USER) != 0)
		return 0;
	if (SECITEM_CompareItem(&cert->derIssuer, &cert->derSubject) ==
	    SECEqual || is_ca(cert) || !known_critical(cert))
		return 0;
	if (CERT_CheckCertValidTimes(cert, now, PR_FALSE) !=
	    secCertTimeValid)
		return 0;
	return usage_ok(cert, 0);
}

int
tls_anchors_accept(const struct tls_anchors *a, CERTCertificate *cert,
    void *pin_arg)
{
	CERTCertListNode *n;
	PRTime now = PR_Now();

	if (a == NULL || !leaf_ok(cert, now))
		return 0;
	for (n = CERT_LIST_HEAD(a->list); !CERT_LIST_END(n, a->list);
	    n = CERT_LIST_NEXT(n)) {
		if (SECITEM_CompareItem(&cert->derIssuer,
		    &n->cert->derSubject) != SECEqual ||
		    CERT_CheckCertValidTimes(n->cert, now, PR_FALSE) !=
		    secCertTimeValid)
			continue;
		/* The same signature check (and algorithm policy) as NSS's. */
		if (CERT_VerifySignedData(&cert->signatureWrap, n->cert, now,
		    pin_arg) == SECSuccess)
			return 1;
	}
	return 0;
}

int
tls_anchors_each(const struct tls_anchors *a,
    void (*fn)(void *arg, int anchor, const unsigned char *der,
    unsigned int len), void *arg)
{
	CERTCertListNode *n;
	CERTCertList *all;
	CERTCertTrust trust;

	if (a == NULL)
		return -1;
	for (n = CERT_LIST_HEAD(a->list); !CERT_LIST_END(n, a->list);
	    n = CERT_LIST_NEXT(n))
		fn(arg, 1, n->cert->derCert.data, n->cert->derCert.len);
	/* What leaf_ok() reads from the database, read once. */
	if ((all = PK11_ListCerts(PK11CertListAll, NULL)) == NULL)
		return -1;
	for (n = CERT_LIST_HEAD(all); !CERT_LIST_END(n, all);
	    n = CERT_LIST_NEXT(n))
		if (CERT_GetCertTrust(n->cert, &trust) == SECSuccess &&
		    (trust.sslFlags & ~CERTDB_USER) != 0)
			fn(arg, 0, n->cert->derCert.data,
			    n->cert->derCert.len);
	CERT_DestroyCertList(all);
	return 0;
}
