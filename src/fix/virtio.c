/* The "virtio" rule: every kernel the boot loader offers gets virtio_pci,
 * virtio_blk, virtio_scsi and virtio_net, either built in (nothing to do)
 * or as modules, with their dependencies, in its initrd, loaded at boot;
 * the initrd's module index files are regenerated for modprobe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "initrd/cpio.h"
#include "fix/fix.h"
#include "initrd/initrd.h"
#include "initrd/kmod.h"
#include "initrd/compress.h"
#include "util/err.h"

#define RULE "virtio"
#define TEXT_MAX (64u << 20)
#define MODULE_MAX (64u << 20)
#define MAX_KERNELS 16

static const struct {
	const char *module, *config;
} wanted[] = {
	{"virtio_pci", "CONFIG_VIRTIO_PCI"},
	{"virtio_blk", "CONFIG_VIRTIO_BLK"},
	{"virtio_scsi", "CONFIG_SCSI_VIRTIO"},
	{"virtio_net", "CONFIG_VIRTIO_NET"},
};
#define NWANTED (sizeof(wanted) / sizeof(wanted[0]))

struct kernel {
	char kver[128];
	char initrd[256]; /* guest path, "" if the boot loader names none */
};

struct kernels {
	struct kernel k[MAX_KERNELS];
	size_t n;
};

static const char *const boot_configs[] = {
	"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/grub/menu.lst",
	"/boot/grub/grub.conf", "/boot/extlinux/extlinux.conf", "/boot/extlinux.conf",
	"/extlinux.conf",
};

static struct kernel *kernel_add(struct kernels *ks, const char *kver)
{
	for (size_t i = 0; i < ks->n; i++)
		if (!strcmp(ks->k[i].kver, kver))
			return &ks->k[i];
	/* A rescue kernel (RHEL's vmlinuz-0-rescue-ID) has a generic initrd
	 * and no modules of its own. */
	if (ks->n == MAX_KERNELS || strlen(kver) >= sizeof(ks->k[0].kver) || !kver[0] ||
	    strstr(kver, "rescue"))
		return NULL;
	snprintf(ks->k[ks->n].kver, sizeof(ks->k[0].kver), "%s", kver);
	ks->k[ks->n].initrd[0] = '\0';
	return &ks->k[ks->n++];
}

/* The kernel version in a kernel image's file name: vmlinuz-6.1.0-18-amd64. */
static bool kver_of(const char *path, size_t len, char *kver, size_t size)
{
	static const char *const prefixes[] = {"vmlinuz-", "vmlinux-", "kernel-", "bzImage-"};
	const char *base = path;

	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			base = path + i + 1;
	len -= (size_t)(base - path);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);

		if (len > pl && !strncmp(base, prefixes[i], pl) && len - pl < size) {
			memcpy(kver, base + pl, len - pl);
			kver[len - pl] = '\0';
			return true;
		}
	}
	return false;
}

static bool word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && !strncasecmp(w, s, n);
}

/* Reads "linux PATH" / "kernel PATH" and "initrd PATH" lines of one boot
 * loader config (GRUB 2, GRUB legacy, BLS, extlinux all use these words). */
static void scan_config(const char *text, size_t tlen, struct kernels *ks)
{
	struct kernel *cur = NULL;
	const char *line;
	size_t pos = 0, len;

	while (text_next_line(text, tlen, &pos, &line, &len)) {
		const char *w = line, *end = line + len, *a;
		size_t wl, al;

		while (w < end && (*w == ' ' || *w == '\t'))
			w++;
		for (wl = 0; w + wl < end && w[wl] != ' ' && w[wl] != '\t'; wl++)
			;
		a = w + wl;
		while (a < end && (*a == ' ' || *a == '\t'))
			a++;
		for (al = 0; a + al < end && a[al] != ' ' && a[al] != '\t'; al++)
			;
		if (!al)
			continue;
		if (word_is(w, wl, "linux") || word_is(w, wl, "linux16") ||
		    word_is(w, wl, "linuxefi") || word_is(w, wl, "kernel")) {
			char kver[128];

			cur = kver_of(a, al, kver, sizeof(kver)) ? kernel_add(ks, kver) : NULL;
		} else if (cur && !cur->initrd[0] &&
			   (word_is(w, wl, "initrd") || word_is(w, wl, "initrd16") ||
			    word_is(w, wl, "initrdefi"))) {
			const char *base = a;

			for (size_t i = 0; i < al; i++)
				if (a[i] == '/')
					base = a + i + 1;
			/* Boot loader paths are relative to the filesystem that
			 * holds /boot; the file is in /boot either way. */
			snprintf(cur->initrd, sizeof(cur->initrd), "/boot/%.*s",
				 (int)(al - (size_t)(base - a)), base);
		}
	}
}

