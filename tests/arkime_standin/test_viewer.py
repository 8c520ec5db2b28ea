"""Tests for the stand-in Arkime viewer (python3 -m unittest, standard library only)."""

import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import viewer  # noqa: E402
from standin_store import SessionStore, generate  # noqa: E402

T = 1716026400  # 2024-05-18 10:00:00 UTC, whole seconds
RULE = ('packets == 1 && ip.protocol == tcp && ip.src != 131.206.0.0/16 '
        '&& ip.dst != 131.206.0.0/16')



def start(docs=(), **config):
    """Start a stand-in viewer on a free loopback port in a thread; returns the server."""
    config.setdefault('auth', 'none')
    server = viewer.make_server(viewer.Config(port=0, **config), SessionStore(docs))
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05},
                              daemon=True)
    thread.start()
    server.test_thread = thread
    return server


def stop(server):
    """Shut a server started by start() down."""
    server.shutdown()
    server.server_close()
    server.test_thread.join(5)


def request(server, path, method='GET', body=None, headers=None, timeout=10):
    """One HTTP request: (status, headers dict with lower-case names, body bytes)."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers = dict(headers or {}, **{'Content-Type': 'application/json'})
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def api(server, params=None, body=None, path='/api/sessions', headers=None):
    """GET (or POST with a JSON body) the sessions API and decode the JSON answer."""
    qs = '?' + urllib.parse.urlencode(params) if params else ''
    status, _, data = request(server, path + qs, 'POST' if body is not None else 'GET',
                              body, headers)
    assert status == 200, (status, data[:200])
    return json.loads(data)


def control(server, path, obj=None):
    """Call the /_standin/ control API."""
    status, _, data = request(server, '/_standin/' + path, 'POST' if obj is not None else 'GET',
                              obj)
    assert status == 200, (status, data)
    return json.loads(data)


def sess(sid, fp, lp, ts, **extra):
    """A minimal nested sessions3 document."""
    doc = {'id': sid, 'firstPacket': fp, 'lastPacket': lp, 'ipProtocol': 6,
           'source': {'ip': '10.0.0.1', 'port': 1234, 'packets': 1, 'bytes': 60},
           'destination': {'ip': '10.0.0.2', 'port': 80, 'packets': 0, 'bytes': 0},
           'network': {'packets': 1, 'bytes': 60}, 'client': {'bytes': 0},
           'server': {'bytes': 0}, 'totDataBytes': 0, 'node': 'sensor01',
           'protocol': ['tcp'], '@timestamp': ts}
    doc.update(extra)
    return doc


def ids(resp):
    """The ids of a response's data."""
    return [d['id'] for d in resp['data']]


