"""Integration: TLS and SASL between fanwatch and Kafka, certificate verification, secrets.

Starts ITS OWN broker (not the shared ctest one) with scripts/kafka-local in TLS mode:
    FW_KAFKA_DIR=<tmp> FW_KAFKA_TLS_DIR=<certs> FW_KAFKA_SASL_USER=.. FW_KAFKA_SASL_PASSWORD=..
which adds an SSL and a SASL_SSL (SASL/PLAIN) listener to the PLAINTEXT one. The test CA, the
broker/viewer certificate, an encrypted client key and an unrelated "wrong" CA are made with the
openssl CLI here. Run by ctest (label integration) as
    FW_PRODUCER=<fanwatch-producer> FW_DETECTOR=<fanwatch-detector> FW_REPLAY=<fanwatch-replay> \\
        /usr/bin/python3 -m unittest -v test_security
Scenarios:
  a  producer -> Kafka over SSL (CA file; client key with a password from a 0600 file), viewer
     over HTTPS with the test CA: every session served is on the topic, counted by id, 0 lost
  b  detector over SASL_SSL (PLAIN; user from the environment, password from a 0600 file via
     kafka.sasl.password_file): the oracle's alerts (fanwatch-replay), a 40-host sweep among them
  c  verification is on by default: the wrong CA, or no CA (the system store), is refused by the
     producer and the detector: nothing published or consumed, a certificate error in the log,
     no crash, no tight loop (log lines per second and CPU time bounded)
  d  a wrong SASL password: an authentication error, nothing consumed or published
  e  every secret (viewer password, SASL password, the wrong one, the client key's password) is
     absent from every captured stdout/stderr (info and debug levels, librdkafka debug on), from
     --check-config/--print-config, /metrics, /healthz and every record of the topics used
  f  a group/world-readable secret file (arkime password, kafka sasl password) stops both
     daemons at start-up; the message names the key and the path, not the contents
The topics are read back over the PLAINTEXT listener with python3-confluent-kafka.
"""

import collections
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
import uuid

from confluent_kafka import Consumer, TopicPartition

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_producer  # noqa: E402  (the stand-in viewer, the sessions it serves)
from test_detector import (ALERT_PARTITIONS, BASE_MS, MIN, PARTITIONS, Alerts, Gen,  # noqa: E402
                           create_topics, http_get, produce, write_file)
from test_producer import Viewer, free_port, wait_for  # noqa: E402

KAFKA_LOCAL = os.path.join(HERE, '..', '..', 'scripts', 'kafka-local')

# The secrets. Each must never appear in anything fanwatch writes or serves.
VIEWER_PASSWORD = test_producer.PASSWORD          # the stand-in viewer's (its module's) password
SASL_USER = 'fw-sasl-user'
SASL_PASSWORD = 'sasl-' + uuid.uuid4().hex
WRONG_SASL_PASSWORD = 'wrong-' + uuid.uuid4().hex
KEY_PASSWORD = 'keypw-' + uuid.uuid4().hex         # the client key's (kafka.ssl.key.password)
SECRETS = {'viewer password': VIEWER_PASSWORD, 'SASL password': SASL_PASSWORD,
           'wrong SASL password': WRONG_SASL_PASSWORD, 'ssl key password': KEY_PASSWORD}

SWEEP_SRC = '131.206.50.9'    # the injected sweep of test (b): 40 hosts on 445 in 2 minutes
PSCAN_SRC = '131.206.50.10'   # and a port scan: 30 ports of one host

# librdkafka debug contexts for the debug runs ("all" without the per-message ones)
KAFKA_DEBUG = 'generic,broker,topic,metadata,feature,protocol,cgrp,security,admin,eos,conf'


def env_base():
    """A clean environment: no FANWATCH_* from outside, sanitizer settings kept."""
    keep = ('PATH', 'HOME', 'LANG', 'TMPDIR')
    env = {k: v for k, v in os.environ.items()
           if k in keep or k.startswith(('ASAN_', 'UBSAN_', 'LSAN_'))}
    env.setdefault('PATH', '/usr/bin:/bin')
    return env


