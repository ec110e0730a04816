/*
 * Events and the event hook (events.h).  One hook process at a time, in
 * event order; the queue between the server and the hook coalesces,
 * bounds and rate-limits, so a storm of clients can't fork a storm of
 * processes.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cluster.h"
#include "events.h"
#include "htab.h"
#include "json.h"
#include "log.h"
#include "names.h"

#define STR_LEN		256
#define DROP_LOG_MS	10000

struct qev_item {
	TAILQ_ENTRY(qev_item) link;
	enum qev_type type;
	uint32_t node;
	uint64_t seq;
	char cluster[STR_LEN];
	char vote[16];
	char reason[STR_LEN];
	char nodes[STR_LEN];		/* partition: ids holding the vote */
	char addr[64];			/* tls_refused: the client */
	char ts[48];
};

/* The nodes holding our ACK in a cluster, as last reported. */
struct part {
	struct htab_entry e;
	char nodes[STR_LEN];
	char name[];
};

struct qnetd_events {
	uv_loop_t *loop;
	struct qev_settings s;
	char *hook;
	TAILQ_HEAD(, qev_item) queue;
	size_t queued;
	struct htab parts;
	uint64_t seq;
	struct qev_counts n;
	uint64_t dropped_unreported;	/* QNETD_DROPPED of the next run */
	uint64_t drop_log_next;
	/* The run in progress: item, its programs and the one running. */
	struct qev_item *cur;
	char **progs;
	size_t nprogs, prog;
	uv_process_t proc;
	uv_timer_t run_timer;		/* kills a run that takes too long */
	uv_timer_t rate_timer;		/* waits for the next start token */
	int proc_active;
	double tokens;
	uint64_t tokens_at;
	int handles;			/* open: freed at 0 after close */
	int closing;
};

static const char *const names[QEV_COUNT] = {
	[QEV_CLIENT_CONNECTED] = "client_connected",
	[QEV_CLIENT_DISCONNECTED] = "client_disconnected",
	[QEV_VOTE_CHANGED] = "vote_changed",
	[QEV_PARTITION_CHANGED] = "quorate_partition_changed",
	[QEV_TLS_REFUSED] = "tls_refused",
	[QEV_CERT_EXPIRING] = "certificate_expiring",
};

const char *
qev_name(enum qev_type t)
{
	return (unsigned)t < QEV_COUNT ? names[t] : "unknown";
}

static void	next(struct qnetd_events *e);

/* ------------------------------------------------------------------ */
/* The queue */

static void
timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	char s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", s, (int)(ts.tv_nsec / 1000000) % 1000);
}

/* A waiting event the new one replaces: a node's vote, a partition. */
static struct qev_item *
coalesce_with(struct qnetd_events *e, const struct qev_item *it)
{
	struct qev_item *q;

	if (it->type != QEV_VOTE_CHANGED && it->type != QEV_PARTITION_CHANGED)
		return NULL;
	TAILQ_FOREACH(q, &e->queue, link)
		if (q->type == it->type && q->node == it->node &&
		    strcmp(q->cluster, it->cluster) == 0)
			return q;
	return NULL;
}

/* One JSON line per event, the hook's variables as members. */
static void
follow(struct qnetd_events *e, const struct qev_item *it)
{
	struct buf b;
	int f = 1;

	buf_init(&b);
	buf_put_u8(&b, '{');
	json_key(&b, &f, "sequence");
	buf_printf(&b, "%" PRIu64, it->seq);
	json_key(&b, &f, "timestamp");
	json_str(&b, it->ts, strlen(it->ts));
	json_key(&b, &f, "event");
	buf_printf(&b, "\"%s\"", qev_name(it->type));
	json_key(&b, &f, "cluster");
	json_str(&b, it->cluster, strlen(it->cluster));
	json_key(&b, &f, "node_id");
	if (it->node != 0)
		buf_printf(&b, "%" PRIu32, it->node);
	else
		buf_printf(&b, "null");
	json_key(&b, &f, "vote");
	json_str(&b, it->vote, strlen(it->vote));
	json_key(&b, &f, "reason");
	json_str(&b, it->reason, strlen(it->reason));
	json_key(&b, &f, "nodes");
	json_str(&b, it->nodes, strlen(it->nodes));
	json_key(&b, &f, "address");
	json_str(&b, it->addr, strlen(it->addr));
	buf_printf(&b, "}\n");
	if (!b.failed)
		e->s.follow(e->s.follow_arg, (const char *)b.data, b.len);
	buf_free(&b);
}

