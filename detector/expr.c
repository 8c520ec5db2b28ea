/* expr: Arkime-style search expressions (see expr.h for the language and its sources).
 *
 * Compilation is a recursive-descent parser over a one-token lookahead lexer. It builds an AST
 * in a node array (children linked by index, nested && and || flattened), prints the normalised
 * text from it, and emits a short bytecode: LEAF (run one comparison), NOT, and the forward jumps
 * JF/JT that give && and || their short circuit. Matching walks that bytecode with a single
 * accumulator: no recursion, no stack, no allocation. Recursion at compile time is bounded by
 * FW_EXPR_MAX_DEPTH, which is checked before each '(' or '!' is entered.
 *
 * Comparison values live in flat pools owned by the compiled expression: number ranges, IP
 * items (network and mask as two 64-bit words, so a CIDR test is two AND/compare pairs) and
 * NUL-terminated strings. */
#include "expr.h"

#include "suggest.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Fields
 * ------------------------------------------------------------------------------------------- */

enum ftype { FT_IP, FT_PORT, FT_PROTO, FT_COUNT, FT_FLAG, FT_STR };

enum fid {
        F_IP_SRC,
        F_IP_DST,
        F_IP, /* either side */
        F_PORT_SRC,
        F_PORT_DST,
        F_PORT, /* either side */
        F_PROTO,
        F_PACKETS,
        F_PACKETS_SRC,
        F_PACKETS_DST,
        F_BYTES,
        F_BYTES_SRC,
        F_BYTES_DST,
        F_DATABYTES,
        F_DATABYTES_SRC,
        F_DATABYTES_DST,
        F_SYN,
        F_SYN_ACK,
        F_ACK,
        F_PSH,
        F_FIN,
        F_RST,
        F_URG,
        F_NODE,
        F_COMMUNITY_ID,
        F_ROOT_ID,
        F_COUNT_ /* number of fields */
};

struct field_def {
        const char *name;
        uint8_t id;
        uint8_t type;
};

/* Expression names as in db.pl / capture. The first entry for an id is its canonical name. */
static const struct field_def field_defs[] = {
        {"ip.src", F_IP_SRC, FT_IP},
        {"ip.dst", F_IP_DST, FT_IP},
        {"ip", F_IP, FT_IP},
        {"port.src", F_PORT_SRC, FT_PORT},
        {"port.dst", F_PORT_DST, FT_PORT},
        {"port", F_PORT, FT_PORT},
        {"ip.protocol", F_PROTO, FT_PROTO},
        {"packets", F_PACKETS, FT_COUNT},
        {"packets.src", F_PACKETS_SRC, FT_COUNT},
        {"packets.dst", F_PACKETS_DST, FT_COUNT},
        {"bytes", F_BYTES, FT_COUNT},
        {"bytes.src", F_BYTES_SRC, FT_COUNT},
        {"bytes.dst", F_BYTES_DST, FT_COUNT},
        {"databytes", F_DATABYTES, FT_COUNT},
        {"databytes.src", F_DATABYTES_SRC, FT_COUNT},
        {"databytes.dst", F_DATABYTES_DST, FT_COUNT},
        {"tcpflags.syn", F_SYN, FT_FLAG},
        {"tcpflags.syn-ack", F_SYN_ACK, FT_FLAG},
        {"tcpflags.ack", F_ACK, FT_FLAG},
        {"tcpflags.psh", F_PSH, FT_FLAG},
        {"tcpflags.fin", F_FIN, FT_FLAG},
        {"tcpflags.rst", F_RST, FT_FLAG},
        {"tcpflags.urg", F_URG, FT_FLAG},
        {"node", F_NODE, FT_STR},
        {"communityId", F_COMMUNITY_ID, FT_STR},
        {"rootId", F_ROOT_ID, FT_STR},
        {"ip.dst:port", F_IP_DST, FT_IP}, /* Arkime alias of ip.dst */
};

#define NFIELD_DEFS (sizeof(field_defs) / sizeof(field_defs[0]))

/* What a rule may use, for error messages: every name of field_defs, grouped. */
#define FIELDS_SEEN                                                                                \
        "ip, port, packets, bytes, databytes (each also .src and .dst), ip.protocol, "             \
        "tcpflags.syn, .syn-ack, .ack, .psh, .fin, .rst, .urg, node, communityId, rootId"

/* Common fields of Arkime's field list (db/db.pl and the arkime_field_define calls of
 * capture/, Arkime 6.7) that the producer does not carry: a rule naming one is told so rather
 * than "unknown field". Not the whole list (400 names, most of them protocol parsers'). */
static const char *const arkime_only_fields[] = {
        "asn",
        "asn.dst",
        "asn.src",
        "asset",
        "cert.alt",
        "cert.cnt",
        "cert.hash",
        "cert.issuer.cn",
        "cert.notafter",
        "cert.notbefore",
        "cert.serial",
        "cert.subject.cn",
        "cert.validfor",
        "city.dst",
        "city.src",
        "country",
        "country.dst",
        "country.src",
        "dbTimestamp",
        "dhcp.host",
        "dhcp.mac",
        "dhcp.requestIp",
        "dhcp.type",
        "dns.answer.cname",
        "dns.answer.ip",
        "dns.answer.mx",
        "dns.answer.name",
        "dns.answer.ns",
        "dns.answer.ttl",
        "dns.answer.txt",
        "dns.answer.type",
        "dns.opcode",
        "dns.query.host",
        "dns.query.type",
        "dns.status",
        "email.content-type",
        "email.dst",
        "email.fn",
        "email.md5",
        "email.message-id",
        "email.sha256",
        "email.smtp-hello",
        "email.src",
        "email.subject",
        "ethertype",
        "file",
        "host",
        "host.dns",
        "host.email",
        "host.http",
        "host.quic",
        "host.smb",
        "host.socks",
        "http.authtype",
        "http.md5",
        "http.method",
        "http.sha256",
        "http.statuscode",
        "http.uri",
        "http.uri.path",
        "http.user",
        "http.user-agent",
        "http.version",
        "huntId",
        "huntName",
        "icmp.code",
        "icmp.type",
        "id",
        "initRTT",
        "ip.dns",
        "ip.email",
        "ip.socks",
        "ip.xff",
        "krb5.cname",
        "krb5.error",
        "krb5.realm",
        "krb5.sname",
        "ldap.authtype",
        "ldap.bindname",
        "mac",
        "mac.dst",
        "mac.src",
        "ntlm.domain",
        "ntlm.host",
        "ntlm.targetName",
        "oui.dst",
        "oui.src",
        "protocols",
        "quic.user-agent",
        "quic.version",
        "rir",
        "rir.dst",
        "rir.src",
        "session.length",
        "session.segments",
        "smb.dialect",
        "smb.domain",
        "smb.fn",
        "smb.os",
        "smb.share",
        "smb.user",
        "smb.ver",
        "socks.user",
        "srcNode",
        "ssh.hassh",
        "ssh.hasshServer",
        "ssh.key",
        "ssh.ver",
        "starttime",
        "stoptime",
        "suricata.action",
        "suricata.category",
        "suricata.severity",
        "suricata.signature",
        "suricata.signatureId",
        "tags",
        "tcpflags.ae",
        "tcpflags.cwr",
        "tcpflags.ece",
        "tcpseq.dst",
        "tcpseq.src",
        "tls.cipher",
        "tls.ja3",
        "tls.ja3s",
        "tls.ja4",
        "tls.sessionid",
        "tls.version",
        "ttl.dst",
        "ttl.src",
        "user",
        "view",
        "vlan",
        "vlan.dot1ad",
        "vlan.dot1q",
        "vni",
};

#define NARKIME_ONLY (sizeof(arkime_only_fields) / sizeof(arkime_only_fields[0]))

static int arkime_only(const char *s, size_t n) {
        for (size_t i = 0; i < NARKIME_ONLY; i++) {
                if (strlen(arkime_only_fields[i]) == n && memcmp(arkime_only_fields[i], s, n) == 0)
                        return 1;
        }
        return 0;
}

/* Largest value a field can hold; larger literals are compile errors. */
static int64_t field_max(unsigned type) {
        switch (type) {
        case FT_PORT:
                return 65535;
        case FT_PROTO:
                return 255;
        case FT_FLAG:
                return INT32_MAX;
        default:
                return FW_COUNTER_MAX;
        }
}

