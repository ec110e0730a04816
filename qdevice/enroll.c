/*
 * corosync-qdevice-net-enroll: the node side of enrolment over the qnetd
 * port (issue 14), run by corosync-qdevice-net-certutil -e, which makes the
 * key and the request in the node's database first (the key never leaves
 * the node) and imports what this program writes.
 *
 * PREINIT; ENROLL_STARTTLS; a TLS handshake in which the server's
 * certificate must be signed by a CA in its chain whose public key hashes
 * to the token's pin, checked before anything secret is sent; then
 * ENROLL_REQUEST with the token id, the proof (HMAC keyed with the SHA-256
 * of the token's secret over the session's exported keying material and
 * the request: the secret itself never travels) and the request; the
 * ENROLL_REPLY carries the certificate and the CA, written to files.
 *
 * With -R (corosync-qdevice-net-certutil -R) the same exchange renews the
 * node's certificate: ENROLL_STARTTLS and ENROLL_REQUEST carry the RENEW
 * option instead of a token, the handshake checks the qnetd against the
 * node's database and presents its current certificate, and the new one
 * goes into that database (enroll_renew.c).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cert.h>
#include <keyhi.h>
#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <prio.h>
#include <prnetdb.h>
#include <secerr.h>
#include <ssl.h>
#include <sslerr.h>

#include "buf.h"
#include "enroll.h"
#include "enroll_msg.h"
#include "enroll_token.h"
#include "msg.h"
#include "proto.h"

#define IO_TIMEOUT	10	/* seconds, per read or write */
#define PLAIN_WAIT_MS	250	/* a refusal of ENROLL_STARTTLS comes plain */
#define MAX_MSG		(256 * 1024)

struct token {
	char id[16];
	uint8_t key[32];	/* SHA-256 of the secret's text */
	uint8_t pin[32];	/* SHA-256 of the CA's SubjectPublicKeyInfo */
};

static struct token tok;
static int pin_seen;		/* the handshake found the pinned CA */
static char pin_why[160] = "the server's certificate was not checked";

/* "enrolment" or "renewal", for the messages. */
static const char *kind = "enrolment";

