/*
 * Unit tests of common/cert_watch.c with the qdevice's client certificate
 * (tls_client_expiring): a "Cluster Cert" 2 days from its end under a CA 10
 * days from its own is two certificate_expiring events, each once a day
 * however often checked; a long-valid certificate, or none, is no event.
 * Skipped (77) without certutil or openssl.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "cert_watch.h"
#include "tls.h"

static char dir[] = "/tmp/test-cert-watch.XXXXXX";

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

/* What a watch told, as the qdevice would put it in QDEVICE_REASON. */
struct told {
	struct tls_client *tls;
	char reason[4][512];
	int n;
};

static size_t
query(void *arg, struct tls_expiry *out, size_t max)
{
	struct told *t = arg;

	return tls_client_expiring(t->tls, out, max);
}

static void
emit(void *arg, const struct tls_expiry *x, const char *reason)
{
	struct told *t = arg;

	(void)x;
	ck_assert_int_lt(t->n, 4);
	snprintf(t->reason[t->n++], sizeof(t->reason[0]), "%s", reason);
}

static const struct cert_watch_ops ops = { query, emit };

/* Check nickname's certificate twice (start-up, a reload): what was told. */
static void
watch(const char *nickname, struct told *t)
{
	uv_loop_t loop;
	struct cert_watch *w;

	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	t->tls = tls_client_new("Qnetd Server", nickname);
	ck_assert_ptr_nonnull(t->tls);
	w = cert_watch_new(&loop, &ops, t);
	ck_assert_ptr_nonnull(w);
	cert_watch_check(w, 1);
	cert_watch_check(w, 0);
	cert_watch_close(w);
	/* The daily timer keeps no loop alive: this returns at once. */
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	tls_client_free(t->tls);
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

START_TEST(short_lived_client_cert_and_ca)
{
	struct told t;

	watch("Cluster Cert", &t);
	ck_assert_int_eq(t.n, 2);
	ck_assert_msg(starts(t.reason[0], "Client certificate 'Cluster "
	    "Cert' (CN=demo) expires on 20") &&
	    strstr(t.reason[0], " UTC, in 1 day") != NULL &&
	    strstr(t.reason[0], "days") == NULL, "%s", t.reason[0]);
	ck_assert_msg(starts(t.reason[1], "CA certificate 'QNet CA' "
	    "(CN=QNet CA) expires on 20") &&
	    strstr(t.reason[1], " UTC, in 9 days") != NULL, "%s",
	    t.reason[1]);
}
END_TEST

START_TEST(long_valid_or_missing_is_no_event)
{
	struct told t;

	watch("Long Cert", &t);
	ck_assert_int_eq(t.n, 0);
	watch("No Such Cert", &t);
	ck_assert_int_eq(t.n, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cert_watch");
	TCase *tc = tcase_create("client");
	SRunner *sr;
	char db[256];
	int failed;

	if (system("command -v certutil >/dev/null && "
	    "command -v openssl >/dev/null") != 0) {
		printf("SKIP: certutil or openssl not installed\n");
		return 77;
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	/*
	 * A node database as corosync-qdevice-net-certutil leaves it ("QNet
	 * CA" trusted, "Cluster Cert" with its key), the CA and the cluster
	 * certificate made by openssl for lifetimes in days; and a
	 * self-signed "Long Cert" for two years.
	 */
	if (sh("(cd %s && head -c 2048 /dev/urandom > noise && "
	    "certutil -N -d sql:. --empty-password && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-nodes -keyout ca.key -out ca.crt -days 10 -subj '/CN=QNet CA' && "
	    "certutil -A -d sql:. -n 'QNet CA' -t 'CT,c,c' -a -i ca.crt && "
	    "certutil -R -d sql:. -s CN=demo -k ec -q nistp256 -z noise -a "
	    "-o demo.csr && openssl x509 -req -in demo.csr -CA ca.crt "
	    "-CAkey ca.key -set_serial 7 -days 2 -out demo.crt && "
	    "certutil -A -d sql:. -n 'Cluster Cert' -t ',,' -a -i demo.crt && "
	    "certutil -S -d sql:. -n 'Long Cert' -s CN=long -x -t ',,' -m 8 "
	    "-k ec -q nistp256 -v 24 -z noise) >/dev/null 2>&1", dir) != 0) {
		fprintf(stderr, "making the database in %s failed\n", dir);
		return EXIT_FAILURE;
	}
	snprintf(db, sizeof(db), "%s", dir);
	if (tls_init(db) != 0) {
		fprintf(stderr, "NSS error (%s) on %s\n", tls_error(), db);
		return EXIT_FAILURE;
	}
	tcase_add_test(tc, short_lived_client_cert_and_ca);
	tcase_add_test(tc, long_valid_or_missing_is_no_event);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (tls_shutdown() != 0) {
		fprintf(stderr, "NSS objects left in use\n");
		failed++;
	}
	sh("rm -rf %s", dir);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
