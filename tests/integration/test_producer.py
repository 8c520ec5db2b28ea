"""Integration: fanwatch-producer between the stand-in Arkime viewer and a real Kafka broker.

Run by ctest (label integration) with the broker of the 'kafka' fixture:
    FW_KAFKA_DIR=<dir with bootstrap> FW_PRODUCER=<fanwatch-producer> python3 -m unittest ...
Every scenario counts by session id what the viewer served and what reached the topic:
lost must be 0; duplicates are reported and bounded where the design bounds them.
Needs Debian's python3-confluent-kafka and python3-msgpack.
"""

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import uuid

import msgpack
from confluent_kafka import Consumer, Producer as KafkaProducer

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, '..', 'arkime_standin')
sys.path.insert(0, STANDIN)
from standin_store import generate  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
from fwtest import LoggedRuns, bootstrap, http_status, wait_for  # noqa: E402,F401 (also for test_signals)

PASSWORD = 'standin-' + uuid.uuid4().hex  # a secret: must never appear in the producer's output


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]






class Viewer:
    """The stand-in viewer as a subprocess with digest auth and generated sessions."""

    def __init__(self, tmp, count, seed, start_ms, span_s, tls=None):
        self.port_file = os.path.join(tmp, 'viewer.port')
        self.log = open(os.path.join(tmp, 'viewer.log'), 'w')
        cmd = [sys.executable, os.path.join(STANDIN, 'viewer.py'), '--generate', str(count),
               '--seed', str(seed), '--start-ms', str(start_ms), '--span-s', str(span_s),
               '--auth', 'digest', '--user', 'fanwatch', '--password', PASSWORD,
               '--port', '0', '--port-file', self.port_file]
        if tls:
            cmd += ['--tls-cert', tls[0], '--tls-key', tls[1]]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        port = wait_for(self._port, 60, 'the stand-in viewer to listen')
        self.url = '%s://127.0.0.1:%d' % ('https' if tls else 'http', int(port))
        self.tls = tls

    def _port(self):
        try:
            with open(self.port_file) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def control(self, path, body=None):
        import ssl
        data = json.dumps(body).encode() if body is not None else None
        ctx = ssl._create_unverified_context() if self.tls else None
        req = urllib.request.Request(self.url + path, data=data,
                                     method='POST' if data is not None else 'GET',
                                     headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
            return json.loads(r.read() or b'null')

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


class Producer(LoggedRuns):
    """fanwatch-producer as a subprocess, configured through the environment."""

    def __init__(self, tmp, viewer, topic, extra=None, name='producer'):
        super().__init__(tmp, name)
        self.cursor_file = os.path.join(tmp, 'cursor')
        self.env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'FANWATCH_ARKIME_USER': 'fanwatch',
            'FANWATCH_ARKIME_PASSWORD': PASSWORD,
            'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': bootstrap(),
            'FANWATCH_TOPICS_SESSIONS': topic,
            'FANWATCH_PRODUCER_CREATE__TOPIC__PARTITIONS': '6',
            'FANWATCH_PRODUCER_CURSOR__FILE': self.cursor_file,
            'FANWATCH_PRODUCER_START__LOOKBACK': '5h',
            'FANWATCH_PRODUCER_POLL__INTERVAL': '500ms',
            'FANWATCH_PRODUCER_RETRY__BACKOFF__MAX': '1s',
            'FANWATCH_ARKIME_ORDER': '@timestamp:asc',
            'FANWATCH_LOG_LEVEL': 'info',
        }
        if viewer:
            self.env['FANWATCH_ARKIME_URL'] = viewer.url
        self.env.update(extra or {})

    def start(self):
        self.popen([os.environ['FW_PRODUCER']], env=self.env)

    def position(self):
        try:
            with open(self.cursor_file) as f:
                m = re.search(r'^position=(\d+)$', f.read(), re.M)
                return int(m.group(1)) if m else None
        except FileNotFoundError:
            return None

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            rc = self.proc.wait(timeout=60)
        else:
            rc = self.proc.returncode if self.proc else None
        self.log.close()
        return rc


