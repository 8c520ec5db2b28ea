#!/usr/bin/python3
"""The stand-in viewer (tests/arkime_standin) against a REAL Arkime viewer, same documents.

Starts a real Arkime 6 (scripts/arkime-local, private FW_ARKIME_DIR; skips when there is no
Arkime source), ingests gen_pcaps.py --bulk (12,000 sessions: enough for the 10,000 window)
and Arkime's own regression pcaps, reads every session document back from OpenSearch
(arkime_sessions3-*: _source, _id, _index), loads exactly those documents into the stand-in
(same user and password, digest), sends both viewers every request shape the producer, the
tests and docs/standin-viewer.md use, and compares: HTTP status, error text, recordsTotal,
recordsFiltered, map/graph, the ids and order of data[] (ties in the sort key may come in any
order: ES breaks them by shard/segment order) and every item field by field.

Known differences are in ALLOWED below, each with why it does not matter; anything else fails.

  FW_CONFORMANCE_ARKIME_DIR=DIR  reuse a running arkime-local state dir that already holds
                                 the ingested sessions (not stopped; for development)
  FW_CONFORMANCE_VERBOSE=1       print every request and both answers' summaries
"""
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
from fwtest import doc_get, producer_fields  # noqa: E402


HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
ARKIME_LOCAL = os.path.join(ROOT, 'scripts', 'arkime-local')
STANDIN = os.path.join(ROOT, 'tests', 'arkime_standin', 'viewer.py')
GEN_PCAPS = os.path.join(HERE, 'gen_pcaps.py')
PYTHON = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable
VERBOSE = os.environ.get('FW_CONFORMANCE_VERBOSE') == '1'
BULK_SESSIONS = 12000

# FW_ARKIME_FIELDS (common/session_fields.h): the fields the producer asks for.
PRODUCER_FIELDS = producer_fields()

# ---- the allowlist of known differences (docs/standin-viewer.md, "Checked against the real
# viewer"). Each entry: what differs, and why it does not matter to fanwatch or its tests.
ALLOWED = {
    # The real viewer adds "nodehost" (the capture node's hostname from its stats document,
    # Db.arkimeNodeStatsCache) to every item. The stand-in has no capture nodes, hence no stats.
    # fanwatch reads no such field.
    'item_key:nodehost': 'the stand-in has no node stats documents',
    # With fileId among the requested fields the real viewer turns file numbers into the names
    # of the pcap files (Db.fileIdToFile); the stand-in has no files index and answers [] as
    # the real viewer does when fileId is not requested. fanwatch never asks for fileId.
    'item_key:fileId': 'file names come from the files index, which the stand-in lacks',
    # packetPos, when requested, is decoded by the real viewer with the pcap file's
    # packetPosEncoding (gap0) from the files index (fixPacketPos); the stand-in returns it as
    # stored. Only the pcap download needs it; fanwatch never asks for packetPos.
    'item_key:packetPos': 'decoding needs the files index, which the stand-in lacks',
}

# OpenSearch 2.19's scroll, sorted on @timestamp (the field the bounding=database range filter
# is on), skips documents with equal @timestamp between scroll batches: measured here, 12,637 of
# 12,738 hits come back from a scroll over everything sorted @timestamp:asc, 11,899 of 12,000
# over the single bulk index; sorted on firstPacket, all come back. The viewer takes the scroll
# path when start + length > 10,000, so such pages from a real Arkime miss sessions and shift.
# The stand-in answers what the search should return. For those requests only the status,
# error, recordsTotal and recordsFiltered are compared.
SCROLL_TS_SORT = 'scroll path sorted on @timestamp: OpenSearch drops tied documents'


def takes_scroll_path(params):
    """searchScroll's test: size + parseInt(from) > 10000 (NaN, e.g. start=abc, too)."""
    try:
        length = int(params.get('length') or 100) or 100
    except ValueError:
        length = 100
    m = re.match(r'\s*([+-]?\d+)', str(params.get('start', '0')) or '0')
    return m is None or length + int(m.group(1)) > 10000


