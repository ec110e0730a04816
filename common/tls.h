/*
 * NSS set-up for both daemons: the database, the server identity and the
 * client identity.  Certificates, nicknames and trust follow the layout the
 * certutil tools create (BEHAVIOUR.md §4.4, §6).
 */
#ifndef QN_TLS_H
#define QN_TLS_H

#include <stddef.h>

typedef struct PRFileDesc PRFileDesc;

/* Open the NSS database read-only, or run without one when dir is NULL. */
int	tls_init(const char *db_dir);
/*
 * Release NSS.  Returns -1 when NSS still holds objects in use (a
 * certificate, key or TLS socket was not released).
 */
int	tls_shutdown(void);

/*
 * Server: certificate and key by nickname ("QNetd Cert"); with
 * require_client_cert the handshake requests and requires a client
 * certificate that chains to a CA trusted in the database.  One server per
 * process (it owns NSS's server session cache); free it after its
 * connections are closed.
 */
enum tls_backend {
	TLS_BACKEND_NSS,
	TLS_BACKEND_OPENSSL	/* handshakes and records by OpenSSL (tls_ossl.h) */
};
struct tls_server *tls_server_new(const char *cert_nickname,
	    int require_client_cert, enum tls_backend backend);
void	tls_server_free(struct tls_server *s);
/*
 * Look the certificate and key up again (SIGHUP): connections accepted
 * from now on present the one the database holds now.  0, or -1 with the
 * NSS error set and the old certificate kept.
 */
int	tls_server_reload(struct tls_server *s, const char *cert_nickname);
/* When the database's certificate of that nickname expires (Unix time,
 * seconds); 0, or -1 when there is none. */
int	tls_cert_not_after(const char *cert_nickname, long long *t);
/* A certificate that has expired or expires within 30 days. */
struct tls_expiry {
	char what[24];		/* "Server certificate", "CA certificate" */
	char nickname[64];
	char subject[128];
	char id[256];		/* subject, serial and end: this certificate */
	char when[40];		/* its notAfter: "2026-12-09 15:30:00 UTC" */
	long long days;		/* whole days left (0 when expired) */
	int expired;
};
/* "Server certificate 'N' (S) expires on W, in 3 days" (or expired on W). */
void	tls_expiry_text(const struct tls_expiry *x, char *buf, size_t len);
/* Logged at warning, or error when expired. */
void	tls_expiry_log(const struct tls_expiry *x);
/*
 * The served certificate and its CA, the client certificate (the one the
 * next handshake sends) and its CA: those expiring, up to max of them, into
 * out; how many.  Nothing is logged.
 */
size_t	tls_server_expiring(const struct tls_server *s, struct tls_expiry *out,
	    size_t max);

/*
 * Client: the server certificate must chain to a trusted CA and carry the
 * name server_cn ("Qnetd Server"); expiry alone is accepted with the
 * warning "Server certificate is expired." (an expired certificate that
 * also fails another check is refused).
 * A certificate request is answered with client_cert_nickname ("Cluster
 * Cert") when that certificate exists.
 */
struct tls_client *tls_client_new(const char *server_cn,
	    const char *client_cert_nickname);
void	tls_client_free(struct tls_client *c);
/*
 * SIGHUP: look the client certificate up again and log which one the next
 * handshake sends (it is looked up at every handshake) and its expiry.
 * 0, or -1 with the NSS error set when there is none.
 */
int	tls_client_reload(const struct tls_client *c);
/*
 * Whether the certificate the next handshake sends (looked up now) differs
 * from the one connection c sent (DER; none and one differ): 1 or 0, -1
 * when c is no TLS connection with its handshake done.
 */
struct conn;
int	tls_client_cert_changed(const struct tls_client *cl,
	    const struct conn *c);
/*
 * Forget the TLS sessions kept for resumption: a resumed session would
 * present the certificate of its first handshake again.
 */
void	tls_client_forget_sessions(void);
size_t	tls_client_expiring(const struct tls_client *c, struct tls_expiry *out,
	    size_t max);

/*
 * For conn_tls.c: layer SSL over tcp, an NSPR socket on a connected,
 * non-blocking fd, with the settings of the server or client.  Returns the
 * new top descriptor, which then owns tcp, or NULL (tcp untouched).
 */
PRFileDesc *tls_server_wrap(const struct tls_server *s, PRFileDesc *tcp);
PRFileDesc *tls_client_wrap(const struct tls_client *c, PRFileDesc *tcp);

/*
 * For conn_tls.c, on a wrapped server socket: ask for a client certificate,
 * accept whatever comes (or none) in the handshake, keep no session.  The
 * handshake still proves that the client holds the certificate's key; the
 * caller checks the certificate itself (conn_peer_cert).  0 or -1.
 */
int	tls_server_unchecked(PRFileDesc *ssl);

/* Whether the finished handshake on fd resumed an earlier session. */
int	tls_resumed(PRFileDesc *fd);

/* "NSS 3.87.1" or "OpenSSL 3.0.19 27 Jan 2026": who runs the TLS. */
const char *tls_server_library(const struct tls_server *s);

/* For conn_tls.c: the OpenSSL context when OpenSSL serves, else NULL. */
const struct tls_ossl *tls_server_ossl(const struct tls_server *s);

/* 1 unless c resumed a session whose client certificate fails today. */
int	tls_server_recheck(const struct tls_server *s, const struct conn *c);

/* Text of the last NSS/NSPR error on this thread. */
const char *tls_error(void);

#endif
