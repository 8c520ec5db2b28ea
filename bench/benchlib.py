"""Shared pieces of the benchmark scripts: paths, waiting, CPU time, the local broker."""

import functools
import json
import os
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDIN = os.path.join(ROOT, 'tests', 'arkime_standin')
KAFKA_LOCAL = os.path.join(ROOT, 'scripts', 'kafka-local')
PASSWORD = 'bench-secret'

sys.path.insert(0, os.path.join(ROOT, 'tests', 'support'))
import fwtest  # noqa: E402

# cond()'s first true value, polled every interval s; exit after timeout s
wait_for = functools.partial(fwtest.wait_for, error=SystemExit)
# http://<address>:<port> from a fanwatch daemon's 'metrics on' log line, or None
metrics_base = fwtest.metrics_base
# a program run as a subprocess, each run's output in a log file of its own
LoggedRuns = fwtest.LoggedRuns

def proc_cpu_s(pid):
    """User + system CPU seconds of pid so far (all its threads, /proc/<pid>/stat), or None."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, ValueError, IndexError):
        return None


def wait_file(path, timeout):
    """The stripped content of path once it exists and is not empty; exit after timeout s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                v = f.read().strip()
            if v:
                return v
        time.sleep(0.1)
    raise SystemExit('timed out waiting for ' + path)


def kafka_start(state_dir):
    """Start a broker with its state in state_dir; returns (bootstrap, env for kafka_stop)."""
    env = dict(os.environ, FW_KAFKA_DIR=state_dir)
    out = subprocess.run([KAFKA_LOCAL, 'start'], env=env, check=True, capture_output=True,
                         text=True)
    return out.stdout.strip(), env


def kafka_stop(env):
    subprocess.run([KAFKA_LOCAL, 'stop'], env=env, capture_output=True)


ARKIME_LOCAL = os.path.join(ROOT, 'scripts', 'arkime-local')


def arkime_start(aenv, name):
    """scripts/arkime-local start with aenv (its FW_ARKIME_DIR): its key=value facts (viewer,
    opensearch, password_file, ...), or None when there is no Arkime source (name says skipped)."""
    st = subprocess.run([ARKIME_LOCAL, 'start'], env=aenv, capture_output=True, text=True)
    if st.returncode == 3:
        print('%s: skipped: no Arkime source (scripts/arkime-local)' % name)
        return None
    if st.returncode != 0:
        raise SystemExit('scripts/arkime-local start failed:\n' + st.stderr[-3000:])
    return dict(kv.split('=', 1) for kv in st.stdout.split())


def run_backfill(producer, frm, to, env, log_path):
    """Seconds fanwatch-producer --from frm --to to takes (its log in log_path); exit if it
    fails."""
    t0 = time.monotonic()
    with open(log_path, 'w') as log:
        rc = subprocess.run([producer, '--from', str(frm), '--to', str(to)], env=env,
                            stdout=log, stderr=subprocess.STDOUT).returncode
    seconds = time.monotonic() - t0
    if rc != 0:
        raise SystemExit('producer failed (%d), see %s' % (rc, log_path))
    return seconds


def os_json(url, path, body=None):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode() if body else None,
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


def opensearch_ids(url):
    """Every session document's _id, straight from OpenSearch (search_after on _id)."""
    ids, after = set(), None
    while True:
        body = {'size': 10000, 'sort': [{'_id': 'asc'}], '_source': False,
                'query': {'match_all': {}}}
        if after:
            body['search_after'] = after
        hits = os_json(url, '/arkime_sessions3-*/_search', body)['hits']['hits']
        if not hits:
            return ids
        ids.update(h['_id'] for h in hits)
        after = hits[-1]['sort']


def timestamp_range(url):
    r = os_json(url, '/arkime_sessions3-*/_search', {
        'size': 0, 'aggs': {'lo': {'min': {'field': '@timestamp'}},
                            'hi': {'max': {'field': '@timestamp'}},
                            'sec': {'date_histogram': {'field': '@timestamp',
                                                       'fixed_interval': '1s',
                                                       'min_doc_count': 1}}}})
    a = r['aggregations']
    dens = max((b['doc_count'] for b in a['sec']['buckets']), default=0)
    return int(a['lo']['value']), int(a['hi']['value']), dens, len(a['sec']['buckets'])


def topic_ids(boot, topic, expect, timeout=120):
    """The Arkime ids of every record on topic (msgpack field 'id')."""
    from confluent_kafka import Consumer
    import msgpack
    c = Consumer({'bootstrap.servers': boot, 'group.id': 'bench-%d' % os.getpid(),
                  'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
    c.subscribe([topic])
    ids, records = set(), 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and records < expect:
        for m in c.consume(10000, 1.0):
            if m.error():
                continue
            rec = msgpack.unpackb(m.value(), raw=False)
            ids.add(rec.get('id'))
            records += 1
    c.close()
    return ids, records


def ingest_bulk(aenv, tmp, sessions):
    """A pcap of that many sessions (tests/arkime/gen_pcaps.py --bulk) through the real capture
    of the Arkime at aenv: (seconds generating, seconds ingesting)."""
    gen = os.path.join(ROOT, 'tests', 'arkime', 'gen_pcaps.py')
    t0 = time.monotonic()
    pdir = os.path.join(tmp, 'pcap')
    subprocess.run(['/usr/bin/python3', gen, '--bulk', str(sessions), '--out', pdir], check=True,
                   stdout=subprocess.DEVNULL)
    gen_s = time.monotonic() - t0
    t0 = time.monotonic()
    subprocess.run([ARKIME_LOCAL, 'ingest', os.path.join(pdir, 'bulk.pcap')], env=aenv,
                   check=True, stdout=subprocess.DEVNULL)
    return gen_s, time.monotonic() - t0
