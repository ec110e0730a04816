#include "config.h"

#include <string.h>

#include "enroll_msg.h"

int
enroll_msg_is_type(uint16_t type)
{
	return type >= QN_MSG_ENROLL_STARTTLS && type <= QN_MSG_ENROLL_REPLY;
}

/* A byte-string option: set once. */
static int
take(const uint8_t *v, uint16_t n, const uint8_t **p, size_t *len)
{
	if (*p != NULL)
		return -1;
	*p = v;
	*len = n;
	return 0;
}

int
enroll_msg_decode(const uint8_t *data, size_t len, struct enroll_msg *m)
{
	const uint8_t *p = data + QN_HEADER_SIZE, *end = data + len;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if (len < QN_HEADER_SIZE ||
	    (uint64_t)get_u32(data + 2) + QN_HEADER_SIZE != len)
		return -1;
	m->type = get_u16(data);
	while (rc == 0 && p < end) {
		uint16_t opt, n;

		if ((size_t)(end - p) < QN_TLV_HEADER_SIZE)
			return -1;
		opt = get_u16(p);
		n = get_u16(p + 2);
		p += QN_TLV_HEADER_SIZE;
		if ((size_t)(end - p) < n)
			return -1;
		switch (opt) {
		case QN_OPT_ENROLL_TOKEN_ID:
			rc = take(p, n, (const uint8_t **)&m->token_id,
			    &m->token_id_len);
			break;
		case QN_OPT_ENROLL_PROOF:
			rc = take(p, n, &m->proof, &m->proof_len);
			break;
		case QN_OPT_ENROLL_CSR:
			rc = take(p, n, &m->csr, &m->csr_len);
			break;
		case QN_OPT_ENROLL_CERT:
			rc = take(p, n, &m->cert, &m->cert_len);
			break;
		case QN_OPT_ENROLL_CA_CERT:
			rc = take(p, n, &m->ca_cert, &m->ca_cert_len);
			break;
		case QN_OPT_ENROLL_REASON:
			rc = take(p, n, (const uint8_t **)&m->reason,
			    &m->reason_len);
			break;
		case QN_OPT_ENROLL_RENEW:
			if (n != 1 || m->renew || p[0] != 1)
				return -1;
			m->renew = 1;
			break;
		case QN_OPT_ENROLL_ERROR:
			if (n != 2 || m->has_error)
				return -1;
			m->has_error = 1;
			m->error = get_u16(p);
			break;
		default:
			break;
		}
		p += n;
	}
	return rc;
}

static void
put_opt(struct buf *b, uint16_t opt, const void *v, size_t n, int *bad)
{
	if (v == NULL)
		return;
	if (n > UINT16_MAX) {
		*bad = 1;
		return;
	}
	buf_put_u16(b, opt);
	buf_put_u16(b, (uint16_t)n);
	buf_put(b, v, n);
}

int
enroll_msg_encode(const struct enroll_msg *m, struct buf *out)
{
	size_t start = out->len;
	int bad = 0;

	buf_put_u16(out, m->type);
	buf_put_u32(out, 0);
	if (m->renew) {
		buf_put_u16(out, QN_OPT_ENROLL_RENEW);
		buf_put_u16(out, 1);
		buf_put_u8(out, 1);
	}
	put_opt(out, QN_OPT_ENROLL_TOKEN_ID, m->token_id, m->token_id_len, &bad);
	put_opt(out, QN_OPT_ENROLL_PROOF, m->proof, m->proof_len, &bad);
	put_opt(out, QN_OPT_ENROLL_CSR, m->csr, m->csr_len, &bad);
	if (m->has_error) {
		buf_put_u16(out, QN_OPT_ENROLL_ERROR);
		buf_put_u16(out, 2);
		buf_put_u16(out, m->error);
	}
	put_opt(out, QN_OPT_ENROLL_REASON, m->reason, m->reason_len, &bad);
	put_opt(out, QN_OPT_ENROLL_CERT, m->cert, m->cert_len, &bad);
	put_opt(out, QN_OPT_ENROLL_CA_CERT, m->ca_cert, m->ca_cert_len, &bad);
	if (bad || out->failed) {
		out->len = start;
		return -1;
	}
	buf_set_u32(out, start + 2, (uint32_t)(out->len - start - QN_HEADER_SIZE));
	return 0;
}

const char *
enroll_err_str(uint16_t e)
{
	switch (e) {
	case QN_ENROLL_OK:
		return "ok";
	case QN_ENROLL_REFUSED:
		return "refused";
	case QN_ENROLL_RATE_LIMITED:
		return "too many attempts from this address, try again later";
	case QN_ENROLL_UNAVAILABLE:
		return "enrolment is not available on this qnetd";
	case QN_ENROLL_BAD_REQUEST:
		return "malformed or unexpected request";
	default:
		return "unknown error";
	}
}
