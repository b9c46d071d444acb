"""Issue 15 item 7: login throttling (per client and over all sessions of one server process), logged failures
without the password, a clear message instead of a traceback for a malformed hash, no error details on a network."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import streamlit as st
from click.testing import CliRunner
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from semmatch.auth import hash_password
from semmatch.errors import ConfigError

APP = str(Path(__file__).resolve().parents[1] / "app.py")
ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "richtig-geheim"
WRONG = "falsch-geraten-123"


@pytest.fixture
def login_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMMATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("SEMMATCH_INDEX_ROOT", str(tmp_path / "indexes"))
    monkeypatch.setenv("SEMMATCH_MODEL", "test-keywords")
    monkeypatch.setenv("SEMMATCH_PLUGINS", "tests.fake_plugin")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SEMMATCH_APP_PASSWORD_HASH", hash_password(PASSWORD, iterations=1000))
    monkeypatch.setenv("SEMMATCH_LOGIN_LIMITS_CLIENT", "3/minute")
    monkeypatch.setenv("SEMMATCH_LOGIN_LIMITS_ALL", "5/minute")
    st.cache_resource.clear()  # a fresh throttle: it lives as long as the server process (here: this test)
    yield
    st.cache_resource.clear()


def session() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def attempt(at: AppTest, password: str) -> str:
    at.text_input(key="password").input(password)
    at.button(key="login").click().run()
    assert not at.exception, at.exception
    return " ".join(e.value for e in at.error)


def waited_seconds(message: str) -> int:
    found = re.search(r"Zu viele Fehlversuche\. Bitte in (\d+) Sekunden erneut versuchen\.", message)
    assert found, message
    return int(found.group(1))


def test_failed_logins_are_throttled_per_client_and_in_total(login_env, monkeypatch, caplog):
    checked = []
    import semmatch.app_login as gate

    real = gate.verify_password
    monkeypatch.setattr(gate, "verify_password", lambda p, s: checked.append(p) or real(p, s))
    caplog.set_level(logging.WARNING, logger="semmatch")
    first = session()
    for _ in range(3):
        assert "Falsches Passwort" in attempt(first, WRONG)
    assert len(checked) == 3
    assert 1 <= waited_seconds(attempt(first, WRONG)) <= 60  # the 4th try of this client waits
    assert 1 <= waited_seconds(attempt(first, PASSWORD)) <= 60  # even the right password: no guessing while locked
    assert len(checked) == 3 and not first.text_area  # refused without computing the hash, still logged out

    second = session()  # another session of the same server process: its own client window, the shared total
    for _ in range(2):
        assert "Falsches Passwort" in attempt(second, WRONG)
    assert 1 <= waited_seconds(attempt(second, PASSWORD)) <= 60  # 5 failures in total: everyone waits
    assert len(checked) == 5

    failures = [r for r in caplog.records if "failed login" in r.getMessage()]
    assert len(failures) == 5 and all("client" in r.getMessage() for r in failures)
    assert not any(WRONG in r.getMessage() or PASSWORD in r.getMessage() for r in caplog.records)


def test_a_success_clears_the_clients_failures(login_env, monkeypatch):
    monkeypatch.setenv("SEMMATCH_LOGIN_LIMITS_ALL", "100/minute")
    st.cache_resource.clear()
    at = session()
    for _ in range(2):
        attempt(at, WRONG)
    attempt(at, PASSWORD)
    assert at.text_area(key="need_text") is not None


def test_throttle_windows_and_settings():
    from semmatch.auth import LoginThrottle

    throttle = LoginThrottle("2/minute", "3/minute")
    assert throttle.wait("a") == 0
    throttle.failed("a")
    throttle.failed("a")
    assert 1 <= throttle.wait("a") <= 60 and throttle.wait("b") == 0
    throttle.failed("b")
    assert 1 <= throttle.wait("b") <= 60  # the total is full
    throttle.succeeded("a")
    assert throttle.wait("c") > 0  # a success clears the client's window, not the total
    with pytest.raises(ConfigError, match="SEMMATCH_LOGIN_LIMITS_CLIENT"):
        LoginThrottle("viele pro Minute")


@pytest.mark.parametrize("stored", ["nonsense", "pbkdf2_sha256$abc$c2FsdA==$ZGlnZXN0",
                                    "pbkdf2_sha256$1000$!!$ZGlnZXN0", "pbkdf2_sha256$99999999999$c2FsdA==$ZGlnZXN0"])
def test_a_malformed_hash_gives_visitors_a_message_not_a_traceback(login_env, monkeypatch, stored, caplog):
    from semmatch.auth import verify_password

    monkeypatch.setenv("SEMMATCH_APP_PASSWORD_HASH", stored)
    with pytest.raises(ConfigError):
        verify_password(WRONG, stored)
    at = session()
    if at.text_input:  # wherever the login still asks for a password, trying it must not show a traceback
        at.text_input(key="password").input(WRONG)
        at.button(key="login").click().run()
    assert not at.exception, at.exception
    assert any("fehlerhaft eingerichtet" in e.value for e in at.error)
    assert not any("Traceback" in e.value or stored in e.value for e in at.error)
    assert not at.text_area  # nothing of the app


def test_error_details_are_off_when_serving_a_network(login_env):
    before = (st_config.get_option("server.address"), st_config.get_option("client.showErrorDetails"))
    try:
        st_config.set_option("server.address", "0.0.0.0")
        session()
        assert st_config.get_option("client.showErrorDetails") == "none"
    finally:
        st_config.set_option("server.address", before[0])
        st_config.set_option("client.showErrorDetails", before[1])


def test_semmatch_app_on_a_network_turns_error_details_off(monkeypatch, tmp_path):
    import subprocess

    from semmatch.cli import main

    calls = []
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(subprocess, "call", lambda command, env=None: calls.append(command) or 0)
    monkeypatch.setenv("SEMMATCH_APP_PASSWORD_HASH", hash_password(PASSWORD, iterations=1000))
    db = f"sqlite:///{tmp_path / 'x.db'}"
    for address in ("0.0.0.0", None):
        args = ["app", "--db", db] + (["--address", address] if address else [])
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    network, local = calls
    assert network[network.index("--client.showErrorDetails") + 1] == "none"
    assert "--client.showErrorDetails" not in local
