/* net: IPv4/IPv6 addresses and CIDR prefixes: parse, format, match, hash.
 *
 * An address keeps its family: IPv4 in the first 4 bytes of addr[] (the rest zero), IPv6 in
 * all 16. An IPv4 CIDR never matches an IPv6 address (IPv4-mapped ::ffff:a.b.c.d included), as
 * in Arkime, which stores IPv4 sessions as IPv4. */
#ifndef FW_NET_H
#define FW_NET_H

#include <stddef.h>
#include <stdint.h>

#define FW_IP_STRLEN   46 /* INET6_ADDRSTRLEN */
#define FW_CIDR_STRLEN 50

typedef struct fw_ip {
        uint8_t family; /* 4 or 6; 0 = unset */
        uint8_t addr[16];
} fw_ip_t;

typedef struct fw_cidr {
        fw_ip_t net;    /* host bits cleared */
        uint8_t prefix; /* 0..32 or 0..128 */
} fw_cidr_t;

/* Parse a textual IPv4 or IPv6 address (no brackets, no zone); 0 or -1. */
int fw_ip_parse(const char *s, fw_ip_t *ip);

/* Parse len bytes (not NUL-terminated) as an address; 0 or -1. */
int fw_ip_parse_n(const char *s, size_t len, fw_ip_t *ip);

/* Set from raw network-order bytes: len 4 gives IPv4, len 16 IPv6; 0 or -1 for other lengths. */
int fw_ip_from_bytes(const void *bytes, size_t len, fw_ip_t *ip);

/* Number of significant bytes: 4 for IPv4, 16 for IPv6, 0 if unset. */
size_t fw_ip_len(const fw_ip_t *ip);

/* Format into buf (at least FW_IP_STRLEN); returns buf, or "" for an unset address. */
const char *fw_ip_format(const fw_ip_t *ip, char *buf, size_t buflen);

/* Equality on family and significant bytes. */
int fw_ip_equal(const fw_ip_t *a, const fw_ip_t *b);

/* 64-bit hash of family and significant bytes (XXH3), for hash tables and sketches. */
uint64_t fw_ip_hash(const fw_ip_t *ip, uint64_t seed);

/* Parse "a.b.c.d/n", "v6addr/n" or a bare address (a host prefix). Host bits set below the
 * prefix are an error ("10.1.2.3/8" is rejected: write "10.0.0.0/8"). 0 or -1. */
int fw_cidr_parse(const char *s, fw_cidr_t *cidr);

/* True if ip lies in cidr (families must match). */
int fw_cidr_contains(const fw_cidr_t *cidr, const fw_ip_t *ip);

/* Format as "net/prefix" into buf (at least FW_CIDR_STRLEN). */
const char *fw_cidr_format(const fw_cidr_t *cidr, char *buf, size_t buflen);

/* A list of prefixes, e.g. an allowlist. Owned by the caller; free with fw_cidr_list_free. */
typedef struct fw_cidr_list {
        fw_cidr_t *items;
        size_t count;
} fw_cidr_list_t;

/* Parse a comma- and/or whitespace-separated list (may be empty). On error returns -1 and writes
 * the offending element into err; the list is left empty. */
int fw_cidr_list_parse(const char *s, fw_cidr_list_t *list, char *err, size_t errlen);

/* True if any prefix in the list contains ip. */
int fw_cidr_list_contains(const fw_cidr_list_t *list, const fw_ip_t *ip);

void fw_cidr_list_free(fw_cidr_list_t *list);

#endif
