/* Boot loader configs (fix/bootcfg.h, fix/boot.c): every input line read
 * as each kind of config for its kernel command line and arguments; then
 * the bootloader rule on a guest made of the input's files ("=== PATH"
 * lines, lib/memguest.h: grub.cfg, BLS entries, grubenv, extlinux.conf,
 * /etc/default/grub...), twice: the second run must change nothing. */
#include "fix/bootcfg.h"
#include "lib/fuzz.h"
#include "lib/memguest.h"
#include "util/text.h"

static void each_line(const char *text, size_t len)
{
	static const enum bkind kinds[] = {BK_GRUB2, BK_LEGACY, BK_BLS, BK_EXTLINUX, BK_DEFAULT,
					   BK_GRUBENV};
	size_t pos = 0, n;
	const char *line;

	while (text_next_line(text, len, &pos, &line, &n)) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			struct region rg;
			size_t i, ts, te;

			if (bootcfg_find_region(kinds[k], line, n, &rg) != 1)
				continue;
			i = rg.start;
			while (bootcfg_next_arg(line, rg.end, &i, &ts, &te) == 1)
				;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size), cloud[16];
	struct fix_report rep;
	struct fix_ctx c;
	struct guest g;

	if (!text)
		return 0;
	ferr_clear();
	each_line(text, size);
	if (!memguest_open(&g)) {
		fix_report_init(&rep);
		memguest_fix_ctx(&c, &g, &rep, text, size, cloud);
		memguest_load(&g, text, size);
		memguest_run_twice(&c, fix_bootloader, "bootloader");
		fix_report_release(&rep);
		guest_release(&g);
	}
	free(text);
	return 0;
}
