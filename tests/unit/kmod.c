/* Module metadata and kmod's index files, checked against the real kmod
 * tools (depmod, modprobe, modinfo) on a module tree built here with gcc. */
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "initrd/kmod.h"
#include "tap.h"
#include "util/err.h"
#include "util/progress.h"

#define KVER "6.1.0-13-amd64"
#define VERMAGIC "6.1.0-13-amd64 SMP preempt mod_unload modversions "

static char tmp[192];

/* Runs a shell command; its standard output goes to out if given. Returns
 * the exit status, -1 if it did not run. */
static __attribute__((format(printf, 2, 3))) int sh(struct strbuf *out, const char *fmt, ...)
{
	char cmd[4096], buf[4096];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (!out) {
		st = system(cmd);
		return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
	}
	out->len = 0;
	if (strbuf_add(out, "", 0))
		return -1;
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		if (strbuf_add(out, buf, n))
			break;
	st = pclose(p);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static int slurp(const char *path, struct strbuf *b)
{
	char buf[8192];
	FILE *f = fopen(path, "rb");
	size_t n;

	b->len = 0;
	if (!f || strbuf_add(b, "", 0)) {
		if (f)
			fclose(f);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(b, buf, n);
	fclose(f);
	return 0;
}

static int spill(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok_ = f && fwrite(data, 1, len, f) == len;

	if (f && fclose(f))
		ok_ = 0;
	return ok_ ? 0 : -1;
}

static bool same(const struct strbuf *a, const struct strbuf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
}

/* The fake modules: deps come from the symbols they export and use (what
 * depmod reads) and match their depends= (what modinfo shows). */
static const struct fake {
	const char *path, *src, *compress;
} fakes[] = {
	{ "kernel/drivers/block/foo.ko",
	  "extern int baz_fn(void); extern int bar_fn(void);\n"
	  "int init_module(void) { return baz_fn() + bar_fn(); }\n"
	  "MODINFO(\"alias=pci:v00001AF4d00001001sv*sd*bc*sc*i*\\0alias=virtio:d00000002v*\\0"
	  "depends=bar,baz\\0name=foo\\0vermagic=" VERMAGIC "\");\n",
	  NULL },
	{ "kernel/drivers/fake/baz.ko",
	  "int baz_fn(void) { return 1; }\n"
	  "EXPORT(\"baz_fn\");\n"
	  "MODINFO(\"alias=fake:baz-thing\\0depends=\\0name=baz\\0vermagic=" VERMAGIC "\");\n",
	  NULL },
	{ "kernel/drivers/fake/bar.ko",
	  "extern int baz_fn(void);\n"
	  "int bar_fn(void) { return baz_fn() + 1; }\n"
	  "EXPORT(\"bar_fn\");\n"
	  "MODINFO(\"depends=baz\\0name=bar\\0vermagic=" VERMAGIC "\");\n",
	  NULL },
	{ "kernel/drivers/net/net-fake.ko",
	  "extern int baz_fn(void);\n"
	  "int init_module(void) { return baz_fn(); }\n"
	  "MODINFO(\"softdep=pre: qux\\0alias=pci:v00001AF4d00001000sv*sd*bc*sc*i*\\0"
	  "depends=baz\\0name=net_fake\\0vermagic=" VERMAGIC "\");\n",
	  "xz" },
	{ "kernel/lib/qux.ko",
	  "int init_module(void) { return 0; }\n"
	  "MODINFO(\"alias=qux:[a-c]-x*\\0name=qux\\0vermagic=" VERMAGIC "\");\n",
	  "zstd" },
};
#define NFAKES (sizeof(fakes) / sizeof(fakes[0]))

/* Debian 12's depmod reads .ko.xz and .ko.zst (not .ko.gz); the .zst
 * module stays plain if the zstd command is missing. */
static bool have_zstd;

static const char *fake_ext(const struct fake *f)
{
	if (!f->compress)
		return "";
	if (f->compress[0] == 'x')
		return ".xz";
	return have_zstd ? ".zst" : "";
}

static const char fake_prelude[] =
	"#define MODINFO(s) __attribute__((section(\".modinfo\"), used))"
	" static const char modinfo_[] = s\n"
	"#define EXPORT(s) __attribute__((section(\"__ksymtab_strings\"), used))"
	" static const char ksym_[] = s\n";

/* Builds ROOT/lib/modules/KVER with the fake modules and a modules.order
 * that fixes depmod's module order; compressed ones get .xz/.zst. */
static int build_tree(const char *root, const char *objs)
{
	char dir[512], src[600];
	struct strbuf order;

	strbuf_init(&order);
	if (sh(NULL, "mkdir -p %s/lib/modules/%s %s/etc/modprobe.d %s", root, KVER, root, objs))
		return -1;
	for (size_t i = 0; i < NFAKES; i++) {
		const struct fake *f = &fakes[i];
		char name[64], code[2048];

		kmod_path_name(f->path, name, sizeof(name));
		snprintf(src, sizeof(src), "%s/%s.c", objs, name);
		snprintf(code, sizeof(code), "%s%s", fake_prelude, f->src);
		snprintf(dir, sizeof(dir), "%s/lib/modules/%s/%s", root, KVER, f->path);
		if (spill(src, code, strlen(code)) ||
		    sh(NULL, "gcc -c -O2 -fno-pic -fno-stack-protector -o %s/%s.o %s", objs, name,
		       src) ||
		    sh(NULL, "mkdir -p $(dirname %s) && cp %s/%s.o %s", dir, objs, name, dir))
			return -1;
		if (f->compress && f->compress[0] == 'x' && sh(NULL, "xz --check=crc32 %s", dir))
			return -1;
		if (!strcmp(fake_ext(f), ".zst") && sh(NULL, "zstd -q --rm %s", dir))
			return -1;
		/* As the kernel build writes it: uncompressed names. */
		strbuf_addf(&order, "%s\n", f->path);
	}
	snprintf(dir, sizeof(dir), "%s/lib/modules/%s/modules.order", root, KVER);
	spill(dir, order.s, order.len);
	strbuf_release(&order);
	return 0;
}

/* A module's ELF bytes, decompressed with the CLI tools as Ferry's caller
 * would with initrd/compress. */
static int module_elf(const char *file, const char *scratch, struct strbuf *elf)
{
	size_t n = strlen(file);
	const char *tool = n > 3 && !strcmp(file + n - 3, ".xz")    ? "xz -dc"
			   : n > 4 && !strcmp(file + n - 4, ".zst") ? "zstd -dcq"
			   : n > 3 && !strcmp(file + n - 3, ".gz")  ? "gzip -dc"
								    : "cat";

	if (sh(NULL, "%s '%s' > %s", tool, file, scratch))
		return -1;
	return slurp(scratch, elf);
}

static void join(const struct kmod_strv *sv, char sep, struct strbuf *b)
{
	b->len = 0;
	strbuf_add(b, "", 0);
	for (size_t i = 0; i < sv->n; i++) {
		strbuf_add(b, sv->v[i], strlen(sv->v[i]));
		strbuf_add(b, &sep, 1);
	}
}

static void le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A minimal relocatable ELF: sections null, .shstrtab, .modinfo. */
static size_t make_elf(uint8_t *b, bool is64, const char *mi, size_t milen)
{
	static const char names[] = "\0.shstrtab\0.modinfo";
	size_t eh = is64 ? 64 : 52, sh = is64 ? 64 : 40, names_off = eh,
	       mi_off = names_off + sizeof(names), shoff = (mi_off + milen + 7) & ~(size_t)7;
	uint64_t secs[3][4] = { { 0, 0, 0, 0 },
				{ 1, 3, names_off, sizeof(names) },
				{ 11, 1, mi_off, milen } };

	memset(b, 0, shoff + 3 * sh);
	memcpy(b, "\177ELF", 4);
	b[4] = is64 ? 2 : 1;
	b[5] = 1;
	b[6] = 1;
	le(b + 16, 1, 2);
	le(b + 18, is64 ? 62 : 3, 2);
	le(b + 20, 1, 4);
	le(b + (is64 ? 40 : 32), shoff, is64 ? 8 : 4);
	le(b + (is64 ? 52 : 40), eh, 2);
	le(b + (is64 ? 58 : 46), sh, 2);
	le(b + (is64 ? 60 : 48), 3, 2);
	le(b + (is64 ? 62 : 50), 1, 2);
	memcpy(b + names_off, names, sizeof(names));
	memcpy(b + mi_off, mi, milen);
	for (int i = 0; i < 3; i++) {
		uint8_t *h = b + shoff + (size_t)i * sh;

		le(h, secs[i][0], 4);
		le(h + 4, secs[i][1], 4);
		le(h + (is64 ? 24 : 16), secs[i][2], is64 ? 8 : 4);
		le(h + (is64 ? 32 : 20), secs[i][3], is64 ? 8 : 4);
	}
	return shoff + 3 * sh;
}

/* As in Debian 12's 6.1 kernel, compressed as RHEL does. */
#define V "kernel/drivers/virtio/"
#define S "kernel/drivers/scsi/"
static const char virtio_dep[] =
	V "virtio.ko.xz:\n"
	V "virtio_ring.ko.xz:\n"
	V "virtio_pci_modern_dev.ko.xz:\n"
	V "virtio_pci_legacy_dev.ko.xz:\n"
	V "virtio_pci.ko.xz: " V "virtio_pci_legacy_dev.ko.xz " V "virtio_pci_modern_dev.ko.xz "
	V "virtio_ring.ko.xz " V "virtio.ko.xz\n"
	"kernel/drivers/block/virtio_blk.ko.xz: " V "virtio_ring.ko.xz " V "virtio.ko.xz\n"
	S "virtio_scsi.ko.xz: " S "scsi_mod.ko.xz " S "scsi_common.ko.xz " V "virtio_ring.ko.xz "
	V "virtio.ko.xz\n"
	S "scsi_mod.ko.xz: " S "scsi_common.ko.xz\n"
	S "scsi_common.ko.xz:\n"
	"kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.xz:\n";

#define PARSE(fn, set, text) fn(set, text, strlen(text))

static char last_warning[256];

static void warned(const char *msg, void *arg)
{
	(void)arg;
	snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

static void test_sets(void)
{
	struct kmod_set s, small;
	struct kmod_mod **order = NULL, *m;
	struct strbuf out, names;
	char name[32];
	size_t n = 0;

	strbuf_init(&out);
	strbuf_init(&names);
	kmod_set_init(&s);
	kmod_set_init(&small);

	is_int(kmod_path_name("kernel/drivers/net/net-fake.ko.xz", name, sizeof(name)), 0,
	       "a module name from a compressed path");
	is_str(name, "net_fake", "the name stops at the first '.' and reads '-' as '_'");
	is_int(kmod_path_name("x/.ko", name, sizeof(name)), -EINVAL, "a path without a name");
	is_int(kmod_path_name("averyveryverylongmodulename_abcdefghijk.ko", name, 16),
	       -ENAMETOOLONG, "a name longer than the buffer");

	is_int(kmod_set_parse_dep(&s, virtio_dep, strlen(virtio_dep)), 0, "modules.dep parses");
	is_int(s.n, 10, "ten modules");
	ok(kmod_set_find(&s, "virtio-pci") && kmod_set_find(&s, "virtio_pci") == s.mods[4],
	   "find reads '-' as '_'");
	is_int(kmod_resolve(&s, "virtio_scsi", &order, &n), 0, "virtio_scsi resolves");
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&names, "%s ", order[i]->name);
	is_str(names.s, "virtio virtio_ring scsi_common scsi_mod virtio_scsi ",
	       "load order: modprobe's, each module after those it needs");
	free(order);

	kmod_write_dep_text(&s, &out);
	is_str(out.s, virtio_dep, "modules.dep written back is the same text");

	is_int(kmod_set_copy(&small, &s, "virtio_blk"), 0, "virtio_blk copied into a small set");
	is_int(kmod_set_copy(&small, &s, "virtio_pci"), 0, "virtio_pci copied after it");
	out.len = 0;
	kmod_write_dep_text(&small, &out);
	is_str(out.s,
	       V "virtio.ko.xz:\n"
	       V "virtio_ring.ko.xz:\n"
	       "kernel/drivers/block/virtio_blk.ko.xz: " V "virtio_ring.ko.xz " V "virtio.ko.xz\n"
	       V "virtio_pci_modern_dev.ko.xz:\n"
	       V "virtio_pci_legacy_dev.ko.xz:\n"
	       V "virtio_pci.ko.xz: " V "virtio_pci_legacy_dev.ko.xz " V "virtio_pci_modern_dev.ko.xz "
	       V "virtio_ring.ko.xz " V "virtio.ko.xz\n",
	       "the small set's modules.dep: each module once, no unrelated ones");

	is_int(PARSE(kmod_set_parse_alias, &small,
				    "# Aliases extracted from modules themselves.\n"
				    "alias virtio:d00000002v* virtio_blk\n"
				    "alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\n"),
	       0, "modules.alias read into the small set");
	ok(kmod_set_find(&small, "virtio_blk")->aliases.n == 1 &&
		   !strcmp(kmod_set_find(&small, "virtio_blk")->aliases.v[0], "virtio:d00000002v*"),
	   "its modules take their aliases, the others' lines are skipped");
	is_int(PARSE(kmod_set_parse_softdep, &small, "softdep virtio_blk pre: crc32c \t\n"), 0,
	       "modules.softdep read");
	is_str(kmod_set_find(&small, "virtio_blk")->softdeps.v[0], "pre: crc32c",
	       "the softdep value runs to the end of its line");
	ok(PARSE(kmod_set_parse_alias, &small, "alias virtio_blk\n") == -EINVAL &&
		   PARSE(kmod_set_parse_dep, &small, "x.ko y.ko\n") == -EINVAL,
	   "an alias line without a name, a dep line without ':' (%s)", ferr_msg());

	is_int(kmod_set_add(&small, "kernel/drivers/net/virtio_net.ko", &m), 0, "add a module");
	kmod_strv_add(&m->deps, "net_failover", 12);
	ok(kmod_resolve(&small, "virtio_net", &order, &n) == -ENOENT &&
		   strstr(ferr_msg(), "net_failover") && !order,
	   "a missing dependency is named: %s", ferr_msg());
	out.len = 0;
	ok(kmod_write_dep_text(&small, &out) == -ENOENT && strstr(ferr_msg(), "net_failover"),
	   "writing modules.dep names it too");
	kmod_set_add(&small, "kernel/drivers/net/net_failover.ko", &m);
	kmod_strv_add(&m->deps, "virtio_net", 10);
	ok(kmod_resolve(&small, "virtio_net", &order, &n) == -ELOOP, "a cycle: %s", ferr_msg());
	ok(kmod_write_dep_bin(&small, &out) == -ELOOP, "a cycle cannot be written");
	is_int(kmod_resolve(&small, "nvme", &order, &n), -ENOENT, "an unknown module");
	{
		/* A self-dependency after a module with dependencies: the
		 * edges were cut short and the retry wrote past them. */
		static const char selfdep[] = "kernel/x.ko: kernel/y.ko kernel/z.ko\n"
					      "kernel/y.ko:\nkernel/z.ko:\n"
					      "kernel/a.ko: kernel/a.ko\n";
		struct kmod_set self;

		kmod_set_init(&self);
		is_int(kmod_set_parse_dep(&self, selfdep, strlen(selfdep)), 0,
		       "a modules.dep with a self-dependency parses");
		out.len = 0;
		ok(kmod_write_dep_text(&self, &out) == -ELOOP && strstr(ferr_msg(), "kernel/a.ko depends on itself"),
		   "writing it names the module that depends on itself: %s", ferr_msg());
		ok(kmod_write_dep_bin(&self, &out) == -ELOOP, "so does the binary index");
		kmod_set_release(&self);
	}
	{
		/* A chain of 8000 modules, each needing the next: its modules.dep
		 * lines hold 32 million names (2 GB, 2 minutes, before the caps). */
		struct kmod_set chain;
		struct kmod_mod **corder;
		struct strbuf text;
		double t0 = now_seconds();
		size_t norder;
		int err = 0;

		strbuf_init(&text);
		for (int i = 0; !err && i < 8000; i++)
			err = strbuf_addf(&text, "kernel/m%d.ko: kernel/m%d.ko\n", i, i + 1);
		if (!err)
			err = strbuf_addf(&text, "kernel/m8000.ko:\n");
		kmod_set_init(&chain);
		is_int(kmod_set_parse_dep(&chain, text.s, text.len), 0, "a chain of 8000 modules parses");
		out.len = 0;
		is_int(kmod_write_dep_text(&chain, &out), -E2BIG, "its modules.dep is refused");
		ok(strstr(ferr_msg(), "needs more than 512 modules") != NULL, "... saying so: %s",
		   ferr_msg());
		is_int(kmod_resolve(&chain, "m0", &corder, &norder), -E2BIG,
		       "resolving its head is refused too, without recursing 8000 deep");
		ok(now_seconds() - t0 < 10, "in seconds (%.1f s)", now_seconds() - t0);
		kmod_set_release(&chain);
		text.len = 0;
		for (unsigned i = 0; !err && i <= KMOD_SET_MAX; i++)
			err = strbuf_addf(&text, "kernel/n%u.ko:\n", i);
		kmod_set_init(&chain);
		is_int(kmod_set_parse_dep(&chain, text.s, text.len), -E2BIG,
		       "more than %u modules are refused", KMOD_SET_MAX);
		kmod_set_release(&chain);
		strbuf_release(&text);
	}
	is_int(kmod_set_add(&small, "updates/virtio_blk.ko", &m), 1, "a name already there");
	is_str(m->path, "kernel/drivers/block/virtio_blk.ko.xz", "keeps its first path");

	m = kmod_set_find(&small, "virtio_blk");
	kmod_strv_add(&m->aliases, "bad]x", 5);
	kmod_strv_add(&m->aliases, "ok-[a-b]-1", 10);
	kmod_set_release(&s);
	kmod_set_init(&s);
	kmod_set_copy(&s, &small, "virtio_blk");
	out.len = 0;
	struct ferry_warn_scope scope;

	ferry_warn_push(&scope, warned, NULL);
	/* Each key's first character is a child arc of the root: the rest is
	 * a node's prefix. */
	ok(kmod_write_alias_bin(&s, &out) == 0 && !memmem(out.s, out.len, "ad]x", 4) &&
		   memmem(out.s, out.len, "k_[a-b]_1", 10) && strstr(last_warning, "bad]x"),
	   "modules.alias.bin: '-' stored as '_' outside brackets, an unmatched ']' left out "
	   "with a warning");
	ferry_warn_pop(&scope);

	{
		struct kmod_index_entry e[] = { { "ok", "a", 0 }, { "caf\xc3\xa9", "b", 1 } };

		out.len = 0;
		is_int(kmod_index_write(e, 2, &out), -EINVAL, "a non-ASCII key is refused");
		is_int(kmod_index_write(e, 0, &out), 0, "an empty index");
		ok(out.len == 12 && !memcmp(out.s, "\xb0\x07\xf4\x57\x00\x02\x00\x01\x00\x00\x00\x0c", 12),
		   "an empty index is the header and an empty root, as depmod writes it");
	}
	kmod_set_release(&s);
	kmod_set_release(&small);
	strbuf_release(&out);
	strbuf_release(&names);
}

/* Malformed input: every error path, never a crash (ASan watches). */
static void test_malformed(const struct strbuf *good)
{
	uint8_t b[1024];
	struct kmod_info mi;
	size_t len, bad = 0, tried = 0;
	uint64_t seed = 42;

	for (size_t n = 0; n < good->len; n++) {
		uint8_t *p = malloc(n ? n : 1);

		memcpy(p, good->s, n);
		tried++;
		if (kmod_modinfo(p, n, &mi) >= 0)
			bad++;
		kmod_info_release(&mi);
		free(p);
	}
	ok(tried == good->len && bad == 0, "all %zu truncated prefixes fail cleanly (%zu did not)",
	   tried, bad);

	bad = 0;
	for (int i = 0; i < 20000; i++) {
		uint8_t *p = malloc(good->len);
		int r;

		memcpy(p, good->s, good->len);
		for (int k = 0; k < 1 + i % 4; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			p[(seed >> 33) % (i % 2 ? 64 : good->len)] ^= (uint8_t)(1u << (seed >> 29 & 7));
		}
		r = kmod_modinfo(p, good->len, &mi);
		if (r != 0 && r != -ENOEXEC && r != -ENODATA)
			bad++;
		kmod_info_release(&mi);
		free(p);
	}
	is_int(bad, 0, "20000 corrupted modules: each parses or fails with ENOEXEC/ENODATA");

	len = make_elf(b, true, "alias=x\0", 8);
	b[5] = 2;
	is_int(kmod_modinfo(b, len, &mi), -ENOEXEC, "big-endian is refused");
	len = make_elf(b, true, "alias=x\0", 8);
	le(b + 62, 7, 2);
	is_int(kmod_modinfo(b, len, &mi), -ENOEXEC, "section names index out of range");
	len = make_elf(b, true, "alias=x\0", 8);
	le(b + len - 64 + 32, UINT64_MAX, 8);
	is_int(kmod_modinfo(b, len, &mi), -ENOEXEC, ".modinfo size that wraps around");
	len = make_elf(b, true, "alias=x\0", 8);
	le(b + len - 64 + 4, 8, 4);
	is_int(kmod_modinfo(b, len, &mi), -ENOEXEC, ".modinfo of type NOBITS");
	len = make_elf(b, false, "alias=x\0", 8);
	le(b + len - 40, 5000, 4);
	is_int(kmod_modinfo(b, len, &mi), -ENODATA, "a section name past its table is skipped");
	len = make_elf(b, true, "alias=x\0", 8);
	memcpy(b + 64 + 11, ".modinfX", 8);
	is_int(kmod_modinfo(b, len, &mi), -ENODATA, "no .modinfo section");
	len = make_elf(b, true, "", 0);
	ok(kmod_modinfo(b, len, &mi) == 0 && mi.aliases.n == 0 && !mi.name,
	   "an empty .modinfo is no information");
	kmod_info_release(&mi);
	len = make_elf(b, true, "\0\0name=a\0\0junk\0alias=x", 22);
	ok(kmod_modinfo(b, len, &mi) == 0 && mi.name && !strcmp(mi.name, "a") &&
		   mi.aliases.n == 1 && !strcmp(mi.aliases.v[0], "x"),
	   "padding, entries without '=' and an unterminated last entry");
	kmod_info_release(&mi);
}

/* The files Ferry rewrites, and their writers. */
static const struct index_file {
	const char *name;
	int (*write)(const struct kmod_set *s, struct strbuf *out);
} index_files[] = {
	{ "modules.dep", kmod_write_dep_text },     { "modules.dep.bin", kmod_write_dep_bin },
	{ "modules.alias", kmod_write_alias_text }, { "modules.alias.bin", kmod_write_alias_bin },
	{ "modules.softdep", kmod_write_softdep_text },
};
#define NINDEX (sizeof(index_files) / sizeof(index_files[0]))

/* Writes the set's files into a module directory. */
static int write_indexes(const struct kmod_set *s, const char *dir)
{
	char path[600];
	struct strbuf b;
	int err = 0;

	strbuf_init(&b);
	for (size_t i = 0; !err && i < NINDEX; i++) {
		b.len = 0;
		err = index_files[i].write(s, &b);
		snprintf(path, sizeof(path), "%s/%s", dir, index_files[i].name);
		if (!err)
			err = spill(path, b.s, b.len);
	}
	strbuf_release(&b);
	return err;
}

/* Reads a tree's modules.dep, modules.alias and modules.softdep. */
static int read_indexes(struct kmod_set *s, const char *dir)
{
	int (*readers[])(struct kmod_set *, const char *, size_t) = {
		kmod_set_parse_dep, kmod_set_parse_alias, kmod_set_parse_softdep
	};
	static const char *const names[] = { "modules.dep", "modules.alias", "modules.softdep" };
	char path[600];
	struct strbuf b;
	int err = 0;

	strbuf_init(&b);
	for (size_t i = 0; !err && i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		err = slurp(path, &b) ? -ENOENT : readers[i](s, b.s, b.len);
	}
	strbuf_release(&b);
	return err;
}

/* How many of a set's files equal a tree's, byte for byte. */
static size_t same_indexes(const struct kmod_set *s, const char *dir, const char **differs)
{
	char path[600];
	struct strbuf want, got;
	size_t n = 0;

	strbuf_init(&want);
	strbuf_init(&got);
	*differs = "";
	for (size_t i = 0; i < NINDEX; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, index_files[i].name);
		got.len = 0;
		if (!slurp(path, &want) && !index_files[i].write(s, &got) && same(&want, &got))
			n++;
		else
			*differs = index_files[i].name;
	}
	strbuf_release(&want);
	strbuf_release(&got);
	return n;
}

/* Runs modprobe on a tree with the host's configuration kept out; the
 * tree's own path is cut from the insmod lines so trees compare. */
static int modprobe(struct strbuf *out, const char *root, const char *args)
{
	return sh(out,
		  "modprobe -C %s/etc/modprobe.d -d %s -S %s %s >%s/mp.out 2>/dev/null; st=$?; "
		  "sed 's#%s##' %s/mp.out; exit $st",
		  root, root, KVER, args, tmp, root, tmp);
}

#define AGAINST_KMOD_TESTS 19
static void test_against_kmod(void)
{
	char ref[256], ours[256], objs[256], dir[512], file[1024], scratch[256];
	struct kmod_set a, b, small;
	struct strbuf elf, want, got;
	struct kmod_info mi;
	const char *differs;
	int mismatched = 0;

	snprintf(ref, sizeof(ref), "%s/ref", tmp);
	snprintf(ours, sizeof(ours), "%s/ours", tmp);
	snprintf(objs, sizeof(objs), "%s/objs", tmp);
	snprintf(scratch, sizeof(scratch), "%s/scratch.ko", tmp);
	strbuf_init(&elf);
	strbuf_init(&want);
	strbuf_init(&got);
	kmod_set_init(&a);
	kmod_set_init(&b);
	kmod_set_init(&small);

	ok(build_tree(ref, objs) == 0, "a module tree built with gcc and xz%s",
	   have_zstd ? " and zstd" : " (no zstd here)");
	is_int(sh(NULL, "depmod -b %s %s 2>/dev/null", ref, KVER), 0, "depmod indexes it");
	snprintf(dir, sizeof(dir), "%s/lib/modules/%s", ref, KVER);

	/* Our modinfo against kmod's, and the set built from it. */
	for (size_t i = 0; i < NFAKES; i++) {
		const struct fake *f = &fakes[i];
		const char *ext = fake_ext(f);
		char rel[200];
		struct kmod_mod *m;

		snprintf(rel, sizeof(rel), "%s%s", f->path, ext);
		snprintf(file, sizeof(file), "%s/%s", dir, rel);
		if (module_elf(file, scratch, &elf) || kmod_modinfo(elf.s, elf.len, &mi)) {
			mismatched++;
			continue;
		}
		sh(&want, "modinfo -F alias %s", file);
		join(&mi.aliases, '\n', &got);
		mismatched += !same(&want, &got);
		/* An empty depends= prints an empty line, none prints nothing. */
		sh(&want, "modinfo -F depends %s | tr -d '\\n'", file);
		join(&mi.depends, ',', &got);
		if (got.len)
			got.s[--got.len] = '\0';
		mismatched += !same(&want, &got);
		sh(&want, "modinfo -F vermagic %s", file);
		got.len = 0;
		strbuf_addf(&got, "%s\n", mi.vermagic ? mi.vermagic : "(none)");
		mismatched += !same(&want, &got);
		kmod_set_add(&a, rel, &m);
		kmod_mod_set_info(m, &mi);
		kmod_info_release(&mi);
	}
	is_int(mismatched, 0, "modinfo: aliases, depends and vermagic as kmod's modinfo reads them");
	ok(kmod_set_find(&a, "net_fake") && a.mods[3]->softdeps.n == 1 &&
		   !strcmp(a.mods[3]->softdeps.v[0], "pre: qux"),
	   "softdep= read");

	/* Built from .modinfo, or read back from depmod's text files, our
	 * files are depmod's byte for byte (its order fixed by modules.order). */
	is_int(same_indexes(&a, dir, &differs), NINDEX, "the five files from .modinfo are depmod's%s%s",
	       *differs ? "; not " : "", differs);
	ok(read_indexes(&b, dir) == 0 && b.n == NFAKES, "depmod's text files read");
	is_int(same_indexes(&b, dir, &differs), NINDEX,
	       "the five files rewritten from them are depmod's%s%s", *differs ? "; not " : "",
	       differs);

	/* modprobe reads our files: a second tree with depmod's removed. */
	sh(NULL, "cp -a %s %s", ref, ours);
	snprintf(dir, sizeof(dir), "%s/lib/modules/%s", ours, KVER);
	sh(NULL, "cd %s && rm -f modules.dep modules.dep.bin modules.alias modules.alias.bin "
		 "modules.softdep", dir);
	is_int(write_indexes(&a, dir), 0, "our index files written into the second tree");
	is_int(modprobe(&want, ref, "--show-depends foo"), 0, "modprobe --show-depends foo (depmod)");
	is_int(modprobe(&got, ours, "--show-depends foo"), 0, "modprobe --show-depends foo (ours)");
	ok(same(&want, &got) &&
		   strstr(got.s, "baz.ko \ninsmod /lib/modules/" KVER "/kernel/drivers/fake/bar.ko"),
	   "the same insmod lines, baz then bar then foo");
	modprobe(&want, ref, "--show-depends net-fake");
	modprobe(&got, ours, "--show-depends net-fake");
	ok(same(&want, &got) && strstr(got.s, "/qux.ko") && strstr(got.s, "net-fake.ko.xz"),
	   "net-fake: the same lines, with its softdep qux and itself (.xz)");
	modprobe(&got, ours, "-R pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00");
	is_str(got.s, "foo\n", "a PCI modalias resolves through a wildcard pattern");
	modprobe(&got, ours, "-R fake:baz-thing");
	is_str(got.s, "baz\n", "an alias with '-' (stored as '_')");
	modprobe(&got, ours, "-R qux:b-xyz");
	is_str(got.s, "qux\n", "an alias with a bracket range");
	ok(modprobe(&got, ours, "-R pci:v00008086d00001001sv00001AF4sd00000002bc01sc00i00") != 0 &&
		   got.len == 0,
	   "an alias that matches nothing: modprobe fails and prints no name");

	/* The initrd case: a tree holding only foo and what it needs, its
	 * files written from the full tree's set, next to depmod's own. */
	is_int(kmod_set_copy(&small, &b, "foo"), 0, "foo and its dependencies taken from the set");
	sh(NULL, "rm -rf %s/small && mkdir -p %s/small/lib/modules/%s/kernel/drivers && "
		 "cp -a %s/lib/modules/%s/kernel/drivers/block %s/lib/modules/%s/kernel/drivers/fake "
		 "%s/small/lib/modules/%s/kernel/drivers/ && mkdir -p %s/small/etc/modprobe.d",
	   tmp, tmp, KVER, ref, KVER, ref, KVER, tmp, KVER, tmp);
	snprintf(dir, sizeof(dir), "%s/small/lib/modules/%s", tmp, KVER);
	write_indexes(&small, dir);
	snprintf(file, sizeof(file), "%s/small", tmp);
	modprobe(&got, file, "--show-depends foo");
	modprobe(&want, ref, "--show-depends foo");
	ok(same(&want, &got), "modprobe loads foo from the small tree the same way");
	sh(&got, "sort %s/modules.dep", dir);
	sh(NULL, "mkdir -p %s/small-ref && cp -a %s/small/. %s/small-ref && "
		 "depmod -b %s/small-ref %s 2>/dev/null",
	   tmp, tmp, tmp, tmp, KVER);
	sh(&want, "sort %s/small-ref/lib/modules/%s/modules.dep", tmp, KVER);
	ok(same(&want, &got) && got.len > 0, "its modules.dep has depmod's lines");

	kmod_set_release(&a);
	kmod_set_release(&b);
	kmod_set_release(&small);
	strbuf_release(&elf);
	strbuf_release(&want);
	strbuf_release(&got);
}

/* A real distribution tree when the host has one (FERRY_KMOD_ROOT may
 * name another system's root): its virtio_pci against modinfo, its own
 * depmod-made files against ours, modprobe's load order against ours. */
#define HOST_TESTS 7
static void test_host_tree(bool have_kmod)
{
	const char *root = getenv("FERRY_KMOD_ROOT") ? getenv("FERRY_KMOD_ROOT") : "";
	char pattern[512], scratch[300], dir[512], *cut;
	struct strbuf elf, want, got;
	struct kmod_mod **order = NULL;
	struct kmod_set s;
	struct kmod_info mi;
	const char *differs;
	size_t n = 0;
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/lib/modules/*/kernel/drivers/virtio/virtio_pci.ko*",
		 root);
	if (!have_kmod || glob(pattern, 0, NULL, &g) != 0) {
		for (int i = 0; i < HOST_TESTS; i++)
			printf("ok %d # skip %s\n", ++tap_num,
			       have_kmod ? "no /lib/modules/*/kernel/drivers/virtio/virtio_pci.ko* here "
					   "(FERRY_KMOD_ROOT=/a/system/root to use another)"
					 : "kmod is not installed");
		return;
	}
	strbuf_init(&elf);
	strbuf_init(&want);
	strbuf_init(&got);
	kmod_set_init(&s);
	snprintf(scratch, sizeof(scratch), "%s/host.ko", tmp);
	snprintf(dir, sizeof(dir), "%s", g.gl_pathv[0]);
	cut = strstr(dir, "/kernel/drivers/virtio/");
	*cut = '\0';

	ok(module_elf(g.gl_pathv[0], scratch, &elf) == 0 && kmod_modinfo(elf.s, elf.len, &mi) == 0 &&
		   mi.aliases.n > 0,
	   "%s parses", g.gl_pathv[0]);
	sh(&want, "modinfo -F alias '%s'", g.gl_pathv[0]);
	join(&mi.aliases, '\n', &got);
	ok(same(&want, &got), "its %zu aliases are what modinfo prints", mi.aliases.n);
	sh(&want, "modinfo -F depends '%s' | tr -d '\\n'", g.gl_pathv[0]);
	join(&mi.depends, ',', &got);
	if (got.len)
		got.s[--got.len] = '\0';
	is_str(got.s, want.s, "its depends= is what modinfo prints");
	kmod_info_release(&mi);

	n = read_indexes(&s, dir) == 0 ? s.n : 0;
	ok(n > 100, "%s: %zu modules read", dir, n);
	is_int(same_indexes(&s, dir, &differs), NINDEX, "all five files written back are the "
	       "distribution's byte for byte%s%s", *differs ? "; not " : "", differs);

	ok(kmod_resolve(&s, "virtio_scsi", &order, &n) == 0 && n >= 3, "virtio_scsi resolves");
	got.len = 0;
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&got, "%s\n", order[i]->path);
	free(order);
	sh(&want, "modprobe -C %s/empty.d -d '%s/' -S \"$(basename '%s')\" --show-depends virtio_scsi "
		  "| sed 's#^insmod .*/lib/modules/[^/]*/##; s# *$##'",
	   tmp, root, dir);
	is_str(got.s, want.s, "in modprobe's load order");

	kmod_set_release(&s);
	globfree(&g);
	strbuf_release(&elf);
	strbuf_release(&want);
	strbuf_release(&got);
}

