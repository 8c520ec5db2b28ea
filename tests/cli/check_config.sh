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

echo "$name: $fails failure(s)"
[[ "$fails" -eq 0 ]]
