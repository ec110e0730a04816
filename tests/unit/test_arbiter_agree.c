/*
 * Unit tests of the arbiter agreement (qdevice/arbiter_agree.c): the
 * cluster moves between the arbiters of the host list only as a whole, in
 * a view of all configured nodes where every member lost the agreed
 * arbiter (or held the first reachable); a split keeps the one arbiter; an
 * agreement is confirmed (may be connected to) only once every configured
 * node reported it; members fed the same views and messages agree.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter_agree.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define A_B_C		0x7		/* reach bits: hosts 0, 1, 2 */

static const char *const names[] = { "A", "B", "C" };

static struct agree_report
rep(uint32_t nodeid, const struct agree *a, uint8_t reach, int lost,
    int held)
{
	struct agree_report r = {
		.nodeid = nodeid, .epoch = a->epoch, .index = (uint8_t)a->index,
		.reach = reach, .lost = (uint8_t)lost,
		.first_held = (uint8_t)held,
	};

	return r;
}

static void
setup(struct agree *a, size_t nodes, const uint32_t *view, size_t count)
{
	static const uint32_t ids[] = { 1, 2, 3, 4, 5 };

	ck_assert_int_eq(agree_init(a, ids, nodes, 3, 0), 0);
	agree_view(a, view, count);
}

START_TEST(all_nodes_by_default)
{
	static const uint32_t ids[] = { 1, 2, 3, 4, 5 };
	struct agree a;

	for (size_t n = 1; n <= 5; n++) {
		ck_assert_int_eq(agree_init(&a, ids, n, 2, 0), 0);
		ck_assert_uint_eq(a.need, n);
		ck_assert_int_eq(a.confirmed, 0);
	}
	ck_assert_int_eq(agree_init(&a, ids, 2, 2, 1), 0);
	ck_assert_uint_eq(a.need, 1);
	ck_assert_int_eq(agree_init(&a, ids, 0, 2, 0), -1);
	ck_assert_int_eq(agree_init(&a, ids, 2, 0, 0), -1);
	ck_assert_int_eq(agree_init(&a, ids, 2, AGREE_MAX_HOSTS + 1, 0), -1);
	ck_assert_int_eq(agree_init(&a, ids, 2, 2, 3), -1);
}
END_TEST

/* Both nodes lost A and reach B: the whole cluster moves to B. */
START_TEST(all_lost_switches_to_next_reachable)
{
	static const uint32_t view[] = { 1, 2 };
	struct agree_report r1, r2;
	struct agree a;
	char buf[256];

	setup(&a, 2, view, 2);
	r1 = rep(1, &a, 0x6, 1, 0);	/* B and C */
	r2 = rep(2, &a, 0x2, 1, 0);	/* B only */
	ck_assert_int_eq(agree_deliver(&a, &r1), 0);
	ck_assert_uint_eq(a.index, 0);
	ck_assert_int_eq(a.confirmed, 0);
	ck_assert_str_eq(agree_state_id(&a), "waiting_for_reports");
	ck_assert_int_eq(agree_deliver(&a, &r2), 1);
	ck_assert_uint_eq(a.index, 1);
	ck_assert_uint_eq(a.epoch, 1);
	ck_assert_int_eq(a.confirmed, 0);	/* B: nobody said they hold it */
	ck_assert_str_eq(agree_why_id(&a), "all_lost_previous");
	ck_assert_str_eq(agree_why_text(&a, names, buf, sizeof(buf)),
	    "all members lost A; waiting for every member's report; not "
	    "confirmed: not connecting");

	/* The old reports say nothing about B: no further move. */
	ck_assert_int_eq(agree_deliver(&a, &r1), 0);
	ck_assert_int_eq(agree_deliver(&a, &r2), 0);
	ck_assert_uint_eq(a.index, 1);
	r1 = rep(1, &a, 0x6, 0, 0);
	r2 = rep(2, &a, 0x2, 0, 0);
	agree_deliver(&a, &r1);
	ck_assert_int_eq(a.confirmed, 0);
	ck_assert_int_eq(agree_deliver(&a, &r2), 0);
	ck_assert_int_eq(a.confirmed, 1);
	ck_assert_str_eq(agree_state_id(&a), "agreed");
	ck_assert_str_eq(agree_why_text(&a, names, buf, sizeof(buf)),
	    "all members lost A");
}
END_TEST

