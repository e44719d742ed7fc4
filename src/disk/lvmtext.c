/* LVM2's text metadata (see lvm.h): a tree of sections, assignments of
 * numbers and strings, and arrays, parsed into one volume group. The text
 * comes from a disk: every length, depth and count is bounded by it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/lvm.h"
#include "util/err.h"

#define DEPTH_MAX 16

enum node_type { N_SECTION, N_NUM, N_STR, N_ARRAY };

struct node {
	enum node_type type;
	const char *key; /* NULL in an array */
	int64_t num;
	const char *str;
	int child, next; /* indices, -1: none */
};

struct tree {
	char *buf;   /* the text, strings cut and unescaped in place */
	size_t pos, len;
	unsigned line;
	struct node *n;
	size_t count, cap;
};

static int bad(const struct tree *t, const char *what)
{
	return ferr(-EINVAL, "LVM metadata, line %u: %s", t->line, what);
}

static void skip_space(struct tree *t)
{
	while (t->pos < t->len) {
		char c = t->buf[t->pos];
		if (c == '#') {
			while (t->pos < t->len && t->buf[t->pos] != '\n')
				t->pos++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (c == '\n')
				t->line++;
			t->pos++;
		} else {
			return;
		}
	}
}

static int new_node(struct tree *t, enum node_type type, const char *key)
{
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct node *n = realloc(t->n, cap * sizeof(*n));
		if (!n)
			return ferr(-ENOMEM, "out of memory");
		t->n = n;
		t->cap = cap;
	}
	t->n[t->count] = (struct node){.type = type, .key = key, .child = -1, .next = -1};
	return (int)t->count++;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '+' || c == '-';
}

/* A name, NUL-terminated in place once the character after it is read. */
static char *read_name(struct tree *t)
{
	size_t start = t->pos;

	while (t->pos < t->len && name_char(t->buf[t->pos]))
		t->pos++;
	return t->pos > start ? t->buf + start : NULL;
}

