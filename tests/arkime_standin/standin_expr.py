"""A subset of Arkime's expression language, compiled to Python predicates.

Follows viewer/arkimeparser.jison in arkime/arkime: the same tokens (flex longest match),
the same precedence ('&&' binds tighter than '||', unary '!' tightest), the same value forms
for ip / integer / term fields (parseIpPort, termOrTermsInt, stringQuery) and the same error
strings, which Arkime returns verbatim in the "error" key of /api/sessions.
"""

import fnmatch
import ipaddress
import re

from standin_store import ip_key, make_getter


class ExpressionError(Exception):
    """An expression Arkime rejects; str(err) is the message Arkime puts in "error"."""


# ---------------------------------------------------------------------------------------------
# Lexer: the rules of arkimeparser.jison, in order; %options flex = longest match, first rule
# wins a tie.
# ---------------------------------------------------------------------------------------------
_RULES = [
    (None, re.compile(r'\s+')),
    ('QUOTEDSTR', re.compile(r'"(?:\\?.)*?"')),
    ('REGEXSTR', re.compile(r'/(?:\\?.)*?/')),
    ('STR', re.compile(r'[-+a-zA-Z0-9_.@:*?/$]+')),
    ('LIST', re.compile(r'\[[^\]\\]*(?:\\.[^\]\\]*)*\]')),
    ('LIST', re.compile(r'\][^\[\\]*(?:\\.[^\[\\]*)*\[')),
    ('EXISTS', re.compile(r'EXISTS!')),
    ('lte', re.compile(r'<=')),
    ('lt', re.compile(r'<')),
    ('gte', re.compile(r'>=')),
    ('gt', re.compile(r'>')),
    ('!=', re.compile(r'!=')),
    ('==', re.compile(r'==')),
    ('==', re.compile(r'=')),
    ('||', re.compile(r'\|\|')),
    ('||', re.compile(r'\|')),
    ('&&', re.compile(r'&&')),
    ('&&', re.compile(r'&')),
    ('(', re.compile(r'\(')),
    (')', re.compile(r'\)')),
    ('!', re.compile(r'!')),
    ('INVALID', re.compile(r'.')),
]


class _Token:
    """One lexer token: kind (jison terminal name), text and its span in the source."""

    __slots__ = ('kind', 'text', 'start', 'end')

    def __init__(self, kind, text, start, end):
        self.kind, self.text, self.start, self.end = kind, text, start, end


def tokenize(src):
    """Split an expression into tokens the way the jison flex lexer does; ends with EOF."""
    tokens, pos = [], 0
    while pos < len(src):
        best_kind, best_end = None, pos
        for kind, rx in _RULES:
            m = rx.match(src, pos)
            if m and m.end() > best_end:
                best_kind, best_end = kind, m.end()
        if best_end == pos:  # only a newline can fail every rule; jison skips it as \s
            pos += 1
            continue
        if best_kind is not None:
            tokens.append(_Token(best_kind, src[pos:best_end], pos, best_end))
        pos = best_end
    tokens.append(_Token('EOF', '', len(src), len(src)))
    return tokens


def _jison_error(src, tok, expected):
    """Build jison's "Parse error on line N:" message (lexer.showPosition + expected list)."""
    past = src[:tok.start]
    past = ('...' if len(past) > 20 else '') + past[-20:].replace('\n', '')
    nxt = tok.text
    if len(nxt) < 20:
        nxt += src[tok.end:][:20 - len(nxt)]
    upcoming = (nxt[:20] + ('...' if len(nxt) > 20 else '')).replace('\n', '')
    line = src[:tok.end].count('\n') + 1
    return ExpressionError('Parse error on line %d:\n%s%s\n%s^\nExpecting %s, got \'%s\''
                           % (line, past, upcoming, '-' * len(past),
                              ', '.join("'%s'" % e for e in expected), tok.kind))


_EXPECT_E = ('STR', '!', '-', '(')
_EXPECT_OP = ('lt', 'lte', 'gt', 'gte', '==', '!=')
_EXPECT_EQ_VALUE = ('STR', 'QUOTEDSTR', 'REGEXSTR', 'LIST', 'EXISTS')
_EXPECT_VALUE = ('STR', 'QUOTEDSTR', 'REGEXSTR', 'LIST')
_EXPECT_AFTER_TOP = ('EOF', '&&', '||')
_EXPECT_AFTER_PAREN = ('&&', '||', ')')
_OPS = {'lt': 'lt', 'lte': 'lte', 'gt': 'gt', 'gte': 'gte', '==': 'eq', '!=': 'ne'}


