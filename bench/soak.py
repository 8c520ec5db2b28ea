#!/usr/bin/env python3
"""Soak: the whole pipeline at a steady live rate for N minutes, memory sampled (issue #6).

    /usr/bin/python3 bench/soak.py [--minutes 10] [--rate 1000] [--out soak.csv] \
        [--producer build-h3/producer/fanwatch-producer] \
        [--detector build-h3/detector/fanwatch-detector] [--bootstrap HOST:PORT]
    /usr/bin/python3 bench/soak.py --minutes 1 --rate 300      # development: the plumbing
    /usr/bin/python3 bench/soak.py --summarize soak.csv [SECONDS]   # one table row per minute

Starts a broker (`FW_KAFKA_DIR=/tmp/fw-h3-kafka scripts/kafka-local start`, stopped at the end;
--bootstrap uses a running one instead), the stand-in viewer (digest auth), one
fanwatch-producer (live) and --detectors fanwatch-detector instances in one consumer group on a
6-partition sessions topic, with a small state cap (detect.max_memory_mb, default 32 MiB; the
minimum the detector accepts is 16).

The stream. Session i of the run has @timestamp T0 + i / rate (a fixed grid: rate x minutes x 60
sessions in all) and id 3@soak-<i>. Every --batch-s seconds the feeder POSTs the next batch to
the viewer's /_standin/sessions while its @timestamps are still --lead seconds in the future: the
stand-in hides a session until now >= @timestamp, so sessions become visible to the producer
over wall-clock time exactly on the grid, as Arkime writes them, whatever the feeder's own
jitter (its lateness is recorded and checked). Content: --new-share of the sessions come from a
source address never used before (an ever-growing population: without idle eviction or the cap
the detectors' state would grow all the time), the rest from a pool of --pool recurring hosts
with a few fixed destinations and ports each; every --sweep-every s a new source sweeps 40 hosts
on 445 (one address_sweep alert, 445 in its fanwatch.by_port: the default alert.grouping =
attack folds address_sweep_port into it) and every --scan-every s a new source probes 28 ports
of one host (one port_scan alert), each spread over 10 s with unanswered SYNs (failed
connections: they count under the default detect.count = failed_or_new). Their probes take
slots of the grid, so the rate stays exactly --rate.

Sampled every --sample-s (10) s into the CSV (--out): VmRSS and VmHWM (/proc/<pid>/status) and
CPU of the producer, each detector, the viewer and the broker; the producer's published/pulled
counters and cursor lag (CPU in cores: CPU seconds per wall second); each detector's fanwatch_detector_state_bytes, _tracked_keys,
_tracked_sources, _sessions_total, _evicted_sources_total, _lag_messages,
_assigned_partitions and alerts; the topic's end offsets and the group's committed offsets (lag).
The detectors' state bytes are also read every second for their maximum.

At the end of the stream the script waits until the producer has published every session and
the group has committed the end of the topic, SIGTERMs the daemons, then reads the sessions
topic (every id, by number) and the alerts topic. Checks (exit 1 if one fails):
  lost          every session fed (all were served: the producer's cursor passed the last one)
                is on the topic: lost 0, no foreign id, no undecodable record
  state_cap     each detector's state bytes (read every second) never above
                detect.max_memory_mb, plus 384 B per owned partition: the gauge counts each
                engine's own struct (sizeof(fw_engine_t)), the cap is enforced without it
  cap_reached   the state reached >= 90% of the cap (the workload exercised it)
  rss_<proc>    RSS of producer and detectors after --warmup-min (3): least-squares slope over
                the rest of the stream <= --rss-slope-max MB/min (0.5)
                (runs shorter than 3 minutes, e.g. the development mode --minutes 1 --rate 300,
                end before the state fills: cap_reached and rss_* are only reported)
  alive         every process alive at every sample
  sigterm       producer and detectors exit 0 on SIGTERM
  scans         every injected sweep and port scan raised exactly one alert (one event.id per
                attack, whatever its updates; a sweep's is address_sweep with 445 in
                fanwatch.by_port, and no address_sweep_port alert for it)
  feeder        the feeder posted every batch before it became visible
  drained       producer and detectors caught up within --tail-timeout after the stream
Bounded: rate x minutes x 60 sessions; every wait has a time limit and the whole run stops
after minutes + --tail-timeout + 10 minutes at the latest. Processes it started are stopped on
any exit (SIGTERM/SIGINT to this script included).
"""

import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (PASSWORD, ROOT, STANDIN, kafka_start, kafka_stop, metrics_base,  # noqa: E402
                      proc_cpu_s, wait_file, wait_for)

import msgpack
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ALERT_PARTITIONS = 3
SWEEP_HOSTS = 40        # > 25 (threshold), < 50 (first escalation): one alert, one document
SCAN_PORTS = 28         # > 15, < 30: one alert (the growth past the threshold is reported
                        # by a final update only once the source is idle for 15 min of event time)
SWEEP_PORT = 445
SCAN_SPAN_S = 10        # each injected scan is spread over 10 s
BENIGN_PORTS = (443, 80, 53, 22, 445, 3389, 389, 88, 8080, 123)


def log(msg):
    print('soak: %s' % msg, file=sys.stderr, flush=True)


def ip4(n):
    return '%d.%d.%d.%d' % (n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255)


def new_source(c):
    """The c-th never-seen source: 10.64.0.0/10, then 11.0.0.0/8 (20 M addresses)."""
    return ip4(0x0A400000 + c) if c < (1 << 22) else ip4(0x0B000000 + (c - (1 << 22)))


# --------------------------------------------------------------------------------------------
# The workload
# --------------------------------------------------------------------------------------------

