/* What ferry scan shows of a probe, as text and as JSON (the schema is
 * docs/scan-json.md); ferry run shows the same text in its log. */
#include <stdio.h>
#include <string.h>

#include "disk/probe.h"
#include "util/size.h"

static bool is_loc(const struct probe_loc *l, size_t d, size_t p)
{
	return l->disk == (int)d && l->part == (int)p;
}

static bool is_loc_part(const struct probe *pr, const struct probe_loc *l,
			const struct probe_part *pp)
{
	return l->disk >= 0 && &pr->disks[l->disk].parts[l->part] == pp;
}

/* The volume groups whose first found PV is on disk d: their logical
 * volumes, what is on them, and the ones Ferry does not read. */
static void report_vgs_text(FILE *f, const struct probe *pr, size_t d)
{
	char b1[16], b2[16];

	for (size_t g = 0; g < pr->lvm.nvgs; g++) {
		const struct lvm_vg *vg = &pr->lvm.vgs[g];
		bool here = false, first = true;

		/* A group is shown under the disk of its first PV found. */
		for (size_t i = 0; i < vg->npvs && !here; i++)
			if (vg->pvs[i].dev >= 0) {
				here = pr->pv_at[vg->pvs[i].dev].disk == (int)d;
				break;
			}
		if (!here)
			continue;
		fprintf(f, "  volume group %s  uuid %s  extent %s  seqno %llu  PVs:", vg->name,
			vg->id, fmt_bytes(b1, sizeof(b1), vg->extent_size),
			(unsigned long long)vg->seqno);
		for (size_t i = 0; i < vg->npvs; i++) {
			const struct lvm_pv *pv = &vg->pvs[i];
			char at[LVM_NAME_MAX + 64] = "not found";

			if (pv->dev >= 0) {
				const struct probe_loc *l = &pr->pv_at[pv->dev];
				snprintf(at, sizeof(at), "%s partition %d", pr->disks[l->disk].src.path,
					 pr->disks[l->disk].parts[l->part].part->num);
			}
			fprintf(f, "%s %s (%s)", first ? "" : ",", pv->name, at);
			first = false;
		}
		fputc('\n', f);
		fprintf(f, "    %-20s %10s %-8s %-6s %-12s %-36s %10s\n", "LV", "size", "kind", "fs",
			"label", "uuid", "used");
		for (size_t l = 0; l < vg->nlvs; l++) {
			const struct lvm_lv *lv = &vg->lvs[l];
			const struct probe_part *pp = probe_lv_part(pr, lv);

			if (!lv->visible)
				continue;
			fprintf(f, "    %-20s %10s %-8s %-6s %-12s %-36s %10s", lv->name,
				fmt_bytes(b1, sizeof(b1), lv->size), lvm_kind_name(lv->kind),
				pp ? fs_type_name(pp->fs) : "-",
				pp && pp->label[0] ? pp->label : "-",
				pp && pp->uuid[0] ? pp->uuid : "-",
				pp && pp->have_used ? fmt_bytes(b2, sizeof(b2), pp->used) : "-");
			if (pp)
				fprintf(f, "%s%s%s", is_loc_part(pr, &pr->root, pp) ? "  [/]" : "",
					is_loc_part(pr, &pr->boot, pp) ? "  [/boot]" : "",
					pp->needs_recovery ? "  (journal needs recovery)" : "");
			else
				fprintf(f, "  (not read: %s)", lv->unmapped);
			fputc('\n', f);
		}
	}
}

