/* ferry tui: the terminal, the helpers every screen uses, and the order of
 * the screens (see tui.h). */
#include <errno.h>
#include <newt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink/s3conf.h"
#include "ui/tui.h"
#include "util/err.h"

void tui_frame(const char *step, const char *help)
{
	char root[81];

	newtCls();
	snprintf(root, sizeof(root), " Ferry %s   %s", FERRY_VERSION, step);
	newtDrawRootText(0, 0, root);
	newtPopHelpLine();
	newtPushHelpLine(help ? help : " <Tab> next field   <Enter> choose   <F12> next screen");
}

static void vmessage(const char *title, const char *button, const char *fmt, va_list ap)
{
	char text[2048];

	vsnprintf(text, sizeof(text), fmt, ap);
	newtWinMessage((char *)title, (char *)button, "%s", text);
}

void tui_message(const char *title, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(title, "OK", fmt, ap);
	va_end(ap);
}

bool tui_ask(const char *title, const char *yes, const char *no, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* newtWinChoice: 1 for the first button, 2 for the second, 0 on F12. */
	return newtWinChoice((char *)title, (char *)yes, (char *)no, "%s", text) == 1;
}

int tui_set(struct tui *t, enum job_key k, const char *v)
{
	char *copy = NULL;

	if (v && *v && !(copy = strdup(v)))
		return ferr(-ENOMEM, "out of memory");
	free(t->job.val[k]);
	t->job.val[k] = copy;
	t->job.from[k] = copy ? "tui" : NULL;
	return 0;
}

static void release(struct tui *t)
{
	if (t->have_probe)
		probe_release(&t->pr);
	if (t->have_rep)
		check_report_release(&t->rep);
	if (t->ran)
		capture_result_release(&t->res);
	tui_data_release(t);
	if (t->cred_path[0])
		unlink(t->cred_path);
	if (t->secret_key)
		explicit_bzero(t->secret_key, strlen(t->secret_key));
	free(t->access_key);
	free(t->secret_key);
	free(t->error);
	job_release(&t->job);
}

/* The keys of the kernel command line fill the fields they name. */
static int prefill(struct tui *t, const char *cmdline)
{
	const char *target, *cloud, *cred;
	struct s3_credentials c;
	int err = job_parse_cmdline(&t->job, cmdline);

	if (!err)
		err = job_default_cloud(&t->job, JOB_RESCUE_CONF);
	if (!err)
		err = job_validate(&t->job);
	if (err)
		return err;
	for (size_t i = 0; i < t->job.nwarnings; i++)
		fprintf(stderr, "ferry: warning: %s\n", t->job.warnings[i]);
	target = t->job.val[JOB_TARGET];
	if (target)
		t->kind = !strncmp(target, "s3://", 5)	     ? TUI_S3
			  : !strncmp(target, "https://", 8) ? TUI_URL
							     : TUI_FILE;
	cloud = t->job.val[JOB_CLOUD];
	if (cloud && !(t->cloud = cloud_profile(cloud)))
		return ferr(-EINVAL, "ferry.cloud=%s: not one of %s", cloud, cloud_profile_names());
	cred = t->job.val[JOB_CREDENTIALS];
	if (cred && strncmp(cred, "https://", 8)) {
		err = s3_credentials_load(&c, cred, t->job.val[JOB_PROFILE]);
		if (!err && (!(t->access_key = strdup(c.access_key)) ||
			     !(t->secret_key = strdup(c.secret_key))))
			err = ferr(-ENOMEM, "out of memory");
		s3_credentials_clear(&c);
	}
	return err;
}

int tui_main(char *const *paths, size_t n, const char *cmdline)
{
	static enum tui_go (*const screens[])(struct tui *) = {
		tui_disks, tui_check, tui_network, tui_target, tui_confirm, tui_progress, tui_result,
	};
	const size_t nscreens = sizeof(screens) / sizeof(screens[0]);
	struct tui t = {.paths = paths, .npaths = n, .disk = -1, .kind = TUI_S3};
	size_t at = 0;
	int rc;

	job_init(&t.job);
	t.cloud = cloud_profile("kvm");
	if (cmdline && prefill(&t, cmdline) < 0) {
		fprintf(stderr, "ferry tui: %s\n", ferr_msg());
		release(&t);
		return 2;
	}
	newtInit();
	newtCls();
	while (at < nscreens) {
		enum tui_go go = screens[at](&t);

		if (go == TUI_QUIT) {
			if (at + 1 == nscreens || tui_ask("Leave Ferry", "Leave", "Stay",
							   "Leave the menus? Nothing has been captured."))
				break;
		} else if (go == TUI_BACK) {
			at = at ? at - 1 : 0;
		} else {
			at++;
		}
	}
	newtFinished();
	rc = !t.ran ? 4 : t.result ? 1 : 0;
	if (t.error)
		fprintf(stderr, "ferry: %s\n", t.error);
	for (size_t i = 0; i < t.ndata; i++) {
		if (t.data[i].ran && t.data[i].result)
			rc = 1;
		if (t.data[i].error)
			fprintf(stderr, "ferry: %s: %s\n", t.pr.disks[t.data[i].disk].src.path,
				t.data[i].error);
	}
	release(&t);
	return rc;
}
