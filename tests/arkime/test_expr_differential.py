#!/usr/bin/python3
"""detector/expr.c against the real Arkime viewer: the same expression, the same documents, the
same match count (issue "Real Arkime in the loop", point 5).

The test starts its own Arkime (scripts/arkime-local start, FW_ARKIME_DIR = a private temp dir;
stopped at the end), ingests Arkime's own pcap corpus (arkime/tests/pcap: TCP, UDP, ICMP,
ICMPv6, SCTP, OSPF, PIM, IGMP, IPv4 and IPv6) plus tests/arkime/gen_pcaps.py's bulk traffic and,
when python3-scapy is installed, its scenarios; then it fetches every session from the viewer
with the producer's fields (FW_ARKIME_FIELDS, flatten=1) into one saved page, runs expr_count
(tests/arkime/expr_count.c: the producer's page parser + fw_expr_compile/fw_expr_match) over it
for every expression of expressions.txt, and asks the viewer for each expression's
recordsFiltered. Every difference fails, as does an expression one side refuses and the other
accepts. Refused by both is fine (reported in the log).

Same documents: capture also writes sessions for non-IP traffic (no source.ip, ipProtocol 0);
the producer's parser rejects them (source.ip is required), so fanwatch never sees them. The
viewer is therefore asked for `(E) && ip.src == ::/0` (::/0: every address, IPv4 included);
the test checks that this restriction selects exactly the sessions the parser accepted. E alone is
also asked when expr.c refuses E or the viewer refuses the restricted form, so that a refusal is
judged on E's own text (wrapping could balance a stray parenthesis).

Environment: FW_EXPR_COUNT (the expr_count binary; ctest sets it), FW_PROJECT_ROOT (default: two
levels up), FW_EXPR_DIFF_ARKIME_DIR (development: use this already started and ingested
arkime-local state dir instead of starting one; nothing is ingested or stopped),
FW_EXPR_DIFF_KEEP=1 (keep the temp dir). Skips with one line when scripts/arkime-local exits 3
(no Arkime source).
"""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
from fwtest import producer_fields  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("FW_PROJECT_ROOT") or os.path.dirname(os.path.dirname(HERE))
ARKIME_LOCAL = os.path.join(ROOT, "scripts", "arkime-local")
EXPRESSIONS = os.path.join(HERE, "expressions.txt")
GEN_PCAPS = os.path.join(HERE, "gen_pcaps.py")
BULK_SESSIONS = 2000
# The documents the producer's parser accepts (see above): every session with a source address.
# ::/0 is the whole ip space of OpenSearch (IPv4 is stored as ::ffff:a.b.c.d), and a plain range
# query: `ip.src == EXISTS!` selects the same documents but makes each query ~3 times slower.
RESTRICT = "ip.src == ::/0"
MIN_EXPRESSIONS = 200




