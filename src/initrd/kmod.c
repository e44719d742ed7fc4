/* Kernel module metadata: .modinfo from ELF bytes, the module set of a
 * /lib/modules/<kver> tree, dependency order and the text index files. */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "initrd/kmod.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/text.h"

int kmod_strv_add(struct kmod_strv *sv, const char *s, size_t len)
{
	char *copy;

	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 8;
		char **v = realloc(sv->v, cap * sizeof(*v));

		if (!v)
			return ferr(-ENOMEM, "out of memory");
		sv->v = v;
		sv->cap = cap;
	}
	copy = strndup(s, len);
	if (!copy)
		return ferr(-ENOMEM, "out of memory");
	sv->v[sv->n++] = copy;
	return 0;
}

void kmod_strv_release(struct kmod_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

void kmod_info_release(struct kmod_info *mi)
{
	free(mi->name);
	free(mi->vermagic);
	kmod_strv_release(&mi->depends);
	kmod_strv_release(&mi->aliases);
	kmod_strv_release(&mi->softdeps);
	memset(mi, 0, sizeof(*mi));
}

/* ELF */

struct elf_view {
	const uint8_t *b;
	size_t len;
	bool is64;
	uint64_t shoff, shnum;
};

struct elf_sec {
	uint32_t name, type, link;
	uint64_t off, size;
};

/* Reads section header i; the caller has checked that it is in the file. */
static void elf_sec(const struct elf_view *e, uint64_t i, struct elf_sec *s)
{
	const uint8_t *h = e->b + e->shoff + i * (e->is64 ? 64 : 40);

	s->name = get_le32(h);
	s->type = get_le32(h + 4);
	if (e->is64) {
		s->off = get_le64(h + 24);
		s->size = get_le64(h + 32);
		s->link = get_le32(h + 40);
	} else {
		s->off = get_le32(h + 16);
		s->size = get_le32(h + 20);
		s->link = get_le32(h + 24);
	}
}

static bool sec_in_file(const struct elf_view *e, const struct elf_sec *s)
{
	return s->type != SHT_NOBITS && s->off <= e->len && s->size <= e->len - s->off;
}

/* Finds the .modinfo section's bytes. */
static int elf_find_modinfo(const void *elf, size_t len, const uint8_t **data, size_t *size)
{
	struct elf_view e = { .b = elf, .len = len };
	struct elf_sec s, strtab;
	uint64_t shentsize, shstrndx;

	if (len < 52 || memcmp(e.b, "\177ELF", 4) != 0)
		return ferr(-ENOEXEC, "not an ELF file");
	if (e.b[4] != 1 && e.b[4] != 2)
		return ferr(-ENOEXEC, "unknown ELF class %u", e.b[4]);
	if (e.b[5] != 1)
		return ferr(-ENOEXEC, "not a little-endian ELF file");
	e.is64 = e.b[4] == 2;
	if (e.is64 && len < 64)
		return ferr(-ENOEXEC, "truncated ELF header");
	e.shoff = e.is64 ? get_le64(e.b + 0x28) : get_le32(e.b + 0x20);
	shentsize = get_le16(e.b + (e.is64 ? 0x3a : 0x2e));
	e.shnum = get_le16(e.b + (e.is64 ? 0x3c : 0x30));
	shstrndx = get_le16(e.b + (e.is64 ? 0x3e : 0x32));
	if (shentsize != (e.is64 ? 64u : 40u))
		return ferr(-ENOEXEC, "ELF section header size %u", (unsigned)shentsize);
	if (e.shoff == 0 || e.shoff > len || len - e.shoff < shentsize)
		return ferr(-ENOEXEC, "ELF section headers are missing or past the end of the file");
	/* More than 0xff00 sections: the real count and the index of the
	 * names section live in section header 0. */
	elf_sec(&e, 0, &s);
	if (e.shnum == 0)
		e.shnum = s.size;
	if (shstrndx == SHN_XINDEX)
		shstrndx = s.link;
	if (e.shnum > (len - e.shoff) / shentsize)
		return ferr(-ENOEXEC, "ELF section headers past the end of the file");
	if (shstrndx == 0 || shstrndx >= e.shnum)
		return ferr(-ENOEXEC, "ELF section names index %llu out of range",
			    (unsigned long long)shstrndx);
	elf_sec(&e, shstrndx, &strtab);
	if (!sec_in_file(&e, &strtab))
		return ferr(-ENOEXEC, "ELF section names past the end of the file");

	for (uint64_t i = 1; i < e.shnum; i++) {
		const char *names = (const char *)e.b + strtab.off;

		elf_sec(&e, i, &s);
		if (s.name >= strtab.size ||
		    strnlen(names + s.name, strtab.size - s.name) != sizeof(".modinfo") - 1 ||
		    memcmp(names + s.name, ".modinfo", sizeof(".modinfo") - 1) != 0)
			continue;
		if (!sec_in_file(&e, &s))
			return ferr(-ENOEXEC, ".modinfo past the end of the file");
		*data = e.b + s.off;
		*size = s.size;
		return 0;
	}
	return ferr(-ENODATA, "no .modinfo section");
}

static int set_str(char **field, const char *v, size_t len)
{
	char *copy = strndup(v, len);

	if (!copy)
		return ferr(-ENOMEM, "out of memory");
	free(*field);
	*field = copy;
	return 0;
}

static int add_depends(struct kmod_strv *sv, const char *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *c = memchr(v + i, ',', len - i);
		size_t end = c ? (size_t)(c - v) : len;
		int err = end > i ? kmod_strv_add(sv, v + i, end - i) : 0;

		if (err)
			return err;
		i = end + 1;
	}
	return 0;
}