static const char *field_name(unsigned id) {
        for (size_t i = 0; i < NFIELD_DEFS; i++) {
                if (field_defs[i].id == id)
                        return field_defs[i].name;
        }
        return "?";
}

/* ipProtocolLookup's table (arkimeparser.jison); the first name of a number is printed. */
static const struct {
        const char *name;
        uint8_t number;
} protocols[] = {
        {"icmp", 1},    {"igmp", 2},   {"tcp", 6},   {"udp", 17},  {"gre", 47},   {"esp", 50},
        {"icmpv6", 58}, {"icmp6", 58}, {"ospf", 89}, {"pim", 103}, {"sctp", 132},
};

#define NPROTOCOLS (sizeof(protocols) / sizeof(protocols[0]))

/* ---------------------------------------------------------------------------------------------
 * Compiled form
 * ------------------------------------------------------------------------------------------- */

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

static const char *const op_text[] = {"==", "!=", "<", "<=", ">", ">="};

enum leaf_kind { LK_NUM, LK_IP, LK_STR, LK_EXISTS };

struct leaf {
        uint8_t kind;    /* enum leaf_kind */
        uint8_t field;   /* enum fid */
        uint8_t op;      /* enum op, as written */
        uint8_t neg;     /* negate the positive test: '!=', "== ipv6", or a folded '!' */
        uint8_t all;     /* ]a,b[ list: every item must match */
        uint8_t special; /* 4 or 6: the value was written "ipv4" / "ipv6" */
        uint32_t first;  /* first item in the pool of its kind */
        uint32_t count;  /* number of items */
};

struct range {
        int64_t lo, hi; /* inclusive; relational operators use lo only */
};

/* Addresses are compared as OpenSearch's ip field stores them: 16 bytes, IPv4 a.b.c.d as the
 * IPv4-mapped ::ffff:a.b.c.d. So a v4 CIDR never matches an IPv6 address outside ::ffff:0:0/96,
 * and an IPv6 CIDR covering ::ffff:0:0/96 (::/0 ... ::/80) matches every IPv4 address, as in the
 * real viewer: ip.dst == ::/0 selects all sessions, ip.dst == ::ffff:a00:2 is
 * ip.dst == 10.0.0.2. */
struct ipitem {
        uint64_t net[2];  /* 16-byte (mapped) address under the mask, as two native words */
        uint64_t mask[2]; /* prefix mask over the same bytes (96 + prefix for IPv4) */
        int32_t port;     /* -1: no port part */
        uint8_t family;   /* 4 or 6 when has_ip */
        uint8_t prefix;
        uint8_t has_ip; /* 0 for a port-only item (":80") */
};

struct stritem {
        uint32_t off; /* into the chars pool, NUL-terminated */
        uint8_t glob; /* contains '*': '*' and '?' are wildcards */
};

enum insn_code { I_LEAF, I_NOT, I_JF, I_JT };

struct insn {
        uint32_t code; /* enum insn_code */
        uint32_t arg;  /* leaf index, or jump target */
};

struct fw_expr {
        struct insn *code;
        size_t ncode;
        struct leaf *leaves;
        struct range *ranges;
        struct ipitem *ips;
        struct stritem *strs;
        char *chars;
        char *text;
};

/* ---------------------------------------------------------------------------------------------
 * Matching
 * ------------------------------------------------------------------------------------------- */

/* The value of a numeric single-side field, or FW_ABSENT. */
static int64_t num_get(const fw_session_t *s, unsigned field) {
        switch (field) {
        /* Arkime's capture writes a port for every session, 0 where the protocol has none
         * (ICMP, ...), and the viewer matches it: port.dst == 0 selects ICMP sessions */
        case F_PORT_SRC:
                return s->src_port;
        case F_PORT_DST:
                return s->dst_port;
        case F_PROTO:
                return s->ip_protocol;
        case F_PACKETS:
                return fw_session_packets(s);
        case F_PACKETS_SRC:
                return s->src_packets;
        case F_PACKETS_DST:
                return s->dst_packets;
        case F_BYTES:
                return fw_session_bytes(s);
        case F_BYTES_SRC:
                return s->src_bytes;
        case F_BYTES_DST:
                return s->dst_bytes;
        case F_DATABYTES:
                return fw_session_databytes(s);
        case F_DATABYTES_SRC:
                return s->src_databytes;
        case F_DATABYTES_DST:
                return s->dst_databytes;
        case F_SYN:
                return s->tcpflags.syn;
        case F_SYN_ACK:
                return s->tcpflags.syn_ack;
        case F_ACK:
                return s->tcpflags.ack;
        case F_PSH:
                return s->tcpflags.psh;
        case F_FIN:
                return s->tcpflags.fin;
        case F_RST:
                return s->tcpflags.rst;
        case F_URG:
                return s->tcpflags.urg;
        default:
                return FW_ABSENT;
        }
}

static const char *str_get(const fw_session_t *s, unsigned field) {
        switch (field) {
        case F_NODE:
                return s->node;
        case F_COMMUNITY_ID:
                return s->community_id;
        default:
                return s->root_id;
        }
}

/* Positive test of one present-or-absent number against the leaf's value(s). */
static int num_test(const struct leaf *l, const struct range *r, int64_t v) {
        if (v < 0)
                return 0; /* absent: only '!=' (through neg) matches */
        switch (l->op) {
        case OP_LT:
                return v < r->lo;
        case OP_LE:
                return v <= r->lo;
        case OP_GT:
                return v > r->lo;
        case OP_GE:
                return v >= r->lo;
        default:
                break;
        }
        if (l->all) {
                for (uint32_t i = 0; i < l->count; i++) {
                        if (v < r[i].lo || v > r[i].hi)
                                return 0;
                }
                return 1;
        }
        for (uint32_t i = 0; i < l->count; i++) {
                if (v >= r[i].lo && v <= r[i].hi)
                        return 1;
        }
        return 0;
}

static int ip_item_test(const struct ipitem *it, const fw_ip_t *ip, uint16_t port) {
        if (it->has_ip) {
                uint64_t a[2];

                if (ip->family == 4) {
                        uint8_t m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

                        memcpy(m + 12, ip->addr, 4);
                        memcpy(a, m, sizeof(a));
                } else if (ip->family == 6) {
                        memcpy(a, ip->addr, sizeof(a));
                } else {
                        return 0;
                }
                if (((a[0] & it->mask[0]) != it->net[0]) | ((a[1] & it->mask[1]) != it->net[1]))
                        return 0;
        }
        if (it->port >= 0 && port != (uint16_t)it->port)
                return 0;
        return 1;
}

static int ip_item_side(const struct ipitem *it, unsigned field, const fw_session_t *s) {
        if (field == F_IP_SRC)
                return ip_item_test(it, &s->src_ip, s->src_port);
        if (field == F_IP_DST)
                return ip_item_test(it, &s->dst_ip, s->dst_port);
        return ip_item_test(it, &s->src_ip, s->src_port) ||
               ip_item_test(it, &s->dst_ip, s->dst_port);
}

/* Arkime's wildcard query: '*' any run, '?' any one byte; iterative, no backtracking stack. */
static int glob_match(const char *p, const char *s) {
        const char *star = NULL, *resume = NULL;

        while (*s != '\0') {
                if (*p == '*') {
                        star = p++;
                        resume = s;
                } else if (*p != '\0' && (*p == '?' || *p == *s)) {
                        p++;
                        s++;
                } else if (star != NULL) {
                        p = star + 1;
                        s = ++resume;
                } else {
                        return 0;
                }
        }
        while (*p == '*')
                p++;
        return *p == '\0';
}

static int exists_test(unsigned field, const fw_session_t *s) {
        switch (field) {
        case F_IP_SRC:
                return s->src_ip.family != 0;
        case F_IP_DST:
                return s->dst_ip.family != 0;
        case F_IP:
                return s->src_ip.family != 0 || s->dst_ip.family != 0;
        case F_PORT:
                return 1; /* every Arkime session has both ports (0 for portless protocols) */
        case F_NODE:
        case F_COMMUNITY_ID:
        case F_ROOT_ID:
                return str_get(s, field)[0] != '\0';
        default:
                return num_get(s, field) >= 0;
        }
}

