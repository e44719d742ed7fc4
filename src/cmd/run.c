/* ferry run: the unattended job of the rescue system, from the kernel
 * command line (and the job file it names): scan, capture (streamed to
 * the target), reports into the bucket, then power off, reboot or a shell. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "capture/capture.h"
#include "cmd/cmd.h"
#include "disk/probe.h"
#include "run/fetch.h"
#include "run/job.h"
#include "run/status.h"
#include "util/err.h"
#include "util/url.h"

/* Exit statuses /init acts on (besides 0, 1 and 2). */
enum { EXIT_NO_JOB = 4, EXIT_BREAK = 5 };

#define MEDIUM_DIR "/run/ferry/medium"
/* The job file a site's copy of the ISO or stick carries, used when the
 * command line names neither a target nor a job file. */
#define MEDIUM_JOB "ferry/job.conf"
#define RUN_DIR "/run/ferry"
#define RETRY_PAUSE 60
#define RETRY_MAX 5

static void usage(void)
{
	fputs("Usage:\n ferry run [--cmdline STRING] [--dry-run]\n ferry run --keys\n\n"
	      "Run the unattended job the kernel command line describes (ferry.* keys, and\n"
	      "the job file ferry.config names): scan, capture to ferry.target, reports into\n"
	      "the bucket (KEY.status.json, KEY.log), then ferry.after or ferry.on_fail.\n"
	      "See docs/cmdline.md for every key.\n\n"
	      "Options:\n"
	      "     --cmdline STRING   read these keys instead of /proc/cmdline\n"
	      " -n, --dry-run          print the resolved job and do nothing\n"
	      "     --keys             print the keys ferry run accepts, one a line, and exit\n"
	      " -h, --help             display this help\n\n"
	      "Exit status: 0 done, 1 failed, 2 usage error, 4 no job on the command line,\n"
	      "5 stopped at ferry.break.\n", stdout);
}

/* The TLS, proxy and --resolve settings the job gives, for fetching its
 * files and for the status reports. */
static int job_sink_opts(const struct job *j, struct sink_opts *o)
{
	const char *r = j->val[JOB_RESOLVE];

	sink_opts_init(o);
	o->endpoint = j->val[JOB_ENDPOINT];
	o->region = j->val[JOB_REGION];
	o->cred_file = j->val[JOB_CREDENTIALS];
	o->profile = j->val[JOB_PROFILE];
	o->ca = j->val[JOB_CA];
	o->proxy = j->val[JOB_PROXY];
	o->virtual_host = j->val[JOB_VIRTUAL_HOST] && (!strcmp(j->val[JOB_VIRTUAL_HOST], "1") ||
						      !strcmp(j->val[JOB_VIRTUAL_HOST], "yes"));
	/* The capture's own check of --resolve. */
	if (r && sink_opts_set(o, "resolve", r) < 0)
		return ferr_ctx(-EINVAL, "ferry.resolve");
	return 0;
}

/* A file the job names: an https URL, an absolute path, or a path on the
 * boot medium. */
static int load_file(const struct job *j, const char *what, const char *ref, struct strbuf *out)
{
	struct sink_opts o;
	char path[4096];
	int err;

	if (!strncmp(ref, "https://", 8) || !strncmp(ref, "http://", 7)) {
		err = job_sink_opts(j, &o);
		return err ? err : ferr_ctx(fetch_url(ref, &o, out), "%s", what);
	}
	if (ref[0] != '/' && access(MEDIUM_DIR, F_OK) == 0)
		snprintf(path, sizeof(path), "%s/%s", MEDIUM_DIR, ref);
	else
		snprintf(path, sizeof(path), "%s", ref);
	return ferr_ctx(read_text(path, out), "%s", what);
}

/* ferry.credentials by URL: kept in a file only root can read. */
static int fetch_credentials(struct job *j, char *path, size_t len)
{
	struct strbuf body;
	const char *dir = access("/run", W_OK) == 0 ? RUN_DIR : (getenv("TMPDIR") ? getenv("TMPDIR")
											 : "/tmp");
	int fd, err;

	strbuf_init(&body);
	err = load_file(j, "ferry.credentials", j->val[JOB_CREDENTIALS], &body);
	if (err)
		goto out;
	mkdir(dir, 0700);
	snprintf(path, len, "%s/credentials.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		err = ferr_errno(-errno, "cannot store the credentials in %s", dir);
		goto out;
	}
	if (write(fd, body.s ? body.s : "", body.len) != (ssize_t)body.len)
		err = ferr_errno(-errno, "cannot write %s", path);
	close(fd);
	if (!err) {
		char *v = strdup(path);

		if (!v) {
			err = ferr(-ENOMEM, "out of memory");
			goto out;
		}
		free(j->val[JOB_CREDENTIALS]);
		j->val[JOB_CREDENTIALS] = v;
	}
out:
	if (body.s)
		memset(body.s, 0, body.len);
	strbuf_release(&body);
	return err;
}

