/* ferry tui: where the image goes (S3, a presigned URL, a local path), its
 * format and compression, the upload's rate. The fields become job keys
 * and pass job_validate and job_capture_opts, as the kernel command line's
 * do: a value they refuse is said on this screen, which stays. */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <newt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "sink/http.h"
#include "sink/sink.h"
#include "ui/tui.h"
#include "util/err.h"
#include "util/strbuf.h"

enum field { F_ENDPOINT, F_REGION, F_BUCKET, F_KEY, F_ACCESS, F_SECRET, F_URL, F_PATH, F_RATE, NF };

static const struct {
	const char *label;
	int x, y;
	bool masked;
	int width; /* 0: the window's */
} fields[NF] = {
	[F_ENDPOINT] = {"Endpoint", 2, 3}, [F_REGION] = {"Region", 2, 4},
	[F_BUCKET] = {"Bucket", 2, 5},     [F_KEY] = {"Key", 2, 6},
	[F_ACCESS] = {"Access key", 2, 7}, [F_SECRET] = {"Secret key", 2, 8, true},
	[F_URL] = {"URL", 2, 10},          [F_PATH] = {"Path", 2, 12},
	[F_RATE] = {"Rate limit", 2, 14, false, 14},
};

/* s3://BUCKET/KEY split back into the fields. */
static void s3_parts(const char *target, char **bucket, char **key)
{
	const char *b = target + strlen("s3://"), *slash = strchr(b, '/');

	*bucket = slash ? strndup(b, (size_t)(slash - b)) : strdup(b);
	*key = strdup(slash ? slash + 1 : "");
}

static char *initial(const struct tui *t, enum field f)
{
	const char *target = t->job.val[JOB_TARGET];
	char *bucket = NULL, *key = NULL, *v = NULL;

	switch (f) {
	case F_ENDPOINT: return strdup(t->job.val[JOB_ENDPOINT] ? t->job.val[JOB_ENDPOINT] : "");
	case F_REGION: return strdup(t->job.val[JOB_REGION] ? t->job.val[JOB_REGION] : "");
	case F_ACCESS: return strdup(t->access_key ? t->access_key : "");
	case F_SECRET: return strdup(t->secret_key ? t->secret_key : "");
	case F_RATE: return strdup(t->job.val[JOB_RATE] ? t->job.val[JOB_RATE] : "");
	case F_URL: return strdup(target && t->kind == TUI_URL ? target : "");
	case F_PATH: return strdup(target && t->kind == TUI_FILE ? target : "");
	case F_BUCKET:
	case F_KEY:
		if (!target || t->kind != TUI_S3)
			return strdup("");
		s3_parts(target, &bucket, &key);
		v = f == F_BUCKET ? bucket : key;
		free(f == F_BUCKET ? key : bucket);
		return v;
	default: return strdup("");
	}
}

/* The access and secret key as an AWS shared-credentials file, readable
 * by root only, for ferry.credentials (removed when the TUI ends). */
static int write_credentials(struct tui *t)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct strbuf s;
	int fd, err = 0;

	if (t->cred_path[0])
		unlink(t->cred_path);
	snprintf(t->cred_path, sizeof(t->cred_path), "%s/ferry-credentials.XXXXXX", dir);
	fd = mkstemp(t->cred_path);
	if (fd < 0) {
		err = ferr_errno(-errno, "cannot create a credentials file in %s", dir);
		t->cred_path[0] = 0;
		return err;
	}
	strbuf_init(&s);
	err = strbuf_addf(&s, "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
			    t->access_key, t->secret_key);
	if (!err && write(fd, s.s, s.len) != (ssize_t)s.len)
		err = ferr_errno(-errno, "cannot write %s", t->cred_path);
	if (s.s)
		explicit_bzero(s.s, s.len);
	strbuf_release(&s);
	if (close(fd) && !err)
		err = ferr_errno(-errno, "cannot write %s", t->cred_path);
	return err;
}

static int replace(char **p, const char *v)
{
	char *copy = strdup(v);

	if (!copy)
		return ferr(-ENOMEM, "out of memory");
	if (*p)
		explicit_bzero(*p, strlen(*p));
	free(*p);
	*p = copy;
	return 0;
}

/* The way to the target tried step by step, each shown as it passes, so
 * that a failure names its step: DNS, TCP, TLS, then (S3) one signed
 * request that checks the credentials and the bucket. */