class _Parser:
    """Recursive descent over the jison grammar; each comparison compiles as it is reduced."""

    def __init__(self, src):
        self.src = src
        self.tokens = tokenize(src)
        self.pos = 0

    def peek(self):
        """The current token."""
        return self.tokens[self.pos]

    def take(self, expected):
        """Consume a token of one of the expected kinds or raise jison's parse error."""
        tok = self.tokens[self.pos]
        if tok.kind not in expected:
            raise _jison_error(self.src, tok, expected)
        self.pos += 1
        return tok

    def parse(self):
        """expressions : e EOF."""
        pred = self.parse_or(_EXPECT_AFTER_TOP)
        self.take(('EOF',))
        return pred

    def _chain(self, op, operand, combine, after):
        """operand (op operand)*, left-associative: combine([left, right]) at each op."""
        left = operand(after)
        while self.peek().kind == op:
            self.pos += 1
            left = combine([left, operand(after)])
        return left

    def parse_or(self, after):
        """e '||' e (lowest precedence)."""
        return self._chain('||', self.parse_and, _any_of, after)

    def parse_and(self, after):
        """e '&&' e (binds tighter than '||')."""
        left = self._chain('&&', self.parse_unary, _all_of, after)
        self._check_follow(after)
        return left

    def _check_follow(self, after):
        """After a complete e only the operators or the closing token may follow."""
        if self.peek().kind not in after and self.peek().kind not in ('&&', '||'):
            raise _jison_error(self.src, self.peek(), after)

    def parse_unary(self, after):
        """'!' e | '(' e ')' | STR OP VALUE | STR ==/!= EXISTS!."""
        tok = self.take(_EXPECT_E)
        if tok.kind == '!':
            return _negate(self.parse_unary(after))
        if tok.kind == '(':
            inner = self.parse_or(_EXPECT_AFTER_PAREN)
            self.take((')',))
            return inner
        if tok.kind == '-':  # '-' e in the grammar; the lexer folds '-' into STR
            raise ExpressionError('Unsupported unary minus')
        op_tok = self.take(_EXPECT_OP)
        op = _OPS[op_tok.kind]
        value_tok = self.take(_EXPECT_EQ_VALUE if op in ('eq', 'ne') else _EXPECT_VALUE)
        if value_tok.kind == 'EXISTS':
            return compile_exists(tok.text, op)
        return compile_query(tok.text, op, value_tok.text)


def compile_expression(src):
    """Compile an Arkime expression into predicate(session) -> bool, or raise ExpressionError."""
    return _Parser(src).parse()


# ---------------------------------------------------------------------------------------------
# Field table: expression name -> (type, db field, port db field). Mirrors the core fields of
# db/db.pl (fields_v30) and capture; 'ipall' and 'portall' stand for Arkime's any-ip / any-port.
# ---------------------------------------------------------------------------------------------
_FIELDS = {
    'ip': ('ipall', None, None),
    'ip.src': ('ip', 'source.ip', 'source.port'),
    'ip.dst': ('ip', 'destination.ip', 'destination.port'),
    'port': ('portall', None, None),
    'port.src': ('integer', 'source.port', None),
    'port.dst': ('integer', 'destination.port', None),
    'ip.protocol': ('lotermfield', 'ipProtocol', None),
    'node': ('termfield', 'node', None),
    'protocols': ('termfield', 'protocol', None),
    'tags': ('termfield', 'tags', None),
    'rootId': ('termfield', 'rootId', None),
    'communityId': ('termfield', 'network.community_id', None),
    'packets': ('integer', 'network.packets', None),
    'packets.src': ('integer', 'source.packets', None),
    'packets.dst': ('integer', 'destination.packets', None),
    'bytes': ('integer', 'network.bytes', None),
    'bytes.src': ('integer', 'source.bytes', None),
    'bytes.dst': ('integer', 'destination.bytes', None),
    'databytes': ('integer', 'totDataBytes', None),
    'databytes.src': ('integer', 'client.bytes', None),
    'databytes.dst': ('integer', 'server.bytes', None),
    'session.segments': ('integer', 'segmentCnt', None),
    'session.length': ('integer', 'length', None),
}
for _flag in ('syn', 'syn-ack', 'ack', 'psh', 'fin', 'rst', 'urg'):
    _FIELDS['tcpflags.' + _flag] = ('integer', 'tcpflags.' + _flag, None)

