/* ferry run's job: the kernel command line's quoting, repeated and
 * unknown keys, job files, ${...} substitution, checks, redaction, and the
 * capture command a job stands for. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "run/job.h"
#include "tap.h"
#include "util/err.h"
#include "util/url.h"

static const char *val(const struct job *j, enum job_key k)
{
	return j->val[k] ? j->val[k] : "(unset)";
}

static void cmdline_cases(void)
{
	struct job j;

	job_init(&j);
	is_int(job_parse_cmdline(&j, "BOOT_IMAGE=/vmlinuz ro quiet ferry.target=s3://b/k "
				     "ferry.endpoint=\"https://e.example\" console=ttyS0"), 0,
	       "a command line with other keys");
	is_str(val(&j, JOB_TARGET), "s3://b/k", "ferry.target");
	is_str(val(&j, JOB_ENDPOINT), "https://e.example", "a quoted value loses its quotes");
	is_int((int)j.nwarnings, 0, "other keys are not ferry's business: no warning");
	job_release(&j);

	job_init(&j);
	job_parse_cmdline(&j, "\"ferry.fix=fstab,selinux\" ferry.region=\"ap guangzhou\"\tferry.debug");
	is_str(val(&j, JOB_FIX), "fstab,selinux", "a whole word in quotes");
	is_str(val(&j, JOB_REGION), "ap guangzhou", "a quoted value keeps its space");
	is_str(val(&j, JOB_DEBUG), "1", "a bare flag means 1");
	job_release(&j);

	job_init(&j);
	job_parse_cmdline(&j, "ferry.format=raw ferry.format=qcow2 ferry.colour=s3cr3tA "
			      "ferry.colour=s3cr3tB -- ferry.source=/dev/sdz");
	is_str(val(&j, JOB_FORMAT), "qcow2", "a repeated key: the last one counts");
	is_int((int)j.nwarnings, 2, "two warnings: the repeat, the unknown key (said once)");
	ok(j.nwarnings == 2 && strstr(j.warnings[0], "ferry.format is given more than once") &&
	   strstr(j.warnings[1], "unknown key ferry.colour"), "they say so: '%s', '%s'",
	   j.nwarnings > 0 ? j.warnings[0] : "", j.nwarnings > 1 ? j.warnings[1] : "");
	ok(j.nwarnings == 2 && !strstr(j.warnings[1], "s3cr3t"),
	   "an unknown key's value is not echoed (it may be a secret)");
	is_str(val(&j, JOB_SOURCE), "(unset)", "what follows -- is init's, not ferry's");
	job_release(&j);
}

static void config_cases(void)
{
	static const char text[] =
		"# rack 4\n"
		"ferry.target = s3://b/rack4/${serial}.qcow2\n"
		"endpoint=\"https://cos.example\"\r\n"
		"\n"
		"  format=raw   \n"
		"after=reboot\n";
	struct job j;

	job_init(&j);
	job_parse_cmdline(&j, "ferry.config=https://jobs/${mac} ferry.format=qcow2");
	is_int(job_parse_config(&j, text, sizeof(text) - 1, "job"), 0, "a job file");
	is_str(val(&j, JOB_TARGET), "s3://b/rack4/${serial}.qcow2", "key = value with spaces");
	is_str(val(&j, JOB_ENDPOINT), "https://cos.example", "quotes and a CR removed");
	is_str(val(&j, JOB_FORMAT), "qcow2", "the command line wins over the job file");
	is_str(val(&j, JOB_AFTER), "reboot", "the job file fills in the rest");
	is_int(job_parse_config(&j, "target\n", 7, "job"), -EINVAL, "a line without '='");
	ok(strstr(ferr_msg(), "job line 1: expected key=value") != NULL, "names the line: %s",
	   ferr_msg());
	job_release(&j);
}

/* The rescue image's default cloud fills only what nothing named (a boot
 * entry's ferry.cloud=kvm used to override a job file's cloud=tencent). */
static void default_cloud_cases(void)
{
	char conf[256];
	struct job j;
	int fd;

	snprintf(conf, sizeof(conf), "%s/ferry-job-conf-XXXXXX", tap_tmpdir());
	fd = mkstemp(conf);
	if (fd < 0 || write(fd, "FERRY_VERSION='1'\nFERRY_CLOUD='huawei'\n", 39) != 39) {
		ok(0, "a rescue.conf to read");
		return;
	}
	close(fd);
	job_init(&j);
	job_parse_config(&j, "cloud=tencent\n", 14, "job");
	is_int(job_default_cloud(&j, conf), 0, "a job file's cloud ...");
	is_str(val(&j, JOB_CLOUD), "tencent", "... is kept over the image's default");
	job_release(&j);
	job_init(&j);
	is_int(job_default_cloud(&j, conf), 0, "no cloud named ...");
	ok(!strcmp(val(&j, JOB_CLOUD), "huawei") && !strcmp(j.from[JOB_CLOUD], "the rescue image's default"),
	   "... the image's default, said so");
	job_release(&j);
	job_init(&j);
	is_int(job_default_cloud(&j, "/nonexistent/rescue.conf"), 0, "no rescue.conf ...");
	is_str(val(&j, JOB_CLOUD), "(unset)", "... nothing set");
	job_release(&j);
	unlink(conf);
}

