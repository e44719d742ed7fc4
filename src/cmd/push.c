/* ferry push: an existing image file to S3 (multipart, resuming an
 * unfinished upload of the same key) or to a presigned PUT URL. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "sink/manifest.h"
#include "sink/sink.h"
#include "ui/progress.h"
#include "util/err.h"
#include "util/size.h"

/* Reads from the file in steps this large. */
#define COPY_STEP (4u << 20)

static void usage(void)
{
	fputs("Usage:\n ferry push [options] FILE s3://BUCKET/KEY\n"
	      " ferry push [options] FILE https://PRESIGNED-URL\n\n"
	      "Upload an image file to S3-compatible object storage (COS, OSS, OBS, radosgw).\n"
	      "To s3://, by multipart upload with KEY.ferry.json (the manifest) beside it; an\n"
	      "unfinished upload of the same key is resumed: parts already stored with the\n"
	      "same MD5 are not sent again. To https://, one PUT to a presigned URL (at most\n"
	      "5 GiB, no resume, no manifest).\n\n", stdout);
	upload_usage(stdout);
	fputs(" -q, --quiet              no progress and no report\n"
	      " -h, --help               display this help\n\n"
	      "Exit status: 0 done, 1 failed, 2 usage error.\n", stdout);
}

static int read_at(int fd, void *buf, size_t len, uint64_t off, const char *file)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? ferr_errno(-errno, "cannot read %s", file)
				 : ferr(-EIO, "%s ended early (was it changed during the upload?)", file);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* KEY.ferry.json beside the image: format, sizes, the SHA-256 of what was
 * sent, timings. */
static int put_manifest(struct sink *out, int fd, const char *file, struct manifest *m)
{
	uint8_t head[512] = {0}, tail[512] = {0};
	struct strbuf doc;
	int err;

	if (read_at(fd, head, m->file_size < 512 ? (size_t)m->file_size : 512, 0, file) ||
	    (m->file_size >= 512 && read_at(fd, tail, 512, m->file_size - 512, file)))
		return ferr_ctx(-EIO, "manifest");
	manifest_detect(head, sizeof(head), m->file_size >= 512 ? tail : NULL, m->file_size,
			&m->format, &m->virtual_size);
	strbuf_init(&doc);
	err = manifest_json(m, &doc);
	if (!err)
		err = sink_put_beside(out, ".ferry.json", doc.s, doc.len, "application/json");
	strbuf_release(&doc);
	return err;
}

static int push(const char *file, const char *target, struct sink_opts *so, bool quiet)
{
	struct sink out;
	struct progress prog;
	struct progress_line line;
	struct progress_view view = {progress_line_update, &line};
	struct manifest m = {0};
	struct stat st;
	uint8_t *buf;
	double t0 = now_seconds();
	bool s3 = !strncmp(target, "s3://", 5);
	int fd, err;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ferr_errno(-errno, "cannot open %s", file);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return ferr(-EINVAL, "%s: not a non-empty regular file", file);
	}
	buf = malloc(COPY_STEP);
	if (!buf) {
		close(fd);
		return ferr(-ENOMEM, "out of memory");
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	progress_line_init(&line);
	progress_init(&prog, "push", (uint64_t)st.st_size, quiet ? NULL : &view);
	so->length = (uint64_t)st.st_size;
	so->prog = &prog;
	err = sink_open(&out, target, so);
	for (uint64_t off = 0; !err && off < so->length; off += COPY_STEP) {
		size_t n = so->length - off < COPY_STEP ? (size_t)(so->length - off) : COPY_STEP;

		err = read_at(fd, buf, n, off, file);
		if (!err)
			err = sink_write(&out, buf, n);
	}
	if (!err)
		err = sink_finish(&out);
	if (err) {
		char msg[1024];

		sink_abort(&out);
		snprintf(msg, sizeof(msg), "%s", ferr_msg());
		if (out.stats.kept)
			ferr(err, "%s (the unfinished upload is kept: run the same command again to "
			     "resume it)", msg);
		goto out;
	}
	progress_finish(&prog);
	m.object = out.path;
	m.file_size = so->length;
	m.source = file;
	m.parts = out.stats.parts;
	m.part_size = out.stats.part_size;
	m.parts_reused = out.stats.parts_reused;
	m.upload_seconds = now_seconds() - t0;
	memcpy(m.sha256, out.stats.sha256, sizeof(m.sha256));
	if (s3) {
		err = put_manifest(&out, fd, file, &m);
		if (err) {
			/* The image is complete: keep it, say what is missing. */
			ferr_ctx(err, "the image is uploaded, but not its manifest");
			goto out_close;
		}
	}
	if (!quiet) {
		char b1[16], b2[16];

		printf("pushed %s to %s: %s in %llu part%s of %s; %.1fs\n", file, out.path,
		       fmt_bytes(b1, sizeof(b1), so->length), (unsigned long long)m.parts,
		       m.parts == 1 ? "" : "s", fmt_bytes(b2, sizeof(b2), m.part_size),
		       now_seconds() - t0);
		if (s3)
			printf("  %s image, virtual size %s, sha256 %s; manifest %s.ferry.json\n",
			       m.format, fmt_bytes(b1, sizeof(b1), m.virtual_size), m.sha256, out.path);
		else
			printf("  sha256 %s; no manifest (a presigned URL names one object)\n",
			       m.sha256);
		if (out.stats.resumed)
			printf("  resumed an unfinished upload: %llu part%s already stored were not "
			       "sent again\n", (unsigned long long)m.parts_reused,
			       m.parts_reused == 1 ? "" : "s");
	}
out_close:
	sink_close(&out);
out:
	progress_line_release(&line);
	free(buf);
	close(fd);
	return err;
}

int cmd_push(int argc, char **argv)
{
	static const struct option opts[] = {
		UPLOAD_OPTIONS,
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sink_opts so;
	bool quiet = false;
	int c, r;

	sink_opts_init(&so);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		r = upload_option("push", c, optarg, &so);
		if (r == 1)
			continue;
		if (r)
			return r;
		switch (c) {
		case 'q': quiet = true; break;
		case 'h': usage(); return EXIT_DONE;
		default:
			return usage_error("push", "unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return usage_error("push", "expected FILE and TARGET, got %d argument%s",
				   argc - optind, argc - optind == 1 ? "" : "s");
	if (!sink_is_remote(argv[optind + 1]))
		return usage_error("push", "target %s: expected s3://BUCKET/KEY or an https:// "
				   "presigned URL", argv[optind + 1]);
	if (upload_options_done("push", argv[optind + 1], &so))
		return EXIT_USAGE;
	return push(argv[optind], argv[optind + 1], &so, quiet) ? fail() : EXIT_DONE;
}
