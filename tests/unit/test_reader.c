/*
 * Unit tests of the incremental message reader (common/reader.c) against
 * PROTOCOL.md §2.2: any chunking of a stream gives the same messages, a
 * message is never read past its end, unknown types and over-limit
 * messages are skipped after their body, and huge headers allocate
 * nothing.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "buf.h"
#include "reader.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * For hot loops: check's ck_assert*() reports every passing assertion to
 * the parent process, which makes millions of them take minutes.
 */
#define REQUIRE(cond, ...) \
	do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

/* ------------------------------------------------------------------ */
/* The stream: one message of each kind the reader must tell apart */

#define MAX_SIZE	1024

static const struct item {
	const char *name;
	uint16_t type;
	uint32_t total;			/* header included */
	enum reader_status want;
} items[] = {
	{ "small", QN_MSG_ECHO_REQUEST, 14, READER_MESSAGE },
	{ "exactly inline", QN_MSG_PREINIT, READER_INLINE_SIZE, READER_MESSAGE },
	{ "inline + 1", QN_MSG_PREINIT, READER_INLINE_SIZE + 1, READER_MESSAGE },
	{ "larger than inline", QN_MSG_INIT, 600, READER_MESSAGE },
	{ "empty body", QN_MSG_ECHO_REQUEST, QN_HEADER_SIZE, READER_MESSAGE },
	{ "type 0x0012", 0x0012, 16, READER_UNSUPPORTED },
	{ "type 0xffff", 0xffff, 306, READER_UNSUPPORTED },
	{ "type 0x0012, empty", 0x0012, QN_HEADER_SIZE, READER_UNSUPPORTED },
	{ "max_size + 1", QN_MSG_NODE_LIST, MAX_SIZE + 1, READER_TOO_LONG },
	{ "exactly max_size", QN_MSG_NODE_LIST, MAX_SIZE, READER_MESSAGE },
	{ "unknown and too long", 0xffff, 2 * MAX_SIZE, READER_UNSUPPORTED },
	{ "far too long", QN_MSG_ECHO_REQUEST, 5000, READER_TOO_LONG },
	{ "last", QN_MSG_ECHO_REPLY, 14, READER_MESSAGE },
};

struct stream {
	uint8_t *data;
	size_t len;
	size_t end[ARRAY_LEN(items)];	/* offset just past item i */
};

/*
 * Bodies are a running byte pattern, so a byte in the wrong place shows;
 * some of it looks like headers of other messages, which must not matter.
 */
static void
stream_build(struct stream *s)
{
	struct buf b;
	uint8_t x = 1;

	buf_init(&b);
	for (size_t i = 0; i < ARRAY_LEN(items); i++) {
		buf_put_u16(&b, items[i].type);
		buf_put_u32(&b, items[i].total - QN_HEADER_SIZE);
		for (uint32_t k = QN_HEADER_SIZE; k < items[i].total; k++)
			buf_put_u8(&b, x += 37);
		s->end[i] = b.len;
	}
	ck_assert_int_eq(b.failed, 0);
	s->data = b.data;
	s->len = b.len;
}

/*
 * Feed the stream in the given chunks, through reader_feed() (use_space
 * 0) or reader_space()/reader_commit() (1), and check every reported
 * message against items[]: status, position in the stream (so nothing was
 * read past a message's end and skipped bodies were consumed first), and
 * the delivered bytes.
 */
