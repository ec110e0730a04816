/*
 * The protocol-test harness, run-wide part: the binaries under test, the
 * scratch directory, the certificates, hex, child processes, and the
 * check runner (see harness.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

const char *qnetd_bin;
const char *tool_bin;
const char *qdevice_tool_bin;
int debian;
int keep_gate;
char base_dir[256];
int have_certs;
char nss_dir[PATH_MAX + 16];
char ca_pem[PATH_MAX + 16];

static char bin_buf[3][PATH_MAX];
static int64_t test_started;

void
note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("note: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
}

/* Say which behaviour a DELIBERATE test checks. */
void
deliberate(const char *what)
{
	if (debian)
		note("QNETD_IS_DEBIAN=1: expecting 3.0.3 behaviour for %s",
		    what);
}

int
is_executable(const char *path)
{
	return path != NULL && access(path, X_OK) == 0;
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
scratch_dir(char *dir, size_t len)
{
	snprintf(dir, len, "%s/XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* ------------------------------------------------------------------ */
/* Hex */

void
hex_parse(const char *s, struct buf *out)
{
	int hi = -1;

	for (; *s != '\0'; s++) {
		int d;

		if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '|')
			continue;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			ck_abort_msg("bad character '%c' in hex", *s);
		if (hi < 0) {
			hi = d;
		} else {
			buf_put_u8(out, (uint8_t)(hi << 4 | d));
			hi = -1;
		}
	}
	ck_assert_msg(hi < 0, "odd number of hex digits");
	ck_assert(!out->failed);
}

void
hex_vformat(struct buf *out, const char *fmt, va_list ap)
{
	char *s;

	ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
	hex_parse(s, out);
	free(s);
}

/* "0001 00000012 | 0000 0004 ..." style, at most 200 bytes shown. */
char *
hex_str(const uint8_t *p, size_t len)
{
	size_t show = len > 200 ? 200 : len;
	char *s = malloc(show * 3 + 32), *q = s;

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < show; i++)
		q += sprintf(q, "%02x%s", p[i], i == 1 || i == 5 ? " | " : "");
	if (show < len)
		sprintf(q, "... (%zu bytes)", len);
	return s;
}

/* ------------------------------------------------------------------ */
/* Child processes */

/* Read both pipes until EOF or the deadline. */
static void
drain_pipes(int fds[2], struct buf *out[2], int64_t deadline)
{
	struct pollfd p[2];
	int open_count = 2;

	for (int i = 0; i < 2; i++) {
		p[i].fd = fds[i];
		p[i].events = POLLIN;
	}
	while (open_count > 0 && now_ms() < deadline) {
		if (poll(p, 2, (int)(deadline - now_ms())) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			char tmp[4096];
			ssize_t n;

			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			n = read(p[i].fd, tmp, sizeof(tmp));
			if (n > 0) {
				if (out[i] != NULL)
					buf_put(out[i], tmp, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(p[i].fd);
				p[i].fd = -1;
				open_count--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
}

int
run_wait(char *const argv[], struct buf *out, struct buf *err, int timeout_ms)
{
	int po[2], pe[2], status;
	struct buf *bufs[2] = { out, err };
	int fds[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_DFL);
		dup2(devnull, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	fds[0] = po[0];
	fds[1] = pe[0];
	drain_pipes(fds, bufs, now_ms() + timeout_ms);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (out != NULL)
		buf_put_u8(out, 0);
	if (err != NULL)
		buf_put_u8(err, 0);
	return status;
}

int
run_capture(char *const argv[], struct buf *out, struct buf *err,
    int timeout_ms)
{
	int status = run_wait(argv, out, err, timeout_ms);

	return WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
}

int
run_qnetd(const char *const *args, struct buf *out, struct buf *err)
{
	char *argv[16];
	size_t n = 0;

	argv[n++] = (char *)qnetd_bin;
	for (; *args != NULL && n < ARRAY_LEN(argv) - 1; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	return run_capture(argv, out, err, 10000);
}

int
shf(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void
outf(char *out, size_t n, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	if (fgets(out, (int)n, p) == NULL)
		out[0] = '\0';
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
}

/* Run a shell command line quietly (output to log); 0 on success. */
static int
sh(const char *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
sh(const char *log, const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	r = asprintf(&full, "( %s ) >>'%s' 2>&1", cmd, log);
	free(cmd);
	if (r < 0)
		return -1;
	r = system(full);
	free(full);
	return r;
}

/* ------------------------------------------------------------------ */
/* Certificates */

/*
 * A throwaway NSS database for qnetd: CA "QNet CA" (CN=QNet CA, trust
 * CT,,) and the server certificate "QNetd Cert" (CN=Qnetd Server) signed by
 * it.  Client certificates, exported as PEM <name>.pem for OpenSSL:
 * demo (CN=demo, our CA), wrong (CN=wrong, our CA), otherca (CN=demo,
 * signed by another CA); their keys are removed from the qnetd database.
 */
static void
make_certs(void)
{
	static const struct {
		const char *db, *nick, *subject, *ca, *out;
		int serial;
	} certs[] = {
		{ "nssdb", "Cluster demo", "CN=demo", "QNet CA", "demo", 3 },
		{ "nssdb", "Cluster wrong", "CN=wrong", "QNet CA", "wrong", 4 },
		{ "other", "Cluster demo", "CN=demo", "Other CA", "otherca", 5 },
	};
	char log[PATH_MAX + 16];
	/* RSA as corosync-qnetd-certutil makes them; EC where it's ours. */
	const char *rsa = "-k rsa -g 2048 -v 24 -z noise";
	const char *ec = "-k ec -q nistp256 -v 24 -z noise";
	struct buf export;
	int r = 0;

	if (system("command -v certutil >/dev/null && command -v pk12util >/dev/null && "
	    "command -v openssl >/dev/null") != 0) {
		note("certutil, pk12util or openssl missing: TLS tests are "
		    "skipped");
		return;
	}
	snprintf(log, sizeof(log), "%s/certs.log", base_dir);
	snprintf(nss_dir, sizeof(nss_dir), "%s/nssdb", base_dir);
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", base_dir);
	r |= sh(log, "cd '%s' && mkdir nssdb other && "
	    "head -c 2048 /dev/urandom > noise && "
	    "certutil -N -d sql:nssdb --empty-password && "
	    "certutil -N -d sql:other --empty-password", base_dir);
	/* -2: a CA (y), no path length limit, critical (y). */
	r |= sh(log, "cd '%s' && printf 'y\\n\\ny\\n' | certutil -S "
	    "-d sql:nssdb -n 'QNet CA' -s 'CN=QNet CA' -x -t 'CT,,' -m 1 "
	    "%s -2 --keyUsage certSigning,crlSigning", base_dir, rsa);
	r |= sh(log, "cd '%s' && printf 'y\\n\\ny\\n' | certutil -S "
	    "-d sql:other -n 'Other CA' -s 'CN=Other CA' -x -t 'CT,,' -m 1 "
	    "%s -2 --keyUsage certSigning,crlSigning", base_dir, ec);
	r |= sh(log, "cd '%s' && certutil -S -d sql:nssdb -n 'QNetd Cert' "
	    "-s 'CN=Qnetd Server' -c 'QNet CA' -t ',,' -m 2 %s", base_dir,
	    rsa);
	r |= sh(log, "cd '%s' && certutil -L -d sql:nssdb -n 'QNet CA' -a "
	    "> ca.pem", base_dir);
	for (size_t i = 0; i < ARRAY_LEN(certs); i++)
		r |= sh(log, "cd '%s' && certutil -S -d sql:%s -n '%s' -s '%s' "
		    "-c '%s' -t ',,' -m %d %s", base_dir, certs[i].db,
		    certs[i].nick, certs[i].subject, certs[i].ca,
		    certs[i].serial, ec);
	/*
	 * PKCS#12 export and conversion are slow (key derivation): the
	 * conversions run at once (pk12util can't share a database).
	 * <out>.pem holds the key and the certificate.
	 */
	buf_init(&export);
	for (size_t i = 0; i < ARRAY_LEN(certs); i++)
		buf_printf(&export, "pk12util -o %s.p12 -n '%s' -d sql:%s "
		    "-W '' && ", certs[i].out, certs[i].nick, certs[i].db);
	for (size_t i = 0; i < ARRAY_LEN(certs); i++)
		buf_printf(&export, "{ openssl pkcs12 -in %s.p12 -passin pass: "
		    "-nodes -clcerts -out %s.pem & } && ", certs[i].out,
		    certs[i].out);
	buf_put_u8(&export, 0);
	if (export.failed)
		r = -1;
	if (r == 0)
		r |= sh(log, "cd '%s' && %s wait && test -s demo.pem && "
		    "test -s wrong.pem && test -s otherca.pem", base_dir,
		    (char *)export.data);
	buf_free(&export);
	/* The client keys leave the qnetd database. */
	for (size_t i = 0; i < ARRAY_LEN(certs) && r == 0; i++)
		r |= sh(log, "cd '%s' && certutil -F -d sql:%s -n '%s'",
		    base_dir, certs[i].db, certs[i].nick);
	if (r != 0) {
		note("making the certificates failed (see %s): TLS tests "
		    "fail", log);
		have_certs = -1;
		return;
	}
	have_certs = 1;
}

/* ------------------------------------------------------------------ */
/* The run */

/* $env, else <dir of this binary>/<rel>. */
static const char *
find_bin(const char *env, const char *rel, char *buf, size_t len)
{
	const char *v = getenv(env);
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (v != NULL && *v != '\0')
		return v;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	if (snprintf(buf, len, "%s/%s", self, rel) >= (int)len)
		return NULL;
	return buf;
}

static void
test_setup(void)
{
	test_started = now_ms();
}

/* Checked teardown: nothing outlives its test. */
static void
test_teardown(void)
{
	const char *t = getenv("QNETD_TEST_TIMES");

	if (t != NULL && *t == '1')
		printf("time: %d ms\n", (int)(now_ms() - test_started));
	harness_kill_servers();
}

TCase *
harness_tcase(Suite *s, const char *name, int timeout_s)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout_s);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	suite_add_tcase(s, tc);
	return tc;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

int
harness_run(Suite *s, unsigned flags)
{
	const char *tmp = getenv("TMPDIR");
	const char *keep = getenv("QNETD_TEST_KEEP");
	const char *deb = getenv("QNETD_IS_DEBIAN");
	char self[PATH_MAX], *name;
	ssize_t n;
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	qnetd_bin = find_bin("QNETD_BIN", "../../qnetd/corosync-qnetd",
	    bin_buf[0], sizeof(bin_buf[0]));
	tool_bin = find_bin("QNETD_TOOL_BIN", "../../qnetd/corosync-qnetd-tool",
	    bin_buf[1], sizeof(bin_buf[1]));
	qdevice_tool_bin = find_bin("QDEVICE_TOOL_BIN",
	    "../../qdevice/corosync-qdevice-tool", bin_buf[2],
	    sizeof(bin_buf[2]));
	debian = deb != NULL && strcmp(deb, "1") == 0;
	if (!is_executable(qnetd_bin)) {
		printf("SKIP: no corosync-qnetd at %s (set QNETD_BIN)\n",
		    qnetd_bin != NULL ? qnetd_bin : "?");
		srunner_free(srunner_create(s));
		return 77;
	}
	printf("qnetd: %s\ntool: %s\n%s", qnetd_bin,
	    tool_bin != NULL ? tool_bin : "?", debian ?
	    "QNETD_IS_DEBIAN=1: deliberate differences expect 3.0.3\n" : "");
	/* Socket paths must stay short (108 bytes). */
	if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 40)
		tmp = "/tmp";
	/* qnetd-<program>-XXXXXX: which program left it is plain. */
	name = (char *)"proto";
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		name = strrchr(self, '/') != NULL ? strrchr(self, '/') + 1 :
		    self;
		if (strncmp(name, "test_", 5) == 0)
			name += 5;
	}
	snprintf(base_dir, sizeof(base_dir), "%s/qnetd-%.24s-XXXXXX", tmp,
	    name);
	if (mkdtemp(base_dir) == NULL) {
		perror("mkdtemp");
		srunner_free(srunner_create(s));
		return 99;
	}
	if (flags & H_CERTS)
		make_certs();
	if (flags & H_PROTO)
		harness_proto_settings = 1;

	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	if (failed != 0 || (keep != NULL && *keep == '1'))
		printf("scratch directory kept: %s\n", base_dir);
	else
		nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? 0 : 1;
}
