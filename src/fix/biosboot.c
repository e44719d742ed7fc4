/* The conversion of a UEFI system to boot by BIOS (fix/biosboot.h). The
 * MBR sector is GRUB's boot.img with the disk's table, its code pointed at
 * core.img in the sectors after it, as grub-bios-setup writes them with
 * --no-rs-codes; core.img finds /boot by GRUB's own files there
 * (support/grub-bios.sh). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blk/source.h"
#include "disk/probe.h"
#include "fix/biosboot.h"
#include "fix/stage.h"
#include "fs/fstab.h"
#include "fs/guest.h"
#include "util/bytes.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/strbuf.h"
#include "util/text.h"

#define RULE "bootmode"
#define SECTOR 512u
#define GRUB_DIR "/boot/grub"
#define CORE_MAX (512u * 1024)
#define CFG_MAX (1u << 20)
#define MBR_LBA_MAX 0xffffffffull
/* boot.img's fields (GRUB's include/grub/i386/pc/boot.h) */
#define BOOT_BPB_START 0x03
#define BOOT_BPB_END 0x5a
#define BOOT_KERNEL_SECTOR 0x5c
#define BOOT_DRIVE 0x64
#define BOOT_DRIVE_CHECK 0x66
#define MBR_DISK_ID 0x1b8
#define MBR_TABLE 0x1be

const char *boot_mode_name(enum boot_mode m)
{
	static const char *const names[] = {[BOOT_MODE_KEEP] = "keep", [BOOT_MODE_BIOS] = "bios",
					    [BOOT_MODE_UEFI] = "uefi"};
	return names[m];
}

int boot_mode_parse(const char *s, enum boot_mode *m)
{
	for (enum boot_mode k = BOOT_MODE_KEEP; k <= BOOT_MODE_UEFI; k++)
		if (!strcmp(s, boot_mode_name(k))) {
			*m = k;
			return 0;
		}
	return ferr(-EINVAL, "boot mode '%s': one of bios, uefi, keep", s);
}

const char *biosboot_grub_dir(void)
{
	const char *d = getenv("FERRY_GRUB_BIOS");

	return d && *d ? d : "/usr/share/ferry/grub-bios";
}

static bool part_is_esp(const struct part *p)
{
	return text_list_has(p->flags, "esp") || p->type_id == 0xef;
}

static bool is_esp(const struct probe_part *pp)
{
	return pp->part && part_is_esp(pp->part);
}

bool biosboot_uefi(const struct stage *s)
{
	const struct probe_disk *d = &s->pr.disks[0];

	for (size_t i = 0; i < d->nparts; i++)
		if (is_esp(&d->parts[i]))
			return true;
	return false;
}

bool biosboot_uefi_only(const struct source *src, const struct table *t)
{
	uint8_t code[440];
	bool esp = false;

	for (size_t i = 0; i < t->nparts; i++) {
		if (text_list_has(t->parts[i].flags, "bios_grub"))
			return false;
		esp |= part_is_esp(&t->parts[i]);
	}
	if (!esp)
		return false;
	/* an MBR with boot code boots by BIOS too; a GPT's protective MBR's
	 * code is no use without a bios_grub partition */
	return t->type == TABLE_GPT || source_pread(src, code, sizeof(code), 0) ||
	       bytes_zero(code, sizeof(code));
}

bool biosboot_needed(const struct stage *s)
{
	return biosboot_uefi_only(s->src, &s->pr.disks[0].table);
}

/* The filesystem that holds /boot: one of its own, or /. */
static const struct probe_part *boot_fs(const struct stage *s, bool *separate)
{
	const struct probe_disk *d = &s->pr.disks[s->pr.root.disk];
	int p = probe_mount_part(&s->pr, "/boot");

	*separate = p >= 0 && p != s->pr.root.part;
	return &d->parts[*separate ? p : s->pr.root.part];
}

/* GRUB for BIOS: boot.img and the core.img for where /boot is. */
struct grub_files {
	struct guest dir;
	char *boot, *core;
	size_t core_len;
};

static void grub_files_release(struct grub_files *gf)
{
	free(gf->boot);
	free(gf->core);
	guest_release(&gf->dir);
}

static int grub_files_load(struct grub_files *gf, bool separate)
{
	const char *dir = biosboot_grub_dir();
	size_t len;
	int err;

	memset(gf, 0, sizeof(*gf));
	err = guest_dir_open(&gf->dir, dir);
	if (!err)
		err = guest_read(&gf->dir, "/boot.img", SECTOR, &gf->boot, &len);
	if (!err && len != SECTOR)
		err = ferr(-EINVAL, "%s/boot.img is not one sector", dir);
	if (!err)
		err = guest_read(&gf->dir, separate ? "/core-boot.img" : "/core-root.img", CORE_MAX,
				 &gf->core, &gf->core_len);
	if (err) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", err == -ENOENT ? "missing files" : ferr_msg());
		grub_files_release(gf);
		return ferr(err, "GRUB for BIOS is not in %s (FERRY_GRUB_BIOS): %s", dir, msg);
	}
	return 0;
}

