/* The manifest document (see manifest.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink/manifest.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/json.h"

void manifest_detect(const void *head, size_t hlen, const void *tail, uint64_t file_size,
		     const char **format, uint64_t *virtual_size)
{
	const uint8_t *h = head, *t = tail;

	*format = "raw";
	*virtual_size = file_size;
	if (hlen >= 32 && !memcmp(h, "QFI\xfb", 4)) {
		*format = "qcow2";
		*virtual_size = get_be64(h + 24);
	} else if (hlen >= 20 && !memcmp(h, "KDMV", 4)) {
		*format = "vmdk";
		*virtual_size = get_le64(h + 12) * 512;
	} else if (t && file_size >= 512 && !memcmp(t, "conectix", 8)) {
		/* the footer's current size, big-endian at 48 */
		*format = "vhd";
		*virtual_size = get_be64(t + 48);
	}
}

int manifest_json(const struct manifest *m, struct strbuf *out)
{
	char when[32];
	struct json j;
	time_t now = time(NULL);
	struct tm tm;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return ferr(-ENOMEM, "out of memory for the manifest");
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_str(&j, "ferry_version", FERRY_VERSION);
	json_str(&j, "object", m->object);
	json_str(&j, "format", m->format);
	json_u64(&j, "virtual_size", m->virtual_size);
	json_u64(&j, "file_size", m->file_size);
	json_str(&j, "sha256", m->sha256);
	json_str(&j, "source", m->source);
	if (m->details) {
		m->details(m->ctx, &j);
	} else {
		json_str(&j, "checks", NULL);
		json_str(&j, "fixes", NULL);
	}
	json_obj_begin(&j, m->local ? "written" : "upload");
	json_str(&j, "finished", when);
	if (!m->local) {
		json_u64(&j, "parts", m->parts);
		json_u64(&j, "part_size", m->part_size);
		json_u64(&j, "parts_reused", m->parts_reused);
	}
	json_double(&j, "seconds", m->upload_seconds);
	json_obj_end(&j);
	json_obj_end(&j);
	json_finish(&j);
	if (fclose(f)) {
		free(buf);
		return ferr(-ENOMEM, "out of memory for the manifest");
	}
	err = strbuf_add(out, buf, len);
	free(buf);
	return err;
}
