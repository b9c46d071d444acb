"""Coordinator login for the app: salted PBKDF2-SHA256 password hashes (standard library), no plain passwords stored.

Create a hash with `semmatch hash-password`, then set it as $SEMMATCH_APP_PASSWORD_HASH or as `password_hash` in
.streamlit/secrets.toml. Without one, `semmatch app` binds to 127.0.0.1 only.

Failed logins are throttled (`LoginThrottle`, moving windows from the `limits` library): per client and over all
clients of one server process, and logged (client and time, never the password).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import math
import os
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from semmatch.errors import ConfigError

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000
MIN_ITERATIONS, MAX_ITERATIONS = 1_000, 10_000_000  # a hash outside is refused (too weak, or a CPU trap)
PASSWORD_ENV = "SEMMATCH_APP_PASSWORD_HASH"


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    if not password:
        raise ConfigError("the password must not be empty")
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return "$".join([ALGORITHM, str(iterations), base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def parse_hash(stored: str) -> tuple[int, bytes, bytes]:
    """(iterations, salt, digest) of a stored hash; a malformed one is a ConfigError (checked before any login)."""
    try:
        algorithm, iterations, salt, digest = stored.strip().split("$")
        if algorithm != ALGORITHM:
            raise ValueError(f"unknown algorithm {algorithm!r}")
        rounds = int(iterations)
        if not MIN_ITERATIONS <= rounds <= MAX_ITERATIONS:
            raise ValueError(f"iterations {rounds} outside {MIN_ITERATIONS}..{MAX_ITERATIONS}")
        salt_bytes, expected = base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
        if not salt_bytes or len(expected) != hashlib.sha256().digest_size:
            raise ValueError("salt or digest has the wrong length")
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the configured password hash is malformed; create one with `semmatch hash-password` "
                          f"({exc})") from exc
    return rounds, salt_bytes, expected


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against a stored hash; a malformed hash is a ConfigError."""
    iterations, salt, expected = parse_hash(stored)
    actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(actual, expected)


def configured_hash(secrets: dict | None = None) -> str | None:
    """The password hash from the environment, else from Streamlit secrets; None when no login is configured."""
    return os.environ.get(PASSWORD_ENV) or (secrets or {}).get("password_hash") or None


LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local_address(address: str | None) -> bool:
    """True when the server listens on this computer only (an unset address means all interfaces)."""
    return bool(address) and address.strip().lower() in LOCAL_ADDRESSES


CLIENT_LIMITS_ENV = "SEMMATCH_LOGIN_LIMITS_CLIENT"
GLOBAL_LIMITS_ENV = "SEMMATCH_LOGIN_LIMITS_ALL"
CLIENT_LIMITS = "5/minute,20/hour"  # failed attempts one client may make
GLOBAL_LIMITS = "30/minute,300/hour"  # failed attempts of all clients together (guessing from many addresses)
log = logging.getLogger("semmatch.auth")


def _limits(text: str, env: str) -> list[RateLimitItem]:
    try:
        return parse_many(text)
    except ValueError as exc:
        raise ConfigError(f"${env}: {text!r} is not a list of limits like '5/minute,20/hour'") from exc


class LoginThrottle:
    """Backoff for failed logins, per client and over all clients, in this process's memory.

    `wait(client)` is the number of seconds the client must still wait (0: it may try). Every failure counts in the
    client's windows and in the global ones; once a window is full, tries are refused, without checking the password,
    until its oldest failure leaves the window. A success clears the client's windows (not the global ones).
    """

    def __init__(self, client_limits: str | None = None, global_limits: str | None = None) -> None:
        self.client_limits = _limits(client_limits or os.environ.get(CLIENT_LIMITS_ENV) or CLIENT_LIMITS,
                                     CLIENT_LIMITS_ENV)
        self.global_limits = _limits(global_limits or os.environ.get(GLOBAL_LIMITS_ENV) or GLOBAL_LIMITS,
                                     GLOBAL_LIMITS_ENV)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def _windows(self, client: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        return ([(item, ("client", client)) for item in self.client_limits]
                + [(item, ("all",)) for item in self.global_limits])

    def wait(self, client: str) -> int:
        """Seconds until this client may try again; 0 when it may try now."""
        now, longest = time.time(), 0
        for item, keys in self._windows(client):
            if not self.limiter.test(item, *keys):
                reset = self.limiter.get_window_stats(item, *keys).reset_time
                longest = max(longest, max(1, math.ceil(reset - now)))
        return longest

    def failed(self, client: str) -> None:
        """Count a failed attempt and log it (client and time; never the password)."""
        for item, keys in self._windows(client):
            self.limiter.hit(item, *keys)
        log.warning("failed login from client %s at %s", client,
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def succeeded(self, client: str) -> None:
        for item in self.client_limits:
            self.limiter.clear(item, "client", client)