/* Menus */

/* grubenv's kernelopts=, which RHEL 8's BLS entries take ("" if none). */
static void kernelopts(struct guest *g, char *out, size_t n)
{
	static const char *const envs[] = {"/boot/grub2/grubenv", "/boot/grub/grubenv"};
	char *text;
	size_t len;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]) && !out[0]; i++) {
		const char *line;
		size_t pos = 0, ln;

		if (guest_read(g, envs[i], 4096, &text, &len))
			continue;
		while (text_next_line(text, len, &pos, &line, &ln))
			if (ln > 11 && !strncmp(line, "kernelopts=", 11))
				snprintf(out, n, "%.*s", (int)(ln - 11), line + 11);
		free(text);
	}
}

struct names {
	struct strbuf s;
};

static int add_conf(const char *name, uint32_t mode, void *arg)
{
	struct names *nm = arg;
	size_t n = strlen(name);

	if (!GUEST_ISREG(mode) || n < 6 || strcmp(name + n - 5, ".conf"))
		return 0;
	return strbuf_add(&nm->s, name, n + 1);
}

static int cmp_desc(const void *a, const void *b)
{
	return -strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A value of a BLS line ("linux /vmlinuz-5.14"): the rest of the line. */
static bool bls_key(const char *line, size_t n, const char *key, const char **v, size_t *vn)
{
	size_t k = strlen(key);

	if (n <= k || strncmp(line, key, k) || (line[k] != ' ' && line[k] != '\t'))
		return false;
	*v = line + k;
	*vn = n - k;
	text_trim(v, vn);
	return true;
}

/* A path of the /boot filesystem as GRUB for BIOS reaches it from the
 * root it searched: under /boot when /boot is a directory of /. */
static int add_path(struct strbuf *out, bool separate, const char *p, size_t n)
{
	bool prefix = !separate && !(n >= 6 && !strncmp(p, "/boot/", 6));

	return strbuf_addf(out, " %s%.*s", prefix ? "/boot" : "", (int)n, p);
}

/* One BLS entry as a menu entry; 0 and nothing added if it has no kernel. */
static int bls_entry(struct strbuf *out, const char *text, size_t len, const char *opts,
		     bool separate)
{
	const char *line, *v, *title = NULL, *kernel = NULL, *options = NULL;
	size_t pos = 0, n, tn = 0, ln = 0, on = 0;
	int err;

	while (text_next_line(text, len, &pos, &line, &n)) {
		if (bls_key(line, n, "title", &v, &tn))
			title = v;
		else if (bls_key(line, n, "linux", &v, &ln))
			kernel = v;
		else if (bls_key(line, n, "options", &v, &on))
			options = v;
	}
	if (!kernel)
		return 0;
	err = strbuf_add(out, "menuentry '", 11);
	for (size_t i = 0; !err && title && i < tn; i++)
		err = title[i] == '\'' ? strbuf_add(out, "'\\''", 4) : strbuf_add(out, title + i, 1);
	if (!err && !title)
		err = strbuf_add(out, "Linux", 5);
	if (!err)
		err = strbuf_add(out, "' {\n\tlinux", 10);
	if (!err)
		err = add_path(out, separate, kernel, ln);
	/* $kernelopts as grubenv holds it, the other words as they are */
	for (size_t i = 0; !err && options && i < on;) {
		size_t w = strcspn(options + i, " \t");

		if (w > on - i)
			w = on - i;
		if ((w == 11 && !strncmp(options + i, "$kernelopts", 11)) ||
		    (w == 13 && !strncmp(options + i, "${kernelopts}", 13)))
			err = opts[0] ? strbuf_addf(out, " %s", opts) : 0;
		else if (w)
			err = strbuf_addf(out, " %.*s", (int)w, options + i);
		i += w + (i + w < on);
	}
	if (!err)
		err = strbuf_add(out, "\n", 1);
	pos = 0;
	while (!err && text_next_line(text, len, &pos, &line, &n))
		if (bls_key(line, n, "initrd", &v, &ln)) {
			err = strbuf_add(out, "\tinitrd", 7);
			if (!err)
				err = add_path(out, separate, v, ln);
			if (!err)
				err = strbuf_add(out, "\n", 1);
		}
	return err ? err : strbuf_add(out, "}\n", 2);
}

/* Menu entries from the BLS entries, newest first; *count of them. */
static int bls_menu(struct guest *g, struct strbuf *out, bool separate, size_t *count)
{
	struct names nm;
	char opts[1024], **v = NULL;
	size_t n = 0;
	int err;

	*count = 0;
	strbuf_init(&nm.s);
	err = guest_list(g, "/boot/loader/entries", add_conf, &nm);
	if (err == -ENOENT) {
		strbuf_release(&nm.s);
		return 0;
	}
	for (size_t off = 0; !err && off < nm.s.len; off += strlen(nm.s.s + off) + 1)
		n++;
	if (!err && n && !(v = calloc(n, sizeof(*v))))
		err = ferr(-ENOMEM, "out of memory");
	for (size_t off = 0, i = 0; !err && off < nm.s.len; off += strlen(nm.s.s + off) + 1)
		v[i++] = nm.s.s + off;
	if (!err && n)
		qsort(v, n, sizeof(*v), cmp_desc);
	kernelopts(g, opts, sizeof(opts));
	for (size_t i = 0; !err && i < n; i++) {
		char path[320], *text;
		size_t len, before = out->len;

		snprintf(path, sizeof(path), "/boot/loader/entries/%s", v[i]);
		if (guest_read(g, path, 65536, &text, &len))
			continue;
		err = bls_entry(out, text, len, opts, separate);
		*count += out->len > before;
		free(text);
	}
	free(v);
	strbuf_release(&nm.s);
	return err;
}

struct efi_cfg {
	struct guest *g;
	char path[320];
};

static int find_efi_cfg(const char *name, uint32_t mode, void *arg)
{
	struct efi_cfg *e = arg;
	char path[320], *text;
	size_t len;
	bool menu;

	if (!GUEST_ISDIR(mode) || e->path[0])
		return 0;
	snprintf(path, sizeof(path), "/boot/efi/EFI/%s/grub.cfg", name);
	if (guest_read(e->g, path, CFG_MAX, &text, &len))
		return 0;
	menu = strstr(text, "menuentry") && !strstr(text, "blscfg");
	free(text);
	if (menu)
		snprintf(e->path, sizeof(e->path), "%s", path);
	return 0;
}

/* An EFI grub.cfg's menu for BIOS: linuxefi and initrdefi are linux and
 * initrd there. */
static int efi_menu(const char *text, size_t len, struct strbuf *out)
{
	const char *line;
	size_t pos = 0, n;
	int err = 0;

	while (!err && text_next_line(text, len, &pos, &line, &n)) {
		size_t lead = strspn(line, " \t");

		if (n - lead >= 9 && !strncmp(line + lead, "linuxefi", 8) &&
		    (line[lead + 8] == ' ' || line[lead + 8] == '\t'))
			err = strbuf_addf(out, "%.*slinux%.*s\n", (int)lead, line, (int)(n - lead - 8),
					  line + lead + 8);
		else if (n - lead >= 10 && !strncmp(line + lead, "initrdefi", 9) &&
			 (line[lead + 9] == ' ' || line[lead + 9] == '\t'))
			err = strbuf_addf(out, "%.*sinitrd%.*s\n", (int)lead, line, (int)(n - lead - 9),
					  line + lead + 9);
		else
			err = strbuf_addf(out, "%.*s\n", (int)n, line);
	}
	return err;
}

/* The BIOS grub.cfg: the system's own /boot/grub/grub.cfg if it has a
 * menu without blscfg (Debian's, which update-grub keeps up to date), else
 * one made from the BLS entries or an EFI grub.cfg's menu. *out is empty
 * when the system's own is kept; from says where the menu comes from. */
static int bios_menu(struct stage *s, const struct probe_part *bf, bool separate,
		     struct strbuf *out, char *from, size_t n)
{
	struct guest *g = &s->root;
	struct efi_cfg e = {g, ""};
	size_t count, len;
	char *text;
	int err;

	if (!guest_read(g, GRUB_DIR "/grub.cfg", CFG_MAX, &text, &len)) {
		bool own = strstr(text, "menuentry") && !strstr(text, "blscfg");

		free(text);
		if (own) {
			snprintf(from, n, "the system's own " GRUB_DIR "/grub.cfg");
			return 0;
		}
	}
	err = strbuf_addf(out, "# GRUB for BIOS, written by Ferry when it converted this system "
			  "from UEFI boot.\nset default=0\nset timeout=5\n"
			  "search --no-floppy --fs-uuid --set=root %s\n", bf->uuid);
	if (!err)
		err = bls_menu(g, out, separate, &count);
	if (!err && count) {
		snprintf(from, n, "%zu BLS entr%s (/boot/loader/entries)", count,
			 count == 1 ? "y" : "ies");
		return 0;
	}
	if (!err)
		err = guest_list(g, "/boot/efi/EFI", find_efi_cfg, &e);
	if (err && err != -ENOENT)
		return err;
	if (!e.path[0])
		return ferr(-ENOENT, "no boot entries to make a BIOS menu of: no BLS entries, and no "
			    "EFI grub.cfg with menu entries");
	out->len = 0;
	if (out->s)
		out->s[0] = '\0';
	err = guest_read(g, e.path, CFG_MAX, &text, &len);
	if (!err) {
		err = strbuf_addf(out, "# GRUB for BIOS, written by Ferry when it converted this "
				  "system from UEFI boot: %s, linuxefi and initrdefi made linux and "
				  "initrd.\n", e.path);
		if (!err)
			err = efi_menu(text, len, out);
		free(text);
	}
	snprintf(from, n, "%s", e.path);
	return err;
}

/* The check */

static int first_lba(const struct stage *s, uint64_t *lba)
{
	const struct table *t = &s->pr.disks[0].table;

	*lba = UINT64_MAX;
	for (size_t i = 0; i < t->nparts; i++)
		if (t->parts[i].start / SECTOR < *lba)
			*lba = t->parts[i].start / SECTOR;
	return *lba == UINT64_MAX ? -ENOENT : 0;
}

/* A GPT's partitions as an MBR holds them: four primary, or up to three
 * and an extended partition whose logical partitions (numbered from 5) are
 * neighbours on the disk, each with a free sector before it for its EBR,
 * as gdisk converts. */
#define LAYOUT_MAX 128
struct mbr_layout {
	const struct probe_part *pp[LAYOUT_MAX]; /* in disk order */
	int num[LAYOUT_MAX];                     /* its number in the MBR */
	uint64_t ebr[LAYOUT_MAX];                /* a logical one's EBR (LBA) */
	size_t n, first, end;                    /* [first, end) are logical */
	int ext_num;                             /* the extended partition's entry */
};

static uint64_t lba_start(const struct probe_part *pp)
{
	return pp->part->start / SECTOR;
}

static uint64_t lba_end(const struct probe_part *pp)
{
	return (pp->part->start + pp->part->size) / SECTOR;
}

static int cmp_start(const void *a, const void *b)
{
	uint64_t x = lba_start(*(const struct probe_part *const *)a);
	uint64_t y = lba_start(*(const struct probe_part *const *)b);

	return x < y ? -1 : x > y;
}

/* Whether the run [i, i + m) can be made logical: a free sector before
 * each, past what lies before it (from LBA free on for the first). */
static bool run_fits(struct mbr_layout *l, size_t i, size_t m, uint64_t free)
{
	for (size_t k = i; k < i + m; k++) {
		uint64_t after = k ? lba_end(l->pp[k - 1]) : free;

		if (after < free)
			after = free;
		if (after >= lba_start(l->pp[k]))
			return false;
		l->ebr[k] = after;
	}
	return true;
}

/* free: the first LBA after core.img. */
static bool mbr_layout(const struct stage *s, const struct probe_part *bf, uint64_t free,
		       struct mbr_layout *l, char *why, size_t n)
{
	const struct probe_disk *d = &s->pr.disks[0];
	bool used[5] = {false};
	size_t m;

	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < d->nparts && d->parts[i].part; i++) {
		if (l->n == LAYOUT_MAX) {
			snprintf(why, n, "the disk has more than %d partitions", LAYOUT_MAX);
			return false;
		}
		l->pp[l->n++] = &d->parts[i];
	}
	qsort(l->pp, l->n, sizeof(l->pp[0]), cmp_start);
	m = l->n > 4 ? l->n - 3 : 0;
	l->first = l->end = l->n;
	if (m) {
		/* the last partitions logical if they can be, /boot kept primary */
		bool found = false;

		for (int pass = 0; pass < 2 && !found; pass++)
			for (size_t i = l->n - m + 1; i-- > 0 && !found;) {
				bool has_boot = false;

				for (size_t k = i; k < i + m; k++)
					has_boot |= l->pp[k] == bf;
				if ((pass == 0 && has_boot) || !run_fits(l, i, m, free))
					continue;
				l->first = i;
				l->end = i + m;
				found = true;
			}
		if (!found) {
			snprintf(why, n, "%zu partitions: an MBR holds 4, or 3 and logical partitions "
				 "in an extended one, which need a free sector before each (for its "
				 "EBR), and %zu neighbouring partitions of this disk have none",
				 l->n, m);
			return false;
		}
	}
	/* primaries keep their numbers where they can, then take free slots */
	for (size_t k = 0; k < l->n; k++) {
		int num = l->pp[k]->part->num;

		if ((k < l->first || k >= l->end) && num >= 1 && num <= 4 && !used[num]) {
			l->num[k] = num;
			used[num] = true;
		}
	}
	for (size_t k = 0; k < l->n; k++) {
		if (k >= l->first && k < l->end) {
			l->num[k] = 5 + (int)(k - l->first);
			continue;
		}
		for (int slot = 1; !l->num[k] && slot <= 4; slot++)
			if (!used[slot]) {
				l->num[k] = slot;
				used[slot] = true;
			}
	}
	for (int slot = 1; m && !l->ext_num && slot <= 4; slot++)
		if (!used[slot])
			l->ext_num = slot;
	return true;
}

