/*
 * quorum.device.heuristics.*: the commands and when they run (BEHAVIOUR.md
 * §3.3, §3.8).
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "conf.h"
#include "conf_get.h"
#include "log.h"
#include "settings.h"

/* ------------------------------------------------------------------ */
/* quorum.device.heuristics.* */

struct exec_walk {
	const struct kv *kv;
	struct heur_config *h;
	size_t cap;
	int failed;
};

static int
add_exec(void *ctx, const char *key)
{
	struct exec_walk *w = ctx;
	struct heur_config *h = w->h;
	const char *name = key + strlen(EXEC_PREFIX);
	struct kv_value v = { 0 };
	struct heur_config_exec *e;

	if (*name == '\0' || strchr(name, '.') != NULL) {
		log_warn("%s: invalid heuristics exec name '%s' (it must not "
		    "be empty or contain '.'); ignored", key, name);
		return 0;
	}
	if (w->kv->get(w->kv->arg, key, &v) != 0)
		return 0;
	if (!v.is_string) {
		log_warn("%s: value is not a string; ignored", key);
		return 0;
	}
	if (h->exec_count == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;

		e = realloc(h->execs, cap * sizeof(*e));
		if (e == NULL)
			goto nomem;
		h->execs = e;
		w->cap = cap;
	}
	e = &h->execs[h->exec_count];
	e->command = v.str;
	if ((e->name = strdup(name)) == NULL)
		goto nomem;
	h->exec_count++;
	return 0;
nomem:
	free(v.str);
	w->failed = 1;
	return -1;
}

static void
free_execs(struct heur_config *h)
{
	for (size_t i = 0; i < h->exec_count; i++) {
		free(h->execs[i].name);
		free(h->execs[i].command);
	}
	free(h->execs);
	h->execs = NULL;
	h->exec_count = 0;
}

int
config_read_heuristics(const struct kv *kv, const struct config_limits *lim,
    uint32_t timeout, uint32_t sync_timeout, struct heur_config *h,
    char *err, size_t errlen)
{
	struct exec_walk w = { .kv = kv, .h = h };
	int b;

	memset(h, 0, sizeof(*h));
	h->mode = HEUR_MODE_OFF;
	OPT_STR(HEUR_PREFIX "mode",
	    (strcasecmp(s, "sync") == 0 && (h->mode = HEUR_MODE_SYNC, 1)) ||
	    (parse_bool(s, &b) == 0 &&
	    (h->mode = b ? HEUR_MODE_ON : HEUR_MODE_OFF, 1)),
	    "on, yes, 1, off, no, 0 or sync");
	if (conf_get_ranged(kv, HEUR_PREFIX "timeout",
	    lim->heuristics_timeout_min, lim->heuristics_timeout_max,
	    timeout / 2, &h->timeout, err, errlen) != 0 ||
	    conf_get_ranged(kv, HEUR_PREFIX "sync_timeout",
	    lim->heuristics_timeout_min, lim->heuristics_timeout_max,
	    sync_timeout / 2, &h->sync_timeout, err, errlen) != 0 ||
	    conf_get_ranged(kv, HEUR_PREFIX "interval",
	    lim->heuristics_interval_min, lim->heuristics_interval_max,
	    (uint32_t)((uint64_t)timeout * 3 > UINT32_MAX ? UINT32_MAX :
	    (uint64_t)timeout * 3), &h->interval, err, errlen) != 0)
		return -1;

	if (kv->each(kv->arg, EXEC_PREFIX, add_exec, &w) != 0 || w.failed) {
		snprintf(err, errlen, "%s*: can't be read", EXEC_PREFIX);
		free_execs(h);
		return -1;
	}
	if (h->exec_count > lim->heuristics_max_execs) {
		log_err("Too many heuristics exec commands (%zu, at most %"
		    PRIu32 " allowed by heuristics_max_execs). Disabling "
		    "heuristics.", h->exec_count, lim->heuristics_max_execs);
		free_execs(h);
	} else if (h->exec_count == 0 && h->mode != HEUR_MODE_OFF) {
		log_info("No valid heuristics execs defined. Heuristics will "
		    "return Undefined.");
	}
	return 0;
}

void
heur_config_free(struct heur_config *h)
{
	free_execs(h);
}

int
heur_execs_equal(const struct heur_config *a, const struct heur_config *b)
{
	if (a->exec_count != b->exec_count)
		return 0;
	for (size_t i = 0; i < a->exec_count; i++)
		if (strcmp(a->execs[i].name, b->execs[i].name) != 0 ||
		    strcmp(a->execs[i].command, b->execs[i].command) != 0)
			return 0;
	return 1;
}

int
heur_config_equal(const struct heur_config *a, const struct heur_config *b)
{
	return a->mode == b->mode && a->timeout == b->timeout &&
	    a->sync_timeout == b->sync_timeout && a->interval == b->interval &&
	    heur_execs_equal(a, b);
}

const char *
heur_mode_name(enum heur_mode m)
{
	switch (m) {
	case HEUR_MODE_ON:
		return "Enabled";
	case HEUR_MODE_SYNC:
		return "Enabled only on sync";
	case HEUR_MODE_OFF:
		break;
	}
	return "Disabled";
}

const char *
heur_mode_id(enum heur_mode m)
{
	switch (m) {
	case HEUR_MODE_ON:
		return "on";
	case HEUR_MODE_SYNC:
		return "sync";
	case HEUR_MODE_OFF:
		break;
	}
	return "off";
}

