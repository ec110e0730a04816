/*
 * The event hook (hook.h): one hook process at a time, in event order; the
 * queue between the daemon and the hook coalesces, bounds and rate-limits,
 * so a storm of events can't fork a storm of processes.
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
#include "hook.h"
#include "json.h"
#include "log.h"

#define STR_LEN		256
#define DROP_LOG_MS	10000

struct hook_item {
	TAILQ_ENTRY(hook_item) link;
	const char *name;		/* static: the event's name */
	int coalesce;			/* may replace a waiting one */
	uint32_t node;
	uint64_t seq;
	char cluster[STR_LEN];
	char vote[16];
	char reason[STR_LEN];
	char nodes[STR_LEN];		/* partition: ids holding the vote */
	char addr[64];			/* tls_refused: the client */
	char ts[48];
};

struct hook {
	uv_loop_t *loop;
	struct hook_settings s;
	char *hook;
	TAILQ_HEAD(, hook_item) queue;
	size_t queued;
	uint64_t seq;
	struct hook_counts n;
	uint64_t dropped_unreported;	/* PREFIX_DROPPED of the next run */
	uint64_t drop_log_next;
	/* The run in progress: item, its programs and the one running. */
	struct hook_item *cur;
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

static void	next(struct hook *e);
static void	rate_wait(uv_timer_t *t);

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
static struct hook_item *
coalesce_with(struct hook *e, const struct hook_item *it)
{
	struct hook_item *q;

	if (!it->coalesce)
		return NULL;
	TAILQ_FOREACH(q, &e->queue, link)
		if (strcmp(q->name, it->name) == 0 && q->node == it->node &&
		    strcmp(q->cluster, it->cluster) == 0)
			return q;
	return NULL;
}

/* One JSON line per event, the hook's variables as members. */
static void
follow(struct hook *e, const struct hook_item *it)
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
	buf_printf(&b, "\"%s\"", it->name);
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
emit(struct hook *e, struct hook_item *it)
{
	struct hook_item *q;
	uint64_t now;

	it->seq = ++e->seq;
	timestamp(it->ts, sizeof(it->ts));
	e->n.emitted++;
	log_debug("Event %" PRIu64 " %s cluster %s node %" PRIu32 " %s %s",
	    it->seq, it->name, it->cluster, it->node, it->vote,
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
			    it->name, e->n.dropped);
			e->drop_log_next = now + DROP_LOG_MS;
		}
		return;
	}
	*q = *it;
	TAILQ_INSERT_TAIL(&e->queue, q, link);
	e->queued++;
	/*
	 * Not from here: uv_spawn() forks, and the caller is about to send
	 * a vote.  The next loop iteration starts the hook.
	 */
	if (e->cur == NULL && !uv_is_active((uv_handle_t *)&e->rate_timer))
		uv_timer_start(&e->rate_timer, rate_wait, 0, 0);
}

/* ------------------------------------------------------------------ */
/* Running the hook */

static void
free_progs(struct hook *e)
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
list_progs(struct hook *e)
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

static void	start_prog(struct hook *e);

static void
handle_closed(uv_handle_t *h)
{
	struct hook *e = h->data;

	if (--e->handles == 0 && e->closing) {
		free(e->hook);
		free(e);
	}
}

static void
proc_closed(uv_handle_t *h)
{
	struct hook *e = h->data;

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
	struct hook *e = p->data;

	uv_timer_stop(&e->run_timer);
	if (!e->closing && (status != 0 || sig != 0)) {
		e->n.failures++;
		log_warn("Event hook %s (event %" PRIu64 ", %s) %s %d",
		    e->progs[e->prog], e->cur->seq, e->cur->name,
		    sig ? "killed by signal" : "exited with status",
		    sig ? sig : (int)status);
	}
	uv_close((uv_handle_t *)p, proc_closed);
}

static void
run_timeout(uv_timer_t *t)
{
	struct hook *e = t->data;

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

/* PREFIX_NAME=value into env[n] (the prefix: QNETD or QDEVICE). */
static void
env_set(const struct hook *e, char *slot, const char *name,
    const char *value)
{
	snprintf(slot, STR_LEN + 32, "%s_%s=%s", e->s.prefix, name, value);
}

static void
build_env(const struct hook *e, const struct hook_item *it,
    char env[ENV_MAX][STR_LEN + 32], char **envp)
{
	char num[32];
	int n = 0;

	env_set(e, env[n++], "EVENT", it->name);
	env_set(e, env[n++], "CLUSTER", it->cluster);
	snprintf(num, sizeof(num), "%" PRIu32, it->node);
	env_set(e, env[n++], "NODE_ID", it->node != 0 ? num : "");
	env_set(e, env[n++], "VOTE", it->vote);
	env_set(e, env[n++], "REASON", it->reason);
	env_set(e, env[n++], "NODES", it->nodes);
	env_set(e, env[n++], "ADDRESS", it->addr);
	snprintf(num, sizeof(num), "%" PRIu64, it->seq);
	env_set(e, env[n++], "SEQUENCE", num);
	env_set(e, env[n++], "TIMESTAMP", it->ts);
	snprintf(num, sizeof(num), "%" PRIu64, e->dropped_unreported);
	env_set(e, env[n++], "DROPPED", num);
	snprintf(env[n++], STR_LEN + 32,
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (int i = 0; i < n; i++)
		envp[i] = env[i];
	envp[n] = NULL;
}

/* The next program of the current run, or the next event. */
static void
start_prog(struct hook *e)
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
next(struct hook *e)
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
/* Life cycle */

void
hook_emit(struct hook *e, const struct hook_event *ev)
{
	struct hook_item it;

	if (e == NULL)
		return;
	memset(&it, 0, sizeof(it));
	it.name = ev->name;
	it.coalesce = ev->coalesce;
	it.node = ev->node;
#define COPY(f)	snprintf(it.f, sizeof(it.f), "%s", ev->f ? ev->f : "")
	COPY(cluster);
	COPY(vote);
	COPY(reason);
	COPY(nodes);
	COPY(addr);
#undef COPY
	emit(e, &it);
}

void
hook_counts(const struct hook *e, struct hook_counts *out)
{
	if (e == NULL)
		*out = (struct hook_counts){ 0 };
	else
		*out = e->n;
}

struct hook *
hook_new(uv_loop_t *loop, const struct hook_settings *s)
{
	struct hook *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->loop = loop;
	e->s = *s;
	if (s->path != NULL && s->path[0] != '\0' &&
	    (e->hook = strdup(s->path)) == NULL) {
		free(e);
		return NULL;
	}
	if (e->s.rate == 0)
		e->s.rate = 1;
	TAILQ_INIT(&e->queue);
	e->tokens = e->s.rate;
	e->tokens_at = uv_now(loop);
	uv_timer_init(loop, &e->run_timer);
	uv_timer_init(loop, &e->rate_timer);
	e->run_timer.data = e->rate_timer.data = e;
	e->handles = 2;
	return e;
}

void
hook_close(struct hook *e)
{
	struct hook_item *it;

	if (e == NULL || e->closing)
		return;
	e->closing = 1;
	while ((it = TAILQ_FIRST(&e->queue)) != NULL) {
		TAILQ_REMOVE(&e->queue, it, link);
		free(it);
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
