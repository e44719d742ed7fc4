/* What a capture says when it is done: the checks before the copy, the
 * text report, the JSON report, and the details the manifest shares with
 * it (see capture.h). */
#include <stdio.h>
#include <string.h>

#include "capture/capture.h"
#include "util/json.h"
#include "util/size.h"

void capture_report_checks(FILE *f, const struct capture_result *r)
{
	char counts[96];
	size_t fixed = 0;

	for (size_t i = 0; i < r->before.n; i++)
		fixed += r->before.f[i].fix != NULL;
	fprintf(f, "checks (%s): the disk: %s; the fixes answer %zu\n", r->before.profile->title,
		check_counts_text(&r->before, counts, sizeof(counts)), fixed);
	fprintf(f, "image check: %s\n", check_counts_text(r->after, counts, sizeof(counts)));
	check_report_text(r->after, f, "  ");
}

/* Each line of a before/after text, marked like a diff. */
static void print_lines(FILE *f, const char *mark, const char *text)
{
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		int n = nl ? (int)(nl - text) : (int)strlen(text);

		fprintf(f, "  %-10s   %s %.*s\n", "", mark, n, text);
		text += n + (nl ? 1 : 0);
	}
}

static void report_fixes(FILE *f, const struct capture_result *r)
{
	const struct fix_report *rep = &r->fixes;

	if (!r->o->fixes) {
		fputs("fixes: none (--no-fix): the image is the disk as it was\n", f);
		return;
	}
	fprintf(f, "fixes (%s): %zu change%s\n", rep->ran, rep->nchanges,
		rep->nchanges == 1 ? "" : "s");
	for (size_t i = 0; i < rep->nchanges; i++) {
		const struct fix_change *c = &rep->changes[i];

		fprintf(f, "  %-10s %s: %s\n", c->rule, c->file, c->what);
		print_lines(f, "-", c->before);
		print_lines(f, "+", c->after);
	}
	for (size_t i = 0; i < rep->nnotes; i++) {
		const struct fix_note *n = &rep->notes[i];
		bool file = n->file && n->file[0];

		fprintf(f, "  %-10s note: %s%s%s\n", n->rule ? n->rule : "", file ? n->file : "",
			file ? ": " : "", n->text);
	}
}

/* The sectors that did not read, each range with what it held. */
static void report_bad(FILE *f, const struct capture_result *r)
{
	char b1[16];

	if (!r->bad_sectors)
		return;
	fprintf(f, "  unreadable: %llu sector%s (%s) did not read and are zeros in the image:\n",
		(unsigned long long)r->bad_sectors, r->bad_sectors == 1 ? "" : "s",
		fmt_bytes(b1, sizeof(b1), r->bad_sectors * r->src.lsec));
	for (size_t i = 0; i < r->nbad; i++) {
		const struct capture_bad *b = &r->bad[i];

		if (b->sectors == 1)
			fprintf(f, "    LBA %llu", (unsigned long long)b->lba);
		else
			fprintf(f, "    LBA %llu-%llu (%llu)", (unsigned long long)b->lba,
				(unsigned long long)(b->lba + b->sectors - 1),
				(unsigned long long)b->sectors);
		fprintf(f, ", %s", b->where);
		for (size_t k = 0; k < b->nowner; k++)
			fprintf(f, "%s%s", k ? ", " : ": ", b->owner[k]);
		fprintf(f, "%s\n", b->more ? ", and more" : "");
	}
}

void capture_report_text(FILE *f, const struct capture_result *r)
{
	const struct capture_opts *o = r->o;
	const struct plan *p = &r->plan;
	char b1[16], b2[16], b3[16];

	fprintf(f, "captured %s (%s, %zu partitions) to %s as %s%s%s\n", r->source,
		r->table.type_name, r->table.nparts, r->target, image_format_name(o->image.format),
		o->image.compress ? ", compressed with " : "",
		o->image.compress ? image_compress_name(o->image.compress) : "");
	if (r->boot_mode)
		fprintf(f, "  boots by %s%s: choose %s as the boot mode when importing\n",
			!strcmp(r->boot_mode, "uefi") ? "UEFI" : "BIOS",
			r->converted ? " (converted from UEFI: its table is an MBR now)" : "",
			!strcmp(r->boot_mode, "uefi") ? "UEFI" : "BIOS (legacy)");
	fprintf(f, "  %-14s %10s  %-16s %s\n", "region", "size", "method", "copied");
	fprintf(f, "  %-14s %10s  %-16s %s\n", "boot gap", fmt_bytes(b1, sizeof(b1), p->gap_bytes),
		"exact", fmt_bytes(b2, sizeof(b2), p->gap_bytes));
	for (size_t i = 0; i < p->nparts; i++) {
		const struct plan_part *pp = &p->parts[i];
		char name[24];

		snprintf(name, sizeof(name), "partition %d", pp->num);
		fprintf(f, "  %-14s %10s  %-16s %s  %s\n", name, fmt_bytes(b1, sizeof(b1), pp->size),
			plan_method_name(pp->method), fmt_bytes(b2, sizeof(b2), pp->data_bytes),
			pp->kind == PART_EXTENDED ? "extended" : fs_type_name(pp->fs));
	}
	for (size_t i = 0; i < p->nvols; i++) {
		const struct plan_volume *v = &p->vols[i];

		fprintf(f, "    LV %-9s %10s  %-16s %s  %s\n", v->name, fmt_bytes(b1, sizeof(b1), v->size),
			plan_method_name(v->method), fmt_bytes(b2, sizeof(b2), v->data_bytes),
			fs_type_name(v->fs));
	}
	fprintf(f, "  image: virtual size %s, file %s, data %s; checked and fixed in %.1fs, image "
		"checked in %.1fs, planned in %.1fs, written in %.1fs\n",
		fmt_bytes(b1, sizeof(b1), p->vsize), fmt_bytes(b2, sizeof(b2), r->file_size),
		fmt_bytes(b3, sizeof(b3), p->data_bytes), r->fix_s, r->check_s, r->plan_s,
		r->write_s);
	if (r->remote) {
		fprintf(f, "  upload: sha256 %s, %llu part%s of %s", r->stats.sha256,
			(unsigned long long)r->stats.parts, r->stats.parts == 1 ? "" : "s",
			fmt_bytes(b1, sizeof(b1), r->stats.part_size));
		if (r->stats.resumed)
			fprintf(f, "; resumed: %llu stored part%s not sent again",
				(unsigned long long)r->stats.parts_reused,
				r->stats.parts_reused == 1 ? "" : "s");
		if (capture_has_manifest(r))
			fprintf(f, "; manifest %s.ferry.json", r->target);
		fputc('\n', f);
	} else if (r->stats.sha256[0]) {
		fprintf(f, "  sha256 %s; manifest %s.ferry.json\n", r->stats.sha256,
			!strncmp(r->target, "file://", 7) ? r->target + 7 : r->target);
	}
	report_bad(f, r);
	report_fixes(f, r);
}