static void
emit(struct qnetd_events *e, struct qev_item *it)
{
	struct qev_item *q;
	uint64_t now;

	it->seq = ++e->seq;
	timestamp(it->ts, sizeof(it->ts));
	e->n.emitted++;
	log_debug("Event %" PRIu64 " %s cluster %s node %" PRIu32 " %s %s",
	    it->seq, qev_name(it->type), it->cluster, it->node, it->vote,
	    it->reason);
	if (e->s.follow != NULL && !e->closing)
		follow(e, it);
	if (e->hook == NULL || e->closing)
		return;
	/*
	 * In a burst (a quarter of the queue waits) a newer vote of a node,
	 * or a newer partition of a cluster, replaces the one waiting; the
	 * new one goes last, so the hook still sees sequence order.
	 */
	if (e->queued >= (e->s.queue_max + 3) / 4 &&
	    (q = coalesce_with(e, it)) != NULL) {
		TAILQ_REMOVE(&e->queue, q, link);
		free(q);
		e->queued--;
		e->n.coalesced++;
		e->dropped_unreported++;
	}
	if (e->queued >= e->s.queue_max || (q = malloc(sizeof(*q))) == NULL) {
		e->n.dropped++;
		e->dropped_unreported++;
		now = uv_now(e->loop);
		if (now >= e->drop_log_next) {
			log_warn("Event hook: queue full (%zu events), event %"
			    PRIu64 " (%s) and later ones dropped; %" PRIu64
			    " dropped so far", e->queued, it->seq,
			    qev_name(it->type), e->n.dropped);
			e->drop_log_next = now + DROP_LOG_MS;
		}
		return;
	}
	*q = *it;
	TAILQ_INSERT_TAIL(&e->queue, q, link);
	e->queued++;
	if (e->cur == NULL)
		next(e);
}

/* ------------------------------------------------------------------ */
/* Running the hook */

static void
free_progs(struct qnetd_events *e)
{
	for (size_t i = 0; i < e->nprogs; i++)
		free(e->progs[i]);
	free(e->progs);
	e->progs = NULL;
	e->nprogs = e->prog = 0;
}

static int
runnable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The programs of one run: the hook, or its directory's, in name order. */
static void
list_progs(struct qnetd_events *e)
{
	struct dirent **ents;
	struct stat st;
	int n;

	if (stat(e->hook, &st) != 0 || !S_ISDIR(st.st_mode)) {
		if ((e->progs = calloc(1, sizeof(*e->progs))) != NULL &&
		    (e->progs[0] = strdup(e->hook)) != NULL)
			e->nprogs = 1;
		return;
	}
	if ((n = scandir(e->hook, &ents, NULL, by_name)) < 0) {
		log_warn("Event hook: can't read directory %s: %s", e->hook,
		    strerror(errno));
		return;
	}
	e->progs = calloc((size_t)n + 1, sizeof(*e->progs));
	for (int i = 0; i < n; i++) {
		char *p = NULL;

		if (e->progs != NULL && ents[i]->d_name[0] != '.' &&
		    asprintf(&p, "%s/%s", e->hook, ents[i]->d_name) >= 0 &&
		    runnable(p))
			e->progs[e->nprogs++] = p;
		else
			free(p);
		free(ents[i]);
	}
	free(ents);
}