static int modinfo_entry(struct kmod_info *mi, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	size_t klen, vlen;
	const char *v;

	if (!eq)
		return 0;
	klen = (size_t)(eq - s);
	v = eq + 1;
	vlen = len - klen - 1;
#define KEY_IS(k) (klen == sizeof(k) - 1 && memcmp(s, k, klen) == 0)
	if (KEY_IS("name"))
		return set_str(&mi->name, v, vlen);
	if (KEY_IS("vermagic"))
		return set_str(&mi->vermagic, v, vlen);
	if (KEY_IS("depends"))
		return add_depends(&mi->depends, v, vlen);
	if (KEY_IS("alias"))
		return kmod_strv_add(&mi->aliases, v, vlen);
	if (KEY_IS("softdep"))
		return kmod_strv_add(&mi->softdeps, v, vlen);
#undef KEY_IS
	return 0;
}

int kmod_modinfo(const void *elf, size_t len, struct kmod_info *mi)
{
	const uint8_t *data = NULL;
	size_t size = 0, i = 0;
	int err;

	memset(mi, 0, sizeof(*mi));
	err = elf_find_modinfo(elf, len, &data, &size);
	if (err)
		return err;
	/* "key=value" strings, each NUL-terminated, with NUL padding between
	 * the ones that came from different object files. */
	while (i < size) {
		const char *s = (const char *)data + i;
		size_t n = strnlen(s, size - i);

		if (n) {
			err = modinfo_entry(mi, s, n);
			if (err) {
				kmod_info_release(mi);
				return err;
			}
		}
		i += n + 1;
	}
	return 0;
}

/* Names */

int kmod_path_name(const char *path, char *name, size_t size)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strcspn(base, ".");
	if (n == 0 || n >= size)
		return ferr(n ? -ENAMETOOLONG : -EINVAL, "no module name in %s", path);
	for (size_t i = 0; i < n; i++)
		name[i] = base[i] == '-' ? '_' : base[i];
	name[n] = '\0';
	return 0;
}

/* FNV-1a over the name with '-' read as '_'. */
static size_t name_hash(const char *name, size_t len)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)(name[i] == '-' ? '_' : name[i]);
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

static bool name_eq(const char *a, const char *b, size_t blen)
{
	size_t i;

	for (i = 0; i < blen; i++) {
		char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];

		if (x != y || !x)
			return false;
	}
	return a[i] == '\0';
}

static struct kmod_mod *find_len(const struct kmod_set *s, const char *name, size_t len)
{
	size_t mask = s->hcap - 1;

	if (!s->hcap)
		return NULL;
	for (size_t h = name_hash(name, len) & mask; s->hash[h]; h = (h + 1) & mask) {
		struct kmod_mod *m = s->mods[s->hash[h] - 1];

		if (name_eq(m->name, name, len))
			return m;
	}
	return NULL;
}

struct kmod_mod *kmod_set_find(const struct kmod_set *s, const char *name)
{
	return find_len(s, name, strlen(name));
}

