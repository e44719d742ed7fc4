/* VHD images, dynamic and fixed (vhd.c); not part of the image interface
 * (image.h). */
#ifndef FERRY_VHD_H
#define FERRY_VHD_H

#include "image/writer.h"

/* The specification's largest disk. */
#define VHD_MAX_SIZE (2040ull << 30)

/* The virtual size a VHD of a disk of size bytes gets: the smallest at or
 * past it that the footer's CHS geometry covers exactly (past the largest
 * geometry, size in whole sectors). */
uint64_t vhd_virtual_size(uint64_t size);
/* The bytes vhd_write will produce for the plan. */
int vhd_length(const struct plan *p, bool fixed, uint64_t *length);
int vhd_write(const struct plan *p, bool fixed, const struct image_input *in,
	      struct image_out *out, struct progress *prog);

#endif
