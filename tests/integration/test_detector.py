"""Integration: fanwatch-detector as a consumer group against a real Kafka broker.

Run by ctest (label integration) with the broker of the 'kafka' fixture:
    FW_KAFKA_DIR=<dir with bootstrap> FW_DETECTOR=<fanwatch-detector> FW_REPLAY=<fanwatch-replay> \
        /usr/bin/python3 -m unittest -v test_detector

A seeded generator writes ~20 minutes of event time: a benign background of 2,400 campus
sources (a few destinations and ports each) plus injected scans (docs in SCENARIO below). The
same stream is written to a msgpack file and fanwatch-replay --partitions 6 computes the expected
alert ids (the oracle: the same engine fed partition by partition in the same order); the
injected scanners are also checked independently (right rule, allowlisted silent, benign
silent, one alert per attack). Every scenario then compares the alert ids on the alerts topic
with the oracle: lost must be 0; duplicates (an id published more often than the oracle raised
it: at-least-once after a crash or a rebalance) are reported.

Default alert semantics (alert.grouping = attack, detect.count = failed_or_new): one alert id
per key and attack, updated in place (same id, escalation 1, 2, ...); address_sweep_port is
folded into the source's address_sweep (fanwatch.by_port lists the ports). fanwatch-replay ends
every open attack at the end of its input with a final update (fanwatch.state "ended"), which a
live detector sends only once later sessions move its event time on: those documents are not
required on the topic (see oracle_split); an "ended" document the detectors do publish must be
one of the oracle's. The scans are unanswered SYNs (failed connections: they count under
detect.count = failed_or_new).
Needs Debian's python3-confluent-kafka (>= 1.7) and python3-msgpack.
"""

import collections
import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import msgpack
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
from fwtest import (PARTITIONS, LoggedRuns, assigned_consumer, bootstrap,  # noqa: E402,F401 (also for the other tests)
                    consume_ready, create_topics, http_get, kill_running, metrics_base,
                    partition_of, setup_or_cleanup, wait_for, write_detector_conf)

ALERT_PARTITIONS = 3
BASE_MS = 1716000000000          # 2024-05-18T02:40:00Z, a multiple of the 5-minute window
MIN = 60000
SPAN_MS = 20 * MIN               # event time covered by the stream
MID_MS = BASE_MS + 11 * MIN      # the stream's two halves (tests b and c) split here
SESSION_TIMEOUT_MS = 6000        # the broker's minimum: a SIGKILLed member is noticed quickly


def packed(addr):
    return ipaddress.ip_address(addr).packed


# ---------------------------------------------------------------------------------------------
# The stream
# ---------------------------------------------------------------------------------------------

RULES_INI = """[private_leak]
expression = packets == 1 && ip.protocol == tcp && ip.src != 131.206.0.0/16
    && ip.dst != 131.206.0.0/16
threshold = 1
"""

ALLOW = '131.206.60.0/24'

# The injected sources and the rules each must raise (checked independently of the oracle).
# With the default alert.grouping = attack, a sweep of one port is one address_sweep alert whose
# fanwatch.by_port names the port (no separate address_sweep_port alert).
SWEEP_A, SWEEP_B, SWEEP_SPLIT = '131.206.50.1', '131.206.50.2', '131.206.50.3'
PSCAN_A, PSCAN_B, SLOW = '131.206.50.4', '131.206.50.5', '131.206.50.6'
ALLOWED = '131.206.60.1'
LEAK_A, LEAK_B = '10.1.2.3', '172.16.5.5'
EXPECT_RULES = {
    SWEEP_A: {'address_sweep'},
    SWEEP_B: {'address_sweep'},
    SWEEP_SPLIT: {'address_sweep'},
    PSCAN_A: {'port_scan'},
    PSCAN_B: {'port_scan'},
    SLOW: {'address_sweep'},
    LEAK_A: {'private_leak'},
    LEAK_B: {'private_leak'},
}
# the port each sweep probed: the top entry of its alert's fanwatch.by_port
SWEEP_PORTS = {SWEEP_A: 445, SWEEP_B: 3389, SWEEP_SPLIT: 445, SLOW: 22}
BENIGN = 2400


