/*
 * The harness of the qdevice configuration tests: an in-memory key ->
 * value table that behaves like cmap (keys listed in name order), the
 * smallest configuration that starts, and reads that must pass or fail.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_harness.h"

static struct entry *
find(struct fake *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->e[i].key, key) == 0)
			return &f->e[i];
	return NULL;
}

static struct entry *
slot(struct fake *f, const char *key)
{
	struct entry *e = find(f, key);

	if (e == NULL) {
		ck_assert_uint_lt(f->n, ARRAY_LEN(f->e));
		e = &f->e[f->n++];
		snprintf(e->key, sizeof(e->key), "%s", key);
	}
	return e;
}

void
set_s(struct fake *f, const char *key, const char *value)
{
	struct entry *e = slot(f, key);

	e->is_string = 1;
	snprintf(e->str, sizeof(e->str), "%s", value);
}

void
set_n(struct fake *f, const char *key, uint64_t value)
{
	struct entry *e = slot(f, key);

	e->is_string = 0;
	e->num = value;
}

void
unset(struct fake *f, const char *key)
{
	struct entry *e = find(f, key);

	if (e != NULL)
		*e = f->e[--f->n];
}

static int
fake_get(void *arg, const char *key, struct kv_value *v)
{
	struct fake *f = arg;
	struct entry *e = find(f, key);

	if (f->fail_get)
		return -1;
	if (e == NULL)
		return 1;
	v->is_string = e->is_string;
	v->str = e->is_string ? strdup(e->str) : NULL;
	v->num = e->num;
	return 0;
}

static int
by_key(const void *a, const void *b)
{
	return strcmp((*(const struct entry *const *)a)->key,
	    (*(const struct entry *const *)b)->key);
}

static int
fake_each(void *arg, const char *prefix, int (*fn)(void *, const char *),
    void *ctx)
{
	struct fake *f = arg;
	const struct entry *sorted[ARRAY_LEN(f->e)];

	for (size_t i = 0; i < f->n; i++)
		sorted[i] = &f->e[i];
	qsort(sorted, f->n, sizeof(sorted[0]), by_key);
	for (size_t i = 0; i < f->n; i++)
		if (strncmp(sorted[i]->key, prefix, strlen(prefix)) == 0 &&
		    fn(ctx, sorted[i]->key) != 0)
			break;
	return 0;
}

struct fake F;
struct kv KV = { fake_get, fake_each, &F };
struct config_limits L;
char err[CONFIG_ERR_LEN];

/* The smallest configuration that starts. */
void
setup(void)
{
	memset(&F, 0, sizeof(F));
	config_limits_default(&L);
	err[0] = '\0';
	set_s(&F, "quorum.device.model", "net");
	set_n(&F, "runtime.votequorum.this_node_id", 1);
	set_s(&F, "totem.cluster_name", "demo");
	set_s(&F, "quorum.device.net.host", "qnetd.example.com");
}

void
teardown(void)
{
}

struct qdevice_config
read_ok(void)
{
	struct qdevice_config c;

	if (config_read(&KV, &L, &c, err, sizeof(err)) != 0)
		ck_abort_msg("config_read failed: %s", err);
	return c;
}

/* The refusal names the key, the value and what is allowed. */
void
read_fails(const char *key, const char *value, const char *allowed)
{
	struct qdevice_config c;

	err[0] = '\0';
	ck_assert_int_eq(config_read(&KV, &L, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, key) != NULL, "'%s' lacks the key %s", err,
	    key);
	if (value != NULL) {
		char quoted[300];

		snprintf(quoted, sizeof(quoted), "'%s'", value);
		ck_assert_msg(strstr(err, quoted) != NULL,
		    "'%s' lacks the value %s", err, quoted);
	}
	ck_assert_msg(strstr(err, allowed) != NULL,
	    "'%s' lacks the allowed values '%s'", err, allowed);
}
