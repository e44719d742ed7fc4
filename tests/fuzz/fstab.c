/* /etc/fstab (fs/fstab.h): every line cut into fields and judged as the
 * fix rules judge it, the lookups by mount point and of kernel command
 * line keys; then the fstab rule (fix/mounts.c) on a guest whose
 * /etc/fstab is the input, twice: the second run must change nothing. */
#include "fs/fstab.h"
#include "lib/fuzz.h"
#include "lib/memguest.h"
#include "util/text.h"

static void each_line(const char *text, size_t len)
{
	size_t pos = 0, n;
	const char *line;

	while (text_next_line(text, len, &pos, &line, &n)) {
		char f[FSTAB_FIELDS][256];
		struct fstab_line fl;
		const char *value;

		fstab_line_cut(line, n, &fl);
		for (int i = 0; i < FSTAB_FIELDS; i++)
			fstab_field(&fl, i, f[i], sizeof(f[i]));
		fstab_line_problem(&fl);
		fstab_not_a_disk(f[0], f[2], f[3]);
		fstab_spec_parse(f[0], &value);
		fstab_same_mountpoint(f[1], "/boot");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size), spec[256], cloud[16];
	struct fix_report rep;
	struct fix_ctx c;
	struct guest g;

	if (!text)
		return 0;
	ferr_clear();
	each_line(text, size);
	fstab_find(text, "/", spec, sizeof(spec));
	fstab_find(text, "/boot", spec, sizeof(spec));
	fstab_cmdline_find(text, "root", spec, sizeof(spec));
	fstab_cmdline_find(text, "resume", spec, sizeof(spec));

	if (!memguest_open(&g)) {
		fix_report_init(&rep);
		memguest_fix_ctx(&c, &g, &rep, "", 0, cloud);
		if (!memguest_add(&g, "/etc/fstab", text, size))
			memguest_run_twice(&c, fix_fstab, "fstab");
		fix_report_release(&rep);
		guest_release(&g);
	}
	free(text);
	return 0;
}
