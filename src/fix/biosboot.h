/* Boot modes, and the conversion of a UEFI system to boot by BIOS
 * (docs/boot-mode.md): its GPT made an MBR in the image, GRUB for i386-pc
 * (support/grub-bios.sh) written to the MBR and the boot gap, its modules
 * and a BIOS grub.cfg in the system's /boot/grub. Everything is written on
 * the copy: sectors into the overlay, files through the guest. */
#ifndef FERRY_BIOSBOOT_H
#define FERRY_BIOSBOOT_H

#include <stdbool.h>
#include <stddef.h>

#include "fix/fix.h"

enum boot_mode { BOOT_MODE_KEEP, BOOT_MODE_BIOS, BOOT_MODE_UEFI };

/* "keep", "bios", "uefi". */
const char *boot_mode_name(enum boot_mode m);
/* -EINVAL, with a message, for anything else. */
int boot_mode_parse(const char *s, enum boot_mode *m);

/* Where GRUB for BIOS is: $FERRY_GRUB_BIOS, else /usr/share/ferry/grub-bios. */
const char *biosboot_grub_dir(void);

struct stage;

/* Whether the system boots by UEFI (it has an EFI system partition). */
bool biosboot_uefi(const struct stage *s);
/* Whether the disk boots by UEFI only: an EFI system partition, and no
 * BIOS boot code (a GPT's bios_grub partition, an MBR's code). */
struct source;
struct table;
bool biosboot_uefi_only(const struct source *src, const struct table *t);
/* Whether the system needs converting to boot by BIOS: it boots by UEFI
 * only (an EFI system partition and no BIOS boot code). */
bool biosboot_needed(const struct stage *s);
/* Whether the conversion can be made; if not, why (for ferry check). */
bool biosboot_possible(struct stage *s, char *why, size_t n);
/* Converts the copy; each step recorded in rep (rule "bootmode"). */
int biosboot_convert(struct stage *s, struct fix_report *rep);

#endif