/* Whether the conversion can be made, and the MBR's layout if so. */
static bool possible(struct stage *s, struct mbr_layout *layout, char *why, size_t n)
{
	const struct table *t = &s->pr.disks[0].table;
	const struct probe_part *bf;
	struct grub_files gf;
	struct strbuf menu;
	char from[320];
	uint64_t first, core_end;
	bool separate;
	int err;

	if (!s->have_root) {
		snprintf(why, n, "the system cannot be read: %s", s->why);
		return false;
	}
	if (t->sector != SECTOR || (t->type != TABLE_GPT && t->type != TABLE_MSDOS)) {
		snprintf(why, n, "%s", t->sector != SECTOR ? "the disk's sectors are not 512 bytes"
							    : "the disk has no partition table");
		return false;
	}
	for (size_t i = 0; t->type == TABLE_GPT && i < t->nparts; i++) {
		const struct part *p = &t->parts[i];

		if ((p->start + p->size) / SECTOR > MBR_LBA_MAX + 1) {
			snprintf(why, n, "partition %d ends past 2 TiB, which an MBR cannot address",
				 p->num);
			return false;
		}
	}
	bf = boot_fs(s, &separate);
	if (bf->lv || !(fs_is_ext(bf->fs) || bf->fs == FS_XFS || bf->fs == FS_VFAT)) {
		snprintf(why, n, "/boot is %s%s, which Ferry's GRUB for BIOS does not read",
			 bf->lv ? "on a logical volume" : fs_type_name(bf->fs), "");
		return false;
	}
	if (!bf->uuid[0]) {
		snprintf(why, n, "the filesystem of /boot has no UUID for GRUB to find it by");
		return false;
	}
	err = grub_files_load(&gf, separate);
	if (err) {
		snprintf(why, n, "%s", ferr_msg());
		return false;
	}
	core_end = (gf.core_len + SECTOR - 1) / SECTOR + 1;
	grub_files_release(&gf);
	if (first_lba(s, &first) || first < core_end) {
		snprintf(why, n, "the first partition starts at sector %llu: GRUB for BIOS needs "
			 "%llu sectors before it", (unsigned long long)first,
			 (unsigned long long)core_end);
		return false;
	}
	memset(layout, 0, sizeof(*layout));
	if (t->type == TABLE_GPT && !mbr_layout(s, bf, core_end, layout, why, n))
		return false;
	strbuf_init(&menu);
	err = bios_menu(s, bf, separate, &menu, from, sizeof(from));
	strbuf_release(&menu);
	if (err) {
		snprintf(why, n, "%s", ferr_msg());
		return false;
	}
	return true;
}

