/* The unattended job (see job.h): parsing, substitution, checks, and the
 * capture command it stands for. Values may hold presigned URLs and
 * tokens: nothing here prints, and what is shown goes through job_redact. */
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture/capture.h"
#include "run/job.h"
#include "util/err.h"
#include "util/url.h"

const struct job_key_info job_keys[JOB_NKEYS] = {
	[JOB_SOURCE] = {"source", NULL, "the disk to capture (default auto: the disk holding /)"},
	[JOB_TARGET] = {"target", NULL, "s3://BUCKET/KEY, an https:// presigned URL, or a path",
			true},
	[JOB_FORMAT] = {"format", "raw|qcow2|vhd|vhd-fixed|vmdk", "image format"},
	[JOB_COMPRESS] = {"compress", "none|zlib|zstd", "qcow2 compression"},
	[JOB_CLOUD] = {"cloud", "kvm|tencent|alibaba|huawei", "the target cloud"},
	[JOB_BOOT_MODE] = {"boot_mode", "bios|uefi|keep", "how the image boots (default: the cloud's)"},
	[JOB_EXCLUDE] = {"exclude", NULL, "data partitions left out of the image (N or N,M)"},
	[JOB_ENDPOINT] = {"endpoint", NULL, "the S3 endpoint URL", true},
	[JOB_REGION] = {"region", NULL, "the SigV4 region"},
	[JOB_CREDENTIALS] = {"credentials", NULL, "AWS shared-credentials file, or an https URL",
			     true},
	[JOB_PROFILE] = {"profile", NULL, "the section of the credentials file"},
	[JOB_CA] = {"ca", NULL, "a PEM file of CA certificates, or sha256:HEX of the server's", true},
	[JOB_RESOLVE] = {"resolve", NULL, "HOST:IP"},
	[JOB_PROXY] = {"proxy", NULL, "http://[USER:PASS@]HOST[:PORT]", true},
	[JOB_RATE] = {"rate", NULL, "upload limit, bytes/s (k, M, G)"},
	[JOB_PARALLEL] = {"parallel", NULL, "parts uploading at once"},
	[JOB_PART_SIZE] = {"part_size", NULL, "at least this per part"},
	[JOB_TIMEOUT] = {"timeout", NULL, "seconds a server may stay silent"},
	[JOB_VIRTUAL_HOST] = {"virtual_host", "0|1|no|yes", "BUCKET.host addressing"},
	[JOB_FIX] = {"fix", NULL, "the fixes to run (comma-separated)"},
	[JOB_NO_FIX] = {"no_fix", "0|1|no|yes", "copy as it is"},
	[JOB_FORCE] = {"force", "0|1|no|yes", "capture despite blockers the checks find"},
	[JOB_OVERWRITE] = {"overwrite", "0|1|no|yes", "replace an existing target file"},
	[JOB_STRICT] = {"strict", "0|1|no|yes", "fail on a sector that does not read"},
	[JOB_CONFIG] = {"config", NULL, "a job file (path or https URL)", true},
	[JOB_MODE] = {"mode", "auto|tui|shell", "what the rescue system does"},
	[JOB_AFTER] = {"after", "poweroff|reboot|shell", "after a job that succeeded"},
	[JOB_ON_FAIL] = {"on_fail", "shell|poweroff|reboot|retry", "after a job that failed"},
	[JOB_BREAK] = {"break", "modules|disks|network|clock|scan|check|capture",
		       "stop before this phase"},
	[JOB_NTP] = {"ntp", NULL, "set the clock from this NTP server first"},
	[JOB_MEDIUM] = {"medium", NULL, "the boot medium's label, for /init to wait for"},
	[JOB_DHCP_WAIT] = {"dhcp_wait", NULL, "seconds /init gives DHCP (default 60 for a network job, else 10)"},
	[JOB_STATUS_INTERVAL] = {"status_interval", NULL, "seconds between KEY.status.json"},
	[JOB_DEBUG] = {"debug", "0|1|no|yes", "more messages"},
};

void job_init(struct job *j)
{
	memset(j, 0, sizeof(*j));
}

