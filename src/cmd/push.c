/* ferry push: an existing image file into S3 by multipart upload, resuming
 * an unfinished upload of the same key (parts whose MD5 matches are not
 * sent again). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include <mbedtls/sha256.h>

#include "sink/manifest.h"
#include "sink/s3.h"
#include "ui/progress.h"
#include "util/err.h"
#include "util/ratelimit.h"
#include "util/size.h"

#define DEFAULT_PART ((uint64_t)16 << 20)

static void usage(void)
{
	fputs("Usage:\n ferry push [options] FILE s3://BUCKET/KEY\n\n"
	      "Upload an image file to S3-compatible object storage (COS, OSS, OBS, radosgw)\n"
	      "by multipart upload. An unfinished upload of the same key is resumed: parts\n"
	      "already stored with the same MD5 are not sent again.\n\n"
	      "Options:\n"
	      "     --endpoint URL       the storage's S3 endpoint (https://... or http://...)\n"
	      "     --region NAME        the SigV4 region (default us-east-1)\n"
	      "     --credentials FILE   AWS shared-credentials file (default: the\n"
	      "                          AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment)\n"
	      "     --profile NAME       the section of FILE (default: default)\n"
	      "     --virtual-host       BUCKET.host/KEY addressing (default: host/BUCKET/KEY)\n"
	      "     --part-size SIZE     at least this per part (default 16Mi; grown to fit\n"
	      "                          10,000 parts)\n"
	      "     --rate BYTES/s       limit the upload rate (k, M, G: powers of 1000)\n"
	      "     --ca FILE            trust these CA certificates (PEM)\n"
	      "     --resolve HOST:IP    connect to IP for HOST; the certificate is checked for HOST\n"
	      "     --insecure           do not check the server's certificate (warned about)\n"
	      " -q, --quiet              no progress and no report\n"
	      " -h, --help               display this help\n\n"
	      "Exit status: 0 done, 1 failed, 2 usage error.\n", stdout);
}

struct push_opts {
	const char *file, *target, *endpoint, *region, *cred_file, *profile, *ca;
	char resolve_host[256], resolve_ip[64];
	bool virtual_host, insecure, quiet;
	uint64_t part, rate;
};

static int read_part(int fd, void *buf, size_t len, uint64_t off, const char *file)
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

static const struct s3_part *stored(const struct s3_part *v, size_t n, unsigned number)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].number == number)
			return &v[i];
	return NULL;
}

/* KEY.ferry.json beside the image: format, sizes, the SHA-256 of what was
 * sent, timings. */
static int put_manifest(struct s3_client *c, int fd, const struct push_opts *o,
			struct manifest *m)
{
	uint8_t head[512] = {0}, tail[512] = {0};
	char key[sizeof(c->t.key) + 16];
	struct strbuf doc;
	int err;

	if (read_part(fd, head, m->file_size < 512 ? (size_t)m->file_size : 512, 0, o->file) ||
	    (m->file_size >= 512 && read_part(fd, tail, 512, m->file_size - 512, o->file)))
		return ferr_ctx(-EIO, "manifest");
	manifest_detect(head, sizeof(head), m->file_size >= 512 ? tail : NULL, m->file_size,
			&m->format, &m->virtual_size);
	snprintf(key, sizeof(key), "%s.ferry.json", c->t.key);
	strbuf_init(&doc);
	err = manifest_json(m, &doc);
	if (!err)
		err = s3_put_object(c, key, doc.s, doc.len, "application/json");
	strbuf_release(&doc);
	return err;
}

