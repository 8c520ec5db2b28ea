#!/usr/bin/python3
"""The sample of sessions scripts/demo serves through the stand-in Arkime viewer.

  demo_sample.py [--now-ms MS] [--window 300] OUT.jsonl

Writes JSON lines, one Arkime sessions3 document each (the _source capture writes, plus the
session's "id", which the stand-in viewer serves as the Arkime id), and prints a summary on
stdout. Standard library only. The sample is the same on every run apart from the time base,
which follows the clock:

  - every packet time (firstPacket, lastPacket) lies in the last complete detection window
    epoch before now (epochs are floor(time / window) * window, window = detect.window, 5 min):
    each fan-out key then falls in one epoch, so every run raises the same alerts; the
    sessions are between 5 and 10 minutes old;
  - @timestamp (when capture wrote the record, what the producer pages by) is a few seconds to
    half a minute after lastPacket, never later than now - 10 s (the demo's producer reads up
    to now - safety_lag and starts start_lookback = 15 min back).

What is in it (campus range 131.206.0.0/16):
  benign      200 workstations 131.206.20.1-200, 3 to 5 sessions each to a few servers
              (DNS, SMB file server, proxy, mail, SSH) and two web sites: nothing to report;
  sweep       131.206.20.77, one of the workstations, tries 445 on 40 hosts 131.206.30.1-40
              within 2 minutes (SYNs answered by RST, a few unanswered, two accepted: failed
              connections, and new destinations, all count under detect.count = failed_or_new)
              -> one address_sweep alert, fanwatch.by_port listing 445 (the default
              alert.grouping = attack folds address_sweep_port into it);
  port scan   131.206.61.23 probes 30 ports of the server 131.206.8.20 in 60 s (answered by RST)
              -> one port_scan alert at 15 ports; its growth to 30 is reported by the attack's
              final update (fanwatch.state "ended"), which fanwatch-replay prints at the end of
              the sample and a live detector sends once later sessions move event time on;
  scanner     the campus vulnerability scanner 131.206.250.10 probes ports 1-1000 of
              131.206.8.21 and port 22 on 40 hosts 131.206.31.1-40: allowlisted in the demo's
              sweep, sweep_port, port_scan and spike allow_src, so it must raise nothing;
  leak        the misconfigured router: single-packet TCP sessions with neither end in
              131.206.0.0/16, 10.10.3.7 -> 192.168.7.20 (three SYNs, 443) and
              172.16.40.2 -> 10.0.8.8 (one SYN, 8080) -> one private_leak alert (the study's
              rule) per source.
"""
import argparse
import base64
import datetime
import hashlib
import json
import random
import sys
import time

NODE = "demo-capture"
SCANNER = "131.206.250.10"
SEED = 2024

FLAGS = ("syn", "syn-ack", "ack", "psh", "fin", "rst", "urg", "srcZero", "dstZero")


class Sample:
    def __init__(self, base_ms):
        self.base = base_ms
        self.docs = []
        self.parts = {}

    def add(self, part, off_ms, src, sport, dst, dport, proto, spk, dpk, sdata=0, ddata=0,
            flags=None, dur=0, delay=5000):
        """One session whose first packet is off_ms after the epoch start."""
        fp = self.base + off_ms
        lp = fp + dur
        hdr = 54 if proto == 6 else 42
        sby, dby = spk * hdr + sdata, dpk * hdr + ddata
        n = len(self.docs)
        day = datetime.datetime.fromtimestamp(lp / 1000, datetime.timezone.utc).strftime("%y%m%d")
        uid = base64.urlsafe_b64encode(hashlib.sha256(b"fanwatch-demo-%d" % n).digest()[:18])
        doc = {
            "id": "3@%s-%s" % (day, uid.decode()),
            "@timestamp": lp + delay,
            "firstPacket": fp,
            "lastPacket": lp,
            "length": dur,
            "ipProtocol": proto,
            "node": NODE,
            "source": {"ip": src, "port": sport, "packets": spk, "bytes": sby},
            "destination": {"ip": dst, "port": dport, "packets": dpk, "bytes": dby},
            "network": {"packets": spk + dpk, "bytes": sby + dby},
            "client": {"bytes": sdata},
            "server": {"bytes": ddata},
            "totDataBytes": sdata + ddata,
            "segmentCnt": 1,
        }
        if proto == 6:
            doc["tcpflags"] = dict(zip(FLAGS, flags or (0,) * 9))
            doc["protocol"] = ["tcp"]
        elif proto == 17:
            doc["protocol"] = ["udp"] + (["dns"] if dport == 53 else [])
        doc["protocolCnt"] = len(doc.get("protocol", []))
        self.docs.append(doc)
        self.parts[part] = self.parts.get(part, 0) + 1