class Gen:
    """Builds session records exactly as docs/wire-format.md describes them."""

    def __init__(self, seed):
        self.rnd = random.Random(seed)
        self.n = 0
        self.recs = []

    def add(self, src, dst, dport, fp, spk=1, dpk=0, proto=6, flags=None):
        self.n += 1
        r = self.rnd
        rec = {'v': 1, 'id': '3@240518-it%07d' % self.n, 'node': 'it-node',
               'fp': fp, 'lp': fp + (0 if spk + dpk <= 1 else r.randint(5, 30000)),
               'sip': packed(src), 'dip': packed(dst),
               'sp': r.randint(32768, 60999), 'dp': dport, 'pr': proto,
               'spk': spk, 'dpk': dpk, 'sby': 66 * spk + r.randint(0, 2000) * (spk > 1),
               'dby': 66 * dpk + r.randint(0, 9000) * (dpk > 1)}
        if proto == 6:
            rec['tf'] = flags or ({'syn': 1, 'syn-ack': 1, 'ack': max(1, spk - 1), 'psh': 1,
                                   'fin': 2} if dpk else {'syn': 1})
        self.recs.append(rec)
        return rec

    def probe(self, src, dst, dport, fp):
        """A single-packet TCP SYN that got no answer (a failed connection)."""
        return self.add(src, dst, dport, fp, spk=1, dpk=0)


