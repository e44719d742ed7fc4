/* Compression codecs for initrds on zlib, liblzma, libzstd, liblz4 and
 * libbzip2, with the stream shapes the kernel's decompressors expect. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZLIB_CONST
#include <bzlib.h>
#include <lz4.h>
#include <lz4hc.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "initrd/compress.h"
#include "util/endian.h"
#include "util/err.h"

/* The legacy lz4 format: magic, then blocks of at most 8 MiB each behind
 * a little-endian compressed size (lib/decompress_unlz4.c). */
#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_LEGACY_BLOCK ((size_t)8 << 20)

/* liblzma may use this much memory to decode (xz -9 needs 65 MiB). */
#define LZMA_MEMLIMIT ((uint64_t)512 << 20)
#define XZ_PRESET 6
#define GZIP_LEVEL 9
#define BZIP2_LEVEL 9
/* Levels up to 19 keep zstd's window within the 8 MiB the kernel's
 * unzstd accepts; 15 is what dracut uses. */
#define ZSTD_LEVEL 15
/* zlib and libbz2 count in unsigned int: feed them in pieces. */
#define PIECE ((size_t)1 << 30)
#define ROOM ((size_t)256 << 10)

struct obuf {
	uint8_t *p;
	size_t len, cap, max;
};

enum codec codec_detect(const void *buf, size_t len)
{
	const uint8_t *b = buf;

	if (len >= 2 && b[0] == 0x1f && (b[1] == 0x8b || b[1] == 0x9e))
		return CODEC_GZIP;
	if (len >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6))
		return CODEC_XZ;
	if (len >= 4 && get_le32(b) == 0xfd2fb528u)
		return CODEC_ZSTD;
	if (len >= 4 && get_le32(b) == LZ4_LEGACY_MAGIC)
		return CODEC_LZ4;
	if (len >= 3 && !memcmp(b, "BZh", 3))
		return CODEC_BZIP2;
	if (len >= 4 && !memcmp(b, "\x89LZO", 4))
		return CODEC_LZO;
	/* The kernel looks at two bytes only: properties lc=3 lp=0 pb=2 and
	 * the low byte of a dictionary size that is a power of two. */
	if (len >= 2 && b[0] == 0x5d && b[1] == 0x00)
		return CODEC_LZMA;
	return CODEC_NONE;
}

const char *codec_name(enum codec c)
{
	switch (c) {
	case CODEC_NONE: return "none";
	case CODEC_GZIP: return "gzip";
	case CODEC_XZ: return "xz";
	case CODEC_LZMA: return "lzma";
	case CODEC_ZSTD: return "zstd";
	case CODEC_LZ4: return "lz4";
	case CODEC_BZIP2: return "bzip2";
	case CODEC_LZO: return "lzo";
	}
	return "unknown";
}

/* Makes room for at least `more` bytes after o->len, within o->max. */
static int obuf_room(struct obuf *o, size_t more, const char *what)
{
	size_t cap;
	uint8_t *n;

	if (o->cap - o->len >= more)
		return 0;
	if (more > o->max - o->len)
		return ferr(-EFBIG, "%s: output larger than %zu MiB", what, o->max >> 20);
	cap = o->cap ? o->cap : ROOM;
	while (cap - o->len < more)
		cap = cap > o->max / 2 ? o->max : cap * 2;
	n = realloc(o->p, cap);
	if (!n)
		return ferr(-ENOMEM, "%s: out of memory (%zu MiB)", what, cap >> 20);
	o->p = n;
	o->cap = cap;
	return 0;
}

/* Hands the buffer over, shrunk to its length. */
static void obuf_finish(struct obuf *o, void **out, size_t *outlen)
{
	uint8_t *n = o->len ? realloc(o->p, o->len) : NULL;

	if (n)
		o->p = n;
	*out = o->p;
	*outlen = o->len;
	o->p = NULL;
}

/* Starts with room for hint bytes if that much memory is there; a guess
 * saves the copies of growing, nothing more. */
static void obuf_init(struct obuf *o, size_t max, size_t hint)
{
	memset(o, 0, sizeof(*o));
	o->max = max;
	if (hint > max)
		hint = max;
	if (hint > ROOM && (o->p = malloc(hint)))
		o->cap = hint;
}

static uInt piece(size_t n)
{
	return (uInt)(n < PIECE ? n : PIECE);
}