void probe_report_text(FILE *f, const struct probe *pr)
{
	char b1[16], b2[16];

	for (size_t d = 0; d < pr->n; d++) {
		const struct probe_disk *pd = &pr->disks[d];
		const struct source *s = &pd->src;

		fprintf(f, "%s  %s (%llu bytes)  table %s  sectors %u/%u", s->path,
		       fmt_bytes(b1, sizeof(b1), s->size), (unsigned long long)s->size,
		       pd->table.type_name, s->lsec, s->psec);
		if (s->model[0])
			fprintf(f, "  model \"%s\"", s->model);
		if (s->serial[0])
			fprintf(f, "  serial \"%s\"", s->serial);
		if (s->in_use[0])
			fprintf(f, "  [in use: %s]", s->in_use);
		if (pr->root.disk == (int)d || pr->boot.disk == (int)d)
			fprintf(f, "  [system disk:%s%s]", pr->root.disk == (int)d ? " /" : "",
			       pr->boot.disk == (int)d ? " /boot" : "");
		fputc('\n', f);
		if (pd->table.type == TABLE_NONE) {
			fprintf(f, "  no partition table; content: %s\n\n", fs_type_name(pd->whole_fs));
			continue;
		}
		fprintf(f, "  %-3s %12s %12s %10s %-8s %-5s %-12s %-6s %-12s %-36s %10s\n", "#",
		       "start", "end", "size", "kind", "type", "flags", "fs", "label", "uuid",
		       "used");
		for (size_t p = 0; p < pd->nparts; p++) {
			const struct probe_part *pp = &pd->parts[p];
			const struct part *pt = pp->part;
			char type[12] = "-";
			unsigned sec = pd->table.sector ? pd->table.sector : 512;

			if (pt->type_id)
				snprintf(type, sizeof(type), "0x%02x", pt->type_id);
			fprintf(f, "  %-3d %12llu %12llu %10s %-8s %-5s %-12s %-6s %-12s %-36s %10s%s%s%s",
			       pt->num, (unsigned long long)(pt->start / sec),
			       (unsigned long long)((pt->start + pt->size) / sec - 1),
			       fmt_bytes(b1, sizeof(b1), pt->size), table_kind_name(pt->kind), type,
			       pt->flags[0] ? pt->flags : "-",
			       pt->kind == PART_EXTENDED ? "-" : fs_type_name(pp->fs),
			       pp->label[0] ? pp->label : "-", pp->uuid[0] ? pp->uuid : "-",
			       pp->have_used ? fmt_bytes(b2, sizeof(b2), pp->used) : "-",
			       is_loc(&pr->root, d, p) ? "  [/]" : "",
			       is_loc(&pr->boot, d, p) ? "  [/boot]" : "",
			       !pp->needs_recovery ? "" : pp->fs == FS_XFS ?
			       "  (log needs recovery)" : "  (journal needs recovery)");
			if (pp->vg)
				fprintf(f, "  [LVM PV of %s]", pp->vg->name);
			fputc('\n', f);
		}
		report_vgs_text(f, pr, d);
		fputc('\n', f);
	}
	if (pr->root.disk < 0) {
		fprintf(f, "root: not found (no ext2/3/4 or XFS filesystem with an /etc/fstab that mounts "
		       "itself at /)\n");
		return;
	}
	char name[LVM_NAME_MAX * 2 + 32];
	fprintf(f, "root: %s %s: %s\n", pr->disks[pr->root.disk].src.path,
		probe_part_name(&pr->disks[pr->root.disk].parts[pr->root.part], name, sizeof(name)),
		pr->root.reason);
	if (pr->boot.disk >= 0)
		fprintf(f, "boot: %s %s: %s\n", pr->disks[pr->boot.disk].src.path,
			probe_part_name(&pr->disks[pr->boot.disk].parts[pr->boot.part], name,
					sizeof(name)), pr->boot.reason);
	else
		fprintf(f, "boot: not found: %s\n", pr->boot.reason);
}

static void json_loc(struct json *j, const char *key, const struct probe *pr,
		     const struct probe_loc *l)
{
	if (l->disk < 0 && !l->reason[0]) {
		json_str(j, key, NULL);
		return;
	}
	json_obj_begin(j, key);
	json_str(j, "disk", l->disk >= 0 ? pr->disks[l->disk].src.path : NULL);
	if (l->disk >= 0) {
		const struct probe_part *pp = &pr->disks[l->disk].parts[l->part];
		if (pp->part)
			json_u64(j, "partition", (uint64_t)pp->part->num);
		else
			json_str(j, "partition", NULL);
		if (pp->lv) {
			char name[LVM_NAME_MAX * 2 + 2];
			snprintf(name, sizeof(name), "%s/%s", pp->vg->name, pp->lv->name);
			json_str(j, "logical_volume", name);
		} else {
			json_str(j, "logical_volume", NULL);
		}
	}
	json_str(j, "reason", l->reason);
	json_obj_end(j);
}

