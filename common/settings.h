/*
 * Advanced settings given with -S name=value[,name=value...]: each daemon
 * describes its settings in a table; names are case-insensitive, numbers
 * strict decimal, booleans yes/on/1 and no/off/0 (BEHAVIOUR.md §4.2).
 */
#ifndef QN_SETTINGS_H
#define QN_SETTINGS_H

#include <stddef.h>

enum setting_kind {
	SETTING_INT,		/* long long within [min, max] */
	SETTING_BOOL,		/* int 0/1 */
	SETTING_STR,		/* char *, heap copy */
	SETTING_REAL,		/* double within [min, max] */
	SETTING_STRLIST,	/* char *: each -S adds a line */
	SETTING_DEPRECATED	/* accepted with a warning, no effect */
};

struct setting {
	const char *name;
	enum setting_kind kind;
	size_t offset;		/* of the value in the settings struct */
	double min, max;
};

/*
 * Apply one -S argument to dst.  Returns 0, or -1 with a message in err
 * ("Unknown option 'x'", "Invalid value 'v' for option 'x'").  Deprecated
 * names put a warning in warn (may be empty).
 */
int	settings_parse(const struct setting *table, void *dst, const char *arg,
	    char *err, size_t errlen, char *warn, size_t warnlen);
/* A string setting's default: the value at offset, when -S left it NULL. */
struct setting_default {
	size_t offset;
	const char *value;
};

/* Apply n defaults to dst.  Returns 0, or -1 when out of memory. */
int	settings_defaults(void *dst, const struct setting_default *d,
	    size_t n);
/* Free the strings a table's SETTING_STR entries hold. */
void	settings_free(const struct setting *table, void *dst);

/* Shared value parsers; 0 on success. */
int	parse_bool(const char *s, int *v);
int	parse_ll(const char *s, long long min, long long max, long long *v);

#endif