static int
hex(const char *s, size_t n, uint8_t *out)
{
	unsigned v;

	if (strlen(s) < 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* qnetenroll1.ID.SECRET.PIN (corosync-qnetd-certutil -t). */
static void
parse_token(const char *t)
{
	char buf[256], *id, *secret, *pin, *save = NULL;

	if (strlen(t) >= sizeof(buf))
		die("the token is too long");
	strcpy(buf, t);
	if (strcmp(strtok_r(buf, ".", &save) ?: "", "qnetenroll1") != 0 ||
	    (id = strtok_r(NULL, ".", &save)) == NULL ||
	    (secret = strtok_r(NULL, ".", &save)) == NULL ||
	    (pin = strtok_r(NULL, ".", &save)) == NULL ||
	    strtok_r(NULL, ".", &save) != NULL || strlen(id) != 8 ||
	    strlen(pin) != 64 || hex(pin, 32, tok.pin) != 0)
		die("not a token of corosync-qnetd-certutil -t "
		    "(qnetenroll1.ID.SECRET.PIN)");
	strcpy(tok.id, id);
	if (PK11_HashBuf(SEC_OID_SHA256, tok.key, (unsigned char *)secret,
	    (PRInt32)strlen(secret)) != SECSuccess)
		die("SHA-256: %s", nss_err());
}

/* SHA-256 of a certificate's SubjectPublicKeyInfo, DER. */
static int
spki_hash(CERTCertificate *cert, uint8_t out[32])
{
	SECKEYPublicKey *pk = CERT_ExtractPublicKey(cert);
	SECItem *der = pk != NULL ? PK11_DEREncodePublicKey(pk) : NULL;
	int rc = -1;

	if (der != NULL && PK11_HashBuf(SEC_OID_SHA256, out, der->data,
	    (PRInt32)der->len) == SECSuccess)
		rc = 0;
	if (der != NULL)
		SECITEM_FreeItem(der, PR_TRUE);
	if (pk != NULL)
		SECKEY_DestroyPublicKey(pk);
	return rc;
}

/*
 * The server is who the token says when a certificate of its chain has
 * the pinned public key and signed the server's certificate (which must
 * name "Qnetd Server" and be valid now).  Nothing else is trusted: the
 * node has no CA yet, this is how it gets one.
 */
static SECStatus
check_pin(void *arg, PRFileDesc *fd, PRBool check_sig, PRBool is_server)
{
	CERTCertificate *leaf = SSL_PeerCertificate(fd);
	CERTCertList *chain = SSL_PeerCertificateChain(fd);
	CERTCertListNode *n;
	SECKEYPublicKey *pk;
	uint8_t h[32];

	(void)arg;
	(void)check_sig;
	(void)is_server;
	pin_seen = 0;
	if (leaf == NULL || chain == NULL) {
		snprintf(pin_why, sizeof(pin_why), "the server sent no "
		    "certificate");
		goto out;
	}
	snprintf(pin_why, sizeof(pin_why), "no CA of the server's "
	    "certificate chain has the public key the token pins: this is "
	    "not the qnetd that made the token");
	for (n = CERT_LIST_HEAD(chain); !CERT_LIST_END(n, chain);
	    n = CERT_LIST_NEXT(n)) {
		if (spki_hash(n->cert, h) != 0 || memcmp(h, tok.pin, 32) != 0)
			continue;
		if ((pk = CERT_ExtractPublicKey(n->cert)) == NULL)
			continue;
		if (CERT_VerifySignedDataWithPublicKey(&leaf->signatureWrap, pk,
		    NULL) == SECSuccess)
			pin_seen = 1;
		SECKEY_DestroyPublicKey(pk);
		if (pin_seen)
			break;
	}
	if (pin_seen && CERT_VerifyCertName(leaf, SERVER_CN) != SECSuccess) {
		pin_seen = 0;
		snprintf(pin_why, sizeof(pin_why), "the server's certificate "
		    "is not for \"%s\"", SERVER_CN);
	}
	if (pin_seen && CERT_CheckCertValidTimes(leaf, PR_Now(), PR_FALSE) !=
	    secCertTimeValid) {
		pin_seen = 0;
		snprintf(pin_why, sizeof(pin_why), "the server's certificate "
		    "is expired or not yet valid");
	}
out:
	if (chain != NULL)
		CERT_DestroyCertList(chain);
	if (leaf != NULL)
		CERT_DestroyCertificate(leaf);
	if (!pin_seen) {
		PR_SetError(SSL_ERROR_BAD_CERT_DOMAIN, 0);
		return SECFailure;
	}
	return SECSuccess;
}

static void
send_all(PRFileDesc *fd, const struct buf *b)
{
	size_t off = 0;

	while (off < b->len) {
		PRInt32 n = PR_Send(fd, b->data + off, (PRInt32)(b->len - off),
		    0, PR_SecondsToInterval(IO_TIMEOUT));

		if (n <= 0)
			die("can't send to the qnetd: %s", nss_err());
		off += (size_t)n;
	}
}

static int
recv_all(PRFileDesc *fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		PRInt32 n = PR_Recv(fd, p, (PRInt32)len, 0,
		    PR_SecondsToInterval(IO_TIMEOUT));

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One whole message into b (reset first). */
static void
recv_msg(PRFileDesc *fd, struct buf *b, const char *what)
{
	uint8_t h[QN_HEADER_SIZE];
	uint32_t len;

	buf_reset(b);
	if (recv_all(fd, h, sizeof(h)) != 0)
		die("no %s from the qnetd: %s", what, PR_GetError() ==
		    PR_END_OF_FILE_ERROR ? "it closed the connection" :
		    nss_err());
	len = get_u32(h + 2);
	if (len > MAX_MSG)
		die("the qnetd sent a message of %u bytes", len);
	buf_put(b, h, sizeof(h));
	if (buf_reserve(b, len) != 0)
		die("out of memory");
	if (recv_all(fd, b->data + b->len, len) != 0)
		die("the qnetd closed the connection in its %s", what);
	b->len += len;
}

static void
write_file(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0)
		die("can't write %s: %s", path, strerror(errno));
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	uint8_t chunk[4096];
	size_t n;

	if (f == NULL)
		die("can't read %s: %s", path, strerror(errno));
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < MAX_MSG)
		buf_put(&b, chunk, n);
	fclose(f);
	if (b.failed || b.len == 0 || b.len >= MAX_MSG)
		die("can't read %s", path);
	*len = b.len;
	return b.data;
}

static PRFileDesc *
connect_to(const char *host, unsigned short port)
{
	PRAddrInfo *ai = PR_GetAddrInfoByName(host, PR_AF_UNSPEC,
	    PR_AI_ADDRCONFIG);
	void *it = NULL;
	PRNetAddr a;
	PRFileDesc *fd;

	if (ai == NULL)
		die("can't resolve %s: %s", host, nss_err());
	while ((it = PR_EnumerateAddrInfo(it, ai, port, &a)) != NULL) {
		if ((fd = PR_OpenTCPSocket(a.raw.family)) == NULL)
			continue;
		if (PR_Connect(fd, &a, PR_SecondsToInterval(IO_TIMEOUT)) ==
		    PR_SUCCESS) {
			PR_FreeAddrInfo(ai);
			return fd;
		}
		PR_Close(fd);
	}
	PR_FreeAddrInfo(ai);
	die("can't connect to %s port %u: %s", host, port, nss_err());
}

/* PREINIT, and its reply must offer TLS. */
static void
preinit(PRFileDesc *fd, const char *cluster, struct buf *b)
{
	struct msg m;

	msg_init(&m, QN_MSG_PREINIT);
	msg_set_seq(&m, 1);
	msg_set_cluster_name(&m, cluster, strlen(cluster));
	buf_reset(b);
	if (msg_encode(&m, b, MAX_MSG) != 0)
		die("out of memory");
	send_all(fd, b);
	recv_msg(fd, b, "PREINIT reply");
	if (msg_decode(b->data, b->len, &m) != DECODE_OK ||
	    m.type != QN_MSG_PREINIT_REPLY)
		die("the server did not answer PREINIT as a qnetd does");
	if (msg_has(&m, QN_OPT_TLS_SUPPORTED) &&
	    m.tls_supported == QN_TLS_UNSUPPORTED)
		die("the qnetd runs without TLS (-s off): no %s over it",
		    kind);
	msg_free(&m);
}

/* A plain answer to ENROLL_STARTTLS is a refusal (ours or 3.0.3's). */
static void
plain_refusal(PRFileDesc *fd, struct buf *b)
{
	PRPollDesc pd = { fd, PR_POLL_READ, 0 };
	struct enroll_msg r;

	if (PR_Poll(&pd, 1, PR_MillisecondsToInterval(PLAIN_WAIT_MS)) != 1)
		return;
	recv_msg(fd, b, "answer to ENROLL_STARTTLS");
	if (get_u16(b->data) == QN_MSG_SERVER_ERROR)
		die("the qnetd does not support enrolment (a 3.0.3 qnetd, or "
		    "an older one)");
	if (enroll_msg_decode(b->data, b->len, &r) == 0 && r.has_error)
		die("%s refused: %.*s", kind, (int)r.reason_len,
		    r.reason != NULL ? r.reason : enroll_err_str(r.error));
	die("the qnetd answered ENROLL_STARTTLS with message type %u",
	    get_u16(b->data));
}

static PRFileDesc *
start_tls(PRFileDesc *tcp)
{
	PRFileDesc *ssl = SSL_ImportFD(NULL, tcp);

	if (ssl == NULL ||
	    SSL_OptionSet(ssl, SSL_SECURITY, PR_TRUE) != SECSuccess ||
	    SSL_OptionSet(ssl, SSL_HANDSHAKE_AS_CLIENT, PR_TRUE) != SECSuccess ||
	    SSL_SetURL(ssl, SERVER_CN) != SECSuccess ||
	    SSL_AuthCertificateHook(ssl, check_pin, NULL) != SECSuccess ||
	    SSL_ResetHandshake(ssl, PR_FALSE) != SECSuccess)
		die("can't set up TLS: %s", nss_err());
	if (SSL_ForceHandshake(ssl) != SECSuccess) {
		if (!pin_seen && PR_GetError() == SSL_ERROR_BAD_CERT_DOMAIN)
			die("refusing to enrol: %s", pin_why);
		die("TLS handshake with the qnetd failed: %s (a busy qnetd "
		    "may have refused in plain text too late: try again)",
		    nss_err());
	}
	if (!pin_seen)
		die("refusing to enrol: %s", pin_why);
	return ssl;
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s -H host [-p port] -n cluster_name -t token "
	    "-r request.der -o cert.der -c ca.der\n"
	    "       %s -R -d db_dir -H host [-p port] [-n cluster_name] "
	    "-r request.der -o cert.der\n"
	    "       %s -N -d db_dir   (the cluster name of the certificate "
	    "to renew)\n", PROG, PROG, PROG);
	exit(2);
}

