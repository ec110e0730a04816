/*
 * The protocol-test harness: the daemon under test.  It runs as a child
 * with PR_SET_PDEATHSIG(SIGKILL) (a failing check test _exits its forked
 * process), the checked teardown kills whatever is still registered, and a
 * normal stop asserts that it was still alive and exits 0 (so a crash, or
 * a sanitizer report at exit, fails the test).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

int harness_proto_settings;

/* The daemons of this test, by pid: the teardown kills what is left. */
#define MAX_SERVERS	4
static pid_t servers[MAX_SERVERS];

static void
srv_register(pid_t pid, int on)
{
	for (size_t i = 0; i < MAX_SERVERS; i++) {
		if (on && servers[i] == 0) {
			servers[i] = pid;
			return;
		}
		if (!on && servers[i] == pid) {
			servers[i] = 0;
			return;
		}
	}
	ck_assert_msg(!on, "too many servers");
}

void
harness_kill_servers(void)
{
	for (size_t i = 0; i < MAX_SERVERS; i++) {
		if (servers[i] > 0) {
			kill(servers[i], SIGKILL);
			waitpid(servers[i], NULL, 0);
		}
		servers[i] = 0;
	}
}

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port;

	ck_assert_int_ge(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Is something listening on the TCP port (any address family)? */
int
port_listening(int port)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char want[8];

	snprintf(want, sizeof(want), ":%04X", port);
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		FILE *f = fopen(files[i], "r");
		char line[512];

		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			char local[80], remote[80], st[8];

			if (sscanf(line, " %*s %79s %79s %7s", local, remote,
			    st) != 3)
				continue;
			if (strcmp(st, "0A") == 0 &&
			    strlen(local) > 5 &&
			    strcmp(local + strlen(local) - 5, want) == 0) {
				fclose(f);
				return 1;
			}
		}
		fclose(f);
	}
	return 0;
}

void
print_file(const char *path, const char *prefix)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		printf("%s%s", prefix, line);
	fclose(f);
	fflush(stdout);
}

void
print_log(const struct srv *s)
{
	print_file(s->log, "qnetd: ");
}

void
srv_prepare(struct srv *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s/srvXXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/qnetd.sock", s->dir);
	snprintf(s->lock, sizeof(s->lock), "%s/qnetd.pid", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/qnetd.log", s->dir);
	s->port = free_port();
}

void
srv_spawn(struct srv *s, const char *const *args)
{
	char port[16], settings[8 * PATH_MAX];
	const char *argv[64];
	/* The whole suite runs again on OpenSSL's TLS (scripts/test.sh). */
	const char *backend = getenv("QNETD_TEST_TLS_BACKEND");
	size_t n = 0;

	if (backend == NULL || *backend == '\0' || debian)
		backend = NULL;
	snprintf(port, sizeof(port), "%d", s->port);
	if (harness_proto_settings)
		snprintf(settings, sizeof(settings),
		    "lock_file=%s,local_socket_file=%s,nss_db_dir=%s%s%s%s%s%s",
		    s->lock, s->sock, have_certs ? nss_dir : s->dir,
		    keep_gate || debian ? "" : ",ack_grace_coefficient=0",
		    debian ? "" : ",state_dir=",
		    debian ? "" : s->state_dir[0] ? s->state_dir : s->dir,
		    backend != NULL ? ",tls_backend=" : "",
		    backend != NULL ? backend : "");
	else
		snprintf(settings, sizeof(settings),
		    "lock_file=%s,local_socket_file=%s", s->lock, s->sock);
	argv[n++] = qnetd_bin;
	argv[n++] = "-f";
	if (!s->no_debug)
		argv[n++] = "-d";
	argv[n++] = "-l";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = port;
	argv[n++] = "-S";
	argv[n++] = settings;
	for (; *args != NULL && n < ARRAY_LEN(argv) - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;

	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int devnull = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (s->nofile != 0) {
			struct rlimit rl = { s->nofile, s->nofile };

			setrlimit(RLIMIT_NOFILE, &rl);
		}
		dup2(devnull, 0);
		dup2(fd, 1);
		if (s->stderr_full)
			fd = open("/dev/full", O_WRONLY);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	srv_register(s->pid, 1);
}

/*
 * Until the daemon listens (1), ends (0, *code its exit status or 128 when
 * signalled) or does neither within 10 s (-1, killed).
 */
static int
srv_wait_listening(struct srv *s, int *code)
{
	int64_t deadline = now_ms() + 10000;
	int status;

	while (now_ms() < deadline) {
		if (srv_wait(s, 0, &status)) {
			*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
			return 0;
		}
		if (port_listening(s->port))
			return 1;
		sleep_ms(5);
	}
	kill(s->pid, SIGKILL);
	srv_wait(s, 10000, &status);
	return -1;
}

int
srv_start_opt(struct srv *s, const char *const *args, int may_fail)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		int r, code = 0;

		srv_prepare(s);
		srv_spawn(s, args);
		r = srv_wait_listening(s, &code);
		if (r == 1)
			return 0;
		if (r == 0 && may_fail)
			return code;
		/* Perhaps somebody took the port: try another one. */
		print_log(s);
	}
	ck_abort_msg("%s did not start (log above)", qnetd_bin);
	return -1;
}

