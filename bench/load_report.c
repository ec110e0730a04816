/*
 * qnet-load's figures: latency samples and their percentiles, qnetd's CPU
 * time and RSS from /proc, the load generator's own CPU time, and the line
 * each phase prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "load.h"

void
sample(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL)
			abort();
	}
	s->v[s->n++] = (uint32_t)(ns / 1000);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* (qsort() of no samples would be given a NULL array: undefined.) */
static void
sort_samples(struct samples *s)
{
	if (s->n > 0)
		qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
}

static double
pct(struct samples *s, double p)
{
	size_t i;

	if (s->n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(s->n - 1));
	return s->v[i] / 1000.0;	/* ms */
}

/* ------------------------------------------------------------------ */
/* qnetd process figures */

double
proc_cpu_s(int pid)
{
	char path[64], line[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (pid <= 0 || (f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return -1;
	/* Fields after the command: state is 3rd, utime 14th, stime 15th. */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

long
proc_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (pid <= 0 || (f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Whether qnetd still runs (a zombie does not: it crashed or exited). */
int
proc_alive(int pid)
{
	char path[64], line[512], *p;
	FILE *f;

	if (pid <= 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return 0;
	return p[2] != 'Z' && p[2] != 'X';
}

double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void
report(struct bench *b, const char *phase, double cpu0, double self0,
    int finished)
{
	uint64_t t = now_ns();
	double secs = (double)(t - b->phase_t0) / 1e9;
	double cpu = proc_cpu_s(b->qnetd_pid);
	size_t wrong = 0, missing = 0, bg_unanswered = 0, bg_late = 0;

	for (size_t i = 0; i < b->n; i++) {
		struct client *c = &b->c[i];

		/* A stall must show: an unanswered echo counts with its age. */
		if (c->bg && b->bg_fast && c->echo_sent != 0) {
			sample(&b->bg_echo, t - c->echo_sent);
			bg_unanswered++;
		}

		if (c->done)
			sample(&b->decide, c->done_at);
		else if (c->vote == QN_VOTE_ACK || c->vote == QN_VOTE_NACK) {
			if (wrong++ < 10)
				fprintf(stderr, "qnet-load: %s: cluster %u node %u "
				    "ring %u.%" PRIu64 " holds vote %u, expected "
				    "%u\n", phase, c->cluster, c->node_id,
				    c->ring.node_id, c->ring.seq, c->vote,
				    c->expect);
		} else {
			/* A few, named: what did they get last? */
			if (missing++ < 10)
				fprintf(stderr, "qnet-load: %s: cluster %u node %u "
				    "ring %u.%" PRIu64 " has no vote; last: vote "
				    "%u in message %u, %s ring\n", phase,
				    c->cluster, c->node_id, c->ring.node_id,
				    c->ring.seq, c->last_vote, c->last_vote_msg,
				    c->last_vote_ring_ok ? "its" : "another");
		}
	}
	sort_samples(&b->echo);
	sort_samples(&b->decide);
	sort_samples(&b->bg_echo);
	for (size_t i = 0; i < b->bg_echo.n; i++)
		bg_late += b->bg_echo.v[i] > 100000;	/* over 100 ms */
	printf("RESULT {\"phase\":\"%s\",\"clients\":%zu,\"seconds\":%.3f,"
	    "\"all_decided\":%s,\"qnetd_cpu_s\":%.3f,\"qnetd_rss_kb\":%ld,"
	    "\"qnetd_rss_base_kb\":%ld,\"load_cpu_s\":%.3f,"
	    "\"echo_n\":%zu,\"echo_p50_ms\":%.3f,\"echo_p99_ms\":%.3f,"
	    "\"echo_max_ms\":%.3f,\"decide_p50_ms\":%.1f,\"decide_p99_ms\":%.1f,"
	    "\"bg_clients\":%zu,\"bg_echo_n\":%zu,\"bg_echo_p50_ms\":%.3f,"
	    "\"bg_echo_p99_ms\":%.3f,\"bg_echo_max_ms\":%.3f,"
	    "\"bg_echo_over_100ms\":%zu,\"bg_echo_unanswered\":%zu,"
	    "\"wrong\":%zu,\"missing\":%zu,\"unexpected_votes\":%zu,"
	    "\"errors\":%zu,\"reconnects\":%zu,\"connect_timeouts\":%zu,"
	    "\"double_ack\":%zu,\"all_done_at_s\":%.3f,"
	    "\"timeouts_connecting\":%zu,\"timeouts_preinit\":%zu,"
	    "\"timeouts_tls\":%zu,\"timeouts_init\":%zu,\"tls_resumed\":%zu,"
	    "\"qnetd_alive\":%s}\n",
	    phase, b->n, secs,
	    finished ? "true" : "false",
	    cpu >= 0 && cpu0 >= 0 ? cpu - cpu0 : -1.0,
	    proc_rss_kb(b->qnetd_pid), b->rss_base_kb, self_cpu_s() - self0,
	    b->echo.n, pct(&b->echo, 50),
	    pct(&b->echo, 99), pct(&b->echo, 100), pct(&b->decide, 50),
	    pct(&b->decide, 99), b->n - b->nmain, b->bg_echo.n,
	    pct(&b->bg_echo, 50), pct(&b->bg_echo, 99), pct(&b->bg_echo, 100),
	    bg_late, bg_unanswered, wrong, missing, b->unexpected, b->errors,
	    b->retries, b->timeouts, b->double_ack,
	    b->all_done_at == UINT64_MAX || b->done != b->n ? -1.0 :
	    (double)b->all_done_at / 1e9,
	    b->timeouts_in[ST_CONNECTING], b->timeouts_in[ST_PREINIT],
	    b->timeouts_in[ST_STARTTLS], b->timeouts_in[ST_INIT], b->resumed,
	    proc_alive(b->qnetd_pid) ? "true" : "false");
	fflush(stdout);
}
