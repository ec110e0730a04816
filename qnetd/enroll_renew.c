#include "config.h"

#include <stdio.h>
#include <string.h>

#include <cert.h>
#include <keyhi.h>
#include <prtime.h>

#include "enroll_renew.h"
#include "tls_cert.h"

/* Signed with the CA's key: issued by this qnetd, whatever else it trusts. */
static int
signed_by(CERTCertificate *cert, CERTCertificate *ca)
{
	SECKEYPublicKey *pk = CERT_ExtractPublicKey(ca);
	int ok;

	if (pk == NULL)
		return 0;
	ok = CERT_VerifySignedDataWithPublicKey(&cert->signatureWrap, pk,
	    NULL) == SECSuccess;
	SECKEY_DestroyPublicKey(pk);
	return ok;
}

static int
subject_is(CERTCertificate *cert, const char *cluster)
{
	char want[300], *subject;
	int ok;

	if ((size_t)snprintf(want, sizeof(want), "CN=%s", cluster) >=
	    sizeof(want))
		return 0;
	subject = CERT_NameToAscii(&cert->subject);
	ok = subject != NULL && strcmp(subject, want) == 0;
	PORT_Free(subject);
	return ok;
}

static const char *
check(CERTCertificate *cert, CERTCertificate *ca, const char *cluster)
{
	if (!signed_by(cert, ca))
		return "the node's certificate was not issued by this qnetd's "
		    "CA: enrol again with a token of this qnetd";
	switch (CERT_CheckCertValidTimes(cert, PR_Now(), PR_FALSE)) {
	case secCertTimeValid:
		break;
	case secCertTimeExpired:
		return "the node's certificate has expired: renewal needs a "
		    "valid one; enrol again with a token "
		    "(corosync-qnetd-certutil -t, corosync-qdevice-net-certutil "
		    "-e)";
	default:
		return "the node's certificate is not valid yet";
	}
	if (!subject_is(cert, cluster))
		return "the node's certificate is for another cluster";
	return NULL;
}

int
enroll_renew_check(const struct conn *conn, const char *cluster,
    const char *ca_nickname, char *serial, size_t serial_size,
    const char **why)
{
	CERTCertificate *cert, *ca;
	char *hex;

	if ((cert = conn_peer_cert(conn)) == NULL) {
		*why = "the node presented no certificate: renewal needs its "
		    "current one";
		return -1;
	}
	if ((ca = tls_cert_find(ca_nickname)) == NULL) {
		CERT_DestroyCertificate(cert);
		*why = "the QNet CA is not in the database";
		return -1;
	}
	*why = check(cert, ca, cluster);
	if (*why == NULL) {
		hex = CERT_Hexify(&cert->serialNumber, 0);
		snprintf(serial, serial_size, "%s", hex != NULL ? hex : "?");
		PORT_Free(hex);
	}
	CERT_DestroyCertificate(ca);
	CERT_DestroyCertificate(cert);
	return *why == NULL ? 0 : -1;
}
