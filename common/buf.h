/* A growable byte buffer with big-endian writers. */
#ifndef QN_BUF_H
#define QN_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int failed;	/* an allocation failed: contents are incomplete */
};

void	buf_init(struct buf *b);
void	buf_free(struct buf *b);
void	buf_reset(struct buf *b);
int	buf_reserve(struct buf *b, size_t extra);

/* Writers never fail loudly: they set b->failed, checked once at the end. */
void	buf_put(struct buf *b, const void *data, size_t len);
void	buf_put_u8(struct buf *b, uint8_t v);
void	buf_put_u16(struct buf *b, uint16_t v);
void	buf_put_u32(struct buf *b, uint32_t v);
void	buf_put_u64(struct buf *b, uint64_t v);
void	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Overwrite a big-endian value already written at offset off. */
void	buf_set_u16(struct buf *b, size_t off, uint16_t v);
void	buf_set_u32(struct buf *b, size_t off, uint32_t v);

static inline uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

#endif