static size_t mod_index(const struct kmod_set *s, const char *name, size_t len)
{
	size_t mask = s->hcap - 1;

	for (size_t h = name_hash(name, len) & mask; s->hash[h]; h = (h + 1) & mask)
		if (name_eq(s->mods[s->hash[h] - 1]->name, name, len))
			return s->hash[h] - 1;
	return SIZE_MAX;
}

static int hash_grow(struct kmod_set *s)
{
	size_t cap = s->hcap ? s->hcap * 2 : 64;
	size_t *h = calloc(cap, sizeof(*h));

	if (!h)
		return ferr(-ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n; i++) {
		size_t j = name_hash(s->mods[i]->name, strlen(s->mods[i]->name)) & (cap - 1);

		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = i + 1;
	}
	free(s->hash);
	s->hash = h;
	s->hcap = cap;
	return 0;
}

void kmod_set_init(struct kmod_set *s)
{
	memset(s, 0, sizeof(*s));
}

static void mod_free(struct kmod_mod *m)
{
	free(m->path);
	free(m->name);
	kmod_strv_release(&m->deps);
	kmod_strv_release(&m->aliases);
	kmod_strv_release(&m->softdeps);
	free(m);
}

void kmod_set_release(struct kmod_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		mod_free(s->mods[i]);
	free(s->mods);
	free(s->hash);
	memset(s, 0, sizeof(*s));
}

int kmod_set_add(struct kmod_set *s, const char *path, struct kmod_mod **out)
{
	char name[NAME_MAX + 1];
	struct kmod_mod *m;
	size_t j;
	int err;

	err = kmod_path_name(path, name, sizeof(name));
	if (err)
		return err;
	m = kmod_set_find(s, name);
	if (m) {
		if (out)
			*out = m;
		return 1;
	}
	if (s->n == KMOD_SET_MAX)
		return ferr(-E2BIG, "more than %u kernel modules: not a kernel's module tree",
			    KMOD_SET_MAX);
	if ((s->n + 1) * 2 > s->hcap && (err = hash_grow(s)))
		return err;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct kmod_mod **v = realloc(s->mods, cap * sizeof(*v));

		if (!v)
			return ferr(-ENOMEM, "out of memory");
		s->mods = v;
		s->cap = cap;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path)) || !(m->name = strdup(name))) {
		if (m)
			mod_free(m);
		return ferr(-ENOMEM, "out of memory");
	}
	s->mods[s->n] = m;
	for (j = name_hash(name, strlen(name)) & (s->hcap - 1); s->hash[j];
	     j = (j + 1) & (s->hcap - 1))
		;
	s->hash[j] = ++s->n;
	if (out)
		*out = m;
	return 0;
}

static int strv_copy(struct kmod_strv *dst, const struct kmod_strv *src)
{
	struct kmod_strv n = { 0 };
	int err;

	for (size_t i = 0; i < src->n; i++) {
		err = kmod_strv_add(&n, src->v[i], strlen(src->v[i]));
		if (err) {
			kmod_strv_release(&n);
			return err;
		}
	}
	kmod_strv_release(dst);
	*dst = n;
	return 0;
}

int kmod_mod_set_info(struct kmod_mod *m, const struct kmod_info *mi)
{
	int err = strv_copy(&m->deps, &mi->depends);

	if (!err)
		err = strv_copy(&m->aliases, &mi->aliases);
	if (!err)
		err = strv_copy(&m->softdeps, &mi->softdeps);
	return err;
}

/* Text readers */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next whitespace-separated word of [*p, end). */
static bool next_word(const char **p, const char *end, const char **w, size_t *wlen)
{
	const char *s = *p;

	while (s < end && is_space(*s))
		s++;
	if (s == end)
		return false;
	*w = s;
	while (s < end && !is_space(*s))
		s++;
	*wlen = (size_t)(s - *w);
	*p = s;
	return true;
}

