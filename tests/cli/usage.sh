#!/usr/bin/env bash
# The command line of fanwatch-producer, fanwatch-detector and fanwatch-replay (common/cli.c):
# usage lines that list every option, GNU-style usage errors ("PROG: message" and
# "Try 'PROG --help' for more information." on stderr, nothing on stdout, exit 2) with the
# program's name, never the path it was started by, and no log lines.
# Usage: usage.sh <fanwatch-producer> <fanwatch-detector> <fanwatch-replay>
set -u
fails=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# run <bin> <args...>: exit status in $rc, stdout in $out, stderr in $err (no FANWATCH_* variables)
run() {
	local bin="$1"
	shift
	rc=0
	env -i PATH="$PATH" "$bin" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	out="$(cat "$tmp/out")"
	err="$(cat "$tmp/err")"
}

# usage_error <bin> <message> <args...>: exit 2, exactly the two GNU lines on stderr, no stdout
usage_error() {
	local bin="$1" msg="$2" name
	shift 2
	name="$(basename "$bin")"
	run "$bin" "$@"
	local want
	want="$(printf "%s: %s\nTry '%s --help' for more information." "$name" "$msg" "$name")"
	if [[ "$rc" != 2 || "$err" != "$want" || -n "$out" ]]; then
		fail "$name $* -> exit $rc, stderr:"$'\n'"$err"$'\n'"stdout: ${out:0:200}"$'\n'"want exit 2 and:"$'\n'"$want"
	else
		echo "ok: $name $* -> ${err%%$'\n'*}"
	fi
}

for bin in "$@"; do
	name="$(basename "$bin")"
	run "$bin" --help
	[[ "$rc" == 0 && -z "$err" ]] || fail "$name --help: exit $rc, stderr $err"
	for opt in "-c, --config FILE" --check-config --print-config --print-config-reference "-h, --help" "-V, --version"; do
		grep -qF -- "  $opt" <<<"$out" || fail "$name --help does not list '$opt'"
	done
	grep -qF "Exit status: 0 success, 1 configuration or run-time error, 2 usage error." <<<"$out" ||
		fail "$name --help: no exit statuses"
	usage_error "$bin" "unrecognized option '--x'" --x
	usage_error "$bin" "unrecognized option '--no-such-option=1'" --no-such-option=1
	usage_error "$bin" "invalid option -- 'x'" -x
	usage_error "$bin" "option '--config' requires an argument" --config
	usage_error "$bin" "option requires an argument -- 'c'" -c
	usage_error "$bin" "option '--help' doesn't allow an argument" --help=yes
	usage_error "$bin" "option '--print' is ambiguous; possibilities: '--print-config' '--print-config-reference'" --print
	usage_error "$bin" "unexpected argument 'extra'" extra
	# started by a relative path, the prefix is still the program's name
	(
		before=$fails
		cd "$(dirname "$(dirname "$bin")")" &&
			usage_error "$(basename "$(dirname "$bin")")/$name" "unrecognized option '--x'" --x
		[[ "$fails" == "$before" ]]
	) || fails=$((fails + 1))
done

producer="$1" replay="$3"
run "$producer" --help
grep -qx "Usage: fanwatch-producer \[-c FILE\] \[--from TIME\] \[--to TIME\]" <<<"$out" ||
	fail "producer usage line: $(head -1 <<<"$out")"
grep -qE "^      --from TIME +backfill from TIME" <<<"$out" || fail "producer --help: no --from"
grep -qE "^      --to TIME +backfill up to TIME" <<<"$out" || fail "producer --help: no --to"
usage_error "$producer" "backfill needs both --from and --to" --from 2024-05-18
usage_error "$producer" "backfill needs both --from and --to" --to 2024-05-18
usage_error "$producer" "backfill: bad time 'yesterday': use epoch seconds or UTC like 2024-05-18T10:00:00Z" --from yesterday --to 2024-05-18
usage_error "$producer" "backfill: --to is before --from" --from 2024-05-19 --to 2024-05-18

run "$replay" --help
grep -qx "Usage: fanwatch-replay \[-c FILE\] --input FILE \[--format FMT\] \[--partitions N\] \[--show-bad N\] \[--strict\]" <<<"$out" ||
	fail "replay usage line: $(head -1 <<<"$out")"
grep -qE "^      --strict +exit 1 if any record was bad or no session was read" <<<"$out" ||
	fail "replay --help: --strict is not an option line"
grep -q "Also: --strict" <<<"$out" && fail "replay --help: --strict in prose"
usage_error "$replay" "option '--input FILE' is required"
usage_error "$replay" "option '--input FILE' is required" --strict
usage_error "$replay" "option '--strict' doesn't allow an argument" --strict=1 --input x
usage_error "$replay" "--format must be auto, json or msgpack, not 'xml'" --input x --format xml
usage_error "$replay" "--partitions must be an integer 1..4096, not '0'" --input x --partitions 0
usage_error "$replay" "unexpected argument 'strict'" --input x strict
# --strict is an option anywhere, and the value of an option is never taken for it
run "$replay" --input /dev/null --strict
[[ "$rc" == 1 ]] || fail "replay --input /dev/null --strict: exit $rc, not 1"
run "$replay" --input --strict
[[ "$rc" == 1 ]] && grep -q -- "--strict" <<<"$err" || fail "replay --input --strict: exit $rc ($err)"

echo "usage: $fails failure(s)"
[[ "$fails" -eq 0 ]]
