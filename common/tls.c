#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cert.h>
#include <keyhi.h>
#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <prinit.h>
#include <prio.h>
#include <secerr.h>
#include <ssl.h>
#include <sslerr.h>

#include "conn.h"
#include "log.h"
#include "tls.h"
#include "tls_anchor.h"
#include "tls_cert.h"
#include "tls_ossl.h"

struct tls_server {
	PRFileDesc *model;	/* settings copied into every accepted socket */
	struct tls_anchors *anchors;	/* NULL: NSS checks every client */
	int require;		/* a client certificate is required */
	CERTCertificate *cert;	/* the one served, for expiry checks */
	struct tls_ossl *ossl;	/* OpenSSL serves instead (tls_backend) */
};

struct tls_client {
	PRFileDesc *model;
	char *server_cn;
	char *nickname;		/* NULL: never send a certificate */
};

int
tls_init(const char *db_dir)
{
	char spec[PATH_MAX + 8];

	if (db_dir == NULL) {
		if (NSS_NoDB_Init(NULL) != SECSuccess)
			return -1;
	} else {
		if ((size_t)snprintf(spec, sizeof(spec), "sql:%s", db_dir) >=
		    sizeof(spec)) {
			PR_SetError(PR_NAME_TOO_LONG_ERROR, 0);
			return -1;
		}
		/*
		 * Read-only, like NSS_Init, but without NSS_INIT_OPTIMIZESPACE,
		 * which NSS_Init implies: it gives the softoken 32 buckets for
		 * its PKCS#11 sessions and session objects instead of 1024.
		 * Every TLS connection keeps a few of each (record cipher
		 * contexts, keys), and every PKCS#11 call walks a bucket, so
		 * with 32 the cost of a handshake grew with the number of
		 * live connections (350/s at 1,000 fell to 50/s at 4,000).
		 */
		if (NSS_Initialize(spec, "", "", SECMOD_DB, NSS_INIT_READONLY) !=
		    SECSuccess)
			return -1;
	}
	if (NSS_SetDomesticPolicy() != SECSuccess) {
		NSS_Shutdown();
		return -1;
	}
	return 0;
}

int
tls_shutdown(void)
{
	int rc;

	SSL_ClearSessionCache();
	rc = NSS_Shutdown() == SECSuccess ? 0 : -1;
	PR_Cleanup();
	return rc;
}

/* A socket that only carries settings for SSL_ImportFD. */
static PRFileDesc *
model_new(PRBool as_server)
{
	PRFileDesc *tcp, *model;

	if ((tcp = PR_NewTCPSocket()) == NULL)
		return NULL;
	if ((model = SSL_ImportFD(NULL, tcp)) == NULL) {
		PR_Close(tcp);
		return NULL;
	}
	/*
	 * Tickets: a qdevice that reconnects resumes its session (TLS 1.3
	 * PSK with a fresh ECDHE) and skips the certificate signatures and
	 * checks, most of a full handshake's cost (issue 15).  The client
	 * certificate, and so the cluster it binds (D25), comes back with
	 * the session.
	 */
	if (SSL_OptionSet(model, SSL_SECURITY, PR_TRUE) != SECSuccess ||
	    SSL_OptionSet(model, SSL_ENABLE_SESSION_TICKETS, PR_TRUE) !=
	    SECSuccess ||
	    SSL_OptionSet(model, SSL_HANDSHAKE_AS_SERVER, as_server) !=
	    SECSuccess ||
	    SSL_OptionSet(model, SSL_HANDSHAKE_AS_CLIENT, !as_server) !=
	    SECSuccess) {
		PR_Close(model);
		return NULL;
	}
	return model;
}

/*
 * A client certificate, judged against today's database: in memory when
 * the anchors vouch for it, else by NSS (which sets the error).
 */
static int
tls_server_accepts(const struct tls_server *s, CERTCertificate *cert)
{
	return tls_anchors_accept(s->anchors, cert, NULL) ||
	    CERT_VerifyCertNow(CERT_GetDefaultCertDB(), cert, PR_TRUE,
	    certUsageSSLClient, NULL) == SECSuccess;
}

