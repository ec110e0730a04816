/*
 * The protocol-test harness: a client of the daemon.  Blocking-style calls
 * on a non-blocking socket, each bounded by a poll() deadline; plain TCP or,
 * after STARTTLS, OpenSSL (a stack independent of the server's NSS).
 * Every expectation names the test's file:line when it fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "harness.h"

static int
fd_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -1;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

int
tcp_connect(const struct srv *s, const char *src, int rcvbuf)
{
	return tcp_connect_to(s, "127.0.0.1", src, rcvbuf);
}

int
tcp_connect_to(const struct srv *s, const char *dst, const char *src,
    int rcvbuf)
{
	struct sockaddr_in a;
	int fd, err = 0, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (src != NULL) {
		struct sockaddr_in b = { .sin_family = AF_INET };

		ck_assert_int_eq(inet_pton(AF_INET, src, &b.sin_addr), 1);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&b, sizeof(b)), 0);
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)s->port);
	ck_assert_int_eq(inet_pton(AF_INET, dst, &a.sin_addr), 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		socklen_t elen = sizeof(err);

		err = errno;
		if (err == EINPROGRESS) {
			err = ETIMEDOUT;
			if (fd_wait(fd, POLLOUT, now_ms() + TIMEOUT_MS) == 0 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
			    &elen) != 0)
				err = errno;
		}
	}
	if (err != 0) {
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int
qc_connect_from(struct qc *c, const struct srv *s, const char *src,
    int rcvbuf)
{
	return qc_connect_to(c, s, "127.0.0.1", src, rcvbuf);
}

int
qc_connect_to(struct qc *c, const struct srv *s, const char *dst,
    const char *src, int rcvbuf)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	memset(c, 0, sizeof(*c));
	c->fd = tcp_connect_to(s, dst, src, rcvbuf);
	if (c->fd < 0)
		return -1;
	ck_assert_int_eq(getsockname(c->fd, (struct sockaddr *)&a, &len), 0);
	c->local_port = ntohs(a.sin_port);
	reader_init(&c->rd, 64u * 1024 * 1024);
	return 0;
}

void
qc_connect(struct qc *c, const struct srv *s)
{
	ck_assert_msg(qc_connect_from(c, s, NULL, 0) == 0,
	    "connect to 127.0.0.1:%d: %s", s->port, strerror(errno));
}

void
qc_close(struct qc *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->resume != NULL) {
		SSL_SESSION_free(c->resume);
		c->resume = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	reader_free(&c->rd);
}

/* Wait for the socket; 0 ready, -1 deadline passed. */
int
qc_wait(struct qc *c, short events, int64_t deadline)
{
	return fd_wait(c->fd, events, deadline);
}

int
qc_write(struct qc *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	int64_t deadline = now_ms() + TIMEOUT_MS;

	while (len > 0) {
		ssize_t n;

		if (c->ssl != NULL) {
			int r;

			ERR_clear_error();
			r = SSL_write(c->ssl, p, (int)(len > INT_MAX ? INT_MAX :
			    len));
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_WRITE ||
				    e == SSL_ERROR_WANT_READ) {
					if (qc_wait(c, e == SSL_ERROR_WANT_READ ?
					    POLLIN : POLLOUT, deadline) != 0)
						return -1;
					continue;
				}
				return -1;
			}
			n = r;
		} else {
			n = send(c->fd, p, len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					if (qc_wait(c, POLLOUT, deadline) != 0)
						return -1;
					continue;
				}
				return -1;
			}
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
qc_send(struct qc *c, const void *data, size_t len)
{
	ck_assert_msg(qc_write(c, data, len) == 0, "send of %zu bytes failed",
	    len);
}

void
qc_sendf(struct qc *c, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	va_start(ap, fmt);
	hex_vformat(&b, fmt, ap);
	va_end(ap);
	qc_send(c, b.data, b.len);
	buf_free(&b);
}

void
qc_send_msg(struct qc *c, const struct msg *m)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(msg_encode(m, &b, SIZE_MAX), 0);
	qc_send(c, b.data, b.len);
	buf_free(&b);
}

