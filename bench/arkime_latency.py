#!/usr/bin/env python3
"""Benchmark: live-mode latency against a REAL Arkime: capture writes a session (@timestamp) ->
the session is on the sessions topic.

    bench/arkime_latency.py --producer build/producer/fanwatch-producer \
        [--rounds 20] [--safety-lag 6] [--poll 1]

Starts a real Arkime (scripts/arkime-local, index refresh 1 s) and a broker, runs the producer
live, and ingests a small scenario pcap with the real capture `--rounds` times at random
intervals of 1-5 s (bounded: rounds x ~290 sessions). A consumer notes when each session
arrives; latency = arrival - its @timestamp (the msgpack `ts`, capture's clock = this machine's).
The design bound is safety_lag + 1 s (whole seconds) + one poll interval + one request. Prints one
JSON line with p50/p99/max and that bound; exit 1 if a session capture wrote never arrived.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ARKIME_LOCAL, ROOT, arkime_start, kafka_start, kafka_stop  # noqa: E402

GEN = os.path.join(ROOT, 'tests', 'arkime', 'gen_pcaps.py')


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--producer', required=True)
    ap.add_argument('--rounds', type=int, default=20)
    ap.add_argument('--safety-lag', type=float, default=6.0)
    ap.add_argument('--poll', type=float, default=1.0)
    args = ap.parse_args()

    import msgpack
    from confluent_kafka import Consumer

    tmp = tempfile.mkdtemp(prefix='fw-bench-arklat-')
    os.chmod(tmp, 0o711)  # OpenSearch runs as nobody when we are root: it must enter tmp
    aenv = dict(os.environ, FW_ARKIME_DIR=os.path.join(tmp, 'arkime'))
    kenv = producer = None
    try:
        info = arkime_start(aenv, 'arkime_latency')
        if info is None:
            return
        boot, kenv = kafka_start(os.path.join(tmp, 'kafka'))
        pdir = os.path.join(tmp, 'pcap')
        subprocess.run(['/usr/bin/python3', GEN, '--only', 'benign', '--out', pdir], check=True,
                       stdout=subprocess.DEVNULL)
        pcap = [os.path.join(pdir, f) for f in os.listdir(pdir) if f.endswith('.pcap')][0]

        arrivals = {}  # id -> (arrival s, @timestamp s)
        done = threading.Event()

        def consume():
            c = Consumer({'bootstrap.servers': boot, 'group.id': 'lat-%d' % os.getpid(),
                          'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
            c.subscribe(['lat-sessions'])
            while not done.is_set():
                for m in c.consume(1000, 0.2):
                    if m.error():
                        continue
                    now = time.time()
                    rec = msgpack.unpackb(m.value(), raw=False)
                    arrivals.setdefault(rec['id'], (now, rec.get('ts', 0) / 1000.0))
            c.close()

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        penv = {'PATH': os.environ['PATH'], 'FANWATCH_ARKIME_URL': info['viewer'],
                'FANWATCH_ARKIME_USER': 'admin',
                'FANWATCH_ARKIME_PASSWORD__FILE': info['password_file'],
                'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': boot, 'FANWATCH_TOPICS_SESSIONS': 'lat-sessions',
                'FANWATCH_PRODUCER_CREATE__TOPIC__PARTITIONS': '6',
                'FANWATCH_PRODUCER_SAFETY__LAG': '%gs' % args.safety_lag,
                'FANWATCH_PRODUCER_POLL__INTERVAL': '%gs' % args.poll,
                'FANWATCH_PRODUCER_OVERLAP': '10s',
                'FANWATCH_PRODUCER_CURSOR__FILE': os.path.join(tmp, 'cursor'),
                'FANWATCH_PRODUCER_START__LOOKBACK': '0s'}
        producer = subprocess.Popen([args.producer], env=penv, stdout=subprocess.DEVNULL,
                                    stderr=open(os.path.join(tmp, 'producer.log'), 'w'))
        rnd = random.Random(1)
        written = 0
        for _ in range(args.rounds):
            out = subprocess.run([ARKIME_LOCAL, 'ingest', pcap], env=aenv, check=True,
                                 capture_output=True, text=True).stdout
            written += int(out.strip().split('=')[1])
            time.sleep(rnd.uniform(1, 5))  # the traffic's own pacing, not synchronisation
        bound = args.safety_lag + 1 + args.poll + 2
        deadline = time.monotonic() + bound + 30
        while time.monotonic() < deadline and len(arrivals) < written:
            time.sleep(0.2)
        done.set()
        t.join(5)
        lat = [a - ts for a, ts in arrivals.values() if ts]
        res = {'bench': 'arkime_latency', 'rounds': args.rounds, 'written': written,
               'arrived': len(arrivals), 'safety_lag_s': args.safety_lag, 'poll_s': args.poll,
               'p50_s': round(pct(lat, 50), 2), 'p99_s': round(pct(lat, 99), 2),
               'max_s': round(max(lat), 2), 'bound_s': round(bound - 2, 1)}
        print(json.dumps(res))
        if len(arrivals) < written:
            raise SystemExit('%d of %d sessions never arrived' % (written - len(arrivals), written))
    finally:
        if producer:
            producer.terminate()
            producer.wait(30)
        if kenv:
            kafka_stop(kenv)
        subprocess.run([ARKIME_LOCAL, 'stop'], env=aenv, capture_output=True)
        subprocess.run(['rm', '-rf', tmp])


if __name__ == '__main__':
    main()
