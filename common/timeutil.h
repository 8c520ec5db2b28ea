/* timeutil: clocks and event-time arithmetic shared by both daemons. */
#ifndef FW_TIMEUTIL_H
#define FW_TIMEUTIL_H

#include <stdint.h>

/* floor(a / b) for b > 0, also for negative a (event times before 1970 in tests, broken clocks). */
int64_t fw_floor_div(int64_t a, int64_t b);

/* Wall-clock time, ms since 1970 (CLOCK_REALTIME): for timestamps people read and lags. */
int64_t fw_wall_ms(void);

/* Monotonic time in ms from an arbitrary origin (CLOCK_MONOTONIC): for timeouts and rates. */
int64_t fw_mono_ms(void);

#endif
