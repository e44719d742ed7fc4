/* The partition table readers of disk/table.h: the MBR and EBR chain
 * walk and the GPT header bound that run before libparted, and the GPT
 * reader after it (headers, CRCs, partition GUIDs), on the input as a
 * whole disk, with 512-byte and with 4 KiB sectors. The GPT readers get
 * their bytes through the source's I/O table, as from a disk. */
#include <errno.h>
#include <string.h>

#include "disk/table.h"
#include "lib/fuzz.h"
#include "lib/memdisk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sectors[] = {512, 4096};
	struct memdisk m = {data, size};
	const struct source_io io = {.pread = memdisk_pread, .ctx = &m};

	for (size_t i = 0; i < sizeof(sectors) / sizeof(sectors[0]); i++) {
		struct source src = {.path = "fuzz", .fd = -1, .dfd = -1, .size = size,
				     .lsec = sectors[i], .psec = sectors[i], .io = &io};
		struct table t;

		ferr_clear();
		memset(&t, 0, sizeof(t));
		mbr_parse(data, size, sectors[i], "fuzz", &t);
		table_release(&t);
		if (size >= sectors[i] && !gpt_bound(&src)) {
			/* partitions as libparted would list them: entries 1, 2, 128 */
			struct part parts[3] = {{.num = 1}, {.num = 2}, {.num = 128}};

			t = (struct table){.type = TABLE_GPT, .sector = sectors[i], .parts = parts,
					   .nparts = 3};
			gpt_read(&src, &t);
		}
	}
	return 0;
}