/* On B, all lose it and reach all others: C, not back to A; from C, A. */
START_TEST(next_goes_round_the_list)
{
	static const uint32_t view[] = { 1, 2 };
	struct agree_report r1, r2;
	struct agree a;

	setup(&a, 2, view, 2);
	for (unsigned want = 1; want <= 3; want++) {
		r1 = rep(1, &a, (uint8_t)(A_B_C & ~(1u << a.index)), 1, 0);
		r2 = rep(2, &a, (uint8_t)(A_B_C & ~(1u << a.index)), 1, 0);
		agree_deliver(&a, &r1);
		ck_assert_int_eq(agree_deliver(&a, &r2), 1);
		ck_assert_uint_eq(a.index, want % 3);
		ck_assert_uint_eq(a.epoch, want);
	}
}
END_TEST

/* The hazard: node 1 lost A, node 2 still has it.  Nobody moves. */
START_TEST(one_member_lost_does_not_move)
{
	static const uint32_t view[] = { 1, 2 };
	struct agree_report r1, r2;
	struct agree a;

	setup(&a, 2, view, 2);
	r1 = rep(1, &a, 0x6, 1, 0);
	r2 = rep(2, &a, A_B_C, 0, 0);
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(agree_deliver(&a, &r1), 0);
		ck_assert_int_eq(agree_deliver(&a, &r2), 0);
	}
	ck_assert_uint_eq(a.index, 0);
	ck_assert_uint_eq(a.epoch, 0);
	ck_assert_str_eq(agree_state_id(&a), "agreed");
}
END_TEST

/* After a split each side is a minority view: both keep A whatever. */
START_TEST(split_keeps_the_agreement)
{
	static const uint32_t one[] = { 1 }, two[] = { 2 };
	struct agree a1, a2;
	struct agree_report r;
	char buf[256];

	setup(&a1, 2, one, 1);
	setup(&a2, 2, two, 1);
	r = rep(1, &a1, 0x2, 1, 0);
	ck_assert_int_eq(agree_deliver(&a1, &r), 0);
	r = rep(2, &a2, 0x2, 1, 0);
	ck_assert_int_eq(agree_deliver(&a2, &r), 0);
	ck_assert_uint_eq(a1.index, 0);
	ck_assert_uint_eq(a2.index, 0);
	ck_assert_str_eq(agree_why_text(&a1, names, buf, sizeof(buf)),
	    "the first host; waiting for a view of all nodes to agree "
	    "(2 of 2 nodes needed, 1 in view); not confirmed: not connecting");

	/*
	 * 3 nodes, 2 of them together: a majority, but node 3 would stay on
	 * A and could win a split there while 1 and 2 win on B: no move.
	 */
	{
		static const uint32_t maj[] = { 1, 2 };
		struct agree m;

		setup(&m, 3, maj, 2);
		r = rep(1, &m, 0x2, 1, 0);
		agree_deliver(&m, &r);
		r = rep(2, &m, 0x2, 1, 0);
		ck_assert_int_eq(agree_deliver(&m, &r), 0);
		ck_assert_uint_eq(m.index, 0);
		ck_assert_int_eq(m.confirmed, 0);
	}
}
END_TEST

/* A confirmed agreement stays confirmed through a split. */
START_TEST(confirmed_survives_split)
{
	static const uint32_t all[] = { 1, 2 }, one[] = { 1 };
	struct agree_report r;
	struct agree a;

	setup(&a, 2, all, 2);
	r = rep(1, &a, A_B_C, 0, 0);
	agree_deliver(&a, &r);
	ck_assert_int_eq(a.confirmed, 0);
	r = rep(2, &a, A_B_C, 0, 0);
	agree_deliver(&a, &r);
	ck_assert_int_eq(a.confirmed, 1);
	agree_view(&a, one, 1);
	r = rep(1, &a, 0x2, 1, 0);
	ck_assert_int_eq(agree_deliver(&a, &r), 0);
	ck_assert_int_eq(a.confirmed, 1);
	ck_assert_uint_eq(a.index, 0);
}
END_TEST

