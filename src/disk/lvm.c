/* LVM2 physical volumes (see lvm.h): the label in one of the first four
 * sectors, the metadata areas it lists, the newest valid text in them, and
 * logical volumes mapped onto the disks the volumes are on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/lvm.h"
#include "util/endian.h"
#include "util/err.h"

#define SECTOR 512u
#define LABEL_SCAN 4           /* sectors searched for the label */
#define MDA_HEADER 512u
#define MDA_MAGIC " LVM2 x[5A%r0N*>"
#define RAW_LOCN_IGNORED 0x1u
#define INITIAL_CRC 0xf597a6cfu

/* LVM's checksum: CRC-32 (reflected, polynomial 0xedb88320) from its own
 * initial value, without the final inversion. */
static uint32_t lvm_crc(uint32_t crc, const uint8_t *p, size_t n)
{
	static uint32_t table[256];

	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c >> 1) ^ (c & 1 ? 0xedb88320u : 0);
			table[i] = c;
		}
	}
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

/* "epQu0Jv8e8..." as LVM prints it: 6-4-4-4-4-4-6. */
static void format_id(char out[40], const uint8_t *raw)
{
	static const int groups[] = {6, 4, 4, 4, 4, 4, 6};
	char *o = out;

	for (size_t g = 0, k = 0; g < 7; g++) {
		if (g)
			*o++ = '-';
		for (int i = 0; i < groups[g]; i++) {
			uint8_t c = raw[k++];
			*o++ = c >= 0x21 && c < 0x7f ? (char)c : '?';
		}
	}
	*o = '\0';
}

/* The label's sector, or -1. */
static int find_label(const struct blkdev *d, uint8_t sec[SECTOR])
{
	for (int s = 0; s < LABEL_SCAN; s++) {
		if ((uint64_t)(s + 1) * SECTOR > d->size || blk_read(d, sec, SECTOR, s * SECTOR))
			return -1;
		if (memcmp(sec, "LABELONE", 8) == 0 && get_le64(sec + 8) == (uint64_t)s &&
		    memcmp(sec + 24, "LVM2 001", 8) == 0)
			return s;
	}
	return -1;
}

bool lvm_is_pv(const struct blkdev *d)
{
	uint8_t sec[SECTOR];

	return find_label(d, sec) >= 0;
}

/* The current text of the metadata area at off; 0 with *text NULL when the
 * area holds none (or it is marked ignored). */
static int read_mda(const struct blkdev *d, uint64_t off, uint64_t len, char **text,
		    size_t *text_len)
{
	uint8_t h[MDA_HEADER];
	int err;

	*text = NULL;
	if (len < 2 * MDA_HEADER || off > d->size || len > d->size - off)
		return ferr(-EINVAL, "%s: LVM metadata area at %llu (%llu bytes) is outside the "
			    "volume", d->name, (unsigned long long)off, (unsigned long long)len);
	err = blk_read(d, h, sizeof(h), off);
	if (err)
		return err;
	if (memcmp(h + 4, MDA_MAGIC, 16) != 0 || get_le32(h + 20) != 1 ||
	    get_le64(h + 24) != off || get_le64(h + 32) != len)
		return ferr(-EINVAL, "%s: no LVM metadata area header at %llu", d->name,
			    (unsigned long long)off);
	if (lvm_crc(INITIAL_CRC, h + 4, MDA_HEADER - 4) != get_le32(h))
		return ferr(-EINVAL, "%s: the LVM metadata area header at %llu has a wrong "
			    "checksum", d->name, (unsigned long long)off);
	/* The first location is the current text; the rest of the list is
	 * unused by LVM2. */
	uint64_t at = get_le64(h + 40), size = get_le64(h + 48);
	uint32_t sum = get_le32(h + 56), flags = get_le32(h + 60);
	if ((at == 0 && size == 0) || (flags & RAW_LOCN_IGNORED))
		return 0;
	if (at < MDA_HEADER || at >= len || size == 0 || size > len - MDA_HEADER ||
	    size > LVM_TEXT_MAX)
		return ferr(-EINVAL, "%s: the LVM metadata text at %llu+%llu does not fit its "
			    "area", d->name, (unsigned long long)at, (unsigned long long)size);
	char *buf = malloc(size + 1);
	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	/* The area is a ring after its header: the text may wrap. */
	uint64_t first = size < len - at ? size : len - at;
	err = blk_read(d, buf, first, off + at);
	if (!err && first < size)
		err = blk_read(d, buf + first, size - first, off + MDA_HEADER);
	if (!err && lvm_crc(INITIAL_CRC, (uint8_t *)buf, size) != sum)
		err = ferr(-EINVAL, "%s: the LVM metadata text at %llu has a wrong checksum",
			   d->name, (unsigned long long)(off + at));
	if (err) {
		free(buf);
		return err;
	}
	/* The text ends at its first NUL (LVM counts one in the size). */
	buf[size] = '\0';
	*text = buf;
	*text_len = strlen(buf);
	return 0;
}