int kmod_set_parse_dep(struct kmod_set *s, const char *text, size_t len)
{
	const char *line;
	size_t pos = 0, llen, lineno = 0;

	while (text_next_line(text, len, &pos, &line, &llen)) {
		const char *colon, *p, *end = line + llen, *w;
		char path[PATH_MAX], dname[NAME_MAX + 1];
		struct kmod_mod *m;
		size_t wlen;
		int err;

		lineno++;
		p = line;
		if (!next_word(&p, end, &w, &wlen) || *w == '#')
			continue;
		colon = memchr(line, ':', llen);
		if (!colon)
			return ferr(-EINVAL, "line %zu: no ':'", lineno);
		p = line;
		if (!next_word(&p, colon, &w, &wlen) || wlen >= sizeof(path))
			return ferr(-EINVAL, "line %zu: no module path", lineno);
		memcpy(path, w, wlen);
		path[wlen] = '\0';
		err = kmod_set_add(s, path, &m);
		if (err < 0)
			return ferr_ctx(err, "line %zu", lineno);
		if (err == 1)
			continue; /* depmod lists a name once; keep the first */
		p = colon + 1;
		while (next_word(&p, end, &w, &wlen)) {
			if (wlen >= sizeof(path))
				return ferr(-ENAMETOOLONG, "line %zu: path too long", lineno);
			memcpy(path, w, wlen);
			path[wlen] = '\0';
			err = kmod_path_name(path, dname, sizeof(dname));
			if (!err)
				err = kmod_strv_add(&m->deps, dname, strlen(dname));
			if (err)
				return ferr_ctx(err, "line %zu", lineno);
		}
	}
	return 0;
}

/* Reads "alias PATTERN NAME" or "softdep NAME VALUE..." lines into the
 * modules of the set they name. */
static int parse_lines(struct kmod_set *s, const char *text, size_t len, bool alias)
{
	const char *keyword = alias ? "alias" : "softdep", *line;
	size_t pos = 0, llen, lineno = 0, klen = strlen(keyword);

	while (text_next_line(text, len, &pos, &line, &llen)) {
		const char *p = line, *end = line + llen, *w, *a, *b;
		size_t wlen, alen, blen;
		struct kmod_mod *m;
		int err;

		lineno++;
		if (!next_word(&p, end, &w, &wlen) || wlen != klen || memcmp(w, keyword, klen))
			continue;
		if (!next_word(&p, end, &a, &alen) || !next_word(&p, end, &b, &blen))
			return ferr(-EINVAL, "line %zu: %s needs two words", lineno, keyword);
		if (alias) {
			m = find_len(s, b, blen);
			err = m ? kmod_strv_add(&m->aliases, a, alen) : 0;
		} else {
			while (end > b && is_space(end[-1]))
				end--;
			m = find_len(s, a, alen);
			err = m ? kmod_strv_add(&m->softdeps, b, (size_t)(end - b)) : 0;
		}
		if (err)
			return ferr_ctx(err, "line %zu", lineno);
	}
	return 0;
}

int kmod_set_parse_alias(struct kmod_set *s, const char *text, size_t len)
{
	return parse_lines(s, text, len, true);
}

int kmod_set_parse_softdep(struct kmod_set *s, const char *text, size_t len)
{
	return parse_lines(s, text, len, false);
}

/* Dependency order */

static int visit(const struct kmod_set *s, size_t i, uint8_t *state, struct kmod_mod **order,
		 size_t *n, unsigned depth)
{
	struct kmod_mod *m = s->mods[i];
	int err;

	if (state[i] == 2)
		return 0;
	if (state[i] == 1)
		return ferr(-ELOOP, "dependency cycle through %s", m->name);
	if (depth > KMOD_CLOSURE_MAX || *n == KMOD_CLOSURE_MAX)
		return ferr(-E2BIG, "%s: a chain of more than %u dependencies: not a kernel's "
			    "module tree", m->name, KMOD_CLOSURE_MAX);
	state[i] = 1;
	/* From the end, as modprobe loads a modules.dep line. */
	for (size_t d = m->deps.n; d-- > 0;) {
		const char *dn = m->deps.v[d];
		size_t j = mod_index(s, dn, strlen(dn));

		if (j == SIZE_MAX)
			return ferr(-ENOENT, "%s needs %s, which is not in the module set", m->name,
				    dn);
		err = visit(s, j, state, order, n, depth + 1);
		if (err)
			return err;
	}
	state[i] = 2;
	order[(*n)++] = m;
	return 0;
}