static int list_bls(const char *name, uint32_t mode, void *arg)
{
	struct strbuf *names = arg;

	if (!GUEST_ISDIR(mode) && strlen(name) > 5 && !strcmp(name + strlen(name) - 5, ".conf"))
		return strbuf_add(names, name, strlen(name) + 1);
	return 0;
}

static int list_vmlinuz(const char *name, uint32_t mode, void *arg)
{
	char kver[128];

	if (!GUEST_ISDIR(mode) && kver_of(name, strlen(name), kver, sizeof(kver)))
		kernel_add(arg, kver);
	return 0;
}

static int find_kernels(struct fix_ctx *c, struct kernels *ks)
{
	struct strbuf bls;
	char *text;
	size_t len;

	for (size_t i = 0; i < sizeof(boot_configs) / sizeof(boot_configs[0]); i++) {
		if (guest_read(c->g, boot_configs[i], TEXT_MAX, &text, &len) == 0) {
			scan_config(text, len, ks);
			free(text);
		}
	}
	strbuf_init(&bls);
	if (guest_list(c->g, "/boot/loader/entries", list_bls, &bls) == 0) {
		for (size_t off = 0; off < bls.len; off += strlen(bls.s + off) + 1) {
			char path[300];

			snprintf(path, sizeof(path), "/boot/loader/entries/%s", bls.s + off);
			if (guest_read(c->g, path, TEXT_MAX, &text, &len) == 0) {
				scan_config(text, len, ks);
				free(text);
			}
		}
	}
	strbuf_release(&bls);
	if (ks->n == 0)
		guest_list(c->g, "/boot", list_vmlinuz, ks);
	return 0;
}

/* Whether the kernel has name built in: its config says =y, or, without a
 * config, modules.builtin lists it. */
static bool builtin(const char *config, const char *builtin_list, size_t i)
{
	char key[64];

	if (config) {
		snprintf(key, sizeof(key), "\n%s=y", wanted[i].config);
		return strstr(config, key) != NULL || !strncmp(config, key + 1, strlen(key + 1));
	}
	if (builtin_list) {
		snprintf(key, sizeof(key), "/%s.ko", wanted[i].module);
		return strstr(builtin_list, key) != NULL;
	}
	return false;
}

/* A module file's ELF bytes, decompressed if it is .ko.xz/.zst/.gz. */
static int read_module(struct fix_ctx *c, const char *path, char **raw, size_t *rawlen,
		       void **elf, size_t *elflen)
{
	enum codec codec;
	size_t used;
	int err = guest_read(c->g, path, MODULE_MAX, raw, rawlen);

	if (err)
		return err == -ENOENT ? ferr(-ENOENT, "%s: module file missing", path) : err;
	codec = codec_detect(*raw, *rawlen);
	if (codec == CODEC_NONE) {
		*elf = *raw;
		*elflen = *rawlen;
		return 0;
	}
	err = codec_decompress(codec, *raw, *rawlen, elf, elflen, &used);
	if (err) {
		free(*raw);
		*raw = NULL;
		return ferr_ctx(err, "%s", path);
	}
	return 0;
}

struct job {
	struct fix_ctx *c;
	const struct kernel *k;
	char moddir[200];   /* /lib/modules/KVER in the guest */
	char prefix[200];   /* lib/modules/KVER in the initrd */
	struct kmod_set sys, rd;
	struct initrd initrd;
	struct strbuf added;
	size_t nadded;
};