static int try_target(const struct tui *t, const char *target, const struct sink_opts *o)
{
	const char *url = t->kind == TUI_S3 ? o->endpoint : target;
	const char *bucket = t->job.val[JOB_TARGET] + strlen("s3://");
	struct http_url u;
	struct http_opts http;
	struct http_proxy proxy;
	struct http_conn c;
	struct addrinfo *ai = NULL, hints = {.ai_socktype = SOCK_STREAM};
	newtComponent form, steps;
	char host[320], text[1024] = "", addr[64] = "";
	int err, gai;

	err = http_url_parse(&u, url, t->kind == TUI_S3 ? "the endpoint" : "the URL", "https");
	if (err)
		return err;
	if (t->kind == TUI_S3 && o->virtual_host)
		snprintf(host, sizeof(host), "%.*s.%s", (int)strcspn(bucket, "/"), bucket, u.host);
	else
		snprintf(host, sizeof(host), "%s", u.host);
	err = sink_http_opts(o, host, u.tls, &http, &proxy);
	if (err)
		return err;
	newtCenteredWindow(60, 7, "Trying the target");
	form = newtForm(NULL, NULL, 0);
	steps = newtTextbox(1, 1, 58, 5, NEWT_FLAG_WRAP);
	newtFormAddComponent(form, steps);
#define STEP(...)                                                                      \
	do {                                                                           \
		snprintf(text + strlen(text), sizeof(text) - strlen(text), __VA_ARGS__); \
		newtTextboxSetText(steps, text);                                       \
		newtDrawForm(form);                                                    \
		newtRefresh();                                                         \
	} while (0)
	if (http.proxy || http.connect_ip) {
		STEP("DNS  %s\n", http.proxy ? "(the proxy resolves it)" : "(--resolve)");
	} else if ((gai = getaddrinfo(host, NULL, &hints, &ai))) {
		err = ferr(-EHOSTUNREACH, "DNS: %s does not resolve (%s)", host, gai_strerror(gai));
	} else {
		if (ai->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, addr, sizeof(addr));
		else if (ai->ai_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, addr, sizeof(addr));
		freeaddrinfo(ai);
		STEP("DNS  %s is %s\n", host, addr);
	}
	if (!err) {
		err = http_open(&c, host, u.port, false, &http);
		if (err)
			ferr_ctx(err, "TCP");
		else
			STEP("TCP  port %u answers\n", u.port);
		http_close(&c);
	}
	if (!err && u.tls) {
		err = http_open(&c, host, u.port, true, &http);
		if (err)
			ferr_ctx(err, "TLS");
		else
			STEP("TLS  the certificate is trusted\n");
		http_close(&c);
	}
	if (!err && t->kind == TUI_S3) {
		err = sink_probe(target, o);
		if (err)
			ferr_ctx(err, "S3");
		else
			STEP("S3   the credentials and the bucket are good\n");
	}
#undef STEP
	newtFormDestroy(form);
	newtPopWindow();
	return err;
}

/* The fields into job keys, then the job's own checks; an S3 target is
 * tried. */
static int apply(struct tui *t, const char *const v[NF], const char *format, const char *compress)
{
	struct capture_opts o;
	char target[2048];
	int err = 0;

	/* the keys this screen owns (the others, ferry.boot_mode and
	 * ferry.exclude among them, stay as they came) */
	static const enum job_key own[] = {JOB_TARGET, JOB_ENDPOINT, JOB_REGION, JOB_CREDENTIALS};

	for (size_t i = 0; !err && i < sizeof(own) / sizeof(own[0]); i++)
		err = tui_set(t, own[i], NULL);
	if (err)
		return err;
	switch (t->kind) {
	case TUI_S3:
		if (!*v[F_BUCKET] || !*v[F_KEY])
			return ferr(-EINVAL, "the bucket and the key name the object: both are needed");
		if (!*v[F_ENDPOINT])
			return ferr(-EINVAL, "the endpoint is needed (https://HOST of the storage)");
		if (!*v[F_ACCESS] || !*v[F_SECRET])
			return ferr(-EINVAL, "the access key and the secret key are needed");
		snprintf(target, sizeof(target), "s3://%s/%s", v[F_BUCKET], v[F_KEY]);
		err = replace(&t->access_key, v[F_ACCESS]);
		if (!err)
			err = replace(&t->secret_key, v[F_SECRET]);
		if (!err)
			err = write_credentials(t);
		if (!err)
			err = tui_set(t, JOB_ENDPOINT, v[F_ENDPOINT]);
		if (!err)
			err = tui_set(t, JOB_REGION, v[F_REGION]);
		if (!err)
			err = tui_set(t, JOB_CREDENTIALS, t->cred_path);
		break;
	case TUI_URL:
		if (strncmp(v[F_URL], "https://", 8))
			return ferr(-EINVAL, "the URL is a presigned PUT URL: https://...");
		snprintf(target, sizeof(target), "%s", v[F_URL]);
		break;
	case TUI_FILE:
		if (!*v[F_PATH])
			return ferr(-EINVAL, "the path of the image file is needed");
		snprintf(target, sizeof(target), "%s", v[F_PATH]);
		break;
	}
	if (!err)
		err = tui_set(t, JOB_TARGET, target);
	if (!err)
		err = tui_set(t, JOB_FORMAT, format);
	if (!err)
		err = tui_set(t, JOB_COMPRESS, compress);
	if (!err)
		err = tui_set(t, JOB_RATE, v[F_RATE]);
	if (!err)
		err = job_validate(&t->job);
	if (!err)
		err = job_capture_opts(&t->job, &o);
	if (!err && t->kind != TUI_FILE)
		err = try_target(t, target, &o.sink);
	return err;
}

