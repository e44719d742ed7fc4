/* A guest (fs/guest.h) held in memory and filled from a fuzz input, so
 * that the fix rules run on files the fuzzer writes: no directory, no
 * filesystem, nothing left behind. */
#ifndef FERRY_FUZZ_MEMGUEST_H
#define FERRY_FUZZ_MEMGUEST_H

#include <stddef.h>
#include <stdint.h>

#include "fix/fix.h"
#include "fs/guest.h"

/* An empty guest: only "/". */
int memguest_open(struct guest *g);
/* Adds a file (mode GUEST_S_IFREG | 0644) or a symbolic link. The parent
 * directories exist as soon as something is under them. -EEXIST, or
 * -EINVAL for a path that is not absolute and plain ("//", ".", ".."). */
int memguest_add(struct guest *g, const char *path, const char *data, size_t len);
int memguest_add_link(struct guest *g, const char *path, const char *target);

/* Fills g from text: a line "=== PATH" starts a file that holds the lines
 * after it up to the next such line, "=== PATH -> TARGET" is a symbolic
 * link; what comes before the first is ignored. Paths the guest refuses
 * are skipped: any text loads. */
void memguest_load(struct guest *g, const char *text, size_t len);

/* A context for the fix rules on g, with the volumes of a three-partition
 * system disk (/boot ext4, / xfs, swap); the cloud profile is the value
 * of a first line "cloud=NAME", else "kvm" (cloud is NAME's storage). */
void memguest_fix_ctx(struct fix_ctx *c, struct guest *g, struct fix_report *rep,
		      const char *text, size_t len, char cloud[16]);

/* Runs rule on c, then again on its own output on a fresh report: a rule
 * is idempotent (fix/fix.h), so the second run must change nothing. A
 * second run that does change something aborts with both reports. */
void memguest_run_twice(struct fix_ctx *c, int (*rule)(struct fix_ctx *), const char *name);

#endif
