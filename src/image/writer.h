/* What the format writers (image.c, qcow2.c, qcow2z.c) share; not part
 * of the image interface (image.h). */
#ifndef FERRY_IMAGE_WRITER_H
#define FERRY_IMAGE_WRITER_H

#include "image/image.h"

int image_raw_write(const struct plan *p, const struct image_input *in, struct image_out *out,
	      struct progress *prog);
/* Fills buf with guest bytes [start, start+len) from the plan's ranges,
 * zeros elsewhere; *ei is the first range that may intersect (start at 0,
 * then keep it across calls in increasing order). */
int image_fill(const struct plan *p, size_t *ei, const struct image_input *in, uint8_t *buf,
	       uint64_t start, uint64_t len, struct progress *prog);
/* Writes n bytes of buf, runs of all-zero 4 KiB blocks skipped (holes in
 * a file, zeros in a stream). */
int image_out_sparse(struct image_out *out, const uint8_t *buf, size_t n);
/* Copies [off, off+len) of the input into out in large reads (zero blocks
 * skipped likewise). */
int image_copy_range(const struct image_input *in, struct image_out *out, uint64_t off,
		     uint64_t len, struct progress *prog);

#endif
