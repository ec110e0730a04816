/*
 * Events (not in 3.0.3): -S event_hook runs a program per event with its
 * QNETD_* environment, in order; a storm is bounded and its drops counted;
 * a hook that hangs is killed; a server certificate near its end is an
 * event.  Ours only.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* A hook that writes its QNETD_* environment to DIR/ev.SEQUENCE. */
static void
write_hook(const char *dir, const char *extra, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/hook", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\n%s\nenv | grep '^QNETD_' | sort > "
	    "\"%s/tmp.$QNETD_SEQUENCE\"\nmv \"%s/tmp.$QNETD_SEQUENCE\" "
	    "\"%s/ev.$QNETD_SEQUENCE\"\n", extra, dir, dir, dir);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0755), 0);
}

/* The environment the hook saw for event seq, or NULL if it did not run. */
static char *
event_env(const char *dir, unsigned seq)
{
	char path[512], *text = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/ev.%u", dir, seq);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

static char *
wait_event(const char *dir, unsigned seq)
{
	int64_t end = now_ms() + 15000;
	char *env;

	while ((env = event_env(dir, seq)) == NULL && now_ms() < end)
		sleep_ms(20);
	ck_assert_msg(env != NULL, "the hook never ran for event %u", seq);
	return env;
}

static void
expect_var(const char *env, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "%s\n", line);
	ck_assert_msg(strstr(env, want) != NULL, "no \"%s\" in\n%s", line, env);
}

/* corosync-qnetd-tool --follow into dir/follow; its pid. */
static pid_t
start_follower(const struct srv *s, const char *dir)
{
	char out[512];
	int64_t end = now_ms() + 10000;
	struct buf st;
	pid_t pid;
	int fd;

	snprintf(out, sizeof(out), "%s/follow", dir);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execl(tool_bin, tool_bin, "-p", s->sock, "--follow",
		    (char *)NULL);
		_exit(127);
	}
	/* Following once the daemon counts it. */
	buf_init(&st);
	do {
		buf_reset(&st);
		ck_assert_int_eq(ipc_request(s, "status json\n", &st), 0);
		buf_put_u8(&st, 0);
		if (strstr((char *)st.data, "\"followers\":1") != NULL)
			break;
		sleep_ms(20);
	} while (now_ms() < end);
	ck_assert_msg(strstr((char *)st.data, "\"followers\":1") != NULL,
	    "%s", (char *)st.data);
	buf_free(&st);
	return pid;
}

/*
 * Two 2nodelms nodes join, get ACK, split (node 2 loses the vote), node 1
 * leaves (node 2 gets it back): every event reaches the hook, in order, and
 * a --follow reader sees the same as JSON lines.
 */
