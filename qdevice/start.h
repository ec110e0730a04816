/*
 * The daemon's life once its settings are known: start-up phases
 * (BEHAVIOUR.md §3.1), the loop, shutdown.
 */
#ifndef QDEVICE_START_H
#define QDEVICE_START_H

#include "qd_settings.h"

/* Run the daemon; returns its exit status. */
int	qdevice_run(const struct qdevice_settings *set, int foreground,
	    int debug);

#endif