/* The seqno of the one volume group in a text, without parsing it all: the
 * first "seqno = N" line. */
static uint64_t text_seqno(const char *text)
{
	const char *p = strstr(text, "\nseqno = ");

	return p ? strtoull(p + 9, NULL, 10) : 0;
}

int lvm_pv_read(const struct blkdev *d, struct lvm_pvinfo *pv)
{
	uint8_t sec[SECTOR];
	int s = find_label(d, sec), nmda = 0, err = 0;

	memset(pv, 0, sizeof(*pv));
	if (s < 0)
		return ferr(-EINVAL, "%s: no LVM2 label", d->name);
	if (lvm_crc(INITIAL_CRC, sec + 20, SECTOR - 20) != get_le32(sec + 16))
		return ferr(-EINVAL, "%s: the LVM2 label has a wrong checksum", d->name);
	uint32_t hdr = get_le32(sec + 20);
	if (hdr < 32 || hdr > SECTOR - 32 - 8 - 16)
		return ferr(-EINVAL, "%s: the LVM2 label is malformed", d->name);
	const uint8_t *p = sec + hdr, *end = sec + SECTOR;
	format_id(pv->id, p);
	pv->dev_size = get_le64(p + 32);
	p += 40;
	/* Two lists of {offset, size}, each ended by a zero entry: the data
	 * areas, then the metadata areas. */
	for (int list = 0; list < 2; list++) {
		for (int k = 0;; k++) {
			if (p + 16 > end)
				return ferr(-EINVAL, "%s: the LVM2 label's area lists are not "
					    "terminated", d->name);
			uint64_t off = get_le64(p), len = get_le64(p + 8);
			p += 16;
			if (off == 0 && len == 0)
				break;
			if (list == 0 && k == 0)
				pv->data_off = off;
			if (list == 1 && nmda < 2) {
				pv->mda_off[nmda] = off;
				pv->mda_len[nmda++] = len;
			}
		}
	}
	/* The newest text of the areas whose checks pass. */
	for (int m = 0; m < nmda; m++) {
		char *text;
		size_t len;
		int e = read_mda(d, pv->mda_off[m], pv->mda_len[m], &text, &len);
		if (e) {
			ferry_warn("%s", ferr_msg());
			pv->bad_mdas++;
			err = e;
			continue;
		}
		if (text && (!pv->text || text_seqno(text) > pv->seqno)) {
			free(pv->text);
			pv->text = text;
			pv->text_len = len;
			pv->seqno = text_seqno(text);
		} else {
			free(text);
		}
	}
	if (nmda > 0 && pv->bad_mdas == nmda)
		return ferr(err, "%s: no LVM metadata area can be read", d->name);
	return 0;
}

void lvm_pvinfo_release(struct lvm_pvinfo *pv)
{
	free(pv->text);
	memset(pv, 0, sizeof(*pv));
}

struct map_ctx {
	struct lvm_lv *lv;
	size_t cap;
	uint64_t at; /* the next offset of the volume */
};

static int add_ext(void *arg, uint64_t src_off, uint64_t len)
{
	struct map_ctx *c = arg;
	struct lvm_lv *lv = c->lv;

	if (lv->next && lv->ext[lv->next - 1].src_off + lv->ext[lv->next - 1].len == src_off) {
		lv->ext[lv->next - 1].len += len;
	} else {
		if (lv->next == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 8;
			struct blk_extent *e = realloc(lv->ext, cap * sizeof(*e));
			if (!e)
				return ferr(-ENOMEM, "out of memory");
			lv->ext = e;
			c->cap = cap;
		}
		lv->ext[lv->next++] = (struct blk_extent){c->at, len, src_off};
	}
	c->at += len;
	return 0;
}

