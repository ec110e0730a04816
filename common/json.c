#include <string.h>

#include "json.h"

void
json_str(struct buf *b, const char *s, size_t len)
{
	buf_put_u8(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			buf_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			buf_printf(b, "\\u%04x", ch);	/* names are bytes, not UTF-8 */
		else
			buf_put_u8(b, ch);
	}
	buf_put_u8(b, '"');
}

void
json_sep(struct buf *b, int *first)
{
	if (!*first)
		buf_put_u8(b, ',');
	*first = 0;
}

void
json_key(struct buf *b, int *first, const char *key)
{
	json_sep(b, first);
	json_str(b, key, strlen(key));
	buf_put_u8(b, ':');
}