static newtComponent radio_row(newtComponent form, int x, int y, const char *const *names,
			       const char *cur, newtComponent *buttons)
{
	newtComponent prev = NULL;

	for (size_t i = 0; names[i]; i++) {
		prev = newtRadiobutton(x, y, names[i], !strcmp(names[i], cur), prev);
		buttons[i] = prev;
		newtFormAddComponent(form, prev);
		x += (int)strlen(names[i]) + 6;
	}
	return prev;
}

static const char *radio_value(newtComponent last, const char *const *names,
			       const newtComponent *buttons)
{
	newtComponent on = newtRadioGetCurrent(last);

	for (size_t i = 0; names[i]; i++)
		if (buttons[i] == on)
			return names[i];
	return names[0];
}

enum tui_go tui_target(struct tui *t)
{
	static const char *const kinds[] = {"S3", "Presigned URL", "Local path", NULL};
	static const char *const formats[] = {"qcow2", "raw", "vhd", "vhd-fixed", "vmdk", NULL};
	static const char *const compressions[] = {"none", "zlib", "zstd", NULL};
	newtComponent form, entry[NF], kind_b[3], fmt_b[5], cmp_b[3], kind_last, fmt_last, cmp_last;
	newtComponent msg, back, next, co;
	struct newtExitStruct es;
	const char *v[NF];
	char *init[NF];
	enum tui_go go = TUI_QUIT;

	tui_frame("4/7 Target", " <Tab> next field   <Space> chooses   <F12> next screen");
	newtOpenWindow(1, 2, 76, 19, "Target: where the image goes");
	form = newtForm(NULL, NULL, 0);
	newtFormAddComponent(form, newtLabel(2, 1, "Where:"));
	kind_last = radio_row(form, 10, 1, kinds, kinds[t->kind], kind_b);
	for (int f = 0; f < NF; f++) {
		init[f] = initial(t, (enum field)f);
		newtFormAddComponent(form, newtLabel(fields[f].x, fields[f].y, fields[f].label));
		entry[f] = newtEntry(fields[f].x + 12, fields[f].y, init[f] ? init[f] : "",
				     fields[f].width ? fields[f].width : 58,
				     &v[f], NEWT_FLAG_SCROLL | (fields[f].masked ? NEWT_FLAG_PASSWORD : 0));
		newtFormAddComponent(form, entry[f]);
	}
	newtFormAddComponent(form, newtLabel(2, 2, "S3 (the object's bucket and key):"));
	newtFormAddComponent(form, newtLabel(2, 9, "Presigned PUT URL (https://..., at most 5 GiB):"));
	newtFormAddComponent(form, newtLabel(2, 11, "A local file (a USB stick or disk mounted here):"));
	newtFormAddComponent(form, newtLabel(2, 13, "Format:"));
	/* the cloud's smallest format unless the job names one */
	fmt_last = radio_row(form, 14, 13, formats,
			     t->job.val[JOB_FORMAT]	 ? t->job.val[JOB_FORMAT]
			     : t->cloud->default_format ? t->cloud->default_format
							 : "qcow2",
			     fmt_b);
	newtFormAddComponent(form, newtLabel(36, 14, "Compress:"));
	cmp_last = radio_row(form, 46, 14, compressions,
			     t->job.val[JOB_COMPRESS] ? t->job.val[JOB_COMPRESS] : "none", cmp_b);
	newtFormAddComponent(form, newtLabel(28, 14, "B/s"));
	msg = newtTextbox(2, 15, 72, 2, NEWT_FLAG_WRAP);
	newtFormAddComponent(form, msg);
	back = newtCompactButton(57, 17, "Back");
	next = newtCompactButton(65, 17, "Next");
	newtFormAddComponents(form, next, back, NULL);
	newtFormAddHotKey(form, NEWT_KEY_F12);
	for (;;) {
		newtFormRun(form, &es);
		co = es.reason == NEWT_EXIT_COMPONENT ? es.u.co : NULL;
		if (es.reason == NEWT_EXIT_HOTKEY && es.u.key == NEWT_KEY_F12)
			co = next;
		if (co == back) {
			go = TUI_BACK;
		} else if (co == next) {
			const char *k = radio_value(kind_last, kinds, kind_b);

			t->kind = k == kinds[0] ? TUI_S3 : k == kinds[1] ? TUI_URL : TUI_FILE;
			if (apply(t, v, radio_value(fmt_last, formats, fmt_b),
				  radio_value(cmp_last, compressions, cmp_b)) < 0) {
				char text[600];

				snprintf(text, sizeof(text), "Not yet: %s", ferr_msg());
				newtTextboxSetText(msg, text);
				continue;
			}
			go = TUI_NEXT;
		} else if (es.reason != NEWT_EXIT_HOTKEY) {
			continue;
		}
		break;
	}
	newtFormDestroy(form);
	newtPopWindow();
	for (int f = 0; f < NF; f++) {
		if (init[f])
			explicit_bzero(init[f], strlen(init[f]));
		free(init[f]);
	}
	return go;
}
