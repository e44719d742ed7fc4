/* ferry run's job (run/job.h): the input's first line as a kernel command
 * line, the rest as the job file ferry.config names; then what ferry run
 * does with a job: the checks, the description, ${...} substitution and
 * the capture it stands for. */
#include <string.h>

#include "capture/capture.h"
#include "lib/fuzz.h"
#include "run/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct job_vars vars = {"52:54:00:12:34:56", "SN-0042",
					     "4c4c4544-0051-3510-8052-b4c04f4e4332"};
	const uint8_t *nl = memchr(data, '\n', size);
	size_t first = nl ? (size_t)(nl - data) : size;
	char *cmdline = fuzz_str(data, first);
	struct capture_opts o;
	struct strbuf out;
	struct job j;

	if (!cmdline)
		return 0;
	ferr_clear();
	job_init(&j);
	strbuf_init(&out);
	job_parse_cmdline(&j, cmdline);
	if (nl)
		job_parse_config(&j, (const char *)nl + 1, size - first - 1, "job");
	job_validate(&j);
	job_describe(&j, &out);
	job_capture_command(&j, &out);
	job_capture_opts(&j, &o);
	for (int k = 0; k < JOB_NKEYS; k++) {
		if (!j.val[k])
			continue;
		job_expand(j.val[k], &vars, &out);
		job_redact(j.val[k], &out);
	}
	strbuf_release(&out);
	job_release(&j);
	free(cmdline);
	return 0;
}
