/* The capture plan's range list, the qcow2 layout computed from it, and the
 * JSON writer's escaping. */
#include <stdlib.h>

#include "disk/plan.h"
#include "image/qcow2.h"
#include "tap.h"
#include "util/json.h"
#include "util/size.h"

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

static void layout_checks(const char *what, struct plan *p, unsigned bits)
{
	struct qcow2_layout l;
	uint64_t cs = 1ull << bits, refs_per_block = cs / 2, want_data = 0, last = ~0ull;
	uint64_t l2_span = cs / 8 * cs;

	/* Clusters holding any planned byte, counted independently. */
	for (size_t i = 0; i < p->n; i++) {
		for (uint64_t c = p->ext[i].off / cs; c <= (p->ext[i].off + p->ext[i].len - 1) / cs; c++) {
			if (c != last)
				want_data++;
			last = c;
		}
	}
	is_int(qcow2_layout(&l, p, bits), 0, "%s: layout computed", what);
	is_int(l.data_clusters, want_data, "%s: one data cluster per touched guest cluster", what);
	is_int(l.l1_size, (p->vsize + l2_span - 1) / l2_span, "%s: L1 covers the virtual size", what);
	ok(l.rt_off < l.rb_off && l.rb_off < l.l1_off && l.l1_off < l.l2_off &&
	   l.l2_off <= l.data_off, "%s: header, refcounts, L1, L2, data in order", what);
	ok(l.rt_off % cs == 0 && l.rb_off % cs == 0 && l.l1_off % cs == 0 && l.l2_off % cs == 0 &&
	   l.data_off % cs == 0, "%s: tables are cluster-aligned", what);
	is_int(l.data_off / cs + l.data_clusters, l.total_clusters,
	       "%s: data clusters end the file", what);
	ok(l.rb_clusters * refs_per_block >= l.total_clusters &&
	   (l.rb_clusters - 1) * refs_per_block < l.total_clusters,
	   "%s: refcount blocks cover every cluster, without a spare block "
	   "(%llu blocks for %llu clusters)", what, (unsigned long long)l.rb_clusters,
	   (unsigned long long)l.total_clusters);
	ok(l.rt_clusters * (cs / 8) >= l.rb_clusters, "%s: the refcount table holds every block",
	   what);
	free(l.region_count);
}

static void json_checks(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_str(&j, "s", "q\"b\\s\nt\tc\001 \xc3\xa9 \xe2\x82\xac");
	json_str(&j, "bad", "a\xff" "b\xc3" "c\xe0\x80\x80");
	json_str(&j, "n", NULL);
	json_arr_begin(&j, "a");
	json_u64(&j, NULL, 18446744073709551615ull);
	json_bool(&j, NULL, false);
	json_arr_end(&j);
	json_obj_begin(&j, "empty");
	json_obj_end(&j);
	json_obj_end(&j);
	json_finish(&j);
	fclose(f);
	is_str(buf,
	       "{\n"
	       "  \"s\": \"q\\\"b\\\\s\\nt\\tc\\u0001 \xc3\xa9 \xe2\x82\xac\",\n"
	       "  \"bad\": \"a\\ufffdb\\ufffdc\\ufffd\\ufffd\\ufffd\",\n"
	       "  \"n\": null,\n"
	       "  \"a\": [\n"
	       "    18446744073709551615,\n"
	       "    false\n"
	       "  ],\n"
	       "  \"empty\": {}\n"
	       "}\n",
	       "JSON escapes quotes, controls and non-UTF-8 bytes; keeps UTF-8");
	free(buf);
}

int main(void)
{
	struct plan p;
	char b[16];

	tap_plan(40);

	plan_init(&p);
	ok(plan_add_range(&p, 0, 512) == 0 && plan_add_range(&p, 512, 512) == 0 && p.n == 1 &&
	   p.ext[0].len == 1024, "adjacent ranges merge");
	ok(plan_add_range(&p, 800, 1000) == 0 && p.n == 1 && p.ext[0].len == 1800,
	   "an overlapping range extends the last one");
	ok(plan_add_range(&p, 4096, 10) == 0 && p.n == 2, "a separate range is kept apart");
	ok(plan_add_range(&p, 100, 10) != 0, "a range before the last one is refused");
	plan_release(&p);

	/* A small disk: boot gap, a partition start, scattered blocks. */
	plan_init(&p);
	p.vsize = 150 * MiB;
	plan_add_range(&p, 0, 1 * MiB);
	plan_add_range(&p, 1 * MiB + 4 * KiB, 8 * KiB);
	plan_add_range(&p, 40 * MiB, 100 * KiB);
	plan_add_range(&p, 150 * MiB - 512, 512);
	layout_checks("150 MiB", &p, 16);
	layout_checks("150 MiB, 2 MiB clusters", &p, 21);
	plan_release(&p);

	/* A large sparse disk: data in L2 regions far apart. */
	plan_init(&p);
	p.vsize = 2048 * GiB + 3 * MiB;
	plan_add_range(&p, 0, 1 * MiB);
	plan_add_range(&p, 700 * GiB, 5 * GiB);
	plan_add_range(&p, 2048 * GiB, 3 * MiB);
	layout_checks("2 TiB", &p, 16);
	plan_release(&p);

	/* Refcount blocks that must cover themselves: many data clusters. */
	plan_init(&p);
	p.vsize = 64 * GiB;
	plan_add_range(&p, 0, 64 * GiB);
	layout_checks("64 GiB full", &p, 16);
	plan_release(&p);

	json_checks();
	is_str(fmt_bytes(b, sizeof(b), 512), "512 B", "fmt_bytes 512");
	is_str(fmt_bytes(b, sizeof(b), 1536), "1.5 KiB", "fmt_bytes 1536");
	is_str(fmt_bytes(b, sizeof(b), 150 * MiB), "150.0 MiB", "fmt_bytes 150 MiB");
	return tap_done();
}
