/*
 * Renewal, the node side (corosync-qdevice-net-certutil -R): the key and
 * the request are made in the node's database by the certutil before this
 * runs; here the current certificate is presented in the TLS handshake
 * (proving the node holds its key) and the certificate the qnetd signs
 * replaces it in the same database, in place, so that a running
 * corosync-qdevice (which looks its certificate up at every connection,
 * tls_cert_find) uses it from its next connection on.  The old certificate
 * and key are deleted only once the new one is stored and checks out.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <cert.h>
#include <certdb.h>
#include <keyhi.h>
#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <prtime.h>
#include <secerr.h>
#include <ssl.h>

#include "enroll.h"

static CERTCertificate *old_cert;
static SECKEYPrivateKey *old_key;
static char cluster[256];
static char db_dir[4096];

static void
fmt_time(PRTime t, char *out, size_t n)
{
	PRExplodedTime e;

	PR_ExplodeTime(t, PR_GMTParameters, &e);
	PR_FormatTime(out, (int)n, "%Y-%m-%d %H:%M:%S UTC", &e);
}

const char *
renew_open(const char *dir)
{
	char spec[4200], when[64];
	PRTime nb, na;
	char *cn;

	snprintf(db_dir, sizeof(db_dir), "%s", dir);
	snprintf(spec, sizeof(spec), "sql:%s", dir);
	if (NSS_InitReadWrite(spec) != SECSuccess ||
	    NSS_SetDomesticPolicy() != SECSuccess)
		die("can't open the database %s: %s", dir, nss_err());
	old_cert = PK11_FindCertFromNickname(CLUSTER_NICKNAME, NULL);
	if (old_cert == NULL)
		die("the database %s has no cluster certificate (%s) to renew: "
		    "enrol first (corosync-qdevice-net-certutil -e, or -i -r "
		    "-M)", dir, CLUSTER_NICKNAME);
	if ((old_key = PK11_FindKeyByAnyCert(old_cert, NULL)) == NULL)
		die("the database %s has no key for its %s", dir,
		    CLUSTER_NICKNAME);
	if (CERT_GetCertTimes(old_cert, &nb, &na) != SECSuccess)
		die("can't read the validity of %s: %s", CLUSTER_NICKNAME,
		    nss_err());
	if (na < PR_Now()) {
		fmt_time(na, when, sizeof(when));
		die("the cluster certificate in %s expired on %s: an expired "
		    "certificate can't be renewed; enrol again with a token "
		    "(corosync-qnetd-certutil -t on the QNetd, then "
		    "corosync-qdevice-net-certutil -e here, after deleting "
		    "%s)", dir, when, dir);
	}
	if ((cn = CERT_GetCommonName(&old_cert->subject)) == NULL ||
	    strlen(cn) >= sizeof(cluster))
		die("the %s in %s has no usable common name (cluster name)",
		    CLUSTER_NICKNAME, dir);
	strcpy(cluster, cn);
	PORT_Free(cn);
	return cluster;
}

static SECStatus
client_auth(void *arg, PRFileDesc *fd, CERTDistNames *ca_names,
    CERTCertificate **ret_cert, SECKEYPrivateKey **ret_key)
{
	(void)arg;
	(void)fd;
	(void)ca_names;
	*ret_cert = CERT_DupCertificate(old_cert);
	*ret_key = SECKEY_CopyPrivateKey(old_key);
	return *ret_key != NULL ? SECSuccess : SECFailure;
}

PRFileDesc *
renew_start_tls(PRFileDesc *tcp)
{
	PRFileDesc *ssl = SSL_ImportFD(NULL, tcp);

	/* NSS's own check of the server: the node's QNet CA, the name. */
	if (ssl == NULL ||
	    SSL_OptionSet(ssl, SSL_SECURITY, PR_TRUE) != SECSuccess ||
	    SSL_OptionSet(ssl, SSL_HANDSHAKE_AS_CLIENT, PR_TRUE) != SECSuccess ||
	    SSL_OptionSet(ssl, SSL_NO_CACHE, PR_TRUE) != SECSuccess ||
	    SSL_SetURL(ssl, SERVER_CN) != SECSuccess ||
	    SSL_GetClientAuthDataHook(ssl, client_auth, NULL) != SECSuccess ||
	    SSL_ResetHandshake(ssl, PR_FALSE) != SECSuccess)
		die("can't set up TLS: %s", nss_err());
	if (SSL_ForceHandshake(ssl) != SECSuccess)
		die("TLS handshake with the qnetd failed: %s (a qnetd whose "
		    "certificate this node's QNet CA did not sign is refused)",
		    nss_err());
	return ssl;
}

