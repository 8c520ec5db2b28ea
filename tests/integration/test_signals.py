"""Integration: SIGTERM / SIGINT end fanwatch-producer and fanwatch-detector within 2 s in every
state, with exit status 0 and nothing lost (issue 15).

Run by ctest (label integration) with the broker of the 'kafka' fixture:
    FW_KAFKA_DIR=<dir with bootstrap> FW_PRODUCER=<fanwatch-producer> \\
        FW_DETECTOR=<fanwatch-detector> /usr/bin/python3 -m unittest -v test_signals
The states: start-up, waiting for a missing broker (a port where nothing listens; a TCP relay
that opens later stands for the broker coming up), a hung viewer request (the stand-in's 'hang'
fault, longer than the test), a backfill, a backlog being paged, steady state; the detector at
start-up without a broker, on a missing topic, while partitions are assigned and replayed, and
steady. Each case measures the time from the signal to the exit and prints a table (quoted in
docs/testing.md, "Prompt shutdown").
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

from confluent_kafka import Consumer, Producer as KafkaProducer, TopicPartition

import test_detector as td
import test_producer as tp
from test_producer import Producer, Topic, Viewer, free_port, http_status, wait_for

BUDGET_S = 2.0
RESULTS = []  # (daemon, state, signal, seconds, exit status, note)


def stop_timed(proc, sig=signal.SIGTERM):
    """Send sig, wait for the exit; (seconds, exit status)."""
    t0 = time.monotonic()
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = 'killed after 60 s'
    return time.monotonic() - t0, rc


class Relay:
    """A TCP relay to the real broker that starts listening only when open() is called: until
    then its port is a broker that is missing (connection refused)."""

    def __init__(self, target):
        host, port = target.rsplit(':', 1)
        self.target = (host, int(port))
        self.port = free_port()
        self.sock = None
        self.closed = False

    def address(self):
        return '127.0.0.1:%d' % self.port

    def open(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', self.port))
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            s = socket.create_connection(self.target)
            for a, b in ((c, s), (s, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        if self.sock:
            self.sock.close()


class SignalTest(unittest.TestCase):

    @classmethod
    def tearDownClass(cls):
        if not RESULTS:
            return
        print('\n\n| daemon | state | signal | signal to exit | exit | checked |')
        print('|---|---|---|---:|---:|---|')
        for daemon, state, sig, secs, rc, note in RESULTS:
            print('| %s | %s | %s | %.2f s | %s | %s |' % (daemon, state, sig, secs, rc, note))

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='fw-signals-')
        self.topic = 'sig-sessions-' + uuid.uuid4().hex[:10]
        self.viewer = None
        self.procs = []
        self.readers = []
        self.relays = []

    def tearDown(self):
        for p in self.procs:
            if p.proc and p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait()
        if self.viewer:
            self.viewer.stop()
        for r in self.readers:
            r.close()
        for r in self.relays:
            r.close()
        if not os.environ.get('FW_KEEP_TMP'):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def record(self, daemon, state, secs, rc, note, sig=signal.SIGTERM, out=''):
        RESULTS.append((daemon, state, signal.Signals(sig).name, secs, rc, note))
        self.assertEqual(rc, 0, '%s (%s): exit %s\n%s' % (daemon, state, rc, out[-3000:]))
        self.assertLessEqual(secs, BUDGET_S, '%s (%s): %.2f s\n%s' % (daemon, state, secs,
                                                                       out[-3000:]))

    # -- the producer ----------------------------------------------------------------------------

    def producer(self, extra=None, name=None):
        p = Producer(self.tmp, self.viewer, self.topic, extra,
                     name or 'producer%d' % len(self.procs))
        self.procs.append(p)
        return p

    def reader(self):
        r = Topic(self.topic)
        self.readers.append(r)
        return r

    def served(self, count, seed, span_s, age_s=3 * 3600):
        start = int(time.time() * 1000) - age_s * 1000
        self.viewer = Viewer(self.tmp, count, seed, start, span_s)
        return {d['id']: d for d in tp.generate(count, seed, start, span_s)}, start

    def assert_cursor_safe(self, p, docs, reader, what):
        """Every served session before the saved position is on the topic."""
        pos = p.position()
        reader.drain(1.0)
        if pos is None:
            return 'no cursor saved'
        behind = [i for i, d in docs.items() if d['@timestamp'] < pos * 1000 and
                  i not in reader.records]
        self.assertEqual(behind, [], '%s: the cursor (%d) passed %d sessions not on the topic'
                         % (what, pos, len(behind)))
        return 'cursor covers only published sessions'

    def restart_publishes_all(self, p, docs, reader):
        p.start()
        wait_for(lambda: reader.drain() >= len(docs), 300, 'every served session after a restart')
        self.assertEqual(p.stop(), 0)
        lost = [i for i in docs if i not in reader.records]
        self.assertEqual(lost, [])

    def test_producer_startup(self):
        """SIGTERM and SIGINT right at start-up (metrics up, Kafka and the viewer being asked)."""
        docs, _ = self.served(2000, 3, 600)
        for sig in (signal.SIGTERM, signal.SIGINT):
            p = self.producer({'FANWATCH_METRICS_PORT': '0'})
            p.start()
            wait_for(lambda: 'metrics on' in p.output(), 30, 'the producer to start')
            secs, rc = stop_timed(p.proc, sig)
            p.log.close()
            self.record('producer', 'start-up', secs, rc, 'exit 0', sig, p.output())

    def test_producer_waiting_for_kafka(self):
        """A broker missing at start-up: retries with backoff beyond 30 s, logs the cause once,
        /healthz 503; then SIGTERM (within 2 s). A second producer sees the broker come up
        (a relay opening) and publishes everything: /healthz turns 200."""
        docs, _ = self.served(3000, 5, 600)
        relay = Relay(tp.bootstrap())
        self.relays.append(relay)
        port = free_port()
        p = self.producer({'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': relay.address(),
                           'FANWATCH_METRICS_PORT': str(port)})
        t0 = time.monotonic()
        p.start()
        health = 'http://127.0.0.1:%d/healthz' % port
        wait_for(lambda: 'waiting for Kafka' in p.output(), 30, 'the producer to wait for Kafka')
        self.assertEqual(http_status(health), 503)
        # the producer used to give up after 30 s (exit 1)
        wait_for(lambda: time.monotonic() - t0 > 35 or p.proc.poll() is not None, 60, '35 s')
        self.assertIsNone(p.proc.poll(), p.output()[-3000:])
        self.assertEqual(http_status(health), 503)
        out = p.output()
        self.assertEqual(out.count('Connection refused'), 1, out[-3000:])
        secs, rc = stop_timed(p.proc)
        p.log.close()
        self.assertIsNone(p.position())
        self.record('producer', 'waiting for Kafka (broker missing, 35 s)', secs, rc,
                    'alive after 35 s, cause logged once, /healthz 503', out=p.output())

        # the broker comes up while the producer waits
        p2 = self.producer({'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': relay.address(),
                            'FANWATCH_METRICS_PORT': str(port)})
        p2.start()
        wait_for(lambda: 'waiting for Kafka' in p2.output(), 30, 'the producer to wait again')
        relay.open()
        reader = self.reader()
        wait_for(lambda: reader.drain() >= len(docs), 120, 'the sessions once Kafka is up')
        wait_for(lambda: http_status(health) == 200, 30, '/healthz 200 after the first poll')
        self.assertIn('Kafka answered after', p2.output())
        self.assertEqual(p2.stop(), 0)

    def test_producer_hung_viewer_request(self):
        """The viewer hangs a request far longer than arkime.timeout would wait: SIGTERM ends the
        producer within 2 s, the cursor does not move, a restart publishes everything."""
        docs, _ = self.served(5000, 7, 600)
        self.viewer.control('/_standin/faults', {'kind': 'hang', 'seconds': 300, 'count': 1})
        p = self.producer()
        p.start()
        wait_for(lambda: self.viewer.control('/_standin/stats')['faults_injected'].get('hang'),
                 60, 'the hung request')
        time.sleep(0.5)  # well into the hang
        secs, rc = stop_timed(p.proc)
        p.log.close()
        self.assertIsNone(p.position(), 'an abandoned request moved the cursor')
        self.viewer.control('/_standin/faults', {'kind': 'none'})
        reader = self.reader()
        self.restart_publishes_all(p, docs, reader)
        self.record('producer', 'hung viewer request (arkime.timeout 120 s)', secs, rc,
                    'cursor unmoved; restart: %d of %d published' % (len(reader.records),
                                                                     len(docs)),
                    out=p.output())

    def test_producer_backfill(self):
        """SIGTERM during a backfill (--from/--to) that is publishing."""
        docs, start = self.served(60000, 9, 3600)
        p = self.producer({'FANWATCH_ARKIME_PAGE__SIZE': '2000',
                           'FANWATCH_PRODUCER_MAX__SLICE': '2m'})
        path = os.path.join(self.tmp, 'backfill.log')
        p.logs.append(path)
        with open(path, 'w') as log:
            proc = subprocess.Popen([os.environ['FW_PRODUCER'], '--from', str(start // 1000),
                                     '--to', str(start // 1000 + 3600)], env=p.env, stdout=log,
                                    stderr=subprocess.STDOUT)
            reader = self.reader()
            wait_for(lambda: reader.drain() >= 5000, 120, 'the backfill to publish')
            secs, rc = stop_timed(proc)
        reader.drain(1.0)
        self.assertLess(len(reader.records), len(docs), 'the backfill finished before the signal')
        self.record('producer', 'backfill (--from/--to, publishing)', secs, rc,
                    '%d of %d published at the signal' % (len(reader.records), len(docs)),
                    out=p.output())

    def test_producer_backlog_and_steady(self):
        """SIGTERM while a backlog is paged and published, then in steady state (caught up,
        polling): the cursor never passes what is not on the topic; a restart loses nothing."""
        docs, _ = self.served(60000, 11, 3600)
        p = self.producer({'FANWATCH_ARKIME_PAGE__SIZE': '2000',
                           'FANWATCH_PRODUCER_MAX__SLICE': '2m'})
        p.start()
        reader = self.reader()
        wait_for(lambda: reader.drain() >= 15000, 120, 'the backlog to be published')
        secs, rc = stop_timed(p.proc)
        p.log.close()
        note = self.assert_cursor_safe(p, docs, reader, 'backlog')
        self.record('producer', 'backlog being paged and published', secs, rc, note,
                    out=p.output())

        p.start()
        wait_for(lambda: reader.drain() >= len(docs), 300, 'every session after the restart')
        pos = wait_for(lambda: (p.position() or 0) * 1000 > max(d['@timestamp']
                                                                for d in docs.values()),
                       60, 'the cursor to pass the data')
        time.sleep(1.2)  # a few 500 ms poll intervals: steady state
        secs, rc = stop_timed(p.proc, signal.SIGINT)
        p.log.close()
        note = self.assert_cursor_safe(p, docs, reader, 'steady')
        lost = [i for i in docs if i not in reader.records]
        self.assertEqual(lost, [])
        self.record('producer', 'steady state (caught up)', secs, rc,
                    '%s; 0 lost of %d' % (note, len(docs)), signal.SIGINT, p.output())
        self.assertTrue(pos)

    # -- the detector ----------------------------------------------------------------------------

    def detector(self, name, sessions, group, servers=None):
        rules = os.path.join(self.tmp, 'rules.ini')
        with open(rules, 'w') as f:
            f.write(td.RULES_INI)
        conf = td.write_detector_conf(os.path.join(self.tmp, name + '.ini'), sessions,
                                      'sig-alerts-' + uuid.uuid4().hex[:8], group, rules,
                                      bootstrap_servers=servers)
        d = td.Detector(self.tmp, name, conf)
        self.procs.append(d)
        return d

    def committed(self, group, topic, n):
        c = Consumer({'bootstrap.servers': tp.bootstrap(), 'group.id': group})
        try:
            got = c.committed([TopicPartition(topic, i) for i in range(n)], timeout=30)
            ends = [c.get_watermark_offsets(TopicPartition(topic, i), timeout=30)[1]
                    for i in range(n)]
        finally:
            c.close()
        return [x.offset for x in got], ends

    def test_detector_startup_without_broker_and_missing_topic(self):
        """No broker: retries, each cause logged once (not twice), /healthz 503, SIGTERM within
        2 s. A missing topic: /healthz 503 with a clear line (not ok with 0 partitions)."""
        relay = Relay(tp.bootstrap())
        self.relays.append(relay)
        d = self.detector('nobroker', 'sig-none', 'g-' + uuid.uuid4().hex[:8], relay.address())
        d.start()
        wait_for(lambda: 'Connection refused' in d.output(), 30, 'the connection error')
        wait_for(lambda: d.url(), 30, 'the metrics address')
        time.sleep(2)
        self.assertEqual(td.http_get(d.url() + '/healthz')[0], 503)
        out = d.output()
        self.assertEqual(out.count('Connection refused'), 1, out[-3000:])
        secs, rc = stop_timed(d.proc)
        d.log.close()
        self.record('detector', 'start-up, broker missing', secs, rc,
                    'cause logged once, /healthz 503', out=d.output())

        missing = 'sig-missing-' + uuid.uuid4().hex[:8]
        d = self.detector('missing', missing, 'g-' + uuid.uuid4().hex[:8])
        d.start()
        wait_for(lambda: 'does not exist' in d.output(), 60, 'the missing-topic line')
        wait_for(lambda: d.url(), 30, 'the metrics address')
        status, body = td.http_get(d.url() + '/healthz')
        self.assertEqual(status, 503)
        self.assertIn('does not exist', body)
        secs, rc = stop_timed(d.proc)
        d.log.close()
        self.record('detector', 'sessions topic missing', secs, rc,
                    '/healthz 503 "%s"' % body.strip(), out=d.output())

    def produce_now(self, topic, n):
        """n wire-format sessions stamped now (Kafka CreateTime), so detector.start = latest
        replays them all."""
        g = td.Gen(99)
        base = int(time.time() * 1000) - 60000
        for i in range(n):
            g.add('131.206.%d.%d' % (10 + i % 40, 1 + i % 250), '131.206.200.%d' % (1 + i % 50),
                  443, base + i % 60000, spk=3, dpk=2)
        kp = KafkaProducer({'bootstrap.servers': tp.bootstrap(), 'linger.ms': 20,
                            'queue.buffering.max.messages': 500000})
        for rec in g.recs:
            kp.produce(topic, value=td.encode(rec), key=rec['sip'],
                       partition=td.partition_of(rec['sip']))
            kp.poll(0)
        self.assertEqual(kp.flush(60), 0)

    def test_detector_assignment_replay_and_steady(self):
        """SIGTERM at start-up (group joining), during the assignment's silent replay, and in
        steady state; offsets committed at the end of every partition after the steady stop."""
        topic = 'sig-det-' + uuid.uuid4().hex[:8]
        td.create_topics((topic, td.PARTITIONS))
        self.produce_now(topic, 200000)

        group = 'g-' + uuid.uuid4().hex[:8]
        d = self.detector('startup', topic, group)
        d.start()
        wait_for(lambda: 'consuming ' in d.output(), 30, 'the detector to start')
        secs, rc = stop_timed(d.proc)
        d.log.close()
        self.record('detector', 'start-up (joining the group)', secs, rc, 'exit 0',
                    out=d.output())

        group = 'g-' + uuid.uuid4().hex[:8]
        d = self.detector('replay', topic, group)
        with open(d.conf) as f:
            text = f.read().replace('start = earliest', 'start = latest')
        with open(d.conf, 'w') as f:
            f.write(text)
        d.start()
        wait_for(lambda: 'assigned partition' in d.output(), 60, 'the assignment')
        out = d.output()
        secs, rc = stop_timed(d.proc)
        d.log.close()
        self.assertNotRegex(out, r'start -?\d+, replay silently up to')
        self.assertIn('rebuilding the window', out)
        self.record('detector', 'assignment, replaying 200,000 sessions', secs, rc,
                    'log says "rebuilding the window from offset ..."', out=d.output())

        group = 'g-' + uuid.uuid4().hex[:8]
        d = self.detector('steady', topic, group)
        d.start()
        wait_for(lambda: d.url() and td.http_get(d.url() + '/healthz')[0] == 200, 60,
                 '/healthz 200 after the assignment')
        self.assertIn('nothing committed yet: reading from the beginning', d.output())

        def done():
            m = d.metrics() or {}
            return m.get('fanwatch_detector_sessions_total', 0) >= 200000
        wait_for(done, 120, 'every session analysed')
        secs, rc = stop_timed(d.proc)
        d.log.close()
        got, ends = self.committed(group, topic, td.PARTITIONS)
        self.assertEqual(got, ends)
        self.record('detector', 'steady state (200,000 sessions analysed)', secs, rc,
                    'committed = end of every partition', out=d.output())


if __name__ == '__main__':
    unittest.main(verbosity=2)
