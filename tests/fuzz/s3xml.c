/* The S3 answers' XML (sink/s3conf.h, sink/s3.h), read the way the upload
 * reads them: an error document's Code and Message, the UploadId of
 * InitiateMultipartUpload, the newest upload a ListMultipartUploads
 * lists, and a page of ListParts. The input is the body, not
 * NUL-terminated, as it comes off the connection. */
#include "lib/fuzz.h"
#include "sink/s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	char code[96], msg[512], id[512], marker[16];
	struct s3_part *parts = NULL;
	size_t n = 0, cap = 0;
	bool truncated;

	ferr_clear();
	s3_error_parse(body, size, code, sizeof(code), msg, sizeof(msg));
	s3_xml_text(body, size, "UploadId", id, sizeof(id));
	s3_uploads_newest(body, size, "images/web01.qcow2", id, sizeof(id));
	s3_parts_page(body, size, &parts, &n, &cap, &truncated, marker, sizeof(marker));
	free(parts);
	return 0;
}
