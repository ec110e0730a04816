#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "settings.h"

int
parse_bool(const char *s, int *v)
{
	if (strcasecmp(s, "on") == 0 || strcasecmp(s, "yes") == 0 ||
	    strcmp(s, "1") == 0)
		*v = 1;
	else if (strcasecmp(s, "off") == 0 || strcasecmp(s, "no") == 0 ||
	    strcmp(s, "0") == 0)
		*v = 0;
	else
		return -1;
	return 0;
}

int
parse_ll(const char *s, long long min, long long max, long long *v)
{
	char *end;
	long long n;

	if (*s == '\0' || *s == ' ' || *s == '\t')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

static int
parse_real(const char *s, double min, double max, double *v)
{
	char *end;
	double d;

	if (*s == '\0')
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(d >= min && d <= max))
		return -1;
	*v = d;
	return 0;
}

/*
 * A table bound as long long.  LLONG_MAX becomes 2^63 as a double, and
 * converting that back is undefined (x86 gives LLONG_MIN, so every value
 * was out of range): saturate.
 */
static long long
real_to_ll(double d)
{
	if (d >= 9223372036854775807.0)
		return LLONG_MAX;
	if (d <= -9223372036854775807.0)
		return LLONG_MIN;
	return (long long)d;
}

static int
apply(const struct setting *s, void *dst, const char *value)
{
	void *p = (char *)dst + s->offset;
	char *copy;

	switch (s->kind) {
	case SETTING_INT:
		return parse_ll(value, real_to_ll(s->min), real_to_ll(s->max),
		    p);
	case SETTING_BOOL:
		return parse_bool(value, p);
	case SETTING_REAL:
		return parse_real(value, s->min, s->max, p);
	case SETTING_STR:
		if ((copy = strdup(value)) == NULL)
			return -1;
		free(*(char **)p);
		*(char **)p = copy;
		return 0;
	case SETTING_STRLIST: {
		char *old = *(char **)p;
		size_t ol = old ? strlen(old) + 1 : 0;

		if (*value == '\0' || strchr(value, '\n') != NULL ||
		    (copy = malloc(ol + strlen(value) + 1)) == NULL)
			return -1;
		if (old)
			memcpy(copy, old, ol - 1), copy[ol - 1] = '\n';
		strcpy(copy + ol, value);
		free(old);
		*(char **)p = copy;
		return 0;
	}
	case SETTING_DEPRECATED:
		return 0;
	}
	return -1;
}

int
settings_parse(const struct setting *table, void *dst, const char *arg,
    char *err, size_t errlen, char *warn, size_t warnlen)
{
	char *copy, *item, *save = NULL;
	int rc = 0;

	warn[0] = '\0';
	if ((copy = strdup(arg)) == NULL) {
		snprintf(err, errlen, "Out of memory");
		return -1;
	}
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		char *value = strchr(item, '=');
		const struct setting *s;

		if (value != NULL)
			*value++ = '\0';
		else
			value = item + strlen(item);
		if (*item == '\0')
			break;
		for (s = table; s->name != NULL; s++)
			if (strcasecmp(s->name, item) == 0)
				break;
		if (s->name == NULL) {
			snprintf(err, errlen, "Unknown option '%s'", item);
			rc = -1;
			break;
		}
		if (s->kind == SETTING_DEPRECATED)
			snprintf(warn, warnlen, "Option '%s' is deprecated and "
			    "has no effect anymore", s->name);
		if (apply(s, dst, value) != 0) {
			snprintf(err, errlen, "Invalid value '%s' for option "
			    "'%s'", value, item);
			rc = -1;
			break;
		}
	}
	free(copy);
	return rc;
}

int
settings_defaults(void *dst, const struct setting_default *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char **p = (char **)((char *)dst + d[i].offset);

		if (*p == NULL && (*p = strdup(d[i].value)) == NULL)
			return -1;
	}
	return 0;
}

void
settings_free(const struct setting *table, void *dst)
{
	for (const struct setting *s = table; s->name != NULL; s++) {
		if (s->kind == SETTING_STR || s->kind == SETTING_STRLIST) {
			char **p = (char **)((char *)dst + s->offset);

			free(*p);
			*p = NULL;
		}
	}
}
