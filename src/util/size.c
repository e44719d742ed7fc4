/* Human-readable byte counts (binary units, as parted and lsblk print). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/size.h"

char *fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

int parse_bytes(const char *what, const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {
		{"Ki", 1ull << 10}, {"Mi", 1ull << 20}, {"Gi", 1ull << 30}, {"Ti", 1ull << 40},
		{"k", 1000ull},     {"K", 1000ull},     {"M", 1000000ull},  {"G", 1000000000ull},
		{"T", 1000000000000ull}, {"", 1},
	};
	char *end;
	double v;

	/* Decimal digits with at most a point: strtod alone would take
	 * "nan", "inf", "0x1p4" and leading blanks. */
	if (s[0] < '0' || s[0] > '9')
		return ferr(-EINVAL, "%s: '%s' is not a byte count", what, s);
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || strspn(s, "0123456789.") != (size_t)(end - s))
		return ferr(-EINVAL, "%s: '%s' is not a byte count", what, s);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].suffix);
		const char *rest = end + n;

		if (strncmp(end, units[i].suffix, n))
			continue;
		if (*rest == 'B')
			rest++;
		if (!strcmp(rest, "/s"))
			rest += 2;
		if (*rest)
			continue;
		if (v * (double)units[i].mult >= 18446744073709551615.0)
			return ferr(-ERANGE, "%s: '%s' is too large", what, s);
		*out = (uint64_t)(v * (double)units[i].mult + 0.5);
		return 0;
	}
	return ferr(-EINVAL, "%s: '%s': unknown unit (use k, M, G, T or Ki, Mi, Gi, Ti)", what, s);
}