static void json_volume(struct json *j, const struct probe *pr, const struct probe_part *pp)
{
	json_str(j, "fs", pp ? fs_type_name(pp->fs) : NULL);
	json_str(j, "label", pp && pp->label[0] ? pp->label : NULL);
	json_str(j, "uuid", pp && pp->uuid[0] ? pp->uuid : NULL);
	if (pp && pp->have_used)
		json_u64(j, "used_bytes", pp->used);
	else
		json_str(j, "used_bytes", NULL);
	json_bool(j, "needs_recovery", pp && pp->needs_recovery);
	json_bool(j, "holds_root", pp && is_loc_part(pr, &pr->root, pp));
	json_bool(j, "holds_boot", pp && is_loc_part(pr, &pr->boot, pp));
}

static void report_vgs_json(struct json *j, const struct probe *pr)
{
	json_arr_begin(j, "volume_groups");
	for (size_t g = 0; g < pr->lvm.nvgs; g++) {
		const struct lvm_vg *vg = &pr->lvm.vgs[g];

		json_obj_begin(j, NULL);
		json_str(j, "name", vg->name);
		json_str(j, "uuid", vg->id);
		json_u64(j, "seqno", vg->seqno);
		json_u64(j, "extent_size", vg->extent_size);
		json_arr_begin(j, "physical_volumes");
		for (size_t i = 0; i < vg->npvs; i++) {
			const struct lvm_pv *pv = &vg->pvs[i];
			const struct probe_loc *l = pv->dev >= 0 ? &pr->pv_at[pv->dev] : NULL;
			const struct probe_part *at = l ? &pr->disks[l->disk].parts[l->part] : NULL;
			const char *disk = l ? pr->disks[l->disk].src.path : NULL;

			json_obj_begin(j, NULL);
			json_str(j, "name", pv->name);
			json_str(j, "uuid", pv->id);
			json_str(j, "device", pv->device[0] ? pv->device : NULL);
			json_str(j, "disk", disk);
			if (at)
				json_u64(j, "partition", (uint64_t)at->part->num);
			else
				json_str(j, "partition", NULL);
			json_u64(j, "pe_start", pv->pe_start);
			json_u64(j, "pe_count", pv->pe_count);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_arr_begin(j, "logical_volumes");
		for (size_t l = 0; l < vg->nlvs; l++) {
			const struct lvm_lv *lv = &vg->lvs[l];

			json_obj_begin(j, NULL);
			json_str(j, "name", lv->name);
			json_str(j, "lv_uuid", lv->id);
			json_bool(j, "visible", lv->visible);
			json_u64(j, "size", lv->size);
			json_str(j, "kind", lvm_kind_name(lv->kind));
			json_str(j, "type", lv->type);
			json_str(j, "not_read", lv->unmapped[0] ? lv->unmapped : NULL);
			json_arr_begin(j, "segments");
			for (size_t s = 0; s < lv->nsegs; s++) {
				const struct lvm_seg *sg = &lv->segs[s];
				json_obj_begin(j, NULL);
				json_u64(j, "start_extent", sg->start);
				json_u64(j, "extent_count", sg->count);
				json_str(j, "type", sg->type);
				json_u64(j, "stripe_size", sg->stripe_size);
				json_arr_begin(j, "areas");
				for (unsigned a = 0; a < sg->nareas; a++) {
					json_obj_begin(j, NULL);
					json_str(j, "pv", vg->pvs[sg->areas[a].pv].name);
					json_u64(j, "first_extent", sg->areas[a].pe);
					json_u64(j, "last_extent", sg->areas[a].pe +
						 sg->count / sg->nareas - 1);
					json_obj_end(j);
				}
				json_arr_end(j);
				json_obj_end(j);
			}
			json_arr_end(j);
			/* Where its bytes are on the disk. */
			json_arr_begin(j, "extents");
			for (size_t e = 0; e < lv->next; e++) {
				json_obj_begin(j, NULL);
				json_u64(j, "offset", lv->ext[e].off);
				json_u64(j, "length", lv->ext[e].len);
				json_u64(j, "disk_offset", lv->ext[e].src_off);
				json_obj_end(j);
			}
			json_arr_end(j);
			json_volume(j, pr, lv->visible ? probe_lv_part(pr, lv) : NULL);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
}

void probe_report_json(struct json *j, const struct probe *pr)
{
	json_arr_begin(j, "disks");
	for (size_t d = 0; d < pr->n; d++) {
		const struct probe_disk *pd = &pr->disks[d];
		const struct source *s = &pd->src;
		unsigned sec = pd->table.sector ? pd->table.sector : s->lsec;

		json_obj_begin(j, NULL);
		json_str(j, "path", s->path);
		json_u64(j, "size", s->size);
		json_u64(j, "logical_sector_size", s->lsec);
		json_u64(j, "physical_sector_size", s->psec);
		json_str(j, "model", s->model[0] ? s->model : NULL);
		json_str(j, "serial", s->serial[0] ? s->serial : NULL);
		json_str(j, "table", pd->table.type_name);
		json_str(j, "in_use", s->in_use[0] ? s->in_use : NULL);
		json_bool(j, "holds_root", pr->root.disk == (int)d);
		json_bool(j, "holds_boot", pr->boot.disk == (int)d);
		if (pd->table.type == TABLE_NONE)
			json_str(j, "fs", fs_type_name(pd->whole_fs));
		json_arr_begin(j, "partitions");
		for (size_t p = 0; p < pd->nparts; p++) {
			const struct probe_part *pp = &pd->parts[p];
			const struct part *pt = pp->part;
			char type[12];

			json_obj_begin(j, NULL);
			json_u64(j, "number", (uint64_t)pt->num);
			json_u64(j, "start", pt->start);
			json_u64(j, "end", pt->start + pt->size);
			json_u64(j, "size", pt->size);
			json_u64(j, "start_sector", pt->start / sec);
			json_u64(j, "end_sector", (pt->start + pt->size) / sec - 1);
			json_str(j, "kind", table_kind_name(pt->kind));
			snprintf(type, sizeof(type), "0x%02x", pt->type_id);
			json_str(j, "type", pd->table.type == TABLE_MSDOS ? type : NULL);
			json_str(j, "name", pt->name[0] ? pt->name : NULL);
			json_arr_begin(j, "flags");
			for (const char *f = pt->flags; *f;) {
				char flag[40];
				size_t n = strcspn(f, ",");
				snprintf(flag, sizeof(flag), "%.*s", (int)n, f);
				json_str(j, NULL, flag);
				f += n + (f[n] == ',');
			}
			json_arr_end(j);
			json_str(j, "fs", pt->kind == PART_EXTENDED ? NULL : fs_type_name(pp->fs));
			json_str(j, "label", pp->label[0] ? pp->label : NULL);
			json_str(j, "uuid", pp->uuid[0] ? pp->uuid : NULL);
			json_str(j, "partuuid", pp->partuuid[0] ? pp->partuuid : NULL);
			if (pp->have_used)
				json_u64(j, "used_bytes", pp->used);
			else
				json_str(j, "used_bytes", NULL);
			json_bool(j, "needs_recovery", pp->needs_recovery);
			json_str(j, "volume_group", pp->vg ? pp->vg->name : NULL);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	report_vgs_json(j, pr);
	json_loc(j, "root", pr, &pr->root);
	json_loc(j, "boot", pr, &pr->boot);
	json_arr_begin(j, "warnings");
	for (size_t i = 0; i < pr->warnings.n; i++)
		json_str(j, NULL, pr->warnings.v[i]);
	json_arr_end(j);
}