static void expand_cases(void)
{
	struct job_vars v = {"52:54:00:12:34:56", "SN-0042", "4c4c4544-0051"};
	struct job_vars none = {"", "", ""};
	struct strbuf out;

	strbuf_init(&out);
	is_int(job_expand("s3://b/${serial}/${mac}-${uuid}.qcow2", &v, &out), 0, "three variables");
	is_str(out.s, "s3://b/SN-0042/52:54:00:12:34:56-4c4c4544-0051.qcow2", "substituted");
	out.len = 0;
	is_int(job_expand("a${host}b", &v, &out), -EINVAL, "an unknown variable");
	ok(strstr(ferr_msg(), "unknown variable ${host}") != NULL, "is named: %s", ferr_msg());
	is_int(job_expand("${serial}", &none, &out), -ENOENT, "a variable without a value");
	is_int(job_expand("x${mac", &v, &out), -EINVAL, "an unclosed ${");
	{
		struct job_vars bad = {"52:54:00:12:34:56", "../../x", "a/b c\x1b[0m:"};
		struct job_vars dot = {"", ".", "v1.2..3"};

		out.len = 0;
		is_int(job_expand("s3://b/${serial}/${uuid}.qcow2", &bad, &out), 0,
		       "a hostile DMI serial and UUID");
		is_str(out.s, "s3://b/______x/a_b_c__0m_.qcow2",
		       "only [A-Za-z0-9._-] are kept, and no \"..\" (they become _)");
		out.len = 0;
		is_int(job_expand("${serial}-${uuid}", &dot, &out), 0, "a serial that is a dot");
		is_str(out.s, "_-v1.2__3", "a lone dot and a run of dots become _");
	}
	strbuf_release(&out);
}

static void check_cases(void)
{
	struct job j;

	job_init(&j);
	job_parse_cmdline(&j, "ferry.after=halt");
	is_int(job_validate(&j), -EINVAL, "ferry.after=halt is refused");
	ok(strstr(ferr_msg(), "ferry.after=halt: expected poweroff|reboot|shell") != NULL,
	   "with the accepted words: %s", ferr_msg());
	job_release(&j);
	job_init(&j);
	job_parse_cmdline(&j, "ferry.no_fix=1 ferry.fix=fstab");
	is_int(job_validate(&j), -EINVAL, "no_fix and fix together are refused");
	job_release(&j);
	job_init(&j);
	job_parse_cmdline(&j, "ferry.status_interval=0");
	is_int(job_validate(&j), -EINVAL, "a status interval of 0 is refused");
	job_release(&j);
}

static void redact_cases(void)
{
	struct strbuf out;

	strbuf_init(&out);
	job_redact("https://h.example:8443/b/k?X-Amz-Signature=abc&X-Amz-Credential=AKIA", &out);
	is_str(out.s, "https://h.example:8443/b/k?...", "a presigned URL loses its query");
	out.len = 0;
	out.s[0] = '\0';
	job_redact("--proxy http://user:pw@px:3128 then s3://b/k", &out);
	is_str(out.s, "--proxy http://...@px:3128 then s3://b/k", "userinfo hidden, the rest kept");
	/* One value, by its structure. */
	static const char *const urls[][2] = {
		{"user:pass@host:3128", "...@host:3128"},
		{"http://u:p a'ss@w\"d@px:3128", "http://...@px:3128"},
		{"https://h/b/k?X-Amz-Signature=a b", "https://h/b/k?..."},
		{"https://u:p?w@h/k?sig", "https://...@h/k?..."},
		{"sha256:0011", "sha256:0011"},
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		out.len = 0;
		out.s[0] = '\0';
		url_redact(urls[i][0], &out);
		is_str(out.s, urls[i][1], "url_redact %s", urls[i][1]);
	}
	strbuf_release(&out);
}

static void argv_cases(void)
{
	struct job j;
	struct capture_opts o;
	struct strbuf all;

	job_init(&j);
	job_parse_cmdline(&j, "ferry.target=s3://b/k ferry.endpoint=https://e ferry.rate=20M "
			      "ferry.virtual_host=yes ferry.no_fix=1 ferry.cloud=tencent");
	strbuf_init(&all);
	is_int(job_capture_command(&j, &all), 0, "the capture command of a job");
	is_str(all.s, "capture --cloud tencent --endpoint https://e --rate 20M --virtual-host "
		      "--no-fix auto s3://b/k", "options in order, source auto, then the target");
	ok(job_capture_opts(&j, &o) == 0 && o.sink.rate == 20000000 && o.sink.virtual_host &&
		   o.fixes == 0 && !strcmp(o.cloud->name, "tencent") && !strcmp(o.source, "auto") &&
		   !strcmp(o.target, "s3://b/k"),
	   "the same capture's options, through ferry capture's checks");
	strbuf_release(&all);
	job_release(&j);
	job_init(&j);
	strbuf_init(&all);
	is_int(job_capture_command(&j, &all), -EINVAL, "no target: no command");
	is_int(job_capture_opts(&j, &o), -EINVAL, "and no capture");
	strbuf_release(&all);
	job_release(&j);
	job_init(&j);
	job_parse_cmdline(&j, "ferry.target=s3://b/k ferry.endpoint=https://e ferry.rate=fast");
	ok(job_capture_opts(&j, &o) == -EINVAL && strstr(ferr_msg(), "ferry.rate: --rate: 'fast' is not a byte count"),
	   "a bad value is refused by the capture's own check, naming the key: %s", ferr_msg());
	job_release(&j);
}

int main(void)
{
	tap_plan(52);
	cmdline_cases();
	config_cases();
	default_cloud_cases();
	expand_cases();
	check_cases();
	redact_cases();
	argv_cases();
	return tap_done();
}
