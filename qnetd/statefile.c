#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "statefile.h"

/* A cluster name is a wire string (u16 length). */
#define STATEFILE_NAME_MAX	65535

#define ERR(...)	snprintf(err, errlen, __VA_ARGS__)

static void
host_name(char *buf, size_t len)
{
	if (gethostname(buf, len) != 0)
		snprintf(buf, len, "?");
	buf[len - 1] = '\0';
}

/* ------------------------------------------------------------------ */
/* Saving */

static void
hex(char *out, const char *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[(unsigned char)in[i] >> 4];
		out[2 * i + 1] = digits[(unsigned char)in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
add(json_object *o, const char *key, json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* One record as it was when the snapshot was taken. */
struct snap_rec {
	const char *name;		/* into the snapshot's arena */
	size_t len;
	const uint32_t *quorate;
	size_t nquorate;
	uint8_t algorithm;
	uint64_t generation;
	struct qn_ring_id ring;
	uint64_t idle_ms;
};

struct statefile_snapshot {
	size_t n;
	struct snap_rec *recs;
	char *arena;			/* names and node ids */
};

struct statefile_snapshot *
statefile_snapshot(const struct memory *mem, uint64_t now)
{
	struct statefile_snapshot *snap;
	const struct memory_rec *r;
	size_t bytes = 0, i = 0, off = 0;

	memory_for_each(mem, r)
		bytes += r->nquorate * sizeof(uint32_t) + r->len;
	if ((snap = calloc(1, sizeof(*snap))) == NULL ||
	    (snap->recs = calloc(mem->count + 1, sizeof(*snap->recs))) ==
	    NULL || (snap->arena = malloc(bytes + 1)) == NULL) {
		statefile_snapshot_free(snap);
		return NULL;
	}
	memory_for_each(mem, r) {
		struct snap_rec *x = &snap->recs[i++];

		/* Node ids first: aligned as the arena is. */
		if (r->nquorate > 0)
			memcpy(snap->arena + off, r->quorate,
			    r->nquorate * sizeof(uint32_t));
		x->quorate = (const uint32_t *)(void *)(snap->arena + off);
		off += r->nquorate * sizeof(uint32_t);
		x->nquorate = r->nquorate;
		x->algorithm = r->algorithm;
		x->generation = r->generation;
		x->ring = r->ring;
		x->idle_ms = r->in_use || now < r->idle_since ? 0 :
		    now - r->idle_since;
	}
	i = 0;
	memory_for_each(mem, r) {
		struct snap_rec *x = &snap->recs[i++];

		memcpy(snap->arena + off, r->name, r->len);
		x->name = snap->arena + off;
		x->len = r->len;
		off += r->len;
	}
	snap->n = i;
	return snap;
}

void
statefile_snapshot_free(struct statefile_snapshot *snap)
{
	if (snap == NULL)
		return;
	free(snap->recs);
	free(snap->arena);
	free(snap);
}

size_t
statefile_snapshot_count(const struct statefile_snapshot *snap)
{
	return snap->n;
}

static json_object *
record_json(const struct snap_rec *r)
{
	json_object *o = json_object_new_object(), *q;
	char *name;
	int bad = 0;

	if (o == NULL || (name = malloc(2 * r->len + 1)) == NULL) {
		json_object_put(o);
		return NULL;
	}
	hex(name, r->name, r->len);
	bad |= add(o, "name", json_object_new_string(name));
	free(name);
	bad |= add(o, "algorithm", json_object_new_int(r->algorithm));
	bad |= add(o, "generation", json_object_new_uint64(r->generation));
	bad |= add(o, "ring_node_id", json_object_new_uint64(r->ring.node_id));
	bad |= add(o, "ring_seq", json_object_new_uint64(r->ring.seq));
	bad |= add(o, "idle_ms", json_object_new_uint64(r->idle_ms));
	if ((q = json_object_new_array_ext((int)r->nquorate)) == NULL)
		bad = 1;
	for (size_t i = 0; q != NULL && i < r->nquorate; i++)
		bad |= json_object_array_add(q,
		    json_object_new_uint64(r->quorate[i]));
	bad |= add(o, "quorate", q);
	if (bad) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *
state_json(const struct statefile_snapshot *snap)
{
	json_object *o = json_object_new_object(), *a;
	char host[HOST_NAME_MAX + 1];
	int bad = 0;

	if (o == NULL)
		return NULL;
	host_name(host, sizeof(host));
	bad |= add(o, "format", json_object_new_string(STATEFILE_FORMAT));
	bad |= add(o, "version", json_object_new_int(STATEFILE_VERSION));
	bad |= add(o, "host", json_object_new_string(host));
	bad |= add(o, "saved_at", json_object_new_int64((int64_t)time(NULL)));
	if ((a = json_object_new_array_ext((int)snap->n)) == NULL)
		bad = 1;
	for (size_t i = 0; a != NULL && i < snap->n; i++) {
		json_object *r = record_json(&snap->recs[i]);

		if (r == NULL || json_object_array_add(a, r) != 0) {
			json_object_put(r);
			bad = 1;
			break;
		}
	}
	bad |= add(o, "clusters", a);
	if (bad) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
statefile_write(const char *dir, const struct statefile_snapshot *snap,
    char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	json_object *o;
	const char *text;
	int fd, dfd, rc = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    STATEFILE_NAME) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir,
	    STATEFILE_NAME) >= sizeof(tmp)) {
		ERR("%s: path too long", dir);
		return -1;
	}
	if ((o = state_json(snap)) == NULL) {
		ERR("out of memory");
		return -1;
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0) {
		ERR("can't create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, text, strlen(text)) != 0 ||
	    write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
		ERR("can't write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		ERR("can't replace %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* The rename itself must survive a crash. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0) {
		ERR("can't sync directory %s: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	close(dfd);
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

int
statefile_save(const char *dir, const struct memory *mem, uint64_t now,
    char *err, size_t errlen)
{
	struct statefile_snapshot *snap = statefile_snapshot(mem, now);
	int rc;

	if (snap == NULL) {
		ERR("out of memory");
		return -1;
	}
	rc = statefile_write(dir, snap, err, errlen);
	statefile_snapshot_free(snap);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Loading */

static char *
read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			ERR("can't open: %s", strerror(errno));
		else
			err[0] = '\0';
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > STATEFILE_MAX_SIZE) {
		ERR("not a regular file of at most %ld bytes",
		    STATEFILE_MAX_SIZE);
		close(fd);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		ERR("out of memory");
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size &&
	    ((n = read(fd, buf + got, (size_t)st.st_size - got)) > 0 ||
	    (n < 0 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

static json_object *
field(json_object *o, const char *key, json_type type)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* An unsigned integer field no larger than max; -1 if not so. */
static int
get_uint(json_object *o, const char *key, uint64_t max, uint64_t *out)
{
	json_object *v = field(o, key, json_type_int);

	if (v == NULL)
		return -1;
	errno = 0;
	if (json_object_get_int64(v) < 0 && errno == 0)
		return -1;
	*out = json_object_get_uint64(v);
	return *out <= max ? 0 : -1;
}

static int
unhex(const char *s, size_t slen, char *out)
{
	for (size_t i = 0; i < slen; i += 2) {
		int v = 0;

		for (size_t j = i; j < i + 2; j++) {
			char c = s[j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i / 2] = (char)v;
	}
	return 0;
}

/* Node ids: ascending, distinct, non-zero (memory.h). */
static int
get_nodes(json_object *o, uint32_t **nodes, size_t *n)
{
	json_object *a = field(o, "quorate", json_type_array);
	size_t len;

	*nodes = NULL;
	*n = 0;
	if (a == NULL)
		return -1;
	if ((len = json_object_array_length(a)) == 0)
		return 0;
	if ((*nodes = calloc(len, sizeof(**nodes))) == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		int64_t id;

		if (!json_object_is_type(v, json_type_int) ||
		    (id = json_object_get_int64(v)) <= 0 || id > UINT32_MAX ||
		    (i > 0 && (uint32_t)id <= (*nodes)[i - 1])) {
			free(*nodes);
			*nodes = NULL;
			return -1;
		}
		(*nodes)[i] = (uint32_t)id;
	}
	*n = len;
	return 0;
}

static int
load_record(json_object *o, struct memory *mem, uint64_t now,
    uint64_t downtime_ms, size_t idx, char *err, size_t errlen)
{
	json_object *jname = field(o, "name", json_type_string);
	uint64_t algorithm, generation, ring_node, ring_seq, idle;
	struct qn_ring_id ring;
	const char *hexname;
	size_t hlen, n;
	uint32_t *nodes;
	char *name;
	int rc;

	if (jname == NULL || get_uint(o, "algorithm", UINT8_MAX,
	    &algorithm) != 0 || get_uint(o, "generation", UINT64_MAX,
	    &generation) != 0 || get_uint(o, "ring_node_id", UINT32_MAX,
	    &ring_node) != 0 || get_uint(o, "ring_seq", UINT64_MAX,
	    &ring_seq) != 0 || get_uint(o, "idle_ms", UINT64_MAX,
	    &idle) != 0) {
		ERR("cluster %zu: a field is missing or out of range", idx);
		return -1;
	}
	hexname = json_object_get_string(jname);
	hlen = (size_t)json_object_get_string_len(jname);
	if (hlen == 0 || hlen % 2 != 0 || hlen / 2 > STATEFILE_NAME_MAX) {
		ERR("cluster %zu: bad name", idx);
		return -1;
	}
	if ((name = malloc(hlen / 2 + 1)) == NULL ||
	    unhex(hexname, hlen, name) != 0) {
		free(name);
		ERR("cluster %zu: bad name", idx);
		return -1;
	}
	if (get_nodes(o, &nodes, &n) != 0) {
		free(name);
		ERR("cluster %zu: bad quorate node list", idx);
		return -1;
	}
	ring = (struct qn_ring_id){ (uint32_t)ring_node, ring_seq };
	idle = idle > UINT64_MAX - downtime_ms ? UINT64_MAX :
	    idle + downtime_ms;
	rc = memory_load(mem, name, hlen / 2, (uint8_t)algorithm, nodes, n,
	    &ring, generation, idle, now);
	free(name);
	free(nodes);
	if (rc != 0)
		ERR("cluster %zu: repeated name, or out of memory", idx);
	return rc;
}

static long
load_json(json_object *root, struct memory *mem, uint64_t now, int any_host,
    char *err, size_t errlen)
{
	json_object *v, *clusters;
	char host[HOST_NAME_MAX + 1];
	int64_t version, saved_at, wall = (int64_t)time(NULL);
	uint64_t downtime_ms;
	size_t n;

	if (!json_object_is_type(root, json_type_object) ||
	    (v = field(root, "format", json_type_string)) == NULL ||
	    strcmp(json_object_get_string(v), STATEFILE_FORMAT) != 0) {
		ERR("not a corosync-qnetd state file");
		return -1;
	}
	if ((v = field(root, "version", json_type_int)) == NULL) {
		ERR("no format version");
		return -1;
	}
	if ((version = json_object_get_int64(v)) != STATEFILE_VERSION) {
		ERR("format version %lld, this corosync-qnetd reads %d",
		    (long long)version, STATEFILE_VERSION);
		return -1;
	}
	host_name(host, sizeof(host));
	if ((v = field(root, "host", json_type_string)) == NULL ||
	    (!any_host && strcmp(json_object_get_string(v), host) != 0)) {
		ERR("saved on host \"%s\", this is \"%s\"",
		    v ? json_object_get_string(v) : "?", host);
		return -1;
	}
	if ((v = field(root, "saved_at", json_type_int)) == NULL ||
	    (clusters = field(root, "clusters", json_type_array)) == NULL) {
		ERR("saved_at or clusters missing");
		return -1;
	}
	saved_at = json_object_get_int64(v);
	downtime_ms = wall > saved_at ? (uint64_t)(wall - saved_at) * 1000 : 0;
	n = json_object_array_length(clusters);
	for (size_t i = 0; i < n; i++) {
		v = json_object_array_get_idx(clusters, i);
		if (!json_object_is_type(v, json_type_object)) {
			ERR("cluster %zu: not an object", i);
			return -1;
		}
		if (load_record(v, mem, now, downtime_ms, i, err, errlen) != 0)
			return -1;
	}
	memory_sweep(mem, now);
	return (long)mem->count;
}

long
statefile_load(const char *dir, struct memory *mem, uint64_t now, int any_host,
    char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct json_tokener *tok;
	json_object *root;
	size_t len;
	char *text;
	long rc;

	err[0] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    STATEFILE_NAME) >= sizeof(path)) {
		ERR("%s: path too long", dir);
		return -1;
	}
	if ((text = read_file(path, &len, err, errlen)) == NULL)
		return err[0] != '\0' ? -1 : 0;
	if ((tok = json_tokener_new()) == NULL) {
		free(text);
		ERR("out of memory");
		return -1;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (root == NULL) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		ERR("not valid JSON (%s)", e == json_tokener_continue ?
		    "truncated" : json_tokener_error_desc(e));
		rc = -1;
	} else if (json_tokener_get_parse_end(tok) < len &&
	    strspn(text + json_tokener_get_parse_end(tok), " \t\r\n") !=
	    len - json_tokener_get_parse_end(tok)) {
		ERR("not valid JSON (data after the end)");
		rc = -1;
	} else {
		rc = load_json(root, mem, now, any_host, err, errlen);
	}
	json_object_put(root);
	json_tokener_free(tok);
	free(text);
	if (rc < 0) {
		uint64_t keep = mem->keep_ms;
		size_t max = mem->max_idle;

		memory_free(mem);
		memory_init(mem, keep, max);
	}
	return rc;
}