# ---------------------------------------------------------------------------------------------
class GeneratedDataTests(unittest.TestCase):
    """Against 12,000 generated sessions whose @timestamps cover the last two hours."""

    @classmethod
    def setUpClass(cls):
        now = int(time.time() * 1000)
        cls.docs = generate(12000, seed=7, start_ms=now - 7200 * 1000, span_s=7200)
        cls.server = start(cls.docs)

    @classmethod
    def tearDownClass(cls):
        stop(cls.server)

    def all_by_ts(self):
        """Every session in @timestamp order (ties in insertion order)."""
        order = sorted(range(len(self.docs)), key=lambda i: (self.docs[i]['@timestamp'], i))
        return [self.docs[i]['id'] for i in order]

    def test_generation_is_deterministic_and_varied(self):
        again = generate(12000, seed=7, start_ms=self.docs[0]['@timestamp'] - 0, span_s=7200)
        self.assertEqual(len({d['id'] for d in self.docs}), 12000)
        other = generate(50, seed=8, start_ms=0, span_s=10)
        self.assertNotEqual(other[0]['id'], self.docs[0]['id'])
        self.assertEqual(generate(100, 3, 0, 100), generate(100, 3, 0, 100))
        self.assertEqual(len(again), 12000)
        self.assertTrue(any(':' in d['source']['ip'] for d in self.docs))
        self.assertTrue(any('.' in d['source']['ip'] for d in self.docs))
        self.assertEqual({d['ipProtocol'] for d in self.docs} >= {1, 6, 17}, True)
        self.assertTrue(any('rootId' in d for d in self.docs))
        self.assertTrue(any('rootId' not in d for d in self.docs))
        late = [d for d in self.docs if d['@timestamp'] - d['lastPacket'] > 600000]
        self.assertTrue(late, 'some sessions are indexed minutes after their last packet')
        self.assertTrue(all(d['id'].startswith('3@') and '-' in d['id'] for d in self.docs))
        roots = {d['rootId'] for d in self.docs if 'rootId' in d}
        self.assertTrue(any(sum(d.get('rootId') == r for d in self.docs) > 1 for r in roots))

    def test_default_parameters(self):
        before = int(time.time())
        resp = api(self.server)
        after = int(time.time())
        data = resp['data']
        self.assertEqual(len(data), 100)
        self.assertEqual(set(resp), {'data', 'map', 'graph', 'recordsTotal', 'recordsFiltered'})
        self.assertEqual(resp['recordsTotal'], 12000)
        for item in data:  # date=1: lastPacket within the last hour
            self.assertGreaterEqual(item['lastPacket'], (before - 3600) * 1000)
            self.assertIsInstance(item['source'], dict)      # nested by default
            self.assertIn('ip', item['source'])
            self.assertNotIn('@timestamp', item)             # not in the default field list
            self.assertNotIn('protocol', item)
            self.assertTrue(item['id'].startswith('3@'))
        fps = [d['firstPacket'] for d in data]
        self.assertEqual(fps, sorted(fps))                   # default order firstPacket asc
        got = set(ids(resp))
        surely_in = [d['id'] for d in self.docs if d['lastPacket'] >= (after - 3600) * 1000
                     and d['firstPacket'] < fps[-1]]
        self.assertLessEqual(set(surely_in), got)

    def test_legacy_alias(self):
        params = {'date': -1, 'length': 7, 'order': '@timestamp:asc', 'bounding': 'database'}
        self.assertEqual(api(self.server, params), api(self.server, params, path='/sessions.json'))

    def test_length_zero_and_non_numeric_mean_100(self):
        self.assertEqual(len(api(self.server, {'date': -1, 'length': 0})['data']), 100)
        self.assertEqual(len(api(self.server, {'date': -1, 'length': 'x'})['data']), 100)
        self.assertEqual(len(api(self.server, {'date': -1, 'length': 3})['data']), 3)

    def test_order_timestamp_asc_and_desc(self):
        params = {'date': -1, 'bounding': 'database', 'length': 50, 'fields': '@timestamp'}
        asc = api(self.server, dict(params, order='@timestamp:asc'))
        desc = api(self.server, dict(params, order='@timestamp:desc'))
        self.assertEqual(ids(asc), self.all_by_ts()[:50])
        ts_desc = [d['@timestamp'] for d in desc['data']]
        self.assertEqual(ts_desc, sorted(ts_desc, reverse=True))
        self.assertEqual(ts_desc[0], max(d['@timestamp'] for d in self.docs))

    def test_order_multiple_keys_and_missing_values(self):
        params = {'date': -1, 'length': 12000, 'fields': 'rootId,node,lastPacket'}
        resp = api(self.server, dict(params, order='rootId:asc'))
        has = ['rootId' in d for d in resp['data']]
        self.assertEqual(has, sorted(has, reverse=True))    # asc: missing _last
        resp = api(self.server, dict(params, order='rootId:desc'))
        has = ['rootId' in d for d in resp['data']]
        self.assertEqual(has, sorted(has))                   # desc: missing _first
        resp = api(self.server, dict(params, order='node:asc,lastPacket:desc'))
        keys = [(d['node'], -d['lastPacket']) for d in resp['data']]
        self.assertEqual(keys, sorted(keys))

    def test_paging_start_length(self):
        params = {'date': -1, 'bounding': 'database', 'order': '@timestamp:asc'}
        got = []
        for start in range(0, 1000, 100):
            got += ids(api(self.server, dict(params, start=start, length=100)))
        self.assertEqual(got, self.all_by_ts()[:1000])

    def test_deep_scroll_accounting(self):
        params = {'date': -1, 'bounding': 'database', 'order': '@timestamp:asc',
                  'fields': '@timestamp'}
        before = control(self.server, 'stats')['deep_scroll_docs']
        resp = api(self.server, dict(params, start=9980, length=20))     # from+size == 10000
        self.assertEqual(control(self.server, 'stats')['deep_scroll_docs'], before)
        self.assertEqual(resp['recordsFiltered'], 12000)  # exact: rest_total_hits_as_int=true
        resp = api(self.server, dict(params, start=9990, length=20))     # 10010 > 10000
        stats = control(self.server, 'stats')
        # searchScroll pulls 1000-hit batches until it holds from+size: 11 batches
        self.assertEqual(stats['deep_scroll_docs'] - before, 11000)
        self.assertEqual(ids(resp), self.all_by_ts()[9990:10010])
        self.assertEqual(resp['recordsFiltered'], 12000)                  # scroll counts exactly

    def test_records_filtered_exact_and_capped_total(self):
        # Arkime sends rest_total_hits_as_int=true, which makes OpenSearch count every hit
        # (checked against a real Arkime 6.7.1: tests/arkime/test_standin_conformance.py)
        resp = api(self.server, {'date': -1, 'length': 1})
        self.assertEqual(resp['recordsFiltered'], 12000)
        capped = start(self.docs, exact_total=False)   # --capped-total
        try:
            self.assertEqual(api(capped, {'date': -1, 'length': 1})['recordsFiltered'], 10000)
            # the scroll path counts exactly either way
            self.assertEqual(api(capped, {'date': -1, 'start': 9990, 'length': 20})
                             ['recordsFiltered'], 12000)
        finally:
            stop(capped)

    def test_fields_filter_and_always_present(self):
        resp = api(self.server, {'date': -1, 'length': 5,
                                 'fields': 'firstPacket,network.packets,tcpflags'})
        for item in resp['data']:
            # like the ES fields API, an object name ('tcpflags') selects no leaf field; the
            # nested mode always has source/destination (with empty as, geo), client, server;
            # fixFileIds adds fileId [] (checked against a real Arkime 6.7.1)
            self.assertEqual(set(item), {'firstPacket', 'network', 'node', 'source', 'client',
                                         'server', 'destination', 'id', 'fileId'})
            self.assertEqual(set(item['network']), {'packets'})
            self.assertEqual(set(item['source']), {'ip', 'port', 'as', 'geo'})
            self.assertEqual(item['source']['as'], {})
            self.assertEqual(set(item['destination']), {'ip', 'port', 'as', 'geo'})
            self.assertEqual(item['fileId'], [])
            self.assertIn('node', item)
            self.assertEqual(list(item)[-1], 'id')

    def test_flatten(self):
        resp = api(self.server, {'date': -1, 'length': 5, 'flatten': 1,
                                 'fields': '@timestamp,network.packets,source.geo'})
        for item in resp['data']:
            self.assertIn('source.ip', item)
            self.assertIn('network.packets', item)
            self.assertFalse(any(isinstance(v, dict) for v in item.values()))
        nested = api(self.server, {'date': -1, 'length': 5, 'flatten': 'true'})
        self.assertIsInstance(nested['data'][0]['source'], dict)  # parseInt('true') !== 1

    def test_gzip(self):
        status, headers, data = request(self.server, '/api/sessions?date=-1&length=200',
                                        headers={'Accept-Encoding': 'gzip'})
        self.assertEqual(status, 200)
        self.assertEqual(headers.get('content-encoding'), 'gzip')
        self.assertEqual(int(headers['content-length']), len(data))
        self.assertEqual(len(json.loads(gzip.decompress(data))['data']), 200)

    def test_keep_alive(self):
        host, port = self.server.server_address[:2]
        conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            conn.request('GET', '/api/sessions?length=1&date=-1')
            conn.getresponse().read()
            sock = conn.sock
            for _ in range(3):
                conn.request('POST', '/api/sessions', body='{"length":2,"date":"-1"}',
                             headers={'Content-Type': 'application/json'})
                resp = conn.getresponse()
                self.assertEqual(len(json.loads(resp.read())['data']), 2)
                self.assertIs(conn.sock, sock)
        finally:
            conn.close()


