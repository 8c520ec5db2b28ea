#!/bin/sh
# fanwatch-replay end to end on tests/data/replay: the expected alerts from the JSON-lines
# sample, the same alert ids from its msgpack version (and from stdin, and over 6 partitions),
# the summary, bad-record reporting, --strict and the exit statuses.
#   replay.sh <fanwatch-replay> <tests/data/replay>
set -eu
BIN=$1
DATA=$2
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# The environment must not change the configuration under test.
for v in $(env | sed -n 's/^\(FANWATCH_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# The committed sample is what make_sample.py writes (deterministic).
"$PY" "$DATA/make_sample.py" "$TMP/sample.jsonl"
cmp -s "$TMP/sample.jsonl" "$DATA/sample.jsonl" ||
        fail "sample.jsonl differs from make_sample.py's output: regenerate it"

cat >"$TMP/replay.ini" <<INI
[detector]
name = replay-test
[detect]
rules = $DATA/rules.ini
[alert]
viewer_url = https://arkime.example:8005
INI

run() { # run OUT ERR args...: the exit status in $rc
        out=$1
        err=$2
        shift 2
        rc=0
        "$BIN" "$@" >"$out" 2>"$err" || rc=$?
}

# 1. JSON lines: the expected alerts, nothing for the benign hosts.
run "$TMP/json.out" "$TMP/json.err" -c "$TMP/replay.ini" --input "$DATA/sample.jsonl"
[ "$rc" -eq 0 ] || { cat "$TMP/json.err" >&2; fail "json run exited $rc"; }
"$PY" - "$TMP/json.out" <<'PYEOF' || fail "json alerts (see above)"
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def key(a):
    return (a["rule"]["id"], a.get("source", {}).get("ip"),
            a.get("destination", {}).get("ip"), a.get("destination", {}).get("port"))
# one alert per attack: the sweep on 445 is one address_sweep carrying its port
got = sorted(set(key(a) for a in alerts))
want = sorted([
    ("address_sweep", "10.9.9.9", None, None),
    ("port_scan", "131.206.5.5", "131.206.7.7", None),
    ("private_leak", "192.168.1.10", "172.16.0.5", None),  # one session: its destination
])
ok = True
sweep = [a for a in alerts if a["rule"]["id"] == "address_sweep"]
if not sweep or sweep[0]["fanwatch"].get("by_port", [{}])[0].get("port") != 445:
    print("address_sweep without its port 445:", sweep, file=sys.stderr)
    ok = False
if got != want:
    print("alerts:", got, "\nwanted:", want, file=sys.stderr)
    ok = False
for a in alerts:
    src = a.get("source", {}).get("ip", "")
    if src.startswith("131.206.20."):
        print("alert for a benign host:", a["rule"]["id"], src, file=sys.stderr)
        ok = False
    if a.get("observer", {}).get("name") != "replay-test":
        print("observer.name missing:", a.get("observer"), file=sys.stderr)
        ok = False
    if not a["fanwatch"].get("viewer_url", "").startswith("https://arkime.example:8005/"):
        print("viewer_url missing:", a["fanwatch"].get("viewer_url"), file=sys.stderr)
        ok = False
    if "created" in a.get("event", {}):
        print("event.created in replay output", file=sys.stderr)
        ok = False
    if len(a["event"]["id"]) != 32:
        print("bad id", a["event"]["id"], file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
PYEOF
grep -q '^  sessions read  *99$' "$TMP/json.err" || { cat "$TMP/json.err" >&2; fail "summary: sessions"; }
grep -q '^  bad records  *0$' "$TMP/json.err" || fail "summary: bad records"
grep -q '^    address_sweep  *2$' "$TMP/json.err" || fail "summary: alerts by rule (an alert and its final update)"
grep -q '^  state bytes' "$TMP/json.err" || fail "summary: state bytes"

ids() { "$PY" -c 'import json,sys; print("\n".join(sorted(json.loads(l)["event"]["id"] for l in open(sys.argv[1]) if l.strip())))' "$1"; }
ids "$TMP/json.out" >"$TMP/json.ids"
[ "$(sort -u "$TMP/json.ids" | wc -l)" -eq 3 ] || fail "expected 3 alert ids"

# 2. The same sessions as a msgpack record stream (docs/wire-format.md): same alerts.
"$PY" "$DATA/make_sample.py" --msgpack "$DATA/sample.jsonl" "$TMP/sample.msgpack"
run "$TMP/mp.out" "$TMP/mp.err" -c "$TMP/replay.ini" --input "$TMP/sample.msgpack" --format msgpack
[ "$rc" -eq 0 ] || { cat "$TMP/mp.err" >&2; fail "msgpack run exited $rc"; }
ids "$TMP/mp.out" >"$TMP/mp.ids"
cmp -s "$TMP/json.ids" "$TMP/mp.ids" || fail "msgpack alert ids differ from JSON's"
cmp -s "$TMP/json.out" "$TMP/mp.out" || fail "msgpack alerts differ from JSON's"
grep -q '(msgpack, ' "$TMP/mp.err" || fail "summary: format"

# ... detected automatically, read from stdin
rc=0
"$BIN" -c "$TMP/replay.ini" --input - <"$TMP/sample.msgpack" >"$TMP/stdin.out" 2>"$TMP/stdin.err" || rc=$?
[ "$rc" -eq 0 ] || fail "stdin run exited $rc"
cmp -s "$TMP/json.out" "$TMP/stdin.out" || fail "stdin (auto msgpack) alerts differ"

# 3. Six partitions route each source to one engine: the same alerts here.
run "$TMP/p6.out" "$TMP/p6.err" -c "$TMP/replay.ini" --input "$DATA/sample.jsonl" --partitions 6
[ "$rc" -eq 0 ] || fail "--partitions 6 exited $rc"
ids "$TMP/p6.out" >"$TMP/p6.ids"
cmp -s "$TMP/json.ids" "$TMP/p6.ids" || fail "--partitions 6 alert ids differ"
grep -q '^  partitions  *6$' "$TMP/p6.err" || fail "summary: partitions"

# 4. A malformed line is reported with its line number; later sessions still count.
{ head -n 40 "$DATA/sample.jsonl"; echo '{"id": "broken", "firstPacket": '; tail -n +41 "$DATA/sample.jsonl"; } >"$TMP/bad.jsonl"
run "$TMP/bad.out" "$TMP/bad.err" -c "$TMP/replay.ini" --input "$TMP/bad.jsonl"
[ "$rc" -eq 0 ] || fail "bad line without --strict exited $rc"
grep -q "bad.jsonl:41:" "$TMP/bad.err" || { cat "$TMP/bad.err" >&2; fail "bad line not reported as line 41"; }
grep -q '^  bad records  *1$' "$TMP/bad.err" || fail "summary: 1 bad record"
grep -q '^  sessions read  *99$' "$TMP/bad.err" || fail "sessions after the bad line lost"
ids "$TMP/bad.out" >"$TMP/bad.ids"
cmp -s "$TMP/json.ids" "$TMP/bad.ids" || fail "alerts changed by a bad line"
run "$TMP/strict.out" "$TMP/strict.err" -c "$TMP/replay.ini" --input "$TMP/bad.jsonl" --strict
[ "$rc" -eq 1 ] || fail "--strict with a bad line exited $rc, not 1"
run "$TMP/strict2.out" "$TMP/strict2.err" --strict -c "$TMP/replay.ini" --input "$DATA/sample.jsonl"
[ "$rc" -eq 0 ] || fail "--strict on clean input exited $rc"

# 5. Exit statuses: usage errors 2, unreadable input 1.
run "$TMP/u.out" "$TMP/u.err" -c "$TMP/replay.ini"
[ "$rc" -eq 2 ] || fail "missing --input exited $rc, not 2"
run "$TMP/u.out" "$TMP/u.err" --input "$DATA/sample.jsonl" --format xml
[ "$rc" -eq 2 ] || fail "bad --format exited $rc, not 2"
run "$TMP/u.out" "$TMP/u.err" --input "$DATA/sample.jsonl" --partitions 0
[ "$rc" -eq 2 ] || fail "--partitions 0 exited $rc, not 2"
run "$TMP/u.out" "$TMP/u.err" --input "$TMP/does-not-exist.jsonl"
[ "$rc" -eq 1 ] || fail "missing input file exited $rc, not 1"
grep -q "does-not-exist.jsonl" "$TMP/u.err" || fail "missing input file not named"
run "$TMP/u.out" "$TMP/u.err" -c "$TMP/replay.ini" --check-config
[ "$rc" -eq 0 ] || { cat "$TMP/u.err" >&2; fail "--check-config exited $rc"; }

# Without the rules file there is no private_leak alert (the defaults have no rules).
run "$TMP/norules.out" "$TMP/norules.err" --input "$DATA/sample.jsonl"
[ "$rc" -eq 0 ] || fail "run without a configuration exited $rc"
! grep -q '"private_leak"' "$TMP/norules.out" || fail "private_leak without its rule"
[ "$(ids "$TMP/norules.out" | sort -u | wc -l)" -eq 2 ] || fail "expected 2 alerts without rules"

# 6. Garbage (issue 15): every bad-record line is printable ASCII (other bytes as \xNN), only
# the first 10 are shown and the rest counted; an input without a session fails --strict.
"$PY" -c 'import random, sys; r = random.Random(15); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(200000)))' >"$TMP/garbage.bin"
run "$TMP/g.out" "$TMP/g.err" --input "$TMP/garbage.bin" --format json
[ "$rc" -eq 0 ] || fail "garbage without --strict exited $rc"
[ "$(grep -c '^fanwatch-replay: bad record: ' "$TMP/g.err")" -eq 10 ] || fail "not 10 bad-record lines: $(grep -c 'bad record' "$TMP/g.err")"
grep -q '^fanwatch-replay: [0-9][0-9]* more bad records not shown (the first 10 are above; --show-bad 0 shows all)$' "$TMP/g.err" ||
        fail "no count of the bad records not shown"
total="$(sed -n 's/^fanwatch-replay: \([0-9]*\) more bad records not shown.*/\1/p' "$TMP/g.err")"
run "$TMP/g.out" "$TMP/g.all" --input "$TMP/garbage.bin" --format json --show-bad 0
[ "$(grep -c '^fanwatch-replay: bad record: ' "$TMP/g.all")" -eq $((total + 10)) ] ||
        fail "--show-bad 0 did not show all $((total + 10)) bad records"
! LC_ALL=C grep -q '[^[:print:]]' "$TMP/g.all" || fail "--show-bad 0: raw bytes on stderr"
grep -q '\\x[0-9a-f][0-9a-f]' "$TMP/g.err" || fail "no escaped byte in the bad-record lines"
! LC_ALL=C grep -q '[^[:print:]]' "$TMP/g.err" || fail "raw control or non-ASCII bytes on stderr"
[ "$(wc -l <"$TMP/g.err")" -lt 40 ] || fail "garbage: $(wc -l <"$TMP/g.err") lines on stderr"
run "$TMP/g.out" "$TMP/g.err" --input "$TMP/garbage.bin" --format json --strict
[ "$rc" -eq 1 ] || fail "garbage with --strict exited $rc, not 1"
: >"$TMP/empty.jsonl"
run "$TMP/e.out" "$TMP/e.err" --input "$TMP/empty.jsonl" --strict
[ "$rc" -eq 1 ] || fail "empty input with --strict exited $rc, not 1"
grep -q "^fanwatch-replay: error: no session read from $TMP/empty.jsonl$" "$TMP/e.err" || fail "empty input: no message"
run "$TMP/e.out" "$TMP/e.err" --input - --strict </dev/null
[ "$rc" -eq 1 ] || fail "empty stdin with --strict exited $rc, not 1"
run "$TMP/e.out" "$TMP/e.err" --input "$TMP/empty.jsonl"
[ "$rc" -eq 0 ] || fail "empty input without --strict exited $rc"
grep -q "^fanwatch-replay: warning: no session read from" "$TMP/e.err" || fail "empty input: no warning"

echo "replay: ok"
