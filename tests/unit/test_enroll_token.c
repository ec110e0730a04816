/*
 * Unit tests of qnetd/enroll_token.c: a token of the file that
 * corosync-qnetd-certutil -t writes is used up one enrolment at a time with
 * the right proof; a wrong proof, a proof over other data (another TLS
 * session or request), an unknown id, a revoked, expired or used-up token
 * and another cluster are refused with their reason and take no use.  The
 * last test makes the token with the built corosync-qnetd-certutil (skipped
 * without it, openssl or certutil).
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pk11pub.h>
#include <sechash.h>

#include "enroll_token.h"
#include "tls.h"

static char dir[] = "/tmp/test-enroll-token.XXXXXX";
static const uint8_t bound[] = "exported keying material + request";

/* SHA-256 of the secret as the script stores it: of its hex text. */
static void
key_of(const char *secret, uint8_t key[32])
{
	ck_assert_int_eq(PK11_HashBuf(SEC_OID_SHA256, key,
	    (const unsigned char *)secret, (PRInt32)strlen(secret)),
	    SECSuccess);
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* The token file: id cluster expires uses state hash created. */
static void
write_tokens(void)
{
	char path[256], h[65];
	uint8_t key[32];
	long long now = (long long)time(NULL);
	FILE *f;

	/* A new set of tokens: no uses taken yet. */
	snprintf(path, sizeof(path), "%s/%s", dir, ENROLL_USES_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, ENROLL_TOKEN_FILE);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	key_of("secret-a", key);
	hex(key, 32, h);
	fprintf(f, "0000000a demo %lld 2 active %s %lld\n", now + 600, h, now);
	key_of("secret-r", key);
	hex(key, 32, h);
	fprintf(f, "0000000b demo %lld 5 revoked %s %lld\n", now + 600, h, now);
	key_of("secret-e", key);
	hex(key, 32, h);
	fprintf(f, "0000000c demo %lld 5 active %s %lld\n", now - 1, h,
	    now - 100);
	fclose(f);
}

static int
use(const char *id, const char *secret, const char *cluster,
    const uint8_t *b, size_t blen, const char **why)
{
	uint8_t key[32], proof[ENROLL_PROOF_LEN];
	struct enroll_token_use u = { .dir = dir, .state_dir = dir, .id = id,
	    .cluster = cluster, .proof = proof, .proof_len = sizeof(proof),
	    .bound = b, .bound_len = blen, .now = time(NULL) };

	/* The node's proof is over its own session and request (bound);
	 * qnetd checks it over b. */
	key_of(secret, key);
	ck_assert_int_eq(enroll_token_proof(key, bound, sizeof(bound), proof),
	    0);
	return enroll_token_use(&u, why);
}

#define USE(id, secret, cluster, why) \
	use((id), (secret), (cluster), bound, sizeof(bound), (why))

/* The uses left of a token: granted in the token file, less those taken. */
static long long
uses_left(const char *id)
{
	char cmd[800];
	long long n = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "{ awk '$1 == \"%s\" { print $4 }' %s/%s; "
	    "awk '$1 == \"%s\" { print -$2 }' %s/%s 2>/dev/null; } | "
	    "awk '{ s += $1 } END { print s }'", id, dir, ENROLL_TOKEN_FILE,
	    id, dir, ENROLL_USES_FILE);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	if (fscanf(p, "%lld", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

static void
assert_refused(const char *id, const char *secret, const char *cluster,
    const uint8_t *b, size_t blen, const char *reason)
{
	const char *why = NULL;
	long long before = uses_left(id);

	ck_assert_msg(use(id, secret, cluster, b, blen, &why) == -1, "%s %s %s accepted", id, secret, cluster);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, reason);
	ck_assert_int_eq(uses_left(id), before);
}

START_TEST(uses_one_at_a_time)
{
	const char *why = "x";

	write_tokens();
	ck_assert_int_eq(USE("0000000a", "secret-a", "demo", &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(uses_left("0000000a"), 1);
	ck_assert_int_eq(USE("0000000a", "secret-a", "demo", &why), 0);
	ck_assert_int_eq(uses_left("0000000a"), 0);
	assert_refused("0000000a", "secret-a", "demo", bound, sizeof(bound),
	    "used up");
	/* The other lines are untouched. */
	ck_assert_int_eq(uses_left("0000000b"), 5);
	ck_assert_int_eq(uses_left("0000000c"), 5);
}
END_TEST

START_TEST(refusals)
{
	static const uint8_t other[] = "another session";

	write_tokens();
	assert_refused("0000000a", "wrong secret", "demo", bound,
	    sizeof(bound), "wrong token");
	assert_refused("0000000a", "secret-a", "demo", other, sizeof(other),
	    "wrong token");
	/* Nothing about the state to who has no proof. */
	assert_refused("0000000b", "wrong secret", "demo", bound,
	    sizeof(bound), "wrong token");
	assert_refused("0000000c", "wrong secret", "demo", bound,
	    sizeof(bound), "wrong token");
	assert_refused("0000000b", "secret-r", "demo", bound, sizeof(bound),
	    "revoked");
	assert_refused("0000000c", "secret-e", "demo", bound, sizeof(bound),
	    "expired");
	assert_refused("0000000a", "secret-a", "other", bound, sizeof(bound),
	    "for another cluster");
	{
		const char *why = NULL;

		ck_assert_int_eq(USE("0000000f", "secret-a", "demo", &why), -1);
		ck_assert_str_eq(why, "wrong token");
	}
	ck_assert_int_eq(uses_left("0000000a"), 2);
}
END_TEST

/* A token made by corosync-qnetd-certutil -t, used with its secret. */
START_TEST(script_token)
{
	const char *script = getenv("QNETD_CERTUTIL");
	char cmd[1024], line[512], *id, *secret, *save;
	const char *why = NULL;
	FILE *p;

	if (script == NULL)
		script = "qnetd/corosync-qnetd-certutil";
	if (access(script, X_OK) != 0 ||
	    system("command -v openssl >/dev/null && "
	    "command -v certutil >/dev/null") != 0) {
		printf("SKIP: script_token (no %s, openssl or certutil)\n",
		    script);
		return;
	}
	snprintf(cmd, sizeof(cmd), "%s -i -d %s/db >/dev/null 2>&1 && "
	    "%s -t -n demo -u 1 -d %s/db", script, dir, script, dir);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	ck_assert_int_eq(pclose(p), 0);
	line[strcspn(line, "\n")] = '\0';
	ck_assert_ptr_nonnull(strtok_r(line, ".", &save));	/* qnetenroll1 */
	ck_assert_ptr_nonnull(id = strtok_r(NULL, ".", &save));
	ck_assert_ptr_nonnull(secret = strtok_r(NULL, ".", &save));
	{
		char db[300];
		uint8_t key[32], proof[ENROLL_PROOF_LEN];
		struct enroll_token_use u = { .dir = db, .state_dir = dir, .id = id,
		    .cluster = "demo", .proof = proof,
		    .proof_len = sizeof(proof), .bound = bound,
		    .bound_len = sizeof(bound), .now = time(NULL) };

		snprintf(db, sizeof(db), "%s/db", dir);
		key_of(secret, key);
		ck_assert_int_eq(enroll_token_proof(key, bound, sizeof(bound),
		    proof), 0);
		ck_assert_int_eq(enroll_token_use(&u, &why), 0);
		ck_assert_int_eq(enroll_token_use(&u, &why), -1);
		ck_assert_str_eq(why, "used up");
	}
	/* The script reads what the daemon wrote. */
	snprintf(cmd, sizeof(cmd), "%s -t -l -d %s/db -D %s | grep -q '^%s  *demo "
	    ".*  0  *used up$'", script, dir, dir, id);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("enroll_token");
	TCase *tc = tcase_create("token");
	SRunner *sr;
	int failed;
	char cmd[128];

	if (mkdtemp(dir) == NULL || tls_init(NULL) != 0) {
		perror("set-up");
		return EXIT_FAILURE;
	}
	tcase_add_test(tc, uses_one_at_a_time);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, script_token);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	tls_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		failed++;
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