# ---------------------------------------------------------------------------------------------
class TimeBoundsTests(unittest.TestCase):
    """startTime/stopTime are inclusive whole seconds for every bounding."""

    @classmethod
    def setUpClass(cls):
        cls.docs = [
            sess('A', T * 1000, (T + 10) * 1000, (T + 20) * 1000),
            sess('B', T * 1000 - 1, (T + 10) * 1000 + 1, (T + 20) * 1000 + 1),
            sess('C', (T + 10) * 1000, (T + 30) * 1000, (T + 40) * 1000),
            sess('D', (T - 100) * 1000, (T - 50) * 1000, (T + 10) * 1000),  # late-indexed
        ]
        cls.server = start(cls.docs)

    @classmethod
    def tearDownClass(cls):
        stop(cls.server)

    def found(self, **params):
        """Sorted ids for a query."""
        return sorted(ids(api(self.server, params)))

    def test_each_bounding(self):
        window = {'startTime': T, 'stopTime': T + 10}
        self.assertEqual(self.found(**window), ['A'])                          # default last
        self.assertEqual(self.found(bounding='last', **window), ['A'])
        self.assertEqual(self.found(bounding='first', **window), ['A', 'C'])
        self.assertEqual(self.found(bounding='both', **window), ['A'])
        self.assertEqual(self.found(bounding='either', **window), ['A', 'B', 'C'])
        self.assertEqual(self.found(bounding='database', **window), ['D'])
        self.assertEqual(self.found(bounding='bogus', **window), ['A'])        # default: last
        self.assertEqual(self.found(bounding='database', startTime=T + 20, stopTime=T + 20),
                         ['A'])

    def test_strictly_forces_both(self):
        window = {'startTime': T, 'stopTime': T + 10, 'bounding': 'first'}
        self.assertEqual(self.found(strictly='true', **window), ['A'])
        self.assertEqual(self.found(strictly='false', **window), ['A', 'C'])

    def test_times_win_over_date_unless_all(self):
        window = {'startTime': T, 'stopTime': T + 10}
        self.assertEqual(self.found(date=1, **window), ['A'])
        self.assertEqual(self.found(date=-1, **window), ['A', 'B', 'C', 'D'])
        self.assertEqual(self.found(date='all', **window), ['A', 'B', 'C', 'D'])  # NaN -> -1
        self.assertEqual(self.found(startTime=T), [])  # no stopTime: date=1 back from now

    def test_iso_times_and_json_numbers(self):
        body = {'startTime': '2024-05-18T10:00:00Z', 'stopTime': '2024-05-18T10:00:10Z',
                'bounding': 'first'}
        self.assertEqual(sorted(ids(api(self.server, body=body))), ['A', 'C'])
        body = {'startTime': T, 'stopTime': T + 10.0, 'bounding': 'first'}
        self.assertEqual(sorted(ids(api(self.server, body=body))), ['A', 'C'])
        err = api(self.server, body={'startTime': T + 0.5, 'stopTime': T + 10})
        self.assertIn('startTime', err['error'])
        err = api(self.server, body={'startTime': True, 'stopTime': T + 10})
        self.assertEqual(err['error'], 'startTime must be a string or number')  # err.message

    def test_json_date_minus_one_quirk(self):
        # '-1' (string) means all; JSON -1 passes determineQueryTimes but not the === '-1'
        # test in BuildQuery.build, so Arkime filters lastPacket >= 0 (or, for 'either',
        # firstPacket <= 0 as well, which matches nothing).
        self.assertEqual(len(api(self.server, body={'date': -1})['data']), 4)
        self.assertEqual(len(api(self.server, body={'date': -1, 'bounding': 'either'})['data']), 0)
        self.assertEqual(len(api(self.server, body={'date': '-1', 'bounding': 'either'})['data']),
                         4)

    def test_post_body_overrides_url(self):
        base = '/api/sessions?date=-1&length=3&order=lastPacket:desc'
        status, _, data = request(self.server, base, 'POST', {'length': 1})
        resp = json.loads(data)
        self.assertEqual(ids(resp), ['C'])
        status, _, data = request(self.server, base, 'POST', 'length=2',
                                  {'Content-Type': 'application/x-www-form-urlencoded'})
        self.assertEqual(ids(json.loads(data)), ['C', 'B'])
        # JSON sent with curl's default form content type is not read as JSON (body-parser)
        status, _, data = request(self.server, base, 'POST', '{"length":1}',
                                  {'Content-Type': 'application/x-www-form-urlencoded'})
        self.assertEqual(len(json.loads(data)['data']), 3)

    def test_get_ignores_body_and_bad_json_is_400(self):
        status, _, data = request(self.server, '/api/sessions?date=-1', 'GET', '{"length":1}',
                                  {'Content-Type': 'application/json'})
        self.assertEqual(len(json.loads(data)['data']), 4)
        status, _, _ = request(self.server, '/api/sessions', 'POST', '{"length":',
                               {'Content-Type': 'application/json'})
        self.assertEqual(status, 400)

    def test_warm(self):
        self.assertEqual(control(self.server, 'warm', {'fields': 'node', 'flatten': 1})['warmed'],
                         4)
        resp = api(self.server, {'date': -1, 'fields': 'node', 'flatten': 1, 'length': 1})
        self.assertEqual(set(resp['data'][0]), {'node', 'source.ip', 'source.port',
                                                'destination.ip', 'destination.port', 'id',
                                                'fileId'})

    def test_missing_counters_are_minus_one_in_default_mode(self):
        doc = sess('E', T * 1000, T * 1000, T * 1000)
        del doc['source']['packets'], doc['client']
        server = start([doc])
        try:
            item = api(server, {'date': -1})['data'][0]
            self.assertEqual(item['source']['packets'], -1)
            self.assertEqual(item['client']['bytes'], -1)
            flat = api(server, {'date': -1, 'flatten': 1})['data'][0]
            self.assertEqual(flat['source.packets'], -1)
            explicit = api(server, {'date': -1, 'fields': 'source.packets'})['data'][0]
            self.assertNotIn('packets', explicit['source'])
        finally:
            stop(server)

    def test_stable_order_for_equal_keys(self):
        docs = [sess('s%d' % i, T * 1000, T * 1000, (T + i % 2) * 1000) for i in range(10)]
        server = start(docs)
        try:
            resp = api(server, {'date': -1, 'order': '@timestamp:asc'})
            self.assertEqual(ids(resp), ['s0', 's2', 's4', 's6', 's8', 's1', 's3', 's5', 's7',
                                         's9'])
            resp = api(server, {'date': -1, 'order': '@timestamp:desc'})
            self.assertEqual(ids(resp), ['s1', 's3', 's5', 's7', 's9', 's0', 's2', 's4', 's6',
                                         's8'])
            resp = api(server, {'date': -1})  # default firstPacket asc: all equal
            self.assertEqual(ids(resp), ['s%d' % i for i in range(10)])
        finally:
            stop(server)

    def test_max_sessions_queried(self):
        docs = [sess('m%d' % i, T * 1000, T * 1000, T * 1000) for i in range(80)]
        server = start(docs, max_sessions_queried=50)
        try:
            self.assertEqual(len(api(server, {'date': -1, 'length': 1000})['data']), 50)
        finally:
            stop(server)