void job_release(struct job *j)
{
	for (int k = 0; k < JOB_NKEYS; k++) {
		if (j->val[k])
			memset(j->val[k], 0, strlen(j->val[k]));
		free(j->val[k]);
	}
	for (size_t i = 0; i < j->nwarnings; i++)
		free(j->warnings[i]);
	free(j->warnings);
	memset(j, 0, sizeof(*j));
}

static void warn(struct job *j, const char *fmt, const char *a, const char *b)
{
	char msg[256], **v;

	snprintf(msg, sizeof(msg), fmt, a, b);
	for (size_t i = 0; i < j->nwarnings; i++)
		if (!strcmp(j->warnings[i], msg))
			return;
	v = realloc(j->warnings, (j->nwarnings + 1) * sizeof(*v));
	if (!v)
		return;
	j->warnings = v;
	if ((v[j->nwarnings] = strdup(msg)))
		j->nwarnings++;
}

static int find_key(const char *name, size_t len)
{
	for (int k = 0; k < JOB_NKEYS; k++)
		if (strlen(job_keys[k].name) == len && !strncmp(job_keys[k].name, name, len))
			return k;
	return -1;
}

/* Stores key=value (key without "ferry."); config values do not replace
 * what the command line set. */
static int set(struct job *j, const char *key, size_t klen, const char *val, size_t vlen,
	       const char *from, const char *where)
{
	char name[64];
	int k = find_key(key, klen);
	char *v;

	snprintf(name, sizeof(name), "%.*s", (int)(klen < 48 ? klen : 48), key);
	if (k < 0) {
		warn(j, "%s: unknown key ferry.%s (ignored)", where, name);
		return 0;
	}
	if (j->val[k] && j->from[k] && strcmp(j->from[k], from)) {
		return 0; /* the command line wins over the job file */
	}
	if (j->val[k])
		warn(j, "%s: ferry.%s is given more than once: the last one counts", where, name);
	v = strndup(val, vlen);
	if (!v)
		return ferr(-ENOMEM, "out of memory");
	if (j->val[k])
		memset(j->val[k], 0, strlen(j->val[k]));
	free(j->val[k]);
	j->val[k] = v;
	j->from[k] = from;
	return 0;
}

/* The next word of a command line, quotes removed, into out. */
static const char *next_word(const char *p, struct strbuf *out)
{
	bool quoted = false;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	for (; *p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (strbuf_add(out, p, 1))
			return NULL;
	}
	return p;
}

int job_parse_cmdline(struct job *j, const char *cmdline)
{
	const char *p = cmdline;
	struct strbuf w;
	int err = 0;

	strbuf_init(&w);
	while (!err && *p) {
		const char *eq;
		size_t n;

		w.len = 0;
		if (w.s)
			w.s[0] = '\0';
		p = next_word(p, &w);
		if (!p) {
			err = ferr(-ENOMEM, "out of memory");
			break;
		}
		if (!w.len)
			continue;
		/* What follows "--" is for init, not for the kernel's options. */
		if (!strcmp(w.s, "--"))
			break;
		if (strncmp(w.s, "ferry.", 6))
			continue;
		eq = strchr(w.s, '=');
		n = eq ? (size_t)(eq - w.s) - 6 : w.len - 6;
		/* A bare flag (ferry.debug) means yes. */
		err = set(j, w.s + 6, n, eq ? eq + 1 : "1", eq ? strlen(eq + 1) : 1, "cmdline",
			  "the command line");
	}
	if (w.s)
		memset(w.s, 0, w.len);
	strbuf_release(&w);
	return err;
}

