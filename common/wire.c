/* wire: msgpack wire format of a session record (see wire.h and docs/wire-format.md). */
#include "wire.h"
#include "errmsg.h"

#include <librdkafka/rdkafka.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_SKIP_DEPTH 8 /* nesting allowed inside an unknown key's value */

const char *fw_wire_strerror(int err) {
        switch (err) {
        case FW_WIRE_OK:
                return "ok";
        case FW_WIRE_ETRUNC:
                return "truncated";
        case FW_WIRE_ESIZE:
                return "bad size";
        case FW_WIRE_ETYPE:
                return "mistyped";
        case FW_WIRE_ERANGE:
                return "out of range";
        case FW_WIRE_EVERSION:
                return "bad version";
        case FW_WIRE_EMISSING:
                return "missing field";
        case FW_WIRE_EDUP:
                return "duplicate key";
        case FW_WIRE_ETRAIL:
                return "trailing bytes";
        case FW_WIRE_EINVAL:
                return "invalid session";
        }
        return "unknown error";
}

/* ---------------------------------------------------------------------------------------------
 * Encoding (msgpack-c packer writing into the caller's fixed buffer)
 */

typedef struct fixbuf {
        char *buf;
        size_t cap, len;
} fixbuf_t;

static int fixbuf_write(void *data, const char *b, size_t n) {
        fixbuf_t *f = data;
        if (f->cap - f->len < n)
                return -1;
        memcpy(f->buf + f->len, b, n);
        f->len += n;
        return 0;
}

static int pack_key(msgpack_packer *pk, const char *key) {
        size_t n = strlen(key);
        return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, key, n);
}

static int pack_str(msgpack_packer *pk, const char *key, const char *val) {
        size_t n = strlen(val);
        return pack_key(pk, key) || msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, val, n);
}

static int pack_uint(msgpack_packer *pk, const char *key, uint64_t v) {
        return pack_key(pk, key) || msgpack_pack_uint64(pk, v);
}

static int pack_ip(msgpack_packer *pk, const char *key, const fw_ip_t *ip) {
        size_t n = fw_ip_len(ip);
        return pack_key(pk, key) || msgpack_pack_bin(pk, n) ||
               msgpack_pack_bin_body(pk, ip->addr, n);
}

/* Counters of a session in wire order, with their keys. */
#define N_COUNTERS 6
static void session_counters(const fw_session_t *s, const char *keys[N_COUNTERS],
                             int64_t vals[N_COUNTERS]) {
        static const char *const k[N_COUNTERS] = {"spk", "dpk", "sby", "dby", "sdb", "ddb"};
        const int64_t v[N_COUNTERS] = {s->src_packets, s->dst_packets,   s->src_bytes,
                                       s->dst_bytes,   s->src_databytes, s->dst_databytes};
        for (int i = 0; i < N_COUNTERS; i++) {
                keys[i] = k[i];
                vals[i] = v[i];
        }
}

#define N_FLAGS 9
static const char *const flag_keys[N_FLAGS] = {"syn", "syn-ack", "ack",      "psh",     "fin",
                                               "rst", "urg",     "src-zero", "dst-zero"};

static void session_flags(const fw_tcpflags_t *f, int32_t vals[N_FLAGS]) {
        const int32_t v[N_FLAGS] = {f->syn, f->syn_ack, f->ack,      f->psh,     f->fin,
                                    f->rst, f->urg,     f->src_zero, f->dst_zero};
        memcpy(vals, v, sizeof(v));
}

static int str_ok(const char *s, size_t size) {
        return memchr(s, '\0', size) != NULL;
}

