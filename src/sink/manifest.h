/* The manifest beside an image (KEY.ferry.json in the bucket, or
 * IMAGE.ferry.json beside a local file): what the object is, its SHA-256
 * as sent or written, where it came from, and how long it took. */
#ifndef FERRY_MANIFEST_H
#define FERRY_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include "util/json.h"
#include "util/strbuf.h"

struct manifest {
	const char *object;      /* s3://BUCKET/KEY */
	const char *format;      /* "qcow2", "vhd", "vmdk", "raw" */
	uint64_t virtual_size;   /* the disk the image holds */
	uint64_t file_size;      /* bytes of the object */
	char sha256[65];         /* of the object, computed as it was sent */
	const char *source;      /* the disk or file it was made from */
	uint64_t parts, part_size, parts_reused;
	double upload_seconds;
	bool local;              /* a file written here: "written" instead of "upload" */
	/* A capture adds what it knows of the disk (partitions, checks, fixes,
	 * timings); NULL for an uploaded file, whose checks and fixes are null. */
	void (*details)(void *ctx, struct json *j);
	void *ctx;
};

/* The image format and virtual size of the file's first bytes (head, at
 * least 512) and last 512 (tail, for VHD's footer): qcow2, vmdk (sparse),
 * vhd, else raw with the file's size. */
void manifest_detect(const void *head, size_t hlen, const void *tail, uint64_t file_size,
		     const char **format, uint64_t *virtual_size);

/* The manifest as a JSON document (see docs/manifest.md). */
int manifest_json(const struct manifest *m, struct strbuf *out);

#endif
