/*
 * The qnetd NSS database before TLS starts: telling the user how to get
 * one when it is missing, and creating it at first start when asked
 * (nss_db_auto_init), the way corosync-qnetd-certutil -i does.
 */
#ifndef QNETD_NSSDB_H
#define QNETD_NSSDB_H

/* 1 when dir holds an NSS database (SQL or legacy format). */
int	nssdb_exists(const char *dir);
/*
 * Without a database in dir: run corosync-qnetd-certutil -i -d dir (the
 * one beside this program, else the installed one), its output logged.
 * 0 when dir has a database afterwards (or had one), -1 when not.
 */
int	nssdb_auto_init(const char *dir);
/* Log how to get a database for dir (after the error that said why). */
void	nssdb_log_hint(const char *dir, const char *default_dir);
/* After the server certificate failed to load: why, when it is missing. */
void	nssdb_log_cert_hint(const char *dir, const char *nickname);

#endif