static int leaf_test(const fw_expr_t *e, const struct leaf *l, const fw_session_t *s) {
        switch (l->kind) {
        case LK_NUM: {
                const struct range *r = e->ranges + l->first;

                if (l->field == F_PORT)
                        return num_test(l, r, num_get(s, F_PORT_SRC)) ||
                               num_test(l, r, num_get(s, F_PORT_DST));
                return num_test(l, r, num_get(s, l->field));
        }
        case LK_IP: {
                const struct ipitem *it = e->ips + l->first;

                for (uint32_t i = 0; i < l->count; i++) {
                        int m = ip_item_side(&it[i], l->field, s);

                        if (m != l->all)
                                return m; /* any: first hit; all: first miss */
                }
                return l->all;
        }
        case LK_STR: {
                const char *v = str_get(s, l->field);
                const struct stritem *it = e->strs + l->first;

                if (v[0] == '\0')
                        return 0;
                for (uint32_t i = 0; i < l->count; i++) {
                        const char *pat = e->chars + it[i].off;
                        int m = it[i].glob ? glob_match(pat, v) : strcmp(pat, v) == 0;

                        if (m != l->all)
                                return m;
                }
                return l->all;
        }
        default:
                return exists_test(l->field, s);
        }
}

int fw_expr_match(const fw_expr_t *e, const fw_session_t *s) {
        int acc = 0;
        size_t pc = 0;

        if (e == NULL || s == NULL)
                return 0;
        while (pc < e->ncode) {
                const struct insn *in = &e->code[pc];

                switch (in->code) {
                case I_LEAF: {
                        const struct leaf *l = &e->leaves[in->arg];

                        acc = leaf_test(e, l, s) ^ l->neg;
                        pc++;
                        break;
                }
                case I_NOT:
                        acc = !acc;
                        pc++;
                        break;
                case I_JF:
                        pc = acc ? pc + 1 : in->arg;
                        break;
                default: /* I_JT */
                        pc = acc ? in->arg : pc + 1;
                        break;
                }
        }
        return acc;
}

const char *fw_expr_text(const fw_expr_t *e) {
        return e != NULL ? e->text : "";
}

void fw_expr_free(fw_expr_t *e) {
        if (e == NULL)
                return;
        free(e->code);
        free(e->leaves);
        free(e->ranges);
        free(e->ips);
        free(e->strs);
        free(e->chars);
        free(e->text);
        free(e);
}

/* ---------------------------------------------------------------------------------------------
 * Compiler state
 * ------------------------------------------------------------------------------------------- */

enum tok_type {
        T_EOF,
        T_STR,    /* [-+a-zA-Z0-9_.@:*?/$]+ */
        T_QSTR,   /* "..." */
        T_REGEX,  /* /.../ */
        T_LIST,   /* [...] */
        T_ALIST,  /* ]...[ */
        T_EXISTS, /* EXISTS! */
        T_OP,
        T_AND,
        T_OR,
        T_NOT,
        T_LP,
        T_RP
};

struct token {
        int type;
        int op; /* enum op for T_OP */
        size_t off, len;
};

enum node_type { N_LEAF, N_AND, N_OR, N_NOT };

struct node {
        int type;
        uint32_t leaf;
        int32_t first, last, next; /* children (AND/OR/NOT), sibling; -1 none */
};

/* A growable array: items of size elem, count used, cap allocated. */
struct vec {
        void *p;
        size_t n, cap;
};

struct comp {
        const char *text;
        size_t len, pos;
        struct token tok;
        char *err;
        size_t errlen;
        int failed;
        struct vec nodes, leaves, ranges, ips, strs, chars, code;
};

struct sbuf {
        char *p;
        size_t n, cap;
        int oom;
};

static int fail(struct comp *c, size_t off, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* 1-based line and byte column of offset off. */
static void position(const struct comp *c, size_t off, unsigned *line, unsigned *col) {
        size_t start = 0;

        *line = 1;
        for (size_t i = 0; i < off && i < c->len; i++) {
                if (c->text[i] == '\n') {
                        (*line)++;
                        start = i + 1;
                }
        }
        *col = (unsigned)(off - start + 1);
}

/* Record the first error; always returns -1. */
static int fail(struct comp *c, size_t off, const char *fmt, ...) {
        char msg[512];
        unsigned line, col;
        va_list ap;

        if (c->failed)
                return -1;
        c->failed = 1;
        if (c->err == NULL || c->errlen == 0)
                return -1;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        position(c, off, &line, &col);
        snprintf(c->err, c->errlen, "expression:%u:%u: %s", line, col, msg);
        return -1;
}

static int oom(struct comp *c) {
        return fail(c, 0, "out of memory");
}

/* Room for extra more items in v; 0 or -1. */
static int vec_reserve(struct comp *c, struct vec *v, size_t elem, size_t extra) {
        size_t cap = v->cap;
        void *p;

        if (v->cap - v->n >= extra)
                return 0;
        if (extra > UINT32_MAX - v->n)
                return oom(c);
        while (cap - v->n < extra)
                cap = cap != 0 ? cap * 2 : 16;
        if (cap > UINT32_MAX || cap > SIZE_MAX / elem)
                return oom(c);
        p = realloc(v->p, cap * elem);
        if (p == NULL)
                return oom(c);
        v->p = p;
        v->cap = cap;
        return 0;
}

/* Room for one more item; returns its index or -1. */
static long vec_add(struct comp *c, struct vec *v, size_t elem) {
        if (vec_reserve(c, v, elem, 1) != 0)
                return -1;
        return (long)v->n++;
}

#define VEC_AT(c, field, type, i) (&((type *)(c)->field.p)[i])

/* ---------------------------------------------------------------------------------------------
 * Lexer (arkimeparser.jison's rules, longest match, first rule wins a tie)
 * ------------------------------------------------------------------------------------------- */

static int is_space(char ch) {
        return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static int is_str_char(char ch) {
        return ch != '\0' && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                              (ch >= '0' && ch <= '9') || strchr("-+_.@:*?/$", ch) != NULL);
}

/* A short printable rendering of a token for messages. */
static void describe(const struct comp *c, const struct token *t, char *buf, size_t buflen) {
        size_t n = t->len > 40 ? 40 : t->len;

        if (t->type == T_EOF) {
                snprintf(buf, buflen, "end of expression");
                return;
        }
        snprintf(buf, buflen, "'%.*s%s'", (int)n, c->text + t->off, t->len > n ? "..." : "");
}

/* End of an escaped run starting after the opening byte at p, stopping at close; 0 if none. */
static size_t scan_delimited(const struct comp *c, size_t p, char close, int stop_at_newline) {
        size_t q = p + 1;

        while (q < c->len) {
                char ch = c->text[q];

                if (stop_at_newline && (ch == '\n' || ch == '\r'))
                        return 0;
                if (ch == '\\' && q + 1 < c->len) {
                        if (stop_at_newline && (c->text[q + 1] == '\n' || c->text[q + 1] == '\r'))
                                return 0;
                        q += 2;
                        continue;
                }
                if (ch == close)
                        return q + 1;
                q++;
        }
        return 0;
}

static int lex(struct comp *c) {
        const char *t = c->text;
        size_t p = c->pos;
        struct token tok = {T_EOF, 0, 0, 0};
        char ch;

        while (p < c->len && is_space(t[p]))
                p++;
        tok.off = p;
        if (p >= c->len) {
                c->tok = tok;
                c->pos = p;
                return 0;
        }
        ch = t[p];
        if (ch == '"') {
                size_t end = scan_delimited(c, p, '"', 1);

                if (end == 0)
                        return fail(c, p, "unterminated string: missing closing '\"'");
                tok.type = T_QSTR;
                tok.len = end - p;
        } else if (ch == '[' || ch == ']') {
                size_t end = scan_delimited(c, p, ch == '[' ? ']' : '[', 0);

                if (end == 0)
                        return ch == '[' ? fail(c, p, "unterminated list: missing ']'")
                                         : fail(c, p, "unexpected ']'");
                tok.type = ch == '[' ? T_LIST : T_ALIST;
                tok.len = end - p;
        } else if (is_str_char(ch)) {
                size_t q = p;

                while (q < c->len && is_str_char(t[q]))
                        q++;
                tok.type = T_STR;
                tok.len = q - p;
                if (ch == '/') {
                        size_t end = scan_delimited(c, p, '/', 1);

                        if (end != 0 && end - p >= tok.len) {
                                tok.type = T_REGEX;
                                tok.len = end - p;
                        }
                } else if (tok.len == 6 && memcmp(t + p, "EXISTS", 6) == 0 && p + 6 < c->len &&
                           t[p + 6] == '!') {
                        tok.type = T_EXISTS;
                        tok.len = 7;
                }
        } else {
                static const struct {
                        const char *text;
                        int type, op;
                } ops[] = {
                        {"<=", T_OP, OP_LE}, {"<", T_OP, OP_LT},  {">=", T_OP, OP_GE},
                        {">", T_OP, OP_GT},  {"!=", T_OP, OP_NE}, {"==", T_OP, OP_EQ},
                        {"=", T_OP, OP_EQ},  {"||", T_OR, 0},     {"|", T_OR, 0},
                        {"&&", T_AND, 0},    {"&", T_AND, 0},     {"(", T_LP, 0},
                        {")", T_RP, 0},      {"!", T_NOT, 0},
                };
                size_t i;

                for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
                        size_t n = strlen(ops[i].text);

                        if (p + n <= c->len && memcmp(t + p, ops[i].text, n) == 0) {
                                tok.type = ops[i].type;
                                tok.op = ops[i].op;
                                tok.len = n;
                                break;
                        }
                }
                if (i == sizeof(ops) / sizeof(ops[0])) {
                        unsigned char u = (unsigned char)ch;

                        if (u >= 0x20 && u < 0x7f)
                                return fail(c, p, "unexpected character '%c'", ch);
                        return fail(c, p, "unexpected byte 0x%02x", u);
                }
        }
        c->tok = tok;
        c->pos = p + tok.len;
        return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------------------------- */

/* The closest of names to s, or NULL if none is within a few edits. */
static const char *suggest(const char *s, size_t n, const char *const *names, size_t count) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX, limit = n <= 4 ? 1 : n <= 8 ? 2 : 3;

        for (size_t i = 0; i < count; i++) {
                size_t d = fw_edit_distance(s, n, names[i], strlen(names[i]));

                if (d <= limit && d < best_d) {
                        best = names[i];
                        best_d = d;
                }
        }
        return best;
}

