/*
 * Unit tests of qnetd/enroll_sign.c: a request made by certutil -R on a
 * "node" is signed with the QNet CA of a database made by certutil the way
 * corosync-qnetd-certutil -i makes it, and the certificate chains to the CA
 * as an SSL client with the lifetime asked for; requests for another name,
 * with a broken signature or undecodable, and a lifetime out of range are
 * refused with their reason.  Skipped (77) without the NSS tools.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cert.h>
#include <nss.h>
#include <secder.h>

#include "enroll_sign.h"
#include "tls.h"

static char dir[] = "/tmp/test-enroll-sign.XXXXXX";

static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static uint8_t *
slurp(const char *name, size_t *len)
{
	char path[256];
	uint8_t *p = malloc(65536);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	*len = fread(p, 1, 65536, f);
	fclose(f);
	return p;
}

static int
sign(const char *csr_file, const char *cluster, uint32_t days,
    const char *ca, uint8_t **cert, size_t *len, const char **why)
{
	size_t csr_len;
	uint8_t *csr = slurp(csr_file, &csr_len);
	struct enroll_sign_req r = { .csr = csr, .csr_len = csr_len,
	    .cluster = cluster, .ca_nickname = ca, .serial = 4242,
	    .lifetime_days = days };
	int rc = enroll_sign(&r, cert, len, why);

	free(csr);
	return rc;
}

START_TEST(signs_a_node_request)
{
	uint8_t *der;
	size_t len;
	const char *why;
	SECItem item;
	CERTCertificate *c;
	PRTime nb, na;
	char *cn;

	ck_assert_int_eq(sign("demo.csr", "demo", 730, "QNet CA", &der, &len,
	    &why), 0);
	ck_assert_ptr_null(why);
	item = (SECItem){ siBuffer, der, (unsigned)len };
	c = CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &item, NULL,
	    PR_FALSE, PR_TRUE);
	ck_assert_ptr_nonnull(c);
	cn = CERT_GetCommonName(&c->subject);
	ck_assert_str_eq(cn, "demo");
	PORT_Free(cn);
	cn = CERT_GetCommonName(&c->issuer);
	ck_assert_str_eq(cn, "QNet CA");
	PORT_Free(cn);
	ck_assert_int_eq(DER_GetInteger(&c->serialNumber), 4242);
	ck_assert_int_eq(CERT_GetCertTimes(c, &nb, &na), SECSuccess);
	/* 730 days and the five minutes it is backdated for slow clocks. */
	ck_assert_int_eq((na - nb) / PR_USEC_PER_SEC, 730 * 86400 + 300);
	ck_assert_msg(CERT_VerifyCertNow(CERT_GetDefaultCertDB(), c, PR_TRUE,
	    certUsageSSLClient, NULL) == SECSuccess,
	    "the certificate does not chain to the QNet CA as an SSL client");
	CERT_DestroyCertificate(c);
	free(der);
}
END_TEST

static void
assert_refused(const char *csr, const char *cluster, uint32_t days,
    const char *ca, const char *reason)
{
	uint8_t *der = (uint8_t *)"x";
	size_t len = 1;
	const char *why = NULL;

	ck_assert_int_eq(sign(csr, cluster, days, ca, &der, &len, &why), -1);
	ck_assert_ptr_null(der);
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, reason) != NULL, "reason \"%s\", not "
	    "about \"%s\"", why, reason);
}

START_TEST(refuses_bad_requests)
{
	assert_refused("other.csr", "demo", 730, "QNet CA",
	    "not for CN=<cluster name>");
	assert_refused("demo.csr", "dem", 730, "QNet CA",
	    "not for CN=<cluster name>");
	assert_refused("twocn.csr", "demo", 730, "QNet CA",
	    "not for CN=<cluster name>");
	/* A bit of the signature (at the end of the DER) flipped. */
	{
		size_t len;
		uint8_t *csr = slurp("demo.csr", &len), *der = NULL;
		struct enroll_sign_req r = { .csr = csr, .csr_len = len,
		    .cluster = "demo", .ca_nickname = "QNet CA", .serial = 1,
		    .lifetime_days = 730 };
		const char *why = NULL;

		csr[len - 3] ^= 0x01;
		ck_assert_int_eq(enroll_sign(&r, &der, &len, &why), -1);
		ck_assert_ptr_nonnull(why);
		ck_assert_ptr_nonnull(strstr(why, "signature"));
		free(csr);
	}
	assert_refused("garbage.csr", "demo", 730, "QNet CA", "decoded");
	assert_refused("demo.csr", "demo", 0, "QNet CA", "lifetime");
	assert_refused("demo.csr", "demo", ENROLL_SIGN_MAX_DAYS + 1, "QNet CA",
	    "lifetime");
	assert_refused("demo.csr", "demo", 730, "No Such CA", "CA certificate");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("enroll_sign");
	TCase *tc = tcase_create("sign");
	SRunner *sr;
	int failed;

	if (system("command -v certutil >/dev/null") != 0) {
		printf("SKIP: certutil (libnss3-tools) not installed\n");
		return 77;
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	/*
	 * The CA as corosync-qnetd-certutil -i makes it; a node database with
	 * requests; one request with a byte of its signature changed.
	 */
	if (sh("(cd %s && mkdir ca node && "
	    "head -c 2048 /dev/urandom > noise && "
	    "certutil -N -d sql:ca --empty-password && "
	    "certutil -N -d sql:node --empty-password && "
	    "printf 'y\\n0\\ny\\n' | certutil -S -n 'QNet CA' -s 'CN=QNet CA' "
	    "-x -t 'CT,,' -m 101 -v 1200 -d sql:ca -z noise -2 && "
	    "certutil -R -d sql:node -s CN=demo -o demo.csr -z noise && "
	    "certutil -R -d sql:node -s CN=other -o other.csr -z noise && "
	    "certutil -R -d sql:node -s 'CN=demo,O=x' -o twocn.csr -z noise && "
	    "echo 'not a request' > garbage.csr) >/dev/null 2>&1", dir) != 0) {
		fprintf(stderr, "making the databases in %s failed\n", dir);
		return EXIT_FAILURE;
	}
	{
		char db[256];

		snprintf(db, sizeof(db), "%s/ca", dir);
		if (tls_init(db) != 0) {
			fprintf(stderr, "NSS error (%s) on %s\n", tls_error(),
			    db);
			return EXIT_FAILURE;
		}
	}
	tcase_add_test(tc, signs_a_node_request);
	tcase_add_test(tc, refuses_bad_requests);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	tls_shutdown();
	sh("rm -rf %s", dir);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