def write_secret(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as f:
        f.write(text + '\n')
    os.chmod(path, mode)  # whatever the umask
    return path


class Proc:
    """A daemon run: its command, environment and log (stdout + stderr), bounded in time."""

    def __init__(self, tmp, name, cmd, env):
        self.name, self.cmd, self.env = name, cmd, env
        self.path = os.path.join(tmp, name + '.log')
        self.proc = None
        self.t0 = None
        self.rc = None

    def start(self):
        self.log = open(self.path, 'w')
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        with open(self.path, errors='replace') as f:
            return f.read()

    def cpu_seconds(self):
        """user + system CPU time of the running process (from /proc)."""
        with open('/proc/%d/stat' % self.proc.pid) as f:
            fields = f.read().rpartition(')')[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def wait(self, timeout):
        self.rc = self.proc.wait(timeout=timeout)
        self.log.close()
        return self.rc

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.wait(30)
            raise AssertionError('%s did not stop within %d s after signal %d'
                                 % (self.name, timeout, sig))


def line_rate(text):
    """(lines, busiest second's lines) of a fw_log output."""
    per_s = collections.Counter(m.group(1) for m in re.finditer(r'^ts=(\S+T\d\d:\d\d:\d\d)\.', text,
                                                                re.M))
    return len(text.splitlines()), max(per_s.values()) if per_s else 0


def read_topic_raw(bootstrap, topic):
    """Every record (key, value) of a topic, read to its end offsets; [] if it does not exist."""
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'raw-' + uuid.uuid4().hex,
                  'enable.auto.commit': False, 'fetch.wait.max.ms': 50})
    try:
        md = c.list_topics(topic, timeout=15)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            return []
        tps = [TopicPartition(topic, p) for p in t.partitions]
        ends = {tp.partition: c.get_watermark_offsets(tp, timeout=15)[1] for tp in tps}
        c.assign([TopicPartition(topic, p, -2) for p in ends])
        got = {p: 0 for p in ends}
        recs = []

        def done():
            for m in c.consume(num_messages=10000, timeout=0.2):
                if m.error():
                    continue
                got[m.partition()] = m.offset() + 1
                recs.append((m.key() or b'', m.value() or b''))
            return all(got[p] >= ends[p] for p in ends)
        wait_for(done, 120, 'topic %s read to its end %s' % (topic, ends), interval=0)
        return recs
    finally:
        c.close()