START_TEST(hook_sees_split_in_order)
{
	static const struct {
		const char *event, *node, *vote, *nodes;
	} want[] = {
		{ "client_connected", "1", "", "" },
		{ "client_connected", "2", "", "" },
		{ "vote_changed", "1", "ack", "" },
		{ "quorate_partition_changed", "", "", "1" },
		{ "vote_changed", "2", "ack", "" },
		{ "quorate_partition_changed", "", "", "1,2" },
		{ "vote_changed", "2", "nack", "" },
		{ "quorate_partition_changed", "", "", "1" },
		{ "client_disconnected", "1", "ack", "" },
		{ "quorate_partition_changed", "", "", "" },
		{ "vote_changed", "2", "ack", "" },
		{ "quorate_partition_changed", "", "", "2" },
	};
	char dir[256], hook[300], opt[400], line[300], path[512];
	struct srv s;
	struct qc c[2];
	uint32_t seq;
	pid_t follower;
	int status;
	FILE *f;

	scratch_dir(dir, sizeof(dir));
	write_hook(dir, "", hook, sizeof(hook));
	snprintf(opt, sizeof(opt), "event_hook=%s,event_hook_rate=1000", hook);
	SRV_START(&s, "-s", "off", "-S", opt);
	follower = start_follower(&s, dir);
	for (uint32_t i = 0; i < 2; i++) {
		join_simple(&c[i], &s, "demo", i + 1, QN_ALGO_2NODELMS);
		seq = send_config(&c[i], 1, 2);
		expect_nlr(&c[i], seq, QN_LIST_INITIAL_CONFIG, R0,
		    QN_VOTE_NO_CHANGE);
	}
	for (uint32_t i = 0; i < 2; i++) {
		seq = send_members(&c[i], R0, 0, 1, 2);
		expect_nlr(&c[i], seq, QN_LIST_MEMBERSHIP, R0, QN_VOTE_ACK);
	}
	seq = send_members(&c[0], R1, 0, 1);
	expect_nlr(&c[0], seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_ACK);
	seq = send_members(&c[1], R2, 0, 2);
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_NACK);
	qc_close(&c[0]);
	expect_vote_info(&c[1], 1, QN_VOTE_ACK, R2);

	for (unsigned i = 0; i < ARRAY_LEN(want); i++) {
		char *env = wait_event(dir, i + 1);

		snprintf(line, sizeof(line), "QNETD_EVENT=%s", want[i].event);
		expect_var(env, line);
		snprintf(line, sizeof(line), "QNETD_SEQUENCE=%u", i + 1);
		expect_var(env, line);
		expect_var(env, "QNETD_CLUSTER=demo");
		snprintf(line, sizeof(line), "QNETD_NODE_ID=%s", want[i].node);
		expect_var(env, line);
		snprintf(line, sizeof(line), "QNETD_VOTE=%s", want[i].vote);
		expect_var(env, line);
		snprintf(line, sizeof(line), "QNETD_NODES=%s", want[i].nodes);
		expect_var(env, line);
		expect_var(env, "QNETD_DROPPED=0");
		ck_assert_ptr_nonnull(strstr(env, "QNETD_TIMESTAMP=20"));
		ck_assert_ptr_nonnull(strstr(env, "QNETD_REASON="));
		if (i == 6)
			expect_var(env, "QNETD_REASON=2nodelms: tie, "
			    "tie-breaker (lowest) is node 1");
		free(env);
	}
	sleep_ms(300);
	ck_assert_ptr_null(event_env(dir, ARRAY_LEN(want) + 1));
	qc_close(&c[1]);
	srv_stop(&s);

	/* The daemon's end ends --follow, with status 0. */
	ck_assert_int_eq(waitpid(follower, &status, 0), follower);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof(path), "%s/follow", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	for (unsigned i = 0; i < ARRAY_LEN(want); i++) {
		char got[1024], exp[256];

		ck_assert_ptr_nonnull(fgets(got, sizeof(got), f));
		snprintf(exp, sizeof(exp), "{\"sequence\":%u,", i + 1);
		ck_assert_msg(strncmp(got, exp, strlen(exp)) == 0, "%s", got);
		snprintf(exp, sizeof(exp), "\"event\":\"%s\",\"cluster\":"
		    "\"demo\",\"node_id\":%s,\"vote\":\"%s\"", want[i].event,
		    want[i].node[0] ? want[i].node : "null", want[i].vote);
		ck_assert_msg(strstr(got, exp) != NULL, "no %s in %s", exp, got);
		snprintf(exp, sizeof(exp), "\"nodes\":\"%s\"", want[i].nodes);
		ck_assert_msg(strstr(got, exp) != NULL, "no %s in %s", exp, got);
	}
	fclose(f);
}
END_TEST

/*
 * 40 clients join while the hook takes 200 ms a run and 5 events may wait:
 * most are dropped and counted, the hook runs for a handful, and the first
 * run after the drops says how many it missed.
 */