_IP_FIELDS = ('ip.dst', 'ip.src')  # getIpInfoList sorts by exp name
_PORT_FIELDS = ('port.dst', 'port.src')

# ipProtocolLookup in arkimeparser.jison
PROTOCOLS = {'icmp': 1, 'igmp': 2, 'tcp': 6, 'udp': 17, 'gre': 47, 'esp': 50, 'icmp6': 58,
             'icmpv6': 58, 'ospf': 89, 'pim': 103, 'sctp': 132}


def _field_info(field):
    """Look a field up like getFieldInfo, supporting the 'db:' prefix for db field names."""
    if field.startswith('db:'):
        db = field[3:]
        for info in _FIELDS.values():
            if info[1] == db:
                return info
        return None
    return _FIELDS.get(field)


# ---------------------------------------------------------------------------------------------
# Predicate combinators (ES bool filter / should / must_not)
# ---------------------------------------------------------------------------------------------
def _all_of(preds):
    """bool.filter: every predicate holds."""
    return lambda s: all(p(s) for p in preds)


def _any_of(preds):
    """bool.should: at least one predicate holds."""
    return lambda s: any(p(s) for p in preds)


def _negate(pred):
    """bool.must_not."""
    return lambda s: not pred(s)


def _never(_s):
    """A query on a field that does not exist matches nothing."""
    return False


def _values(v):
    """A doc value as a list (ES treats arrays as multi-valued fields)."""
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


# ---------------------------------------------------------------------------------------------
# Lists: ListToArray / isArrayFull / isArrayAND
# ---------------------------------------------------------------------------------------------
def _is_array_full(value):
    """'[a,b]' (OR list) or ']a,b[' (AND list)."""
    return (value[:1] == '[' and value[-1:] == ']') or (value[:1] == ']' and value[-1:] == '[')


def _is_array_and(value):
    """An AND list starts with ']'."""
    return value[:1] == ']'


def _is_array_start(value):
    """Any list form."""
    return value[:1] in ('[', ']')


def _list_items(value):
    """ListToArray: strip the brackets and split on commas (\\, escapes a comma)."""
    if _is_array_full(value):
        value = value[1:-1]
    text = value.replace('\\\\', '**BACKSLASH**').replace('\\,', '**COMMA**')
    parts = [p for p in re.split(r'\s*,\s*', text) if p.strip()[:1] != '$']
    return [p.replace('**COMMA**', ',', 1).replace('**BACKSLASH**', '\\', 1) for p in parts]


def _strip_quotes(value):
    """stripQuotes."""
    return value[1:-1] if value[:1] == '"' else value


# ---------------------------------------------------------------------------------------------
# Compilation of one comparison
# ---------------------------------------------------------------------------------------------
def compile_exists(field, op):
    """formatExists: field == EXISTS! / field != EXISTS!."""
    info = _field_info(field)
    if info is None:
        raise ExpressionError('Unknown field ' + field)
    kind, db, _ = info
    if kind == 'ipall':
        getters = [make_getter(_FIELDS[f][1]) for f in _IP_FIELDS]
    elif kind == 'portall':
        getters = [make_getter(_FIELDS[f][1]) for f in _PORT_FIELDS]
    else:
        getters = [make_getter(db)]
    pred = lambda s: any(_values(g(s.doc)) for g in getters)
    return _negate(pred) if op == 'ne' else pred


def compile_query(field, op, value):
    """formatQuery / formatNormalQuery for the supported field types."""
    if value[:1] == '/' and value[-1:] == '/':
        _check_regex(value)
    info = _field_info(field)
    if info is None:
        raise ExpressionError('Unknown field ' + field)
    _reject_shortcuts(value)
    kind, db, _ = info
    if kind in ('ip', 'ipall'):
        return _ip_query(field, op, value)
    if kind == 'portall':
        preds = [compile_query(f, 'eq' if op == 'ne' else op, value) for f in _PORT_FIELDS]
        return _negate(_any_of(preds)) if op == 'ne' else _any_of(preds)
    if kind == 'integer':
        return _integer_query(db, op, value)
    if kind in ('termfield', 'lotermfield'):
        if op not in ('eq', 'ne'):
            raise ExpressionError("Invalid operator '%s' for %s" % (op, field))
        if kind == 'lotermfield':
            value = value.lower()
        transform = _protocol_lookup if field == 'ip.protocol' else None
        pred = _string_query(db, value, transform)
        return _negate(pred) if op == 'ne' else pred
    raise ExpressionError('Unknown field type: ' + kind)