static int gunzip(const uint8_t *in, size_t inlen, struct obuf *o, size_t *consumed)
{
	z_stream s;
	size_t left = inlen;
	int zr, err = 0;

	memset(&s, 0, sizeof(s));
	if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK)
		return ferr(-ENOMEM, "gzip: cannot set up zlib");
	s.next_in = in;
	for (;;) {
		if (!s.avail_in && left) {
			s.avail_in = piece(left);
			left -= s.avail_in;
		}
		if ((err = obuf_room(o, ROOM, "gzip")))
			break;
		s.next_out = o->p + o->len;
		s.avail_out = piece(o->cap - o->len);
		zr = inflate(&s, Z_NO_FLUSH);
		o->len = (size_t)(s.next_out - o->p);
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_OK)
			continue;
		if (zr == Z_BUF_ERROR && !s.avail_in && !left)
			err = ferr(-EBADMSG, "gzip: truncated data");
		else if (zr == Z_MEM_ERROR)
			err = ferr(-ENOMEM, "gzip: out of memory");
		else if (zr != Z_BUF_ERROR)
			err = ferr(-EBADMSG, "gzip: corrupt data (%s)", s.msg ? s.msg : "inflate failed");
		else
			continue;
		break;
	}
	*consumed = s.total_in;
	inflateEnd(&s);
	return err;
}

static int lzma_error(lzma_ret r, const char *what)
{
	switch (r) {
	case LZMA_MEM_ERROR:
		return ferr(-ENOMEM, "%s: out of memory", what);
	case LZMA_MEMLIMIT_ERROR:
		return ferr(-E2BIG, "%s: needs more than %u MiB of memory to decode", what,
			    (unsigned)(LZMA_MEMLIMIT >> 20));
	case LZMA_FORMAT_ERROR:
		return ferr(-EBADMSG, "%s: not %s data", what, what);
	case LZMA_OPTIONS_ERROR:
		return ferr(-ENOTSUP, "%s: unsupported options", what);
	case LZMA_BUF_ERROR:
		return ferr(-EBADMSG, "%s: truncated data", what);
	case LZMA_UNSUPPORTED_CHECK:
		return ferr(-ENOTSUP, "%s: unsupported integrity check", what);
	default:
		return ferr(-EBADMSG, "%s: corrupt data (liblzma error %d)", what, (int)r);
	}
}

/* xz (one stream) and .lzma through liblzma. */
static int unxz(enum codec c, const uint8_t *in, size_t inlen, struct obuf *o,
		size_t *consumed)
{
	const char *what = codec_name(c);
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;
	int err = 0;

	if (c == CODEC_XZ)
		r = lzma_stream_decoder(&s, LZMA_MEMLIMIT, 0);
	else
		r = lzma_alone_decoder(&s, LZMA_MEMLIMIT);
	if (r != LZMA_OK)
		return lzma_error(r, what);
	s.next_in = in;
	s.avail_in = inlen;
	for (;;) {
		if ((err = obuf_room(o, ROOM, what)))
			break;
		s.next_out = o->p + o->len;
		s.avail_out = o->cap - o->len;
		r = lzma_code(&s, LZMA_FINISH);
		o->len = (size_t)(s.next_out - o->p);
		if (r == LZMA_STREAM_END)
			break;
		if (r != LZMA_OK) {
			err = lzma_error(r, what);
			break;
		}
	}
	*consumed = (size_t)s.total_in;
	lzma_end(&s);
	return err;
}

