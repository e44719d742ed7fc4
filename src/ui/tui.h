/* ferry tui: the capture driven by hand, screen by screen, at the console
 * or over a serial line (libnewt, 80x24). Every field is a ferry.* job key
 * (run/job.h) and goes through the same validation as the kernel command
 * line; the capture itself is capture_run, as for ferry run.
 *
 * The screens, in order: disks, cloud and check, network, target,
 * confirm, progress, result. Each returns where to go next. */
#ifndef FERRY_TUI_H
#define FERRY_TUI_H

#include <stdbool.h>
#include <stddef.h>

#include "capture/capture.h"
#include "check/check.h"
#include "check/profile.h"
#include "disk/probe.h"
#include "run/job.h"
#include "util/strbuf.h"

enum tui_go { TUI_NEXT, TUI_BACK, TUI_QUIT };

/* What the target screen asks for, before it becomes job keys. */
enum tui_kind { TUI_S3, TUI_URL, TUI_FILE };

/* A data disk, captured after the system disk as it is: no fixes, and the
 * checks' root.missing (it holds no system) does not stop it. */
struct tui_data {
	int disk;     /* an index into pr.disks */
	char *target; /* the system's target, "-NAME" before its extension */
	struct capture_result res; /* valid once ran */
	bool ran;
	int result;
	char *error;
};

struct tui {
	char *const *paths; /* the disks given (none: every disk) */
	size_t npaths;
	struct probe pr;
	bool have_probe;
	int disk; /* the system disk: an index into pr.disks */
	struct tui_data *data; /* the data disks chosen, in the list's order */
	size_t ndata;
	const struct cloud_profile *cloud;
	struct check_report rep;
	bool have_rep;
	size_t left; /* blockers the fixes leave */
	bool force;  /* the operator captures despite them */
	enum tui_kind kind;
	struct job job;      /* every value as its ferry.* key */
	char *access_key, *secret_key;
	char cred_path[256]; /* the credentials file made from them, or "" */
	struct capture_opts opts;
	struct capture_result res; /* valid once ran */
	bool ran;
	int result;  /* the capture's: 0 done, else its error */
	char *error; /* its message */
};

/* Runs the screens on the terminal, their fields filled first from the
 * ferry.* keys of cmdline (a kernel command line; NULL: none). 0 when a
 * capture was made; 1 when it failed; 2 when cmdline is wrong (said on
 * stderr); 4 when the operator left before capturing. */
int tui_main(char *const *paths, size_t n, const char *cmdline);

/* The screens (tui_disks.c, tui_net.c, tui_target.c, tui_run.c). */
enum tui_go tui_disks(struct tui *t);
enum tui_go tui_check(struct tui *t);
enum tui_go tui_network(struct tui *t);
enum tui_go tui_target(struct tui *t);
enum tui_go tui_confirm(struct tui *t);
enum tui_go tui_progress(struct tui *t);
enum tui_go tui_result(struct tui *t);

/* Names the data disks' targets after the system's (tui_run.c); refuses a
 * presigned URL (it names one object) and names that collide. */
int tui_data_targets(struct tui *t);
/* Forgets the data disks chosen, and what their captures left. */
void tui_data_release(struct tui *t);

/* The job for the next server (tui_job.c): as ferry.* words of a kernel
 * command line (URLs redacted; the credentials file left out); saved as a
 * job file (ferry/job.conf's format) with its credentials, into a
 * directory the operator names. */
int tui_job_cmdline(const struct tui *t, struct strbuf *out);
void tui_save_job(struct tui *t);

/* Helpers (tui.c). The screen's frame: the root line names the step. */
void tui_frame(const char *step, const char *help);
/* A message the operator acknowledges. */
void tui_message(const char *title, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A yes/no question: true for yes. */
bool tui_ask(const char *title, const char *yes, const char *no, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Sets job key k (a copy of v; NULL or "" clears it). */
int tui_set(struct tui *t, enum job_key k, const char *v);

#endif