int job_parse_config(struct job *j, const char *text, size_t len, const char *where)
{
	const char *p = text, *end = text + len;
	unsigned lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *eq, *k, *v, *ve;
		char at[300];
		int err;

		lineno++;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (p == e || *p == '#') {
			p = nl ? nl + 1 : end;
			continue;
		}
		snprintf(at, sizeof(at), "%s line %u", where, lineno);
		eq = memchr(p, '=', (size_t)(e - p));
		if (!eq)
			return ferr(-EINVAL, "%s: expected key=value", at);
		k = p;
		if ((size_t)(eq - k) > 6 && !strncmp(k, "ferry.", 6))
			k += 6;
		ve = eq;
		while (ve > k && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		v = eq + 1;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		if (e - v >= 2 && *v == '"' && e[-1] == '"') {
			v++;
			e--;
		}
		err = set(j, k, (size_t)(ve - k), v, (size_t)(e - v), "config", at);
		if (err)
			return err;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* A variable's value as it goes into keys and paths: a DMI string is
 * whatever the board's maker wrote, so only [A-Za-z0-9._-] (and a MAC's
 * colons) are kept, anything else becomes '_', and so does each dot of a
 * run of two or more ("..") or of a value that is only "." . */
static int add_safe(struct strbuf *out, const char *val, bool mac)
{
	size_t n = strlen(val);
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		char c = val[i];
		bool dots = c == '.' && ((i + 1 < n && val[i + 1] == '.') ||
					 (i && val[i - 1] == '.') || n == 1);

		if (dots || !(isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' ||
			      (mac && c == ':')))
			c = '_';
		err = strbuf_add(out, &c, 1);
	}
	return err;
}

int job_expand(const char *s, const struct job_vars *v, struct strbuf *out)
{
	while (*s) {
		const char *d = strstr(s, "${"), *close, *val = NULL;
		int err;

		if (!d)
			return strbuf_add(out, s, strlen(s));
		if ((err = strbuf_add(out, s, (size_t)(d - s))))
			return err;
		close = strchr(d, '}');
		if (!close)
			return ferr(-EINVAL, "an unclosed ${ in a job value");
		if (close - d == 5 && !strncmp(d + 2, "mac", 3))
			val = v->mac;
		else if (close - d == 8 && !strncmp(d + 2, "serial", 6))
			val = v->serial;
		else if (close - d == 6 && !strncmp(d + 2, "uuid", 4))
			val = v->uuid;
		else
			return ferr(-EINVAL, "unknown variable %.*s (known: ${mac}, ${serial}, ${uuid})",
				    (int)(close - d + 1 > 40 ? 40 : close - d + 1), d);
		if (!*val)
			return ferr(-ENOENT, "%.*s: this machine has no value for it", (int)(close - d + 1),
				    d);
		if ((err = add_safe(out, val, val == v->mac)))
			return err;
		s = close + 1;
	}
	return 0;
}

static void read_line_of(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(out, (int)len, f)) {
		n = strcspn(out, "\n");
		out[n] = '\0';
		/* Vendors fill unset DMI fields with blanks or filler text. */
		while (n && out[n - 1] == ' ')
			out[--n] = '\0';
		if (!strcasecmp(out, "To be filled by O.E.M.") || !strcasecmp(out, "Not Specified") ||
		    !strcasecmp(out, "System Serial Number") || !strcasecmp(out, "Default string"))
			out[0] = '\0';
	}
	fclose(f);
}

/* The interface of the default route in /proc/net/route, or "". */
static void default_route_dev(char *dev, size_t len)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256], name[64];
	unsigned long dst;

	dev[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lx", name, &dst) == 2 && dst == 0) {
			snprintf(dev, len, "%s", name);
			break;
		}
	fclose(f);
}

void job_vars_read(struct job_vars *v, const char *sysfs)
{
	char path[512], dev[64], mac[64];

	memset(v, 0, sizeof(*v));
	snprintf(path, sizeof(path), "%s/class/dmi/id/product_serial", sysfs);
	read_line_of(path, v->serial, sizeof(v->serial));
	snprintf(path, sizeof(path), "%s/class/dmi/id/product_uuid", sysfs);
	read_line_of(path, v->uuid, sizeof(v->uuid));
	for (char *c = v->uuid; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	default_route_dev(dev, sizeof(dev));
	if (dev[0]) {
		snprintf(path, sizeof(path), "%s/class/net/%s/address", sysfs, dev);
		read_line_of(path, mac, sizeof(mac));
		if (strlen(mac) == 17 && strcmp(mac, "00:00:00:00:00:00"))
			memcpy(v->mac, mac, sizeof(v->mac)); /* 17 characters and the NUL */
	}
	if (!v->mac[0]) {
		/* The first interface, by name, with a real hardware address. */
		DIR *d;
		struct dirent *e;
		char best[256] = "";

		snprintf(path, sizeof(path), "%s/class/net", sysfs);
		d = opendir(path);
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.' || !strcmp(e->d_name, "lo") ||
			    (best[0] && strcmp(e->d_name, best) > 0))
				continue;
			snprintf(path, sizeof(path), "%s/class/net/%s/address", sysfs, e->d_name);
			read_line_of(path, mac, sizeof(mac));
			if (strlen(mac) == 17 && strcmp(mac, "00:00:00:00:00:00")) {
				snprintf(best, sizeof(best), "%s", e->d_name);
				memcpy(v->mac, mac, sizeof(v->mac)); /* 17 characters and the NUL */
			}
		}
		if (d)
			closedir(d);
	}
}

