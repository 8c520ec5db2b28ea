"""Helpers the Python tests and benchmarks share: the local broker's address, waiting on a
condition, an HTTP status. Import with tests/support on sys.path."""

import os
import time
import urllib.error
import urllib.request


def bootstrap():
    """The bootstrap address of the broker scripts/kafka-local started (ctest's kafka fixture)."""
    with open(os.path.join(os.environ['FW_KAFKA_DIR'], 'bootstrap')) as f:
        return f.read().strip()


def wait_for(cond, timeout, what, interval=0.1, error=AssertionError):
    """cond()'s first true value, polled every interval s; raise error after timeout s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    raise error('timed out after %ss waiting for %s' % (timeout, what))


def http_get(url):
    """(status, body), or (None, '') when nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode(errors='replace')
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors='replace')
    except (urllib.error.URLError, ConnectionError, OSError):
        return None, ''


def http_status(url):
    """The status of GET url, None when nothing listens."""
    return http_get(url)[0]


def create_topics(*specs):
    """specs: (name, partitions), on the bootstrap() broker; waits until every partition has a
    leader (a produce right after creation may race the metadata)."""
    import uuid
    from confluent_kafka import Consumer
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({'bootstrap.servers': bootstrap()})  # alive until the futures are done
    fs = a.create_topics([NewTopic(n, p, 1) for n, p in specs], operation_timeout=30)
    for f in fs.values():
        f.result(30)
    c = Consumer({'bootstrap.servers': bootstrap(), 'group.id': 'meta-' + uuid.uuid4().hex})
    try:
        def ready():
            md = c.list_topics(timeout=10)
            return all(n in md.topics and len(md.topics[n].partitions) == p and
                       all(pm.leader >= 0 for pm in md.topics[n].partitions.values())
                       for n, p in specs)
        wait_for(ready, 30, 'topics %s' % [n for n, _ in specs])
    finally:
        c.close()


def doc_get(doc, path):
    """doc[path] for a dotted path, as a flattened key or through nested objects; None if
    absent."""
    if path in doc:
        return doc[path]
    cur = doc
    for part in path.split('.'):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def flatten(doc, prefix=''):
    """The viewer's flatten=1: nested objects become dotted keys, arrays stay."""
    out = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            out.update(flatten(value, prefix + key + '.'))
        else:
            out[prefix + key] = value
    return out


def producer_fields():
    """FW_ARKIME_FIELDS of common/arkime_page.c (the C string literal pieces joined): the fields
    the producer asks the viewer for."""
    import re
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, 'common', 'arkime_page.c')) as f:
        src = f.read()
    m = re.search(r'const char FW_ARKIME_FIELDS\[\]\s*=\s*((?:\s*"[^"]*")+)\s*;', src)
    if not m:
        raise RuntimeError('FW_ARKIME_FIELDS not found in common/arkime_page.c')
    return ''.join(re.findall(r'"([^"]*)"', m.group(1)))
