#!/usr/bin/env python3
"""Benchmark: fanwatch-producer pulling a backlog of N sessions from the stand-in viewer into a
real Kafka broker, against curl alone downloading the same pages, in one run.

    bench/producer_backlog.py --producer build/producer/fanwatch-producer [--sessions 1000000]

1. starts a broker with scripts/kafka-local (own state dir) and the stand-in viewer with N
   generated sessions over one hour of @timestamp, digest auth, its JSON cache warmed;
2. runs the producer in backfill mode over that hour (log level debug: every page it kept is
   logged with its startTime, stopTime, start and length) and times it until it exits, all
   sessions confirmed by Kafka;
3. replays exactly the requests of the kept pages with ONE curl process (--next between
   requests, so curl keeps the connection alive and re-uses the digest nonce), body to /dev/null;
4. prints one JSON line: sessions, requests, producer_seconds, curl_seconds, ratio.
The acceptance bound of issue #3 is ratio <= 1.5. Counts are bounded: N sessions, one pass each.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import PASSWORD, STANDIN, kafka_start, kafka_stop, run_backfill, wait_file  # noqa: E402
import fwtest  # noqa: E402  (benchlib put tests/support on the path)

FIELDS = fwtest.producer_fields()  # FW_ARKIME_FIELDS, what the producer asks for




def iso_seconds(text):
    """Epoch seconds of the producer's log times, "2024-05-18T10:00:00Z" (or a bare number)."""
    if text.isdigit():
        return int(text)
    return int(datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ')
               .replace(tzinfo=datetime.timezone.utc).timestamp())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--producer', required=True)
    ap.add_argument('--sessions', type=int, default=1000000)
    ap.add_argument('--page-size', type=int, default=5000)
    ap.add_argument('--keep', action='store_true', help='keep the temporary directory')
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix='fw-bench-backlog-')
    boot, env = kafka_start(os.path.join(tmp, 'kafka'))
    viewer = None
    try:
        start_ms = (int(time.time()) - 3 * 3600) * 1000
        port_file = os.path.join(tmp, 'port')
        t0 = time.monotonic()
        viewer = subprocess.Popen(
            [sys.executable, os.path.join(STANDIN, 'viewer.py'), '--generate',
             str(args.sessions), '--seed', '1', '--start-ms', str(start_ms), '--span-s', '3600',
             '--auth', 'digest', '--user', 'bench', '--password', PASSWORD,
             '--warm-fields', FIELDS, '--warm-flatten', '--gzip-level', '0',
             '--port-file', port_file],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = 'http://127.0.0.1:%s' % wait_file(port_file, 900)
        print('viewer ready with %d sessions in %.1fs' % (args.sessions, time.monotonic() - t0),
              file=sys.stderr)

        # --- the producer, backfilling the hour ---
        log_path = os.path.join(tmp, 'producer.log')
        penv = {'PATH': os.environ['PATH'], 'FANWATCH_ARKIME_URL': url,
                'FANWATCH_ARKIME_USER': 'bench', 'FANWATCH_ARKIME_PASSWORD': PASSWORD,
                'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': boot,
                'FANWATCH_TOPICS_SESSIONS': 'bench-sessions',
                'FANWATCH_PRODUCER_CREATE__TOPIC__PARTITIONS': '6',
                'FANWATCH_ARKIME_PAGE__SIZE': str(args.page_size),
                'FANWATCH_LOG_LEVEL': 'debug'}
        frm, to = start_ms // 1000 - 60, start_ms // 1000 + 3600 + 60
        producer_s = run_backfill(args.producer, frm, to, penv, log_path)
        # every page the producer kept, from its debug lines: "slice [<ISO>, <ISO>] start S
        # length L: N sessions, K sent, D re-read; more" (a page of a slice with more to come)
        # or "..., K published, ...; complete" (its last page)
        slices, published = [], 0
        with open(log_path) as f:
            for line in f:
                m = re.search(r'slice \[([^,\]]+), ([^\]]+)\] start (\d+) length (\d+): '
                              r'(\d+) sessions, (\d+) (?:sent|published)', line)
                if m:
                    a, b = (iso_seconds(x) for x in m.groups()[:2])
                    slices.append((a, b, int(m.group(3)), int(m.group(4))))
                    published += int(m.group(6))
        with urllib.request.urlopen(url + '/_standin/stats') as r:
            stats = json.load(r)
        requests = stats.get('pages_served')

        # --- curl alone, the same completed pages, one process, keep-alive ---
        cmd = ['curl', '-s', '--fail']
        for i, (a, b, start, length) in enumerate(slices):
            body = urllib.parse.urlencode({
                'bounding': 'database', 'startTime': a, 'stopTime': b, 'start': start,
                'length': length, 'fields': FIELDS, 'facets': 0, 'flatten': 1})
            if i:
                cmd.append('--next')
            cmd += ['--digest', '-u', 'bench:' + PASSWORD, '-o', '/dev/null', '--data', body,
                    url + '/api/sessions']
        t0 = time.monotonic()
        subprocess.run(cmd, check=True)
        curl_s = time.monotonic() - t0

        result = {'bench': 'producer_backlog', 'sessions': args.sessions,
                  'published': published, 'page_size': args.page_size,
                  'slices': len(slices), 'viewer_requests': requests,
                  'producer_seconds': round(producer_s, 2), 'curl_seconds': round(curl_s, 2),
                  'ratio': round(producer_s / curl_s, 3),
                  'producer_sessions_per_s': round(args.sessions / producer_s)}
        print(json.dumps(result))
        if published != args.sessions:
            raise SystemExit('published %d of %d sessions' % (published, args.sessions))
    finally:
        if viewer:
            viewer.terminate()
            viewer.wait(timeout=60)
        kafka_stop(env)
        if not args.keep:
            subprocess.run(['rm', '-rf', tmp])


if __name__ == '__main__':
    main()