static const struct field_def *field_lookup(const char *s, size_t n) {
        for (size_t i = 0; i < NFIELD_DEFS; i++) {
                if (strlen(field_defs[i].name) == n && memcmp(field_defs[i].name, s, n) == 0)
                        return &field_defs[i];
        }
        return NULL;
}

/* One list element (or a whole single value): its span in the text, trimmed. */
struct elem {
        size_t off, len;
        int quoted; /* "..." */
};

/* Parse decimal digits with an optional leading '-' into *v.
 * 0 ok, -1 not a number, -2 out of [0, max]. */
static int parse_int(const char *s, size_t n, int64_t max, int64_t *v) {
        int neg = 0;
        int64_t x = 0;

        if (n > 0 && s[0] == '-') {
                neg = 1;
                s++;
                n--;
        }
        if (n == 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
        }
        for (size_t i = 0; i < n; i++) {
                if (x > (max - (s[i] - '0')) / 10)
                        return -2;
                x = x * 10 + (s[i] - '0');
        }
        if (neg && x != 0)
                return -2;
        *v = x;
        return 0;
}

/* Split the body of a list token: the next element from *p (exclusive end), or 0 at the end.
 * Elements are separated by unescaped commas (ListToArray); "\," is a literal comma. */
static int next_elem(const struct comp *c, size_t *p, size_t end, struct elem *e) {
        const char *t = c->text;
        size_t q = *p, s, f;

        if (q > end)
                return 0;
        while (q < end && t[q] != ',') {
                q += (t[q] == '\\' && q + 1 < end) ? 2 : 1;
        }
        s = *p;
        f = q;
        while (s < f && is_space(t[s]))
                s++;
        while (f > s && is_space(t[f - 1]))
                f--;
        e->off = s;
        e->len = f - s;
        e->quoted = e->len >= 2 && t[s] == '"' && t[f - 1] == '"';
        *p = q + 1;
        return 1;
}

/* Copy an element's text, unescaped, into buf (NUL-terminated); returns its length, or
 * SIZE_MAX if it does not fit. Quoted list elements drop their quotes and every backslash
 * escape; a quoted single value unescapes \" and \\; bare list elements unescape \, and \\. */
static size_t elem_text(const struct comp *c, const struct elem *e, int in_list, char *buf,
                        size_t buflen) {
        const char *s = c->text + e->off;
        size_t n = e->len, o = 0;

        if (e->quoted) {
                s++;
                n -= 2;
        }
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];

                if (ch == '\\' && i + 1 < n) {
                        char nx = s[i + 1];

                        if ((e->quoted && in_list) || nx == '\\' || (e->quoted && nx == '"') ||
                            (!e->quoted && in_list && nx == ',')) {
                                ch = nx;
                                i++;
                        }
                }
                if (o + 1 >= buflen)
                        return SIZE_MAX;
                buf[o++] = ch;
        }
        buf[o] = '\0';
        return o;
}

static int add_range(struct comp *c, int64_t lo, int64_t hi) {
        long i = vec_add(c, &c->ranges, sizeof(struct range));

        if (i < 0)
                return -1;
        VEC_AT(c, ranges, struct range, i)->lo = lo;
        VEC_AT(c, ranges, struct range, i)->hi = hi;
        return 0;
}

static int number_error(struct comp *c, const struct elem *e, int rc, const char *fname,
                        int64_t max) {
        if (rc == -2)
                return fail(c, e->off, "%.*s is out of range for %s (0-%lld)",
                            (int)(e->len > 40 ? 40 : e->len), c->text + e->off, fname,
                            (long long)max);
        return fail(c, e->off, "'%.*s' is not a number", (int)(e->len > 40 ? 40 : e->len),
                    c->text + e->off);
}

/* A number, or with allow_range an "a-b" range, for a numeric field. */
static int num_item(struct comp *c, const struct elem *e, int allow_range, const char *fname,
                    int64_t max) {
        const char *s = c->text + e->off;
        size_t n = e->len;
        const char *dash;
        int64_t lo, hi;
        int rc;

        if (e->quoted) {
                s++;
                n -= 2;
        }
        dash = n > 1 ? memchr(s + 1, '-', n - 1) : NULL;
        if (dash != NULL && parse_int(s, (size_t)(dash - s), max, &lo) != -1 &&
            parse_int(dash + 1, n - (size_t)(dash + 1 - s), max, &hi) != -1) {
                if (!allow_range)
                        return fail(c, e->off,
                                    "ranges are not supported inside lists or with <, >"
                                    " (Arkime would read '%.*s' as its first number)",
                                    (int)(n > 40 ? 40 : n), s);
                rc = parse_int(s, (size_t)(dash - s), max, &lo);
                if (rc == 0)
                        rc = parse_int(dash + 1, n - (size_t)(dash + 1 - s), max, &hi);
                if (rc != 0)
                        return number_error(c, e, rc, fname, max);
                if (lo > hi)
                        return fail(c, e->off, "empty range %lld-%lld", (long long)lo,
                                    (long long)hi);
                return add_range(c, lo, hi);
        }
        rc = parse_int(s, n, max, &lo);
        if (rc != 0)
                return number_error(c, e, rc, fname, max);
        return add_range(c, lo, lo);
}

