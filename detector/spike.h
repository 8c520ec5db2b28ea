/* spike: session-rate outlier detection for one key (a source, or a whole partition).
 *
 * Sessions are counted per interval of event time (index = floor(t / interval), also for negative
 * t). When an interval ends, its count updates a robust baseline: an EWMA of the count (mean) and
 * an EWMA of the absolute deviation from it (dev, a running mean absolute deviation). The first
 * closed interval sets mean = count, dev = 0. Once n >= warmup the update is winsorised at the
 * alert limit mean + k * max(dev, sqrt(mean), 1), so that an attack does not teach the baseline
 * (a sustained shift is still learnt, in about 7 intervals for 10x and 13 for 100x at k 6,
 * alpha 0.1). Intervals with no session count as 0, folded in closed form for any gap g:
 * mean *= r^g, dev = r^(g-1) * (r * dev + g * alpha * mean), r = 1 - alpha. The current
 * interval is anomalous while
 *   n >= warmup && count >= min_count && count > mean + k * max(dev, sqrt(mean), 1).
 * It alerts at the first crossing, then at each count >= escalation * the count last reported
 * (escalation <= 1 disables re-alerts). The escalation number is derived, not stored: within an
 * interval the limit is fixed, so the alerts fall at c0, ceil(e * c0), ... (parameters are
 * assumed constant for a key). 32 bytes per key (28 of fields); no allocation. A zeroed struct
 * is a valid initial state (count == 0 means "no session yet"). */
#ifndef FW_SPIKE_H
#define FW_SPIKE_H

#include <stdint.h>

typedef struct fw_spike_params {
        int64_t interval_ms; /* > 0 */
        uint32_t min_count;
        double k;          /* > 0 */
        double alpha;      /* 0 < alpha <= 1 */
        uint32_t warmup;   /* closed intervals needed before alerting */
        double escalation; /* re-alert in the same interval when count >= escalation * alerted */
} fw_spike_params_t;

typedef struct fw_spike {
        int64_t idx;      /* current interval index; INT64_MIN before the first session */
        uint32_t count;   /* sessions in the current interval */
        uint32_t alerted; /* count last reported in the current interval, 0 if none */
        float mean, dev;  /* baseline over closed intervals */
        uint32_t n;       /* closed intervals folded into the baseline (saturates) */
} fw_spike_t;

/* What fw_spike_add saw, filled when it returns 1. */
typedef struct fw_spike_verdict {
        int64_t interval_start_ms;
        uint32_t count;
        double mean, dev;    /* the baseline the count was compared with (dev after the floor) */
        double limit;        /* mean + k * dev */
        uint32_t escalation; /* 0 first alert of the interval, then 1, 2, ... */
} fw_spike_verdict_t;

void fw_spike_init(fw_spike_t *s);

/* Count one session at event time t_ms. Returns 1 if this session makes the current interval
 * alert (first crossing, or an escalation), filling *v (may be NULL); 0 otherwise; -1 if t_ms
 * falls in an interval older than the current one (late: not counted) or interval_ms <= 0;
 * nothing changes on -1. Counts saturate at UINT32_MAX. */
int fw_spike_add(fw_spike_t *s, const fw_spike_params_t *p, int64_t t_ms, fw_spike_verdict_t *v);

#endif
