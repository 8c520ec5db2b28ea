"""End to end against a REAL Arkime: pcaps -> capture -> OpenSearch -> viewer -> fanwatch.

Run by ctest (label arkime) with the broker of the 'kafka' fixture:
    FW_KAFKA_DIR=<dir with bootstrap> FW_PRODUCER=<fanwatch-producer> FW_DETECTOR=<...> \
        FW_REPLAY=<fanwatch-replay> /usr/bin/python3 test_arkime_e2e.py -v
One Arkime (scripts/arkime-local, state in a private temp dir) serves the whole class; without
an Arkime source the class is skipped with one line (exit 77, ctest's SKIP_RETURN_CODE).

The scenario pcaps of gen_pcaps.py (default scale) go through the real capture; what OpenSearch
holds (arkime_sessions3-*, read directly with a scroll) is the reference:
  1. live: fanwatch-producer (safety_lag 3 s) runs while the pcaps are ingested in two batches,
     the second once the producer's cursor has passed every record of the first: every
     OpenSearch id is published; none extra; duplicates reported.
  2. backfill: --from/--to around the ingest time: the same, and the producer exits 0.
  3. two fanwatch-detectors (one group, detect.rules = detector/rules.example.ini, otherwise the
     defaults: alerts grouped by attack, detect.count = failed_or_new) over the live topic, and
     fanwatch-replay over the same records (partition by partition), both checked against the
     manifest with gen_pcaps.check_alerts: one alert id per attack (an address_sweep with its
     fanwatch.by_port, no address_sweep_port; a port_scan per source and host), its epoch, the
     first document at the threshold, updates only at 2x and 5 min apart, at most max_documents;
     the final update (fanwatch.state "ended") with the final count, by_port, severity and
     techniques from replay, which flushes at the end of its input (the detectors emit it only
     once event time moved on by window + lateness, so theirs is optional, but checked if sent);
     nothing from quiet sources, nothing unexpected. Every detector document is one of replay's
     (id, escalation, state, count, severity, by_port, window); the only replay documents the
     detectors may lack are final updates; the ids are equal; no document is sent twice.
  4. pivots: every alert document's viewer link (fanwatch.viewer_url: its expression, startTime,
     stopTime and bounding), replay's final updates included, asked of the real viewer selects
     at least fanwatch.sessions sessions.
  5. bridge: capture's own Kafka plugin (--kafka, bulk format) -> fanwatch-producer in bridge
     mode -> a sessions topic: every document the plugin sent is republished, the sessions equal
     the viewer path's field for field, and fanwatch-replay gives the viewer path's alert ids and
     meets the manifest (in capture's order, not the viewer's).
A report with the figures is printed at the end.
Needs Debian's python3-confluent-kafka and python3-msgpack; gen_pcaps.py needs python3-scapy.
"""

import calendar
import collections
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

import msgpack
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
ARKIME_LOCAL = os.path.join(ROOT, 'scripts', 'arkime-local')
GEN_PCAPS = os.path.join(HERE, 'gen_pcaps.py')
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import gen_pcaps as G  # noqa: E402  (the manifest's checker; scapy is imported only to generate)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
from fwtest import (PARTITIONS, assigned_consumer, bootstrap, consume_ready,  # noqa: E402
                    create_topics, cursor_position, kill_running, partition_of,
                    setup_or_cleanup, wait_for, write_detector_conf)
RULES = os.path.join(ROOT, 'detector', 'rules.example.ini')

ALERT_PARTITIONS = 3
BATCH1 = ('01_', '02_', '03_', '04_')  # the pcaps of the first live batch; the rest is the second
SKIP_RC = 77


def os_id(record_id):
    """The OpenSearch _id of a published session id. The viewer reports `3@<_id>` (sessions3;
    Db.sid2Id strips `N@`), capture's Kafka plugin the bare _id."""
    m = re.match(r'^(\d)@(.+)$', record_id)
    if m:
        if m.group(1) != '3':
            raise AssertionError('session id %r: not a sessions3 id' % record_id)
        return m.group(2)
    return record_id


# ---------------------------------------------------------------------------------------------
# Kafka helpers
# ---------------------------------------------------------------------------------------------



class TopicReader:
    """Reads every partition of a topic from the beginning (assigned, no group), in order."""

    def __init__(self, topic, partitions):
        self.topic = topic
        self.n = partitions
        self.c = assigned_consumer(topic, partitions, 'read-' + uuid.uuid4().hex)
        self.msgs = [[] for _ in range(partitions)]  # per partition: (key, value), in offset order
        self.next = [0] * partitions

    def drain(self):
        for m in consume_ready(self.c, 0.2, self.next):
            self.msgs[m.partition()].append((m.key(), m.value()))

    def high(self):
        return [self.c.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1]
                for p in range(self.n)]

    def complete(self):
        """Drain, then whether everything up to the current end offsets was read."""
        self.drain()
        return self.high() == self.next

    def all(self):
        return [(p, k, v) for p in range(self.n) for k, v in self.msgs[p]]

    def close(self):
        self.c.close()


class Sessions(TopicReader):
    """A sessions topic (msgpack records): ids, copies, records."""

    def stats(self):
        copies = collections.Counter()
        recs = {}
        bad = []
        misrouted = 0
        for p, k, v in self.all():
            try:
                r = msgpack.unpackb(v, raw=False)
            except Exception as e:  # noqa: BLE001  (reported by the test)
                bad.append(repr(e))
                continue
            if k != r.get('sip') or partition_of(k) != p:
                misrouted += 1
            copies[r['id']] += 1
            recs.setdefault(r['id'], r)
        return copies, recs, bad, misrouted

    def write_file(self, path):
        """The records in partition order, for fanwatch-replay --partitions."""
        with open(path, 'wb') as f:
            for _, _, v in self.all():
                f.write(v)
        return path


class Alerts(TopicReader):
    def docs(self):
        out, bad = [], []
        for _, k, v in self.all():
            try:
                d = json.loads(v)
            except ValueError as e:
                bad.append(repr(e))
                continue
            if d.get('event', {}).get('id') != (k or b'').decode():
                bad.append('key %r != event.id %r' % (k, d.get('event', {}).get('id')))
            out.append(d)
        return out, bad


