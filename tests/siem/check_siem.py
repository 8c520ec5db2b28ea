#!/usr/bin/python3
"""SIEM hand-off (docs/siem.md): real alerts against docs/alert.schema.json and docs/siem/*.

  check_siem.py <fanwatch-replay> <source dir>

1. Runs fanwatch-replay on the bundled sample (tests/data/replay, with its rules file and a
   viewer URL, as tests/cli/replay.sh does) and on a second input written here that covers what
   the sample lacks: IPv6 (plain, IPv4-mapped and IPv4-compatible addresses), escalations,
   both spike kinds (with baselines), an expression rule with a known and one with an unknown
   ATT&CK technique, UDP and a protocol without a transport name.
2. Validates every alert with jsonschema's Draft 2020-12 validator, formats checked.
3. Parses the example configurations (YAML, TOML, JSON; logstash.conf structurally) and
   collects the alert fields they rely on; every one must be present in every alert (fields
   only some alert kinds carry are allowed to be absent only where docs/alerts.md says so).
4. Checks that docs/siem/index-template.json maps every field of every alert, with a type
   that fits the value (ip for addresses, date for times, long for integers, ...).
5. Proves the checks can fail: mutated alerts (no event.id, wrong types, a bad address) are
   rejected by the schema, and a field missing from an alert fails the field check.
"""
import copy
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
from fwtest import doc_get  # noqa: E402

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError:
    sys.exit("check_siem: python3-jsonschema is required (apt-get install python3-jsonschema)")

FAILURES = []


QUIET = [False]


def fail(msg):
    FAILURES.append(msg)
    if not QUIET[0]:
        print("FAIL:", msg, file=sys.stderr)


# ------------------------------------------------------------------------------------------
# real alerts

T0 = 1716026400000  # 2024-05-18T10:00:00Z


