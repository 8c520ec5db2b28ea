#!/usr/bin/python3
"""Scenario pcaps for a real Arkime capture, with the alerts fanwatch must raise for them.

  gen_pcaps.py [--out DIR] [--start EPOCH] [--scale K] [--seed N] [--sessions]
  gen_pcaps.py --bulk N [--bulk-span SECONDS] [--out DIR] [--start EPOCH] [--seed N]

Writes one pcap per scenario (real Ethernet/IP/TCP/UDP/ICMP packets with valid checksums, in
time order, built with Debian's python3-scapy: `scripts/setup arkime`) and DIR/manifest.json
describing each scenario: its time range, packet and session counts as Arkime capture will
make them (a session per 5-tuple; ICMP per address pair), and the alerts fanwatch's detector
must raise at default settings, plus the sources that must raise nothing. --sessions also
writes, per scenario, the sessions read back from the pcap as sessions3 JSON lines
(fanwatch-replay --input reads them).

The defaults (docs/detector.md, docs/alerts.md): address_sweep 25 hosts, port_scan 15 ports of
one host, sliding 5-minute window; alerts grouped by attack (alert.grouping = attack): ONE alert
id per source (address_sweep, which carries fanwatch.by_port: address_sweep_port is folded into
it), per source + host (port_scan) and per source (expression rules), anchored at the epoch
floor(t / 5 min) of its first document; its documents: the first when the threshold is crossed,
updates (same id) at 2x the count last reported but at most one per 5 min of event time, and a
final one (fanwatch.state "ended") once the key has been quiet, if it grew or went on. The
fan-out detections count a session only if it failed (a SYN never answered, a RST without
responder data) or reached a destination new to the source (detect.count = failed_or_new: not
reached with an answered connection within detect.history). Each expectation (see
Scenario.expect) gives the epoch, the first and the final (highest) count, whether a final
update must come, the most documents the id may have, and the final document's by_port,
severity and ATT&CK techniques; check_alerts() compares alert documents with it.

Time layout: scenario i occupies [base + i * 1800 s, base + (i + 1) * 1800 s), base = --start
rounded up to a multiple of 300 s (the detector's window epoch), so that every expectation
names its epoch and one scenario's sessions are closed (tcpTimeout 480 s) long before the next
starts. Ingest the pcaps in manifest order (their packet times increase): fed out of time order
into one partition, the detector evicts a source idle for window + lateness (15 min) behind the
partition's newest event time, and an older scenario's scan would be counted in pieces.

--bulk N writes DIR/bulk.pcap with N sessions of benign traffic (TCP exchanges, DNS, NTP, ICMP,
a few refused connections) from campus workstations to their usual servers, spread over
--bulk-span seconds (default 3600), built from raw bytes (fast), and DIR/bulk.json; no
scenarios. No source contacts 25 hosts or one host on 15 ports within 5 minutes.

Every run with the same arguments writes the same bytes (seeded; no clock, no randomness from
scapy).
"""
import argparse
import array
import hashlib
import heapq
import ipaddress
import json
import os
import random
import struct
import sys
import time

WINDOW_S = 300          # detect.window
SLOT_S = 1800           # one scenario per slot
DEFAULT_START = 1716026400  # 2024-05-18T10:00:00Z, a multiple of 300
THRESHOLDS = {"address_sweep": 25, "address_sweep_port": 25, "port_scan": 15}
SEVERITY = {"address_sweep": 47, "address_sweep_port": 73, "port_scan": 47}  # rules: their own
ESCALATION = 2.0        # alert.escalation
UPDATE_S = 300          # alert.update_interval: at most one update per 5 min of event time
EXACT_MAX = 256         # detect.exact_max: keep every count exact
SAMPLE = 10             # detect.sample: fanwatch.by_port lists at most this many ports
# the T1021 sub-technique an address_sweep gets for a port reaching its threshold (alert.c)
LATERAL = {22: "T1021.004", 135: "T1021.003", 139: "T1021.002", 445: "T1021.002",
           3389: "T1021.001", 5985: "T1021.006", 5986: "T1021.006"}
CAMPUS = ipaddress.ip_network("131.206.0.0/16")
SCANNER = "131.206.250.10"
STUDY_RULE_ID = "private_leak"
STUDY_RULE = ("packets == 1 && ip.protocol == tcp && ip.src != 131.206.0.0/16 && "
              "ip.dst != 131.206.0.0/16")
RULES_FILE = "detector/rules.example.ini"
TIMEOUT_S = {6: 480, 17: 60, 1: 10, 58: 10}  # Arkime tcpTimeout, udpTimeout, icmpTimeout

SCENARIOS = ["benign", "horizontal_sweep", "vertical_scan", "slow_scan", "lateral_movement",
             "ipv6_sweep", "private_leak", "campus_scanner"]


# ---------------------------------------------------------------------------------------------
# pcap writing (classic libpcap, microsecond timestamps, Ethernet)

