/*
 * Unit tests of the decision memory's file (qnetd/statefile.c) and its
 * records (qnetd/memory.c): what is saved comes back, and a missing,
 * truncated, corrupt, old-version, newer-version or foreign (other host,
 * other format) file loads nothing, says why, and leaves the memory empty.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "memory.h"
#include "statefile.h"

#define DAY	86400000ULL

static char dir[PATH_MAX];

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/statefile-XXXXXX", tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, STATEFILE_NAME);
	unlink(path);
	rmdir(dir);
}

static void
write_state(const char *text)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, STATEFILE_NAME);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static char *
read_state(void)
{
	char path[PATH_MAX + 32];
	static char buf[65536];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, STATEFILE_NAME);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A valid file's text with host and version as given. */
static void
write_valid(const char *host, int version, const char *clusters)
{
	char text[4096];

	snprintf(text, sizeof(text), "{\"format\":\"" STATEFILE_FORMAT "\","
	    "\"version\":%d,\"host\":\"%s\",\"saved_at\":%ld,"
	    "\"clusters\":[%s]}\n", version, host, (long)time(NULL), clusters);
	write_state(text);
}

static const char *
this_host(void)
{
	static char h[HOST_NAME_MAX + 1];

	gethostname(h, sizeof(h));
	h[sizeof(h) - 1] = '\0';
	return h;
}

/* 'c' 'l' '1' in hex: the cluster "cl1". */
#define CL1 "{\"name\":\"636c31\",\"algorithm\":2,\"generation\":7," \
	"\"ring_node_id\":2,\"ring_seq\":9,\"idle_ms\":0,\"quorate\":[2]}"

/* A rejected file: -1, why, and nothing loaded. */
static void
expect_rejected(const char *why)
{
	struct memory mem;
	char err[512];

	memory_init(&mem, DAY, 100);
	ck_assert_int_eq(statefile_load(dir, &mem, 1000, 0, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, why) != NULL, "\"%s\" not in \"%s\"", why,
	    err);
	ck_assert_uint_eq(mem.count, 0);
	ck_assert_ptr_null(TAILQ_FIRST(&mem.recs));
	memory_free(&mem);
}

START_TEST(save_and_load)
{
	struct memory a, b;
	struct memory_rec *r;
	const uint32_t nodes[] = { 2, 5 };
	const struct qn_ring_id ring = { 2, 0x1234567890ULL };
	const char name[] = { 'x', '\0', 'y' };	/* names are bytes */
	char err[512];

	memory_init(&a, DAY, 100);
	r = memory_attach(&a, name, sizeof(name), 5000);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(memory_note(r, 2, nodes, 2, &ring), 1);
	ck_assert_int_eq(memory_note(r, 2, nodes, 2, &ring), 0);
	memory_detach(&a, r, 6000);
	ck_assert_ptr_nonnull(memory_attach(&a, "busy", 4, 6000));
	ck_assert_int_eq(statefile_save(dir, &a, 7000, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(read_state(), "\"generation\":1"));

	memory_init(&b, DAY, 100);
	ck_assert_int_eq(statefile_load(dir, &b, 100, 0, err, sizeof(err)), 2);
	r = memory_find(&b, name, sizeof(name));
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->nquorate, 2);
	ck_assert_uint_eq(r->quorate[0], 2);
	ck_assert_uint_eq(r->quorate[1], 5);
	ck_assert_uint_eq(r->ring.seq, ring.seq);
	ck_assert_uint_eq(r->generation, 1);
	ck_assert_int_eq(r->from_file, 1);
	ck_assert_int_eq(r->in_use, 0);
	/* A cluster in use when saved is idle after the restart. */
	r = memory_find(&b, "busy", 4);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->in_use, 0);
	ck_assert_uint_eq(r->nquorate, 0);
	memory_free(&a);
	memory_free(&b);
}
END_TEST