bool biosboot_possible(struct stage *s, char *why, size_t n)
{
	struct mbr_layout layout;

	return possible(s, &layout, why, n);
}

/* The conversion */

static uint8_t mbr_type(const struct probe_part *pp)
{
	const char *flags = pp->part->flags;

	if (is_esp(pp))
		return 0xef;
	if (text_list_has(flags, "bios_grub"))
		return 0xda;
	if (pp->fs == FS_SWAP || text_list_has(flags, "swap"))
		return 0x82;
	if (pp->fs == FS_LVM2 || text_list_has(flags, "lvm"))
		return 0x8e;
	if (pp->fs == FS_MDRAID || text_list_has(flags, "raid"))
		return 0xfd;
	if (pp->fs == FS_NTFS)
		return 0x07;
	if (pp->fs == FS_VFAT)
		return 0x0c;
	return 0x83;
}

/* CHS as an MBR holds it (255 heads, 63 sectors; past 1023 cylinders the
 * largest value, which says "use the LBA"). */
static void put_chs(uint8_t *p, uint64_t lba)
{
	uint64_t c = lba / (255 * 63), h = lba / 63 % 255, sec = lba % 63 + 1;

	if (c > 1023) {
		p[0] = 0xfe;
		p[1] = 0xff;
		p[2] = 0xff;
		return;
	}
	p[0] = (uint8_t)h;
	p[1] = (uint8_t)(sec | ((c >> 2) & 0xc0));
	p[2] = (uint8_t)c;
}