/* Nodes not in the configuration do not make a majority. */
START_TEST(unconfigured_members_do_not_count)
{
	static const uint32_t view[] = { 1, 9, 9, 10 };
	struct agree_report r;
	struct agree a;

	setup(&a, 3, view, ARRAY_LEN(view));
	ck_assert_uint_eq(a.member_count, 3);	/* 9 once */
	ck_assert_uint_eq(a.configured, 1);
	for (uint32_t id = 1; id <= 10; id++) {
		r = rep(id, &a, 0x2, 1, 0);
		ck_assert_int_eq(agree_deliver(&a, &r), 0);
	}
	ck_assert_uint_eq(a.index, 0);
	ck_assert_str_eq(agree_state_id(&a), "waiting_for_all_nodes_view");
}
END_TEST

START_TEST(no_common_host_stays)
{
	static const uint32_t view[] = { 1, 2 };
	struct agree_report r1, r2;
	struct agree a;
	char buf[256];

	setup(&a, 2, view, 2);
	r1 = rep(1, &a, 0x2, 1, 0);	/* B */
	r2 = rep(2, &a, 0x4, 1, 0);	/* C */
	agree_deliver(&a, &r1);
	ck_assert_int_eq(agree_deliver(&a, &r2), 0);
	ck_assert_uint_eq(a.index, 0);
	ck_assert_str_eq(agree_why_text(&a, names, buf, sizeof(buf)),
	    "the first host; all members lost A, but no other host is "
	    "reachable by all");
	/* A lost but "reachable" in the bits: still not chosen again. */
	r1 = rep(1, &a, 0x1, 1, 0);
	r2 = rep(2, &a, 0x1, 1, 0);
	agree_deliver(&a, &r1);
	ck_assert_int_eq(agree_deliver(&a, &r2), 0);
	ck_assert_uint_eq(a.index, 0);
}
END_TEST

START_TEST(return_to_first_when_all_held_it)
{
	static const uint32_t view[] = { 1, 2 };
	struct agree_report r1, r2;
	struct agree a;
	char buf[256];

	setup(&a, 2, view, 2);
	r1 = rep(1, &a, 0x2, 1, 0);
	r2 = rep(2, &a, 0x2, 1, 0);
	agree_deliver(&a, &r1);
	ck_assert_int_eq(agree_deliver(&a, &r2), 1);
	ck_assert_uint_eq(a.index, 1);

	/* Only node 1 held A reachable: stay on B. */
	r1 = rep(1, &a, 0x3, 0, 1);
	r2 = rep(2, &a, 0x3, 0, 0);
	agree_deliver(&a, &r1);
	ck_assert_int_eq(agree_deliver(&a, &r2), 0);
	ck_assert_uint_eq(a.index, 1);

	r2 = rep(2, &a, 0x3, 0, 1);
	ck_assert_int_eq(agree_deliver(&a, &r2), 1);
	ck_assert_uint_eq(a.index, 0);
	ck_assert_uint_eq(a.epoch, 2);
	ck_assert_str_eq(agree_why_id(&a), "returned_to_first");
	r1 = rep(1, &a, 0x3, 0, 1);
	r2 = rep(2, &a, 0x3, 0, 1);
	agree_deliver(&a, &r1);
	ck_assert_int_eq(agree_deliver(&a, &r2), 0);	/* already there */
	ck_assert_str_eq(agree_why_text(&a, names, buf, sizeof(buf)),
	    "all members reached A for host_return_hold");
}
END_TEST

/*
 * A member whose qdevice restarted (or missed the switch's delivery)
 * adopts the later agreement the others report.
 */
