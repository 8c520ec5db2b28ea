"""Integration: fanwatch-producer's OpenSearch reader (producer.mode = opensearch) between a
fault-injecting stand-in OpenSearch (tests/arkime_standin/fake_opensearch.py) and a real Kafka
broker. The real OpenSearch is tested in tests/arkime (test_arkime_e2e.py, step 7); here:
  - every kind of bad answer (a partial page, a timeout, a 429, an expired PIT, not JSON) is
    logged with its cause, retried, and nothing is lost: the topic holds every id;
  - live: while OpenSearch fails, the cursor does not move and nothing new is published; once it
    answers again, every session written meanwhile is published and the cursor moves on;
  - TLS with a private CA and an API key (and the _source fetch): the key is sent, never logged; without the CA the
    certificate is refused, with a wrong key the 401 names the keys to check.
Run by ctest (label integration) with the broker of the 'kafka' fixture:
    FW_KAFKA_DIR=<dir with bootstrap> FW_PRODUCER=<fanwatch-producer> python3 -m unittest ...
Needs Debian's python3-confluent-kafka and python3-msgpack.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import msgpack
from confluent_kafka import Consumer, TopicPartition

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'arkime_standin'))
sys.path.insert(0, os.path.join(HERE, '..', 'support'))
from fake_opensearch import FakeOpenSearch  # noqa: E402
from fwtest import bootstrap, create_topics, cursor_position, wait_for  # noqa: E402
from standin_store import generate  # noqa: E402

API_KEY = 'fw-api-key-' + uuid.uuid4().hex  # a secret: must never appear in the output


class TopicIds:
    """Every record id of a topic (msgpack field 'id'), read from the start as it fills."""

    def __init__(self, topic, partitions=3):
        self.c = Consumer({'bootstrap.servers': bootstrap(), 'group.id': 'x-' + topic,
                           'enable.auto.commit': False})
        self.c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        self.ids = []

    def poll(self):
        for m in self.c.consume(10000, 0.2):
            if not m.error():
                self.ids.append(msgpack.unpackb(m.value(), raw=False)['id'])
        return set(self.ids)

    def close(self):
        self.c.close()


class ProducerOpenSearch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for v in ('FW_KAFKA_DIR', 'FW_PRODUCER'):
            if not os.environ.get(v):
                raise AssertionError('%s is not set (run through ctest)' % v)
        cls.tmp = tempfile.mkdtemp(prefix='fw-producer-os-')

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.procs, self.fakes, self.readers = [], [], []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.log.close()
        for f in self.fakes:
            f.stop()
        for r in self.readers:
            r.close()

    def fake(self, docs, **kw):
        f = FakeOpenSearch(docs, **kw).start()
        self.fakes.append(f)
        return f

    def topic(self):
        t = 'os-%s' % uuid.uuid4().hex[:10]
        create_topics((t, 3))
        r = TopicIds(t)
        self.readers.append(r)
        return t, r

    def env(self, url, topic, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith('FANWATCH_')}
        env.update({'FANWATCH_PRODUCER_MODE': 'opensearch', 'FANWATCH_OPENSEARCH_URL': url,
                    'FANWATCH_OPENSEARCH_PAGE__SIZE': '100',
                    'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': bootstrap(),
                    'FANWATCH_TOPICS_SESSIONS': topic,
                    'FANWATCH_PRODUCER_SAFETY__LAG': '1s',
                    'FANWATCH_PRODUCER_POLL__INTERVAL': '200ms',
                    'FANWATCH_PRODUCER_RETRY__BACKOFF__MAX': '300ms',
                    'FANWATCH_OPENSEARCH_TIMEOUT': '2s'})
        env.update(extra)
        return env

    def run_producer(self, name, env, *argv):
        log = open(os.path.join(self.tmp, name + '.log'), 'w')
        p = subprocess.Popen([os.environ['FW_PRODUCER']] + list(argv), env=env, stdout=log,
                             stderr=subprocess.STDOUT)
        p.log, p.log_path = log, log.name
        self.procs.append(p)
        return p

    @staticmethod
    def output(p):
        with open(p.log_path, errors='replace') as f:
            return f.read()

    def test_bad_answers_lose_nothing(self):
        now = int(time.time() * 1000)
        docs = generate(1500, 7, now - 3600000, 600)
        fake = self.fake(docs)
        # every kind of failure once, between good pages (FIFO, None = answer normally)
        kinds = ['shards', 'timeout', '429', '404', 'garbage', 'hang']
        for k in kinds:
            fake.faults.extend([None, None, None, k])
        topic, rd = self.topic()
        frm, to = (now - 3600000) // 1000, (now - 2900000) // 1000
        p = self.run_producer('faults', self.env(fake.url, topic),
                              '--from', str(frm), '--to', str(to))
        self.assertEqual(p.wait(timeout=120), 0, self.output(p)[-3000:])
        want = {d['id'] for d in docs}
        wait_for(lambda: rd.poll() >= want, 30, 'every session on the topic')
        self.assertEqual(rd.poll(), want)
        out = self.output(p)
        for cause in ('shard(s) failed: the page is partial', 'opensearch timed out',
                      'HTTP 429 from OpenSearch', 'circuit_breaking_exception',
                      'HTTP 404 from OpenSearch', 'search_context_missing_exception',
                      'not JSON', 'Timeout was reached'):
            self.assertIn(cause, out)
        self.assertEqual(fake.faults, [], 'every fault was served')

    def test_live_cursor_holds_while_failing(self):
        now = int(time.time() * 1000)
        docs = generate(800, 11, now - 1200000, 300)
        fake = self.fake(docs)
        topic, rd = self.topic()
        cursor = os.path.join(self.tmp, 'live.cursor')
        p = self.run_producer('live', self.env(fake.url, topic,
                                               FANWATCH_PRODUCER_CURSOR__FILE=cursor,
                                               FANWATCH_PRODUCER_START__LOOKBACK='30m',
                                               FANWATCH_OPENSEARCH_STREAMS='3'))

        def position():
            return cursor_position(cursor)
        first = {d['id'] for d in docs}
        wait_for(lambda: rd.poll() >= first and (position() or 0) * 1000 > now, 60,
                 'the first sessions published and the cursor past them')
        # OpenSearch fails from now on; sessions keep being written
        fake.faults.extend(['429'] * 1000000)
        at = position()
        searches = fake.searches
        late = generate(300, 12, int(time.time() * 1000) - 500, 1)
        fake.add(late)
        wait_for(lambda: fake.searches >= searches + 5, 30, 'the producer to retry')
        self.assertEqual(position(), at, 'the cursor moved while OpenSearch failed')
        self.assertEqual(rd.poll(), first, 'published while OpenSearch failed')
        self.assertTrue(p.poll() is None, self.output(p)[-2000:])
        fake.faults.clear()
        want = first | {d['id'] for d in late}
        wait_for(lambda: rd.poll() >= want, 60, 'the late sessions published after recovery')
        wait_for(lambda: position() * 1000 > max(d['@timestamp'] for d in late), 30,
                 'the cursor past the late sessions')
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0)
        out = self.output(p)
        self.assertEqual(out.count('circuit_breaking_exception'), 1,
                         'a persisting cause is logged once')
        self.assertIn('recovered', out)

    def make_certs(self):
        d = os.path.join(self.tmp, 'certs')
        os.makedirs(d, exist_ok=True)

        def run(*a):
            subprocess.run(a, check=True, capture_output=True, cwd=d, timeout=120)
        run('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
            '-subj', '/CN=fanwatch os test CA', '-keyout', 'ca.key', '-out', 'ca.pem')
        run('openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1',
            '-keyout', 'os.key', '-out', 'os.csr')
        with open(os.path.join(d, 'ext.cnf'), 'w') as f:
            f.write('subjectAltName=IP:127.0.0.1\n')
        run('openssl', 'x509', '-req', '-in', 'os.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
            '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'os.pem')
        return os.path.join(d, 'ca.pem'), (os.path.join(d, 'os.pem'), os.path.join(d, 'os.key'))

    def test_tls_and_api_key(self):
        ca, pair = self.make_certs()
        now = int(time.time() * 1000)
        docs = generate(200, 5, now - 3600000, 60)
        fake = self.fake(docs, tls=pair, api_key=API_KEY)
        keyfile = os.path.join(self.tmp, 'api_key')
        with os.fdopen(os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:
            f.write(API_KEY + '\n')
        frm, to = (now - 3600000) // 1000, (now - 3500000) // 1000
        topic, rd = self.topic()
        # the CA and the key: every session, the key sent on every request (and the _source
        # fetch, where the other cases read doc values)
        p = self.run_producer('tls', self.env(fake.url, topic, FANWATCH_OPENSEARCH_CA__FILE=ca,
                                              FANWATCH_OPENSEARCH_API__KEY__FILE=keyfile,
                                              FANWATCH_OPENSEARCH_FETCH='source'),
                              '--from', str(frm), '--to', str(to))
        self.assertEqual(p.wait(timeout=60), 0, self.output(p)[-3000:])
        want = {d['id'] for d in docs}
        wait_for(lambda: rd.poll() >= want, 30, 'every session on the topic')
        self.assertTrue(fake.auth and all(a == 'ApiKey ' + API_KEY for a in fake.auth))
        self.assertNotIn(API_KEY, self.output(p))
        # no CA: the certificate is refused (the backfill retries until stopped)
        n = len(fake.auth)
        p = self.run_producer('noca', self.env(fake.url, topic,
                                               FANWATCH_OPENSEARCH_API__KEY__FILE=keyfile),
                              '--from', str(frm), '--to', str(to))
        wait_for(lambda: 'poll failed' in self.output(p), 30, 'the refusal logged')
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertRegex(self.output(p), r'(?i)certificate')
        self.assertEqual(len(fake.auth), n, 'a request reached the server without the CA')
        # a wrong key: 401, naming the keys to check
        p = self.run_producer('wrongkey', self.env(fake.url, topic,
                                                   FANWATCH_OPENSEARCH_CA__FILE=ca,
                                                   FANWATCH_OPENSEARCH_API__KEY='nope'),
                              '--from', str(frm), '--to', str(to))
        wait_for(lambda: 'poll failed' in self.output(p), 30, 'the 401 logged')
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertIn('HTTP 401 from OpenSearch: check opensearch.user', self.output(p))


if __name__ == '__main__':
    unittest.main()
