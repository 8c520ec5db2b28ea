/* net: IPv4/IPv6 addresses and CIDR prefixes (see net.h for the contract).
 *
 * Parsing goes through inet_pton, so it accepts exactly what the C library accepts: dotted quads
 * with four decimal parts for IPv4 (no "1.2.3", no octal "010.0.0.1" in glibc), and RFC 4291
 * text for IPv6 (including "::ffff:a.b.c.d", which stays IPv6). No brackets, zones or spaces.
 *
 * Prefix lengths in CIDRs are plain decimal: digits only, no sign, no spaces, and no leading
 * zeros ("10.0.0.0/08" is rejected; "/0" itself is fine). Rejecting leading zeros keeps a
 * single spelling per prefix and avoids any doubt about octal.
 *
 * Nothing here keeps state: every function works only on its arguments. */
#include "net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <xxhash.h>

/* Longest text we try to parse as an address; longer input is rejected outright. */
#define NET_PARSE_MAX 64

static size_t family_bits(uint8_t family) {
        if (family == 4)
                return 32;
        if (family == 6)
                return 128;
        return 0;
}

int fw_ip_parse(const char *s, fw_ip_t *ip) {
        if (s == NULL)
                return -1;
        return fw_ip_parse_n(s, strlen(s), ip);
}

/* Copy into a bounded, NUL-terminated stack buffer and hand it to inet_pton. A ':' selects
 * IPv6; otherwise IPv4. ip is only written on success. */
int fw_ip_parse_n(const char *s, size_t len, fw_ip_t *ip) {
        char buf[NET_PARSE_MAX];
        fw_ip_t out;

        if (s == NULL || ip == NULL || len == 0 || len >= sizeof(buf))
                return -1;
        if (memchr(s, '\0', len) != NULL)
                return -1; /* embedded NUL: "1.2.3.4\0junk" is not an address */
        memcpy(buf, s, len);
        buf[len] = '\0';

        memset(&out, 0, sizeof(out));
        if (memchr(buf, ':', len) != NULL) {
                if (inet_pton(AF_INET6, buf, out.addr) != 1)
                        return -1;
                out.family = 6;
        } else {
                if (inet_pton(AF_INET, buf, out.addr) != 1)
                        return -1;
                out.family = 4;
        }
        *ip = out;
        return 0;
}

int fw_ip_from_bytes(const void *bytes, size_t len, fw_ip_t *ip) {
        if (bytes == NULL || ip == NULL || (len != 4 && len != 16))
                return -1;
        memset(ip, 0, sizeof(*ip));
        memcpy(ip->addr, bytes, len);
        ip->family = len == 4 ? 4 : 6;
        return 0;
}

size_t fw_ip_len(const fw_ip_t *ip) {
        return ip == NULL ? 0 : family_bits(ip->family) / 8;
}

/* Format with inet_ntop. An unset address, or a buffer too small, gives "" (and buf, if it has
 * room for one byte, is set to ""). */
const char *fw_ip_format(const fw_ip_t *ip, char *buf, size_t buflen) {
        socklen_t n = buflen > FW_IP_STRLEN ? FW_IP_STRLEN : (socklen_t)buflen;
        const char *r = NULL;

        if (buf == NULL || buflen == 0)
                return "";
        buf[0] = '\0';
        if (ip == NULL)
                return "";
        if (ip->family == 4)
                r = inet_ntop(AF_INET, ip->addr, buf, n);
        else if (ip->family == 6)
                r = inet_ntop(AF_INET6, ip->addr, buf, n);
        if (r == NULL) {
                buf[0] = '\0';
                return "";
        }
        return buf;
}

int fw_ip_equal(const fw_ip_t *a, const fw_ip_t *b) {
        if (a->family != b->family)
                return 0;
        return memcmp(a->addr, b->addr, fw_ip_len(a)) == 0;
}

/* XXH3 over one family byte followed by the significant address bytes, so 1.2.3.4 and
 * 102:304:: hash differently even though their first four bytes agree. */
uint64_t fw_ip_hash(const fw_ip_t *ip, uint64_t seed) {
        uint8_t buf[1 + sizeof(ip->addr)];
        size_t n = fw_ip_len(ip);

        buf[0] = ip->family;
        memcpy(buf + 1, ip->addr, n);
        return XXH3_64bits_withSeed(buf, 1 + n, seed);
}

/* Mask for byte i of an address under a prefix of the given length: 0xff for bytes wholly
 * inside the prefix, 0 for bytes wholly outside, the high bits for the one partial byte. */
static uint8_t prefix_mask(size_t i, unsigned prefix) {
        size_t full = prefix / 8;

        if (i < full)
                return 0xff;
        if (i > full || prefix % 8 == 0)
                return 0;
        return (uint8_t)(0xff << (8 - prefix % 8));
}

/* Parse a prefix length: 1 to 3 decimal digits, no sign, no spaces, no leading zero unless the
 * number is "0" itself. */
static int parse_prefix(const char *s, size_t len, unsigned *out) {
        unsigned v = 0;

        if (len == 0 || len > 3)
                return -1;
        if (len > 1 && s[0] == '0')
                return -1;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        *out = v;
        return 0;
}

