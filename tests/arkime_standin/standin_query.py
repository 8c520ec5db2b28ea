"""/api/sessions: parameters -> filters, sort, page, and the JSON Arkime answers with.

Follows arkime/arkime viewer/buildQuery.js (BuildQuery.build, determineQueryTimes,
addSortToQuery), viewer/apiSessions.js (getSessions) and viewer/db.es.js (searchScroll).
Where JavaScript coercion decides behaviour (a JSON number vs a string, '' vs missing), the
helpers below reproduce it, so a client gets the same answer it would from Arkime.
"""

import bisect
import datetime
import json
import math
import re

from standin_expr import ExpressionError, compile_expression
from standin_store import make_getter

ES_WINDOW = 10000            # index.max_result_window and the ES7+ track_total_hits default
SCROLL_BATCH = 1000          # searchScroll fetches 1000 hits per scroll call
ALWAYS_FIELDS = ('node', 'source.ip', 'source.port', 'destination.ip', 'destination.port')
DEFAULT_FIELDS = (           # apiSessions.js getSessions, when no 'fields' is given
    'ipProtocol', 'rootId', 'totDataBytes', 'client.bytes', 'server.bytes', 'firstPacket',
    'lastPacket', 'source.ip', 'source.port', 'destination.ip', 'destination.port',
    'network.packets', 'source.packets', 'destination.packets', 'network.bytes',
    'source.bytes', 'destination.bytes', 'node', 'http.uri', 'source.geo.country_iso_code',
    'destination.geo.country_iso_code', 'email.subject', 'email.src', 'email.dst',
    'email.filename', 'dns.host', 'cert', 'irc.channel', 'http.xffGEO')
MISSING_AS_MINUS_ONE = ('source.packets', 'destination.packets', 'source.bytes',
                        'destination.bytes', 'client.bytes', 'server.bytes')
IP_DB_FIELDS = ('source.ip', 'destination.ip')
_PROTO_POLLUTION = ('__proto__', 'constructor', 'prototype')
NAN = float('nan')
_ENCODE = json.JSONEncoder(separators=(',', ':'), ensure_ascii=False).encode


class QueryError(Exception):
    """Arkime answers HTTP 200 with {"error": str(err), "data": [], ...}."""


# ---------------------------------------------------------------------------------------------
# JavaScript coercions
# ---------------------------------------------------------------------------------------------
def js_truthy(v):
    """JavaScript truthiness ('0' is truthy, '' / 0 / NaN / null / undefined are not)."""
    if v is None or v is False or v == '' or v == 0:
        return False
    return not (isinstance(v, float) and math.isnan(v))


def js_string(v):
    """String(v) for the JSON values a body can carry."""
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, list):
        return ','.join('' if x is None else js_string(x) for x in v)
    if v is None:
        return 'null'
    return str(v)