START_TEST(missing_file_is_no_state)
{
	struct memory mem;
	char err[512];

	memory_init(&mem, DAY, 100);
	ck_assert_int_eq(statefile_load(dir, &mem, 1000, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(mem.count, 0);
	memory_free(&mem);
}
END_TEST

START_TEST(truncated_file)
{
	char text[4096];

	snprintf(text, sizeof(text), "{\"format\":\"" STATEFILE_FORMAT "\","
	    "\"version\":1,\"host\":\"%s\",\"saved_at\":1,\"clusters\":["
	    CL1, this_host());
	/* Cut in the middle of the first record. */
	text[strlen(text) - 20] = '\0';
	write_state(text);
	expect_rejected("truncated");
	write_state("");
	expect_rejected("truncated");
}
END_TEST

START_TEST(corrupt_files)
{
	char text[4096];

	write_state("\x01\x02garbage\xff");
	expect_rejected("not valid JSON");
	write_state("{} {}");
	expect_rejected("data after the end");
	write_state("[1,2,3]");
	expect_rejected("not a corosync-qnetd state file");
	/* Valid JSON, wrong contents: the whole file is refused. */
	write_valid(this_host(), 1, CL1 ",{\"name\":\"zz\",\"algorithm\":2,"
	    "\"generation\":1,\"ring_node_id\":1,\"ring_seq\":1,"
	    "\"idle_ms\":0,\"quorate\":[]}");
	expect_rejected("cluster 1: bad name");
	write_valid(this_host(), 1, "{\"name\":\"6162\",\"algorithm\":2,"
	    "\"generation\":1,\"ring_node_id\":1,\"ring_seq\":1,"
	    "\"idle_ms\":0,\"quorate\":[3,2]}");
	expect_rejected("cluster 0: bad quorate node list");
	write_valid(this_host(), 1, "{\"name\":\"6162\",\"algorithm\":300,"
	    "\"generation\":1,\"ring_node_id\":1,\"ring_seq\":1,"
	    "\"idle_ms\":0,\"quorate\":[2]}");
	expect_rejected("cluster 0: a field is missing or out of range");
	write_valid(this_host(), 1, CL1 "," CL1);
	expect_rejected("cluster 1: repeated name");
	snprintf(text, sizeof(text), "{\"format\":\"" STATEFILE_FORMAT "\","
	    "\"version\":1,\"host\":\"%s\"}", this_host());
	write_state(text);
	expect_rejected("saved_at or clusters missing");
}
END_TEST

START_TEST(old_and_new_versions)
{
	write_valid(this_host(), 0, CL1);
	expect_rejected("format version 0, this corosync-qnetd reads 1");
	write_valid(this_host(), 2, CL1);
	expect_rejected("format version 2, this corosync-qnetd reads 1");
	write_state("{\"format\":\"" STATEFILE_FORMAT "\",\"host\":\"h\"}");
	expect_rejected("no format version");
}
END_TEST

START_TEST(foreign_files)
{
	struct memory mem;
	char err[512];

	write_valid("another-host.example", 1, CL1);
	expect_rejected("saved on host \"another-host.example\"");
	/* A directory that moves between hosts (state_dir_shared) loads it. */
	memory_init(&mem, DAY, 100);
	ck_assert_int_eq(statefile_load(dir, &mem, 1000, 1, err, sizeof(err)),
	    1);
	memory_free(&mem);
	write_state("{\"format\":\"something-else\",\"version\":1}");
	expect_rejected("not a corosync-qnetd state file");
}
END_TEST

/* Idle records past the keep time, or beyond the count, are not loaded. */
START_TEST(load_respects_bounds)
{
	struct memory mem;
	char err[512];

	write_valid(this_host(), 1, CL1 ",{\"name\":\"636c32\",\"algorithm\":"
	    "2,\"generation\":1,\"ring_node_id\":1,\"ring_seq\":1,"
	    "\"idle_ms\":90000000,\"quorate\":[1]}");
	memory_init(&mem, DAY, 100);
	ck_assert_int_eq(statefile_load(dir, &mem, 200000000, 0, err,
	    sizeof(err)), 1);
	ck_assert_ptr_nonnull(memory_find(&mem, "cl1", 3));
	ck_assert_ptr_null(memory_find(&mem, "cl2", 3));
	memory_free(&mem);
}
END_TEST

START_TEST(memory_bounds)
{
	struct memory mem;
	struct memory_rec *r;
	char name[16];

	memory_init(&mem, 10000, 3);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		r = memory_attach(&mem, name, strlen(name), 1000);
		memory_detach(&mem, r, 1000 + (uint64_t)i);
	}
	/* Only the 3 most recently idle are kept. */
	ck_assert_uint_eq(mem.count, 3);
	ck_assert_ptr_null(memory_find(&mem, "c1", 2));
	ck_assert_ptr_nonnull(memory_find(&mem, "c2", 2));
	/* One in use again is not swept, the others expire. */
	ck_assert_ptr_nonnull(memory_attach(&mem, "c3", 2, 5000));
	memory_sweep(&mem, 1000 + 10005);
	ck_assert_uint_eq(mem.count, 1);
	ck_assert_ptr_nonnull(memory_find(&mem, "c3", 2));
	memory_free(&mem);
}
END_TEST

/* Idle records stay in the order they went idle, before those in use. */
static void
check_order(struct memory *mem)
{
	struct memory_rec *r;
	uint64_t last = 0;
	int seen_in_use = 0;

	memory_for_each(mem, r) {
		if (r->in_use) {
			seen_in_use = 1;
			continue;
		}
		ck_assert_msg(!seen_in_use, "idle %s after one in use", r->name);
		ck_assert_uint_ge(r->idle_since, last);
		last = r->idle_since;
	}
}

START_TEST(memory_idle_order)
{
	static const uint64_t when[] = { 50, 10, 60, 30, 60, 5, 70, 40 };
	struct memory mem;
	struct memory_rec *r;
	char name[16];
	size_t i;

	memory_init(&mem, 100000, 6);
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		ck_assert_ptr_nonnull(memory_attach(&mem, name, strlen(name), 1));
	}
	/* Out of order (a record loaded from the file went idle earlier). */
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		r = memory_find(&mem, name, strlen(name));
		memory_detach(&mem, r, when[i]);
		check_order(&mem);
		/* Back in use and idle again now and then. */
		if (i == 3) {
			ck_assert_ptr_nonnull(memory_attach(&mem, "c1", 2, 1));
			check_order(&mem);
			memory_detach(&mem, memory_find(&mem, "c1", 2), 65);
			check_order(&mem);
		}
	}
	/* 6 kept: the two longest idle went (c5 at 5, c3 at 30). */
	ck_assert_uint_eq(mem.count, 6);
	ck_assert_ptr_null(memory_find(&mem, "c5", 2));
	ck_assert_ptr_null(memory_find(&mem, "c3", 2));
	ck_assert_ptr_nonnull(memory_find(&mem, "c1", 2));
	memory_free(&mem);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("statefile");
	TCase *tc = tcase_create("statefile");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, save_and_load);
	tcase_add_test(tc, missing_file_is_no_state);
	tcase_add_test(tc, truncated_file);
	tcase_add_test(tc, corrupt_files);
	tcase_add_test(tc, old_and_new_versions);
	tcase_add_test(tc, foreign_files);
	tcase_add_test(tc, load_respects_bounds);
	tcase_add_test(tc, memory_bounds);
	tcase_add_test(tc, memory_idle_order);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
