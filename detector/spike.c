/* spike: session-rate outlier detection for one key. See spike.h for the contract.
 *
 * Decisions beyond the header:
 * - A state with count == 0 has seen no session (fw_spike_init, or an all-zero struct), so the
 *   INT64_MIN sentinel in idx may collide with a real interval index without harm.
 * - The first closed interval sets mean = count and dev = 0; the Poisson floor sqrt(mean) and the
 *   floor 1 stand in for dev until it has learnt something (warmup ~ 1/alpha intervals).
 * - g empty intervals fold g zeros in closed form, exactly what g single folds give (zero is
 *   never winsorised): with r = 1 - alpha,
 *     mean_g = r^g * mean,   dev_g = r^(g-1) * (r * dev + g * alpha * mean),
 *   so dev first rises towards |0 - mean| and then decays with the mean. Any gap length (up to
 *   2^64 - 1 intervals) costs one pow().
 * - The escalation number is not stored: within one interval the baseline and so the limit are
 *   fixed, counts rise one by one, so the alerts fall at known counts c0 (the first count above
 *   the limit and >= min_count), c1 = ceil(e * c0), c2 = ceil(e * c1), ... The number of the
 *   alert at count c is the number of steps from c0 to c (computed only when an alert fires,
 *   about log_e(c / c0) steps). This keeps the struct at its header size.
 * - escalation <= 1 (or NaN) disables re-alerts: only the first crossing of an interval alerts.
 * - All arithmetic is in double; the baseline is stored as float. */
#include "spike.h"
#include "timeutil.h"

#include <math.h>
#include <stddef.h>

_Static_assert(sizeof(fw_spike_t) <= 32, "fw_spike_t must stay at most 32 bytes");

void fw_spike_init(fw_spike_t *s) {
        s->idx = INT64_MIN;
        s->count = 0;
        s->alerted = 0;
        s->mean = 0;
        s->dev = 0;
        s->n = 0;
}

/* idx * d, clamped at INT64_MIN (idx * d <= t never overflows upwards). */
static int64_t interval_start(int64_t idx, int64_t d) {
        if (idx < INT64_MIN / d)
                return INT64_MIN;
        return idx * d;
}

/* The alert (and winsorisation) limit mean + k * spread, spread = max(dev, sqrt(mean), 1). */
static double limit_of(const fw_spike_t *s, const fw_spike_params_t *p, double *spread) {
        double mean = s->mean;
        double f = s->dev;
        double root = sqrt(mean > 0 ? mean : 0);
        if (root > f)
                f = root;
        if (!(f >= 1))
                f = 1;
        if (spread)
                *spread = f;
        return mean + p->k * f;
}

static void add_n(fw_spike_t *s, uint64_t g) {
        uint64_t n = (uint64_t)s->n + g;
        s->n = n < g || n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* Fold one closed interval's count into the baseline. */
static void fold(fw_spike_t *s, const fw_spike_params_t *p, double x) {
        if (s->n == 0) {
                s->mean = (float)x;
                s->dev = 0;
                s->n = 1;
                return;
        }
        if (s->n >= p->warmup) {
                double cap = limit_of(s, p, NULL);
                if (x > cap)
                        x = cap;
        }
        double a = p->alpha;
        double mean = s->mean;
        double dev = (1 - a) * s->dev + a * fabs(x - mean);
        mean = (1 - a) * mean + a * x;
        s->mean = (float)mean;
        s->dev = (float)dev;
        add_n(s, 1);
}

/* Fold g zero-count intervals (closed form, see the top of the file). */
static void fold_zeros(fw_spike_t *s, const fw_spike_params_t *p, uint64_t g) {
        if (g == 0)
                return;
        if (s->n == 0) { /* not reached: the closing interval is folded first */
                s->mean = 0;
                s->dev = 0;
                add_n(s, g);
                return;
        }
        double a = p->alpha, r = 1 - a, gd = (double)g;
        double m0 = s->mean, d0 = s->dev;
        double rg1 = pow(r, gd - 1); /* pow(0, 0) == 1 covers alpha == 1, g == 1 */
        s->dev = (float)(rg1 * (r * d0 + gd * a * m0));
        s->mean = (float)(rg1 * r * m0);
        add_n(s, g);
}

/* Smallest count > limit and >= min_count (the first crossing of an interval). */
static double first_alert_count(double limit, uint32_t min_count) {
        double c = floor(limit) + 1;
        if (c < (double)min_count)
                c = (double)min_count;
        if (c < 1)
                c = 1;
        return c;
}

/* Escalation number of an alert at count c: steps from the first crossing c0 to c. */
static uint32_t escalation_number(double c0, double c, double e) {
        uint32_t steps = 0;
        double x = c0;
        while (x < c && steps < UINT32_MAX) {
                double nx = ceil(e * x); /* smallest count with count >= e * x */
                x = nx > x ? nx : x + 1;
                steps++;
        }
        return steps;
}

int fw_spike_add(fw_spike_t *s, const fw_spike_params_t *p, int64_t t_ms, fw_spike_verdict_t *v) {
        if (!s || !p || p->interval_ms <= 0)
                return -1;
        int64_t idx = fw_floor_div(t_ms, p->interval_ms);

        if (s->count == 0) {
                s->idx = idx;
                s->count = 1;
                s->alerted = 0;
        } else if (idx == s->idx) {
                if (s->count < UINT32_MAX)
                        s->count++;
        } else if (idx < s->idx) {
                return -1;
        } else {
                uint64_t gap = (uint64_t)idx - (uint64_t)s->idx - 1;
                fold(s, p, (double)s->count);
                fold_zeros(s, p, gap);
                s->idx = idx;
                s->count = 1;
                s->alerted = 0;
        }

        if (s->n < p->warmup || s->count < p->min_count)
                return 0;
        double spread;
        double limit = limit_of(s, p, &spread);
        double c = (double)s->count;
        if (!(c > limit))
                return 0;
        uint32_t esc = 0;
        if (s->alerted != 0) {
                if (!(p->escalation > 1) || !(c >= p->escalation * (double)s->alerted))
                        return 0;
                esc = escalation_number(first_alert_count(limit, p->min_count), c, p->escalation);
                if (esc == 0) /* parameters changed within the interval */
                        esc = 1;
        }
        s->alerted = s->count;
        if (v) {
                v->interval_start_ms = interval_start(s->idx, p->interval_ms);
                v->count = s->count;
                v->mean = s->mean;
                v->dev = spread;
                v->limit = limit;
                v->escalation = esc;
        }
        return 1;
}
