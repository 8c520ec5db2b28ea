"""A stand-in OpenSearch for the producer's OpenSearch reader (producer.mode = opensearch), for
fault injection: the real OpenSearch (scripts/arkime-local, tests/arkime) is the judge of what a
correct answer is; this one answers the few requests the reader sends and can fail on command.

    srv = FakeOpenSearch(docs, tls=(cert, key) or None, api_key='...' or None)
    srv.start(); srv.url; srv.faults.extend(['shards', '429']); srv.stop()

Serves GET / (distribution "opensearch"), POST /<index>/_search/point_in_time, DELETE
/_search/point_in_time and POST /_search with the reader's body: a @timestamp range (gte/lte),
an optional slice (sha1 of _id mod max), sort [@timestamp, _id, then fields whose values the
hits carry, "missing" when absent], search_after, size, and
_source.includes (dotted names, nested documents) or docvalue_fields (arrays; dates as strings
of epoch ms when asked so) with stored_fields _none_ (no _id: it is in the sort). Documents are standin_store.generate()'s
(id "3@<_id>", stored without it, index arkime_sessions3-<yymmdd>). Each search takes the next
fault from `faults` (FIFO), if any:
  shards   200 with _shards.failed 1 (a partial answer)
  timeout  200 with timed_out true
  429      429 circuit_breaking_exception
  404      404 search_context_missing_exception (the PIT expired)
  garbage  200 with a body that is not JSON
  hang     no answer for 30 s (the reader's timeout or a stop must cut it)
`searches` counts search requests; `auth` records each request's Authorization header.
"""

import hashlib
import http.server
import json
import socketserver
import ssl
import threading
import time


def _source_of(doc):
    d = dict(doc)
    d.pop('id', None)
    return d


def _get(doc, dotted):
    cur = doc
    for k in dotted.split('.'):
        if not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return cur


def _put(out, dotted, v):
    parts = dotted.split('.')
    for k in parts[:-1]:
        out = out.setdefault(k, {})
    out[parts[-1]] = v


