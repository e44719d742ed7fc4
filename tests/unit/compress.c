/* Codecs against the command-line tools, both ways, with the kernel's
 * constraints; truncated and corrupt streams fail cleanly. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "testsh.h"
#include "initrd/compress.h"
#include "util/endian.h"
#include "util/err.h"

static char dir[192];

struct tool {
	enum codec c;
	const char *ext, *decomp, *comp;
	bool checked; /* the format has an integrity check */
	bool slow;    /* about 1 MB/s here: a smaller input does */
};

static const struct tool tools[] = {
	{ CODEC_GZIP, "gz", "gzip -dc", "gzip -c", true, false },
	{ CODEC_XZ, "xz", "xz -dc", "xz -c", true, true },
	{ CODEC_LZMA, "lzma", "lzma -dc", "lzma -c", false, true },
	{ CODEC_ZSTD, "zst", "zstd -dcq", "zstd -qc", true, false },
	{ CODEC_LZ4, "lz4", "lz4 -dc", "lz4 -lc", false, false },
	{ CODEC_BZIP2, "bz2", "bzip2 -dc", "bzip2 -c", true, true },
};

/* Text-like lines with incompressible runs, deterministic. */
static uint8_t *make_input(size_t n)
{
	uint8_t *b = malloc(n);
	uint32_t x = 2463534242u;
	size_t pos = 0;

	while (pos < n) {
		char line[96];
		int k;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if (x % 16 == 0) {
			for (k = 0; k < 64 && pos < n; k++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				b[pos++] = (uint8_t)x;
			}
			continue;
		}
		k = snprintf(line, sizeof(line), "alias pci:v00001AF4d%08X* virtio_pci %u\n", x,
			     x % 977);
		for (int i = 0; i < k && pos < n; i++)
			b[pos++] = (uint8_t)line[i];
	}
	return b;
}

static bool same(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (!alen || !memcmp(a, b, alen));
}

/* The zstd frame's window, which the kernel wants at most 8 MiB. */
static uint64_t zstd_window(const uint8_t *f, size_t len)
{
	uint8_t fhd, wd;
	uint64_t base;

	if (len < 6)
		return UINT64_MAX;
	fhd = f[4];
	if (fhd & 0x20) { /* single segment: the window is the content size */
		static const int fcs_len[4] = { 1, 2, 4, 8 };
		int n = fcs_len[fhd >> 6];
		uint64_t v = 0;
		for (int i = n - 1; i >= 0; i--)
			v = v << 8 | f[5 + i];
		return n == 2 ? v + 256 : v;
	}
	wd = f[5];
	base = (uint64_t)1 << (10 + (wd >> 3));
	return base + base / 8 * (wd & 7);
}

static void big_round_trips(const uint8_t *in, size_t biglen)
{
	for (size_t t = 0; t < sizeof(tools) / sizeof(tools[0]); t++) {
		const struct tool *T = &tools[t];
		const char *name = codec_name(T->c);
		size_t len = T->slow ? (1u << 20) + 777 : biglen, clen, dlen, used;
		void *comp, *dec, *padded;
		char fname[64];
		int err;

		err = codec_compress(T->c, in, len, &comp, &clen);
		is_int(err, 0, "%s: compress %zu bytes", name, len);
		if (err) {
			printf("# %s\n", ferr_msg());
			continue;
		}
		is_int(codec_detect(comp, clen), T->c, "%s: our output is detected as %s", name, name);
		err = codec_decompress(T->c, comp, clen, &dec, &dlen, &used);
		ok(!err && same(dec, dlen, in, len) && used == clen,
		   "%s: round trip (%zu -> %zu bytes), consumed all", name, len, clen);
		free(dec);

		/* Zero fill and another segment after the stream. */
		padded = calloc(1, clen + 16);
		memcpy(padded, comp, clen);
		memcpy((char *)padded + clen + 8, "0707junk", 8);
		err = codec_decompress(T->c, padded, clen + 16, &dec, &dlen, &used);
		ok(!err && same(dec, dlen, in, len), "%s: trailing data is not read", name);
		is_int(used, clen, "%s: consumed stops at the end of the stream", name);
		free(dec);
		free(padded);

		snprintf(fname, sizeof(fname), "ours.%s", T->ext);
		put_file(fname, comp, clen);
		is_int(sh("head -c %zu input.bin > want.bin && %s %s | cmp -s - want.bin", len,
			  T->decomp, fname), 0,
		       "%s: '%s' reads our output", name, T->decomp);
		if (T->c == CODEC_XZ) {
			is_int(sh("xz --robot -lv ours.xz | grep '^stream' | cut -f 9 | grep -qx CRC32"),
			       0, "xz: xz --robot -lv says the check is CRC32");
		}
		if (T->c == CODEC_ZSTD)
			ok(zstd_window(comp, clen) <= ((uint64_t)8 << 20),
			   "zstd: window %llu bytes is within the kernel's 8 MiB",
			   (unsigned long long)zstd_window(comp, clen));
		if (T->c == CODEC_LZ4) {
			const uint8_t *p = comp;
			size_t pos = 4, blocks = 0;

			while (pos + 4 <= clen) {
				pos += 4 + get_le32(p + pos);
				blocks++;
			}
			ok(get_le32(p) == 0x184C2102 && pos == clen && blocks == (len >> 23) + 1,
			   "lz4: legacy magic and %zu blocks of 8 MiB", blocks);
		}
		free(comp);

		snprintf(fname, sizeof(fname), "theirs.%s", T->ext);
		is_int(sh("head -c %zu input.bin | %s > %s", len, T->comp, fname), 0,
		       "%s: '%s' compresses", name, T->comp);
		comp = get_file(fname, &clen);
		is_int(codec_detect(comp, clen), T->c, "%s: their output is detected", name);
		err = codec_decompress(T->c, comp, clen, &dec, &dlen, &used);
		ok(!err && same(dec, dlen, in, len) && used == clen,
		   "%s: we read '%s' output", name, T->comp);
		if (err)
			printf("# %s\n", ferr_msg());
		free(dec);
		free(comp);
	}
}

