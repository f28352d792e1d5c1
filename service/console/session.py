"""Console sessions: a signed cookie, never the API key itself, and a CSRF token per session.

The cookie holds base64url(JSON) + "." + base64url(HMAC-SHA256) of
`{"n": nonce, "r": role or null, "k": key fingerprint or null, "t": issued at}`. The key
fingerprint is an HMAC of the API key under the console secret, so the cookie neither contains
the key nor lets anyone recover it; a session is valid while a configured key with that
fingerprint still has that role (removing a key from the settings ends its sessions) and
for `console_session_hours`. A visitor who has not signed in gets an anonymous session too, so
the sign-in form carries a CSRF token like every other form; signing in issues a new nonce.

The CSRF token is an HMAC of the session's nonce (synchronizer token): forms carry it in the
hidden field `csrf_token`; a cross-site page can neither read it nor, with SameSite=Strict,
send the cookie along.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from service.settings import Settings

COOKIE = "wegwijzer_console"
COOKIE_PATH = "/console"


@dataclass(frozen=True)
class Session:
    nonce: str
    role: str | None  # forum never gets one; None: not signed in
    key_fingerprint: str | None
    issued: float

    @property
    def signed_in(self) -> bool:
        return self.role is not None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Signs and checks session cookies and CSRF tokens for one settings object."""

    def __init__(self, settings: Settings) -> None:
        configured = settings.console_secret.get_secret_value() if settings.console_secret is not None else None
        self.secret = configured.encode("utf-8") if configured else secrets.token_bytes(32)
        self.auth_enabled = settings.auth_enabled
        self.max_age_s = settings.console_session_hours * 3600
        self._roles = {self.fingerprint(key): role for key, role in settings.api_keys.items()}

    def _mac(self, purpose: str, data: bytes) -> bytes:
        return hmac.new(self.secret, purpose.encode("ascii") + b"\0" + data, hashlib.sha256).digest()

    def fingerprint(self, api_key: str) -> str:
        return self._mac("key", api_key.encode("utf-8")).hex()[:32]

    def role_of_key(self, api_key: str) -> str | None:
        """The role of a configured key (compared by fingerprint, in constant time per key)."""
        fp = self.fingerprint(api_key)
        found = None
        for known, role in self._roles.items():
            if hmac.compare_digest(known, fp):
                found = role
        return found

    def new(self, role: str | None = None, api_key: str | None = None) -> Session:
        return Session(secrets.token_hex(16), role, self.fingerprint(api_key) if api_key else None,
                       round(time.time(), 3))

    def dump(self, s: Session) -> str:
        body = json.dumps({"n": s.nonce, "r": s.role, "k": s.key_fingerprint, "t": round(s.issued, 3)},
                          separators=(",", ":")).encode("utf-8")
        return f"{_b64(body)}.{_b64(self._mac('session', body))}"

    def load(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session in a cookie when its signature holds and it has not expired or lost its key."""
        if not cookie or cookie.count(".") != 1:
            return None
        body_text, mac_text = cookie.split(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            data = json.loads(body)
            s = Session(str(data["n"]), data["r"], data["k"], float(data["t"]))
        except (ValueError, KeyError, TypeError):
            return None
        if s.role is None:
            return s
        if (now or time.time()) - s.issued > self.max_age_s:
            return None
        if self.auth_enabled and (s.key_fingerprint is None or self._roles.get(s.key_fingerprint) != s.role):
            return None  # the key was removed or its role changed since sign-in
        return s

    def csrf_token(self, s: Session) -> str:
        return _b64(self._mac("csrf", s.nonce.encode("ascii")))

    def csrf_ok(self, s: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf_token(s))
