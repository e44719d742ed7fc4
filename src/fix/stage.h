/* The fix stage of a capture (see stage.c). */
#ifndef FERRY_STAGE_H
#define FERRY_STAGE_H

#include <stdint.h>

#include "disk/source.h"
#include "fix/fix.h"

/* Finds the system on src, opens its filesystems on the copy (src->cow must
 * be attached) and runs the rules in mask; every change is recorded in rep.
 * A filesystem whose journal needs recovery is replayed into the overlay
 * first, or the stage refuses with the reason. */
int fix_stage(struct source *src, uint32_t mask, const char *cloud, struct fix_report *rep);

#endif