static void	start_prog(struct qnetd_events *e);

static void
handle_closed(uv_handle_t *h)
{
	struct qnetd_events *e = h->data;

	if (--e->handles == 0 && e->closing) {
		htab_free(&e->parts);
		free(e->hook);
		free(e);
	}
}

static void
proc_closed(uv_handle_t *h)
{
	struct qnetd_events *e = h->data;

	e->proc_active = 0;
	e->handles--;
	if (e->closing) {
		e->handles++;
		handle_closed(h);
		return;
	}
	e->prog++;
	start_prog(e);
}

static void
exited(uv_process_t *p, int64_t status, int sig)
{
	struct qnetd_events *e = p->data;

	uv_timer_stop(&e->run_timer);
	if (!e->closing && (status != 0 || sig != 0)) {
		e->n.failures++;
		log_warn("Event hook %s (event %" PRIu64 ", %s) %s %d",
		    e->progs[e->prog], e->cur->seq, qev_name(e->cur->type),
		    sig ? "killed by signal" : "exited with status",
		    sig ? sig : (int)status);
	}
	uv_close((uv_handle_t *)p, proc_closed);
}

static void
run_timeout(uv_timer_t *t)
{
	struct qnetd_events *e = t->data;

	if (!e->proc_active || e->closing)
		return;
	e->n.timeouts++;
	log_warn("Event hook %s (event %" PRIu64 ") still runs after %" PRIu32
	    " ms: killed", e->progs[e->prog], e->cur->seq, e->s.timeout_ms);
	/* Its own process group: whatever it started goes too. */
	kill(-e->proc.pid, SIGKILL);
	uv_process_kill(&e->proc, SIGKILL);
}

#define ENV_MAX	12

