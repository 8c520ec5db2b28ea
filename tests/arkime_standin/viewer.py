#!/usr/bin/env python3
"""Stand-in Arkime viewer: serves /api/sessions (and /sessions.json) from in-memory sessions.

Python 3.11 standard library only. See docs/standin-viewer.md for what it follows in Arkime
and what it does not emulate. Run `viewer.py --help` for the options.
"""

import argparse
import gzip
import json
import os
import re
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from standin_auth import Authenticator  # noqa: E402
from standin_query import (QueryError, build_query, count_visible, execute,  # noqa: E402
                           js_parse_int, render_error, render_page, session_json, warm,
                           graph_json, NODE_HOSTS)
from standin_store import (SessionStore, generate, is_loopback_host, load_jsonl,  # noqa: E402
                           parse_docs)

API_PATHS = {'/api/sessions': 'sessions', '/sessions.json': 'sessions_legacy'}
ADDTAGS_PATH = '/api/sessions/addtags'
FAULT_KINDS = ('http500', 'hang', 'truncate', 'garbage', 'error_json', 'short_page',
               'unauthorized', 'ignore_param', 'unusable')
MiB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------
class Config:
    """Server settings (the CLI options, or keyword arguments in tests)."""

    def __init__(self, host='127.0.0.1', port=0, allow_remote=False, auth='digest',
                 user='admin', password=None, realm='Moloch', strict_nonce=False,
                 refresh_ms=0, clock_offset_s=0.0, exact_total=True,
                 max_sessions_queried=2000000, max_body=MiB, max_control_body=256 * MiB,
                 keepalive_timeout=5.0, write_timeout=300.0, gzip_level=1,
                 tls_cert=None, tls_key=None, verbose=False):
        self.host, self.port, self.allow_remote = host, port, allow_remote
        self.auth, self.user, self.password, self.realm = auth, user, password, realm
        self.strict_nonce = strict_nonce
        self.refresh_ms, self.clock_offset_s = refresh_ms, clock_offset_s
        self.exact_total, self.max_sessions_queried = exact_total, max_sessions_queried
        self.max_body, self.max_control_body = max_body, max_control_body
        self.keepalive_timeout, self.write_timeout = keepalive_timeout, write_timeout
        self.gzip_level = gzip_level
        self.tls_cert, self.tls_key, self.verbose = tls_cert, tls_key, verbose


