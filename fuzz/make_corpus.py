#!/usr/bin/env python3
"""Regenerate the checked-in seed corpora (fuzz/corpus/<target>/) and dictionaries (fuzz/dict/).

    fuzz/make_corpus.py [BUILD_DIR]      (default build-fuzz; run scripts/fuzz 0 first)

Seeds are small valid inputs taken from the test data:
  fuzz_wire         msgpack records: fw_session_encode of tests/support/session_gen.c sessions
                     (written by BUILD_DIR/fuzz/fuzz_make_seeds)
  fuzz_arkime_page   tests/data/arkime/*.json pages, plus single documents from
                     tests/data/replay/sample.jsonl (nested, flattened, a sessions3 doc)
  fuzz_expr          expressions from tests/unit/test_expr.c (the study's rule among them)
  fuzz_config        tests/data/daemon/*.ini and tests/data/config/*.ini; configuration and rules
                     file joined by a form feed (detect.rules + detector/rules.example.ini)
  fuzz_session_file  a format byte + a msgpack stream, JSON lines, a whole page
The output is deterministic."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ = os.path.join(ROOT, "fuzz")
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build-fuzz")


def corpus(target):
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    return d


def write(d, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(*path):
    with open(os.path.join(ROOT, *path), "rb") as f:
        return f.read()


def c_unescape(s):
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


# ---- msgpack: the wire format and the session_file msgpack stream ----
wire = corpus("fuzz_wire")
sfile = corpus("fuzz_session_file")
subprocess.run([os.path.join(BUILD, "fuzz", "fuzz_make_seeds"), wire, sfile], check=True)

# ---- Arkime pages and documents ----
page = corpus("fuzz_arkime_page")
adir = os.path.join(ROOT, "tests", "data", "arkime")
for f in sorted(os.listdir(adir)):
    write(page, f, read("tests", "data", "arkime", f))
lines = read("tests", "data", "replay", "sample.jsonl").splitlines()
write(page, "doc-nested.json", lines[0])
write(page, "doc-flat.json", next(l for l in lines if b'"source.ip"' in l))
write(page, "doc-sessions3.json",
      b'{"firstPacket":1716026405123,"lastPacket":1716026405200,"ipProtocol":6,'
      b'"node":"sensor01","source":{"ip":"10.0.0.5","port":51544,"packets":1,"bytes":74},'
      b'"destination":{"ip":"fe80::1","port":445,"packets":0,"bytes":0},'
      b'"network":{"community_id":"1:abc="},"tcpflags":{"syn":1},"_id":"240518-doc"}')

# ---- expressions ----
expr = corpus("fuzz_expr")
src = read("tests", "unit", "test_expr.c").decode()
found = []
for m in re.finditer(r'\b(?:m|check_text|compile_ok)\("((?:[^"\\]|\\.)*)"', src):
    found.append(m.group(1))
for m in re.finditer(r'\{"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"\}', src):
    found.append(m.group(1))
study = re.search(r'#define STUDY_RULE\s*\\\s*"([^"]*)"\s*\\\s*"([^"]*)"', src)
exprs = [study.group(1) + study.group(2)]
for e in found:
    if e not in exprs:
        exprs.append(e)
# A handful: every third one (the table is ordered by field and operator) plus the study rule.
exprs = exprs[:1] + exprs[1::3]
for i, e in enumerate(exprs):
    write(expr, "expr-%03d.txt" % i, c_unescape(e))
# Inputs that once failed (docs/fuzzing.md, "Bugs found and fixed"), kept as seeds.
write(expr, "regress-line-break-in-list.txt", b'node=["\n\xff]')

# ---- configuration files and rules files ----
conf = corpus("fuzz_config")
for sub in ("daemon", "config"):
    d = os.path.join(ROOT, "tests", "data", sub)
    for f in sorted(os.listdir(d)):
        if f.endswith(".ini") and f != "long_line.ini":
            write(conf, "%s-%s" % (sub, f), read("tests", "data", sub, f))
detect = (b"[detect]\nwindow = 5m\nlateness = 10m\nexact_max = 64\nrules = rules.ini\n"
          b"[sweep]\nthreshold = 25\nallow_src = 10.0.0.0/8, 2001:db8::/32\n"
          b"failed_threshold = 5\nfailed_share = 0.5\n"
          b"[spike]\nenabled = true\nk = 6\nalpha = 0.1\ninterval = 1m\n"
          b"[alert]\nescalation = 2\nviewer_url = https://arkime:8005\n")
write(conf, "detect-rules-example.ini", detect + b"\f" + read("detector", "rules.example.ini"))
write(conf, "detect-rules-daemon.ini", detect + b"\f" + read("tests", "data", "daemon", "rules.ini"))
write(conf, "rules-only.ini", b"\f" + read("tests", "data", "replay", "rules.ini"))

# ---- session_file: JSON formats (the msgpack stream came from fuzz_make_seeds) ----
write(sfile, "json-lines.jsonl", b"\x01" + b"\n".join(lines[:6]) + b"\n")
write(sfile, "auto-page.json", b"\x00" + read("tests", "data", "arkime", "sessions_flat.json"))
write(sfile, "json-bulk.jsonl",
      b"\x01" + b'{"index":{"_id":"240518-bulk"}}\n' + lines[0] + b"\n\n" + b"not json\n")

# ---- dictionaries ----
ddir = os.path.join(FUZZ, "dict")
os.makedirs(ddir, exist_ok=True)


def dict_escape(b):
    out = ""
    for c in b:
        if c == 0x22 or c == 0x5C:
            out += "\\" + chr(c)
        elif 0x20 <= c < 0x7F:
            out += chr(c)
        else:
            out += "\\x%02X" % c
    return out


def write_dict(name, header, entries):
    seen, body = set(), []
    for e in entries:
        if isinstance(e, str):
            e = e.encode()
        if e in seen:
            continue
        seen.add(e)
        body.append('"%s"' % dict_escape(e))
    with open(os.path.join(ddir, name), "w") as f:
        f.write("# %s (generated by fuzz/make_corpus.py)\n" % header)
        f.write("\n".join(body) + "\n")


mp_keys = ["v", "id", "rid", "node", "cid", "fp", "lp", "ts", "sip", "dip", "sp", "dp", "pr",
           "spk", "dpk", "sby", "dby", "sdb", "ddb", "tf", "syn", "syn-ack", "ack", "psh", "fin",
           "rst", "urg", "src-zero", "dst-zero"]
msgpack = [bytes([0xA0 + len(k)]) + k.encode() for k in mp_keys]
msgpack += [b"\x81\xa1v\x01", b"\x8f\xa1v\x01", b"\xde\x00\x10\xa1v\x01", b"\xc4\x04", b"\xc4\x10",
            b"\xc5\x00\x04", b"\xcc", b"\xcd", b"\xce", b"\xcf", b"\xd0", b"\xd3", b"\xd9",
            b"\xda\x00", b"\xdb\x00\x00\x00", b"\xdc\x00", b"\xde\x00", b"\xc0", b"\xc2", b"\xc3",
            b"\xca", b"\xcb", b"\xc1", b"\xcf\x00\x20\x00\x00\x00\x00\x00\x00",
            b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff", b"\xcd\xff\xff", b"\xce\x00\x01\x00\x00"]
write_dict("msgpack.dict", "fuzz_wire: the wire format's keys and msgpack type bytes", msgpack)

fields = ("id,_id,rootId,node,firstPacket,lastPacket,@timestamp,ipProtocol,source,destination,"
          "client,server,network,tcpflags,ip,port,packets,bytes,community_id,syn,syn-ack,ack,psh,"
          "fin,rst,urg,srcZero,dstZero,source.ip,source.port,source.packets,source.bytes,"
          "destination.ip,destination.port,destination.packets,destination.bytes,client.bytes,"
          "server.bytes,network.community_id,tcpflags.syn,tcpflags.syn-ack,tcpflags.ack,"
          "tcpflags.psh,tcpflags.fin,tcpflags.rst,tcpflags.urg,tcpflags.srcZero,"
          "tcpflags.dstZero,data,recordsTotal,recordsFiltered,error,bsqErr,success,text,index")
json = ['"%s"' % f for f in fields.split(",")] + ['"%s":' % f for f in fields.split(",")]
json += ["{", "}", "[", "]", ":", ",", "null", "true", "false", "[]", "{}", "-1", "0", "1e3", "1.5",
         "65535", "65536", "9007199254740992", "9007199254740993", "-0", "\"10.0.0.1\"",
         "\"2001:db8::1\"", "\"::ffff:1.2.3.4\"", "\"2024-05-18T10:00:05.123Z\"",
         "\"2024-05-18T10:00:05+02:00\"", "\\u0000", "\\ud800", "\"\"", "{\"data\":["]
write_dict("json.dict", "fuzz_arkime_page: Arkime JSON keys and values", json)
write_dict("session_file.dict", "fuzz_session_file: JSON and msgpack tokens",
           json + msgpack + [b"\n", b'{"index":{"_id":"x"}}\n'])

expr_tokens = ["ip.src", "ip.dst", "ip", "port.src", "port.dst", "port", "ip.protocol", "packets",
               "packets.src", "packets.dst", "bytes", "bytes.src", "bytes.dst", "databytes",
               "databytes.src", "databytes.dst", "tcpflags.syn", "tcpflags.syn-ack",
               "tcpflags.ack", "tcpflags.psh", "tcpflags.fin", "tcpflags.rst", "tcpflags.urg",
               "node", "communityId", "rootId", "ip.dst:port", "==", "=", "!=", "<", "<=", ">",
               ">=", "&&", "||", "&", "|", "!", "(", ")", "[", "]", ",", "\\,", "\"", "EXISTS!",
               "ipv4", "ipv6", "tcp", "udp", "icmp", "icmp6", "icmpv6", "igmp", "gre", "esp",
               "ospf", "pim", "sctp", "10.0.0.0/8", "131.206.0.0/16", "10.1", "2001:db8::/32",
               "::", "::1", "fe80::1.22", ":445", ".445", "/", "*", "?", "-", "80-90",
               "4294967295", "9007199254740992", "65535", "65536", "255", "256", "$", "db:", "/re/"]
write_dict("expr.dict", "fuzz_expr: fields, operators and value forms", expr_tokens)

conf_keys = re.findall(r'"((?:alert|detect|detector|log|metrics|port_scan|spike|spike_total|'
                       r'sweep|sweep_port|topics)\.[a-z_]+)"',
                       (read("detector", "detect_conf.c") + read("common", "daemon_conf.h")).decode())
config = ["[%s]" % k.split(".")[0] for k in conf_keys] + [k.split(".", 1)[1] + " = " for k in conf_keys]
config += conf_keys + ["[kafka]", "kafka.", "bootstrap.servers", "sasl.password", "_file", " = ",
                       "=", ":", ";", "#", "\n", "\n    ", "\r\n", "\f", b"\xef\xbb\xbf", "true",
                       "false", "yes", "off", "250ms", "30s", "5m", "2h", "1d", "-1", "0.5", "1e9",
                       "inf", "nan", "10.0.0.0/8, ::1", "[rule]", "expression = ",
                       "threshold = ", "severity = ", "technique = ", "allow_src = ",
                       "enabled = ", "T1046", "T1021.002", "address_sweep"]
write_dict("config.dict", "fuzz_config: INI syntax, the detector's keys, rules keys", config)
print("corpora and dictionaries written under", FUZZ)
