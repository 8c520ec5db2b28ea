#include "session.h"
#include "session_fields.h"

#include <string.h>

#define MEMBER_SIZE(member) ((uint16_t)sizeof(((fw_session_t *)0)->member))
#define FW_SF_DEF_(name, member, kind, arkime, wire, expr)                                         \
        [FW_SF_##name] = {                                                                         \
                arkime, wire, expr, kind, MEMBER_SIZE(member), offsetof(fw_session_t, member)},
const fw_session_field_t fw_session_fields[FW_SF_COUNT] = {FW_SESSION_FIELDS(FW_SF_DEF_)};
#undef FW_SF_DEF_

/* An empty session: what is not set here is zero ("", port 0, address unset). */
#define ABSENT_FW_FK_ID(member)
#define ABSENT_FW_FK_STR(member)
#define ABSENT_FW_FK_TIME(member)   .member = FW_ABSENT,
#define ABSENT_FW_FK_DBTIME(member) .member = FW_ABSENT,
#define ABSENT_FW_FK_IP(member)
#define ABSENT_FW_FK_PORT(member)
#define ABSENT_FW_FK_PROTO(member)
#define ABSENT_FW_FK_COUNTER(member) .member = FW_ABSENT,
#define ABSENT_FW_FK_FLAG(member)    .member = FW_ABSENT,

#define FW_SF_ABSENT_(name, member, kind, arkime, wire, expr) ABSENT_##kind(member)
static const fw_session_t empty_session = {FW_SESSION_FIELDS(FW_SF_ABSENT_)};
#undef FW_SF_ABSENT_

void fw_session_init(fw_session_t *s) {
        memcpy(s, &empty_session, sizeof(*s));
}

int fw_session_equal(const fw_session_t *a, const fw_session_t *b) {
        for (int i = 0; i < FW_SF_COUNT; i++) {
                const fw_session_field_t *f = &fw_session_fields[i];
                const void *x = fw_session_field_cptr(a, f), *y = fw_session_field_cptr(b, f);
                int same;
                switch (f->kind) {
                case FW_FK_ID:
                case FW_FK_STR:
                        same = strcmp(x, y) == 0;
                        break;
                case FW_FK_IP:
                        same = fw_ip_equal(x, y);
                        break;
                default: /* integers: compare their bytes */
                        same = memcmp(x, y, f->size) == 0;
                        break;
                }
                if (!same)
                        return 0;
        }
        return 1;
}

int fw_session_set_str(char *field, size_t fieldsize, const char *src, size_t len) {
        if (len >= fieldsize || memchr(src, '\0', len) != NULL)
                return -1;
        memcpy(field, src, len);
        field[len] = '\0';
        return 0;
}