# ---------------------------------------------------------------------------------------------
class ExpressionTests(unittest.TestCase):
    """The expression subset against hand-made sessions."""

    @classmethod
    def setUpClass(cls):
        def mk(sid, proto, packets, sip, dip, dport=445, node='sensor01', databytes=0):
            doc = sess(sid, T * 1000, T * 1000, T * 1000, ipProtocol=proto, node=node,
                       totDataBytes=databytes)
            doc['source'] = {'ip': sip, 'port': 40000, 'packets': packets, 'bytes': 60}
            doc['destination'] = {'ip': dip, 'port': dport, 'packets': 0, 'bytes': 0}
            doc['network'] = {'packets': packets, 'bytes': 60}
            return doc
        docs = [
            mk('1', 6, 1, '10.1.1.1', '10.2.2.2', 445),
            mk('2', 6, 1, '131.206.5.5', '10.2.2.2', 445),
            mk('3', 6, 1, '10.1.1.1', '131.206.1.1', 3389),
            mk('4', 17, 1, '10.1.1.1', '10.2.2.2', 53, node='sensor02'),
            mk('5', 6, 2, '10.1.1.1', '10.2.2.2', 80, databytes=500),
            mk('6', 6, 1, '2001:db8::1', 'fd00::2', 22),
            mk('7', 6, 1, '131.207.0.1', '10.0.0.1', 5985, node='other'),
            mk('8', 6, 1, '10.9.9.9', '10.2.2.2', 445),
        ]
        del docs[7]['network']['packets']
        cls.server = start(docs)

    @classmethod
    def tearDownClass(cls):
        stop(cls.server)

    def match(self, expression):
        """Sorted ids matching an expression."""
        resp = api(self.server, {'date': -1, 'expression': expression})
        self.assertNotIn('error', resp, expression)
        return sorted(ids(resp))

    def error(self, expression):
        """The error string for an expression Arkime rejects."""
        resp = api(self.server, {'date': -1, 'expression': expression})
        self.assertEqual((resp['data'], resp['recordsFiltered'], resp['recordsTotal']),
                         ([], 0, 0))
        return resp['error']

    def test_study_rule(self):
        self.assertEqual(self.match(RULE), ['1', '6', '7'])
        self.assertEqual(sorted(ids(api(self.server, body={'date': '-1', 'expression': RULE}))),
                         ['1', '6', '7'])

    def test_ips(self):
        self.assertEqual(self.match('ip == 131.206.0.0/16'), ['2', '3'])
        self.assertEqual(self.match('ip != 131.206.0.0/16'), ['1', '4', '5', '6', '7', '8'])
        self.assertEqual(self.match('ip.src == [10.1.1.1,2001:db8::1]'), ['1', '3', '4', '5', '6'])
        self.assertEqual(self.match('ip.dst == 10.2.2.2:445'), ['1', '2', '8'])
        self.assertEqual(self.match('ip.src == 10.1'), ['1', '3', '4', '5'])   # /16 shorthand
        self.assertEqual(self.match('ip.src == 2001:db8::/32'), ['6'])
        self.assertEqual(self.match('ip.src == ipv6'), ['6'])
        self.assertEqual(self.match('ip.src == 131.206.5.5 || ip.dst == fd00::2'), ['2', '6'])

    def test_numbers_ports_protocols_nodes(self):
        self.assertEqual(self.match('port.dst == [445,3389]'), ['1', '2', '3', '8'])
        self.assertEqual(self.match('ip.protocol == udp'), ['4'])
        self.assertEqual(self.match('ip.protocol == 17'), ['4'])
        self.assertEqual(self.match('ip.protocol != tcp'), ['4'])
        self.assertEqual(self.match('packets >= 2'), ['5'])
        self.assertEqual(self.match('packets == 1-3'), ['1', '2', '3', '4', '5', '6', '7'])
        self.assertEqual(self.match('databytes > 100'), ['5'])
        self.assertEqual(self.match('node == sensor0*'), ['1', '2', '3', '4', '5', '6', '8'])
        self.assertEqual(self.match('node == [other,sensor02]'), ['4', '7'])
        self.assertEqual(self.match('packets != EXISTS!'), ['8'])

    def test_precedence_and_negation(self):
        self.assertEqual(self.match('ip.protocol == udp || ip.protocol == tcp && packets == 2'),
                         ['4', '5'])
        self.assertEqual(self.match('(ip.protocol == udp || ip.protocol == tcp) && packets == 2'),
                         ['5'])
        self.assertEqual(self.match('!(ip.protocol == tcp) || packets == 2'), ['4', '5'])
        self.assertEqual(self.match('!ip.protocol == tcp && port.dst == 53'), ['4'])

    def test_errors(self):
        self.assertEqual(self.error('ip.src =='),
                         "Parse error on line 1:\nip.src ==\n---------^\nExpecting 'STR', "
                         "'QUOTEDSTR', 'REGEXSTR', 'LIST', 'EXISTS', got 'EOF'")
        self.assertTrue(self.error('ip.src == 1.2.3.4 &&').startswith('Parse error on line 1:'))
        self.assertTrue(self.error('(packets == 1').endswith("got 'EOF'"))
        self.assertEqual(self.error('foo == 1'), 'Unknown field foo')
        self.assertEqual(self.error('ip.protocol == blah'), 'Unknown protocol string blah')
        self.assertEqual(self.error('packets == abc'), 'abc is not a number')
        self.assertEqual(self.error('ip.protocol > 5'), "Invalid operator 'gt' for ip.protocol")
        self.assertEqual(self.error('ip.src == 1.2.3.x'), '1.2.3.x not a valid ip')
        resp = api(self.server, body={'date': '-1', 'expression': ['a']})
        self.assertEqual(resp['error'], 'Expression needs to be a string')
        resp = api(self.server, {'date': -1, 'order': 'a', 'view': 'nope'})
        self.assertEqual(resp['error'], "Can't find view")