int main(void)
{
	struct strbuf foo, out;
	struct kmod_info mi;
	uint8_t b[512];
	size_t len;
	bool have_kmod;
	char path[300];

	tap_plan(79);
	if (!tap_scratch(tmp, sizeof(tmp), "kmod") || sh(NULL, "mkdir %s/empty.d", tmp)) {
		printf("Bail out! cannot make a scratch directory in %s\n", tap_tmpdir());
		return 1;
	}
	have_kmod = sh(NULL, "exec >/dev/null; command -v depmod && command -v modprobe && "
			     "command -v modinfo && command -v xz && command -v gcc") == 0;
	have_zstd = sh(NULL, "command -v zstd >/dev/null") == 0;
	strbuf_init(&foo);
	strbuf_init(&out);

	test_sets();

	/* Hand-made ELF32 and ELF64 modules. */
	for (int is64 = 0; is64 < 2; is64++) {
		static const char info[] = "name=virtio_blk\0depends=virtio,virtio_ring\0"
					   "alias=virtio:d00000002v*\0softdep=pre: crc32c\0"
					   "vermagic=" VERMAGIC;

		len = make_elf(b, is64, info, sizeof(info));
		ok(kmod_modinfo(b, len, &mi) == 0 && mi.name && !strcmp(mi.name, "virtio_blk") &&
			   mi.depends.n == 2 && !strcmp(mi.depends.v[1], "virtio_ring") &&
			   mi.aliases.n == 1 && mi.softdeps.n == 1 && mi.vermagic &&
			   !strcmp(mi.vermagic, VERMAGIC),
		   "ELF%d .modinfo: name, depends, alias, softdep, vermagic", is64 ? 64 : 32);
		kmod_info_release(&mi);
		snprintf(path, sizeof(path), "%s/hand%d.ko", tmp, is64 ? 64 : 32);
		spill(path, b, len);
		if (have_kmod) {
			sh(&out, "modinfo -F depends %s", path);
			is_str(out.s, "virtio,virtio_ring\n", "kmod's modinfo reads the ELF%d file the same",
			       is64 ? 64 : 32);
		} else {
			printf("ok %d # skip kmod is not installed\n", ++tap_num);
		}
	}

	if (!have_kmod) {
		for (int i = 0; i < AGAINST_KMOD_TESTS; i++)
			printf("ok %d # skip kmod, xz or gcc is not installed (support/deps.sh check)\n",
			       ++tap_num);
	} else {
		test_against_kmod();
	}
	snprintf(path, sizeof(path), "%s/objs/foo.o", tmp);
	if (!have_kmod || slurp(path, &foo)) {
		/* Without gcc's module, the hand-made one is the seed. */
		foo.len = 0;
		len = make_elf(b, true, "alias=x\0", 8);
		strbuf_add(&foo, (const char *)b, len);
	}
	test_malformed(&foo);
	test_host_tree(have_kmod);

	if (getenv("FERRY_TEST_KEEP"))
		printf("# kept %s\n", tmp);
	else
		sh(NULL, "rm -rf %s", tmp);
	strbuf_release(&foo);
	strbuf_release(&out);
	return tap_done();
}
