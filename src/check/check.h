/* ferry check: a disk judged against a cloud's import rules before a byte is
 * uploaded. Each check item has a stable code (docs/check-codes.md); a
 * finding is an item raised on one system, with what was seen. */
#ifndef FERRY_CHECK_H
#define FERRY_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check/profile.h"
#include "fix/fix.h"
#include "util/json.h"

enum check_sev { CHECK_INFO, CHECK_WARNING, CHECK_BLOCKER };

struct check_item {
	const char *code;     /* stable: "virtio.missing" */
	enum check_sev sev;   /* as most clouds see it; a profile may change it (check.c) */
	const char *title;    /* what is wrong, one line */
	const char *hint;     /* what to do about it */
	const char *fix_rule; /* the capture rule that fixes it (fix/fix.h), or NULL */
	const char *vendor;   /* the clouds' own codes, or NULL */
	const char *seeds;    /* the guides it comes from (shared/seeds/NNN) */
};

extern const struct check_item check_items[];
extern const size_t check_nitems;

const struct check_item *check_item(const char *code);
const char *check_sev_name(enum check_sev s);

struct check_finding {
	const struct check_item *item;
	enum check_sev sev;
	char *text; /* what was seen: "SELINUX=enforcing" */
	char *file; /* the file or device it was seen in, or NULL */
	char *fix;  /* what the capture does about it (from its rules), or NULL */
};

struct check_os {
	char id[32];      /* os-release ID (or derived): "debian", "centos" */
	char name[96];    /* PRETTY_NAME, or the release file's line */
	char version[32]; /* VERSION_ID */
	char arch[16];    /* "x86_64", "i686", "aarch64" (from the kernels or /bin/sh) */
	char kernels[160];
};

struct check_report {
	const struct cloud_profile *profile;
	struct check_finding *f;
	size_t n, cap;
	struct check_os os;
};

void check_report_init(struct check_report *r, const struct cloud_profile *p);
void check_report_release(struct check_report *r);
/* Raises code (its severity as the profile sees it) with a printf text. */
int check_raise(struct check_report *r, const char *code, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Raises with an explicit severity (a profile's limit). */
int check_raise_sev(struct check_report *r, const char *code, enum check_sev sev,
		    const char *file, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Findings of severity sev; of them, those capture does not fix (no
 * action of a rule recorded for them). */
size_t check_count(const struct check_report *r, enum check_sev sev, bool unfixed_only);
/* The fixes a capture made (or would make) as findings: each change's code. */
int check_from_fixes(struct check_report *r, const struct fix_report *fixes);

/* "findings": [...] (with key), as docs/check-codes.md describes. */
void check_report_json(const struct check_report *r, struct json *j, const char *key);
/* "os": {id, name, version, arch} (null where unknown). */
void check_os_json(const struct check_report *r, struct json *j);
/* "blockers", "warnings", "info": the findings of each severity. */
void check_counts_json(const struct check_report *r, struct json *j);
/* A capture's "checks": {cloud, os, forced, before: {counts, findings},
 * after: {...}} (docs/manifest.md). */
void check_capture_json(struct json *j, const char *key, const struct check_report *before,
			const struct check_report *after, bool forced);
/* "N blockers, N warnings, N info" */
const char *check_counts_text(const struct check_report *r, char *buf, size_t len);
/* Findings grouped by severity, one line each with its hint. */
void check_report_text(const struct check_report *r, FILE *f, const char *indent);

#endif
