/*
 * What the qdevice configuration tests share (conf_harness.c): a fake cmap
 * (an in-memory key -> value table, keys listed in name order), the
 * fixture that fills it with the smallest configuration that starts, and
 * reads that must pass or fail; and the test cases of each file
 * (test_qdevice_config.c runs them).
 */
#ifndef CONF_HARNESS_H
#define CONF_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "proto.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

struct entry {
	char key[128];
	int is_string;
	char str[256];
	uint64_t num;
};

struct fake {
	struct entry e[96];
	size_t n;
	int fail_get;		/* every get fails */
};

void	set_s(struct fake *f, const char *key, const char *value);
void	set_n(struct fake *f, const char *key, uint64_t value);
void	unset(struct fake *f, const char *key);

/* The fake cmap, the limits and the error text every case reads with. */
extern struct fake F;
extern struct kv KV;
extern struct config_limits L;
extern char err[CONFIG_ERR_LEN];

/* The smallest configuration that starts. */
void	setup(void);
void	teardown(void);
struct qdevice_config	read_ok(void);
/* The refusal names the key, the value and what is allowed. */
void	read_fails(const char *key, const char *value, const char *allowed);

TCase	*config_heuristics_tcase(void);
TCase	*config_nodelist_tcase(void);
TCase	*config_hosts_tcase(void);

#endif
