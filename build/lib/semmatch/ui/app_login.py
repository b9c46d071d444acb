"""The app's login gate (Streamlit): a salted password hash, throttled failures, no traceback for visitors."""

from __future__ import annotations

import logging
import uuid

from semmatch.auth import LoginThrottle, configured_hash, is_local_address, parse_hash
from semmatch.errors import ConfigError, MissingDependencyError
from semmatch.ui.i18n import TEXT

try:
    import streamlit as st
except ImportError as exc:  # the app's pages and login gate need the app extra
    raise MissingDependencyError("the app needs streamlit, from the app extra", extra="app") from exc

log = logging.getLogger("semmatch.app")


def t(key: str) -> str:
    return TEXT[st.session_state.get("lang", "de")][key]


@st.cache_resource(show_spinner=False)
def login_throttle() -> LoginThrottle:
    """One throttle for every session of this server process (failed logins per client and in total)."""
    return LoginThrottle()


def client_id() -> str:
    """Who is trying to log in: the connection's IP address; behind a reverse proxy on this host (the connection
    comes from localhost) the address the proxy appended to X-Forwarded-For; else this browser session."""
    address = st.context.ip_address
    if isinstance(address, str) and address:
        return address
    forwarded = st.context.headers.get("X-Forwarded-For")
    if isinstance(forwarded, str) and forwarded.split(",")[-1].strip():
        return forwarded.split(",")[-1].strip()
    return "session:" + st.session_state.setdefault("login_session", uuid.uuid4().hex[:12])


def streamlit_secrets() -> dict | None:
    """Streamlit's secrets as a dict: {} when there is no secrets file, None when one is broken (not valid TOML, a bad
    path; the details go to the server log, not to the visitor)."""
    try:
        return dict(st.secrets)
    except st.errors.StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", None) == "no-secrets-found":
            return {}
        log.error("login disabled: the Streamlit secrets cannot be read: %s", exc)
        return None
    except FileNotFoundError:  # no secrets file at all
        return {}


def login_gate() -> bool:
    secrets = streamlit_secrets()
    if secrets is None:
        st.error(t("bad_secrets"))
        return False
    try:
        stored = configured_hash(secrets)
        if stored is not None:
            parse_hash(stored)
    except ConfigError as exc:
        log.error("login disabled: %s", exc)  # the details go to the server log, not to the visitor
        st.error(t("bad_hash"))
        return False
    if stored is None:
        if not is_local_address(st.get_option("server.address")):
            st.error(t("not_local"))
            return False
        st.caption("🔒 " + t("local_only"))
        return True
    if st.session_state.get("authenticated"):
        return True
    password = st.text_input(t("login"), type="password", key="password")
    if st.button(t("login_button"), key="login"):
        result = login_throttle().login(client_id(), password, stored)
        if result.wait:
            st.error(t("throttled").format(seconds=result.wait))
            return False
        if result.ok:
            st.session_state["authenticated"] = True
            st.rerun()
        st.error(t("wrong"))
    return False
