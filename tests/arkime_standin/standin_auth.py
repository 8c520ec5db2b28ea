"""Viewer authentication: HTTP Digest (Arkime 5 default) and Basic, as passport-http does it.

Arkime's common/auth.js registers passport-http's DigestStrategy with {qop: 'auth', realm:
httpRealm} (default realm "Moloch"), hands it the stored HA1 = MD5(user:realm:password), and
its nonce validator accepts every nonce. This module reproduces that strategy's checks and
answers (401 + challenge, 400 for a malformed header or a uri that is not the request URL).
"""

import base64
import hashlib
import hmac
import re
import secrets
import string
import threading


def _md5(text):
    """Hex MD5 of a UTF-8 string."""
    return hashlib.md5(text.encode('utf-8')).hexdigest()


def parse_digest_params(params):
    """passport-http's parse(): quote bare values, then collect name="value" pairs."""
    params = re.sub(r'(( |^)\w+)=([^," ]+)', r'\1="\3"', params)
    return {m.group(1): m.group(2) for m in re.finditer(r'(\w+)="([^"]+)"', params)}


class AuthResult:
    """The outcome: ok, or the status and headers of the refusal."""

    def __init__(self, ok, status=200, headers=(), user=None):
        self.ok, self.status, self.headers, self.user = ok, status, list(headers), user


class Authenticator:
    """Checks the Authorization header of a request for mode digest, basic or none."""

    _NONCE_CHARS = string.ascii_letters + string.digits

    def __init__(self, mode, user=None, password=None, realm='Moloch', strict_nonce=False):
        if mode not in ('digest', 'basic', 'none'):
            raise ValueError('auth mode must be digest, basic or none')
        if mode != 'none' and (not user or password is None):
            raise ValueError('a user and a password are required unless --auth none')
        self.mode, self.user, self.realm = mode, user, realm
        self._password = password
        self._ha1 = _md5('%s:%s:%s' % (user, realm, password)) if mode != 'none' else None
        self.strict_nonce = strict_nonce
        self._nonces = {}          # issued nonce -> highest nc seen (strict mode only)
        self._lock = threading.Lock()

    def challenge(self):
        """The WWW-Authenticate value for a 401."""
        if self.mode == 'basic':
            return 'Basic realm="%s"' % self.realm
        nonce = ''.join(secrets.choice(self._NONCE_CHARS) for _ in range(32))
        if self.strict_nonce:
            with self._lock:
                if len(self._nonces) > 10000:
                    self._nonces.clear()
                self._nonces[nonce] = 0
        return 'Digest realm="%s", nonce="%s", qop="auth"' % (self.realm, nonce)

    def _fail(self, status=401):
        """A refusal: 401 carries a fresh challenge, 400 does not."""
        if status == 401:
            return AuthResult(False, 401, [('WWW-Authenticate', self.challenge())])
        return AuthResult(False, status)

    def check(self, method, target, authorization):
        """Authenticate one request (method, request-target as sent, Authorization header)."""
        if self.mode == 'none':
            return AuthResult(True, user='anonymous')
        if not authorization:
            return self._fail()
        if self.mode == 'basic':
            return self._check_basic(authorization)
        return self._check_digest(method, target, authorization)

    def _check_basic(self, authorization):
        """passport-http BasicStrategy: 'Basic base64(user:password)'."""
        parts = authorization.split(' ')
        if len(parts) < 2:
            return self._fail(400)
        if parts[0].lower() != 'basic':
            return self._fail()
        try:
            user, sep, password = base64.b64decode(parts[1]).decode('utf-8').partition(':')
        except (ValueError, UnicodeDecodeError):
            return self._fail(400)
        if not sep:
            return self._fail(400)
        ok_user = hmac.compare_digest(user.encode(), self.user.encode())
        ok_pass = hmac.compare_digest(_md5('%s:%s:%s' % (user, self.realm, password)), self._ha1)
        return AuthResult(True, user=user) if ok_user and ok_pass else self._fail()

    def _check_digest(self, method, target, authorization):
        """passport-http DigestStrategy.authenticate with Arkime's secret and validate hooks."""
        parts = authorization.split(' ')
        if len(parts) < 2:
            return self._fail(400)
        if not re.search('digest', parts[0], re.I):
            return self._fail()
        creds = parse_digest_params(' '.join(parts[1:]))
        if not creds.get('username'):
            return self._fail(400)
        if creds.get('uri') != target:
            return self._fail(400)
        if creds['username'] != self.user:
            return self._fail()
        algorithm = creds.get('algorithm')
        if not algorithm or algorithm == 'MD5':
            ha1 = self._ha1
        elif algorithm == 'MD5-sess':
            # passport hashes the "password" it got, which for Arkime is the {ha1} object
            ha1 = _md5('%s:%s:[object Object]:%s:%s' % (
                creds['username'], creds.get('realm'), creds.get('nonce'), creds.get('cnonce')))
        else:
            return self._fail(400)
        qop = creds.get('qop')
        if qop not in (None, 'auth'):
            return self._fail(500 if qop == 'auth-int' else 400)
        ha2 = _md5('%s:%s' % (method, creds['uri']))
        if qop is None:
            expected = _md5('%s:%s:%s' % (ha1, creds.get('nonce'), ha2))
        else:
            expected = _md5('%s:%s:%s:%s:%s:%s' % (ha1, creds.get('nonce'), creds.get('nc'),
                                                   creds.get('cnonce'), qop, ha2))
        if not hmac.compare_digest(expected, creds.get('response', '')):
            return self._fail()
        if self.strict_nonce and not self._nonce_ok(creds.get('nonce'), creds.get('nc')):
            return self._fail()
        return AuthResult(True, user=creds['username'])

    def _nonce_ok(self, nonce, nc):
        """Strict mode only (Arkime checks nothing): a nonce we issued, with a rising nc."""
        try:
            count = int(nc or '0', 16)
        except ValueError:
            return False
        with self._lock:
            last = self._nonces.get(nonce)
            if last is None or count <= last:
                return False
            self._nonces[nonce] = count
            return True