def _reject_shortcuts(value):
    """Values starting with $ name shortcuts (formatShortcutsQuery); the stand-in has none."""
    inner = value[1:-1] if _is_array_full(value) else value
    for part in re.split(r'\s*,\s*', inner):
        if part.strip()[:1] == '$':
            raise ExpressionError(part.strip()[1:] + ' - Shortcut not found')


def _check_regex(value):
    """checkRegex: a regex must escape inner forward slashes."""
    m = re.match(r'^/(?:\\?.)*?/', value)
    if m and len(m.group(0)) != len(value):
        raise ExpressionError('Must back slash any forward slashes in regexp query - ' + m.group(0))


# --- integers --------------------------------------------------------------------------------
def _integer_query(db, op, value):
    """termOrTermsInt for ==/!=, a range for < <= > >=."""
    if value[:1] == '/':
        raise ExpressionError(value + ' - Regex queries not supported for integer queries')
    get = make_getter(db)
    if op in ('eq', 'ne'):
        pred = _int_terms(get, value)
        return _negate(pred) if op == 'ne' else pred
    if _is_array_start(value):
        raise ExpressionError(value + ' - List queries not supported for gt/lt queries - ' + value)
    bound = _js_parse_int(value)
    if bound is None:
        raise ExpressionError(value + ' is not a number')
    cmp = {'lt': lambda v: v < bound, 'lte': lambda v: v <= bound,
           'gt': lambda v: v > bound, 'gte': lambda v: v >= bound}[op]
    return lambda s: any(_is_number(v) and cmp(v) for v in _values(get(s.doc)))


def _int_terms(get, value):
    """termOrTermsInt: [a,b] terms, ]a,b[ all, 'a-b' range, else a single term."""
    if _is_array_full(value):
        nums = [_js_parse_int(x) for x in _list_items(value)]
        if _is_array_and(value):
            return lambda s: all(n in _values(get(s.doc)) for n in nums)
        wanted = set(n for n in nums if n is not None)
        return lambda s: any(v in wanted for v in _values(get(s.doc)) if _is_number(v))
    value = _strip_quotes(value)
    m = re.search(r'(-?\d+)-(-?\d+)', value)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        return lambda s: any(_is_number(v) and lo <= v <= hi for v in _values(get(s.doc)))
    if re.search(r'[^\d]+', value) or value == '':
        raise ExpressionError(value + ' is not a number')
    n = int(value)
    return lambda s: any(v == n for v in _values(get(s.doc)) if _is_number(v))


