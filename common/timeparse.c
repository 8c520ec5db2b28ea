#include "timeparse.h"
#include "timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fw_time_parse(const char *s, int64_t *epoch_s, char *err, size_t errlen) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end != s && *end == '\0' && !errno && v >= 0) {
                *epoch_s = v;
                return 0;
        }
        int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
        size_t len = strlen(s);
        int ok = 0;
        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 &&
            (size_t)n == len)
                ok = 1;
        else if (sscanf(s, "%4d-%2d-%2dT%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &n) == 5 &&
                 (size_t)n == len)
                ok = 1;
        else if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && (size_t)n == len)
                ok = 1;
        if (!ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || h < 0 ||
            mi < 0 || sec < 0 || y < 1970) {
                snprintf(err, errlen,
                         "bad time '%s': use epoch seconds or UTC like 2024-05-18T10:00:00Z", s);
                return -1;
        }
        *epoch_s = fw_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
        return 0;
}
