"""Helpers the Python tests and benchmarks share: the local broker's address, waiting on a
condition, an HTTP status, a detector configuration, reading a topic, runs of a daemon and
their logs. Import with tests/support on sys.path."""

import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
import zlib


PARTITIONS = 6  # a sessions topic's partitions in the tests


def bootstrap():
    """The bootstrap address of the broker scripts/kafka-local started (ctest's kafka fixture)."""
    with open(os.path.join(os.environ['FW_KAFKA_DIR'], 'bootstrap')) as f:
        return f.read().strip()


def wait_for(cond, timeout, what, interval=0.1, error=AssertionError):
    """cond()'s first true value, polled every interval s; raise error after timeout s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    raise error('timed out after %ss waiting for %s' % (timeout, what))


def cursor_position(path):
    """The position (epoch s) in a producer's cursor file, None while there is none."""
    try:
        with open(path) as f:
            m = re.search(r'^position=(\d+)$', f.read(), re.M)
            return int(m.group(1)) if m else None
    except FileNotFoundError:
        return None


def http_get(url):
    """(status, body), or (None, '') when nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode(errors='replace')
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors='replace')
    except (urllib.error.URLError, ConnectionError, OSError):
        return None, ''


def http_status(url):
    """The status of GET url, None when nothing listens."""
    return http_get(url)[0]


def partition_of(key, n=PARTITIONS):
    """librdkafka's consistent partitioner (CRC-32 of the key mod n), as fw_session_partition."""
    return zlib.crc32(key) % n


def write_detector_conf(path, sessions, alerts, group, rules, bootstrap_servers=None,
                        kafka='', detector='', sections=''):
    """A fanwatch-detector INI file for the tests: metrics on a free port, the group from the
    earliest offset, commits every 500 ms, a 5-minute window and the rules file; kafka and
    detector: extra lines for those sections; sections: more sections appended as written."""
    with open(path, 'w') as f:
        f.write("""[log]
level = info
[metrics]
port = 0
[topics]
sessions = %s
alerts = %s
[kafka]
bootstrap.servers = %s
group.id = %s
%s
[detector]
start = earliest
commit_interval = 500ms
%s
[detect]
window = 5m
rules = %s
%s""" % (sessions, alerts, bootstrap_servers or bootstrap(), group, kafka, detector, rules,
         sections))
    return path


def metrics_base(log_path):
    """http://<address>:<port> from the 'metrics on' line a fanwatch daemon logs, or None."""
    with open(log_path, errors='replace') as f:
        m = re.search(r'metrics on (http://[^/\s]+)/metrics', f.read())
    return m.group(1) if m else None


class LoggedRuns:
    """A program run as a subprocess, again and again: run n's output in <tmp>/<name>-<n>.log
    (logs), the current run in proc and its open log in log."""

    def __init__(self, tmp, name):
        self.tmp, self.name = tmp, name
        self.logs = []
        self.proc = None

    def popen(self, argv, env=None):
        """Start argv (a new run with a new log file)."""
        path = os.path.join(self.tmp, '%s-%d.log' % (self.name, len(self.logs)))
        self.logs.append(path)
        self.log = open(path, 'w')
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        return self.proc

    def output(self):
        """Every run's output, in order."""
        out = ''
        for p in self.logs:
            with open(p, errors='replace') as f:
                out += f.read()
        return out


def kill_running(daemons):
    """SIGKILL those of daemons (with running() and stop(sig)) still running: a test's cleanup."""
    for d in daemons:
        if d.running():
            d.stop(signal.SIGKILL)


def setup_or_cleanup(cleanup, *steps):
    """Run steps in order; when one fails, cleanup() before the failure goes on (unittest calls
    no tearDownClass after a failed setUpClass)."""
    try:
        for step in steps:
            step()
    except BaseException:
        cleanup()
        raise


def create_topics(*specs):
    """specs: (name, partitions), on the bootstrap() broker; waits until every partition has a
    leader (a produce right after creation may race the metadata)."""
    import uuid
    from confluent_kafka import Consumer
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({'bootstrap.servers': bootstrap()})  # alive until the futures are done
    fs = a.create_topics([NewTopic(n, p, 1) for n, p in specs], operation_timeout=30)
    for f in fs.values():
        f.result(30)
    c = Consumer({'bootstrap.servers': bootstrap(), 'group.id': 'meta-' + uuid.uuid4().hex})
    try:
        def ready():
            md = c.list_topics(timeout=10)
            return all(n in md.topics and len(md.topics[n].partitions) == p and
                       all(pm.leader >= 0 for pm in md.topics[n].partitions.values())
                       for n, p in specs)
        wait_for(ready, 30, 'topics %s' % [n for n, _ in specs])
    finally:
        c.close()


def assigned_consumer(topic, partitions, group):
    """A consumer assigned partitions 0..partitions-1 of topic from their beginning (no group
    membership: group only names it), no commits."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({'bootstrap.servers': bootstrap(), 'group.id': group,
                  'enable.auto.commit': False, 'fetch.wait.max.ms': 50})
    c.assign([TopicPartition(topic, p, -2) for p in range(partitions)])
    return c


def consume_ready(c, timeout, next_offsets):
    """The messages c has now, consumed until a batch comes back empty after timeout s (errors
    skipped); next_offsets[partition] is set one past each offset read."""
    while True:
        msgs = c.consume(num_messages=10000, timeout=timeout)
        if not msgs:
            return
        for m in msgs:
            if m.error():
                continue
            next_offsets[m.partition()] = m.offset() + 1
            yield m


def doc_get(doc, path):
    """doc[path] for a dotted path, as a flattened key or through nested objects; None if
    absent."""
    if path in doc:
        return doc[path]
    cur = doc
    for part in path.split('.'):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def flatten(doc, prefix=''):
    """The viewer's flatten=1: nested objects become dotted keys, arrays stay."""
    out = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            out.update(flatten(value, prefix + key + '.'))
        else:
            out[prefix + key] = value
    return out


def session_fields():
    """The rows of common/session_fields.h, the one table of a session's fields, in its (wire)
    order: dicts with name, member, kind ('ID', 'STR', ... 'FLAG'), arkime (db field), wire (key)
    and expr (expression name or None)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, 'common', 'session_fields.h')) as f:
        src = f.read()
    rows = re.findall(r'^\s*X\((\w+),\s*([\w.]+),\s*FW_FK_(\w+),\s*"([^"]*)",\s*"([^"]*)",'
                      r'\s*(NULL|"[^"]*")\)', src, re.M)
    if not rows or len(rows) != len(re.findall(r'^\s*X\(', src, re.M)):
        raise RuntimeError('common/session_fields.h: FW_SESSION_FIELDS rows not understood')
    return [dict(name=n, member=m, kind=k, arkime=a, wire=w,
                 expr=None if e == 'NULL' else e.strip('"')) for n, m, k, a, w, e in rows]


def producer_fields():
    """FW_ARKIME_FIELDS of common/arkime_page.c: the fields the producer asks the viewer for, the
    db fields of common/session_fields.h but "id" (which the viewer always adds)."""
    return ','.join(f['arkime'] for f in session_fields() if f['kind'] != 'ID')
