#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "htab.h"

#define HTAB_MIN_BUCKETS	64

#define ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

static uint64_t
load_le64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint64_t
siphash24(const uint64_t k[2], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v0 = 0x736f6d6570736575ULL ^ k[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ k[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ k[0];
	uint64_t v3 = 0x7465646279746573ULL ^ k[1];
	uint64_t m;
	size_t left = len;

	for (; left >= 8; p += 8, left -= 8) {
		m = load_le64(p, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	m = load_le64(p, left) | (uint64_t)len << 56;
	v3 ^= m;
	SIPROUND;
	SIPROUND;
	v0 ^= m;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * The secret: getrandom(), which does not block once the system's pool was
 * seeded at boot; if that fails, the clock and the process id, which an
 * attacker would still have to guess.
 */
static void
new_secret(uint64_t key[2])
{
	struct timespec ts;

	if (getrandom(key, 2 * sizeof(key[0]), GRND_NONBLOCK) ==
	    (ssize_t)(2 * sizeof(key[0])))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)ts.tv_sec;
	key[1] = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)key;
}

void
htab_init(struct htab *t)
{
	memset(t, 0, sizeof(*t));
	new_secret(t->key);
}

void
htab_free(struct htab *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = 0;
	t->count = 0;
}

static struct htab_chain *
bucket(const struct htab *t, uint64_t hash)
{
	return &t->buckets[hash & (t->nbuckets - 1)];
}

struct htab_entry *
htab_find(const struct htab *t, const void *key, size_t len)
{
	struct htab_entry *e;
	uint64_t h;

	if (t->count == 0)
		return NULL;
	h = siphash24(t->key, key, len);
	SLIST_FOREACH(e, bucket(t, h), chain)
		if (e->hash == h && e->len == len &&
		    memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

/* Double the buckets (amortised O(1) per insert). */
static int
grow(struct htab *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : HTAB_MIN_BUCKETS;
	struct htab_chain *b = calloc(n, sizeof(*b));
	struct htab_entry *e;

	if (b == NULL)
		return -1;
	for (size_t i = 0; i < t->nbuckets; i++)
		while ((e = SLIST_FIRST(&t->buckets[i])) != NULL) {
			SLIST_REMOVE_HEAD(&t->buckets[i], chain);
			SLIST_INSERT_HEAD(&b[e->hash & (n - 1)], e, chain);
		}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
	return 0;
}

int
htab_insert(struct htab *t, struct htab_entry *e, const void *key,
    size_t len)
{
	if (t->count >= t->nbuckets && grow(t) != 0 && t->nbuckets == 0)
		return -1;
	e->key = key;
	e->len = len;
	e->hash = siphash24(t->key, key, len);
	SLIST_INSERT_HEAD(bucket(t, e->hash), e, chain);
	t->count++;
	return 0;
}

void
htab_remove(struct htab *t, struct htab_entry *e)
{
	SLIST_REMOVE(bucket(t, e->hash), e, htab_entry, chain);
	t->count--;
}

struct htab_entry *
htab_any(const struct htab *t)
{
	for (size_t i = 0; t->count != 0 && i < t->nbuckets; i++)
		if (!SLIST_EMPTY(&t->buckets[i]))
			return SLIST_FIRST(&t->buckets[i]);
	return NULL;
}
