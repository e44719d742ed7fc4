/* Initrds (initrd/initrd.h) and cpio archives (initrd/cpio.h): the input
 * split as the kernel reads an initrd, and read as one archive; what was
 * read is edited as Ferry edits an initrd (a module added, a file
 * removed) and written out, and what Ferry writes must read back. */
#include <stdio.h>

#include "initrd/initrd.h"
#include "lib/fuzz.h"

/* Edits a, writes it, reads the result: Ferry's own archive must parse,
 * with every member. */
static void edit_and_reread(struct cpio_archive *a)
{
	static const char ko[] = "\x7f" "ELF module";
	struct cpio_archive back;
	size_t len, used;
	void *out;
	int err;

	cpio_find(a, "init");
	cpio_remove(a, "etc/modprobe.d/blacklist.conf");
	/* Either may be refused (a directory where the link goes): the
	 * archive is written all the same. */
	cpio_add_file(a, "usr/lib/modules/6.1.0/kernel/virtio_blk.ko", ko, sizeof(ko) - 1, 0644);
	cpio_add_symlink(a, "lib", "usr/lib");
	if (cpio_write(a, &out, &len))
		return;
	err = cpio_parse(out, len, &back, &used);
	if (err || back.n != a->n) {
		fprintf(stderr, "cpio_write's archive of %zu members reads back as %zu: %s\n",
			a->n, back.n, err ? ferr_msg() : "no error");
		abort();
	}
	cpio_archive_release(&back);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpio_archive a;
	struct initrd rd;
	size_t used;

	ferr_clear();
	initrd_init(&rd);
	if (!initrd_parse(data, size, &rd))
		edit_and_reread(&rd.main);
	initrd_release(&rd);

	ferr_clear();
	if (!cpio_parse(data, size, &a, &used)) {
		edit_and_reread(&a);
		cpio_archive_release(&a);
	}
	return 0;
}
