"""Shared pieces of the benchmark scripts: paths, waiting, CPU time, the local broker."""

import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDIN = os.path.join(ROOT, 'tests', 'arkime_standin')
KAFKA_LOCAL = os.path.join(ROOT, 'scripts', 'kafka-local')
PASSWORD = 'bench-secret'


def wait_for(cond, timeout, what, interval=0.1):
    """cond()'s first true value, polled every interval s; exit after timeout s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    raise SystemExit('timed out after %ss waiting for %s' % (timeout, what))


def proc_cpu_s(pid):
    """User + system CPU seconds of pid so far (all its threads, /proc/<pid>/stat), or None."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, ValueError, IndexError):
        return None


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
