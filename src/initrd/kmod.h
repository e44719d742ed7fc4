/* Kernel module metadata without depmod: .modinfo read from a module's ELF
 * bytes, the module set of a /lib/modules/<kver> tree, and the modules.dep
 * and modules.alias files (text and kmod's binary index) modprobe reads. */
#ifndef FERRY_KMOD_H
#define FERRY_KMOD_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* A growing vector of strings the vector owns. */
struct kmod_strv {
	char **v;
	size_t n, cap;
};

int kmod_strv_add(struct kmod_strv *sv, const char *s, size_t len);
void kmod_strv_release(struct kmod_strv *sv);

/* What a module's .modinfo section says, values as written there. */
struct kmod_info {
	char *name;                /* name= (Linux 5.7 and newer), else NULL */
	char *vermagic;            /* NULL if absent */
	struct kmod_strv depends;  /* depends= split at the commas */
	struct kmod_strv aliases;  /* every alias= */
	struct kmod_strv softdeps; /* every softdep=, e.g. "pre: crc32c" */
};

/* Parses the .modinfo section of a little-endian ELF32/ELF64 module. The
 * bytes must already be decompressed (.ko.xz, .ko.zst and .ko.gz are the
 * caller's business). -ENOEXEC for a malformed file, -ENODATA when it has
 * no .modinfo; *mi is left empty on error. Release with kmod_info_release. */
int kmod_modinfo(const void *elf, size_t len, struct kmod_info *mi);
void kmod_info_release(struct kmod_info *mi);

/* The module name kmod derives from a path: the file name up to its first
 * '.', with '-' turned into '_' ("kernel/net/foo-bar.ko.xz" -> "foo_bar").
 * -ENAMETOOLONG if it does not fit in size. */
int kmod_path_name(const char *path, char *name, size_t size);

/* One module of a tree. */
struct kmod_mod {
	char *path;                /* relative to /lib/modules/<kver> */
	char *name;                /* from the path (kmod_path_name) */
	struct kmod_strv deps;     /* names of the modules it needs */
	struct kmod_strv aliases;  /* patterns, wildcards kept */
	struct kmod_strv softdeps; /* softdep= values */
};

/* Bounds no kernel's tree comes near (Debian 12's kernel ships about 4,000
 * modules; the longest chain of dependencies is a few dozen), so that a
 * hostile initrd costs seconds and megabytes, not hours and gigabytes. */
#define KMOD_SET_MAX 32768u       /* modules in one set */
#define KMOD_CLOSURE_MAX 512u     /* modules one module needs, directly or not */
#define KMOD_DEP_TEXT_MAX (64u << 20) /* bytes of the modules.dep lines made */

/* The modules of one tree, in modules.dep order (that order is also the
 * priority of their entries in the binary indexes). Names are unique. */
struct kmod_set {
	struct kmod_mod **mods;
	size_t n, cap;
	size_t *hash; /* open addressing on the name: index + 1, 0 = free */
	size_t hcap;
};

void kmod_set_init(struct kmod_set *s);
void kmod_set_release(struct kmod_set *s);
/* Adds the module at path, or finds the one of the same name already in
 * the set. Returns 0 when added, 1 when it was there (*out is that one,
 * its path unchanged), negative on error. out may be NULL. */
int kmod_set_add(struct kmod_set *s, const char *path, struct kmod_mod **out);
/* Replaces a module's dependencies, aliases and soft dependencies with
 * those of its .modinfo. */
int kmod_mod_set_info(struct kmod_mod *m, const struct kmod_info *mi);
/* The module called name ('-' and '_' are the same), or NULL. */
struct kmod_mod *kmod_set_find(const struct kmod_set *s, const char *name);

/* Readers for an existing tree's files; text need not end with a newline.
 * parse_dep adds every module of modules.dep ("path: dep dep..."). The
 * alias and softdep readers attach "alias PATTERN NAME" and "softdep NAME
 * ..." lines to the modules already in the set and skip the others, so a
 * small set can take what it needs from a whole system's files. Errors
 * name the line; the caller adds the file name. */
int kmod_set_parse_dep(struct kmod_set *s, const char *text, size_t len);
int kmod_set_parse_alias(struct kmod_set *s, const char *text, size_t len);
int kmod_set_parse_softdep(struct kmod_set *s, const char *text, size_t len);

/* The module called name and everything it needs, in load order (each
 * module after the modules it needs, name last). *order is allocated and
 * freed by the caller. -ENOENT names the missing module, -ELOOP a cycle. */
int kmod_resolve(const struct kmod_set *s, const char *name, struct kmod_mod ***order,
		 size_t *n);
/* Copies the module called name and what it needs from src into dst
 * (modules dst already has are kept as they are). */
int kmod_set_copy(struct kmod_set *dst, const struct kmod_set *src, const char *name);

/* One modules.dep line per module, in set order, as depmod writes it:
 * "path:" then " path" for every module it needs directly or indirectly,
 * users before what they use (modprobe loads from the end). A dependency
 * missing from the set or a cycle is an error that names the module. */
int kmod_dep_lines(const struct kmod_set *s, struct kmod_strv *lines);

/* The files, appended to out. The text ones are what depmod writes; the
 * .bin ones are kmod's index format, which is what libkmod (modprobe,
 * udev) actually reads: modules.dep.bin maps names to dep lines,
 * modules.alias.bin alias patterns ('-' read as '_' outside brackets) to
 * names. modules.softdep is read as text. */
int kmod_write_dep_text(const struct kmod_set *s, struct strbuf *out);
int kmod_write_alias_text(const struct kmod_set *s, struct strbuf *out);
int kmod_write_softdep_text(const struct kmod_set *s, struct strbuf *out);
int kmod_write_dep_bin(const struct kmod_set *s, struct strbuf *out);
int kmod_write_alias_bin(const struct kmod_set *s, struct strbuf *out);

/* kmod's index format: a key maps to values kept in priority order. */
struct kmod_index_entry {
	const char *key, *value; /* 7-bit ASCII */
	uint32_t priority;       /* lower first */
};

/* Appends the index of n entries to out, in any order; values of one key
 * are written by priority. */
int kmod_index_write(const struct kmod_index_entry *e, size_t n, struct strbuf *out);

#endif
