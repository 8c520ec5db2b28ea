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