class FakeOpenSearch:
    def __init__(self, docs, tls=None, api_key=None):
        self.lock = threading.Lock()
        self.docs = []
        self.add(docs)
        self.faults = []
        self.searches = 0
        self.auth = []
        self.pits = set()
        self.api_key = api_key
        self.tls = tls
        self.url = None
        self._srv = None

    def add(self, docs):
        with self.lock:
            for d in docs:
                _id = d['id'].split('@', 1)[1]
                self.docs.append((d['@timestamp'], _id, 'arkime_sessions3-' + _id[:6],
                                  _source_of(d)))
            self.docs.sort(key=lambda x: (x[0], x[1]))

    # -- the search ----------------------------------------------------------------------------

    def search(self, body):
        flt = body['query']['bool']['filter']
        rng = flt[0]['range']['@timestamp']
        lo, hi = rng['gte'], rng['lte']
        sl = body.get('slice')
        after = body.get('search_after')
        source = body.get('_source')
        inc = source.get('includes') or [] if isinstance(source, dict) else []
        dv = body.get('docvalue_fields') or []
        no_stored = body.get('stored_fields') == '_none_'
        size = body.get('size', 10)
        extra = [next(iter(k.items())) for k in body.get('sort', [])[2:]]
        hits = []
        with self.lock:
            for ts, _id, index, src in self.docs:
                if ts < lo or ts > hi:
                    continue
                if after and (ts, _id) <= (after[0], after[1]):
                    continue
                if sl and int(hashlib.sha1(_id.encode()).hexdigest(), 16) % sl['max'] != sl['id']:
                    continue
                # sort keys after the tie-breaker carry fields (their values, or "missing")
                hit = {'_index': index, 'sort': [ts, _id] + [
                    _get(src, name) if _get(src, name) is not None else spec.get('missing')
                    for name, spec in extra]}
                if not no_stored:
                    hit['_id'] = _id
                if isinstance(source, dict) or source is True:
                    out = {}
                    for f in inc:
                        v = _get(src, f)
                        if v is not None:
                            _put(out, f, v)
                    hit['_source'] = out if inc else src
                if dv:  # doc values: every value an array; dates as asked
                    fields = {}
                    for spec in dv:
                        name = spec if isinstance(spec, str) else spec['field']
                        v = _get(src, name)
                        if v is None:
                            continue
                        if isinstance(spec, dict) and spec.get('format') == 'epoch_millis':
                            v = str(v)
                        fields[name] = [v]
                    hit['fields'] = fields
                hits.append(hit)
                if len(hits) >= size:
                    break
        return hits

    # -- HTTP ----------------------------------------------------------------------------------

    def start(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def reply(self, code, obj=None, raw=None):
                data = raw if raw is not None else json.dumps(obj).encode()
                self.send_response(code)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def body(self):
                n = int(self.headers.get('Content-Length') or 0)
                return json.loads(self.rfile.read(n) or b'{}')

            def authorised(self):
                got = self.headers.get('Authorization')
                fake.auth.append(got)
                if fake.api_key and got != 'ApiKey ' + fake.api_key:
                    self.reply(401, {'error': {'type': 'security_exception',
                                               'reason': 'missing authentication'}})
                    return False
                return True

            def do_GET(self):
                if not self.authorised():
                    return
                self.reply(200, {'version': {'distribution': 'opensearch', 'number': '2.19.0'}})

            def do_DELETE(self):
                if not self.authorised():
                    return
                b = self.body()
                for p in b.get('pit_id', []):
                    fake.pits.discard(p)
                self.reply(200, {'pits': [{'pit_id': p, 'successful': True}
                                          for p in b.get('pit_id', [])]})

            def do_POST(self):
                if not self.authorised():
                    return
                path = self.path.split('?', 1)[0]
                if path.endswith('/_search/point_in_time'):
                    pit = 'pit-%d' % len(fake.pits)
                    fake.pits.add(pit)
                    return self.reply(200, {'pit_id': pit, '_shards': {'total': 1}})
                if path != '/_search':
                    return self.reply(404, {'error': 'no handler for ' + path})
                b = self.body()
                with fake.lock:
                    fake.searches += 1
                    fault = fake.faults.pop(0) if fake.faults else None
                shards = {'total': 1, 'successful': 1, 'failed': 0}
                if fault == 'hang':
                    time.sleep(30)
                    return
                if fault == '429':
                    return self.reply(429, {'error': {'root_cause': [{
                        'type': 'circuit_breaking_exception',
                        'reason': '[parent] Data too large'}]}, 'status': 429})
                if fault == '404':
                    return self.reply(404, {'error': {'root_cause': [{
                        'type': 'search_context_missing_exception',
                        'reason': 'No search context found for id [7]'}]}, 'status': 404})
                if fault == 'garbage':
                    return self.reply(200, raw=b'{"pit_id":"x","hits":{"hits":[{"_id"')
                hits = fake.search(b)
                ans = {'pit_id': b.get('pit', {}).get('id'), 'timed_out': fault == 'timeout',
                       '_shards': shards}
                if fault == 'shards':
                    ans['_shards'] = {'total': 2, 'successful': 1, 'failed': 1, 'failures': [
                        {'reason': {'type': 'node_disconnected_exception',
                                    'reason': 'node left'}}]}
                if hits:  # filter_path drops an empty hits.hits, as OpenSearch does
                    ans['hits'] = {'hits': hits}
                self.reply(200, ans)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._srv = Server(('127.0.0.1', 0), Handler)
        scheme = 'http'
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self._srv.socket = ctx.wrap_socket(self._srv.socket, server_side=True)
            scheme = 'https'
        self.url = '%s://127.0.0.1:%d' % (scheme, self._srv.server_address[1])
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._srv:
            self._srv.shutdown()
            self._srv.server_close()