static void
feed_chunks(const struct stream *s, const size_t *chunks, size_t n_chunks,
    int use_space, const char *how)
{
	struct reader r;
	size_t pos = 0, next = 0;

	reader_init(&r, MAX_SIZE);
	for (size_t c = 0; c < n_chunks; c++) {
		const uint8_t *p = s->data + pos;
		size_t n = chunks[c];

		REQUIRE(pos + n <= s->len, "%s: chunks past the end", how);
		if (n == 0 && !use_space) {
			size_t used = 99;

			REQUIRE(reader_feed(&r, p, 0, &used) == READER_MORE &&
			    used == 0, "%s: feeding nothing", how);
		}
		while (n > 0) {
			enum reader_status st;
			size_t used;

			REQUIRE(next < ARRAY_LEN(items),
			    "%s: more messages than sent", how);
			if (use_space) {
				size_t want;
				uint8_t *dst = reader_space(&r, &want);

				/* Never 0, never past the current message. */
				REQUIRE(want > 0, "%s: want 0", how);
				REQUIRE(pos + want <= s->end[next],
				    "%s: asks for %zu bytes at %zu, message "
				    "ends at %zu", how, want, pos, s->end[next]);
				used = want < n ? want : n;
				memcpy(dst, p, used);
				st = reader_commit(&r, used);
			} else {
				st = reader_feed(&r, p, n, &used);
				REQUIRE(used <= n, "%s: used %zu of %zu", how,
				    used, n);
			}
			pos += used;
			p += used;
			n -= used;
			if (st == READER_MORE) {
				REQUIRE(use_space || n == 0,
				    "%s: MORE with %zu bytes left", how, n);
				REQUIRE(pos < s->end[next], "%s: MORE at a "
				    "message end (%zu)", how, pos);
				continue;
			}
			REQUIRE(st == items[next].want,
			    "%s: message %zu (%s): status %d, want %d", how,
			    next, items[next].name, st, items[next].want);
			REQUIRE(pos == s->end[next],
			    "%s: message %zu (%s) reported at %zu, ends at %zu",
			    how, next, items[next].name, pos, s->end[next]);
			if (st == READER_MESSAGE) {
				size_t len;
				const uint8_t *m = reader_message(&r, &len);

				REQUIRE(len == items[next].total,
				    "%s: message %zu has %zu bytes", how, next, len);
				REQUIRE(memcmp(m, s->data + pos - len,
				    len) == 0, "%s: message %zu (%s) differs",
				    how, next, items[next].name);
			}
			reader_next(&r);
			next++;
		}
	}
	REQUIRE(pos == s->len, "%s: stopped at %zu", how, pos);
	REQUIRE(next == ARRAY_LEN(items), "%s: %zu of %zu messages",
	    how, next, ARRAY_LEN(items));
	reader_free(&r);
}

static struct stream st;

static void
setup(void)
{
	stream_build(&st);
}

static void
teardown(void)
{
	free(st.data);
}

/* (a) Two chunks, split at every point, 0 and len included. */
START_TEST(every_split)
{
	for (size_t split = 0; split <= st.len; split++) {
		size_t chunks[2] = { split, st.len - split };

		feed_chunks(&st, chunks, 2, _i, "split");
	}
}
END_TEST

/* (b) Byte by byte. */
START_TEST(byte_by_byte)
{
	size_t *chunks = malloc(st.len * sizeof(*chunks));

	ck_assert_ptr_nonnull(chunks);
	for (size_t i = 0; i < st.len; i++)
		chunks[i] = 1;
	feed_chunks(&st, chunks, st.len, _i, "byte by byte");
	free(chunks);
}
END_TEST