static bool one_of(const char *v, const char *words)
{
	size_t n = strlen(v);

	while (words && *words) {
		size_t w = strcspn(words, "|");

		if (w == n && !strncmp(words, v, n))
			return true;
		words += w + (words[w] == '|');
	}
	return false;
}

static bool yes(const char *v)
{
	return v && (!strcmp(v, "1") || !strcmp(v, "yes"));
}

int job_validate(const struct job *j)
{
	for (int k = 0; k < JOB_NKEYS; k++) {
		const char *v = j->val[k];

		if (!v || !job_keys[k].values)
			continue;
		if (!one_of(v, job_keys[k].values))
			return ferr(-EINVAL, "ferry.%s=%s: expected %s", job_keys[k].name,
				    strlen(v) > 40 ? "(long value)" : v, job_keys[k].values);
	}
	if (j->val[JOB_STATUS_INTERVAL]) {
		char *e;
		unsigned long n = strtoul(j->val[JOB_STATUS_INTERVAL], &e, 10);

		if (*e || n < 1 || n > 3600)
			return ferr(-EINVAL, "ferry.status_interval: expected 1 to 3600 seconds");
	}
	if (yes(j->val[JOB_NO_FIX]) && j->val[JOB_FIX])
		return ferr(-EINVAL, "ferry.no_fix and ferry.fix exclude each other");
	return 0;
}

/* Copies one URL, its userinfo and query replaced by "...". */
static const char *redact_url(const char *p, struct strbuf *out)
{
	const char *end = p + strcspn(p, " \t\n\"'");
	const char *host = strstr(p, "://") + 3;
	const char *at = memchr(host, '@', (size_t)(end - host));
	const char *path = host + strcspn(host, "/?#");
	const char *q;

	if (at && at < path) {
		strbuf_add(out, p, (size_t)(host - p));
		strbuf_add(out, "...@", 4);
		p = at + 1;
	}
	q = memchr(p, '?', (size_t)(end - p));
	if (q) {
		strbuf_add(out, p, (size_t)(q - p) + 1);
		strbuf_add(out, "...", 3);
	} else {
		strbuf_add(out, p, (size_t)(end - p));
	}
	return end;
}

void job_redact(const char *s, struct strbuf *out)
{
	while (*s) {
		const char *u = strstr(s, "://");
		const char *start;

		if (!u) {
			strbuf_add(out, s, strlen(s));
			return;
		}
		for (start = u; start > s && ((start[-1] >= 'a' && start[-1] <= 'z') ||
					       (start[-1] >= 'A' && start[-1] <= 'Z') ||
					       (start[-1] >= '0' && start[-1] <= '9') || start[-1] == '+');)
			start--;
		strbuf_add(out, s, (size_t)(start - s));
		s = redact_url(start, out);
	}
}

int job_describe(const struct job *j, struct strbuf *out)
{
	for (int k = 0; k < JOB_NKEYS; k++) {
		if (!j->val[k])
			continue;
		strbuf_addf(out, "  ferry.%s=", job_keys[k].name);
		if (job_keys[k].url)
			url_redact(j->val[k], out);
		else
			job_redact(j->val[k], out);
		if (strbuf_addf(out, "  (%s)\n", j->from[k]))
			return -ENOMEM;
	}
	return 0;
}

/* The job's keys that are ferry capture options, in the order the command
 * shows them; a flag's value is a yes/no word. */
