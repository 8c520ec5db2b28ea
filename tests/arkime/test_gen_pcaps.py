#!/usr/bin/python3
"""Checks tests/arkime/gen_pcaps.py: generates into a temporary directory and verifies that

  - generation is fast (< 20 s) and deterministic (same arguments, same bytes);
  - every pcap parses with scapy (rdpcap), has the packets the manifest states, valid IPv4,
    TCP, UDP and ICMP checksums, and packet times in order, inside its scenario's slot, starting
    at --start rounded up to the 5-minute epoch;
  - the sessions read back as Arkime groups them (5-tuple, ICMP address pair, timeouts) give the
    manifest's counts: sessions, TCP/UDP/ICMP, handshakes, single SYNs, resets, study-rule
    matches, and per source sessions/destinations/ports;
  - with build/detector/fanwatch-replay (or $FANWATCH_REPLAY) present: replaying those sessions
    in four orders (first packet, reversed, shuffled, and Arkime's write order: by last packet,
    an unanswered SYN only after tcpTimeout) raises exactly the manifest's attacks, one alert id
    each (gen_pcaps.check_alerts: epoch, first document at the threshold, updates at 2x and 5 min
    apart, at most max_documents, the final update and its count, by_port, severity and ATT&CK
    techniques), nothing for the quiet hosts, nothing else, no address_sweep_port; at default
    settings and with detect.rules = detector/rules.example.ini; and nothing for the
    allowlisted variant. Fields an expectation marks order_sensitive are checked in event-time
    order only (a difference in another order is printed as a note);
  - --bulk writes exactly N sessions with valid checksums, and replay finds nothing in them.

  test_gen_pcaps.py [-v]      plain python3; exit 0 on success, 1 on failure
"""
import collections
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import gen_pcaps as G  # noqa: E402

FAILS = []
VERBOSE = "-v" in sys.argv


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg, file=sys.stderr)
    elif VERBOSE:
        print("ok: " + msg)
    return cond


def verify_checksums(pkts, name, limit=None):
    """Rebuild each packet with its checksums removed: scapy recomputes them, and the bytes must
    come out the same."""
    S = G._scapy()
    Ether = S["Ether"]
    bad = 0
    for n, p in enumerate(pkts):
        if limit is not None and n >= limit:
            break
        raw = bytes(p)
        q = Ether(raw)
        for layer in (S["IP"], S["TCP"], S["UDP"], S["ICMP"]):
            if layer in q:
                del q[layer].chksum
        for lname in ("ICMPv6EchoRequest", "ICMPv6EchoReply"):
            if S[lname] in q:
                del q[S[lname]].cksum
        if bytes(q) != raw:
            bad += 1
    check(bad == 0, "%s: %d packets with a bad checksum" % (name, bad))


def write_ini(path, rules=False, extra=None):
    sec = collections.defaultdict(dict)
    if rules:
        sec["detect"]["rules"] = os.path.join(ROOT, G.RULES_FILE)
    for k, v in (extra or {}).items():
        s, key = k.split(".", 1)
        sec[s][key] = v
    with open(path, "w") as f:
        f.write("[detector]\nname = gen-pcaps-test\n")
        for s, kv in sec.items():
            f.write("[%s]\n" % s)
            for k, v in kv.items():
                f.write("%s = %s\n" % (k, v))


