/* The sanitizers' defaults for every fuzz target: the suppressions of
 * support/asan.supp and support/lsan.supp (libparted's start-up over-read,
 * libnewt's key trie), so that a target run by hand on a crash behaves as
 * under make, which sets the same files in ASAN_OPTIONS and LSAN_OPTIONS. */
#include "fuzz.h"

const char *__asan_default_options(void);
const char *__lsan_default_options(void);

const char *__asan_default_options(void)
{
	return "suppressions=" FUZZ_SUPPORT "/asan.supp";
}

const char *__lsan_default_options(void)
{
	return "suppressions=" FUZZ_SUPPORT "/lsan.supp";
}