int
qc_recv(struct qc *c, int timeout_ms, struct buf *out)
{
	int64_t deadline = now_ms() + timeout_ms;

	if (c->fd < 0)
		return RECV_CLOSED;
	for (;;) {
		size_t want, len;
		uint8_t *space = reader_space(&c->rd, &want);
		const uint8_t *m;
		ssize_t n;
		enum reader_status st;

		if (c->ssl != NULL) {
			int r;

			ERR_clear_error();
			r = SSL_read(c->ssl, space, (int)(want > INT_MAX ?
			    INT_MAX : want));
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_READ ||
				    e == SSL_ERROR_WANT_WRITE) {
					if (qc_wait(c, e == SSL_ERROR_WANT_READ ?
					    POLLIN : POLLOUT, deadline) != 0)
						return RECV_TIMEOUT;
					continue;
				}
				return RECV_CLOSED;
			}
			n = r;
		} else {
			n = recv(c->fd, space, want, 0);
			if (n == 0)
				return RECV_CLOSED;
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					if (qc_wait(c, POLLIN, deadline) != 0)
						return RECV_TIMEOUT;
					continue;
				}
				return RECV_CLOSED;
			}
		}
		st = reader_commit(&c->rd, (size_t)n);
		if (st == READER_MORE)
			continue;
		ck_assert_msg(st == READER_MESSAGE, "the server sent a message "
		    "of unknown type or huge size (reader status %d)", st);
		m = reader_message(&c->rd, &len);
		buf_reset(out);
		buf_put(out, m, len);
		reader_next(&c->rd);
		return RECV_MSG;
	}
}

int
qc_read_msg(struct qc *c, struct msg *m, int timeout_ms)
{
	struct buf got;
	int r;

	msg_init(m, 0);
	buf_init(&got);
	r = qc_recv(c, timeout_ms, &got);
	if (r == RECV_MSG)
		ck_assert_int_eq(msg_decode(got.data, got.len, m), DECODE_OK);
	buf_free(&got);
	return r;
}

void
qc_expect_(struct qc *c, const char *file, int line, const char *fmt, ...)
{
	struct buf want, got;
	va_list ap;
	int r;

	buf_init(&want);
	buf_init(&got);
	va_start(ap, fmt);
	hex_vformat(&want, fmt, ap);
	va_end(ap);
	r = qc_recv(c, TIMEOUT_MS, &got);
	if (r != RECV_MSG) {
		char *w = hex_str(want.data, want.len);

		ck_abort_msg("%s:%d: expected %s, got %s", file, line, w,
		    r == RECV_CLOSED ? "a closed connection" : "nothing");
	}
	if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0) {
		char *w = hex_str(want.data, want.len);
		char *g = hex_str(got.data, got.len);

		ck_abort_msg("%s:%d: expected %s, got %s", file, line, w, g);
	}
	buf_free(&want);
	buf_free(&got);
}

void
qc_recv_msg_(struct qc *c, const char *file, int line, uint16_t type,
    struct msg *m)
{
	struct buf got;
	int r;
	enum decode_err e;

	buf_init(&got);
	r = qc_recv(c, TIMEOUT_MS, &got);
	ck_assert_msg(r == RECV_MSG, "%s:%d: expected a message of type %u, "
	    "got %s", file, line, type,
	    r == RECV_CLOSED ? "a closed connection" : "nothing");
	msg_init(m, 0);
	e = msg_decode(got.data, got.len, m);
	if (e != DECODE_OK || m->type != type) {
		char *g = hex_str(got.data, got.len);

		ck_abort_msg("%s:%d: expected a message of type %u, got %s "
		    "(%s)", file, line, type, g, decode_err_str(e));
	}
	buf_free(&got);
}

void
qc_expect_quiet_(struct qc *c, const char *file, int line, int ms)
{
	struct buf got;
	int r;

	buf_init(&got);
	r = qc_recv(c, ms, &got);
	if (r == RECV_MSG) {
		char *g = hex_str(got.data, got.len);

		ck_abort_msg("%s:%d: expected nothing, got %s", file, line, g);
	}
	ck_assert_msg(r == RECV_TIMEOUT, "%s:%d: expected nothing, but the "
	    "connection was closed", file, line);
	buf_free(&got);
}