/*
 * With OpenSSL serving, a context for the certificate the NSS model now
 * holds; it replaces the old one only once it is complete.
 */
static int
server_ossl_config(struct tls_server *s)
{
	SECKEYPrivateKey *key;
	struct tls_ossl *o;

	if ((key = PK11_FindKeyByAnyCert(s->cert, NULL)) == NULL) {
		PR_SetError(SEC_ERROR_NO_KEY, 0);
		return -1;
	}
	o = tls_ossl_new(s->cert, key, s->require, s->anchors);
	SECKEY_DestroyPrivateKey(key);
	if (o == NULL)
		return -1;
	tls_ossl_free(s->ossl);
	s->ossl = o;
	return 0;
}

/*
 * NSS's default check of a client certificate, but a certificate that the
 * anchors read at start-up vouch for skips NSS's database searches (see
 * tls_anchor.h).  Everything else, refusals included, is NSS's own check.
 */
static SECStatus
auth_client_cert(void *arg, PRFileDesc *fd, PRBool check_sig,
    PRBool is_server)
{
	const struct tls_server *s = arg;
	CERTCertificate *cert;
	int ok = 0;

	if (check_sig && is_server && (cert = SSL_PeerCertificate(fd)) != NULL) {
		ok = tls_anchors_accept(s->anchors, cert, SSL_RevealPinArg(fd));
		CERT_DestroyCertificate(cert);
	}
	if (ok)
		return SECSuccess;
	return SSL_AuthCertificate(CERT_GetDefaultCertDB(), fd, check_sig,
	    is_server);
}

static SECStatus
server_model_config(struct tls_server *s, const char *nickname, int require)
{
	PRFileDesc *model = s->model;
	CERTCertificate *cert;
	SECKEYPrivateKey *key;
	SECStatus rv = SECFailure;

	if ((cert = tls_cert_find(nickname)) == NULL)
		return SECFailure;
	if ((key = PK11_FindKeyByAnyCert(cert, NULL)) == NULL) {
		PR_SetError(SEC_ERROR_NO_KEY, 0);
		goto out;
	}
	/* The model keeps its own references to cert and key. */
	if (SSL_ConfigServerCert(model, cert, key, NULL, 0) != SECSuccess)
		goto out;
	if (SSL_AuthCertificateHook(model, auth_client_cert, s) != SECSuccess)
		goto out;
	if (SSL_OptionSet(model, SSL_REQUEST_CERTIFICATE, require != 0) !=
	    SECSuccess ||
	    SSL_OptionSet(model, SSL_REQUIRE_CERTIFICATE,
	    require ? SSL_REQUIRE_ALWAYS : SSL_REQUIRE_NEVER) != SECSuccess)
		goto out;
	rv = SECSuccess;
	tls_cert_log_expiry(cert, "Server certificate");
	if (s->cert != NULL)
		CERT_DestroyCertificate(s->cert);
	s->cert = cert;
	cert = NULL;
out:
	if (key != NULL)
		SECKEY_DestroyPrivateKey(key);
	if (cert != NULL)
		CERT_DestroyCertificate(cert);
	return rv;
}

struct tls_server *
tls_server_new(const char *cert_nickname, int require_client_cert,
    enum tls_backend backend)
{
	struct tls_server *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		PR_SetError(PR_OUT_OF_MEMORY_ERROR, 0);
		return NULL;
	}
	s->require = require_client_cert;
	if ((s->model = model_new(PR_TRUE)) == NULL)
		goto fail;
	if (server_model_config(s, cert_nickname, require_client_cert) !=
	    SECSuccess)
		goto fail;
	/* Without anchors (none fits, or no memory) NSS checks everybody. */
	if (require_client_cert)
		s->anchors = tls_anchors_load();
	/* A server handshake needs the session cache; one per process. */
	if (SSL_ConfigServerSessionIDCache(0, 0, 0, NULL) != SECSuccess)
		goto fail;
	if (backend == TLS_BACKEND_OPENSSL && server_ossl_config(s) != 0)
		goto fail;
	return s;