static void put_entry(uint8_t *e, bool active, uint8_t type, uint64_t lba, uint64_t count,
		      uint64_t base)
{
	e[0] = active ? 0x80 : 0;
	put_chs(e + 1, lba);
	e[4] = type;
	put_chs(e + 5, lba + count - 1);
	put_le32(e + 8, (uint32_t)(lba - base));
	put_le32(e + 12, (uint32_t)count);
}

/* A GPT's partitions as MBR entries (mbr_layout), the one that holds /boot
 * active (or the extended partition that holds it); the disk id from the
 * GPT's disk GUID. */
static void mbr_table(const struct mbr_layout *l, const struct probe_part *bf, const uint8_t *gpt,
		      uint8_t *mbr)
{
	uint32_t id = get_le32(gpt + 56) ^ get_le32(gpt + 60) ^ get_le32(gpt + 64) ^
		      get_le32(gpt + 68);

	put_le32(mbr + MBR_DISK_ID, id ? id : 0x46455252);
	mbr[MBR_DISK_ID + 4] = mbr[MBR_DISK_ID + 5] = 0;
	memset(mbr + MBR_TABLE, 0, 64);
	for (size_t k = 0; k < l->n; k++)
		if (k < l->first || k >= l->end)
			put_entry(mbr + MBR_TABLE + 16 * (l->num[k] - 1), l->pp[k] == bf,
				  mbr_type(l->pp[k]), lba_start(l->pp[k]),
				  lba_end(l->pp[k]) - lba_start(l->pp[k]), 0);
	if (l->first < l->end) {
		bool boot = false;

		for (size_t k = l->first; k < l->end; k++)
			boot |= l->pp[k] == bf;
		put_entry(mbr + MBR_TABLE + 16 * (l->ext_num - 1), boot, 0x05, l->ebr[l->first],
			  lba_end(l->pp[l->end - 1]) - l->ebr[l->first], 0);
	}
}

