#include "config.h"

#include <stdio.h>
#include <string.h>

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

/* 1 and x filled when cert has expired or expires soon, else 0. */
static int
expiry_of(CERTCertificate *cert, const char *what, struct tls_expiry *x)
{
	PRTime nb, na, now = PR_Now();
	PRExplodedTime t;
	char serial[80] = "";
	size_t off = 0;

	if (CERT_GetCertTimes(cert, &nb, &na) != SECSuccess)
		return 0;
	memset(x, 0, sizeof(*x));
	x->expired = na < now;
	x->days = x->expired ? 0 :
	    (long long)((na - now) / PR_USEC_PER_SEC / 86400);
	if (!x->expired && x->days >= TLS_CERT_EXPIRY_WARN_DAYS)
		return 0;
	PR_ExplodeTime(na, PR_GMTParameters, &t);
	PR_FormatTimeUSEnglish(x->when, sizeof(x->when),
	    "%Y-%m-%d %H:%M:%S UTC", &t);
	snprintf(x->what, sizeof(x->what), "%s", what);
	snprintf(x->nickname, sizeof(x->nickname), "%s",
	    cert->nickname != NULL ? cert->nickname : "");
	snprintf(x->subject, sizeof(x->subject), "%s",
	    cert->subjectName != NULL ? cert->subjectName : "");
	for (unsigned i = 0; i < cert->serialNumber.len &&
	    off + 3 < sizeof(serial); i++)
		off += (size_t)snprintf(serial + off, sizeof(serial) - off,
		    "%02x", cert->serialNumber.data[i]);
	snprintf(x->id, sizeof(x->id), "%s|%s|%s", x->subject, serial,
	    x->when);
	return 1;
}

void
tls_expiry_text(const struct tls_expiry *x, char *buf, size_t len)
{
	if (x->expired)
		snprintf(buf, len, "%s '%s' (%s) expired on %s", x->what,
		    x->nickname, x->subject, x->when);
	else
		snprintf(buf, len, "%s '%s' (%s) expires on %s, in %lld "
		    "day%s", x->what, x->nickname, x->subject, x->when,
		    x->days, x->days == 1 ? "" : "s");
}

void
tls_expiry_log(const struct tls_expiry *x)
{
	char text[512];

	tls_expiry_text(x, text, sizeof(text));
	if (x->expired)
		log_err("%s", text);
	else
		log_warn("%s", text);
}

size_t
tls_cert_expiring(CERTCertificate *cert, const char *what,
    struct tls_expiry *out, size_t max)
{
	CERTCertificate *issuer;
	size_t n = 0;

	if (n < max && expiry_of(cert, what, &out[n]))
		n++;
	if (cert->isRoot || n >= max)
		return n;
	issuer = CERT_FindCertIssuer(cert, PR_Now(), certUsageAnyCA);
	if (issuer != NULL) {
		if (expiry_of(issuer, "CA certificate", &out[n]))
			n++;
		CERT_DestroyCertificate(issuer);
	}
	return n;
}

void
tls_cert_log_expiry(CERTCertificate *cert, const char *what)
{
	struct tls_expiry x[2];
	size_t n = tls_cert_expiring(cert, what, x, 2);

	for (size_t i = 0; i < n; i++)
		tls_expiry_log(&x[i]);
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