int kmod_resolve(const struct kmod_set *s, const char *name, struct kmod_mod ***order,
		 size_t *n)
{
	size_t i = s->hcap ? mod_index(s, name, strlen(name)) : SIZE_MAX;
	uint8_t *state;
	int err;

	*order = NULL;
	*n = 0;
	if (i == SIZE_MAX)
		return ferr(-ENOENT, "module %s is not in the module set", name);
	state = calloc(s->n, 1);
	*order = calloc(s->n, sizeof(**order));
	if (!state || !*order) {
		free(state);
		free(*order);
		*order = NULL;
		return ferr(-ENOMEM, "out of memory");
	}
	err = visit(s, i, state, *order, n, 0);
	free(state);
	if (err) {
		free(*order);
		*order = NULL;
		*n = 0;
	}
	return err;
}

int kmod_set_copy(struct kmod_set *dst, const struct kmod_set *src, const char *name)
{
	struct kmod_mod **order, *m;
	size_t n;
	int err = kmod_resolve(src, name, &order, &n);

	for (size_t i = 0; !err && i < n; i++) {
		err = kmod_set_add(dst, order[i]->path, &m);
		if (err == 1) {
			err = 0;
			continue;
		}
		if (!err)
			err = strv_copy(&m->deps, &order[i]->deps);
		if (!err)
			err = strv_copy(&m->aliases, &order[i]->aliases);
		if (!err)
			err = strv_copy(&m->softdeps, &order[i]->softdeps);
	}
	free(order);
	return err;
}

/* Ranks the modules so that users come before what they use, the order
 * of every dependency list. With pairs, the order in which the modules'
 * own lists name their dependencies is kept too (lists read from a
 * modules.dep come out as they were); -ELOOP if that is impossible. Like
 * depmod, a topological sort that takes modules nobody uses first. */
