/* Just enough JSON writing for the tools' --json output. */
#ifndef QN_JSON_H
#define QN_JSON_H

#include <stddef.h>

#include "buf.h"

/* A JSON string literal of len bytes, escaped. */
void	json_str(struct buf *b, const char *s, size_t len);
/* A comma unless first: between the members of an object or array. */
void	json_sep(struct buf *b, int *first);
/* "key": with the key escaped; prepends a comma unless first. */
void	json_key(struct buf *b, int *first, const char *key);

#endif
