#!/usr/bin/python3
"""Deterministic test data for fanwatch-replay (tests/cli/replay.sh).

  make_sample.py [OUT.jsonl]            write the sample sessions (default: sample.jsonl here)
  make_sample.py --msgpack IN OUT       convert JSON lines (viewer data[] items, nested or
                                        flatten=1) to a stream of fanwatch msgpack records
                                        following docs/wire-format.md (what kcat -f '%s' writes)

The sample, in event-time order, starting 2024-05-18T10:00:00Z:
  - benign background: 6 campus hosts (131.206.20.1-6) talking DNS, HTTPS and SMB to a few
    servers over 10 minutes (some lines in the flatten=1 dotted shape);
  - an address sweep: 10.9.9.9 -> 30 hosts 131.206.1.1-30 on port 445 within 2 minutes
    (SYN answered by RST) -> address_sweep and address_sweep_port (port 445);
  - a vertical scan: 131.206.5.5 -> 20 ports of 131.206.7.7 within 1 minute -> port_scan;
  - one misconfigured-router session 192.168.1.10 -> 172.16.0.5, a single TCP packet with
    neither end in 131.206.0.0/16 -> private_leak (rules.ini).
Only the standard library is needed to write the sample; --msgpack needs python3-msgpack.
"""
import ipaddress
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'support'))
from fwtest import doc_get, flatten  # noqa: E402

T0 = 1716026400000  # 2024-05-18T10:00:00Z
NODE = "sensor01"


def session(n, t, src, sport, dst, dport, proto, spk, dpk, sby, dby, sdb=None, ddb=None,
            flags=None, dur=0):
    """One data[] item as the viewer returns it (nested shape)."""
    item = {
        "id": "240518-replay-%04d" % n,
        "node": NODE,
        "firstPacket": t,
        "lastPacket": t + dur,
        "@timestamp": t + dur + 30000,
        "ipProtocol": proto,
        "source": {"ip": src, "port": sport, "packets": spk, "bytes": sby},
        "destination": {"ip": dst, "port": dport, "packets": dpk, "bytes": dby},
    }
    if sdb is not None:
        item["client"] = {"bytes": sdb}
        item["server"] = {"bytes": ddb}
    if flags is not None:
        item["tcpflags"] = dict(zip(
            ["syn", "syn-ack", "ack", "psh", "fin", "rst", "urg", "srcZero", "dstZero"], flags))
    return item




def sample():
    events = []  # (time, order, item, flat)
    n = 0

    def add(t, *args, flat=False, **kw):
        nonlocal n
        n += 1
        events.append((t, n, session(n, t, *args, **kw), flat))

    # benign background: each host a handful of peers, full TCP handshakes
    for h in range(1, 7):
        src = "131.206.20.%d" % h
        for k in range(8):
            t = T0 + h * 7000 + k * 71000
            sport = 40000 + h * 100 + k
            kind = (h + k) % 4
            flat = (h + k) % 3 == 0
            if kind == 0:
                add(t, src, sport, "131.206.0.53", 53, 17, 1, 1, 74, 190, flat=flat)
            elif kind == 1:
                add(t, src, sport, "93.184.216.34", 443, 6, 14, 12, 1800, 9100, 517, 6400,
                    [1, 1, 10, 6, 2, 0, 0, 0, 0], dur=2300, flat=flat)
            elif kind == 2:
                add(t, src, sport, "131.206.0.10", 445, 6, 22, 20, 4100, 12800, 2600, 10400,
                    [1, 1, 18, 9, 2, 0, 0, 0, 0], dur=5100, flat=flat)
            else:
                add(t, src, sport, "151.101.1.69", 443, 6, 9, 8, 1200, 5200, 400, 3900,
                    [1, 1, 7, 4, 2, 0, 0, 0, 0], dur=900, flat=flat)

    # address sweep on 445: 30 hosts in 116 s, SYN then RST from the target
    for i in range(30):
        add(T0 + 60000 + i * 4000, "10.9.9.9", 50000 + i, "131.206.1.%d" % (i + 1), 445, 6,
            1, 1, 66, 54, 0, 0, [1, 0, 0, 0, 0, 1, 0, 0, 0])

    # vertical scan: 20 ports of one host in 57 s
    ports = [21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1723, 3306,
             3389, 5900, 8080]
    for i, p in enumerate(ports):
        add(T0 + 200000 + i * 3000, "131.206.5.5", 61000 + i, "131.206.7.7", p, 6, 1, 1, 60,
            54, 0, 0, [1, 0, 0, 0, 0, 1, 0, 0, 0])

    # misconfigured router: a private-to-private single packet leaking onto the link
    add(T0 + 300000, "192.168.1.10", 51000, "172.16.0.5", 443, 6, 1, 0, 74, 0, 0, 0,
        [1, 0, 0, 0, 0, 0, 0, 0, 0])

    events.sort(key=lambda e: (e[0], e[1]))
    return [flatten(item) if flat else item for _, _, item, flat in events]


def write_sample(path):
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for item in sample():
            f.write(json.dumps(item, separators=(",", ":")) + "\n")


# ---- JSON lines -> msgpack records (docs/wire-format.md) ----



def record(item):
    ip = lambda s: ipaddress.ip_address(s).packed
    rec = {"v": 1, "id": item["id"]}
    for key, field in (("rid", "rootId"), ("node", "node"), ("cid", "network.community_id")):
        v = doc_get(item, field)
        if v:
            rec[key] = v
    rec["fp"] = doc_get(item, "firstPacket")
    rec["lp"] = doc_get(item, "lastPacket")
    if doc_get(item, "@timestamp") is not None:
        rec["ts"] = doc_get(item, "@timestamp")
    rec["sip"] = ip(doc_get(item, "source.ip"))
    rec["dip"] = ip(doc_get(item, "destination.ip"))
    for key, field in (("sp", "source.port"), ("dp", "destination.port")):
        v = doc_get(item, field)
        if v:
            rec[key] = v
    rec["pr"] = doc_get(item, "ipProtocol")
    for key, field in (("spk", "source.packets"), ("dpk", "destination.packets"),
                       ("sby", "source.bytes"), ("dby", "destination.bytes"),
                       ("sdb", "client.bytes"), ("ddb", "server.bytes")):
        v = doc_get(item, field)
        if v is not None and v >= 0:
            rec[key] = v
    tf = {}
    for key, field in (("syn", "syn"), ("syn-ack", "syn-ack"), ("ack", "ack"), ("psh", "psh"),
                       ("fin", "fin"), ("rst", "rst"), ("urg", "urg"), ("src-zero", "srcZero"),
                       ("dst-zero", "dstZero")):
        v = doc_get(item, "tcpflags." + field)
        if v is not None and v >= 0:
            tf[key] = v
    if tf:
        rec["tf"] = tf
    return rec


def to_msgpack(src, dst):
    import msgpack
    with open(src, encoding="utf-8") as f, open(dst, "wb") as out:
        for line in f:
            if line.strip():
                out.write(msgpack.packb(record(json.loads(line)), use_bin_type=True))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--msgpack":
        to_msgpack(sys.argv[2], sys.argv[3])
    elif len(sys.argv) <= 2:
        here = os.path.dirname(os.path.abspath(__file__))
        write_sample(sys.argv[1] if len(sys.argv) == 2 else os.path.join(here, "sample.jsonl"))
    else:
        sys.exit(__doc__)
