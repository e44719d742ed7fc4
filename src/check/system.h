/* The checks of one system opened on its copy (fix/stage.h). */
#ifndef FERRY_CHECK_SYSTEM_H
#define FERRY_CHECK_SYSTEM_H

#include "check/check.h"
#include "fix/stage.h"

/* Every check that reads the disk and the system's files (not the capture
 * rules'; check_from_fixes adds those). format: the image format the
 * capture writes, or NULL. */
int check_system(struct stage *s, const char *format, struct check_report *r);

/* What the system needs of partition pp to boot ("/", "/boot", "/usr",
 * "/var", "/boot/efi", "/efi", "an extended partition", "an LVM physical
 * volume"), or NULL for a data partition --exclude may leave out. */
const char *check_part_needed(const struct stage *s, const struct probe_part *pp);

/* The operating system: os-release (or the older release files), the
 * architecture of its binaries, its kernels. */
int check_os(struct stage *s, struct check_report *r);
/* The files no capture rule changes: cloud-init is a rule's note; here
 * /etc/shadow and NetworkManager. */
int check_files(struct stage *s, struct check_report *r);
/* The NICs, IPv6 and hardware addresses of every network configuration. */
int check_network(struct stage *s, struct check_report *r);

#endif
