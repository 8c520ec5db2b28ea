#!/usr/bin/env python3
"""Benchmark: how long after Arkime writes a session (@timestamp) it is on the sessions topic.

    bench/producer_latency.py --producer build/producer/fanwatch-producer \
        [--seconds 60] [--rate 500] [--safety-lag 5] [--poll 1]

A feeder adds sessions with @timestamp = now to the stand-in viewer at a steady rate for the
given time (bounded: rate x seconds sessions); the producer runs live; a consumer notes when
each session arrives. The design bound is safety_lag + 1 s (the API's whole seconds) + one poll
interval + one request time. Prints one JSON line with p50/p99/max latency and that bound.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import PASSWORD, STANDIN, kafka_start, kafka_stop, wait_file  # noqa: E402

import msgpack
from confluent_kafka import Consumer




def session(ts_ms, n):
    return {'id': '3@bench-%s-%d' % (uuid.uuid4().hex[:8], n), 'node': 'bench',
            'firstPacket': ts_ms - 1000, 'lastPacket': ts_ms - 10, '@timestamp': ts_ms,
            'ipProtocol': 6, 'source': {'ip': '10.1.%d.%d' % (n // 250 % 250, n % 250 + 1),
                                        'port': 40000 + n % 20000, 'packets': 1, 'bytes': 60},
            'destination': {'ip': '10.2.0.1', 'port': 445, 'packets': 0, 'bytes': 0},
            'tcpflags': {'syn': 1, 'syn-ack': 0, 'ack': 0, 'psh': 0, 'fin': 0, 'rst': 0,
                         'urg': 0}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--producer', required=True)
    ap.add_argument('--seconds', type=int, default=60)
    ap.add_argument('--rate', type=int, default=500, help='sessions per second')
    ap.add_argument('--safety-lag', type=float, default=5.0)
    ap.add_argument('--poll', type=float, default=1.0)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix='fw-bench-latency-')
    boot, env = kafka_start(os.path.join(tmp, 'kafka'))
    viewer = producer = None
    try:
        port_file = os.path.join(tmp, 'port')
        viewer = subprocess.Popen(
            [sys.executable, os.path.join(STANDIN, 'viewer.py'), '--auth', 'digest',
             '--user', 'bench', '--password', PASSWORD, '--port-file', port_file],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = 'http://127.0.0.1:%s' % wait_file(port_file, 60)
        topic = 'bench-latency-' + uuid.uuid4().hex[:8]
        penv = {'PATH': os.environ['PATH'], 'FANWATCH_ARKIME_URL': url,
                'FANWATCH_ARKIME_USER': 'bench', 'FANWATCH_ARKIME_PASSWORD': PASSWORD,
                'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': boot, 'FANWATCH_TOPICS_SESSIONS': topic,
                'FANWATCH_PRODUCER_CREATE__TOPIC__PARTITIONS': '6',
                'FANWATCH_PRODUCER_CURSOR__FILE': os.path.join(tmp, 'cursor'),
                'FANWATCH_PRODUCER_START__LOOKBACK': '1m',
                'FANWATCH_PRODUCER_SAFETY__LAG': '%dms' % (args.safety_lag * 1000),
                'FANWATCH_PRODUCER_POLL__INTERVAL': '%dms' % (args.poll * 1000)}
        producer = subprocess.Popen([args.producer], env=penv, stdout=subprocess.DEVNULL,
                                    stderr=open(os.path.join(tmp, 'producer.log'), 'w'))

        consumer = Consumer({'bootstrap.servers': boot, 'group.id': 'lat-' + topic,
                             'auto.offset.reset': 'earliest', 'enable.auto.commit': False,
                             'fetch.wait.max.ms': 10})
        consumer.subscribe([topic])
        written = {}
        arrived = {}
        stop = threading.Event()

        def feed():
            n = 0
            t_end = time.time() + args.seconds
            while time.time() < t_end and not stop.is_set():
                batch = []
                now_ms = int(time.time() * 1000)
                for _ in range(max(1, args.rate // 10)):
                    s = session(now_ms, n)
                    n += 1
                    written[s['id']] = now_ms
                    batch.append(s)
                req = urllib.request.Request(url + '/_standin/sessions',
                                             data=json.dumps(batch).encode(), method='POST',
                                             headers={'Content-Type': 'application/json'})
                urllib.request.urlopen(req, timeout=10).read()
                time.sleep(0.1)

        feeder = threading.Thread(target=feed)
        feeder.start()
        deadline = time.time() + args.seconds + args.safety_lag + args.poll + 60
        while time.time() < deadline:
            for m in consumer.consume(num_messages=5000, timeout=0.05):
                if m.error():
                    continue
                t = time.time() * 1000
                r = msgpack.unpackb(m.value(), raw=False)
                arrived.setdefault(r['id'], t)
            if not feeder.is_alive() and len(arrived) >= len(written):
                break
        stop.set()
        feeder.join()
        consumer.close()
        lat = sorted((arrived[i] - w) / 1000.0 for i, w in written.items() if i in arrived)
        missing = len(written) - len(lat)
        pct = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 3) if lat else None
        bound = args.safety_lag + 1 + args.poll
        print(json.dumps({'bench': 'producer_latency', 'sessions': len(written),
                          'missing': missing, 'safety_lag_s': args.safety_lag,
                          'poll_interval_s': args.poll, 'p50_s': pct(0.5), 'p99_s': pct(0.99),
                          'max_s': round(lat[-1], 3) if lat else None,
                          'bound_without_request_s': bound}))
        if missing:
            raise SystemExit('%d sessions never arrived' % missing)
    finally:
        if producer:
            producer.terminate()
            producer.wait(timeout=60)
        if viewer:
            viewer.terminate()
            viewer.wait(timeout=60)
        kafka_stop(env)
        subprocess.run(['rm', '-rf', tmp])


if __name__ == '__main__':
    main()