/* ENROLL_STARTTLS, with RENEW for a renewal. */
static void
send_starttls(PRFileDesc *fd, struct buf *b, int renew)
{
	struct enroll_msg q = { .type = QN_MSG_ENROLL_STARTTLS,
	    .renew = renew };

	buf_reset(b);
	if (enroll_msg_encode(&q, b) != 0)
		die("out of memory");
	send_all(fd, b);
	plain_refusal(fd, b);
}

/* The ENROLL_REPLY to q: OK with a certificate, or die with its reason. */
static void
exchange(PRFileDesc *fd, const struct enroll_msg *q, struct buf *b,
    struct enroll_msg *r)
{
	buf_reset(b);
	if (enroll_msg_encode(q, b) != 0)
		die("the certificate request is too large");
	send_all(fd, b);
	recv_msg(fd, b, "enrolment reply");
	if (get_u16(b->data) == QN_MSG_SERVER_ERROR)
		die("the qnetd refused the %s request as a message", kind);
	if (enroll_msg_decode(b->data, b->len, r) != 0 ||
	    r->type != QN_MSG_ENROLL_REPLY || !r->has_error)
		die("the qnetd sent a malformed enrolment reply");
	if (r->error != QN_ENROLL_OK)
		die("%s refused: %.*s", kind, (int)r->reason_len,
		    r->reason != NULL ? r->reason : enroll_err_str(r->error));
	if (r->cert == NULL || r->ca_cert == NULL)
		die("the qnetd's reply lacks the certificate or its CA");
}

