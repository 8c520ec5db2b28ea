"""In-memory Arkime sessions3 documents: loading, deterministic generation, time indexes."""

import base64
import datetime
import hashlib
import ipaddress
import json
import random
import socket
import struct
import threading

# ---------------------------------------------------------------------------------------------
# Small helpers shared by the query and expression modules
# ---------------------------------------------------------------------------------------------
_V4_MAPPED = 0xFFFF00000000


def ip_key(value):
    """An IP string as one integer ordered like an ES ip field (IPv4 as ::ffff:a.b.c.d)."""
    if not isinstance(value, str):
        return None
    try:
        return _V4_MAPPED | int.from_bytes(socket.inet_pton(socket.AF_INET, value), 'big')
    except OSError:
        pass
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, value.split('%')[0]), 'big')
    except OSError:
        return None


def _packed(ip):
    """The 4 or 16 address bytes of an IP string."""
    try:
        return socket.inet_pton(socket.AF_INET, ip)
    except OSError:
        return socket.inet_pton(socket.AF_INET6, ip)


def make_getter(path):
    """A function doc -> value at a dotted db field path (nested or flat docs), or None."""
    parts = tuple(path.split('.'))

    def get(doc):
        if path in doc:
            return doc[path]
        cur = doc
        for part in parts:
            if type(cur) is not dict:
                return None
            cur = cur.get(part)
            if cur is None:
                return None
        return cur
    return get