/* The volume's bytes in order, as pieces of the PVs' devices. */
static int map_lv(struct lvm_vg *vg, struct lvm_lv *lv, const struct blkdev *devs)
{
	struct map_ctx c = {lv, 0, 0};
	int err = 0;

	for (size_t s = 0; s < lv->nsegs && !err; s++) {
		const struct lvm_seg *seg = &lv->segs[s];
		uint64_t bytes = seg->count * vg->extent_size;
		uint64_t chunk = seg->nareas > 1 ? seg->stripe_size : bytes;

		/* Stripe by stripe across the areas; a linear segment is one
		 * chunk of one area. */
		for (uint64_t pos = 0; pos < bytes && !err;) {
			uint64_t n = chunk < bytes - pos ? chunk : bytes - pos;
			uint64_t idx = pos / chunk;
			const struct lvm_area *a = &seg->areas[idx % seg->nareas];
			const struct lvm_pv *pv = &vg->pvs[a->pv];
			uint64_t off = pv->pe_start + a->pe * vg->extent_size +
				       idx / seg->nareas * chunk;
			err = blk_map(&devs[pv->dev], off, n, add_ext, &c);
			pos += n;
		}
	}
	if (err) {
		free(lv->ext);
		lv->ext = NULL;
		lv->next = 0;
	}
	return err;
}

int lvm_map(struct lvm_vg *vg, const struct blkdev *devs, const char (*ids)[40], size_t n)
{
	for (size_t p = 0; p < vg->npvs; p++) {
		struct lvm_pv *pv = &vg->pvs[p];
		pv->dev = -1;
		for (size_t i = 0; i < n && pv->dev < 0; i++)
			if (strcmp(ids[i], pv->id) == 0)
				pv->dev = (int)i;
		if (pv->dev >= 0 &&
		    (pv->pe_start > devs[pv->dev].size ||
		     pv->pe_count > (devs[pv->dev].size - pv->pe_start) / vg->extent_size))
			return ferr(-EINVAL, "%s: volume group %s's extents on it run past its end",
				    devs[pv->dev].name, vg->name);
	}
	for (size_t l = 0; l < vg->nlvs; l++) {
		struct lvm_lv *lv = &vg->lvs[l];
		const struct source *src = NULL;

		lv->unmapped[0] = '\0';
		free(lv->ext);
		lv->ext = NULL;
		lv->next = 0;
		lv->src = NULL;
		if (lv->kind != LVM_LINEAR && lv->kind != LVM_STRIPED) {
			snprintf(lv->unmapped, sizeof(lv->unmapped), "a %s volume (%s)",
				 lvm_kind_name(lv->kind), lv->type);
			continue;
		}
		for (size_t s = 0; s < lv->nsegs && !lv->unmapped[0]; s++) {
			for (unsigned a = 0; a < lv->segs[s].nareas; a++) {
				const struct lvm_pv *pv = &vg->pvs[lv->segs[s].areas[a].pv];
				if (pv->dev < 0) {
					snprintf(lv->unmapped, sizeof(lv->unmapped),
						 "its physical volume %s (%s, last seen as %s) is "
						 "not on the disks read", pv->name, pv->id,
						 pv->device[0] ? pv->device : "?");
					break;
				}
				if (src && devs[pv->dev].src != src) {
					snprintf(lv->unmapped, sizeof(lv->unmapped),
						 "it spans more than one disk");
					break;
				}
				src = devs[pv->dev].src;
			}
		}
		if (lv->unmapped[0])
			continue;
		int err = map_lv(vg, lv, devs);
		if (err)
			return err;
		lv->src = src;
	}
	return 0;
}

int lvm_lv_dev(struct blkdev *d, const struct lvm_vg *vg, const struct lvm_lv *lv, bool copy)
{
	char name[sizeof(vg->name) + sizeof(lv->name) + 32];

	if (!lv->ext || !lv->src)
		return ferr(-EINVAL, "logical volume %s/%s cannot be read: %s", vg->name, lv->name,
			    lv->unmapped[0] ? lv->unmapped : "it is not mapped");
	snprintf(name, sizeof(name), "logical volume %s/%s", vg->name, lv->name);
	return blk_extents(d, lv->src, lv->ext, lv->next, copy, name);
}

void lvm_dm_name(char *out, size_t size, const char *vg, const char *lv)
{
	size_t o = 0;
	const char *parts[] = {vg, lv};

	for (int k = 0; k < 2; k++) {
		if (k && o + 1 < size)
			out[o++] = '-';
		for (const char *p = parts[k]; *p && o + 2 < size; p++) {
			if (*p == '-')
				out[o++] = '-';
			out[o++] = *p;
		}
	}
	out[o < size ? o : size - 1] = '\0';
}

