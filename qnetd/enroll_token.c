#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <nss.h>
#include <pk11pub.h>

#include "buf.h"
#include "enroll_token.h"

#define MAX_FILE	(1024 * 1024)

int
enroll_token_proof(const uint8_t key[32], const uint8_t *bound,
    size_t bound_len, uint8_t out[ENROLL_PROOF_LEN])
{
	PK11SlotInfo *slot;
	PK11SymKey *sym = NULL;
	PK11Context *ctx = NULL;
	SECItem k = { siBuffer, (unsigned char *)key, 32 };
	SECItem noparam = { siBuffer, NULL, 0 };
	unsigned int len = 0;
	int rc = -1;

	if ((slot = PK11_GetInternalSlot()) == NULL)
		return -1;
	if ((sym = PK11_ImportSymKey(slot, CKM_SHA256_HMAC, PK11_OriginUnwrap,
	    CKA_SIGN, &k, NULL)) == NULL ||
	    (ctx = PK11_CreateContextBySymKey(CKM_SHA256_HMAC, CKA_SIGN, sym,
	    &noparam)) == NULL)
		goto out;
	if (PK11_DigestBegin(ctx) == SECSuccess &&
	    PK11_DigestOp(ctx, bound, (unsigned)bound_len) == SECSuccess &&
	    PK11_DigestFinal(ctx, out, &len, ENROLL_PROOF_LEN) == SECSuccess &&
	    len == ENROLL_PROOF_LEN)
		rc = 0;
out:
	if (ctx != NULL)
		PK11_DestroyContext(ctx, PR_TRUE);
	if (sym != NULL)
		PK11_FreeSymKey(sym);
	PK11_FreeSlot(slot);
	return rc;
}

static int
hex_decode(const char *s, uint8_t *out, size_t len)
{
	unsigned v;

	if (strlen(s) != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

struct line {
	char id[16], cluster[256], state[16], hash[80];
	long long expires, uses, created;
};

static int
parse_line(const char *text, struct line *l)
{
	return sscanf(text, "%15s %255s %lld %lld %15s %79s %lld", l->id,
	    l->cluster, &l->expires, &l->uses, l->state, l->hash,
	    &l->created) == 7 ? 0 : -1;
}

/* The checks on the line of the token, in an order that tells nothing to
 * who does not hold it. */
static const char *
check(const struct enroll_token_use *u, const struct line *l)
{
	uint8_t key[32], mac[ENROLL_PROOF_LEN];

	if (u->proof_len != ENROLL_PROOF_LEN ||
	    hex_decode(l->hash, key, sizeof(key)) != 0 ||
	    enroll_token_proof(key, u->bound, u->bound_len, mac) != 0 ||
	    NSS_SecureMemcmp(mac, u->proof, ENROLL_PROOF_LEN) != 0)
		return "wrong token";
	if (strcmp(l->state, "active") != 0)
		return "revoked";
	if (l->expires <= (long long)u->now)
		return "expired";
	if (l->uses <= 0)
		return "used up";
	if (strcmp(l->cluster, u->cluster) != 0)
		return "for another cluster";
	return NULL;
}

/* Rewrite the file in place (the lock is on it) from out. */
static int
rewrite(int fd, const struct buf *out)
{
	size_t off = 0;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return -1;
	while (off < out->len) {
		n = write(fd, out->data + off, out->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return ftruncate(fd, (off_t)out->len);
}

static int
read_all(int fd, struct buf *in)
{
	uint8_t chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || in->len + (size_t)n > MAX_FILE)
			return -1;
		buf_put(in, chunk, (size_t)n);
	}
	buf_put_u8(in, 0);
	return in->failed ? -1 : 0;
}

int
enroll_token_use(const struct enroll_token_use *u, const char **why)
{
	char path[PATH_MAX], *save = NULL, *text, *ln;
	struct buf in, out;
	struct line l;
	int fd, found = 0;

	*why = "can't read the token file";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", u->dir,
	    ENROLL_TOKEN_FILE) >= sizeof(path))
		return -1;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			*why = "wrong token";
		return -1;
	}
	buf_init(&in);
	buf_init(&out);
	/* The lock corosync-qnetd-certutil -t takes (flock(1)). */
	if (flock(fd, LOCK_EX) != 0 || read_all(fd, &in) != 0)
		goto fail;
	text = (char *)in.data;
	for (ln = strtok_r(text, "\n", &save); ln != NULL;
	    ln = strtok_r(NULL, "\n", &save)) {
		if (!found && parse_line(ln, &l) == 0 &&
		    strcmp(l.id, u->id) == 0) {
			found = 1;
			if ((*why = check(u, &l)) != NULL)
				goto fail;
			if (u->check_only) {
				*why = NULL;
				goto fail;	/* (returns 0) */
			}
			buf_printf(&out, "%s %s %lld %lld %s %s %lld\n", l.id,
			    l.cluster, l.expires, l.uses - 1, l.state, l.hash,
			    l.created);
			continue;
		}
		buf_printf(&out, "%s\n", ln);
	}
	if (!found) {
		*why = "wrong token";
		goto fail;
	}
	*why = "can't update the token file";
	if (out.failed || rewrite(fd, &out) != 0)
		goto fail;
	*why = NULL;
	buf_free(&in);
	buf_free(&out);
	close(fd);
	return 0;
fail:
	buf_free(&in);
	buf_free(&out);
	close(fd);
	return *why == NULL ? 0 : -1;
}