static int unzstd(const uint8_t *in, size_t inlen, struct obuf *o, size_t *consumed)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, inlen, 0 };
	int err = 0;

	if (!d)
		return ferr(-ENOMEM, "zstd: out of memory");
	/* What the kernel cannot unpack is refused here too: its limit, set
	 * by intent (libzstd's default happens to be the same today), and a
	 * frame past it is said as such below, not as corrupt data. */
	if (ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, CODEC_ZSTD_WINDOW_LOG_MAX))) {
		ZSTD_freeDCtx(d);
		return ferr(-EIO, "zstd: cannot limit the window");
	}
	for (;;) {
		ZSTD_outBuffer ob;
		size_t r;

		if ((err = obuf_room(o, ROOM, "zstd")))
			break;
		ob.dst = o->p + o->len;
		ob.size = o->cap - o->len;
		ob.pos = 0;
		r = ZSTD_decompressStream(d, &ob, &ib);
		o->len += ob.pos;
		if (ZSTD_isError(r) && ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge) {
			err = ferr(-EFBIG, "zstd: a window larger than %u MiB, which the kernel "
				   "cannot unpack", 1u << (CODEC_ZSTD_WINDOW_LOG_MAX - 20));
			break;
		}
		if (ZSTD_isError(r)) {
			err = ferr(-EBADMSG, "zstd: corrupt data (%s)", ZSTD_getErrorName(r));
			break;
		}
		/* The kernel's unzstd also stops at the end of the frame. */
		if (r == 0)
			break;
		if (ib.pos == ib.size && ob.pos < ob.size) {
			err = ferr(-EBADMSG, "zstd: truncated data");
			break;
		}
	}
	*consumed = ib.pos;
	ZSTD_freeDCtx(d);
	return err;
}

static int unlz4_legacy(const uint8_t *in, size_t inlen, struct obuf *o, size_t *consumed)
{
	size_t pos = 4, bound = (size_t)LZ4_compressBound((int)LZ4_LEGACY_BLOCK);
	int err;

	if (inlen < 4 || get_le32(in) != LZ4_LEGACY_MAGIC)
		return ferr(-EBADMSG, "lz4: not legacy lz4 data (lz4 -l)");
	while (inlen - pos >= 4) {
		size_t bsize = get_le32(in + pos);
		int n;

		/* lz4 -l writes the magic again between concatenated streams. */
		if (bsize == LZ4_LEGACY_MAGIC) {
			pos += 4;
			continue;
		}
		if (bsize == 0 || bsize > bound)
			break;
		if (bsize > inlen - pos - 4)
			return ferr(-EBADMSG, "lz4: truncated data (block of %zu bytes at %zu)", bsize,
				    pos);
		if ((err = obuf_room(o, LZ4_LEGACY_BLOCK, "lz4")))
			return err;
		n = LZ4_decompress_safe((const char *)in + pos + 4, (char *)o->p + o->len, (int)bsize,
					(int)LZ4_LEGACY_BLOCK);
		if (n < 0)
			return ferr(-EBADMSG, "lz4: corrupt block at offset %zu", pos);
		o->len += (size_t)n;
		pos += 4 + bsize;
	}
	*consumed = pos;
	return 0;
}

static int bunzip2(const uint8_t *in, size_t inlen, struct obuf *o, size_t *consumed)
{
	bz_stream s;
	size_t left = inlen;
	int r, err = 0;

	memset(&s, 0, sizeof(s));
	if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK)
		return ferr(-ENOMEM, "bzip2: cannot set up libbz2");
	s.next_in = (char *)in; /* libbz2 does not write through next_in */
	for (;;) {
		if (!s.avail_in && left) {
			s.avail_in = piece(left);
			left -= s.avail_in;
		}
		if ((err = obuf_room(o, ROOM, "bzip2")))
			break;
		s.next_out = (char *)o->p + o->len;
		s.avail_out = piece(o->cap - o->len);
		r = BZ2_bzDecompress(&s);
		o->len = (size_t)((uint8_t *)s.next_out - o->p);
		if (r == BZ_STREAM_END)
			break;
		if (r == BZ_MEM_ERROR) {
			err = ferr(-ENOMEM, "bzip2: out of memory");
			break;
		}
		if (r != BZ_OK) {
			err = ferr(-EBADMSG, "bzip2: corrupt data (libbz2 error %d)", r);
			break;
		}
		if (!s.avail_in && !left && s.avail_out) {
			err = ferr(-EBADMSG, "bzip2: truncated data");
			break;
		}
	}
	*consumed = (size_t)s.total_in_hi32 << 32 | s.total_in_lo32;
	BZ2_bzDecompressEnd(&s);
	return err;
}

static int no_lzo(void)
{
	return ferr(-ENOTSUP, "lzo: LZO-compressed data is not supported (Ferry has no LZO "
			      "library); recompress it with gzip, xz or zstd");
}

