#!/usr/bin/python3
"""Arkime's own regression corpus through fanwatch's session parser (fanwatch-replay).

Arkime's source holds tests/pcap/*.pcap with *.test next to each: JSON {"sessions3": [{"header":
{"index": {"_index": ...}}, "body": {session document}}, ...]}, the documents capture writes for
that pcap (krb-udp.test is an empty {"sessions2": []} left from Arkime 2). Every document is fed
to fanwatch-replay (--input, JSON lines: an OpenSearch bulk header line with an _id, then the
document, as capture's Kafka plugin writes them), once as capture wrote it (nested) and once
flattened to dotted keys (the viewer's flatten=1). Each rejection must match a reason in
EXPECTED_REJECTIONS (with why it is right); an unexplained rejection fails the test.

The .test files mask what differs from run to run with the string "SET": @timestamp (always;
the time capture wrote the document) is replaced by lastPacket before parsing, rootId (for
split sessions) is left as the string it is.

Needs only the Arkime source: FW_ARKIME_SRC (a tree, a directory holding arkime-*.tar.gz, or
such a tarball; default <root>/../shared/arkime, as scripts/arkime-local) or the tree that
`scripts/arkime-local fetch` unpacked into its cache (FW_ARKIME_CACHE/current). Skips without.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
REPLAY = os.environ.get('FW_REPLAY') or os.path.join(ROOT, 'build', 'detector', 'fanwatch-replay')

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
from fwtest import doc_get, flatten  # noqa: E402


# reason -> (stderr pattern, document predicate, why fanwatch is right to reject it)
EXPECTED_REJECTIONS = {
    'non-IP session': (
        re.compile(r"field 'source\.ip': missing$"),
        lambda d: (doc_get(d, 'source.ip') is None and doc_get(d, 'destination.ip') is None
                   and d.get('ipProtocol') in (0, None)),
        'ARP, LLDP, IS-IS, XID, MPLS without IP, corrupt or unknown ethertypes: capture keeps '
        'them as MAC-only sessions (ipProtocol 0, no source.ip/destination.ip). fanwatch counts '
        'distinct IP addresses and ports per source IP: there is nothing to count, and '
        'source.ip is a required field (common/arkime_page.h)'),
}






def find_corpus(tmp):
    """The directory holding Arkime's tests/pcap/*.test, or None."""
    src = os.environ.get('FW_ARKIME_SRC') or os.path.join(ROOT, '..', 'shared', 'arkime')
    cache = os.environ.get('FW_ARKIME_CACHE') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'fanwatch', 'arkime')
    for tree in (src, os.path.join(cache, 'current')):
        if os.path.isdir(os.path.join(tree, 'tests', 'pcap')):
            return os.path.join(tree, 'tests', 'pcap')
    tars = [src] if os.path.isfile(src) else sorted(glob.glob(os.path.join(src, 'arkime-*.tar.gz')))
    if not tars:
        return None
    with tarfile.open(tars[-1]) as tf:
        members = [m for m in tf.getmembers()
                   if m.isfile() and re.search(r'(^|/)tests/pcap/[^/]+\.test$', m.name)]
        for m in members:
            m.name = os.path.basename(m.name)
            tf.extract(m, os.path.join(tmp, 'pcap'))
    return os.path.join(tmp, 'pcap') if members else None


class ArkimeCorpus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='fw-corpus-')
        cls.corpus = find_corpus(cls.tmp)
        if cls.corpus is None:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise unittest.SkipTest('no Arkime source (set FW_ARKIME_SRC or run '
                                    'scripts/arkime-local fetch): corpus not checked')
        if not os.access(REPLAY, os.X_OK):
            raise RuntimeError('%s not built (set FW_REPLAY)' % REPLAY)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def load(self):
        """[(id, document)] of every sessions3 document of every .test file."""
        docs, files, empty = [], 0, []
        for path in sorted(glob.glob(os.path.join(self.corpus, '*.test'))):
            with open(path) as fh:
                data = json.load(fh)
            files += 1
            sessions = data.get('sessions3', [])
            if not sessions:
                empty.append(os.path.basename(path))
            for n, entry in enumerate(sessions):
                body = dict(entry['body'])
                self.assertEqual(body.get('@timestamp'), 'SET', path)
                body['@timestamp'] = body.get('lastPacket')
                docs.append(('%s#%d' % (os.path.basename(path)[:-5], n), body))
        return docs, files, empty

    def replay(self, docs, name, transform):
        path = os.path.join(self.tmp, name + '.jsonl')
        with open(path, 'w') as fh:
            for doc_id, doc in docs:
                fh.write(json.dumps({'index': {'_id': doc_id}}) + '\n')
                fh.write(json.dumps(transform(doc)) + '\n')
        p = subprocess.run([REPLAY, '--input', path, '--show-bad', '0'], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        read = int(re.search(r'sessions read\s+(\d+)', p.stderr).group(1))
        bad = int(re.search(r'bad records\s+(\d+)', p.stderr).group(1))
        rejected = []
        for line in p.stderr.splitlines():
            m = re.match(r'fanwatch-replay: bad record: .*?:\d+: session (\S+): (.*)$', line)
            if m:
                rejected.append((m.group(1), m.group(2)))
            elif 'bad record:' in line:
                self.fail('unparsed rejection line: %s' % line)
        return read, bad, rejected

    def test_corpus(self):
        docs, files, empty = self.load()
        by_id = dict(docs)
        self.assertGreater(len(docs), 500)
        results = {}
        for name, transform in (('nested', lambda d: d), ('flatten', flatten)):
            read, bad, rejected = self.replay(docs, name, transform)
            self.assertEqual(bad, len(rejected), name)
            self.assertEqual(read + bad, len(docs), name)
            reasons, unexplained = {}, []
            for doc_id, msg in rejected:
                for reason, (pattern, pred, _why) in EXPECTED_REJECTIONS.items():
                    if pattern.search(msg) and pred(by_id[doc_id]):
                        reasons.setdefault(reason, []).append(doc_id)
                        break
                else:
                    unexplained.append('%s: %s' % (doc_id, msg))
            self.assertEqual(unexplained, [], '%s: unexplained rejections' % name)
            results[name] = (read, bad, reasons)
        self.assertEqual(results['nested'][:2], results['flatten'][:2])
        read, bad, reasons = results['nested']
        print('\nArkime corpus (%s): %d .test files (%d without sessions: %s), %d session '
              'documents; parsed %d, rejected %d (nested and flatten=1 alike)'
              % (self.corpus, files, len(empty), ', '.join(empty), len(docs), read, bad))
        for reason, ids in sorted(reasons.items()):
            pcaps = sorted({i.split('#')[0] for i in ids})
            print('  rejected, %s: %d (%s)' % (reason, len(ids), ', '.join(pcaps)))
        sys.stdout.flush()


if __name__ == '__main__':
    unittest.main()