# ---------------------------------------------------------------------------------------------
class AuthTests(unittest.TestCase):
    """Digest (default in Arkime 5) and Basic."""

    def open(self, server, user, password, handler_cls, path='/api/sessions?date=-1&length=1'):
        """Fetch with urllib's digest or basic handler."""
        base = server.url()
        mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        mgr.add_password(None, base, user, password)
        opener = urllib.request.build_opener(handler_cls(mgr))
        with opener.open(base + path, timeout=10) as resp:
            return resp.status, json.loads(resp.read())

    def check_login(self, server, password, wrong, handler_cls):
        """admin with password gets session A, with wrong a 401; then the answer (status,
        headers, data) to a request without credentials."""
        status, body = self.open(server, 'admin', password, handler_cls)
        self.assertEqual((status, ids(body)), (200, ['A']))
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            self.open(server, 'admin', wrong, handler_cls)
        self.assertEqual(ctx.exception.code, 401)
        return request(server, '/api/sessions')

    def test_digest(self):
        server = start([sess('A', T * 1000, T * 1000, T * 1000)], auth='digest', password='s3cr')
        try:
            status, headers, data = self.check_login(server, 's3cr', 'wrong',
                                                     urllib.request.HTTPDigestAuthHandler)
            self.assertEqual((status, data), (401, b'Unauthorized'))
            self.assertRegex(headers['www-authenticate'],
                             r'^Digest realm="Moloch", nonce="[A-Za-z0-9]{32}", qop="auth"$')
            # stand-in control API needs no credentials
            self.assertEqual(control(server, 'stats')['requests']['unauthorized'] >= 1, True)
        finally:
            stop(server)

    def test_digest_nonce_reuse_like_a_persistent_libcurl_handle(self):
        import hashlib

        def md5(text):
            return hashlib.md5(text.encode()).hexdigest()

        def authorization(nonce, nc, uri, method='GET', password='pw'):
            ha1, ha2 = md5('admin:Moloch:' + password), md5(method + ':' + uri)
            resp = md5('%s:%s:%08x:abc:auth:%s' % (ha1, nonce, nc, ha2))
            return ('Digest username="admin", realm="Moloch", nonce="%s", uri="%s", '
                    'cnonce="abc", nc=%08x, qop=auth, response="%s"' % (nonce, uri, nc, resp))

        for strict in (False, True):
            server = start([sess('A', 1, 1, 1)], auth='digest', password='pw',
                           strict_nonce=strict)
            try:
                uri = '/api/sessions?date=-1'
                _, headers, _ = request(server, uri)
                nonce = headers['www-authenticate'].split('nonce="')[1].split('"')[0]
                for nc in (1, 2, 3):  # same nonce, rising nc: accepted
                    status, _, _ = request(server, uri, headers={
                        'Authorization': authorization(nonce, nc, uri)})
                    self.assertEqual(status, 200)
                replay = request(server, uri, headers={
                    'Authorization': authorization(nonce, 2, uri)})[0]
                made_up = request(server, uri, headers={
                    'Authorization': authorization('x' * 32, 1, uri)})[0]
                # Arkime's nonce validator accepts anything; --strict-nonce does not
                self.assertEqual((replay, made_up), (401, 401) if strict else (200, 200))
                wrong_uri = request(server, uri, headers={
                    'Authorization': authorization(nonce, 9, '/api/sessions')})[0]
                self.assertEqual(wrong_uri, 400)  # passport: uri must equal req.url
                bad_pw = request(server, uri, headers={
                    'Authorization': authorization(nonce, 10, uri, password='no')})[0]
                self.assertEqual(bad_pw, 401)
            finally:
                stop(server)

    def test_basic(self):
        server = start([sess('A', T * 1000, T * 1000, T * 1000)], auth='basic', password='pw')
        try:
            status, headers, _ = self.check_login(server, 'pw', 'nope',
                                                  urllib.request.HTTPBasicAuthHandler)
            self.assertEqual(headers['www-authenticate'], 'Basic realm="Moloch"')
        finally:
            stop(server)

    @unittest.skipUnless(shutil.which('curl'), 'curl not installed')
    def test_curl_anyauth(self):
        server = start([sess('A', T * 1000, T * 1000, T * 1000)], auth='digest', password='pw')
        try:
            url = server.url() + '/api/sessions'
            out = subprocess.run(['curl', '-sS', '--anyauth', '-u', 'admin:pw',
                                  url + '?date=-1'], capture_output=True, timeout=20)
            self.assertEqual(ids(json.loads(out.stdout)), ['A'])
            out = subprocess.run(['curl', '-sS', '--digest', '-u', 'admin:pw', '--compressed',
                                  '-H', 'Content-Type: application/json',
                                  '-d', '{"date":"-1","fields":"node","flatten":1}', url],
                                 capture_output=True, timeout=20)
            self.assertEqual(json.loads(out.stdout)['data'][0]['source.ip'], '10.0.0.1')
            out = subprocess.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
                                  '--anyauth', '-u', 'admin:bad', url], capture_output=True,
                                 timeout=20)
            self.assertEqual(out.stdout, b'401')
        finally:
            stop(server)