# ---------------------------------------------------------------------------------------------
# Faults and statistics
# ---------------------------------------------------------------------------------------------
class Faults:
    """Injected failures for /api/sessions, each with a remaining count (-1 = until cleared)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._active = []

    def configure(self, spec):
        """Add faults from a JSON object or array; {"kind": "none"} clears them all."""
        specs = spec if isinstance(spec, list) else [spec]
        with self._lock:
            for item in specs:
                if not isinstance(item, dict) or not isinstance(item.get('kind'), str):
                    raise ValueError('a fault is an object with a "kind"')
                kind = item['kind']
                if kind == 'none':
                    self._active = []
                    continue
                if kind not in FAULT_KINDS:
                    raise ValueError('unknown fault kind %r (one of %s, none)'
                                     % (kind, ', '.join(FAULT_KINDS)))
                fault = dict(item)
                fault['count'] = int(fault.get('count', 1))
                if fault['count'] == 0:
                    continue
                if kind == 'ignore_param' and not (fault.get('param') or fault.get('params')):
                    raise ValueError('ignore_param needs "param" (or a "params" list)')
                self._active.append(fault)
            return self.active()

    def active(self):
        """A copy of the active faults."""
        return [dict(f) for f in self._active]

    def pick(self, kind):
        """Consume one use of the first active fault of kind, or return None."""
        with self._lock:
            for fault in self._active:
                if fault['kind'] == kind:
                    if fault['count'] > 0:
                        fault['count'] -= 1
                        if fault['count'] == 0:
                            self._active.remove(fault)
                    return dict(fault)
        return None

    def clear(self):
        """Remove every fault."""
        with self._lock:
            self._active = []


class Stats:
    """Counters exposed at GET /_standin/stats."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        """Zero everything."""
        with self._lock:
            self.requests = {}
            self.faults = {}
            self.sessions_served = 0
            self.pages = 0
            self.bytes_sent = 0
            self.deep_scroll_requests = 0
            self.deep_scroll_docs = 0

    def count(self, kind, n=1):
        """Count a request of a kind."""
        with self._lock:
            self.requests[kind] = self.requests.get(kind, 0) + n

    def fault(self, kind):
        """Count an injected fault."""
        with self._lock:
            self.faults[kind] = self.faults.get(kind, 0) + 1

    def page(self, sessions, materialized, scrolled):
        """Count a served page."""
        with self._lock:
            self.pages += 1
            self.sessions_served += sessions
            if scrolled:
                self.deep_scroll_requests += 1
                self.deep_scroll_docs += materialized

    def sent(self, nbytes):
        """Count response bytes."""
        with self._lock:
            self.bytes_sent += nbytes

    def snapshot(self):
        """All counters as a dict."""
        with self._lock:
            return {'requests': dict(self.requests), 'faults_injected': dict(self.faults),
                    'sessions_served': self.sessions_served, 'pages_served': self.pages,
                    'bytes_sent': self.bytes_sent,
                    'deep_scroll_requests': self.deep_scroll_requests,
                    'deep_scroll_docs': self.deep_scroll_docs}


# ---------------------------------------------------------------------------------------------
# Request parsing helpers
# ---------------------------------------------------------------------------------------------
def parse_query_string(qs):
    """Express/qs style: repeated keys (or key[]) become lists, '+' is a space."""
    params = {}
    for key, value in urllib.parse.parse_qsl(qs, keep_blank_values=True):
        if key.endswith('[]'):
            key = key[:-2]
            params.setdefault(key, [])
        if key in params:
            if not isinstance(params[key], list):
                params[key] = [params[key]]
            params[key].append(value)
        else:
            params[key] = value
    return params


def parse_body_params(content_type, body):
    """body-parser json / urlencoded as Arkime registers them; other types are ignored."""
    ctype = (content_type or '').split(';')[0].strip().lower()
    if not body:
        return {}
    if ctype == 'application/json' or ctype.endswith('+json'):
        value = json.loads(body.decode('utf-8'))
        if isinstance(value, dict):
            return value
        if isinstance(value, list):
            return {str(i): v for i, v in enumerate(value)}
        raise ValueError('body must be an object or array')
    if ctype == 'application/x-www-form-urlencoded':
        return parse_query_string(body.decode('utf-8', 'replace'))
    return {}


def accepts_gzip(header):
    """True when Accept-Encoding lists gzip with a non-zero q."""
    for part in (header or '').split(','):
        name, _, params = part.strip().partition(';')
        if name.strip().lower() in ('gzip', 'x-gzip', '*'):
            q = params.strip()
            if q.startswith('q='):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return False
            return True
    return False


class BodyTooLarge(Exception):
    """The request body exceeds the configured cap."""


# ---------------------------------------------------------------------------------------------
# The request handler
# ---------------------------------------------------------------------------------------------
class StandinHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler for the sessions API and the /_standin/ control API."""

    protocol_version = 'HTTP/1.1'
    server_version = 'standin-viewer'
    sys_version = ''

    def setup(self):
        """Wrap TLS in this thread (not the accept loop) and set the idle keep-alive timeout."""
        ctx = self.server.tls_context
        if ctx is not None:
            self.request.settimeout(self.server.config.keepalive_timeout)
            self.request = ctx.wrap_socket(self.request, server_side=True)
        self.timeout = self.server.config.keepalive_timeout
        super().setup()

    def finish(self):
        """Flush, then close a TLS socket ourselves (the server only closes the raw one)."""
        try:
            super().finish()
        finally:
            if self.server.tls_context is not None:
                self.request.close()

    def handle(self):
        """Serve requests until the connection closes; client disconnects are not errors."""
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, TimeoutError, OSError):
            pass

    def log_message(self, fmt, *args):
        """Quiet unless --verbose."""
        if self.server.config.verbose:
            sys.stderr.write('%s - %s\n' % (self.address_string(), fmt % args))

    def do_GET(self):
        """GET."""
        self.dispatch()

    def do_POST(self):
        """POST."""
        self.dispatch()

    # --- plumbing ----------------------------------------------------------------------------
    def read_body(self, limit):
        """The request body (Content-Length or chunked), at most limit bytes."""
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline(100).split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline(8192) not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(chunks)
                total += size
                if total > limit:
                    raise BodyTooLarge()
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
        length = int(self.headers.get('Content-Length') or 0)
        if length > limit:
            raise BodyTooLarge()
        return self.rfile.read(length) if length > 0 else b''

    def send(self, status, body, content_type='application/json; charset=utf-8', headers=(),
             truncate=False):
        """Write a response (Content-Length, gzip if accepted); truncate: half, then close."""
        extra = list(headers)
        if (len(body) >= 1024 and self.server.config.gzip_level > 0
                and accepts_gzip(self.headers.get('Accept-Encoding'))):
            body = gzip.compress(body, compresslevel=self.server.config.gzip_level, mtime=0)
            extra.append(('Content-Encoding', 'gzip'))
        self.connection.settimeout(self.server.config.write_timeout)
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Vary', 'Accept-Encoding')
        for name, value in extra:
            self.send_header(name, value)
        if truncate:
            self.send_header('Connection', 'close')
        self.end_headers()
        payload = body[:len(body) // 2] if truncate else body
        self.wfile.write(payload)
        self.wfile.flush()
        self.server.stats.sent(len(payload))
        if truncate:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.connection.settimeout(self.server.config.keepalive_timeout)

    def send_json(self, status, obj):
        """A JSON response."""
        self.send(status, json.dumps(obj, separators=(',', ':')).encode('utf-8'))

    def send_unauthorized(self, headers):
        """passport's 401: the challenge and the body "Unauthorized"."""
        self.server.stats.count('unauthorized')
        self.send(401, b'Unauthorized', 'text/plain; charset=utf-8', headers)

    # --- routing -----------------------------------------------------------------------------
    def dispatch(self):
        """Read the body, route the request, and answer it."""
        url = urllib.parse.urlsplit(self.path)
        control = url.path.startswith('/_standin/')
        limit = self.server.config.max_control_body if control else self.server.config.max_body
        try:
            body = self.read_body(limit)
        except BodyTooLarge:
            self.close_connection = True
            self.server.stats.count('body_too_large')
            self.send(413, b'Payload Too Large', 'text/plain; charset=utf-8')
            return
        except ValueError:
            self.close_connection = True
            self.send(400, b'Bad Request', 'text/plain; charset=utf-8')
            return
        if control:
            self.server.stats.count('control')
            self.handle_control(url.path, body)
            return
        auth = self.server.auth.check(self.command, self.path, self.headers.get('Authorization'))
        if not auth.ok:
            if auth.status == 401:
                self.send_unauthorized(auth.headers)
            else:
                self.server.stats.count('bad_auth_header')
                status_text = {400: b'Bad Request', 500: b'Internal Server Error'}
                self.send(auth.status, status_text.get(auth.status, b'Error'),
                          'text/plain; charset=utf-8')
            return
        if url.path == ADDTAGS_PATH and self.command == 'POST':
            self.server.stats.count('addtags')
            self.handle_addtags(url.query, body)
            return
        kind = API_PATHS.get(url.path)
        if kind is None:
            self.server.stats.count('not_found')
            self.send(404, b'Not Found', 'text/plain; charset=utf-8')
            return
        self.server.stats.count(kind)
        self.handle_sessions(url.query, body)

    # --- /api/sessions -----------------------------------------------------------------------
    def handle_sessions(self, query_string, body):
        """getSessions, with any injected faults applied."""
        srv = self.server
        if self.take_fault('unauthorized'):
            self.send_unauthorized([('WWW-Authenticate', srv.auth.challenge())])
            return
        hang = self.take_fault('hang')
        if hang:
            srv.stop_event.wait(float(hang.get('seconds', 30)))
        if self.answer_with_fault():
            return
        try:
            params = parse_query_string(query_string)
            if self.command == 'POST':  # fillQueryFromBody: the body wins, POST only
                params.update(parse_body_params(self.headers.get('Content-Type'), body))
        except (ValueError, UnicodeDecodeError):
            srv.stats.count('bad_request')
            self.send(400, b'Bad Request', 'text/plain; charset=utf-8')
            return
        ignore = self.take_fault('ignore_param')
        if ignore:
            names = ignore.get('params') or [ignore.get('param')]
            for name in names:
                params.pop(name, None)
        now_ms = srv.now_ms()
        view = srv.store.view()
        try:
            q = build_query(params, now_ms, srv.config.max_sessions_queried)
            res = execute(view, q, now_ms, srv.config.refresh_ms, srv.config.exact_total)
        except QueryError as err:
            srv.stats.count('error_responses')
            self.send(200, render_error(str(err)))
            return
        except Exception as err:  # a stand-in bug: answer like Arkime's catch, and say so
            srv.stats.count('internal_errors')
            traceback.print_exc(file=sys.stderr)
            self.send(200, render_error('Error: %s' % err))
            return
        items = [session_json(s, q.fields, q.flatten) for s in res.page]
        if self.take_fault('short_page'):
            items = items[:len(items) // 2]
        if items and self.take_fault('unusable'):
            # an item the producer must reject (a required field gone), as Arkime writes for
            # sessions that are not IP (its own test corpus has some)
            for i in range(0, len(items), max(1, len(items) // 3)):
                it = json.loads(items[i])  # items are cached JSON bytes: change a copy
                it.pop('source.ip', None)
                if isinstance(it.get('source'), dict):
                    it['source'].pop('ip', None)
                items[i] = json.dumps(it, separators=(',', ':')).encode()
        srv.stats.page(len(items), res.materialized, res.scrolled)
        body = render_page(items, count_visible(view, now_ms, srv.config.refresh_ms), res.total,
                           graph_json(q.times))
        self.send(200, body, truncate=bool(self.take_fault('truncate')))

    # --- /api/sessions/addtags ---------------------------------------------------------------
    def handle_addtags(self, query_string, body):
        """Arkime's addTags by query (viewer/apiSessions.js): tags from the body, stripped of
        [^-a-zA-Z0-9_:,]; the search from the URL's parameters only (the route has no
        fillQueryFromBody), length 1,000,000 unless given. Records the tags per session and
        every request (GET /_standin/tags); faults apply as to /api/sessions."""
        srv = self.server
        if self.take_fault('unauthorized'):
            self.send_unauthorized([('WWW-Authenticate', srv.auth.challenge())])
            return
        hang = self.take_fault('hang')
        if hang:
            srv.stop_event.wait(float(hang.get('seconds', 30)))
        if self.answer_with_fault():
            return
        try:
            params = parse_query_string(query_string)
            form = parse_body_params(self.headers.get('Content-Type'), body)
        except (ValueError, UnicodeDecodeError):
            srv.stats.count('bad_request')
            self.send(400, b'Bad Request', 'text/plain; charset=utf-8')
            return
        tags = form.get('tags')
        tags = re.sub(r'[^-a-zA-Z0-9_:,]', '', tags).split(',') if isinstance(tags, str) else []
        if not tags:
            self.send_json(200, {'success': False, 'text': 'No tags specified',
                                 'i18n': 'api.sessions.noTagsSpecified'})
            return
        if form.get('ids'):
            self.send(400, b'the stand-in tags by query only', 'text/plain; charset=utf-8')
            return
        params.setdefault('length', '1000000')
        now_ms = srv.now_ms()
        try:
            q = build_query(params, now_ms, srv.config.max_sessions_queried)
            res = execute(srv.store.view(), q, now_ms, srv.config.refresh_ms, True)
        except QueryError as err:
            self.send(200, ('Could not build query. Err: %s' % err).encode(),
                      'text/plain; charset=utf-8')
            return
        sids = [sess.sid for sess in res.page]
        srv.record_tags(tags, params, form, sids)
        if not sids:
            self.send_json(200, {'success': False, 'text': 'No sessions to add tags to',
                                 'i18n': 'api.sessions.noSessionsToAddTags'})
            return
        self.send_json(200, {'success': True, 'text': 'Tags added successfully',
                             'i18n': 'api.sessions.tagsAdded'})

    def take_fault(self, kind):
        """Consume a fault of kind if one is active, counting it."""
        fault = self.server.faults.pick(kind)
        if fault:
            self.server.stats.fault(kind)
        return fault

    def answer_with_fault(self):
        """Replace the answer with an http500, garbage or error_json fault; True if done."""
        fault = self.take_fault('http500')
        if fault:
            text = fault.get('message', 'Internal Server Error')
            self.send(int(fault.get('status', 500)),
                      json.dumps({'success': False, 'text': text}).encode())
            return True
        if self.take_fault('garbage'):
            self.send(200, b'<html><body>502 Bad Gateway</body></html>\n{"data":[')
            return True
        fault = self.take_fault('error_json')
        if fault:
            self.send(200, render_error(fault.get(
                'message', 'search_phase_execution_exception')))
            return True
        return False

    # --- /_standin/ --------------------------------------------------------------------------
    def handle_control(self, path, body):
        """The test control API: sessions, faults, stats, reset, warm, clock."""
        srv = self.server
        try:
            if path == '/_standin/sessions' and self.command == 'POST':
                added = srv.store.add(parse_docs(body))
                self.send_json(200, {'added': added, 'sessions': len(srv.store.view().sessions)})
            elif path == '/_standin/faults' and self.command == 'POST':
                spec = json.loads(body.decode('utf-8') or '{}')
                self.send_json(200, {'faults': srv.faults.configure(spec)})
            elif path == '/_standin/faults' and self.command == 'GET':
                self.send_json(200, {'faults': srv.faults.active()})
            elif path == '/_standin/tags' and self.command == 'GET':
                self.send_json(200, srv.tags_snapshot())
            elif path == '/_standin/stats' and self.command == 'GET':
                self.send_json(200, srv.stats_snapshot())
            elif path == '/_standin/reset' and self.command == 'POST':
                srv.store.reset()
                srv.faults.clear()
                srv.stats.reset()
                srv.clock_shift_ms = 0
                srv.reset_tags()
                self.send_json(200, {'reset': True, 'sessions': len(srv.store.view().sessions)})
            elif path == '/_standin/warm' and self.command == 'POST':
                spec = json.loads(body.decode('utf-8') or '{}')
                t0 = time.monotonic()
                count = warm(srv.store.view(), spec.get('fields'),
                             js_parse_int(spec.get('flatten')) == 1)
                self.send_json(200, {'warmed': count, 'seconds': round(time.monotonic() - t0, 3)})
            elif path == '/_standin/clock' and self.command == 'POST':
                spec = json.loads(body.decode('utf-8') or '{}')
                srv.clock_shift_ms = int(spec.get('shift_ms', 0))
                self.send_json(200, {'now_ms': srv.now_ms()})
            else:
                self.send(404, b'Not Found', 'text/plain; charset=utf-8')
        except (ValueError, TypeError, UnicodeDecodeError) as err:
            self.send_json(400, {'error': str(err)})


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------
class StandinServer(ThreadingHTTPServer):
    """A threading HTTP server holding the store, faults, stats and authenticator."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, config, store):
        self.config = config
        self.store = store
        self.faults = Faults()
        self.stats = Stats()
        self.stop_event = threading.Event()
        self.clock_shift_ms = 0
        self._tags_lock = threading.Lock()
        self.reset_tags()
        self.auth = Authenticator(config.auth, config.user, config.password, config.realm,
                                  config.strict_nonce)
        self.tls_context = None
        if config.tls_cert:
            self.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls_context.load_cert_chain(config.tls_cert, config.tls_key)
        if ':' in config.host:
            self.address_family = socket.AF_INET6
        super().__init__((config.host, config.port), StandinHandler)

    def now_ms(self):
        """The viewer's clock in ms (with --clock-offset and any /_standin/clock shift)."""
        return int(time.time() * 1000 + self.config.clock_offset_s * 1000) + self.clock_shift_ms

    def reset_tags(self):
        """Forget every addtags request and tag."""
        with self._tags_lock:
            self.tag_requests, self.session_tags = [], {}

    def record_tags(self, tags, query, body, sids):
        """An addtags request: its tags, URL parameters, body and the sessions it matched."""
        with self._tags_lock:
            self.tag_requests.append({'tags': tags, 'query': query, 'body': body,
                                      'sessions': len(sids)})
            for tag in tags:
                self.session_tags.setdefault(tag, set()).update(sids)

    def tags_snapshot(self):
        """{"requests": [...], "tags": {tag: [session ids]}}."""
        with self._tags_lock:
            return {'requests': list(self.tag_requests),
                    'tags': {t: sorted(ids) for t, ids in self.session_tags.items()}}

    def stats_snapshot(self):
        """Stats plus store and fault state."""
        snap = self.stats.snapshot()
        view = self.store.view()
        snap['sessions_total'] = len(view.sessions)
        snap['sessions_visible'] = count_visible(view, self.now_ms(), self.config.refresh_ms)
        snap['faults_active'] = self.faults.active()
        return snap

    def url(self):
        """The base URL clients should use."""
        host, port = self.server_address[:2]
        scheme = 'https' if self.tls_context else 'http'
        return '%s://%s:%d' % (scheme, '[%s]' % host if ':' in host else host, port)

    def handle_error(self, request, client_address):
        """Dropped connections are routine; other errors go to stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)

    def shutdown(self):
        """Stop serving and wake requests sleeping in a hang fault."""
        self.stop_event.set()
        super().shutdown()


def make_server(config, store):
    """Create (bind) a server; refuses a non-loopback host unless allow_remote."""
    if not config.allow_remote and not is_loopback_host(config.host):
        raise ValueError('refusing to listen on non-loopback host %r without --allow-remote'
                         % config.host)
    return StandinServer(config, store)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def parse_args(argv):
    """The command line options."""
    ap = argparse.ArgumentParser(description='Stand-in Arkime viewer serving /api/sessions.')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0, help='0 picks a free port')
    ap.add_argument('--port-file', help='write the port here (atomically) once listening')
    ap.add_argument('--allow-remote', action='store_true', help='allow a non-loopback --host')
    ap.add_argument('--sessions', action='append', default=[], metavar='FILE',
                    help='JSON-lines file of sessions3 documents (repeatable)')
    ap.add_argument('--generate', type=int, default=0, metavar='N',
                    help='add N deterministic synthetic sessions')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--start-ms', type=int, default=None,
                    help='@timestamp of the first generated session (default: now - span)')
    ap.add_argument('--span-s', type=float, default=3600.0,
                    help='generated @timestamps spread over this many seconds')
    ap.add_argument('--refresh-ms', type=int, default=0,
                    help='a session is searchable only once now >= @timestamp + this')
    ap.add_argument('--clock-offset', type=float, default=0.0, metavar='SECONDS',
                    help="shift the viewer's clock")
    ap.add_argument('--exact-total', dest='exact_total', action='store_true', default=True,
                    help='recordsFiltered is the exact count (the default, as Arkime: its '
                         'rest_total_hits_as_int=true makes OpenSearch count every hit)')
    ap.add_argument('--capped-total', dest='exact_total', action='store_false',
                    help='cap recordsFiltered at 10,000 (track_total_hits left at its default)')
    ap.add_argument('--max-sessions-queried', type=int, default=2000000)
    ap.add_argument('--auth', choices=('digest', 'basic', 'none'), default='digest')
    ap.add_argument('--user', default='admin')
    ap.add_argument('--password', default=None,
                    help='required unless --auth none; default from $STANDIN_PASSWORD')
    ap.add_argument('--realm', default='Moloch', help="Arkime's httpRealm")
    ap.add_argument('--strict-nonce', action='store_true',
                    help='only accept issued digest nonces with a rising nc (Arkime does not)')
    ap.add_argument('--keepalive-timeout', type=float, default=5.0,
                    help="close idle keep-alive connections after this (Node's default 5 s)")
    ap.add_argument('--gzip-level', type=int, default=1, help='0 disables gzip responses')
    ap.add_argument('--max-body', type=int, default=MiB, help='cap on API request bodies')
    ap.add_argument('--warm-fields', metavar='FIELDS',
                    help='serialize every session for this fields list at startup')
    ap.add_argument('--warm-flatten', action='store_true', help='... with flatten=1')
    ap.add_argument('--tls-cert')
    ap.add_argument('--tls-key')
    ap.add_argument('--verbose', action='store_true')
    ap.add_argument('--node-host', action='append', default=[], metavar='NODE=HOST',
                    help="the hostname of a capture node's stats: items of NODE get nodehost")
    args = ap.parse_args(argv)
    if args.password is None:
        args.password = os.environ.get('STANDIN_PASSWORD')
    if args.auth != 'none' and not args.password:
        ap.error('--password (or $STANDIN_PASSWORD) is required unless --auth none')
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error('--tls-cert and --tls-key go together')
    return args


def build_store(args):
    """Load and generate the initial sessions."""
    docs = []
    for path in args.sessions:
        docs.extend(load_jsonl(path))
    if args.generate:
        span_ms = int(args.span_s * 1000)
        start = args.start_ms if args.start_ms is not None else int(time.time() * 1000) - span_ms
        docs.extend(generate(args.generate, args.seed, start, args.span_s))
    return SessionStore(docs)


def write_port_file(path, port):
    """Write the port to path atomically (temp file + rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.port-')
    with os.fdopen(fd, 'w') as fh:
        fh.write('%d\n' % port)
    os.replace(tmp, path)


def main(argv=None):
    """Start the stand-in viewer and serve until SIGTERM / SIGINT."""
    args = parse_args(argv)
    for item in args.node_host:
        node, _, host = item.partition('=')
        NODE_HOSTS[node] = host
    config = Config(host=args.host, port=args.port, allow_remote=args.allow_remote,
                    auth=args.auth, user=args.user, password=args.password, realm=args.realm,
                    strict_nonce=args.strict_nonce, refresh_ms=args.refresh_ms,
                    clock_offset_s=args.clock_offset, exact_total=args.exact_total,
                    max_sessions_queried=args.max_sessions_queried, max_body=args.max_body,
                    keepalive_timeout=args.keepalive_timeout, gzip_level=args.gzip_level,
                    tls_cert=args.tls_cert, tls_key=args.tls_key, verbose=args.verbose)
    try:
        store = build_store(args)
        if args.warm_fields:
            warm(store.view(), args.warm_fields, args.warm_flatten)
        server = make_server(config, store)
    except (ValueError, OSError, ssl.SSLError) as err:
        print('standin-viewer: %s' % err, file=sys.stderr)
        return 2

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:  # before the line, so whoever reads the line finds the file too
        write_port_file(args.port_file, server.server_address[1])
    print('standin-viewer listening on %s' % server.url(), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