START_TEST(storm_is_bounded)
{
	char dir[256], hook[300], opt[400];
	struct srv s;
	struct qc c[40];
	unsigned runs = 0, told_dropped = 0;
	struct buf out;
	char *env;

	scratch_dir(dir, sizeof(dir));
	write_hook(dir, "sleep 0.2", hook, sizeof(hook));
	snprintf(opt, sizeof(opt), "event_hook=%s,event_hook_queue=5,"
	    "event_hook_rate=1000", hook);
	SRV_START(&s, "-s", "off", "-S", opt);
	for (uint32_t i = 0; i < ARRAY_LEN(c); i++)
		join_simple(&c[i], &s, "storm", i + 1, QN_ALGO_FFSPLIT);
	ck_assert(log_wait(&s, "Event hook: queue full (5 events)", 5000));
	sleep_ms(2500);		/* the queue drains: 6 runs of 200 ms */
	for (unsigned seq = 1; seq <= ARRAY_LEN(c); seq++) {
		if ((env = event_env(dir, seq)) == NULL)
			continue;
		runs++;
		if (strstr(env, "QNETD_DROPPED=0\n") == NULL)
			told_dropped++;
		free(env);
	}
	ck_assert_uint_ge(runs, 2);
	ck_assert_uint_le(runs, 10);
	ck_assert_uint_ge(told_dropped, 1);
	/* The counters in the tool's JSON status. */
	buf_init(&out);
	ck_assert_int_eq(ipc_request(&s, "status json\n", &out), 0);
	buf_put_u8(&out, 0);
	ck_assert_msg(strstr((char *)out.data, "\"emitted\":40,") != NULL &&
	    strstr((char *)out.data, "\"dropped\":0,") == NULL,
	    "%s", (char *)out.data);
	buf_free(&out);
	for (uint32_t i = 0; i < ARRAY_LEN(c); i++)
		qc_close(&c[i]);
	srv_stop(&s);
}
END_TEST

/* A hook that hangs is killed after event_hook_timeout; the next one runs. */
START_TEST(hanging_hook_killed)
{
	char dir[256], hook[300], opt[400];
	struct srv s;
	struct qc c[2];
	char *env;

	scratch_dir(dir, sizeof(dir));
	write_hook(dir, "[ \"$QNETD_SEQUENCE\" = 1 ] && exec sleep 60", hook,
	    sizeof(hook));
	snprintf(opt, sizeof(opt), "event_hook=%s,event_hook_timeout=300",
	    hook);
	SRV_START(&s, "-s", "off", "-S", opt);
	join_simple(&c[0], &s, "demo", 1, QN_ALGO_FFSPLIT);
	join_simple(&c[1], &s, "demo", 2, QN_ALGO_FFSPLIT);
	ck_assert(log_wait(&s, "still runs after 300 ms: killed", 5000));
	env = wait_event(dir, 2);
	expect_var(env, "QNETD_EVENT=client_connected");
	expect_var(env, "QNETD_NODE_ID=2");
	free(env);
	ck_assert_ptr_null(event_env(dir, 1));
	qc_close(&c[0]);
	qc_close(&c[1]);
	srv_stop(&s);
}
END_TEST

/*
 * A directory of hooks: its executables run in name order for each event;
 * dot files and files that are not executable are skipped.
 */
START_TEST(hook_directory_in_name_order)
{
	static const char *const files[] = { "20-b", "10-a", ".30-hidden",
	    "40-not-executable" };
	char dir[256], hooks[300], path[512], opt[400], *text = NULL;
	struct srv s;
	struct qc c;
	size_t len = 0;
	int64_t end;
	FILE *f;

	scratch_dir(dir, sizeof(dir));
	snprintf(hooks, sizeof(hooks), "%s/hooks", dir);
	ck_assert_int_eq(mkdir(hooks, 0755), 0);
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", hooks, files[i]);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fprintf(f, "#!/bin/sh\necho \"$QNETD_SEQUENCE %s\" >> "
		    "\"%s/order\"\n", files[i], dir);
		fclose(f);
		ck_assert_int_eq(chmod(path, i == 3 ? 0644 : 0755), 0);
	}
	snprintf(opt, sizeof(opt), "event_hook=%s", hooks);
	SRV_START(&s, "-s", "off", "-S", opt);
	join_simple(&c, &s, "demo", 1, QN_ALGO_FFSPLIT);
	snprintf(path, sizeof(path), "%s/order", dir);
	end = now_ms() + 15000;
	do {
		sleep_ms(50);
		free(text);
		text = NULL;
		if ((f = fopen(path, "r")) != NULL) {
			if (getdelim(&text, &len, '\0', f) < 0) {
				free(text);
				text = NULL;
			}
			fclose(f);
		}
	} while ((text == NULL || strlen(text) < 14) && now_ms() < end);
	ck_assert_ptr_nonnull(text);
	/* Event 1 (the client connected), both programs, a before b. */
	ck_assert_msg(strncmp(text, "1 10-a\n1 20-b\n", 14) == 0, "%s", text);
	free(text);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* A copy of the certificates' database in dir/db, into db. */
