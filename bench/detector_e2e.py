#!/usr/bin/env python3
"""Benchmark: fanwatch-detector end to end through a real Kafka broker, in one run.

    bench/detector_e2e.py --detector build/detector/fanwatch-detector \
        [--sessions 2000000] [--sweeps 250] [--bootstrap HOST:PORT]

(i) Throughput. Fills a 6-partition topic with N generated sessions (msgpack as
    docs/wire-format.md, key = source IP, timestamp = firstPacket, lz4 like fanwatch-producer;
    100,000 sources over one hour of event time, most talking to a few hosts, 0.1% sweeping),
    then, on the same topic in the same run:
      kcat alone:  kcat -C -b B -t T -o beginning -e -q -f '%s' > /dev/null   (timed to exit)
      detector:    one fanwatch-detector, fresh group, detector.start = earliest, timed from
                   its start until its committed offsets equal the end offsets of all 6
                   partitions (every session analysed, every alert acknowledged), progress read
                   from /metrics fanwatch_detector_sessions_total.
    The acceptance bound of issue #4 is detector rate >= 0.8 x kcat rate.
(ii) Latency. A fresh sessions topic and a live detector (all partitions assigned first). A
    background of --rate sessions/s (event time = now) runs while --sweeps sources each probe
    24 hosts on 445 and then a 25th (the threshold-crossing session, default threshold 25). The
    crossing session's produce() time and its delivery report time (the broker acknowledged the
    append) are noted; a consumer of the alerts topic notes when the address_sweep alert of that
    source arrives. Latency = alert arrival - crossing session acknowledged (and - produced).
    The acceptance bound is p99 <= 1 s.

Counts are bounded (N sessions; sweeps x 25 probes plus rate x duration background) and each
phase has a time limit. Prints `RESULT key=value ...` lines (and the same as one JSON line).
Without --bootstrap a broker is started with scripts/kafka-local in a temporary directory.
"""

import argparse
import datetime
import ipaddress
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (LoggedRuns, kafka_start, kafka_stop, metrics_base, proc_cpu_s,  # noqa: E402
                      wait_for)

import msgpack
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 6
BASE_MS = 1716000000000


def result(**kv):
    print('RESULT ' + ' '.join('%s=%s' % (k, v) for k, v in kv.items()), flush=True)
    print(json.dumps(kv), flush=True)


def create_topics(boot, specs):
    a = AdminClient({'bootstrap.servers': boot})
    for f in a.create_topics([NewTopic(n, p, 1) for n, p in specs],
                             operation_timeout=30).values():
        f.result(30)
    c = Consumer({'bootstrap.servers': boot, 'group.id': 'meta-' + uuid.uuid4().hex})
    try:
        wait_for(lambda: all(
            n in c.list_topics(timeout=10).topics and
            all(pm.leader >= 0 for pm in c.list_topics(timeout=10).topics[n].partitions.values())
            for n, _ in specs), 30, 'topic metadata')
    finally:
        c.close()


def fw_partition(key):
    return zlib.crc32(key) % PARTITIONS


class Detector(LoggedRuns):
    def __init__(self, binary, tmp, name, boot, sessions, alerts, group, start='earliest',
                 kafka=()):
        super().__init__(tmp, name)
        self.conf = os.path.join(tmp, name + '.ini')
        with open(self.conf, 'w') as f:
            f.write('[log]\nlevel = info\n[metrics]\nport = 0\n'
                    '[topics]\nsessions = %s\nalerts = %s\n'
                    '[kafka]\nbootstrap.servers = %s\ngroup.id = %s\n'
                    '%s[detector]\nstart = %s\ncommit_interval = 100ms\n'
                    % (sessions, alerts, boot, group,
                       ''.join('%s = %s\n' % tuple(kv.split('=', 1)) for kv in kafka), start))
        self.binary = binary
        self.base = None

    def start(self):
        self.popen([self.binary, '-c', self.conf])

    def url(self):
        if self.base is None:
            self.base = metrics_base(self.logs[-1])
        return self.base

    def metric(self, name):
        if not self.url():
            return None
        try:
            with urllib.request.urlopen(self.url() + '/metrics', timeout=5) as r:
                body = r.read().decode()
        except OSError:
            return None
        m = re.search(r'^%s (\S+)$' % re.escape(name), body, re.M)
        return float(m.group(1)) if m else None

    def alive(self):
        if self.proc.poll() is not None:
            raise SystemExit('detector exited with %s:\n%s' % (self.proc.returncode,
                                                              self.output()[-3000:]))
        return True

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
            self.log.close()
            return rc
        return self.proc.returncode if self.proc else None