def _as_ms(value):
    """A date field (ms epoch number, or a numeric string) as an int, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------
class Session:
    """One stored session: its Arkime id (Sid), _source document and cached keys."""

    __slots__ = ('seq', 'sid', 'doc', 'ts', 'fp', 'lp', 'sip', 'dip', 'cache', 'day')

    def __init__(self, seq, doc):
        doc = dict(doc)
        sid = doc.pop('id', None)
        index = doc.pop('_index', None)
        if not isinstance(sid, str) or not sid:
            sid = '3@' + _derive_id(json.dumps(doc, sort_keys=True).encode(), doc)
        self.seq = seq
        self.sid = sid
        self.doc = doc
        self.ts = _as_ms(doc.get('@timestamp'))
        self.fp = _as_ms(doc.get('firstPacket'))
        self.lp = _as_ms(doc.get('lastPacket'))
        src, dst = doc.get('source'), doc.get('destination')
        self.sip = ip_key(src.get('ip')) if isinstance(src, dict) else ip_key(doc.get('source.ip'))
        self.dip = (ip_key(dst.get('ip')) if isinstance(dst, dict)
                    else ip_key(doc.get('destination.ip')))
        self.cache = None
        # the day of its sessions3-YYMMDD index (Db.getIndices selects indices by day): from
        # "_index" when the document carries one, else the day of its first packet, which is
        # where capture puts almost every session
        self.day = _index_day(index, self.fp)


def _index_day(index, fp_ms):
    """UTC midnight (epoch s) of the day a session's index covers, or None."""
    if isinstance(index, str) and len(index) >= 6 and index[-6:].isdigit():
        yy, mm, dd = int(index[-6:-4]), int(index[-4:-2]), int(index[-2:])
        year = 1900 + yy if yy >= 60 else 2000 + yy
        try:
            return int(datetime.datetime(year, mm, dd, tzinfo=datetime.timezone.utc).timestamp())
        except ValueError:
            return None
    if fp_ms is None:
        return None
    return int(fp_ms // 1000 // 86400 * 86400)


def _derive_id(material, doc):
    """An Arkime-like _id "YYMMDD-<base64url>" derived from content (for docs without an id)."""
    lp = _as_ms(doc.get('lastPacket')) or 0
    day = datetime.datetime.fromtimestamp(lp / 1000, datetime.timezone.utc).strftime('%y%m%d')
    digest = hashlib.sha256(material).digest()[:18]
    return day + '-' + base64.urlsafe_b64encode(digest).decode().rstrip('=')


class StoreView:
    """An immutable snapshot: sessions in insertion order plus sorted time indexes."""

    INDEXED = ('@timestamp', 'firstPacket', 'lastPacket')

    def __init__(self, sessions, indexes):
        self.sessions = sessions      # list, insertion (seq) order
        self.indexes = indexes        # field -> (sorted keys, sessions in (key, seq) order)
        self.days = frozenset(s.day for s in sessions if s.day is not None)  # the indices


_INDEX_ATTR = {'@timestamp': 'ts', 'firstPacket': 'fp', 'lastPacket': 'lp'}


def _build_index(old, added, attr):
    """Merge new sessions into a (keys, sessions) index; Timsort merges the two runs in O(n)."""
    _, old_sessions = old if old else ([], [])
    fresh = [s for s in added if getattr(s, attr) is not None]
    merged = old_sessions + fresh
    merged.sort(key=lambda s: getattr(s, attr))  # stable: ties keep insertion order
    return [getattr(s, attr) for s in merged], merged


class SessionStore:
    """Thread-safe session set; readers take an immutable StoreView."""

    def __init__(self, docs=()):
        self._lock = threading.Lock()
        self._seq = 0
        self._view = StoreView([], {f: ([], []) for f in StoreView.INDEXED})
        self.add(docs)
        self._initial = self._view

    def add(self, docs):
        """Add session documents (dicts); returns how many were added."""
        with self._lock:
            added = []
            for doc in docs:
                if not isinstance(doc, dict):
                    raise ValueError('a session must be a JSON object')
                added.append(Session(self._seq, doc))
                self._seq += 1
            if added:
                old = self._view
                indexes = {f: _build_index(old.indexes.get(f), added, _INDEX_ATTR[f])
                           for f in StoreView.INDEXED}
                self._view = StoreView(old.sessions + added, indexes)
            return len(added)

    def reset(self):
        """Go back to the sessions the store started with."""
        with self._lock:
            self._view = self._initial

    def view(self):
        """The current immutable snapshot."""
        return self._view


def load_jsonl(path):
    """Read session documents from a JSON-lines file (blank lines skipped)."""
    docs = []
    with open(path, encoding='utf-8') as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError('%s:%d: %s' % (path, lineno, err)) from None
    return docs


def parse_docs(body):
    """Session documents from a request body: a JSON array, one object, or JSON lines."""
    text = body.decode('utf-8').strip()
    if not text:
        return []
    try:
        value = json.loads(text)
        return value if isinstance(value, list) else [value]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------
# Deterministic synthetic sessions
# ---------------------------------------------------------------------------------------------
_NODES = ('sensor01', 'sensor02', 'sensor03', 'sensor04')
_TCP_PORTS = (22, 80, 443, 445, 135, 139, 3389, 5985, 8080, 8443, 25, 3306)
_UDP_PORTS = (53, 123, 161, 514, 5353, 1900)
_COUNTRIES = ('US', 'DE', 'FR', 'CN', 'RU', 'BR', 'JP', 'NL')


def community_id(sip, dip, proto, sport, dport):
    """Community ID v1 (seed 0) of a flow, as Arkime stores in network.community_id."""
    a, b = _packed(sip), _packed(dip)
    if proto in (1, 58):
        sport, dport = sport & 0xFF, dport & 0xFF
    if (a, sport) > (b, dport):
        a, b, sport, dport = b, a, dport, sport
    data = struct.pack('!H', 0) + a + b + struct.pack('!BBHH', proto, 0, sport, dport)
    return '1:' + base64.b64encode(hashlib.sha1(data).digest()).decode()


class _FastRandom(random.Random):
    """random.Random with cheaper randrange/choice (floats scaled; fine for test data)."""

    def randrange(self, start, stop=None, step=1):
        """A value in [start, stop) (or [0, start))."""
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))

    def choice(self, seq):
        """One element of seq."""
        return seq[int(self.random() * len(seq))]


