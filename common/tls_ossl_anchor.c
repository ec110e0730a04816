#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls_anchor.h"
#include "tls_ossl_anchor.h"

#define DIGEST_LEN	32	/* SHA-256 */

struct tls_ossl_anchors {
	STACK_OF(X509) *anchors;
	unsigned char (*own)[DIGEST_LEN];	/* certificates NSS must judge */
	size_t n_own, cap_own;
	int failed;
};

static void
take(void *arg, int anchor, const unsigned char *der, unsigned int len)
{
	struct tls_ossl_anchors *oa = arg;
	const unsigned char *p = der;
	void *grown;
	X509 *x;

	if (anchor) {
		if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
		    !sk_X509_push(oa->anchors, x)) {
			X509_free(x);
			oa->failed = 1;
		}
		return;
	}
	if (oa->n_own == oa->cap_own) {
		oa->cap_own = oa->cap_own ? 2 * oa->cap_own : 8;
		if ((grown = realloc(oa->own, oa->cap_own * DIGEST_LEN)) ==
		    NULL) {
			oa->failed = 1;
			return;
		}
		oa->own = grown;
	}
	if (EVP_Digest(der, len, oa->own[oa->n_own], NULL, EVP_sha256(),
	    NULL) != 1) {
		oa->failed = 1;
		return;
	}
	oa->n_own++;
}

struct tls_ossl_anchors *
tls_ossl_anchors_new(const struct tls_anchors *a)
{
	struct tls_ossl_anchors *oa;

	if (a == NULL || (oa = calloc(1, sizeof(*oa))) == NULL)
		return NULL;
	if ((oa->anchors = sk_X509_new_null()) == NULL ||
	    tls_anchors_each(a, take, oa) != 0 || oa->failed ||
	    sk_X509_num(oa->anchors) == 0) {
		tls_ossl_anchors_free(oa);
		return NULL;
	}
	return oa;
}

void
tls_ossl_anchors_free(struct tls_ossl_anchors *oa)
{
	if (oa == NULL)
		return;
	sk_X509_pop_free(oa->anchors, X509_free);
	free(oa->own);
	free(oa);
}

static int
valid_now(const X509 *x)
{
	return X509_cmp_current_time(X509_get0_notBefore(x)) < 0 &&
	    X509_cmp_current_time(X509_get0_notAfter(x)) > 0;
}

/* Critical extensions tls_anchor.c knows; any other goes to NSS. */
static int
known_critical(const X509 *x)
{
	X509_EXTENSION *e;
	int i;

	for (i = 0; i < X509_get_ext_count(x); i++) {
		e = X509_get_ext(x, i);
		if (!X509_EXTENSION_get_critical(e))
			continue;
		switch (OBJ_obj2nid(X509_EXTENSION_get_object(e))) {
		case NID_basic_constraints:
		case NID_key_usage:
		case NID_ext_key_usage:
		case NID_subject_alt_name:
			break;
		default:
			return 0;
		}
	}
	return 1;
}

/* Signatures NSS's default policy takes; an older hash goes to NSS. */
static int
strong_signature(const X509 *x)
{
	switch (X509_get_signature_nid(x)) {
	case NID_sha256WithRSAEncryption:
	case NID_sha384WithRSAEncryption:
	case NID_sha512WithRSAEncryption:
	case NID_ecdsa_with_SHA256:
	case NID_ecdsa_with_SHA384:
	case NID_ecdsa_with_SHA512:
		return 1;
	default:
		return 0;
	}
}

/* Trust of its own in the database (e.g. distrust) is NSS's to weigh. */
static int
own_trust(const struct tls_ossl_anchors *oa, X509 *leaf)
{
	unsigned char d[DIGEST_LEN];
	unsigned int len = 0;
	size_t i;

	if (X509_digest(leaf, EVP_sha256(), d, &len) != 1 || len != DIGEST_LEN)
		return 1;
	for (i = 0; i < oa->n_own; i++)
		if (memcmp(oa->own[i], d, DIGEST_LEN) == 0)
			return 1;
	return 0;
}

/*
 * The leaf as tls_anchor.c's leaf_ok() sees it: not a CA, not self-issued,
 * valid now, digitalSignature when it has a key usage, a TLS client by
 * its extended key usage or Netscape type (OpenSSL's SSL client purpose).
 */
static int
leaf_ok(X509 *leaf)
{
	uint32_t ku = X509_get_key_usage(leaf);

	if (X509_check_ca(leaf) != 0 || X509_NAME_cmp(X509_get_issuer_name(
	    leaf), X509_get_subject_name(leaf)) == 0)
		return 0;
	if ((X509_get_extension_flags(leaf) & EXFLAG_INVALID) != 0 ||
	    !known_critical(leaf) || !strong_signature(leaf) ||
	    !valid_now(leaf))
		return 0;
	if (ku != UINT32_MAX && (ku & KU_DIGITAL_SIGNATURE) == 0)
		return 0;
	return X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) == 1;
}

int
tls_ossl_anchors_accept(const struct tls_ossl_anchors *oa, X509 *leaf)
{
	X509 *ca;
	int i;

	if (oa == NULL || !leaf_ok(leaf) || own_trust(oa, leaf))
		return 0;
	for (i = 0; i < sk_X509_num(oa->anchors); i++) {
		ca = sk_X509_value(oa->anchors, i);
		if (X509_NAME_cmp(X509_get_issuer_name(leaf),
		    X509_get_subject_name(ca)) != 0 || !valid_now(ca))
			continue;
		if (X509_verify(leaf, X509_get0_pubkey(ca)) == 1)
			return 1;
	}
	return 0;
}