/* A relative file name in ferry.credentials or ferry.ca names a file on the
 * boot medium, as ferry.config's does. */
static int on_medium(struct job *j, int k)
{
	const char *v = j->val[k];
	char *path;

	if (!v || v[0] == '/' || !strncmp(v, "https://", 8) || !strncmp(v, "http://", 7) ||
	    (k == JOB_CA && !strncmp(v, "sha256:", 7)) || access(MEDIUM_DIR, F_OK) != 0)
		return 0;
	if (asprintf(&path, "%s/%s", MEDIUM_DIR, v) < 0)
		return ferr(-ENOMEM, "out of memory");
	free(j->val[k]);
	j->val[k] = path;
	return 0;
}

/* The command line, then the job file (the one it names, or the boot
 * medium's), then ${...} in every value. */
static int resolve_job(struct job *j, const char *cmdline, const struct job_vars *vars)
{
	int err = job_parse_cmdline(j, cmdline);

	if (!err && !j->val[JOB_CONFIG] && !j->val[JOB_TARGET] &&
	    (!j->val[JOB_MODE] || !strcmp(j->val[JOB_MODE], "auto")) &&
	    access(MEDIUM_DIR "/" MEDIUM_JOB, F_OK) == 0) {
		j->val[JOB_CONFIG] = strdup(MEDIUM_JOB);
		if (!j->val[JOB_CONFIG])
			return ferr(-ENOMEM, "out of memory");
		printf("ferry: the job file " MEDIUM_JOB " on the boot medium\n");
	}

	if (!err && j->val[JOB_CONFIG]) {
		struct strbuf ref, text;

		strbuf_init(&ref);
		strbuf_init(&text);
		err = job_expand(j->val[JOB_CONFIG], vars, &ref);
		if (err)
			ferr_ctx(err, "ferry.config");
		if (!err)
			err = load_file(j, "ferry.config", ref.s, &text);
		if (!err) {
			struct strbuf shown;

			strbuf_init(&shown);
			url_redact(ref.s, &shown);
			err = job_parse_config(j, text.s ? text.s : "", text.len, shown.s);
			strbuf_release(&shown);
		}
		strbuf_release(&ref);
		strbuf_release(&text);
	}
	if (!err)
		err = job_default_cloud(j, JOB_RESCUE_CONF);
	for (int k = 0; !err && k < JOB_NKEYS; k++) {
		struct strbuf v;

		if (!j->val[k] || k == JOB_CONFIG || !strstr(j->val[k], "${"))
			continue;
		strbuf_init(&v);
		err = job_expand(j->val[k], vars, &v);
		if (err) {
			ferr_ctx(err, "ferry.%s", job_keys[k].name);
			strbuf_release(&v);
			break;
		}
		free(j->val[k]);
		j->val[k] = v.s;
	}
	if (!err)
		err = on_medium(j, JOB_CREDENTIALS);
	if (!err)
		err = on_medium(j, JOB_CA);
	if (!err)
		err = job_validate(j);
	return err;
}

/* "ferry capture ..." as the job stands for it, redacted. */
static void print_command(FILE *f, const struct job *j)
{
	struct strbuf s;

	strbuf_init(&s);
	if (job_capture_command(j, &s) == 0)
		fprintf(f, "ferry %s\n", s.s);
	strbuf_release(&s);
}

/* Power off and reboot happen only where they are meant to: in the rescue
 * system, whose root is the initramfs. */
static bool in_rescue_system(void)
{
	struct statfs st;

	return statfs("/", &st) == 0 && (st.f_type == 0x858458f6 /* ramfs */ ||
					 st.f_type == 0x01021994 /* tmpfs */);
}

static int finish_with(const char *action)
{
	if (!strcmp(action, "shell"))
		return 0;
	if (!in_rescue_system()) {
		fprintf(stderr, "ferry: %s: not in the rescue system (/ is not its initramfs): "
			"not done\n", action);
		return 0;
	}
	printf("ferry: %s\n", !strcmp(action, "reboot") ? "rebooting" : "powering off");
	fflush(stdout);
	sync();
	reboot(!strcmp(action, "reboot") ? RB_AUTOBOOT : RB_POWER_OFF);
	return ferr_errno(-errno, "%s", action);
}

/* The capture on the console, as ferry capture shows it, and in the
 * status reports: its phases (check, capture) and its progress. */
struct run_view {
	struct console con;
	struct status *st;
};