/* Undo the import of a certificate that does not check out, and die. */
static void __attribute__((noreturn))
unstore(CERTCertificate *c, const char *why)
{
	SEC_DeletePermCertificate(c);
	CERT_DestroyCertificate(c);
	die("%s; the current certificate was kept", why);
}

void
renew_store(const uint8_t *der, size_t len)
{
	SECItem item = { siBuffer, (unsigned char *)(uintptr_t)der,
	    (unsigned)len };
	CERTCertDBHandle *db = CERT_GetDefaultCertDB();
	CERTCertificate *tmp, *c;
	SECKEYPrivateKey *key;
	PK11SlotInfo *slot;
	CERTCertTrust trust;
	SECStatus rv;
	char *cn;
	int same;

	if ((tmp = CERT_NewTempCertificate(db, &item, NULL, PR_FALSE,
	    PR_TRUE)) == NULL)
		die("the qnetd sent a certificate that can't be decoded: %s",
		    nss_err());
	cn = CERT_GetCommonName(&tmp->subject);
	same = cn != NULL && strcmp(cn, cluster) == 0;
	PORT_Free(cn);
	if (!same || SECITEM_CompareItem(&tmp->serialNumber,
	    &old_cert->serialNumber) == SECEqual) {
		CERT_DestroyCertificate(tmp);
		die("the qnetd sent a certificate for another name, or the "
		    "same serial number; the current certificate was kept");
	}
	slot = PK11_GetInternalKeySlot();
	rv = slot != NULL ? PK11_ImportCert(slot, tmp, CK_INVALID_HANDLE,
	    CLUSTER_NICKNAME, PR_FALSE) : SECFailure;
	if (slot != NULL)
		PK11_FreeSlot(slot);
	if (rv != SECSuccess) {
		CERT_DestroyCertificate(tmp);
		die("can't store the new certificate in %s: %s; the current "
		    "certificate was kept", db_dir, nss_err());
	}
	c = CERT_FindCertByDERCert(db, &tmp->derCert);
	CERT_DestroyCertificate(tmp);
	if (c == NULL)
		die("the new certificate is not in %s after its import",
		    db_dir);
	if ((key = PK11_FindKeyByAnyCert(c, NULL)) == NULL)
		unstore(c, "the qnetd's certificate is not for the key made "
		    "for it");
	SECKEY_DestroyPrivateKey(key);
	if (CERT_DecodeTrustString(&trust, "u,u,u") != SECSuccess ||
	    CERT_ChangeCertTrust(db, c, &trust) != SECSuccess)
		unstore(c, "can't set the new certificate's trust");
	if (CERT_VerifyCertNow(db, c, PR_TRUE, certUsageSSLClient, NULL) !=
	    SECSuccess)
		unstore(c, "the new certificate does not verify against the "
		    "node's QNet CA");
	CERT_DestroyCertificate(c);
	/* Stored and good: only now the old one goes, key and all. */
	if (PK11_DeleteTokenCertAndKey(old_cert, NULL) != SECSuccess)
		fprintf(stderr, "%s: warning: can't delete the old certificate "
		    "and key from %s: %s\n", PROG, db_dir, nss_err());
	SECKEY_DestroyPrivateKey(old_key);
	old_key = NULL;
	CERT_DestroyCertificate(old_cert);
	old_cert = NULL;
}

void
renew_close(void)
{
	if (old_key != NULL)
		SECKEY_DestroyPrivateKey(old_key);
	if (old_cert != NULL)
		CERT_DestroyCertificate(old_cert);
	old_key = NULL;
	old_cert = NULL;
}
