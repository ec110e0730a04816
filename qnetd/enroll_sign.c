#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cert.h>
#include <cryptohi.h>
#include <keyhi.h>
#include <pk11pub.h>
#include <prtime.h>
#include <secasn1.h>
#include <secder.h>
#include <secerr.h>

#include "enroll_sign.h"

#define DAY_USEC	((PRTime)86400 * PR_USEC_PER_SEC)
/* Clocks of the nodes may lag the arbiter's a little. */
#define BACKDATE_USEC	((PRTime)300 * PR_USEC_PER_SEC)

/* The request, its signature checked; the subject must be CN=<cluster>. */
static CERTCertificateRequest *
decode_request(PLArenaPool *arena, const struct enroll_sign_req *r,
    const char **why)
{
	CERTSignedData sd;
	CERTCertificateRequest *req;
	SECItem der = { siBuffer, (unsigned char *)r->csr,
	    (unsigned)r->csr_len };
	char *subject;
	char want[300];

	memset(&sd, 0, sizeof(sd));
	if ((req = PORT_ArenaZNew(arena, CERTCertificateRequest)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	req->arena = arena;
	if (SEC_QuickDERDecodeItem(arena, &sd,
	    SEC_ASN1_GET(CERT_SignedDataTemplate), &der) != SECSuccess ||
	    SEC_QuickDERDecodeItem(arena, req,
	    SEC_ASN1_GET(CERT_CertificateRequestTemplate), &sd.data) !=
	    SECSuccess) {
		*why = "the certificate request can't be decoded";
		return NULL;
	}
	/* Proof that the requester holds the key it asks a certificate for. */
	if (CERT_VerifySignedDataWithPublicKeyInfo(&sd,
	    &req->subjectPublicKeyInfo, NULL) != SECSuccess) {
		*why = "the certificate request's signature is wrong";
		return NULL;
	}
	if ((size_t)snprintf(want, sizeof(want), "CN=%s", r->cluster) >=
	    sizeof(want)) {
		*why = "the cluster name is too long";
		return NULL;
	}
	subject = CERT_NameToAscii(&req->subject);
	if (subject == NULL || strcmp(subject, want) != 0) {
		PORT_Free(subject);
		*why = "the certificate request is not for CN=<cluster name>";
		return NULL;
	}
	PORT_Free(subject);
	return req;
}

/* Fill in the to-be-signed part and sign it with the CA key. */
static int
sign_cert(PLArenaPool *arena, CERTCertificate *cert, SECKEYPrivateKey *key,
    SECItem *out)
{
	SECOidTag alg;
	SECItem tbs = { siBuffer, NULL, 0 };

	alg = SEC_GetSignatureAlgorithmOidTag(key->keyType, SEC_OID_SHA256);
	if (alg == SEC_OID_UNKNOWN ||
	    SECOID_SetAlgorithmID(cert->arena, &cert->signature, alg, NULL) !=
	    SECSuccess)
		return -1;
	/* X.509 v3, as certutil -C makes them. */
	if (SEC_ASN1EncodeInteger(cert->arena, &cert->version,
	    SEC_CERTIFICATE_VERSION_3) == NULL)
		return -1;
	if (SEC_ASN1EncodeItem(arena, &tbs, cert,
	    SEC_ASN1_GET(CERT_CertificateTemplate)) == NULL)
		return -1;
	return SEC_DerSignData(arena, out, tbs.data, (int)tbs.len, key, alg) ==
	    SECSuccess ? 0 : -1;
}

int
enroll_sign(const struct enroll_sign_req *r, uint8_t **cert_out,
    size_t *cert_len, const char **why)
{
	PLArenaPool *arena;
	CERTCertificateRequest *req;
	CERTCertificate *ca = NULL, *cert = NULL;
	SECKEYPrivateKey *key = NULL;
	CERTValidity *validity = NULL;
	SECItem signed_der = { siBuffer, NULL, 0 };
	PRTime now = PR_Now();
	int rc = -1;

	*cert_out = NULL;
	*cert_len = 0;
	if (r->lifetime_days < 1 || r->lifetime_days > ENROLL_SIGN_MAX_DAYS) {
		*why = "the certificate lifetime is out of range";
		return -1;
	}
	if ((arena = PORT_NewArena(DER_DEFAULT_CHUNKSIZE)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	if ((req = decode_request(arena, r, why)) == NULL)
		goto out;
	*why = "the CA certificate or its key is not in the database";
	if ((ca = CERT_FindCertByNickname(CERT_GetDefaultCertDB(),
	    r->ca_nickname)) == NULL ||
	    (key = PK11_FindKeyByAnyCert(ca, NULL)) == NULL)
		goto out;
	*why = "NSS can't make the certificate";
	if ((validity = CERT_CreateValidity(now - BACKDATE_USEC,
	    now + (PRTime)r->lifetime_days * DAY_USEC)) == NULL ||
	    (cert = CERT_CreateCertificate((unsigned long)r->serial,
	    &ca->subject, validity, req)) == NULL)
		goto out;
	if (sign_cert(arena, cert, key, &signed_der) != 0)
		goto out;
	if ((*cert_out = malloc(signed_der.len)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	memcpy(*cert_out, signed_der.data, signed_der.len);
	*cert_len = signed_der.len;
	*why = NULL;
	rc = 0;
out:
	if (cert != NULL)
		CERT_DestroyCertificate(cert);
	if (validity != NULL)
		CERT_DestroyValidity(validity);
	if (key != NULL)
		SECKEY_DestroyPrivateKey(key);
	if (ca != NULL)
		CERT_DestroyCertificate(ca);
	PORT_FreeArena(arena, PR_FALSE);
	return rc;
}
