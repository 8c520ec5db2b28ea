/* utf8: see utf8.h. */
#include "utf8.h"

#include <stdint.h>

size_t fw_utf8_seq(const unsigned char *s) {
        unsigned c = s[0];
        size_t n;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, cp = c & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

int fw_utf8_valid(const char *s, size_t *bad) {
        const unsigned char *p = (const unsigned char *)s;
        while (*p != '\0') {
                size_t n = fw_utf8_seq(p);
                if (n == 0) {
                        if (bad != NULL)
                                *bad = (size_t)(p - (const unsigned char *)s);
                        return 0;
                }
                p += n;
        }
        return 1;
}
