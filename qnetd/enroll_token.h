/*
 * The enrolment tokens that corosync-qnetd-certutil -t keeps in
 * <nss_db_dir>/enroll-tokens (one line each: id, cluster, expiry, uses
 * granted, active|revoked, SHA-256 of the secret, creation time): checking
 * a node's proof that it holds one, and taking one use of it.  The daemon
 * only reads that file (under the hardened unit /etc is read-only); the
 * uses taken go to <enroll_state_dir>/enroll-uses ("ID USED" lines), which
 * corosync-qnetd-certutil -t -l reads too.  Called by enroll.c.
 *
 * The proof is HMAC-SHA-256 keyed with SHA-256(secret), the value kept in
 * the file, over what the caller binds it to (the TLS session's exported
 * keying material followed by the certificate request), so it proves the
 * token without sending it and can't be replayed on another connection or
 * for another request.
 */
#ifndef QNETD_ENROLL_TOKEN_H
#define QNETD_ENROLL_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ENROLL_TOKEN_FILE	"enroll-tokens"
#define ENROLL_USES_FILE	"enroll-uses"	/* in enroll_state_dir */
#define ENROLL_PROOF_LEN	32	/* HMAC-SHA-256 */

struct enroll_token_use {
	const char *dir;	/* nss_db_dir: the tokens, read only */
	const char *state_dir;	/* enroll_state_dir: the uses taken */
	const char *id;		/* 8 hex digits */
	const char *cluster;	/* from the node's preinit */
	const uint8_t *proof;	/* ENROLL_PROOF_LEN bytes */
	size_t proof_len;
	const uint8_t *bound;	/* what the proof is over */
	size_t bound_len;
	time_t now;
	int check_only;		/* check, but take no use */
};

/*
 * Check the proof and the token's state, and take one use.  0, or -1 with
 * *why: "wrong token" (no such id, or a wrong proof: nothing else is told
 * to who does not hold the token), "revoked", "expired", "used up", "for
 * another cluster", or an I/O problem with the file.
 */
int	enroll_token_use(const struct enroll_token_use *u, const char **why);

/*
 * The proof for a token secret's SHA-256 key over bound (for the node
 * side and the tests): 0 and ENROLL_PROOF_LEN bytes in out, or -1.
 */
int	enroll_token_proof(const uint8_t key[32], const uint8_t *bound,
	    size_t bound_len, uint8_t out[ENROLL_PROOF_LEN]);

#endif
