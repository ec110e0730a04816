#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cert.h>
#include <pk11pub.h>

#include "client.h"
#include "enroll.h"
#include "enroll_msg.h"
#include "enroll_renew.h"
#include "enroll_sign.h"
#include "enroll_token.h"
#include "log.h"
#include "qnetd.h"
#include "send.h"
#include "tls_cert.h"

#define CA_NICKNAME	"QNet CA"
#define BURST		5	/* attempts at once before the rate applies */

void
enroll_init(struct qnetd *q)
{
	memset(&q->enroll, 0, sizeof(q->enroll));
	if (PK11_GenerateRandom((unsigned char *)&q->enroll.seed,
	    sizeof(q->enroll.seed)) != SECSuccess)
		q->enroll.seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
}

uint64_t
enroll_issued(const struct qnetd *q)
{
	return q->enroll.issued;
}

/* The address without its port ("::ffff:10.0.0.1:40000"). */
static size_t
host_len(const char *addr)
{
	const char *colon = strrchr(addr, ':');

	return colon != NULL ? (size_t)(colon - addr) : strlen(addr);
}

static uint64_t
addr_key(const struct qnetd *q, const char *addr)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ q->enroll.seed;
	size_t n = host_len(addr);

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)addr[i]) * 0x100000001b3ULL;
	return h != 0 ? h : 1;
}

/*
 * One attempt from the client's address: a token bucket of BURST
 * attempts refilled at enroll_attempts_per_minute.  Addresses that share
 * a slot share the bucket (the table is bounded; an attacker who fills
 * it only limits himself further).  0 when the attempt may go on.
 */
static int
attempt_allowed(struct client *c)
{
	struct qnetd *q = c->qnetd;
	long long rate = q->set.enroll_attempts_per_minute;
	uint64_t key = addr_key(q, c->addr), now = uv_now(q->loop);
	struct enroll_bucket *b = &q->enroll.slot[key % ENROLL_SLOTS];
	int64_t max = (int64_t)(rate > BURST ? rate : BURST) * 1000;

	if (rate == 0)
		return 0;
	if (b->key != key) {
		b->key = key;
		b->tokens = max;
		b->stamp = now;
	}
	b->tokens += (int64_t)((now - b->stamp) * (uint64_t)rate / 60);
	b->stamp = now;
	if (b->tokens > max)
		b->tokens = max;
	if (b->tokens < 1000)
		return -1;
	b->tokens -= 1000;
	return 0;
}

static void
reply(struct client *c, uint16_t err, const char *reason,
    const uint8_t *cert, size_t cert_len, const uint8_t *ca, size_t ca_len)
{
	struct enroll_msg r = {
		.type = QN_MSG_ENROLL_REPLY, .has_error = 1, .error = err,
		.reason = reason, .reason_len = reason ? strlen(reason) : 0,
		.cert = cert, .cert_len = cert_len,
		.ca_cert = ca, .ca_cert_len = ca_len,
	};
	struct buf b;

	buf_init(&b);
	if (enroll_msg_encode(&r, &b) != 0 || send_raw(c, b.data, b.len) != 0)
		c->qnetd->up->disconnect(c, "can't send the enrolment reply");
	buf_free(&b);
}

/* A refusal: logged, told to the node; the connection is done. */
static void
refuse(struct client *c, uint16_t err, const char *reason)
{
	log_warn("%s of client %s (cluster %s) refused: %s", c->renewing ?
	    "Renewal" : "Enrolment", c->addr, c->m.cluster_name != NULL ?
	    c->m.cluster_name : "?", reason);
	reply(c, err, reason, NULL, 0, NULL, 0);
	c->enroll_done = 1;
}

