/*
 * A hash table keyed by bytes, seeded at init from a random source: keys
 * that clients choose (cluster names, source addresses) can't be picked to
 * fall into one chain, since the hash (SipHash-2-4) is keyed by a secret.
 *
 * Intrusive: the caller embeds a struct htab_entry in its record and keeps
 * the key's bytes alive while the record is in the table.  The table only
 * allocates its bucket array.
 */
#ifndef COMMON_HTAB_H
#define COMMON_HTAB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

struct htab_entry {
	SLIST_ENTRY(htab_entry) chain;
	const void *key;
	size_t len;
	uint64_t hash;			/* kept: growing rehashes nothing */
};

SLIST_HEAD(htab_chain, htab_entry);

struct htab {
	struct htab_chain *buckets;
	size_t nbuckets;		/* power of two, 0 until the first insert */
	size_t count;
	uint64_t key[2];		/* the secret */
};

/* The record that holds entry e as its member m. */
#define htab_item(e, type, m) \
	((type *)(void *)((char *)(e) - offsetof(type, m)))

/* An empty table with a fresh secret; allocates nothing. */
void	htab_init(struct htab *t);
/* Frees the buckets; the entries are the caller's. */
void	htab_free(struct htab *t);

struct htab_entry *htab_find(const struct htab *t, const void *key,
	    size_t len);
/*
 * Add e under key (not there yet).  -1 only when there are no buckets and
 * none could be allocated; a failed growth just keeps chains longer.
 */
int	htab_insert(struct htab *t, struct htab_entry *e, const void *key,
	    size_t len);
void	htab_remove(struct htab *t, struct htab_entry *e);
/* Some entry, NULL when empty: to empty the table before freeing it. */
struct htab_entry *htab_any(const struct htab *t);

/* SipHash-2-4 of the bytes under the 128-bit key k. */
uint64_t siphash24(const uint64_t k[2], const void *data, size_t len);

#endif