static int proto_item(struct comp *c, const struct elem *e) {
        char buf[16];
        const char *names[NPROTOCOLS];
        const char *hint;
        size_t n = elem_text(c, e, 0, buf, sizeof(buf));
        int64_t v;
        int rc;

        if (n != SIZE_MAX) {
                for (size_t i = 0; i < n; i++) {
                        if (buf[i] >= 'A' && buf[i] <= 'Z')
                                buf[i] = (char)(buf[i] - 'A' + 'a'); /* lotermfield */
                }
                for (size_t i = 0; i < NPROTOCOLS; i++) {
                        if (strcmp(buf, protocols[i].name) == 0)
                                return add_range(c, protocols[i].number, protocols[i].number);
                }
                rc = parse_int(buf, n, 255, &v);
                if (rc == 0)
                        return add_range(c, v, v);
                if (rc == -2)
                        return fail(c, e->off, "protocol %s is out of range (0-255)", buf);
        }
        for (size_t i = 0; i < NPROTOCOLS; i++)
                names[i] = protocols[i].name;
        hint = n != SIZE_MAX ? suggest(buf, n, names, NPROTOCOLS) : NULL;
        return fail(c, e->off,
                    "unknown protocol '%.*s'%s%s%s (names: icmp igmp tcp udp gre esp "
                    "icmpv6 icmp6 ospf pim sctp, or a number)",
                    (int)(e->len > 40 ? 40 : e->len), c->text + e->off,
                    hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
}

static void build_mask(uint8_t family, unsigned prefix, uint8_t mask[16]) {
        unsigned bits = family == 4 ? 32 : 128;

        memset(mask, 0, 16);
        for (unsigned i = 0; i < bits / 8; i++) {
                unsigned take = prefix > i * 8 ? prefix - i * 8 : 0;

                mask[i] = take >= 8 ? 0xff : (uint8_t)(0xff << (8 - take));
        }
}

/* Digits only, value in [0, max]; 0 ok, -1 otherwise. */
static int parse_small(const char *s, size_t n, unsigned max, unsigned *v) {
        int64_t x;

        if (n == 0 || s[0] == '-' || parse_int(s, n, max, &x) != 0)
                return -1;
        *v = (unsigned)x;
        return 0;
}

/* Store net and mask (it->family's layout, fw_ip_t) in the item as the 16 bytes they are compared
 * on: IPv4 as ::ffff:a.b.c.d with 96 + prefix mask bits. */
static void ip_canonical(struct ipitem *it, const uint8_t net[16], const uint8_t mask[16]) {
        uint8_t n[16], m[16];

        if (it->family == 4) {
                memset(n, 0, sizeof(n));
                memset(m, 0xff, 12);
                n[10] = n[11] = 0xff;
                memcpy(n + 12, net, 4);
                memcpy(m + 12, mask, 4);
        } else {
                memcpy(n, net, sizeof(n));
                memcpy(m, mask, sizeof(m));
        }
        memcpy(it->net, n, sizeof(n));
        memcpy(it->mask, m, sizeof(m));
}

/* Turn "addr[/prefix]" (after Arkime's shorthand expansion) into an item; messages on error. */
static int ip_finish(struct comp *c, const struct elem *e, const char *addr, size_t addrlen,
                     const char *prefix, size_t prefixlen, unsigned default_prefix,
                     struct ipitem *it) {
        fw_ip_t ip;
        uint8_t mask[16], net[16];
        unsigned bits, pfx = default_prefix;
        int host_bits = 0;

        if (fw_ip_parse_n(addr, addrlen, &ip) != 0)
                return fail(c, e->off, "invalid IP address '%.*s'",
                            (int)(e->len > 60 ? 60 : e->len), c->text + e->off);
        bits = ip.family == 4 ? 32 : 128;
        if (prefix != NULL && parse_small(prefix, prefixlen, bits, &pfx) != 0)
                return fail(c, e->off, "invalid prefix length in '%.*s' (0-%u)",
                            (int)(e->len > 60 ? 60 : e->len), c->text + e->off, bits);
        build_mask(ip.family, pfx, mask);
        for (unsigned i = 0; i < 16; i++) {
                net[i] = ip.addr[i] & mask[i];
                host_bits |= net[i] != ip.addr[i];
        }
        if (host_bits) {
                fw_cidr_t fix;
                char buf[FW_CIDR_STRLEN];

                memset(&fix, 0, sizeof(fix));
                fix.net.family = ip.family;
                memcpy(fix.net.addr, net, sizeof(net));
                fix.prefix = (uint8_t)pfx;
                return fail(c, e->off, "invalid CIDR '%.*s': host bits set (did you mean %s?)",
                            (int)(e->len > 60 ? 60 : e->len), c->text + e->off,
                            fw_cidr_format(&fix, buf, sizeof(buf)));
        }
        it->family = ip.family;
        it->prefix = (uint8_t)pfx;
        it->has_ip = 1;
        ip_canonical(it, net, mask);
        return 0;
}

static int ip_port(struct comp *c, const struct elem *e, const char *s, size_t n,
                   struct ipitem *it) {
        unsigned port;

        if (parse_small(s, n, 65535, &port) != 0)
                return fail(c, e->off, "invalid port '%.*s' in '%.*s' (0-65535)", (int)n, s,
                            (int)(e->len > 60 ? 60 : e->len), c->text + e->off);
        it->port = (int32_t)port;
        return 0;
}

/* Colon groups of an IPv6 text without "::" ("2001:db8:" counts as 2 groups). */
static unsigned groups_of(const char *a, size_t n) {
        unsigned groups = 1;

        if (n > 0 && a[n - 1] == ':')
                n--;
        for (size_t i = 0; i < n; i++)
                groups += a[i] == ':';
        return groups;
}

/* The item's address lies in ::ffff:0:0/96 (OpenSearch reads it as IPv4). */
static int is_v4_mapped(const struct ipitem *it) {
        static const uint8_t pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

        return memcmp(it->net, pre, sizeof(pre)) == 0;
}

/* One IP value as parseIpPort reads it: "a.b.c.d[/n][:port]" with the shorthand a, a.b, a.b.c
 * for /8, /16, /24; IPv6 "x::y[/n][.port]", or colon groups without "::" padded with the prefix
 * 16 * groups; ":port" or ".port" alone. */
static int ip_item(struct comp *c, const struct elem *e) {
        const char *s = c->text + e->off;
        size_t n = e->len;
        struct ipitem it;
        char addr[80]; /* an element under 64 bytes plus ".0.0.0" or "::" */
        const char *slash, *port = NULL;
        size_t colons = 0, portlen = 0, alen, prefixlen;
        long idx;

        memset(&it, 0, sizeof(it));
        it.port = -1;
        if (e->quoted)
                return fail(c, e->off, "invalid IP '%.*s': IP values are written without quotes",
                            (int)(n > 60 ? 60 : n), s);
        if (memchr(s, '*', n) != NULL)
                return fail(c, e->off, "wildcards are not supported for IP fields: '%.*s'",
                            (int)(n > 60 ? 60 : n), s);
        if (n >= 64)
                return fail(c, e->off, "invalid IP '%.*s...': too long", 40, s);
        for (size_t i = 0; i < n; i++)
                colons += s[i] == ':';
        if ((n >= 1 && s[0] == ':' && (n < 2 || s[1] != ':')) || (n >= 1 && s[0] == '.')) {
                if (ip_port(c, e, s + 1, n - 1, &it) != 0)
                        return -1;
        } else if (colons >= 2) {
                /* IPv6: everything after the first '.' is the port */
                const char *dot = memchr(s, '.', n);
                size_t body = dot != NULL ? (size_t)(dot - s) : n;
                unsigned groups = 1, default_prefix = 128;
                int cidr_sent; /* parseIpPort hands OpenSearch "addr/prefix", not an address */

                if (dot != NULL) {
                        port = dot + 1;
                        portlen = n - body - 1;
                        if (memchr(port, '.', portlen) != NULL)
                                return fail(c, e->off,
                                            "invalid IP '%.*s': IPv4-embedded IPv6 is not "
                                            "supported ('.' after an IPv6 address starts a port)",
                                            (int)(n > 60 ? 60 : n), s);
                }
                slash = memchr(s, '/', body);
                alen = slash != NULL ? (size_t)(slash - s) : body;
                prefixlen = slash != NULL ? body - alen - 1 : 0;
                memcpy(addr, s, alen);
                addr[alen] = '\0';
                /* "a::b/n" keeps any written prefix; "a:b:c" gets /16*groups or the written one
                 * unless that is "128" */
                cidr_sent = slash != NULL;
                if (strstr(addr, "::") == NULL) {
                        if (slash != NULL)
                                cidr_sent = prefixlen != 3 || memcmp(slash + 1, "128", 3) != 0;
                        else
                                cidr_sent = groups_of(addr, alen) < 8;
                        if (alen > 0 && addr[alen - 1] == ':')
                                addr[--alen] = '\0'; /* "2001:db8:" as "2001:db8" */
                        for (size_t i = 0; i < alen; i++)
                                groups += addr[i] == ':';
                        if (groups < 8) {
                                memcpy(addr + alen, "::", 3);
                                alen += 2;
                        }
                        default_prefix = 16 * groups > 128 ? 128 : 16 * groups;
                }
                if (ip_finish(c, e, addr, alen, slash ? slash + 1 : NULL, prefixlen, default_prefix,
                              &it) != 0)
                        return -1;
                if (it.family != 6)
                        return fail(c, e->off, "invalid IPv6 address '%.*s'",
                                    (int)(n > 60 ? 60 : n), s);
                if (cidr_sent && is_v4_mapped(&it))
                        /* InetAddresses.parseCidr: "CIDR notation is not allowed with IPv6-mapped
                         * IPv4 address"; the viewer answers search_phase_execution_exception */
                        return fail(c, e->off,
                                    "invalid CIDR '%.*s': OpenSearch refuses a prefix on an "
                                    "IPv4-mapped IPv6 address (write the IPv4 CIDR)",
                                    (int)(n > 60 ? 60 : n), s);
                if (port != NULL && portlen > 0 && ip_port(c, e, port, portlen, &it) != 0)
                        return -1;
        } else {
                /* IPv4: everything after ':' is the port; 1 to 4 dotted parts */
                const char *colon = memchr(s, ':', n);
                size_t body = colon != NULL ? (size_t)(colon - s) : n;
                unsigned parts = 1, default_prefix;

                if (colon != NULL) {
                        port = colon + 1;
                        portlen = n - body - 1;
                }
                slash = memchr(s, '/', body);
                alen = slash != NULL ? (size_t)(slash - s) : body;
                prefixlen = slash != NULL ? body - alen - 1 : 0;
                memcpy(addr, s, alen);
                addr[alen] = '\0';
                if (alen > 0 && addr[alen - 1] == '.')
                        addr[--alen] = '\0'; /* "10.1." as "10.1" */
                for (size_t i = 0; i < alen; i++)
                        parts += addr[i] == '.';
                if (alen == 0 || parts > 4)
                        return fail(c, e->off, "invalid IP address '%.*s'", (int)(n > 60 ? 60 : n),
                                    s);
                default_prefix = 8 * parts;
                for (; parts < 4; parts++) {
                        memcpy(addr + alen, ".0", 3);
                        alen += 2;
                }
                if (ip_finish(c, e, addr, alen, slash ? slash + 1 : NULL, prefixlen, default_prefix,
                              &it) != 0)
                        return -1;
                if (it.family != 4)
                        return fail(c, e->off, "invalid IPv4 address '%.*s'",
                                    (int)(n > 60 ? 60 : n), s);
                if (port != NULL && portlen > 0 && ip_port(c, e, port, portlen, &it) != 0)
                        return -1;
        }
        idx = vec_add(c, &c->ips, sizeof(struct ipitem));
        if (idx < 0)
                return -1;
        *VEC_AT(c, ips, struct ipitem, idx) = it;
        return 0;
}

static int str_item(struct comp *c, const struct elem *e, int in_list) {
        struct stritem it;
        size_t need = e->len + 1, n;
        long idx;

        if (vec_reserve(c, &c->chars, 1, need) != 0)
                return -1;
        n = elem_text(c, e, in_list, (char *)c->chars.p + c->chars.n, need);
        if (n == 1 && ((char *)c->chars.p)[c->chars.n] == '*')
                return fail(c, e->off, "use EXISTS! instead of '*'");
        it.off = (uint32_t)c->chars.n;
        it.glob = memchr((char *)c->chars.p + c->chars.n, '*', n) != NULL;
        c->chars.n += n + 1;
        idx = vec_add(c, &c->strs, sizeof(struct stritem));
        if (idx < 0)
                return -1;
        *VEC_AT(c, strs, struct stritem, idx) = it;
        return 0;
}

/* Build the leaf for FIELD OP VALUE; the value token is c->tok. */
static long make_leaf(struct comp *c, const struct field_def *f, int op, size_t op_off) {
        const struct token v = c->tok;
        const char *fname = field_name(f->id);
        struct leaf l;
        struct elem e;
        int rel = op != OP_EQ && op != OP_NE;
        long idx;
        int rc = 0;

        memset(&l, 0, sizeof(l));
        l.field = f->id;
        l.op = (uint8_t)op;
        l.neg = op == OP_NE;
        if (v.type == T_EXISTS) {
                if (rel)
                        return fail(c, v.off, "EXISTS! needs == or !=");
                l.kind = LK_EXISTS;
                goto done;
        }
        if (v.type == T_REGEX)
                return fail(c, v.off, "regular expressions are not supported ('%s')", fname);
        if (rel && f->type != FT_PORT && f->type != FT_COUNT && f->type != FT_FLAG) {
                if (f->type == FT_IP)
                        return fail(c, op_off,
                                    "operator '%s' is not supported for IP field '%s' (use == or"
                                    " != with an address, CIDR or list)",
                                    op_text[op], fname);
                return fail(c, op_off, "operator '%s' is not supported for '%s' (use == or !=)",
                            op_text[op], fname);
        }
        if (rel && (v.type == T_LIST || v.type == T_ALIST))
                return fail(c, v.off, "lists need == or != (not '%s')", op_text[op]);

        switch (f->type) {
        case FT_IP:
                l.kind = LK_IP;
                l.first = (uint32_t)c->ips.n;
                break;
        case FT_STR:
                l.kind = LK_STR;
                l.first = (uint32_t)c->strs.n;
                break;
        default:
                l.kind = LK_NUM;
                l.first = (uint32_t)c->ranges.n;
                break;
        }
        if (v.type == T_LIST || v.type == T_ALIST) {
                size_t p = v.off + 1, end = v.off + v.len - 1;

                l.all = v.type == T_ALIST;
                while (p < end && is_space(c->text[p]))
                        p++;
                if (p == end)
                        return fail(c, v.off, "empty list");
                p = v.off + 1;
                while (rc == 0 && next_elem(c, &p, end, &e)) {
                        if (e.len == 0)
                                return fail(c, e.off, "empty list element");
                        if (c->text[e.off] == '$')
                                return fail(c, e.off, "shortcuts ($name) are not supported");
                        if (f->type == FT_IP)
                                rc = ip_item(c, &e);
                        else if (f->type == FT_STR)
                                rc = str_item(c, &e, 1);
                        else if (f->type == FT_PROTO)
                                rc = proto_item(c, &e);
                        else if (e.quoted)
                                rc = fail(c, e.off, "'%.*s' is not a number",
                                          (int)(e.len > 40 ? 40 : e.len), c->text + e.off);
                        else
                                rc = num_item(c, &e, 0, fname, field_max(f->type));
                }
        } else {
                e.off = v.off;
                e.len = v.len;
                e.quoted = v.type == T_QSTR;
                if (!e.quoted && c->text[v.off] == '$')
                        return fail(c, v.off, "shortcuts ($name) are not supported");
                if (f->type == FT_IP && !e.quoted && (v.len == 4) &&
                    (memcmp(c->text + v.off, "ipv4", 4) == 0 ||
                     memcmp(c->text + v.off, "ipv6", 4) == 0)) {
                        /* parseIpPort's special values: any IPv4; ipv6 is "not IPv4" */
                        struct ipitem *it;
                        long i = vec_add(c, &c->ips, sizeof(struct ipitem));

                        if (i < 0)
                                return -1;
                        it = VEC_AT(c, ips, struct ipitem, i);
                        memset(it, 0, sizeof(*it));
                        it->family = 4;
                        it->has_ip = 1;
                        it->port = -1;
                        ip_canonical(it, (const uint8_t[16]){0}, (const uint8_t[16]){0});
                        l.special = c->text[v.off + 3] == '4' ? 4 : 6;
                        if (l.special == 6)
                                l.neg = !l.neg;
                } else if (f->type == FT_IP) {
                        rc = ip_item(c, &e);
                } else if (f->type == FT_STR) {
                        rc = str_item(c, &e, 0);
                } else if (f->type == FT_PROTO) {
                        rc = proto_item(c, &e);
                } else {
                        rc = num_item(c, &e, !rel, fname, field_max(f->type));
                }
        }
        if (rc != 0)
                return -1;
        switch (l.kind) {
        case LK_IP:
                l.count = (uint32_t)(c->ips.n - l.first);
                break;
        case LK_STR:
                l.count = (uint32_t)(c->strs.n - l.first);
                break;
        default:
                l.count = (uint32_t)(c->ranges.n - l.first);
                break;
        }
done:
        idx = vec_add(c, &c->leaves, sizeof(struct leaf));
        if (idx < 0)
                return -1;
        *VEC_AT(c, leaves, struct leaf, idx) = l;
        return idx;
}

/* ---------------------------------------------------------------------------------------------
 * Parser: expr := and ('||' and)*; and := unary ('&&' unary)*;
 *         unary := '!' unary | '(' expr ')' | FIELD OP VALUE
 * ------------------------------------------------------------------------------------------- */

#define NODE(c, i) VEC_AT(c, nodes, struct node, i)

static int32_t new_node(struct comp *c, int type, uint32_t leaf) {
        long i = vec_add(c, &c->nodes, sizeof(struct node));
        struct node *nd;

        if (i < 0)
                return -1;
        nd = NODE(c, i);
        nd->type = type;
        nd->leaf = leaf;
        nd->first = nd->last = nd->next = -1;
        return (int32_t)i;
}

/* Append child to an AND/OR/NOT node; an AND under an AND (OR under OR) is spliced in. */
static void add_child(struct comp *c, int32_t parent, int32_t child) {
        struct node *p = NODE(c, parent), *ch = NODE(c, child);
        int32_t first = child, last = child;

        if (ch->type == p->type && (p->type == N_AND || p->type == N_OR)) {
                first = ch->first;
                last = ch->last;
        }
        if (p->last < 0)
                p->first = first;
        else
                NODE(c, p->last)->next = first;
        p->last = last;
}

static int32_t parse_or(struct comp *c, int depth);

static int32_t parse_comparison(struct comp *c) {
        const struct token ft = c->tok;
        const struct field_def *f = field_lookup(c->text + ft.off, ft.len);
        char what[64];
        size_t op_off;
        int op;
        long leaf;
        int32_t n;

        if (f == NULL) {
                const char *names[NFIELD_DEFS];
                const char *hint;

                if (arkime_only(c->text + ft.off, ft.len))
                        return fail(c, ft.off,
                                    "'%.*s' is an Arkime field fanwatch does not receive (it "
                                    "sees only: " FIELDS_SEEN ")",
                                    (int)ft.len, c->text + ft.off);
                for (size_t i = 0; i < NFIELD_DEFS; i++)
                        names[i] = field_defs[i].name;
                hint = suggest(c->text + ft.off, ft.len, names, NFIELD_DEFS);
                if (hint != NULL)
                        return fail(c, ft.off, "unknown field '%.*s' (did you mean '%s'?)",
                                    (int)(ft.len > 60 ? 60 : ft.len), c->text + ft.off, hint);
                return fail(c, ft.off, "unknown field '%.*s' (fanwatch sees only: " FIELDS_SEEN ")",
                            (int)(ft.len > 60 ? 60 : ft.len), c->text + ft.off);
        }
        if (lex(c) != 0)
                return -1;
        if (c->tok.type != T_OP) {
                describe(c, &c->tok, what, sizeof(what));
                return fail(c, c->tok.off,
                            "expected an operator (==, !=, <, <=, >, >=) after '%s' but found %s",
                            f->name, what);
        }
        op = c->tok.op;
        op_off = c->tok.off;
        if (lex(c) != 0)
                return -1;
        switch (c->tok.type) {
        case T_STR:
        case T_QSTR:
        case T_LIST:
        case T_ALIST:
        case T_EXISTS:
        case T_REGEX:
                break;
        default:
                describe(c, &c->tok, what, sizeof(what));
                return fail(c, c->tok.off, "missing value after '%s' (found %s)", op_text[op],
                            what);
        }
        leaf = make_leaf(c, f, op, op_off);
        if (leaf < 0 || lex(c) != 0)
                return -1;
        n = new_node(c, N_LEAF, (uint32_t)leaf);
        return n;
}

static int32_t parse_unary(struct comp *c, int depth) {
        const struct token t = c->tok;
        char what[64];
        int32_t inner, n;

        switch (t.type) {
        case T_NOT:
        case T_LP:
                if (depth >= FW_EXPR_MAX_DEPTH)
                        return fail(c, t.off, "nesting deeper than %d levels of '(' and '!'",
                                    FW_EXPR_MAX_DEPTH);
                if (lex(c) != 0)
                        return -1;
                if (t.type == T_LP) {
                        inner = parse_or(c, depth + 1);
                        if (inner < 0)
                                return -1;
                        if (c->tok.type != T_RP) {
                                unsigned line, col;

                                position(c, t.off, &line, &col);
                                describe(c, &c->tok, what, sizeof(what));
                                return fail(c, c->tok.off,
                                            "missing ')' to close the '(' at %u:%u (found %s)",
                                            line, col, what);
                        }
                        if (lex(c) != 0)
                                return -1;
                        return inner;
                }
                inner = parse_unary(c, depth + 1);
                if (inner < 0)
                        return -1;
                if (NODE(c, inner)->type == N_NOT)
                        return NODE(c, inner)->first; /* !!x is x */
                n = new_node(c, N_NOT, 0);
                if (n >= 0)
                        add_child(c, n, inner);
                return n;
        case T_STR:
                return parse_comparison(c);
        case T_EOF:
                return fail(c, t.off,
                            "missing operand: expected a field, '!' or '(' but the "
                            "expression ends");
        case T_AND:
        case T_OR:
                describe(c, &t, what, sizeof(what));
                return fail(c, t.off, "missing operand before %s", what);
        case T_RP:
                return fail(c, t.off, "missing operand before ')'");
        case T_OP:
                describe(c, &t, what, sizeof(what));
                return fail(c, t.off, "missing field name before %s", what);
        default:
                describe(c, &t, what, sizeof(what));
                return fail(c, t.off, "expected a field name, '!' or '(' but found %s", what);
        }
}

static int32_t parse_and(struct comp *c, int depth) {
        int32_t left = parse_unary(c, depth), node = -1;

        if (left < 0)
                return -1;
        while (c->tok.type == T_AND) {
                int32_t right;

                if (lex(c) != 0)
                        return -1;
                right = parse_unary(c, depth);
                if (right < 0)
                        return -1;
                if (node < 0) {
                        node = new_node(c, N_AND, 0);
                        if (node < 0)
                                return -1;
                        add_child(c, node, left);
                }
                add_child(c, node, right);
        }
        return node >= 0 ? node : left;
}

static int32_t parse_or(struct comp *c, int depth) {
        int32_t left = parse_and(c, depth), node = -1;

        if (left < 0)
                return -1;
        while (c->tok.type == T_OR) {
                int32_t right;

                if (lex(c) != 0)
                        return -1;
                right = parse_and(c, depth);
                if (right < 0)
                        return -1;
                if (node < 0) {
                        node = new_node(c, N_OR, 0);
                        if (node < 0)
                                return -1;
                        add_child(c, node, left);
                }
                add_child(c, node, right);
        }
        return node >= 0 ? node : left;
}

/* ---------------------------------------------------------------------------------------------
 * Normalised text
 * ------------------------------------------------------------------------------------------- */

static void sb_put(struct sbuf *b, const char *s, size_t n) {
        if (b->oom)
                return;
        if (b->cap - b->n <= n) {
                size_t cap = b->cap != 0 ? b->cap : 128;
                char *p;

                while (cap - b->n <= n)
                        cap *= 2;
                p = realloc(b->p, cap);
                if (p == NULL) {
                        b->oom = 1;
                        return;
                }
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s) {
        sb_put(b, s, strlen(s));
}

static void sb_int(struct sbuf *b, long long v) {
        char buf[24];

        snprintf(buf, sizeof(buf), "%lld", v);
        sb_puts(b, buf);
}

/* A string value: bare when the lexer would read it back as one STR, else quoted. In a list,
 * ',' and the brackets are escaped too (ListToArray splits on unescaped commas). */
static void print_str(struct sbuf *b, const char *s, int in_list) {
        int bare = s[0] != '\0' && s[0] != '/' && s[0] != '$';

        for (const char *p = s; bare && *p != '\0'; p++)
                bare = is_str_char(*p);
        if (bare) {
                sb_puts(b, s);
                return;
        }
        sb_put(b, "\"", 1);
        for (const char *p = s; *p != '\0'; p++) {
                if (*p == '"' || *p == '\\' || (in_list && (*p == ',' || *p == ']' || *p == '[')))
                        sb_put(b, "\\", 1);
                sb_put(b, p, 1);
        }
        sb_put(b, "\"", 1);
}

static void print_ip(struct sbuf *b, const struct ipitem *it) {
        if (it->has_ip) {
                fw_ip_t ip;
                char buf[64];

                memset(&ip, 0, sizeof(ip));
                ip.family = it->family;
                if (it->family == 4)
                        memcpy(ip.addr, (const uint8_t *)it->net + 12, 4);
                else
                        memcpy(ip.addr, it->net, sizeof(ip.addr));
                fw_ip_format(&ip, buf, sizeof(buf));
                if (ip.family == 6 && strchr(buf, '.') != NULL) {
                        /* no dotted tail: Arkime reads ".n" after IPv6 as a port */
                        unsigned g[8];

                        for (int i = 0; i < 8; i++)
                                g[i] = (unsigned)ip.addr[2 * i] << 8 | ip.addr[2 * i + 1];
                        snprintf(buf, sizeof(buf), "%x:%x:%x:%x:%x:%x:%x:%x", g[0], g[1], g[2],
                                 g[3], g[4], g[5], g[6], g[7]);
                }
                sb_puts(b, buf);
                if (it->prefix != (it->family == 4 ? 32 : 128)) {
                        sb_put(b, "/", 1);
                        sb_int(b, it->prefix);
                }
        }
        if (it->port >= 0) {
                sb_put(b, it->has_ip && it->family == 6 ? "." : ":", 1);
                sb_int(b, it->port);
        }
}

static void print_num(struct sbuf *b, const struct leaf *l, const struct range *r) {
        if (l->field == F_PROTO) {
                for (size_t i = 0; i < NPROTOCOLS; i++) {
                        if (protocols[i].number == r->lo) {
                                sb_puts(b, protocols[i].name);
                                return;
                        }
                }
        }
        sb_int(b, r->lo);
        if (r->hi != r->lo && l->op != OP_LT && l->op != OP_LE && l->op != OP_GT &&
            l->op != OP_GE) {
                sb_put(b, "-", 1);
                sb_int(b, r->hi);
        }
}

static void print_leaf(struct sbuf *b, const struct comp *c, const struct leaf *l) {
        int list = l->count > 1;

        /* A line break can only be written inside a list (a "..." string ends at the line), so
         * a single string holding one stays a one-element list. */
        if (l->kind == LK_STR && l->count == 1 &&
            strpbrk((const char *)c->chars.p + VEC_AT(c, strs, const struct stritem, l->first)->off,
                    "\r\n") != NULL)
                list = 1;

        sb_puts(b, field_name(l->field));
        sb_put(b, " ", 1);
        sb_puts(b, op_text[l->op]);
        sb_put(b, " ", 1);
        if (l->kind == LK_EXISTS) {
                sb_puts(b, "EXISTS!");
                return;
        }
        if (l->special != 0) {
                sb_puts(b, l->special == 4 ? "ipv4" : "ipv6");
                return;
        }
        if (list)
                sb_puts(b, l->all ? "]" : "[");
        for (uint32_t i = 0; i < l->count; i++) {
                uint32_t k = l->first + i;

                if (i > 0)
                        sb_put(b, ",", 1);
                if (l->kind == LK_IP)
                        print_ip(b, VEC_AT(c, ips, const struct ipitem, k));
                else if (l->kind == LK_STR)
                        print_str(b,
                                  (const char *)c->chars.p +
                                          VEC_AT(c, strs, const struct stritem, k)->off,
                                  list);
                else
                        print_num(b, l, VEC_AT(c, ranges, const struct range, k));
        }
        if (list)
                sb_puts(b, l->all ? "[" : "]");
}

/* Recursion depth is bounded by the nesting limit (flattening keeps one level per group). */
static void print_node(struct sbuf *b, const struct comp *c, int32_t n) {
        const struct node *nd = NODE(c, n);

        switch (nd->type) {
        case N_LEAF:
                print_leaf(b, c, VEC_AT(c, leaves, const struct leaf, nd->leaf));
                break;
        case N_NOT:
                sb_puts(b, "!(");
                print_node(b, c, nd->first);
                sb_puts(b, ")");
                break;
        default:
                for (int32_t k = nd->first; k >= 0; k = NODE(c, k)->next) {
                        int paren = nd->type == N_AND && NODE(c, k)->type == N_OR;

                        if (k != nd->first)
                                sb_puts(b, nd->type == N_AND ? " && " : " || ");
                        if (paren)
                                sb_put(b, "(", 1);
                        print_node(b, c, k);
                        if (paren)
                                sb_put(b, ")", 1);
                }
                break;
        }
}

/* ---------------------------------------------------------------------------------------------
 * Bytecode
 * ------------------------------------------------------------------------------------------- */

static long emit_insn(struct comp *c, uint32_t code, uint32_t arg) {
        long i = vec_add(c, &c->code, sizeof(struct insn));

        if (i < 0)
                return -1;
        VEC_AT(c, code, struct insn, i)->code = code;
        VEC_AT(c, code, struct insn, i)->arg = arg;
        return i;
}

/* a && b && c:  a JF(end) b JF(end) c end:    a || b:  a JT(end) b end:
 * The pending jumps of a group are chained through their arg until the end is known. */
static int emit(struct comp *c, int32_t n) {
        const struct node *nd = NODE(c, n);
        int32_t first = nd->first;
        uint32_t chain = UINT32_MAX, target;

        switch (nd->type) {
        case N_LEAF:
                return emit_insn(c, I_LEAF, nd->leaf) < 0 ? -1 : 0;
        case N_NOT:
                if (NODE(c, first)->type == N_LEAF) {
                        struct leaf *l = VEC_AT(c, leaves, struct leaf, NODE(c, first)->leaf);

                        l->neg ^= 1; /* fold the '!' into the leaf */
                        return emit_insn(c, I_LEAF, NODE(c, first)->leaf) < 0 ? -1 : 0;
                }
                if (emit(c, first) != 0)
                        return -1;
                return emit_insn(c, I_NOT, 0) < 0 ? -1 : 0;
        default:
                for (int32_t k = first; k >= 0; k = NODE(c, k)->next) {
                        long j;

                        if (emit(c, k) != 0)
                                return -1;
                        if (NODE(c, k)->next < 0)
                                break;
                        j = emit_insn(c, nd->type == N_AND ? I_JF : I_JT, chain);
                        if (j < 0)
                                return -1;
                        chain = (uint32_t)j;
                }
                target = (uint32_t)c->code.n;
                while (chain != UINT32_MAX) {
                        struct insn *in = VEC_AT(c, code, struct insn, chain);

                        chain = in->arg;
                        in->arg = target;
                }
                return 0;
        }
}

/* ---------------------------------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------------------------------- */

static void comp_free(struct comp *c) {
        free(c->nodes.p);
        free(c->leaves.p);
        free(c->ranges.p);
        free(c->ips.p);
        free(c->strs.p);
        free(c->chars.p);
        free(c->code.p);
}

fw_expr_t *fw_expr_compile(const char *text, char *err, size_t errlen) {
        struct comp c;
        struct sbuf sb = {NULL, 0, 0, 0};
        fw_expr_t *e = NULL;
        int32_t root;

        memset(&c, 0, sizeof(c));
        c.err = err;
        c.errlen = errlen;
        if (err != NULL && errlen > 0)
                err[0] = '\0';
        if (text == NULL) {
                fail(&c, 0, "no expression (NULL)");
                return NULL;
        }
        c.text = text;
        c.len = strnlen(text, FW_EXPR_MAX_LEN + 1);
        if (c.len > FW_EXPR_MAX_LEN) {
                fail(&c, FW_EXPR_MAX_LEN, "expression longer than %d bytes", FW_EXPR_MAX_LEN);
                return NULL;
        }
        if (lex(&c) != 0)
                goto out;
        if (c.tok.type == T_EOF) {
                fail(&c, 0, "empty expression");
                goto out;
        }
        root = parse_or(&c, 0);
        if (root < 0)
                goto out;
        if (c.tok.type != T_EOF) {
                char what[64];

                describe(&c, &c.tok, what, sizeof(what));
                if (c.tok.type == T_RP)
                        fail(&c, c.tok.off, "unbalanced ')': no '(' to close");
                else
                        fail(&c, c.tok.off,
                             "unexpected %s after a complete expression (missing && or ||?)", what);
                goto out;
        }
        print_node(&sb, &c, root);
        if (sb.oom || sb.p == NULL) {
                oom(&c);
                goto out;
        }
        if (emit(&c, root) != 0)
                goto out;
        e = calloc(1, sizeof(*e));
        if (e == NULL) {
                oom(&c);
                goto out;
        }
        e->ncode = c.code.n;
        e->code = c.code.p;
        e->leaves = c.leaves.p;
        e->ranges = c.ranges.p;
        e->ips = c.ips.p;
        e->strs = c.strs.p;
        e->chars = c.chars.p;
        e->text = sb.p;
        c.code.p = c.leaves.p = c.ranges.p = c.ips.p = c.strs.p = c.chars.p = NULL;
        sb.p = NULL;
out:
        free(sb.p);
        comp_free(&c);
        return e;
}