fail:
	if (s->model != NULL)
		PR_Close(s->model);
	if (s->cert != NULL)
		CERT_DestroyCertificate(s->cert);
	tls_anchors_free(s->anchors);
	free(s);
	return NULL;
}

int
tls_server_reload(struct tls_server *s, const char *cert_nickname)
{
	PRFileDesc *old = s->model;
	CERTCertificate *old_cert;
	struct tls_anchors *anchors;
	PRErrorCode err;

	/*
	 * A new model: SSL_ConfigServerCert on the old one would replace only
	 * a certificate of the same key type, so an RSA certificate rotated
	 * to ECDSA would still be offered.  Sockets accepted before keep
	 * their own copy of the old settings.
	 */
	if ((s->model = model_new(PR_TRUE)) == NULL) {
		s->model = old;
		return -1;
	}
	/* Kept until the OpenSSL context, if any, is built too. */
	old_cert = s->cert != NULL ? CERT_DupCertificate(s->cert) : NULL;
	if (server_model_config(s, cert_nickname, s->require) != SECSuccess) {
		err = PR_GetError();
		PR_Close(s->model);
		s->model = old;
		if (old_cert != NULL)
			CERT_DestroyCertificate(old_cert);
		PR_SetError(err, 0);
		return -1;
	}
	/*
	 * The CAs may have changed with it; used only inside a check.  None
	 * that fit (or no memory) leaves every client to NSS: old anchors
	 * could vouch for a CA the database no longer trusts.
	 */
	if (s->require) {
		anchors = tls_anchors_load();
		tls_anchors_free(s->anchors);
		s->anchors = anchors;
	}
	if (s->ossl != NULL && server_ossl_config(s) != 0) {
		err = PR_GetError();
		PR_Close(s->model);
		s->model = old;
		CERT_DestroyCertificate(s->cert);
		s->cert = old_cert;
		PR_SetError(err, 0);
		return -1;
	}
	if (old_cert != NULL)
		CERT_DestroyCertificate(old_cert);
	PR_Close(old);
	return 0;
}

void
tls_server_free(struct tls_server *s)
{
	if (s == NULL)
		return;
	PR_Close(s->model);
	if (s->cert != NULL)
		CERT_DestroyCertificate(s->cert);
	tls_ossl_free(s->ossl);
	tls_anchors_free(s->anchors);
	SSL_ShutdownServerSessionIDCache();
	free(s);
}

size_t
tls_server_expiring(const struct tls_server *s, struct tls_expiry *out,
    size_t max)
{
	if (s->cert == NULL)
		return 0;
	return tls_cert_expiring(s->cert, "Server certificate", out, max);
}

size_t
tls_client_expiring(const struct tls_client *cl, struct tls_expiry *out,
    size_t max)
{
	CERTCertificate *cert;
	size_t n;

	if (cl->nickname == NULL || (cert = tls_cert_find(cl->nickname)) ==
	    NULL)
		return 0;
	n = tls_cert_expiring(cert, "Client certificate", out, max);
	CERT_DestroyCertificate(cert);
	return n;
}

int
tls_client_cert_changed(const struct tls_client *cl, const struct conn *c)
{
	CERTCertificate *sent, *now;
	int changed;

	if (c == NULL || c->tls == NULL || !c->handshake_done)
		return -1;
	now = cl->nickname != NULL ? tls_cert_find(cl->nickname) : NULL;
	sent = SSL_LocalCertificate(c->tls);
	if (now == NULL || sent == NULL)
		changed = now != sent;
	else
		changed = SECITEM_CompareItem(&now->derCert, &sent->derCert) !=
		    SECEqual;
	if (now != NULL)
		CERT_DestroyCertificate(now);
	if (sent != NULL)
		CERT_DestroyCertificate(sent);
	return changed;
}

void
tls_client_forget_sessions(void)
{
	SSL_ClearSessionCache();
}