def js_parse_float(v):
    """parseFloat(v): the leading decimal number, or NaN."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    m = re.match(r'\s*([+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))', js_string(v))
    if not m:
        return NAN
    text = m.group(1)
    return float(text.replace('Infinity', 'inf'))


def js_parse_int(v):
    """parseInt(v, 10): the leading integer, or NaN."""
    m = re.match(r'\s*([+-]?\d+)', js_string(v))
    return int(m.group(1)) if m else NAN


def js_number(v):
    """Unary plus: Number(v) (undefined is NaN, '' is 0, '0x10' is 16)."""
    if v is None:
        return NAN
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, list):
        return js_number(js_string(v)) if len(v) <= 1 else NAN
    text = str(v).strip()
    if text == '':
        return 0
    if re.fullmatch(r'0[xX][0-9a-fA-F]+', text):
        return int(text, 16)
    if re.fullmatch(r'[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)', text):
        num = float(text.replace('Infinity', 'inf'))
        return int(num) if num.is_integer() else num
    return NAN


def _is_nan(v):
    """True for NaN."""
    return isinstance(v, float) and math.isnan(v)


def _date_parse(text):
    """Date.parse for the forms V8 accepts that matter here; seconds or NaN."""
    text = text.strip()
    try:
        if re.fullmatch(r'\d{4}-\d{2}-\d{2}', text):  # date-only ISO strings are UTC
            d = datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)
            return d.timestamp()
        d = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
        return d.timestamp()  # naive = local time, as in JavaScript
    except ValueError:
        pass
    for fmt in ('%Y/%m/%d %H:%M:%S', '%Y/%m/%d'):
        try:
            return datetime.datetime.strptime(text, fmt).timestamp()
        except ValueError:
            pass
    return NAN


# ---------------------------------------------------------------------------------------------
# Building the query (BuildQuery.build)
# ---------------------------------------------------------------------------------------------
class Query:
    """What BuildQuery.build produces: range filters, expression, sort, page and projection."""

    def __init__(self):
        self.filters = []        # (db field, gte ms or None, lte ms or None)
        self.predicate = None    # compiled expression or None
        self.sort = [('firstPacket', 'asc', False)]   # (field, order, missing_first)
        self.size = 100
        self.start = 0
        self.force_scroll = False  # searchScroll's test came out NaN (start=abc)
        self.fields = None       # tuple of db fields, or None for the default list
        self.flatten = False
        self.times = (None, 0)   # (startTime, stopTime) seconds as determineQueryTimes set them
        self.bounding = None     # for the index selection
        self.all_indices = False  # date === '-1': every index


def _time_value(p, name):
    """One of startTime/stopTime as determineQueryTimes reads it (seconds, maybe NaN)."""
    v = p[name]
    if not isinstance(v, (str, int, float)) or isinstance(v, bool):
        raise QueryError('%s must be a string or number' % name)  # err.message
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int) or re.fullmatch(r'-?[0-9]+', str(v)):
        return js_parse_int(v)
    if not isinstance(v, str):  # a fractional JSON number has no .replace
        raise QueryError('reqQuery.%s.replace is not a function' % name)
    return _date_parse(v.replace('+', ' ', 1))


def determine_query_times(p, now_ms):
    """determineQueryTimes: (startTime, stopTime) in seconds; None is JavaScript null."""
    date = p.get('date')
    if js_truthy(date) and _is_nan(js_parse_float(date)):
        p['date'] = date = '-1'
    if (js_truthy(date) and js_parse_float(date) == -1) or p.get('segments') == 'all':
        return None, 0                                   # [null, Math.floor(null)]
    if 'startTime' in p and 'stopTime' in p:
        start, stop = _time_value(p, 'startTime'), _time_value(p, 'stopTime')
        return start, (stop if _is_nan(stop) else math.floor(stop))
    hours = js_parse_float(date) if js_truthy(date) else 1.0
    stop = now_ms // 1000
    start = stop - 3600 * hours
    return (int(start) if not _is_nan(start) and float(start).is_integer() else start), stop


def _ms(v):
    """value * 1000 as ES receives it: null -> 0, NaN / Infinity -> null (an open bound)."""
    if v is None:
        return 0
    if _is_nan(v) or math.isinf(v):
        return None
    return v * 1000


def time_filters(p, start, stop):
    """The range filters of BuildQuery.#build for bounding first/last/both/either/database."""
    if p.get('date') == '-1' or p.get('segments') == 'all':
        return []
    bounding = p.get('bounding')
    s, e = _ms(start), _ms(stop)
    if js_truthy(stop):
        table = {'first': [('firstPacket', s, e)],
                 'both': [('firstPacket', s, None), ('lastPacket', None, e)],
                 'either': [('firstPacket', None, e), ('lastPacket', s, None)],
                 'database': [('@timestamp', s, e)]}
        return table.get(bounding, [('lastPacket', s, e)])
    table = {'first': [('firstPacket', s, None)],
             'either': [('firstPacket', None, e), ('lastPacket', s, None)],
             'database': [('@timestamp', s, None)]}
    return table.get(bounding, [('lastPacket', s, None)])