static void
finish(PRFileDesc *fd)
{
	PR_Close(fd);
	/*
	 * The client session cache holds the session (and its ticket): clear
	 * it, or NSS is busy.  The files are written: a failed shutdown is
	 * only worth a warning.
	 */
	SSL_ClearSessionCache();
	if (NSS_Shutdown() != SECSuccess)
		fprintf(stderr, "%s: warning: NSS shutdown: %s\n", PROG,
		    nss_err());
}

/* -R: renew the certificate of the database dir. */
static int
renew(const char *dir, const char *host, long port, const char *name,
    const char *req, const char *out)
{
	struct enroll_msg q = { .type = QN_MSG_ENROLL_REQUEST, .renew = 1 }, r;
	const char *cluster;
	PRFileDesc *fd;
	struct buf b;
	uint8_t *csr;

	kind = "renewal";
	cluster = renew_open(dir);
	if (name != NULL && strcmp(name, cluster) != 0)
		die("the certificate in %s is for cluster %s, not %s", dir,
		    cluster, name);
	csr = read_file(req, &q.csr_len);
	q.csr = csr;
	buf_init(&b);
	fd = connect_to(host, (unsigned short)port);
	preinit(fd, cluster, &b);
	send_starttls(fd, &b, 1);
	fd = renew_start_tls(fd);
	exchange(fd, &q, &b, &r);
	/*
	 * Written first: once stored, nothing may fail (the certutil would
	 * delete the new key as a failed run's).
	 */
	write_file(out, r.cert, r.cert_len);
	renew_store(r.cert, r.cert_len);
	buf_free(&b);
	free(csr);
	renew_close();
	finish(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *host = NULL, *cluster = NULL, *token = NULL, *req = NULL,
	    *out = NULL, *ca_out = NULL, *dir = NULL;
	int mode = 0;
	long port = QN_DEFAULT_PORT;
	uint8_t ekm[QN_ENROLL_EXPORTER_LEN], proof[ENROLL_PROOF_LEN], h[32];
	struct enroll_msg q = { .type = QN_MSG_ENROLL_REQUEST }, r;
	struct buf b, bound;
	PRFileDesc *fd;
	CERTCertificate *ca;
	uint8_t *csr;
	size_t csr_len;
	char *end;
	int ch;

	while ((ch = getopt(argc, argv, "H:p:n:t:r:o:c:d:RN")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'R':
		case 'N': mode = ch; break;
		case 'H': host = optarg; break;
		case 'n': cluster = optarg; break;
		case 't': token = optarg; break;
		case 'r': req = optarg; break;
		case 'o': out = optarg; break;
		case 'c': ca_out = optarg; break;
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end != '\0' || port < 1 || port > 65535)
				usage();
			break;
		default: usage();
		}
	}
	if (mode == 'N' && dir != NULL && optind == argc) {
		printf("%s\n", renew_open(dir));
		renew_close();
		if (NSS_Shutdown() != SECSuccess)
			die("NSS shutdown: %s", nss_err());
		return 0;
	}
	if (mode == 'R' && dir != NULL && host != NULL && req != NULL &&
	    out != NULL && token == NULL && optind == argc)
		return renew(dir, host, port, cluster, req, out);
	if (mode != 0 || host == NULL || cluster == NULL || token == NULL ||
	    req == NULL || out == NULL || ca_out == NULL || optind != argc)
		usage();
	if (NSS_NoDB_Init(NULL) != SECSuccess ||
	    NSS_SetDomesticPolicy() != SECSuccess)
		die("can't initialize NSS: %s", nss_err());
	parse_token(token);
	csr = read_file(req, &csr_len);
	buf_init(&b);
	buf_init(&bound);

	fd = connect_to(host, (unsigned short)port);
	preinit(fd, cluster, &b);
	send_starttls(fd, &b, 0);
	fd = start_tls(fd);

	/* The server is the token's: now the proof may go. */
	if (SSL_ExportKeyingMaterial(fd, QN_ENROLL_EXPORTER_LABEL,
	    (unsigned)strlen(QN_ENROLL_EXPORTER_LABEL), PR_FALSE, NULL, 0,
	    ekm, sizeof(ekm)) != SECSuccess)
		die("can't export TLS keying material: %s", nss_err());
	buf_put(&bound, ekm, sizeof(ekm));
	buf_put(&bound, csr, csr_len);
	if (bound.failed ||
	    enroll_token_proof(tok.key, bound.data, bound.len, proof) != 0)
		die("can't compute the token proof");
	q = (struct enroll_msg){ .type = QN_MSG_ENROLL_REQUEST,
	    .token_id = tok.id, .token_id_len = strlen(tok.id),
	    .proof = proof, .proof_len = sizeof(proof),
	    .csr = csr, .csr_len = csr_len };
	exchange(fd, &q, &b, &r);
	/* The CA handed over must be the pinned one. */
	ca = CERT_DecodeCertFromPackage((char *)(uintptr_t)r.ca_cert,
	    (int)r.ca_cert_len);
	if (ca == NULL || spki_hash(ca, h) != 0 || memcmp(h, tok.pin, 32) != 0)
		die("the CA in the qnetd's reply is not the one the token pins");
	CERT_DestroyCertificate(ca);
	write_file(out, r.cert, r.cert_len);
	write_file(ca_out, r.ca_cert, r.ca_cert_len);
	buf_free(&b);
	buf_free(&bound);
	free(csr);
	finish(fd);
	return 0;
}
