/*
 * Writing metrics in the Prometheus text format 0.0.4, or in OpenMetrics
 * 1.0.0 when the scraper asks for it: the two differ in a counter's and an
 * info metric's family name and in the closing "# EOF".
 */
#ifndef QN_PROM_H
#define QN_PROM_H

#include <stdint.h>

#include "buf.h"
#include "counter.h"

#define PROM_TYPE_TEXT	"text/plain; version=0.0.4; charset=utf-8"
#define PROM_TYPE_OM	"application/openmetrics-text; version=1.0.0; " \
	"charset=utf-8"

enum prom_type { PROM_GAUGE, PROM_COUNTER, PROM_INFO, PROM_HISTOGRAM };

struct prom {
	struct buf *o;
	int om;				/* OpenMetrics */
	enum prom_type type;		/* of the current family */
	const char *name;		/* current family, without suffix */
	int nlabels;			/* in the current sample */
};

void	prom_init(struct prom *p, struct buf *o, int openmetrics);
/*
 * # HELP and # TYPE of a family: name without _total (counter) or _info
 * (info); the samples get the suffix.
 */
void	prom_family(struct prom *p, const char *name, enum prom_type type,
	    const char *help);
/* A sample of the current family: begin, labels, then its value. */
void	prom_begin(struct prom *p, const char *suffix);
void	prom_label(struct prom *p, const char *name, const char *value);
void	prom_label_u64(struct prom *p, const char *name, uint64_t v);
void	prom_value(struct prom *p, double v);
void	prom_value_u64(struct prom *p, uint64_t v);
/* A whole sample without labels. */
void	prom_gauge(struct prom *p, const char *name, const char *help,
	    double v);
/* A counter's family and a sample per label value. */
void	prom_counter(struct prom *p, const char *name, const char *help,
	    const struct counter *c);
void	prom_histogram(struct prom *p, const char *name, const char *help,
	    const struct histogram *h);
/* After the last family. */
void	prom_end(struct prom *p);

/* Does an Accept header ask for OpenMetrics? */
int	prom_wants_openmetrics(const char *accept);

#endif
