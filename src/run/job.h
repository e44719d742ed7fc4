/* An unattended job: the ferry.* keys of the kernel command line and of
 * the job file ferry.config names, resolved into one set of values. */
#ifndef FERRY_JOB_H
#define FERRY_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

struct capture_opts;

/* The keys, in the order a job is printed. */
enum job_key {
	JOB_SOURCE, JOB_TARGET, JOB_FORMAT, JOB_COMPRESS, JOB_CLOUD, JOB_BOOT_MODE, JOB_EXCLUDE, JOB_ENDPOINT, JOB_REGION,
	JOB_CREDENTIALS, JOB_PROFILE, JOB_CA, JOB_RESOLVE, JOB_PROXY, JOB_RATE, JOB_PARALLEL,
	JOB_PART_SIZE, JOB_TIMEOUT, JOB_VIRTUAL_HOST, JOB_FIX, JOB_NO_FIX, JOB_FORCE, JOB_OVERWRITE, JOB_STRICT,
	JOB_CONFIG, JOB_MODE, JOB_AFTER, JOB_ON_FAIL, JOB_BREAK, JOB_NTP, JOB_MEDIUM,
	JOB_DHCP_WAIT, JOB_STATUS_INTERVAL, JOB_DEBUG, JOB_NKEYS
};

struct job_key_info {
	const char *name;   /* without "ferry." */
	const char *values; /* the accepted words, "|"-separated, or NULL for any */
	const char *help;
	bool url; /* a URL or a proxy address: shown with url_redact */
};

extern const struct job_key_info job_keys[JOB_NKEYS];

struct job {
	char *val[JOB_NKEYS];    /* NULL: not given */
	const char *from[JOB_NKEYS]; /* "cmdline" or "config" */
	char **warnings;         /* unknown or repeated keys, said once each */
	size_t nwarnings;
};

/* What ${mac}, ${serial} and ${uuid} stand for on this machine. */
struct job_vars {
	char mac[18], serial[128], uuid[64];
};

void job_init(struct job *j);
void job_release(struct job *j);

/* Splits a kernel command line the kernel's way (spaces separate words;
 * double quotes group spaces and are removed; "--" ends the kernel's part)
 * and takes the ferry.* words. A repeated key keeps the last value; an
 * unknown ferry.* key is warned about by name only. */
int job_parse_cmdline(struct job *j, const char *cmdline);
/* A job file: "key=value" lines ("ferry." optional), '#' comments, values
 * optionally in double quotes. Keys already set by the command line are
 * kept: the command line wins. where names the file in messages. */
int job_parse_config(struct job *j, const char *text, size_t len, const char *where);
/* Replaces ${mac}, ${serial} and ${uuid} in s; an unknown ${...} is an
 * error, as is a variable this machine has no value for. */
int job_expand(const char *s, const struct job_vars *v, struct strbuf *out);
/* Fills v from /sys (the NIC of the default route, else the first one
 * with a hardware address; DMI product serial and UUID). */
void job_vars_read(struct job_vars *v, const char *sysfs);
/* Checks every value against its key's accepted words and the keys that
 * need each other; messages name the key. */
int job_validate(const struct job *j);
/* The rescue image's default cloud (FERRY_CLOUD= in conf, the file
 * board/rescue/mkinitramfs.sh writes), when neither the command line nor
 * the job file names one: a boot entry does not override a job file's
 * cloud. A missing file or line sets nothing. */
#define JOB_RESCUE_CONF "/etc/ferry/rescue.conf"
int job_default_cloud(struct job *j, const char *conf);
/* s with the userinfo and the query of any URL in it replaced by "..."
 * (presigned signatures and tokens never reach a screen or a log). */
void job_redact(const char *s, struct strbuf *out);
/* The job, one "ferry.key=value (from)" line each, redacted. */
int job_describe(const struct job *j, struct strbuf *out);
/* The capture the job stands for, its values through the same checks as
 * ferry capture's options; messages name the key. */
int job_capture_opts(const struct job *j, struct capture_opts *o);
/* The same capture as a ferry capture command line ("capture --cloud ...
 * SOURCE TARGET"), to show: redacted, words with blanks quoted. */
int job_capture_command(const struct job *j, struct strbuf *out);

#endif