static int push(const struct push_opts *o)
{
	struct s3_target t;
	struct s3_credentials cred;
	struct http_opts http = {.ca_file = o->ca, .insecure = o->insecure};
	struct s3_client c;
	struct s3_part *old = NULL, *parts = NULL;
	struct ratelimit rl;
	struct progress prog;
	struct manifest m = {0};
	mbedtls_sha256_context sha;
	uint8_t sum[32];
	char object[1200];
	char upload_id[512];
	uint64_t size, part, nparts, reused = 0;
	size_t nold = 0;
	struct stat st;
	void *buf = NULL;
	bool resumed = false;
	double t0 = now_seconds();
	int fd, err;

	err = s3_target_parse(&t, o->target, o->endpoint, o->virtual_host);
	if (err)
		return err;
	if (o->resolve_host[0]) {
		if (strcmp(o->resolve_host, t.host))
			return ferr(-EINVAL, "--resolve %s: the endpoint's host is %s", o->resolve_host,
				    t.host);
		http.connect_ip = o->resolve_ip;
	}
	fd = open(o->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ferr_errno(-errno, "cannot open %s", o->file);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return ferr(-EINVAL, "%s: not a non-empty regular file", o->file);
	}
	size = (uint64_t)st.st_size;
	err = s3_part_size(size, o->part, &part);
	if (err)
		goto out_fd;
	nparts = (size + part - 1) / part;
	err = s3_credentials_load(&cred, o->cred_file, o->profile);
	if (err)
		goto out_fd;
	buf = malloc((size_t)part);
	parts = calloc((size_t)nparts, sizeof(*parts));
	if (!buf || !parts) {
		err = ferr(-ENOMEM, "out of memory for %llu parts of %llu bytes",
			   (unsigned long long)nparts, (unsigned long long)part);
		goto out_cred;
	}
	s3_client_init(&c, &t, &cred, &http, o->region);
	ratelimit_init(&rl, o->rate, NULL, NULL);

	err = s3_find_upload(&c, upload_id, sizeof(upload_id));
	if (!err) {
		resumed = true;
		err = s3_list_parts(&c, upload_id, &old, &nold);
	} else if (err == -ENOENT) {
		err = s3_create_multipart(&c, upload_id, sizeof(upload_id));
	}
	if (err)
		goto out_client;

	progress_init(&prog, "push", size, o->quiet);
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	for (uint64_t i = 0; i < nparts && !err; i++) {
		uint64_t off = i * part, len = size - off < part ? size - off : part;
		const struct s3_part *have = stored(old, nold, (unsigned)(i + 1));
		char hex[33], b64[25], quoted[40];

		parts[i].number = (unsigned)(i + 1);
		parts[i].size = len;
		err = read_part(fd, buf, (size_t)len, off, o->file);
		if (err)
			break;
		mbedtls_sha256_update_ret(&sha, buf, (size_t)len);
		s3_md5(buf, (size_t)len, hex, b64);
		snprintf(quoted, sizeof(quoted), "\"%s\"", hex);
		if (have && have->size == len &&
		    (!strcmp(have->etag, quoted) || !strcmp(have->etag, hex))) {
			snprintf(parts[i].etag, sizeof(parts[i].etag), "%s", have->etag);
			reused++;
		} else {
			ratelimit_take(&rl, len);
			err = s3_upload_part(&c, upload_id, (unsigned)(i + 1), buf, (size_t)len,
					     parts[i].etag, sizeof(parts[i].etag));
		}
		progress_add(&prog, len);
	}
	mbedtls_sha256_finish_ret(&sha, sum);
	mbedtls_sha256_free(&sha);
	if (!err)
		err = s3_complete_multipart(&c, upload_id, parts, (size_t)nparts);
	if (!err) {
		snprintf(object, sizeof(object), "s3://%s/%s", t.bucket, t.key);
		for (int i = 0; i < 32; i++)
			snprintf(m.sha256 + 2 * i, 3, "%02x", sum[i]);
		m.object = object;
		m.file_size = size;
		m.source = o->file;
		m.parts = nparts;
		m.part_size = part;
		m.parts_reused = reused;
		m.upload_seconds = now_seconds() - t0;
		err = put_manifest(&c, fd, o, &m);
		if (err) {
			/* The image is complete: keep it, say what is missing. */
			ferr_ctx(err, "the image is uploaded, but not its manifest");
			goto out_client;
		}
	}
	if (err) {
		int e = err;
		char msg[1024];

		/* What the server refused will be refused again: clean up. A
		 * network that gave out leaves the upload for the next run. */
		snprintf(msg, sizeof(msg), "%s", ferr_msg());
		if (e == -EACCES || e == -ENOENT || e == -EIO) {
			s3_abort_multipart(&c, upload_id);
			ferr(e, "%s", msg);
		} else {
			ferr(e, "%s (the upload is kept: run the same command again to resume it)",
			     msg);
		}
		goto out_client;
	}
	progress_finish(&prog);
	if (!o->quiet) {
		char b1[16], b2[16];

		printf("pushed %s to s3://%s/%s: %s in %llu part%s of %s; %.1fs\n", o->file,
		       t.bucket, t.key, fmt_bytes(b1, sizeof(b1), size), (unsigned long long)nparts,
		       nparts == 1 ? "" : "s", fmt_bytes(b2, sizeof(b2), part), now_seconds() - t0);
		printf("  %s image, virtual size %s, sha256 %s; manifest s3://%s/%s.ferry.json\n",
		       m.format, fmt_bytes(b1, sizeof(b1), m.virtual_size), m.sha256, t.bucket, t.key);
		if (resumed)
			printf("  resumed an unfinished upload: %llu part%s already stored were not "
			       "sent again\n", (unsigned long long)reused, reused == 1 ? "" : "s");
	}
out_client:
	ratelimit_release(&rl);
	s3_client_release(&c);
out_cred:
	s3_credentials_clear(&cred);
	free(old);
	free(parts);
	free(buf);
out_fd:
	close(fd);
	return err;
}