# --------------------------------------------------------------------------------------------
# (i) throughput
# --------------------------------------------------------------------------------------------

def fill(boot, topic, n, seed):
    """Produce n sessions; returns (seconds, bytes)."""
    r = random.Random(seed)
    nsrc = 100000
    srcs = [bytes([10, 16 + (i >> 16), (i >> 8) & 255, i & 255]) for i in range(nsrc)]
    parts = [fw_partition(s) for s in srcs]
    dsts = [bytes([131, 206, (i >> 8) & 255, i & 255]) for i in range(5000)]
    sweepers = set(r.sample(range(nsrc), nsrc // 1000))
    ports = [443, 80, 53, 22, 445, 3389, 389, 88]
    pk = msgpack.Packer(use_bin_type=True)
    p = Producer({'bootstrap.servers': boot, 'enable.idempotence': True,
                  'compression.type': 'lz4', 'linger.ms': 50, 'batch.size': 1000000,
                  'queue.buffering.max.messages': 1000000,
                  'queue.buffering.max.kbytes': 1048576})
    span = 3600 * 1000
    nbytes = 0
    t0 = time.monotonic()
    rnd = r.random
    for i in range(n):
        si = int(rnd() * nsrc)
        s = srcs[si]
        if si in sweepers:
            d, port, spk, dpk = dsts[int(rnd() * 5000)], 445, 1, 0
        else:
            d = dsts[(si * 7 + int(rnd() * 4)) % 5000]
            port, spk, dpk = ports[(si + int(rnd() * 2)) % 8], 3 + (i & 15), 2 + (i & 7)
        fp = BASE_MS + i * span // n
        v = pk.pack({'v': 1, 'id': '3@240518-b%09d' % i, 'node': 'bench', 'fp': fp,
                     'lp': fp + 700, 'sip': s, 'dip': d, 'sp': 32768 + (i & 16383), 'dp': port,
                     'pr': 6, 'spk': spk, 'dpk': dpk, 'sby': 66 * spk + 200,
                     'dby': 66 * dpk + 900,
                     'tf': {'syn': 1, 'syn-ack': 1, 'ack': 2} if dpk else {'syn': 1}})
        nbytes += len(v)
        while True:
            try:
                p.produce(topic, v, s, partition=parts[si], timestamp=fp)
                break
            except BufferError:
                p.poll(0.05)
        if i & 8191 == 0:
            p.poll(0)
    left = p.flush(300)
    if left:
        raise SystemExit('%d sessions not delivered' % left)
    return time.monotonic() - t0, nbytes


def end_offsets(boot, topic):
    c = Consumer({'bootstrap.servers': boot, 'group.id': 'ends-' + uuid.uuid4().hex})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(PARTITIONS)]
    finally:
        c.close()


def throughput(args, boot, tmp):
    topic = 'bench-e2e-' + uuid.uuid4().hex[:8]
    alerts = topic + '-alerts'
    create_topics(boot, [(topic, PARTITIONS), (alerts, 3)])
    secs, nbytes = fill(boot, topic, args.sessions, 7)
    ends = end_offsets(boot, topic)
    assert sum(ends) == args.sessions, ends
    result(bench='detector_e2e', phase='fill', sessions=args.sessions,
           seconds=round(secs, 2), rate=int(args.sessions / secs), value_bytes=nbytes)

    # kcat alone, then the detector, on the same topic (the page cache is warm for both)
    cmd = ['kcat', '-C', '-b', boot, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s']
    runs, cpu, bcpu = [], [], []
    for _ in range(args.kcat_runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        b0 = broker_cpu(args)
        t0 = time.monotonic()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, timeout=600)
        runs.append(time.monotonic() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
        bcpu.append(broker_cpu(args) - b0 if b0 is not None else None)
    best = runs.index(min(runs))
    kcat_s = min(runs)
    kcat_rate = args.sessions / kcat_s
    result(bench='detector_e2e', phase='kcat', sessions=args.sessions,
           seconds=round(kcat_s, 2), rate=int(kcat_rate),
           runs='/'.join('%.2f' % x for x in runs),
           cpu_us_per_session=round(cpu[best] * 1e6 / args.sessions, 3),
           broker_cpu_us_per_session=(round(bcpu[best] * 1e6 / args.sessions, 3)
                                      if bcpu[best] is not None else None))

    group = 'bench-' + uuid.uuid4().hex[:8]
    d = Detector(args.detector, tmp, 'throughput', boot, topic, alerts, group,
                 kafka=args.detector_kafka)
    checker = Consumer({'bootstrap.servers': boot, 'group.id': group,
                        'enable.auto.commit': False})
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    samples = []
    try:
        b0 = broker_cpu(args)
        t0 = time.monotonic()
        d.start()
        first = None

        def done():
            d.alive()
            s = d.metric('fanwatch_detector_sessions_total')
            now = time.monotonic() - t0
            if s is not None:
                samples.append((now, s))
            nonlocal first
            if first is None and s:
                first = now
            com = [tp.offset for tp in checker.committed(tps, timeout=10)]
            return com == ends
        wait_for(done, args.timeout, 'the detector to commit the end of the topic', 0.05)
        det_s = time.monotonic() - t0
        sessions_metric = d.metric('fanwatch_detector_sessions_total')
        alerts_n = sum(checker.get_watermark_offsets(TopicPartition(alerts, p), timeout=10)[1]
                       for p in range(3))
        det_cpu = proc_cpu_s(d.proc.pid)
        det_bcpu = broker_cpu(args) - b0 if b0 is not None else None
        rc = d.stop()
    finally:
        checker.close()
        if d.proc and d.proc.poll() is None:
            d.stop()
    # steady rate: between 10% and 90% of the sessions by the /metrics samples
    steady = None
    lo = next((x for x in samples if x[1] >= 0.1 * args.sessions), None)
    hi = next((x for x in samples if x[1] >= 0.9 * args.sessions), None)
    if lo and hi and hi[0] > lo[0]:
        steady = int((hi[1] - lo[1]) / (hi[0] - lo[0]))
    det_rate = args.sessions / det_s
    # the same without the consumer-group join and rewind lookups (a fixed ~1 s that kcat's
    # simple consumer does not pay): from the first /metrics progress to the end
    first_s = next((x for x in samples if x[1] > 0), None)
    joined_rate = (int((args.sessions - first_s[1]) / (det_s - first_s[0]))
                   if first_s and det_s > first_s[0] else None)
    result(bench='detector_e2e', phase='detector', sessions=args.sessions,
           sessions_metric=int(sessions_metric or 0), seconds=round(det_s, 2),
           rate=int(det_rate), steady_rate_10_90=steady,
           first_progress_s=round(first, 2) if first else None, rate_after_join=joined_rate,
           alerts=alerts_n, exit=rc,
           cpu_s=round(det_cpu, 2), cpu_us_per_session=round(det_cpu * 1e6 / args.sessions, 3),
           broker_cpu_us_per_session=(round(det_bcpu * 1e6 / args.sessions, 3)
                                      if det_bcpu is not None else None),
           detector_kafka='"%s"' % ','.join(args.detector_kafka))
    result(bench='detector_e2e', phase='throughput_ratio', detector_rate=int(det_rate),
           kcat_rate=int(kcat_rate), ratio=round(det_rate / kcat_rate, 3),
           ratio_after_join=round(joined_rate / kcat_rate, 3) if joined_rate else None,
           target='>=0.8')


# --------------------------------------------------------------------------------------------
# (ii) latency
# --------------------------------------------------------------------------------------------

def broker_cpu(args):
    """The broker's CPU seconds so far, or None when its pid is unknown."""
    if not getattr(args, 'broker_pid_file', None):
        return None
    try:
        with open(args.broker_pid_file) as f:
            return proc_cpu_s(int(f.read()))
    except (OSError, ValueError):
        return None


def latency(args, boot, tmp):
    topic = 'bench-lat-' + uuid.uuid4().hex[:8]
    alerts = topic + '-alerts'
    create_topics(boot, [(topic, PARTITIONS), (alerts, 3)])
    d = Detector(args.detector, tmp, 'latency', boot, topic, alerts,
                 'bench-' + uuid.uuid4().hex[:8], kafka=args.detector_kafka)
    d.start()
    try:
        wait_for(lambda: d.alive() and
                 d.metric('fanwatch_detector_assigned_partitions') == PARTITIONS, 60,
                 'the detector to be assigned all partitions')
        ac = Consumer({'bootstrap.servers': boot, 'group.id': 'lat-' + alerts,
                       'enable.auto.commit': False, 'fetch.wait.max.ms': 5,
                       'fetch.error.backoff.ms': 5})
        ac.assign([TopicPartition(alerts, p, -2) for p in range(3)])
        p = Producer({'bootstrap.servers': boot, 'enable.idempotence': True,
                      'compression.type': 'lz4', 'linger.ms': 5})
        pk = msgpack.Packer(use_bin_type=True)
        produced, acked, arrived, created = {}, {}, {}, {}
        stop = threading.Event()
        r = random.Random(3)
        seq = [0]

        def send(src, dst, port, spk, dpk, cb=None):
            seq[0] += 1
            now = int(time.time() * 1000)
            v = pk.pack({'v': 1, 'id': '3@lat-%d' % seq[0], 'node': 'bench', 'fp': now,
                         'lp': now + 10, 'sip': src, 'dip': dst, 'sp': 40000 + seq[0] % 20000,
                         'dp': port, 'pr': 6, 'spk': spk, 'dpk': dpk, 'sby': 66 * spk,
                         'dby': 66 * dpk})
            p.produce(topic, v, src, partition=fw_partition(src), timestamp=now, on_delivery=cb)

        def feed():
            """Background at args.rate/s, a sweep started every 1/args.sweep_rate s."""
            t0 = time.monotonic()
            sent = 0
            k = 0
            nsweeps = args.warmup + args.sweeps
            while not stop.is_set():
                el = time.monotonic() - t0
                while sent < el * args.rate:
                    i = r.randrange(50000)
                    send(bytes([10, 32 + (i >> 16), (i >> 8) & 255, i & 255]),
                         bytes([131, 206, 0, 1 + i % 200]), 443, 8, 6)
                    sent += 1
                if k < nsweeps and el * args.sweep_rate >= k:
                    src = bytes([10, 99, k >> 8, k & 255])
                    for h in range(24):
                        send(src, bytes([131, 207, k & 255, h + 1]), 445, 1, 0)
                    key = src

                    def cb(err, msg, key=key):
                        if not err:
                            acked[key] = time.time()
                    produced[src] = time.time()
                    send(src, bytes([131, 207, k & 255, 25]), 445, 1, 0, cb)
                    k += 1
                p.poll(0)
                if k >= nsweeps and el > nsweeps / args.sweep_rate + 1:
                    break
                time.sleep(0.002)
            p.flush(30)

        th = threading.Thread(target=feed)
        th.start()
        deadline = time.monotonic() + (args.warmup + args.sweeps) / args.sweep_rate + 60
        while time.monotonic() < deadline:
            for m in ac.consume(num_messages=1000, timeout=0.02):
                if m.error():
                    continue
                t = time.time()
                doc = json.loads(m.value())
                if doc['rule']['id'] != 'address_sweep':
                    continue
                src = ipaddress.ip_address(doc['source']['ip']).packed
                arrived.setdefault(src, t)
                created.setdefault(src, datetime.datetime.fromisoformat(
                    doc['event']['created'].replace('Z', '+00:00')).timestamp())
            if not th.is_alive() and len(arrived) >= len(produced):
                break
            d.alive()
        stop.set()
        th.join()
        ac.close()
        warm = list(produced)[:args.warmup]  # the first sweeps after the start (reported apart)
        keys = [k for k in list(produced)[args.warmup:] if k in arrived and k in acked]
        lat_ack = sorted(arrived[k] - acked[k] for k in keys)
        lat_prod = sorted(arrived[k] - produced[k] for k in keys)
        lat_det = sorted(created[k] - acked[k] for k in keys)
        lat_pub = sorted(arrived[k] - created[k] for k in keys)
        warm_lat = [(arrived[k] - acked[k], created[k] - acked[k]) for k in warm
                    if k in arrived and k in acked]
        missing = len(produced) - len(arrived)

        def pct(xs, q):
            return round(xs[min(len(xs) - 1, int(q * len(xs)))], 4) if xs else None
        result(bench='detector_e2e', phase='latency', sweeps=len(keys), warmup=len(warm),
               alerts=len(arrived), missing=missing, background_rate=args.rate,
               sweep_rate=args.sweep_rate,
               p50_s=pct(lat_ack, 0.5), p99_s=pct(lat_ack, 0.99),
               max_s=round(lat_ack[-1], 4) if lat_ack else None,
               from_produce_p50_s=pct(lat_prod, 0.5), from_produce_p99_s=pct(lat_prod, 0.99),
               from_produce_max_s=round(lat_prod[-1], 4) if lat_prod else None,
               to_event_created_p99_s=pct(lat_det, 0.99),
               event_created_to_consumed_p99_s=pct(lat_pub, 0.99),
               warmup_s='"%s"' % ' '.join('%.3f(created+%.3f)' % x for x in warm_lat),
               target_p99='<=1s')
    finally:
        d.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--detector', required=True)
    ap.add_argument('--sessions', type=int, default=2000000)
    ap.add_argument('--kcat-runs', type=int, default=2)
    ap.add_argument('--sweeps', type=int, default=250)
    ap.add_argument('--warmup', type=int, default=10,
                    help='sweeps right after the start, reported apart (warmup_s)')
    ap.add_argument('--sweep-rate', type=float, default=10.0, help='sweeps started per second')
    ap.add_argument('--rate', type=int, default=2000, help='background sessions per second')
    ap.add_argument('--timeout', type=float, default=600)
    ap.add_argument('--bootstrap', help='use this broker instead of starting one')
    ap.add_argument('--broker-pid-file', help="with --bootstrap: the broker's pid file, to "
                    "report its CPU time per phase (kafka-local writes $FW_KAFKA_DIR/pid)")
    ap.add_argument('--only', choices=['throughput', 'latency'])
    ap.add_argument('--detector-kafka', action='append', default=[], metavar='PROP=VALUE',
                    help='extra kafka.<PROP> for the detector (repeatable), e.g. '
                         'queued.min.messages=1000000')
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix='fw-bench-detector-')
    env = None
    try:
        if args.bootstrap:
            boot = args.bootstrap
        else:
            boot, env = kafka_start(os.path.join(tmp, 'kafka'))
            args.broker_pid_file = os.path.join(tmp, 'kafka', 'pid')
        if args.only in (None, 'throughput'):
            throughput(args, boot, tmp)
        if args.only in (None, 'latency'):
            latency(args, boot, tmp)
    finally:
        if env:
            kafka_stop(env)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
