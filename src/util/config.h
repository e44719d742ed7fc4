/* Build configuration from Kconfig, and Linux-style IS_ENABLED() so that
 * disabled branches are still compiled and type-checked. */
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include "autoconf.h"

#define FERRY_ARG_PLACEHOLDER_1 0,
#define FERRY_TAKE_SECOND(ignored, val, ...) val
#define FERRY_IS_DEFINED3(arg_or_junk) FERRY_TAKE_SECOND(arg_or_junk 1, 0, 0)
#define FERRY_IS_DEFINED2(val) FERRY_IS_DEFINED3(FERRY_ARG_PLACEHOLDER_##val)
#define IS_ENABLED(option) FERRY_IS_DEFINED2(option)

#endif