# TCP flag counts (syn, syn-ack, ack, psh, fin, rst, urg, srcZero, dstZero)
def handshake(pk):
    return (1, 1, max(1, pk - 2), max(0, pk // 3), 2, 0, 0, 0, 0)


SYN_ONLY = (1, 0, 0, 0, 0, 0, 0, 0, 0)
SYN_RST = (1, 0, 0, 0, 0, 1, 0, 0, 0)

SERVICES = [  # (destination, port, protocol) a workstation talks to
    ("131.206.0.53", 53, 17), ("131.206.0.10", 445, 6), ("131.206.0.80", 3128, 6),
    ("131.206.0.25", 993, 6), ("131.206.3.3", 22, 6), ("93.184.216.34", 443, 6),
    ("151.101.1.69", 443, 6),
]


def build(base_ms):
    s = Sample(base_ms)
    r = random.Random(SEED)
    span = 245000  # packet times within [5 s, 250 s] of the epoch start

    # benign: 200 workstations, 3-5 sessions each, full exchanges
    for h in range(1, 201):
        src = "131.206.20.%d" % h
        for k, (dst, dport, proto) in enumerate(r.sample(SERVICES, r.randint(3, 5))):
            off = 5000 + r.randrange(span - 30000)
            sport = 40000 + h * 10 + k
            if proto == 17:
                s.add("benign", off, src, sport, dst, dport, 17, 1, 1, 40, 120, dur=20,
                      delay=r.randrange(1000, 30000))
            else:
                pk = r.randrange(8, 40)
                spk = pk // 2
                s.add("benign", off, src, sport, dst, dport, 6, spk, pk - spk,
                      r.randrange(200, 3000), r.randrange(500, 40000), handshake(pk),
                      dur=r.randrange(100, 20000), delay=r.randrange(5000, 9000))

    # address sweep on 445 by a workstation: 40 hosts in 117 s (its own services above are
    # its first round of answered connections: new destinations, they count for the sweep too)
    for i in range(40):
        dst = "131.206.30.%d" % (i + 1)
        off = 60000 + i * 3000
        if i in (11, 27):  # two hosts accept the connection
            s.add("sweep", off, "131.206.20.77", 50100 + i, dst, 445, 6, 5, 4, 180, 220,
                  handshake(9), dur=40, delay=5000)
        elif i % 7 == 3:  # a few never answer
            s.add("sweep", off, "131.206.20.77", 50100 + i, dst, 445, 6, 1, 0, flags=SYN_ONLY,
                  delay=8000)
        else:
            s.add("sweep", off, "131.206.20.77", 50100 + i, dst, 445, 6, 1, 1, flags=SYN_RST,
                  dur=1, delay=5000)

    # vertical port scan: 30 ports of one server in 58 s
    ports = [21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 389, 443, 445, 465, 587, 636,
             993, 995, 1433, 1521, 1723, 2049, 3306, 3389, 5432, 5900, 6379, 8080, 8443]
    for i, p in enumerate(ports):
        s.add("port_scan", 150000 + i * 2000, "131.206.61.23", 61000 + i, "131.206.8.20", p, 6,
              1, 1, flags=SYN_RST, dur=1, delay=5000)

    # the allowlisted vulnerability scanner: ports 1-1000 of one server, then port 22 on 40 hosts
    for p in range(1, 1001):
        open_ = p in (22, 80, 443)
        s.add("scanner", 20000 + p * 120, SCANNER, 33000 + p % 20000, "131.206.8.21", p, 6,
              3 if open_ else 1, 2 if open_ else 1, 0, 0, handshake(5) if open_ else SYN_RST,
              dur=2, delay=5000)
    for i in range(40):
        s.add("scanner", 145000 + i * 1500, SCANNER, 34100 + i, "131.206.31.%d" % (i + 1), 22,
              6, 4, 4, 40, 600, handshake(8), dur=30, delay=5000)

    # the misconfigured router: single-packet TCP between addresses outside 131.206.0.0/16
    for i in range(3):
        s.add("leak", 100000 + i * 3000, "10.10.3.7", 51000 + i, "192.168.7.20", 443, 6, 1, 0,
              flags=SYN_ONLY, delay=10000)
    s.add("leak", 200000, "172.16.40.2", 52344, "10.0.8.8", 8080, 6, 1, 0, flags=SYN_ONLY,
          delay=10000)

    # in write order, as a viewer pages them by @timestamp
    s.docs.sort(key=lambda d: (d["@timestamp"], d["id"]))
    return s


def epoch_base(now_ms, window_ms):
    """Start of the last window epoch that ended at least 10 s before now."""
    end = now_ms - 10000
    return end // window_ms * window_ms - window_ms


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="JSON-lines file to write")
    ap.add_argument("--now-ms", type=int, default=None, help="the clock (default: now)")
    ap.add_argument("--window", type=int, default=300, help="detect.window in seconds (300)")
    a = ap.parse_args()
    now = a.now_ms if a.now_ms is not None else int(time.time() * 1000)
    s = build(epoch_base(now, a.window * 1000))
    assert max(d["@timestamp"] for d in s.docs) <= now - 10000
    with open(a.out, "w", encoding="ascii", newline="\n") as f:
        for d in s.docs:
            f.write(json.dumps(d, separators=(",", ":")) + "\n")
    iso = lambda ms: datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
        "%H:%M:%SZ")
    print("sample: %d sessions (%s), packets %s-%s, written %s-%s" % (
        len(s.docs), ", ".join("%s %d" % kv for kv in s.parts.items()),
        iso(min(d["firstPacket"] for d in s.docs)), iso(max(d["lastPacket"] for d in s.docs)),
        iso(min(d["@timestamp"] for d in s.docs)), iso(max(d["@timestamp"] for d in s.docs))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