def _is_number(v):
    """True for JSON numbers (not booleans)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _js_parse_int(text):
    """JavaScript parseInt(text, 10): leading integer or None for NaN."""
    m = re.match(r'\s*([+-]?\d+)', text)
    return int(m.group(1)) if m else None


# --- strings (termfield / lotermfield) -------------------------------------------------------
def _protocol_lookup(text):
    """ipProtocolLookup: a protocol name or number."""
    if text in PROTOCOLS:
        return PROTOCOLS[text]
    try:
        return int(text) if text.strip() else 0
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise ExpressionError('Unknown protocol string ' + text) from None


def _string_query(db, value, transform):
    """stringQuery for term fields: /regex/, "quoted", lists, wildcards, exact terms."""
    get = make_getter(db)
    if value[:1] == '/' and value[-1:] == '/' and len(value) > 1:
        rx = _regex(re.sub(r'\\(.)', r'\1', value[1:-1]))
        return lambda s: any(isinstance(v, str) and rx.fullmatch(v) for v in _values(get(s.doc)))
    if value[:1] == '"' and value[-1:] == '"' and len(value) > 1:
        term = re.sub(r'\\(")', r'\1', value[1:-1])
        if transform:
            term = transform(term)
        return _term_pred(get, term, wildcard=False)
    if _is_array_full(value):
        preds = []
        for item in _list_items(value):
            if transform:
                item = transform(item)
            if isinstance(item, str) and item[:1] == '"' and item[-1:] == '"':
                preds.append(_term_pred(get, re.sub(r'\\(.)', r'\1', item[1:-1]), True))
            elif isinstance(item, str) and item[:1] == '/' and item[-1:] == '/':
                rx = _regex(item[1:-1])
                preds.append(lambda s, rx=rx: any(isinstance(v, str) and rx.fullmatch(v)
                                                  for v in _values(get(s.doc))))
            else:
                if item == '*':
                    raise ExpressionError("Please use 'EXISTS!' instead of a '*' in expression")
                preds.append(_term_pred(get, item, wildcard=True))
        return _all_of(preds) if _is_array_and(value) else _any_of(preds)
    term = transform(value) if transform else value
    if term == '*':
        raise ExpressionError("Please use 'EXISTS!' instead of a '*' in expression")
    return _term_pred(get, term, wildcard=True)


def _regex(pattern):
    """A Lucene regexp approximated by Python re; ES rejects what does not compile."""
    try:
        return re.compile(pattern)
    except re.error:
        raise ExpressionError('search_phase_execution_exception') from None


def _term_pred(get, term, wildcard):
    """An ES term (a numeric field coerces the term to a number) or a wildcard with * and ?."""
    if wildcard and isinstance(term, str) and '*' in term:
        pattern = term.replace('[', '[[]')
        return lambda s: any(isinstance(v, str) and fnmatch.fnmatchcase(v, pattern)
                             for v in _values(get(s.doc)))
    if isinstance(term, str):
        text = term
        try:
            num = float(term)
        except ValueError:
            num = None
    else:
        num = term
        text = str(int(term)) if float(term).is_integer() else str(term)

    def pred(s):
        for v in _values(get(s.doc)):
            if _is_number(v):
                if num is not None and v == num:
                    return True
            elif v == text:
                return True
        return False
    return pred


# --- IPs (parseIpPort) -----------------------------------------------------------------------
def _ip_query(field, op, value):
    """formatNormalQuery 'ip' case: ==/!= via parseIpPort, ranges on the address."""
    if value[:1] == '/':
        raise ExpressionError(value + ' - Regex not supported for ip queries')
    if '*' in value:
        raise ExpressionError(value + ' - Wildcard not supported for ip queries')
    if value == 'ipv4':
        value = '0.0.0.0/0'
    if value == 'ipv6':  # Arkime: ipv6 means "not an IPv4 address"
        value = '0.0.0.0/0'
        op = 'eq' if op == 'ne' else 'ne'
    if op == 'eq':
        return _parse_ip_port(field, value)
    if op == 'ne':
        return _negate(_parse_ip_port(field, value))
    if _is_array_start(value):
        raise ExpressionError(value + ' - List queries not supported for gt/lt queries - ' + value)
    kind, db, _ = _FIELDS[field] if field in _FIELDS else _field_info(field)
    if kind == 'ipall':
        return _never  # Arkime builds a range on the non-existent field "ipall"
    bound = ip_key(value)
    if bound is None:
        raise ExpressionError('search_phase_execution_exception')  # not an IP string literal
    get = make_getter(db)
    cmp = {'lt': lambda v: v < bound, 'lte': lambda v: v <= bound,
           'gt': lambda v: v > bound, 'gte': lambda v: v >= bound}[op]
    return lambda s: any(k is not None and cmp(k) for k in (ip_key(v) for v in _values(get(s.doc))))


def _parse_ip_port(field, text):
    """parseIpPort: ip, CIDR, a.b / a.b.c shorthand, :port (v4) or .port (v6), lists."""
    text = text.strip()
    if _is_array_full(text):
        preds = [_parse_ip_port(field, item) for item in _list_items(text)]
        if len(preds) == 1:
            return preds[0]
        return _all_of(preds) if _is_array_and(text) else _any_of(preds)
    if (text[:1] == ':' and text[1:2] != ':') or text[:1] == '.':
        return _ip_single_or_all(field, None, _port_number(text[1:]))
    ip, port = None, -1
    colons = text.split(':')
    if '::' in text or len(colons) > 2:
        dots = text.split('.')
        if len(dots) > 1 and dots[1] != '':
            port = dots[1]
        if '::' in text:
            ip = dots[0]
        else:
            slash = dots[0].split('/')
            groups = slash[0].split(':')
            if groups[-1] == '':
                groups = groups[:-1]
            prefix = slash[1] if len(slash) > 1 else str(16 * len(groups))
            ip = ':'.join(groups) + ('::' if len(groups) < 8 else '')
            if prefix and prefix != '128':
                ip = '%s/%s' % (ip, prefix)
    else:
        if len(colons) > 1 and colons[1] != '':
            port = colons[1]
        slash = colons[0].split('/')
        dots = slash[0].split('.')
        if dots[-1] == '':
            dots = dots[:-1]
        prefix = slash[1] if len(slash) > 1 else None
        if len(dots) == 4:
            ip = '.'.join(dots)
        elif len(dots) == 3:
            ip, prefix = '.'.join(dots) + '.0', prefix or '24'
        elif len(dots) == 2:
            ip, prefix = '.'.join(dots) + '.0.0', prefix or '16'
        elif len(dots) == 1 and dots[0]:
            ip, prefix = dots[0] + '.0.0.0', prefix or '8'
        if ip is not None and prefix and prefix != '32':
            ip = '%s/%s' % (ip, prefix)
    return _ip_single_or_all(field, ip, port)


def _port_number(text):
    """+str in JavaScript for a ':80' suffix."""
    try:
        return int(text)
    except ValueError:
        return float('nan')


def _ip_single_or_all(field, ip, port):
    """parseSingleIp on one field, or parseAllIp over every ip field for 'ip'."""
    kind = _field_info(field)[0]
    if kind != 'ipall':
        return _ip_single(field, ip, port)
    if port != -1:  # only the ip fields with a port field: ip.src, ip.dst
        return _any_of([_ip_single(f, ip, port) for f in _IP_FIELDS])
    # getIpInfoList: every ip-typed field (source.ip, destination.ip, dns.ip, srcOuterIp,
    # http.xffIp, ...); Arkime's mapping makes a field ip-typed when its name is "ip" or ends
    # in "Ip" (dynamic templates template_ip_alone / template_ip_end)
    _ip_single('ip.src', ip, -1)  # validation and its errors
    term = _ip_term('*', ip)
    return lambda s: any(term(k) for k in _all_ip_keys(s.doc))


def _all_ip_keys(doc, out=None):
    """The ip_key of every value of every ip-typed leaf field of a document."""
    if out is None:
        out = []
    for key, value in doc.items():
        leaf = key.rsplit('.', 1)[-1]
        for v in (value if type(value) is list else (value,)):
            if type(v) is dict:
                _all_ip_keys(v, out)
            elif (leaf == 'ip' or leaf.endswith('Ip')) and isinstance(v, str):
                k = ip_key(v)
                if k is not None:
                    out.append(k)
    return out


def _ip_single(exp, ip, port):
    """parseSingleIp: validate and build a term on the ip (and its port) field."""
    if isinstance(port, str) and re.search(r'[^0-9]', port):
        raise ExpressionError(port + ' not a valid singlePort')
    _, db, port_db = _field_info(exp)
    preds = []
    if ip is not None:
        colon = ip.find(':')
        if ((colon == -1 and re.search(r'[^.0-9/]', ip)) or
                (colon != -1 and re.search(r'[^a-fA-F:0-9/]', ip)) or re.search(r'/.*[^0-9]', ip)):
            raise ExpressionError(ip + ' not a valid ip')
        preds.append(_ip_term(db, ip))
    if port != -1:
        if not port_db:
            raise ExpressionError(exp + " doesn't support port")
        pnum = int(port) if isinstance(port, str) else port
        get_port = make_getter(port_db)
        preds.append(lambda s: any(v == pnum for v in _values(get_port(s.doc))))
    if not preds:
        return _never
    return preds[0] if len(preds) == 1 else _all_of(preds)


def _ip_term(db, ip):
    """An ES term on an ip field: one address or a CIDR block (v4 blocks match v4 only)."""
    try:
        if '/' in ip:
            net = ipaddress.ip_network(ip, strict=False)
        else:
            net = ipaddress.ip_network(ip + ('/32' if ':' not in ip else '/128'))
    except ValueError:
        raise ExpressionError('search_phase_execution_exception') from None  # not an IP literal
    lo, hi = int(net.network_address), int(net.broadcast_address)
    if net.version == 4:
        lo, hi = lo | 0xFFFF00000000, hi | 0xFFFF00000000
    if db == '*':  # a test on one ip_key
        return lambda k: lo <= k <= hi
    if db == 'source.ip':
        return lambda s: s.sip is not None and lo <= s.sip <= hi
    if db == 'destination.ip':
        return lambda s: s.dip is not None and lo <= s.dip <= hi
    get = make_getter(db)
    return lambda s: any(k is not None and lo <= k <= hi
                         for k in (ip_key(v) for v in _values(get(s.doc))))