int
tls_client_reload(const struct tls_client *cl)
{
	CERTCertificate *cert;
	PRExplodedTime t;
	PRTime nb, na;
	char when[64] = "";

	if (cl->nickname == NULL)
		return 0;
	if ((cert = tls_cert_find(cl->nickname)) == NULL)
		return -1;
	if (CERT_GetCertTimes(cert, &nb, &na) == SECSuccess) {
		PR_ExplodeTime(na, PR_GMTParameters, &t);
		PR_FormatTimeUSEnglish(when, sizeof(when),
		    "%Y-%m-%d %H:%M:%S UTC", &t);
	}
	log_notice("Client certificate '%s' (%s, valid until %s) is used "
	    "from the next connection", cl->nickname,
	    cert->subjectName != NULL ? cert->subjectName : "", when);
	tls_cert_log_expiry(cert, "Client certificate");
	CERT_DestroyCertificate(cert);
	return 0;
}

static int
is_expiry_error(long err)
{
	switch (err) {
	case SEC_ERROR_EXPIRED_CERTIFICATE:
	case SEC_ERROR_EXPIRED_ISSUER_CERTIFICATE:
	case SEC_ERROR_CRL_EXPIRED:
	case SEC_ERROR_KRL_EXPIRED:
	case SSL_ERROR_EXPIRED_CERT_ALERT:
		return 1;
	default:
		return 0;
	}
}

/*
 * The default check stops at its first error, so an expired certificate
 * would hide an untrusted issuer or a wrong name.  Verify again with a log
 * that lists every problem, and check the name the default check skipped.
 */
static int
only_expired(PRFileDesc *fd, PRBool check_sig, const char *server_cn)
{
	CERTCertificate *cert;
	CERTVerifyLog vlog;
	CERTVerifyLogNode *n;
	SECStatus rv;
	int ok;

	if ((cert = SSL_PeerCertificate(fd)) == NULL)
		return 0;
	memset(&vlog, 0, sizeof(vlog));
	if ((vlog.arena = PORT_NewArena(512)) == NULL) {
		CERT_DestroyCertificate(cert);
		return 0;
	}
	rv = CERT_VerifyCert(CERT_GetDefaultCertDB(), cert, check_sig,
	    certUsageSSLServer, PR_Now(), SSL_RevealPinArg(fd), &vlog);
	/* A failure that logged no reason is not known to be expiry. */
	ok = rv == SECSuccess || vlog.count > 0;
	for (n = vlog.head; n != NULL; n = n->next) {
		if (!is_expiry_error(n->error))
			ok = 0;
		CERT_DestroyCertificate(n->cert);
	}
	if (ok && CERT_VerifyCertName(cert, server_cn) != SECSuccess)
		ok = 0;
	PORT_FreeArena(vlog.arena, PR_FALSE);
	CERT_DestroyCertificate(cert);
	return ok;
}

/* The default verification (chain and name), tolerating only expiry. */
static SECStatus
auth_server_cert(void *arg, PRFileDesc *fd, PRBool check_sig,
    PRBool is_server)
{
	const struct tls_client *cl = arg;
	PRErrorCode err;

	if (SSL_AuthCertificate(CERT_GetDefaultCertDB(), fd, check_sig,
	    is_server) == SECSuccess)
		return SECSuccess;
	err = PR_GetError();
	if (!is_expiry_error(err) || !only_expired(fd, check_sig,
	    cl->server_cn)) {
		PR_SetError(err, 0);
		return SECFailure;
	}
	log_warn("Server certificate is expired.");
	return SECSuccess;
}

static SECStatus
client_model_config(struct tls_client *cl)
{
	/* The name checked in the server certificate, not the host name. */
	if (SSL_SetURL(cl->model, cl->server_cn) != SECSuccess ||
	    SSL_AuthCertificateHook(cl->model, auth_server_cert, cl) !=
	    SECSuccess)
		return SECFailure;
	if (cl->nickname == NULL)
		return SECSuccess;
	/* Looked up at each handshake: a renewed certificate is used. */
	return SSL_GetClientAuthDataHook(cl->model, tls_cert_client_auth,
	    cl->nickname);
}

struct tls_client *
tls_client_new(const char *server_cn, const char *client_cert_nickname)
{
	struct tls_client *cl;

	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		goto nomem;
	if ((cl->server_cn = strdup(server_cn)) == NULL)
		goto nomem;
	if (client_cert_nickname != NULL &&
	    (cl->nickname = strdup(client_cert_nickname)) == NULL)
		goto nomem;
	if ((cl->model = model_new(PR_FALSE)) == NULL ||
	    client_model_config(cl) != SECSuccess)
		goto fail;
	return cl;
nomem:
	PR_SetError(PR_OUT_OF_MEMORY_ERROR, 0);
fail:
	tls_client_free(cl);
	return NULL;
}

