#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <prerror.h>
#include <secerr.h>

#include "log.h"
#include "nssdb.h"

#define CERTUTIL	"corosync-qnetd-certutil"

int
nssdb_exists(const char *dir)
{
	static const char *const files[] = { "cert9.db", "cert8.db" };
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    files[i]) < sizeof(path) && stat(path, &st) == 0)
			return 1;
	}
	return 0;
}

/*
 * The certutil of this build or package: beside the daemon (build tree,
 * /usr/bin), else where it is installed (qnetd may be in sbin).
 */
static void
certutil_path(char *buf, size_t size)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(buf, size, "%s/%s", self,
			    CERTUTIL) < size && access(buf, X_OK) == 0)
				return;
		}
	}
	(void)snprintf(buf, size, "%s/%s", BINDIR, CERTUTIL);
}

/* Run it with its output (both streams) logged line by line. */
static int
run_logged(const char *prog, const char *dir)
{
	char line[512];
	int fds[2], status;
	pid_t pid;
	FILE *f;

	if (pipe(fds) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(prog, CERTUTIL, "-i", "-d", dir, (char *)NULL);
		fprintf(stderr, "Can't run %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	if ((f = fdopen(fds[0], "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			log_info("nss_db_auto_init: %s", line);
		}
		fclose(f);
	} else {
		close(fds[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
nssdb_auto_init(const char *dir)
{
	char prog[PATH_MAX];

	if (nssdb_exists(dir))
		return 0;
	certutil_path(prog, sizeof(prog));
	log_notice("No NSS database in %s: creating it with %s -i "
	    "(nss_db_auto_init)", dir, prog);
	if (run_logged(prog, dir) != 0 || !nssdb_exists(dir)) {
		log_crit("Can't create the NSS database in %s with %s -i", dir,
		    prog);
		return -1;
	}
	log_notice("Created the NSS database in %s: QNet CA and QNetd Cert; "
	    "copy %s/qnetd-cacert.crt to the cluster nodes", dir, dir);
	return 0;
}

void
nssdb_log_hint(const char *dir, const char *default_dir)
{
	int other = strcmp(dir, default_dir) != 0;

	log_crit("To create the database run '%s -i%s%s', or start "
	    "corosync-qnetd with -S nss_db_auto_init=on to create it, or "
	    "with -s off to run without TLS", CERTUTIL,
	    other ? " -d " : "", other ? dir : "");
}

void
nssdb_log_cert_hint(const char *dir, const char *nickname)
{
	if (PR_GetError() != SEC_ERROR_UNKNOWN_CERT)
		return;
	log_crit("The NSS database in %s has no certificate '%s' (the server "
	    "certificate that %s -i creates with the QNet CA)", dir, nickname,
	    CERTUTIL);
}