/* Adds the module called name and what its .modinfo says it depends on. */
static int add_module(struct job *j, const char *name, int depth)
{
	struct kmod_mod *m = kmod_set_find(&j->sys, name), *rm = NULL;
	struct kmod_info mi;
	char path[512], *raw = NULL;
	void *elf = NULL;
	size_t rawlen, elflen;
	int err;

	if (kmod_set_find(&j->rd, name))
		return 0;
	if (depth > 32)
		return ferr(-ELOOP, "%s: module dependencies nest too deep", name);
	if (!m)
		return ferr(-ENOENT, "%s/modules.dep has no module %s", j->moddir, name);
	snprintf(path, sizeof(path), "%s/%s", j->moddir, m->path);
	err = read_module(j->c, path, &raw, &rawlen, &elf, &elflen);
	if (err)
		return err;
	err = kmod_modinfo(elf, elflen, &mi);
	if (elf != raw)
		free(elf);
	if (err) {
		free(raw);
		return ferr_ctx(err, "%s", path);
	}
	snprintf(path, sizeof(path), "%s/%s", j->prefix, m->path);
	err = cpio_add_file(&j->initrd.main, path, raw, rawlen, 0644);
	free(raw);
	if (!err)
		err = kmod_set_add(&j->rd, m->path, &rm);
	if (err >= 0)
		err = kmod_mod_set_info(rm, &mi);
	if (!err)
		err = strbuf_addf(&j->added, "%s%s", j->nadded ? ", " : "", rm->name);
	j->nadded++;
	for (size_t i = 0; !err && i < mi.depends.n; i++)
		if (mi.depends.v[i][0])
			err = add_module(j, mi.depends.v[i], depth + 1);
	kmod_info_release(&mi);
	return err;
}

/* A text file of the initrd, NUL-terminated, or NULL. */
static char *rd_text(struct job *j, const char *name)
{
	char path[300];
	struct cpio_entry *e;
	char *s;

	snprintf(path, sizeof(path), "%s/%s", j->prefix, name);
	e = cpio_find(&j->initrd.main, name[0] == '/' ? name + 1 : path);
	if (!e || (e->mode & 0170000) != 0100000)
		return NULL;
	s = malloc(e->size + 1);
	if (s) {
		memcpy(s, e->data, e->size);
		s[e->size] = '\0';
	}
	return s;
}

static int rd_put(struct job *j, const char *name, const struct strbuf *b)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", j->prefix, name);
	return cpio_add_file(&j->initrd.main, path, b->s ? b->s : "", b->len, 0644);
}

/* The index files modprobe reads, rebuilt for the initrd's module set. */
static int write_indexes(struct job *j, bool softdep)
{
	static const struct {
		const char *name;
		int (*fn)(const struct kmod_set *, struct strbuf *);
	} files[] = {
		{"modules.dep", kmod_write_dep_text},     {"modules.dep.bin", kmod_write_dep_bin},
		{"modules.alias", kmod_write_alias_text}, {"modules.alias.bin", kmod_write_alias_bin},
		{"modules.softdep", kmod_write_softdep_text},
	};
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(files) / sizeof(files[0]); i++) {
		struct strbuf b;

		if (!softdep && !strcmp(files[i].name, "modules.softdep"))
			continue;
		strbuf_init(&b);
		err = files[i].fn(&j->rd, &b);
		if (!err)
			err = rd_put(j, files[i].name, &b);
		strbuf_release(&b);
	}
	return err;
}

/* Makes the initrd load the modules at boot: initramfs-tools reads
 * conf/modules, systemd (dracut) modules-load.d; udev also loads them by
 * their aliases once the index lists them. Returns 1 if it changed. */