# ---------------------------------------------------------------------------------------------
class FaultTests(unittest.TestCase):
    """Every injected fault, on /api/sessions only."""

    def setUp(self):
        self.server = start([sess('s%d' % i, T * 1000, T * 1000, (T + i) * 1000)
                             for i in range(10)])
        self.q = '/api/sessions?date=-1&length=10&order=@timestamp:asc'

    def tearDown(self):
        stop(self.server)

    def get(self, timeout=10):
        """The sessions query."""
        return request(self.server, self.q, timeout=timeout)

    def test_http500_with_count(self):
        control(self.server, 'faults', {'kind': 'http500', 'count': 2})
        self.assertEqual(self.get()[0], 500)
        status, _, data = self.get()
        self.assertEqual((status, json.loads(data)['success']), (500, False))
        self.assertEqual(self.get()[0], 200)
        self.assertEqual(control(self.server, 'stats')['faults_injected'], {'http500': 2})

    def test_until_cleared(self):
        control(self.server, 'faults', {'kind': 'garbage', 'count': -1})
        for _ in range(3):
            status, _, data = self.get()
            self.assertEqual(status, 200)
            with self.assertRaises(ValueError):
                json.loads(data)
        self.assertEqual(control(self.server, 'stats')['requests']['control'], 2)
        control(self.server, 'faults', {'kind': 'none'})
        self.assertEqual(len(json.loads(self.get()[2])['data']), 10)

    def test_hang(self):
        control(self.server, 'faults', {'kind': 'hang', 'seconds': 1})
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.get(timeout=0.3)
        control(self.server, 'faults', {'kind': 'hang', 'seconds': 0.5})
        t0 = time.monotonic()
        status, _, data = self.get()
        self.assertGreaterEqual(time.monotonic() - t0, 0.45)
        self.assertEqual(len(json.loads(data)['data']), 10)

    def test_truncate(self):
        control(self.server, 'faults', {'kind': 'truncate'})
        host, port = self.server.server_address[:2]
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request('GET', self.q)
        resp = conn.getresponse()
        with self.assertRaises(http.client.IncompleteRead):
            resp.read()
        conn.close()
        self.assertEqual(self.get()[0], 200)

    def test_error_json(self):
        control(self.server, 'faults', {'kind': 'error_json', 'message': 'boom'})
        resp = json.loads(self.get()[2])
        self.assertEqual((resp['error'], resp['data']), ('boom', []))

    def test_short_page(self):
        control(self.server, 'faults', {'kind': 'short_page'})
        resp = json.loads(self.get()[2])
        self.assertEqual(ids(resp), ['s0', 's1', 's2', 's3', 's4'])
        self.assertEqual(resp['recordsFiltered'], 10)

    def test_unauthorized(self):
        control(self.server, 'faults', {'kind': 'unauthorized'})
        status, headers, _ = self.get()
        self.assertEqual(status, 401)
        self.assertIn('www-authenticate', headers)
        self.assertEqual(self.get()[0], 200)

    def test_ignore_param(self):
        control(self.server, 'faults', {'kind': 'ignore_param', 'param': 'length', 'count': 1})
        self.assertEqual(len(json.loads(request(self.server, self.q.replace('length=10',
                                                                             'length=2'))[2])
                             ['data']), 10)
        self.assertEqual(len(json.loads(request(self.server, self.q.replace('length=10',
                                                                             'length=2'))[2])
                             ['data']), 2)
        control(self.server, 'faults', {'kind': 'ignore_param', 'param': 'bounding'})
        q = '/api/sessions?bounding=database&startTime=%d&stopTime=%d' % (T + 5, T + 5)
        self.assertEqual(json.loads(request(self.server, q)[2])['data'], [])  # on lastPacket
        self.assertEqual(ids(json.loads(request(self.server, q)[2])), ['s5'])

    def test_bad_fault_and_reset(self):
        status, _, _ = request(self.server, '/_standin/faults', 'POST', {'kind': 'nope'})
        self.assertEqual(status, 400)
        control(self.server, 'faults', [{'kind': 'http500', 'count': -1}])
        control(self.server, 'sessions', [sess('x', 1, 1, 1)])
        self.assertEqual(control(self.server, 'stats')['sessions_total'], 11)
        control(self.server, 'reset', {})
        stats = control(self.server, 'stats')
        self.assertEqual((stats['sessions_total'], stats['faults_active']), (10, []))
        self.assertEqual(self.get()[0], 200)


