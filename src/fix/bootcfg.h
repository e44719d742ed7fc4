/* Boot loader configs of a guest system: which files hold kernel command
 * lines (GRUB 2, GRUB legacy, BLS entries and grubenv, extlinux, the
 * distributions' defaults), where in a line the command line is, and its
 * arguments one by one. Shared by the bootloader rule, which edits them,
 * and by the rules that only read them (fstab's system disk, SELinux). */
#ifndef FERRY_FIX_BOOTCFG_H
#define FERRY_FIX_BOOTCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "fix/fix.h"

#define GRUBENV "/boot/grub2/grubenv"

enum bkind { BK_GRUB2, BK_LEGACY, BK_BLS, BK_EXTLINUX, BK_DEFAULT, BK_GRUBENV };

struct bfile {
	char path[512]; /* with every link resolved: two names of one file are one */
	enum bkind kind;
};

struct blist {
	struct bfile *v;
	size_t n, cap;
};

/* Where a line holds a kernel command line. */
struct region {
	size_t start, end; /* in the line */
	bool sep;          /* an added argument at start needs a space before it */
	bool ifnames;      /* net.ifnames=0 biosdevname=0 belong here */
	bool unquoted;     /* a shell value without quotes */
};

/* Every boot loader config of the guest, links resolved, each once, in a
 * stable order (grubenv last). Free l->v. */
int bootcfg_collect(struct fix_ctx *c, struct blist *l);
/* Reads a config: 0, 1 when it does not exist, or a negative errno. */
int bootcfg_read(struct fix_ctx *c, const char *path, char **text, size_t *len);
/* 1 and *rg when the line has a kernel command line, 0 if not, -EINVAL when
 * it is malformed (an open quote). */
int bootcfg_find_region(enum bkind kind, const char *s, size_t n, struct region *rg);
/* The next argument in s[*i, end): [*ts, *te). Quotes group words; -EINVAL
 * for an open quote; 0 at the end. */
int bootcfg_next_arg(const char *s, size_t end, size_t *i, size_t *ts, size_t *te);
/* Whether the word w (case-insensitive with nocase) stands at s[i]. */
bool bootcfg_word_at(const char *s, size_t n, size_t i, const char *w, bool nocase);
size_t bootcfg_skip_ws(const char *s, size_t n, size_t i);

/* fn is called with every argument of every kernel command line in every
 * boot loader config (key without '=', value NULL for a bare word). A
 * non-zero return stops the walk. */
typedef int (*boot_arg_fn)(const char *file, const char *key, const char *val, void *arg);
int boot_for_each_arg(struct fix_ctx *c, boot_arg_fn fn, void *arg);

#endif