def _parse_sort(order):
    """addSortToQuery: 'field:asc|desc[,...]'; missing values go _last only for 'asc'."""
    if not isinstance(order, str):
        raise QueryError('order must be a string')
    sort = []
    for item in order.split(','):
        parts = item.split(':')
        field = parts[0]
        if field in _PROTO_POLLUTION:
            continue
        direction = parts[1] if len(parts) > 1 else None
        if direction is not None and direction.lower() not in ('asc', 'desc'):
            raise QueryError('x_content_parse_exception')  # ES rejects the order
        desc = direction is not None and direction.lower() == 'desc'
        sort.append((field, 'desc' if desc else 'asc', direction != 'asc'))
    return sort


def _parse_fields(v):
    """ArkimeUtil.queryValueToArray(fields) plus the fields Arkime always adds."""
    items = [js_string(x) for x in v] if isinstance(v, list) else js_string(v).split(',')
    fields = [f for f in items if f]
    for f in ALWAYS_FIELDS:
        if f not in fields:
            fields.append(f)
    return tuple(fields)


def _parse_start(raw, size):
    """'start' becomes ES 'from' (reqQuery.start || 0). searchScroll adds parseInt(from) to
    size: NaN (start=abc) takes the scroll path, which then uses +from || 0 = 0. ES rejects a
    negative from. Returns (from, force_scroll)."""
    if not js_truthy(raw):
        return 0, False
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if raw < 0:
            raise QueryError('illegal_argument_exception')  # [from] cannot be negative
        return int(raw), False
    lead = js_parse_int(raw)
    if _is_nan(lead):
        num = js_number(raw)
        return (0 if _is_nan(num) or not num else int(num)), True
    if isinstance(raw, str) and re.fullmatch(r'\s*\d+\s*', raw):
        return int(raw.strip()), False
    raise QueryError('illegal_argument_exception')  # [from] is not a count


def build_query(p, now_ms, max_sessions_queried=2000000):
    """BuildQuery.build for the parameters /api/sessions reads; raises QueryError."""
    q = Query()
    start, stop = determine_query_times(p, now_ms)
    q.times = (start, stop)
    size = js_number(p.get('length'))
    size = size if js_truthy(size) else 100
    q.size = min(max_sessions_queried, size)
    if q.size < 0:
        raise QueryError('illegal_argument_exception')  # [size] cannot be negative
    q.size = int(q.size)
    q.start, q.force_scroll = _parse_start(p.get('start'), q.size)
    if p.get('strictly') == 'true':
        p['bounding'] = 'both'
    q.filters = time_filters(p, start, stop)
    q.bounding = p.get('bounding')
    q.all_indices = p.get('date') == '-1'
    if js_truthy(p.get('order')):
        q.sort = _parse_sort(p.get('order'))
    if js_truthy(p.get('fields')):
        q.fields = _parse_fields(p.get('fields'))
    q.flatten = js_parse_int(p.get('flatten')) == 1
    expression = p.get('expression')
    if js_truthy(expression):
        if not isinstance(expression, str):
            raise QueryError('Expression needs to be a string')
        try:
            q.predicate = compile_expression(expression)
        except ExpressionError as err:
            raise QueryError(str(err)) from None
    if js_truthy(p.get('view')):
        raise QueryError("Can't find view")
    return q


# ---------------------------------------------------------------------------------------------
# Executing it against a StoreView
# ---------------------------------------------------------------------------------------------
class Result:
    """The hits a search produced and what it cost."""

    def __init__(self):
        self.page = []             # sessions on this page
        self.total = 0             # hits.total as the viewer sees it (maybe capped)
        self.scrolled = False      # took the searchScroll path
        self.materialized = 0      # hits searchScroll held in memory before slicing


def _range_slice(index, gte, lte):
    """Bounds [lo, hi) of a sorted index for gte <= key <= lte (None = open)."""
    keys = index[0]
    lo = 0 if gte is None else bisect.bisect_left(keys, math.ceil(gte))
    hi = len(keys) if lte is None else bisect.bisect_right(keys, math.floor(lte))
    return lo, max(lo, hi)


