/* kmod's binary index files (modules.dep.bin, modules.alias.bin): a radix
 * trie of 7-bit ASCII keys, laid out children first as depmod writes it. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "initrd/kmod.h"
#include "util/endian.h"
#include "util/err.h"

/* The header is magic, version (major in the high half; readers reject
 * another major) and the root node's offset, all big-endian. A node offset
 * carries in its high nibble which parts the node has: a NUL-terminated
 * prefix (the label characters after the one that led to it), a child
 * table (first char, last char, one offset per char in between, 0 for
 * none), values (count, then priority and NUL-terminated string each). */
#define INDEX_MAGIC 0xB007F457u
#define INDEX_VERSION 0x00020001u
#define NODE_PREFIX 0x80000000u
#define NODE_VALUES 0x40000000u
#define NODE_CHILDS 0x20000000u
#define NODE_MASK 0x0FFFFFFFu
#define INDEX_CHILDMAX 128

struct ent {
	const char *key, *value;
	uint32_t priority;
	size_t pos;
};

static int ent_cmp(const void *pa, const void *pb)
{
	const struct ent *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	/* depmod inserts a value before the ones of equal priority. */
	return a->pos < b->pos ? 1 : -1;
}

static int add_be32(struct strbuf *out, uint32_t v)
{
	char b[4];

	put_be32(b, v);
	return strbuf_add(out, b, sizeof(b));
}

/* Writes the node for entries [lo, hi), whose keys agree up to depth, after
 * its children; *where gets its offset and flags. */
static int write_node(struct strbuf *out, size_t base, const struct ent *e, size_t lo,
		      size_t hi, size_t depth, bool root, uint32_t *where)
{
	uint32_t child[INDEX_CHILDMAX] = { 0 }, flags = 0;
	size_t p = depth, v, off;
	int first = INDEX_CHILDMAX, last = -1, err = 0;

	/* The root keeps an empty prefix, as depmod's does; any other node
	 * takes the longest prefix its keys share (sorted: the first and the
	 * last key's). */
	if (!root && lo < hi)
		while (e[lo].key[p] && e[lo].key[p] == e[hi - 1].key[p])
			p++;
	for (v = lo; v < hi && e[v].key[p] == '\0'; v++)
		;
	for (size_t c = v; c < hi;) {
		unsigned char ch = (unsigned char)e[c].key[p];
		size_t d = c;

		while (d < hi && (unsigned char)e[d].key[p] == ch)
			d++;
		err = write_node(out, base, e, c, d, p + 1, false, &child[ch]);
		if (err)
			return err;
		if (first == INDEX_CHILDMAX)
			first = ch;
		last = ch;
		c = d;
	}

	off = out->len - base;
	if (off > NODE_MASK)
		return ferr(-EFBIG, "module index larger than 256 MiB");
	if (p > depth) {
		err = strbuf_add(out, e[lo].key + depth, p - depth);
		if (!err)
			err = strbuf_add(out, "", 1);
		flags |= NODE_PREFIX;
	}
	if (!err && last >= 0) {
		char range[2] = { (char)first, (char)last };

		err = strbuf_add(out, range, 2);
		for (int ch = first; !err && ch <= last; ch++)
			err = add_be32(out, child[ch]);
		flags |= NODE_CHILDS;
	}
	if (!err && v > lo) {
		err = add_be32(out, (uint32_t)(v - lo));
		for (size_t i = lo; !err && i < v; i++) {
			err = add_be32(out, e[i].priority);
			if (!err)
				err = strbuf_add(out, e[i].value, strlen(e[i].value) + 1);
		}
		flags |= NODE_VALUES;
	}
	*where = (uint32_t)off | flags;
	return err;
}

static int check_ascii(const char *what, const char *s)
{
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c >= INDEX_CHILDMAX)
			return ferr(-EINVAL, "module index %s '%s' is not 7-bit ASCII", what, s);
	return 0;
}