static void
copy_db(const char *dir, char *db, size_t len)
{
	snprintf(db, len, "%s/db", dir);
	ck_assert_int_eq(shf("mkdir '%s' && cp '%s'/*.db '%s'/pkcs11.txt '%s' "
	    "&& head -c 2048 /dev/urandom > '%s/noise'", db, nss_dir, nss_dir,
	    db, db), 0);
}

/*
 * A new "QNetd Cert" in db valid for days (certutil counts in months:
 * its key and request come from certutil, the certificate from openssl
 * with a CA of its own, valid for years).
 */
static void
server_cert_days(const char *db, int days, int serial)
{
	ck_assert_int_eq(shf("cd '%s' && certutil -D -d sql:. -n 'QNetd Cert' "
	    "&& certutil -R -d sql:. -s 'CN=Qnetd Server' -k ec -q nistp256 "
	    "-z noise -a -o req.pem >/dev/null 2>&1 && { test -f ca.key || "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-nodes -keyout ca.key -out ca.crt -days 3650 -subj '/CN=Short CA' "
	    ">/dev/null 2>&1; } && openssl x509 -req -in req.pem -CA ca.crt "
	    "-CAkey ca.key -set_serial %d -days %d -out srv.crt >/dev/null 2>&1 "
	    "&& certutil -A -d sql:. -n 'QNetd Cert' -t ',,' -a -i srv.crt",
	    db, serial, days), 0);
}

/* Signal the daemon to reload and wait until it has, the count'th time. */
static void
reload(const struct srv *s, int count)
{
	ck_assert_int_eq(kill(s->pid, SIGHUP), 0);
	for (int64_t end = now_ms() + TIMEOUT_MS; log_count(s,
	    "Reloaded certificate") < count && now_ms() < end;)
		sleep_ms(20);
	ck_assert_int_eq(log_count(s, "Reloaded certificate"), count);
}

/*
 * A server certificate 2 days from its end is an event at start-up, not
 * again on a reload of the same certificate (once a day), one that has
 * expired is an event after the reload that brings it (hook and --follow
 * alike), and a long-valid one is none.
 */