class Topic:
    """Reads a topic from the beginning and keeps every record by session id."""

    def __init__(self, topic):
        self.topic = topic
        self.consumer = Consumer({'bootstrap.servers': bootstrap(),
                                  'group.id': 'check-' + uuid.uuid4().hex,
                                  'auto.offset.reset': 'earliest',
                                  'enable.auto.commit': False})
        self.consumer.subscribe([topic])
        self.records = {}     # id -> decoded record (first seen)
        self.copies = {}      # id -> times seen
        self.by_key = {}      # source key -> [@timestamp in partition order]
        self.undecodable = 0

    def drain(self, seconds=0.5):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            msgs = self.consumer.consume(num_messages=10000, timeout=0.2)
            for m in msgs:
                if m.error():
                    continue
                try:
                    r = msgpack.unpackb(m.value(), raw=False)
                except Exception:
                    self.undecodable += 1
                    continue
                sid = r['id']
                self.copies[sid] = self.copies.get(sid, 0) + 1
                self.records.setdefault(sid, (r, m.key()))
                self.by_key.setdefault(m.key(), []).append(r.get('ts', 0))
        return len(self.records)

    def duplicates(self):
        return sum(n - 1 for n in self.copies.values())

    def close(self):
        self.consumer.close()


def check_record(test, doc, rec, key):
    """The record on the topic carries what the viewer served."""
    src = ipaddress.ip_address(doc['source']['ip']).packed
    test.assertEqual(key, src)
    test.assertEqual(rec['sip'], src)
    test.assertEqual(rec['dip'], ipaddress.ip_address(doc['destination']['ip']).packed)
    test.assertEqual(rec['fp'], doc['firstPacket'])
    test.assertEqual(rec['lp'], doc['lastPacket'])
    test.assertEqual(rec['ts'], doc['@timestamp'])
    test.assertEqual(rec['pr'], doc['ipProtocol'])
    test.assertEqual(rec.get('sp', 0), doc['source'].get('port', 0))
    test.assertEqual(rec.get('dp', 0), doc['destination'].get('port', 0))
    test.assertEqual(rec.get('rid', ''), doc.get('rootId', ''))


class ProducerTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='fw-producer-')
        self.topic = 'sessions-' + uuid.uuid4().hex[:12]
        self.viewer = None
        self.producers = []
        self.reader = None

    def tearDown(self):
        for p in self.producers:
            if p.proc and p.proc.poll() is None:
                p.stop(signal.SIGKILL)
        if self.viewer:
            self.viewer.stop()
        if self.reader:
            self.reader.close()
        if not os.environ.get("FW_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def served(self, count, seed, start_ms, span_s, tls=None):
        self.viewer = Viewer(self.tmp, count, seed, start_ms, span_s, tls)
        return {d['id']: d for d in generate(count, seed, start_ms, span_s)}

    def producer(self, extra=None):
        p = Producer(self.tmp, self.viewer, self.topic, extra, 'producer%d' % len(self.producers))
        self.producers.append(p)
        return p

    def start_producer(self, extra=None):
        """A producer (see producer) started, and self.reader reading its topic."""
        p = self.producer(extra)
        p.start()
        self.reader = Topic(self.topic)
        return p

    def stop_and_report(self, p, what, docs):
        """p exits 0 on SIGTERM; then the report on the topic's records (see report)."""
        self.assertEqual(p.stop(), 0)
        self.reader.drain(1.0)
        self.report(what, docs)

    def report(self, what, docs):
        r = self.reader
        lost = [i for i in docs if i not in r.records]
        print('\n%s: served %d, published %d distinct, duplicates %d, lost %d, undecodable %d'
              % (what, len(docs), len(r.records), r.duplicates(), len(lost), r.undecodable))
        self.assertEqual(lost, [])
        self.assertEqual(r.undecodable, 0)
        extra = [i for i in r.records if i not in docs]
        self.assertEqual(extra, [])
        for sid, doc in docs.items():
            rec, key = r.records[sid]
            check_record(self, doc, rec, key)
        for p in self.producers:
            self.assertNotIn(PASSWORD, p.output())

    def test_backlog_200k_exactly_as_served(self):
        """200,000 sessions of an hour of backlog, all published once, in order per source."""
        now = int(time.time() * 1000)
        docs = self.served(200000, 7, now - 3 * 3600 * 1000, 3600)
        p = self.start_producer()
        wait_for(lambda: self.reader.drain() >= len(docs), 400, '200,000 sessions on the topic',
                 interval=0)
        self.stop_and_report(p, 'backlog', docs)
        self.assertEqual(self.reader.duplicates(), 0)
        for key, times in self.reader.by_key.items():
            self.assertEqual(times, sorted(times), 'source %r out of order' % key)

    def test_restart_loses_nothing(self):
        """SIGTERM mid-backlog re-publishes at most the overlap; SIGKILL loses nothing."""
        now = int(time.time() * 1000)
        docs = self.served(60000, 11, now - 3 * 3600 * 1000, 3600)
        p = self.start_producer({'FANWATCH_ARKIME_PAGE__SIZE': '2000',
                                 'FANWATCH_PRODUCER_MAX__SLICE': '5m'})
        wait_for(lambda: self.reader.drain() >= 20000, 300, '20,000 sessions')
        self.assertEqual(p.stop(signal.SIGTERM), 0)
        pos = p.position()
        self.assertIsNotNone(pos)
        before = len(self.reader.records)
        p.start()
        wait_for(lambda: self.reader.drain() >= 40000, 300, '40,000 sessions')
        # after the graceful stop only the overlap (60 s before the saved position) is re-read
        overlap = sum(1 for d in docs.values()
                      if pos * 1000 - 60000 <= d['@timestamp'] < pos * 1000)
        graceful_dups = self.reader.duplicates()
        print('\ngraceful stop at %d with %d published: %d re-published, overlap holds %d' %
              (pos, before, graceful_dups, overlap))
        self.assertLessEqual(graceful_dups, overlap)
        p.proc.send_signal(signal.SIGKILL)
        p.proc.wait(timeout=30)
        p.start()
        wait_for(lambda: self.reader.drain() >= len(docs), 300, 'all sessions')
        self.stop_and_report(p, 'restart (SIGTERM, then SIGKILL)', docs)

    def test_late_indexed_session_is_published(self):
        """A session whose packets are older than the cursor but written late still arrives."""
        now = int(time.time() * 1000)
        docs = self.served(2000, 3, now - 20 * 60 * 1000, 60)
        p = self.start_producer({'FANWATCH_PRODUCER_SAFETY__LAG': '2s',
                                 'FANWATCH_PRODUCER_OVERLAP': '2s'})
        wait_for(lambda: self.reader.drain() >= len(docs), 120, 'the first sessions')
        wait_for(lambda: (p.position() or 0) * 1000 > now, 60, 'the cursor to pass now')
        # packets from two hours ago, written to the database only now
        late = dict(next(iter(docs.values())))
        late['id'] = '3@240518-late-' + uuid.uuid4().hex
        late['firstPacket'] = now - 2 * 3600 * 1000
        late['lastPacket'] = now - 2 * 3600 * 1000 + 5000
        late['@timestamp'] = int(time.time() * 1000)
        late.pop('rootId', None)
        self.viewer.control('/_standin/sessions', [late])
        docs[late['id']] = late
        wait_for(lambda: self.reader.drain() and late['id'] in self.reader.records, 60,
                 'the late-indexed session')
        self.assertEqual(p.stop(), 0)
        self.report('late-indexed', docs)

    def test_expression_filters_what_is_pulled(self):
        """arkime.expression narrows the pull to matching sessions, evaluated by the viewer."""
        now = int(time.time() * 1000)
        docs = self.served(5000, 9, now - 3 * 3600 * 1000, 600)
        want = {i: d for i, d in docs.items() if d['ipProtocol'] == 17}
        self.assertTrue(0 < len(want) < len(docs))
        p = self.start_producer({'FANWATCH_ARKIME_EXPRESSION': 'ip.protocol == udp'})
        wait_for(lambda: self.reader.drain() >= len(want), 120, 'the UDP sessions')
        wait_for(lambda: (p.position() or 0) * 1000 > now - 2 * 3600 * 1000, 60,
                 'the cursor to pass the data')
        self.stop_and_report(p, 'expression ip.protocol == udp', want)

    def test_bridge_from_capture_kafka_plugin(self):
        """Arkime capture's Kafka plugin topic (bulk, bulk1, doc) republished in fanwatch's format."""
        now = int(time.time() * 1000)
        docs = {d['id']: d for d in generate(3500, 13, now - 3600 * 1000, 600)}
        ids = list(docs)
        source = 'arkime-json-' + uuid.uuid4().hex[:8]

        def stored(sid):  # the document as capture writes it: no "id"
            d = dict(docs[sid])
            d.pop('id')
            return json.dumps(d, separators=(',', ':'))

        def header(sid):
            return '{"index":{"_index":"arkime_sessions3-240518", "_id": "%s"}}' % sid

        msgs = []
        for i in range(0, 2000, 100):  # bulk: 100 documents per message
            msgs.append(''.join('%s\n%s\n' % (header(x), stored(x)) for x in ids[i:i + 100]))
        msgs.append('this is not a plugin message')
        for x in ids[2000:2500]:  # bulk1
            msgs.append('%s\n%s\n' % (header(x), stored(x)))
        for x in ids[2500:3000]:  # doc, with "index" and "_id" in the document
            d = json.loads(stored(x))
            d['index'] = 'arkime_sessions3-240518'
            d['_id'] = x
            msgs.append(json.dumps(d) + '\n')
        kp = KafkaProducer({'bootstrap.servers': bootstrap()})
        for m in msgs:  # capture's plugin sets no key
            kp.produce(source, m.encode())
        self.assertEqual(kp.flush(30), 0)

        port = free_port()
        p = self.start_producer({'FANWATCH_PRODUCER_MODE': 'bridge',
                                 'FANWATCH_BRIDGE_TOPIC': source,
                                 'FANWATCH_BRIDGE_GROUP': 'bridge-' + source,
                                 'FANWATCH_METRICS_PORT': str(port),
                                 **json.loads(os.environ.get('FW_EXTRA_ENV', '{}'))})
        first = {x: docs[x] for x in ids[:3000]}
        wait_for(lambda: self.reader.drain() >= len(first), 120, 'the bridged sessions')
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=5) as r:
            metrics = r.read().decode()
        self.assertIn('fanwatch_bridge_messages_malformed_total 1\n', metrics)
        self.assertEqual(p.stop(), 0)
        self.assertIn('unreadable plugin messages skipped', p.output())

        # offsets were committed: after a restart only the new messages are republished
        for x in ids[3000:]:
            kp.produce(source, ('%s\n%s\n' % (header(x), stored(x))).encode())
        self.assertEqual(kp.flush(30), 0)
        p.start()
        wait_for(lambda: self.reader.drain() >= len(docs), 120, 'the sessions after a restart')
        self.stop_and_report(p, 'bridge (bulk, bulk1, doc)', docs)
        self.assertEqual(self.reader.duplicates(), 0)

    def make_ca(self):
        """A throw-away CA and a certificate for 127.0.0.1 signed by it (openssl CLI)."""
        d = self.tmp
        run = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=d)
        run('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
            '-subj', '/CN=fanwatch test CA', '-keyout', 'ca.key', '-out', 'ca.pem')
        run('openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1',
            '-keyout', 'viewer.key', '-out', 'viewer.csr')
        with open(os.path.join(d, 'ext.cnf'), 'w') as f:
            f.write('subjectAltName=IP:127.0.0.1\n')
        run('openssl', 'x509', '-req', '-in', 'viewer.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
            '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'viewer.pem')
        return [os.path.join(d, x) for x in ('ca.pem', 'viewer.pem', 'viewer.key')]

    def test_tls_verified_by_default(self):
        """HTTPS to the viewer: refused without its CA (verification is on), fine with it."""
        ca, cert, key = self.make_ca()
        now = int(time.time() * 1000)
        docs = self.served(1000, 21, now - 3 * 3600 * 1000, 60, tls=(cert, key))
        p = self.producer()
        p.start()
        wait_for(lambda: 'certificate' in p.output().lower(), 30, 'a certificate error')
        self.assertIsNone(p.position())
        self.assertEqual(p.stop(), 0)
        p.env['FANWATCH_ARKIME_CA__FILE'] = ca
        p.start()
        self.reader = Topic(self.topic)
        wait_for(lambda: self.reader.drain() >= len(docs), 60, 'the sessions over TLS')
        self.assertEqual(p.stop(), 0)
        self.report('tls with the CA file', docs)

    def test_backfill_publishes_the_range_and_exits(self):
        """--from/--to: exactly the sessions written in that range, then exit 0."""
        now = int(time.time() * 1000)
        start = now - 3 * 3600 * 1000
        docs = self.served(6000, 17, start, 3600)
        frm, to = start // 1000 + 600, start // 1000 + 1800
        want = {i: d for i, d in docs.items() if frm * 1000 <= d['@timestamp'] <= to * 1000}
        p = self.producer()
        p.logs.append(os.path.join(self.tmp, 'backfill.log'))
        with open(p.logs[-1], 'w') as log:
            rc = subprocess.run([os.environ['FW_PRODUCER'], '--from', str(frm), '--to', str(to)],
                                env=p.env, stdout=log, stderr=subprocess.STDOUT, timeout=120)
        self.assertEqual(rc.returncode, 0, p.output())
        self.assertIsNone(p.position())  # a backfill keeps no cursor
        self.reader = Topic(self.topic)
        wait_for(lambda: self.reader.drain() >= len(want), 60, 'the backfilled sessions')
        self.reader.drain(1.0)
        self.report('backfill', want)

    def test_unusable_items_are_rejected_not_fatal(self):
        """Pages with items the producer cannot use (no source.ip): they are counted and
        logged, the rest of every page is published, the backfill completes (a page's time
        check once read stale times for such rows: a heap overflow under ASan)."""
        now = int(time.time() * 1000)
        start = now - 3 * 3600 * 1000
        docs = self.served(4000, 29, start, 1800)
        self.viewer.control('/_standin/faults', {'kind': 'unusable', 'count': 6})
        p = self.producer({'FANWATCH_ARKIME_PAGE__SIZE': '500'})
        p.logs.append(os.path.join(self.tmp, 'unusable.log'))
        frm, to = start // 1000, start // 1000 + 1800
        # the sessions of the range (the generator's jitter puts a few just past its end)
        docs = {i: d for i, d in docs.items() if frm * 1000 <= d['@timestamp'] <= to * 1000}
        with open(p.logs[-1], 'w') as log:
            rc = subprocess.run([os.environ['FW_PRODUCER'], '--from', str(frm), '--to', str(to)],
                                env=p.env, stdout=log, stderr=subprocess.STDOUT, timeout=120)
        self.assertEqual(rc.returncode, 0, p.output())
        out = p.output()
        rejected = sum(int(n) for n in re.findall(r'(\d+) sessions of slice .* not published: '
                                                    r'session [^ ]+: field .source.ip.', out))
        self.assertGreater(rejected, 0, out[-2000:])
        self.reader = Topic(self.topic)
        wait_for(lambda: self.reader.drain() >= len(docs) - rejected, 60, 'the usable sessions')
        self.reader.drain(1.0)
        # every session not rejected is there, and only served ones
        self.assertTrue(set(self.reader.records) <= set(docs))
        self.assertGreaterEqual(len(self.reader.records), len(docs) - rejected)

    def test_missing_topic_is_a_clear_error(self):
        """Without create_topic_partitions, a missing sessions topic stops the start-up."""
        self.viewer = Viewer(self.tmp, 10, 1, int(time.time() * 1000) - 3600000, 60)
        p = self.producer({'FANWATCH_PRODUCER_CREATE__TOPIC__PARTITIONS': '0'})
        p.start()
        self.assertEqual(p.proc.wait(timeout=60), 1)
        p.log.close()
        self.assertIn('topic %s does not exist' % self.topic, p.output())

    def test_broker_frozen_then_back(self):
        """The broker stops answering for 20 s (SIGSTOP): the producer stops pulling, waits,
        loses nothing, and its cursor never passes what Kafka did not acknowledge."""
        now = int(time.time() * 1000)
        docs = self.served(40000, 23, now - 3 * 3600 * 1000, 3600)
        p = self.start_producer({'FANWATCH_ARKIME_PAGE__SIZE': '2000',
                                 'FANWATCH_PRODUCER_MAX__SLICE': '2m'})
        wait_for(lambda: self.reader.drain() >= 5000, 120, 'the first sessions')
        with open(os.path.join(os.environ['FW_KAFKA_DIR'], 'pid')) as f:
            broker = int(f.read())
        os.kill(broker, signal.SIGSTOP)
        try:
            time.sleep(2)  # let in-flight requests hit the frozen broker
            frozen_pos = p.position()
            requests_before = self.viewer.control('/_standin/stats')['pages_served']
            time.sleep(18)
            # no pulling while Kafka does not acknowledge, and the cursor stays
            self.assertLessEqual(self.viewer.control('/_standin/stats')['pages_served'],
                                 requests_before + 1)
            self.assertEqual(p.position(), frozen_pos)
        finally:
            os.kill(broker, signal.SIGCONT)
        wait_for(lambda: self.reader.drain() >= len(docs), 300, 'all sessions after the freeze')
        self.stop_and_report(p, 'broker frozen 20 s', docs)

    def test_viewer_failing_for_a_minute(self):
        """A minute of HTTP 500s, then recovery: nothing lost, the cursor never moved meanwhile."""
        now = int(time.time() * 1000)
        docs = self.served(30000, 5, now - 3 * 3600 * 1000, 3600)
        self.viewer.control('/_standin/faults', {'kind': 'http500', 'count': -1})
        port = free_port()
        p = self.producer({'FANWATCH_METRICS_PORT': str(port),
                           'FANWATCH_PRODUCER_UNHEALTHY__AFTER': '5s'})
        p.start()
        health = 'http://127.0.0.1:%d/healthz' % port
        wait_for(lambda: http_status(health) == 503, 30, '/healthz to report the failing viewer')
        self.reader = Topic(self.topic)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60:
            self.reader.drain(1.0)
            self.assertEqual(len(self.reader.records), 0)
            self.assertIsNone(p.position())
        self.viewer.control('/_standin/faults', {'kind': 'none'})
        wait_for(lambda: self.reader.drain() >= len(docs), 300, 'all sessions after recovery')
        wait_for(lambda: http_status(health) == 200, 30, '/healthz to recover')
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=5) as r:
            metrics = r.read().decode()
        m = re.search(r'^fanwatch_producer_errors_total\{kind="http"\} (\d+)$', metrics, re.M)
        self.assertTrue(m and int(m.group(1)) > 5, metrics)
        m = re.search(r'^fanwatch_producer_sessions_published_total (\d+)$', metrics, re.M)
        self.assertEqual(int(m.group(1)), len(docs))
        self.stop_and_report(p, 'viewer down 60 s', docs)
        out = p.output()
        # the cause is logged once, not at every retry
        self.assertEqual(out.count('HTTP 500'), 1, out[-2000:])


if __name__ == '__main__':
    unittest.main(verbosity=2)