class Workload:
    """Deterministic stream on a fixed grid; probes of injected scans take grid slots."""

    def __init__(self, args, t0_ms):
        self.rate = args.rate
        self.seconds = int(args.minutes * 60)
        self.total = self.rate * self.seconds
        self.t0_ms = t0_ms
        self.new_share = args.new_share
        self.rnd = random.Random(args.seed)
        self.pool = []
        for i in range(args.pool):
            n = 0x0A200000 + i  # 10.32.0.0/12: recurring hosts
            dsts = [ip4(0x83CE0000 + self.rnd.randrange(1, 4096))
                    for _ in range(1 + self.rnd.randrange(4))]
            ports = [self.rnd.choice(BENIGN_PORTS) for _ in range(1 + self.rnd.randrange(2))]
            self.pool.append((ip4(n), dsts, ports))
        self.new_count = 0
        # injected scans: (kind, index, start second, source, target list)
        self.scans = []
        k = 0
        for s in range(5, self.seconds - SCAN_SPAN_S - 1, max(1, args.sweep_every)):
            src = ip4(0x0AFA0000 + k)                    # 10.250.x.y
            hosts = [ip4(0x83CF0000 + (k << 8) + h + 1) for h in range(SWEEP_HOSTS)]
            self.scans.append(('sweep', k, s, src, hosts))
            k += 1
        k = 0
        for s in range(12, self.seconds - SCAN_SPAN_S - 1, max(1, args.scan_every)):
            src = ip4(0x0AFB0000 + k)                    # 10.251.x.y
            host = ip4(0x83D00000 + k + 1)               # 131.208.x.y
            self.scans.append(('portscan', k, s, src, [host]))
            k += 1
        self.by_second = {}
        for sc in self.scans:
            kind, _, s, src, targets = sc
            n = SWEEP_HOSTS if kind == 'sweep' else SCAN_PORTS
            for j in range(n):
                sec = s + j * SCAN_SPAN_S // n
                self.by_second.setdefault(sec, []).append((sc, j))

    def ts(self, i):
        return self.t0_ms + i * 1000 // self.rate

    def visible(self, now_ms):
        """How many sessions of the grid have @timestamp <= now."""
        if now_ms < self.t0_ms:
            return 0
        return min(self.total, (now_ms - self.t0_ms) * self.rate // 1000 + 1)

    def second(self, sec):
        """The documents of one second of the grid."""
        docs = []
        probes = self.by_second.get(sec, [])
        r = self.rnd
        base = sec * self.rate
        for j in range(self.rate):
            i = base + j
            ts = self.ts(i)
            if j < len(probes):
                (kind, _k, _s, src, targets), p = probes[j]
                fp = ts - 1000 - r.randrange(500)
                if kind == 'sweep':
                    dst, dport = targets[p], SWEEP_PORT
                else:
                    dst, dport = targets[0], 1000 + p * 7
                doc = {'firstPacket': fp, 'lastPacket': fp, 'ipProtocol': 6,
                       'source': {'ip': src, 'port': 40000 + (i & 16383), 'packets': 1,
                                  'bytes': 58},
                       'destination': {'ip': dst, 'port': dport, 'packets': 0, 'bytes': 0},
                       'tcpflags': {'syn': 1, 'syn-ack': 0, 'ack': 0, 'psh': 0, 'fin': 0,
                                    'rst': 0, 'urg': 0}}
            else:
                if r.random() < self.new_share:
                    src = new_source(self.new_count)
                    self.new_count += 1
                    dst = ip4(0x83CE0000 + r.randrange(1, 4096))
                    dport = BENIGN_PORTS[r.randrange(len(BENIGN_PORTS))]
                else:
                    src, dsts, ports = self.pool[r.randrange(len(self.pool))]
                    dst = dsts[r.randrange(len(dsts))]
                    dport = ports[r.randrange(len(ports))]
                spk, dpk = 3 + r.randrange(20), 2 + r.randrange(20)
                fp = ts - 2000 - r.randrange(20000)
                lp = fp + r.randrange(1000)
                doc = {'firstPacket': fp, 'lastPacket': lp, 'ipProtocol': 6,
                       'source': {'ip': src, 'port': 32768 + (i & 16383), 'packets': spk,
                                  'bytes': 66 * spk + 200},
                       'destination': {'ip': dst, 'port': dport, 'packets': dpk,
                                       'bytes': 66 * dpk + 900},
                       'client': {'bytes': 200}, 'server': {'bytes': 900},
                       'tcpflags': {'syn': 1, 'syn-ack': 1, 'ack': spk + dpk - 2, 'psh': 1,
                                    'fin': 2, 'rst': 0, 'urg': 0}}
            doc['id'] = '3@soak-%09d' % i
            doc['node'] = 'soak'
            doc['@timestamp'] = ts
            docs.append(doc)
        return docs


class Feeder(threading.Thread):
    """POSTs each batch of the grid --lead seconds before its first session becomes visible."""

    def __init__(self, args, wl, url):
        super().__init__(daemon=True)
        self.args, self.wl, self.url = args, wl, url
        self.stop = threading.Event()
        self.posted = 0
        self.max_late_s = None      # worst (post time - (first ts - lead)), s
        self.min_margin_s = None    # least (first ts of the batch - post done), s
        self.error = None
        self.done = False

    def run(self):
        try:
            a, wl = self.args, self.wl
            sec = 0
            while sec < wl.seconds and not self.stop.is_set():
                first_ms = wl.t0_ms + sec * 1000
                due = first_ms / 1000.0 - a.lead
                while not self.stop.is_set() and time.time() < due:
                    self.stop.wait(min(0.2, max(0.0, due - time.time())))
                if self.stop.is_set():
                    return
                late = time.time() - due
                self.max_late_s = late if self.max_late_s is None else max(self.max_late_s, late)
                n = min(a.batch_s, wl.seconds - sec)
                docs = []
                for s in range(sec, sec + n):
                    docs.extend(wl.second(s))
                body = json.dumps(docs, separators=(',', ':')).encode()
                req = urllib.request.Request(self.url + '/_standin/sessions', data=body,
                                             method='POST',
                                             headers={'Content-Type': 'application/json'})
                with urllib.request.urlopen(req, timeout=60) as r:
                    added = json.loads(r.read())['added']
                if added != len(docs):
                    raise RuntimeError('viewer added %d of %d' % (added, len(docs)))
                margin = first_ms / 1000.0 - time.time()
                self.min_margin_s = (margin if self.min_margin_s is None
                                     else min(self.min_margin_s, margin))
                self.posted += len(docs)
                sec += n
            self.done = True
        except Exception as err:  # reported by the main loop
            self.error = repr(err)


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------

class Proc:
    """A subprocess with its log, /proc sampling and (for fanwatch daemons) /metrics."""

    def __init__(self, name, cmd, tmp, env=None):
        self.name = name
        self.logpath = os.path.join(tmp, name + '.log')
        self.log = open(self.logpath, 'w')
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.base = None
        self.cpu_prev = None

    def alive(self):
        return self.proc.poll() is None

    def metrics_url(self):
        if self.base is None:
            self.base = metrics_base(self.logpath)
        return self.base

    def metrics(self):
        """All samples of /metrics as {name or name{labels}: value}; {} if unavailable."""
        if not self.metrics_url():
            return {}
        try:
            with urllib.request.urlopen(self.base + '/metrics', timeout=5) as r:
                body = r.read().decode()
        except (OSError, urllib.error.URLError):
            return {}
        out = {}
        for line in body.splitlines():
            if not line or line[0] == '#':
                continue
            k, _, v = line.rpartition(' ')
            try:
                out[k] = float(v)
            except ValueError:
                pass
        return out

    def stop(self, sig=signal.SIGTERM, timeout=60):
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = 'killed after %ds' % timeout
        if not self.log.closed:
            self.log.close()
        return rc

    def tail(self, n=2000):
        try:
            with open(self.logpath, errors='replace') as f:
                return f.read()[-n:]
        except OSError:
            return ''


def proc_mem(pid):
    """(VmRSS, VmHWM) in MiB, or (None, None)."""
    rss = hwm = None
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    rss = int(line.split()[1]) / 1024.0
                elif line.startswith('VmHWM:'):
                    hwm = int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return rss, hwm


def slope_per_min(points):
    """Least-squares slope (y per minute) of [(t_s, y)], or None with fewer than 3 points."""
    pts = [(t, y) for t, y in points if y is not None]
    if len(pts) < 3:
        return None
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    my = sum(y for _, y in pts) / n
    var = sum((t - mt) ** 2 for t, _ in pts)
    if var == 0:
        return None
    return sum((t - mt) * (y - my) for t, y in pts) / var * 60.0


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------

class Stop(Exception):
    pass


def on_signal(signum, _frame):
    raise Stop('signal %d' % signum)


def read_topic(boot, topic, partitions, handle, timeout):
    """Feed every record of topic (beginning to the current end) to handle(msg)."""
    c = Consumer({'bootstrap.servers': boot, 'group.id': 'soak-check-' + uuid.uuid4().hex,
                  'enable.auto.commit': False, 'enable.partition.eof': False})
    try:
        ends = {}
        for p in range(partitions):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if hi > lo:
                ends[p] = hi
        c.assign([TopicPartition(topic, p, -2) for p in ends])
        pos = {p: 0 for p in ends}
        deadline = time.monotonic() + timeout
        while any(pos[p] < ends[p] for p in ends):
            if time.monotonic() > deadline:
                raise SystemExit('soak: timed out reading %s' % topic)
            for m in c.consume(num_messages=10000, timeout=0.5):
                if m.error():
                    continue
                pos[m.partition()] = m.offset() + 1
                handle(m)
        return sum(ends.values())
    finally:
        c.close()


def summarize(path, every_s=60.0):
    """Print one Markdown row per every_s seconds of a soak CSV (the stream's samples)."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    dets = sorted({k[:-len('_rss_mb')] for k in rows[0] if k.startswith('detector')
                   and k.endswith('_rss_mb')}) if rows else []

    def num(r, k):
        v = r.get(k)
        return float(v) if v not in (None, '') else None
    head = ['t (s)', 'published', 'group lag', 'producer RSS']
    for d in dets:
        n = d[len('detector'):]
        head += ['d%s RSS' % n, 'd%s state MiB' % n, 'd%s sources' % n, 'd%s evicted' % n]
    head += ['load']
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '---|' * len(head))
    picked, nxt = [], None
    for r in rows:
        t = num(r, 't_s')
        if r['phase'] == 'feed' and t is not None and t >= 0 and (nxt is None or t >= nxt):
            picked.append(r)
            nxt = (t // every_s + 1) * every_s
    tail = [r for r in rows if r['phase'] == 'tail']
    if tail:
        picked.append(tail[-1])
    for r in picked:
        cells = ['%.0f%s' % (num(r, 't_s'), ' (end)' if r['phase'] == 'tail' else ''),
                 '%d' % num(r, 'producer_published') if num(r, 'producer_published') is not None
                 else '', '%d' % num(r, 'group_lag') if num(r, 'group_lag') is not None else '',
                 '%.1f' % num(r, 'producer_rss_mb')]
        for d in dets:
            sb = num(r, d + '_state_bytes')
            cells += ['%.1f' % num(r, d + '_rss_mb'),
                      '%.2f' % (sb / 1048576.0) if sb is not None else '',
                      '%d' % num(r, d + '_tracked_sources')
                      if num(r, d + '_tracked_sources') is not None else '',
                      '%d' % num(r, d + '_evicted') if num(r, d + '_evicted') is not None else '']
        cells += [r.get('load1', '')]
        print('| ' + ' | '.join(cells) + ' |')


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == '--summarize':
        summarize(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 60.0)
        return 0
    default_build = os.path.join(ROOT, 'build-h3')
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split('\n', 1)[1])
    ap.add_argument('--producer', default=os.path.join(default_build, 'producer',
                                                       'fanwatch-producer'))
    ap.add_argument('--detector', default=os.path.join(default_build, 'detector',
                                                       'fanwatch-detector'))
    ap.add_argument('--minutes', type=float, default=10.0, help='length of the stream')
    ap.add_argument('--rate', type=int, default=1000, help='sessions per second')
    ap.add_argument('--out', default='soak.csv', help='CSV of the samples')
    ap.add_argument('--bootstrap', help='use this broker instead of starting one')
    ap.add_argument('--kafka-dir', default='/tmp/fw-h3-kafka',
                    help='FW_KAFKA_DIR of the broker this script starts')
    ap.add_argument('--detectors', type=int, default=2)
    ap.add_argument('--partitions', type=int, default=6)
    ap.add_argument('--threads', type=int, default=2, help='detector.threads')
    ap.add_argument('--max-memory-mb', type=int, default=32,
                    help='detect.max_memory_mb of each detector (16 is the minimum)')
    ap.add_argument('--new-share', type=float, default=0.85,
                    help='share of benign sessions from a never-seen source')
    ap.add_argument('--pool', type=int, default=5000, help='recurring benign hosts')
    ap.add_argument('--sweep-every', type=int, default=20, help='s between injected sweeps')
    ap.add_argument('--scan-every', type=int, default=30, help='s between injected port scans')
    ap.add_argument('--seed', type=int, default=6)
    ap.add_argument('--lead', type=float, default=15.0,
                    help='post each batch this many s before it becomes visible')
    ap.add_argument('--batch-s', type=int, default=5, help='seconds of the grid per POST')
    ap.add_argument('--safety-lag', type=float, default=5.0, help='producer.safety_lag, s')
    ap.add_argument('--poll', type=float, default=1.0, help='producer.poll_interval, s')
    ap.add_argument('--overlap', type=float, default=5.0, help='producer.overlap, s')
    ap.add_argument('--sample-s', type=float, default=10.0)
    ap.add_argument('--warmup-min', type=float, default=3.0)
    ap.add_argument('--rss-slope-max', type=float, default=0.5,
                    help='MB per minute allowed after the warm-up')
    ap.add_argument('--tail-timeout', type=float, default=180.0,
                    help='s allowed after the stream for producer and detectors to catch up')
    ap.add_argument('--engine-struct-bytes', type=int, default=0,
                    help='slack per owned partition in the state_cap check: 0 (strict) since the '
                         'engine counts its own struct under the cap; 384 judges builds before '
                         'that, whose gauge added sizeof(struct fw_engine) outside it')
    ap.add_argument('--keep-tmp', action='store_true')
    args = ap.parse_args()
    if args.lead <= args.batch_s + 2:
        ap.error('--lead must exceed --batch-s + 2')
    if args.max_memory_mb < 16:
        ap.error('detect.max_memory_mb must be >= 16')
    for b in (args.producer, args.detector):
        if not os.access(b, os.X_OK):
            ap.error('%s: not an executable (build first)' % b)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    hard_deadline = time.monotonic() + args.minutes * 60 + args.tail_timeout + 600
    tmp = tempfile.mkdtemp(prefix='fw-soak-')
    kenv = None
    procs = []
    feeder = None
    failed = []
    try:
        # ---- broker, topics, viewer ----
        if args.bootstrap:
            boot = args.bootstrap
        else:
            boot, kenv = kafka_start(args.kafka_dir)
        log('broker %s' % boot)
        broker_pid = None
        if kenv is not None:
            try:
                with open(os.path.join(args.kafka_dir, 'pid')) as f:
                    broker_pid = int(f.read().strip())
            except (OSError, ValueError):
                pass
        run_id = uuid.uuid4().hex[:8]
        topic, alerts_topic, group = 'soak-' + run_id, 'soak-alerts-' + run_id, 'soak-' + run_id
        admin = AdminClient({'bootstrap.servers': boot})
        for f in admin.create_topics([NewTopic(topic, args.partitions, 1),
                                      NewTopic(alerts_topic, ALERT_PARTITIONS, 1)],
                                     operation_timeout=30).values():
            f.result(60)
        del admin  # no client left to complain once the broker is stopped

        port_file = os.path.join(tmp, 'viewer.port')
        viewer = Proc('viewer', [sys.executable, os.path.join(STANDIN, 'viewer.py'),
                                 '--auth', 'digest', '--user', 'soak', '--password', PASSWORD,
                                 '--port-file', port_file], tmp)
        procs.append(viewer)
        url = 'http://127.0.0.1:%s' % wait_file(port_file, 60)

        # ---- producer ----
        penv = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'FANWATCH_ARKIME_URL': url,
                'FANWATCH_ARKIME_USER': 'soak', 'FANWATCH_ARKIME_PASSWORD': PASSWORD,
                'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': boot, 'FANWATCH_TOPICS_SESSIONS': topic,
                'FANWATCH_PRODUCER_CREATE__TOPIC__PARTITIONS': str(args.partitions),
                'FANWATCH_PRODUCER_CURSOR__FILE': os.path.join(tmp, 'cursor'),
                'FANWATCH_PRODUCER_START__LOOKBACK': '10s',
                'FANWATCH_PRODUCER_SAFETY__LAG': '%dms' % (args.safety_lag * 1000),
                'FANWATCH_PRODUCER_POLL__INTERVAL': '%dms' % (args.poll * 1000),
                'FANWATCH_PRODUCER_OVERLAP': '%dms' % (args.overlap * 1000),
                'FANWATCH_PRODUCER_RETRY__BACKOFF__MAX': '2s',
                'FANWATCH_ARKIME_ORDER': '@timestamp:asc',
                'FANWATCH_METRICS_PORT': '0', 'FANWATCH_LOG_LEVEL': 'info'}
        producer = Proc('producer', [args.producer], tmp, penv)
        procs.append(producer)

        # ---- detectors ----
        dets = []
        for d in range(args.detectors):
            name = 'detector%d' % (d + 1)
            conf = os.path.join(tmp, name + '.ini')
            with open(conf, 'w') as f:
                f.write('[log]\nlevel = info\n[metrics]\nport = 0\n'
                        '[topics]\nsessions = %s\nalerts = %s\n'
                        '[kafka]\nbootstrap.servers = %s\ngroup.id = %s\n'
                        '[detector]\nstart = earliest\nthreads = %d\nname = %s\n'
                        '[detect]\nmax_memory_mb = %d\n'
                        % (topic, alerts_topic, boot, group, args.threads, name,
                           args.max_memory_mb))
            dp = Proc(name, [args.detector, '-c', conf], tmp)
            procs.append(dp)
            dets.append(dp)

        def all_alive():
            return [p.name for p in procs if not p.alive()]

        def assigned():
            dead = all_alive()
            if dead:
                raise SystemExit('soak: exited during start-up: %s\n%s'
                                 % (dead, '\n'.join(p.tail() for p in procs if not p.alive())))
            parts = [d.metrics().get('fanwatch_detector_assigned_partitions') for d in dets]
            return (producer.metrics_url() and all(x and x > 0 for x in parts)
                    and sum(parts) == args.partitions)
        wait_for(assigned, 90, 'every detector to own partitions (and the producer /metrics)')
        log('producer and %d detectors up; partitions %s' % (
            len(dets), [int(d.metrics()['fanwatch_detector_assigned_partitions']) for d in dets]))

        # ---- the stream ----
        t0_ms = (int(time.time()) + int(args.lead) + 2) * 1000
        wl = Workload(args, t0_ms)
        log('stream: %d sessions at %d/s over %ds from @timestamp %d; %d sweeps, %d port scans;'
            ' cap %d MiB per detector' % (wl.total, args.rate, wl.seconds, t0_ms,
                                          sum(1 for s in wl.scans if s[0] == 'sweep'),
                                          sum(1 for s in wl.scans if s[0] == 'portscan'),
                                          args.max_memory_mb))
        feeder = Feeder(args, wl, url)
        feeder.start()

        checker = Consumer({'bootstrap.servers': boot, 'group.id': group,
                            'enable.auto.commit': False})
        tps = [TopicPartition(topic, p) for p in range(args.partitions)]

        def offsets():
            try:
                ends = sum(checker.get_watermark_offsets(tp, timeout=5)[1] for tp in tps)
                com = sum(max(0, tp.offset) for tp in checker.committed(tps, timeout=5))
                return ends, com
            except Exception:
                return None, None

        cap_bytes = args.max_memory_mb * 1024 * 1024
        state_max = [0.0] * len(dets)
        rows = []
        cols = ['t_s', 'phase', 'load1', 'fed_visible', 'viewer_served', 'topic_end',
                'group_committed', 'group_lag', 'producer_published', 'producer_pulled',
                'producer_cursor_lag_s', 'producer_rss_mb', 'producer_hwm_mb', 'producer_cpu']
        for d in dets:
            n = d.name
            cols += [n + '_rss_mb', n + '_hwm_mb', n + '_cpu', n + '_state_bytes',
                     n + '_tracked_keys', n + '_tracked_sources', n + '_sketch_keys',
                     n + '_sessions', n + '_evicted', n + '_lag', n + '_partitions',
                     n + '_alerts']
        cols += ['viewer_rss_mb', 'viewer_cpu', 'broker_rss_mb', 'broker_cpu']
        pids = {'producer': producer.pid, 'viewer': viewer.pid}
        for d in dets:
            pids[d.name] = d.pid
        if broker_pid:
            pids['broker'] = broker_pid
        cpu_prev = {}
        dead_seen = {}

        def cpu_share(name, now):
            c = proc_cpu_s(pids[name])
            prev = cpu_prev.get(name)
            cpu_prev[name] = (now, c)
            if c is None or prev is None or prev[1] is None or now <= prev[0]:
                return None
            return round((c - prev[1]) / (now - prev[0]), 3)

        def sample(phase):
            now = time.time()
            row = {'t_s': round(now - t0_ms / 1000.0, 1), 'phase': phase}
            with open('/proc/loadavg') as f:
                row['load1'] = float(f.read().split()[0])
            row['fed_visible'] = wl.visible(int(now * 1000))
            try:
                with urllib.request.urlopen(url + '/_standin/stats', timeout=10) as r:
                    row['viewer_served'] = json.loads(r.read())['sessions_served']
            except (OSError, ValueError, KeyError):
                row['viewer_served'] = None
            ends, com = offsets()
            row['topic_end'], row['group_committed'] = ends, com
            row['group_lag'] = ends - com if ends is not None else None
            pm = producer.metrics()
            row['producer_published'] = pm.get('fanwatch_producer_sessions_published_total')
            row['producer_pulled'] = pm.get('fanwatch_producer_sessions_pulled_total')
            row['producer_cursor_lag_s'] = pm.get('fanwatch_producer_cursor_lag_seconds')
            row['producer_rss_mb'], row['producer_hwm_mb'] = proc_mem(producer.pid)
            row['producer_cpu'] = cpu_share('producer', now)
            for i, d in enumerate(dets):
                n = d.name
                m = d.metrics()
                row[n + '_rss_mb'], row[n + '_hwm_mb'] = proc_mem(d.pid)
                row[n + '_cpu'] = cpu_share(n, now)
                sb = m.get('fanwatch_detector_state_bytes')
                if sb is not None:
                    state_max[i] = max(state_max[i], sb)
                row[n + '_state_bytes'] = sb
                row[n + '_tracked_keys'] = m.get('fanwatch_detector_tracked_keys')
                row[n + '_tracked_sources'] = m.get('fanwatch_detector_tracked_sources')
                row[n + '_sketch_keys'] = m.get('fanwatch_detector_sketch_keys')
                row[n + '_sessions'] = m.get('fanwatch_detector_sessions_total')
                row[n + '_evicted'] = m.get('fanwatch_detector_evicted_sources_total')
                row[n + '_lag'] = m.get('fanwatch_detector_lag_messages')
                row[n + '_partitions'] = m.get('fanwatch_detector_assigned_partitions')
                row[n + '_alerts'] = sum(v for k, v in m.items()
                                         if k.startswith('fanwatch_detector_alerts_total{'))
            row['viewer_rss_mb'] = proc_mem(viewer.pid)[0]
            row['viewer_cpu'] = cpu_share('viewer', now)
            if broker_pid:
                row['broker_rss_mb'] = proc_mem(broker_pid)[0]
                row['broker_cpu'] = cpu_share('broker', now)
            for k, v in row.items():
                if isinstance(v, float) and k not in ('t_s', 'load1') and not k.endswith('_cpu'):
                    row[k] = round(v, 1) if k.endswith('_mb') or k.endswith('_s') else int(v)
            rows.append(row)
            for p in procs:
                if not p.alive() and p.name not in dead_seen:
                    dead_seen[p.name] = (row['t_s'], p.proc.returncode)
            return row

        def watch_state():
            for i, d in enumerate(dets):
                sb = d.metrics().get('fanwatch_detector_state_bytes')
                if sb is not None:
                    state_max[i] = max(state_max[i], sb)

        def progress(row):
            log('t=%6.1fs %-4s fed %8d published %8s lag %6s | %s | load %.2f' % (
                row['t_s'], row['phase'], row['fed_visible'], row['producer_published'],
                row['group_lag'],
                ' '.join('%s rss %.1f state %.1fM evicted %s' % (
                    d.name[-1], row[d.name + '_rss_mb'] or -1,
                    (row[d.name + '_state_bytes'] or 0) / 1048576.0, row[d.name + '_evicted'])
                    for d in dets), row['load1']))

        # ---- sampling while the stream runs, then the tail ----
        stream_end = t0_ms / 1000.0 + wl.seconds
        next_sample = time.time()
        phase = 'feed'
        tail_deadline = None
        drained = False
        while True:
            now = time.time()
            if time.monotonic() > hard_deadline:
                failed.append('hard time limit reached')
                break
            if feeder.error:
                failed.append('feeder: ' + feeder.error)
                break
            if now >= next_sample:
                row = sample(phase)
                progress(row)
                next_sample += args.sample_s
                if dead_seen:
                    failed.append('process died: %s' % dead_seen)
                    break
                if phase == 'tail':
                    pos = producer.metrics().get('fanwatch_producer_cursor_position_seconds')
                    if (row['topic_end'] is not None and row['topic_end'] >= wl.total
                            and pos is not None and pos * 1000 > wl.ts(wl.total - 1)
                            and row['group_lag'] == 0
                            and all(row[d.name + '_lag'] == 0 for d in dets)):
                        drained = True
                        break
                    if time.time() > tail_deadline:
                        break
            else:
                watch_state()
            if phase == 'feed' and now >= stream_end:
                phase = 'tail'
                tail_deadline = now + args.tail_timeout
                next_sample = now  # a sample at the end of the stream
                continue
            if phase == 'tail':
                # sample faster once the stream is over, to notice the drained point
                next_sample = min(next_sample, time.time() + 2.0)
            time.sleep(max(0.0, min(1.0, next_sample - time.time())))
        feeder.stop.set()
        feeder.join(timeout=30)
        checker.close()

        # ---- stop the daemons with SIGTERM, all at once ----
        rcs = {}
        for p in [producer] + dets:
            if p.alive():
                p.proc.send_signal(signal.SIGTERM)
        for p in [producer] + dets:
            rcs[p.name] = p.stop(timeout=60)
        log('exit statuses after SIGTERM: %s' % rcs)

        # ---- every session by id, every alert ----
        seen = bytearray(wl.total)
        counts = {'dup': 0, 'foreign': 0, 'undecodable': 0}

        def on_session(m):
            try:
                sid = msgpack.unpackb(m.value(), raw=False)['id']
            except Exception:
                counts['undecodable'] += 1
                return
            if not sid.startswith('3@soak-'):
                counts['foreign'] += 1
                return
            i = int(sid[7:])
            if i >= wl.total:
                counts['foreign'] += 1
            elif seen[i]:
                counts['dup'] += 1
            else:
                seen[i] = 1
        t_read = time.monotonic()
        records = read_topic(boot, topic, args.partitions, on_session, 300)
        distinct = sum(seen)
        lost = wl.total - distinct
        first_lost = next((i for i in range(wl.total) if not seen[i]), None) if lost else None
        log('read %d records of the sessions topic in %.1fs' % (records,
                                                                time.monotonic() - t_read))

        alert_ids, alert_msgs, by_rule, hit = set(), 0, {}, set()
        fp_alerts = 0
        ended_msgs = 0
        injected = {}
        for kind, _k, _s, src, targets in wl.scans:
            injected[src] = (kind, targets[0])
        ids_of = {}       # injected (source, rule) -> the event.ids raised for it
        unfolded = set()  # injected sweeps with an address_sweep_port alert of their own
        no_port = set()   # injected sweeps whose address_sweep does not name 445 in by_port

        def on_alert(m):
            nonlocal alert_msgs, fp_alerts, ended_msgs
            doc = json.loads(m.value())
            alert_msgs += 1
            rule = doc['rule']['id']
            if doc.get('fanwatch', {}).get('state') == 'ended':
                ended_msgs += 1  # a final update: the source went quiet (long runs only)
            src = doc.get('source', {}).get('ip')
            inj = injected.get(src)
            matched = False  # the alert of an injected attack
            if inj and inj[0] == 'sweep' and rule == 'address_sweep':
                matched = True
                if SWEEP_PORT not in [p.get('port') for p in
                                      doc.get('fanwatch', {}).get('by_port', [])]:
                    no_port.add(src)
            elif inj and inj[0] == 'sweep' and rule == 'address_sweep_port':
                unfolded.add(src)
            elif inj and inj[0] == 'portscan' and rule == 'port_scan' and \
                    doc.get('destination', {}).get('ip') == inj[1]:
                matched = True
            if matched:
                ids_of.setdefault((src, rule), set()).add(doc['event']['id'])
            if doc['event']['id'] in alert_ids:
                return
            alert_ids.add(doc['event']['id'])
            by_rule[rule] = by_rule.get(rule, 0) + 1
            if matched:
                hit.add((src, rule))
            elif rule in ('address_sweep', 'address_sweep_port', 'port_scan'):
                fp_alerts += 1
        read_topic(boot, alerts_topic, ALERT_PARTITIONS, on_alert, 120)
        expected = set()
        for src, (kind, _t) in injected.items():
            expected.add((src, 'address_sweep' if kind == 'sweep' else 'port_scan'))
        missed = sorted(expected - hit)
        several = sorted(k for k, ids in ids_of.items() if len(ids) > 1)

        # ---- the verdict ----
        with open(args.out, 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=cols, extrasaction='ignore')
            w.writeheader()
            for r in rows:
                w.writerow(r)

        feed_rows = [r for r in rows if r['phase'] == 'feed']
        warm_s = min(args.warmup_min * 60, 0.3 * wl.seconds)  # short runs: the last 70%
        post = [r for r in feed_rows if r['t_s'] >= warm_s]
        checks = []
        short_ok = args.minutes >= 3  # shorter runs end before the state fills: report only

        def check(name, ok, detail, required=True):
            checks.append((name, ok if required else None, detail))

        parts_max = [max((r[d.name + '_partitions'] or 0) for r in rows) if rows else 0
                     for d in dets]
        check('lost', lost == 0 and counts['foreign'] == 0 and counts['undecodable'] == 0,
              'fed %d, on topic %d distinct (%d records, %d duplicates), lost %d%s, foreign %d,'
              ' undecodable %d' % (wl.total, distinct, records, counts['dup'], lost,
                                   ' (first #%d)' % first_lost if lost else '',
                                   counts['foreign'], counts['undecodable']))
        for i, d in enumerate(dets):
            # fw_engine_stats() reports e->bytes + sizeof(fw_engine_t) while the cap is enforced
            # on e->bytes alone: the gauge may exceed the cap by that struct per partition.
            slack = args.engine_struct_bytes * parts_max[i]
            check('state_cap_' + d.name, state_max[i] <= cap_bytes + slack,
                  'max state bytes %d vs cap %d (%.4f%%, %+d B; allowed + %d B = %d partitions x'
                  ' %d B engine struct, in the gauge, not under the cap)'
                  % (state_max[i], cap_bytes, 100.0 * state_max[i] / cap_bytes,
                     state_max[i] - cap_bytes, slack, parts_max[i], args.engine_struct_bytes))
            check('cap_reached_' + d.name, state_max[i] >= 0.9 * cap_bytes,
                  'state reached %.1f%% of the cap' % (100.0 * state_max[i] / cap_bytes),
                  required=short_ok)
        rss, cpu_mean = {}, {}
        for name in ['producer'] + [d.name for d in dets]:
            pts = [(r['t_s'], r[name + '_rss_mb']) for r in post]
            sl = slope_per_min(pts)
            allr = [r[name + '_rss_mb'] for r in rows if r[name + '_rss_mb'] is not None]
            start = next((r[name + '_rss_mb'] for r in feed_rows), None)
            at_warm = post[0][name + '_rss_mb'] if post else None
            end = feed_rows[-1][name + '_rss_mb'] if feed_rows else None
            hwm = max((r[name + '_hwm_mb'] or 0) for r in rows) if rows else None
            post_max = max((p[1] for p in pts if p[1] is not None), default=None)
            rss[name] = (start, at_warm, end, max(allr) if allr else None, post_max, hwm, sl)
            cpus = [r[name + '_cpu'] for r in feed_rows if r[name + '_cpu'] is not None]
            cpu_mean[name] = sum(cpus) / len(cpus) if cpus else None
            check('rss_' + name, sl is not None and sl <= args.rss_slope_max,
                  'RSS start %s, at %.1f min %s, end of stream %s, max %s (after warm-up %s),'
                  ' VmHWM %s MB; slope after warm-up %s MB/min (limit %.2f)'
                  % (start, warm_s / 60.0, at_warm, end, rss[name][3], post_max, hwm,
                     '%.3f' % sl if sl is not None else 'n/a', args.rss_slope_max),
                  required=short_ok)
        check('alive', not dead_seen, 'died: %s' % dead_seen if dead_seen else
              'all %d processes alive at all %d samples' % (len(procs), len(rows)))
        check('sigterm', all(rc == 0 for rc in rcs.values()), 'exit statuses %s' % rcs)
        check('scans', not missed and len(hit) > 0 and not several and not unfolded and
              not no_port,
              '%d/%d injected attacks raised their alert%s%s%s%s; %d other fan-out alerts; '
              '%d final updates' % (
                  len(hit & expected), len(expected),
                  ' (missed %s)' % missed[:6] if missed else '',
                  '; several ids for %s' % several[:6] if several else '',
                  '; address_sweep_port alerts for %s' % sorted(unfolded)[:6] if unfolded else '',
                  '; no %d in by_port for %s' % (SWEEP_PORT, sorted(no_port)[:6])
                  if no_port else '', fp_alerts, ended_msgs))
        check('feeder', feeder.done and feeder.min_margin_s is not None and
              feeder.min_margin_s > 0,
              'posted %d; least margin before visibility %.1fs; worst start delay %.2fs'
              % (feeder.posted, feeder.min_margin_s or -1, feeder.max_late_s or -1))
        check('drained', drained, 'topic and group caught up after the stream' if drained
              else 'not caught up within %ds' % args.tail_timeout)

        # ---- summary ----
        first_pub = next((r for r in feed_rows if (r['producer_published'] or 0) > 0), None)
        last = rows[-1] if rows else {}
        deltas = []
        for a, b in zip(post, post[1:]):
            if a['producer_published'] is not None and b['producer_published'] is not None:
                deltas.append((b['producer_published'] - a['producer_published'])
                              / (b['t_s'] - a['t_s']))
        print()
        print('SOAK minutes=%g rate=%d sessions=%d detectors=%d threads=%d cap_mb=%d csv=%s'
              % (args.minutes, args.rate, wl.total, len(dets), args.threads,
                 args.max_memory_mb, args.out))
        print('stream: fed %d over %d s (%.0f/s); published %s, on topic %d distinct, lost %d,'
              ' duplicates %d; viewer served %s (incl. overlap re-reads)'
              % (wl.total, wl.seconds, wl.total / wl.seconds, last.get('producer_published'),
                 distinct, lost, counts['dup'], last.get('viewer_served')))
        if deltas:
            print('published rate after warm-up, per %gs sample: min %.0f/s, mean %.0f/s,'
                  ' max %.0f/s' % (args.sample_s, min(deltas), sum(deltas) / len(deltas),
                                   max(deltas)))
        print('alerts: %d distinct ids (%d messages) by rule %s' % (
            len(alert_ids), alert_msgs, json.dumps(by_rule, sort_keys=True)))
        print()
        print('| process (MB) | RSS start | RSS at %.1f min | RSS end of stream | RSS max |'
              ' max - at warm-up | VmHWM | slope after warm-up (MB/min) | CPU (cores, mean) |'
              % (warm_s / 60.0))
        print('|---|---|---|---|---|---|---|---|---|')
        for name, (start, at_warm, end, mx, pm, hwm, sl) in rss.items():
            print('| %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
                name, start, at_warm, end, mx,
                '%+.1f' % (pm - at_warm) if pm is not None and at_warm is not None else 'n/a',
                hwm, '%+.3f' % sl if sl is not None else 'n/a',
                '%.3f' % cpu_mean[name] if cpu_mean.get(name) is not None else 'n/a'))
        for name in ('viewer', 'broker'):
            vals = [r.get(name + '_rss_mb') for r in feed_rows if r.get(name + '_rss_mb')]
            cpus = [r.get(name + '_cpu') for r in feed_rows if r.get(name + '_cpu') is not None]
            if vals:
                print('| (%s) | %s | | %s | %s | | | | %s |' % (
                    name, vals[0], vals[-1], max(vals),
                    '%.3f' % (sum(cpus) / len(cpus)) if cpus else 'n/a'))
        print()
        print('| detector | state max (bytes) | cap | cap reached at | tracked sources (end) |'
              ' keys (end) | evicted (end) | sessions (end) | partitions |')
        print('|---|---|---|---|---|---|---|---|---|')
        end_feed = feed_rows[-1] if feed_rows else {}
        for i, d in enumerate(dets):
            n = d.name
            at = next((r['t_s'] for r in rows
                       if (r[n + '_state_bytes'] or 0) >= 0.99 * cap_bytes), None)
            print('| %s | %d | %d | %s | %s | %s | %s | %s | %s |' % (
                n, state_max[i], cap_bytes, '%.0f s' % at if at is not None else 'never',
                end_feed.get(n + '_tracked_sources'),
                end_feed.get(n + '_tracked_keys'), last.get(n + '_evicted'),
                last.get(n + '_sessions'), last.get(n + '_partitions')))
        print()
        print('| check | result | detail |')
        print('|---|---|---|')
        for name, ok, detail in checks:
            print('| %s | %s | %s |' % (name, 'info' if ok is None else ('ok' if ok else 'FAIL'),
                                        detail))
        print(flush=True)
        for name, ok, _ in checks:
            if ok is False:
                failed.append(name)
        if first_pub is None:
            failed.append('nothing published')
    except Stop as err:
        failed.append('stopped by %s' % err)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if feeder:
            feeder.stop.set()
        for p in procs:
            if p.alive():
                p.stop(timeout=30)
            elif not p.log.closed:
                p.log.close()
        if kenv is not None:
            kafka_stop(kenv)
        if args.keep_tmp or failed:
            log('logs kept in %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        log('FAILED: %s' % ', '.join(failed))
        return 1
    log('all checks held')
    return 0


if __name__ == '__main__':
    sys.exit(main())