def _candidates(view, filters, visible_until):
    """Sessions matching the range filters and the refresh visibility, in index order."""
    if not filters:
        base, lo, hi, used = view.sessions, 0, len(view.sessions), None
    else:
        used = filters[0]
        if used[0] == '@timestamp':
            lte = visible_until if used[2] is None else min(used[2], visible_until)
            lo, hi = _range_slice(view.indexes['@timestamp'], used[1], lte)
        else:
            lo, hi = _range_slice(view.indexes[used[0]], used[1], used[2])
        base = view.indexes[used[0]][1]
    rest = [f for f in filters if f is not used]
    need_visibility = used is None or used[0] != '@timestamp'
    return base, lo, hi, rest, need_visibility


DAY_S = 86400
INDEX_LIST_MAX = 3000


def selected_days(view, times, bounding):
    """Db.getIndices with rotateIndex=daily: the index days a search reads, or None for all.

    'last' (and unknown boundings) reads the days overlapping [startTime, stopTime]; first,
    both, either and database widen that by one index length; when no index matches, the
    viewer searches every session index (so date=-1 and NaN times read everything)."""
    if times is None:  # date='-1' (the string): buildQuery reads all indices
        return None
    start, stop = times
    start = 0 if start is None else start   # JavaScript: null compares as 0
    stop = 0 if stop is None else stop
    if _is_nan(start) or _is_nan(stop):
        return None
    pad = DAY_S if bounding in ('first', 'both', 'either', 'database') else 0
    days = frozenset(d for d in view.days
                     if d + DAY_S >= start - pad and d <= stop + pad)
    # buildQuery: a comma-joined list longer than 3000 characters ("url too long") reads all;
    # "arkime_sessions3-YYMMDD" is 23 characters
    if not days or days == view.days or len(days) * 24 - 1 > INDEX_LIST_MAX:
        return None
    return days


def _passes(s, rest, visible_until, need_visibility, days=None):
    """The remaining range filters, index selection and visibility for one session."""
    if need_visibility and s.ts is not None and s.ts > visible_until:
        return False
    if days is not None and s.day not in days:
        return False
    for field, gte, lte in rest:
        v = s.fp if field == 'firstPacket' else (s.lp if field == 'lastPacket' else s.ts)
        if v is None or (gte is not None and v < gte) or (lte is not None and v > lte):
            return False
    return True


def _sorted_already(q, filters, base_is_index):
    """True when the index order is the requested order (one asc key = the index field)."""
    if len(q.sort) != 1 or q.sort[0][1] != 'asc':
        return False
    field = q.sort[0][0]
    if base_is_index:
        return bool(filters) and filters[0][0] == field
    return False


def _sort_value(field):
    """A function session -> comparable value for field, or None when missing."""
    get = make_getter(field)
    if field in ('@timestamp', 'firstPacket', 'lastPacket'):
        attr = {'@timestamp': 'ts', 'firstPacket': 'fp', 'lastPacket': 'lp'}[field]
        return lambda s: getattr(s, attr)
    if field in IP_DB_FIELDS:
        return lambda s: s.sip if field == 'source.ip' else s.dip
    return lambda s: get(s.doc)


def _comparable(v, desc):
    """A value in one ordering across types; arrays sort by min (asc) or max (desc)."""
    if isinstance(v, list):
        vals = [_comparable(x, desc) for x in v if x is not None]
        if not vals:
            return None
        return max(vals) if desc else min(vals)
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, (int, float)):
        return (0, v)
    if isinstance(v, str):
        return (1, v)
    return None


def sort_sessions(sessions, sort):
    """ES field sort with missing _first/_last; equal keys keep insertion (seq) order."""
    out = sorted(sessions, key=lambda s: s.seq)
    for field, order, missing_first in reversed(sort):
        value = _sort_value(field)
        desc = order == 'desc'
        keyed = [(_comparable(value(s), desc), s) for s in out]
        present = [(k, s) for k, s in keyed if k is not None]
        missing = [s for k, s in keyed if k is None]
        present.sort(key=lambda ks: ks[0], reverse=desc)  # reverse keeps stability in Python
        ordered = [s for _, s in present]
        out = missing + ordered if missing_first else ordered + missing
    return out


