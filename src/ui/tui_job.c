/* ferry tui: the job just run, for the next server: a kernel command line
 * to show, and a job file with its credentials to save (docs/cmdline.md:
 * ferry.config, and the medium's ferry/job.conf). */
#include <errno.h>
#include <fcntl.h>
#include <newt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ui/tui.h"
#include "util/err.h"

/* Keys that describe this capture and not the next server's: what is
 * left out is chosen for each server (the next one's partition N may hold
 * what it needs). */
static bool per_server(enum job_key k)
{
	return k == JOB_SOURCE || k == JOB_CREDENTIALS || k == JOB_FORCE || k == JOB_EXCLUDE;
}

int tui_job_cmdline(const struct tui *t, struct strbuf *out)
{
	int err = 0;

	for (int k = 0; !err && k < JOB_NKEYS; k++) {
		const char *v = t->job.val[k];
		struct strbuf shown;
		bool quote;

		if (!v || per_server((enum job_key)k))
			continue;
		strbuf_init(&shown);
		job_redact(v, &shown);
		quote = shown.s && strpbrk(shown.s, " \t");
		err = strbuf_addf(out, "%sferry.%s=%s%s%s", out->len ? " " : "", job_keys[k].name,
				  quote ? "\"" : "", shown.s ? shown.s : "", quote ? "\"" : "");
		strbuf_release(&shown);
	}
	return err;
}

/* Writes text to dir/name through a temporary file renamed into place:
 * never half a file. */
static int write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char tmp[600], path[600];
	size_t len = strlen(text);
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name);
	fd = mkstemp(tmp);
	if (fd < 0)
		return ferr_errno(-errno, "cannot write in %s", dir);
	if (fchmod(fd, mode) || write(fd, text, len) != (ssize_t)len || fsync(fd))
		err = ferr_errno(-errno, "cannot write %s", path);
	if (close(fd) && !err)
		err = ferr_errno(-errno, "cannot write %s", path);
	if (!err && rename(tmp, path))
		err = ferr_errno(-errno, "cannot write %s", path);
	if (err)
		unlink(tmp);
	return err;
}

/* job.conf (and credentials, for S3) in dir. */
static int save(const struct tui *t, const char *dir)
{
	struct strbuf job, cred;
	struct stat st;
	int err = 0;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return ferr(-ENOTDIR, "%s is not a directory (mount the USB stick first)", dir);
	strbuf_init(&job);
	strbuf_init(&cred);
	strbuf_addf(&job, "# A Ferry job, saved by ferry tui after a capture of %s.\n"
			  "# On a boot medium as ferry/job.conf, or named by ferry.config=.\n",
		    t->res.source ? t->res.source : "a disk");
	for (int k = 0; !err && k < JOB_NKEYS; k++)
		if (t->job.val[k] && !per_server((enum job_key)k))
			err = strbuf_addf(&job, "%s=\"%s\"\n", job_keys[k].name, t->job.val[k]);
	if (!err && t->kind == TUI_S3) {
		err = strbuf_addf(&job, "credentials=\"%s/credentials\"\n", dir);
		if (!err)
			err = strbuf_addf(&cred, "[default]\naws_access_key_id = %s\n"
						 "aws_secret_access_key = %s\n",
					  t->access_key, t->secret_key);
		if (!err)
			err = write_file(dir, "credentials", cred.s, 0600);
	}
	if (!err)
		err = write_file(dir, "job.conf", job.s, 0644);
	if (cred.s)
		explicit_bzero(cred.s, cred.len);
	strbuf_release(&cred);
	strbuf_release(&job);
	return err;
}

void tui_save_job(struct tui *t)
{
	char *dir = (char *)"";
	struct newtWinEntry e[] = {{"Directory", &dir, NEWT_FLAG_SCROLL}, {NULL, NULL, 0}};
	int rc;

	rc = newtWinEntries("Save job", "The job file (job.conf) and, for S3, its credentials "
			    "go into this directory: on a USB stick, the next server boots with "
			    "ferry.config=DIRECTORY/job.conf, or the stick's ferry/job.conf.",
			    60, 0, 0, 40, e, "Save", "Cancel", NULL);
	if (rc == 1 && dir) {
		if (save(t, dir) < 0)
			tui_message("Save job", "%s", ferr_msg());
		else
			tui_message("Save job", "Saved %s/job.conf%s.", dir,
				    t->kind == TUI_S3 ? " and its credentials" : "");
	}
	free(dir); /* newtWinEntries returns a copy in every case */
}