START_TEST(rejoining_member_adopts_later_agreement)
{
	static const uint32_t maj[] = { 1, 2 }, all[] = { 3, 1, 2 };
	struct agree m, late;
	struct agree_report r;

	ck_assert_int_eq(agree_init(&m, (const uint32_t[]){ 1, 2, 3 }, 3, 3,
	    2), 0);
	agree_view(&m, maj, 2);
	r = rep(1, &m, 0x2, 1, 0);
	agree_deliver(&m, &r);
	r = rep(2, &m, 0x2, 1, 0);
	agree_deliver(&m, &r);
	ck_assert_uint_eq(m.epoch, 1);

	setup(&late, 3, all, 3);
	agree_view(&m, all, 3);
	r = rep(3, &late, A_B_C, 0, 0);	/* epoch 0, index 0 */
	ck_assert_int_eq(agree_deliver(&late, &r), 0);
	ck_assert_int_eq(agree_deliver(&m, &r), 0);
	r = rep(1, &m, 0x2, 0, 0);
	ck_assert_int_eq(agree_deliver(&late, &r), 1);
	ck_assert_int_eq(agree_deliver(&m, &r), 0);
	ck_assert_uint_eq(late.index, 1);
	ck_assert_uint_eq(late.epoch, 1);
	ck_assert_str_eq(agree_why_id(&late), "adopted");
	ck_assert_int_eq(late.confirmed, 0);
	r = rep(2, &m, 0x2, 0, 0);
	agree_deliver(&late, &r);
	agree_deliver(&m, &r);
	r = rep(3, &late, 0x2, 0, 0);
	agree_deliver(&late, &r);
	agree_deliver(&m, &r);
	ck_assert_int_eq(late.confirmed, 1);
	ck_assert_int_eq(m.confirmed, 1);
}
END_TEST

/* A node added to the configuration must confirm the agreement too. */
START_TEST(added_node_needs_confirming)
{
	static const uint32_t two[] = { 1, 2 }, three[] = { 1, 2, 3 };
	struct agree_report r;
	struct agree a;

	setup(&a, 2, two, 2);
	r = rep(1, &a, A_B_C, 0, 0);
	agree_deliver(&a, &r);
	r = rep(2, &a, A_B_C, 0, 0);
	agree_deliver(&a, &r);
	ck_assert_int_eq(a.confirmed, 1);
	ck_assert_int_eq(agree_set_nodes(&a, two, 2), 0);	/* same */
	ck_assert_int_eq(a.confirmed, 1);
	ck_assert_int_eq(agree_set_nodes(&a, three, 3), 0);
	ck_assert_int_eq(a.confirmed, 0);
	ck_assert_uint_eq(a.need, 3);
	/* Without node 3 in the view nothing moves any more. */
	r = rep(1, &a, 0x2, 1, 0);
	agree_deliver(&a, &r);
	r = rep(2, &a, 0x2, 1, 0);
	ck_assert_int_eq(agree_deliver(&a, &r), 0);
	ck_assert_uint_eq(a.index, 0);
	ck_assert_int_eq(agree_set_nodes(&a, three, 0), -1);
	/* Node 3 removed again: 1 and 2 are all. */
	ck_assert_int_eq(agree_set_nodes(&a, two, 2), 0);
	ck_assert_int_eq(agree_deliver(&a, &r), 1);
	ck_assert_uint_eq(a.index, 1);
}
END_TEST

/*
 * Nodes with different host lists: index 1 is not the same host for them,
 * so nothing is confirmed or switched with such a member.
 */
