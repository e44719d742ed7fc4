/* streamOptimized VMDK (vmdk.c); not part of the image interface
 * (image.h). */
#ifndef FERRY_VMDK_H
#define FERRY_VMDK_H

#include "image/writer.h"

/* prepare compresses every grain once to learn its size; write compresses
 * again and streams the image. */
int vmdk_prepare(struct image_writer *w, struct progress *prog);
int vmdk_write(struct image_writer *w, struct image_out *out, struct progress *prog);
void vmdk_release(struct image_writer *w);

#endif
