/* wire: msgpack wire format of a session record (see wire.h and docs/wire-format.md). */
#include "wire.h"
#include "errmsg.h"
#include "session_fields.h"

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

static int pack_key(msgpack_packer *pk, const char *key, size_t n) {
        return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, key, n);
}

/* The flags are the table's last fields; they go into the one "tf" map. */
#define FIRST_FLAG FW_SF_SYN
#define N_FLAGS    (FW_SF_COUNT - FIRST_FLAG)
#define FLAG_BITS  (((1u << N_FLAGS) - 1) << FIRST_FLAG)
_Static_assert(N_FLAGS == 9 && FW_SF_DST_ZERO == FW_SF_COUNT - 1, "flags close the field table");
_Static_assert(FW_SF_COUNT <= 32, "key sets are 32-bit masks");

/* Byte length of each field's wire key. */
#define FW_SF_KEYLEN_(name, member, kind, arkime, wire, expr) sizeof(wire) - 1,
static const uint8_t key_len[FW_SF_COUNT] = {FW_SESSION_FIELDS(FW_SF_KEYLEN_)};
#undef FW_SF_KEYLEN_

static int pack_field(msgpack_packer *pk, const fw_session_t *s, int i) {
        const fw_session_field_t *f = &fw_session_fields[i];
        const void *m = fw_session_field_cptr(s, f);
        size_t n;
        uint64_t v;
        if (pack_key(pk, f->wire, key_len[i]))
                return -1;
        switch (f->kind) {
        case FW_FK_ID:
        case FW_FK_STR:
                n = strlen(m);
                return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, m, n);
        case FW_FK_IP:
                n = fw_ip_len(m);
                return msgpack_pack_bin(pk, n) ||
                       msgpack_pack_bin_body(pk, ((const fw_ip_t *)m)->addr, n);
        case FW_FK_PORT:
                v = *(const uint16_t *)m;
                break;
        case FW_FK_PROTO:
                v = *(const uint8_t *)m;
                break;
        case FW_FK_FLAG:
                v = (uint64_t) * (const int32_t *)m;
                break;
        default: /* times and counters */
                v = (uint64_t) * (const int64_t *)m;
                break;
        }
        return msgpack_pack_uint64(pk, v);
}