/* A fixed generator, so every run sees the same chunkings. */
static uint32_t
xorshift32(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* (c) Random chunkings, small and large pieces mixed, fixed seed. */
START_TEST(random_chunks)
{
	static const uint32_t scale[] = { 3, 17, 300, 3000 };
	uint32_t seed = 0x2545f491;
	/* No two 0-byte chunks in a row, so at most 2 chunks a byte. */
	size_t *chunks = malloc(2 * (st.len + 1) * sizeof(*chunks));

	ck_assert_ptr_nonnull(chunks);
	for (int run = 0; run < 500; run++) {
		size_t n = 0, left = st.len;

		while (left > 0) {
			size_t c = xorshift32(&seed) % (scale[run % 4] + 1);

			if (c == 0 && n > 0 && chunks[n - 1] == 0)
				c = 1;
			if (c > left)
				c = left;
			chunks[n++] = c;
			left -= c;
		}
		feed_chunks(&st, chunks, n, _i, "random");
	}
	free(chunks);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Never past the end of a message */

static const struct two {
	const char *name;
	const char *first;		/* hex */
	enum reader_status want;
} two[] = {
	{ "ECHO_REQUEST", "0008 00000008 0000 0004 00000001", READER_MESSAGE },
	{ "empty body", "0008 00000000", READER_MESSAGE },
	{ "STARTTLS", "0002 00000008 0000 0004 00000002", READER_MESSAGE },
	{ "unknown type", "0012 00000004 0000 0000", READER_UNSUPPORTED },
	{ "unknown type, empty", "ffff 00000000", READER_UNSUPPORTED },
	{ "too long", "0008 00000040 "
	  "00000000000000000000000000000000 00000000000000000000000000000000"
	  "00000000000000000000000000000000 00000000000000000000000000000000",
	  READER_TOO_LONG },
};

static size_t
hex_put(uint8_t *out, const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		ck_assert(s[1] != '\0');
		out[n++] = (uint8_t)strtoul((char[]){ s[0], s[1], '\0' }, NULL, 16);
		s++;
	}
	return n;
}

/*
 * reader_feed() with two messages in one buffer stops after the first; the
 * second (here what follows STARTTLS on the wire, a TLS ClientHello, §2.2)
 * stays with the caller.
 */
START_TEST(stops_after_first)
{
	const struct two *t = &two[_i];
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01,
		0x00, 0x01, 0xfc, 0x03, 0x03 };
	uint8_t buf[256], copy[256];
	size_t first = hex_put(buf, t->first), used, len;
	struct reader r;

	memcpy(buf + first, hello, sizeof(hello));
	memcpy(copy, buf, sizeof(buf));
	reader_init(&r, 64);
	ck_assert_int_eq(reader_feed(&r, buf, first + sizeof(hello), &used),
	    t->want);
	ck_assert_uint_eq(used, first);
	ck_assert_mem_eq(buf, copy, sizeof(buf));	/* input untouched */
	if (t->want == READER_MESSAGE) {
		const uint8_t *m = reader_message(&r, &len);

		ck_assert_uint_eq(len, first);
		ck_assert_mem_eq(m, buf, first);
	}

	/* The bytes that follow start a new message: 0x1603 is unknown. */
	reader_next(&r);
	ck_assert_int_eq(reader_feed(&r, buf + first, sizeof(hello), &used),
	    READER_MORE);
	ck_assert_uint_eq(used, sizeof(hello));
	reader_free(&r);
}
END_TEST