static void
on_starttls(struct client *c, int renew)
{
	struct qnetd *q = c->qnetd;

	if (!c->preinit_done || c->init_done || c->tls_started) {
		refuse(c, QN_ENROLL_BAD_REQUEST, "ENROLL_STARTTLS must follow "
		    "PREINIT on a new connection");
		q->up->disconnect(c, "enrolment out of turn");
		return;
	}
	if (q->tls == NULL || q->set.enroll_state_dir == NULL ||
	    q->set.nss_db_dir == NULL) {
		refuse(c, QN_ENROLL_UNAVAILABLE, "this qnetd runs without TLS");
		return;
	}
	if (attempt_allowed(c) != 0) {
		limit_log(q, LIMIT_ENROLL_ATTEMPTS, c->addr,
		    q->set.enroll_attempts_per_minute, "enrolment attempt "
		    "refused");
		reply(c, QN_ENROLL_RATE_LIMITED,
		    enroll_err_str(QN_ENROLL_RATE_LIMITED), NULL, 0, NULL, 0);
		c->enroll_done = 1;
		return;
	}
	c->enrolling = 1;
	c->renewing = renew != 0;
	c->tls_started = 1;
	q->up->starttls(c);
}

/* A serial number nobody else will use: random, positive. */
static uint64_t
new_serial(void)
{
	uint64_t s = 0;

	if (PK11_GenerateRandom((unsigned char *)&s, sizeof(s)) != SECSuccess)
		s = (uint64_t)time(NULL);
	s &= INT64_MAX;
	return s != 0 ? s : 1;
}

/* The CA to send with a certificate, or NULL (refused). */
static CERTCertificate *
issuing_ca(struct client *c)
{
	CERTCertificate *ca = tls_cert_find(CA_NICKNAME);

	if (ca == NULL)
		refuse(c, QN_ENROLL_REFUSED, "the QNet CA is not in the "
		    "database");
	return ca;
}

/* The signed certificate and the CA (released here) to the node. */
static void
issue(struct client *c, CERTCertificate *ca, const uint8_t *cert,
    size_t cert_len)
{
	c->qnetd->enroll.issued++;
	reply(c, QN_ENROLL_OK, NULL, cert, cert_len, ca->derCert.data,
	    ca->derCert.len);
	c->enroll_done = 1;
	CERT_DestroyCertificate(ca);
}

/*
 * Renewal: no token; the certificate the node presented in the handshake
 * (whose key it proved to hold there) stands for it, and the new request
 * must be for the same cluster, which PREINIT named.
 */
static void
on_renew(struct client *c, const struct enroll_msg *m)
{
	struct qnetd *q = c->qnetd;
	struct enroll_sign_req sr;
	const char *why = NULL;
	uint8_t *cert = NULL;
	size_t cert_len = 0;
	char serial[128];
	CERTCertificate *ca;

	if (m->csr == NULL || m->token_id != NULL || m->proof != NULL) {
		refuse(c, QN_ENROLL_BAD_REQUEST, "a renewal request carries "
		    "a certificate request and no token");
		return;
	}
	if (enroll_renew_check(&c->conn, c->m.cluster_name, CA_NICKNAME,
	    serial, sizeof(serial), &why) != 0) {
		refuse(c, QN_ENROLL_REFUSED, why);
		return;
	}
	sr = (struct enroll_sign_req){ .csr = m->csr, .csr_len = m->csr_len,
	    .cluster = c->m.cluster_name, .ca_nickname = CA_NICKNAME,
	    .serial = new_serial(),
	    .lifetime_days = (uint32_t)q->set.enroll_cert_lifetime };
	if (enroll_sign(&sr, &cert, &cert_len, &why) != 0) {
		refuse(c, QN_ENROLL_REFUSED, why);
		return;
	}
	/* Logged before the node can see the reply (tests read the log). */
	if ((ca = issuing_ca(c)) != NULL) {
		log_notice("Renewal: issued a certificate for cluster %s to "
		    "client %s in place of serial %s (valid %lld days)",
		    c->m.cluster_name, c->addr, serial,
		    q->set.enroll_cert_lifetime);
		issue(c, ca, cert, cert_len);
	}
	free(cert);
}

