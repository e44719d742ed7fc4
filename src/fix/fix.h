/* Offline fixes that make a copied system boot on a KVM cloud. Each rule
 * edits guest files (fs/guest.h) and records every change it makes; rules
 * are idempotent: run on their own output they change nothing. */
#ifndef FERRY_FIX_H
#define FERRY_FIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/guest.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/text.h"

/* One change: the file, what was done, and the text before and after (a
 * line, a setting; NULL where there is none, e.g. a created file). */
struct fix_change {
	char *rule, *file, *what, *before, *after;
	const char *code; /* the check item it answers (check/check.h), or NULL */
};

/* A finding that is reported but not changed (cloud-init missing, a device
 * name Ferry cannot map). */
struct fix_note {
	char *rule, *file, *text;
	const char *code; /* the check item it raises, or NULL */
};

struct fix_report {
	struct fix_change *changes;
	size_t nchanges, cap;
	struct fix_note *notes;
	size_t nnotes, notes_cap;
	char ran[256]; /* the rules that ran, comma-separated */
};

void fix_report_init(struct fix_report *r);
void fix_report_release(struct fix_report *r);
int fix_change(struct fix_report *r, const char *rule, const char *file, const char *what,
	       const char *before, const char *after);
/* The same, answering the check item code rather than the rule's usual one. */
int fix_change_code(struct fix_report *r, const char *code, const char *rule, const char *file,
		    const char *what, const char *before, const char *after);
int fix_note(struct fix_report *r, const char *rule, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A note that raises the check item code (what a rule could not do). */
int fix_note_code(struct fix_report *r, const char *code, const char *rule, const char *file,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* fix_note, unless the report already has this note: a finding that stays
 * (an LVM volume, enforcing=1) is reported once however often rules run. */
int fix_note_once(struct fix_report *r, const char *rule, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "fixes": {"ran": [...], "changes": [...], "notes": [...]} */
void fix_report_json(const struct fix_report *r, struct json *j);

/* A filesystem or swap area that is in the image. */
struct fix_volume {
	int partnum;      /* on the source disk (1-based) */
	char fs[12];      /* "ext4", "swap", "vfat", "xfs"... */
	char uuid[40];    /* as blkid prints it; empty if the volume has none */
	char label[20];
	char partuuid[40];
	char partlabel[72]; /* a GPT partition's name */
	/* A logical volume: its device-mapper path ("/dev/mapper/rl-root")
	 * and its LVM path ("/dev/rl/root"), names that stay stable. */
	char mapper[280], lvpath[272];
};

struct part_set;

struct fix_ctx {
	struct guest *g;                 /* the system's tree, / with /boot etc. mounted */
	const struct fix_volume *vols;   /* what the image holds */
	size_t nvols;
	int root_part, boot_part;        /* partnum of / and /boot (0 if not separate) */
	const char *cloud;               /* profile name: "kvm", "tencent", ... */
	struct fix_report *rep;
	/* The image gets a partition table of its own (a GPT made an MBR to
	 * boot by BIOS): PARTUUIDs change and partition names go, so names by
	 * PARTUUID= and PARTLABEL= are renamed to UUID= like kernel names. */
	bool new_table;
	/* Partitions left out of the image (--exclude): their fstab lines are
	 * commented out. */
	const struct part_set *exclude;
	/* Some of the tree is read-only (a judged system's XFS the kernel
	 * could not mount): a rule that fails with -EROFS is left out of rep
	 * with a note, and the next one runs. */
	bool skip_readonly;
};

/* The volume holding partition partnum of the system disk, or NULL. */
const struct fix_volume *fix_volume_by_part(const struct fix_ctx *c, int partnum);
const struct fix_volume *fix_volume_by_uuid(const struct fix_ctx *c, const char *uuid);

struct fix_rule {
	const char *name; /* as in --fix LIST */
	const char *what; /* one line for --help and docs */
	int (*run)(struct fix_ctx *c);
};

extern const struct fix_rule fix_rules[];
extern const size_t fix_nrules;

/* Parses a comma-separated --fix list ("all", rule names) into a bit mask
 * of fix_rules indexes; an unknown name is an error that names it. */
int fix_parse_list(const char *list, uint32_t *mask);
/* ", name, name..." of every rule, for messages and --help. */
const char *fix_rule_names(void);
/* Runs the rules in mask, in table order, recording into c->rep; see
 * skip_readonly. */
int fix_run(struct fix_ctx *c, uint32_t mask);

/* The rules (one file per family in src/fix/). */
int fix_fstab(struct fix_ctx *c);
int fix_bootloader(struct fix_ctx *c);
int fix_selinux(struct fix_ctx *c);
int fix_firewall(struct fix_ctx *c);
int fix_network(struct fix_ctx *c);
int fix_hvtools(struct fix_ctx *c);
int fix_virtio(struct fix_ctx *c);
int fix_cloudinit(struct fix_ctx *c);

/* Text helpers shared by the rules (and util/strbuf.h, util/text.h). */

/* Writes new content if it differs from old; records nothing. Returns 1
 * when written, 0 when equal, negative on error. */
int fix_write_if_changed(struct fix_ctx *c, const char *path, const char *old,
			 const char *new_text, size_t new_len);

#endif
