#!/usr/bin/env bash
# The daemons' --check-config: accepts a good file, and for bad input exits non-zero with a
# message naming the file, the line and the key. Usage: check_config.sh <daemon> <data dir>
set -u
bin="$1"
data="$2"
name="$(basename "$bin")"
fails=0

# expect <want exit> <regex> <command...>
expect() {
	local want="$1" re="$2"
	shift 2
	local out rc
	out="$("$@" 2>&1)"
	rc=$?
	if [[ "$rc" != "$want" ]] || ! grep -Eq -- "$re" <<<"$out"; then
		echo "FAIL: $* -> exit $rc (want $want), output: $out (want /$re/)"
		fails=$((fails + 1))
	else
		echo "ok (exit $rc): ${out%%$'\n'*}"
	fi
}

E=(env -i PATH="$PATH")
# the producer also needs a viewer
if [[ "$name" == fanwatch-producer ]]; then E+=(FANWATCH_ARKIME_URL=http://127.0.0.1:8005); fi

expect 0 "configuration OK \\($data/good.ini\\)" "${E[@]}" "$bin" --check-config -c "$data/good.ini"
expect 0 "configuration OK" "${E[@]}" FANWATCH_CONFIG="$data/good.ini" "$bin" --check-config
expect 1 "bad_port.ini:4: key 'metrics.port'" "${E[@]}" "$bin" --check-config -c "$data/bad_port.ini"
expect 1 "bad_kafka.ini:5: key 'kafka.linger.msec': librdkafka: No such configuration property" \
	"${E[@]}" "$bin" --check-config -c "$data/bad_kafka.ini"
expect 1 "typo.ini:4: key 'topics.session': unknown key \\(did you mean 'topics.sessions'\\?\\)" \
	"${E[@]}" "$bin" --check-config -c "$data/typo.ini"
expect 1 "kafka.bootstrap.servers' is required" "${E[@]}" "$bin" --check-config
expect 1 "environment FANWATCH_LOG_LEVEL: key 'log.level'" \
	"${E[@]}" FANWATCH_LOG_LEVEL=loud "$bin" --check-config -c "$data/good.ini"
expect 1 "environment FANWATCH_NOPE: key 'nope': unknown key" \
	"${E[@]}" FANWATCH_NOPE=1 "$bin" --check-config -c "$data/good.ini"
expect 1 "nonexistent.ini: cannot open" "${E[@]}" "$bin" --check-config -c "$data/nonexistent.ini"
# the environment wins over the file
expect 0 "metrics.port = 9999" "${E[@]}" FANWATCH_METRICS_PORT=9999 "$bin" --print-config -c "$data/good.ini"
# kafka secrets are never printed
expect 0 "kafka.sasl.password = <redacted>" "${E[@]}" FANWATCH_KAFKA_SASL_PASSWORD=hunter2-secret \
	"$bin" --print-config -c "$data/good.ini"
if "${E[@]}" FANWATCH_KAFKA_SASL_PASSWORD=hunter2-secret "$bin" --print-config -c "$data/good.ini" 2>&1 |
	grep -q hunter2; then
	echo "FAIL: a secret was printed"
	fails=$((fails + 1))
fi
expect 2 "unexpected argument" "${E[@]}" "$bin" extra
expect 0 "^$name [0-9]+\\.[0-9]+\\.[0-9]+" "${E[@]}" "$bin" --version
expect 0 "\\| \`log.level\` \\|" "${E[@]}" "$bin" --print-config-reference
if [[ "$name" == fanwatch-detector ]]; then
	# a bad rules file stops the daemon at start-up, before it touches Kafka
	expect 1 "bad_rules.ini:6: rule 'leak_v2' key 'expression'" "${E[@]}" \
		FANWATCH_DETECT_RULES="$data/bad_rules.ini" "$bin" -c "$data/good.ini"
	# detection keys and the expression rules file are checked too
	expect 0 "configuration OK" "${E[@]}" FANWATCH_DETECT_RULES="$data/rules.ini" \
		"$bin" --check-config -c "$data/good.ini"
	expect 1 "bad_rules.ini:6: rule 'leak_v2' key 'expression': expression:1:17: unknown field 'ip.sorc'" \
		"${E[@]}" FANWATCH_DETECT_RULES="$data/bad_rules.ini" "$bin" --check-config -c "$data/good.ini"
	expect 1 "environment FANWATCH_DETECT_RULES: key 'detect.rules': .*nonexistent.ini: cannot open" \
		"${E[@]}" FANWATCH_DETECT_RULES="$data/nonexistent.ini" "$bin" --check-config -c "$data/good.ini"
	expect 1 "bad_detect.ini:4: key 'detect.exact_max': 20 must be greater than every enabled fan-out threshold" \
		"${E[@]}" "$bin" --check-config -c "$data/bad_detect.ini"
	expect 1 "environment FANWATCH_ALERT_ESCALATION: key 'alert.escalation': expected a number > 1" \
		"${E[@]}" FANWATCH_ALERT_ESCALATION=1 "$bin" --check-config -c "$data/good.ini"
else
	expect 1 "arkime.url' is required" env -i PATH="$PATH" "$bin" --check-config -c "$data/good.ini"
	expect 1 "key 'arkime.page_size': must be between 1 and 9999" \
		"${E[@]}" FANWATCH_ARKIME_PAGE__SIZE=20000 "$bin" --check-config -c "$data/good.ini"
	expect 2 "backfill needs both --from and --to" "${E[@]}" "$bin" -c "$data/good.ini" --from 2024-05-18
	expect 2 "bad time 'yesterday'" "${E[@]}" "$bin" -c "$data/good.ini" --from yesterday --to 2024-05-18
	# a secret file others can read is refused, and its content is never printed
	secret="$(mktemp)"
	echo "s3cr3t-pw" >"$secret"
	chmod 644 "$secret"
	expect 1 "$secret.*(0644|mode)" "${E[@]}" FANWATCH_ARKIME_PASSWORD__FILE="$secret" "$bin" --check-config -c "$data/good.ini"
	chmod 600 "$secret"
	expect 0 "arkime.password = <redacted>" "${E[@]}" FANWATCH_ARKIME_PASSWORD__FILE="$secret" "$bin" --print-config -c "$data/good.ini"
	if "${E[@]}" FANWATCH_ARKIME_PASSWORD__FILE="$secret" "$bin" --print-config -c "$data/good.ini" 2>&1 | grep -q s3cr3t; then
		echo "FAIL: the password was printed"
		fails=$((fails + 1))
	fi
	rm -f "$secret"
fi

# ---- issue 15: --check-config refuses what the daemon would refuse at run time ----
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
umask 077
echo "s3cr3t-pw" >"$tmp/secret"
printf 'fanwatch-cursor 1\nviewer=https://other.example:8005\nposition=1716026400\n' >"$tmp/other.cursor"
# cases <program-name filter>: read a table from stdin, one case a line:
#   exit | expected message (regex) | INI text from line 4 on (printf %b) | VAR=value ...
# Each case runs --check-config on a file of "[kafka]" + two keys (lines 1-3) + the text;
# @S@ is a 0600 secret file, @T@ the temporary directory.
cases() {
	local want re extra envs
	while IFS='|' read -r want re extra envs; do
		[[ -z "$want" || "$want" == \#* ]] && continue
		extra="${extra//@S@/$tmp/secret}"
		extra="${extra//@T@/$tmp}"
		envs="${envs//@S@/$tmp/secret}"
		{
			printf '[kafka]\nbootstrap.servers = 127.0.0.1:9092\nclient.id = fanwatch-test\n'
			printf '%b' "$extra"
		} >"$tmp/case.ini"
		# shellcheck disable=SC2086
		expect "$want" "$re" "${E[@]}" $envs "$bin" --check-config -c "$tmp/case.ini"
	done
}
cases <<'TABLE'
# metrics.address is checked as the HTTP server will use it
1|case.ini:5: key 'metrics.address': expected an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::, got 'not-an-ip'|[metrics]\naddress = not-an-ip\n|
1|environment FANWATCH_METRICS_ADDRESS: key 'metrics.address': expected an IPv4|\n|FANWATCH_METRICS_ADDRESS=localhost
0|configuration OK|[metrics]\naddress = ::\n|
# a broker list that names no broker
1|environment FANWATCH_KAFKA_BOOTSTRAP_SERVERS: key 'kafka.bootstrap.servers': names no broker|\n|FANWATCH_KAFKA_BOOTSTRAP_SERVERS=
1|environment FANWATCH_KAFKA_BOOTSTRAP_SERVERS: key 'kafka.bootstrap.servers': names no broker|\n|FANWATCH_KAFKA_BOOTSTRAP_SERVERS=,
# a topic cannot be empty
1|case.ini:5: key 'topics.sessions': must not be empty|[topics]\nsessions =\n|
# a key given twice: both lines and the key named
1|case.ini:6: key 'metrics.port': duplicate key, already set at .*case.ini:5 |[metrics]\nport = 9108\nport = 9109\n|
1|case.ini:5: key 'kafka.client.id': duplicate key, already set at .*case.ini:3 |[kafka]\nclient.id = other\n|
# a secret and its _file form together (the environment still wins over the file)
1|case.ini:6: key 'kafka.sasl.password_file': 'kafka.sasl.password' is already set at .*case.ini:5: give a secret or its '_file' form, not both|[kafka]\nsasl.password = x\nsasl.password_file = @S@\n|
1|environment FANWATCH_KAFKA_SASL_PASSWORD.*FANWATCH_KAFKA_SASL_PASSWORD.* is set too|\n|FANWATCH_KAFKA_SASL_PASSWORD=x FANWATCH_KAFKA_SASL_PASSWORD__FILE=@S@
0|configuration OK|[kafka]\nsasl.password_file = @S@\n|FANWATCH_KAFKA_SASL_PASSWORD=x
# librdkafka's checks of the whole client configuration (made when the client is created)
1|refuses the configuration of the .*producer.*`acks` must be set to `all` when `enable.idempotence` is true|[kafka]\nacks = 1\n|
TABLE
# the secret file's content is in no message
if "${E[@]}" FANWATCH_KAFKA_SASL_PASSWORD=x FANWATCH_KAFKA_SASL_PASSWORD__FILE="$tmp/secret" "$bin" --check-config -c "$data/good.ini" 2>&1 | grep -q s3cr3t; then
	echo "FAIL: a secret was printed"
	fails=$((fails + 1))
fi
if [[ "$name" == fanwatch-producer ]]; then
	cases <<'TABLE'
# arkime.url: what the HTTP client accepts
1|case.ini:5: key 'arkime.url': expected an http:// or https:// URL such as https://arkime.example:8005, got '127.0.0.1:19301'|[arkime]\nurl = 127.0.0.1:19301\n|
1|case.ini:5: key 'arkime.url': expected an http:// or https:// URL .*got 'ftp://arkime:8005'|[arkime]\nurl = ftp://arkime:8005\n|
1|environment FANWATCH_ARKIME_URL: key 'arkime.url': expected an http:// or https:// URL|\n|FANWATCH_ARKIME_URL=arkime:8005
1|arkime.url' is required in api mode|\n|FANWATCH_ARKIME_URL=
0|configuration OK|[producer]\nmode = bridge\n|FANWATCH_ARKIME_URL=
# the viewer's CA file and the cursor file are read as the producer reads them
1|case.ini:5: key 'arkime.ca_file': cannot open '/nonexistent/ca.pem'|[arkime]\nca_file = /nonexistent/ca.pem\n|
1|case.ini:5: key 'producer.cursor_file': .*other.cursor.*other.example|[producer]\ncursor_file = @T@/other.cursor\n|
# a secret and its _file form together
1|case.ini:6: key 'arkime.password_file': 'arkime.password' is already set at .*case.ini:5:|[arkime]\npassword = x\npassword_file = @S@\n|
1|key 'arkime.password_file': FANWATCH_ARKIME_PASSWORD is set too|\n|FANWATCH_ARKIME_PASSWORD=x FANWATCH_ARKIME_PASSWORD__FILE=@S@
# a consumer-only setting is checked by the bridge consumer, in bridge mode only
0|configuration OK|[kafka]\nfetch.max.bytes = 1000\n|
1|refuses the configuration of the bridge consumer .*`fetch.max.bytes` must be >= `message.max.bytes`|[producer]\nmode = bridge\n[kafka]\nfetch.max.bytes = 1000\n|
# a property fanwatch rules itself: ignored, with a warning naming what decides it
0|bridge consumer: .*case.ini:4: key 'kafka.enable.auto.commit' is ignored: the bridge's commit rule \(committed once delivered\) decides it \(enable.auto.commit = false\)|enable.auto.commit = true\n[producer]\nmode = bridge\n|
TABLE
	# a backfill keeps no cursor file: another viewer's is no error then
	{ cat "$data/good.ini"; printf '[producer]\ncursor_file = %s/other.cursor\n' "$tmp"; } >"$tmp/backfill.ini"
	expect 0 "configuration OK" "${E[@]}" "$bin" --check-config -c "$tmp/backfill.ini" --from 2024-05-18 --to 2024-05-19
	# --from/--to are usage errors even with --check-config
	expect 2 "^$name: backfill: --to is before --from" "${E[@]}" "$bin" --check-config -c "$data/good.ini" --from 2024-05-19 --to 2024-05-18
else
	cases <<'TABLE'
1|case.ini:5: key 'alert.viewer_url': expected an http:// or https:// URL .*got 'ftp://arkime:8005'|[alert]\nviewer_url = ftp://arkime:8005\n|
1|case.ini:5: key 'topics.alerts': must not be empty|[topics]\nalerts =\n|
1|refuses the configuration of the sessions consumer .*`fetch.max.bytes` must be >= `message.max.bytes`|[kafka]\nfetch.max.bytes = 1000\n|
# a property fanwatch rules itself: ignored, with a warning naming the key that wins
0|sessions consumer: .*case.ini:4: key 'kafka.auto.offset.reset' is ignored: detector.start decides it \(auto.offset.reset = earliest\)|auto.offset.reset = latest\n|
# alert.settle waits at most for detect.lateness
1|case.ini:5: key 'alert.settle': 660000 ms is longer than detect.lateness \(600000 ms\)|[alert]\nsettle = 11m\n|
TABLE
fi

# --print-config output loads back unchanged (origins aside); secrets are comments, given again
round_trip() {
	local out1="$tmp/print1.ini" out2="$tmp/print2.ini"
	"${E[@]}" "$@" FANWATCH_KAFKA_SASL_PASSWORD__FILE="$tmp/secret" FANWATCH_LOG_LEVEL=warn \
		"$bin" --print-config -c "$data/good.ini" >"$out1" 2>&1
	if ! "${E[@]}" FANWATCH_KAFKA_SASL_PASSWORD__FILE="$tmp/secret" "$bin" --print-config -c "$out1" >"$out2" 2>&1; then
		echo "FAIL: --print-config output does not load back: $(cat "$out2")"
		fails=$((fails + 1))
	elif ! diff <(sed -e 's/  ; .*//' -e '/^; /d' "$out1") <(sed -e 's/  ; .*//' -e '/^; /d' "$out2"); then
		echo "FAIL: --print-config output loads back different (diff above)"
		fails=$((fails + 1))
	else
		echo "ok: --print-config output loads back unchanged ($(grep -c ' = ' "$out1") keys)"
	fi
}
if [[ "$name" == fanwatch-producer ]]; then
	round_trip FANWATCH_ARKIME_EXPRESSION="ip.src == 10.0.0.0/8$(printf ' && port.dst != %d' $(seq 1000 1040))"
else
	round_trip FANWATCH_DETECTOR_NAME="sensor #1"
fi
grep -q "^log.level = warn  ; environment$" "$tmp/print1.ini" || { echo "FAIL: log.level line: $(grep log.level "$tmp/print1.ini")"; fails=$((fails + 1)); }
grep -q "^# kafka.sasl.password = <redacted>" "$tmp/print1.ini" || { echo "FAIL: the secret is not a comment"; fails=$((fails + 1)); }

echo "$name: $fails failure(s)"
[[ "$fails" -eq 0 ]]