def expr_fields():
    """The field names detector/expr.c's field table accepts."""
    with open(os.path.join(ROOT, "detector", "expr.c")) as f:
        src = f.read()
    m = re.search(r"field_defs\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    if not m:
        raise RuntimeError("field_defs not found in detector/expr.c")
    return re.findall(r"\{\"([^\"]+)\",\s*F_", m.group(1))


def read_expressions():
    out = []
    with open(EXPRESSIONS) as f:
        for line in f:
            s = line.strip(" \t\r\n")
            if s and not s.startswith("#"):
                out.append(s)
    return out


T0 = time.monotonic()


def log(msg):
    print("expr_differential: [%5.1fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr,
          flush=True)


class Viewer:
    """The arkime-local viewer of a state dir, queried with curl and its digest credentials."""

    def __init__(self, state):
        self.state = state
        with open(os.path.join(state, "viewer_url")) as f:
            self.url = f.read().strip()
        self.conf = os.path.join(state, "curl-viewer.conf")

    def sessions(self, params, out=None):
        """GET /api/sessions with params (url-encoded by curl); the decoded JSON answer."""
        cmd = ["curl", "-sS", "--fail-with-body", "--max-time", "120", "-K", self.conf, "-G",
               self.url + "/api/sessions"]
        for k, v in params:
            cmd += ["--data-urlencode", "%s=%s" % (k, v)]
        if out is not None:
            cmd += ["-o", out]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise RuntimeError("viewer request %r failed (curl exit %d): %s %s" % (
                params, p.returncode, p.stderr.decode(errors="replace").strip(),
                p.stdout.decode(errors="replace")[:500]))
        if out is not None:
            with open(out, "rb") as f:
                return json.loads(f.read())
        return json.loads(p.stdout)

    def count(self, expression):
        """(recordsFiltered, None) or (None, the viewer's error text)."""
        d = self.sessions([("date", "-1"), ("length", "1"), ("facets", "0"),
                           ("fields", "node"), ("expression", expression)])
        if d.get("error"):
            return None, str(d["error"])
        n = d.get("recordsFiltered")
        if not isinstance(n, int):
            raise RuntimeError("viewer answer without recordsFiltered for %r: %.300s" % (
                expression, json.dumps(d)))
        return n, None

    def verdict(self, expression, ours_refused=False):
        """The viewer's answer for expression over the producer's documents: (count, None) or
        (None, error). The restricted form is accepted whenever E is; E alone is asked only when
        expr.c refuses it or the restricted form is refused."""
        restricted = "(%s) && %s" % (expression, RESTRICT)
        n, err = self.count(restricted)
        if ours_refused or err is not None:
            _, alone_err = self.count(expression)
            if alone_err is not None:
                return None, alone_err
            if err is not None:
                raise RuntimeError("the viewer accepts %r but refuses %r: %s" % (
                    expression, restricted, err))
        return n, None


class ExprDifferential(unittest.TestCase):
    tmp = None
    state = None
    started = False

    @classmethod
    def arkime_local(cls, *args, timeout=900):
        env = dict(os.environ, FW_ARKIME_DIR=cls.state)
        return subprocess.run([ARKIME_LOCAL] + list(args), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)

    @classmethod
    def setUpClass(cls):
        cls.t0 = time.monotonic()
        cls.expr_count = os.environ.get("FW_EXPR_COUNT")
        if not cls.expr_count or not os.access(cls.expr_count, os.X_OK):
            raise RuntimeError("FW_EXPR_COUNT must name the expr_count binary (ctest sets it)")
        cls.tmp = tempfile.mkdtemp(prefix="fw-expr-diff-")
        # as root, arkime-local runs OpenSearch as nobody, which must reach its dirs in here
        os.chmod(cls.tmp, 0o755)
        try:
            cls._prepare()
        except BaseException:
            cls._cleanup()
            raise

    @classmethod
    def _prepare(cls):
        reuse = os.environ.get("FW_EXPR_DIFF_ARKIME_DIR")
        if reuse:
            cls.state = reuse
            log("using the running Arkime of %s (nothing ingested)" % reuse)
        else:
            cls.state = os.path.join(cls.tmp, "arkime")
            p = cls.arkime_local("fetch", timeout=3600)
            if p.returncode == 3:
                why = p.stderr.decode(errors="replace").strip().splitlines()
                raise unittest.SkipTest("no Arkime source (scripts/arkime-local exit 3)" +
                                        (": " + why[-1] if why else ""))
            if p.returncode != 0:
                raise RuntimeError("arkime-local fetch failed:\n" +
                                   p.stderr.decode(errors="replace"))
            p = cls.arkime_local("start", timeout=600)
            if p.returncode == 3:
                raise unittest.SkipTest("no Arkime source (scripts/arkime-local exit 3)")
            cls.started = True  # stop even when start failed half-way
            if p.returncode != 0:
                raise RuntimeError("arkime-local start failed:\n" +
                                   p.stderr.decode(errors="replace") + cls._log_tails())
            cls._ingest()
        cls.viewer = Viewer(cls.state)
        cls._fetch_page()
        cls._run_expr_count()

    @classmethod
    def _log_tails(cls, lines=15):
        """The last lines of arkime-local's logs (stop deletes them)."""
        out = []
        for d in (os.path.join(cls.state, "logs"), os.path.join(cls.state, "opensearch", "logs")):
            if not os.path.isdir(d):
                continue
            for f in sorted(os.listdir(d)):
                path = os.path.join(d, f)
                if os.path.isfile(path) and f.endswith(".log"):
                    with open(path, errors="replace") as fh:
                        tail = fh.readlines()[-lines:]
                    out.append("---- %s\n%s" % (path, "".join(tail)))
        return "\n".join(out)

    @classmethod
    def _ingest(cls):
        corpus = os.path.join(cls.state, "arkime", "tests", "pcap")
        pcaps = sorted(os.path.join(corpus, f) for f in os.listdir(corpus) if f.endswith(".pcap"))
        gen = os.path.join(cls.tmp, "gen")
        p = subprocess.run([sys.executable, GEN_PCAPS, "--bulk", str(BULK_SESSIONS), "--out",
                            os.path.join(gen, "bulk")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise RuntimeError("gen_pcaps.py --bulk failed:\n" + p.stderr.decode(errors="replace"))
        pcaps.append(os.path.join(gen, "bulk", "bulk.pcap"))
        scen = os.path.join(gen, "scenarios")
        p = subprocess.run([sys.executable, GEN_PCAPS, "--out", scen], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode == 0:
            with open(os.path.join(scen, "manifest.json")) as f:
                man = json.load(f)
            pcaps += [os.path.join(scen, s["pcap"]) for s in man["scenarios"]]
        else:
            log("gen_pcaps.py scenarios not used (%s)" %
                p.stderr.decode(errors="replace").strip().splitlines()[-1:])
        p = cls.arkime_local("ingest", *pcaps, timeout=900)
        if p.returncode != 0:
            raise RuntimeError("arkime-local ingest failed:\n" + p.stderr.decode(errors="replace")
                               + cls._log_tails())
        log("ingested %d pcaps: %s" % (len(pcaps), p.stdout.decode().strip()))

    @classmethod
    def _fetch_page(cls):
        cls.page_path = os.path.join(cls.tmp, "page.json")
        d = cls.viewer.sessions([("date", "-1"), ("length", "100000"), ("facets", "0"),
                                 ("flatten", "1"), ("fields", producer_fields()),
                                 ("order", "firstPacket:asc")], out=cls.page_path)
        if d.get("error"):
            raise RuntimeError("viewer refused the page request: %s" % d["error"])
        cls.total = d["recordsFiltered"]
        if len(d["data"]) != cls.total:
            raise RuntimeError("page holds %d of %d sessions" % (len(d["data"]), cls.total))
        if cls.total >= 10000:
            raise RuntimeError("%d sessions: recordsFiltered may be capped at 10,000" % cls.total)
        log("viewer page: %d sessions" % cls.total)

    @classmethod
    def _run_expr_count(cls):
        cls.expressions = read_expressions()
        p = subprocess.run([cls.expr_count, cls.page_path, EXPRESSIONS], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise RuntimeError("expr_count failed: " + p.stderr.decode(errors="replace"))
        cls.ec_stderr = p.stderr.decode(errors="replace").strip()
        m = re.search(r"(\d+) sessions, (\d+) rejected", cls.ec_stderr)
        cls.accepted, cls.rejected = int(m.group(1)), int(m.group(2))
        cls.ours = []
        for line in p.stdout.decode().splitlines():
            res, _, text = line.partition("\t")
            cls.ours.append((text, None if res.startswith("error: ") else int(res),
                             res[7:] if res.startswith("error: ") else None))

    @classmethod
    def _cleanup(cls):
        if cls.started:
            p = cls.arkime_local("stop", timeout=120)
            if p.returncode != 0:
                log("arkime-local stop: " + p.stderr.decode(errors="replace"))
            cls.started = False
        if cls.tmp and os.environ.get("FW_EXPR_DIFF_KEEP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)
        elif cls.tmp:
            log("kept " + cls.tmp)

    @classmethod
    def tearDownClass(cls):
        cls._cleanup()
        log("%.1f s in all" % (time.monotonic() - cls.t0))

    def test_same_documents(self):
        """expr_count sees exactly the documents the viewer is asked about."""
        n, err = self.viewer.count(RESTRICT)
        self.assertIsNone(err, "viewer refused %r" % RESTRICT)
        self.assertEqual(self.accepted + self.rejected, self.total, self.ec_stderr)
        self.assertEqual(n, self.accepted,
                         "viewer: %d sessions with %s; the producer's parser accepted %d (%s)" % (
                             n, RESTRICT, self.accepted, self.ec_stderr))
        self.assertGreater(self.accepted, 1000)

    def test_expression_set(self):
        """At least 200 expressions, every field of expr.c's table among them."""
        self.assertGreaterEqual(len(self.expressions), MIN_EXPRESSIONS)
        self.assertEqual(len(self.ours), len(self.expressions),
                         "expr_count printed %d results for %d expressions" % (
                             len(self.ours), len(self.expressions)))
        used = set()
        for e in self.expressions:
            used.update(re.findall(r"(?<![\w.:-])([A-Za-z][\w.:-]*?)\s*(?:==|!=|<=|>=|<|>|=)", e))
        missing = [f for f in expr_fields() if f not in used]
        self.assertEqual(missing, [], "fields of detector/expr.c without an expression")

    def test_counts_match_viewer(self):
        """Each expression: the same count as the viewer, or refused by both."""
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            theirs = list(pool.map(self.viewer.verdict, [t for t, _, _ in self.ours],
                                   [e is not None for _, _, e in self.ours]))
        problems, both_refused, nonzero = [], 0, 0
        for (text, n, err), (vn, verr) in zip(self.ours, theirs):
            if err is not None and verr is not None:
                both_refused += 1
                log("refused by both: %s\n    viewer: %s\n    expr.c: %s" % (text, verr, err))
            elif err is not None:
                problems.append("%s\n    viewer accepts it (%d sessions); expr.c refuses it: %s" % (
                    text, vn, err))
            elif verr is not None:
                problems.append("%s\n    viewer refuses it: %s; expr.c accepts it (%d sessions)" % (
                    text, verr.replace("\n", " | "), n))
            elif n != vn:
                problems.append("%s\n    viewer %d sessions, expr.c %d" % (text, vn, n))
            elif n:
                nonzero += 1
        log("%d expressions: %d equal (%d with matches), %d refused by both, %d differ" % (
            len(self.ours), len(self.ours) - len(problems) - both_refused, nonzero, both_refused,
            len(problems)))
        if problems:
            self.fail("%d of %d expressions differ from the real viewer:\n  %s" % (
                len(problems), len(self.ours), "\n  ".join(problems)))


if __name__ == "__main__":
    unittest.main()
