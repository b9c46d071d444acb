"""Coordinator login for the app: salted PBKDF2-SHA256 password hashes (standard library), no plain passwords stored.

Create a hash with `semmatch hash-password`, then set it as $SEMMATCH_APP_PASSWORD_HASH or as `password_hash` in
.streamlit/secrets.toml. Without one, `semmatch app` binds to 127.0.0.1 only.

Logins are throttled (`LoginThrottle`, moving windows from the `limits` library): per client and over all clients
of one server process. Every attempt takes its slot before the password is checked, so concurrent tries cannot slip
past the limit; failures are logged (client and time, never the password).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from semmatch.errors import ConfigError, require

if TYPE_CHECKING:
    from limits import RateLimitItem

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


def parse_hash(stored: object) -> tuple[int, bytes, bytes]:
    """(iterations, salt, digest) of a stored hash; a malformed one (also one that is not a string, e.g. a number or
    a table in secrets.toml) is a ConfigError (checked before any login)."""
    if not isinstance(stored, str):
        raise ConfigError(f"the configured password hash is malformed: a value of type {type(stored).__name__}, "
                          f"not a string; create one with `semmatch hash-password`")
    try:
        algorithm, iterations, salt, digest = stored.strip().split("$")
        if algorithm != ALGORITHM:
            raise ValueError(f"unknown algorithm {algorithm!r}")
        if not (iterations.isascii() and iterations.isdigit()):  # int() would also take "１０００" or " 1_000"
            raise ValueError(f"iterations {iterations!r} is not a number")
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
    """The password hash from the environment, else from Streamlit secrets; None when no login is configured (unset
    or empty). A `password_hash` that is not a string (a number, true/false, a list, a table) is a ConfigError."""
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    stored = (secrets or {}).get("password_hash")
    if stored is None or stored == "":
        return None
    if not isinstance(stored, str):
        parse_hash(stored)  # raises the ConfigError that names the type
    return stored


LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local_address(address: str | None) -> bool:
    """True when the server listens on this computer only (an unset address means all interfaces)."""
    return address is not None and address.strip().lower() in LOCAL_ADDRESSES


CLIENT_LIMITS_ENV = "SEMMATCH_LOGIN_LIMITS_CLIENT"
GLOBAL_LIMITS_ENV = "SEMMATCH_LOGIN_LIMITS_ALL"
CLIENT_LIMITS = "5/minute,20/hour"  # failed attempts one client may make
GLOBAL_LIMITS = "30/minute,300/hour"  # failed attempts of all clients together (guessing from many addresses)
log = logging.getLogger("semmatch.auth")


def _limits(text: str, env: str) -> list[RateLimitItem]:
    limits = require("limits", extra="app", feature="the app's login throttle")
    try:
        return limits.parse_many(text)
    except ValueError as exc:
        raise ConfigError(f"${env}: {text!r} is not a list of limits like '5/minute,20/hour'") from exc


@dataclass(frozen=True)
class LoginResult:
    """One login attempt: `ok` when the password was right; `wait` > 0 when the throttle refused it (seconds to wait;
    the password was not checked)."""

    ok: bool
    wait: int = 0


class LoginThrottle:
    """Backoff for logins, per client and over all clients, in this process's memory.

    Every attempt takes its slot in the client's windows and in the global ones (`acquire`) before the password is
    checked; the test of the windows and the counting happen under one lock, so concurrent attempts cannot pass
    together. Once a window is full, tries are refused, without checking the password, until its oldest attempt
    leaves the window. A success clears the client's windows (not the global ones, which count every attempt).
    """

    def __init__(self, client_limits: str | None = None, global_limits: str | None = None) -> None:
        self.client_limits = _limits(client_limits or os.environ.get(CLIENT_LIMITS_ENV) or CLIENT_LIMITS,
                                     CLIENT_LIMITS_ENV)
        self.global_limits = _limits(global_limits or os.environ.get(GLOBAL_LIMITS_ENV) or GLOBAL_LIMITS,
                                     GLOBAL_LIMITS_ENV)
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()

    def _windows(self, client: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        return ([(item, ("client", client)) for item in self.client_limits]
                + [(item, ("all",)) for item in self.global_limits])

    def wait(self, client: str) -> int:
        """Seconds until this client may try again; 0 when it may try now (counts nothing)."""
        now, longest = time.time(), 0
        for item, keys in self._windows(client):
            if not self.limiter.test(item, *keys):
                reset = self.limiter.get_window_stats(item, *keys).reset_time
                longest = max(longest, max(1, math.ceil(reset - now)))
        return longest

    def acquire(self, client: str) -> int:
        """Take one attempt's slot in every window of this client and in the global ones: 0 when the client may check
        its password now (the attempt is counted already), else the seconds to wait (nothing is counted)."""
        with self._lock:  # test and count at once: concurrent attempts cannot all see a free window
            wait = self.wait(client)
            if wait:
                return wait
            taken = [self.limiter.hit(item, *keys) for item, keys in self._windows(client)]
        return 0 if all(taken) else max(1, self.wait(client))  # hit() is the gate should another counter share them

    def log_failure(self, client: str) -> None:
        """Log a failed attempt (client and time; never the password). `acquire` has counted it already."""
        log.warning("failed login from client %s at %s", client,
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def succeeded(self, client: str) -> None:
        """Clear the client's windows after a right password (the global windows keep the attempt)."""
        with self._lock:
            for item in self.client_limits:
                self.limiter.clear(item, "client", client)

    def login(self, client: str, password: str, stored: str) -> LoginResult:
        """One attempt: the slot first, then the password (a malformed hash is a ConfigError)."""
        wait = self.acquire(client)
        if wait:  # refused without checking the password: no guessing, no CPU spent on the hash
            return LoginResult(ok=False, wait=wait)
        if verify_password(password, stored):
            self.succeeded(client)
            return LoginResult(ok=True)
        self.log_failure(client)
        return LoginResult(ok=False)
