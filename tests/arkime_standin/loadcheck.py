#!/usr/bin/env python3
"""Load check: page N generated sessions out of the stand-in with curl, by @timestamp windows.

Starts viewer.py (digest auth) with --generate N, then walks the whole @timestamp range the
way the producer does (bounding=database, order=@timestamp:asc, length=PAGE, next startTime =
floor(last @timestamp / 1000), ids de-duplicated, start offsets when one second holds more than
a page) with one curl process per page, and prints one JSON line of timings.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FIELDS = ('@timestamp,firstPacket,lastPacket,ipProtocol,protocol,source.ip,source.port,'
          'destination.ip,destination.port,network.packets,network.bytes,source.packets,'
          'destination.packets,source.bytes,destination.bytes,client.bytes,server.bytes,'
          'totDataBytes,node,rootId,segmentCnt,tags,network.community_id,tcpflags.syn,'
          'tcpflags.rst')


def start_viewer(args, tmp):
    """Launch viewer.py and wait for its port; returns (process, base url, startup seconds)."""
    port_file = os.path.join(tmp, 'port')
    env = dict(os.environ, STANDIN_PASSWORD=args.password)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, 'viewer.py'), '--generate',
                             str(args.sessions), '--seed', str(args.seed), '--span-s',
                             str(args.span_s), '--port-file', port_file],
                            stdout=subprocess.PIPE, env=env, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith('standin-viewer listening on '):
        proc.kill()
        raise SystemExit('viewer did not start: %r' % line)
    return proc, line.rsplit(' ', 1)[1], time.monotonic() - t0


def fetch(url, body, args, out_path):
    """One curl POST with digest auth; returns (seconds, bytes on the wire)."""
    cmd = ['curl', '-sS', '--fail', '--digest', '-u', 'admin:' + args.password,
           '-H', 'Content-Type: application/json', '--data-binary', json.dumps(body),
           '-o', out_path, '-w', '%{size_download}', url + '/api/sessions']
    if args.gzip:
        cmd.insert(1, '--compressed')
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.monotonic() - t0, int(float(out.stdout or 0))


def walk(url, args, tmp, start_s, stop_s):
    """Page the whole window; returns counters."""
    seen, cursor, offset = set(), start_s, 0
    pages = wire = 0
    curl_s = parse_s = 0.0
    out_path = os.path.join(tmp, 'page.json')
    while True:
        body = {'bounding': 'database', 'startTime': cursor, 'stopTime': stop_s,
                'order': '@timestamp:asc', 'length': args.page, 'fields': FIELDS, 'flatten': 1}
        if offset:
            body['start'] = offset
        secs, nbytes = fetch(url, body, args, out_path)
        curl_s += secs
        wire += nbytes
        pages += 1
        t0 = time.monotonic()
        with open(out_path, 'rb') as fh:
            data = json.load(fh)['data']
        seen.update(d['id'] for d in data)
        parse_s += time.monotonic() - t0
        if len(data) < args.page:
            break
        last = data[-1]['@timestamp'] // 1000
        if last == cursor:          # a whole page inside one second: page by offset
            offset += args.page
        else:
            cursor, offset = last, 0
    return {'pages': pages, 'unique_sessions': len(seen), 'wire_bytes': wire,
            'curl_seconds': round(curl_s, 3), 'parse_seconds': round(parse_s, 3)}


def main():
    """Run the check and print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sessions', type=int, default=1000000)
    ap.add_argument('--page', type=int, default=10000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--span-s', type=float, default=3600.0)
    ap.add_argument('--password', default='loadcheck')
    ap.add_argument('--gzip', action='store_true', help='ask for gzip (curl --compressed)')
    ap.add_argument('--passes', type=int, default=2, help='second pass shows the warm cache')
    ap.add_argument('--warm', action='store_true',
                    help='POST /_standin/warm first, so even pass 1 is served from the cache')
    args = ap.parse_args()
    if not shutil.which('curl'):
        raise SystemExit('curl is required')
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, startup = start_viewer(args, tmp)
        try:
            stop_s = int(time.time()) + 1
            start_s = stop_s - int(args.span_s) - 3600  # generated before we read the clock
            result = {'sessions': args.sessions, 'page': args.page, 'gzip': args.gzip,
                      'startup_seconds': round(startup, 1), 'passes': []}
            if args.warm:
                req = urllib.request.Request(url + '/_standin/warm', method='POST', data=json.dumps(
                    {'fields': FIELDS, 'flatten': 1}).encode())
                with urllib.request.urlopen(req, timeout=600) as resp:
                    result['warm_seconds'] = json.loads(resp.read())['seconds']
            for _ in range(args.passes):
                t0 = time.monotonic()
                counters = walk(url, args, tmp, start_s, stop_s)
                counters['wall_seconds'] = round(time.monotonic() - t0, 3)
                counters['sessions_per_second_curl'] = round(
                    counters['unique_sessions'] / max(counters['curl_seconds'], 1e-9))
                result['passes'].append(counters)
            with urllib.request.urlopen(url + '/_standin/stats', timeout=30) as resp:
                stats = json.loads(resp.read())
            result['server'] = {k: stats[k] for k in ('pages_served', 'sessions_served',
                                                      'deep_scroll_docs', 'bytes_sent')}
            print(json.dumps(result))
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == '__main__':
    main()
