#include <stdarg.h>
#include <stdio.h>

#include "algo.h"

const struct algo *
algo_get(uint8_t id)
{
	switch (id) {
	case QN_ALGO_TEST:
		return &algo_test;
	case QN_ALGO_FFSPLIT:
		return &algo_ffsplit;
	case QN_ALGO_2NODELMS:
		return &algo_2nodelms;
	case QN_ALGO_LMS:
		return &algo_lms;
	}
	return NULL;
}

void
decision_set(struct decision *d, uint8_t vote, const char *fmt, ...)
{
	va_list ap;

	d->vote = vote;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}