static void
build_env(const struct qnetd_events *e, const struct qev_item *it,
    char env[ENV_MAX][STR_LEN + 32], char **envp)
{
	int n = 0;

	snprintf(env[n++], sizeof(env[0]), "QNETD_EVENT=%s",
	    qev_name(it->type));
	snprintf(env[n++], sizeof(env[0]), "QNETD_CLUSTER=%s", it->cluster);
	if (it->node != 0)
		snprintf(env[n++], sizeof(env[0]), "QNETD_NODE_ID=%" PRIu32,
		    it->node);
	else
		snprintf(env[n++], sizeof(env[0]), "QNETD_NODE_ID=");
	snprintf(env[n++], sizeof(env[0]), "QNETD_VOTE=%s", it->vote);
	snprintf(env[n++], sizeof(env[0]), "QNETD_REASON=%s", it->reason);
	snprintf(env[n++], sizeof(env[0]), "QNETD_NODES=%s", it->nodes);
	snprintf(env[n++], sizeof(env[0]), "QNETD_ADDRESS=%s", it->addr);
	snprintf(env[n++], sizeof(env[0]), "QNETD_SEQUENCE=%" PRIu64, it->seq);
	snprintf(env[n++], sizeof(env[0]), "QNETD_TIMESTAMP=%s", it->ts);
	snprintf(env[n++], sizeof(env[0]), "QNETD_DROPPED=%" PRIu64,
	    e->dropped_unreported);
	snprintf(env[n++], sizeof(env[0]),
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (int i = 0; i < n; i++)
		envp[i] = env[i];
	envp[n] = NULL;
}

/* The next program of the current run, or the next event. */
static void
start_prog(struct qnetd_events *e)
{
	char env[ENV_MAX][STR_LEN + 32], *envp[ENV_MAX + 1], *args[2];
	uv_process_options_t o;
	int err;

	while (e->prog < e->nprogs) {
		memset(&o, 0, sizeof(o));
		args[0] = e->progs[e->prog];
		args[1] = NULL;
		build_env(e, e->cur, env, envp);
		o.file = args[0];
		o.args = args;
		o.env = envp;
		o.exit_cb = exited;
		/* setsid(): a process group of its own, killed whole. */
		o.flags = UV_PROCESS_DETACHED;
		err = uv_spawn(e->loop, &e->proc, &o);
		e->proc.data = e;
		e->handles++;
		if (err == 0) {
			e->proc_active = 1;
			e->n.runs++;
			e->dropped_unreported = 0;
			uv_timer_start(&e->run_timer, run_timeout,
			    e->s.timeout_ms, 0);
			return;
		}
		e->n.failures++;
		log_warn("Event hook: can't run %s: %s", args[0],
		    uv_strerror(err));
		e->proc_active = 1;	/* until its handle is closed */
		uv_close((uv_handle_t *)&e->proc, proc_closed);
		return;
	}
	free_progs(e);
	free(e->cur);
	e->cur = NULL;
	next(e);
}

static void
rate_wait(uv_timer_t *t)
{
	next(t->data);
}

/* Start the hook for the oldest waiting event, if a start token is left. */
static void
next(struct qnetd_events *e)
{
	uint64_t now = uv_now(e->loop);

	if (e->cur != NULL || e->closing || TAILQ_EMPTY(&e->queue))
		return;
	e->tokens += (double)(now - e->tokens_at) * e->s.rate / 1000.0;
	if (e->tokens > e->s.rate)
		e->tokens = e->s.rate;
	e->tokens_at = now;
	if (e->tokens < 1) {
		uv_timer_start(&e->rate_timer, rate_wait, (uint64_t)((1 -
		    e->tokens) * 1000.0 / e->s.rate) + 1, 0);
		return;
	}
	e->tokens -= 1;
	e->cur = TAILQ_FIRST(&e->queue);
	TAILQ_REMOVE(&e->queue, e->cur, link);
	e->queued--;
	list_progs(e);
	start_prog(e);
}

/* ------------------------------------------------------------------ */
/* What the server reports */

static void
item_init(struct qev_item *it, enum qev_type type, const char *cluster,
    uint32_t node)
{
	memset(it, 0, sizeof(*it));
	it->type = type;
	it->node = node;
	snprintf(it->cluster, sizeof(it->cluster), "%s", cluster);
}

/* The ids of the nodes holding our ACK; m's vote is about to be vote. */
static void
ack_nodes(const struct member *m, int leaving, uint8_t vote, char *out,
    size_t len)
{
	const struct member *o;
	size_t off = 0;

	out[0] = '\0';
	cluster_for_each(m->cluster, o) {
		uint8_t v = o == m ? vote : o->last_ack_nack;

		if ((o == m && leaving) || v != QN_VOTE_ACK || off >= len)
			continue;
		off += (size_t)snprintf(out + off, len - off, "%s%" PRIu32,
		    off ? "," : "", o->node_id);
	}
}

/* The nodes holding the vote in m's cluster changed? */
static void
partition_check(struct qnetd_events *e, const struct member *m, int leaving,
    uint8_t vote)
{
	const char *name = m->cluster->name;
	size_t len = strlen(name);
	struct htab_entry *he = htab_find(&e->parts, name, len);
	struct part *p = he ? htab_item(he, struct part, e) : NULL;
	char nodes[STR_LEN];
	struct qev_item it;

	ack_nodes(m, leaving, vote, nodes, sizeof(nodes));
	if (strcmp(p ? p->nodes : "", nodes) == 0)
		return;
	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p) + len + 1)) == NULL)
			return;
		memcpy(p->name, name, len);
		if (htab_insert(&e->parts, &p->e, p->name, len) != 0) {
			free(p);
			return;
		}
	}
	snprintf(p->nodes, sizeof(p->nodes), "%s", nodes);
	item_init(&it, QEV_PARTITION_CHANGED, name, 0);
	snprintf(it.nodes, sizeof(it.nodes), "%s", nodes);
	snprintf(it.reason, sizeof(it.reason), nodes[0] ? "nodes %s hold the "
	    "vote" : "no node holds the vote", nodes);
	if (nodes[0] == '\0') {
		htab_remove(&e->parts, &p->e);
		free(p);
	}
	emit(e, &it);
}

