/* streamOptimized VMDK (vmdk.c); not part of the image interface
 * (image.h). */
#ifndef FERRY_VMDK_H
#define FERRY_VMDK_H

#include "image/writer.h"

/* With sized, prepare compresses every grain once to learn its size and
 * the length, and write compresses again; without, the length is known
 * (w->length) once write is done. */
int vmdk_prepare(struct image_writer *w, bool sized, struct progress *prog);
int vmdk_write(struct image_writer *w, struct image_out *out, struct progress *prog);
void vmdk_release(struct image_writer *w);

#endif