void
tls_client_free(struct tls_client *cl)
{
	if (cl == NULL)
		return;
	if (cl->model != NULL)
		PR_Close(cl->model);
	free(cl->server_cn);
	free(cl->nickname);
	free(cl);
}

PRFileDesc *
tls_server_wrap(const struct tls_server *s, PRFileDesc *tcp)
{
	return SSL_ImportFD(s->model, tcp);
}

PRFileDesc *
tls_client_wrap(const struct tls_client *cl, PRFileDesc *tcp)
{
	return SSL_ImportFD(cl->model, tcp);
}

const struct tls_ossl *
tls_server_ossl(const struct tls_server *s)
{
	return s->ossl;
}

const char *
tls_server_library(const struct tls_server *s)
{
	return s->ossl != NULL ? tls_ossl_library() : "NSS " NSS_VERSION;
}

const char *
tls_error(void)
{
	PRErrorCode err = PR_GetError();
	const char *s;

	if ((s = tls_ossl_error()) != NULL)
		return s;
	if ((s = PR_ErrorToString(err, PR_LANGUAGE_I_DEFAULT)) != NULL &&
	    *s != '\0')
		return s;
	if ((s = PR_ErrorToName(err)) != NULL)
		return s;
	return "unknown NSS error";
}

/* The caller checks the certificate after the handshake. */
static SECStatus
accept_for_later(void *arg, PRFileDesc *fd, PRBool check_sig,
    PRBool is_server)
{
	(void)arg;
	(void)fd;
	(void)check_sig;
	(void)is_server;
	return SECSuccess;
}

int
tls_server_unchecked(PRFileDesc *ssl)
{
	return SSL_OptionSet(ssl, SSL_REQUEST_CERTIFICATE, PR_TRUE) !=
	    SECSuccess || SSL_OptionSet(ssl, SSL_REQUIRE_CERTIFICATE,
	    SSL_REQUIRE_NEVER) != SECSuccess ||
	    SSL_OptionSet(ssl, SSL_NO_CACHE, PR_TRUE) != SECSuccess ||
	    SSL_OptionSet(ssl, SSL_ENABLE_SESSION_TICKETS, PR_FALSE) !=
	    SECSuccess ||
	    SSL_AuthCertificateHook(ssl, accept_for_later, NULL) !=
	    SECSuccess ? -1 : 0;
}

int
tls_resumed(PRFileDesc *fd)
{
	SSLChannelInfo info;

	if (SSL_GetChannelInfo(fd, &info, sizeof(info)) != SECSuccess)
		return 0;
	return info.resumed != 0;
}

/*
 * A resumed session skips the certificate check of a full handshake, so
 * the certificate it brings back is checked against today's trust (the
 * database may have been reloaded since the ticket was issued): in memory
 * when the anchors vouch for it, else by NSS.
 */
int
tls_server_recheck(const struct tls_server *s, const struct conn *c)
{
	CERTCertificate *cert;
	int ok;

	if (c->tls == NULL || !c->tls_resumed)
		return 1;
	if (s->ossl != NULL)
		return conn_peer_trusted(c);
	if ((cert = conn_peer_cert(c)) == NULL)
		return 0;
	ok = tls_server_accepts(s, cert);
	CERT_DestroyCertificate(cert);
	return ok;
}

int
tls_cert_not_after(const char *cert_nickname, long long *t)
{
	CERTCertificate *cert;
	PRTime before, after;
	int rc = -1;

	if ((cert = PK11_FindCertFromNickname(cert_nickname, NULL)) == NULL)
		return -1;
	if (CERT_GetCertTimes(cert, &before, &after) == SECSuccess) {
		*t = (long long)(after / PR_USEC_PER_SEC);
		rc = 0;
	}
	CERT_DestroyCertificate(cert);
	return rc;
}