class _Gen:
    """State for generating one deterministic stream of sessions."""

    def __init__(self, seed):
        self.rnd = _FastRandom(seed)
        self.open_roots = []   # split sessions that will get more segments
        self.scanners = ['10.66.%d.%d' % (i, 7 + i) for i in range(4)]
        self.days = {}         # day number -> 'YYMMDD-'

    def ip(self, v6, internal):
        """A source/destination address: study network 131.206/16, 10/8, public, or v6."""
        r = self.rnd
        if v6:
            if internal:
                return 'fd00:%x::%x' % (r.randrange(16), r.randrange(1, 0xFFFF))
            return '2001:db8:%x::%x' % (r.randrange(256), r.randrange(1, 0xFFFF))
        if internal:
            if r.random() < 0.5:
                return '131.206.%d.%d' % (r.randrange(256), r.randrange(1, 255))
            return '10.%d.%d.%d' % (r.randrange(4), r.randrange(256), r.randrange(1, 255))
        return '%d.%d.%d.%d' % (r.choice((23, 52, 93, 104, 151, 185, 203)), r.randrange(256),
                                r.randrange(256), r.randrange(1, 255))

    def new_id(self, lp_ms):
        """An Arkime _id: YYMMDD of the segment's lastPacket + '-' + base64url(18 bytes)."""
        day = lp_ms // 86400000
        prefix = self.days.get(day)
        if prefix is None:
            when = datetime.datetime.fromtimestamp(day * 86400, datetime.timezone.utc)
            prefix = self.days[day] = when.strftime('%y%m%d') + '-'
        raw = self.rnd.getrandbits(144).to_bytes(18, 'big')
        return prefix + base64.urlsafe_b64encode(raw).decode()


def _tcp_flags(r, packets, closed):
    """Plausible tcpflags counters for a TCP session."""
    if packets == 1:
        return {'syn': 1, 'syn-ack': 0, 'ack': 0, 'psh': 0, 'fin': 0, 'rst': 0, 'urg': 0}
    return {'syn': 1, 'syn-ack': 1, 'ack': max(1, packets - 2), 'psh': r.randrange(packets),
            'fin': 2 if closed == 'fin' else 0, 'rst': 1 if closed == 'rst' else 0, 'urg': 0}


