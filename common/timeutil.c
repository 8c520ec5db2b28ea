/* timeutil: clocks and event-time arithmetic; see timeutil.h. */
#include "timeutil.h"

#include <time.h>

int64_t fw_floor_div(int64_t a, int64_t b) {
        int64_t q = a / b;
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t clock_ms(clockid_t id) {
        struct timespec ts;
        clock_gettime(id, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fw_wall_ms(void) {
        return clock_ms(CLOCK_REALTIME);
}

int64_t fw_mono_ms(void) {
        return clock_ms(CLOCK_MONOTONIC);
}

int64_t fw_days_from_civil(int64_t y, int64_t m, int64_t d) {
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

void fw_nap(int64_t ms, volatile sig_atomic_t *stop) {
        while (ms > 0 && !*stop) {
                int64_t step = ms > 50 ? 50 : ms;
                struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
                nanosleep(&ts, NULL);
                ms -= step;
        }
}
