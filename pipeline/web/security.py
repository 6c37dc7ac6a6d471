"""What keeps each page to its own reader: response headers, the body-size limit, CSRF tokens, the
slowing of wrong unit tokens, and the officer's gate (loopback, or a password and a session)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"SAMEORIGIN"),
           (b"cache-control", b"no-store")]
FORM_SLACK = 64 * 1024   # the multipart envelope and the form's small fields, beside the file itself


class SecurityHeaders:
    """Adds the security headers to every response (the report pages shown in a frame included)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *[h for h in HEADERS if h[0] not in names]]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    """A request body went past the limit: it is refused before being read whole."""


class BodyLimit:
    """Refuses a body larger than `limit` bytes: at once when its Content-Length says so, else as soon
    as the bytes read pass it (nothing past the limit is read, nothing of it is written to disk)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await _too_large(send, self.limit)
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge()
            return message

        await self.app(scope, counting_receive, send)


async def _too_large(send, limit: int) -> None:
    body = (f"Tệp quá lớn: chỉ nhận tệp đến {limit / 1048576:.0f} MB. Không có gì được lưu.").encode("utf-8")
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
                            (b"content-length", str(len(body)).encode()), *HEADERS]})
    await send({"type": "http.response.body", "body": body})


class Csrf:
    """A token per scope (the officer's session, a unit's link), an HMAC under a secret of this
    server process: a page of another site cannot read it, so cannot post a form of ours."""

    def __init__(self, secret: bytes | None = None):
        self.secret = secret or secrets.token_bytes(32)

    def token(self, scope: str) -> str:
        return hmac.new(self.secret, scope.encode("utf-8"), hashlib.sha256).hexdigest()

    def valid(self, scope: str, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(self.token(scope), str(value))


class Throttle:
    """Counts the wrong unit tokens from each address: after `free` of them within `window`
    seconds, that address is answered 429 until the window has passed."""

    def __init__(self, free: int = 10, window: float = 900.0):
        self.free, self.window = free, window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(address, []) if now - t < self.window]
        self._failures[address] = times
        return times

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, time.monotonic())) >= self.free

    def failed(self, address: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(address, now).append(now)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


SESSION_COOKIE = "baocao_can_bo"
SESSION_SECONDS = 8 * 3600


class OfficerGate:
    """Who may open the officer's pages. Without a password: a request from this machine (the
    loopback address) only. With one: whoever signs in with it; the password is kept only as a
    salted scrypt hash, and a session is a random id in an HttpOnly, SameSite=Strict cookie."""

    def __init__(self, password: str = ""):
        self._salt = secrets.token_bytes(16)
        self._hash = self._digest(password) if password else None
        self._sessions: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def needs_password(self) -> bool:
        return self._hash is not None

    def _digest(self, password: str) -> bytes:
        return hashlib.scrypt(password.encode("utf-8"), salt=self._salt, n=2 ** 14, r=8, p=1)

    def check_password(self, password: str) -> bool:
        return self._hash is not None and hmac.compare_digest(self._digest(password or ""), self._hash)

    def open_session(self) -> str:
        session = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[session] = time.monotonic() + SESSION_SECONDS
        return session

    def close_session(self, session: str | None) -> None:
        with self._lock:
            self._sessions.pop(session or "", None)

    def session_of(self, cookies: dict, client_host: str | None) -> str | None:
        """The request's officer scope ('local' on loopback without a password), or None: not allowed."""
        if self._hash is None:
            return "local" if is_loopback(client_host) else None
        session = cookies.get(SESSION_COOKIE)
        with self._lock:
            expires = self._sessions.get(session or "")
            if expires is None or expires < time.monotonic():
                self._sessions.pop(session or "", None)
                return None
        return session