START_TEST(other_host_list_never_agrees)
{
	static const uint32_t view[] = { 1, 2 };
	struct agree_report r1, r2;
	struct agree a;

	setup(&a, 2, view, 2);
	a.list = 0x1111;
	r1 = rep(1, &a, 0x2, 1, 0);
	r2 = rep(2, &a, 0x2, 1, 0);
	r1.list = 0x1111;
	r2.list = 0x2222;
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(agree_deliver(&a, &r1), 0);
		ck_assert_int_eq(agree_deliver(&a, &r2), 0);
	}
	ck_assert_uint_eq(a.index, 0);
	ck_assert_int_eq(a.confirmed, 0);
	ck_assert_uint_eq(a.foreign_list_from, 2);
	r2.list = 0x1111;		/* fixed */
	ck_assert_int_eq(agree_deliver(&a, &r2), 1);
	ck_assert_uint_eq(a.index, 1);
}
END_TEST

/* Reports from outside the view or of another list are ignored. */
START_TEST(foreign_reports_ignored)
{
	static const uint32_t view[] = { 1, 2 };
	struct agree_report r;
	struct agree a;

	setup(&a, 2, view, 2);
	r = rep(3, &a, 0x2, 1, 0);
	r.epoch = 7;
	ck_assert_int_eq(agree_deliver(&a, &r), 0);
	r = rep(1, &a, 0x2, 1, 0);
	r.index = 5;
	ck_assert_int_eq(agree_deliver(&a, &r), 0);
	ck_assert_uint_eq(a.epoch, 0);
	ck_assert_uint_eq(a.index, 0);
}
END_TEST

/*
 * Virtual synchrony: the members of a view see the same messages in the
 * same order.  Whatever each starts from and whatever they report, after a
 * round where everyone reported, they hold the same agreement.
 */
START_TEST(members_agree_deterministically)
{
	static const uint32_t view[] = { 1, 2, 3, 4 };
	struct agree m[4];
	unsigned seed = 12 + (unsigned)_i;

	for (size_t i = 0; i < 4; i++)
		setup(&m[i], 4, view, 4);
	/* Different starting points: some carry a later agreement. */
	m[(size_t)_i % 4].epoch = 3;
	m[(size_t)_i % 4].index = 2;
	for (int round = 0; round < 40; round++) {
		for (size_t k = 0; k < 4; k++) {
			size_t from = (size_t)rand_r(&seed) % 4;
			struct agree_report r = rep(view[from], &m[from],
			    (uint8_t)(rand_r(&seed) % 8),
			    rand_r(&seed) % 3 != 0, rand_r(&seed) % 2);

			for (size_t i = 0; i < 4; i++)
				agree_deliver(&m[i], &r);
		}
		/* A full round: each member reports what it holds. */
		for (size_t from = 0; from < 4; from++) {
			struct agree_report r = rep(view[from], &m[from],
			    0x7, 0, 0);

			for (size_t i = 0; i < 4; i++)
				agree_deliver(&m[i], &r);
		}
		for (size_t i = 1; i < 4; i++) {
			ck_assert_uint_eq(m[i].epoch, m[0].epoch);
			ck_assert_uint_eq(m[i].index, m[0].index);
			ck_assert_int_eq(m[i].confirmed, m[0].confirmed);
		}
	}
	ck_assert_uint_ge(m[0].epoch, 3);
}
END_TEST

static Suite *
agree_suite(void)
{
	Suite *s = suite_create("arbiter agreement");
	TCase *tc = tcase_create("rule");

	tcase_add_test(tc, all_nodes_by_default);
	tcase_add_test(tc, all_lost_switches_to_next_reachable);
	tcase_add_test(tc, next_goes_round_the_list);
	tcase_add_test(tc, one_member_lost_does_not_move);
	tcase_add_test(tc, split_keeps_the_agreement);
	tcase_add_test(tc, confirmed_survives_split);
	tcase_add_test(tc, unconfigured_members_do_not_count);
	tcase_add_test(tc, no_common_host_stays);
	tcase_add_test(tc, return_to_first_when_all_held_it);
	tcase_add_test(tc, rejoining_member_adopts_later_agreement);
	tcase_add_test(tc, foreign_reports_ignored);
	tcase_add_test(tc, added_node_needs_confirming);
	tcase_add_test(tc, other_host_list_never_agrees);
	tcase_add_loop_test(tc, members_agree_deterministically, 0, 8);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(agree_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