/* The EBR chain of the logical partitions: each EBR's first entry the
 * partition (from the EBR), its second the next EBR (from the extended
 * partition's start). */
static int write_ebrs(struct source *src, const struct mbr_layout *l)
{
	uint64_t ext = l->ebr[l->first];
	int err = 0;

	for (size_t k = l->first; !err && k < l->end; k++) {
		uint8_t ebr[SECTOR] = {0};

		put_entry(ebr + MBR_TABLE, false, mbr_type(l->pp[k]), lba_start(l->pp[k]),
			  lba_end(l->pp[k]) - lba_start(l->pp[k]), l->ebr[k]);
		if (k + 1 < l->end)
			put_entry(ebr + MBR_TABLE + 16, false, 0x05, l->ebr[k + 1],
				  lba_end(l->pp[k + 1]) - l->ebr[k + 1], ext);
		ebr[510] = 0x55;
		ebr[511] = 0xaa;
		err = source_write_copy(src, ebr, SECTOR, l->ebr[k] * SECTOR);
	}
	return err;
}

/* What the operator finds renamed: partitions whose numbers change. */
static int report_numbers(struct fix_report *rep, const char *path, const struct mbr_layout *l)
{
	struct strbuf what;
	int err = 0;

	strbuf_init(&what);
	for (size_t k = 0; !err && k < l->n; k++)
		if (l->num[k] != l->pp[k]->part->num)
			err = strbuf_addf(&what, "%spartition %d is %d%s", what.len ? ", " : "",
					  l->pp[k]->part->num, l->num[k],
					  k >= l->first && k < l->end ? " (logical)" : "");
	if (!err && what.len)
		err = fix_change(rep, RULE, path, what.s, NULL, NULL);
	strbuf_release(&what);
	return err;
}

/* GRUB's modules into the system's /boot/grub/i386-pc. */
struct copy_ctx {
	struct grub_files *gf;
	struct guest *g;
	size_t n;
};

static int copy_module(const char *name, uint32_t mode, void *arg)
{
	struct copy_ctx *c = arg;
	char from[300], to[300], *data;
	size_t len;
	int err;

	if (!GUEST_ISREG(mode))
		return 0;
	snprintf(from, sizeof(from), "/i386-pc/%s", name);
	snprintf(to, sizeof(to), GRUB_DIR "/i386-pc/%s", name);
	err = guest_read(&c->gf->dir, from, 4u << 20, &data, &len);
	if (!err)
		err = guest_write(c->g, to, data, len, 0644);
	free(data);
	c->n += !err;
	return err;
}

static int ensure_dir(struct guest *g, const char *path)
{
	struct guest_stat st;
	int err = guest_stat(g, path, true, &st);

	if (err == -ENOENT)
		return guest_mkdir(g, path, 0755);
	if (!err && !GUEST_ISDIR(st.mode))
		return ferr(-ENOTDIR, "%s: %s is not a directory", g->name, path);
	return err;
}

/* The ESP after the conversion: nothing boots from it. It stays mounted
 * when the system needs it: a link in /boot into it (RHEL 8's grubenv,
 * which every kernel update writes), or a Debian boot loader package whose
 * upgrade installs into it (grub-install and bootctl fail without it).
 * Otherwise fstab mounts it noauto: there for "mount /boot/efi", and the
 * boot neither mounts it nor waits for it. */
static const char *const esp_packages[] = {"grub-efi-amd64", "grub-efi-amd64-signed",
					   "grub-efi-ia32", "shim-signed", "systemd-boot"};
static const char *const link_dirs[] = {"/boot", "/boot/grub", "/boot/grub2"};

/* A link's target as an absolute path, "." and ".." taken. */
static void link_path(const char *dir, const char *target, char *out, size_t n)
{
	char buf[640], *parts[64], *save = NULL;
	size_t np = 0, used = 0;

	snprintf(buf, sizeof(buf), "%s/%s", target[0] == '/' ? "" : dir, target);
	for (char *tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, ".."))
			np -= np > 0;
		else if (strcmp(tok, ".") && np < sizeof(parts) / sizeof(parts[0]))
			parts[np++] = tok;
	}
	snprintf(out, n, "%s", np ? "" : "/");
	for (size_t i = 0; i < np && used < n; i++)
		used += (size_t)snprintf(out + used, n - used, "/%s", parts[i]);
}

struct link_scan {
	struct guest *g;
	const char *dir, *mp;
	char *found;
	size_t n;
};

