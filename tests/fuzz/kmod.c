/* Kernel module metadata (initrd/kmod.h): an input that starts like an ELF
 * file is a module whose .modinfo is read; any other is modules.dep,
 * modules.alias and modules.softdep, separated by NUL bytes. What was read
 * goes through what Ferry does with a module set: load orders, a copy of
 * one module's closure, and the text and binary (kindex.c) index files. */
#include "initrd/kmod.h"
#include "lib/fuzz.h"

static void write_all(const struct kmod_set *s)
{
	struct kmod_strv lines = {0};
	struct strbuf out;

	strbuf_init(&out);
	kmod_dep_lines(s, &lines);
	kmod_write_dep_text(s, &out);
	kmod_write_alias_text(s, &out);
	kmod_write_softdep_text(s, &out);
	kmod_write_dep_bin(s, &out);
	kmod_write_alias_bin(s, &out);
	strbuf_release(&out);
	kmod_strv_release(&lines);
}

static void module(const uint8_t *data, size_t size)
{
	struct kmod_info mi;
	struct kmod_mod *m;
	struct kmod_set s;

	if (kmod_modinfo(data, size, &mi))
		return;
	kmod_set_init(&s);
	if (kmod_set_add(&s, "kernel/drivers/block/fuzz.ko.xz", &m) >= 0 &&
	    !kmod_mod_set_info(m, &mi))
		write_all(&s);
	kmod_set_release(&s);
	kmod_info_release(&mi);
}

static void tree(const uint8_t *data, size_t size)
{
	int (*const parse[])(struct kmod_set *, const char *, size_t) = {
		kmod_set_parse_dep, kmod_set_parse_alias, kmod_set_parse_softdep};
	struct kmod_set s, small;
	const uint8_t *part;
	size_t pos = 0, len;

	kmod_set_init(&s);
	kmod_set_init(&small);
	for (size_t i = 0; i < 3 && fuzz_next_part(data, size, &pos, '\0', &part, &len); i++)
		parse[i](&s, (const char *)part, len);
	if (s.n) {
		const char *name = s.mods[s.n - 1]->name;
		struct kmod_mod **order = NULL;
		size_t n;

		if (!kmod_resolve(&s, name, &order, &n))
			free(order);
		kmod_set_copy(&small, &s, name);
		kmod_set_find(&s, "virtio-blk");
	}
	write_all(&s);
	write_all(&small);
	kmod_set_release(&small);
	kmod_set_release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ferr_clear();
	if (size >= 4 && !memcmp(data, "\x7f" "ELF", 4))
		module(data, size);
	else
		tree(data, size);
	return 0;
}