# Error texts that come from OpenSearch (not from the viewer): the stand-in imitates the class
# of error, the exact wording depends on the OpenSearch version. Compared by this pattern.
ES_ERROR = re.compile(r'^[a-z_]+_exception')


# ---------------------------------------------------------------------------------------------
# HTTP with digest authentication (urllib's handler; both viewers speak RFC 2617 qop=auth)
# ---------------------------------------------------------------------------------------------
class Viewer:
    def __init__(self, url, user, password, realm):
        self.url = url.rstrip('/')
        self.user, self.password, self.realm = user, password, realm
        mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        mgr.add_password(None, self.url, user, password)
        self.opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(mgr))

    def request(self, params, method='POST', path='/api/sessions', opener=None):
        """(status, headers, body bytes) for params sent as a form (POST) or a query (GET)."""
        data = urllib.parse.urlencode(params, doseq=True)
        if method == 'GET':
            req = urllib.request.Request(self.url + path + '?' + data, method='GET')
        else:
            req = urllib.request.Request(self.url + path, data=data.encode(), method='POST',
                                         headers={'Content-Type':
                                                  'application/x-www-form-urlencoded'})
        try:
            with (opener or self.opener).open(req, timeout=120) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def raw(self, headers, path='/api/sessions?date=-1&length=1'):
        """One GET with exactly these headers (no auth handler): (status, headers, body)."""
        u = urllib.parse.urlsplit(self.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        try:
            conn.request('GET', path, headers=headers)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def session2sid(index, doc_id):
    """Db.session2Sid for arkime_sessions3-YYMMDD documents."""
    if len(doc_id) < 31:
        return '3@' + index[len('arkime_') + 10:] + ':' + doc_id
    return '3@' + doc_id


def os_json(url, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method='POST' if data else 'GET',
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.load(resp)


def fetch_all_docs(os_url):
    """Every session document: [(index, _id, _source)], by index then _doc order."""
    out = []
    res = os_json(os_url, '/arkime_sessions3-*/_search?scroll=2m',
                  {'size': 5000, 'sort': ['_doc'], 'query': {'match_all': {}}})
    while res['hits']['hits']:
        out.extend((h['_index'], h['_id'], h['_source']) for h in res['hits']['hits'])
        res = os_json(os_url, '/_search/scroll', {'scroll': '2m', 'scroll_id': res['_scroll_id']})
    out.sort(key=lambda t: t[0])  # stable: _doc order within an index
    return out


# ---------------------------------------------------------------------------------------------
# The request shapes
# ---------------------------------------------------------------------------------------------
EXPRESSIONS = [
    # the producer's and the docs' expressions, and the stand-in's subset
    'packets == 1 && ip.protocol == tcp && ip.src != 131.206.0.0/16 && ip.dst != 131.206.0.0/16',
    'ip.protocol == tcp', 'ip.protocol == udp', 'ip.protocol == icmp', 'ip.protocol == 58',
    'ip.protocol != tcp', 'ip.src == 131.206.0.0/16', 'ip == 10.0.0.0/8',
    'ip.dst == 198.51.100.15', 'ip == ipv6', 'ip.src == ipv4', 'ip == 131.206',
    'port.dst == 445', 'port.dst == [22,80,443]', 'port.dst == 1-1024', 'port.src > 60000',
    'port.dst <= 53 && ip.protocol == udp', 'packets.src == 1', 'packets > 100',
    'bytes.dst >= 1000', 'databytes == 0', 'protocols == dns', 'protocols == http',
    'protocols == [tls,ssh]', 'node == fanwatch', 'node == fan*', 'tags == EXISTS!',
    'rootId == EXISTS!', 'communityId == EXISTS!', 'tcpflags.syn == 1 && tcpflags.ack == 0',
    'session.segments > 1', 'port.dst != 443', '!(ip.protocol == tcp) || port.dst == 22',
    'db:ipProtocol == 17',
    # errors
    'port.dst == *', 'ip.src ==', 'foo == 1', 'ip.protocol == blah', 'ip.src == 1.2.3.x',
    'port.dst == abc', 'ip.protocol > 5', '(ip.protocol == tcp', 'ip.src == 300.1.1.1',
]


def cases(now_s, ts_lo_s, ts_hi_s, times):
    """(name, method, params) of every shape compared. times: a few firstPacket/lastPacket
    seconds that bound some sessions (for inclusive-edge checks)."""
    out = []
    P = PRODUCER_FIELDS

    def add(name, params, method='POST'):
        out.append((name, method, params))

    # the producer's request, page by page (bounding=database on @timestamp, flatten=1)
    base = {'bounding': 'database', 'startTime': str(ts_lo_s), 'stopTime': str(ts_hi_s),
            'fields': P, 'facets': '0', 'flatten': '1'}
    for order in ('@timestamp:asc', None, 'firstPacket:asc,lastPacket:desc',
                  '@timestamp:asc,firstPacket:desc'):
        for start, length in ((0, 100), (0, 10000), (9990, 20), (5000, 100), (5000, 5001),
                              (12000, 100)):
            p = dict(base, start=str(start), length=str(length))
            if order:
                p['order'] = order
            add('producer order=%s start=%d length=%d' % (order, start, length), p)
    add('producer GET', dict(base, start='0', length='50', order='@timestamp:asc'), 'GET')
    add('producer nested', dict(base, flatten='0', length='50', order='@timestamp:asc'))
    add('producer flatten=true', dict(base, flatten='true', length='20'))
    # bounding x time windows
    for bounding in ('first', 'last', 'both', 'either', 'database', 'nonsense', None):
        for lo, hi in times:
            p = {'date': '', 'startTime': str(lo), 'stopTime': str(hi), 'length': '200',
                 'fields': P, 'flatten': '1', 'order': 'firstPacket:asc'}
            if bounding:
                p['bounding'] = bounding
            add('bounding=%s %d..%d' % (bounding, lo, hi), p)
    add('strictly=true', {'startTime': str(times[0][0]), 'stopTime': str(times[0][1]),
                          'strictly': 'true', 'length': '200'})
    add('startTime only', {'startTime': str(times[0][0]), 'bounding': 'first', 'length': '5'})
    add('date=-1 wins over times', {'date': '-1', 'startTime': '0', 'stopTime': '1',
                                    'length': '10'})
    add('date=1 default window', {'date': '1', 'length': '10'})
    add('no date', {'length': '10'})
    add('date=24*365*30', {'date': str(24 * 365 * 30), 'length': '10', 'bounding': 'first'})
    add('date=abc', {'date': 'abc', 'length': '3'})
    add('ISO times', {'startTime': '2024-05-18T10:00:00Z', 'stopTime': '2024-05-18T10:30:00Z',
                      'bounding': 'first', 'length': '100', 'fields': P, 'flatten': '1'})
    add('stopTime fractional', {'startTime': str(times[1][0]), 'stopTime': '%d.9' % times[1][1],
                                'bounding': 'first', 'length': '100'})
    # default fields, nested and flat, GET and POST
    for flatten in ('0', '1'):
        for method in ('GET', 'POST'):
            add('defaults flatten=%s %s' % (flatten, method),
                {'date': '-1', 'length': '300', 'flatten': flatten}, method)
    add('defaults facets=0', {'date': '-1', 'length': '50', 'facets': '0'})
    # orders
    for order in ('@timestamp:asc', '@timestamp:desc', 'lastPacket:desc', 'firstPacket',
                  'source.ip:asc', 'destination.port:desc', 'source.port:asc,firstPacket:desc',
                  'network.packets:desc,firstPacket:asc', 'rootId:asc', 'tags:asc',
                  'protocol:desc', 'ipProtocol:asc,destination.ip:desc,firstPacket:asc',
                  'firstPacket:up'):
        add('order=%s' % order, {'date': '-1', 'length': '400', 'order': order,
                                 'fields': P, 'flatten': '1'})
    add('order array', {'date': '-1', 'order': ['firstPacket:asc', 'lastPacket:asc']}, 'GET')
    # fields
    for fields in ('tags,protocol,dns.host,ethertype,totDataBytes,network.vlan.id',
                   'source', 'source.*', 'tcpflags.*', 'srcOui,dstOui,srcTTL,protocolCnt',
                   'segmentCnt,length,packetPos,rootId', 'http.uri,http.host,http.method',
                   'cert.issuerCN,cert.notAfter,tls.version', 'nosuchfield',
                   'source.geo.country_iso_code,destination.as.full'):
        for flatten in ('0', '1'):
            add('fields=%s flatten=%s' % (fields, flatten),
                {'date': '-1', 'length': '300', 'fields': fields, 'flatten': flatten,
                 'order': 'firstPacket:asc'})
    add('fields array', {'date': '-1', 'length': '20', 'fields': ['ipProtocol', 'rootId']}, 'GET')
    # ICMP and IPv6 items (port 0, -1 counters)
    for expr in ('ip.protocol == icmp', 'ip.protocol == 58', 'ip == ipv6'):
        for flatten in ('0', '1'):
            add('%s flatten=%s' % (expr, flatten),
                {'date': '-1', 'length': '200', 'expression': expr, 'flatten': flatten})
            add('%s producer fields flatten=%s' % (expr, flatten),
                {'date': '-1', 'length': '200', 'expression': expr, 'flatten': flatten,
                 'fields': P})
    # expressions
    for expr in EXPRESSIONS:
        add('expression %s' % expr, {'date': '-1', 'length': '100', 'expression': expr,
                                     'fields': P, 'flatten': '1', 'order': 'firstPacket:asc'})
    # paging and lengths
    for start, length in (('0', '0'), ('0', ''), ('0', 'abc'), ('0', '-5'), ('5000', '10'),
                          ('9999', '1'), ('9999', '2'), ('10000', '5'), ('12730', '100'),
                          ('-1', '5'), ('abc', '5'), ('0', '2.5'), ('0', '12000')):
        add('start=%s length=%s' % (start, length),
            {'date': '-1', 'start': start, 'length': length, 'fields': 'firstPacket',
             'order': 'firstPacket:asc,lastPacket:asc'})
    # facets
    add('facets=0', {'date': '-1', 'facets': '0', 'length': '5'})
    add('view', {'date': '-1', 'view': 'nosuchview', 'length': '5'})
    add('legacy /sessions.json', {'date': '-1', 'length': '5'}, 'GET-legacy')
    return out


# ---------------------------------------------------------------------------------------------
# Comparing two answers
# ---------------------------------------------------------------------------------------------


def _sort_key(src, order):
    """The ES sort key of one document for 'order' (multi-valued: min for asc, max for desc;
    missing values compare as None: only used to group ties)."""
    key = []
    for item in (order or 'firstPacket:asc').split(','):
        field, _, direction = item.partition(':')
        v = doc_get(src, field)
        if isinstance(v, list):
            vals = [x for x in v if x is not None]
            v = (max(vals) if direction == 'desc' else min(vals)) if vals else None
        key.append(json.dumps(v))
    return tuple(key)


def _strip_allowed(item, flat):
    out = dict(item)
    for key in list(out):
        if 'item_key:' + key in ALLOWED:
            del out[key]
    return out


def compare(name, params, real, stand, sources):
    """A list of differences (strings) between two (status, headers, body) answers."""
    diffs = []
    if real[0] != stand[0]:
        return ['status %s vs %s' % (real[0], stand[0])]
    if real[0] != 200:
        if real[2] != stand[2]:
            diffs.append('body %r vs %r' % (real[2][:200], stand[2][:200]))
        return diffs
    try:
        r, s = json.loads(real[2]), json.loads(stand[2])
    except ValueError as err:
        return ['not JSON: %s' % err]
    if set(r) != set(s):
        diffs.append('top-level keys %s vs %s' % (sorted(r), sorted(s)))
    re_, se = r.get('error'), s.get('error')
    if re_ != se:
        if not (re_ and se and ES_ERROR.match(re_) and ES_ERROR.match(se)):
            diffs.append('error %r vs %r' % (re_, se))
    rg, sg = r.get('graph'), s.get('graph')
    if 'startTime' not in params and isinstance(rg, dict) and isinstance(sg, dict):
        # a date=N window ends at each viewer's own "now": the two requests are a moment apart
        for k in ('xmin', 'xmax'):
            if isinstance(rg.get(k), int) and isinstance(sg.get(k), int) \
                    and abs(rg[k] - sg[k]) <= 5000:
                sg = dict(sg, **{k: rg[k]})
        s = dict(s, graph=sg)
    for key in ('recordsTotal', 'recordsFiltered', 'map', 'graph'):
        if r.get(key) != s.get(key):
            diffs.append('%s %s vs %s' % (key, json.dumps(r.get(key))[:300],
                                          json.dumps(s.get(key))[:300]))
    rd, sd = r.get('data', []), s.get('data', [])
    order = params.get('order') if isinstance(params.get('order'), str) else None
    if takes_scroll_path(params) and (order or '').split(':')[0] == '@timestamp':
        return diffs  # SCROLL_TS_SORT
    if len(rd) != len(sd):
        diffs.append('len(data) %d vs %d' % (len(rd), len(sd)))
        return diffs
    rid = [x.get('id') for x in rd]
    sid = [x.get('id') for x in sd]
    if rid != sid:
        # equal sort keys may come in any order: compare the key sequence, and the ids of
        # every tie group that lies wholly inside the page
        if any(i not in sources for i in rid + sid):
            diffs.append('unknown ids in data')
            return diffs
        rk = [_sort_key(sources[i], order) for i in rid]
        sk = [_sort_key(sources[i], order) for i in sid]
        if rk != sk:
            first = next(n for n in range(len(rk)) if rk[n] != sk[n])
            diffs.append('order differs at %d: %s %s vs %s %s' % (first, rid[first], rk[first],
                                                                  sid[first], sk[first]))
            return diffs
        groups = {}
        for n, k in enumerate(rk):
            groups.setdefault(k, []).append(n)
        for k, idx in groups.items():
            if idx[0] == 0 or idx[-1] == len(rk) - 1:
                continue  # may continue on the previous or next page
            if sorted(rid[n] for n in idx) != sorted(sid[n] for n in idx):
                diffs.append('tie group %s: ids differ' % (k,))
    by_id = {x.get('id'): x for x in sd}
    flat = str(params.get('flatten')) == '1'
    for item in rd:
        other = by_id.get(item.get('id'))
        if other is None:
            continue
        a, b = _strip_allowed(item, flat), _strip_allowed(other, flat)
        if a != b:
            keys = sorted(set(a) | set(b))
            bad = [k for k in keys if a.get(k, '<absent>') != b.get(k, '<absent>')]
            diffs.append('item %s: %s' % (item.get('id'), '; '.join(
                '%s=%s vs %s' % (k, json.dumps(a.get(k, '<absent>'))[:160],
                                 json.dumps(b.get(k, '<absent>'))[:160]) for k in bad[:6])))
            if len(diffs) > 8:
                break
    return diffs


# ---------------------------------------------------------------------------------------------
class StandinConformance(unittest.TestCase):
    tmp = None
    arkime_dir = None
    own_arkime = False
    standin = None

    @classmethod
    def setUpClass(cls):
        t0 = time.monotonic()
        cls.tmp = tempfile.mkdtemp(prefix='fw-conformance-')
        os.chmod(cls.tmp, 0o711)  # OpenSearch may run as nobody under the state dir inside
        reuse = os.environ.get('FW_CONFORMANCE_ARKIME_DIR')
        env = dict(os.environ)
        if reuse:
            cls.arkime_dir = reuse
            env['FW_ARKIME_DIR'] = reuse
            cmd = 'status'
        else:
            cls.arkime_dir = os.path.join(cls.tmp, 'arkime')
            env['FW_ARKIME_DIR'] = cls.arkime_dir
            cmd = 'start'
        cls.env = env
        p = subprocess.run([ARKIME_LOCAL, cmd], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=900)
        if p.returncode == 3:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise unittest.SkipTest('no Arkime source (scripts/arkime-local exit 3): '
                                    + p.stderr.strip().splitlines()[-1])
        cls.own_arkime = not reuse
        if p.returncode != 0:
            cls.tearDownClass()
            raise RuntimeError('arkime-local %s failed (%d): %s' % (cmd, p.returncode, p.stderr))
        info = dict(kv.split('=', 1) for kv in p.stdout.split())
        with open(info['password_file']) as fh:
            password = fh.read().strip()
        with open(info['config']) as fh:
            realm = re.search(r'^httpRealm=(.*)$', fh.read(), re.M).group(1)
        cls.os_url = info['opensearch']
        # The corpus spans ~170 daily indices (one shard each) and a scroll opens a context per
        # shard: OpenSearch's default of 500 open scroll contexts makes a few scroll-path
        # requests in a row fail on some shards (429), which the viewer reports as partial
        # results without an error. Not a viewer behaviour: raise the limit.
        req = urllib.request.Request(cls.os_url + '/_cluster/settings', method='PUT',
                                     data=json.dumps({'persistent': {
                                         'search.max_open_scroll_context': 20000}}).encode(),
                                     headers={'Content-Type': 'application/json'})
        urllib.request.urlopen(req, timeout=60).close()
        if not reuse:
            subprocess.run([PYTHON, GEN_PCAPS, '--bulk', str(BULK_SESSIONS), '--out',
                            os.path.join(cls.tmp, 'pcaps')], check=True, stdout=subprocess.DEVNULL,
                           timeout=300)
            corpus = sorted(os.path.join(cls.arkime_dir, 'arkime', 'tests', 'pcap', f)
                            for f in os.listdir(os.path.join(cls.arkime_dir, 'arkime', 'tests',
                                                             'pcap')) if f.endswith('.pcap'))
            for pcaps in ([os.path.join(cls.tmp, 'pcaps', 'bulk.pcap')], corpus):
                subprocess.run([ARKIME_LOCAL, 'ingest'] + pcaps, env=env, check=True,
                               stdout=subprocess.DEVNULL, timeout=900)
        # every document, straight from OpenSearch
        docs = fetch_all_docs(cls.os_url)
        cls.sources = {}
        path = os.path.join(cls.tmp, 'sessions.jsonl')
        with open(path, 'w') as fh:
            for index, doc_id, src in docs:
                sid = session2sid(index, doc_id)
                cls.sources[sid] = src
                # _index: the stand-in selects indices by day as Db.getIndices does
                fh.write(json.dumps(dict(src, id=sid, _index=index)) + '\n')
        cls.ndocs = len(docs)
        # the stand-in, same documents, same credentials and realm
        port_file = os.path.join(cls.tmp, 'standin.port')
        cls.standin = subprocess.Popen(
            [PYTHON, STANDIN, '--sessions', path, '--port-file', port_file, '--realm', realm,
             '--node-host', 'fanwatch=127.0.0.1'],
            env=dict(os.environ, STANDIN_PASSWORD=password), stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        line = cls.standin.stdout.readline()
        if not line.startswith('standin-viewer listening on '):
            cls.tearDownClass()
            raise RuntimeError('stand-in did not start: %r' % line)
        cls.real = Viewer(info['viewer'], 'admin', password, realm)
        cls.stand = Viewer(line.split()[-1], 'admin', password, realm)
        ts = [src['@timestamp'] for _, _, src in docs]
        cls.ts_lo, cls.ts_hi = min(ts) // 1000, max(ts) // 1000 + 1
        sys.stderr.write('conformance: %d documents, set up in %.0f s\n'
                         % (cls.ndocs, time.monotonic() - t0))

    @classmethod
    def tearDownClass(cls):
        if cls.standin is not None:
            cls.standin.terminate()
            try:
                cls.standin.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cls.standin.kill()
            cls.standin.stdout.close()
            cls.standin = None
        if cls.own_arkime:
            subprocess.run([ARKIME_LOCAL, 'stop'], env=cls.env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=120)
        if cls.tmp:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def _times(self):
        """Time windows (seconds) with sessions in them, from the documents."""
        fps = sorted(src['firstPacket'] // 1000 for src in self.sources.values())
        lps = sorted(src['lastPacket'] // 1000 for src in self.sources.values())
        # a window inside the bulk traffic, one ending exactly on a first packet second, one
        # starting exactly on a last packet second, and one over the whole corpus
        mid = fps[len(fps) // 2]
        return [(mid, mid + 120), (fps[len(fps) // 3], fps[len(fps) // 3 + 7]),
                (lps[100], lps[100] + 1), (fps[0], lps[-1])]

    def test_requests(self):
        """Every request shape: both viewers answer the same."""
        failures = []
        allc = cases(int(time.time()), self.ts_lo, self.ts_hi, self._times())
        for name, method, params in allc:
            path = '/api/sessions'
            if method == 'GET-legacy':
                method, path = 'GET', '/sessions.json'
            real = self.real.request(params, method, path)
            stand = self.stand.request(params, method, path)
            diffs = compare(name, params, real, stand, self.sources)
            if VERBOSE:
                try:
                    rj = json.loads(real[2])
                    summary = 'filtered=%s n=%d err=%r' % (rj.get('recordsFiltered'),
                                                           len(rj.get('data', [])), rj.get('error'))
                except ValueError:
                    summary = 'status %d' % real[0]
                print('%-70s %s %s' % (name[:70], summary, 'OK' if not diffs else 'DIFF'))
            if diffs:
                failures.append('%s (%s %s):\n    %s' % (name, method, json.dumps(params)[:300],
                                                         '\n    '.join(diffs[:8])))
        self.assertEqual(failures, [], '%d of %d request shapes differ:\n%s'
                         % (len(failures), len(allc), '\n'.join(failures)))

    def test_recordsTotal_is_every_document(self):
        st, _, body = self.real.request({'date': '-1', 'length': '1'})
        self.assertEqual(json.loads(body)['recordsTotal'], self.ndocs)
        st, _, body = self.stand.request({'date': '-1', 'length': '1'})
        self.assertEqual(json.loads(body)['recordsTotal'], self.ndocs)

    def test_auth(self):
        """Digest ok; wrong password 401 with a fresh challenge; Basic refused; no header."""
        for v in (self.real, self.stand):
            self.assertEqual(v.request({'date': '-1', 'length': '1'})[0], 200)
        answers = []
        for v in (self.real, self.stand):
            mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            mgr.add_password(None, v.url, 'admin', 'wrong-password')
            opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(mgr))
            wrong = v.request({'date': '-1'}, 'GET', opener=opener)
            basic = v.raw({'Authorization': 'Basic ' + base64.b64encode(
                ('admin:' + v.password).encode()).decode()})
            none = v.raw({})
            wronguser = v.raw({'Authorization': 'Digest username="nobody", realm="%s", '
                               'nonce="abc", uri="/api/sessions?date=-1&length=1", '
                               'response="0123456789abcdef0123456789abcdef"' % v.realm})
            answers.append([(a[0], a[2], re.sub(r'nonce="[A-Za-z0-9]+"', 'nonce=N',
                                                a[1].get('WWW-Authenticate', '')))
                            for a in (wrong, basic, none, wronguser)])
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(answers[0][0][0], 401)


if __name__ == '__main__':
    unittest.main()