int cmd_push(int argc, char **argv)
{
	static const struct option opts[] = {
		{"endpoint", required_argument, NULL, 'E'},
		{"region", required_argument, NULL, 'R'},
		{"credentials", required_argument, NULL, 'C'},
		{"profile", required_argument, NULL, 'P'},
		{"virtual-host", no_argument, NULL, 'V'},
		{"part-size", required_argument, NULL, 'S'},
		{"rate", required_argument, NULL, 'r'},
		{"ca", required_argument, NULL, 'A'},
		{"resolve", required_argument, NULL, 'O'},
		{"insecure", no_argument, NULL, 'k'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct push_opts o = {.part = DEFAULT_PART};
	int c, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'E': o.endpoint = optarg; break;
		case 'R': o.region = optarg; break;
		case 'C': o.cred_file = optarg; break;
		case 'P': o.profile = optarg; break;
		case 'V': o.virtual_host = true; break;
		case 'S':
			if (parse_bytes("--part-size", optarg, &o.part))
				return usage_error("push", "%s", ferr_msg());
			break;
		case 'r':
			if (parse_bytes("--rate", optarg, &o.rate))
				return usage_error("push", "%s", ferr_msg());
			break;
		case 'A': o.ca = optarg; break;
		case 'O': {
			const char *colon = strrchr(optarg, ':');
			if (!colon || colon == optarg || !colon[1] ||
			    (size_t)(colon - optarg) >= sizeof(o.resolve_host) ||
			    strlen(colon + 1) >= sizeof(o.resolve_ip) || !http_is_ip(colon + 1))
				return usage_error("push", "--resolve %s: expected HOST:IP", optarg);
			snprintf(o.resolve_host, sizeof(o.resolve_host), "%.*s",
				 (int)(colon - optarg), optarg);
			snprintf(o.resolve_ip, sizeof(o.resolve_ip), "%s", colon + 1);
			break;
		}
		case 'k': o.insecure = true; break;
		case 'q': o.quiet = true; break;
		case 'h': usage(); return EXIT_DONE;
		default:
			return usage_error("push", "unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return usage_error("push", "expected FILE and TARGET, got %d argument%s",
				   argc - optind, argc - optind == 1 ? "" : "s");
	o.file = argv[optind];
	o.target = argv[optind + 1];
	if (strncmp(o.target, "s3://", 5))
		return usage_error("push", "target %s: only s3://BUCKET/KEY is supported", o.target);
	if (!o.endpoint)
		return usage_error("push", "--endpoint URL is needed for %s", o.target);
	if (o.insecure)
		fputs("ferry: warning: --insecure: the server's certificate is not checked; anyone "
		      "on the path can read and change the upload\n", stderr);
	err = push(&o);
	return err ? fail() : EXIT_DONE;
}