static int rank_modules(const struct kmod_set *s, const size_t *start, const size_t *edges,
			bool pairs, size_t *rank, size_t *by_rank)
{
	size_t n = s->n, total = start[n], nstack = 0, k = 0;
	size_t *mem, *ostart, *users, *stack, *oedges;

	if (pairs)
		for (size_t i = 0; i < n; i++)
			total += start[i + 1] - start[i] ? start[i + 1] - start[i] - 1 : 0;
	mem = calloc(3 * n + 2 + total, sizeof(*mem));
	if (!mem)
		return ferr(-ENOMEM, "out of memory");
	ostart = mem;
	users = ostart + n + 2;
	stack = users + n;
	oedges = stack + n;
	/* Successor lists of the graph: counted, summed, then filled. */
	for (size_t i = 0; i < n; i++) {
		ostart[i + 2] += start[i + 1] - start[i];
		for (size_t e = start[i]; pairs && e + 1 < start[i + 1]; e++)
			ostart[edges[e] + 2]++;
	}
	for (size_t i = 2; i < n + 2; i++)
		ostart[i] += ostart[i - 1];
	for (size_t i = 0; i < n; i++) {
		for (size_t e = start[i]; e < start[i + 1]; e++) {
			oedges[ostart[i + 1]++] = edges[e];
			if (pairs && e + 1 < start[i + 1])
				oedges[ostart[edges[e] + 1]++] = edges[e + 1];
		}
	}
	for (size_t e = 0; e < total; e++)
		users[oedges[e]]++;
	for (size_t i = 0; i < n; i++)
		if (!users[i])
			stack[nstack++] = i;
	while (nstack) {
		size_t i = stack[--nstack];

		rank[i] = k;
		by_rank[k++] = i;
		for (size_t e = ostart[i]; e < ostart[i + 1]; e++)
			if (--users[oedges[e]] == 0)
				stack[nstack++] = oedges[e];
	}
	for (size_t i = 0; k < n && i < n; i++) {
		if (users[i]) {
			free(mem);
			return ferr(-ELOOP, "dependency cycle through %s", s->mods[i]->name);
		}
	}
	free(mem);
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Resolves every module's dependency names to indexes, without repeats:
 * module i uses edges[start[i] .. start[i + 1]). */
static int dep_edges(const struct kmod_set *s, size_t *start, size_t *edges, size_t *stamp)
{
	size_t e = 0;

	for (size_t i = 0; i < s->n; i++)
		stamp[i] = SIZE_MAX;
	for (size_t i = 0; i < s->n; i++) {
		const struct kmod_mod *m = s->mods[i];

		start[i] = e;
		for (size_t d = 0; d < m->deps.n; d++) {
			size_t j = mod_index(s, m->deps.v[d], strlen(m->deps.v[d]));

			if (j == SIZE_MAX)
				return ferr(-ENOENT, "%s needs %s, which is not in the module set",
					    m->name, m->deps.v[d]);
			if (j == i)
				return ferr(-ELOOP, "%s depends on itself", m->path);
			if (stamp[j] != i) {
				stamp[j] = i;
				edges[e++] = j;
			}
		}
	}
	start[s->n] = e;
	return 0;
}

int kmod_dep_lines(const struct kmod_set *s, struct kmod_strv *lines)
{
	size_t n = s->n, ndeps = 0, total = 0, *mem, *start, *edges, *stack, *rank, *by_rank, *stamp,
	       *closure;
	struct strbuf line;
	int err;

	for (size_t i = 0; i < n; i++)
		ndeps += s->mods[i]->deps.n;
	mem = calloc(6 * n + 1 + ndeps, sizeof(*mem));
	if (!mem)
		return ferr(-ENOMEM, "out of memory");
	start = mem;
	stack = start + n + 1;
	rank = stack + n;
	by_rank = rank + n;
	stamp = by_rank + n;
	closure = stamp + n;
	edges = closure + n;
	strbuf_init(&line);
	err = dep_edges(s, start, edges, stamp);
	if (!err) {
		err = rank_modules(s, start, edges, true, rank, by_rank);
		/* Only the lists' order can disagree here (dep_edges took out
		 * self-dependencies): keep only the order that is needed. */
		if (err == -ELOOP)
			err = rank_modules(s, start, edges, false, rank, by_rank);
	}
	for (size_t i = 0; i < n; i++)
		stamp[i] = SIZE_MAX;
	for (size_t i = 0; !err && i < n; i++) {
		size_t nclosure = 0, nstack = 0;

		/* Every module i needs, directly or not, as ranks. */
		stack[nstack++] = i;
		while (nstack) {
			size_t j = stack[--nstack];

			for (size_t e = start[j]; !err && e < start[j + 1]; e++) {
				if (stamp[edges[e]] == i)
					continue;
				if (nclosure == KMOD_CLOSURE_MAX) {
					err = ferr(-E2BIG, "%s needs more than %u modules: not a "
						   "kernel's module tree", s->mods[i]->path,
						   KMOD_CLOSURE_MAX);
					break;
				}
				stamp[edges[e]] = i;
				closure[nclosure++] = rank[edges[e]];
				stack[nstack++] = edges[e];
			}
		}
		if (err)
			break;
		qsort(closure, nclosure, sizeof(*closure), cmp_size);
		line.len = 0;
		err = strbuf_addf(&line, "%s:", s->mods[i]->path);
		for (size_t k = 0; !err && k < nclosure; k++)
			err = strbuf_addf(&line, " %s", s->mods[by_rank[closure[k]]]->path);
		if (!err && (total += line.len + 1) > KMOD_DEP_TEXT_MAX)
			err = ferr(-E2BIG, "modules.dep would exceed %u MiB: not a kernel's module "
				   "tree", KMOD_DEP_TEXT_MAX >> 20);
		if (!err)
			err = kmod_strv_add(lines, line.s, line.len);
	}
	strbuf_release(&line);
	free(mem);
	return err;
}

/* Text files */

int kmod_write_dep_text(const struct kmod_set *s, struct strbuf *out)
{
	struct kmod_strv lines = { 0 };
	int err = kmod_dep_lines(s, &lines);

	for (size_t i = 0; !err && i < lines.n; i++)
		err = strbuf_addf(out, "%s\n", lines.v[i]);
	kmod_strv_release(&lines);
	return err;
}

int kmod_write_alias_text(const struct kmod_set *s, struct strbuf *out)
{
	int err = strbuf_addf(out, "# Aliases extracted from modules themselves.\n");

	for (size_t i = 0; !err && i < s->n; i++)
		for (size_t a = 0; !err && a < s->mods[i]->aliases.n; a++)
			err = strbuf_addf(out, "alias %s %s\n", s->mods[i]->aliases.v[a],
					  s->mods[i]->name);
	return err;
}

int kmod_write_softdep_text(const struct kmod_set *s, struct strbuf *out)
{
	int err = strbuf_addf(out, "# Soft dependencies extracted from modules themselves.\n");

	for (size_t i = 0; !err && i < s->n; i++)
		for (size_t d = 0; !err && d < s->mods[i]->softdeps.n; d++)
			err = strbuf_addf(out, "softdep %s %s\n", s->mods[i]->name,
					  s->mods[i]->softdeps.v[d]);
	return err;
}