int fw_session_encode(const fw_session_t *s, char *buf, size_t buflen, size_t *outlen, char *err,
                      size_t errlen) {
        /* One pass over the fields: which are written (required ones always, the others unless
         * absent: "", port 0, < 0), unterminated strings, the first counter out of range. */
        uint32_t present = 0;
        int unterminated = 0, bad_counter = -1;
        for (int i = 0; i < FW_SF_COUNT; i++) {
                const fw_session_field_t *f = &fw_session_fields[i];
                const void *m = fw_session_field_cptr(s, f);
                int here;
                switch (f->kind) {
                case FW_FK_STR:
                case FW_FK_ID:
                        unterminated |= memchr(m, '\0', f->size) == NULL;
                        here = f->kind == FW_FK_ID || *(const char *)m != '\0';
                        break;
                case FW_FK_PORT:
                        here = *(const uint16_t *)m != 0;
                        break;
                case FW_FK_FLAG:
                        here = *(const int32_t *)m >= 0;
                        break;
                case FW_FK_DBTIME:
                case FW_FK_COUNTER: {
                        int64_t v = *(const int64_t *)m;
                        if (f->kind == FW_FK_COUNTER && v > FW_COUNTER_MAX && bad_counter < 0)
                                bad_counter = i;
                        here = v >= 0;
                        break;
                }
                default: /* required: TIME, IP, PROTO */
                        here = 1;
                        break;
                }
                present |= (uint32_t)here << i;
        }
        if (unterminated)
                return fw_errf(err, errlen, FW_WIRE_EINVAL, "unterminated string field");
        if (s->id[0] == '\0')
                return fw_errf(err, errlen, FW_WIRE_EINVAL, "session has no id");
        if (fw_ip_len(&s->src_ip) == 0 || fw_ip_len(&s->dst_ip) == 0)
                return fw_errf(err, errlen, FW_WIRE_EINVAL, "session %s: address unset", s->id);
        if (s->first_packet_ms < 0 || s->last_packet_ms < 0)
                return fw_errf(err, errlen, FW_WIRE_EINVAL, "session %s: packet times unset",
                               s->id);
        if (bad_counter >= 0)
                return fw_errf(err, errlen, FW_WIRE_EINVAL, "session %s: counter %s out of range",
                               s->id, fw_session_fields[bad_counter].wire);

        /* v, the fields present, and the flags present as one key, tf */
        uint32_t nflags = (uint32_t)__builtin_popcount(present & FLAG_BITS);
        uint32_t n = 1 + (uint32_t)__builtin_popcount(present & ~FLAG_BITS) + (nflags > 0);

        fixbuf_t fb = {buf, buflen, 0};
        msgpack_packer pk;
        msgpack_packer_init(&pk, &fb, fixbuf_write);
        int rc = msgpack_pack_map(&pk, n) || pack_key(&pk, "v", 1) ||
                 msgpack_pack_uint64(&pk, FW_WIRE_VERSION);
        for (uint32_t m = present & ~FLAG_BITS; !rc && m; m &= m - 1)
                rc = pack_field(&pk, s, __builtin_ctz(m));
        if (!rc && nflags) {
                rc = pack_key(&pk, "tf", 2) || msgpack_pack_map(&pk, nflags);
                for (uint32_t m = present & FLAG_BITS; !rc && m; m &= m - 1)
                        rc = pack_field(&pk, s, __builtin_ctz(m));
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

/* Keys of the top-level map are field indexes (FW_SF_*), as bits for duplicate and required-field
 * checks; the flags share one key, "tf". */
enum { K_TF = FIRST_FLAG, K_UNKNOWN = FW_SF_COUNT };
#define FW_SF_REQUIRED_(name, member, kind, arkime, wire, expr)                                    \
        | (FW_FK_REQUIRED(kind) ? 1u << FW_SF_##name : 0u)
static const uint32_t REQUIRED = 0u FW_SESSION_FIELDS(FW_SF_REQUIRED_);
#undef FW_SF_REQUIRED_

/* Map a key to its enum; a switch on length and packed bytes keeps the hot path short. */
static int key_id(const uint8_t *k, uint32_t n) {
#define K2(a, b)    (((unsigned)(a) << 8) | (unsigned)(b))
#define K3(a, b, c) (((unsigned)(a) << 16) | ((unsigned)(b) << 8) | (unsigned)(c))
        if (n == 2) {
                switch (K2(k[0], k[1])) {
                case K2('i', 'd'):
                        return FW_SF_ID;
                case K2('f', 'p'):
                        return FW_SF_FIRST_PACKET;
                case K2('l', 'p'):
                        return FW_SF_LAST_PACKET;
                case K2('t', 's'):
                        return FW_SF_DB_TIME;
                case K2('s', 'p'):
                        return FW_SF_SRC_PORT;
                case K2('d', 'p'):
                        return FW_SF_DST_PORT;
                case K2('p', 'r'):
                        return FW_SF_PROTOCOL;
                case K2('t', 'f'):
                        return K_TF;
                }
        } else if (n == 3) {
                switch (K3(k[0], k[1], k[2])) {
                case K3('r', 'i', 'd'):
                        return FW_SF_ROOT_ID;
                case K3('c', 'i', 'd'):
                        return FW_SF_COMMUNITY_ID;
                case K3('s', 'i', 'p'):
                        return FW_SF_SRC_IP;
                case K3('d', 'i', 'p'):
                        return FW_SF_DST_IP;
                case K3('s', 'p', 'k'):
                        return FW_SF_SRC_PACKETS;
                case K3('d', 'p', 'k'):
                        return FW_SF_DST_PACKETS;
                case K3('s', 'b', 'y'):
                        return FW_SF_SRC_BYTES;
                case K3('d', 'b', 'y'):
                        return FW_SF_DST_BYTES;
                case K3('s', 'd', 'b'):
                        return FW_SF_SRC_DATABYTES;
                case K3('d', 'd', 'b'):
                        return FW_SF_DST_DATABYTES;
                }
        } else if (n == 4 && memcmp(k, "node", 4) == 0) {
                return FW_SF_NODE;
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

static int read_flags(reader_t *r, fw_session_t *s) {
        mp_val_t m;
        int rc = mp_next(r, &m);
        if (rc)
                return rc;
        if (m.kind != MP_MAP)
                return fail(r, FW_WIRE_ETYPE, m.at, "expected a map of flag counts");
        unsigned seen = 0;
        for (uint32_t i = 0; i < m.n; i++) {
                mp_val_t k;
                if ((rc = read_key(r, &k)))
                        return rc;
                int idx = -1;
                for (int j = FIRST_FLAG; j < FW_SF_COUNT && idx < 0; j++)
                        if (key_len[j] == k.n &&
                            k.data[0] == (uint8_t)fw_session_fields[j].wire[0] &&
                            memcmp(fw_session_fields[j].wire, k.data, k.n) == 0)
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
                *(int32_t *)fw_session_field_ptr(s, &fw_session_fields[idx]) = (int32_t)x;
        }
        return 0;
}

/* Read the value of the top-level key of field id into s. */
static int read_field(reader_t *r, fw_session_t *s, int id) {
        const fw_session_field_t *f = &fw_session_fields[id];
        void *m = fw_session_field_ptr(s, f);
        uint64_t u;
        int rc;
        switch (f->kind) {
        case FW_FK_ID:
        case FW_FK_STR:
                return read_str(r, m, f->size);
        case FW_FK_TIME:
        case FW_FK_DBTIME:
                return read_i64(r, INT64_MAX, m);
        case FW_FK_COUNTER:
                return read_i64(r, FW_COUNTER_MAX, m);
        case FW_FK_IP:
                return read_ip(r, m);
        case FW_FK_PORT:
                if (!(rc = read_uint(r, UINT16_MAX, &u)))
                        *(uint16_t *)m = (uint16_t)u;
                return rc;
        case FW_FK_PROTO:
                if (!(rc = read_uint(r, UINT8_MAX, &u)))
                        *(uint8_t *)m = (uint8_t)u;
                return rc;
        default: /* FW_FK_FLAG: K_TF */
                return read_flags(r, s);
        }
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
                rc = read_field(&r, s, id);
                if (rc)
                        return rc;
        }
        r.key = NULL;
        if ((seen & REQUIRED) != REQUIRED) {
                for (int i = 0; i < K_UNKNOWN; i++)
                        if ((REQUIRED & (1u << i)) && !(seen & (1u << i))) {
                                r.key = fw_session_fields[i].wire;
                                r.keylen = strlen(r.key);
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