bool lvm_names_lv(const char *path, const struct lvm_vg *vg, const struct lvm_lv *lv)
{
	char dm[2 * (LVM_NAME_MAX * 2) + 8], want[sizeof(dm) + 64];
	char ids[96];
	size_t n;

	lvm_dm_name(dm, sizeof(dm), vg->name, lv->name);
	snprintf(want, sizeof(want), "/dev/mapper/%s", dm);
	if (strcmp(path, want) == 0)
		return true;
	snprintf(want, sizeof(want), "/dev/disk/by-id/dm-name-%s", dm);
	if (strcmp(path, want) == 0)
		return true;
	n = strlen("/dev/") + strlen(vg->name);
	if (strncmp(path, "/dev/", 5) == 0 && strncmp(path + 5, vg->name, strlen(vg->name)) == 0 &&
	    path[n] == '/' && strcmp(path + n + 1, lv->name) == 0)
		return true;
	/* dm-uuid-LVM- then the VG's and the LV's ids without dashes. */
	n = 0;
	for (const char *p = vg->id; *p && n + 1 < sizeof(ids); p++)
		if (*p != '-')
			ids[n++] = *p;
	for (const char *p = lv->id; *p && n + 1 < sizeof(ids); p++)
		if (*p != '-')
			ids[n++] = *p;
	ids[n] = '\0';
	snprintf(want, sizeof(want), "/dev/disk/by-id/dm-uuid-LVM-%s", ids);
	return strcmp(path, want) == 0;
}

int lvm_set_read(struct lvm_set *s, const struct blkdev *devs, size_t n)
{
	char(*ids)[40] = calloc(n ? n : 1, sizeof(*ids));
	int err = 0;

	memset(s, 0, sizeof(*s));
	s->pvs = calloc(n ? n : 1, sizeof(*s->pvs));
	s->vgs = calloc(n ? n : 1, sizeof(*s->vgs));
	if (!ids || !s->pvs || !s->vgs) {
		free(ids);
		lvm_set_release(s);
		return ferr(-ENOMEM, "out of memory");
	}
	s->npvs = n;
	for (size_t i = 0; i < n; i++) {
		if (lvm_pv_read(&devs[i], &s->pvs[i])) {
			ferry_warn("%s", ferr_msg());
			lvm_pvinfo_release(&s->pvs[i]);
			continue;
		}
		snprintf(ids[i], sizeof(ids[i]), "%s", s->pvs[i].id);
	}
	/* Each group once, from the newest metadata any of its PVs holds. */
	for (size_t i = 0; i < n && !err; i++) {
		struct lvm_vg vg;
		size_t k;

		if (!s->pvs[i].text)
			continue;
		int e = lvm_vg_parse(s->pvs[i].text, s->pvs[i].text_len, &vg);
		if (e) {
			if (e == -ENOMEM)
				err = e;
			ferry_warn("%s: %s", devs[i].name, ferr_msg());
			continue;
		}
		for (k = 0; k < s->nvgs && strcmp(s->vgs[k].id, vg.id); k++)
			;
		if (k == s->nvgs) {
			s->vgs[s->nvgs++] = vg;
		} else if (vg.seqno > s->vgs[k].seqno) {
			lvm_vg_release(&s->vgs[k]);
			s->vgs[k] = vg;
		} else {
			lvm_vg_release(&vg);
		}
	}
	for (size_t k = 0; k < s->nvgs && !err; k++) {
		struct lvm_vg *vg = &s->vgs[k];
		int e = lvm_map(vg, devs, (const char(*)[40])ids, n);
		if (e == -ENOMEM) {
			err = e;
		} else if (e) {
			ferry_warn("%s", ferr_msg());
			for (size_t l = 0; l < vg->nlvs; l++) {
				free(vg->lvs[l].ext);
				vg->lvs[l].ext = NULL;
				vg->lvs[l].next = 0;
				snprintf(vg->lvs[l].unmapped, sizeof(vg->lvs[l].unmapped),
					 "its volume group's metadata does not fit its disks");
			}
		}
	}
	free(ids);
	if (err)
		lvm_set_release(s);
	return err;
}

void lvm_set_release(struct lvm_set *s)
{
	for (size_t i = 0; s->pvs && i < s->npvs; i++)
		lvm_pvinfo_release(&s->pvs[i]);
	for (size_t i = 0; s->vgs && i < s->nvgs; i++)
		lvm_vg_release(&s->vgs[i]);
	free(s->pvs);
	free(s->vgs);
	memset(s, 0, sizeof(*s));
}
