/* ferry scan: what is on each disk, and which one is the system disk. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "disk/probe.h"
#include "util/size.h"

static void usage(void)
{
	fputs("Usage:\n ferry scan [options] [DEVICE|IMAGE...]\n\n"
	      "Show each disk's size, sector sizes, model, partition table, partitions and\n"
	      "filesystems, and which disk holds / and /boot (read from /etc/fstab and the\n"
	      "boot loader config, never mounted). Without arguments, every disk in\n"
	      "/sys/block except loop, ram, zram and sr devices.\n\n"
	      "Options:\n"
	      " -j, --json     print JSON (schema: docs/scan-json.md)\n"
	      " -h, --help     display this help\n", stdout);
}

static bool is_loc(const struct probe_loc *l, size_t d, size_t p)
{
	return l->disk == (int)d && l->part == (int)p;
}

static void print_text(const struct probe *pr)
{
	char b1[16], b2[16];

	for (size_t d = 0; d < pr->n; d++) {
		const struct probe_disk *pd = &pr->disks[d];
		const struct source *s = &pd->src;

		printf("%s  %s (%llu bytes)  table %s  sectors %u/%u", s->path,
		       fmt_bytes(b1, sizeof(b1), s->size), (unsigned long long)s->size,
		       pd->table.type_name, s->lsec, s->psec);
		if (s->model[0])
			printf("  model \"%s\"", s->model);
		if (s->serial[0])
			printf("  serial \"%s\"", s->serial);
		if (s->in_use[0])
			printf("  [in use: %s]", s->in_use);
		if (pr->root.disk == (int)d || pr->boot.disk == (int)d)
			printf("  [system disk:%s%s]", pr->root.disk == (int)d ? " /" : "",
			       pr->boot.disk == (int)d ? " /boot" : "");
		putchar('\n');
		if (pd->table.type == TABLE_NONE) {
			printf("  no partition table; content: %s\n\n", fs_type_name(pd->whole_fs));
			continue;
		}
		printf("  %-3s %12s %12s %10s %-8s %-5s %-12s %-6s %-12s %-36s %10s\n", "#",
		       "start", "end", "size", "kind", "type", "flags", "fs", "label", "uuid",
		       "used");
		for (size_t p = 0; p < pd->nparts; p++) {
			const struct probe_part *pp = &pd->parts[p];
			const struct part *pt = pp->part;
			char type[12] = "-";
			unsigned sec = pd->table.sector ? pd->table.sector : 512;

			if (pt->type_id)
				snprintf(type, sizeof(type), "0x%02x", pt->type_id);
			printf("  %-3d %12llu %12llu %10s %-8s %-5s %-12s %-6s %-12s %-36s %10s%s%s%s\n",
			       pt->num, (unsigned long long)(pt->start / sec),
			       (unsigned long long)((pt->start + pt->size) / sec - 1),
			       fmt_bytes(b1, sizeof(b1), pt->size), part_kind_name(pt->kind), type,
			       pt->flags[0] ? pt->flags : "-",
			       pt->kind == PART_EXTENDED ? "-" : fs_type_name(pp->fs),
			       pp->label[0] ? pp->label : "-", pp->uuid[0] ? pp->uuid : "-",
			       pp->have_used ? fmt_bytes(b2, sizeof(b2), pp->used) : "-",
			       is_loc(&pr->root, d, p) ? "  [/]" : "",
			       is_loc(&pr->boot, d, p) ? "  [/boot]" : "",
			       pp->needs_recovery ? "  (journal needs recovery)" : "");
		}
		putchar('\n');
	}
	if (pr->root.disk < 0) {
		printf("root: not found (no ext2/3/4 filesystem with an /etc/fstab that mounts "
		       "itself at /)\n");
		return;
	}
	printf("root: %s partition %d: %s\n", pr->disks[pr->root.disk].src.path,
	       pr->disks[pr->root.disk].parts[pr->root.part].part->num, pr->root.reason);
	if (pr->boot.disk >= 0)
		printf("boot: %s partition %d: %s\n", pr->disks[pr->boot.disk].src.path,
		       pr->disks[pr->boot.disk].parts[pr->boot.part].part->num, pr->boot.reason);
	else
		printf("boot: not found: %s\n", pr->boot.reason);
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
	if (l->disk >= 0)
		json_u64(j, "partition", (uint64_t)pr->disks[l->disk].parts[l->part].part->num);
	json_str(j, "reason", l->reason);
	json_obj_end(j);
}

static void print_json(const struct probe *pr, const struct warnings *w)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_arr_begin(&j, "disks");
	for (size_t d = 0; d < pr->n; d++) {
		const struct probe_disk *pd = &pr->disks[d];
		const struct source *s = &pd->src;
		unsigned sec = pd->table.sector ? pd->table.sector : s->lsec;

		json_obj_begin(&j, NULL);
		json_str(&j, "path", s->path);
		json_u64(&j, "size", s->size);
		json_u64(&j, "logical_sector_size", s->lsec);
		json_u64(&j, "physical_sector_size", s->psec);
		json_str(&j, "model", s->model[0] ? s->model : NULL);
		json_str(&j, "serial", s->serial[0] ? s->serial : NULL);
		json_str(&j, "table", pd->table.type_name);
		json_str(&j, "in_use", s->in_use[0] ? s->in_use : NULL);
		json_bool(&j, "holds_root", pr->root.disk == (int)d);
		json_bool(&j, "holds_boot", pr->boot.disk == (int)d);
		if (pd->table.type == TABLE_NONE)
			json_str(&j, "fs", fs_type_name(pd->whole_fs));
		json_arr_begin(&j, "partitions");
		for (size_t p = 0; p < pd->nparts; p++) {
			const struct probe_part *pp = &pd->parts[p];
			const struct part *pt = pp->part;
			char type[12];

			json_obj_begin(&j, NULL);
			json_u64(&j, "number", (uint64_t)pt->num);
			json_u64(&j, "start", pt->start);
			json_u64(&j, "end", pt->start + pt->size);
			json_u64(&j, "size", pt->size);
			json_u64(&j, "start_sector", pt->start / sec);
			json_u64(&j, "end_sector", (pt->start + pt->size) / sec - 1);
			json_str(&j, "kind", part_kind_name(pt->kind));
			snprintf(type, sizeof(type), "0x%02x", pt->type_id);
			json_str(&j, "type", pd->table.type == TABLE_MSDOS ? type : NULL);
			json_str(&j, "name", pt->name[0] ? pt->name : NULL);
			json_arr_begin(&j, "flags");
			for (const char *f = pt->flags; *f;) {
				char flag[40];
				size_t n = strcspn(f, ",");
				snprintf(flag, sizeof(flag), "%.*s", (int)n, f);
				json_str(&j, NULL, flag);
				f += n + (f[n] == ',');
			}
			json_arr_end(&j);
			json_str(&j, "fs", pt->kind == PART_EXTENDED ? NULL : fs_type_name(pp->fs));
			json_str(&j, "label", pp->label[0] ? pp->label : NULL);
			json_str(&j, "uuid", pp->uuid[0] ? pp->uuid : NULL);
			json_str(&j, "partuuid", pp->partuuid[0] ? pp->partuuid : NULL);
			if (pp->have_used)
				json_u64(&j, "used_bytes", pp->used);
			else
				json_str(&j, "used_bytes", NULL);
			json_bool(&j, "needs_recovery", pp->needs_recovery);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_loc(&j, "root", pr, &pr->root);
	json_loc(&j, "boot", pr, &pr->boot);
	warnings_json(w, &j);
	json_obj_end(&j);
	json_finish(&j);
}

int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct warnings w;
	struct probe pr;
	bool json = false;
	int c, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': usage(); return EXIT_DONE;
		default:
			return usage_error("scan", "unrecognized option '%s'", argv[optind - 1]);
		}
	}
	warnings_capture(&w);
	err = probe_disks(&pr, argv + optind, (size_t)(argc - optind));
	if (err) {
		warnings_release(&w);
		return fail();
	}
	if (json)
		print_json(&pr, &w);
	else
		print_text(&pr);
	probe_release(&pr);
	warnings_release(&w);
	return EXIT_DONE;
}
