#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cert.h>
#include <keyhi.h>
#include <pk11pub.h>
#include <prerror.h>
#include <private/pprthred.h>
#include <secasn1.h>
#include <secoid.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "tls_ossl.h"
#include "tls_ossl_anchor.h"

/* Our NSS error code for "OpenSSL failed"; outside NSS's own ranges. */
#define OSSL_PR_ERROR		(-11500)
/* The password the key travels under from NSS to OpenSSL, in memory. */
#define WRAP_PW_LEN		32

/*
 * Freed with its SSL_CTX (ex data), when the last connection made with it
 * is gone: such a connection may still ask for its check after a reload.
 */
struct tls_ossl {
	SSL_CTX *ctx;
	struct tls_ossl_anchors *fast;	/* NULL: NSS checks every client */
};

static int ctx_index = -1;

static __thread char ossl_err[256];
/* This thread called into NSS/NSPR (tls_ossl_thread_done()). */
static __thread int nspr_attached;

void
tls_ossl_set_error(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[200];

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "no OpenSSL error recorded");
	snprintf(ossl_err, sizeof(ossl_err), "%s: %s", what, reason);
	ERR_clear_error();
	nspr_attached = 1;
	PR_SetError(OSSL_PR_ERROR, 0);
}

void
tls_ossl_restore_error(const char *text)
{
	snprintf(ossl_err, sizeof(ossl_err), "%s", text);
	nspr_attached = 1;
	PR_SetError(OSSL_PR_ERROR, 0);
}

/*
 * NSPR adopts a foreign thread the first time it calls in, and PR_Cleanup()
 * at exit would wait for (and trip over) pool threads it adopted.
 */
void
tls_ossl_thread_done(void)
{
	if (nspr_attached) {
		nspr_attached = 0;
		PR_DetachThread();
	}
}

const char *
tls_ossl_error(void)
{
	nspr_attached = 1;
	return PR_GetError() == OSSL_PR_ERROR ? ossl_err : NULL;
}

int
tls_ossl_pr_error(void)
{
	nspr_attached = 1;
	return PR_GetError();
}

const char *
tls_ossl_library(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

CERTCertificate *
tls_ossl_nss_cert(X509 *x)
{
	unsigned char *der = NULL;
	CERTCertificate *cert;
	SECItem item;
	int len;

	if ((len = i2d_X509(x, &der)) <= 0) {
		tls_ossl_set_error("encoding a certificate");
		return NULL;
	}
	item = (SECItem){ siDERCertBuffer, der, (unsigned int)len };
	cert = CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &item, NULL,
	    PR_FALSE, PR_TRUE);
	OPENSSL_free(der);
	return cert;
}

/*
 * NSS keeps a database key unextractable in the clear, so it leaves
 * wrapped under a random password (PKCS#8, PBES2 with AES-256, as pk12util
 * would export it) and OpenSSL unwraps it.  Nothing touches the disk.
 */
static EVP_PKEY *
key_from_nss(SECKEYPrivateKey *key)
{
	unsigned char pw[WRAP_PW_LEN + 1];
	SECItem pwitem = { siBuffer, pw, WRAP_PW_LEN }, der = { 0 };
	SECKEYEncryptedPrivateKeyInfo *epki;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *sig = NULL;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p;
	size_t i;

	if (PK11_GenerateRandom(pw, WRAP_PW_LEN) != SECSuccess)
		return NULL;
	for (i = 0; i < WRAP_PW_LEN; i++)
		pw[i] = (unsigned char)('a' + pw[i] % 26);
	pw[WRAP_PW_LEN] = '\0';
	epki = PK11_ExportEncryptedPrivKeyInfoV2(NULL, SEC_OID_PKCS5_PBES2,
	    SEC_OID_AES_256_CBC, SEC_OID_HMAC_SHA256, &pwitem, key, 1, NULL);
	if (epki == NULL)
		goto out;
	if (SEC_ASN1EncodeItem(NULL, &der, epki,
	    SECKEY_EncryptedPrivateKeyInfoTemplate) == NULL)
		goto out;
	p = der.data;
	if ((sig = d2i_X509_SIG(NULL, &p, (long)der.len)) == NULL ||
	    (p8 = PKCS8_decrypt(sig, (const char *)pw, WRAP_PW_LEN)) == NULL ||
	    (pkey = EVP_PKCS82PKEY(p8)) == NULL)
		tls_ossl_set_error("unwrapping the server key");
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_SIG_free(sig);
	SECITEM_FreeItem(&der, PR_FALSE);
	if (epki != NULL)
		SECKEY_DestroyEncryptedPrivateKeyInfo(epki, PR_TRUE);
	return pkey;
}

/* A marker in an SSL's app data: renewal, the caller checks the cert. */
static char unchecked;

/*
 * In memory when the fast check vouches for it; else the certificate goes
 * to NSS as a temporary one, with the intermediates the client sent, and
 * NSS judges it against the database as on the NSS back end.
 */