def pcap_header():
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def pcap_record(ts_us, data):
    return struct.pack("<IIII", ts_us // 1000000, ts_us % 1000000, len(data), len(data)) + data


def mac_of(ip):
    """A stable locally administered MAC per address."""
    return b"\x02" + hashlib.sha1(ip.encode()).digest()[:5]


def mac_text(ip):
    return ":".join("%02x" % b for b in mac_of(ip))


def is_v6(ip):
    return ":" in ip


# ---------------------------------------------------------------------------------------------
# scenarios (scapy)

_S = {}


def _scapy():
    """Import the scapy layers on first use (bulk mode does not need scapy)."""
    if not _S:
        try:
            from scapy.layers.l2 import Ether
            from scapy.layers.inet import IP, TCP, UDP, ICMP
            from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest, ICMPv6EchoReply
            from scapy.layers.dns import DNS, DNSQR, DNSRR
            from scapy.layers.ntp import NTP
            from scapy.packet import Raw
        except ImportError as e:
            sys.exit("gen_pcaps: scapy is missing (%s): run scripts/setup arkime" % e)
        _S.update(locals())
        _S.pop("e", None)
    return _S


def epoch_ms(t_us):
    ms = t_us // 1000
    return ms // (WINDOW_S * 1000) * (WINDOW_S * 1000)


def session_failed(s):
    """A failed connection attempt as the detector sees it (engine.c session_failed): TCP with a
    SYN never answered by a SYN-ACK, or reset with no data from the responder."""
    if s["proto"] != 6:
        return False
    if s["kind"] in ("probe_none", "probe_rst"):
        return True
    return s["reset"] and s["server_bytes"] == 0


def counted_sessions(sessions):
    """The sessions the fan-out detections count at detect.count = failed_or_new: failed ones,
    and answered ones to a destination new to the source: within one window (detect.window, in
    whole minutes, as detector/history.c) of its first answered contact by the source
    (detect.history 1 h covers a whole scenario)."""
    first = {}
    for s in sessions:
        if not session_failed(s):
            k = (s["src"], s["dst"])
            m = s["first"] // 60000000  # minutes
            first[k] = min(first.get(k, m), m)
    grace = (WINDOW_S + 59) // 60
    out = []
    for s in sorted(sessions, key=lambda x: (x["first"], x["src"], x["sport"])):
        if session_failed(s) or s["first"] // 60000000 - first[(s["src"], s["dst"])] < grace:
            out.append(s)
    return out


def by_port_of(counted, src, last_us, count):
    """fanwatch.by_port of src's address_sweep (count hosts) at event time last_us: the ports that
    reached at least two hosts and a tenth of count in the window (last_us - 5 min, last_us], most
    hosts first, then the lower port, at most detect.sample."""
    hosts = {}
    for s in counted:
        if s["src"] == src and last_us - WINDOW_S * 1000000 < s["first"] <= last_us:
            hosts.setdefault(s["dport"], set()).add(s["dst"])
    least = max(2, count // 10)
    bp = sorted(((p, len(h)) for p, h in hosts.items() if len(h) >= least),
                key=lambda x: (-x[1], x[0]))
    return [{"port": p, "hosts": n} for p, n in bp[:SAMPLE]]


def matches_study_rule(s):
    def outside(ip):
        a = ipaddress.ip_address(ip)
        return a.version == 6 or a not in CAMPUS  # a v4 CIDR never matches v6 (as Arkime)
    return s["proto"] == 6 and s["packets"] == 1 and outside(s["src"]) and outside(s["dst"])


class Scenario:
    def __init__(self, name, index, base_s, seed, description):
        self.name = name
        self.index = index
        self.base_us = base_s * 1000000
        self.seed = seed
        self.rng = random.Random(seed)
        self.description = description
        self.pkts = []       # (ts_us, n, bytes)
        self.sessions = []   # the sessions Arkime must make, as intended
        self.alerts = []
        self.quiet = []
        self.notes = []
        self.variants = []
        self._icmp_last = {}
        self._tuples = set()
        self._ipid = {}

    def at(self, off_s):
        return self.base_us + int(round(off_s * 1e6))

    # --- packets -------------------------------------------------------------------------------
    def _l3(self, src, dst):
        S = _scapy()
        eth = S["Ether"](src=mac_text(src), dst=mac_text(dst))
        if is_v6(src):
            return eth / S["IPv6"](src=src, dst=dst, hlim=64)
        n = self._ipid.get(src)
        if n is None:
            n = self.rng.randrange(65536)
        self._ipid[src] = (n + 1) & 0xFFFF
        return eth / S["IP"](src=src, dst=dst, ttl=64, id=n, flags="DF")

    def _emit(self, ts_us, pkt):
        self.pkts.append((ts_us, len(self.pkts), bytes(pkt)))

    def _tcp(self, ts, src, dst, sport, dport, flags, seq, ack, payload=b"", syn=False):
        S = _scapy()
        opts = [("MSS", 1460 if not is_v6(src) else 1440), ("NOP", None), ("WScale", 7),
                ("SAckOK", b"")] if syn else []
        seg = S["TCP"](sport=sport, dport=dport, flags=flags, seq=seq & 0xFFFFFFFF,
                       ack=(ack & 0xFFFFFFFF) if "A" in flags else 0,
                       window=64240 if syn else 501, options=opts)
        p = self._l3(src, dst) / seg
        if payload:
            p = p / S["Raw"](load=payload)
        self._emit(ts, p)

    def _record(self, **kw):
        key = (kw["proto"], kw["src"], kw["sport"], kw["dst"], kw["dport"])
        if kw["proto"] in (6, 17):
            assert key not in self._tuples, "5-tuple reused: %r" % (key,)
            self._tuples.add(key)
        self.sessions.append(kw)

    # --- sessions ------------------------------------------------------------------------------
    def tcp_conn(self, t0, c, s, sport, dport, exchanges, rtt=0.0006, close="fin"):
        """Handshake, request/response exchanges (bytes, bytes), then FIN from both sides (or
        an RST from the client with close='rst')."""
        r = self.rng
        t = t0
        us = lambda x: int(round(x * 1e6))
        ci, si = r.randrange(1 << 32), r.randrange(1 << 32)
        n = 0
        self._tcp(t, c, s, sport, dport, "S", ci, 0, syn=True)
        t += us(rtt)
        self._tcp(t, s, c, dport, sport, "SA", si, ci + 1, syn=True)
        t += us(rtt) + 30
        self._tcp(t, c, s, sport, dport, "A", ci + 1, si + 1)
        n += 3
        cs, ss = ci + 1, si + 1
        cb = sb = 0
        for req, resp in exchanges:
            t += us(r.uniform(0.0005, 0.02))
            for off in range(0, req, 1400):
                chunk = _payload(min(1400, req - off), r)
                self._tcp(t, c, s, sport, dport, "PA", cs, ss, chunk)
                cs += len(chunk)
                t += 40
                n += 1
            t += us(rtt + r.uniform(0.0002, 0.01))
            segs = 0
            for off in range(0, resp, 1400):
                chunk = _payload(min(1400, resp - off), r)
                self._tcp(t, s, c, dport, sport, "PA" if off + 1400 >= resp else "A", ss, cs,
                          chunk)
                ss += len(chunk)
                t += 60
                n += 1
                segs += 1
                if segs % 2 == 0 and off + 1400 < resp:
                    self._tcp(t, c, s, sport, dport, "A", cs, ss)
                    t += 30
                    n += 1
            t += us(rtt)
            self._tcp(t, c, s, sport, dport, "A", cs, ss)
            n += 1
            cb += req
            sb += resp
        t += us(r.uniform(0.001, 0.05))
        if close == "rst":
            self._tcp(t, c, s, sport, dport, "RA", cs, ss)
            n += 1
        else:
            self._tcp(t, c, s, sport, dport, "FA", cs, ss)
            t += us(rtt)
            self._tcp(t, s, c, dport, sport, "FA", ss, cs + 1)
            t += us(rtt)
            self._tcp(t, c, s, sport, dport, "A", cs + 1, ss + 1)
            n += 3
        self._record(kind="conn", proto=6, src=c, dst=s, sport=sport, dport=dport, first=t0,
                     last=t, packets=n, handshake=True, reset=close == "rst", client_bytes=cb,
                     server_bytes=sb)
        return t

    def tcp_probe(self, t0, c, s, sport, dport, answer, rtt=0.0004):
        """A scan probe: answer 'none' (one SYN, never answered), 'rst' (SYN, RST/ACK), 'open'
        (SYN, SYN-ACK, RST: half-open) or 'connect' (SYN, SYN-ACK, ACK, FIN both ways)."""
        r = self.rng
        us = lambda x: int(round(x * 1e6))
        ci = r.randrange(1 << 32)
        self._tcp(t0, c, s, sport, dport, "S", ci, 0, syn=True)
        t, n, hs, reset = t0, 1, False, False
        if answer == "rst":
            t += us(rtt)
            self._tcp(t, s, c, dport, sport, "RA", 0, ci + 1)
            n, reset = 2, True
        elif answer in ("open", "connect"):
            si = r.randrange(1 << 32)
            t += us(rtt)
            self._tcp(t, s, c, dport, sport, "SA", si, ci + 1, syn=True)
            t += us(rtt)
            if answer == "open":
                self._tcp(t, c, s, sport, dport, "R", ci + 1, 0)
                n, reset = 3, True
            else:
                self._tcp(t, c, s, sport, dport, "A", ci + 1, si + 1)
                t += us(0.002)
                self._tcp(t, c, s, sport, dport, "FA", ci + 1, si + 1)
                t += us(rtt)
                self._tcp(t, s, c, dport, sport, "FA", si + 1, ci + 2)
                t += us(rtt)
                self._tcp(t, c, s, sport, dport, "A", ci + 2, si + 2)
                n, hs = 6, True
        else:
            assert answer == "none", answer
        self._record(kind="probe_" + answer, proto=6, src=c, dst=s, sport=sport, dport=dport,
                     first=t0, last=t, packets=n, handshake=hs, reset=reset, client_bytes=0,
                     server_bytes=0)
        return t

    def dns(self, t0, c, s, sport, qname, answer=True, rtt=0.0009):
        S = _scapy()
        r = self.rng
        qid = r.randrange(65536)
        qtype = "AAAA" if is_v6(c) else "A"
        q = S["DNS"](id=qid, rd=1, qd=S["DNSQR"](qname=qname, qtype=qtype))
        self._emit(t0, self._l3(c, s) / S["UDP"](sport=sport, dport=53) / q)
        n, t = 1, t0
        if answer:
            rdata = ("2001:db8:ff::%x" % r.randrange(1, 0xffff) if qtype == "AAAA"
                     else "198.51.100.%d" % r.randrange(1, 255))
            a = S["DNS"](id=qid, qr=1, aa=0, rd=1, ra=1, qd=S["DNSQR"](qname=qname, qtype=qtype),
                         an=S["DNSRR"](rrname=qname, type=qtype, ttl=300, rdata=rdata))
            t = t0 + int(rtt * 1e6)
            self._emit(t, self._l3(s, c) / S["UDP"](sport=53, dport=sport) / a)
            n = 2
        self._record(kind="dns", proto=17, src=c, dst=s, sport=sport, dport=53, first=t0,
                     last=t, packets=n, handshake=False, reset=False, client_bytes=0,
                     server_bytes=0)
        return t

    def ntp(self, t0, c, s, sport, rtt=0.0007):
        S = _scapy()
        self._emit(t0, self._l3(c, s) / S["UDP"](sport=sport, dport=123) /
                   S["NTP"](version=4, mode=3, ref=0, orig=0, recv=0, sent=t0 / 1e6))
        t = t0 + int(rtt * 1e6)
        self._emit(t, self._l3(s, c) / S["UDP"](sport=123, dport=sport) /
                   S["NTP"](version=4, mode=4, stratum=2, ref=t0 / 1e6 - 30, orig=t0 / 1e6,
                            recv=t / 1e6 - 0.0001, sent=t / 1e6))
        self._record(kind="ntp", proto=17, src=c, dst=s, sport=sport, dport=123, first=t0,
                     last=t, packets=2, handshake=False, reset=False, client_bytes=0,
                     server_bytes=0)
        return t

    def ping_ok(self, t0, c, s):
        """Arkime keys ICMP by address pair and closes it after 10 s idle: a new run of pings
        is a new session only well after the last one."""
        last = self._icmp_last.get((c, s))
        return last is None or t0 - last > 30 * 1000000

    def ping(self, t0, c, s, count=3, rtt=0.0005):
        S = _scapy()
        assert self.ping_ok(t0, c, s)
        ident = self.rng.randrange(65536)
        t = t0
        for i in range(count):
            ti = t0 + i * 1000000
            data = bytes(range(16, 16 + 48))
            if is_v6(c):
                req = S["ICMPv6EchoRequest"](id=ident, seq=i + 1, data=data)
                rep = S["ICMPv6EchoReply"](id=ident, seq=i + 1, data=data)
            else:
                req = S["ICMP"](type=8, id=ident, seq=i + 1) / S["Raw"](load=data)
                rep = S["ICMP"](type=0, id=ident, seq=i + 1) / S["Raw"](load=data)
            self._emit(ti, self._l3(c, s) / req)
            t = ti + int(rtt * 1e6)
            self._emit(t, self._l3(s, c) / rep)
        self._icmp_last[(c, s)] = t
        self._icmp_last[(s, c)] = t
        self._record(kind="ping", proto=58 if is_v6(c) else 1, src=c, dst=s, sport=0, dport=0,
                     first=t0, last=t, packets=2 * count, handshake=False, reset=False,
                     client_bytes=0, server_bytes=0)
        return t

    # --- expectations --------------------------------------------------------------------------
    def expect(self, rule, src, dst=None, why="", epoch=None, count=None, final=None,
               config="default"):
        """One attack that must raise exactly one alert id: rule address_sweep (per source),
        port_scan (per source + dst) or an expression rule (per source). Without epoch/count,
        the key's counted sessions must lie within one window and one epoch: the count is then
        theirs, the epoch the one of the first document whatever the arrival order. final:
        whether fanwatch-replay (which flushes at the end of its input) ends the attack with a
        final update ("yes", "no", "either"); by default "yes" when the count grows past the
        first document (which is always at the threshold: counts are exact and grow by one),
        "no" for a single session, else "either" (a final comes only if a session arrives after
        the first document's window end, which depends on the order)."""
        counted = counted_sessions(self.sessions)
        if rule == STUDY_RULE_ID:
            ss = [s for s in self.sessions if s["src"] == src and matches_study_rule(s)]
            n = len(ss)
            thr = 1
            severity = 47
        else:
            ss = [s for s in counted if s["src"] == src and (dst is None or s["dst"] == dst)]
            n = len({s["dport" if rule == "port_scan" else "dst"] for s in ss})
            thr = THRESHOLDS[rule]
            severity = SEVERITY[rule]
        assert ss, (rule, src)
        first = min(s["first"] for s in ss)
        last = max(s["first"] for s in ss)
        if epoch is None:
            assert epoch_ms(first) == epoch_ms(last), "%s %s spans two epochs" % (rule, src)
            assert last - first < WINDOW_S * 1000000, "%s %s spans a window" % (rule, src)
            epoch = epoch_ms(first)
            count = n
        assert thr <= count <= EXACT_MAX, (rule, src, count)
        if final is None:
            final = "yes" if count > thr else "no" if len(ss) == 1 else "either"
        # updates: each at >= 2x the count last reported, and >= 5 min after the previous one
        ups_count = 0
        while thr * ESCALATION ** (ups_count + 1) <= count:
            ups_count += 1
        ups_time = int((last - first) // (UPDATE_S * 1000000))
        a = {"rule": rule, "source_ip": src}
        if rule == "port_scan":
            a["destination_ip"] = dst
        a.update({"expect": "yes", "config": config, "epoch": epoch, "threshold": thr,
                  "first_count": thr, "final_count": count, "final": final,
                  "max_documents": 1 + min(ups_count, ups_time) + (final != "no")})
        techniques = ["T1046"] if rule in THRESHOLDS else []
        order_sensitive = []
        if rule == "address_sweep":
            # the final document's by_port is the window ending at the sweep's newest session
            bp = by_port_of(counted, src, last, count)
            a["by_port"] = bp
            if bp and bp[0]["hosts"] >= THRESHOLDS["address_sweep_port"]:
                severity = SEVERITY["address_sweep_port"]
            subs = sorted({LATERAL[x["port"]] for x in bp
                           if x["port"] in LATERAL and x["hosts"] >= thr})
            if subs:
                techniques += ["T1021"] + subs
        # An answered session counts while its host is new: within a window of the source's
        # first answered contact with it. The engine knows the first contact of what has
        # arrived: a session more than a window after the first, fed before it, counts too.
        # So with answered sessions to one host spread over a window or more, by_port (and the
        # severity it sets; a port scan's count) depends on the order
        answered = {}
        for s in self.sessions:
            if s["src"] == src and not session_failed(s) and (dst is None or s["dst"] == dst):
                answered.setdefault(s["dst"], []).append(s["first"] // 60000000)
        grace = (WINDOW_S + 59) // 60
        if any(max(m) - min(m) >= grace for m in answered.values()):
            order_sensitive = (["by_port", "severity", "techniques"] if rule == "address_sweep"
                               else ["final_count"] if rule == "port_scan" else [])
        a.update({"severity": severity, "techniques": techniques,
                  "order_sensitive": order_sensitive, "why": why})
        self.alerts.append(a)

    def manifest(self, fname):
        ts = [p[0] for p in self.pkts]
        return {
            "name": self.name,
            "pcap": fname,
            "description": self.description,
            "seed": self.seed,
            "slot_start": self.base_us // 1000000,
            "slot_end": self.base_us // 1000000 + SLOT_S,
            "first_packet_us": min(ts),
            "last_packet_us": max(ts),
            "packets": len(self.pkts),
            "sessions": summarize(self.sessions),
            "sources": per_source(self.sessions),
            "expect_alerts": self.alerts,
            "quiet_sources": sorted(set(self.quiet)),
            "variants": self.variants,
            "notes": self.notes,
        }

    def write(self, path):
        self.pkts.sort()
        with open(path, "wb") as f:
            f.write(pcap_header())
            for ts, _, data in self.pkts:
                f.write(pcap_record(ts, data))


_PAT = bytes(random.Random(7).randrange(256) for _ in range(4096))


def _payload(n, r):
    o = r.randrange(0, 2048)
    return _PAT[o:o + n]


def summarize(sessions):
    """What the manifest states about a scenario's sessions (also computed from a pcap read
    back, see sessions_from_pcap)."""
    tcp = [s for s in sessions if s["proto"] == 6]
    return {
        "total": len(sessions),
        "tcp": len(tcp),
        "udp": sum(1 for s in sessions if s["proto"] == 17),
        "icmp": sum(1 for s in sessions if s["proto"] in (1, 58)),
        "tcp_handshakes": sum(1 for s in tcp if s["handshake"]),
        "tcp_single_syn": sum(1 for s in tcp if s["packets"] == 1),
        "tcp_reset": sum(1 for s in tcp if s["reset"]),
        "study_rule_matches": sum(1 for s in sessions if matches_study_rule(s)),
    }


def per_source(sessions):
    out = {}
    for s in sessions:
        d = out.setdefault(s["src"], {"sessions": 0, "dsts": set(), "ports": set()})
        d["sessions"] += 1
        d["dsts"].add(s["dst"])
        d["ports"].add(s["dport"])
    return {k: {"sessions": v["sessions"], "destinations": len(v["dsts"]),
                "destination_ports": len(v["ports"])} for k, v in sorted(out.items())}


# --- the scenarios ---------------------------------------------------------------------------

WORKSTATIONS = ["131.206.20.%d" % i for i in range(11, 19)]
DNS_SRV, NTP_SRV, FILE_SRV = "131.206.0.53", "131.206.0.123", "131.206.0.10"
PROXY, MAIL, SSH_SRV, GATEWAY = "131.206.0.80", "131.206.0.25", "131.206.3.3", "131.206.20.1"
WEB = ["93.184.216.34", "151.101.1.69"]
NAMES = ["www.uni-example.de", "mail.uni-example.de", "intranet.uni-example.de",
         "update.example.org", "cdn.example.net", "www.example.com", "time.uni-example.de"]


class Ports:
    """Ephemeral source ports, never reused within a scenario."""
    def __init__(self, r):
        self.r = r
        self.next = {}

    def __call__(self, host):
        p = self.next.get(host)
        if p is None:
            p = 32768 + self.r.randrange(20000)
        self.next[host] = p + 1 + self.r.randrange(3)
        return p


def sc_benign(sc, scale):
    """8 workstations, 12 minutes, 3 x scale sessions per workstation and minute: DNS, NTP,
    SMB, proxy, IMAP, SSH, HTTPS to two web sites and pings, all answered and closed."""
    r = sc.rng
    ports = Ports(r)
    span = 720.0
    for ws in WORKSTATIONS:
        n = max(1, int(round(36 * scale)))
        for k in range(n):
            off = 10 + (k + r.random() * 0.8) * span / n
            t0 = sc.at(off)
            pick = r.random()
            if pick < 0.07 and sc.ping_ok(t0, ws, GATEWAY if k % 2 else DNS_SRV):
                sc.ping(t0, ws, GATEWAY if k % 2 else DNS_SRV)
            elif pick < 0.35:
                sc.dns(t0, ws, DNS_SRV, ports(ws), r.choice(NAMES))
            elif pick < 0.40:
                sc.ntp(t0, ws, NTP_SRV, ports(ws))
            elif pick < 0.58:
                sc.tcp_conn(t0, ws, FILE_SRV, ports(ws), 445,
                            [(r.randrange(100, 600), r.randrange(200, 8000))
                             for _ in range(r.randint(1, 3))])
            elif pick < 0.68:
                sc.tcp_conn(t0, ws, PROXY, ports(ws), 3128,
                            [(r.randrange(200, 700), r.randrange(500, 12000))])
            elif pick < 0.76:
                sc.tcp_conn(t0, ws, MAIL, ports(ws), 993,
                            [(r.randrange(100, 500), r.randrange(100, 4000))])
            elif pick < 0.80:
                sc.tcp_conn(t0, ws, SSH_SRV, ports(ws), 22,
                            [(40, 40), (r.randrange(100, 2000), r.randrange(200, 4000))])
            else:
                sc.tcp_conn(t0, ws, r.choice(WEB), ports(ws), 443,
                            [(r.randrange(300, 700), r.randrange(1000, 12000))], rtt=0.012)
    sc.quiet += WORKSTATIONS
    sc.notes.append("No workstation contacts more than 9 hosts or more than 8 ports of one "
                    "host; sessions are evenly spread (no session spike: a new source needs 10 "
                    "one-minute intervals of history and 100 sessions in one); every TCP "
                    "session has more than one packet and a campus end (no study-rule match).")


def sc_horizontal_sweep(sc, scale):
    """131.206.20.77 sends SYNs to 445 on 60 hosts of 131.206.30.0/24 in 90 s: most never
    answer, every 10th (and 4th of 10) resets, three accept (handshake, FIN)."""
    r = sc.rng
    ports = Ports(r)
    src = "131.206.20.77"
    for i in range(60):
        dst = "131.206.30.%d" % (i + 1)
        ans = ("connect" if i in (11, 27, 44) else "rst" if i % 10 in (3, 7) else "none")
        sc.tcp_probe(sc.at(30 + i * 1.5 + r.random() * 0.3), src, dst, ports(src), 445, ans)
    sc.expect("address_sweep", src,
              why="60 distinct hosts on 445 within 90 s of one epoch, 57 failed (single SYN or "
                  "RST) and 3 answered by hosts new to the source: all count. One id: the first "
                  "document at 25; 50 comes within 5 min of it, so the update waits and the "
                  "final update (after 10 min quiet) says 60. by_port 445: 60, severity 73 (445 "
                  "alone reached address_sweep_port's 25), ATT&CK T1046 + T1021.002")
    sc.quiet += ["131.206.30.%d" % (i + 1) for i in (11, 27, 44)]
    sc.notes.append("45 single-SYN sessions (1 packet, never answered), 12 SYN/RST, 3 full "
                    "connections; campus to campus, so the study rule does not match.")


def sc_vertical_scan(sc, scale):
    """131.206.61.23 probes 230 ports of 131.206.8.20 in 60 s (random order): closed ports
    answer RST, five are open (SYN-ACK, then the scanner's RST)."""
    r = sc.rng
    ports = Ports(r)
    src, dst = "131.206.61.23", "131.206.8.20"
    targets = list(range(1, 201)) + [443, 445, 465, 587, 636, 993, 995, 1433, 1521, 1723, 2049,
                                     3306, 3389, 5432, 5900, 5985, 6379, 8080, 8443, 9200,
                                     11211, 27017, 50000, 6443, 2379, 10250, 8000, 8888, 9090,
                                     5601]
    r.shuffle(targets)
    openp = {22, 25, 80, 111, 443}
    for i, p in enumerate(targets):
        sc.tcp_probe(sc.at(20 + i * 60.0 / len(targets)), src, dst, ports(src), p,
                     "open" if p in openp else "rst")
    sc.expect("port_scan", src, dst=dst,
              why="230 distinct ports of one host within 60 s, every probe failed (RST, or "
                  "SYN-ACK then the scanner's RST): one id, first at 15, final 230 (no update: "
                  "the scan lasts 1 min); 230 < detect.exact_max, so the count is exact")
    sc.quiet.append(dst)
    sc.notes.append("One destination, so no address_sweep; each port has one host, so no "
                    "address_sweep_port.")


def sc_slow_scan(sc, scale):
    """Three sweeps paced around the 5-minute window and its epoch edges (docs/detector.md:
    sliding window (t - 5 min, t]; an alert's id is anchored at the epoch floor(t / 5 min) of
    its first document)."""
    r = sc.rng
    ports = Ports(r)
    base = sc.base_us // 1000000
    assert base % WINDOW_S == 0

    def probes(src, net, port, n, first_off, spacing):
        for i in range(n):
            ans = "rst" if i % 6 == 5 else "none"
            sc.tcp_probe(sc.at(first_off + i * spacing), src, "%s.%d" % (net, i + 1),
                         ports(src), port, ans)

    def sweep(src, net, port, n, first_off, spacing, epoch_off, count, why):
        """probes(...) and the one address_sweep they raise: in the epoch starting at
        +epoch_off s, with count count."""
        probes(src, net, port, n, first_off, spacing)
        sc.expect("address_sweep", src, epoch=(base + epoch_off) * 1000, count=count, why=why)

    # (a) 30 hosts in 240 s centred on the epoch edge base + 600: 15 before it, 15 after.
    sweep("131.206.62.10", "131.206.32", 445, 30, 600 - 120, 240.0 / 29, 600, 30,
          "30 hosts within 240 s straddling the epoch edge at +600 s (15 on each side): the "
          "sliding window holds all 30, the 25th probe lies after the edge, so the alert's "
          "first document and its id's epoch lie in the epoch starting at +600 s, whatever "
          "order the sessions arrive in (fixed 5-min bins would see 15 + 15 and raise "
          "nothing); the final update says 30, by_port 445: 30")

    # (b) 40 hosts over 8 minutes, one every 12.3 s from +930 s: any 25 consecutive probes lie
    # within 295.2 s (< 300), 26 span 307.5 s, so the sliding count peaks at exactly 25.
    sweep("131.206.62.11", "131.206.33", 22, 40, 930, 12.3, 1200, 25,
          "40 hosts, one every 12.3 s over 480 s (+930 to +1409.7 s): the window holds at most "
          "25 (25 probes span 295.2 s, 26 span 307.5 s), exactly the threshold. The 25th probe "
          "(+1225.2 s) and every later one lie in the epoch starting at +1200 s, so one alert "
          "there with count 25 in any arrival order. Margins are 4.8 s and 7.5 s: robust to "
          "ms rounding, not to a lost probe. The count never grows past the first document: "
          "a final update (count 25) comes only if sessions after the first document's window "
          "arrive after it, which depends on the order")

    # (c) 40 hosts, one every 24 s from +30 s: never more than 13 in any window.
    sparse = "131.206.62.12"
    probes(sparse, "131.206.34", 3389, 40, 30, 24.0)
    sc.quiet.append(sparse)
    sc.notes.append("131.206.62.12 sweeps 40 hosts on 3389 over 936 s, crossing three epoch "
                    "edges: at most 13 in any 5-minute window, so nothing (a detector counting "
                    "per day or per 15 minutes would alert).")
    sc.notes.append("Probes are single SYNs (every 6th answered by RST): Arkime writes the "
                    "unanswered ones after tcpTimeout (8 min) or at the end of the pcap, so they "
                    "reach the detector late and out of order; the expectations hold in any "
                    "order because they depend only on the sliding window.")


def sc_lateral_movement(sc, scale):
    """131.206.20.99 opens answered sessions (handshake, SMB/RDP/WinRM-sized data, FIN) to 36
    hosts of 131.206.40.0/24 in 4 minutes: 445 on all, 3389 on 10 of them, 5985 on 8."""
    r = sc.rng
    ports = Ports(r)
    src = "131.206.20.99"
    t = 30.0
    for i in range(36):
        dst = "131.206.40.%d" % (i + 1)
        sc.tcp_conn(sc.at(t), src, dst, ports(src), 445,
                    [(r.randrange(150, 400), r.randrange(200, 600)) for _ in range(3)])
        if i < 10:
            sc.tcp_conn(sc.at(t + 1.5), src, dst, ports(src), 3389,
                        [(r.randrange(300, 1400), r.randrange(1000, 6000)) for _ in range(2)])
        elif i < 18:
            sc.tcp_conn(sc.at(t + 1.5), src, dst, ports(src), 5985,
                        [(r.randrange(800, 2400), r.randrange(500, 3000))])
        t += 6.5
    sc.expect("address_sweep", src,
              why="36 hosts in 4 min, each new to the source when first reached on 445: first "
                  "document at 25, final 36 (below 50: no update). The 3389 and 5985 sessions "
                  "go to hosts the source reached on 445 1.5 s before, within a window of that "
                  "first contact: still new, they count (detect.count = failed_or_new), so "
                  "by_port is 445: 36, 3389: 10, 5985: 8, severity 73, ATT&CK T1046 + T1021.002 "
                  "(SMB)")
    sc.quiet += ["131.206.40.%d" % (i + 1) for i in range(36)]
    sc.notes.append("3389 reaches 10 hosts and 5985 8, hosts first reached on 445 1.5 s before: "
                    "a host is new for a window after its first answered contact, so they count "
                    "and by_port lists all three ports; at most 2 ports per host: no port_scan. "
                    "Every session is answered, so fanwatch.failed is 0: only the novelty of "
                    "the destinations betrays it.")


def sc_ipv6_sweep(sc, scale):
    """2001:db8:20::77 sweeps 56 hosts of 2001:db8:30::/64 on 22 in 100 s (single SYNs, some
    RST, two accept); a v6 workstation does DNS, HTTPS and ping next to it."""
    r = sc.rng
    ports = Ports(r)
    src = "2001:db8:20::77"
    for i in range(56):
        ans = "connect" if i in (9, 33) else "rst" if i % 8 == 4 else "none"
        sc.tcp_probe(sc.at(40 + i * 1.8), src, "2001:db8:30::%x" % (i + 1), ports(src), 22, ans)
    ws, dns6, web6, gw6 = "2001:db8:20::11", "2001:db8::53", "2001:db8:0:80::80", "2001:db8:20::1"
    for k in range(max(1, int(round(12 * scale)))):
        t0 = sc.at(20 + k * 200.0 / max(1, int(round(12 * scale))))
        if k % 4 == 0 and sc.ping_ok(t0, ws, gw6):
            sc.ping(t0, ws, gw6)
        elif k % 2:
            sc.dns(t0, ws, dns6, ports(ws), r.choice(NAMES))
        else:
            sc.tcp_conn(t0, ws, web6, ports(ws), 443,
                        [(r.randrange(300, 700), r.randrange(1000, 9000))])
    sc.expect("address_sweep", src,
              why="56 distinct v6 hosts on 22 within 100 s of one epoch (54 failed, 2 answered "
                  "by new hosts): one id, first at 25, final 56; by_port 22: 56, severity 73, "
                  "ATT&CK T1046 + T1021.004")
    sc.expect(STUDY_RULE_ID, src, config="rules",
              why="only with the study rule loaded (detect.rules = %s): an unanswered v6 SYN is "
                  "a 1-packet TCP session, and a v4 CIDR never matches a v6 address, so "
                  "ip.src/ip.dst != 131.206.0.0/16 are both true (as in Arkime). One alert id: "
                  "the first document at 1 matching session, the final at 47 (no update: "
                  "within 5 min)" % RULES_FILE)
    sc.quiet.append(ws)


def sc_private_leak(sc, scale):
    """The misconfigured router: single SYNs, never answered, between private addresses (the
    study rule matches), next to near misses that must not match."""
    r = sc.rng
    ports = Ports(r)
    t = 20.0
    leaks = [("10.10.3.7", ["192.168.7.20"] * 3, 443),
             ("192.168.1.10", ["10.1.1.1"], 22),
             ("172.16.40.2", ["10.0.8.8"], 8080),
             ("192.168.7.50", ["10.%d.%d.%d" % (i % 3, i, 10 + i) for i in range(12)], 443)]
    for src, dsts, port in leaks:
        for d in dsts:
            sc.tcp_probe(sc.at(t), src, d, ports(src), port, "none")
            t += 2.7
    # near misses: a campus end, more than one packet, or not TCP
    sc.tcp_probe(sc.at(t), "131.206.20.5", FILE_SRV, ports("131.206.20.5"), 445, "none")
    sc.tcp_probe(sc.at(t + 3), "10.20.0.5", PROXY, ports("10.20.0.5"), 3128, "none")
    sc.tcp_probe(sc.at(t + 6), "131.206.20.6", "192.168.50.1", ports("131.206.20.6"), 443, "none")
    sc.tcp_conn(sc.at(t + 9), "10.10.3.8", "192.168.7.21", ports("10.10.3.8"), 443,
                [(517, 3200)])
    sc.tcp_probe(sc.at(t + 12), "192.168.9.9", "10.9.9.10", ports("192.168.9.9"), 80, "rst")
    sc.dns(sc.at(t + 15), "10.10.3.9", "192.168.7.53", ports("10.10.3.9"), "wpad.local",
           answer=False)
    for src, dsts, port in leaks:
        sc.expect(STUDY_RULE_ID, src, config="rules",
                  why="%d single-SYN session(s) with neither end in 131.206.0.0/16" % len(dsts))
    sc.quiet += ["131.206.20.5", "10.20.0.5", "131.206.20.6", "10.10.3.8", "192.168.9.9",
                 "10.10.3.9"]
    sc.notes.append("Near misses: 131.206.20.5 -> 131.206.0.10 and 131.206.20.6 -> "
                    "192.168.50.1 (campus source), 10.20.0.5 -> 131.206.0.80 (campus "
                    "destination), 10.10.3.8 -> 192.168.7.21 (full connection), 192.168.9.9 -> "
                    "10.9.9.10 (SYN answered by RST: packets == 2), 10.10.3.9 -> 192.168.7.53 "
                    "(one UDP packet).")
    sc.notes.append("At default settings (detect.rules empty) this scenario raises nothing; "
                    "192.168.7.50 reaches 12 hosts, below the sweep threshold. With the rule: one "
                    "id per source; a final update for 10.10.3.7 (3) and 192.168.7.50 (12), none "
                    "for the single-session sources.")


def sc_campus_scanner(sc, scale):
    """The campus vulnerability scanner 131.206.250.10: ports 1-250 of 131.206.8.21 and
    131.206.8.22, then SSH (answered, banner exchange) on 40 hosts of 131.206.31.0/24."""
    r = sc.rng
    ports = Ports(r)
    src = SCANNER
    openp = {22, 25, 53, 80, 111, 139}
    srvs = ["131.206.8.21", "131.206.8.22"]
    for j, dst in enumerate(srvs):
        plist = list(range(1, 251))
        r.shuffle(plist)
        for i, p in enumerate(plist):
            sc.tcp_probe(sc.at(20 + j * 50 + i * 0.18), src, dst, ports(src), p,
                         "open" if p in openp else "rst")
    for i in range(40):
        sc.tcp_conn(sc.at(140 + i * 2.0), src, "131.206.31.%d" % (i + 1), ports(src), 22,
                    [(21, 40), (r.randrange(300, 1500), r.randrange(400, 1200))])
    for dst in srvs:
        sc.expect("port_scan", src, dst=dst,
                  why="250 ports within 45 s, all probes failed (RST or half-open): one id "
                      "per host, first at 15, final 250")
    sc.expect("address_sweep", src,
              why="42 hosts (2 servers + 40 SSH hosts new to the scanner): first at 25, final "
                  "42; by_port: 22 on both servers and 40 hosts = 42 only (the ports probed on "
                  "the two servers reach 2 hosts, below a tenth of 42); severity 73, "
                  "ATT&CK T1046 + T1021.004")
    sc.quiet += srvs
    sc.variants.append({
        "name": "demo_allowlist",
        "config": {"sweep.allow_src": SCANNER + "/32", "sweep_port.allow_src": SCANNER + "/32",
                   "port_scan.allow_src": SCANNER + "/32", "spike.allow_src": SCANNER + "/32"},
        "expect_alerts": [],
        "why": "the demo allowlists the scanner in every fan-out detection and the spike",
    })
    sc.notes.append("540 sessions in 3 minutes from a new source: no session_spike (a source "
                    "needs 10 one-minute intervals of history first).")


BUILDERS = {
    "benign": sc_benign, "horizontal_sweep": sc_horizontal_sweep,
    "vertical_scan": sc_vertical_scan, "slow_scan": sc_slow_scan,
    "lateral_movement": sc_lateral_movement, "ipv6_sweep": sc_ipv6_sweep,
    "private_leak": sc_private_leak, "campus_scanner": sc_campus_scanner,
}


def aligned(start):
    return -(-start // WINDOW_S) * WINDOW_S


def generate(out, start=DEFAULT_START, scale=1.0, seed=1, write_sessions=False, only=None,
             quiet=False):
    os.makedirs(out, exist_ok=True)
    base = aligned(start)
    man = {
        "format": "fanwatch-pcap-scenarios/1",
        "generator": "tests/arkime/gen_pcaps.py",
        "start_requested": start,
        "start": base,
        "slot_seconds": SLOT_S,
        "scale": scale,
        "seed": seed,
        "detector": {"window_s": WINDOW_S, "thresholds": THRESHOLDS, "severity": SEVERITY,
                     "escalation": ESCALATION, "update_interval_s": UPDATE_S,
                     "exact_max": EXACT_MAX, "sample": SAMPLE, "grouping": "attack",
                     "count": "failed_or_new"},
        "configs": {
            "default": "fanwatch defaults (detect.rules empty)",
            "rules": "defaults + detect.rules = %s (the study rule %s: %s)" % (
                RULES_FILE, STUDY_RULE_ID, STUDY_RULE),
        },
        "ingest": "in manifest order (increasing packet time), e.g. one capture -r per pcap",
        "scenarios": [],
    }
    timings = {}
    for i, name in enumerate(SCENARIOS):
        if only and name not in only:
            continue
        t0 = time.monotonic()
        sseed = seed * 1000 + i
        doc = (BUILDERS[name].__doc__ or "").strip()
        sc = Scenario(name, i, base + i * SLOT_S, sseed, " ".join(doc.split()))
        BUILDERS[name](sc, scale)
        fname = "%02d_%s.pcap" % (i + 1, name)
        sc.write(os.path.join(out, fname))
        entry = sc.manifest(fname)
        srcs = set(entry["sources"])
        named = {a["source_ip"] for a in sc.alerts} | set(sc.quiet)
        assert srcs <= named | set(sc.quiet), (name, srcs - named)
        man["scenarios"].append(entry)
        if write_sessions:
            write_sessions_jsonl(os.path.join(out, fname[:-5] + ".sessions.jsonl"),
                                 sessions_from_pcap(os.path.join(out, fname)), name)
        timings[name] = time.monotonic() - t0
        if not quiet:
            print("%-18s %5d packets %5d sessions %8d bytes  %.2fs" % (
                name, entry["packets"], entry["sessions"]["total"],
                os.path.getsize(os.path.join(out, fname)), timings[name]), file=sys.stderr)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1, sort_keys=False)
        f.write("\n")
    return man, timings


# ---------------------------------------------------------------------------------------------
# reading back: the sessions Arkime capture makes of a pcap (for checks and fanwatch-replay)

def sessions_from_pcap(path):
    """Group a pcap's packets as Arkime capture does: TCP/UDP by 5-tuple, ICMP by address pair,
    a new session after the protocol's idle timeout or a new SYN on a closed TCP session. The
    initiator (first packet's sender; the SYN's for TCP) is the source."""
    S = _scapy()
    from scapy.utils import PcapReader
    IP, IPv6, TCP, UDP = S["IP"], S["IPv6"], S["TCP"], S["UDP"]
    open_ = {}
    done = []
    with PcapReader(path) as rd:
        for p in rd:
            ts = int(round(float(p.time) * 1e6))
            l3 = p.getlayer(IP) or p.getlayer(IPv6)
            if l3 is None:
                continue
            v6 = l3.version == 6
            proto = l3.nh if v6 else l3.proto
            src, dst = l3.src, l3.dst
            sport = dport = 0
            flags = None
            data = 0
            if TCP in p:
                t = p[TCP]
                sport, dport, flags = t.sport, t.dport, int(t.flags)
                data = len(bytes(t.payload))
            elif UDP in p:
                u = p[UDP]
                sport, dport = u.sport, u.dport
                data = len(bytes(u.payload))
            else:
                data = len(bytes(l3.payload))
            a, b = (src, sport), (dst, dport)
            key = (proto,) + (tuple(sorted([a, b])) if proto in (6, 17) else
                              tuple(sorted([src, dst])))
            s = open_.get(key)
            timeout = TIMEOUT_S.get(proto, 60) * 1000000
            if s is not None and (ts - s["last"] > timeout or (
                    flags is not None and flags & 0x12 == 0x02 and (s["fin"] or s["rst"]))):
                done.append(s)
                s = None
            if s is None:
                first_is_synack = flags is not None and flags & 0x12 == 0x12
                s = {"proto": proto, "first": ts, "last": ts,
                     "src": dst if first_is_synack else src,
                     "sport": dport if first_is_synack else sport,
                     "dst": src if first_is_synack else dst,
                     "dport": sport if first_is_synack else dport,
                     "spk": 0, "dpk": 0, "sby": 0, "dby": 0, "sdata": 0, "ddata": 0,
                     "syn": 0, "synack": 0, "ack": 0, "psh": 0, "fin": 0, "rst": 0, "urg": 0,
                     "client_ack": 0}
                open_[key] = s
            fwd = src == s["src"] and sport == s["sport"]
            s["last"] = ts
            d = "s" if fwd else "d"
            s[d + "pk"] += 1
            s[d + "by"] += len(bytes(p))
            s[d + "data"] += data
            if flags is not None:
                if flags & 0x02:
                    s["synack" if flags & 0x10 else "syn"] += 1
                if flags & 0x17 == 0x10:
                    s["ack"] += 1
                    if fwd and s["synack"]:
                        s["client_ack"] += 1
                s["psh"] += bool(flags & 0x08)
                s["fin"] += bool(flags & 0x01)
                s["rst"] += bool(flags & 0x04)
                s["urg"] += bool(flags & 0x20)
    done += open_.values()
    done.sort(key=lambda s: (s["first"], s["src"], s["sport"]))
    out = []
    for s in done:
        s["packets"] = s["spk"] + s["dpk"]
        s["handshake"] = s["proto"] == 6 and s["syn"] > 0 and s["synack"] > 0 and \
            s["client_ack"] > 0
        s["reset"] = s["rst"] > 0
        out.append(s)
    return out


def write_sessions_jsonl(path, sessions, name, node="gen-pcaps"):
    """The sessions as sessions3 documents (the fields fanwatch reads), written in order of
    firstPacket; @timestamp = lastPacket + 5 s."""
    with open(path, "w") as f:
        for n, s in enumerate(sessions):
            f.write(json.dumps(session_doc(s, "%s-%06d" % (name, n), node),
                               separators=(",", ":")) + "\n")


def session_doc(s, sid, node="gen-pcaps"):
    fp, lp = s["first"] // 1000, s["last"] // 1000
    doc = {"id": sid, "node": node, "firstPacket": fp, "lastPacket": lp,
           "@timestamp": lp + 5000, "ipProtocol": s["proto"],
           "source": {"ip": s["src"], "packets": s["spk"], "bytes": s["sby"]},
           "destination": {"ip": s["dst"], "packets": s["dpk"], "bytes": s["dby"]},
           "network": {"packets": s["packets"], "bytes": s["sby"] + s["dby"]},
           "client": {"bytes": s["sdata"]}, "server": {"bytes": s["ddata"]},
           "totDataBytes": s["sdata"] + s["ddata"]}
    if s["proto"] in (6, 17):
        doc["source"]["port"] = s["sport"]
        doc["destination"]["port"] = s["dport"]
    if s["proto"] == 6:
        doc["tcpflags"] = {"syn": s["syn"], "syn-ack": s["synack"], "ack": s["ack"],
                           "psh": s["psh"], "fin": s["fin"], "rst": s["rst"], "urg": s["urg"],
                           "srcZero": 0, "dstZero": 0}
    return doc


# ---------------------------------------------------------------------------------------------
# checking alert documents against the manifest (test_gen_pcaps.py, test_arkime_e2e.py)

def attack_key(d):
    """What identifies an attack in an alert document: (rule, source, destination for a port
    scan). An expression rule's alert names a destination only when it counted one session
    (docs/alerts.md): that is not part of its key."""
    rid = d["rule"]["id"]
    dst = d.get("destination", {}).get("ip") if rid == "port_scan" else None
    return (rid, d.get("source", {}).get("ip"), dst)


def expected_key(e):
    return (e["rule"], e["source_ip"], e.get("destination_ip"))


def iso_ms(iso):
    """ms since 1970 of an alert time such as 2024-05-18T10:00:05.123Z."""
    import calendar
    t = time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")
    return calendar.timegm(t) * 1000 + (int(iso[20:23]) if len(iso) > 20 else 0)


def doc_techniques(d):
    out = []
    for t in d.get("threat", {}).get("technique", []):
        out.append(t["id"])
        out += [x["id"] for x in t.get("subtechnique", [])]
    return sorted(out)


def check_alerts(docs, expected, quiet, complete=True, time_order=True):
    """Compare alert documents with a manifest's expectations (those of one config).

    docs: the documents in the order they were emitted (per id; ids may interleave).
    complete: the stream ended with the final updates (fanwatch-replay flushes at the end of its
    input); a live detector emits an attack's final update only once event time has moved on by
    window + lateness, so without complete a final update is optional (but checked if there).
    time_order: the sessions were fed in event-time order, so the fields an expectation lists as
    order_sensitive are checked too (else a difference is only a note).

    Returns a dict: problems (each a string; none = pass), notes, missing and unexpected attack
    keys, ids_per_attack and docs_per_id (Counters), loud (quiet sources that alerted)."""
    import collections
    by_id = collections.OrderedDict()
    for d in docs:
        by_id.setdefault(d["event"]["id"], []).append(d)
    attacks = collections.OrderedDict()
    for i, ds in by_id.items():
        attacks.setdefault(attack_key(ds[0]), []).append(i)
    exp = {expected_key(e): e for e in expected}
    problems, notes = [], []
    missing = sorted((k for k, e in exp.items() if e["expect"] == "yes" and k not in attacks),
                     key=str)
    unexpected = sorted((k for k in attacks if k not in exp), key=str)
    for k in missing:
        problems.append("expected alert %r not raised" % (k,))
    for k in unexpected:
        problems.append("unexpected alert %r: %s" % (k, by_id[attacks[k][0]][0]["message"]))
    for k, ids in attacks.items():
        e = exp.get(k)
        if e is None:
            continue
        if len(ids) != 1:
            problems.append("%r: %d alert ids for one attack (%s)" % (k, len(ids), ids))
        sens = set(e.get("order_sensitive", [])) if not time_order else set()
        for i in ids:
            ds = by_id[i]
            fws = [d["fanwatch"] for d in ds]
            what = "%r id %s" % (k, i[:12])
            seq = [(f["escalation"], f["state"], f["count"]) for f in fws]
            if any(attack_key(d) != k for d in ds):
                problems.append("%s: documents of other keys under one id" % what)
            eps = {iso_ms(f["epoch_start"]) for f in fws}
            late = any(f.get("late") for f in fws)
            if late and time_order:
                problems.append("%s: fanwatch.late in event-time order" % what)
            if eps != {e["epoch"]}:
                problems.append("%s: epoch_start %s, expected %d" % (what, sorted(eps),
                                                                     e["epoch"]))
            if late:
                # sessions more than window + lateness late (capture flushing a pcap's half-open
                # probes after the next pcap's sessions) may re-open the attack under its id,
                # escalations from 0 again (docs/detector.md): a note, not a problem
                notes.append("%s: re-opened by late sessions (fanwatch.late): %s" % (
                    what, [(f["escalation"], f["state"], f["count"]) for f in fws]))
                continue
            if [f["escalation"] for f in fws] != list(range(len(fws))):
                problems.append("%s: escalations not 0, 1, 2, ...: %s" % (what, seq))
            if any(f["state"] != "active" for f in fws[:-1]) or \
                    fws[-1]["state"] not in ("active", "ended"):
                problems.append("%s: only the last document may be 'ended': %s" % (what, seq))
            # out of order, a late session can complete a window already above the threshold
            # by the time it is evaluated: the first count is then higher (never lower)
            if fws[0]["count"] != e["first_count"] and (
                    time_order or fws[0]["count"] < e["first_count"]):
                problems.append("%s: first document count %d, expected %d" % (
                    what, fws[0]["count"], e["first_count"]))
            for a, b in zip(fws, fws[1:]):
                if b["count"] < a["count"]:
                    problems.append("%s: count went down: %s" % (what, seq))
                if b["state"] == "active" and (
                        b["count"] < ESCALATION * a["count"] or
                        iso_ms(b["window"]["end"]) - iso_ms(a["window"]["end"]) <
                        UPDATE_S * 1000):
                    problems.append("%s: an update before 2x the count or within %d s of the "
                                    "previous document: %s" % (what, UPDATE_S, seq))
            if len(ds) > e["max_documents"]:
                problems.append("%s: %d documents, at most %d expected: %s" % (
                    what, len(ds), e["max_documents"], seq))
            top = max(f["count"] for f in fws)
            if "final_count" not in sens and top > e["final_count"]:
                problems.append("%s: count %d above the final %d" % (what, top, e["final_count"]))
            ended = ds[-1] if fws[-1]["state"] == "ended" else None
            if e["final"] == "no" and ended is not None:
                problems.append("%s: a final update where none is expected: %s" % (what, seq))
            if complete:
                if e["final"] == "yes" and ended is None:
                    problems.append("%s: no final update (state 'ended'): %s" % (what, seq))
                if "final_count" not in sens and top != e["final_count"]:
                    problems.append("%s: highest count %d, expected %d" % (
                        what, top, e["final_count"]))
            if ended is None:
                continue
            f = ended["fanwatch"]
            got = {"final_count": f["count"], "severity": ended["event"]["severity"],
                   "techniques": doc_techniques(ended)}
            want = {"final_count": e["final_count"], "severity": e["severity"],
                    "techniques": sorted(e["techniques"])}
            if "by_port" in e:
                got["by_port"] = f.get("by_port", [])
                want["by_port"] = e["by_port"]
            for field in sorted(want):
                if got[field] == want[field]:
                    continue
                msg = "%s: final update %s %s, expected %s" % (what, field, got[field],
                                                               want[field])
                if field in sens:
                    notes.append(msg + " (order sensitive, sessions not in event-time order)")
                else:
                    problems.append(msg)
    loud = sorted({d.get("source", {}).get("ip") for d in docs} & set(quiet), key=str)
    if loud:
        problems.append("quiet sources alerted: %s" % loud)
    return {"problems": problems, "notes": notes, "missing": missing, "unexpected": unexpected,
            "ids_per_attack": collections.Counter(len(v) for v in attacks.values()),
            "docs_per_id": collections.Counter(len(v) for v in by_id.values()),
            "attacks": len(attacks), "ids": len(by_id), "docs": len(docs), "loud": loud}


# ---------------------------------------------------------------------------------------------
# bulk: raw bytes, no scapy

def _csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(array.array("H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF  # in native byte order: store with "=H"


class Raw4:
    """IPv4 packets over Ethernet from raw bytes, checksums computed."""
    def __init__(self):
        self.ipid = 0
        self.mac = {}

    def _macs(self, src, dst):
        k = (src, dst)
        m = self.mac.get(k)
        if m is None:
            m = mac_of(socket_ntoa(dst)) + mac_of(socket_ntoa(src)) + b"\x08\x00"
            if len(self.mac) < 200000:
                self.mac[k] = m
        return m

    def ip(self, src, dst, proto, l4):
        self.ipid = (self.ipid + 1) & 0xFFFF
        h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), self.ipid, 0x4000, 64,
                                  proto, 0, src, dst))
        struct.pack_into("=H", h, 10, _csum(bytes(h)))
        return self._macs(src, dst) + bytes(h) + l4

    def tcp(self, src, dst, sport, dport, flags, seq, ack, payload=b""):
        hl = 24 if flags & 0x02 else 20
        opts = b"\x02\x04\x05\xb4" if flags & 0x02 else b""
        seg = bytearray(struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                                    ack & 0xFFFFFFFF if flags & 0x10 else 0, (hl // 4) << 4,
                                    flags, 64240 if flags & 0x02 else 501, 0, 0) + opts + payload)
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
        struct.pack_into("=H", seg, 16, _csum(pseudo + bytes(seg)))
        return self.ip(src, dst, 6, bytes(seg))

    def udp(self, src, dst, sport, dport, payload):
        seg = bytearray(struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)
        pseudo = src + dst + struct.pack("!BBH", 0, 17, len(seg))
        c = _csum(pseudo + bytes(seg))
        struct.pack_into("=H", seg, 6, c if c else 0xFFFF)
        return self.ip(src, dst, 17, bytes(seg))

    def icmp(self, src, dst, typ, ident, seq, data):
        m = bytearray(struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data)
        struct.pack_into("=H", m, 2, _csum(bytes(m)))
        return self.ip(src, dst, 1, bytes(m))


def socket_ntoa(b):
    return "%d.%d.%d.%d" % tuple(b)


def _dns_query(qid, name):
    q = b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + b"\x00\x01\x00\x01", q


def _dns_answer(qid, q, addr):
    return (struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q + b"\x00\x01\x00\x01" +
            b"\xc0\x0c\x00\x01\x00\x01" + struct.pack("!IH", 300, 4) + addr)


def generate_bulk(out, n, start=DEFAULT_START, span=3600, seed=1, quiet=False):
    """N benign sessions over span seconds: campus workstations (131.206.64.0/18) to their
    usual services, each session a complete exchange. Packets are written in time order."""
    t_start = time.monotonic()
    os.makedirs(out, exist_ok=True)
    base = aligned(start)
    r = random.Random(seed * 7919 + n)
    R = Raw4()
    nsrc = max(50, min(16000, n // 50))
    a0 = int(ipaddress.ip_address("131.206.64.1"))
    srcs = [struct.pack("!I", a0 + i) for i in range(nsrc)]
    ip4 = lambda t: ipaddress.ip_address(t).packed
    dns_srv, ntp_srv = ip4(DNS_SRV), ip4(NTP_SRV)
    # services: (address, port, request range, response range)
    # (small payloads: the benchmark is about sessions, a smaller pcap ingests faster)
    services = ([(ip4("131.206.0.%d" % (10 + i)), 445, (100, 400), (200, 1400)) for i in range(6)]
                + [(ip4(PROXY), 3128, (200, 500), (300, 2800)),
                   (ip4(MAIL), 993, (100, 400), (100, 1400)),
                   (ip4(SSH_SRV), 22, (40, 400), (40, 800))]
                + [(ip4("198.51.100.%d" % (1 + i)), 443, (300, 600), (300, 2800))
                   for i in range(60)]
                + [(ip4("203.0.113.%d" % (1 + i)), 80, (200, 400), (200, 1400))
                   for i in range(30)])
    favourites = [r.sample(range(len(services)), 6) for _ in range(nsrc)]
    gateways = [struct.pack("!I", (a0 + i) & 0xFFFFFF00 | 1) for i in range(nsrc)]
    next_port = [32768 + r.randrange(20000) for _ in range(nsrc)]
    icmp_last = {}
    times = sorted(r.randrange(span * 1000000) for _ in range(n))
    heap = []
    seq = 0
    npk = 0
    kinds = {"tcp": 0, "dns": 0, "ntp": 0, "icmp": 0, "refused": 0}
    nbytes = 24
    path = os.path.join(out, "bulk.pcap")
    f = open(path, "wb", buffering=1 << 20)
    f.write(pcap_header())
    us0 = base * 1000000

    def put(ts, data):
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (ts, seq, data))

    for t_rel in times:
        t0 = us0 + t_rel
        while heap and heap[0][0] <= t0:
            ts, _, data = heapq.heappop(heap)
            f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(data), len(data)))
            f.write(data)
            nbytes += 16 + len(data)
            npk += 1
        i = r.randrange(nsrc)
        c = srcs[i]
        sp = next_port[i]
        next_port[i] = sp + 1 if sp < 60999 else 32768
        pick = r.random()
        if pick < 0.04:
            g = gateways[i]
            last = icmp_last.get(i)
            if last is None or t0 - last > 30000000:
                icmp_last[i] = t0 + 2000
                ident = r.randrange(65536)
                data = bytes(range(16, 64))
                put(t0, R.icmp(c, g, 8, ident, 1, data))
                put(t0 + 400, R.icmp(g, c, 0, ident, 1, data))
                kinds["icmp"] += 1
                continue
            pick = 0.1
        if pick < 0.28:
            qid = r.randrange(65536)
            msg, q = _dns_query(qid, r.choice(NAMES))
            put(t0, R.udp(c, dns_srv, sp, 53, msg))
            put(t0 + 700 + r.randrange(800),
                R.udp(dns_srv, c, 53, sp, _dns_answer(qid, q, bytes([198, 51, 100, 7]))))
            kinds["dns"] += 1
        elif pick < 0.31:
            put(t0, R.udp(c, ntp_srv, sp, 123, b"\x23" + b"\0" * 47))
            put(t0 + 600, R.udp(ntp_srv, c, 123, sp, b"\x24\x02" + b"\0" * 46))
            kinds["ntp"] += 1
        elif pick < 0.33:
            s_ip, _, _, _ = services[favourites[i][0]]
            ci = r.randrange(1 << 32)
            dport = 8000 + r.randrange(3)
            put(t0, R.tcp(c, s_ip, sp, dport, 0x02, ci, 0))
            put(t0 + 300, R.tcp(s_ip, c, dport, sp, 0x14, 0, ci + 1))
            kinds["refused"] += 1
        else:
            s_ip, dport, rq, rs = services[r.choice(favourites[i])]
            rtt = 300 + r.randrange(15000) if dport in (443, 80) else 200 + r.randrange(600)
            ci, si = r.randrange(1 << 32), r.randrange(1 << 32)
            t = t0
            put(t, R.tcp(c, s_ip, sp, dport, 0x02, ci, 0))
            t += rtt
            put(t, R.tcp(s_ip, c, dport, sp, 0x12, si, ci + 1))
            t += rtt
            put(t, R.tcp(c, s_ip, sp, dport, 0x10, ci + 1, si + 1))
            cs, ss = ci + 1, si + 1
            for _ in range(1 + (r.random() < 0.3)):
                req = r.randrange(*rq)
                t += 200 + r.randrange(5000)
                put(t, R.tcp(c, s_ip, sp, dport, 0x18, cs, ss, _PAT[:req]))
                cs += req
                resp = r.randrange(*rs)
                t += rtt
                for off in range(0, resp, 1400):
                    chunk = _PAT[off % 2048:off % 2048 + min(1400, resp - off)]
                    put(t, R.tcp(s_ip, c, dport, sp, 0x18, ss, cs, chunk))
                    ss += len(chunk)
                    t += 40
                t += rtt
                put(t, R.tcp(c, s_ip, sp, dport, 0x10, cs, ss))
            t += 1000 + r.randrange(20000)
            put(t, R.tcp(c, s_ip, sp, dport, 0x11, cs, ss))
            t += rtt
            put(t, R.tcp(s_ip, c, dport, sp, 0x11, ss, cs + 1))
            t += rtt
            put(t, R.tcp(c, s_ip, sp, dport, 0x10, cs + 1, ss + 1))
            kinds["tcp"] += 1
    while heap:
        ts, _, data = heapq.heappop(heap)
        f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(data), len(data)))
        f.write(data)
        nbytes += 16 + len(data)
        npk += 1
    f.close()
    took = time.monotonic() - t_start
    man = {
        "format": "fanwatch-pcap-bulk/1",
        "generator": "tests/arkime/gen_pcaps.py --bulk",
        "pcap": "bulk.pcap",
        "seed": seed,
        "start_requested": start,
        "start": base,
        "span_s": span,
        "sessions": n,
        "sessions_by_kind": kinds,
        "sources": nsrc,
        "packets": npk,
        "bytes": nbytes,
        "expect_alerts": [],
        "notes": ["Each source talks to its 6 favourite services (at most 7 hosts with its "
                  "gateway, one port each): no fan-out alert. Session starts are uniform over "
                  "the span (about %d per minute): no spike is expected either, but that is "
                  "statistical and not checked." % (n * 60 // max(1, span)),
                  "TCP/UDP 5-tuples are never reused; ICMP pairs at most every 30 s, so Arkime "
                  "makes exactly `sessions` sessions."],
        "generation_seconds": round(took, 2),
    }
    with open(os.path.join(out, "bulk.json"), "w") as mf:
        json.dump(man, mf, indent=1)
        mf.write("\n")
    if not quiet:
        print("bulk: %d sessions, %d packets, %d bytes in %.1fs" % (n, npk, nbytes, took),
              file=sys.stderr)
    return man


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:]))
    ap.add_argument("--out", default="arkime-pcaps", help="output directory (arkime-pcaps)")
    ap.add_argument("--start", type=int, default=DEFAULT_START,
                    help="base time, epoch seconds (rounded up to a multiple of 300); default "
                         "%d (2024-05-18T10:00:00Z)" % DEFAULT_START)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply benign volume (1)")
    ap.add_argument("--seed", type=int, default=1, help="seed (1)")
    ap.add_argument("--sessions", action="store_true",
                    help="also write NN_name.sessions.jsonl (the pcap read back as sessions)")
    ap.add_argument("--only", action="append", choices=SCENARIOS, help="only this scenario")
    ap.add_argument("--bulk", type=int, metavar="N", help="write bulk.pcap with N sessions only")
    ap.add_argument("--bulk-span", type=int, default=3600, help="bulk time span, s (3600)")
    a = ap.parse_args(argv)
    if a.start < 0 or a.scale <= 0:
        ap.error("--start must be >= 0 and --scale > 0")
    if a.bulk is not None:
        if a.bulk < 1 or a.bulk_span < 1:
            ap.error("--bulk and --bulk-span must be positive")
        generate_bulk(a.out, a.bulk, a.start, a.bulk_span, a.seed)
        return 0
    t0 = time.monotonic()
    man, _ = generate(a.out, a.start, a.scale, a.seed, a.sessions, a.only)
    print("%d scenarios in %s (%.1fs), manifest.json" % (
        len(man["scenarios"]), a.out, time.monotonic() - t0), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