static int ensure_loaded(struct job *j, const char *const *names, size_t n)
{
	bool tools = cpio_find(&j->initrd.main, "conf/initramfs.conf") ||
		     cpio_find(&j->initrd.main, "scripts/init-top");
	const char *file = tools ? "/conf/modules" : "/etc/modules-load.d/ferry-virtio.conf";
	char *old = rd_text(j, file);
	struct strbuf b;
	int changed = 0, err = 0;

	strbuf_init(&b);
	if (old)
		err = strbuf_add(&b, old, strlen(old));
	if (!err && b.len && b.s[b.len - 1] != '\n')
		err = strbuf_add(&b, "\n", 1);
	for (size_t i = 0; !err && i < n; i++) {
		char line[80];

		snprintf(line, sizeof(line), "\n%s\n", names[i]);
		if (old && (strstr(old, line) || !strncmp(old, line + 1, strlen(line + 1))))
			continue;
		err = strbuf_addf(&b, "%s\n", names[i]);
		changed = 1;
	}
	if (!err && changed)
		err = cpio_add_file(&j->initrd.main, file + 1, b.s, b.len, 0644);
	free(old);
	strbuf_release(&b);
	return err ? err : changed;
}

static int find_prefix(struct job *j)
{
	static const char *const roots[] = {"usr/lib/modules", "lib/modules"};

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		char p[300];

		snprintf(p, sizeof(p), "%s/%s/modules.dep", roots[i], j->k->kver);
		if (cpio_find(&j->initrd.main, p)) {
			snprintf(j->prefix, sizeof(j->prefix), "%s/%s", roots[i], j->k->kver);
			return 0;
		}
	}
	snprintf(j->prefix, sizeof(j->prefix), "lib/modules/%s", j->k->kver);
	return 0;
}

static int parse_rd_sets(struct job *j, bool *softdep)
{
	char *dep = rd_text(j, "modules.dep"), *alias = rd_text(j, "modules.alias");
	char *soft = rd_text(j, "modules.softdep");
	int err = 0;

	if (dep)
		err = kmod_set_parse_dep(&j->rd, dep, strlen(dep));
	if (!err && alias)
		err = kmod_set_parse_alias(&j->rd, alias, strlen(alias));
	if (!err && soft)
		err = kmod_set_parse_softdep(&j->rd, soft, strlen(soft));
	*softdep = soft != NULL;
	free(dep);
	free(alias);
	free(soft);
	return err ? ferr_ctx(err, "the initrd's module list") : 0;
}