static int
check_client(const struct tls_ossl *o, X509 *leaf, STACK_OF(X509) *chain)
{
	CERTCertificate *cert, *held[8];
	int i, n = 0, ok;

	if (tls_ossl_anchors_accept(o->fast, leaf))
		return 1;
	nspr_attached = 1;
	if ((cert = tls_ossl_nss_cert(leaf)) == NULL)
		return 0;
	for (i = 1; chain != NULL && i < sk_X509_num(chain) && n < 8; i++)
		if ((held[n] = tls_ossl_nss_cert(sk_X509_value(chain, i))) !=
		    NULL)
			n++;
	/* The database only, no shared state: this may run on a worker. */
	ok = CERT_VerifyCertNow(CERT_GetDefaultCertDB(), cert, PR_TRUE,
	    certUsageSSLClient, NULL) == SECSuccess;
	CERT_DestroyCertificate(cert);
	while (n > 0)
		CERT_DestroyCertificate(held[--n]);
	return ok;
}

/* OpenSSL's whole chain check, replaced by check_client(). */
static int
verify_client(X509_STORE_CTX *xs, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());

	if (ssl != NULL && SSL_get_app_data(ssl) == &unchecked)
		return 1;
	if (check_client(arg, X509_STORE_CTX_get0_cert(xs),
	    X509_STORE_CTX_get0_untrusted(xs)))
		return 1;
	X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
	return 0;
}

int
tls_ossl_peer_trusted(SSL *ssl)
{
	const struct tls_ossl *o = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
	    ctx_index);
	X509 *leaf = SSL_get0_peer_certificate(ssl);

	return o != NULL && leaf != NULL && check_client(o, leaf, NULL);
}

static int
ctx_setup(struct tls_ossl *o, CERTCertificate *cert, SECKEYPrivateKey *key,
    int require)
{
	static const unsigned char sid_ctx[] = "corosync-qnetd";
	EVP_PKEY *pkey;
	X509 *x;
	const unsigned char *p = cert->derCert.data;
	int rc = -1;

	if ((x = d2i_X509(NULL, &p, (long)cert->derCert.len)) == NULL) {
		tls_ossl_set_error("reading the server certificate");
		return -1;
	}
	if ((pkey = key_from_nss(key)) == NULL)
		goto out;
	if (SSL_CTX_use_certificate(o->ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(o->ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(o->ctx) != 1) {
		tls_ossl_set_error("loading the server certificate and key");
		goto out;
	}
	/*
	 * Small, steady connections: buffers only while a record moves, no
	 * renegotiation, and a peer that closes without close_notify is an
	 * end of file, as with NSS.
	 *
	 * No session tickets: OpenSSL 3.0 pays for each ticket it issues
	 * with a copy of the session through DER (the client certificate
	 * parsed again, 16 % of a full handshake), and a resumed handshake
	 * parses the certificate out of the ticket, so resuming cost qnetd
	 * as much as a full handshake (1.09 against 0.95 ms, issue 15).
	 */
	SSL_CTX_set_mode(o->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(o->ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_options(o->ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(o->ctx, 0);
	SSL_CTX_set_session_cache_mode(o->ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_session_id_context(o->ctx, sid_ctx,
	    sizeof(sid_ctx) - 1) != 1) {
		tls_ossl_set_error("setting up sessions");
		goto out;
	}
	SSL_CTX_set_verify(o->ctx, require ? SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_cert_verify_callback(o->ctx, verify_client, o);
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	X509_free(x);
	return rc;
}

static void
free_with_ctx(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	struct tls_ossl *o = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (o == NULL)
		return;
	tls_ossl_anchors_free(o->fast);
	free(o);
}

struct tls_ossl *
tls_ossl_new(CERTCertificate *cert, SECKEYPrivateKey *key, int require,
    const struct tls_anchors *anchors)
{
	struct tls_ossl *o;

	if (ctx_index < 0 && (ctx_index = SSL_CTX_get_ex_new_index(0, NULL,
	    NULL, NULL, free_with_ctx)) < 0) {
		tls_ossl_set_error("setting up OpenSSL");
		return NULL;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		PR_SetError(PR_OUT_OF_MEMORY_ERROR, 0);
		return NULL;
	}
	/* Without a copy of the anchors NSS checks everybody. */
	o->fast = tls_ossl_anchors_new(anchors);
	if ((o->ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_ex_data(o->ctx, ctx_index, o) != 1) {
		tls_ossl_set_error("creating the TLS context");
		SSL_CTX_free(o->ctx);
		tls_ossl_anchors_free(o->fast);
		free(o);
		return NULL;
	}
	/* From here on o goes with the context. */
	if (ctx_setup(o, cert, key, require) != 0) {
		SSL_CTX_free(o->ctx);
		return NULL;
	}
	return o;
}

void
tls_ossl_free(struct tls_ossl *o)
{
	if (o != NULL)
		SSL_CTX_free(o->ctx);
}

SSL *
tls_ossl_ssl(const struct tls_ossl *o, enum conn_client_cert client_cert)
{
	SSL *ssl;

	if ((ssl = SSL_new(o->ctx)) == NULL) {
		tls_ossl_set_error("creating a TLS connection");
		return NULL;
	}
	SSL_set_accept_state(ssl);
	switch (client_cert) {
	case CONN_CERT_AS_SERVER:
		break;
	case CONN_CERT_NONE:
		/* Enrolment: the node has no certificate yet. */
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		break;
	case CONN_CERT_UNCHECKED:
		/* Renewal: whatever comes; the caller says why not. */
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		SSL_set_app_data(ssl, &unchecked);
		break;
	}
	return ssl;
}
