/* corosync-qdevice-net-enroll's way out, for enroll.c and enroll_renew.c. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <prerror.h>

#include "enroll.h"

void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

const char *
nss_err(void)
{
	const char *s = PR_ErrorToString(PR_GetError(), PR_LANGUAGE_I_DEFAULT);

	return s != NULL && *s != '\0' ? s : PR_ErrorToName(PR_GetError());
}