static const struct {
	enum job_key key;
	const char *opt;
	bool flag;
} capture_map[] = {
	{JOB_FORMAT, "format", false},
	{JOB_COMPRESS, "compress", false},
	{JOB_CLOUD, "cloud", false},
	{JOB_BOOT_MODE, "boot-mode", false},
	{JOB_EXCLUDE, "exclude", false},
	{JOB_ENDPOINT, "endpoint", false},
	{JOB_REGION, "region", false},
	{JOB_CREDENTIALS, "credentials", false},
	{JOB_PROFILE, "profile", false},
	{JOB_CA, "ca", false},
	{JOB_RESOLVE, "resolve", false},
	{JOB_PROXY, "proxy", false},
	{JOB_RATE, "rate", false},
	{JOB_PARALLEL, "parallel", false},
	{JOB_PART_SIZE, "part-size", false},
	{JOB_TIMEOUT, "timeout", false},
	{JOB_FIX, "fix", false},
	{JOB_VIRTUAL_HOST, "virtual-host", true},
	{JOB_NO_FIX, "no-fix", true},
	{JOB_FORCE, "force", true},
	{JOB_OVERWRITE, "overwrite", true},
	{JOB_STRICT, "strict", true},
};

int job_capture_opts(const struct job *j, struct capture_opts *o)
{
	int err = 0;

	capture_opts_init(o);
	if (!j->val[JOB_TARGET])
		return ferr(-EINVAL, "no ferry.target: nothing to do");
	for (size_t i = 0; !err && i < sizeof(capture_map) / sizeof(capture_map[0]); i++) {
		const char *v = j->val[capture_map[i].key];

		if (!v || (capture_map[i].flag && !yes(v)))
			continue;
		err = capture_opts_set(o, capture_map[i].opt, capture_map[i].flag ? NULL : v);
		if (err < 0)
			return ferr_ctx(err, "ferry.%s", job_keys[capture_map[i].key].name);
		err = err == 1 ? 0 : ferr(-EINVAL, "ferry.%s: not a capture option",
					  job_keys[capture_map[i].key].name);
	}
	o->source = j->val[JOB_SOURCE] ? j->val[JOB_SOURCE] : "auto";
	o->target = j->val[JOB_TARGET];
	return err ? err : capture_opts_done(o);
}

/* One word of the command as shown: quoted when it holds a blank, a quote
 * or a '$'; URLs and proxy addresses hidden by their structure. */
static int show_word(struct strbuf *out, const char *w, bool url)
{
	bool quote = strpbrk(w, " \t'\"$") != NULL;

	strbuf_add(out, quote ? " '" : " ", quote ? 2 : 1);
	if (url)
		url_redact(w, out);
	else
		job_redact(w, out);
	return quote ? strbuf_add(out, "'", 1) : 0;
}

int job_capture_command(const struct job *j, struct strbuf *out)
{
	int err;

	if (!j->val[JOB_TARGET])
		return ferr(-EINVAL, "no ferry.target: nothing to do");
	err = strbuf_add(out, "capture", 7);
	for (size_t i = 0; !err && i < sizeof(capture_map) / sizeof(capture_map[0]); i++) {
		enum job_key k = capture_map[i].key;

		if (!j->val[k] || (capture_map[i].flag && !yes(j->val[k])))
			continue;
		err = strbuf_addf(out, " --%s", capture_map[i].opt);
		if (!err && !capture_map[i].flag)
			err = show_word(out, j->val[k], job_keys[k].url);
	}
	if (!err)
		err = show_word(out, j->val[JOB_SOURCE] ? j->val[JOB_SOURCE] : "auto", false);
	if (!err)
		err = show_word(out, j->val[JOB_TARGET], true);
	return err;
}

int job_default_cloud(struct job *j, const char *conf)
{
	char line[256], *v, *end;
	FILE *f;

	if (j->val[JOB_CLOUD] || !(f = fopen(conf, "r")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "FERRY_CLOUD=", 12))
			continue;
		/* shq's quoting: 'NAME' (a profile name has no quote of its own) */
		v = line + 12 + (line[12] == '\'');
		end = v + strcspn(v, "'\n");
		*end = '\0';
		if (*v && !(j->val[JOB_CLOUD] = strdup(v))) {
			fclose(f);
			return ferr(-ENOMEM, "out of memory");
		}
		j->from[JOB_CLOUD] = "the rescue image's default";
		break;
	}
	fclose(f);
	return 0;
}
