#!/usr/bin/env python3
"""Benchmark: fanwatch-producer's backfill against a REAL Arkime viewer, side by side with curl
fetching the same sessions and fields in the fewest requests, in one run.

    bench/arkime_backfill.py --producer build/producer/fanwatch-producer [--sessions 120000]

1. starts a real Arkime (scripts/arkime-local: OpenSearch, viewer, capture; own state dir) and a
   Kafka broker (scripts/kafka-local), writes a pcap of N sessions (tests/arkime/gen_pcaps.py
   --bulk) and runs the real capture over it: capture bulk-writes, so @timestamp is bursty
   (the densest second is reported);
2. curl: ONE request for every session of the ingest's @timestamp range with the producer's
   fields (bounding=database, flatten=1, length = all of them: the viewer scrolls internally),
   timed, body to a file, rows counted;
3. the producer backfills the same range into Kafka (digest auth), timed until it exits with
   every session confirmed by Kafka; its requests and thrown-away pages from its /metrics-style
   debug log;
4. checks every session id OpenSearch holds (asked directly) is on the topic, none missing;
5. prints one JSON line: sessions, densest_second, curl_seconds, producer_seconds, ratio,
   requests, probes, pages thrown away, missing. Issue #12's bound: ratio <= 1.5.
Exit status 1 when sessions are missing. Bounded: N sessions, one pass each.
"""

import argparse
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
from benchlib import (ARKIME_LOCAL, arkime_start, kafka_start, kafka_stop,  # noqa: E402
                      ingest_bulk, opensearch_ids, run_backfill, timestamp_range,
                      topic_ids)
from fwtest import producer_fields  # noqa: E402  (benchlib put tests/support on the path)





def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--producer', required=True)
    ap.add_argument('--sessions', type=int, default=120000)
    ap.add_argument('--keep', action='store_true', help='keep the temporary directory')
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix='fw-bench-arkime-')
    os.chmod(tmp, 0o711)  # OpenSearch runs as nobody when we are root: it must enter tmp
    aenv = dict(os.environ, FW_ARKIME_DIR=os.path.join(tmp, 'arkime'))
    kenv = None
    try:
        info = arkime_start(aenv, 'arkime_backfill')
        if info is None:
            return
        viewer, osurl = info['viewer'], info['opensearch']
        with open(info['password_file']) as f:
            password = f.read().strip()
        boot, kenv = kafka_start(os.path.join(tmp, 'kafka'))

        gen_s, ingest_s = ingest_bulk(aenv, tmp, args.sessions)
        os_ids = opensearch_ids(osurl)
        lo_ms, hi_ms, densest, seconds = timestamp_range(osurl)
        frm, to = lo_ms // 1000, hi_ms // 1000 + 1
        print('generated in %.1fs, capture wrote %d sessions in %.1fs over %d seconds of '
              '@timestamp (densest second %d)' % (gen_s, len(os_ids), ingest_s, seconds, densest),
              file=sys.stderr)
        fields = producer_fields()

        # --- curl: one request for all of them ---
        body = urllib.parse.urlencode({
            'bounding': 'database', 'startTime': frm, 'stopTime': to, 'start': 0,
            'length': len(os_ids) + 1000, 'fields': fields, 'facets': 0, 'flatten': 1})
        conf = os.path.join(tmp, 'curl.conf')
        with os.fdopen(os.open(conf, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            f.write('user = "admin:%s"\n' % password)
        out = os.path.join(tmp, 'curl.json')
        t0 = time.monotonic()
        subprocess.run(['curl', '-sS', '--fail', '--digest', '-K', conf, '-o', out, '--data', body,
                        viewer + '/api/sessions'], check=True)
        curl_s = time.monotonic() - t0
        with open(out) as f:
            page = json.load(f)
        curl_rows = len(page.get('data', []))

        # --- the producer's backfill of the same range ---
        pwfile = os.path.join(tmp, 'viewer.password')
        with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            f.write(password + '\n')
        log_path = os.path.join(tmp, 'producer.log')
        penv = {'PATH': os.environ['PATH'], 'FANWATCH_ARKIME_URL': viewer,
                'FANWATCH_ARKIME_USER': 'admin', 'FANWATCH_ARKIME_PASSWORD__FILE': pwfile,
                'FANWATCH_ARKIME_AUTH': 'digest',
                'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': boot,
                'FANWATCH_TOPICS_SESSIONS': 'bench-sessions',
                'FANWATCH_PRODUCER_CREATE__TOPIC__PARTITIONS': '6',
                'FANWATCH_LOG_LEVEL': 'debug'}
        # the topic exists beforehand, as in any deployment (creating it is not part of a backfill)
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({'bootstrap.servers': boot})
        for f in admin.create_topics([NewTopic('bench-sessions', 6, 1)]).values():
            f.result(60)
        producer_s = run_backfill(args.producer, frm, to, penv, log_path)
        requests = probes = discarded = published = 0
        got, records = topic_ids(boot, 'bench-sessions', len(os_ids))
        # the producer publishes the viewer's id, "<index suffix>@<_id>" or the bare _id
        got_bare = {i.split('@', 1)[-1] for i in got if i}
        missing = len(os_ids - got_bare)
        extra = len(got_bare - os_ids)
        with open(log_path) as f:
            text = f.read()
        m = re.findall(r'(\d+) sessions published, requests=(\d+) probes=(\d+) reread=(\d+)',
                       text)
        if m:
            published, requests, probes, discarded = (int(x) for x in m[-1])
        result = {'bench': 'arkime_backfill', 'sessions': len(os_ids), 'densest_second': densest,
                  'timestamp_seconds': seconds, 'curl_rows': curl_rows,
                  'curl_seconds': round(curl_s, 2), 'producer_seconds': round(producer_s, 2),
                  'ratio': round(producer_s / curl_s, 3), 'requests': requests,
                  'probes': probes, 'rows_read_again': discarded, 'published': published, 'records': records,
                  'missing': missing, 'extra': extra,
                  'producer_sessions_per_s': round(len(os_ids) / producer_s)}
        print(json.dumps(result))
        if missing or curl_rows != len(os_ids):
            raise SystemExit('missing %d of %d sessions (curl rows %d)' %
                             (missing, len(os_ids), curl_rows))
    finally:
        if kenv:
            kafka_stop(kenv)
        subprocess.run([ARKIME_LOCAL, 'stop'], env=aenv, capture_output=True)
        if not args.keep:
            subprocess.run(['rm', '-rf', tmp])


if __name__ == '__main__':
    main()