void
srv_start(struct srv *s, const char *const *args)
{
	srv_start_opt(s, args, 0);
}

void
srv_launch(struct srv *s, const char *const *args)
{
	int r, code = 0;

	srv_spawn(s, args);
	r = srv_wait_listening(s, &code);
	if (r != 1)
		print_log(s);
	ck_assert_msg(r != 0, "qnetd exited at start with %d (log above)",
	    code);
	ck_assert_msg(r == 1, "qnetd does not listen (log above)");
}

int
srv_alive(const struct srv *s)
{
	int status;

	return s->pid > 0 && waitpid(s->pid, &status, WNOHANG) == 0;
}

int
srv_wait(struct srv *s, int ms, int *status)
{
	int64_t deadline = now_ms() + ms;

	while (waitpid(s->pid, status, WNOHANG) == 0) {
		if (now_ms() >= deadline)
			return 0;
		sleep_ms(5);
	}
	srv_register(s->pid, 0);
	s->pid = 0;
	return 1;
}

/*
 * Stop the daemon with the IPC "shutdown" command; it must still be running
 * and then exit 0.  (Not SIGTERM: 3.0.3's SIGTERM handler logs through
 * syslog() and deadlocks when the signal interrupts a log call; see the
 * sigterm test.)
 */
void
srv_stop(struct srv *s)
{
	int status = 0, alive, ended;
	struct buf answer;

	if (s->pid <= 0)
		return;
	alive = !srv_wait(s, 0, &status);
	ended = !alive;
	buf_init(&answer);
	if (alive && ipc_request(s, "shutdown\n", &answer) == 0)
		ended = srv_wait(s, 10000, &status);
	if (!ended) {
		kill(s->pid, SIGKILL);
		srv_wait(s, 10000, &status);
	}
	if (!alive || !ended || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		print_log(s);
	ck_assert_msg(alive, "qnetd died during the test (status 0x%x, log "
	    "above)", status);
	ck_assert_msg(answer.len > 0 && strcmp((char *)answer.data, "OK\n") == 0,
	    "IPC shutdown answered '%s'", answer.len > 0 ?
	    (char *)answer.data : "(nothing)");
	buf_free(&answer);
	ck_assert_msg(ended, "qnetd did not end after IPC shutdown (log above)");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "qnetd did not exit 0 after IPC shutdown (status 0x%x, log above)",
	    status);
}

void
srv_term(struct srv *s)
{
	int status;

	ck_assert_msg(srv_alive(s), "qnetd died");
	kill(s->pid, SIGTERM);
	if (!srv_wait(s, 10000, &status)) {
		kill(s->pid, SIGKILL);
		srv_wait(s, 10000, &status);
		ck_abort_msg("qnetd did not stop on SIGTERM");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		print_log(s);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "qnetd exit status %d", status);
}

/* ------------------------------------------------------------------ */
/* Its log and its resources */

int
log_count(const struct srv *s, const char *needle)
{
	FILE *f = fopen(s->log, "r");
	char line[2048];
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

int
log_wait(const struct srv *s, const char *needle, int ms)
{
	int64_t deadline = now_ms() + ms;

	while (log_count(s, needle) == 0) {
		if (now_ms() > deadline)
			return 0;
		sleep_ms(20);
	}
	return 1;
}

long
srv_rss_kb(const struct srv *s)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The daemon's user + system CPU time so far, in ms. */
int64_t
srv_cpu_ms(const struct srv *s)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)s->pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	/* Fields 14 and 15, counted after the command's closing ')'. */
	ck_assert_ptr_nonnull(p = strrchr(buf, ')'));
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %llu %llu", &ut, &st), 2);
	return (int64_t)((ut + st) * 1000 / (unsigned long long)
	    sysconf(_SC_CLK_TCK));
}

/* ------------------------------------------------------------------ */
/* The local socket */

int
ipc_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	if (strlen(path) >= sizeof(sun.sun_path)) {
		close(fd);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
ipc_request(const struct srv *s, const char *line, struct buf *out)
{
	int fd = ipc_connect(s->sock);
	int64_t deadline = now_ms() + TIMEOUT_MS;
	size_t len = strlen(line);

	if (fd < 0)
		return -1;
	if (write(fd, line, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char tmp[4096];
		ssize_t n;

		if (now_ms() >= deadline ||
		    poll(&p, 1, (int)(deadline - now_ms())) <= 0)
			break;
		n = read(fd, tmp, sizeof(tmp));
		if (n <= 0)
			break;
		buf_put(out, tmp, (size_t)n);
	}
	buf_put_u8(out, 0);
	close(fd);
	return 0;
}
