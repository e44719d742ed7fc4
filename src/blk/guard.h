/* The last layer of the one rule: every open() and fsync() in the ferry
 * binary, the libraries' included, passes through guard.c. On a block
 * device of a disk Ferry reads as a source (the disk or any of its
 * partitions), or on a disk image file it reads as one, an open that asks
 * to write fails with EROFS, and an fsync or fdatasync does nothing,
 * whatever the kernel or the file's mode would allow.
 *
 * The kernel's read-only flag (BLKROSET) refuses writes, but neither opens
 * for writing nor flushes: libparted opens a disk O_RDWR when it can, then
 * opens each of its partitions O_WRONLY and fsyncs it, and it fsyncs the
 * disk as it closes it, even read-only; each fsync sends the disk a flush
 * command (the kernel counts it as a write). Refused, libparted opens the
 * disk read-only, and its fsyncs do not reach the disk.
 *
 * The static build links with ld's --wrap for each function; other builds
 * define the functions themselves, which the shared libraries' calls
 * resolve to. */
#ifndef FERRY_BLK_GUARD_H
#define FERRY_BLK_GUARD_H

#include <stdbool.h>
#include <sys/types.h>

/* Guards the whole disk that dev (a disk or one of its partitions) belongs
 * to, for the rest of the process. */
void guard_disk(dev_t dev);

/* Guards a disk image file, by its device and inode (whatever name it is
 * opened by), until guard_file_release is called as often as guard_file
 * was: while a source holds it open (a disk stays guarded; a file may be
 * written again later, by what made it). */
void guard_file(dev_t dev, ino_t ino);
void guard_file_release(dev_t dev, ino_t ino);

/* True, once for each, after an open was refused: libparted's warning that
 * it opened a disk read-only follows each refusal. */
bool guard_take_refusal(void);
/* Forgets the refusals counted so far: called before libparted reads, so
 * that only its own refusals are paired with its warnings. */
void guard_clear_refusals(void);

#endif