def replay(binary, ini, sessions, tmp, tag):
    path = os.path.join(tmp, tag + ".jsonl")
    with open(path, "w") as f:
        for n, s in enumerate(sessions):
            f.write(json.dumps(G.session_doc(s, "%s-%06d" % (tag, n))) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANWATCH_")}
    p = subprocess.run([binary, "-c", ini, "--input", path, "--strict"], env=env,
                       capture_output=True, text=True, timeout=120)
    if not check(p.returncode == 0, "%s: fanwatch-replay exit %d: %s" % (
            tag, p.returncode, p.stderr.strip()[-500:])):
        return None
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def compare_alerts(alerts, expected, quiet, tag, time_order=True):
    r = G.check_alerts(alerts, expected, quiet, complete=True, time_order=time_order)
    for p in r["problems"]:
        check(False, "%s: %s" % (tag, p))
    for n in r["notes"]:
        print("note: %s: %s" % (tag, n))
    if not r["problems"]:
        check(True, "%s: %d attacks, ids per attack %s, documents per id %s" % (
            tag, r["attacks"], dict(r["ids_per_attack"]), dict(r["docs_per_id"])))
    return r


def write_order(sessions):
    """Arkime capture's write order, roughly: a session is written when it ends (FIN/RST: a few
    seconds after its last packet) or times out (an unanswered SYN after tcpTimeout)."""
    def written(s):
        closed = s["proto"] == 6 and (s["fin"] or s["rst"]) or s["proto"] != 6 and s["dpk"]
        return s["last"] + (5 if closed else G.TIMEOUT_S.get(s["proto"], 60)) * 1000000
    return sorted(sessions, key=lambda s: (written(s), s["first"]))


def main():
    tmp = tempfile.mkdtemp(prefix="gen_pcaps_test.")
    try:
        return run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp):
    S = G._scapy()
    from scapy.utils import rdpcap
    start = 1700000123  # not on an epoch edge: the base becomes 1700000400
    out, out2 = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    t0 = time.monotonic()
    man, timings = G.generate(out, start=start, quiet=True)
    took = time.monotonic() - t0
    print("generated %d scenarios in %.2fs (%s)" % (len(man["scenarios"]), took, ", ".join(
        "%s %.2f" % kv for kv in timings.items())))
    check(took < 20, "generation took %.1fs (< 20 s)" % took)
    check(man["start"] == 1700000400 and man["start_requested"] == start, "start aligned")
    check([s["name"] for s in man["scenarios"]] == G.SCENARIOS, "all scenarios present")
    total = sum(os.path.getsize(os.path.join(out, s["pcap"])) for s in man["scenarios"])
    check(total < 10 * 1024 * 1024, "pcaps total %d bytes (< 10 MB)" % total)

    G.generate(out2, start=start, quiet=True)
    for s in man["scenarios"] + [{"pcap": "manifest.json"}]:
        with open(os.path.join(out, s["pcap"]), "rb") as a, \
                open(os.path.join(out2, s["pcap"]), "rb") as b:
            check(a.read() == b.read(), "%s: deterministic" % s["pcap"])

    binary = os.environ.get("FANWATCH_REPLAY") or os.path.join(
        ROOT, "build", "detector", "fanwatch-replay")
    have_replay = os.access(binary, os.X_OK)
    if not have_replay:
        print("note: %s not built: alert expectations not replayed" % binary)
    ini_default, ini_rules = os.path.join(tmp, "default.ini"), os.path.join(tmp, "rules.ini")
    write_ini(ini_default)
    write_ini(ini_rules, rules=True)

    for i, sc in enumerate(man["scenarios"]):
        name = sc["name"]
        path = os.path.join(out, sc["pcap"])
        pkts = rdpcap(path)
        check(len(pkts) == sc["packets"], "%s: %d packets, manifest %d" % (
            name, len(pkts), sc["packets"]))
        ts = [int(round(float(p.time) * 1e6)) for p in pkts]
        check(ts == sorted(ts), "%s: packets in time order" % name)
        check(min(ts) == sc["first_packet_us"] and max(ts) == sc["last_packet_us"],
              "%s: first/last packet times as in the manifest" % name)
        slot = man["start"] + i * man["slot_seconds"]
        check(sc["slot_start"] == slot and slot * 10**6 <= min(ts) and
              max(ts) < (slot + man["slot_seconds"]) * 10**6,
              "%s: packets inside the slot [%d, %d)" % (name, slot, slot + man["slot_seconds"]))
        verify_checksums(pkts, name)

        sessions = G.sessions_from_pcap(path)
        got = G.summarize(sessions)
        check(got == sc["sessions"], "%s: sessions %s, manifest %s" % (name, got, sc["sessions"]))
        check(G.per_source(sessions) == sc["sources"], "%s: per-source counts" % name)
        srcs = set(sc["sources"])
        named = {a["source_ip"] for a in sc["expect_alerts"]} | set(sc["quiet_sources"])
        check(srcs <= named, "%s: every source has an expectation (%s)" % (name, srcs - named))

        if not have_replay:
            continue
        orders = {"first": sessions, "reversed": sessions[::-1]}
        sh = list(sessions)
        random.Random(i).shuffle(sh)
        orders["shuffled"] = sh
        orders["written"] = write_order(sessions)
        for cfg, ini in (("default", ini_default), ("rules", ini_rules)):
            exp = [a for a in sc["expect_alerts"] if cfg == "rules" or a["config"] == "default"]
            for oname, ss in orders.items():
                tag = "%s/%s/%s" % (name, cfg, oname)
                alerts = replay(binary, ini, ss, tmp, tag.replace("/", "_"))
                if alerts is not None:
                    compare_alerts(alerts, exp, sc["quiet_sources"], tag,
                                   time_order=oname == "first")
        for v in sc["variants"]:
            ini = os.path.join(tmp, "variant.ini")
            write_ini(ini, rules=True, extra=v["config"])
            tag = "%s/%s" % (name, v["name"])
            alerts = replay(binary, ini, sessions, tmp, tag.replace("/", "_"))
            if alerts is not None:
                compare_alerts(alerts, v["expect_alerts"], [], tag)

    # bulk
    bout = os.path.join(tmp, "bulk")
    n = 3000
    t0 = time.monotonic()
    bm = G.generate_bulk(bout, n, start=start, span=600, quiet=True)
    print("bulk %d sessions: %d packets in %.2fs" % (n, bm["packets"], time.monotonic() - t0))
    bpath = os.path.join(bout, "bulk.pcap")
    pkts = rdpcap(bpath)
    check(len(pkts) == bm["packets"], "bulk: packet count")
    ts = [int(round(float(p.time) * 1e6)) for p in pkts]
    check(ts == sorted(ts), "bulk: packets in time order")
    check(bm["start"] * 10**6 <= ts[0] and ts[-1] < (bm["start"] + 600 + 60) * 10**6,
          "bulk: packet times within the span")
    verify_checksums(pkts, "bulk", limit=3000)
    bs = G.sessions_from_pcap(bpath)
    check(len(bs) == n, "bulk: %d sessions read back, %d written" % (len(bs), n))
    kinds = bm["sessions_by_kind"]
    check(sum(1 for s in bs if s["proto"] == 6) == kinds["tcp"] + kinds["refused"] and
          sum(1 for s in bs if s["proto"] == 17) == kinds["dns"] + kinds["ntp"] and
          sum(1 for s in bs if s["proto"] == 1) == kinds["icmp"], "bulk: sessions by kind")
    if have_replay:
        alerts = replay(binary, ini_rules, bs, tmp, "bulk")
        if alerts is not None:
            check(alerts == [], "bulk: no alerts (%s)" % sorted({G.attack_key(a) for a in alerts}))

    if FAILS:
        print("%d check(s) failed" % len(FAILS), file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
