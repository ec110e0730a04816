/*
 * Signing a cluster certificate request with the QNet CA of the open NSS
 * database, for enrolment over the qnetd port (issue 14; the exchange
 * itself is not there yet).  What corosync-qnetd-certutil -s does with
 * certutil -C, done in the daemon with NSS's CERT_* / SEC_* calls, with the
 * checks a request from the network needs: its own signature, the subject
 * exactly CN=<cluster>, and a bounded lifetime.
 */
#ifndef QNETD_ENROLL_SIGN_H
#define QNETD_ENROLL_SIGN_H

#include <stddef.h>
#include <stdint.h>

struct enroll_sign_req {
	const uint8_t *csr;	/* PKCS#10 request, DER */
	size_t csr_len;
	const char *cluster;	/* the subject must be CN=<cluster> */
	const char *ca_nickname;	/* "QNet CA" */
	uint64_t serial;
	uint32_t lifetime_days;	/* 1 .. ENROLL_SIGN_MAX_DAYS */
};

#define ENROLL_SIGN_MAX_DAYS	(100 * 366)

/*
 * The signed certificate (DER, malloc'ed, *cert_len bytes) in *cert, and
 * 0; or -1 with *why saying what was wrong with the request (a constant
 * string, for the log and the node).
 */
int	enroll_sign(const struct enroll_sign_req *r, uint8_t **cert,
	    size_t *cert_len, const char **why);

#endif