int codec_decompress(enum codec c, const void *in, size_t inlen, void **out, size_t *outlen,
		     size_t *consumed)
{
	struct obuf o;
	size_t used = 0;
	int err;

	*out = NULL;
	*outlen = 0;
	*consumed = 0;
	obuf_init(&o, CODEC_MAX_OUTPUT, inlen < CODEC_MAX_OUTPUT / 4 ? inlen * 4 : 0);
	switch (c) {
	case CODEC_NONE:
		err = obuf_room(&o, inlen ? inlen : 1, "copy");
		if (!err && inlen) {
			memcpy(o.p, in, inlen);
			o.len = used = inlen;
		}
		break;
	case CODEC_GZIP:
		err = gunzip(in, inlen, &o, &used);
		break;
	case CODEC_XZ:
	case CODEC_LZMA:
		err = unxz(c, in, inlen, &o, &used);
		break;
	case CODEC_ZSTD:
		err = unzstd(in, inlen, &o, &used);
		break;
	case CODEC_LZ4:
		err = unlz4_legacy(in, inlen, &o, &used);
		break;
	case CODEC_BZIP2:
		err = bunzip2(in, inlen, &o, &used);
		break;
	case CODEC_LZO:
		err = no_lzo();
		break;
	default:
		err = ferr(-EINVAL, "unknown codec %d", (int)c);
		break;
	}
	if (err) {
		free(o.p);
		return err;
	}
	*consumed = used;
	obuf_finish(&o, out, outlen);
	return 0;
}

static int gzip_compress(const uint8_t *in, size_t len, struct obuf *o)
{
	z_stream s;
	size_t left = len;
	int zr, err = 0;

	memset(&s, 0, sizeof(s));
	if (deflateInit2(&s, GZIP_LEVEL, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return ferr(-ENOMEM, "gzip: cannot set up zlib");
	s.next_in = in;
	do {
		if (!s.avail_in && left) {
			s.avail_in = piece(left);
			left -= s.avail_in;
		}
		if ((err = obuf_room(o, ROOM, "gzip")))
			break;
		s.next_out = o->p + o->len;
		s.avail_out = piece(o->cap - o->len);
		zr = deflate(&s, left || s.avail_in ? Z_NO_FLUSH : Z_FINISH);
		o->len = (size_t)(s.next_out - o->p);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			err = ferr(-EIO, "gzip: deflate failed (%d)", zr);
	} while (!err && zr != Z_STREAM_END);
	deflateEnd(&s);
	return err;
}

static int lzma_compress(enum codec c, const uint8_t *in, size_t len, struct obuf *o)
{
	const char *what = codec_name(c);
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;
	int err = 0;

	if (c == CODEC_XZ) {
		/* Several blocks in one stream (what xz -T0 writes, and dracut
		 * uses): the kernel's xz_dec reads it; the check must be CRC32. */
		lzma_mt mt;
		uint32_t n = lzma_cputhreads();

		memset(&mt, 0, sizeof(mt));
		mt.threads = n ? (n > 8 ? 8 : n) : 1;
		mt.preset = XZ_PRESET;
		mt.check = LZMA_CHECK_CRC32;
		r = lzma_stream_encoder_mt(&s, &mt);
	} else {
		lzma_options_lzma opt;

		if (lzma_lzma_preset(&opt, XZ_PRESET))
			return ferr(-EINVAL, "lzma: bad preset");
		r = lzma_alone_encoder(&s, &opt);
	}
	if (r != LZMA_OK)
		return lzma_error(r, what);
	s.next_in = in;
	s.avail_in = len;
	do {
		if ((err = obuf_room(o, ROOM, what)))
			break;
		s.next_out = o->p + o->len;
		s.avail_out = o->cap - o->len;
		r = lzma_code(&s, LZMA_FINISH);
		o->len = (size_t)(s.next_out - o->p);
		if (r != LZMA_OK && r != LZMA_STREAM_END)
			err = lzma_error(r, what);
	} while (!err && r != LZMA_STREAM_END);
	lzma_end(&s);
	return err;
}

static int zstd_compress(const uint8_t *in, size_t len, struct obuf *o)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t bound = ZSTD_compressBound(len), r;
	int err;

	if (!cc)
		return ferr(-ENOMEM, "zstd: out of memory");
	if (ZSTD_isError(bound)) {
		ZSTD_freeCCtx(cc);
		return ferr(-EFBIG, "zstd: input too large");
	}
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, ZSTD_LEVEL);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	/* No worker threads: zstd's multi-threaded frames differ from its
	 * single-threaded ones, and Debian's libzstd.a (the static build's)
	 * has no threads, so the bytes of an image would depend on the build
	 * and on the machine's CPU count. One thread: a capture is a function
	 * of its source and its options. */
	if ((err = obuf_room(o, bound, "zstd"))) {
		ZSTD_freeCCtx(cc);
		return err;
	}
	r = ZSTD_compress2(cc, o->p, o->cap, in, len);
	ZSTD_freeCCtx(cc);
	if (ZSTD_isError(r))
		return ferr(-EIO, "zstd: %s", ZSTD_getErrorName(r));
	o->len = r;
	return 0;
}