START_TEST(certificate_expiring)
{
	char dir[256], hook[300], opt[PATH_MAX + 400], db[PATH_MAX];
	char path[PATH_MAX + 16], got[1024], *env;
	struct srv s;
	struct qc c[3];
	pid_t follower;
	int status;
	FILE *f;

	NEED_CERTS("certificate_expiring");
	scratch_dir(dir, sizeof(dir));
	write_hook(dir, "", hook, sizeof(hook));
	copy_db(dir, db, sizeof(db));
	server_cert_days(db, 2, 300);
	snprintf(opt, sizeof(opt), "nss_db_dir=%s,event_hook=%s,"
	    "event_hook_rate=1000", db, hook);
	SRV_START(&s, "-s", "on", "-S", opt);

	env = wait_event(dir, 1);
	expect_var(env, "QNETD_EVENT=certificate_expiring");
	expect_var(env, "QNETD_CLUSTER=");
	expect_var(env, "QNETD_NODE_ID=");
	ck_assert_msg(strstr(env, "QNETD_REASON=Server certificate 'QNetd "
	    "Cert' (CN=Qnetd Server) expires on 20") != NULL &&
	    strstr(env, " UTC, in 1 day\n") != NULL, "%s", env);
	free(env);
	ASSERT_LOG(&s, "Server certificate 'QNetd Cert' (CN=Qnetd Server) "
	    "expires on");

	/* The same certificate again: no event before the next day. */
	follower = start_follower(&s, dir);
	reload(&s, 1);
	join_simple(&c[0], &s, "demo", 1, QN_ALGO_FFSPLIT);
	env = wait_event(dir, 2);
	expect_var(env, "QNETD_EVENT=client_connected");
	free(env);

	/* Expired: an event after the reload. */
	ck_assert_int_eq(shf("cd '%s' && certutil -D -d sql:. -n 'QNetd Cert' "
	    "&& certutil -S -d sql:. -n 'QNetd Cert' -s 'CN=Qnetd Server' "
	    "-c 'QNet CA' -t ',,' -m 301 -k ec -q nistp256 -w -1 -v 1 "
	    "-z noise >/dev/null 2>&1", db), 0);
	reload(&s, 2);
	env = wait_event(dir, 3);
	expect_var(env, "QNETD_EVENT=certificate_expiring");
	ck_assert_msg(strstr(env, "QNETD_REASON=Server certificate 'QNetd "
	    "Cert' (CN=Qnetd Server) expired on 20") != NULL, "%s", env);
	free(env);

	/* Renewed for two years: no event. */
	ck_assert_int_eq(shf("cd '%s' && certutil -D -d sql:. -n 'QNetd Cert' "
	    "&& certutil -S -d sql:. -n 'QNetd Cert' -s 'CN=Qnetd Server' "
	    "-c 'QNet CA' -t ',,' -m 302 -k ec -q nistp256 -v 24 "
	    "-z noise >/dev/null 2>&1", db), 0);
	reload(&s, 3);
	join_simple(&c[1], &s, "demo", 2, QN_ALGO_FFSPLIT);
	env = wait_event(dir, 4);
	expect_var(env, "QNETD_EVENT=client_connected");
	free(env);
	qc_close(&c[0]);
	qc_close(&c[1]);
	srv_stop(&s);

	/* --follow saw what the hook saw after it joined. */
	ck_assert_int_eq(waitpid(follower, &status, 0), follower);
	snprintf(path, sizeof(path), "%s/follow", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(got, sizeof(got), f));
	ck_assert_msg(strstr(got, "\"event\":\"client_connected\"") != NULL,
	    "%s", got);
	ck_assert_ptr_nonnull(fgets(got, sizeof(got), f));
	ck_assert_msg(strstr(got, "{\"sequence\":3,") == got &&
	    strstr(got, "\"event\":\"certificate_expiring\",\"cluster\":\"\","
	    "\"node_id\":null") != NULL && strstr(got, "\"reason\":\"Server "
	    "certificate 'QNetd Cert' (CN=Qnetd Server) expired on 20") !=
	    NULL, "%s", got);
	ck_assert_ptr_nonnull(fgets(got, sizeof(got), f));
	ck_assert_msg(strstr(got, "\"event\":\"client_connected\"") != NULL,
	    "%s", got);
	fclose(f);

	/* Started with a long-valid certificate: the first event is a client. */
	scratch_dir(dir, sizeof(dir));
	write_hook(dir, "", hook, sizeof(hook));
	snprintf(opt, sizeof(opt), "event_hook=%s", hook);
	SRV_START(&s, "-s", "on", "-S", opt);
	join_simple(&c[2], &s, "demo", 1, QN_ALGO_FFSPLIT);
	env = wait_event(dir, 1);
	expect_var(env, "QNETD_EVENT=client_connected");
	free(env);
	ck_assert_int_eq(log_count(&s, "expires on"), 0);
	qc_close(&c[2]);
	srv_stop(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("events");
	TCase *t;

	t = harness_tcase(s, "hook", TEST_TIMEOUT);
	tcase_add_test(t, hook_sees_split_in_order);
	tcase_add_test(t, storm_is_bounded);
	tcase_add_test(t, hanging_hook_killed);
	tcase_add_test(t, hook_directory_in_name_order);
	t = harness_tcase(s, "certificates", TEST_TIMEOUT);
	tcase_add_test(t, certificate_expiring);
	return harness_run(s, H_PROTO | H_CERTS);
}