# ---------------------------------------------------------------------------------------------
class VisibilityTests(unittest.TestCase):
    """A session becomes searchable refresh_ms after its @timestamp."""

    def test_refresh(self):
        server = start([], refresh_ms=400)
        try:
            now = server.now_ms()
            control(server, 'sessions', [sess('late', now - 900000, now - 600000, now)])
            q = {'date': -1, 'bounding': 'database'}
            first = api(server, q)
            self.assertEqual((first['data'], first['recordsTotal']), ([], 0))
            self.assertEqual(api(server, {'startTime': (now - 900000) // 1000,
                                          'stopTime': now // 1000})['data'], [])
            time.sleep(0.6)
            self.assertEqual(ids(api(server, q)), ['late'])
            self.assertEqual(api(server, q)['recordsTotal'], 1)
            control(server, 'clock', {'shift_ms': -10000})
            self.assertEqual(api(server, q)['data'], [])
        finally:
            stop(server)

    def test_jsonl_body(self):
        server = start([])
        try:
            body = '\n'.join(json.dumps(sess('j%d' % i, 1, 1, 1)) for i in range(3))
            status, _, data = request(server, '/_standin/sessions', 'POST', body)
            self.assertEqual(json.loads(data)['added'], 3)
            self.assertEqual(len(api(server, {'date': -1})['data']), 3)
        finally:
            stop(server)


# ---------------------------------------------------------------------------------------------
class CommandLineTests(unittest.TestCase):
    """viewer.py as a process: startup line, port file, SIGTERM, loopback-only."""

    def test_start_and_sigterm(self):
        with tempfile.TemporaryDirectory() as tmp:
            port_file = os.path.join(tmp, 'port')
            jsonl = os.path.join(tmp, 'sessions.jsonl')
            with open(jsonl, 'w') as fh:
                fh.write(json.dumps(sess('file1', 1, 1, 1)) + '\n\n')
                fh.write(json.dumps(sess('file2', 2, 2, 2)) + '\n')
            proc = subprocess.Popen([sys.executable, os.path.join(HERE, 'viewer.py'),
                                     '--auth', 'none', '--generate', '48', '--sessions', jsonl,
                                     '--port-file', port_file], stdout=subprocess.PIPE, text=True)
            try:
                line = proc.stdout.readline().strip()
                self.assertRegex(line, r'^standin-viewer listening on http://127\.0\.0\.1:\d+$')
                port = int(line.rsplit(':', 1)[1])
                with open(port_file) as fh:
                    self.assertEqual(int(fh.read()), port)
                with urllib.request.urlopen('http://127.0.0.1:%d/api/sessions?date=-1' % port,
                                            timeout=10) as resp:
                    data = json.loads(resp.read())['data']
                self.assertEqual(len(data), 50)
                self.assertEqual([d['id'] for d in data[:2]], ['file1', 'file2'])
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(10), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.stdout.close()

    def test_refuses_remote_and_missing_password(self):
        out = subprocess.run([sys.executable, os.path.join(HERE, 'viewer.py'), '--auth', 'none',
                              '--host', '0.0.0.0'], capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 2)
        self.assertIn('non-loopback', out.stderr)
        env = dict(os.environ)
        env.pop('STANDIN_PASSWORD', None)
        out = subprocess.run([sys.executable, os.path.join(HERE, 'viewer.py')],
                             capture_output=True, text=True, timeout=20, env=env)
        self.assertEqual(out.returncode, 2)
        self.assertIn('password', out.stderr)

    @unittest.skipUnless(shutil.which('openssl'), 'openssl not installed')
    def test_tls(self):
        with tempfile.TemporaryDirectory() as tmp:
            key, cert = os.path.join(tmp, 'k.pem'), os.path.join(tmp, 'c.pem')
            subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                            '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'],
                           check=True, capture_output=True, timeout=60)
            server = start([sess('A', 1, 1, 1)], tls_cert=cert, tls_key=key)
            try:
                ctx = ssl.create_default_context(cafile=cert)
                ctx.check_hostname = False
                self.assertTrue(server.url().startswith('https://'))
                with urllib.request.urlopen(server.url() + '/api/sessions?date=-1',
                                            context=ctx, timeout=10) as resp:
                    self.assertEqual(ids(json.loads(resp.read())), ['A'])
            finally:
                stop(server)


if __name__ == '__main__':
    unittest.main()
