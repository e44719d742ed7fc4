/* A libext2fs io_manager on a window (a partition) of a source disk: reads
 * see the copy-on-write overlay; writes go into it or are refused. */
#ifndef FERRY_PARTIO_H
#define FERRY_PARTIO_H

#include <ext2fs/ext2fs.h>
#include <stdint.h>

#include "blk/source.h"

extern io_manager partio_manager;

/* Registers a window of src under a name to hand to ext2fs_open2() with
 * partio_manager. The name stays valid until partio_unregister(). */
int partio_register(const struct source *src, uint64_t off, uint64_t len, const char *name);
/* The same for the copy: the filesystem may then be opened read-write, and
 * every write goes to src's overlay (which must be attached). */
int partio_register_copy(struct source *src, uint64_t off, uint64_t len, const char *name);
void partio_unregister(const char *name);

#endif