int fw_session_encode(const fw_session_t *s, char *buf, size_t buflen, size_t *outlen, char *err,
                      size_t errlen) {
        if (!str_ok(s->id, sizeof(s->id)) || !str_ok(s->root_id, sizeof(s->root_id)) ||
            !str_ok(s->node, sizeof(s->node)) || !str_ok(s->community_id, sizeof(s->community_id)))
                return fw_errf(err, errlen, FW_WIRE_EINVAL, "unterminated string field");
        if (s->id[0] == '\0')
                return fw_errf(err, errlen, FW_WIRE_EINVAL, "session has no id");
        if (fw_ip_len(&s->src_ip) == 0 || fw_ip_len(&s->dst_ip) == 0)
                return fw_errf(err, errlen, FW_WIRE_EINVAL, "session %s: address unset", s->id);
        if (s->first_packet_ms < 0 || s->last_packet_ms < 0)
                return fw_errf(err, errlen, FW_WIRE_EINVAL, "session %s: packet times unset",
                               s->id);

        const char *ckeys[N_COUNTERS];
        int64_t cvals[N_COUNTERS];
        session_counters(s, ckeys, cvals);
        int32_t fvals[N_FLAGS];
        session_flags(&s->tcpflags, fvals);

        /* v, id, fp, lp, sip, dip, pr are always written. */
        uint32_t n = 7;
        n += s->root_id[0] != '\0';
        n += s->node[0] != '\0';
        n += s->community_id[0] != '\0';
        n += s->db_time_ms >= 0;
        n += s->src_port != 0;
        n += s->dst_port != 0;
        uint32_t nflags = 0;
        for (int i = 0; i < N_COUNTERS; i++) {
                if (cvals[i] > FW_COUNTER_MAX)
                        return fw_errf(err, errlen, FW_WIRE_EINVAL,
                                       "session %s: counter %s out of range", s->id, ckeys[i]);
                n += cvals[i] >= 0;
        }
        for (int i = 0; i < N_FLAGS; i++)
                nflags += fvals[i] >= 0;
        n += nflags > 0;

        fixbuf_t fb = {buf, buflen, 0};
        msgpack_packer pk;
        msgpack_packer_init(&pk, &fb, fixbuf_write);
        int rc = msgpack_pack_map(&pk, n) || pack_uint(&pk, "v", FW_WIRE_VERSION) ||
                 pack_str(&pk, "id", s->id);
        if (!rc && s->root_id[0])
                rc = pack_str(&pk, "rid", s->root_id);
        if (!rc && s->node[0])
                rc = pack_str(&pk, "node", s->node);
        if (!rc && s->community_id[0])
                rc = pack_str(&pk, "cid", s->community_id);
        rc = rc || pack_uint(&pk, "fp", (uint64_t)s->first_packet_ms) ||
             pack_uint(&pk, "lp", (uint64_t)s->last_packet_ms);
        if (!rc && s->db_time_ms >= 0)
                rc = pack_uint(&pk, "ts", (uint64_t)s->db_time_ms);
        rc = rc || pack_ip(&pk, "sip", &s->src_ip) || pack_ip(&pk, "dip", &s->dst_ip);
        if (!rc && s->src_port)
                rc = pack_uint(&pk, "sp", s->src_port);
        if (!rc && s->dst_port)
                rc = pack_uint(&pk, "dp", s->dst_port);
        rc = rc || pack_uint(&pk, "pr", s->ip_protocol);
        for (int i = 0; !rc && i < N_COUNTERS; i++)
                if (cvals[i] >= 0)
                        rc = pack_uint(&pk, ckeys[i], (uint64_t)cvals[i]);
        if (!rc && nflags) {
                rc = pack_key(&pk, "tf") || msgpack_pack_map(&pk, nflags);
                for (int i = 0; !rc && i < N_FLAGS; i++)
                        if (fvals[i] >= 0)
                                rc = pack_uint(&pk, flag_keys[i], (uint64_t)fvals[i]);
        }
        if (rc)
                return fw_errf(err, errlen, FW_WIRE_ESIZE,
                               "session %s: record does not fit in %zu bytes", s->id, buflen);
        *outlen = fb.len;
        return FW_WIRE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Decoding: a strict reader over [p, p+len). Every read checks the bytes left first.
 */

typedef struct reader {
        const uint8_t *p;
        size_t len, pos;
        const char *key; /* current key, for messages */
        size_t keylen;
        char *err;
        size_t errlen;
} reader_t;

typedef enum {
        MP_NIL,
        MP_BOOL,
        MP_UINT,
        MP_NINT,
        MP_FLOAT,
        MP_STR,
        MP_BIN,
        MP_ARR,
        MP_MAP,
        MP_EXT
} mp_kind_t;

typedef struct mp_val {
        mp_kind_t kind;
        uint64_t u;          /* MP_UINT value, MP_BOOL 0/1 */
        int64_t i;           /* MP_NINT value (< 0) */
        uint32_t n;          /* STR/BIN/EXT byte length, ARR/MAP element count */
        const uint8_t *data; /* STR/BIN/EXT payload */
        size_t at;           /* offset of the value's first byte */
} mp_val_t;

static int fail(reader_t *r, int code, size_t at, const char *what) {
        if (r->key)
                return fw_errf(r->err, r->errlen, code, "%s at byte %zu (key '%.*s'): %s",
                               fw_wire_strerror(code), at, (int)r->keylen, r->key, what);
        return fw_errf(r->err, r->errlen, code, "%s at byte %zu: %s", fw_wire_strerror(code), at,
                       what);
}

static uint64_t be(const uint8_t *p, int n) {
        uint64_t v = 0;
        for (int i = 0; i < n; i++)
                v = (v << 8) | p[i];
        return v;
}

/* Take n bytes, or fail as truncated. */
static int take(reader_t *r, size_t n, const uint8_t **out, size_t at) {
        if (r->len - r->pos < n)
                return fail(r, FW_WIRE_ETRUNC, at, "input ends inside a value");
        *out = r->p + r->pos;
        r->pos += n;
        return 0;
}

/* Read one value's header (and a string/bin/ext payload). Container counts are checked
 * against the bytes left: each element takes at least one byte. */
static int mp_next(reader_t *r, mp_val_t *v) {
        const uint8_t *b = NULL;
        v->at = r->pos;
        int rc = take(r, 1, &b, v->at);
        if (rc)
                return rc;
        uint8_t t = b[0];
        int nlen = 0; /* size of a following length / value field */
        v->n = 0;
        if (t <= 0x7f) {
                v->kind = MP_UINT;
                v->u = t;
                return 0;
        }
        if (t >= 0xe0) {
                v->kind = MP_NINT;
                v->i = (int8_t)t;
                return 0;
        }
        if ((t & 0xf0) == 0x80 || (t & 0xf0) == 0x90) {
                v->kind = (t & 0xf0) == 0x80 ? MP_MAP : MP_ARR;
                v->n = t & 0x0f;
                goto container;
        }
        if ((t & 0xe0) == 0xa0) {
                v->kind = MP_STR;
                v->n = t & 0x1f;
                goto payload;
        }
        switch (t) {
        case 0xc0:
                v->kind = MP_NIL;
                return 0;
        case 0xc2:
        case 0xc3:
                v->kind = MP_BOOL;
                v->u = t == 0xc3;
                return 0;
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
                nlen = 1 << (t - 0xcc);
                if ((rc = take(r, (size_t)nlen, &b, v->at)))
                        return rc;
                v->kind = MP_UINT;
                v->u = be(b, nlen);
                return 0;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3: {
                nlen = 1 << (t - 0xd0);
                if ((rc = take(r, (size_t)nlen, &b, v->at)))
                        return rc;
                uint64_t raw = be(b, nlen);
                int shift = 64 - 8 * nlen;
                int64_t x = (int64_t)(raw << shift) >> shift; /* sign-extend */
                if (x >= 0) {
                        v->kind = MP_UINT;
                        v->u = (uint64_t)x;
                } else {
                        v->kind = MP_NINT;
                        v->i = x;
                }
                return 0;
        }
        case 0xca:
        case 0xcb:
                v->kind = MP_FLOAT;
                return take(r, t == 0xca ? 4 : 8, &b, v->at);
        case 0xd9:
        case 0xda:
        case 0xdb:
                v->kind = MP_STR;
                nlen = 1 << (t - 0xd9);
                break;
        case 0xc4:
        case 0xc5:
        case 0xc6:
                v->kind = MP_BIN;
                nlen = 1 << (t - 0xc4);
                break;
        case 0xdc:
        case 0xdd:
                v->kind = MP_ARR;
                nlen = t == 0xdc ? 2 : 4;
                break;
        case 0xde:
        case 0xdf:
                v->kind = MP_MAP;
                nlen = t == 0xde ? 2 : 4;
                break;
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
                v->kind = MP_EXT;
                v->n = 1u + (1u << (t - 0xd4)); /* type byte + data */
                goto payload;
        case 0xc7:
        case 0xc8:
        case 0xc9:
                v->kind = MP_EXT;
                nlen = 1 << (t - 0xc7);
                if ((rc = take(r, (size_t)nlen, &b, v->at)))
                        return rc;
                v->n = 1u + (uint32_t)be(b, nlen);
                goto payload;
        default: /* 0xc1 is never used */
                return fail(r, FW_WIRE_ETYPE, v->at, "invalid msgpack type byte");
        }
        if ((rc = take(r, (size_t)nlen, &b, v->at)))
                return rc;
        v->n = (uint32_t)be(b, nlen);
        if (v->kind == MP_ARR || v->kind == MP_MAP)
                goto container;
payload:
        return take(r, v->n, &v->data, v->at);
container : {
        uint64_t min_bytes = (uint64_t)v->n * (v->kind == MP_MAP ? 2 : 1);
        if (min_bytes > r->len - r->pos)
                return fail(r, FW_WIRE_ETRUNC, v->at, "container larger than the input");
        return 0;
}
}

/* Skip one complete value of any type (for unknown keys). */
static int mp_skip(reader_t *r, int depth) {
        mp_val_t v;
        int rc = mp_next(r, &v);
        if (rc)
                return rc;
        if (v.kind != MP_ARR && v.kind != MP_MAP)
                return 0;
        if (depth >= MAX_SKIP_DEPTH)
                return fail(r, FW_WIRE_ERANGE, v.at, "nesting too deep");
        uint64_t items = (uint64_t)v.n * (v.kind == MP_MAP ? 2 : 1);
        for (uint64_t i = 0; i < items; i++)
                if ((rc = mp_skip(r, depth + 1)))
                        return rc;
        return 0;
}

static int read_uint(reader_t *r, uint64_t max, uint64_t *out) {
        mp_val_t v;
        int rc = mp_next(r, &v);
        if (rc)
                return rc;
        if (v.kind == MP_NINT)
                return fail(r, FW_WIRE_ERANGE, v.at, "negative value");
        if (v.kind != MP_UINT)
                return fail(r, FW_WIRE_ETYPE, v.at, "expected an unsigned integer");
        if (v.u > max)
                return fail(r, FW_WIRE_ERANGE, v.at, "value too large");
        *out = v.u;
        return 0;
}

static int read_i64(reader_t *r, int64_t max, int64_t *out) {
        uint64_t u;
        int rc = read_uint(r, (uint64_t)max, &u);
        if (!rc)
                *out = (int64_t)u;
        return rc;
}

static int read_str(reader_t *r, char *field, size_t size) {
        mp_val_t v;
        int rc = mp_next(r, &v);
        if (rc)
                return rc;
        if (v.kind != MP_STR)
                return fail(r, FW_WIRE_ETYPE, v.at, "expected a string");
        if (fw_session_set_str(field, size, (const char *)v.data, v.n) != 0)
                return fail(r, FW_WIRE_ERANGE, v.at, "string too long or contains NUL");
        return 0;
}

static int read_ip(reader_t *r, fw_ip_t *ip) {
        mp_val_t v;
        int rc = mp_next(r, &v);
        if (rc)
                return rc;
        if (v.kind != MP_BIN)
                return fail(r, FW_WIRE_ETYPE, v.at, "expected bin (4 or 16 bytes)");
        if (fw_ip_from_bytes(v.data, v.n, ip) != 0)
                return fail(r, FW_WIRE_ERANGE, v.at, "address must be 4 or 16 bytes");
        return 0;
}

/* Keys of the top-level map, as bits for duplicate and required-field checks. */
enum {
        K_ID,
        K_RID,
        K_NODE,
        K_CID,
        K_FP,
        K_LP,
        K_TS,
        K_SIP,
        K_DIP,
        K_SP,
        K_DP,
        K_PR,
        K_SPK,
        K_DPK,
        K_SBY,
        K_DBY,
        K_SDB,
        K_DDB,
        K_TF,
        K_UNKNOWN
};
#define REQUIRED                                                                                   \
        ((1u << K_ID) | (1u << K_FP) | (1u << K_LP) | (1u << K_SIP) | (1u << K_DIP) | (1u << K_PR))
static const char *const key_names[] = {"id",  "rid", "node", "cid", "fp", "lp",  "ts",
                                        "sip", "dip", "sp",   "dp",  "pr", "spk", "dpk",
                                        "sby", "dby", "sdb",  "ddb", "tf"};

/* Map a key to its enum; a switch on length and packed bytes keeps the hot path short. */
static int key_id(const uint8_t *k, uint32_t n) {
#define K2(a, b)    (((unsigned)(a) << 8) | (unsigned)(b))
#define K3(a, b, c) (((unsigned)(a) << 16) | ((unsigned)(b) << 8) | (unsigned)(c))
        if (n == 2) {
                switch (K2(k[0], k[1])) {
                case K2('i', 'd'):
                        return K_ID;
                case K2('f', 'p'):
                        return K_FP;
                case K2('l', 'p'):
                        return K_LP;
                case K2('t', 's'):
                        return K_TS;
                case K2('s', 'p'):
                        return K_SP;
                case K2('d', 'p'):
                        return K_DP;
                case K2('p', 'r'):
                        return K_PR;
                case K2('t', 'f'):
                        return K_TF;
                }
        } else if (n == 3) {
                switch (K3(k[0], k[1], k[2])) {
                case K3('r', 'i', 'd'):
                        return K_RID;
                case K3('c', 'i', 'd'):
                        return K_CID;
                case K3('s', 'i', 'p'):
                        return K_SIP;
                case K3('d', 'i', 'p'):
                        return K_DIP;
                case K3('s', 'p', 'k'):
                        return K_SPK;
                case K3('d', 'p', 'k'):
                        return K_DPK;
                case K3('s', 'b', 'y'):
                        return K_SBY;
                case K3('d', 'b', 'y'):
                        return K_DBY;
                case K3('s', 'd', 'b'):
                        return K_SDB;
                case K3('d', 'd', 'b'):
                        return K_DDB;
                }
        } else if (n == 4 && memcmp(k, "node", 4) == 0) {
                return K_NODE;
        }
        return K_UNKNOWN;
#undef K2
#undef K3
}

static int read_key(reader_t *r, mp_val_t *k) {
        int rc = mp_next(r, k);
        if (rc)
                return rc;
        if (k->kind != MP_STR)
                return fail(r, FW_WIRE_ETYPE, k->at, "map key is not a string");
        r->key = (const char *)k->data;
        r->keylen = k->n;
        return 0;
}

static int read_flags(reader_t *r, fw_tcpflags_t *f) {
        mp_val_t m;
        int rc = mp_next(r, &m);
        if (rc)
                return rc;
        if (m.kind != MP_MAP)
                return fail(r, FW_WIRE_ETYPE, m.at, "expected a map of flag counts");
        int32_t *slots[N_FLAGS] = {&f->syn, &f->syn_ack, &f->ack,      &f->psh,     &f->fin,
                                   &f->rst, &f->urg,     &f->src_zero, &f->dst_zero};
        unsigned seen = 0;
        for (uint32_t i = 0; i < m.n; i++) {
                mp_val_t k;
                if ((rc = read_key(r, &k)))
                        return rc;
                static const uint8_t flag_len[N_FLAGS] = {3, 7, 3, 3, 3, 3, 3, 8, 8};
                int idx = -1;
                for (int j = 0; j < N_FLAGS && idx < 0; j++)
                        if (flag_len[j] == k.n && k.data[0] == (uint8_t)flag_keys[j][0] &&
                            memcmp(flag_keys[j], k.data, k.n) == 0)
                                idx = j;
                if (idx < 0) {
                        if ((rc = mp_skip(r, 1)))
                                return rc;
                        continue;
                }
                if (seen & (1u << idx))
                        return fail(r, FW_WIRE_EDUP, k.at, "flag given twice");
                seen |= 1u << idx;
                int64_t x;
                if ((rc = read_i64(r, INT32_MAX, &x)))
                        return rc;
                *slots[idx] = (int32_t)x;
        }
        return 0;
}

int fw_session_decode(const void *buf, size_t len, fw_session_t *s, char *err, size_t errlen) {
        reader_t r = {.p = buf, .len = len, .err = err, .errlen = errlen};
        if (len == 0 || len > FW_RECORD_MAX)
                return fw_errf(err, errlen, FW_WIRE_ESIZE, "bad size: %zu bytes (1..%d allowed)",
                               len, FW_RECORD_MAX);
        fw_session_init(s);

        mp_val_t top, k;
        int rc = mp_next(&r, &top);
        if (rc)
                return rc;
        if (top.kind != MP_MAP)
                return fail(&r, FW_WIRE_ETYPE, 0, "record is not a msgpack map");
        if (top.n == 0)
                return fail(&r, FW_WIRE_EVERSION, 0, "empty map, no schema version");
        if ((rc = read_key(&r, &k)))
                return rc;
        if (k.n != 1 || k.data[0] != 'v')
                return fail(&r, FW_WIRE_EVERSION, k.at, "first key must be 'v'");
        uint64_t version;
        if ((rc = read_uint(&r, UINT32_MAX, &version)))
                return rc;
        if (version != FW_WIRE_VERSION)
                return fail(&r, FW_WIRE_EVERSION, k.at, "unsupported schema version");

        uint32_t seen = 0;
        uint64_t u;
        for (uint32_t i = 1; i < top.n; i++) {
                if ((rc = read_key(&r, &k)))
                        return rc;
                int id = key_id(k.data, k.n);
                if (id == K_UNKNOWN) {
                        if ((rc = mp_skip(&r, 1)))
                                return rc;
                        continue;
                }
                if (seen & (1u << id))
                        return fail(&r, FW_WIRE_EDUP, k.at, "key given twice");
                seen |= 1u << id;
                switch (id) {
                case K_ID:
                        rc = read_str(&r, s->id, sizeof(s->id));
                        break;
                case K_RID:
                        rc = read_str(&r, s->root_id, sizeof(s->root_id));
                        break;
                case K_NODE:
                        rc = read_str(&r, s->node, sizeof(s->node));
                        break;
                case K_CID:
                        rc = read_str(&r, s->community_id, sizeof(s->community_id));
                        break;
                case K_FP:
                        rc = read_i64(&r, INT64_MAX, &s->first_packet_ms);
                        break;
                case K_LP:
                        rc = read_i64(&r, INT64_MAX, &s->last_packet_ms);
                        break;
                case K_TS:
                        rc = read_i64(&r, INT64_MAX, &s->db_time_ms);
                        break;
                case K_SIP:
                        rc = read_ip(&r, &s->src_ip);
                        break;
                case K_DIP:
                        rc = read_ip(&r, &s->dst_ip);
                        break;
                case K_SP:
                        if (!(rc = read_uint(&r, UINT16_MAX, &u)))
                                s->src_port = (uint16_t)u;
                        break;
                case K_DP:
                        if (!(rc = read_uint(&r, UINT16_MAX, &u)))
                                s->dst_port = (uint16_t)u;
                        break;
                case K_PR:
                        if (!(rc = read_uint(&r, UINT8_MAX, &u)))
                                s->ip_protocol = (uint8_t)u;
                        break;
                case K_SPK:
                        rc = read_i64(&r, FW_COUNTER_MAX, &s->src_packets);
                        break;
                case K_DPK:
                        rc = read_i64(&r, FW_COUNTER_MAX, &s->dst_packets);
                        break;
                case K_SBY:
                        rc = read_i64(&r, FW_COUNTER_MAX, &s->src_bytes);
                        break;
                case K_DBY:
                        rc = read_i64(&r, FW_COUNTER_MAX, &s->dst_bytes);
                        break;
                case K_SDB:
                        rc = read_i64(&r, FW_COUNTER_MAX, &s->src_databytes);
                        break;
                case K_DDB:
                        rc = read_i64(&r, FW_COUNTER_MAX, &s->dst_databytes);
                        break;
                case K_TF:
                        rc = read_flags(&r, &s->tcpflags);
                        break;
                }
                if (rc)
                        return rc;
        }
        r.key = NULL;
        if ((seen & REQUIRED) != REQUIRED) {
                for (int i = 0; i < K_UNKNOWN; i++)
                        if ((REQUIRED & (1u << i)) && !(seen & (1u << i))) {
                                r.key = key_names[i];
                                r.keylen = strlen(key_names[i]);
                                return fail(&r, FW_WIRE_EMISSING, r.pos, "required field absent");
                        }
        }
        if (s->id[0] == '\0') {
                r.key = "id";
                r.keylen = 2;
                return fail(&r, FW_WIRE_ERANGE, r.pos, "empty session id");
        }
        if (r.pos != r.len)
                return fail(&r, FW_WIRE_ETRAIL, r.pos, "bytes after the record");
        return FW_WIRE_OK;
}

/* ---- msgpack objects of unknown shape, and the Kafka keying ---- */

int fw_msgpack_skip(const uint8_t *buf, size_t len, size_t *objlen) {
        size_t pos = 0;
        uint64_t pending = 1; /* objects still to skip; each takes at least one byte */
        while (pending > 0) {
                if (pending > len - pos)
                        return 1;
                uint8_t b = buf[pos++];
                pending--;
                size_t hdr = 0;    /* size field bytes after the type byte */
                uint64_t skip = 0; /* payload bytes after the size field */
                uint64_t add = 0;  /* elements of a container */
                int kind = 0;      /* 1: size field is a payload length, 2: array, 3: map, 4: ext */
                if (b <= 0x7f || b >= 0xe0) {
                        /* positive / negative fixint */
                } else if (b <= 0x8f) {
                        add = 2u * (b & 0x0f);
                } else if (b <= 0x9f) {
                        add = b & 0x0f;
                } else if (b <= 0xbf) {
                        skip = b & 0x1f;
                } else {
                        switch (b) {
                        case 0xc0: /* nil */
                        case 0xc2: /* false */
                        case 0xc3: /* true */
                                break;
                        case 0xc1:
                                return -1; /* never used */
                        case 0xc4:
                                hdr = 1, kind = 1;
                                break; /* bin 8 */
                        case 0xc5:
                                hdr = 2, kind = 1;
                                break;
                        case 0xc6:
                                hdr = 4, kind = 1;
                                break;
                        case 0xc7:
                                hdr = 1, kind = 4;
                                break; /* ext 8: size, type, data */
                        case 0xc8:
                                hdr = 2, kind = 4;
                                break;
                        case 0xc9:
                                hdr = 4, kind = 4;
                                break;
                        case 0xca:
                                skip = 4;
                                break; /* float 32 */
                        case 0xcb:
                                skip = 8;
                                break;
                        case 0xcc:
                                skip = 1;
                                break; /* uint 8..64 */
                        case 0xcd:
                                skip = 2;
                                break;
                        case 0xce:
                                skip = 4;
                                break;
                        case 0xcf:
                                skip = 8;
                                break;
                        case 0xd0:
                                skip = 1;
                                break; /* int 8..64 */
                        case 0xd1:
                                skip = 2;
                                break;
                        case 0xd2:
                                skip = 4;
                                break;
                        case 0xd3:
                                skip = 8;
                                break;
                        case 0xd4:
                                skip = 2;
                                break; /* fixext 1..16: type + data */
                        case 0xd5:
                                skip = 3;
                                break;
                        case 0xd6:
                                skip = 5;
                                break;
                        case 0xd7:
                                skip = 9;
                                break;
                        case 0xd8:
                                skip = 17;
                                break;
                        case 0xd9:
                                hdr = 1, kind = 1;
                                break; /* str 8..32 */
                        case 0xda:
                                hdr = 2, kind = 1;
                                break;
                        case 0xdb:
                                hdr = 4, kind = 1;
                                break;
                        case 0xdc:
                                hdr = 2, kind = 2;
                                break; /* array 16, 32 */
                        case 0xdd:
                                hdr = 4, kind = 2;
                                break;
                        case 0xde:
                                hdr = 2, kind = 3;
                                break; /* map 16, 32 */
                        default:
                                hdr = 4, kind = 3;
                                break; /* 0xdf map 32 */
                        }
                }
                if (hdr > 0) {
                        if (hdr > len - pos)
                                return 1;
                        uint64_t n = be(buf + pos, (int)hdr);
                        pos += hdr;
                        if (kind == 1)
                                skip = n;
                        else if (kind == 2)
                                add = n;
                        else if (kind == 3)
                                add = 2 * n;
                        else
                                skip = n + 1;
                }
                if (skip > len - pos)
                        return 1;
                pos += (size_t)skip;
                pending += add; /* at most 2 * 2^32 more: no overflow */
        }
        *objlen = pos;
        return 0;
}

const void *fw_session_key(const fw_session_t *s, size_t *len) {
        *len = fw_ip_len(&s->src_ip);
        return s->src_ip.addr;
}

int32_t fw_session_partition(const fw_session_t *s, int32_t n) {
        size_t len;
        const void *key = fw_session_key(s, &len);
        /* librdkafka's consistent partitioner ignores the topic and opaques. */
        return rd_kafka_msg_partitioner_consistent(NULL, key, len, n, NULL, NULL);
}