def execute(view, q, now_ms, refresh_ms=0, exact_total=True):
    """Run a Query: filter, count, sort and page like ES behind viewer searchScroll."""
    res = Result()
    visible_until = now_ms - refresh_ms
    base, lo, hi, rest, need_vis = _candidates(view, q.filters, visible_until)
    deep = q.size + q.start > ES_WINDOW or q.force_scroll
    want = q.start + q.size
    if deep:  # searchScroll gathers batches of 1000 until it holds min(total, from+size)
        want = -(-want // SCROLL_BATCH) * SCROLL_BATCH
    in_order = _sorted_already(q, q.filters, base is not view.sessions)
    days = selected_days(view, None if q.all_indices else q.times, q.bounding)
    simple = not rest and not need_vis and q.predicate is None and days is None
    if in_order and simple:
        total = hi - lo
        prefix = base[lo:lo + min(total, want)]
    elif in_order:
        # Already in sort order: stop once the page and the count (if capped) are known.
        limit = None if (deep or exact_total) else max(want, ES_WINDOW)
        prefix, total = [], 0
        pred = q.predicate
        for s in base[lo:hi]:
            if _passes(s, rest, visible_until, need_vis, days) and (pred is None or pred(s)):
                total += 1
                if len(prefix) < want:
                    prefix.append(s)
                if limit is not None and total >= limit:
                    break
    else:
        pred = q.predicate
        matches = [s for s in base[lo:hi] if _passes(s, rest, visible_until, need_vis, days)
                   and (pred is None or pred(s))]
        total = len(matches)
        prefix = sort_sessions(matches, q.sort)[:want]
    if deep:
        res.scrolled = True
        res.materialized = len(prefix)
    res.page = prefix[q.start:q.start + q.size]
    res.total = total if (deep or exact_total) else min(total, ES_WINDOW)
    return res


def count_visible(view, now_ms, refresh_ms):
    """recordsTotal: documents in the session indices that a search can see."""
    keys = view.indexes['@timestamp'][0]
    undated = len(view.sessions) - len(keys)
    return bisect.bisect_right(keys, now_ms - refresh_ms) + undated


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------
# Fields Arkime un-arrays (viewer/db.js singletonFields; also every name ending in Cnt/-cnt),
# de-duplicates and sorts (dedupFields), and the date fields ES returns as text that
# fixSessionFields turns back into ms (dateFields).
SINGLETON_FIELDS = frozenset((
    'destination.ip', 'destination.port', 'destination.packets', 'destination.bytes',
    'dstPayload8', 'server.bytes', 'server.packets', 'destination.geo.country_iso_code',
    'destination.as.full', 'dstRIR', 'source.ip', 'source.port', 'source.packets',
    'source.bytes', 'srcPayload8', 'client.bytes', 'client.packets',
    'source.geo.country_iso_code', 'source.as.full', 'srcRIR', 'firstPacket', 'lastPacket',
    '@timestamp', 'ipProtocol', 'node', 'srcNode', 'tcpflags.rst', 'tcpflags.syn',
    'tcpflags.srcZero', 'tcpflags.psh', 'tcpflags.dstZero', 'tcpflags.syn-ack', 'tcpflags.fin',
    'tcpflags.ack', 'tcpflags.urg', 'network.community_id', 'totDataBytes', 'network.bytes',
    'network.packets', 'rootId'))
DEDUP_FIELDS = frozenset(('dns.host', 'dns.mailserverHost', 'dns.opcode', 'dns.status',
                          'dns.qt', 'dns.qc'))
# The objects getSessions always creates in nested mode (fixSessionFields with unflatten).
UNFLATTEN_SKELETON = (('source', ('as', 'geo')), ('destination', ('as', 'geo')),
                      ('client', ()), ('server', ()))


# Mapping types that change what the ES fields API returns: keyword fields capture fills with
# numbers come back as strings; date fields come back as ISO text (Arkime Date.parse()s only
# firstPacket, lastPacket, @timestamp, cert.notBefore, cert.notAfter back to ms); packetRange
# is a date_range.
KEYWORD_NUMBER_FIELDS = frozenset(('network.vlan.id', 'sctp.protoId'))
ISO_DATE_FIELDS = frozenset((
    'event.created', 'event.end', 'event.ingested', 'event.start', 'file.accessed',
    'file.created', 'file.ctime', 'file.mtime', 'file.x509.not_after', 'file.x509.not_before',
    'package.installed', 'process.parent.start', 'process.start'))
RANGE_DATE_FIELDS = frozenset(('packetRange',))


def _iso_ms(v):
    """ES's strict_date_optional_time rendering of an epoch-ms date."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return v
    d = datetime.datetime.fromtimestamp(v / 1000, datetime.timezone.utc)
    return d.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (int(v) % 1000)


def _es_value(path, v):
    """One leaf value as the fields API returns it for its mapping type."""
    if path in KEYWORD_NUMBER_FIELDS and not isinstance(v, (str, bool)):
        return js_string(v)
    if path in ISO_DATE_FIELDS:
        return _iso_ms(v)
    return v


def leaf_values(doc, prefix='', out=None):
    """The ES fields-API view of a _source document: dotted leaf path -> list of values.

    Objects (and arrays of objects) are walked, arrays of values concatenated in order, null
    and [] give nothing; dotted keys in _source are paths like nested ones."""
    if out is None:
        out = {}
    for key, value in doc.items():
        path = prefix + key
        items = value if type(value) is list else (value,)
        for v in items:
            if type(v) is dict:
                if path in RANGE_DATE_FIELDS:
                    out.setdefault(path, []).append({k: _iso_ms(x) for k, x in v.items()})
                else:
                    leaf_values(v, path + '.', out)
            elif v is not None and type(v) is not list:
                out.setdefault(path, []).append(_es_value(path, v))
    return out


class Projection:
    """A compiled ES "fields" request: which leaf paths each requested name selects.

    As the fields API, a name selects a leaf field only (an object name such as "source"
    selects nothing), '*' matches any characters (dots included), values come as arrays."""

    _cache = {}

    def __init__(self, fields):
        self.fields = tuple(fields)
        self.exact = frozenset(f for f in self.fields if '*' not in f)
        pats = [re.escape(f).replace(r'\*', '.*') for f in self.fields if '*' in f]
        self.pattern = re.compile('(?:%s)$' % '|'.join(pats)) if pats else None

    @classmethod
    def of(cls, fields):
        """The compiled projection for a fields tuple (memoized)."""
        proj = cls._cache.get(fields)
        if proj is None:
            if len(cls._cache) > 256:
                cls._cache.clear()
            proj = cls._cache[fields] = cls(fields)
        return proj

    def select(self, doc):
        """hit.fields for doc: {dotted path: [values]} of the selected leaf fields."""
        leaves = leaf_values(doc)
        pat = self.pattern
        return {path: vals for path, vals in leaves.items()
                if path in self.exact or (pat is not None and pat.match(path))}


def _parent(obj, parts):
    """The object at parts[:-1] below obj, each level made (an empty object) where it is
    missing or not an object."""
    cur = obj
    for part in parts[:-1]:
        nxt = cur.get(part)
        if type(nxt) is not dict:
            nxt = cur[part] = {}
        cur = nxt
    return cur


def fix_session_fields(fields, unflatten):
    """viewer/db.js fixSessionFields: un-array singletons and counts, de-duplicate, nest."""
    out = {}
    if unflatten:
        for name, subs in UNFLATTEN_SKELETON:
            out[name] = {sub: {} for sub in subs}
    for path, value in fields.items():
        if path in SINGLETON_FIELDS or path.endswith('Cnt') or path.endswith('-cnt'):
            value = value[0]
        if path in DEDUP_FIELDS:
            value = sorted(set(value), key=lambda v: (str(type(v)), v))
        if not unflatten or '.' not in path:
            out[path] = value
            continue
        parts = path.split('.')
        if any(p in _PROTO_POLLUTION for p in parts):
            continue
        _parent(out, parts)[parts[-1]] = value
    return out


def flatten(doc, prefix=''):
    """Nested objects become dotted keys, arrays stay arrays."""
    out = {}
    for key, value in doc.items():
        if type(value) is dict:
            out.update(flatten(value, prefix + key + '.'))
        else:
            out[prefix + key] = value
    return out


def _set_missing(obj, path, flat):
    """Put -1 at path when absent (the default-field mode of getSessions)."""
    if flat:
        obj.setdefault(path, -1)
        return
    parts = path.split('.')
    _parent(obj, parts).setdefault(parts[-1], -1)


# node name -> hostname of its stats document (viewer.py --node-host); fixFileIds adds it
NODE_HOSTS = {}


def session_json(s, fields, flat):
    """One data[] item as compact JSON bytes, cached per (fields, flatten) on the session.

    getSessions: ES "fields" (values as arrays), fixSessionFields, fixFileIds (nodehost when
    the node has stats; fileId [] as no pcap file is known here), id, then the -1 counters."""
    key = (fields, flat)
    cache = s.cache
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit
    selected = Projection.of(fields if fields is not None else DEFAULT_FIELDS).select(s.doc)
    selected.pop('id', None)
    obj = fix_session_fields(selected, not flat)
    node = obj.get('node')
    if node:  # fixFileIds does nothing without a node
        if not isinstance(node, list) and node in NODE_HOSTS:
            obj['nodehost'] = NODE_HOSTS[node]
        obj['fileId'] = []
    obj['id'] = s.sid
    if fields is None:
        for path in MISSING_AS_MINUS_ONE:
            _set_missing(obj, path, flat)
    data = _ENCODE(obj).encode('utf-8')
    if cache is None:
        s.cache = cache = {}
    elif len(cache) >= 2:
        cache.pop(next(iter(cache)), None)
    cache[key] = data
    return data


def warm(view, fields, flat):
    """Serialize every session for one projection ahead of time; returns how many."""
    fields = _parse_fields(fields) if fields else None
    for s in view.sessions:
        session_json(s, fields, flat)
    return len(view.sessions)


# ViewerUtils.graphMerge: the user setting timelineDataFilters (default) and its histograms
TIMELINE_FILTERS = (('network.packets', ('source.packets', 'destination.packets')),
                    ('network.bytes', ('source.bytes', 'destination.bytes')),
                    ('totDataBytes', ('client.bytes', 'server.bytes')))


def _js_ms_or_null(sec):
    """startTime * 1000 || null as JSON."""
    if sec is None or _is_nan(sec) or sec == 0:
        return None
    ms = sec * 1000
    if math.isinf(ms):
        return None  # JSON.stringify(Infinity) is null
    return int(ms) if float(ms).is_integer() else ms


def graph_json(times):
    """graphMerge without aggregations (facets not requested): the empty timeline."""
    graph = {'xmin': _js_ms_or_null(times[0]), 'xmax': _js_ms_or_null(times[1]),
             'interval': 60, 'sessionsHisto': [], 'sessionsTotal': 0}
    for name, parts in TIMELINE_FILTERS:
        for part in parts:
            graph[part + 'Histo'] = []
        graph[name + 'Total'] = 0
    return _ENCODE(graph).encode('utf-8')


def render_page(items, records_total, records_filtered, graph=b'{}'):
    """The getSessions response: data, map, graph, recordsTotal, recordsFiltered."""
    return b''.join((b'{"data":[', b','.join(items), b'],"map":{},"graph":', graph,
                     b',"recordsTotal":',
                     str(records_total).encode(), b',"recordsFiltered":',
                     str(records_filtered).encode(), b'}'))


def render_error(message):
    """The getSessions error response (HTTP 200): the response object plus "error"."""
    return json.dumps({'data': [], 'map': {}, 'graph': {}, 'recordsTotal': 0,
                       'recordsFiltered': 0, 'error': message},
                      separators=(',', ':'), ensure_ascii=False).encode('utf-8')

