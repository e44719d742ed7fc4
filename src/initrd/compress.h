/* In-memory compression for initrds: the formats the Linux kernel unpacks,
 * written the way the kernel's own decompressors read them. */
#ifndef FERRY_COMPRESS_H
#define FERRY_COMPRESS_H

#include <stddef.h>

enum codec {
	CODEC_NONE,  /* no compression magic: plain data (a cpio) or unknown */
	CODEC_GZIP,
	CODEC_XZ,    /* written with a CRC32 check: the kernel has no CRC64 */
	CODEC_LZMA,  /* legacy .lzma ("lzma_alone") */
	CODEC_ZSTD,
	CODEC_LZ4,   /* the legacy format (lz4 -l), the only one the kernel reads */
	CODEC_BZIP2,
	CODEC_LZO,   /* recognised, refused: Ferry has no LZO library */
};

/* Decompressed output larger than this is refused (a corrupt or hostile
 * stream must not take the rescue system's memory; the largest initrds,
 * with every firmware file, unpack to a few hundred MiB). */
#define CODEC_MAX_OUTPUT ((size_t)1 << 30)
/* The largest zstd window the kernel's unzstd accepts (128 MiB). */
#define CODEC_ZSTD_WINDOW_LOG_MAX 27

/* The format whose magic starts buf, as the kernel's initramfs unpacker
 * decides it; CODEC_NONE when no compression magic matches. */
enum codec codec_detect(const void *buf, size_t len);
/* "gzip", "xz", "lzma", "zstd", "lz4", "bzip2", "lzo", "none". */
const char *codec_name(enum codec c);

/* Decompresses the one stream (gzip member, xz stream, zstd frame, lz4
 * legacy stream...) at the start of in into a new buffer *out (free()).
 * *consumed is the number of input bytes the stream took, so padding or
 * another segment after it can be found. A legacy lz4 stream has no end
 * marker: it ends at the end of input, at zero padding, or at a word too
 * large to be a block size. Truncated or corrupt input is an error. */
int codec_decompress(enum codec c, const void *in, size_t inlen, void **out, size_t *outlen,
		     size_t *consumed);

/* Compresses in into a new buffer *out (free()) as one stream the kernel
 * accepts: gzip, xz (LZMA2, CRC32 check), .lzma, zstd (window at most
 * 8 MiB), lz4 legacy (8 MiB blocks) or bzip2. CODEC_NONE copies. */
int codec_compress(enum codec c, const void *in, size_t len, void **out, size_t *outlen);

#endif
