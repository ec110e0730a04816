#include "config.h"

#include <stdio.h>

#include <cert.h>
#include <keyhi.h>
#include <pk11pub.h>
#include <prerror.h>
#include <prtime.h>
#include <secerr.h>

#include "log.h"
#include "tls_cert.h"

/*
 * NSS keeps the certificates it has loaded in a cache that a nickname
 * lookup consults first, so after a rotation (the old certificate deleted,
 * a new one added under the same nickname) PK11_FindCertFromNickname may
 * return the old one, whose key is gone with it.  Look at all of them.
 */
CERTCertificate *
tls_cert_find(const char *nickname)
{
	CERTCertList *list;
	CERTCertListNode *n;
	CERTCertificate *best = NULL;
	SECKEYPrivateKey *key;
	PRTime now = PR_Now(), nb, na, best_nb = 0;
	int rank, best_rank = -1;

	if ((list = PK11_FindCertsFromNickname(nickname, NULL)) == NULL) {
		PR_SetError(SEC_ERROR_UNKNOWN_CERT, 0);
		return NULL;
	}
	for (n = CERT_LIST_HEAD(list); !CERT_LIST_END(n, list);
	    n = CERT_LIST_NEXT(n)) {
		if (CERT_GetCertTimes(n->cert, &nb, &na) != SECSuccess)
			continue;
		rank = 0;
		if ((key = PK11_FindKeyByAnyCert(n->cert, NULL)) != NULL) {
			SECKEY_DestroyPrivateKey(key);
			rank += 2;
		}
		if (nb <= now && now <= na)
			rank += 1;
		if (rank > best_rank || (rank == best_rank && nb > best_nb)) {
			best = n->cert;
			best_rank = rank;
			best_nb = nb;
		}
	}
	if (best != NULL)
		best = CERT_DupCertificate(best);
	CERT_DestroyCertList(list);
	if (best == NULL)
		PR_SetError(SEC_ERROR_UNKNOWN_CERT, 0);
	return best;
}

static void
log_one(CERTCertificate *cert, const char *what)
{
	PRTime nb, na, now = PR_Now();
	PRExplodedTime t;
	char when[64];
	long long days;

	if (CERT_GetCertTimes(cert, &nb, &na) != SECSuccess)
		return;
	PR_ExplodeTime(na, PR_GMTParameters, &t);
	PR_FormatTimeUSEnglish(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
	    &t);
	days = (long long)((na - now) / PR_USEC_PER_SEC / 86400);
	if (na < now)
		log_err("%s '%s' (%s) expired on %s", what,
		    cert->nickname != NULL ? cert->nickname : "",
		    cert->subjectName != NULL ? cert->subjectName : "", when);
	else if (days < TLS_CERT_EXPIRY_WARN_DAYS)
		log_warn("%s '%s' (%s) expires on %s, in %lld days", what,
		    cert->nickname != NULL ? cert->nickname : "",
		    cert->subjectName != NULL ? cert->subjectName : "", when,
		    days);
}

void
tls_cert_log_expiry(CERTCertificate *cert, const char *what)
{
	CERTCertificate *issuer;

	log_one(cert, what);
	if (cert->isRoot)
		return;
	issuer = CERT_FindCertIssuer(cert, PR_Now(), certUsageAnyCA);
	if (issuer != NULL) {
		log_one(issuer, "CA certificate");
		CERT_DestroyCertificate(issuer);
	}
}

SECStatus
tls_cert_client_auth(void *arg, PRFileDesc *fd, CERTDistNames *ca_names,
    CERTCertificate **ret_cert, SECKEYPrivateKey **ret_key)
{
	CERTCertificate *cert;
	SECKEYPrivateKey *key;

	(void)fd;
	(void)ca_names;
	if ((cert = tls_cert_find(arg)) == NULL)
		return SECFailure;
	if ((key = PK11_FindKeyByAnyCert(cert, NULL)) == NULL) {
		CERT_DestroyCertificate(cert);
		PR_SetError(SEC_ERROR_NO_KEY, 0);
		return SECFailure;
	}
	tls_cert_log_expiry(cert, "Client certificate");
	*ret_cert = cert;
	*ret_key = key;
	return SECSuccess;
}
