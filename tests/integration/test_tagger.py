"""Integration: fanwatch-tagger between a real Kafka broker (alerts topic) and the stand-in Arkime
viewer's /api/sessions/addtags (tests/arkime_standin/viewer.py records what each request tagged).

Run by ctest (label integration) with the broker of the 'kafka' fixture:
    FW_KAFKA_DIR=<dir with bootstrap> FW_TAGGER=<fanwatch-tagger> python3 -m unittest test_tagger
The alerts are synthetic documents over the stand-in's generated sessions, so the sessions each
alert must tag are known independently (source address and firstPacket range). The invariant
checked while the tagger runs: a partition's committed offset never passes an alert the viewer
has not confirmed.
"""

import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import unittest
import uuid

from confluent_kafka import Consumer, Producer as KafkaProducer, TopicPartition

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'arkime_standin'))
from standin_store import generate  # noqa: E402
sys.path.insert(0, os.path.join(HERE, '..', 'support'))
from fwtest import (LoggedRuns, bootstrap, create_topics, http_get, metrics_base,  # noqa: E402
                    wait_for)
from test_producer import PASSWORD, STANDIN, Viewer, free_port  # noqa: E402

PARTITIONS = 3
SEED, COUNT, SPAN_S = 5, 3000, 3600


def iso(ms):
    """ms since 1970 as the alert's time format, 2024-05-18T10:00:05.123Z."""
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(ms // 1000)) + '.%03dZ' % (ms % 1000)


def make_alert(rule, start_ms, end_ms, expr, sessions):
    """An alert document with the fields the tagger reads (and some it does not)."""
    aid = uuid.uuid4().hex
    doc = {'@timestamp': iso(end_ms), 'event': {'kind': 'alert', 'id': aid},
           'rule': {'id': rule}, 'fanwatch': {'sessions': sessions, 'count': sessions,
                                              'window': {'start': iso(start_ms),
                                                         'end': iso(end_ms)}}}
    if expr is not None:
        doc['fanwatch']['expression'] = expr
    return doc


class StandinViewer(Viewer):
    """test_producer's stand-in viewer (digest auth, generated sessions), on a chosen port."""

    def __init__(self, tmp, port=0):
        import subprocess
        self.port_file = os.path.join(tmp, 'viewer.port')
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.log = open(os.path.join(tmp, 'viewer.log'), 'a')
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(STANDIN, 'viewer.py'), '--generate', str(COUNT),
             '--seed', str(SEED), '--start-ms', str(TaggerTest.start_ms), '--span-s',
             str(SPAN_S), '--auth', 'digest', '--user', 'fanwatch', '--password', PASSWORD,
             '--port', str(port), '--port-file', self.port_file],
            stdout=self.log, stderr=subprocess.STDOUT)
        port = wait_for(self._port, 60, 'the stand-in viewer to listen')
        self.url = 'http://127.0.0.1:%d' % int(port)
        self.tls = None


class Tagger(LoggedRuns):
    """fanwatch-tagger as a subprocess, configured through the environment."""

    def __init__(self, tmp, url, topic, group, extra=None):
        super().__init__(tmp, 'tagger')
        self.env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'FANWATCH_ARKIME_URL': url,
            'FANWATCH_ARKIME_USER': 'fanwatch',
            'FANWATCH_ARKIME_PASSWORD': PASSWORD,
            'FANWATCH_ARKIME_TIMEOUT': '10s',
            'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': bootstrap(),
            'FANWATCH_TOPICS_ALERTS': topic,
            'FANWATCH_TAGGER_GROUP': group,
            'FANWATCH_TAGGER_RATE': '200',
            'FANWATCH_TAGGER_RETRY__BACKOFF__MAX': '1s',
            'FANWATCH_LOG_LEVEL': 'info',
        }
        self.env.update(extra or {})

    def start(self):
        self.popen([os.environ['FW_TAGGER']], env=self.env)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        """Signal it; (exit status, seconds to exit)."""
        t0 = time.monotonic()
        if self.running():
            self.proc.send_signal(sig)
            rc = self.proc.wait(timeout=30)
        else:
            rc = self.proc.returncode
        self.log.close()
        return rc, time.monotonic() - t0

    def metrics(self):
        """{'name{labels}': value} from /metrics ({} before it listens)."""
        base = metrics_base(self.logs[-1])
        if not base:
            return {}
        status, body = http_get(base + '/metrics')
        out = {}
        for line in body.splitlines() if status == 200 else []:
            if line and not line.startswith('#'):
                name, _, value = line.rpartition(' ')
                out[name] = float(value)
        return out


class TaggerTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.start_ms = int(time.time() * 1000) - 3 * 3600 * 1000
        cls.sessions = generate(COUNT, SEED, cls.start_ms, SPAN_S)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='fw-tagger-')
        self.topic = 'alerts-' + uuid.uuid4().hex[:12]
        self.group = 'tagger-' + uuid.uuid4().hex[:12]
        create_topics((self.topic, PARTITIONS))
        self.viewer = None
        self.taggers = []
        self.offsets = {}  # alert id -> (partition, offset)
        self.alerts = {}   # alert id -> document
        self.prior = set()  # alerts confirmed by the viewer before a /_standin/reset

    def tearDown(self):
        for t in self.taggers:
            if t.running():
                t.stop(signal.SIGKILL)
        if self.viewer:
            self.viewer.stop()
        if not os.environ.get('FW_KEEP_TMP'):
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- helpers -----------------------------------------------------------------------------
    def start_viewer(self, port=0):
        self.viewer = StandinViewer(self.tmp, port)
        return self.viewer

    def tagger(self, url=None, extra=None):
        t = Tagger(self.tmp, url or self.viewer.url, self.topic, self.group, extra)
        self.taggers.append(t)
        return t.start()

    def alerts_over_sessions(self, n, rule='address_sweep'):
        """n alerts, each over one IPv4 source's sessions in a window around one of its
        sessions, with fractional window bounds (the tagger floors the start, ceils the end)."""
        out, seen = [], set()
        for s in self.sessions[::max(1, COUNT // (n * 3))]:
            ip = s['source']['ip']
            if ':' in ip or ip in seen:
                continue
            seen.add(ip)
            fp = s['firstPacket']
            out.append(make_alert(rule, fp - 90000 + 123, fp + 30000 - 456, 'ip.src == %s' % ip,
                                  1))
            if len(out) == n:
                break
        self.assertEqual(len(out), n)
        return out

    def expected_sessions(self, doc):
        """The ids of the sessions the alert's link shows: its source (if any) and firstPacket
        within [floor(start), ceil(end)] seconds."""
        w = doc['fanwatch']['window']
        start = math.floor(parse_ms(w['start']) / 1000) * 1000
        stop = math.ceil(parse_ms(w['end']) / 1000) * 1000
        expr = doc['fanwatch'].get('expression')
        ip = expr.split('== ')[1] if expr else None
        return sorted(s['id'] for s in self.sessions
                      if start <= s['firstPacket'] <= stop and (ip is None or
                                                                 s['source']['ip'] == ip))

    def produce(self, docs, raw=()):
        """Send the alert documents (key = id) and raw (key, bytes) messages; remember where
        each went."""
        p = KafkaProducer({'bootstrap.servers': bootstrap(), 'enable.idempotence': True})

        def on_delivery(err, msg):
            self.assertIsNone(err)
            self.offsets[msg.key().decode()] = (msg.partition(), msg.offset())
        for d in docs:
            self.alerts[d['event']['id']] = d
            p.produce(self.topic, json.dumps(d).encode(), key=d['event']['id'].encode(),
                      on_delivery=on_delivery)
        for key, value in raw:
            p.produce(self.topic, value, key=key.encode(), on_delivery=on_delivery)
        self.assertEqual(p.flush(30), 0)

    def end_offsets(self):
        c = Consumer({'bootstrap.servers': bootstrap(), 'group.id': 'ends-' + uuid.uuid4().hex})
        try:
            return {p: c.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1]
                    for p in range(PARTITIONS)}
        finally:
            c.close()

    def committed(self):
        """The group's committed offset per partition (-1 when none)."""
        c = Consumer({'bootstrap.servers': bootstrap(), 'group.id': self.group})
        try:
            tps = c.committed([TopicPartition(self.topic, p) for p in range(PARTITIONS)],
                              timeout=10)
            return {tp.partition: tp.offset if tp.offset >= 0 else -1 for tp in tps}
        finally:
            c.close()

    def wait_all_committed(self, timeout=120):
        ends = self.end_offsets()

        def done():
            self.check_invariant()
            c = self.committed()
            return all(c[p] == ends[p] for p in range(PARTITIONS))
        wait_for(done, timeout, 'the group to commit the end of %s' % self.topic, interval=0.3)

    def tags(self):
        return self.viewer.control('/_standin/tags')

    def confirmed(self, tags=None):
        """Alert ids the viewer recorded a (non-faulted) addtags request for."""
        tags = tags or self.tags()
        out = set()
        for r in tags['requests']:
            for t in r['tags']:
                if t.startswith('fanwatch:') and t[9:] in self.alerts:
                    out.add(t[9:])
        return out

    def check_invariant(self):
        """No committed offset passes an alert the viewer has not confirmed."""
        committed = self.committed()
        confirmed = self.confirmed() | self.prior
        for aid, (p, off) in self.offsets.items():
            if aid in self.alerts and off < committed[p]:
                self.assertIn(aid, confirmed, 'partition %d committed %d past alert %s at %d '
                              'that the viewer did not confirm' % (p, committed[p], aid, off))

    def check_requests(self, tags):
        """Every alert's requests are exactly the addtags request of its link, and it tagged
        exactly the sessions of its link."""
        for aid, doc in self.alerts.items():
            reqs = [r for r in tags['requests'] if 'fanwatch:' + aid in r['tags']]
            self.assertTrue(reqs, 'alert %s was never tagged' % aid)
            w = doc['fanwatch']['window']
            want = {'startTime': str(math.floor(parse_ms(w['start']) / 1000)),
                    'stopTime': str(math.ceil(parse_ms(w['end']) / 1000)),
                    'bounding': 'first', 'length': '1000000'}
            if 'expression' in doc['fanwatch']:
                want['expression'] = doc['fanwatch']['expression']
            rule = re.sub(r'[^-a-zA-Z0-9_:]', '', doc['rule']['id'])
            for r in reqs:
                self.assertEqual(r['query'], want)  # length: the stand-in's default, as Arkime's
                self.assertEqual(r['tags'], ['fanwatch', 'fanwatch:' + rule, 'fanwatch:' + aid])
                self.assertNotIn('date', r['body'])
                self.assertEqual(r['body']['tags'], ','.join(r['tags']))
            self.assertEqual(tags['tags'].get('fanwatch:' + aid, []),
                             self.expected_sessions(doc), 'alert %s' % aid)

    def stop_ok(self, t):
        rc, secs = t.stop()
        print('\n  tagger stopped: exit %d in %.2f s' % (rc, secs))
        self.assertEqual(rc, 0)
        self.assertLess(secs, 2.0)
        self.assertNotIn(PASSWORD, t.output())

    # --- tests -------------------------------------------------------------------------------
    def test_every_alert_tagged_exactly(self):
        """Each alert gives exactly its link's addtags request and tags exactly its sessions:
        sweeps, a rule id Arkime would strip, session_spike_total (no expression); an alert
        with no sessions is done (no_sessions); poison messages are reported and skipped."""
        self.start_viewer()
        docs = self.alerts_over_sessions(20)
        docs += self.alerts_over_sessions(3, rule='leak.v2/x')[:3]
        mid = self.sessions[COUNT // 2]['firstPacket']
        docs.append(make_alert('session_spike_total', mid - 2500, mid + 1500, None, 5))
        empty = make_alert('port_scan', self.start_ms - 86400000, self.start_ms - 86300000,
                           'ip.src == 192.0.2.1 && ip.dst == 192.0.2.2', 3)
        docs.append(empty)
        self.produce(docs, raw=[('poison-1', b'not json at all'),
                                ('poison-2', json.dumps({'event': {'kind': 'alert'}}).encode())])
        t = self.tagger()
        self.wait_all_committed()
        tags = self.tags()
        self.check_requests(tags)
        m = wait_for(lambda: t.metrics(), 10, 'metrics')
        print('\n  %d alerts, %d addtags requests, metrics %s' % (
            len(docs), len(tags['requests']),
            {k: v for k, v in m.items() if k.startswith('fanwatch_tagger_alerts')}))
        self.assertEqual(m['fanwatch_tagger_alerts_total{result="tagged"}'], len(docs) - 1)
        self.assertEqual(m['fanwatch_tagger_alerts_total{result="no_sessions"}'], 1)
        self.assertEqual(m['fanwatch_tagger_alerts_total{result="rejected"}'], 2)
        self.assertEqual(len(tags['requests']), len(docs))  # one each, no retries
        out = t.output()
        for key in ('poison-1', 'poison-2'):
            p, off = self.offsets[key]
            self.assertRegex(out, r'partition %d offset %d: this alert document can never be '
                                  r'tagged' % (p, off))
        self.assertIn('no event.id', out)
        self.assertIn('has no sessions for alert %s' % empty['event']['id'], out)
        self.stop_ok(t)

    def test_viewer_outage_loses_nothing(self):
        """A viewer answering 503 for a while, mid-run: nothing committed past an unconfirmed
        alert (checked throughout), every alert tagged after it recovers."""
        self.start_viewer()
        docs = self.alerts_over_sessions(30)
        self.produce(docs)
        t = self.tagger(extra={'FANWATCH_TAGGER_RATE': '10'})
        wait_for(lambda: len(self.confirmed()) >= 8, 60, 'a first few alerts tagged')
        self.viewer.control('/_standin/faults', {'kind': 'http500', 'status': 503, 'count': -1,
                                                 'message': 'viewer down'})
        t_down = time.monotonic()
        before = len(self.confirmed())
        while time.monotonic() - t_down < 6:
            self.check_invariant()
            time.sleep(0.3)
        committed = self.committed()
        self.assertEqual(len(self.confirmed()), before)
        self.assertLess(sum(committed.values()), len(docs))
        self.viewer.control('/_standin/faults', {'kind': 'none'})
        self.wait_all_committed()
        self.check_requests(self.tags())
        out = t.output()
        self.assertEqual(len(re.findall(r'tagging failed, holding partition', out)), 1,
                         'the cause is logged once')
        self.assertIn('viewer down', out)
        self.assertIn('confirms tags again', out)
        m = t.metrics()
        self.assertGreater(m['fanwatch_tagger_errors_total{kind="http"}'], 0)
        stats = self.viewer.control('/_standin/stats')
        print('\n  outage of 6 s: %d requests faulted, %d alerts all tagged' % (
            stats['faults_injected'].get('http500', 0), len(docs)))
        self.stop_ok(t)

    def test_viewer_stopped_loses_nothing(self):
        """No viewer at all for 5 s: nothing committed; once it listens, every alert tagged."""
        docs = self.alerts_over_sessions(12)
        self.produce(docs)
        port = free_port()
        t = self.tagger(url='http://127.0.0.1:%d' % port)
        wait_for(lambda: re.search(r'tagging failed, holding partition', t.output()), 30,
                 'a failed request')
        t_down = time.monotonic()
        while time.monotonic() - t_down < 5:
            self.assertEqual(set(self.committed().values()), {-1})
            time.sleep(0.5)
        self.start_viewer(port)
        self.wait_all_committed()
        self.check_requests(self.tags())
        self.assertGreater(t.metrics()['fanwatch_tagger_errors_total{kind="network"}'], 0)
        self.stop_ok(t)

    def test_restart_resends_only_the_uncommitted_tail(self):
        """SIGTERM mid-run commits what was confirmed; the next run sends requests only for
        alerts at or after the committed offsets."""
        self.start_viewer()
        docs = self.alerts_over_sessions(30)
        self.produce(docs)
        t = self.tagger(extra={'FANWATCH_TAGGER_RATE': '8'})
        wait_for(lambda: len(self.confirmed()) >= 12, 60, 'a dozen alerts tagged')
        self.stop_ok(t)
        committed = self.committed()
        first_run = self.confirmed()
        self.assertGreater(sum(max(0, c) for c in committed.values()), 0)
        # everything before a committed offset was confirmed in the first run
        for aid, (p, off) in self.offsets.items():
            if off < committed[p]:
                self.assertIn(aid, first_run)
        self.prior = first_run
        self.viewer.control('/_standin/reset', {})
        t2 = self.tagger()
        self.wait_all_committed()
        second = self.confirmed()
        resent = [a for a in second if a in first_run]
        for aid in second:
            p, off = self.offsets[aid]
            self.assertGreaterEqual(off, committed[p], 'alert %s before the committed offset '
                                    'was sent again' % aid)
        for aid, (p, off) in self.offsets.items():
            if off >= committed[p]:
                self.assertIn(aid, second)
        print('\n  restart: %d confirmed in run 1, %d sent in run 2, %d of them again' % (
            len(first_run), len(second), len(resent)))
        self.assertEqual(first_run | second, set(self.alerts))
        self.stop_ok(t2)

    def test_rate_limit(self):
        """tagger.rate = 4: over a measured stretch no more than 4/s (+1 for the bucket)."""
        self.start_viewer()
        docs = self.alerts_over_sessions(40)
        self.produce(docs)
        t = self.tagger(extra={'FANWATCH_TAGGER_RATE': '4'})
        wait_for(lambda: len(self.tags()['requests']) >= 2, 60, 'requests')
        n0, t0 = len(self.tags()['requests']), time.monotonic()
        time.sleep(4)  # the measured stretch (a duration, not a synchronisation)
        n1, t1 = len(self.tags()['requests']), time.monotonic()
        rate = (n1 - n0) / (t1 - t0)
        print('\n  rate limit 4/s: %d requests in %.2f s = %.2f/s' % (n1 - n0, t1 - t0, rate))
        self.assertLessEqual(n1 - n0, 4 * (t1 - t0) + 1)
        self.assertGreaterEqual(n1 - n0, 4 * (t1 - t0) * 0.6)
        self.stop_ok(t)

    def test_rebalance_drops_held_alerts_unstored(self):
        """A second tagger joins while the first holds failing alerts: the first drops them
        unstored at the (eager) revoke, nothing is committed, and once the viewer answers the two
        tag every alert; then one leaves and the other finishes its partitions."""
        self.start_viewer()
        self.viewer.control('/_standin/faults', {'kind': 'http500', 'status': 503, 'count': -1})
        docs = self.alerts_over_sessions(12)
        self.produce(docs)
        a = self.tagger()
        wait_for(lambda: len(re.findall(r'holding partition', a.output())) >= 1 and
                 a.metrics().get('fanwatch_tagger_held_messages', 0) >= 2, 60,
                 'the first tagger holding alerts')
        b = self.tagger()
        wait_for(lambda: 'revoked while holding offset' in a.output() and
                 re.search(r'assigned [1-9]\d* partitions', b.output()) and
                 len(re.findall(r'assigned [1-9]\d* partitions', a.output())) >= 2, 60,
                 'a rebalance with both members')
        self.assertEqual(set(self.committed().values()), {-1})
        self.viewer.control('/_standin/faults', {'kind': 'none'})
        more = self.alerts_over_sessions(24)[12:]
        self.produce(more)
        self.wait_all_committed()
        self.check_requests(self.tags())
        self.stop_ok(b)
        late = self.alerts_over_sessions(30)[24:]
        self.produce(late)
        self.wait_all_committed()
        self.check_requests(self.tags())
        self.stop_ok(a)

    def test_sigterm_while_holding_or_hung(self):
        """SIGTERM ends it within 2 s, exit 0, while a request hangs and while it holds a
        failing alert; nothing is committed past the unconfirmed alert."""
        self.start_viewer()
        docs = self.alerts_over_sessions(4)
        self.produce(docs)
        self.viewer.control('/_standin/faults', {'kind': 'hang', 'seconds': 30, 'count': -1})
        t = self.tagger()
        wait_for(lambda: self.viewer.control('/_standin/stats')['faults_injected'].get('hang'),
                 30, 'a hung request')
        self.stop_ok(t)
        self.assertEqual(set(self.committed().values()), {-1})
        self.viewer.control('/_standin/faults', {'kind': 'none'})
        self.viewer.control('/_standin/faults', {'kind': 'http500', 'count': -1})
        t = self.tagger()
        wait_for(lambda: re.search(r'tagging failed, holding partition', t.output()), 30,
                 'a failed request')
        self.stop_ok(t)
        self.assertEqual(set(self.committed().values()), {-1})


def parse_ms(text):
    """An alert time back into ms."""
    import calendar
    base, frac = text.rstrip('Z').split('.')
    return calendar.timegm(time.strptime(base, '%Y-%m-%dT%H:%M:%S')) * 1000 + int(frac)


if __name__ == '__main__':
    unittest.main()
