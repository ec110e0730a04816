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

/* The line of token id in the token file (read-only, shared lock). */
static int
find_token(const struct enroll_token_use *u, struct line *l, const char **why)
{
	char path[PATH_MAX], *save = NULL, *ln;
	struct buf in;
	int fd, found = 0;

	*why = "can't read the token file";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", u->dir,
	    ENROLL_TOKEN_FILE) >= sizeof(path))
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			*why = "wrong token";
		return -1;
	}
	buf_init(&in);
	/* corosync-qnetd-certutil -t writes it under flock(1). */
	if (flock(fd, LOCK_SH) == 0 && read_all(fd, &in) == 0) {
		*why = "wrong token";
		for (ln = strtok_r((char *)in.data, "\n", &save); ln != NULL;
		    ln = strtok_r(NULL, "\n", &save))
			if (parse_line(ln, l) == 0 && strcmp(l->id, u->id) == 0) {
				found = 1;
				break;
			}
	}
	buf_free(&in);
	close(fd);
	return found ? 0 : -1;
}

int
enroll_token_use(const struct enroll_token_use *u, const char **why)
{
	char path[PATH_MAX], *save = NULL, *ln, id[16];
	struct buf in, out;
	struct line l;
	long long used = 0, n;
	int fd;

	if (find_token(u, &l, why) != 0)
		return -1;
	*why = "can't open the enrolment state file";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", u->state_dir,
	    ENROLL_USES_FILE) >= sizeof(path))
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	buf_init(&in);
	buf_init(&out);
	if (flock(fd, LOCK_EX) != 0 || read_all(fd, &in) != 0)
		goto out;
	/* "ID USED" lines: the uses taken of each token. */
	for (ln = strtok_r((char *)in.data, "\n", &save); ln != NULL;
	    ln = strtok_r(NULL, "\n", &save)) {
		if (sscanf(ln, "%15s %lld", id, &n) != 2)
			continue;
		if (strcmp(id, l.id) == 0)
			used = n;
		else
			buf_printf(&out, "%s %lld\n", id, n);
	}
	l.uses -= used;
	if ((*why = check(u, &l)) != NULL || u->check_only)
		goto out;
	buf_printf(&out, "%s %lld\n", l.id, used + 1);
	*why = "can't update the enrolment state file";
	if (!out.failed && rewrite(fd, &out) == 0)
		*why = NULL;
out:
	buf_free(&in);
	buf_free(&out);
	close(fd);
	return *why == NULL ? 0 : -1;
}