/* fw_cidr_parse on len bytes (not NUL-terminated); used directly by the list parser. */
static int cidr_parse_n(const char *s, size_t len, fw_cidr_t *cidr) {
        const char *slash = memchr(s, '/', len);
        size_t addrlen = slash != NULL ? (size_t)(slash - s) : len;
        fw_cidr_t out;
        unsigned prefix;
        size_t bits;

        memset(&out, 0, sizeof(out));
        if (fw_ip_parse_n(s, addrlen, &out.net) != 0)
                return -1;
        bits = family_bits(out.net.family);
        if (slash == NULL) {
                prefix = (unsigned)bits;
        } else {
                if (parse_prefix(slash + 1, len - addrlen - 1, &prefix) != 0)
                        return -1;
                if (prefix > bits)
                        return -1;
        }
        for (size_t i = 0; i < bits / 8; i++) {
                if (out.net.addr[i] & (uint8_t)~prefix_mask(i, prefix))
                        return -1; /* host bits set below the prefix */
        }
        out.prefix = (uint8_t)prefix;
        *cidr = out;
        return 0;
}

int fw_cidr_parse(const char *s, fw_cidr_t *cidr) {
        if (s == NULL || cidr == NULL)
                return -1;
        return cidr_parse_n(s, strlen(s), cidr);
}

/* Compare the whole bytes of the prefix, then the partial byte under its mask. */
int fw_cidr_contains(const fw_cidr_t *cidr, const fw_ip_t *ip) {
        size_t bits = family_bits(cidr->net.family);
        size_t full = cidr->prefix / 8;
        unsigned rem = cidr->prefix % 8;

        if (bits == 0 || ip->family != cidr->net.family || cidr->prefix > bits)
                return 0;
        if (memcmp(cidr->net.addr, ip->addr, full) != 0)
                return 0;
        if (rem != 0) {
                uint8_t mask = prefix_mask(full, cidr->prefix);

                if ((cidr->net.addr[full] & mask) != (ip->addr[full] & mask))
                        return 0;
        }
        return 1;
}

/* "net/prefix"; "" for an unset prefix or a buffer too small. */
const char *fw_cidr_format(const fw_cidr_t *cidr, char *buf, size_t buflen) {
        char ipbuf[FW_IP_STRLEN];
        int n;

        if (buf == NULL || buflen == 0)
                return "";
        buf[0] = '\0';
        if (cidr == NULL || fw_ip_format(&cidr->net, ipbuf, sizeof(ipbuf))[0] == '\0')
                return "";
        n = snprintf(buf, buflen, "%s/%u", ipbuf, (unsigned)cidr->prefix);
        if (n < 0 || (size_t)n >= buflen) {
                buf[0] = '\0';
                return "";
        }
        return buf;
}

static int is_list_sep(char c) {
        return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
               c == '\f';
}

static void set_err(char *err, size_t errlen, const char *s, size_t len) {
        if (err == NULL || errlen == 0)
                return;
        if (len > (size_t)INT32_MAX)
                len = (size_t)INT32_MAX;
        snprintf(err, errlen, "%.*s", (int)len, s);
}

/* Any run of separators (commas and whitespace) splits elements, so "a, b", "a,,b" and "a\nb"
 * all give two elements; a list of only separators is empty. The list is overwritten without
 * being freed. Elements are counted first so the array is allocated once. */
int fw_cidr_list_parse(const char *s, fw_cidr_list_t *list, char *err, size_t errlen) {
        fw_cidr_t *items;
        size_t cap = 0, count = 0;
        const char *p;

        if (list == NULL)
                return -1;
        list->items = NULL;
        list->count = 0;
        if (err != NULL && errlen > 0)
                err[0] = '\0';
        if (s == NULL)
                return 0;

        for (p = s; *p != '\0'; p++) {
                if (!is_list_sep(*p) && (p == s || is_list_sep(p[-1])))
                        cap++;
        }
        if (cap == 0)
                return 0;
        items = calloc(cap, sizeof(*items));
        if (items == NULL) {
                set_err(err, errlen, "out of memory", strlen("out of memory"));
                return -1;
        }

        p = s;
        for (;;) {
                size_t len = 0;

                while (is_list_sep(*p))
                        p++;
                if (*p == '\0')
                        break;
                while (p[len] != '\0' && !is_list_sep(p[len]))
                        len++;
                if (cidr_parse_n(p, len, &items[count]) != 0) {
                        set_err(err, errlen, p, len);
                        free(items);
                        return -1;
                }
                count++;
                p += len;
        }
        list->items = items;
        list->count = count;
        return 0;
}

int fw_cidr_list_contains(const fw_cidr_list_t *list, const fw_ip_t *ip) {
        if (list == NULL)
                return 0;
        for (size_t i = 0; i < list->count; i++) {
                if (fw_cidr_contains(&list->items[i], ip))
                        return 1;
        }
        return 0;
}

void fw_cidr_list_free(fw_cidr_list_t *list) {
        if (list == NULL)
                return;
        free(list->items);
        list->items = NULL;
        list->count = 0;
}