/* Every proper prefix fails (lz4 legacy, which has no end marker, may
 * instead give a prefix of the data); flipped bytes fail or, where the
 * change does not matter (a header's time stamp), give the data back. */
static void damaged(const uint8_t *in, size_t len)
{
	for (size_t t = 0; t < sizeof(tools) / sizeof(tools[0]); t++) {
		const struct tool *T = &tools[t];
		const char *name = codec_name(T->c);
		size_t clen, dlen, used, bad = 0, flips = 0;
		uint8_t *comp, *copy;
		void *dec;

		if (codec_compress(T->c, in, len, (void **)&comp, &clen)) {
			ok(0, "%s: compress the small input", name);
			continue;
		}
		for (size_t n = 0; n < clen; n++) {
			copy = malloc(n ? n : 1);
			memcpy(copy, comp, n);
			if (!codec_decompress(T->c, copy, n, &dec, &dlen, &used)) {
				if (T->c != CODEC_LZ4 || dlen >= len || (dlen && memcmp(dec, in, dlen)) ||
				    used > n)
					bad++;
				free(dec);
			}
			free(copy);
		}
		is_int(bad, 0, "%s: all %zu truncated prefixes fail", name, clen);
		bad = 0;
		copy = malloc(clen);
		for (size_t i = 0; i < clen; i += 3) {
			memcpy(copy, comp, clen);
			copy[i] ^= (uint8_t)(0x5a + i);
			flips++;
			if (!codec_decompress(T->c, copy, clen, &dec, &dlen, &used)) {
				if (used > clen || (T->checked && !same(dec, dlen, in, len)))
					bad++;
				free(dec);
			}
		}
		is_int(bad, 0, "%s: %zu corrupted streams fail or decode right%s", name, flips,
		       T->checked ? "" : " (no check: no crash)");
		free(copy);
		free(comp);
	}
}

static void concatenated(const char *tool, const char *ext, enum codec c)
{
	size_t len, dlen, used, dlen2, used2;
	void *dec, *dec2;
	uint8_t *buf;
	int err;

	sh("printf 'first member\\n' > a.txt && printf 'second\\n' > b.txt");
	sh("%s a.txt > cat.%s && %s b.txt > b.%s && cat b.%s >> cat.%s", tool, ext, tool, ext, ext,
	   ext);
	buf = get_file(strcmp(ext, "gz") ? "cat.zst" : "cat.gz", &len);
	err = codec_decompress(c, buf, len, &dec, &dlen, &used);
	ok(!err && same(dec, dlen, "first member\n", 13) && used < len,
	   "%s: one member/frame of a concatenation at a time", codec_name(c));
	err = codec_decompress(c, buf + used, len - used, &dec2, &dlen2, &used2);
	ok(!err && same(dec2, dlen2, "second\n", 7) && used + used2 == len,
	   "%s: the next one starts where the first was consumed", codec_name(c));
	free(dec);
	free(dec2);
	free(buf);
}

int main(void)
{
	static const uint8_t lzo[] = { 0x89, 'L', 'Z', 'O', 0, 0x0d, 0x0a, 0x1a, 0x0a };
	const size_t big = (9u << 20) + 12345, small = 6000;
	uint8_t *in;
	void *out;
	size_t olen, used;

	if (!tap_scratch(dir, sizeof(dir), "compress")) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	sh_cwd = dir;
	in = make_input(big);
	put_file("input.bin", in, big);

	big_round_trips(in, big);
	damaged(in, small);
	concatenated("gzip -c", "gz", CODEC_GZIP);
	concatenated("zstd -qc", "zst", CODEC_ZSTD);

	for (size_t t = 0; t < sizeof(tools) / sizeof(tools[0]); t++) {
		void *dec = NULL;
		size_t dlen = 1;
		int err = codec_compress(tools[t].c, "", 0, &out, &olen);

		if (!err)
			err = codec_decompress(tools[t].c, out, olen, &dec, &dlen, &used);
		ok(!err && dlen == 0 && used == olen, "%s: empty input round trip",
		   codec_name(tools[t].c));
		free(out);
		free(dec);
	}

	is_int(codec_detect(lzo, sizeof(lzo)), CODEC_LZO, "lzop's magic is LZO");
	is_int(codec_decompress(CODEC_LZO, lzo, sizeof(lzo), &out, &olen, &used), -ENOTSUP,
	       "LZO is refused");
	ok(strstr(ferr_msg(), "LZO") != NULL, "the message names LZO: %s", ferr_msg());
	is_int(codec_compress(CODEC_LZO, in, 10, &out, &olen), -ENOTSUP, "no LZO output either");
	is_int(codec_detect("070701", 6), CODEC_NONE, "a cpio header is no compression");
	is_int(codec_detect("\x1f", 1), CODEC_NONE, "one byte is too short for gzip's magic");
	is_str(codec_name(CODEC_ZSTD), "zstd", "codec names");

	free(in);
	sh("cd / && rm -rf '%s'", dir);
	tap_plan(tap_num);
	return tap_done();
}
