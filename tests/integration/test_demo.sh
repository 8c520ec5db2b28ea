#!/usr/bin/env bash
# Integration: scripts/demo end to end, with the binaries of the build under test.
#   test_demo.sh SOURCE_DIR BUILD_DIR
# The demo starts its own broker, viewer, producer and two detectors (not the ctest 'kafka'
# fixture) and stops them; it needs the Kafka jars already fetched (scripts/kafka-local fetch).
# Checks: exit status 0, an alert line for each expected rule, the summary's claims (every
# session published, one alert per attack, the alerts fanwatch-replay predicts apart from its
# final updates at the end of the sample, the allowlisted scanner silent), and that nothing it
# started is left running. Default alert semantics (alert.grouping = attack): the sweep is one
# address_sweep alert whose fanwatch.by_port lists 445, no address_sweep_port alert.
set -euo pipefail
SRC="${1:?usage: test_demo.sh SOURCE_DIR BUILD_DIR}"
BUILD="${2:?usage: test_demo.sh SOURCE_DIR BUILD_DIR}"
OUT="$(mktemp "${TMPDIR:-/tmp}/fw-test-demo.XXXXXX")"
trap 'rm -f "$OUT" "$OUT.demo"' EXIT

fail() {
	echo "--- scripts/demo output"
	cat "$OUT"
	echo "FAIL: $*"
	exit 1
}

start=$SECONDS
rc=0
FW_BUILD_DIR="$BUILD" FW_DEMO_BUILD=0 "$SRC/scripts/demo" >"$OUT" 2>&1 || rc=$?
took=$((SECONDS - start))
((rc == 0)) || fail "scripts/demo exited with status $rc"
cp "$OUT" "$OUT.demo" # $OUT is reused by the checks of --help and failures below

# one alert line per rule: "<rule> <source> -> <target> <count>/<threshold> <detector> <message>"
for rule in address_sweep port_scan private_leak; do
	grep -Eq "^$rule +[0-9.]+ +-> " "$OUT" || fail "no $rule alert line"
done
# the sweep's ports (fanwatch.by_port) in its target; address_sweep_port is folded into it
grep -Eq '^address_sweep +131\.206\.20\.77 +-> \*:445[ ,]' "$OUT" || fail "no sweep of 445 by 131.206.20.77"
if grep -Eq '^address_sweep_port ' "$OUT"; then fail "an address_sweep_port alert (folded into address_sweep by default)"; fi
grep -Eq '^port_scan +131\.206\.61\.23 +-> 131\.206\.8\.20 ' "$OUT" || fail "no port scan of 131.206.8.20"
grep -Eq '^private_leak +10\.10\.3\.7 +-> 192\.168\.7\.20:443 ' "$OUT" || fail "no private_leak of 10.10.3.7"
if grep -Eq '^[a-z_]+ +131\.206\.250\.10 ' "$OUT"; then fail "the allowlisted scanner raised an alert"; fi
for rule in session_spike session_spike_total; do
	if grep -Eq "^$rule " "$OUT"; then fail "unexpected $rule alert"; fi
done

n="$(sed -n 's/^   sample: \([0-9]*\) sessions.*/\1/p' "$OUT")"
[[ -n "$n" ]] || fail "no sample line"
grep -q "^   producer   published $n sessions to Kafka" "$OUT" || fail "not every session was published"
grep -q "the same alerts as fanwatch-replay" "$OUT" || fail "the alerts differ from fanwatch-replay's"
grep -Eq "replay's [0-9]+ final update\(s\) \(state \"ended\"\) at the end of its input" "$OUT" ||
	fail "the summary does not say which of replay's documents were not compared"
# one alert (event.id) per attack, and per rule the alerts and their documents
grep -Eq '^   alerts +[0-9]+ alerts \(event\.id\) in [0-9]+ documents: one alert per attack' "$OUT" ||
	fail "not one alert per attack"
grep -Eq '^     address_sweep +1 alert, [0-9]+ documents?; 131\.206\.20\.77: [0-9]+ hosts, ports 445 \([0-9]+ hosts\)' "$OUT" ||
	fail "the summary's sweep line is not one alert with its port 445"
grep -Eq '^     port_scan +1 alert, [0-9]+ documents?$' "$OUT" || fail "the port scan is not one alert"
grep -Eq '^     private_leak +2 alerts, [0-9]+ documents?$' "$OUT" || fail "not one private_leak alert per source"
grep -Eq 'scanner +131\.206\.250\.10 \(allowlisted\): [0-9]+ sessions, 0 alerts; without the allowlist it would raise address_sweep, port_scan$' "$OUT" ||
	fail "the scanner line is not as expected"
for i in 1 2; do
	grep -Eq "^   detector-$i +analysed [1-9][0-9]* sessions, owns 3 of 6 partitions" "$OUT" ||
		fail "detector-$i did not analyse its share"
done
grep -q '^== stopped everything it started' "$OUT" || fail "no clean stop"

# nothing of the demo still running (its temporary directory is in every command line)
tmpdir="$(sed -n 's|.*(state in \(.*\)/kafka)$|\1|p' "$OUT")"
[[ -n "$tmpdir" ]] || fail "no temporary directory in the output"
[[ ! -e "$tmpdir" ]] || fail "$tmpdir was not removed"
if pgrep -f -- "$tmpdir" >/dev/null; then
	pgrep -af -- "$tmpdir"
	fail "processes of the demo are still running"
fi
# --help describes it and starts nothing; an unknown argument is a usage error
"$SRC/scripts/demo" --help >"$OUT" 2>&1 || fail "scripts/demo --help failed"
grep -q '^Builds the daemons' "$OUT" || fail "scripts/demo --help printed no description"
grep -q '^== ' "$OUT" && fail "scripts/demo --help ran the demo"
rc=0
"$SRC/scripts/demo" --bogus >"$OUT" 2>&1 || rc=$?
((rc == 2)) || fail "scripts/demo --bogus exited $rc, not 2"
grep -q "Try 'scripts/demo --help'" "$OUT" || fail "no Try line for an unknown argument"

# a failed demo (here: no binaries where it is told to look) keeps the directory its
# messages point into, and says where
rc=0
FW_BUILD_DIR="$OUT.nobuild" FW_DEMO_BUILD=0 FW_SETUP_SKIP=1 "$SRC/scripts/demo" >"$OUT" 2>&1 || rc=$?
((rc != 0)) || fail "scripts/demo without binaries succeeded"
kept="$(sed -n 's|^demo: kept \(.*\) for its logs.*|\1|p' "$OUT")"
[[ -n "$kept" && -d "$kept" ]] || fail "a failed demo did not keep its directory"
rm -rf "$kept"
echo "PASS: scripts/demo in ${took} s"
sed -n '/^== alerts/,$p' "$OUT.demo"
