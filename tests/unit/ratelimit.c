/* --rate: byte counts with units, and the token bucket on a simulated
 * clock (the real-time check is the upload test's). */
#include <errno.h>
#include <stdint.h>

#include "tap.h"
#include "util/ratelimit.h"
#include "util/size.h"

static double clock_now;

static double fake_now(void)
{
	return clock_now;
}

static void fake_sleep(double secs)
{
	clock_now += secs;
}

int main(void)
{
	struct ratelimit rl;
	uint64_t v = 0;
	double t0;

	tap_plan(18);
	is_int(parse_bytes("--rate", "20M", &v), 0, "20M parses");
	is_int(v, 20000000, "20M is 20,000,000 bytes (rates are decimal)");
	parse_bytes("--rate", "1.5Gi", &v);
	is_int(v, 1610612736, "1.5Gi is binary");
	parse_bytes("--rate", "512k", &v);
	is_int(v, 512000, "512k");
	parse_bytes("--rate", "20MB/s", &v);
	is_int(v, 20000000, "a trailing B/s is allowed");
	parse_bytes("--rate", "4096", &v);
	is_int(v, 4096, "no unit: bytes");
	is_int(parse_bytes("--rate", "-1M", &v), -EINVAL, "negative is refused");
	is_int(parse_bytes("--rate", "10X", &v), -EINVAL, "an unknown unit is refused");
	is_int(parse_bytes("--rate", "", &v), -EINVAL, "empty is refused");
	/* Found by the job fuzz target: NaN reached a conversion to an integer. */
	is_int(parse_bytes("--rate", "nan", &v), -EINVAL, "nan is refused");
	is_int(parse_bytes("--rate", "inf", &v), -EINVAL, "inf is refused");
	is_int(parse_bytes("--rate", "0x10M", &v), -EINVAL, "hexadecimal is refused");
	is_int(parse_bytes("--rate", " 5M", &v), -EINVAL, "a leading blank is refused");
	is_int(parse_bytes("--rate", ".5M", &v), -EINVAL, "a leading point is refused");

	ratelimit_init(&rl, 20000000, fake_now, fake_sleep);
	t0 = clock_now;
	for (int i = 0; i < 100; i++)
		ratelimit_take(&rl, 1000000);
	ok(clock_now - t0 > 4.99 && clock_now - t0 < 5.01,
	   "100 MB at 20M takes 5 s (%.3f s)", clock_now - t0);
	clock_now += 60;
	t0 = clock_now;
	ratelimit_take(&rl, 10000000);
	ok(clock_now - t0 > 0.249 && clock_now - t0 < 0.251,
	   "after a minute's pause only a quarter second is saved up: 10 MB take 0.25 s (%.3f s)",
	   clock_now - t0);
	t0 = clock_now;
	ratelimit_take(&rl, 0);
	ok(clock_now == t0, "nothing taken, no wait");
	ratelimit_release(&rl);
	ratelimit_init(&rl, 0, fake_now, fake_sleep);
	t0 = clock_now;
	ratelimit_take(&rl, 1ull << 40);
	ok(clock_now == t0, "rate 0 is no limit");
	ratelimit_release(&rl);
	return tap_failed ? 1 : 0;
}