static int lz4_compress(const uint8_t *in, size_t len, struct obuf *o)
{
	size_t nblocks = len / LZ4_LEGACY_BLOCK + 1;
	size_t bound = 4 + (size_t)LZ4_compressBound((int)LZ4_LEGACY_BLOCK);
	size_t pos = 0;
	int err;

	if (nblocks > (SIZE_MAX - 4) / bound)
		return ferr(-EFBIG, "lz4: input too large");
	if ((err = obuf_room(o, 4 + nblocks * bound, "lz4")))
		return err;
	put_le32(o->p, LZ4_LEGACY_MAGIC);
	o->len = 4;
	/* An empty input still gets one (empty) block: the kernel reads at
	 * least one block size after the magic. */
	do {
		size_t n = len - pos < LZ4_LEGACY_BLOCK ? len - pos : LZ4_LEGACY_BLOCK;
		int c = LZ4_compress_HC((const char *)in + pos, (char *)o->p + o->len + 4, (int)n,
					LZ4_compressBound((int)n), LZ4HC_CLEVEL_DEFAULT);

		if (c <= 0)
			return ferr(-EIO, "lz4: compression failed");
		put_le32(o->p + o->len, (uint32_t)c);
		o->len += 4 + (size_t)c;
		pos += n;
	} while (pos < len);
	return 0;
}

static int bzip2_compress(const uint8_t *in, size_t len, struct obuf *o)
{
	bz_stream s;
	size_t left = len;
	int r, err = 0;

	memset(&s, 0, sizeof(s));
	if (BZ2_bzCompressInit(&s, BZIP2_LEVEL, 0, 0) != BZ_OK)
		return ferr(-ENOMEM, "bzip2: cannot set up libbz2");
	s.next_in = (char *)in;
	do {
		if (!s.avail_in && left) {
			s.avail_in = piece(left);
			left -= s.avail_in;
		}
		if ((err = obuf_room(o, ROOM, "bzip2")))
			break;
		s.next_out = (char *)o->p + o->len;
		s.avail_out = piece(o->cap - o->len);
		r = BZ2_bzCompress(&s, left || s.avail_in ? BZ_RUN : BZ_FINISH);
		o->len = (size_t)((uint8_t *)s.next_out - o->p);
		if (r != BZ_RUN_OK && r != BZ_FINISH_OK && r != BZ_STREAM_END)
			err = ferr(-EIO, "bzip2: compression failed (%d)", r);
	} while (!err && r != BZ_STREAM_END);
	BZ2_bzCompressEnd(&s);
	return err;
}

int codec_compress(enum codec c, const void *in, size_t len, void **out, size_t *outlen)
{
	struct obuf o;
	int err;

	*out = NULL;
	*outlen = 0;
	obuf_init(&o, SIZE_MAX / 2, len / 3);
	switch (c) {
	case CODEC_NONE:
		err = obuf_room(&o, len ? len : 1, "copy");
		if (!err && len) {
			memcpy(o.p, in, len);
			o.len = len;
		}
		break;
	case CODEC_GZIP:
		err = gzip_compress(in, len, &o);
		break;
	case CODEC_XZ:
	case CODEC_LZMA:
		err = lzma_compress(c, in, len, &o);
		break;
	case CODEC_ZSTD:
		err = zstd_compress(in, len, &o);
		break;
	case CODEC_LZ4:
		err = lz4_compress(in, len, &o);
		break;
	case CODEC_BZIP2:
		err = bzip2_compress(in, len, &o);
		break;
	case CODEC_LZO:
		err = no_lzo();
		break;
	default:
		err = ferr(-EINVAL, "unknown codec %d", (int)c);
		break;
	}
	if (err) {
		free(o.p);
		return err;
	}
	obuf_finish(&o, out, outlen);
	return 0;
}
