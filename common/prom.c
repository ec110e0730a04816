/* Prometheus text format 0.0.4 and OpenMetrics 1.0.0 (prom.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "prom.h"

size_t
counter_index(const struct counter *c, const char *value)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->values[i], value) == 0)
			return i;
	return c->n;
}

void
histogram_observe(struct histogram *h, double v)
{
	size_t i = 0;

	while (i < h->n && v > h->bounds[i])
		i++;
	h->buckets[i]++;
	h->sum += v;
	h->count++;
}

/* The hot paths below avoid printf: a scrape of 10,000 clients' clusters
 * writes tens of thousands of lines on the event loop. */
static void
put_str(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void
put_u64(struct buf *b, uint64_t v)
{
	char d[24];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_put(b, d + i, sizeof(d) - i);
}

void
prom_init(struct prom *p, struct buf *o, int openmetrics)
{
	memset(p, 0, sizeof(*p));
	p->o = o;
	p->om = openmetrics;
}

static const char *
type_name(const struct prom *p, enum prom_type t)
{
	switch (t) {
	case PROM_COUNTER:
		return "counter";
	case PROM_INFO:
		return p->om ? "info" : "gauge";
	case PROM_HISTOGRAM:
		return "histogram";
	default:
		return "gauge";
	}
}

/* 0.0.4 names the family after its samples: foo_total, foo_info. */
static const char *
family_suffix(const struct prom *p, enum prom_type t)
{
	if (p->om)
		return "";
	return t == PROM_COUNTER ? "_total" : t == PROM_INFO ? "_info" : "";
}

void
prom_family(struct prom *p, const char *name, enum prom_type type,
    const char *help)
{
	const char *sfx = family_suffix(p, type);

	p->name = name;
	p->type = type;
	buf_printf(p->o, "# HELP %s%s ", name, sfx);
	for (const char *s = help; *s; s++) {
		if (*s == '\\')
			buf_printf(p->o, "\\\\");
		else if (*s == '\n')
			buf_printf(p->o, "\\n");
		else
			buf_put_u8(p->o, (uint8_t)*s);
	}
	buf_printf(p->o, "\n# TYPE %s%s %s\n", name, sfx, type_name(p, type));
}

void
prom_begin(struct prom *p, const char *suffix)
{
	if (suffix == NULL)
		suffix = p->type == PROM_COUNTER ? "_total" :
		    p->type == PROM_INFO ? "_info" : "";
	put_str(p->o, p->name);
	put_str(p->o, suffix);
	p->nlabels = 0;
}

void
prom_label(struct prom *p, const char *name, const char *value)
{
	buf_put_u8(p->o, p->nlabels++ ? ',' : '{');
	put_str(p->o, name);
	buf_put(p->o, "=\"", 2);
	if (strpbrk(value, "\\\"\n") == NULL) {
		put_str(p->o, value);
		buf_put_u8(p->o, '"');
		return;
	}
	for (const char *s = value; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_printf(p->o, "\\%c", *s);
		else if (*s == '\n')
			buf_printf(p->o, "\\n");
		else
			buf_put_u8(p->o, (uint8_t)*s);
	}
	buf_put_u8(p->o, '"');
}

void
prom_label_u64(struct prom *p, const char *name, uint64_t v)
{
	buf_put_u8(p->o, p->nlabels++ ? ',' : '{');
	put_str(p->o, name);
	buf_put(p->o, "=\"", 2);
	put_u64(p->o, v);
	buf_put_u8(p->o, '"');
}

static void
end_labels(struct prom *p)
{
	if (p->nlabels)
		buf_put(p->o, "} ", 2);
	else
		buf_put_u8(p->o, ' ');
}

void
prom_value(struct prom *p, double v)
{
	end_labels(p);
	if (isnan(v))
		buf_printf(p->o, "NaN\n");
	else if (isinf(v))
		buf_printf(p->o, "%s\n", v > 0 ? "+Inf" : "-Inf");
	else if (v == (double)(int64_t)v && fabs(v) < 1e15)
		buf_printf(p->o, "%" PRId64 "\n", (int64_t)v);
	else
		buf_printf(p->o, "%.9g\n", v);
}

void
prom_value_u64(struct prom *p, uint64_t v)
{
	end_labels(p);
	put_u64(p->o, v);
	buf_put_u8(p->o, '\n');
}

void
prom_gauge(struct prom *p, const char *name, const char *help, double v)
{
	prom_family(p, name, PROM_GAUGE, help);
	prom_begin(p, NULL);
	prom_value(p, v);
}

void
prom_counter(struct prom *p, const char *name, const char *help,
    const struct counter *c)
{
	prom_family(p, name, PROM_COUNTER, help);
	for (size_t i = 0; i < c->n; i++) {
		prom_begin(p, NULL);
		if (c->label != NULL)
			prom_label(p, c->label, c->values[i]);
		prom_value_u64(p, c->v[i]);
	}
}

void
prom_histogram(struct prom *p, const char *name, const char *help,
    const struct histogram *h)
{
	uint64_t cum = 0;
	char le[32];

	prom_family(p, name, PROM_HISTOGRAM, help);
	for (size_t i = 0; i <= h->n; i++) {
		cum += h->buckets[i];
		if (i < h->n)
			snprintf(le, sizeof(le), "%g", h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		prom_begin(p, "_bucket");
		prom_label(p, "le", le);
		prom_value_u64(p, cum);
	}
	prom_begin(p, "_sum");
	prom_value(p, h->sum);
	prom_begin(p, "_count");
	prom_value_u64(p, h->count);
}

void
prom_end(struct prom *p)
{
	if (p->om)
		buf_printf(p->o, "# EOF\n");
}

int
prom_wants_openmetrics(const char *accept)
{
	return accept != NULL &&
	    strcasestr(accept, "application/openmetrics-text") != NULL;
}