def generate(seed=4242):
    """The stream in event-time order: (records, facts)."""
    g = Gen(seed)
    r = g.rnd
    servers = ['131.206.200.%d' % i for i in range(1, 121)] + \
              ['131.206.201.%d' % i for i in range(1, 61)] + \
              ['198.51.100.%d' % i for i in range(1, 41)] + ['203.0.113.%d' % i for i in range(1, 41)]
    ports = [53, 80, 443, 22, 88, 389, 445, 3389, 8080, 123, 993, 5432]
    for i in range(BENIGN):
        src = '131.206.%d.%d' % (10 + i // 250, 1 + i % 250)
        dsts = r.sample(servers, r.randint(1, 5))
        sports = r.sample(ports, r.randint(1, 2))
        for _ in range(r.randint(2, 12)):
            dport = r.choice(sports)
            g.add(src, r.choice(dsts), dport, BASE_MS + r.randrange(SPAN_MS),
                  spk=r.randint(2, 40), dpk=r.randint(1, 40), proto=17 if dport in (53, 123) else 6)
    # address sweeps: 40 hosts on 445 in 2 min; 60 hosts on 3389 in 2 min
    for i in range(40):
        g.probe(SWEEP_A, '131.206.100.%d' % (i + 1), 445, BASE_MS + 2 * MIN + i * 3000)
    for i in range(60):
        g.probe(SWEEP_B, '131.206.101.%d' % (i + 1), 3389, BASE_MS + 13 * MIN + i * 2000)
    # the sweep split by the restart (tests b, c): 15 hosts before MID, 15 after, within 2 min
    for i in range(30):
        t = MID_MS - MIN + i * 4000 if i < 15 else MID_MS + (i - 15) * 4000
        g.probe(SWEEP_SPLIT, '131.206.102.%d' % (i + 1), 445, t)
    # vertical port scans: 30 and 22 ports of one host
    for i, p in enumerate(r.sample(range(1, 1024), 30)):
        g.probe(PSCAN_A, '131.206.200.5', p, BASE_MS + 6 * MIN + i * 2000)
    for i, p in enumerate(r.sample(range(1024, 10000), 22)):
        g.probe(PSCAN_B, '131.206.201.7', p, BASE_MS + 16 * MIN + i * 3000)
    # slow scan: one host on 22 every 10 s for 8 min from 1:00; 24 probes fall in each of the
    # epochs [0,5) and [5,10) min (a tumbling window sees 24 < 25), any 5-min span holds 30
    for i in range(48):
        g.probe(SLOW, '131.206.103.%d' % (i + 1), 22, BASE_MS + MIN + i * 10000)
    # an allowlisted scanner (sweep.allow_src etc.): a 50-host sweep and a 20-port scan
    for i in range(50):
        g.probe(ALLOWED, '131.206.104.%d' % (i + 1), 445, BASE_MS + 8 * MIN + i * 1000)
    for i, p in enumerate(r.sample(range(1, 1024), 20)):
        g.probe(ALLOWED, '131.206.200.9', p, BASE_MS + 17 * MIN + i * 1000)
    # the study's rule: single-packet TCP with neither end in 131.206.0.0/16
    g.probe(LEAK_A, '192.168.7.9', 443, BASE_MS + 4 * MIN + 1234)
    g.probe(LEAK_B, '10.9.8.7', 22, BASE_MS + 14 * MIN + 4321)
    recs = sorted(g.recs, key=lambda x: (x['fp'], x['id']))
    return recs


def encode(rec):
    return msgpack.packb(rec, use_bin_type=True)


def write_file(path, recs):
    with open(path, 'wb') as f:
        for rec in recs:
            f.write(encode(rec))


def produce(topic, recs, extra=()):
    """Produce recs (key = source IP bytes, timestamp = firstPacket) in order, all acknowledged.
    extra: (position, partition key, raw value) records inserted before recs[position]."""
    p = Producer({'bootstrap.servers': bootstrap(), 'enable.idempotence': True,
                  'linger.ms': 20, 'queue.buffering.max.messages': 200000})
    failed = []

    def dr(err, msg):
        if err:
            failed.append(err)
    inserts = collections.defaultdict(list)
    for pos, key, value in extra:
        inserts[pos].append((key, value))
    for i, rec in enumerate(recs):
        for key, value in inserts.get(i, []):
            p.produce(topic, value=value, key=key, partition=partition_of(key),
                      timestamp=rec['fp'], on_delivery=dr)
        p.produce(topic, value=encode(rec), key=rec['sip'], partition=partition_of(rec['sip']),
                  timestamp=rec['fp'], on_delivery=dr)
        if i % 5000 == 0:
            p.poll(0)
    assert p.flush(60) == 0, 'messages not delivered'
    assert not failed, failed[:3]
    return len(recs) + len(extra)


def replay_alerts(conf, path):
    """fanwatch-replay --partitions 6 on the file: the list of alert documents it prints."""
    out = subprocess.run([os.environ['FW_REPLAY'], '-c', conf, '--input', path,
                          '--format', 'msgpack', '--partitions', str(PARTITIONS)],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise AssertionError('fanwatch-replay failed (%d): %s' % (out.returncode, out.stderr))
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def is_final(doc):
    """A final update (fanwatch.state "ended") of an attack-grouped alert."""
    return doc.get('fanwatch', {}).get('state') == 'ended'


def oracle_split(docs):
    """fanwatch-replay's documents as the live detectors are compared with them:
    (Counter of ids over the documents that are not final updates, {(id, escalation)} of those,
    {(id, escalation)} of the final updates). Replay calls fw_engine_flush at the end of its input,
    so it ends every open attack with a final update ("ended") that a live detector sends only
    once later sessions move event time on: those are excluded from what must be published."""
    active = [d for d in docs if not is_final(d)]
    return (collections.Counter(d['event']['id'] for d in active),
            {(d['event']['id'], d['fanwatch']['escalation']) for d in active},
            {(d['event']['id'], d['fanwatch']['escalation']) for d in docs if is_final(d)})


def admin():
    return AdminClient({'bootstrap.servers': bootstrap()})




def group_members(group):
    """Members of a consumer group (classic protocol) as the broker describes it."""
    gs = admin().list_groups(group=group, timeout=10)
    return [m.id for g in gs for m in g.members]


def progress(checker, topic):
    """(committed offsets, end offsets) of the sessions topic's partitions for the group."""
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    try:
        com = [tp.offset for tp in checker.committed(tps, timeout=10)]
    except KafkaException:
        return None, None
    ends = [checker.get_watermark_offsets(tp, timeout=10)[1] for tp in tps]
    return com, ends


def wait_done(checker, topic, reader, live, logs, timeout=120):
    """Until every partition's committed offset is its end offset (so every alert of the
    stream was acknowledged by Kafka), the reader holds the whole alerts topic, and its end
    offsets did not move over one second. live: detectors that must keep running; logs():
    their output for the failure message."""
    state = {'high': None, 'since': 0.0}

    def done():
        for d in live:
            if not d.running():
                raise AssertionError('%s exited with %s\n%s' % (d.name, d.proc.returncode,
                                                                logs()))
        com, ends = progress(checker, topic)
        if com is None or com != ends:
            state['high'] = None
            return False
        reader.drain()
        high = reader.high()
        if list(high) != reader.next:
            return False
        if high != state['high']:
            state['high'], state['since'] = high, time.monotonic()
            return False
        return time.monotonic() - state['since'] >= 1.0
    try:
        wait_for(done, timeout, 'the group to commit the end of %s' % topic, interval=0.2)
    except AssertionError as e:
        raise AssertionError('%s: committed/end %s\n%s' % (e, progress(checker, topic), logs()))


class Detector(LoggedRuns):
    """fanwatch-detector as a subprocess with its own configuration file."""

    def __init__(self, tmp, name, conf):
        super().__init__(tmp, name)
        self.conf = conf
        self.base = None

    def start(self):
        self.base = None
        self.popen([os.environ['FW_DETECTOR'], '-c', self.conf])
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def url(self):
        """http://127.0.0.1:<port> from the 'metrics on' log line of the current run."""
        if self.base is None:
            self.base = metrics_base(self.logs[-1])
        return self.base

    def metrics(self):
        """{name or name{labels}: value}, or None."""
        if not self.url():
            return None
        status, body = http_get(self.url() + '/metrics')
        if status != 200:
            return None
        out = {}
        for line in body.splitlines():
            if line and not line.startswith('#'):
                k, _, v = line.rpartition(' ')
                out[k] = float(v)
        return out

    def stop(self, sig=signal.SIGTERM, timeout=60):
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            rc = self.proc.wait(timeout=timeout)
            self.log.close()
        return rc


class Alerts:
    """Reads an alerts topic from the beginning (assigned, no group) and counts ids."""

    def __init__(self, topic):
        self.topic = topic
        self.c = assigned_consumer(topic, ALERT_PARTITIONS, 'read-' + topic)
        self.count = collections.Counter()   # every document, by id
        self.active = collections.Counter()  # documents that are not final updates, by id
        self.pairs = set()                   # (id, escalation) of those
        self.ended = set()                   # (id, escalation) of final updates ("ended")
        self.docs = {}
        self.all = collections.defaultdict(list)  # id -> every document, in arrival order
        self.next = [0] * ALERT_PARTITIONS
        self.bad = []

    def drain(self):
        for m in consume_ready(self.c, 0.1, self.next):
            try:
                doc = json.loads(m.value())
                key = m.key().decode()
            except Exception as e:  # noqa: BLE001  (reported by the test)
                self.bad.append(repr(e))
                continue
            if doc.get('event', {}).get('id') != key:
                self.bad.append('key %s != event.id %s' % (key, doc.get('event', {}).get('id')))
            self.count[key] += 1
            self.all[key].append(doc)
            esc = doc.get('fanwatch', {}).get('escalation')
            if is_final(doc):
                self.ended.add((key, esc))
            else:
                self.active[key] += 1
                self.pairs.add((key, esc))
                self.docs[key] = doc  # the alert's latest document that is not final
            self.docs.setdefault(key, doc)

    def high(self):
        return tuple(self.c.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1]
                     for p in range(ALERT_PARTITIONS))

    def close(self):
        self.c.close()


class DetectorTest(unittest.TestCase):
    """Scenarios (a)-(e); the stream, its file and the oracle are built once."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='fw-detector-')
        setup_or_cleanup(cls.tearDownClass, cls.prepare)

    @classmethod
    def prepare(cls):
        cls.recs = generate()
        cls.first = [r for r in cls.recs if r['fp'] < MID_MS]
        cls.second = [r for r in cls.recs if r['fp'] >= MID_MS]
        cls.file = os.path.join(cls.tmp, 'stream.msgpack')
        write_file(cls.file, cls.recs)
        cls.rules = os.path.join(cls.tmp, 'rules.ini')
        with open(cls.rules, 'w') as f:
            f.write(RULES_INI)
        conf = cls.write_conf('oracle', 'unused', 'unused', 'unused')
        cls.oracle_docs = replay_alerts(conf, cls.file)
        # what the live detectors must publish: every document but replay's final updates
        cls.oracle, cls.oracle_pairs, cls.oracle_ended = oracle_split(cls.oracle_docs)
        cls.by_id = {}
        for d in cls.oracle_docs:  # the first document of each alert
            cls.by_id.setdefault(d['event']['id'], d)
        print('\nstream: %d sessions (%d before the split, %d after), %d benign sources; '
              'oracle (fanwatch-replay --partitions %d): %d documents (%d final updates at the end '
              'of the input, not expected live), %d distinct ids, by rule %s'
              % (len(cls.recs), len(cls.first), len(cls.second), BENIGN, PARTITIONS,
                 len(cls.oracle_docs), len(cls.oracle_ended), len(cls.by_id),
                 dict(collections.Counter(d['rule']['id'] for d in cls.by_id.values()))))
        # the whole stream on one topic, shared by the three runs of test (a)
        cls.full_topic = 'sessions-' + uuid.uuid4().hex[:12]
        create_topics((cls.full_topic, PARTITIONS))
        cls.full_count = produce(cls.full_topic, cls.recs)

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get('FW_KEEP_TMP'):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def write_conf(cls, name, sessions, alerts, group, extra=''):
        return write_detector_conf(
            os.path.join(cls.tmp, name + '.ini'), sessions, alerts, group, cls.rules,
            bootstrap() if name != 'oracle' else '127.0.0.1:9', kafka=extra,
            sections="""[sweep]
threshold = 25
allow_src = %s
[sweep_port]
allow_src = %s
[port_scan]
threshold = 15
allow_src = %s
[spike]
allow_src = %s
""" % (ALLOW, ALLOW, ALLOW, ALLOW))

    def setUp(self):
        self.detectors = []
        self.readers = []
        self.checkers = []

    def tearDown(self):
        kill_running(self.detectors)
        for r in self.readers:
            r.close()
        for c in self.checkers:
            c.close()

    # -- helpers -------------------------------------------------------------------------------

    def scenario(self, name, sessions=None, session_timeout=True):
        """A fresh group and alerts topic (and sessions topic unless given): conf, reader."""
        tag = '%s-%s' % (name, uuid.uuid4().hex[:8])
        if sessions is None:
            sessions = 'sessions-' + tag
            create_topics((sessions, PARTITIONS), ('alerts-' + tag, ALERT_PARTITIONS))
        else:
            create_topics(('alerts-' + tag, ALERT_PARTITIONS))
        extra = ('session.timeout.ms = %d\nheartbeat.interval.ms = 1000\n' % SESSION_TIMEOUT_MS
                 if session_timeout else '')
        conf = self.write_conf(tag, sessions, 'alerts-' + tag, 'group-' + tag, extra)
        reader = Alerts('alerts-' + tag)
        self.readers.append(reader)
        checker = Consumer({'bootstrap.servers': bootstrap(), 'group.id': 'group-' + tag,
                            'enable.auto.commit': False})
        self.checkers.append(checker)
        return tag, sessions, conf, reader, checker

    def detector(self, tag, conf, i):
        d = Detector(self.tmp, '%s-det%d' % (tag, i), conf)
        self.detectors.append(d)
        return d

    def logs(self):
        return '\n'.join('--- %s ---\n%s' % (d.name, d.output()[-3000:]) for d in self.detectors)

    def wait_done(self, checker, topic, reader, live, timeout=120):
        wait_done(checker, topic, reader, live, self.logs, timeout)

    def compare(self, what, reader, sessions, docs=None):
        """The alert documents on the topic are the oracle's (docs: replay's output, default the
        stream's), its final updates at the end of the input excepted: the same ids, each with
        the same escalations; a final update published live must be one of the oracle's.
        Returns the duplicates (documents beyond the oracle's count of an id)."""
        if docs is None:
            oracle, pairs, ended = self.oracle, self.oracle_pairs, self.oracle_ended
        else:
            oracle, pairs, ended = oracle_split(docs)
        got = reader.active
        missing = sorted(set(oracle) - set(got))
        unexpected = sorted(set(got) - set(oracle))
        dups = sum(((got - oracle)).values())
        print('\n%s: sessions produced %d, alerts expected %d (%d ids; %d final updates of '
              'replay not expected live), published %d (%d ids) and %d final updates, missing %d, '
              'unexpected %d, duplicates %d%s'
              % (what, sessions, sum(oracle.values()), len(oracle), len(ended),
                 sum(got.values()), len(got), len(reader.ended), len(missing), len(unexpected),
                 dups, (' (ids: %s)' % ', '.join('%s x%d' % (k[:8], v)
                                                 for k, v in (got - oracle).items()))
                 if dups else ''))
        self.assertEqual(reader.bad, [])
        self.assertEqual(missing, [], 'missing: %s\n%s' % (
            [(self.by_id.get(i, {}).get('rule', {}).get('id'),
              self.by_id.get(i, {}).get('source', {}).get('ip')) for i in missing],
            self.logs()))
        self.assertEqual(unexpected, [], 'unexpected: %s' % [
            (reader.docs[i].get('rule', {}).get('id'), reader.docs[i].get('source', {}).get('ip'))
            for i in unexpected])
        # the same updates of each alert (escalation 0, 1, ...), none missing, none invented
        self.assertEqual(sorted(pairs - reader.pairs), [], 'escalations missing')
        self.assertEqual(sorted(reader.pairs - pairs), [], 'escalations not in the oracle')
        self.assertEqual(sorted(reader.ended - ended), [],
                         'final updates published that the oracle did not raise')
        return dups

    # -- the oracle itself ---------------------------------------------------------------------

    def test_0_oracle_finds_the_injected_scans(self):
        """Independently of the engine: each injected scanner has an alert of its rule, the
        allowlisted scanner and the benign sources have none."""
        by_src = collections.defaultdict(set)
        for d in self.by_id.values():
            by_src[d.get('source', {}).get('ip')].add(d['rule']['id'])
        print('\noracle alerts by source: %s' % {k: sorted(v) for k, v in sorted(
            by_src.items(), key=lambda kv: str(kv[0]))})
        for src, rules in EXPECT_RULES.items():
            self.assertTrue(rules <= by_src.get(src, set()),
                            '%s: expected %s, got %s' % (src, rules, by_src.get(src)))
        self.assertNotIn(ALLOWED, by_src)
        extra = set(by_src) - set(EXPECT_RULES)
        self.assertEqual(extra, set(), 'alerts for sources that are not injected scanners')
        # the scans' rules and nothing else for the scanners (no spike, no rule on campus probes)
        for src, rules in by_src.items():
            self.assertEqual(rules, EXPECT_RULES[src], src)
        # one alert per attack: one id per rule and key (source; port scan: source + host),
        # whatever its updates; no separate address_sweep_port alert (folded into the sweep)
        keys = collections.Counter((d['rule']['id'], d['source']['ip'],
                                    d.get('destination', {}).get('ip'))
                                   for d in self.by_id.values())
        self.assertEqual([k for k, n in keys.items() if n != 1], [], 'keys with several ids')
        self.assertEqual(len(keys), sum(len(r) for r in EXPECT_RULES.values()))
        docs_of = collections.defaultdict(list)
        for d in self.oracle_docs:
            docs_of[d['event']['id']].append(d)
        for i, ds in docs_of.items():
            # an alert's documents: escalation 0, 1, 2, ... in order; at most one final
            # update ("ended"), its last; every document keeps the first one's epoch_start
            self.assertEqual([d['fanwatch']['escalation'] for d in ds], list(range(len(ds))), i)
            self.assertEqual([d['fanwatch']['state'] for d in ds[:-1]], ['active'] * (len(ds) - 1),
                             i)
            self.assertIn(ds[-1]['fanwatch']['state'], ('active', 'ended'), i)
            self.assertEqual({d['fanwatch']['epoch_start'] for d in ds},
                             {ds[0]['fanwatch']['epoch_start']}, i)
        for src, port in SWEEP_PORTS.items():
            for d in self.oracle_docs:
                if d['rule']['id'] == 'address_sweep' and d['source']['ip'] == src:
                    by_port = d['fanwatch'].get('by_port') or []
                    self.assertTrue(by_port, d)
                    self.assertEqual(by_port[0]['port'], port, d)
                    self.assertGreaterEqual(by_port[0]['hosts'], 2, d)
        # every sweep and scan kept going after its first alert: replay's end of input reports
        # the last growth in a final update (not expected live, see oracle_split)
        ended = {i for i, _ in self.oracle_ended}
        for d in self.by_id.values():
            if d['rule']['id'] in ('address_sweep', 'port_scan'):
                self.assertIn(d['event']['id'], ended, d)
        # the split sweep crosses its threshold after the split (the restart tests need it)
        split = [d for d in self.by_id.values()
                 if d['source']['ip'] == SWEEP_SPLIT and d['rule']['id'] == 'address_sweep']
        self.assertEqual(len(split), 1)

    # -- (a) 1, 2 and 3 detectors --------------------------------------------------------------

    def run_group(self, n):
        tag, topic, conf, reader, checker = self.scenario('scale%d' % n, sessions=self.full_topic)
        ds = [self.detector(tag, conf, i).start() for i in range(n)]
        t0 = time.monotonic()
        self.wait_done(checker, topic, reader, ds)
        took = time.monotonic() - t0
        ms = [d.metrics() or {} for d in ds]
        for d in ds:
            self.assertEqual(d.stop(), 0, d.output()[-3000:])
        parts = [int(m.get('fanwatch_detector_assigned_partitions', -1)) for m in ms]
        analysed = [int(m.get('fanwatch_detector_sessions_total', -1)) for m in ms]
        print('\n%d detector(s): partitions %s, sessions analysed %s (replayed %s), '
              'rebalance callbacks %s' % (
                  n, parts, analysed,
                  [int(m.get('fanwatch_detector_replayed_sessions_total', -1)) for m in ms],
                  [int(m.get('fanwatch_detector_rebalances_total', -1)) for m in ms]))
        # the group spread the partitions over every member
        self.assertEqual(sum(parts), PARTITIONS)
        self.assertTrue(all(p >= 1 for p in parts), parts)
        self.assertGreaterEqual(sum(analysed), self.full_count)
        self.compare('%d detector(s), %.1f s' % (n, took), reader, self.full_count)
        return set(reader.count)

    def test_a_one_two_three_detectors_same_alert_ids(self):
        """1, 2 and 3 detectors on the 6-partition topic publish the same set of alert ids,
        the oracle's."""
        sets = [self.run_group(n) for n in (1, 2, 3)]
        self.assertEqual(sets[0], sets[1])
        self.assertEqual(sets[1], sets[2])

    # -- (b) SIGKILL mid-stream ----------------------------------------------------------------

    def test_b_sigkill_loses_no_alert(self):
        """Two detectors; after the first half is committed one is SIGKILLed and a third joins;
        the second half is produced: every oracle alert id is published (duplicates allowed)."""
        tag, topic, conf, reader, checker = self.scenario('kill')
        ds = [self.detector(tag, conf, i).start() for i in range(2)]
        n = produce(topic, self.first)
        self.wait_done(checker, topic, reader, ds)
        before = sum(reader.count.values())
        owned = [int((d.metrics() or {}).get('fanwatch_detector_assigned_partitions', -1))
                 for d in ds]
        self.assertEqual(sum(owned), PARTITIONS)
        self.assertGreaterEqual(owned[0], 1, 'the detector to kill owns no partition')
        ds[0].proc.send_signal(signal.SIGKILL)
        ds[0].proc.wait(timeout=30)
        ds[0].log.close()
        third = self.detector(tag, conf, 2).start()
        n += produce(topic, self.second)
        self.wait_done(checker, topic, reader, [ds[1], third], timeout=150)
        replayed = [int((d.metrics() or {}).get('fanwatch_detector_replayed_sessions_total', -1))
                    for d in (ds[1], third)]
        for d in (ds[1], third):
            self.assertEqual(d.stop(), 0, d.output()[-3000:])
        print('\nSIGKILL: partitions %s before the kill of the first; %d alerts published before '
              'it; the survivor and the new member replayed %s sessions silently'
              % (owned, before, replayed))
        self.assertTrue(sum(replayed) > 0, 'the killed member\'s partitions were not replayed')
        self.compare('SIGKILL one of two, a third joins', reader, n)

    # -- (c) SIGTERM restart: the replay rebuilds the window -----------------------------------

    def test_c_sigterm_restart_rebuilds_window(self):
        """One detector stops cleanly after the first half; a new one replays the partitions'
        last window silently and raises the sweep whose 30 hosts straddle the restart (15 + 15)
        with the oracle's id, once."""
        tag, topic, conf, reader, checker = self.scenario('restart')
        d = self.detector(tag, conf, 0).start()
        n = produce(topic, self.first)
        self.wait_done(checker, topic, reader, [d])
        split_id = [i for i, doc in self.by_id.items()
                    if doc['source']['ip'] == SWEEP_SPLIT and doc['rule']['id'] == 'address_sweep'][0]
        self.assertNotIn(split_id, reader.count)
        self.assertEqual(d.stop(signal.SIGTERM), 0, d.output()[-3000:])
        d2 = self.detector(tag, conf, 1).start()
        n += produce(topic, self.second)
        self.wait_done(checker, topic, reader, [d2])
        m = d2.metrics() or {}
        self.assertEqual(d2.stop(), 0, d2.output()[-3000:])
        replayed = m.get('fanwatch_detector_replayed_sessions_total')
        print('\nrestart: the new member replayed %s sessions silently; split sweep alert %s '
              'published %d time(s), oracle %d (final update at the end of its input not counted)'
              % (replayed, split_id[:8], reader.active[split_id], self.oracle[split_id]))
        self.assertTrue(replayed and replayed > 0, 'no silent replay after the restart')
        self.assertEqual(reader.active[split_id], self.oracle[split_id])
        doc = reader.docs[split_id]
        self.assertEqual((doc['rule']['id'], doc['source']['ip']), ('address_sweep', SWEEP_SPLIT))
        dups = self.compare('SIGTERM restart mid-stream', reader, n)
        self.assertEqual(dups, 0, 'a clean stop re-published alerts')

    # -- (d) an undecodable record -------------------------------------------------------------

    def test_d_undecodable_record_skipped(self):
        """Garbage, a version-2 map and an empty (null) value in one partition are skipped and
        counted; the sweep that follows them in that partition still alerts."""
        tag, topic, conf, reader, checker = self.scenario('garbage')
        g = Gen(99)
        src = '131.206.70.1'
        for i in range(8):  # a little benign traffic on every partition
            g.add('131.206.11.%d' % (i + 1), '131.206.200.1', 443, BASE_MS + i * 1000, spk=5, dpk=4)
        for i in range(30):
            g.probe(src, '131.206.105.%d' % (i + 1), 445, BASE_MS + 10000 + i * 1000)
        recs = g.recs
        pos = 8  # before the sweep's first session, with the sweep's key: same partition
        key = packed(src)
        garbage = [(pos, key, b'\xc1\x00garbage \xff\xfe not msgpack'),
                   (pos, key, msgpack.packb({'v': 2, 'id': 'from-the-future'}, use_bin_type=True)),
                   (pos, key, None)]
        path = os.path.join(self.tmp, 'garbage.msgpack')
        write_file(path, recs)
        oracle = replay_alerts(conf, path)
        self.assertTrue(oracle_split(oracle)[0], 'the oracle raises nothing for the sweep')
        d = self.detector(tag, conf, 0).start()
        n = produce(topic, recs, garbage)
        self.wait_done(checker, topic, reader, [d])
        m = wait_for(lambda: (lambda x: x if x and x.get(
            'fanwatch_detector_decode_errors_total', 0) >= 3 else None)(d.metrics()), 10,
            'decode errors in /metrics')
        self.assertEqual(d.stop(), 0, d.output()[-3000:])
        print('\nundecodable: partition %d, %d records (3 undecodable), decode errors %d, '
              'sessions analysed %d' % (partition_of(key), n,
                                        m['fanwatch_detector_decode_errors_total'],
                                        m.get('fanwatch_detector_sessions_total', -1)))
        self.assertEqual(m['fanwatch_detector_decode_errors_total'], 3)
        self.assertIn('skipping undecodable record', d.output())
        self.compare('undecodable records skipped', reader, n, oracle)
        self.assertIn('address_sweep', {x['rule']['id'] for x in reader.docs.values()})

    # -- (e) health and a clean stop -----------------------------------------------------------

    def test_e_healthz_and_sigterm_leaves_group(self):
        """/healthz is 200 while running; SIGTERM exits 0 and the group is empty at once (the
        member left: a default 45 s session timeout would otherwise keep it)."""
        tag, topic, conf, reader, checker = self.scenario('health', session_timeout=False)
        group = 'group-' + tag
        d = self.detector(tag, conf, 0).start()
        wait_for(lambda: d.url(), 30, 'the metrics address in the log')
        wait_for(lambda: http_get(d.url() + '/healthz')[0] == 200, 30, '/healthz 200')
        wait_for(lambda: len(group_members(group)) == 1, 30, 'the detector in the group')
        m = wait_for(lambda: (lambda x: x if x and x.get(
            'fanwatch_detector_assigned_partitions') == PARTITIONS else None)(d.metrics()), 30,
            'all partitions assigned')
        n = produce(topic, self.recs[:2000])
        self.wait_done(checker, topic, reader, [d])
        self.assertEqual(http_get(d.url() + '/healthz')[0], 200)
        t0 = time.monotonic()
        rc = d.stop(signal.SIGTERM, timeout=30)
        stopped = time.monotonic() - t0
        self.assertEqual(rc, 0, d.output()[-3000:])
        wait_for(lambda: group_members(group) == [], 5, 'the group to have no members')
        left = time.monotonic() - t0
        print('\nhealth: %d sessions, partitions assigned %d; SIGTERM exit 0 in %.2f s, group '
              'empty after %.2f s' % (n, m['fanwatch_detector_assigned_partitions'], stopped, left))
        self.assertIn('leaving the group', d.output())


if __name__ == '__main__':
    unittest.main(verbosity=2)
