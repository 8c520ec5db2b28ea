/* expr: Arkime-style search expressions ("expression rules"), compiled once, matched per session.
 *
 * The language is the subset of the Arkime viewer's search bar that fanwatch's session model can
 * answer, with Arkime's syntax and meaning. Sources followed (arkime/arkime):
 *   - viewer/arkimeparser.jison: the lexer (longest match; '=' is '==', '&' is '&&', '|' is '||'),
 *     the grammar and precedence ('!' binds tightest, then '&&', then '||'), and the value forms:
 *     parseIpPort (CIDR, shorthand "10.1" = 10.1.0.0/16, ":port"/".port" suffix, "ipv4"/"ipv6",
 *     lists), termOrTermsInt (numbers, "a-b" ranges, lists), stringQuery (exact, '*' wildcards,
 *     lists), ipProtocolLookup (names or numbers), ListToArray, and how '!=' is built: must_not
 *     around the '==' query;
 *   - db/db.pl fieldsUpdate (fields_v30) and addECSMap: the field names and types (ip.protocol is a
 *     lotermfield with the ipProtocolLookup transform, so only == and != apply), `ip` and `port`
 *     covering both sides, databytes.src/.dst = client.bytes/server.bytes;
 *   - capture's field definitions: tcpflags.syn, tcpflags.syn-ack, tcpflags.ack, tcpflags.psh,
 *     tcpflags.fin, tcpflags.rst, tcpflags.urg;
 *   - viewer/vueapp/src/components/help/Help.vue (search bar): lists, IP forms, EXISTS!.
 *
 * Grammar (whitespace anywhere between tokens):
 *   expr  := and ('||' and)*                         '|' is accepted for '||'
 *   and   := unary ('&&' unary)*                     '&' is accepted for '&&'
 *   unary := '!' unary | '(' expr ')' | FIELD OP VALUE
 *   OP    := '==' | '=' | '!=' | '<' | '<=' | '>' | '>='
 *   VALUE := word | "quoted" | [a,b,...] (any of) | ]a,b,...[ (all of) | EXISTS!
 * Fields: ip.src ip.dst ip (either) port.src port.dst port (either) ip.protocol
 *   packets[.src|.dst] bytes[.src|.dst] databytes[.src|.dst] tcpflags.{syn,syn-ack,ack,psh,fin,
 *   rst,urg} node communityId rootId (ip.dst:port is Arkime's alias of ip.dst).
 *
 * Absent values (Elasticsearch semantics, as Arkime builds the query):
 *   - `field == v` (and <, <=, >, >=) never matches a session without that field;
 *   - `field != v` is must_not(field == v), so it DOES match a session without the field;
 *   - either-side fields: `ip == v` is (ip.src == v || ip.dst == v); `ip != v` is its negation,
 *     i.e. neither side matches (a missing side counts as not matching).
 * A counter is absent when it is FW_ABSENT (a total when either direction is), an address when
 * unset, a string when empty. Ports are never absent: capture writes port 0 for ICMP and the like,
 * and `port.dst == 0` selects them. Addresses compare as OpenSearch stores them, IPv4 as
 * "::ffff:a.b.c.d": `ip.dst == ::/0` selects every session, `::ffff:a00:2` equals 10.0.0.2, and an
 * IPv6 CIDR on such an address that the viewer refuses ("::ffff:0:0/96") is refused.
 * tests/arkime/test_expr_differential.py compares 307 expressions with the real viewer.
 *
 * Value details that follow Arkime: '=', '&', '|' are '==', '&&', '||'; numbers may be quoted
 * ("80"); "a-b" is an inclusive range with == and !=; ip.protocol takes Arkime's names (icmp igmp
 * tcp udp gre esp icmp6/icmpv6 ospf pim sctp, any case) or 0-255; a string containing '*' is a
 * wildcard in which '?' is one byte (without '*', '?' is literal, as stringQuery decides); a list
 * is split at every comma not written "\,", even inside quotes (ListToArray); "!!x" is "x".
 *
 * Deliberate differences from Arkime, all rejected at compile time with a message rather than
 * given another meaning: regular expressions, shortcuts ($name), views, `db:` names, relational
 * operators on IP fields (Arkime compares addresses), ranges inside lists or with < > (Arkime
 * would read "[80-90]" as 80), numbers out of the field's range (port 70000, packets -1),
 * CIDRs with host bits set ("10.1.2.3/8"), quoted IPs, and IPv4-embedded IPv6 text (Arkime would
 * read "::ffff:1.2.3.4" as address "::ffff:1" port 2). Arkime's `ip` and `port` also cover
 * protocol fields (ip.dns, ip.xff, ...); fanwatch only has the session's two ends.
 *
 * A compiled expression is immutable: matching allocates nothing and may run from any number of
 * threads at once. */
#ifndef FW_EXPR_H
#define FW_EXPR_H

#include <stddef.h>

#include "session.h"

#define FW_EXPR_MAX_LEN   4096 /* longest expression text accepted, in bytes */
#define FW_EXPR_MAX_DEPTH 64   /* deepest nesting of '(' and '!' accepted */

typedef struct fw_expr fw_expr_t;

/* Compile text. On error returns NULL and writes into err (when errlen > 0) a message such as
 *   "expression:1:21: unknown field 'ip.sorc' (did you mean 'ip.src'?)"
 * giving the 1-based line and byte column of the offending token. */
fw_expr_t *fw_expr_compile(const char *text, char *err, size_t errlen);

void fw_expr_free(fw_expr_t *e);

/* 1 if the session matches, else 0. No allocation; safe to call concurrently. */
int fw_expr_match(const fw_expr_t *e, const fw_session_t *s);

/* The normalised text: canonical operators and spacing, minimal parentheses, shorthand and
 * protocol numbers expanded to canonical values ("ip.src == 10.1" gives
 * "ip.src == 10.1.0.0/16", "ip.protocol == 6" gives "ip.protocol == tcp"). It is itself a valid
 * Arkime expression with the same meaning, for alerts and viewer URLs. */
const char *fw_expr_text(const fw_expr_t *e);

#endif
