/* Compressed qcow2 (zlib, zstd) of small made-up disks, checked with
 * qemu-img against a raw image the test builds itself: exact length known
 * in advance, clean, identical content, smaller, reproducible. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disk/plan.h"
#include "image/image.h"
#include "sink/sink.h"
#include "tap.h"
#include "testsh.h"
#include "util/err.h"

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

static char dir[192];

enum kind { K_RANDOM, K_ZERO, K_TEXT, K_MIXED };

/* A disk whose bytes are computed from their offset, so that a sparse
 * disk of gigabytes needs no memory. */
struct disk {
	const char *name;
	enum kind kind;
	struct plan plan;
	struct image_input in;
	pthread_t reader;      /* the thread expected to read */
	unsigned bad_reads;    /* outside the plan or from another thread */
	uint64_t flip_at;      /* after arm: this byte reads differently */
	bool armed, arm_after_prepare;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* Text-like: numbered 64-byte lines of a few words. Only the calling
 * thread reads, so the last line can be kept. */
static uint8_t text_byte(uint64_t off)
{
	static const char *const words[] = {"ferry", "disk", "cluster", "kernel", "boot",
					    "image", "qcow2", "server", "virtio", "grub"};
	static char line[80];
	static uint64_t last = UINT64_MAX;
	uint64_t n = off / 64;

	if (n == last)
		return (uint8_t)line[off % 64];
	last = n;
	snprintf(line, sizeof(line), "%010llu %s %s %s %s %s                          ",
		 (unsigned long long)n, words[n % 10], words[n / 10 % 10], words[n / 7 % 10],
		 words[n / 3 % 10], words[n / 100 % 10]);
	line[63] = '\n';
	return (uint8_t)line[off % 64];
}

static uint8_t disk_byte(const struct disk *d, uint64_t off)
{
	enum kind k = d->kind;
	uint64_t c = off / (64 * KiB);

	if (k == K_MIXED) {
		/* random, text, zero, text with a random quarter: in turn */
		switch (c % 4) {
		case 0: k = K_RANDOM; break;
		case 1: k = K_TEXT; break;
		case 2: k = K_ZERO; break;
		default: k = off % (64 * KiB) < 16 * KiB ? K_RANDOM : K_TEXT; break;
		}
	}
	switch (k) {
	case K_RANDOM: return (uint8_t)(mix(off / 8) >> (off % 8 * 8));
	case K_TEXT: return text_byte(off);
	default: return 0;
	}
}

static bool in_plan(const struct plan *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < p->n; i++)
		if (off >= p->ext[i].off && off + len <= p->ext[i].off + p->ext[i].len)
			return true;
	return false;
}

static int disk_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct disk *d = ctx;
	uint8_t *b = buf;

	if (!in_plan(&d->plan, off, len) || !pthread_equal(pthread_self(), d->reader))
		d->bad_reads++;
	for (size_t i = 0; i < len; i++)
		b[i] = disk_byte(d, off + i);
	if (d->armed && d->flip_at >= off && d->flip_at < off + len)
		b[d->flip_at - off] ^= 0x5a;
	return 0;
}

static void disk_init(struct disk *d, const char *name, enum kind k, uint64_t vsize)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->kind = k;
	plan_init(&d->plan);
	d->plan.vsize = vsize;
	d->in.pread = disk_pread;
	d->in.ctx = d;
	d->reader = pthread_self();
}

/* The raw image the qcow2 must equal, written by the test: the planned
 * bytes, zeros everywhere else (a sparse file). */
static int write_raw(struct disk *d, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int err = fd < 0 || ftruncate(fd, (off_t)d->plan.vsize) < 0;
	uint8_t *buf = malloc(MiB);

	for (size_t i = 0; i < d->plan.n && !err && buf; i++) {
		uint64_t off = d->plan.ext[i].off, end = off + d->plan.ext[i].len;

		while (off < end && !err) {
			size_t n = end - off < MiB ? (size_t)(end - off) : (size_t)MiB;

			for (size_t j = 0; j < n; j++)
				buf[j] = disk_byte(d, off + j);
			err = pwrite(fd, buf, n, (off_t)off) != (ssize_t)n;
			off += n;
		}
	}
	free(buf);
	if (fd >= 0 && close(fd) < 0)
		err = 1;
	return err || !buf ? -1 : 0;
}

static int out_write(void *ctx, const void *buf, size_t len)
{
	return sink_write(ctx, buf, len);
}

static int out_skip(void *ctx, uint64_t len)
{
	return sink_skip(ctx, len);
}