static void run_phase(void *ctx, const char *phase)
{
	struct run_view *v = ctx;

	printf("ferry: %s\n", phase);
	fflush(stdout);
	status_phase(v->st, phase);
}

static void run_progress(void *ctx, const struct progress *p, bool final)
{
	struct run_view *v = ctx;

	console_progress(&v->con, p, final);
	status_progress(v->st, p, final);
}

static void run_warn(void *ctx, const char *msg)
{
	console_warn(&((struct run_view *)ctx)->con, msg);
}

static void run_checked(void *ctx, const struct capture_result *r)
{
	console_checked(&((struct run_view *)ctx)->con, r);
}

static void run_unreadable(void *ctx, uint64_t sectors)
{
	status_unreadable(((struct run_view *)ctx)->st, sectors);
}

static void run_partial(void *ctx, const char *path)
{
	console_partial(&((struct run_view *)ctx)->con, path);
}

/* -EPERM: the checks found a blocker (retrying will not help). */
static int run_capture(const struct job *j, struct status *st)
{
	struct run_view v = {.st = st};
	struct capture_hooks hooks = {
		.ctx = &v, .phase = run_phase, .warn = run_warn, .progress = run_progress,
		.checked = run_checked, .partial = run_partial, .unreadable = run_unreadable,
	};
	struct capture_opts o;
	struct capture_result r;
	int err;

	printf("ferry: capture: ");
	print_command(stdout, j);
	fflush(stdout);
	err = job_capture_opts(j, &o);
	if (err) {
		fail();
		/* The exit status ferry capture gives a bad option. */
		return ferr(err, "the capture failed (exit %d): %s", EXIT_USAGE, ferr_msg());
	}
	console_init(&v.con, false, false, stdout);
	err = capture_run(&o, &hooks, &r);
	if (r.written)
		capture_report_text(stdout, &r);
	if (err)
		fail();
	if (err && r.stopped)
		err = ferr(-EPERM, "the checks found a blocker the fixes do not remove: nothing "
			   "captured (ferry.force=1 captures anyway)");
	else if (err)
		err = ferr(err, "the capture failed (exit %d): %s", EXIT_FAILED, ferr_msg());
	capture_result_release(&r);
	console_release(&v.con);
	return err;
}

/* What ferry scan would show of the job's disk (or every disk), for the
 * log; the capture finds the disk again. */
static void show_scan(const struct job *j)
{
	char *path = j->val[JOB_SOURCE];
	struct probe pr;
	int err = probe_disks(&pr, &path, path ? 1 : 0);

	for (size_t i = 0; i < pr.warnings.n; i++)
		fprintf(stderr, "ferry: warning: %s\n", pr.warnings.v[i]);
	if (err)
		fail();
	else
		probe_report_text(stdout, &pr);
	fflush(stdout);
	probe_release(&pr);
}

static int run_job(struct job *j, const struct job_vars *vars)
{
	const char *brk = j->val[JOB_BREAK] ? j->val[JOB_BREAK] : "";
	const char *on_fail = j->val[JOB_ON_FAIL] ? j->val[JOB_ON_FAIL] : "shell";
	unsigned interval = j->val[JOB_STATUS_INTERVAL]
				    ? (unsigned)strtoul(j->val[JOB_STATUS_INTERVAL], NULL, 10) : 10;
	char cred_path[512] = "";
	struct sink_opts o;
	struct status st;
	bool broke = false;
	int err, attempt = 0;

	if (j->val[JOB_CREDENTIALS] && (!strncmp(j->val[JOB_CREDENTIALS], "https://", 8) ||
					!strncmp(j->val[JOB_CREDENTIALS], "http://", 7))) {
		err = fetch_credentials(j, cred_path, sizeof(cred_path));
		if (err)
			return err;
	}
	err = job_sink_opts(j, &o);
	if (!err)
		err = status_init(&st, j->val[JOB_TARGET], &o, interval, vars->mac, vars->serial);
	if (!err)
		err = status_tee_start(&st);
	if (err) {
		status_release(&st);
		if (cred_path[0])
			unlink(cred_path);
		return fail();
	}
	for (;;) {
		if (!strcmp(brk, "scan") || !strcmp(brk, "check") || !strcmp(brk, "capture")) {
			printf("ferry: stopped before %s (ferry.break=%s)\n", brk, brk);
			status_phase(&st, "break");
			status_finish(&st, true);
			status_release(&st);
			broke = true;
			goto out;
		}
		status_phase(&st, "scan");
		printf("ferry: scan\n");
		fflush(stdout);
		if (!j->val[JOB_SOURCE] || strcmp(j->val[JOB_SOURCE], "auto"))
			show_scan(j);
		err = run_capture(j, &st);
		if (!err || err == -EPERM || strcmp(on_fail, "retry") || ++attempt > RETRY_MAX)
			break;
		fprintf(stderr, "ferry: %s; trying again in %d s (ferry.on_fail=retry, attempt %d of "
			"%d)\n", ferr_msg(), RETRY_PAUSE, attempt + 1, RETRY_MAX + 1);
		status_error(&st, ferr_msg());
		sleep(RETRY_PAUSE);
	}
	if (err) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", ferr_msg());
		fprintf(stderr, "ferry: the job failed: %s\n", msg);
		status_error(&st, msg);
		status_finish(&st, false);
	} else {
		printf("ferry: done\n");
		if (status_finish(&st, true))
			fprintf(stderr, "ferry: warning: %s\n", ferr_msg());
	}
	status_release(&st);