# ---------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------

class Daemon:
    """fanwatch-producer or -detector as a subprocess, output to a log file."""

    def __init__(self, tmp, name, argv, env=None):
        self.tmp, self.name, self.argv = tmp, name, argv
        self.env = dict(os.environ, **(env or {})) if env is not None else None
        self.path = os.path.join(tmp, name + '.log')
        self.log = open(self.path, 'w')
        self.proc = subprocess.Popen(argv, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

    def running(self):
        return self.proc.poll() is None

    def output(self):
        with open(self.path, errors='replace') as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(timeout=30)
        if not self.log.closed:
            self.log.close()
        return rc


def producer_env(extra):
    """The producer's whole environment (FANWATCH_* only from here: an unknown one is an error)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('FANWATCH_')}
    env.update(extra)
    return env


def replay(conf, path):
    out = subprocess.run([os.environ['FW_REPLAY'], '-c', conf, '--input', path, '--format',
                          'msgpack', '--partitions', str(PARTITIONS), '--strict'],
                         capture_output=True, text=True, timeout=300,
                         env=producer_env({}))
    if out.returncode != 0:
        raise AssertionError('fanwatch-replay failed (%d): %s' % (out.returncode, out.stderr))
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()], out.stderr


# ---------------------------------------------------------------------------------------------
# Arkime (viewer with digest auth, OpenSearch directly)
# ---------------------------------------------------------------------------------------------

class Arkime:
    def __init__(self, line):
        f = dict(kv.split('=', 1) for kv in line.split())
        self.viewer, self.opensearch = f['viewer'], f['opensearch']
        self.user, self.password_file, self.config = f['user'], f['password_file'], f['config']
        with open(self.password_file) as pf:
            password = pf.read().rstrip('\n')
        pm = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        pm.add_password(None, self.viewer, self.user, password)
        self.opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(pm))
        self.password = password

    def os_json(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.opensearch + path, data=data,
                                     method='POST' if data is not None else 'GET',
                                     headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def os_sessions(self):
        """{_id: (_index, @timestamp, firstPacket)} of every arkime_sessions3-* document, read
        with a scroll of 10,000 per page."""
        self.os_json('/arkime_sessions3-*/_refresh', {})
        out = {}
        r = self.os_json('/arkime_sessions3-*/_search?scroll=1m',
                         {'size': 10000, '_source': ['@timestamp', 'firstPacket'],
                          'query': {'match_all': {}}, 'sort': ['_doc']})
        total = r['hits']['total']['value']
        sid = r.get('_scroll_id')
        try:
            while r['hits']['hits']:
                for h in r['hits']['hits']:
                    if h['_id'] in out:
                        raise AssertionError('OpenSearch _id %s in two indices' % h['_id'])
                    out[h['_id']] = (h['_index'], h['_source']['@timestamp'],
                                     h['_source']['firstPacket'])
                r = self.os_json('/_search/scroll', {'scroll': '1m', 'scroll_id': sid})
                sid = r.get('_scroll_id', sid)
        finally:
            req = urllib.request.Request(self.opensearch + '/_search/scroll',
                                         data=json.dumps({'scroll_id': sid}).encode(),
                                         method='DELETE',
                                         headers={'Content-Type': 'application/json'})
            try:
                urllib.request.urlopen(req, timeout=30).close()
            except urllib.error.URLError:
                pass
        if len(out) != total:
            raise AssertionError('scroll returned %d of %d documents' % (len(out), total))
        return out

    def sessions_api(self, form):
        """POST /api/sessions (digest auth) with the form; the decoded answer."""
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(urllib.request.Request(self.viewer + '/api/sessions', data=data),
                              timeout=60) as r:
            return json.loads(r.read())


def arkime_local(env, *args, timeout=900):
    return subprocess.run([ARKIME_LOCAL] + list(args), env=env, capture_output=True, text=True,
                          timeout=timeout)


# ---------------------------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------------------------

class ArkimeE2E(unittest.TestCase):
    """Steps 1-5 of the module doc, in order (each later step uses the earlier ones' results)."""

    report = collections.OrderedDict()

    @classmethod
    def setUpClass(cls):
        for v in ('FW_KAFKA_DIR', 'FW_PRODUCER', 'FW_DETECTOR', 'FW_REPLAY'):
            if not os.environ.get(v):
                raise AssertionError('%s is not set (run through ctest)' % v)
        cls.tmp = tempfile.mkdtemp(prefix='fw-arkime-e2e-')
        os.chmod(cls.tmp, 0o711)  # OpenSearch runs as nobody when we are root: it must traverse
        cls.arkime_env = dict(os.environ, FW_ARKIME_DIR=os.path.join(cls.tmp, 'arkime'))
        cls.daemons = []
        cls.readers = []
        cls.arkime = None
        cls.state = {}
        cls.t_start = time.monotonic()
        r = arkime_local(cls.arkime_env, 'start')
        if r.returncode == 3:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            why = [ln.split('skip: ', 1)[1] for ln in r.stderr.splitlines() if 'skip: ' in ln]
            raise unittest.SkipTest('scripts/arkime-local: %s' % (
                why[-1] if why else 'no Arkime source (exit 3)'))
        setup_or_cleanup(cls.tearDownClass, lambda: cls.connect(r), cls.prepare)

    @classmethod
    def connect(cls, r):
        """cls.arkime: the stack scripts/arkime-local started (r: its start)."""
        if r.returncode != 0:
            raise AssertionError('scripts/arkime-local start failed (%d):\n%s'
                                 % (r.returncode, r.stderr[-4000:]))
        cls.arkime = Arkime(r.stdout.strip().splitlines()[-1])

    @classmethod
    def prepare(cls):
        cls.pcaps = os.path.join(cls.tmp, 'pcaps')
        g = subprocess.run([sys.executable, GEN_PCAPS, '--out', cls.pcaps, '--sessions'],
                           capture_output=True, text=True, timeout=300)
        if g.returncode != 0:
            raise AssertionError('gen_pcaps.py failed: %s' % g.stderr)
        with open(os.path.join(cls.pcaps, 'manifest.json')) as f:
            cls.manifest = json.load(f)
        files = [os.path.join(cls.pcaps, s['pcap']) for s in cls.manifest['scenarios']]
        cls.batch1 = [p for p in files if os.path.basename(p).startswith(BATCH1)]
        cls.batch2 = [p for p in files if p not in cls.batch1]
        assert cls.batch1 and cls.batch2, files
        tag = uuid.uuid4().hex[:10]
        cls.topics = {k: '%s-%s' % (k, tag) for k in
                      ('live', 'backfill', 'alerts', 'plugin', 'bridge')}
        create_topics((cls.topics['live'], PARTITIONS), (cls.topics['backfill'], PARTITIONS),
                      (cls.topics['alerts'], ALERT_PARTITIONS), (cls.topics['plugin'], 3),
                      (cls.topics['bridge'], PARTITIONS))
        cls.group = 'e2e-detectors-' + tag
        cls.detector_conf = write_detector_conf(
            os.path.join(cls.tmp, 'detector.ini'), cls.topics['live'], cls.topics['alerts'],
            cls.group, RULES, kafka='session.timeout.ms = 6000\nheartbeat.interval.ms = 1000',
            detector='threads = 1', sections='[alert]\nviewer_url = %s\n' % cls.arkime.viewer)

    @classmethod
    def tearDownClass(cls):
        kill_running(cls.daemons)
        for r in cls.readers:
            r.close()
        if cls.arkime is not None or os.path.isdir(cls.arkime_env['FW_ARKIME_DIR']):
            r = arkime_local(cls.arkime_env, 'stop', timeout=180)
            if r.returncode != 0:
                print('scripts/arkime-local stop failed (%d): %s' % (r.returncode, r.stderr),
                      file=sys.stderr)
        if cls.report:
            cls.report['wall time'] = '%.0f s' % (time.monotonic() - cls.t_start)
            width = max(len(k) for k in cls.report)
            print('\n--- arkime_e2e report (real Arkime) ---', file=sys.stderr)
            for k, v in cls.report.items():
                print('%-*s  %s' % (width, k, v), file=sys.stderr)
        if os.environ.get('FW_KEEP_TMP'):
            print('kept %s' % cls.tmp, file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------------

    @classmethod
    def start(cls, name, argv, env=None):
        d = Daemon(cls.tmp, name, argv, env)
        cls.daemons.append(d)
        return d

    @classmethod
    def reader(cls, kind, topic, partitions):
        r = kind(topic, partitions)
        cls.readers.append(r)
        return r

    def producer_env(self, topic, **extra):
        """The producer's environment: the viewer reader (digest auth) unless extra says
        otherwise, a short safety lag and poll interval."""
        env = {
            'FANWATCH_ARKIME_URL': self.arkime.viewer,
            'FANWATCH_ARKIME_USER': self.arkime.user,
            'FANWATCH_ARKIME_PASSWORD__FILE': self.arkime.password_file,
            'FANWATCH_ARKIME_AUTH': 'digest',
            'FANWATCH_ARKIME_ORDER': '@timestamp:asc',
        }
        env.update(self.reader_env(topic))
        env.update(extra)
        return producer_env(env)

    @staticmethod
    def reader_env(topic):
        """What every producer of the test shares, whichever reader."""
        return {
            'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': bootstrap(),
            'FANWATCH_TOPICS_SESSIONS': topic,
            'FANWATCH_PRODUCER_SAFETY__LAG': '3s',
            'FANWATCH_PRODUCER_POLL__INTERVAL': '500ms',
            'FANWATCH_PRODUCER_RETRY__BACKOFF__MAX': '1s',
            'FANWATCH_LOG_LEVEL': 'info',
        }

    def ingest(self, pcaps, *opts):
        r = arkime_local(self.arkime_env, 'ingest', *(list(opts) + pcaps), timeout=900)
        self.assertEqual(r.returncode, 0, 'ingest failed:\n%s' % r.stderr[-4000:])
        m = re.search(r'^sessions=(\d+)$', r.stdout, re.M)
        self.assertIsNotNone(m, r.stdout)
        return int(m.group(1))

    def need(self, key):
        if key not in self.state:
            self.skipTest('needs the result of an earlier step (%s), which failed' % key)
        return self.state[key]

    def check_published(self, what, sessions, os_docs):
        """Every OpenSearch id on the topic, none extra; returns (copies, records)."""
        copies, recs, bad, misrouted = sessions.stats()
        self.assertEqual(bad, [], '%s: undecodable records' % what)
        self.assertEqual(misrouted, 0, '%s: records not keyed/partitioned by source IP' % what)
        got = collections.Counter()
        for i, n in copies.items():
            got[os_id(i)] += n
        missing = sorted(set(os_docs) - set(got))
        extra = sorted(set(got) - set(os_docs))
        dups = sum(n - 1 for n in got.values())
        self.report['%s: published' % what] = (
            '%d records, %d distinct ids of %d in OpenSearch; missing %d, extra %d, '
            'duplicates %d' % (sum(got.values()), len(got), len(os_docs), len(missing),
                               len(extra), dups))
        self.assertEqual(missing, [], '%s: OpenSearch ids not published' % what)
        self.assertEqual(extra, [], '%s: published ids OpenSearch does not hold' % what)
        return copies, recs

    # -- 1. live -------------------------------------------------------------------------------

    def test_1_live_two_batches(self):
        """The live producer publishes every session of both batches; batch 2 is written after
        the cursor passed batch 1."""
        live = self.reader(Sessions, self.topics['live'], PARTITIONS)
        alerts = self.reader(Alerts, self.topics['alerts'], ALERT_PARTITIONS)
        self.state['alerts_reader'] = alerts
        # the detectors run from the start, over the live topic as it fills
        dets = [self.start('detector-%d' % i, [os.environ['FW_DETECTOR'], '-c',
                                                self.detector_conf], producer_env({}))
                for i in range(2)]
        self.state['detectors'] = dets
        cursor = os.path.join(self.tmp, 'live.cursor')
        prod = self.start('producer-live', [os.environ['FW_PRODUCER']], self.producer_env(
            self.topics['live'], FANWATCH_PRODUCER_CURSOR__FILE=cursor,
            FANWATCH_PRODUCER_START__LOOKBACK='30s'))

        def position():
            return cursor_position(cursor)

        def alive():
            for d in [prod] + dets:
                if not d.running():
                    raise AssertionError('%s exited with %s:\n%s' % (
                        d.name, d.proc.returncode, d.output()[-3000:]))
            return True

        wait_for(lambda: alive() and position() is not None, 60, 'the live producer to poll')
        # both detectors in the group before any session: no rebalance in the middle of the run
        adm = AdminClient({'bootstrap.servers': bootstrap()})

        def group_stable():
            alive()
            try:
                gs = adm.list_groups(group=self.group, timeout=10)
            except KafkaException:
                return False
            return any(g.state == 'Stable' and len(g.members) == 2 and
                       all(m.assignment for m in g.members) for g in gs)
        wait_for(group_stable, 60, 'both detectors to join the group', interval=0.5)
        before = self.arkime.os_sessions()
        self.assertEqual(before, {}, 'a fresh Arkime holds no sessions')
        t_from = int(time.time()) - 1
        n1 = self.ingest(self.batch1)
        docs1 = self.arkime.os_sessions()
        self.assertEqual(len(docs1), n1)
        self.assertEqual(n1, sum(s['sessions']['total'] for s in self.manifest['scenarios']
                                 if os.path.join(self.pcaps, s['pcap']) in self.batch1),
                         'capture made other sessions than gen_pcaps.py expects (batch 1)')
        last1 = max(ts for _, ts, _ in docs1.values())

        def caught_up(docs, last, what):
            def ok():
                alive()
                p = position()
                if p is None or p * 1000 <= last or not live.complete():
                    return False
                return set(docs) <= {os_id(i) for i in live.stats()[0]}
            try:
                wait_for(ok, 120, what, interval=0.5)
            except AssertionError as e:
                live.complete()
                got = {os_id(i) for i in live.stats()[0]}
                raise AssertionError('%s: cursor at %s, last @timestamp %d ms, %d of %d '
                                     'OpenSearch ids published\n%s' % (
                                         e, position(), last, len(set(docs) & got), len(docs),
                                         prod.output()[-3000:]))
        caught_up(docs1, last1, 'the live producer to publish batch 1 and move its cursor '
                  'past it')
        cursor_at_batch2 = position()
        n2 = self.ingest(self.batch2)
        docs = self.arkime.os_sessions()
        self.assertEqual(len(docs), n1 + n2)
        self.assertEqual(len(docs), sum(s['sessions']['total']
                                        for s in self.manifest['scenarios']),
                         'capture made other sessions than gen_pcaps.py expects')
        docs2 = {k: v for k, v in docs.items() if k not in docs1}
        # batch 2 was written after the cursor had passed it by: "late" for a packet-time cursor
        self.assertGreater(min(ts for _, ts, _ in docs2.values()), cursor_at_batch2 * 1000 - 1)
        oldest_fp = min(fp for _, _, fp in docs2.values())
        last = max(ts for _, ts, _ in docs.values())
        caught_up(docs, last, 'the live producer to publish batch 2')
        t_to = int(time.time()) + 1
        rc = prod.stop()
        self.assertEqual(rc, 0, prod.output()[-3000:])
        self.assertNotIn(self.arkime.password, prod.output())
        live.complete()
        self.report['OpenSearch sessions'] = '%d (batch 1: %d, batch 2: %d)' % (
            len(docs), n1, n2)
        copies, recs = self.check_published('live', live, docs)
        self.assertTrue(all(i.startswith('3@') for i in copies), 'viewer ids are 3@<_id>')
        self.report['live: batch 2'] = (
            '%d sessions written after the cursor reached %d; packets up to %.0f days older than '
            'the cursor' % (len(docs2), cursor_at_batch2,
                            (cursor_at_batch2 * 1000 - oldest_fp) / 86400000.0))
        # the records carry what OpenSearch holds
        for i, r in recs.items():
            idx, ts, fp = docs[os_id(i)]
            self.assertEqual((r['fp'], r.get('ts')), (fp, ts), i)
            self.assertTrue(idx.endswith(os_id(i).split('-', 1)[0]), (idx, i))
        self.state.update(docs=docs, t_from=t_from, t_to=t_to, live=live, live_recs=recs)

    # -- 2. backfill ---------------------------------------------------------------------------

    def test_2_backfill(self):
        docs = self.need('docs')
        t_from, t_to = self.state['t_from'], self.state['t_to']
        bf = self.reader(Sessions, self.topics['backfill'], PARTITIONS)
        prod = self.start('producer-backfill', [os.environ['FW_PRODUCER'], '--from', str(t_from),
                                                '--to', str(t_to)],
                          self.producer_env(self.topics['backfill']))
        try:
            rc = prod.proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            prod.stop(signal.SIGKILL)
            raise AssertionError('the backfill did not exit:\n%s' % prod.output()[-3000:])
        prod.stop()
        self.assertEqual(rc, 0, prod.output()[-3000:])
        self.assertNotIn(self.arkime.password, prod.output())
        wait_for(bf.complete, 30, 'the backfill topic to be read')
        copies, _ = self.check_published('backfill [%d, %d]' % (t_from, t_to), bf, docs)
        self.state['backfill_ids'] = set(copies)

    # -- 3. detectors --------------------------------------------------------------------------

    def test_3_detectors(self):
        live = self.need('live')
        alerts = self.need('alerts_reader')
        dets = self.state['detectors']
        checker = Consumer({'bootstrap.servers': bootstrap(), 'group.id': self.group,
                            'enable.auto.commit': False})
        self.readers.append(checker)
        tps = [TopicPartition(self.topics['live'], p) for p in range(PARTITIONS)]
        ends = live.high()
        st = {'high': None, 'since': 0.0}

        def done():
            for d in dets:
                if not d.running():
                    raise AssertionError('%s exited with %s:\n%s' % (
                        d.name, d.proc.returncode, d.output()[-3000:]))
            try:
                com = [tp.offset for tp in checker.committed(tps, timeout=10)]
            except KafkaException:
                return False
            if com != ends or not alerts.complete():
                st['high'] = None
                return False
            if alerts.next != st['high']:
                st['high'], st['since'] = list(alerts.next), time.monotonic()
                return False
            return time.monotonic() - st['since'] >= 1.0
        wait_for(done, 180, 'the detector group to commit the end of the live topic')
        for d in dets:
            self.assertEqual(d.stop(), 0, d.output()[-3000:])
        docs, bad = alerts.docs()
        self.assertEqual(bad, [])
        # the oracle: fanwatch-replay over the same records, partition by partition; it flushes
        # at the end of its input, so it ends every attack with its final update, which the
        # live detectors emit only once event time moved on by window + lateness
        oracle_docs, summary = replay(self.detector_conf,
                                      live.write_file(os.path.join(self.tmp, 'live.msgpack')))
        expected, quiet = [], set()
        for sc in self.manifest['scenarios']:
            quiet.update(sc['quiet_sources'])
            for a in sc['expect_alerts']:
                self.assertIn(a['config'], ('default', 'rules'), a)  # detect.rules is loaded
                self.assertEqual(a['expect'], 'yes', a)
                expected.append(a)
        # the manifest: one alert id per attack, its documents (first at the threshold, updates
        # at 2x and 5 min apart, the final update's count, by_port, severity, techniques),
        # quiet sources silent, nothing else. Arkime writes sessions when they end or time out:
        # not event-time order, so order-sensitive fields are notes only (gen_pcaps.py)
        live_res = G.check_alerts(docs, expected, quiet, complete=False, time_order=False)
        replay_res = G.check_alerts(oracle_docs, expected, quiet, complete=True,
                                    time_order=False)

        def sig(d):
            f = d['fanwatch']
            return (d['event']['id'], f['escalation'], f['state'], f['count'],
                    d['event']['severity'], json.dumps(f.get('by_port')), f['window']['end'],
                    f['epoch_start'])
        live_sigs = collections.Counter(sig(d) for d in docs)
        oracle_sigs = collections.Counter(sig(d) for d in oracle_docs)
        repeated = sum(n - 1 for n in live_sigs.values())
        not_in_oracle = sorted(set(live_sigs) - set(oracle_sigs))
        oracle_only = sorted(set(oracle_sigs) - set(live_sigs))
        oracle_only_active = [x for x in oracle_only if x[2] != 'ended']
        ids = {d['event']['id'] for d in docs}
        oracle_ids = {d['event']['id'] for d in oracle_docs}
        finals = sum(1 for d in docs if d['fanwatch']['state'] == 'ended')
        oracle_finals = sum(1 for d in oracle_docs if d['fanwatch']['state'] == 'ended')
        self.report['alerts (manifest)'] = (
            '%d attacks expected, %d found, %d missing, %d unexpected; quiet sources alerting '
            '%d of %d' % (len(expected), replay_res['attacks'] - len(replay_res['unexpected']),
                          len(replay_res['missing']), len(replay_res['unexpected']),
                          len(replay_res['loud']), len(quiet)))
        self.report['alerts (per attack)'] = (
            'ids per attack %s; documents per id: detectors %s, fanwatch-replay %s; problems: '
            'detectors %d, replay %d' % (
                dict(replay_res['ids_per_attack']), dict(sorted(live_res['docs_per_id'].items())),
                dict(sorted(replay_res['docs_per_id'].items())), len(live_res['problems']),
                len(replay_res['problems'])))
        self.report['alerts (detectors)'] = (
            '%d documents from 2 detectors (%d ids, %d final updates, %d repeated); '
            'fanwatch-replay over the topic: %d documents (%d ids, %d final updates); detector '
            'documents not in replay %d, replay documents the detectors lack %d (final updates '
            'not yet due: %d); ids equal: %s' % (
                len(docs), len(ids), finals, repeated, len(oracle_docs), len(oracle_ids),
                oracle_finals, len(not_in_oracle), len(oracle_only),
                len(oracle_only) - len(oracle_only_active), ids == oracle_ids))
        for n in sorted(set(live_res['notes'] + replay_res['notes'])):
            print('note: %s' % n, file=sys.stderr)
        self.assertEqual(replay_res['problems'], [], 'fanwatch-replay over the live topic')
        self.assertEqual(live_res['problems'], [], 'the detectors')
        self.assertEqual(repeated, 0, 'documents sent twice (no rebalance in this run)')
        self.assertEqual(not_in_oracle, [], 'detector documents fanwatch-replay does not raise')
        self.assertEqual(oracle_only_active, [], 'replay documents (not final) the detectors lack')
        self.assertEqual(sorted(ids - oracle_ids), [], 'ids fanwatch-replay does not raise')
        self.assertEqual(sorted(oracle_ids - ids), [], 'ids the detectors did not raise')
        # the pivots cover the final updates too (replay's, where the detectors had none yet)
        live_keys = {(d['event']['id'], d['fanwatch']['escalation']) for d in docs}
        pivot_docs = docs + [d for d in oracle_docs if d['fanwatch']['state'] == 'ended' and
                             (d['event']['id'], d['fanwatch']['escalation']) not in live_keys]
        self.state.update(alert_docs=pivot_docs, alert_ids=ids)

    @staticmethod
    def epoch_ms(iso):
        """ms since 1970 of an alert time, 2024-05-18T10:00:05.123Z."""
        t = time.strptime(iso[:19], '%Y-%m-%dT%H:%M:%S')
        ms = int(iso[20:23]) if len(iso) > 20 else 0
        return calendar.timegm(t) * 1000 + ms

    # -- 4. pivots -----------------------------------------------------------------------------

    def test_4_pivots(self):
        docs = self.need('alert_docs')
        ok, total, short = 0, 0, []
        for d in docs:
            fw = d['fanwatch']
            self.assertIn('expression', fw, d['rule']['id'])
            link = urllib.parse.urlsplit(fw['viewer_url'])
            q = dict(urllib.parse.parse_qsl(link.query))
            self.assertEqual(link.path, '/sessions')
            self.assertEqual(q['expression'], fw['expression'])
            # the link's range is the alert's window, whole seconds, both ends included
            start_s = self.epoch_ms(fw['window']['start']) // 1000
            stop_s = math.ceil(self.epoch_ms(fw['window']['end']) / 1000)
            self.assertEqual((int(q['startTime']), int(q['stopTime'])), (start_s, stop_s))
            answer = self.arkime.sessions_api({
                'expression': q['expression'], 'startTime': q['startTime'],
                'stopTime': q['stopTime'], 'bounding': q.get('bounding', 'last'),
                'length': 1, 'facets': 0, 'fields': 'source.ip'})
            self.assertNotIn('error', answer, (fw['expression'], answer.get('error')))
            n = answer['recordsFiltered']
            total += 1
            if n >= fw['sessions']:
                ok += 1
            else:
                short.append((d['rule']['id'], fw['expression'], q['startTime'], q['stopTime'],
                              n, fw['sessions']))
        self.report['pivots'] = '%d of %d alert documents (the detectors\' and replay\'s final '\
            'updates): the viewer link (bounding=%s) selects at least fanwatch.sessions sessions '\
            '(%.0f%%)' % (ok, total, q.get('bounding', 'last'), 100.0 * ok / max(total, 1))
        self.assertGreater(total, 0)
        self.assertEqual(short, [])

    # -- 5. bridge -----------------------------------------------------------------------------

    def test_5_bridge(self):
        ids = self.need('alert_ids')
        live_recs = self.state['live_recs']
        docs_before = self.arkime.os_sessions()
        plugin = self.reader(TopicReader, self.topics['plugin'], 3)
        out = self.reader(Sessions, self.topics['bridge'], PARTITIONS)
        env = producer_env({
            'FANWATCH_PRODUCER_MODE': 'bridge',
            'FANWATCH_BRIDGE_TOPIC': self.topics['plugin'],
            'FANWATCH_BRIDGE_GROUP': 'e2e-bridge-' + uuid.uuid4().hex[:8],
            'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': bootstrap(),
            'FANWATCH_TOPICS_SESSIONS': self.topics['bridge'],
            'FANWATCH_LOG_LEVEL': 'info'})
        prod = self.start('producer-bridge', [os.environ['FW_PRODUCER']], env)
        n = self.ingest(self.batch1 + self.batch2, '--kafka', bootstrap(), self.topics['plugin'])
        self.assertEqual(n, 0, 'capture with the Kafka plugin wrote sessions to OpenSearch')
        self.assertEqual(set(self.arkime.os_sessions()), set(docs_before))
        # what the plugin sent: bulk messages, header + document lines
        wait_for(plugin.complete, 30, 'the plugin topic to be read')
        sent = collections.Counter()
        for _, _, v in plugin.all():
            lines = [ln for ln in v.decode().split('\n') if ln.strip()]
            for ln in lines:
                j = json.loads(ln)
                if 'index' in j:
                    sent[j['index']['_id']] += 1
        self.assertEqual(len(sent), len(live_recs),
                         'the plugin sent another number of sessions than the viewer path has')

        def republished():
            if not prod.running():
                raise AssertionError('the bridge exited:\n%s' % prod.output()[-3000:])
            out.complete()
            return set(sent) <= {os_id(i) for i in out.stats()[0]}
        wait_for(republished, 120, 'the bridge to republish every plugin session', interval=0.5)
        self.assertEqual(prod.stop(), 0, prod.output()[-3000:])
        out.complete()
        copies, recs, bad, misrouted = out.stats()
        self.assertEqual((bad, misrouted), ([], 0))
        extra = {os_id(i) for i in copies} - set(sent)
        self.assertEqual({os_id(i) for i in copies}, set(copies), 'bridge ids are the bare _id')
        dups = sum(c - 1 for c in copies.values())
        self.assertEqual(extra, set())

        # the same sessions as the viewer path, field for field (ids and write times aside)
        def content(r):
            return tuple(sorted((k, tuple(sorted(v.items())) if isinstance(v, dict) else v)
                                for k, v in r.items() if k not in ('id', 'ts')))
        a = collections.Counter(content(r) for r in live_recs.values())
        b = collections.Counter(content(r) for r in recs.values())
        only_api, only_bridge = a - b, b - a
        # the alert ids: fanwatch-replay over the bridge topic, as over the live one
        bridge_docs, _ = replay(self.detector_conf,
                                out.write_file(os.path.join(self.tmp, 'bridge.msgpack')))
        bridge_ids = {d['event']['id'] for d in bridge_docs}
        # capture writes the half-open probes of a pcap when the next pcap (days later) moves its
        # clock on: those sessions are more than window + lateness late, and an attack they
        # start or re-open is flagged fanwatch.late (docs/detector.md); it keeps its id
        late_keys = {G.attack_key(d) for d in bridge_docs if d['fanwatch'].get('late')}
        late_ids = {d['event']['id'] for d in bridge_docs if G.attack_key(d) in late_keys}
        viewer_late_ids = {d['event']['id'] for d in self.need('alert_docs')
                           if G.attack_key(d) in late_keys}
        quiet = set()
        expected = []
        for sc in self.manifest['scenarios']:
            quiet.update(sc['quiet_sources'])
            expected += sc['expect_alerts']
        # the plugin's order (capture's) is not the viewer path's: the manifest holds all the same
        bridge_res = G.check_alerts(bridge_docs, expected, quiet, complete=True, time_order=False)
        self.report['bridge'] = (
            '%d sessions sent by capture\'s plugin, %d republished (%d duplicates); %d equal to '
            'the viewer\'s records, %d differ; fanwatch-replay: %d documents, alert ids %d, equal '
            'to the viewer path\'s: %s (%d attacks started or re-opened by sessions written more '
            'than window + lateness late, flagged late), manifest problems %d'
            % (len(sent), len(copies), dups, sum((a & b).values()), sum(only_api.values()),
               len(bridge_docs), len(bridge_ids), bridge_ids - late_ids == ids - viewer_late_ids,
               len(late_keys), len(bridge_res['problems'])))
        self.assertEqual((sum(only_api.values()), sum(only_bridge.values())), (0, 0),
                         'records differ, e.g. api %s vs bridge %s' % (
                             list(only_api)[:1], list(only_bridge)[:1]))
        self.assertEqual(sorted(ids - viewer_late_ids - bridge_ids), [],
                         'viewer-path alert ids missing in bridge')
        self.assertEqual(sorted(bridge_ids - late_ids - ids), [],
                         'bridge alert ids the viewer path lacks')
        self.assertEqual(len(viewer_late_ids), len(late_keys), 'late attacks not one id each')
        self.maxDiff = None
        self.assertEqual(bridge_res['problems'], [], 'fanwatch-replay over the bridge topic')

    # -- 7. the OpenSearch reader -------------------------------------------------------------

    def os_producer(self, name, topic, *argv, **extra):
        """fanwatch-producer in opensearch mode (no viewer credentials unless given)."""
        env = self.reader_env(topic)
        env.update({
            'FANWATCH_PRODUCER_MODE': 'opensearch',
            'FANWATCH_OPENSEARCH_URL': self.arkime.opensearch,
            'FANWATCH_OPENSEARCH_PAGE__SIZE': '500',  # several pages and checkpoints per window
        })
        env.update(extra)
        return self.start(name, [os.environ['FW_PRODUCER']] + list(argv), producer_env(env))

    def os_backfill(self, name, topic, **extra):
        """A backfill of the live run's range by the OpenSearch reader: its topic's reader."""
        t_from, t_to = self.state['t_from'], self.state['t_to']
        create_topics((topic, PARTITIONS))
        rd = self.reader(Sessions, topic, PARTITIONS)
        prod = self.os_producer(name, topic, '--from', str(t_from), '--to', str(t_to), **extra)
        try:
            rc = prod.proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            prod.stop(signal.SIGKILL)
            raise AssertionError('%s did not exit:\n%s' % (name, prod.output()[-3000:]))
        prod.stop()
        self.assertEqual(rc, 0, prod.output()[-3000:])
        wait_for(rd.complete, 30, 'the %s topic to be read' % name)
        return rd, prod

    def test_7_opensearch(self):
        """The OpenSearch reader: the same ids as the viewer reader (backfill), an expression
        meaning what it means in the viewer, slices splitting the cluster without overlap,
        live through a late batch, and a refusal when the viewer cannot translate."""
        docs = self.need('docs')
        viewer_ids = self.need('backfill_ids')
        t_from, t_to = self.state['t_from'], self.state['t_to']
        tag = uuid.uuid4().hex[:8]
        # 1. backfill: every OpenSearch document, the viewer reader's ids exactly
        rd, _ = self.os_backfill('producer-os-backfill', 'os-backfill-' + tag)
        copies, recs = self.check_published('opensearch backfill', rd, docs)
        self.assertEqual(set(copies), viewer_ids, 'the two readers publish other ids')
        live_recs = self.state.get('live_recs', {})
        same = sum(1 for i, r in recs.items() if live_recs.get(i) == r)
        self.assertEqual(same, len(recs), 'records differ from the viewer reader\'s')
        # 2. an expression, translated by the viewer: exactly the sessions the viewer selects
        expr = 'ip.protocol == tcp && port.dst == [22,445,3389] && packets < 4'
        rd, prod = self.os_backfill(
            'producer-os-expr', 'os-expr-' + tag, FANWATCH_ARKIME_EXPRESSION=expr,
            FANWATCH_ARKIME_URL=self.arkime.viewer, FANWATCH_ARKIME_USER=self.arkime.user,
            FANWATCH_ARKIME_PASSWORD__FILE=self.arkime.password_file,
            FANWATCH_ARKIME_AUTH='digest')
        self.assertNotIn(self.arkime.password, prod.output())
        answer = self.arkime.sessions_api({
            'expression': expr, 'bounding': 'database', 'startTime': t_from, 'stopTime': t_to,
            'length': len(docs) + 100, 'facets': 0, 'fields': 'source.ip'})
        self.assertNotIn('error', answer)
        want = {d['id'] for d in answer['data']}
        got = set(rd.stats()[0])
        self.assertGreater(len(want), 0, 'the expression selects nothing: a useless check')
        self.assertLess(len(want), len(docs))
        self.assertEqual(got, want, 'the expression selects other sessions than the viewer')
        # 3. two slices: disjoint, together every document
        halves = []
        for i in range(2):
            rd, _ = self.os_backfill('producer-os-slice%d' % i, 'os-slice%d-%s' % (i, tag),
                                     FANWATCH_OPENSEARCH_SLICE='%d/2' % i)
            halves.append(set(rd.stats()[0]))
        self.assertEqual(halves[0] & halves[1], set(), 'slices overlap')
        self.assertEqual(halves[0] | halves[1], viewer_ids, 'slices miss sessions')
        self.assertTrue(halves[0] and halves[1], 'one slice got nothing')
        # 4. live: from before the first batch, then a batch written after the cursor passed
        topic = 'os-live-' + tag
        create_topics((topic, PARTITIONS))
        live = self.reader(Sessions, topic, PARTITIONS)
        cursor = os.path.join(self.tmp, 'os-live.cursor')
        prod = self.os_producer('producer-os-live', topic, **{
            'FANWATCH_PRODUCER_CURSOR__FILE': cursor,
            'FANWATCH_PRODUCER_START__LOOKBACK': '%ds' % (int(time.time()) - t_from + 5)})

        def published(want_ids):
            def ok():
                if not prod.running():
                    raise AssertionError('the live OpenSearch producer exited:\n%s'
                                         % prod.output()[-3000:])
                live.complete()
                return set(want_ids) <= {os_id(i) for i in live.stats()[0]}
            return ok
        wait_for(published(docs), 120, 'the live OpenSearch reader to publish every session')
        n = self.ingest(self.batch1)
        after = self.arkime.os_sessions()
        self.assertEqual(len(after), len(docs) + n)
        wait_for(published(after), 120, 'the live OpenSearch reader to publish the late batch')
        self.assertEqual(prod.stop(), 0, prod.output()[-3000:])
        live.complete()
        self.check_published('opensearch live', live, after)
        # 5. an expression the viewer cannot translate (not reachable): refused, nothing read
        out = subprocess.run(
            [os.environ['FW_PRODUCER'], '--from', str(t_from), '--to', str(t_to)],
            env=producer_env({'FANWATCH_PRODUCER_MODE': 'opensearch',
                              'FANWATCH_OPENSEARCH_URL': self.arkime.opensearch,
                              'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': bootstrap(),
                              'FANWATCH_TOPICS_SESSIONS': topic,
                              'FANWATCH_ARKIME_URL': 'http://127.0.0.1:9',
                              'FANWATCH_ARKIME_EXPRESSION': expr}),
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn('/api/buildquery', out.stderr)
        self.report['opensearch reader'] = (
            'backfill %d ids = the viewer reader\'s; expression %d of %d sessions = the '
            'viewer\'s; slices %d + %d, disjoint; live %d incl. a late batch of %d; refused '
            'without the viewer' % (len(copies), len(got), len(docs), len(halves[0]),
                                    len(halves[1]), len(after), n))

    # -- 6. tagger -----------------------------------------------------------------------------

    def test_6_tagger(self):
        """fanwatch-tagger over the alerts topic of step 3 against the real viewer: every alert
        document's tag (tags == fanwatch:<id>, its window, bounding=first) selects at least its
        fanwatch.sessions sessions, and `tags == fanwatch` at least the largest alert's."""
        docs = self.need('alert_docs')
        if not os.environ.get('FW_TAGGER'):
            self.skipTest('FW_TAGGER is not set')
        on_topic, _ = self.need('alerts_reader').docs()
        seen = {(d['event']['id'], d['fanwatch']['escalation']) for d in on_topic}
        docs = [d for d in docs if (d['event']['id'], d['fanwatch']['escalation']) in seen]
        group = 'e2e-tagger-' + uuid.uuid4().hex[:10]
        topic = self.topics['alerts']
        tagger = self.start('tagger', [os.environ['FW_TAGGER']], producer_env({
            'FANWATCH_ARKIME_URL': self.arkime.viewer,
            'FANWATCH_ARKIME_USER': self.arkime.user,
            'FANWATCH_ARKIME_PASSWORD__FILE': self.arkime.password_file,
            'FANWATCH_ARKIME_AUTH': 'digest',
            'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': bootstrap(),
            'FANWATCH_TOPICS_ALERTS': topic,
            'FANWATCH_TAGGER_GROUP': group,
            'FANWATCH_TAGGER_RATE': '50',
            'FANWATCH_TAGGER_RETRY__BACKOFF__MAX': '2s',
            'FANWATCH_LOG_LEVEL': 'info'}))
        checker = Consumer({'bootstrap.servers': bootstrap(), 'group.id': group,
                            'enable.auto.commit': False})
        self.readers.append(checker)
        tps = [TopicPartition(topic, p) for p in range(ALERT_PARTITIONS)]
        ends = [checker.get_watermark_offsets(tp, timeout=10)[1] for tp in tps]
        t0 = time.monotonic()

        def committed_end():
            if not tagger.running():
                raise AssertionError('fanwatch-tagger exited with %s:\n%s' % (
                    tagger.proc.returncode, tagger.output()[-3000:]))
            try:
                return [tp.offset for tp in checker.committed(tps, timeout=10)] == ends
            except KafkaException:
                return False
        wait_for(committed_end, 300, 'the tagger group to commit the end of the alerts topic')
        took = time.monotonic() - t0
        self.assertEqual(tagger.stop(), 0, tagger.output()[-3000:])
        out = tagger.output()
        self.assertNotIn(self.arkime.password, out)
        self.assertNotIn('can never be tagged', out)
        ok, short, largest = 0, [], 0
        for d in docs:
            fw = d['fanwatch']
            tag = 'fanwatch:' + d['event']['id']
            self.assertEqual(fw.get('tag'), tag)
            start_s = self.epoch_ms(fw['window']['start']) // 1000
            stop_s = math.ceil(self.epoch_ms(fw['window']['end']) / 1000)
            link = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(fw['tag_url']).query))
            self.assertEqual(link, {'expression': 'tags == ' + tag, 'startTime': str(start_s),
                                    'stopTime': str(stop_s), 'bounding': 'first'})
            answer = self.arkime.sessions_api({
                'expression': 'tags == ' + tag, 'startTime': start_s, 'stopTime': stop_s,
                'bounding': 'first', 'length': 1, 'facets': 0, 'fields': 'source.ip'})
            self.assertNotIn('error', answer, (tag, answer.get('error')))
            n = answer['recordsFiltered']
            largest = max(largest, fw['sessions'])
            if n >= fw['sessions']:
                ok += 1
            else:
                short.append((d['rule']['id'], tag, start_s, stop_s, n, fw['sessions']))
        every = self.arkime.sessions_api({'expression': 'tags == fanwatch', 'date': -1,
                                          'length': 1, 'facets': 0, 'fields': 'source.ip'})
        self.assertNotIn('error', every)
        self.report['tagger'] = (
            '%d alert documents on the topic tagged in %.1f s; tags == fanwatch:<id> over each '
            'window selects at least fanwatch.sessions for %d of %d (%.0f%%); tags == fanwatch: '
            '%d sessions (largest alert %d)' % (len(on_topic), took, ok, len(docs),
                                                100.0 * ok / max(len(docs), 1),
                                                every['recordsFiltered'], largest))
        self.assertGreater(len(docs), 0)
        self.assertEqual(short, [])
        self.assertGreaterEqual(every['recordsFiltered'], largest)


def main():
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    if r.testsRun == 0 and r.skipped and not (r.failures or r.errors):
        sys.exit(SKIP_RC)
    sys.exit(0 if r.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
