/*
 * Splitting a heuristics command into its words (heuristics.h), for
 * running it without a shell.
 */
/* <>: not qdevice/config.h, the daemon's configuration module */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heuristics.h"

/* ------------------------------------------------------------------ */
/* Command splitting */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Copy one word starting at *pp (not a blank) to out, unquoted and
 * unescaped; leave *pp after it.  -1 on an unterminated quote or a
 * backslash at the very end.
 */
static int
split_word(const char **pp, char *out)
{
	const char *p = *pp;
	int quoted = 0;

	for (; *p != '\0' && (quoted || !is_blank(*p)); p++) {
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (*p == '\\') {
			if (p[1] == '\0')
				return -1;
			/* In quotes only \\ and \" escape; \x stays \x. */
			if (!quoted || p[1] == '\\' || p[1] == '"')
				p++;
		}
		*out++ = *p;
	}
	if (quoted)
		return -1;
	*out = '\0';
	*pp = p;
	return 0;
}

void
heuristics_free_argv(char **argv)
{
	if (argv == NULL)
		return;
	for (char **a = argv; *a != NULL; a++)
		free(*a);
	free(argv);
}

int
heuristics_split(const char *command, char ***argvp)
{
	size_t len = strlen(command);
	/* A word takes at least two bytes with its separator ("" too). */
	char **argv = calloc(len / 2 + 2, sizeof(*argv));
	char *word = malloc(len + 1);
	const char *p = command;
	int n = 0, err = ENOMEM;

	*argvp = NULL;
	if (argv == NULL || word == NULL)
		goto fail;
	for (;;) {
		while (is_blank(*p))
			p++;
		if (*p == '\0')
			break;
		if (split_word(&p, word) != 0) {
			err = EINVAL;
			goto fail;
		}
		argv[n] = strdup(word);
		if (argv[n] == NULL)
			goto fail;
		n++;
	}
	free(word);
	*argvp = argv;
	return n;
fail:
	free(word);
	heuristics_free_argv(argv);
	errno = err;
	return -1;
}