out:
	if (cred_path[0])
		unlink(cred_path);
	if (broke)
		return EXIT_BREAK;
	if (err) {
		/* A retry that ran out ends like any failure: ferry.on_fail's shell. */
		if (strcmp(on_fail, "retry") && finish_with(on_fail))
			return fail();
		return EXIT_FAILED;
	}
	return finish_with(j->val[JOB_AFTER] ? j->val[JOB_AFTER] : "poweroff") ? fail()
										 : EXIT_DONE;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"cmdline", required_argument, NULL, 'c'},
		{"dry-run", no_argument, NULL, 'n'},
		{"keys", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmdline = NULL;
	struct strbuf proc;
	struct job_vars vars;
	struct job j;
	bool dry = false;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cmdline = optarg; break;
		case 'n': dry = true; break;
		case 'k': /* the list docs/cmdline.md documents (support/lint.sh compares) */
			for (int k = 0; k < JOB_NKEYS; k++)
				printf("ferry.%s\n", job_keys[k].name);
			return EXIT_DONE;
		case 'h': usage(); return EXIT_DONE;
		default:
			return usage_error("run", "unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("run", "unexpected argument '%s'", argv[optind]);
	strbuf_init(&proc);
	if (!cmdline) {
		if (read_text("/proc/cmdline", &proc))
			return fail();
		cmdline = proc.s ? proc.s : "";
	}
	job_vars_read(&vars, "/sys");
	for (int attempt = 0;; attempt++) {
		job_init(&j);
		rc = resolve_job(&j, cmdline, &vars);
		for (size_t i = 0; rc == 0 && i < j.nwarnings; i++)
			fprintf(stderr, "ferry: warning: %s\n", j.warnings[i]);
		if (!rc)
			break;
		/* The job file could not be had (the network, a certificate):
		 * ferry.on_fail from the command line still decides. */
		rc = fail();
		if (dry || !j.val[JOB_ON_FAIL] || strcmp(j.val[JOB_ON_FAIL], "retry") ||
		    attempt >= RETRY_MAX) {
			if (!dry && j.val[JOB_ON_FAIL] && strcmp(j.val[JOB_ON_FAIL], "retry") &&
			    finish_with(j.val[JOB_ON_FAIL]))
				fail();
			goto out;
		}
		fprintf(stderr, "ferry: trying again in %d s (ferry.on_fail=retry, attempt %d of "
			"%d)\n", RETRY_PAUSE, attempt + 2, RETRY_MAX + 1);
		job_release(&j);
		sleep(RETRY_PAUSE);
	}
	if (j.val[JOB_MODE] && strcmp(j.val[JOB_MODE], "auto")) {
		printf("ferry: ferry.mode=%s: no unattended job\n", j.val[JOB_MODE]);
		rc = EXIT_NO_JOB;
	} else if (!j.val[JOB_TARGET]) {
		printf("ferry: no ferry.target on the command line%s: no unattended job\n",
		       j.val[JOB_CONFIG] ? " or in ferry.config" : "");
		rc = EXIT_NO_JOB;
	} else if (dry) {
		struct strbuf d;

		strbuf_init(&d);
		job_describe(&j, &d);
		printf("job:\n%s", d.s ? d.s : "");
		strbuf_release(&d);
		printf("variables: mac=%s serial=%s uuid=%s\n", vars.mac[0] ? vars.mac : "(none)",
		       vars.serial[0] ? vars.serial : "(none)", vars.uuid[0] ? vars.uuid : "(none)");
		printf("would run: ");
		print_command(stdout, &j);
		printf("then: %s; on failure: %s\n", j.val[JOB_AFTER] ? j.val[JOB_AFTER] : "poweroff",
		       j.val[JOB_ON_FAIL] ? j.val[JOB_ON_FAIL] : "shell");
		rc = EXIT_DONE;
	} else {
		rc = run_job(&j, &vars);
	}
out:
	job_release(&j);
	if (proc.s)
		memset(proc.s, 0, proc.len);
	strbuf_release(&proc);
	return rc;
}