void capture_report_details(void *ctx, struct json *j)
{
	const struct capture_result *r = ctx;
	const struct plan *p = &r->plan;

	json_u64(j, "source_size", r->src.size);
	json_str(j, "table", r->table.type_name);
	json_str(j, "image_table", r->converted ? "msdos" : r->table.type_name);
	json_str(j, "boot_mode", r->boot_mode);
	json_str(j, "compress", image_compress_name(r->o->image.compress));
	json_u64(j, "data_bytes", p->data_bytes);
	json_u64(j, "read_bytes", r->read_bytes);
	json_u64(j, "boot_gap_bytes", p->gap_bytes);
	json_arr_begin(j, "partitions");
	for (size_t i = 0; i < p->nparts; i++) {
		const struct plan_part *pp = &p->parts[i];

		json_obj_begin(j, NULL);
		json_u64(j, "number", (uint64_t)pp->num);
		json_str(j, "kind", table_kind_name(pp->kind));
		json_str(j, "fs", pp->kind == PART_EXTENDED ? NULL : fs_type_name(pp->fs));
		json_u64(j, "start", pp->start);
		json_u64(j, "size", pp->size);
		json_str(j, "method", plan_method_name(pp->method));
		json_u64(j, "copied_bytes", pp->data_bytes);
		json_str(j, "note", pp->note[0] ? pp->note : NULL);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "logical_volumes");
	for (size_t i = 0; i < p->nvols; i++) {
		const struct plan_volume *v = &p->vols[i];

		json_obj_begin(j, NULL);
		json_str(j, "name", v->name);
		json_str(j, "fs", fs_type_name(v->fs));
		json_u64(j, "size", v->size);
		json_str(j, "method", plan_method_name(v->method));
		json_u64(j, "copied_bytes", v->data_bytes);
		json_str(j, "note", v->note[0] ? v->note : NULL);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_begin(j, "unreadable");
	json_u64(j, "sectors", r->bad_sectors);
	json_u64(j, "sector_size", r->src.lsec);
	json_arr_begin(j, "ranges");
	for (size_t i = 0; i < r->nbad; i++) {
		const struct capture_bad *b = &r->bad[i];

		json_obj_begin(j, NULL);
		json_u64(j, "lba", b->lba);
		json_u64(j, "sectors", b->sectors);
		if (b->part)
			json_u64(j, "partition", (uint64_t)b->part);
		else
			json_str(j, "partition", NULL);
		json_str(j, "where", b->where);
		json_arr_begin(j, "owners");
		for (size_t k = 0; k < b->nowner; k++)
			json_str(j, NULL, b->owner[k]);
		json_arr_end(j);
		json_bool(j, "more_owners", b->more);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
	check_capture_json(j, "checks", &r->before, r->after, r->o->force && r->blocked);
	fix_report_json(&r->fixes, j);
	json_obj_begin(j, "seconds");
	json_double(j, "fix", r->fix_s);
	json_double(j, "check", r->check_s);
	json_double(j, "plan", r->plan_s);
	json_double(j, "write", r->write_s);
	json_obj_end(j);
}

void capture_report_json(FILE *f, const struct capture_result *r)
{
	struct json j;

	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_str(&j, "source", r->source);
	json_str(&j, "target", r->target);
	json_str(&j, "format", image_format_name(r->o->image.format));
	json_u64(&j, "virtual_size", r->plan.vsize);
	json_u64(&j, "file_size", r->file_size);
	capture_report_details((void *)r, &j);
	json_str(&j, "sha256", r->stats.sha256[0] ? r->stats.sha256 : NULL);
	if (r->remote) {
		json_obj_begin(&j, "upload");
		json_str(&j, "sha256", r->stats.sha256);
		json_u64(&j, "parts", r->stats.parts);
		json_u64(&j, "part_size", r->stats.part_size);
		json_bool(&j, "resumed", r->stats.resumed);
		json_u64(&j, "parts_reused", r->stats.parts_reused);
		json_obj_end(&j);
	}
	json_arr_begin(&j, "warnings");
	for (size_t i = 0; i < r->warnings.n; i++)
		json_str(&j, NULL, r->warnings.v[i]);
	json_arr_end(&j);
	json_obj_end(&j);
	json_finish(&j);
}