int kmod_index_write(const struct kmod_index_entry *entries, size_t n, struct strbuf *out)
{
	size_t base = out->len;
	struct ent *e;
	uint32_t root = 0;
	int err = 0;

	e = calloc(n ? n : 1, sizeof(*e));
	if (!e)
		return ferr(-ENOMEM, "out of memory");
	for (size_t i = 0; !err && i < n; i++) {
		e[i] = (struct ent){ entries[i].key, entries[i].value, entries[i].priority, i };
		err = check_ascii("key", e[i].key);
		if (!err)
			err = check_ascii("value", e[i].value);
	}
	if (err)
		goto out_free;
	qsort(e, n, sizeof(*e), ent_cmp);
	err = add_be32(out, INDEX_MAGIC);
	if (!err)
		err = add_be32(out, INDEX_VERSION);
	if (!err)
		err = add_be32(out, 0); /* the root's offset, known once it is written */
	if (!err)
		err = write_node(out, base, e, 0, n, 0, true, &root);
	if (!err)
		put_be32(out->s + base + 8, root);
	else
		out->len = base;
out_free:
	free(e);
	return err;
}

int kmod_write_dep_bin(const struct kmod_set *s, struct strbuf *out)
{
	struct kmod_strv lines = { 0 };
	struct kmod_index_entry *e;
	int err = kmod_dep_lines(s, &lines);

	if (err)
		return err;
	e = calloc(s->n ? s->n : 1, sizeof(*e));
	if (!e) {
		kmod_strv_release(&lines);
		return ferr(-ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < s->n; i++)
		e[i] = (struct kmod_index_entry){ s->mods[i]->name, lines.v[i], (uint32_t)i };
	err = kmod_index_write(e, s->n, out);
	free(e);
	kmod_strv_release(&lines);
	return err;
}

/* An alias as libkmod looks it up: '-' reads as '_' except inside a
 * bracket expression. Returns false for an unmatched bracket, which depmod
 * leaves out of the index. */
static bool alias_normalize(const char *alias, char *buf)
{
	size_t i = 0;

	while (alias[i]) {
		if (alias[i] == ']')
			return false;
		if (alias[i] == '[') {
			size_t n = strcspn(alias + i, "]");

			if (!alias[i + n])
				return false;
			memcpy(buf + i, alias + i, n + 1);
			i += n + 1;
			continue;
		}
		buf[i] = alias[i] == '-' ? '_' : alias[i];
		i++;
	}
	buf[i] = '\0';
	return true;
}

int kmod_write_alias_bin(const struct kmod_set *s, struct strbuf *out)
{
	struct kmod_index_entry *e = NULL;
	struct kmod_strv keys = { 0 };
	size_t n = 0, total = 0, k = 0;
	int err = 0;

	for (size_t i = 0; i < s->n; i++)
		total += s->mods[i]->aliases.n;
	e = calloc(total ? total : 1, sizeof(*e));
	if (!e)
		return ferr(-ENOMEM, "out of memory");
	for (size_t i = 0; !err && i < s->n; i++) {
		const struct kmod_mod *m = s->mods[i];

		for (size_t a = 0; !err && a < m->aliases.n; a++) {
			const char *alias = m->aliases.v[a];
			size_t len = strlen(alias);
			char *buf = malloc(len + 1);

			if (!buf) {
				err = ferr(-ENOMEM, "out of memory");
				break;
			}
			if (alias_normalize(alias, buf))
				err = kmod_strv_add(&keys, buf, len);
			else
				ferry_warn("module %s: alias '%s' has an unmatched bracket, left out",
					   m->name, alias);
			free(buf);
			if (!err && keys.n > k)
				e[n++] = (struct kmod_index_entry){ keys.v[k++], m->name, (uint32_t)i };
		}
	}
	if (!err)
		err = kmod_index_write(e, n, out);
	kmod_strv_release(&keys);
	free(e);
	return err;
}