static int scan_link(const char *name, uint32_t mode, void *arg)
{
	struct link_scan *ls = arg;
	char path[300], target[300], abs[640];
	size_t mplen = strlen(ls->mp);

	if (!GUEST_ISLNK(mode))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", ls->dir, name);
	if (guest_readlink(ls->g, path, target, sizeof(target)))
		return 0;
	link_path(ls->dir, target, abs, sizeof(abs));
	if (!strncmp(abs, ls->mp, mplen) && (abs[mplen] == '/' || !abs[mplen])) {
		snprintf(ls->found, ls->n, "%s links into it", path);
		return 1;
	}
	return 0;
}

/* Whether the system needs its ESP mounted at mp, and why. */
static bool esp_needed(struct stage *s, const char *mp, char *why, size_t n)
{
	for (size_t i = 0; i < sizeof(link_dirs) / sizeof(link_dirs[0]); i++) {
		struct link_scan ls = {&s->root, link_dirs[i], mp, why, n};

		if (guest_list(&s->root, link_dirs[i], scan_link, &ls) == 1)
			return true;
	}
	for (size_t i = 0; i < sizeof(esp_packages) / sizeof(esp_packages[0]); i++) {
		char list[128];

		snprintf(list, sizeof(list), "/var/lib/dpkg/info/%s.list", esp_packages[i]);
		if (guest_exists(&s->root, list)) {
			snprintf(why, n, "%s installs into it", esp_packages[i]);
			return true;
		}
	}
	return false;
}

/* fstab's line for the ESP at mp mounted noauto, with a note above it. */
static int esp_noauto(struct stage *s, const char *mp, struct fix_report *rep)
{
	char *text = NULL, *before = NULL, opts[256], field[256];
	const char *line;
	size_t len, pos = 0, n, at = 0;
	struct strbuf out;
	bool done = false;
	int err = guest_read(&s->root, "/etc/fstab", 1u << 20, &text, &len);

	if (err)
		return err == -ENOENT ? 0 : err;
	strbuf_init(&out);
	while (!err && text_next_line(text, len, &pos, &line, &n)) {
		struct fstab_line fl;
		bool nl = line + n < text + len;

		fstab_line_cut(line, n, &fl);
		fstab_field(&fl, 1, field, sizeof(field));
		fstab_field(&fl, 3, opts, sizeof(opts));
		if (done || fl.nf < 4 || !fstab_same_mountpoint(field, mp) ||
		    text_list_has(opts, "noauto")) {
			err = strbuf_add(&out, line, n + nl);
			continue;
		}
		done = true;
		if (!(before = strndup(line, n)))
			err = ferr(-ENOMEM, "out of memory");
		if (!err)
			err = strbuf_addf(&out, "# ferry: boots by BIOS now; nothing needs the EFI "
				       "partition at boot (mount %s by hand)\n", mp);
		at = out.len;
		if (!err)
			err = strbuf_add(&out, line, (size_t)(fl.f[3] + fl.n[3] - line));
		if (!err)
			err = strbuf_add(&out, ",noauto", 7);
		if (!err)
			err = strbuf_add(&out, fl.f[3] + fl.n[3],
					 (size_t)(line + n - (fl.f[3] + fl.n[3])) + nl);
	}
	if (!err && done)
		err = guest_write(&s->root, "/etc/fstab", out.s, out.len, 0644);
	if (!err && done) {
		char *after = strndup(out.s + at, strcspn(out.s + at, "\n"));

		err = after ? fix_change(rep, RULE, "/etc/fstab", "the EFI partition mounted "
					 "noauto: nothing needs it to boot by BIOS", before, after)
			    : ferr(-ENOMEM, "out of memory");
		free(after);
	}
	strbuf_release(&out);
	free(before);
	free(text);
	return err;
}

static int esp_after(struct stage *s, struct fix_report *rep)
{
	static const char *const mps[] = {"/boot/efi", "/efi"};
	char why[400];

	for (size_t i = 0; i < sizeof(mps) / sizeof(mps[0]); i++) {
		int p = probe_mount_part(&s->pr, mps[i]);

		if (p < 0 || !is_esp(&s->pr.disks[s->pr.root.disk].parts[p]))
			continue;
		if (esp_needed(s, mps[i], why, sizeof(why)))
			return fix_note(rep, RULE, "/etc/fstab", "the EFI partition stays mounted at "
					"%s: %s", mps[i], why);
		return esp_noauto(s, mps[i], rep);
	}
	return 0;
}

