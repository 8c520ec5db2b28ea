"""Shared pieces of the benchmark scripts: paths, waiting for a file, the local broker."""

import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDIN = os.path.join(ROOT, 'tests', 'arkime_standin')
KAFKA_LOCAL = os.path.join(ROOT, 'scripts', 'kafka-local')
PASSWORD = 'bench-secret'


def wait_file(path, timeout):
    """The stripped content of path once it exists and is not empty; exit after timeout s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                v = f.read().strip()
            if v:
                return v
        time.sleep(0.1)
    raise SystemExit('timed out waiting for ' + path)


def kafka_start(state_dir):
    """Start a broker with its state in state_dir; returns (bootstrap, env for kafka_stop)."""
    env = dict(os.environ, FW_KAFKA_DIR=state_dir)
    out = subprocess.run([KAFKA_LOCAL, 'start'], env=env, check=True, capture_output=True,
                         text=True)
    return out.stdout.strip(), env


def kafka_stop(env):
    subprocess.run([KAFKA_LOCAL, 'stop'], env=env, capture_output=True)