static int out_patch(void *ctx, uint64_t off, const void *buf, size_t len)
{
	return sink_patch(ctx, off, buf, len);
}

/* Writes the image of d to path (late: in one pass, the tables last);
 * *length is what image_prepare promised (0 in one pass: then the length
 * written), *sizing and *writing what each pass counted on its progress. */
static int write_image(struct disk *d, enum image_compress c, unsigned threads, const char *path,
		       bool late, uint64_t *length, uint64_t *sizing, uint64_t *writing)
{
	struct image_opts o = {.format = IMAGE_QCOW2, .compress = c, .threads = threads,
			       .patch = late};
	struct sink_opts so = {.overwrite = true, .patch = late};
	struct progress p1, p2;
	struct image_writer w;
	struct sink s;
	struct image_out out = {.write = out_write, .skip = out_skip,
				.patch = late ? out_patch : NULL, .ctx = &s};
	int err;

	progress_init(&p1, "sizing", d->plan.data_bytes, NULL);
	progress_init(&p2, "capture", d->plan.data_bytes, NULL);
	err = image_prepare(&w, &o, &d->plan, &d->in, &p1);
	if (length)
		*length = w.length;
	/* change_check's source changes between the passes. */
	d->armed = d->arm_after_prepare;
	if (!err) {
		err = sink_open(&s, path, &so);
		if (!err)
			err = image_write(&w, &out, &p2);
		if (!err && length && late)
			*length = w.length;
		if (!err)
			err = sink_finish(&s);
		if (err)
			sink_abort(&s);
		else
			sink_close(&s);
	}
	image_writer_release(&w);
	if (err)
		printf("# %s: %s\n", path, ferr_msg());
	if (sizing)
		*sizing = p1.done;
	if (writing)
		*writing = p2.done;
	return err;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* In one pass into a file, the tables last: one reading of the source, the
 * same disk (raw's), and no more allocated than the image made in two (of
 * len bytes). */
static void late_checks(struct disk *d, enum image_compress c, const char *raw, uint64_t len)
{
	const char *cn = image_compress_name(c);
	char late[300];
	uint64_t llen = 0, sizing = 1, writing = 0;
	struct stat st = {0};
	int err;

	snprintf(late, sizeof(late), "%s/%s.%s.late.qcow2", dir, d->name, cn);
	err = write_image(d, c, 2, late, true, &llen, &sizing, &writing);
	ok(!err && sizing == 0 && writing == d->plan.data_bytes && llen == file_size(late),
	   "%s %s, tables last: one pass (%llu, %llu of %llu bytes read), %llu bytes", d->name,
	   cn, (unsigned long long)sizing, (unsigned long long)writing,
	   (unsigned long long)d->plan.data_bytes, (unsigned long long)llen);
	ok(sh("qemu-img check -q '%s'", late) == 0 &&
		   sh("qemu-img compare -q -f raw -F qcow2 '%s' '%s'", raw, late) == 0,
	   "%s %s, tables last: qemu-img check clean, compare identical", d->name, cn);
	stat(late, &st);
	ok((uint64_t)st.st_blocks * 512 <= len + 64 * KiB,
	   "%s %s, tables last: %llu bytes allocated, the two-pass image %llu", d->name, cn,
	   (unsigned long long)st.st_blocks * 512, (unsigned long long)len);
	unlink(late);
}

/* Per codec: the image, its checks, and the same image again. */
static void codec_checks(struct disk *d, enum image_compress c, uint64_t plain_size,
			 bool compressible)
{
	const char *cn = image_compress_name(c);
	char img[300], again[300], one[300], raw[300];
	uint64_t len = 0, len2, len1, sizing = 0, writing = 0;
	int err;

	snprintf(img, sizeof(img), "%s/%s.%s.qcow2", dir, d->name, cn);
	snprintf(again, sizeof(again), "%s/%s.%s.again.qcow2", dir, d->name, cn);
	snprintf(one, sizeof(one), "%s/%s.%s.t1.qcow2", dir, d->name, cn);
	snprintf(raw, sizeof(raw), "%s/%s.raw", dir, d->name);

	err = write_image(d, c, 4, img, false, &len, &sizing, &writing);
	ok(!err && len == file_size(img) && len > 0,
	   "%s %s: image_prepare's length %llu is the bytes written (%llu)", d->name, cn,
	   (unsigned long long)len, (unsigned long long)file_size(img));
	ok(sizing == d->plan.data_bytes && writing == d->plan.data_bytes,
	   "%s %s: both passes count the %llu planned bytes (%llu, %llu)", d->name, cn,
	   (unsigned long long)d->plan.data_bytes, (unsigned long long)sizing,
	   (unsigned long long)writing);
	ok(sh("qemu-img check -q '%s'", img) == 0, "%s %s: qemu-img check is clean", d->name, cn);
	ok(sh("qemu-img compare -q -f raw -F qcow2 '%s' '%s'", raw, img) == 0,
	   "%s %s: qemu-img compare with the raw image: identical", d->name, cn);
	if (compressible)
		ok(len < plain_size, "%s %s: %llu bytes, smaller than the uncompressed %llu",
		   d->name, cn, (unsigned long long)len, (unsigned long long)plain_size);
	err = write_image(d, c, 4, again, false, &len2, NULL, NULL);
	ok(!err && sh("cmp -s '%s' '%s'", img, again) == 0,
	   "%s %s: a second run is byte-identical", d->name, cn);
	err = write_image(d, c, 1, one, false, &len1, NULL, NULL);
	ok(!err && sh("cmp -s '%s' '%s'", img, one) == 0,
	   "%s %s: one thread and four threads give the same bytes", d->name, cn);
	unlink(again);
	unlink(one);
	late_checks(d, c, raw, len);
}

/* Both codecs on one disk, against its raw and uncompressed images. */
static void disk_checks(struct disk *d, bool compressible)
{
	char raw[300], plain[300];
	uint64_t len;

	snprintf(raw, sizeof(raw), "%s/%s.raw", dir, d->name);
	snprintf(plain, sizeof(plain), "%s/%s.qcow2", dir, d->name);
	if (write_raw(d, raw) || write_image(d, IMAGE_COMPRESS_NONE, 0, plain, false, &len, NULL, NULL))
		printf("# %s: cannot make the reference images\n", d->name);
	codec_checks(d, IMAGE_COMPRESS_ZLIB, file_size(plain), compressible);
	codec_checks(d, IMAGE_COMPRESS_ZSTD, file_size(plain), compressible);
	ok(d->bad_reads == 0, "%s: every read is inside the plan, from the calling thread "
	   "(%u were not)", d->name, d->bad_reads);
}

/* Streams into a FIFO: skipped bytes become written zeros. */
static void fifo_check(struct disk *d)
{
	char fifo[300], got[300], want[300];
	pid_t pid;
	int err, st = 0;

	snprintf(fifo, sizeof(fifo), "%s/out.fifo", dir);
	snprintf(got, sizeof(got), "%s/from-fifo.qcow2", dir);
	snprintf(want, sizeof(want), "%s/%s.zstd.qcow2", dir, d->name);
	if (mkfifo(fifo, 0600) < 0) {
		ok(0, "FIFO: mkfifo: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		execlp("sh", "sh", "-c", "cat \"$0\" > \"$1\"", fifo, got, (char *)NULL);
		_exit(127);
	}
	err = write_image(d, IMAGE_COMPRESS_ZSTD, 2, fifo, false, NULL, NULL, NULL);
	if (err)
		kill(pid, SIGTERM); /* it may still wait for a writer */
	waitpid(pid, &st, 0);
	ok(!err && st == 0 && sh("cmp '%s' '%s'", want, got) == 0,
	   "%s zstd: through a FIFO, the same bytes as into a file", d->name);
}

/* A source that changes between the two passes must not give an image
 * whose tables lie about its clusters. */
static void change_check(struct disk *d)
{
	char path[300];
	int err;

	snprintf(path, sizeof(path), "%s/changed.qcow2", dir);
	/* A zero cluster inside a planned range (every fourth is zero). */
	d->flip_at = 50 * 64 * KiB + 100;
	d->arm_after_prepare = true;
	err = write_image(d, IMAGE_COMPRESS_ZLIB, 2, path, false, NULL, NULL, NULL);
	d->arm_after_prepare = d->armed = false;
	ok(err == -EIO && strstr(ferr_msg(), "when the image was sized"),
	   "a cluster that compresses differently in the second pass fails: %s",
	   err ? ferr_msg() : "(no error)");
	ok(access(path, F_OK) != 0, "and leaves no image behind");
}

static void header_checks(const char *name)
{
	char img[300];

	snprintf(img, sizeof(img), "%s/%s.zlib.qcow2", dir, name);
	is_str(sh_out("qemu-img info --output=json '%s' | python3 -c 'import json,sys; "
		      "print(json.load(sys.stdin)[\"format-specific\"][\"data\"]"
		      "[\"compression-type\"])'", img), "zlib", "qemu-img info: zlib image");
	snprintf(img, sizeof(img), "%s/%s.zstd.qcow2", dir, name);
	is_str(sh_out("qemu-img info --output=json '%s' | python3 -c 'import json,sys; "
		      "print(json.load(sys.stdin)[\"format-specific\"][\"data\"]"
		      "[\"compression-type\"])'", img), "zstd", "qemu-img info: zstd image");
	/* zstd: header length 112, compression type 1, incompatible bit 3. */
	is_str(sh_out("od -An -tx1 -j72 -N8 '%s' | tr -d ' '; od -An -tx1 -j100 -N5 '%s' | "
		      "tr -d ' '", img, img), "0000000000000008\n0000007001",
	       "zstd header: incompatible feature bit 3, header length 112, type 1");
}

int main(void)
{
	struct disk rnd, zero, text, mixed, odd, sparse;
	char a[300], b[300];

	/* Six disks, two codecs: 9 checks each, 1 more where data shrinks. */
	tap_plan(6 * 2 * 9 + 5 * 2 + 6 + 2 + 2 + 3 + 1 + 2);
	if (!tap_scratch(dir, sizeof(dir), "qcow2z")) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}

	disk_init(&rnd, "random", K_RANDOM, 3 * MiB);
	plan_add_range(&rnd.plan, 0, 3 * MiB);
	disk_checks(&rnd, false);
	/* Nothing shrinks: every cluster is stored, as in the plain image. */
	snprintf(a, sizeof(a), "%s/random.qcow2", dir);
	snprintf(b, sizeof(b), "%s/random.zlib.qcow2", dir);
	is_int(file_size(b), file_size(a), "random zlib: as large as the uncompressed image");
	snprintf(b, sizeof(b), "%s/random.zstd.qcow2", dir);
	is_int(file_size(b), file_size(a), "random zstd: as large as the uncompressed image");

	disk_init(&zero, "zero", K_ZERO, 4 * MiB);
	plan_add_range(&zero.plan, 64 * KiB, 2 * MiB);
	disk_checks(&zero, true);
	/* Header, refcount table and block, L1: no L2 table, no data. */
	snprintf(b, sizeof(b), "%s/zero.zlib.qcow2", dir);
	is_int(file_size(b), 4 * 64 * KiB, "zero zlib: planned zeros allocate nothing");
	snprintf(b, sizeof(b), "%s/zero.zstd.qcow2", dir);
	is_int(file_size(b), 4 * 64 * KiB, "zero zstd: planned zeros allocate nothing");

	disk_init(&text, "text", K_TEXT, 4 * MiB);
	plan_add_range(&text.plan, 0, 4 * MiB);
	disk_checks(&text, true);
	header_checks("text");

	/* Ranges that start and end inside clusters: the rest of those
	 * clusters must read as zeros although the source holds data there. */
	disk_init(&mixed, "mixed", K_MIXED, 8 * MiB);
	plan_add_range(&mixed.plan, 512, 700 * KiB);
	plan_add_range(&mixed.plan, 1 * MiB + 4 * KiB, 8 * KiB);
	plan_add_range(&mixed.plan, 1 * MiB + 60 * KiB, 10 * KiB);
	plan_add_range(&mixed.plan, 3 * MiB + 100, 2 * MiB);
	plan_add_range(&mixed.plan, 8 * MiB - 512, 512);
	disk_checks(&mixed, true);
	fifo_check(&mixed);
	change_check(&mixed);

	/* The last cluster reaches past the disk's end. */
	disk_init(&odd, "odd", K_MIXED, 2 * MiB + 3584);
	plan_add_range(&odd.plan, 0, 64 * KiB);
	plan_add_range(&odd.plan, 2 * MiB - 4 * KiB, 4 * KiB + 3584);
	disk_checks(&odd, true);

	/* Three L2 tables far apart (one per 512 MiB with 64 KiB clusters). */
	disk_init(&sparse, "sparse", K_MIXED, 1536 * MiB);
	plan_add_range(&sparse.plan, 0, 1 * MiB);
	plan_add_range(&sparse.plan, 600 * MiB, 2 * MiB);
	plan_add_range(&sparse.plan, 1535 * MiB, 1 * MiB);
	disk_checks(&sparse, true);

	plan_release(&rnd.plan);
	plan_release(&zero.plan);
	plan_release(&text.plan);
	plan_release(&mixed.plan);
	plan_release(&odd.plan);
	plan_release(&sparse.plan);
	if (!tap_failed)
		sh("rm -rf '%s'", dir);
	else
		printf("# kept %s\n", dir);
	return tap_done();
}