void
qc_expect_closed_(struct qc *c, const char *file, int line, int ms)
{
	struct buf got;
	int r;

	buf_init(&got);
	r = qc_recv(c, ms, &got);
	if (r == RECV_MSG) {
		char *g = hex_str(got.data, got.len);

		ck_abort_msg("%s:%d: expected a disconnect, got %s", file,
		    line, g);
	}
	ck_assert_msg(r == RECV_CLOSED, "%s:%d: still connected after %d ms",
	    file, line, ms);
	buf_free(&got);
}

int
wait_dropped_(struct qc *c, const char *file, int line, int64_t since,
    int max_ms)
{
	struct buf got;
	int64_t deadline = since + max_ms;

	buf_init(&got);
	for (;;) {
		int r = qc_recv(c, (int)(deadline - now_ms() > 0 ?
		    deadline - now_ms() : 0), &got);

		if (r == RECV_CLOSED)
			break;
		if (r == RECV_MSG) {
			char *g = hex_str(got.data, got.len);

			ck_abort_msg("%s:%d: expected a disconnect, got %s",
			    file, line, g);
		}
		ck_abort_msg("%s:%d: still connected %d ms after the last "
		    "message", file, line, max_ms);
	}
	buf_free(&got);
	return (int)(now_ms() - since);
}

int64_t
qc_wait_closed(struct qc *c, int ms)
{
	int64_t start = now_ms(), deadline = start + ms;
	char tmp[65536];

	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int left = (int)(deadline - now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		n = read(c->fd, tmp, sizeof(tmp));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return now_ms() - start;
	}
}

/* ------------------------------------------------------------------ */
/* TLS */

static int
client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
	struct qc *c = SSL_get_app_data(ssl);

	(void)x509;
	(void)pkey;
	c->cert_requested = 1;
	return 0;	/* no certificate */
}

int
qc_starttls(struct qc *c, const char *cert)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int64_t deadline = now_ms() + 10000;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(SSL_CTX_load_verify_locations(ctx, ca_pem, NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cert != NULL) {
		char pem[PATH_MAX + 32];

		snprintf(pem, sizeof(pem), "%s/%s.pem", base_dir, cert);
		ck_assert_int_eq(SSL_CTX_use_certificate_file(ctx, pem,
		    SSL_FILETYPE_PEM), 1);
		ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(ctx, pem,
		    SSL_FILETYPE_PEM), 1);
	} else {
		SSL_CTX_set_client_cert_cb(ctx, client_cert_cb);
	}
	c->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	ck_assert_ptr_nonnull(c->ssl);
	SSL_set_app_data(c->ssl, c);
	ck_assert_int_eq(SSL_set_fd(c->ssl, c->fd), 1);
	if (c->resume != NULL) {
		ck_assert_int_eq(SSL_set_session(c->ssl, c->resume), 1);
		SSL_SESSION_free(c->resume);
		c->resume = NULL;
	}
	for (;;) {
		int r, e;

		ERR_clear_error();
		r = SSL_connect(c->ssl);
		if (r == 1)
			break;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (qc_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline) != 0)
				return -1;
			continue;
		}
		return -1;
	}
	c->resumed = SSL_session_reused(c->ssl);
	return 0;
}

void
qc_check_server_cert(struct qc *c)
{
	X509 *x = SSL_get1_peer_certificate(c->ssl);
	char cn[128] = "";

	ck_assert_ptr_nonnull(x);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, sizeof(cn));
	X509_free(x);
	ck_assert_str_eq(cn, "Qnetd Server");
	ck_assert_int_eq(SSL_get_verify_result(c->ssl), X509_V_OK);
}

SSL *
tls_connect_within(SSL_CTX *ctx, int fd, int ms)
{
	int64_t deadline = now_ms() + ms;
	SSL *ssl = SSL_new(ctx);
	int r;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	SSL_set_fd(ssl, fd);
	while (now_ms() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if ((r = SSL_connect(ssl)) == 1)
			return ssl;
		if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
			break;
		poll(&p, 1, 50);
	}
	SSL_free(ssl);
	return NULL;
}

/* Does an OpenSSL handshake on fd finish within ms? */
int
tls_handshake_within(SSL_CTX *ctx, int fd, int ms)
{
	SSL *ssl = tls_connect_within(ctx, fd, ms);

	SSL_free(ssl);
	return ssl != NULL;
}