class SecurityTest(unittest.TestCase):
    """One TLS broker for the class; every captured output is kept for test (e)."""

    captured = []    # (what, text or bytes)
    topics = []      # topics fanwatch wrote to (or was pointed at)
    summary = []     # one line per scenario, printed at the end

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='fw-security-')
        cls.kdir = os.path.join(cls.tmp, 'kafka')
        cls.procs = []
        cls.broker_started = False
        try:
            cls.make_certs()
            cls.start_broker()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            if p.running():
                p.proc.kill()
                p.proc.wait(timeout=30)
        if cls.broker_started:
            subprocess.run([KAFKA_LOCAL, 'stop'], env=dict(os.environ, FW_KAFKA_DIR=cls.kdir),
                           capture_output=True, timeout=120)
        if cls.summary:
            print('\n=== test_security summary ===\n' + '\n'.join(cls.summary))
        if not os.environ.get('FW_KEEP_TMP'):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- set-up --------------------------------------------------------------------------------

    @classmethod
    def make_certs(cls):
        """Test CA; server certificate (SAN IP:127.0.0.1) for the broker and the viewer; a client
        certificate whose PKCS#8 key is encrypted with KEY_PASSWORD; an unrelated CA."""
        d = cls.certs = os.path.join(cls.tmp, 'certs')
        os.makedirs(d)

        def run(*a):
            subprocess.run(a, check=True, capture_output=True, cwd=d, timeout=120)
        run('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
            '-subj', '/CN=fanwatch security test CA', '-keyout', 'ca.key', '-out', 'ca.pem')
        run('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
            '-subj', '/CN=fanwatch unrelated CA', '-keyout', 'wrong-ca.key', '-out', 'wrong-ca.pem')
        run('openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048',
            '-out', 'broker.key')  # unencrypted PKCS#8 (BEGIN PRIVATE KEY)
        run('openssl', 'req', '-new', '-key', 'broker.key', '-subj', '/CN=127.0.0.1',
            '-out', 'broker.csr')
        with open(os.path.join(d, 'ext.cnf'), 'w') as f:
            f.write('subjectAltName=IP:127.0.0.1\n')
        run('openssl', 'x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
            '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'broker.pem')
        keypw = write_secret(os.path.join(d, 'client.keypw'), KEY_PASSWORD)
        run('openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048',
            '-aes-256-cbc', '-pass', 'file:' + keypw, '-out', 'client.key')
        run('openssl', 'req', '-new', '-key', 'client.key', '-passin', 'file:' + keypw,
            '-subj', '/CN=fanwatch-client', '-out', 'client.csr')
        run('openssl', 'x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
            '-CAcreateserial', '-days', '2', '-out', 'client.pem')
        with open(os.path.join(d, 'client.key')) as f:
            assert 'ENCRYPTED PRIVATE KEY' in f.read()
        cls.ca = os.path.join(d, 'ca.pem')
        cls.wrong_ca = os.path.join(d, 'wrong-ca.pem')
        cls.cert = os.path.join(d, 'broker.pem')
        cls.key = os.path.join(d, 'broker.key')
        cls.client_cert = os.path.join(d, 'client.pem')
        cls.client_key = os.path.join(d, 'client.key')
        cls.key_password_file = keypw
        # the secret files the daemons read (owner-only)
        cls.sasl_file = write_secret(os.path.join(cls.tmp, 'sasl.password'), SASL_PASSWORD)
        cls.wrong_sasl_file = write_secret(os.path.join(cls.tmp, 'wrong-sasl.password'),
                                           WRONG_SASL_PASSWORD)
        cls.viewer_file = write_secret(os.path.join(cls.tmp, 'arkime.password'), VIEWER_PASSWORD)

    @classmethod
    def start_broker(cls):
        env = dict(os.environ, FW_KAFKA_DIR=cls.kdir, FW_KAFKA_TLS_DIR=cls.certs,
                   FW_KAFKA_SASL_USER=SASL_USER, FW_KAFKA_SASL_PASSWORD=SASL_PASSWORD)
        t0 = time.monotonic()
        cls.broker_started = True
        r = subprocess.run([KAFKA_LOCAL, 'start'], env=env, capture_output=True, text=True,
                           timeout=400)
        cls.captured.append(('kafka-local start', r.stdout + r.stderr))
        if r.returncode != 0:
            raise AssertionError('kafka-local start (TLS mode) failed:\n' + r.stderr[-3000:])

        def addr(name):
            with open(os.path.join(cls.kdir, name)) as f:
                return f.read().strip()
        cls.plain, cls.ssl, cls.sasl = (addr('bootstrap'), addr('bootstrap_ssl'),
                                        addr('bootstrap_sasl_ssl'))
        # the helpers of test_producer / test_detector read this broker over PLAINTEXT
        os.environ['FW_KAFKA_DIR'] = cls.kdir
        cls.summary.append('broker: kafka-local TLS mode in %.1f s: PLAINTEXT %s, SSL %s, '
                           'SASL_SSL %s (PLAIN)' % (time.monotonic() - t0, cls.plain, cls.ssl,
                                                    cls.sasl))

    # -- helpers -------------------------------------------------------------------------------

    def viewer(self, count, seed, start_ms, span_s, tls):
        """The stand-in viewer in a directory of its own (its port file is per directory)."""
        return Viewer(tempfile.mkdtemp(prefix='viewer-', dir=self.tmp), count, seed, start_ms,
                      span_s, tls=tls)

    def proc(self, name, cmd, env):
        p = Proc(self.tmp, name, cmd, env)
        self.procs.append(p)
        return p

    def keep(self, what, text):
        self.captured.append((what, text))

    def finish(self, p, sig=signal.SIGTERM, timeout=60):
        """Stop p (if running) and keep its output for (e); returns the exit status."""
        rc = p.stop(sig, timeout) if p.running() else p.wait(timeout)
        self.keep(p.name, p.output())
        return rc

    def check_config(self, what, argv, env, how):
        """argv --check-config and argv --print-config exit 0 (outputs kept for (e) as '<what>
        <flag> (<how>)'); returns the printed configuration."""
        for flag in ('--check-config', '--print-config'):
            r = subprocess.run(argv + [flag], env=env, capture_output=True, text=True, timeout=60)
            self.keep('%s %s (%s)' % (what, flag, how), r.stdout + r.stderr)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def producer_env(self, topic, bootstrap, viewer, extra=None):
        env = env_base()
        env.update({
            'FANWATCH_ARKIME_URL': viewer.url,
            'FANWATCH_ARKIME_USER': 'fanwatch',
            'FANWATCH_ARKIME_PASSWORD__FILE': self.viewer_file,
            'FANWATCH_ARKIME_CA__FILE': self.ca,
            'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': bootstrap,
            'FANWATCH_TOPICS_SESSIONS': topic,
            'FANWATCH_PRODUCER_CREATE__TOPIC__PARTITIONS': '6',
            'FANWATCH_PRODUCER_CURSOR__FILE': os.path.join(self.tmp, topic + '.cursor'),
            'FANWATCH_PRODUCER_START__LOOKBACK': '5h',
            'FANWATCH_PRODUCER_POLL__INTERVAL': '500ms',
            'FANWATCH_PRODUCER_RETRY__BACKOFF__MAX': '1s',
            'FANWATCH_ARKIME_ORDER': '@timestamp:asc',
            'FANWATCH_METRICS_PORT': str(free_port()),
        })
        env.update(extra or {})
        self.topics.append(topic)
        return env

    def detector_conf(self, name, sessions, alerts, kafka):
        """An INI file for the detector (and fanwatch-replay): no secret in it, only paths."""
        path = os.path.join(self.tmp, name + '.ini')
        with open(path, 'w') as f:
            f.write('[topics]\nsessions = %s\nalerts = %s\n[kafka]\n%s\n'
                    'group.id = group-%s\nsession.timeout.ms = 6000\n'
                    'heartbeat.interval.ms = 1000\n[detector]\nstart = earliest\n'
                    'commit_interval = 500ms\n[detect]\nwindow = 5m\n[sweep]\nthreshold = 25\n'
                    '[port_scan]\nthreshold = 15\n'
                    % (sessions, alerts, '\n'.join('%s = %s' % kv for kv in kafka.items()), name))
        self.topics += [sessions, alerts]
        return path

    def sasl_kafka(self, password_file):
        return {'bootstrap.servers': self.sasl, 'security.protocol': 'sasl_ssl',
                'sasl.mechanism': 'PLAIN', 'ssl.ca.location': self.ca,
                'sasl.password_file': password_file}

    def detector(self, name, conf, extra=None):
        env = env_base()
        env['FANWATCH_KAFKA_SASL_USERNAME'] = SASL_USER   # the user from the environment
        env['FANWATCH_METRICS_PORT'] = str(free_port())
        env.update(extra or {})
        p = self.proc(name, [os.environ['FW_DETECTOR'], '-c', conf], env)
        p.port = int(env['FANWATCH_METRICS_PORT'])
        return p

    def scrape(self, what, port):
        """GET /metrics and /healthz; both bodies kept for (e). Returns the metrics {name: v}."""
        out = {}
        for path in ('/metrics', '/healthz'):
            status, body = http_get('http://127.0.0.1:%d%s' % (port, path))
            self.keep('%s %s (HTTP %s)' % (what, path, status), body)
            if path == '/metrics' and status == 200:
                for line in body.splitlines():
                    if line and not line.startswith('#'):
                        k, _, v = line.rpartition(' ')
                        out[k] = float(v)
        return out

    def stream(self, seed=77):
        """Benign sessions of 40 sources, a 40-host sweep on 445 and a 30-port scan."""
        g = Gen(seed)
        r = g.rnd
        for i in range(40):
            src = '131.206.20.%d' % (i + 1)
            for _ in range(r.randint(2, 6)):
                g.add(src, '131.206.200.%d' % r.randint(1, 3), 443,
                      BASE_MS + r.randrange(10 * MIN), spk=r.randint(2, 20), dpk=r.randint(1, 20))
        for i in range(40):
            g.probe(SWEEP_SRC, '131.206.110.%d' % (i + 1), 445, BASE_MS + 2 * MIN + i * 3000)
        for i, port in enumerate(r.sample(range(1, 1024), 30)):
            g.probe(PSCAN_SRC, '131.206.200.8', port, BASE_MS + 5 * MIN + i * 2000)
        return sorted(g.recs, key=lambda x: (x['fp'], x['id']))

    def replay(self, name, conf, path):
        """fanwatch-replay --partitions 6 over the file with the detector's configuration: the
        oracle's alert documents (its output kept for (e))."""
        env = env_base()
        env['FANWATCH_KAFKA_SASL_USERNAME'] = SASL_USER
        r = subprocess.run([os.environ['FW_REPLAY'], '-c', conf, '--input', path, '--format',
                            'msgpack', '--partitions', str(PARTITIONS)],
                           env=env, capture_output=True, text=True, timeout=300)
        self.keep(name + ' stdout', r.stdout)
        self.keep(name + ' stderr', r.stderr)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]

    def committed(self, group, topic):
        c = Consumer({'bootstrap.servers': self.plain, 'group.id': group,
                      'enable.auto.commit': False})
        try:
            tps = c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=15)
            return [tp.offset for tp in tps]
        finally:
            c.close()

    def check_refused(self, p, marker, seconds, expect_exit):
        """p runs against a listener it must refuse: no crash; the marker in its log; the log
        and CPU use bounded. Returns (exit status or 'running', lines, busiest second, cpu s,
        wall s)."""
        wait_for(lambda: marker in p.output() or not p.running(), 60,
                 '%s to log %r' % (p.name, marker), interval=0.2)
        if expect_exit:
            rc = p.wait(seconds)
            cpu = None
        else:
            # keeps retrying: still alive after `seconds`, then a clean stop
            deadline = p.t0 + seconds
            wait_for(lambda: not p.running() or time.monotonic() >= deadline, seconds + 30,
                     '%s to run %d s' % (p.name, seconds), interval=0.5)
            self.assertTrue(p.running(), '%s exited: %s' % (p.name, p.output()[-3000:]))
            cpu = p.cpu_seconds()
            rc = None
        wall = time.monotonic() - p.t0
        out = p.output()
        self.assertIn(marker, out, out[-3000:])
        lines, busiest = line_rate(out)
        self.assertNotRegex(out, r'AddressSanitizer|runtime error|Segmentation|Aborted')
        # no tight loop: librdkafka backs off between attempts
        self.assertLessEqual(lines, 20 + 5 * wall, '%s: %d log lines in %.0f s' % (p.name, lines,
                                                                                 wall))
        self.assertLessEqual(busiest, 40, '%s: %d log lines in one second' % (p.name, busiest))
        if cpu is not None:
            self.assertLess(cpu, 0.3 * wall, '%s: %.1f s CPU in %.0f s' % (p.name, cpu, wall))
        return rc, lines, busiest, cpu, wall

    # -- (a) producer over SSL -----------------------------------------------------------------

    def test_a_producer_over_ssl(self):
        """HTTPS viewer (test CA) -> producer -> Kafka SSL (test CA, client key password from a
        0600 file): every session served is on the topic, 0 lost."""
        now = int(time.time() * 1000)
        count = 3000
        viewer = self.viewer(count, 31, now - 3 * 3600 * 1000, 600, tls=(self.cert, self.key))
        try:
            docs = {d['id'] for d in test_producer.generate(count, 31, now - 3 * 3600 * 1000, 600)}
            topic = 'ssl-sessions-' + uuid.uuid4().hex[:8]
            env = self.producer_env(topic, self.ssl, viewer, {
                'FANWATCH_KAFKA_SECURITY_PROTOCOL': 'ssl',
                'FANWATCH_KAFKA_SSL_CA_LOCATION': self.ca,
                'FANWATCH_KAFKA_SSL_CERTIFICATE_LOCATION': self.client_cert,
                'FANWATCH_KAFKA_SSL_KEY_LOCATION': self.client_key,
                'FANWATCH_KAFKA_SSL_KEY_PASSWORD__FILE': self.key_password_file,
            })
            printed = self.check_config('producer', [os.environ['FW_PRODUCER']], env, 'SSL')
            self.assertIn('kafka.ssl.key.password = <redacted>', printed)
            p = self.proc('producer-ssl', [os.environ['FW_PRODUCER']], env).start()
            reader = test_producer.Topic(topic)
            try:
                t0 = time.monotonic()
                wait_for(lambda: reader.drain() >= count or not p.running(), 300,
                         '%d sessions on %s' % (count, topic), interval=0)
                self.assertTrue(p.running(), p.output()[-3000:])
                took = time.monotonic() - t0
                self.scrape('producer-ssl', int(env['FANWATCH_METRICS_PORT']))
                self.assertEqual(self.finish(p), 0, p.output()[-3000:])
                reader.drain(1.0)
                lost = docs - set(reader.records)
                extra = set(reader.records) - docs
                self.assertEqual(reader.undecodable, 0)
                self.assertEqual(extra, set())
                self.assertEqual(lost, set())
            finally:
                reader.close()
        finally:
            viewer.stop()
        self.summary.append('a  producer over SSL (CA file, client key password from a 0600 file)'
                            ', viewer over HTTPS (test CA): served %d, on the topic %d distinct, '
                            'duplicates %d, lost %d, in %.1f s'
                            % (count, len(reader.records), reader.duplicates(), len(lost), took))

    # -- (b) detector over SASL_SSL ------------------------------------------------------------

    def test_b_detector_over_sasl_ssl(self):
        """Detector over SASL_SSL (PLAIN; user from the environment, password from a 0600 file)
        publishes fanwatch-replay's alerts for the stream, the 40-host sweep among them."""
        tag = uuid.uuid4().hex[:8]
        sessions, alerts = 'sasl-sessions-' + tag, 'sasl-alerts-' + tag
        conf = self.detector_conf('sasl-' + tag, sessions, alerts, self.sasl_kafka(self.sasl_file))
        recs = self.stream()
        path = os.path.join(self.tmp, 'stream-%s.msgpack' % tag)
        write_file(path, recs)
        oracle = self.replay('replay (b)', conf, path)
        ids = {d['event']['id'] for d in oracle}
        by_src = collections.defaultdict(set)
        for d in oracle:
            by_src[d['source']['ip']].add(d['rule']['id'])
        self.assertIn('address_sweep', by_src[SWEEP_SRC], by_src)
        self.assertIn('port_scan', by_src[PSCAN_SRC], by_src)
        create_topics((sessions, PARTITIONS), (alerts, ALERT_PARTITIONS))
        n = produce(sessions, recs)
        d = self.detector('detector-sasl', conf)
        printed = self.check_config('detector', [os.environ['FW_DETECTOR'], '-c', conf], d.env,
                                    'SASL_SSL')
        self.assertIn('kafka.sasl.password = <redacted>', printed)
        r = subprocess.run([os.environ['FW_REPLAY'], '-c', conf, '--check-config'], env=d.env,
                           capture_output=True, text=True, timeout=60)
        self.keep('replay --check-config (SASL_SSL)', r.stdout + r.stderr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        reader = Alerts(alerts)
        try:
            d.start()
            t0 = time.monotonic()

            def all_alerts():
                self.assertTrue(d.running(), d.output()[-3000:])
                reader.drain()
                return ids <= set(reader.count)
            wait_for(all_alerts, 180, 'the oracle\'s %d alerts on %s' % (len(ids), alerts),
                     interval=0.2)
            took = time.monotonic() - t0
            # every session committed by the group: nothing more will come
            wait_for(lambda: self.committed('group-sasl-' + tag, sessions) == self.ends(sessions),
                     60,
                     'the group to commit the end of %s' % sessions, interval=0.5)
            m = self.scrape('detector-sasl', d.port)
            self.assertEqual(self.finish(d), 0, d.output()[-3000:])
            reader.drain()
        finally:
            reader.close()
        self.assertEqual(reader.bad, [])
        self.assertEqual(set(reader.count), ids)
        sweep = [x for x in reader.docs.values()
                 if x['rule']['id'] == 'address_sweep' and x['source']['ip'] == SWEEP_SRC]
        self.assertEqual(len(sweep), 1)
        self.assertEqual(m.get('fanwatch_detector_sessions_total'), n)
        self.summary.append('b  detector over SASL_SSL (PLAIN, user from env, password from a '
                            '0600 file): %d sessions consumed, alerts %d ids = fanwatch-replay\'s '
                            '%d (by rule %s), the 40-host sweep alerted once, in %.1f s'
                            % (n, len(reader.count), len(ids),
                               dict(collections.Counter(x['rule']['id']
                                                        for x in reader.docs.values())), took))

    def ends(self, topic):
        c = Consumer({'bootstrap.servers': self.plain, 'group.id': 'ends-' + uuid.uuid4().hex})
        try:
            return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=15)[1]
                    for p in range(PARTITIONS)]
        finally:
            c.close()

    # -- (c) certificate verification on by default --------------------------------------------

    def test_c_bad_certificate_refused(self):
        """Wrong CA, or none (system store): producer and detector refuse the broker."""
        now = int(time.time() * 1000)
        viewer = self.viewer(200, 41, now - 3 * 3600 * 1000, 60, tls=(self.cert, self.key))
        tag = uuid.uuid4().hex[:8]
        sessions, alerts = 'tls-sessions-' + tag, 'tls-alerts-' + tag
        create_topics((sessions, PARTITIONS), (alerts, ALERT_PARTITIONS))
        n = produce(sessions, self.stream(5))
        runs = []
        try:
            for how, ca in (('wrong CA', {'FANWATCH_KAFKA_SSL_CA_LOCATION': self.wrong_ca}),
                            ('system store', {})):
                short = how.split()[0]
                topic = 'refused-%s-%s' % (short, tag)
                env = self.producer_env(topic, self.ssl, viewer,
                                        dict(ca, FANWATCH_KAFKA_SECURITY_PROTOCOL='ssl'))
                runs.append(('producer', how, topic, None,
                             self.proc('producer-%s' % short, [os.environ['FW_PRODUCER']],
                                       env).start()))
                kafka = {'bootstrap.servers': self.ssl, 'security.protocol': 'ssl'}
                if ca:
                    kafka['ssl.ca.location'] = self.wrong_ca
                conf = self.detector_conf('refused-%s-%s' % (short, tag), sessions, alerts, kafka)
                runs.append(('detector', how, sessions, 'group-refused-%s-%s' % (short, tag),
                             self.detector('detector-%s' % short, conf).start()))
            # both daemons keep retrying with a backoff, name the cause, and stop at once on
            # SIGTERM (issue 15: the producer used to exit 1 after 30 s)
            results = []
            for kind, how, topic, group, p in runs:
                if kind == 'producer':
                    res = self.check_refused(p, 'certificate verify failed', 35, False)
                    self.assertRegex(p.output(), r'level=warn comp=producer msg="waiting for '
                                                 r'Kafka .*cannot read metadata of topic %s'
                                                 % topic)
                    t0 = time.monotonic()
                    rc = self.finish(p, timeout=60)
                    stop_s = time.monotonic() - t0
                    self.assertEqual(rc, 0, p.output()[-3000:])
                    self.assertLess(stop_s, 2.5, p.output()[-3000:])
                    self.assertEqual(read_topic_raw(self.plain, topic), [])  # never created
                    self.keep(p.name, p.output())
                    results.append('%s (%s): still retrying after %.0f s, %d log lines (max %d/s)'
                                   ', SIGTERM exit %d in %.1f s'
                                   % (kind, how, res[4], res[1], res[2], rc, stop_s))
                else:
                    res = self.check_refused(p, 'certificate verify failed', 35, False)
                    wait_for(lambda: http_get('http://127.0.0.1:%d/healthz' % p.port)[0] == 503,
                             30, '%s /healthz 503' % p.name, interval=0.5)
                    status, body = http_get('http://127.0.0.1:%d/healthz' % p.port)
                    self.assertIn('no Kafka broker reachable', body)
                    m = self.scrape(p.name, p.port)
                    self.assertEqual(m.get('fanwatch_detector_sessions_total', 0), 0)
                    t0 = time.monotonic()
                    rc = self.finish(p, timeout=60)
                    stop_s = time.monotonic() - t0
                    self.assertEqual(rc, 0, p.output()[-3000:])
                    self.assertEqual(self.committed(group, sessions), [-1001] * PARTITIONS)
                    results.append('%s (%s): still retrying after %.0f s, %d log lines (max %d/s)'
                                   ', CPU %.2f s, /healthz 503, SIGTERM exit %d in %.1f s'
                                   % (kind, how, res[4], res[1], res[2], res[3], rc, stop_s))
            self.assertEqual(read_topic_raw(self.plain, alerts), [])
        finally:
            viewer.stop()
        self.summary.append('c  verification on by default (%d sessions waiting, nothing '
                            'published, consumed or committed):\n     ' % n +
                            '\n     '.join(results))

    # -- (d) wrong SASL password ---------------------------------------------------------------

    def test_d_wrong_sasl_password(self):
        """A wrong SASL password: an authentication error, nothing consumed or published."""
        tag = uuid.uuid4().hex[:8]
        sessions, alerts = 'authfail-sessions-' + tag, 'authfail-alerts-' + tag
        create_topics((sessions, PARTITIONS), (alerts, ALERT_PARTITIONS))
        n = produce(sessions, self.stream(6))
        conf = self.detector_conf('authfail-' + tag, sessions, alerts,
                                  self.sasl_kafka(self.wrong_sasl_file))
        # at debug level with librdkafka's security debugging: the failure path must not echo
        d = self.detector('detector-authfail', conf, {'FANWATCH_LOG_LEVEL': 'debug',
                                                      'FANWATCH_KAFKA_DEBUG': KAFKA_DEBUG})
        d.start()
        # the producer too (info level), with the wrong password from the environment's file
        viewer = self.viewer(50, 61, int(time.time() * 1000) - 3 * 3600 * 1000, 60,
                             tls=(self.cert, self.key))
        ptopic = 'authfail-producer-' + tag
        p = self.proc('producer-authfail', [os.environ['FW_PRODUCER']], self.producer_env(
            ptopic, self.sasl, viewer, {
                'FANWATCH_KAFKA_SECURITY_PROTOCOL': 'sasl_ssl',
                'FANWATCH_KAFKA_SASL_MECHANISM': 'PLAIN',
                'FANWATCH_KAFKA_SASL_USERNAME': SASL_USER,
                'FANWATCH_KAFKA_SASL_PASSWORD__FILE': self.wrong_sasl_file,
                'FANWATCH_KAFKA_SSL_CA_LOCATION': self.ca})).start()
        marker = 'Authentication failed'
        wait_for(lambda: marker in d.output() or not d.running(), 60, 'an authentication error')
        self.assertTrue(d.running(), d.output()[-3000:])
        # the plain fw_log lines (not librdkafka's debug lines) name the cause
        self.assertRegex(d.output(), r'level=warn comp=detector msg="kafka: \S+: .*SASL '
                                     r'authentication error: Authentication failed')
        deadline = d.t0 + 20
        wait_for(lambda: not d.running() or time.monotonic() >= deadline, 60, '20 s of retries',
                 interval=0.5)
        self.assertTrue(d.running(), d.output()[-3000:])
        m = self.scrape(d.name, d.port)
        self.assertEqual(m.get('fanwatch_detector_sessions_total', 0), 0)
        rc = self.finish(d)
        self.assertEqual(rc, 0, d.output()[-3000:])
        self.assertEqual(self.committed('group-authfail-' + tag, sessions), [-1001] * PARTITIONS)
        self.assertEqual(read_topic_raw(self.plain, alerts), [])
        try:
            res = self.check_refused(p, marker, 35, False)
            prc = self.finish(p, timeout=60)
        finally:
            viewer.stop()
        self.keep(p.name, p.output())
        self.assertEqual(prc, 0, p.output()[-3000:])
        self.assertRegex(p.output(), r'level=warn comp=producer msg="waiting for Kafka .*SASL '
                                     r'authentication error: Authentication failed: Invalid '
                                     r'username or password')
        self.assertEqual(read_topic_raw(self.plain, ptopic), [])
        self.summary.append('d  wrong SASL password: detector (debug logging) logs "%s", %d '
                            'sessions waiting, 0 consumed, 0 committed, 0 alerts, SIGTERM exit %d; '
                            'producer logs it too, still retrying after %.0f s (%d log lines), '
                            'SIGTERM exit %d, nothing published' % (marker, n, rc, res[4], res[1],
                                                                    prc))

    # -- (e) no secret anywhere ----------------------------------------------------------------

    def test_e_secrets_never_appear(self):
        """A producer over SASL_SSL (password via FANWATCH_KAFKA_SASL_PASSWORD__FILE) and the
        detector consuming its topic, both at debug level with librdkafka debugging; then every
        captured output, endpoint body and record of the class is searched for every secret."""
        now = int(time.time() * 1000)
        count = 500
        viewer = self.viewer(count, 51, now - 3 * 3600 * 1000, 60, tls=(self.cert, self.key))
        tag = uuid.uuid4().hex[:8]
        topic, alerts = 'debug-sessions-' + tag, 'debug-alerts-' + tag
        debug = {'FANWATCH_LOG_LEVEL': 'debug', 'FANWATCH_KAFKA_DEBUG': KAFKA_DEBUG}
        try:
            env = self.producer_env(topic, self.sasl, viewer, dict(debug, **{
                'FANWATCH_KAFKA_SECURITY_PROTOCOL': 'sasl_ssl',
                'FANWATCH_KAFKA_SASL_MECHANISM': 'PLAIN',
                'FANWATCH_KAFKA_SASL_USERNAME': SASL_USER,
                'FANWATCH_KAFKA_SASL_PASSWORD__FILE': self.sasl_file,
                'FANWATCH_KAFKA_SSL_CA_LOCATION': self.ca,
            }))
            self.check_config('producer', [os.environ['FW_PRODUCER']], env, 'SASL_SSL, debug')
            p = self.proc('producer-sasl-debug', [os.environ['FW_PRODUCER']], env).start()
            reader = test_producer.Topic(topic)
            try:
                wait_for(lambda: reader.drain() >= count or not p.running(), 300,
                         '%d sessions on %s' % (count, topic), interval=0)
                self.assertTrue(p.running(), p.output()[-3000:])
                self.scrape(p.name, int(env['FANWATCH_METRICS_PORT']))
                self.assertEqual(self.finish(p), 0, p.output()[-3000:])
            finally:
                reader.close()
            self.assertEqual(len(reader.records), count)
            # librdkafka's debug lines went through fw_log, its configuration dump redacted
            self.assertIn('sasl.password = [redacted]', p.output())
            self.assertIn('level=debug comp=kafka msg="SASL', p.output())
        finally:
            viewer.stop()
        create_topics((alerts, ALERT_PARTITIONS))
        conf = self.detector_conf('debug-' + tag, topic, alerts, self.sasl_kafka(self.sasl_file))
        d = self.detector('detector-sasl-debug', conf, debug).start()
        group = 'group-debug-' + tag
        wait_for(lambda: not d.running() or self.committed(group, topic) == self.ends(topic), 120,
                 'the debug detector to commit the end of %s' % topic, interval=0.5)
        self.assertTrue(d.running(), d.output()[-3000:])
        self.scrape(d.name, d.port)
        self.assertEqual(self.finish(d), 0, d.output()[-3000:])
        self.assertIn('sasl.password = [redacted]', d.output())
        debug_lines = sum(x.output().count(' comp=kafka ') for x in (p, d))

        # every record of every topic fanwatch wrote to or read from
        nrec = 0
        for t in sorted(set(self.topics)):
            for key, value in read_topic_raw(self.plain, t):
                nrec += 1
                self.keep('record of %s' % t, key + b'\0' + value)
        leaks = []
        nbytes = 0
        for what, text in self.captured:
            data = text if isinstance(text, bytes) else text.encode('utf-8', 'replace')
            nbytes += len(data)
            for name, secret in SECRETS.items():
                if secret.encode() in data:
                    leaks.append('%s in %s' % (name, what))
        kinds = collections.Counter(
            'records' if w.startswith('record of') else
            'endpoint bodies' if ' /metrics ' in w or ' /healthz ' in w else
            'config checks' if '-config' in w else 'logs' for w, _ in self.captured)
        self.summary.append('e  secrets (%s) searched in %d captures, %d bytes (%s; the SASL_SSL '
                            'producer and detector runs at debug level with %d librdkafka lines):'
                            ' %d found%s'
                            % (', '.join(SECRETS), len(self.captured), nbytes,
                               ', '.join('%d %s' % (v, k) for k, v in sorted(kinds.items())),
                               debug_lines, len(leaks),
                               (': ' + '; '.join(leaks)) if leaks else ''))
        self.assertEqual(leaks, [])
        self.assertGreater(nrec, 0)

    # -- (f) world-readable secret files ---------------------------------------------------------

    def test_f_world_readable_secret_files_refused(self):
        """0644 arkime and kafka password files: the daemons exit 1 at start-up, naming the key
        and the path, never the contents."""
        open_arkime = write_secret(os.path.join(self.tmp, 'open-arkime.password'),
                                   VIEWER_PASSWORD, 0o644)
        open_sasl = write_secret(os.path.join(self.tmp, 'open-sasl.password'), SASL_PASSWORD,
                                 0o644)
        group_sasl = write_secret(os.path.join(self.tmp, 'group-sasl.password'), SASL_PASSWORD,
                                  0o640)
        base = env_base()
        base.update({'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': self.sasl,
                     'FANWATCH_METRICS_PORT': str(free_port())})
        viewer = {'FANWATCH_ARKIME_URL': 'https://127.0.0.1:9'}
        conf_open = self.detector_conf('open-' + uuid.uuid4().hex[:8], 'unused', 'unused',
                                       self.sasl_kafka(open_sasl))
        cases = [
            ('producer', [os.environ['FW_PRODUCER']],
             dict(viewer, FANWATCH_ARKIME_PASSWORD__FILE=open_arkime),
             'environment FANWATCH_ARKIME_PASSWORD__FILE', 'arkime.password_file', open_arkime),
            ('producer', [os.environ['FW_PRODUCER']],
             dict(viewer, FANWATCH_ARKIME_PASSWORD__FILE=self.viewer_file,
                  FANWATCH_KAFKA_SASL_PASSWORD__FILE=open_sasl),
             'environment FANWATCH_KAFKA_SASL_PASSWORD__FILE', 'kafka.sasl.password_file',
             open_sasl),
            ('detector', [os.environ['FW_DETECTOR'], '-c', conf_open], {},
             conf_open + ':', 'kafka.sasl.password_file', open_sasl),
            ('detector', [os.environ['FW_DETECTOR']],
             {'FANWATCH_KAFKA_SASL_PASSWORD__FILE': group_sasl},
             'environment FANWATCH_KAFKA_SASL_PASSWORD__FILE', 'kafka.sasl.password_file',
             group_sasl),
            ('replay', [os.environ['FW_REPLAY'], '-c', conf_open, '--input', '/dev/null'], {},
             conf_open + ':', 'kafka.sasl.password_file', open_sasl),
        ]
        lines = []
        for daemon, cmd, extra, where, key, path in cases:
            for flag in ([], ['--check-config']):
                r = subprocess.run(cmd + flag, env=dict(base, **extra), capture_output=True,
                                   text=True, timeout=60)
                out = r.stdout + r.stderr
                self.keep('%s %s refused' % (daemon, key), out)
                mode = '%04o' % (os.stat(path).st_mode & 0o777)
                self.assertEqual(r.returncode, 1, out)
                self.assertIn("%s" % where, out)
                self.assertIn("key '%s': secret file '%s' has mode %s; it must not be readable or "
                              "writable by group or others" % (key, path, mode), out)
                for secret in SECRETS.values():
                    self.assertNotIn(secret, out)
                self.assertNotIn('metrics on', out)  # refused before anything started
            msg = out.strip().splitlines()[-1].replace(self.tmp, '$TMP')
            lines.append('%s, %s: %s' % (daemon, mode, msg[msg.find(':') + 2:]))
        self.summary.append('f  group/world-readable secret files refused at start-up (and by '
                            '--check-config), the message names key and path, no contents:\n     '
                            + '\n     '.join(lines))


if __name__ == '__main__':
    unittest.main(verbosity=2)