def generate_one(g, i, ts_ms):
    """Session number i of a stream, written (indexed) at @timestamp ts_ms."""
    r = g.rnd
    roll = r.random()
    seg = None
    if g.open_roots and roll < 0.03:
        seg = g.open_roots[r.randrange(len(g.open_roots))]
    if seg is not None:
        proto, sip, dip, sport, dport, v6 = seg['flow']
    elif roll < 0.08:  # a scanner probing many hosts: single SYNs to lateral-movement ports
        proto, v6 = 6, False
        sip = g.scanners[r.randrange(len(g.scanners))]
        dip = '131.206.%d.%d' % (r.randrange(4), r.randrange(1, 255))
        sport, dport = r.randrange(32768, 61000), r.choice((445, 135, 139, 3389, 5985, 22))
    else:
        p = r.random()
        proto = 6 if p < 0.70 else (17 if p < 0.95 else (1 if r.random() < 0.8 else 58))
        v6 = r.random() < 0.2
        if proto == 1 and v6:
            proto = 58
        if proto == 58:
            v6 = True
        sip = g.ip(v6, internal=r.random() < 0.8)
        dip = g.ip(v6, internal=r.random() < 0.6)
        if proto == 6:
            sport, dport = r.randrange(1024, 65536), r.choice(_TCP_PORTS)
        elif proto == 17:
            sport, dport = r.randrange(1024, 65536), r.choice(_UDP_PORTS)
        else:
            sport, dport = r.choice((8, 0, 3, 11)), 0
    scan = seg is None and roll >= 0.03 and roll < 0.08
    single = scan or (proto == 6 and seg is None and r.random() < 0.08)
    packets = 1 if single else r.randrange(2, 400 if seg else 60)
    src_packets = 1 if single else max(1, packets // 2 + r.randrange(-1, 2))
    dst_packets = packets - src_packets
    client_bytes = 0 if single else r.randrange(0, 2000) * (src_packets > 1)
    server_bytes = 0 if single else r.randrange(0, 20000) * (dst_packets > 1)
    hdr = 54 if proto == 6 else (42 if proto == 17 else 42)
    src_bytes = src_packets * hdr + client_bytes
    dst_bytes = dst_packets * hdr + server_bytes

    # When was it written? close + 5 s, idle timeouts (tcp 480 s, udp 60 s, icmp 10 s), buffer.
    closed = None if proto != 6 or single else r.choice(('fin', 'fin', 'rst', None))
    if proto == 6:
        delay = r.randrange(5000, 10000) if closed else r.randrange(480000, 486000)
    elif proto == 17:
        delay = r.randrange(60000, 66000)
    else:
        delay = r.randrange(10000, 16000)
    late = r.random() < 0.02
    if late:  # back-pressure / bulk buffering: indexed minutes after the last packet
        delay += r.randrange(120000, 1800000)
    lp = ts_ms - delay
    duration = 0 if single else r.randrange(0, 120000 if proto == 6 else 30000)
    fp = seg['fp'] if seg else lp - duration
    if seg:
        lp = max(lp, fp + 1000)
    _id = g.new_id(lp)
    sid = '3@' + _id

    doc = {'id': sid, 'firstPacket': fp, 'lastPacket': lp, 'length': lp - fp, 'ipProtocol': proto}
    src = {'ip': sip, 'port': sport, 'packets': src_packets, 'bytes': src_bytes}
    dst = {'ip': dip, 'port': dport, 'packets': dst_packets, 'bytes': dst_bytes}
    if not sip.startswith(('10.', '131.206.', 'fd', '2001:db8')):
        src['geo'] = {'country_iso_code': r.choice(_COUNTRIES)}
    if not dip.startswith(('10.', '131.206.', 'fd', '2001:db8')):
        dst['geo'] = {'country_iso_code': r.choice(_COUNTRIES)}
    if r.random() < 0.05:  # absent counters: the API returns -1 for them in default mode
        del src['packets'], dst['bytes']
    doc['source'] = src
    doc['destination'] = dst
    doc['network'] = {'packets': packets, 'bytes': src_bytes + dst_bytes,
                      'community_id': community_id(sip, dip, proto, sport, dport)}
    doc['client'] = {'bytes': client_bytes}
    doc['server'] = {'bytes': server_bytes}
    doc['totDataBytes'] = client_bytes + server_bytes
    doc['node'] = _NODES[(i * 7 + r.randrange(4)) % len(_NODES)]
    if seg is not None:
        seg['count'] += 1
        doc['segmentCnt'] = seg['count']
        doc['rootId'] = seg['root']
        if seg['count'] >= seg['limit']:
            g.open_roots.remove(seg)
    elif proto == 6 and not single and roll > 0.97 and len(g.open_roots) < 64:
        doc['segmentCnt'] = 1
        doc['rootId'] = _id  # the first segment's own _id becomes every segment's rootId
        g.open_roots.append({'flow': (proto, sip, dip, sport, dport, v6), 'fp': fp,
                             'root': _id, 'count': 1, 'limit': r.randrange(2, 6)})
    else:
        doc['segmentCnt'] = 1
    if proto == 6:
        doc['tcpflags'] = _tcp_flags(r, packets, closed)
        names = ['tcp'] + ([r.choice(('tls', 'http', 'smb', 'rdp', 'ssh'))]
                           if client_bytes and r.random() < 0.7 else [])
    elif proto == 17:
        names = ['udp'] + (['dns'] if dport == 53 else [])
    else:
        names = ['icmp']
    doc['protocol'] = names
    doc['protocolCnt'] = len(names)
    if r.random() < 0.1:
        doc['tags'] = sorted(r.sample(('acme', 'dmz', 'vpn', 'lab'), r.randrange(1, 3)))
        doc['tagsCnt'] = len(doc['tags'])
    doc['@timestamp'] = ts_ms
    return doc


def generate(count, seed, start_ms, span_s):
    """count deterministic sessions whose @timestamp spreads evenly over span_s seconds."""
    g = _Gen(seed)
    span_ms = max(1, int(span_s * 1000))
    docs = []
    for i in range(count):
        ts = start_ms + (i * span_ms) // max(1, count) + g.rnd.randrange(0, 50)
        docs.append(generate_one(g, i, min(ts, start_ms + span_ms)))
    return docs


def is_loopback_host(host):
    """True when host names a loopback address (or 'localhost')."""
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False
