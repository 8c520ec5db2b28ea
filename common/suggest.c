#include "suggest.h"

#include <stdint.h>

static int same_ci(char x, char y) {
        if (x >= 'A' && x <= 'Z')
                x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
                y = (char)(y - 'A' + 'a');
        return x == y;
}

size_t fw_edit_distance(const char *a, size_t an, const char *b, size_t bn) {
        size_t rows[3][65];
        size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

        if (an > 64 || bn > 64)
                return SIZE_MAX;
        for (size_t j = 0; j <= bn; j++)
                prev[j] = j;
        for (size_t i = 1; i <= an; i++) {
                size_t *t;

                cur[0] = i;
                for (size_t j = 1; j <= bn; j++) {
                        size_t best = prev[j - 1] + (same_ci(a[i - 1], b[j - 1]) ? 0 : 1);

                        if (prev[j] + 1 < best)
                                best = prev[j] + 1;
                        if (cur[j - 1] + 1 < best)
                                best = cur[j - 1] + 1;
                        if (i > 1 && j > 1 && same_ci(a[i - 1], b[j - 2]) &&
                            same_ci(a[i - 2], b[j - 1]) && prev2[j - 2] + 1 < best)
                                best = prev2[j - 2] + 1;
                        cur[j] = best;
                }
                t = prev2;
                prev2 = prev;
                prev = cur;
                cur = t;
        }
        return prev[bn];
}