static void
on_request(struct client *c, const struct enroll_msg *m)
{
	struct qnetd *q = c->qnetd;
	uint8_t ekm[QN_ENROLL_EXPORTER_LEN], *bound = NULL, *cert = NULL;
	char id[16];
	const char *why = NULL;
	CERTCertificate *ca;
	size_t cert_len = 0;
	struct enroll_token_use u;
	struct enroll_sign_req sr;

	if (m->token_id == NULL || m->proof == NULL || m->csr == NULL ||
	    m->token_id_len == 0 || m->token_id_len >= sizeof(id)) {
		refuse(c, QN_ENROLL_BAD_REQUEST, "the request lacks the token "
		    "id, the proof or the certificate request");
		return;
	}
	memcpy(id, m->token_id, m->token_id_len);
	id[m->token_id_len] = '\0';
	if (conn_tls_export(&c->conn, QN_ENROLL_EXPORTER_LABEL, ekm,
	    sizeof(ekm)) != 0 || (bound = malloc(sizeof(ekm) +
	    m->csr_len)) == NULL) {
		refuse(c, QN_ENROLL_UNAVAILABLE, "internal error");
		return;
	}
	memcpy(bound, ekm, sizeof(ekm));
	memcpy(bound + sizeof(ekm), m->csr, m->csr_len);
	/* Made by systemd (StateDirectory=) or here, for the uses taken. */
	if (mkdir(q->set.enroll_state_dir, 0750) != 0 && errno != EEXIST)
		log_warn("Can't create enroll_state_dir %s: %s",
		    q->set.enroll_state_dir, strerror(errno));
	u = (struct enroll_token_use){ .dir = q->set.nss_db_dir,
	    .state_dir = q->set.enroll_state_dir, .id = id,
	    .cluster = c->m.cluster_name, .proof = m->proof,
	    .proof_len = m->proof_len, .bound = bound,
	    .bound_len = sizeof(ekm) + m->csr_len, .now = time(NULL) };
	/* The request is checked before the token's use is taken. */
	sr = (struct enroll_sign_req){ .csr = m->csr, .csr_len = m->csr_len,
	    .cluster = c->m.cluster_name, .ca_nickname = CA_NICKNAME,
	    .serial = new_serial(),
	    .lifetime_days = (uint32_t)q->set.enroll_cert_lifetime };
	if (enroll_sign(&sr, &cert, &cert_len, &why) != 0) {
		/* Tell a wrong name only to a holder of the token. */
		const char *sign_why = why;

		u.check_only = 1;
		if (enroll_token_use(&u, &why) == 0)
			why = sign_why;
		goto refused;
	}
	if (enroll_token_use(&u, &why) != 0)
		goto refused;
	free(bound);
	if ((ca = issuing_ca(c)) != NULL) {
		log_notice("Enrolment: issued a certificate for cluster %s to "
		    "client %s with token %s (valid %lld days)",
		    c->m.cluster_name, c->addr, id,
		    q->set.enroll_cert_lifetime);
		issue(c, ca, cert, cert_len);
	}
	free(cert);
	return;
refused:
	free(cert);
	free(bound);
	refuse(c, QN_ENROLL_REFUSED, why != NULL ? why : "refused");
}

void
enroll_message(struct client *c, const uint8_t *data, size_t len)
{
	struct enroll_msg m;

	if (enroll_msg_decode(data, len, &m) != 0) {
		refuse(c, QN_ENROLL_BAD_REQUEST, "malformed enrolment message");
		return;
	}
	/* One exchange per connection; init_timeout ends it. */
	if (c->enroll_done)
		return;
	switch (m.type) {
	case QN_MSG_ENROLL_STARTTLS:
		on_starttls(c, m.renew);
		break;
	case QN_MSG_ENROLL_REQUEST:
		if (!c->enrolling || !c->conn.handshake_done) {
			refuse(c, QN_ENROLL_BAD_REQUEST, "ENROLL_REQUEST "
			    "outside an enrolment TLS session");
			c->qnetd->up->disconnect(c, "enrolment out of turn");
			return;
		}
		if (m.renew != c->renewing)
			refuse(c, QN_ENROLL_BAD_REQUEST, "ENROLL_REQUEST and "
			    "ENROLL_STARTTLS disagree on renewal");
		else if (c->renewing)
			on_renew(c, &m);
		else
			on_request(c, &m);
		break;
	default:
		refuse(c, QN_ENROLL_BAD_REQUEST, "a client can't send "
		    "ENROLL_REPLY");
		c->qnetd->up->disconnect(c, "unexpected enrolment message");
		break;
	}
}
