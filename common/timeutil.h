/* timeutil: clocks and event-time arithmetic shared by both daemons. */
#ifndef FW_TIMEUTIL_H
#define FW_TIMEUTIL_H

#include <signal.h>
#include <stdint.h>

/* floor(a / b) for b > 0, also for negative a (event times before 1970 in tests, broken clocks). */
int64_t fw_floor_div(int64_t a, int64_t b);

/* Wall-clock time, ms since 1970 (CLOCK_REALTIME): for timestamps people read and lags. */
int64_t fw_wall_ms(void);

/* Monotonic time in ms from an arbitrary origin (CLOCK_MONOTONIC): for timeouts and rates. */
int64_t fw_mono_ms(void);

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil); m 1..12. */
int64_t fw_days_from_civil(int64_t y, int64_t m, int64_t d);

/* Sleep up to ms, waking within 50 ms once *stop is raised (a signal handler's flag). */
void fw_nap(int64_t ms, volatile sig_atomic_t *stop);

#endif