int biosboot_convert(struct stage *s, struct fix_report *rep)
{
	const struct table *t = &s->pr.disks[0].table;
	uint8_t *mbr = NULL, *gpt = NULL, *gap = NULL, *last = NULL;
	const struct probe_part *bf;
	struct copy_ctx cc = {0};
	struct mbr_layout layout;
	struct grub_files gf;
	struct strbuf menu;
	char why[512], from[320], what[600];
	size_t core_sectors;
	uint64_t first;
	bool separate;
	int err;

	if (!possible(s, &layout, why, sizeof(why)))
		return ferr(-ENOTSUP, "%s: cannot make the image boot by BIOS: %s", s->src->path, why);
	bf = boot_fs(s, &separate);
	err = grub_files_load(&gf, separate);
	if (err)
		return err;
	strbuf_init(&menu);
	first_lba(s, &first);
	core_sectors = (gf.core_len + SECTOR - 1) / SECTOR;
	mbr = calloc(1, SECTOR);
	gpt = calloc(1, SECTOR);
	gap = calloc(core_sectors, SECTOR);
	last = calloc(1, SECTOR);
	if (!mbr || !gpt || !gap || !last) {
		err = ferr(-ENOMEM, "out of memory");
		goto out;
	}
	/* The files first: a /boot without room fails before any sector. */
	err = ensure_dir(&s->root, GRUB_DIR);
	if (!err)
		err = ensure_dir(&s->root, GRUB_DIR "/i386-pc");
	cc.gf = &gf;
	cc.g = &s->root;
	if (!err)
		err = guest_list(&gf.dir, "/i386-pc", copy_module, &cc);
	if (!err)
		err = bios_menu(s, bf, separate, &menu, from, sizeof(from));
	if (!err && menu.len)
		err = guest_write(&s->root, GRUB_DIR "/grub.cfg", menu.s, menu.len, 0644);
	if (err)
		goto out;
	snprintf(what, sizeof(what), "GRUB for BIOS: %zu modules in " GRUB_DIR "/i386-pc; %s",
		 cc.n, menu.len ? "a menu made from " : "the menu: ");
	snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s", from);
	err = fix_change(rep, RULE, GRUB_DIR, what, NULL, NULL);
	if (!err)
		err = esp_after(s, rep);
	if (err)
		goto out;

	/* The MBR: boot.img around the table, pointed at core.img at LBA 1 */
	err = source_pread(s->src, mbr, SECTOR, 0);
	if (!err && t->type == TABLE_GPT)
		err = source_pread(s->src, gpt, SECTOR, SECTOR);
	if (err)
		goto out;
	memcpy(gap, mbr, SECTOR); /* the old sector 0, for its BPB bytes and table */
	memcpy(mbr, gf.boot, SECTOR);
	memcpy(mbr + BOOT_BPB_START, gap + BOOT_BPB_START, BOOT_BPB_END - BOOT_BPB_START);
	put_le64(mbr + BOOT_KERNEL_SECTOR, 1);
	mbr[BOOT_DRIVE] = 0xff;
	mbr[BOOT_DRIVE_CHECK] = mbr[BOOT_DRIVE_CHECK + 1] = 0x90;
	if (t->type == TABLE_GPT)
		mbr_table(&layout, bf, gpt, mbr);
	else
		memcpy(mbr + MBR_DISK_ID, gap + MBR_DISK_ID, 510 - MBR_DISK_ID);
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	memset(gap, 0, core_sectors * SECTOR);
	memcpy(gap, gf.core, gf.core_len);
	err = source_write_copy(s->src, gap, core_sectors * SECTOR, SECTOR);
	if (!err && t->type == TABLE_GPT && t->gpt.valid &&
	    t->gpt.array_lba * SECTOR + t->gpt.array_bytes <= first * SECTOR) {
		/* what is left of the primary GPT after core.img */
		uint64_t from_lba = 1 + core_sectors, end = t->gpt.array_lba + t->gpt.array_bytes / SECTOR;
		uint8_t zero[SECTOR] = {0};

		for (uint64_t lba = from_lba; !err && lba < end; lba++)
			err = source_write_copy(s->src, zero, SECTOR, lba * SECTOR);
	}
	if (!err && t->type == TABLE_GPT && layout.first < layout.end)
		err = write_ebrs(s->src, &layout);
	/* the backup GPT header at the disk's end, which an MBR disk has not */
	if (!err && t->type == TABLE_GPT && s->src->size >= 2 * SECTOR &&
	    !source_pread(s->src, last, SECTOR, s->src->size - SECTOR) &&
	    !memcmp(last, "EFI PART", 8)) {
		memset(last, 0, SECTOR);
		err = source_write_copy(s->src, last, SECTOR, s->src->size - SECTOR);
	}
	if (!err)
		err = source_write_copy(s->src, mbr, SECTOR, 0);
	if (t->type != TABLE_GPT)
		snprintf(what, sizeof(what), "boots by BIOS: GRUB for BIOS in the MBR and the "
			 "sectors after it");
	else if (layout.first == layout.end)
		snprintf(what, sizeof(what), "boots by BIOS: the GPT made an MBR (the same partitions "
			 "and numbers), GRUB for BIOS in the MBR and the sectors after it");
	else
		snprintf(what, sizeof(what), "boots by BIOS: the GPT made an MBR (the same partitions, "
			 "%zu of them logical in extended partition %d), GRUB for BIOS in the MBR and "
			 "the sectors after it", layout.end - layout.first, layout.ext_num);
	if (!err)
		err = fix_change(rep, RULE, s->src->path, what, NULL, NULL);
	if (!err && t->type == TABLE_GPT)
		err = report_numbers(rep, s->src->path, &layout);
out:
	free(mbr);
	free(gpt);
	free(gap);
	free(last);
	strbuf_release(&menu);
	grub_files_release(&gf);
	return err;
}
