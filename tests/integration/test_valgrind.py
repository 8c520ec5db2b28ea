"""Integration: the daemons' start-process-stop path under valgrind memcheck (issue #6).

Run by ctest (label integration) with the broker of the 'kafka' fixture:
    FW_KAFKA_DIR=<dir with bootstrap> FW_PRODUCER=<fanwatch-producer> \
        FW_DETECTOR=<fanwatch-detector> FW_REPLAY=<fanwatch-replay> \
        /usr/bin/python3 -m unittest -v test_valgrind

Every program runs as
    valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
             --errors-for-leak-kinds=definite,indirect --track-fds=no
             [--suppressions=tests/valgrind.supp, when it exists]
so a memory error or a definite/indirect leak makes it exit 99, and each run must exit with its
own status (0, or 1 for a rejected configuration) and its log must say "ERROR SUMMARY: 0 errors".
  (a) fanwatch-producer: a few thousand generated sessions from the stand-in viewer (digest
      auth) onto a fresh topic, all counted there by id, then SIGTERM; and the same from the
      stand-in OpenSearch with the OpenSearch reader's two stream threads and a partial answer;
  (b) fanwatch-detector (detector.threads = 2): a small stream with an injected sweep (one
      source, 40 hosts on port 445 within a minute, plus benign background) on a fresh topic,
      the alert read from the alerts topic (default alert.grouping = attack: one address_sweep
      alert whose fanwatch.by_port lists 445, no separate address_sweep_port), then SIGTERM; and
      one detector SIGTERMed right after it joined the group, while its partitions are assigned
      and replayed;
  (c) fanwatch-replay over the generated stream file (which ends the open attacks with their
      final updates, fanwatch.state "ended", at the end of the input);
  (d) --check-config of both daemons on a good and a bad file.
Use a build without sanitizers (valgrind cannot run ASan binaries). Workloads are small: the
whole test takes about a minute on an idle 2-vCPU machine, a few minutes when it is loaded.
Set FW_KEEP_TMP=1 to keep the logs. Needs Debian's python3-confluent-kafka and python3-msgpack.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# helpers only: importing the TestCase classes would make unittest run them here too
from test_producer import PASSWORD, Producer, Topic, Viewer, bootstrap, wait_for  # noqa: E402
from test_detector import (ALERT_PARTITIONS, BASE_MS, MIN, PARTITIONS, Alerts,  # noqa: E402
                           Detector, Gen, create_topics, produce, write_detector_conf,
                           write_file)

sys.path.insert(0, os.path.join(HERE, '..', 'arkime_standin'))
from fake_opensearch import FakeOpenSearch  # noqa: E402
from standin_store import generate  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
DATA = os.path.join(ROOT, 'tests', 'data')
SUPP = os.path.join(ROOT, 'tests', 'valgrind.supp')
ERROR_EXIT = 99

VALGRIND = ['valgrind', '--error-exitcode=%d' % ERROR_EXIT, '--leak-check=full',
            '--show-leak-kinds=definite,indirect', '--errors-for-leak-kinds=definite,indirect',
            '--track-fds=no', '--num-callers=30']
if os.path.exists(SUPP):
    VALGRIND.append('--suppressions=' + SUPP)

SUMMARY = []  # (what, exit status, errors, definitely lost bytes, indirectly lost, seconds)


def vg_cmd(log):
    return VALGRIND + ['--log-file=' + log]


def vg_parse(log):
    """(errors, definitely lost bytes, indirectly lost bytes) from a valgrind log; errors None
    when the log has no ERROR SUMMARY (valgrind did not finish)."""
    try:
        with open(log, errors='replace') as f:
            text = f.read()
    except FileNotFoundError:
        return None, None, None
    errs = re.findall(r'ERROR SUMMARY: ([\d,]+) errors', text)

    def lost(kind):
        m = re.findall(r'%s lost: ([\d,]+) bytes' % kind, text)
        return int(m[-1].replace(',', '')) if m else 0
    errors = int(errs[-1].replace(',', '')) if errs else None
    return errors, lost('definitely'), lost('indirectly')


def vg_tail(log, n=60):
    try:
        with open(log, errors='replace') as f:
            return ''.join(f.readlines()[-n:])
    except FileNotFoundError:
        return '(no valgrind log %s)' % log


def sanitized(path):
    """True if the binary is built with ASan/UBSan (valgrind cannot run those)."""
    with open(path, 'rb') as f:
        data = f.read()
    return b'__asan_init' in data or b'__ubsan_handle' in data


class ValgrindTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        bins = [os.environ[v] for v in ('FW_PRODUCER', 'FW_DETECTOR', 'FW_REPLAY')]
        if any(sanitized(b) for b in bins):
            # scripts/test runs every test again in its ASan tree: memcheck and ASan exclude
            # each other, the sanitizers already check that tree
            raise unittest.SkipTest('sanitizer build: valgrind runs only on the plain build')
        if shutil.which('valgrind') is None:
            raise AssertionError('valgrind is not installed (Debian package valgrind)')

    @classmethod
    def tearDownClass(cls):
        if SUMMARY:
            print('\nvalgrind summary (%s):' % ' '.join(VALGRIND[1:]))
            print('  %-48s %5s %7s %12s %12s %8s' % ('run', 'exit', 'errors', 'def. lost B',
                                                    'ind. lost B', 'seconds'))
            for what, rc, errs, dl, il, secs in SUMMARY:
                print('  %-48s %5s %7s %12s %12s %8.1f' % (what, rc, errs, dl, il, secs))

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='fw-valgrind-')
        self.cleanup = []

    def tearDown(self):
        for f in reversed(self.cleanup):
            try:
                f()
            except Exception as e:  # noqa: BLE001  (cleanup must go on)
                print('cleanup: %r' % e)
        if not os.environ.get('FW_KEEP_TMP'):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def check(self, what, log, rc, want_rc, seconds, output=''):
        """The run exited want_rc and valgrind reported 0 errors; recorded in the summary."""
        errs, dl, il = vg_parse(log)
        SUMMARY.append((what, rc, errs, dl, il, seconds))
        print('\n%s: exit %s, valgrind errors %s, definitely lost %s B, indirectly lost %s B, '
              '%.1f s' % (what, rc, errs, dl, il, seconds))
        msg = '%s: exit %s (want %s), ERROR SUMMARY %s\n--- valgrind log tail (%s) ---\n%s%s' % (
            what, rc, want_rc, errs, log, vg_tail(log),
            ('\n--- program output tail ---\n' + output[-3000:]) if output else '')
        self.assertEqual(errs, 0, msg)
        self.assertEqual(rc, want_rc, msg)

    def kill_later(self, proc):
        def k():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        self.cleanup.append(k)

    # -- (a) producer ----------------------------------------------------------------------------

    def test_a_producer(self):
        """fanwatch-producer under valgrind: 3,000 sessions onto a fresh topic, SIGTERM, exit 0,
        0 errors."""
        count = 3000
        now = int(time.time() * 1000)
        viewer = Viewer(self.tmp, count, 21, now - 2 * 3600 * 1000, 600)
        self.cleanup.append(viewer.stop)
        topic = 'vg-sessions-' + uuid.uuid4().hex[:12]
        log = os.path.join(self.tmp, 'producer.vg')
        p = Producer(self.tmp, viewer, topic, {'FANWATCH_METRICS_PORT': '0'}, 'producer')
        out = os.path.join(self.tmp, 'producer.log')
        t0 = time.monotonic()
        with open(out, 'w') as o:
            p.proc = subprocess.Popen(vg_cmd(log) + [os.environ['FW_PRODUCER']], env=p.env,
                                      stdout=o, stderr=subprocess.STDOUT)
        self.kill_later(p.proc)
        reader = Topic(topic)
        self.cleanup.append(reader.close)

        def published():
            if p.proc.poll() is not None:
                with open(out, errors='replace') as f:
                    raise AssertionError('the producer exited early (%s)\n%s\n%s' % (
                        p.proc.returncode, vg_tail(log), f.read()[-3000:]))
            return reader.drain(0.3) >= count
        try:
            wait_for(published, 180, '%d sessions on the topic' % count, interval=0)
        except AssertionError as e:
            with open(out, errors='replace') as f:
                raise AssertionError('%s: %d on the topic\n%s\n%s' % (
                    e, len(reader.records), vg_tail(log), f.read()[-3000:]))
        p.proc.send_signal(signal.SIGTERM)
        rc = p.proc.wait(timeout=120)
        secs = time.monotonic() - t0
        reader.drain(0.5)
        with open(out, errors='replace') as f:
            output = f.read()
        print('\nproducer: served %d, on the topic %d distinct (%d duplicates)'
              % (count, len(reader.records), reader.duplicates()))
        self.assertEqual(len(reader.records), count)
        self.assertNotIn(PASSWORD, output)
        self.check('producer: %d sessions, SIGTERM' % count, log, rc, 0, secs, output)

    def test_a2_producer_opensearch(self):
        """fanwatch-producer's OpenSearch reader (2 stream threads) under valgrind, against the
        stand-in OpenSearch: 2,000 sessions, one partial answer retried, SIGTERM, exit 0,
        0 errors."""
        count = 2000
        now = int(time.time() * 1000)
        fake = FakeOpenSearch(generate(count, 23, now - 3600 * 1000, 600)).start()
        self.cleanup.append(fake.stop)
        fake.faults.extend([None, None, 'shards'])
        topic = 'vg-os-' + uuid.uuid4().hex[:12]
        create_topics((topic, 3))
        log = os.path.join(self.tmp, 'producer-os.vg')
        out = os.path.join(self.tmp, 'producer-os.log')
        env = {k: v for k, v in os.environ.items() if not k.startswith('FANWATCH_')}
        env.update({'FANWATCH_PRODUCER_MODE': 'opensearch', 'FANWATCH_OPENSEARCH_URL': fake.url,
                    'FANWATCH_OPENSEARCH_PAGE__SIZE': '200', 'FANWATCH_OPENSEARCH_STREAMS': '2',
                    'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': bootstrap(),
                    'FANWATCH_TOPICS_SESSIONS': topic, 'FANWATCH_METRICS_PORT': '0',
                    'FANWATCH_PRODUCER_CURSOR__FILE': os.path.join(self.tmp, 'os.cursor'),
                    'FANWATCH_PRODUCER_START__LOOKBACK': '2h',
                    'FANWATCH_PRODUCER_RETRY__BACKOFF__MAX': '500ms'})
        t0 = time.monotonic()
        with open(out, 'w') as o:
            proc = subprocess.Popen(vg_cmd(log) + [os.environ['FW_PRODUCER']], env=env, stdout=o,
                                    stderr=subprocess.STDOUT)
        self.kill_later(proc)
        reader = Topic(topic)
        self.cleanup.append(reader.close)

        def published():
            if proc.poll() is not None:
                raise AssertionError('the producer exited early (%s)\n%s' % (
                    proc.returncode, vg_tail(log)))
            return reader.drain(0.3) >= count
        wait_for(published, 180, '%d sessions on the topic' % count, interval=0)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
        secs = time.monotonic() - t0
        with open(out, errors='replace') as f:
            output = f.read()
        self.assertEqual(len(reader.records), count)
        self.assertIn('shard(s) failed', output)
        self.check('producer, OpenSearch reader: %d sessions, SIGTERM' % count, log, rc, 0, secs,
                   output)

    # -- (b) detector ----------------------------------------------------------------------------

    def detector_conf(self, tag, sessions, alerts):
        rules = os.path.join(self.tmp, 'rules.ini')
        with open(rules, 'w') as f:
            f.write('[smb_probe]\nexpression = port.dst == 445 && packets == 1\nthreshold = 30\n')
        return write_detector_conf(
            os.path.join(self.tmp, tag + '.ini'), sessions, alerts, 'group-' + tag, rules,
            kafka='session.timeout.ms = 6000\nheartbeat.interval.ms = 1000', detector='threads = 2',
            sections='[alert]\nviewer_url = https://arkime.example:8005\n'
                     '[sweep]\nthreshold = 25\n[port_scan]\nthreshold = 15\n')

    @staticmethod
    def sweep_stream():
        """Benign background (60 sources, a few servers and ports each) over 5 minutes, and
        131.206.50.1 probing 40 hosts on 445 within a minute."""
        g = Gen(606)
        r = g.rnd
        servers = ['131.206.200.%d' % i for i in range(1, 21)]
        for i in range(60):
            src = '131.206.10.%d' % (i + 1)
            for _ in range(r.randint(2, 6)):
                dport = r.choice([53, 80, 443, 22])
                g.add(src, r.choice(servers), dport, BASE_MS + r.randrange(5 * MIN),
                      spk=r.randint(2, 30), dpk=r.randint(1, 30), proto=17 if dport == 53 else 6)
        for i in range(40):
            g.probe('131.206.50.1', '131.206.100.%d' % (i + 1), 445, BASE_MS + MIN + i * 1500)
        return sorted(g.recs, key=lambda x: (x['fp'], x['id']))

    def start_detector(self, tag, conf, name):
        log = os.path.join(self.tmp, name + '.vg')
        d = Detector(self.tmp, name, conf)
        path = os.path.join(self.tmp, name + '.log')
        d.logs.append(path)
        d.log = open(path, 'w')
        d.proc = subprocess.Popen(vg_cmd(log) + [os.environ['FW_DETECTOR'], '-c', conf],
                                  stdout=d.log, stderr=subprocess.STDOUT)
        self.kill_later(d.proc)
        return d, log

    def test_b_detector(self):
        """fanwatch-detector (2 threads) under valgrind: the sweep's alert on the alerts topic,
        SIGTERM, exit 0, 0 errors."""
        tag = 'vg-%s' % uuid.uuid4().hex[:8]
        sessions, alerts = 'sessions-' + tag, 'alerts-' + tag
        create_topics((sessions, PARTITIONS), (alerts, ALERT_PARTITIONS))
        conf = self.detector_conf(tag, sessions, alerts)
        recs = self.sweep_stream()
        n = produce(sessions, recs)
        reader = Alerts(alerts)
        self.cleanup.append(reader.close)
        t0 = time.monotonic()
        d, log = self.start_detector(tag, conf, 'detector')

        def alerted():
            if not d.running():
                raise AssertionError('the detector exited early (%s)\n%s\n%s' % (
                    d.proc.returncode, vg_tail(log), d.output()[-3000:]))
            reader.drain()
            return {(x['rule']['id'], x.get('source', {}).get('ip'))
                    for x in reader.docs.values()} >= {('address_sweep', '131.206.50.1'),
                                                       ('smb_probe', '131.206.50.1')}
        try:
            wait_for(alerted, 180, 'the sweep alerts', interval=0.3)
        except AssertionError as e:
            raise AssertionError('%s: got %s\n%s' % (
                e, sorted((x['rule']['id'], x.get('source', {}).get('ip'))
                          for x in reader.docs.values()), d.output()[-3000:]))
        wait_for(lambda: d.metrics() is not None and d.metrics().get(
            'fanwatch_detector_sessions_total', 0) >= n, 60, 'every session analysed')
        rc = d.stop(signal.SIGTERM, timeout=120)
        secs = time.monotonic() - t0
        rules = sorted({x['rule']['id'] for x in reader.docs.values()})
        print('\ndetector: %d sessions, %d alerts (%s)' % (n, len(reader.docs), ', '.join(rules)))
        self.assertEqual(reader.bad, [])
        for x in reader.docs.values():
            self.assertEqual(x.get('source', {}).get('ip'), '131.206.50.1', x)
        # attack grouping: the sweep of one port is one address_sweep alert naming the port
        self.assertNotIn('address_sweep_port', rules)
        sweep = [x for x in reader.docs.values() if x['rule']['id'] == 'address_sweep']
        self.assertEqual(len(sweep), 1, sweep)
        self.assertIn(445, [p['port'] for p in sweep[0]['fanwatch'].get('by_port', [])], sweep[0])
        self.check('detector (2 threads): sweep alert, SIGTERM', log, rc, 0, secs, d.output())

    def test_b2_detector_sigterm_while_assigning(self):
        """A detector (without valgrind) consumes and commits the stream; a second one under
        valgrind joins the same group and is SIGTERMed as soon as it logs its assignment, while
        it replays the partitions' last window: exit 0, 0 errors."""
        tag = 'vg-%s' % uuid.uuid4().hex[:8]
        sessions, alerts = 'sessions-' + tag, 'alerts-' + tag
        create_topics((sessions, PARTITIONS), (alerts, ALERT_PARTITIONS))
        conf = self.detector_conf(tag, sessions, alerts)
        produce(sessions, self.sweep_stream())
        first = Detector(self.tmp, 'detector-first', conf).start()
        self.kill_later(first.proc)
        checker = Consumer({'bootstrap.servers': bootstrap(), 'group.id': 'group-' + tag,
                            'enable.auto.commit': False})
        self.cleanup.append(checker.close)
        tps = [TopicPartition(sessions, p) for p in range(PARTITIONS)]

        def committed():
            if not first.running():
                raise AssertionError('the first detector exited (%s)\n%s' % (
                    first.proc.returncode, first.output()[-3000:]))
            try:
                com = [tp.offset for tp in checker.committed(tps, timeout=10)]
            except KafkaException:
                return False
            return com == [checker.get_watermark_offsets(tp, timeout=10)[1] for tp in tps]
        wait_for(committed, 120, 'the first detector to commit the stream', interval=0.2)
        self.assertEqual(first.stop(signal.SIGTERM), 0, first.output()[-3000:])
        t0 = time.monotonic()
        d, log = self.start_detector(tag, conf, 'detector-early')

        def assigned():
            if not d.running():
                raise AssertionError('the detector exited early (%s)\n%s' % (
                    d.proc.returncode, vg_tail(log)))
            return re.search(r"assigned partition \d+: .*rebuilding the window from offset \d+", d.output())
        wait_for(assigned, 120, 'the assignment (with a replay) in the log', interval=0.02)
        rc = d.stop(signal.SIGTERM, timeout=120)
        secs = time.monotonic() - t0
        self.check('detector: SIGTERM at assignment + replay', log, rc, 0, secs, d.output())
        # stopping mid-replay must not move the group's committed offsets
        com = [tp.offset for tp in checker.committed(tps, timeout=10)]
        self.assertEqual(com, [checker.get_watermark_offsets(tp, timeout=10)[1] for tp in tps])

    # -- (c) replay ------------------------------------------------------------------------------

    def test_c_replay(self):
        """fanwatch-replay over the generated stream (msgpack) and the bundled JSON sample:
        exit 0, the sweep's alerts, 0 errors."""
        path = os.path.join(self.tmp, 'stream.msgpack')
        write_file(path, self.sweep_stream())
        conf = self.detector_conf('replay', 'unused', 'unused')
        runs = [('replay: generated msgpack stream, 6 partitions',
                 ['--input', path, '--format', 'msgpack', '--partitions', '6'], 'address_sweep'),
                ('replay: tests/data/replay/sample.jsonl',
                 ['--input', os.path.join(DATA, 'replay', 'sample.jsonl')], None)]
        for i, (what, args, want_rule) in enumerate(runs):
            log = os.path.join(self.tmp, 'replay-%d.vg' % i)
            t0 = time.monotonic()
            out = subprocess.run(vg_cmd(log) + [os.environ['FW_REPLAY'], '-c', conf] + args,
                                 capture_output=True, text=True, timeout=240,
                                 env={'PATH': os.environ.get('PATH', '/usr/bin:/bin')})
            secs = time.monotonic() - t0
            lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
            print('\n%s: %d alerts' % (what, len(lines)))
            self.assertTrue(lines, 'no alerts: %s' % out.stderr[-3000:])
            if want_rule:
                self.assertIn('"id":"%s"' % want_rule, out.stdout)
                # the end of the input ended the sweep: its final update (fw_engine_flush) ran
                # under memcheck too
                self.assertIn('"state":"ended"', out.stdout)
            self.check(what, log, out.returncode, 0, secs, out.stderr)

    # -- (d) --check-config ----------------------------------------------------------------------

    def test_d_check_config(self):
        """--check-config of both daemons: good file exit 0, bad file exit 1, 0 errors."""
        d = os.path.join(DATA, 'daemon')
        cases = []
        for daemon, env_var in (('producer', 'FW_PRODUCER'), ('detector', 'FW_DETECTOR')):
            env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
            if daemon == 'producer':
                env['FANWATCH_ARKIME_URL'] = 'http://127.0.0.1:8005'
            binary = os.environ[env_var]
            cases += [(daemon, binary, env, 'good.ini', 0, 'configuration OK'),
                      (daemon, binary, env, 'bad_port.ini', 1, "key 'metrics.port'"),
                      (daemon, binary, env, 'bad_kafka.ini', 1, 'librdkafka')]
            if daemon == 'detector':
                cases.append((daemon, binary, dict(env, FANWATCH_DETECT_RULES=os.path.join(
                    d, 'bad_rules.ini')), 'good.ini', 1, "rule 'leak_v2'"))
        for daemon, binary, env, ini, want, text in cases:
            what = '%s --check-config %s%s' % (daemon, ini, ' (bad rules)'
                                                if 'FANWATCH_DETECT_RULES' in env else '')
            log = os.path.join(self.tmp, 'check-%s-%s.vg' % (daemon, ini))
            t0 = time.monotonic()
            out = subprocess.run(vg_cmd(log) + [binary, '--check-config', '-c',
                                                os.path.join(d, ini)],
                                 capture_output=True, text=True, timeout=120, env=env)
            secs = time.monotonic() - t0
            self.assertIn(text, out.stdout + out.stderr)
            self.check(what, log, out.returncode, want, secs, out.stdout + out.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
