"""Coordinator login for the app: salted PBKDF2-SHA256 password hashes (standard library), no plain passwords stored.

Create a hash with `semmatch hash-password`, then set it as $SEMMATCH_APP_PASSWORD_HASH or as `password_hash` in
.streamlit/secrets.toml. Without one, `semmatch app` binds to 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from semmatch.errors import ConfigError

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000
PASSWORD_ENV = "SEMMATCH_APP_PASSWORD_HASH"


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    if not password:
        raise ConfigError("the password must not be empty")
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return "$".join([ALGORITHM, str(iterations), base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against a stored hash; a malformed hash is a ConfigError."""
    try:
        algorithm, iterations, salt, digest = stored.strip().split("$")
        if algorithm != ALGORITHM:
            raise ValueError(algorithm)
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the configured password hash is malformed; create one with `semmatch hash-password` "
                          f"({exc})") from exc
    return hmac.compare_digest(actual, expected)


def configured_hash(secrets: dict | None = None) -> str | None:
    """The password hash from the environment, else from Streamlit secrets; None when no login is configured."""
    return os.environ.get(PASSWORD_ENV) or (secrets or {}).get("password_hash") or None


LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local_address(address: str | None) -> bool:
    """True when the server listens on this computer only (an unset address means all interfaces)."""
    return bool(address) and address.strip().lower() in LOCAL_ADDRESSES