static int fix_kernel(struct fix_ctx *c, const struct kernel *k)
{
	struct job j = {.c = c, .k = k};
	const char *need[NWANTED];
	char *config = NULL, *blist = NULL, *text = NULL, path[300], initrd_path[300], cfg[300];
	size_t len, nneed = 0;
	void *img = NULL;
	size_t imglen;
	bool softdep;
	int err, loaded;

	snprintf(j.moddir, sizeof(j.moddir), "/lib/modules/%s", k->kver);
	snprintf(cfg, sizeof(cfg), "/boot/config-%s", k->kver);
	guest_read(c->g, cfg, TEXT_MAX, &config, &len);
	snprintf(path, sizeof(path), "%s/modules.builtin", j.moddir);
	guest_read(c->g, path, TEXT_MAX, &blist, &len);
	for (size_t i = 0; i < NWANTED; i++)
		if (!builtin(config, blist, i))
			need[nneed++] = wanted[i].module;
	free(config);
	free(blist);
	if (nneed == 0)
		return fix_note(c->rep, RULE, cfg, "kernel %s has virtio built in", k->kver);

	if (k->initrd[0] && guest_exists(c->g, k->initrd)) {
		snprintf(initrd_path, sizeof(initrd_path), "%s", k->initrd);
	} else {
		static const char *const names[] = {"/boot/initrd.img-%s", "/boot/initramfs-%s.img",
						    "/boot/initrd-%s", "/boot/initrd-%s.img"};
		initrd_path[0] = '\0';
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !initrd_path[0]; i++) {
			snprintf(path, sizeof(path), names[i], k->kver);
			if (guest_exists(c->g, path))
				snprintf(initrd_path, sizeof(initrd_path), "%s", path);
		}
	}
	if (!initrd_path[0])
		return fix_note_code(c->rep, "virtio.missing", RULE, "/boot", "kernel %s has no "
				     "initrd: virtio (%s%s) cannot be added; the kernel may not "
				     "find its root disk on KVM", k->kver, need[0],
				     nneed > 1 ? ", ..." : "");

	kmod_set_init(&j.sys);
	kmod_set_init(&j.rd);
	initrd_init(&j.initrd);
	strbuf_init(&j.added);
	snprintf(path, sizeof(path), "%s/modules.dep", j.moddir);
	err = guest_read(c->g, path, TEXT_MAX, &text, &len);
	if (err == -ENOENT) {
		err = fix_note_code(c->rep, "virtio.missing", RULE, path, "missing: the modules "
				    "of kernel %s cannot be found, virtio not added to %s", k->kver,
				    initrd_path);
		goto out;
	}
	if (!err)
		err = kmod_set_parse_dep(&j.sys, text, len);
	free(text);
	text = NULL;
	if (err)
		goto out_ctx;
	err = guest_read(c->g, initrd_path, INITRD_MAX, &text, &len);
	if (!err)
		err = initrd_parse(text, len, &j.initrd);
	free(text);
	text = NULL;
	if (err == -ENOTSUP || err == -EFBIG) {
		/* An initrd Ferry cannot rebuild (LZO, or past CODEC_MAX_OUTPUT or
		 * the kernel's zstd window) is the operator's to fix, not a
		 * reason to fail the whole capture. */
		err = fix_note_code(c->rep, "virtio.missing", RULE, initrd_path, "%s: virtio not "
				    "added; rebuild the initrd %sbefore migrating", ferr_msg(),
				    err == -ENOTSUP ? "with another compression " : "");
		goto out;
	}
	if (err)
		goto out_ctx;
	err = find_prefix(&j);
	if (!err)
		err = parse_rd_sets(&j, &softdep);
	for (size_t i = 0; !err && i < nneed; i++)
		err = add_module(&j, need[i], 0);
	if (!err && j.nadded)
		err = write_indexes(&j, softdep);
	if (err == -ELOOP || err == -E2BIG) {
		/* A module list that loops (no depmod writes one), or one no
		 * kernel has (KMOD_*_MAX), cannot be indexed again; as with LZO,
		 * the operator rebuilds it. */
		err = fix_note_code(c->rep, "virtio.missing", RULE, initrd_path,
				    "its modules.dep: %s: virtio not added; rebuild the "
				    "initrd before migrating", ferr_msg());
		goto out;
	}
	if (err)
		goto out_ctx;
	loaded = ensure_loaded(&j, need, nneed);
	if (loaded < 0) {
		err = loaded;
		goto out_ctx;
	}
	if (j.nadded || loaded) {
		char what[600];

		err = initrd_build(&j.initrd, &img, &imglen);
		if (!err)
			err = guest_write(c->g, initrd_path, img, imglen, 0600);
		free(img);
		if (err)
			goto out_ctx;
		snprintf(what, sizeof(what), "kernel %s: %zu module%s added to the %s initrd and "
			 "loaded at boot", k->kver, j.nadded, j.nadded == 1 ? "" : "s",
			 codec_name(j.initrd.codec));
		err = fix_change(c->rep, RULE, initrd_path, what, NULL,
				 j.nadded ? j.added.s : "load list only");
	}
	goto out;
out_ctx:
	err = ferr_ctx(err, "%s", initrd_path);
out:
	strbuf_release(&j.added);
	initrd_release(&j.initrd);
	kmod_set_release(&j.rd);
	kmod_set_release(&j.sys);
	return err;
}

int fix_virtio(struct fix_ctx *c)
{
	struct kernels ks = {0};
	int err = find_kernels(c, &ks);

	if (!err && ks.n == 0)
		return fix_note(c->rep, RULE, "/boot", "no kernel found: virtio not checked");
	for (size_t i = 0; !err && i < ks.n; i++)
		err = fix_kernel(c, &ks.k[i]);
	return err;
}