void
events_client(struct qnetd_events *e, enum qev_type type,
    const struct member *m, const char *reason)
{
	struct qev_item it;

	if (e == NULL || m->cluster == NULL)
		return;
	item_init(&it, type, m->cluster->name, m->node_id);
	snprintf(it.reason, sizeof(it.reason), "%s", reason);
	if (type == QEV_CLIENT_DISCONNECTED && m->last_ack_nack != 0)
		snprintf(it.vote, sizeof(it.vote), "%s",
		    vote_id(m->last_ack_nack));
	emit(e, &it);
	if (type == QEV_CLIENT_DISCONNECTED)
		partition_check(e, m, 1, 0);
}

void
events_vote(struct qnetd_events *e, const struct member *m, uint8_t vote,
    const char *reason)
{
	struct qev_item it;

	if (e == NULL || m->cluster == NULL ||
	    (vote != QN_VOTE_ACK && vote != QN_VOTE_NACK) ||
	    vote == m->last_ack_nack)
		return;
	item_init(&it, QEV_VOTE_CHANGED, m->cluster->name, m->node_id);
	snprintf(it.vote, sizeof(it.vote), "%s", vote_id(vote));
	snprintf(it.reason, sizeof(it.reason), "%s", reason);
	emit(e, &it);
	partition_check(e, m, 0, vote);
}

void
events_tls_refused(struct qnetd_events *e, const char *cluster,
    const char *addr, const char *reason)
{
	struct qev_item it;

	if (e == NULL)
		return;
	item_init(&it, QEV_TLS_REFUSED, cluster, 0);
	snprintf(it.addr, sizeof(it.addr), "%s", addr);
	snprintf(it.reason, sizeof(it.reason), "%s", reason);
	emit(e, &it);
}

void
events_counts(const struct qnetd_events *e, struct qev_counts *out)
{
	if (e == NULL)
		*out = (struct qev_counts){ 0 };
	else
		*out = e->n;
}

/* ------------------------------------------------------------------ */
/* Life cycle */

struct qnetd_events *
events_new(uv_loop_t *loop, const struct qev_settings *s)
{
	struct qnetd_events *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->loop = loop;
	e->s = *s;
	if (s->hook != NULL && s->hook[0] != '\0' &&
	    (e->hook = strdup(s->hook)) == NULL) {
		free(e);
		return NULL;
	}
	if (e->s.rate == 0)
		e->s.rate = 1;
	TAILQ_INIT(&e->queue);
	htab_init(&e->parts);
	e->tokens = e->s.rate;
	e->tokens_at = uv_now(loop);
	uv_timer_init(loop, &e->run_timer);
	uv_timer_init(loop, &e->rate_timer);
	e->run_timer.data = e->rate_timer.data = e;
	e->handles = 2;
	return e;
}

void
events_close(struct qnetd_events *e)
{
	struct qev_item *it;
	struct htab_entry *he;

	if (e == NULL || e->closing)
		return;
	e->closing = 1;
	while ((it = TAILQ_FIRST(&e->queue)) != NULL) {
		TAILQ_REMOVE(&e->queue, it, link);
		free(it);
	}
	while ((he = htab_any(&e->parts)) != NULL) {
		htab_remove(&e->parts, he);
		free(htab_item(he, struct part, e));
	}
	if (e->proc_active && e->proc.pid > 0 &&
	    !uv_is_closing((uv_handle_t *)&e->proc)) {
		kill(-e->proc.pid, SIGKILL);
		uv_process_kill(&e->proc, SIGKILL);
	}
	free_progs(e);
	free(e->cur);
	e->cur = NULL;
	uv_close((uv_handle_t *)&e->run_timer, handle_closed);
	uv_close((uv_handle_t *)&e->rate_timer, handle_closed);
}
