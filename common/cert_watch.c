#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "cert_watch.h"

/* The timer's next run may come a little under a day after an event. */
#define SLACK_MS	(60 * 1000ULL)

/* A certificate reported, and when (uv_now). */
struct told {
	LIST_ENTRY(told) link;
	uint64_t at;
	int seen;			/* in this check's query */
	char id[sizeof(((struct tls_expiry *)0)->id)];
};

struct cert_watch {
	uv_timer_t timer;
	const struct cert_watch_ops *ops;
	void *arg;
	LIST_HEAD(, told) told;
};

static struct told *
told_find(struct cert_watch *w, const char *id)
{
	struct told *t;

	LIST_FOREACH(t, &w->told, link)
		if (strcmp(t->id, id) == 0)
			return t;
	return NULL;
}

/* 1 if x is due an event now (and it is taken as told). */
static int
due(struct cert_watch *w, const struct tls_expiry *x, uint64_t now)
{
	struct told *t = told_find(w, x->id);

	if (t != NULL) {
		t->seen = 1;
		if (now + SLACK_MS < t->at + CERT_WATCH_DAY_MS)
			return 0;
		t->at = now;
		return 1;
	}
	/* No memory: tell it, as often as asked. */
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return 1;
	snprintf(t->id, sizeof(t->id), "%s", x->id);
	t->at = now;
	t->seen = 1;
	LIST_INSERT_HEAD(&w->told, t, link);
	return 1;
}

void
cert_watch_check(struct cert_watch *w, int log)
{
	struct tls_expiry x[CERT_WATCH_MAX];
	uint64_t now = uv_now(w->timer.loop);
	struct told *t, *next;
	char reason[512];
	size_t n;

	n = w->ops->query(w->arg, x, CERT_WATCH_MAX);
	LIST_FOREACH(t, &w->told, link)
		t->seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (log)
			tls_expiry_log(&x[i]);
		if (!due(w, &x[i], now))
			continue;
		tls_expiry_text(&x[i], reason, sizeof(reason));
		w->ops->emit(w->arg, &x[i], reason);
	}
	/* A certificate renewed or gone: forget it. */
	for (t = LIST_FIRST(&w->told); t != NULL; t = next) {
		next = LIST_NEXT(t, link);
		if (!t->seen) {
			LIST_REMOVE(t, link);
			free(t);
		}
	}
}

static void
on_timer(uv_timer_t *h)
{
	cert_watch_check(h->data, 1);
}

struct cert_watch *
cert_watch_new(uv_loop_t *loop, const struct cert_watch_ops *ops, void *arg)
{
	struct cert_watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->ops = ops;
	w->arg = arg;
	LIST_INIT(&w->told);
	uv_timer_init(loop, &w->timer);
	w->timer.data = w;
	uv_timer_start(&w->timer, on_timer, CERT_WATCH_DAY_MS,
	    CERT_WATCH_DAY_MS);
	uv_unref((uv_handle_t *)&w->timer);
	return w;
}

static void
on_closed(uv_handle_t *h)
{
	struct cert_watch *w = h->data;
	struct told *t;

	while ((t = LIST_FIRST(&w->told)) != NULL) {
		LIST_REMOVE(t, link);
		free(t);
	}
	free(w);
}

void
cert_watch_close(struct cert_watch *w)
{
	if (w != NULL)
		uv_close((uv_handle_t *)&w->timer, on_closed);
}