def synthetic_sessions():
    """Viewer-shaped sessions (the replay's JSON-lines input) that raise every alert kind."""
    out = []

    def s(t, src, dst, dport, proto=6, pk=1, cid=None):
        item = {"id": "siem-%05d" % (len(out) + 1), "node": "sensor02", "firstPacket": t,
                "lastPacket": t, "@timestamp": t + 30000, "ipProtocol": proto,
                "source": {"ip": src, "port": 40000, "packets": pk, "bytes": 60 * pk},
                "destination": {"ip": dst, "port": dport, "packets": pk, "bytes": 60 * pk}}
        if proto == 6:
            item["tcpflags"] = dict(zip(["syn", "syn-ack", "ack", "psh", "fin", "rst", "urg",
                                         "srcZero", "dstZero"], (1, 0, 0, 0, 0, 0, 0, 0, 0)))
        if cid:
            item["network"] = {"community_id": cid}
        out.append(item)

    # spike baseline: one UDP session a minute, then 80 in one minute (session_spike, _total)
    for m in range(6):
        s(T0 + m * 60000 + 1000, "2001:db8:9::9", "2001:db8:9::1", 443, proto=17, pk=3)
    for i in range(80):
        s(T0 + 6 * 60000 + 1000 + i * 100, "2001:db8:9::9", "2001:db8:9::1", 443, proto=17, pk=3)
    # IPv6 sweep of 60 hosts on port 22: address_sweep(_port) and their escalations, scan_ssh
    for i in range(60):
        s(T0 + 7 * 60000 + i * 500, "2001:db8::66", "2001:db8:1::%x" % (i + 1), 22,
          cid="1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
    # IPv4-compatible source (inet_ntop writes ::1.2.3.4)
    for i in range(30):
        s(T0 + 8 * 60000 + i * 500, "::102:304", "2001:db8:2::%x" % (i + 1), 80)
    # IPv4-mapped port scan
    for i in range(20):
        s(T0 + 9 * 60000 + i * 500, "::ffff:10.7.7.7", "::ffff:10.8.8.8", 1000 + i)
    # protocol 253: no network.transport; a rule with an unknown technique
    for i in range(3):
        s(T0 + 10 * 60000 + i * 500, "10.66.0.1", "10.66.0.2", 0, proto=253)
    out.sort(key=lambda x: x["firstPacket"])
    return "".join(json.dumps(x) + "\n" for x in out)


SYNTH_RULES = """\
[odd_proto]
expression = ip.protocol == 253
threshold = 2
severity = 21
technique = T1999
[scan_ssh]
name = SSH to many hosts
description = One source opening SSH sessions to 40 or more hosts in a window.
reference = https://wiki.example/soc/scan-ssh
expression = port.dst == 22
threshold = 40
technique = T1595.001
"""


def check_operator_fields(sample, synth):
    """Issue 15: the pivot in ECS event.url/event.reference, rule.reference, meaningful
    rule.name, destination.ip of a one-session rule alert, human messages."""
    builtin = {"address_sweep", "address_sweep_port", "port_scan", "session_spike",
               "session_spike_total"}
    for a in sample + synth:
        rid, ev, fw = a["rule"]["id"], a["event"], a["fanwatch"]
        where = "%s %s" % (rid, ev["id"])
        if ev.get("url") != fw.get("viewer_url") or ev.get("reference") != fw.get("viewer_url"):
            fail("%s: event.url/event.reference %r/%r, fanwatch.viewer_url %r"
                 % (where, ev.get("url"), ev.get("reference"), fw.get("viewer_url")))
        if rid not in builtin and a["rule"]["name"] == rid:
            fail("%s: rule.name repeats rule.id" % where)
        if rid in ("address_sweep", "address_sweep_port", "port_scan") and \
                a["rule"].get("reference") != "https://attack.mitre.org/techniques/T1046/":
            fail("%s: rule.reference %r" % (where, a["rule"].get("reference")))
        msg = a["message"]
        if re.search(r"\b1 (sessions|hosts|ports)\b|\d+ms\b|\bin \d+[mhs]\b", msg):
            fail("%s: message %r (plural or duration)" % (where, msg))
    leak = [a for a in sample if a["rule"]["id"] == "private_leak"]
    if not leak or leak[0]["fanwatch"]["count"] != 1 or \
            leak[0].get("destination", {}).get("ip") != "172.16.0.5":
        fail("private_leak: a one-session rule alert must carry destination.ip 172.16.0.5")
    elif not leak[0]["message"].endswith(" had 1 session matching rule private_leak (threshold 1)"):
        fail("private_leak: message %r" % leak[0]["message"])
    ssh = [a for a in synth if a["rule"]["id"] == "scan_ssh"]
    for a in ssh:
        r = a["rule"]
        if (r["name"], r["reference"]) != ("SSH to many hosts", "https://wiki.example/soc/scan-ssh") \
                or not r["description"].startswith("One source opening SSH"):
            fail("scan_ssh: the rules file's name/description/reference not in rule.*: %r" % r)
    odd = [a for a in synth if a["rule"]["id"] == "odd_proto"]
    for a in odd:
        if a["rule"].get("reference") != "https://attack.mitre.org/techniques/T1999/":
            fail("odd_proto: rule.reference %r (its technique's page)" % a["rule"].get("reference"))
        if not a["rule"]["name"].startswith("Sessions matching ip.protocol == 253"):
            fail("odd_proto: rule.name %r" % a["rule"]["name"])


def replay(binary, conf, infile):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANWATCH_")}
    r = subprocess.run([binary, "-c", conf, "--input", infile, "--strict"], env=env,
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit("check_siem: %s exited %d:\n%s" % (binary, r.returncode, r.stderr))
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def real_alerts(binary, src, tmp):
    data = os.path.join(src, "tests", "data", "replay")
    conf1 = os.path.join(tmp, "sample.ini")
    with open(conf1, "w") as f:
        f.write("[detector]\nname = siem-test\n[detect]\nrules = %s\n"
                "[alert]\nviewer_url = https://arkime.example:8005\n"
                % os.path.join(data, "rules.ini"))
    sample = replay(binary, conf1, os.path.join(data, "sample.jsonl"))

    rules = os.path.join(tmp, "rules.ini")
    with open(rules, "w") as f:
        f.write(SYNTH_RULES)
    conf2 = os.path.join(tmp, "synth.ini")
    with open(conf2, "w") as f:
        f.write("[detector]\nname = siem-test-2\n[detect]\nrules = %s\n"
                "[alert]\nviewer_url = https://arkime.example:8005/arkime/\n"
                "grouping = window\n"
                "[spike]\nmin_count = 20\nwarmup = 3\n"
                "[spike_total]\nmin_count = 20\nwarmup = 3\n" % rules)
    inp = os.path.join(tmp, "synth.jsonl")
    with open(inp, "w") as f:
        f.write(synthetic_sessions())
    synth = replay(binary, conf2, inp)

    # one alert per attack (the default): the 445 sweep is one address_sweep with its port
    if len({a["event"]["id"] for a in sample}) != 3:
        fail("bundled sample: %d alert ids, expected 3" % len({a["event"]["id"] for a in sample}))
    if not any(a["fanwatch"].get("by_port") for a in sample):
        fail("bundled sample: no address_sweep with fanwatch.by_port")
    kinds = {a["rule"]["id"] for a in synth}
    want = {"address_sweep", "address_sweep_port", "port_scan", "session_spike",
            "session_spike_total", "odd_proto", "scan_ssh"}
    if not want <= kinds:
        fail("synthetic input: no alert for %s" % sorted(want - kinds))
    if not any(a["fanwatch"]["escalation"] > 0 for a in synth):
        fail("synthetic input: no escalation")
    check_operator_fields(sample, synth)
    ips = {a.get("source", {}).get("ip") for a in synth}
    for ip in ("2001:db8::66", "::1.2.3.4", "::ffff:10.7.7.7"):
        if ip not in ips:
            fail("synthetic input: no alert with source.ip %s (got %s)" % (ip, sorted(map(str, ips))))
    return sample + synth


# ------------------------------------------------------------------------------------------
# schema

def validator(src):
    with open(os.path.join(src, "docs", "alert.schema.json")) as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def check_schema(v, alerts):
    for a in alerts:
        for e in v.iter_errors(a):
            fail("schema: %s %s at %s: %s" % (a["rule"]["id"], a["event"]["id"],
                                              "/".join(map(str, e.absolute_path)), e.message))


def mutations(alert):
    """(description, mutated alert) pairs the schema must reject."""
    out = []

    def mut(desc, fn):
        b = copy.deepcopy(alert)
        fn(b)
        out.append((desc, b))

    mut("event.id missing", lambda b: b["event"].pop("id"))
    mut("event.id not hex", lambda b: b["event"].__setitem__("id", "X" * 32))
    mut("event.id a number", lambda b: b["event"].__setitem__("id", 12345))
    mut("@timestamp missing", lambda b: b.pop("@timestamp"))
    mut("@timestamp not a time", lambda b: b.__setitem__("@timestamp", "yesterday"))
    mut("event.severity a string", lambda b: b["event"].__setitem__("severity", "47"))
    mut("fanwatch.escalation negative", lambda b: b["fanwatch"].__setitem__("escalation", -1))
    mut("fanwatch.count a float", lambda b: b["fanwatch"].__setitem__("count", 1.5))
    mut("source.ip not an address", lambda b: b.__setitem__("source", {"ip": "10.0.0.256"}))
    mut("source.ip bad IPv6", lambda b: b.__setitem__("source", {"ip": "1:2:3:4:5:6:7:1.2.3.4"}))
    mut("event.kind not alert", lambda b: b["event"].__setitem__("kind", "event"))
    mut("unknown top-level field", lambda b: b.__setitem__("extra", 1))
    return out


def check_schema_rejects(v, alert):
    for desc, bad in mutations(alert):
        if v.is_valid(bad):
            fail("schema accepts a mutated alert: %s" % desc)


# ------------------------------------------------------------------------------------------
# the example configurations and the fields they rely on

def logstash_fields(text):
    """Structural check of logstash.conf; the alert fields it references."""
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)  # strings cannot unbalance braces
    stripped = re.sub(r"#[^\n]*", "", stripped)
    depth = 0
    for ch in stripped:
        depth += ch == "{"
        depth -= ch == "}"
        if depth < 0:
            break
    if depth != 0:
        fail("logstash.conf: unbalanced braces")
    for section in ("input", "filter", "output"):
        if not re.search(r"(?m)^%s\s*\{" % section, stripped):
            fail("logstash.conf: no %s section" % section)
    if not re.search(r"input\s*\{\s*kafka\s*\{", stripped):
        fail("logstash.conf: no kafka input")
    if not re.search(r"\belasticsearch\s*\{", stripped):
        fail("logstash.conf: no elasticsearch output")
    for opt in ("bootstrap_servers", "topics", "group_id", "codec", "document_id", "index"):
        if not re.search(r"\b%s\s*=>" % opt, stripped):
            fail("logstash.conf: option %s missing" % opt)
    if not re.search(r"\bcodec\s*=>\s*json\b", stripped):
        fail("logstash.conf: the kafka input must use codec => json")
    if '"%{[event][id]}"' not in text:
        fail('logstash.conf: document_id is not "%{[event][id]}"')
    # field references: %{[a][b]} in strings, [a][b] in conditionals
    refs = set()
    for m in re.finditer(r"%\{((?:\[[^\]\[]+\])+)\}", text):
        refs.add(".".join(re.findall(r"\[([^\]\[]+)\]", m.group(1))))
    for m in re.finditer(r"(?<![\w%{])((?:\[[A-Za-z@_][\w@.-]*\])+)", stripped):
        path = ".".join(re.findall(r"\[([^\]\[]+)\]", m.group(1)))
        if path != "tags":
            refs.add(path)
    return refs


VRL_PATH = re.compile(r"(?<![\w.!\"'])\.((?:[A-Za-z_@][\w@]*)(?:\.[A-Za-z_@][\w@]*)*)")


def vector_fields(cfg):
    refs = set()
    src = cfg.get("sources", {})
    kafka = [k for k, v in src.items() if v.get("type") == "kafka"]
    if len(kafka) != 1:
        fail("vector.toml: expected one kafka source")
    else:
        k = src[kafka[0]]
        for opt in ("bootstrap_servers", "group_id", "topics"):
            if opt not in k:
                fail("vector.toml: kafka source lacks %s" % opt)
    sinks = cfg.get("sinks", {})
    es = [v for v in sinks.values() if v.get("type") == "elasticsearch"]
    files = [v for v in sinks.values() if v.get("type") == "file"]
    if len(es) != 1 or len(files) != 1:
        fail("vector.toml: expected one elasticsearch and one file sink")
        return refs
    es = es[0]
    for opt in ("endpoints", "id_key", "mode"):
        if opt not in es:
            fail("vector.toml: elasticsearch sink lacks %s" % opt)
    if es.get("mode") != "bulk" or es.get("bulk", {}).get("action") != "index":
        fail("vector.toml: elasticsearch sink must use mode bulk, bulk.action index")
    transforms = cfg.get("transforms", {})
    # Walk the graph back from the sinks: a transform fed by the kafka source sees the raw
    # message; the ones after it see the alert.
    assigned = set()
    for name, t in transforms.items():
        if t.get("type") != "remap":
            fail("vector.toml: transform %s is not a remap" % name)
            continue
        source = t.get("source", "")
        raw = kafka and kafka[0] in t.get("inputs", [])
        for line in source.splitlines():
            lhs, eq, rhs = line.partition("=")
            if eq and not rhs.startswith("=") and not lhs.rstrip().endswith(("!", "<", ">", "=")):
                m = VRL_PATH.match(lhs.strip())
                if m:
                    assigned.add(m.group(1))
                    line = rhs
            if raw:
                continue  # .message etc. of the Kafka event, not of the alert
            refs.update(VRL_PATH.findall(line))
    key = es["id_key"]
    if key not in assigned:
        refs.add(key)
    elif key == "event.id":
        fail("vector.toml: the elasticsearch sink removes id_key from the document; "
             "id_key event.id would strip event.id")
    return refs - assigned


def filebeat_fields(cfg):
    refs = set()
    inputs = cfg.get("filebeat.inputs") or []
    kafka = [i for i in inputs if i.get("type") == "kafka"]
    if len(kafka) != 1:
        fail("filebeat.yml: expected one kafka input")
        return refs
    k = kafka[0]
    for opt in ("hosts", "topics", "group_id", "parsers"):
        if opt not in k:
            fail("filebeat.yml: kafka input lacks %s" % opt)
    if not any("ndjson" in p for p in k.get("parsers", [])):
        fail("filebeat.yml: no ndjson parser")
    ops = {}
    for p in k.get("processors", []):
        for name, body in p.items():
            if name == "copy_fields":
                for f in body["fields"]:
                    if f["to"] == "@metadata._id":
                        refs.add(f["from"])
            if name == "add_fields" and body.get("target") == "@metadata":
                ops.update(body["fields"])
    if not refs:
        fail("filebeat.yml: nothing sets @metadata._id")
    if ops.get("op_type") != "index":
        fail("filebeat.yml: @metadata.op_type must be index (create would drop escalations)")
    if "output.elasticsearch" not in cfg:
        fail("filebeat.yml: no output.elasticsearch")
    return refs


def rule_fields(rule):
    refs = {m["field"] for m in rule.get("risk_score_mapping", []) + rule.get("severity_mapping", [])}
    refs.add(rule["rule_name_override"])
    refs.update(re.findall(r"([A-Za-z_@][\w@]*(?:\.[\w@]+)+)\s*:", rule["query"]))
    return refs




def check_fields(name, refs, alerts):
    if not refs:
        fail("%s: no alert field references found" % name)
    for path in sorted(refs):
        for a in alerts:
            if doc_get(a, path) is None:
                fail("%s relies on %s, absent from %s alert %s"
                     % (name, path, a["rule"]["id"], a["event"].get("id")))
                break


# ------------------------------------------------------------------------------------------
# index template: every field mapped, with a fitting type

TIME = re.compile(r"^-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def fits(mtype, v):
    if v is None:
        return True
    if mtype in ("keyword", "text"):
        return isinstance(v, str)
    if mtype == "date":
        return isinstance(v, str) and TIME.match(v) is not None
    if mtype == "ip":
        try:
            ipaddress.ip_address(v)
            return True
        except (ValueError, TypeError):
            return False
    if mtype == "long":
        return isinstance(v, int) and not isinstance(v, bool)
    if mtype in ("double", "float"):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if mtype == "boolean":
        return isinstance(v, bool)
    return False


def check_mapping(props, doc, path, where):
    for k, v in doc.items():
        p = path + k
        m = props.get(k)
        if m is None:
            fail("index-template.json: %s (%s) is not mapped" % (p, where))
            continue
        vals = v if isinstance(v, list) else [v]
        for x in vals:
            if isinstance(x, dict):
                if "properties" not in m:
                    fail("index-template.json: %s is an object but mapped as %s" % (p, m.get("type")))
                else:
                    check_mapping(m["properties"], x, p + ".", where)
            elif not fits(m.get("type"), x):
                fail("index-template.json: %s = %r does not fit type %s (%s)" % (p, x, m.get("type"), where))


# ------------------------------------------------------------------------------------------

def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_siem.py <fanwatch-replay> <source dir>")
    binary, src = sys.argv[1], sys.argv[2]
    siem = os.path.join(src, "docs", "siem")
    with tempfile.TemporaryDirectory() as tmp:
        alerts = real_alerts(binary, src, tmp)

    v = validator(src)
    check_schema(v, alerts)
    check_schema_rejects(v, alerts[0])

    with open(os.path.join(siem, "logstash.conf")) as f:
        ls = logstash_fields(f.read())
    with open(os.path.join(siem, "vector.toml"), "rb") as f:
        vec = vector_fields(tomllib.load(f))
    with open(os.path.join(siem, "filebeat.yml")) as f:
        fb = filebeat_fields(yaml.safe_load(f))
    with open(os.path.join(siem, "elastic-security-rule.json")) as f:
        rule = rule_fields(json.load(f))
    with open(os.path.join(siem, "ingest-pipeline.json")) as f:
        pipe = json.load(f)
    set_by_pipeline = {p["set"]["field"] for p in pipe["processors"] if "set" in p}
    rule -= set_by_pipeline
    for name, refs in (("logstash.conf", ls), ("vector.toml", vec), ("filebeat.yml", fb),
                       ("elastic-security-rule.json", rule)):
        print("%-27s relies on %s" % (name, ", ".join(sorted(refs))))
        check_fields(name, refs, alerts)
    for must in ("event.id", "fanwatch.escalation"):
        if must not in ls:
            fail("logstash.conf does not use %s" % must)
    if "event.id" not in vec or "event.id" not in fb:
        fail("vector.toml and filebeat.yml must key documents on event.id")

    # The field check can fail: an alert without event.id is caught.
    before = len(FAILURES)
    broken = copy.deepcopy(alerts[0])
    del broken["event"]["id"]
    QUIET[0] = True
    check_fields("self-test", {"event.id"}, [broken])
    QUIET[0] = False
    if len(FAILURES) != before + 1:
        fail("field check did not notice a missing event.id")
    else:
        FAILURES.pop()

    with open(os.path.join(siem, "index-template.json")) as f:
        tmpl = json.load(f)
    props = tmpl["template"]["mappings"]["properties"]
    for a in alerts:
        check_mapping(props, a, "", a["rule"]["id"])
    for extra in set_by_pipeline:  # event.ingested: a date the pipeline adds
        if (doc_get(props, extra.replace(".", ".properties.")) or {}).get("type") != "date":
            fail("index-template.json: %s (set by the ingest pipeline) is not mapped as a date" % extra)

    if FAILURES:
        print("check_siem: %d failure(s)" % len(FAILURES), file=sys.stderr)
        return 1
    print("check_siem: ok (%d alerts, %d schema mutations rejected)"
          % (len(alerts), len(mutations(alerts[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