/* A string or a number at t->pos into node i. */
static int read_scalar(struct tree *t, int i)
{
	char *p = t->buf + t->pos;

	if (*p == '"') {
		char *out = p + 1, *s = out;
		t->pos++;
		while (t->pos < t->len && t->buf[t->pos] != '"') {
			if (t->buf[t->pos] == '\\' && t->pos + 1 < t->len)
				t->pos++;
			if (t->buf[t->pos] == '\n')
				t->line++;
			*out++ = t->buf[t->pos++];
		}
		if (t->pos >= t->len)
			return bad(t, "a string is not closed");
		t->pos++;
		*out = '\0';
		t->n[i].type = N_STR;
		t->n[i].str = s;
		return 0;
	}
	bool neg = *p == '-';
	size_t pos = t->pos + neg;
	uint64_t v = 0;
	if (pos >= t->len || t->buf[pos] < '0' || t->buf[pos] > '9')
		return bad(t, "a value is neither a number, a string, an array nor a section");
	while (pos < t->len && t->buf[pos] >= '0' && t->buf[pos] <= '9') {
		if (v > (uint64_t)INT64_MAX / 10)
			return bad(t, "a number is too large");
		v = v * 10 + (uint64_t)(t->buf[pos++] - '0');
	}
	/* LVM writes floats only outside volume group metadata: the fraction
	 * is not used. */
	if (pos < t->len && t->buf[pos] == '.')
		for (pos++; pos < t->len && t->buf[pos] >= '0' && t->buf[pos] <= '9'; pos++)
			;
	t->pos = pos;
	t->n[i].type = N_NUM;
	t->n[i].num = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int read_array(struct tree *t, int arr)
{
	int last = -1;

	t->pos++; /* '[' */
	for (;;) {
		skip_space(t);
		if (t->pos >= t->len)
			return bad(t, "an array is not closed");
		if (t->buf[t->pos] == ']') {
			t->pos++;
			return 0;
		}
		if (last >= 0) {
			if (t->buf[t->pos] != ',')
				return bad(t, "',' expected between array values");
			t->pos++;
			skip_space(t);
		}
		int i = new_node(t, N_NUM, NULL);
		if (i < 0)
			return i;
		int err = t->pos < t->len ? read_scalar(t, i) : bad(t, "an array is not closed");
		if (err)
			return err;
		if (last < 0)
			t->n[arr].child = i;
		else
			t->n[last].next = i;
		last = i;
	}
}

/* The members of section sec up to its '}' (or the end of the text at
 * depth 0). */
static int read_body(struct tree *t, int sec, int depth)
{
	int last = -1, err;

	if (depth > DEPTH_MAX)
		return bad(t, "sections nested too deep");
	for (;;) {
		skip_space(t);
		if (t->pos >= t->len)
			return depth == 0 ? 0 : bad(t, "a section is not closed");
		if (t->buf[t->pos] == '}') {
			if (depth == 0)
				return bad(t, "'}' without a section");
			t->pos++;
			return 0;
		}
		char *key = read_name(t);
		if (!key)
			return bad(t, "a name expected");
		size_t key_end = t->pos;
		skip_space(t);
		if (t->pos >= t->len)
			return bad(t, "'=' or '{' expected after a name");
		char c = t->buf[t->pos];
		t->buf[key_end] = '\0'; /* may overwrite c: it is kept */
		int i = new_node(t, N_SECTION, key);
		if (i < 0)
			return i;
		t->pos++;
		if (c == '{') {
			err = read_body(t, i, depth + 1);
		} else if (c == '=') {
			skip_space(t);
			if (t->pos >= t->len)
				err = bad(t, "a value expected after '='");
			else if (t->buf[t->pos] == '[')
				err = (t->n[i].type = N_ARRAY, read_array(t, i));
			else
				err = read_scalar(t, i);
		} else {
			err = bad(t, "'=' or '{' expected after a name");
		}
		if (err)
			return err;
		if (last < 0)
			t->n[sec].child = i;
		else
			t->n[last].next = i;
		last = i;
	}
}

static const struct node *get(const struct tree *t, int sec, const char *key)
{
	for (int i = t->n[sec].child; i >= 0; i = t->n[i].next)
		if (t->n[i].key && strcmp(t->n[i].key, key) == 0)
			return &t->n[i];
	return NULL;
}

static int get_num(const struct tree *t, int sec, const char *what, const char *key,
		   uint64_t max, uint64_t *v)
{
	const struct node *n = get(t, sec, key);

	if (!n || n->type != N_NUM || n->num < 0 || (uint64_t)n->num > max)
		return ferr(-EINVAL, "LVM metadata: %s has %s %s", what,
			    n ? "a wrong" : "no", key);
	*v = (uint64_t)n->num;
	return 0;
}

static int get_str(const struct tree *t, int sec, const char *what, const char *key,
		   char *out, size_t size, bool needed)
{
	const struct node *n = get(t, sec, key);

	if (!n && !needed) {
		out[0] = '\0';
		return 0;
	}
	if (!n || n->type != N_STR || strlen(n->str) >= size)
		return ferr(-EINVAL, "LVM metadata: %s has %s %s", what, n ? "a wrong" : "no", key);
	snprintf(out, size, "%s", n->str);
	return 0;
}

static bool array_has(const struct tree *t, int sec, const char *key, const char *word)
{
	const struct node *n = get(t, sec, key);

	if (!n || n->type != N_ARRAY)
		return false;
	for (int i = n->child; i >= 0; i = t->n[i].next)
		if (t->n[i].type == N_STR && strcmp(t->n[i].str, word) == 0)
			return true;
	return false;
}

static size_t count_sections(const struct tree *t, int sec)
{
	size_t n = 0;

	for (int i = sec >= 0 ? t->n[sec].child : -1; i >= 0; i = t->n[i].next)
		n += t->n[i].type == N_SECTION;
	return n;
}

static enum lvm_kind kind_of(const char *type, unsigned nareas)
{
	static const struct {
		const char *prefix;
		enum lvm_kind kind;
	} map[] = {
		{"thin", LVM_THIN}, {"raid", LVM_RAID}, {"mirror", LVM_RAID},
		{"cache", LVM_CACHE}, {"writecache", LVM_CACHE}, {"snapshot", LVM_SNAPSHOT},
	};

	if (strcmp(type, "striped") == 0)
		return nareas > 1 ? LVM_STRIPED : LVM_LINEAR;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(type, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].kind;
	return LVM_OTHER;
}

static int find_pv(const struct lvm_vg *vg, const char *name)
{
	for (size_t i = 0; i < vg->npvs; i++)
		if (strcmp(vg->pvs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A striped segment's areas: "pv0", 0, "pv1", 0 */
static int read_stripes(const struct tree *t, int sec, const struct lvm_vg *vg,
			const char *what, struct lvm_seg *s)
{
	const struct node *arr = get(t, sec, "stripes");
	uint64_t count;
	unsigned k = 0;

	if (get_num(t, sec, what, "stripe_count", 1u << 16, &count) || count == 0)
		return ferr(-EINVAL, "LVM metadata: %s has a wrong or no stripe_count", what);
	if (count > 1) {
		uint64_t size;
		if (get_num(t, sec, what, "stripe_size", 1u << 31, &size) || size == 0)
			return ferr(-EINVAL, "LVM metadata: %s has a wrong or no stripe_size", what);
		s->stripe_size = size * 512;
	}
	if (s->count % count)
		return ferr(-EINVAL, "LVM metadata: %s: %llu extents over %llu stripes", what,
			    (unsigned long long)s->count, (unsigned long long)count);
	s->areas = calloc(count, sizeof(*s->areas));
	if (!s->areas)
		return ferr(-ENOMEM, "out of memory");
	s->nareas = (unsigned)count;
	for (int i = arr && arr->type == N_ARRAY ? arr->child : -1; i >= 0; i = t->n[i].next) {
		int j = t->n[i].next;
		if (k == count || t->n[i].type != N_STR || j < 0 || t->n[j].type != N_NUM ||
		    t->n[j].num < 0)
			break;
		int pv = find_pv(vg, t->n[i].str);
		uint64_t pe = (uint64_t)t->n[j].num, per = s->count / count;
		if (pv < 0)
			return ferr(-EINVAL, "LVM metadata: %s names PV %s, which the volume "
				    "group does not have", what, t->n[i].str);
		if (pe > vg->pvs[pv].pe_count || per > vg->pvs[pv].pe_count - pe)
			return ferr(-EINVAL, "LVM metadata: %s: extents %llu+%llu past the end "
				    "of %s", what, (unsigned long long)pe, (unsigned long long)per,
				    t->n[i].str);
		s->areas[k].pv = pv;
		s->areas[k++].pe = pe;
		i = j;
	}
	if (k != count)
		return ferr(-EINVAL, "LVM metadata: %s: stripes do not list %llu areas", what,
			    (unsigned long long)count);
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct lvm_seg *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int read_lv(const struct tree *t, int sec, struct lvm_vg *vg, struct lvm_lv *lv)
{
	char what[LVM_NAME_MAX + 64];
	uint64_t end = 0;
	int err;

	if (strlen(t->n[sec].key) >= sizeof(lv->name))
		return ferr(-EINVAL, "LVM metadata: a logical volume's name is too long");
	snprintf(lv->name, sizeof(lv->name), "%s", t->n[sec].key);
	snprintf(what, sizeof(what), "logical volume %s", lv->name);
	err = get_str(t, sec, what, "id", lv->id, sizeof(lv->id), true);
	if (err)
		return err;
	lv->visible = array_has(t, sec, "status", "VISIBLE");
	lv->nsegs = count_sections(t, sec);
	if (lv->nsegs == 0)
		return ferr(-EINVAL, "LVM metadata: %s has no segments", what);
	lv->segs = calloc(lv->nsegs, sizeof(*lv->segs));
	if (!lv->segs)
		return ferr(-ENOMEM, "out of memory");
	lv->kind = LVM_LINEAR;
	size_t k = 0;
	for (int i = t->n[sec].child; i >= 0 && !err; i = t->n[i].next) {
		struct lvm_seg *s = &lv->segs[k];
		if (t->n[i].type != N_SECTION)
			continue;
		k++;
		snprintf(what, sizeof(what), "logical volume %s %s", lv->name, t->n[i].key);
		err = get_num(t, i, what, "start_extent", UINT32_MAX, &s->start);
		if (!err)
			err = get_num(t, i, what, "extent_count", UINT32_MAX, &s->count);
		if (!err)
			err = get_str(t, i, what, "type", s->type, sizeof(s->type), true);
		if (err)
			break;
		if (strcmp(s->type, "striped") == 0)
			err = read_stripes(t, i, vg, what, s);
		enum lvm_kind kind = kind_of(s->type, s->nareas);
		/* The first segment that is not plain decides what the volume is. */
		if (!err && (lv->kind == LVM_LINEAR || (lv->kind == LVM_STRIPED &&
							 kind != LVM_LINEAR))) {
			if (kind != LVM_LINEAR || lv->type[0] == '\0')
				snprintf(lv->type, sizeof(lv->type), "%s", s->type);
			lv->kind = kind;
		}
		if (!err && kind == LVM_SNAPSHOT) {
			/* An old-style snapshot: its origin and its copy-on-write
			 * store are snapshot volumes too. */
			const char *refs[] = {"origin", "cow_store"};
			for (size_t r = 0; r < 2; r++) {
				const struct node *n = get(t, i, refs[r]);
				for (size_t l = 0; n && n->type == N_STR && l < vg->nlvs; l++)
					if (strcmp(vg->lvs[l].name, n->str) == 0) {
						vg->lvs[l].kind = LVM_SNAPSHOT;
						snprintf(vg->lvs[l].type, sizeof(vg->lvs[l].type),
							 "%s", r ? "snapshot store" : "snapshot origin");
					}
			}
		}
	}
	if (err)
		return err;
	if (lv->nsegs > 1)
		qsort(lv->segs, lv->nsegs, sizeof(*lv->segs), cmp_seg);
	for (size_t i = 0; i < lv->nsegs; i++) {
		if (lv->segs[i].start != end || lv->segs[i].count == 0)
			return ferr(-EINVAL, "LVM metadata: logical volume %s: its segments do not "
				    "follow each other from extent 0", lv->name);
		end += lv->segs[i].count;
	}
	lv->size = end * vg->extent_size;
	return 0;
}

static int read_pv(const struct tree *t, int sec, struct lvm_pv *pv)
{
	char what[LVM_NAME_MAX + 32];
	uint64_t start = 0;
	int err;

	if (strlen(t->n[sec].key) >= sizeof(pv->name))
		return ferr(-EINVAL, "LVM metadata: a physical volume's name is too long");
	snprintf(pv->name, sizeof(pv->name), "%s", t->n[sec].key);
	snprintf(what, sizeof(what), "physical volume %s", pv->name);
	err = get_str(t, sec, what, "id", pv->id, sizeof(pv->id), true);
	if (!err)
		err = get_str(t, sec, what, "device", pv->device, sizeof(pv->device), false);
	if (!err)
		err = get_num(t, sec, what, "pe_start", UINT64_MAX / 1024, &start);
	if (!err)
		err = get_num(t, sec, what, "pe_count", UINT32_MAX, &pv->pe_count);
	pv->pe_start = start * 512;
	pv->flagged_missing = array_has(t, sec, "flags", "MISSING");
	pv->dev = -1;
	return err;
}

static int read_vg(const struct tree *t, int sec, struct lvm_vg *vg)
{
	const struct node *pvs = get(t, sec, "physical_volumes");
	const struct node *lvs = get(t, sec, "logical_volumes");
	int pvsec = pvs ? (int)(pvs - t->n) : -1, lvsec = lvs ? (int)(lvs - t->n) : -1;
	uint64_t size;
	int err;

	if (strlen(t->n[sec].key) >= sizeof(vg->name))
		return ferr(-EINVAL, "LVM metadata: the volume group's name is too long");
	snprintf(vg->name, sizeof(vg->name), "%s", t->n[sec].key);
	err = get_str(t, sec, "the volume group", "id", vg->id, sizeof(vg->id), true);
	if (!err)
		err = get_num(t, sec, "the volume group", "seqno", UINT32_MAX, &vg->seqno);
	if (!err)
		err = get_num(t, sec, "the volume group", "extent_size", UINT32_MAX, &size);
	if (err)
		return err;
	if (size == 0 || (pvs && pvs->type != N_SECTION) || (lvs && lvs->type != N_SECTION))
		return ferr(-EINVAL, "LVM metadata: volume group %s is malformed", vg->name);
	vg->extent_size = size * 512;
	vg->npvs = count_sections(t, pvsec);
	vg->nlvs = count_sections(t, lvsec);
	vg->pvs = calloc(vg->npvs + 1, sizeof(*vg->pvs));
	vg->lvs = calloc(vg->nlvs + 1, sizeof(*vg->lvs));
	if (!vg->pvs || !vg->lvs)
		return ferr(-ENOMEM, "out of memory");
	size_t k = 0;
	for (int i = pvsec >= 0 ? t->n[pvsec].child : -1; i >= 0 && !err; i = t->n[i].next)
		if (t->n[i].type == N_SECTION)
			err = read_pv(t, i, &vg->pvs[k++]);
	/* Names first: a snapshot segment marks volumes listed before or
	 * after it. */
	k = 0;
	for (int i = lvsec >= 0 ? t->n[lvsec].child : -1; i >= 0; i = t->n[i].next)
		if (t->n[i].type == N_SECTION)
			snprintf(vg->lvs[k++].name, sizeof(vg->lvs[0].name), "%s", t->n[i].key);
	k = 0;
	for (int i = lvsec >= 0 ? t->n[lvsec].child : -1; i >= 0 && !err; i = t->n[i].next) {
		if (t->n[i].type != N_SECTION)
			continue;
		/* A volume marked by a snapshot keeps the mark. */
		enum lvm_kind marked = vg->lvs[k].kind;
		char type[32];
		snprintf(type, sizeof(type), "%s", vg->lvs[k].type);
		err = read_lv(t, i, vg, &vg->lvs[k]);
		if (!err && marked == LVM_SNAPSHOT) {
			vg->lvs[k].kind = marked;
			snprintf(vg->lvs[k].type, sizeof(vg->lvs[k].type), "%s", type);
		}
		k++;
	}
	return err;
}

int lvm_vg_parse(const char *text, size_t len, struct lvm_vg *vg)
{
	struct tree t = {.len = len, .line = 1};
	int err, vgsec = -1;

	memset(vg, 0, sizeof(*vg));
	if (len > LVM_TEXT_MAX)
		return ferr(-EINVAL, "LVM metadata: %zu bytes, more than Ferry reads", len);
	t.buf = malloc(len + 1);
	if (!t.buf)
		return ferr(-ENOMEM, "out of memory");
	memcpy(t.buf, text, len);
	t.buf[len] = '\0';
	err = new_node(&t, N_SECTION, "");
	if (err >= 0)
		err = read_body(&t, 0, 0);
	/* The one section at the top is the volume group. */
	for (int i = err ? -1 : t.n[0].child; i >= 0; i = t.n[i].next) {
		if (t.n[i].type != N_SECTION)
			continue;
		if (vgsec >= 0) {
			err = ferr(-EINVAL, "LVM metadata: more than one volume group in one text");
			break;
		}
		vgsec = i;
	}
	if (!err && vgsec < 0)
		err = ferr(-EINVAL, "LVM metadata: no volume group in the text");
	if (!err)
		err = read_vg(&t, vgsec, vg);
	free(t.n);
	free(t.buf);
	if (err)
		lvm_vg_release(vg);
	return err;
}

void lvm_vg_release(struct lvm_vg *vg)
{
	for (size_t i = 0; vg->lvs && i < vg->nlvs; i++) {
		for (size_t s = 0; vg->lvs[i].segs && s < vg->lvs[i].nsegs; s++)
			free(vg->lvs[i].segs[s].areas);
		free(vg->lvs[i].segs);
		free(vg->lvs[i].ext);
	}
	free(vg->lvs);
	free(vg->pvs);
	memset(vg, 0, sizeof(*vg));
}

const char *lvm_kind_name(enum lvm_kind k)
{
	switch (k) {
	case LVM_LINEAR: return "linear";
	case LVM_STRIPED: return "striped";
	case LVM_THIN: return "thin";
	case LVM_RAID: return "raid";
	case LVM_CACHE: return "cache";
	case LVM_SNAPSHOT: return "snapshot";
	case LVM_OTHER: return "other";
	}
	return "?";
}
