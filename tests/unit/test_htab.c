/*
 * Unit tests of the seeded hash table (common/htab.c) that holds the
 * clusters (by name) and the source addresses of qnetd: SipHash-2-4 as
 * its paper gives it, find/insert/remove across growth, and keys that
 * differ only where an unseeded hash that is masked to the bucket count
 * ignores them still spread over the buckets.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"

struct item {
	struct htab_entry e;
	uint8_t key[8];
};

/* The paper's test key 00..0f and messages 00, 00 01, ... */
START_TEST(siphash_vectors)
{
	const uint64_t k[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	uint8_t m[16];

	for (int i = 0; i < 16; i++)
		m[i] = (uint8_t)i;
	ck_assert_uint_eq(siphash24(k, m, 0), 0x726fdb47dd0e0e31ULL);
	ck_assert_uint_eq(siphash24(k, m, 15), 0xa129ca6149be45e5ULL);
}
END_TEST

START_TEST(find_insert_remove)
{
	enum { N = 1000 };
	struct item *v = calloc(N, sizeof(*v));
	struct htab t;
	struct htab_entry *e;
	size_t left = 0;

	ck_assert_ptr_nonnull(v);
	htab_init(&t);
	ck_assert_ptr_null(htab_find(&t, "x", 1));
	for (int i = 0; i < N; i++) {
		memcpy(v[i].key, &i, sizeof(i));
		ck_assert_int_eq(htab_insert(&t, &v[i].e, v[i].key, sizeof(i)),
		    0);
	}
	ck_assert_uint_eq(t.count, N);
	for (int i = 0; i < N; i += 2)
		htab_remove(&t, &v[i].e);
	for (int i = 0; i < N; i++) {
		e = htab_find(&t, &i, sizeof(i));
		if (i % 2 == 0)
			ck_assert_ptr_null(e);
		else
			ck_assert_ptr_eq(htab_item(e, struct item, e), &v[i]);
	}
	/* A key is its bytes and its length. */
	ck_assert_ptr_null(htab_find(&t, v[1].key, 3));
	while ((e = htab_any(&t)) != NULL) {
		htab_remove(&t, e);
		left++;
	}
	ck_assert_uint_eq(left, N / 2);
	htab_free(&t);
	free(v);
}
END_TEST

/* Two tables (two daemons) don't share a secret. */
START_TEST(secret_per_table)
{
	struct htab a, b;

	htab_init(&a);
	htab_init(&b);
	ck_assert(a.key[0] != b.key[0] || a.key[1] != b.key[1]);
}
END_TEST

/*
 * 256 names that differ only in the top two bits of each of their 4 bytes:
 * with a hash like FNV-1a masked to 64 buckets they share one chain, since
 * the low bits of its state never see the high bits of the input.
 */
START_TEST(chosen_keys_spread)
{
	enum { N = 256 };
	struct item v[N];
	struct htab t;
	size_t longest = 0;

	htab_init(&t);
	for (int i = 0; i < N; i++) {
		for (int j = 0; j < 4; j++)
			v[i].key[j] = (uint8_t)(0x21 | ((i >> (2 * j)) & 3) << 6);
		ck_assert_int_eq(htab_insert(&t, &v[i].e, v[i].key, 4), 0);
	}
	for (size_t b = 0; b < t.nbuckets; b++) {
		size_t n = 0;
		struct htab_entry *e;

		SLIST_FOREACH(e, &t.buckets[b], chain)
			n++;
		if (n > longest)
			longest = n;
	}
	/* 256 keys in 256 buckets: a chain of 16 is already near impossible. */
	ck_assert_uint_lt(longest, 16);
	htab_free(&t);
}
END_TEST

static Suite *
htab_suite(void)
{
	Suite *s = suite_create("htab");
	TCase *tc = tcase_create("htab");

	tcase_add_test(tc, siphash_vectors);
	tcase_add_test(tc, find_insert_remove);
	tcase_add_test(tc, secret_per_table);
	tcase_add_test(tc, chosen_keys_spread);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(htab_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