/* Through the space/commit interface the first message's end is a wall. */
START_TEST(space_stops_at_end)
{
	const struct two *t = &two[_i];
	uint8_t buf[256];
	size_t first = hex_put(buf, t->first), got = 0, want;
	enum reader_status s = READER_MORE;
	struct reader r;

	reader_init(&r, 64);
	while (s == READER_MORE) {
		uint8_t *dst = reader_space(&r, &want);

		ck_assert_uint_gt(want, 0);
		ck_assert_uint_le(got + want, first);
		memcpy(dst, buf + got, want);
		got += want;
		s = reader_commit(&r, want);
	}
	ck_assert_int_eq(s, t->want);
	ck_assert_uint_eq(got, first);
	reader_free(&r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Limits */

/*
 * A header announcing 4 GiB is skipped as too long (unknown type: as
 * unsupported) without allocating its body; the body is consumed, then
 * the next message is read normally.
 */
static const struct huge {
	uint16_t type;
	enum reader_status want;
} huge[] = {
	{ QN_MSG_ECHO_REQUEST, READER_TOO_LONG },
	{ 0xffff, READER_UNSUPPORTED },
};

START_TEST(huge_header)
{
	uint8_t hdr[QN_HEADER_SIZE] = { huge[_i].type >> 8, huge[_i].type,
		0xff, 0xff, 0xff, 0xff };
	uint8_t next[] = { 0, 9, 0, 0, 0, 8, 0, 0, 0, 4, 0, 0, 0, 7 };
	uint64_t body = 0;
	enum reader_status s;
	struct reader r;
	size_t used, len;

	reader_init(&r, 32768);
	ck_assert_int_eq(reader_feed(&r, hdr, sizeof(hdr), &used), READER_MORE);
	ck_assert_uint_eq(used, sizeof(hdr));
	ck_assert_ptr_eq(r.data, r.inline_data);	/* nothing allocated */

	/*
	 * Consume the 4 GiB body through reader_space()/reader_commit(); the
	 * skipped bytes are not looked at, so they are not even written.
	 */
	do {
		size_t want;
		uint8_t *dst = reader_space(&r, &want);

		REQUIRE(dst != NULL && want > 0 && want <= READER_INLINE_SIZE,
		    "space %p, want %zu", (void *)dst, want);
		body += want;
		s = reader_commit(&r, want);
	} while (s == READER_MORE);
	ck_assert_int_eq(s, huge[_i].want);
	ck_assert_uint_eq(body, UINT64_C(0xffffffff));
	ck_assert_ptr_eq(r.data, r.inline_data);

	reader_next(&r);
	ck_assert_int_eq(reader_feed(&r, next, sizeof(next), &used),
	    READER_MESSAGE);
	ck_assert_uint_eq(used, sizeof(next));
	ck_assert_mem_eq(reader_message(&r, &len), next, sizeof(next));
	ck_assert_uint_eq(len, sizeof(next));
	reader_free(&r);
}
END_TEST

/* max_size counts the header: exactly max_size is read, one more skipped. */
static const struct limit {
	size_t max_size;
	uint32_t total;
	enum reader_status want;
} limit[] = {
	{ 16, 16, READER_MESSAGE },
	{ 16, 17, READER_TOO_LONG },
	{ 100, 100, READER_MESSAGE },
	{ 100, 101, READER_TOO_LONG },
	{ READER_INLINE_SIZE, READER_INLINE_SIZE, READER_MESSAGE },
	{ READER_INLINE_SIZE, READER_INLINE_SIZE + 1, READER_TOO_LONG },
	{ 32768, 32768, READER_MESSAGE },
	{ 32768, 32769, READER_TOO_LONG },
	{ 32768, QN_HEADER_SIZE, READER_MESSAGE },
};

START_TEST(max_size_boundary)
{
	const struct limit *l = &limit[_i];
	/* The message, then an empty-bodied one that fits any limit. */
	size_t len = l->total + QN_HEADER_SIZE, used, mlen;
	uint8_t *buf = calloc(1, len);
	struct reader r;

	ck_assert_ptr_nonnull(buf);
	buf[1] = QN_MSG_NODE_LIST;
	buf[2] = (uint8_t)((l->total - QN_HEADER_SIZE) >> 24);
	buf[3] = (uint8_t)((l->total - QN_HEADER_SIZE) >> 16);
	buf[4] = (uint8_t)((l->total - QN_HEADER_SIZE) >> 8);
	buf[5] = (uint8_t)(l->total - QN_HEADER_SIZE);
	for (size_t i = QN_HEADER_SIZE; i < l->total; i++)
		buf[i] = (uint8_t)i;
	buf[l->total + 1] = QN_MSG_ECHO_REQUEST;

	reader_init(&r, l->max_size);
	ck_assert_int_eq(reader_feed(&r, buf, len, &used), l->want);
	ck_assert_uint_eq(used, l->total);
	if (l->want == READER_MESSAGE) {
		const uint8_t *m = reader_message(&r, &mlen);

		ck_assert_uint_eq(mlen, l->total);
		ck_assert_mem_eq(m, buf, l->total);
	}
	reader_next(&r);
	ck_assert_int_eq(reader_feed(&r, buf + used, len - used, &used),
	    READER_MESSAGE);
	ck_assert_uint_eq(used, QN_HEADER_SIZE);
	ck_assert_mem_eq(reader_message(&r, &mlen), buf + l->total,
	    QN_HEADER_SIZE);
	reader_free(&r);
	free(buf);
}
END_TEST

/* Dropping a reader in the middle of a large message releases it. */
START_TEST(free_mid_message)
{
	uint8_t buf[400] = { 0, QN_MSG_INIT, 0, 0, 0x03, 0x00 };	/* 774 */
	struct reader r;
	size_t used;

	reader_init(&r, 1000);
	ck_assert_int_eq(reader_feed(&r, buf, sizeof(buf), &used), READER_MORE);
	ck_assert_uint_eq(used, sizeof(buf));
	reader_free(&r);	/* the sanitizer build reports a leak otherwise */
	ck_assert_ptr_eq(r.data, r.inline_data);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
reader_suite(void)
{
	Suite *s = suite_create("reader");
	TCase *tc;

	/* Loop index 0: reader_feed(), 1: reader_space()/reader_commit(). */
	tc = tcase_create("chunking");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, every_split, 0, 2);
	tcase_add_loop_test(tc, byte_by_byte, 0, 2);
	tcase_add_loop_test(tc, random_chunks, 0, 2);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("boundaries");
	tcase_add_loop_test(tc, stops_after_first, 0, ARRAY_LEN(two));
	tcase_add_loop_test(tc, space_stops_at_end, 0, ARRAY_LEN(two));
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_loop_test(tc, huge_header, 0, ARRAY_LEN(huge));
	tcase_add_loop_test(tc, max_size_boundary, 0, ARRAY_LEN(limit));
	tcase_add_test(tc, free_mid_message);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(reader_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
