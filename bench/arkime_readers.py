#!/usr/bin/env python3
"""Benchmark: fanwatch-producer's two readers of a REAL Arkime side by side, in one run: the
viewer reader (producer.mode = api, /api/sessions) and the OpenSearch reader
(producer.mode = opensearch, point in time + search_after) backfill the same sessions into
Kafka.

    bench/arkime_readers.py --producer build/producer/fanwatch-producer [--sessions 120000] [--runs 3]

1. starts a real Arkime (scripts/arkime-local: OpenSearch, viewer, capture; own state dir) and a
   Kafka broker (scripts/kafka-local), writes a pcap of N sessions (tests/arkime/gen_pcaps.py
   --bulk) and runs the real capture over it;
2. each run: the viewer reader backfills the ingest's @timestamp range into one topic, then the
   OpenSearch reader the same range into another (topics created beforehand, 6 partitions), each
   timed from start until it exits with every session acknowledged by Kafka;
3. checks the two topics hold the same ids, and every _id OpenSearch holds (asked directly):
   missing and extra counted for each reader.
Prints one JSON line per run: sessions, seconds and sessions/s of each reader, the ratio, missing
and extra. Issue #14's bounds: ratio >= 5 and OpenSearch reader >= 50,000 sessions/s. Exit 1 when
ids are missing or extra. Bounded: N sessions, --runs passes.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (ARKIME_LOCAL, arkime_start, kafka_start, kafka_stop,  # noqa: E402
                      ingest_bulk, opensearch_ids, run_backfill, timestamp_range,
                      topic_ids)
import fwtest  # noqa: E402  (benchlib put tests/support on the path)



def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--producer', required=True)
    ap.add_argument('--sessions', type=int, default=120000)
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--os-heap', default='2g',
                    help="OpenSearch's heap (FW_ARKIME_OS_HEAP; arkime-local's own default is "
                         "512m, a toy size that makes OpenSearch collect garbage most of the time)")
    ap.add_argument('--streams', type=int, default=2, help='opensearch.streams')
    ap.add_argument('--merge', action='store_true',
                    help='force-merge the session indices to one segment after the ingest (as '
                         "Arkime's db.pl optimize leaves past days' indices); default: as capture "
                         'left them (many small segments: arkime-local refreshes every second)')
    ap.add_argument('--keep', action='store_true', help='keep the temporary directory')
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix='fw-bench-readers-')
    os.chmod(tmp, 0o711)  # OpenSearch runs as nobody when we are root: it must enter tmp
    aenv = dict(os.environ, FW_ARKIME_DIR=os.path.join(tmp, 'arkime'),
                FW_ARKIME_OS_HEAP=args.os_heap)
    kenv = None
    bad = 0
    try:
        info = arkime_start(aenv, 'arkime_readers')
        if info is None:
            return
        viewer, osurl = info['viewer'], info['opensearch']
        boot, kenv = kafka_start(os.path.join(tmp, 'kafka'))
        os.environ['FW_KAFKA_DIR'] = kenv['FW_KAFKA_DIR']  # for fwtest.create_topics
        # every run's topics exist, their partitions led, before anything is timed (creating a
        # topic is no part of a backfill)
        fwtest.create_topics(*[('bench-%s-%d' % (name, run), 6)
                               for run in range(1, args.runs + 1)
                               for name in ('viewer', 'opensearch')])

        gen_s, ingest_s = ingest_bulk(aenv, tmp, args.sessions)
        if args.merge:
            urllib.request.urlopen(urllib.request.Request(
                osurl + '/arkime_sessions3-*/_forcemerge?max_num_segments=1', data=b'',
                method='POST'), timeout=600).read()
        segments = len(urllib.request.urlopen(
            osurl + '/_cat/segments/arkime_sessions3-*?h=segment', timeout=60).read().split())
        os_ids = opensearch_ids(osurl)
        lo_ms, hi_ms, densest, seconds = timestamp_range(osurl)
        frm, to = lo_ms // 1000, hi_ms // 1000 + 1
        print('generated in %.1fs, capture wrote %d sessions in %.1fs over %d seconds of '
              '@timestamp (densest second %d)' % (gen_s, len(os_ids), ingest_s, seconds, densest),
              file=sys.stderr)

        base = {'PATH': os.environ['PATH'], 'FANWATCH_KAFKA_BOOTSTRAP_SERVERS': boot,
                'FANWATCH_LOG_LEVEL': 'info'}
        readers = {
            'viewer': dict(base, FANWATCH_PRODUCER_MODE='api', FANWATCH_ARKIME_URL=viewer,
                           FANWATCH_ARKIME_USER='admin',
                           FANWATCH_ARKIME_PASSWORD__FILE=info['password_file'],
                           FANWATCH_ARKIME_AUTH='digest'),
            'opensearch': dict(base, FANWATCH_PRODUCER_MODE='opensearch',
                               FANWATCH_OPENSEARCH_URL=osurl,
                               FANWATCH_OPENSEARCH_STREAMS=str(args.streams)),
        }
        for run in range(1, args.runs + 1):
            res = {'bench': 'arkime_readers', 'run': run, 'sessions': len(os_ids),
                   'densest_second': densest, 'segments': segments, 'os_heap': args.os_heap,
                   'streams': args.streams}
            got = {}
            for name, env in readers.items():
                topic = 'bench-%s-%d' % (name, run)
                env = dict(env, FANWATCH_TOPICS_SESSIONS=topic)
                secs = run_backfill(args.producer, frm, to, env,
                                    os.path.join(tmp, '%s-%d.log' % (name, run)))
                ids, records = topic_ids(boot, topic, len(os_ids))
                got[name] = ids
                bare = {i.split('@', 1)[-1] for i in ids if i}
                res[name + '_seconds'] = round(secs, 2)
                res[name + '_per_s'] = round(len(os_ids) / secs)
                res[name + '_records'] = records
                res[name + '_missing'] = len(os_ids - bare)
                res[name + '_extra'] = len(bare - os_ids)
                bad += res[name + '_missing'] + res[name + '_extra']
            res['ratio'] = round(res['viewer_seconds'] / res['opensearch_seconds'], 2)
            # the two readers publish the same ids (the viewer's, 3@<_id>)
            res['only_viewer'] = len(got['viewer'] - got['opensearch'])
            res['only_opensearch'] = len(got['opensearch'] - got['viewer'])
            bad += res['only_viewer'] + res['only_opensearch']
            print(json.dumps(res), flush=True)
        if bad:
            raise SystemExit('ids missing or extra (see the JSON lines)')
    finally:
        if kenv:
            kafka_stop(kenv)
        subprocess.run([ARKIME_LOCAL, 'stop'], env=aenv, capture_output=True)
        if not args.keep:
            subprocess.run(['rm', '-rf', tmp])


if __name__ == '__main__':
    main()
