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
    import semmatch.auth as auth

    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda p, s: checked.append(p) or real(p, s))
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
    assert throttle.acquire("a") == 0 and throttle.acquire("a") == 0  # each attempt takes its slot
    assert 1 <= throttle.wait("a") <= 60 and throttle.wait("b") == 0
    assert 1 <= throttle.acquire("a") <= 60  # refused, and not counted
    assert throttle.acquire("b") == 0
    assert 1 <= throttle.wait("b") <= 60 and throttle.acquire("c") > 0  # the total is full
    throttle.succeeded("a")
    assert throttle.wait("c") > 0  # a success clears the client's window, not the total
    with pytest.raises(ConfigError, match="SEMMATCH_LOGIN_LIMITS_CLIENT"):
        LoginThrottle("viele pro Minute")


@pytest.mark.parametrize("stored", ["nonsense", "pbkdf2_sha256$abc$c2FsdA==$ZGlnZXN0",
                                    "pbkdf2_sha256$1000$!!$ZGlnZXN0", "pbkdf2_sha256$99999999999$c2FsdA==$ZGlnZXN0",
                                    "pbkdf2_sha256$１０００$c2FsdA==$" + "A" * 43 + "="])
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

    from semmatch.cli.main import main

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


# Red team F3: the check and the count were two steps (wait(), then PBKDF2, then failed()), so 40 concurrent tries
# all passed a 5/minute limit. Every attempt now takes its slot before the password is checked.

def concurrent_logins(throttle, clients: list[str], monkeypatch) -> tuple[int, list]:
    import threading

    import semmatch.auth as auth

    stored = hash_password(PASSWORD, iterations=20_000)  # a real hash: each check takes a few milliseconds
    real, checked, lock = auth.verify_password, [], threading.Lock()

    def counting(password: str, hashed: str) -> bool:
        with lock:
            checked.append(password)
        return real(password, hashed)

    monkeypatch.setattr(auth, "verify_password", counting)
    start, results = threading.Barrier(len(clients)), [None] * len(clients)

    def one(i: int) -> None:
        start.wait()  # all threads try at the same moment
        results[i] = throttle.login(clients[i], f"{WRONG}-{i}", stored)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(checked), results


def test_concurrent_attempts_of_one_client_cannot_pass_the_throttle(monkeypatch):
    from semmatch.auth import LoginThrottle

    throttle = LoginThrottle("5/minute", "1000/minute")
    checked, results = concurrent_logins(throttle, ["10.0.0.1"] * 40, monkeypatch)
    assert checked == 5  # at most the per-client limit reached the password check
    assert sum(r.wait > 0 for r in results) == 35 and not any(r.ok for r in results)
    assert 1 <= throttle.wait("10.0.0.1") <= 60


def test_concurrent_attempts_of_many_clients_cannot_pass_the_global_limit(monkeypatch):
    from semmatch.auth import LoginThrottle

    throttle = LoginThrottle("5/minute", "5/minute")
    checked, results = concurrent_logins(throttle, [f"10.0.1.{i}" for i in range(40)], monkeypatch)
    assert checked == 5 and sum(r.wait > 0 for r in results) == 35


def test_a_success_takes_a_slot_and_clears_the_clients_count():
    from semmatch.auth import LoginResult, LoginThrottle

    throttle, stored = LoginThrottle("2/minute", "100/minute"), hash_password(PASSWORD, iterations=1000)
    for _ in range(2):
        assert throttle.login("a", WRONG, stored) == LoginResult(ok=False, wait=0)  # checked and wrong
    assert throttle.login("a", PASSWORD, stored).wait > 0  # the window is full: even the right one waits
    throttle.succeeded("a")
    assert throttle.login("a", PASSWORD, stored).ok
    assert throttle.login("a", WRONG, stored).wait == 0  # the success cleared the client's count


# Red team F4: a non-string password_hash in .streamlit/secrets.toml raised an AttributeError that the visitor saw;
# a broken secrets.toml made `semmatch app` print a TOMLDecodeError traceback (and the app ran without its login).

NOT_STRINGS = [123, True, False, 0, 1.5, ["pbkdf2_sha256$1000$c2FsdA==$ZGlnZXN0"], {"hash": "x"}]


@pytest.mark.parametrize("stored", NOT_STRINGS, ids=lambda v: type(v).__name__ + "-" + str(v)[:8])
def test_a_password_hash_that_is_not_a_string_is_a_config_error(stored):
    from semmatch.auth import configured_hash, parse_hash, verify_password

    with pytest.raises(ConfigError, match="malformed"):
        parse_hash(stored)
    with pytest.raises(ConfigError, match="malformed"):
        configured_hash({"password_hash": stored})
    with pytest.raises(ConfigError):
        verify_password(WRONG, stored)


@pytest.mark.parametrize("stored", NOT_STRINGS, ids=lambda v: type(v).__name__ + "-" + str(v)[:8])
def test_a_non_string_hash_in_secrets_gives_visitors_a_message(login_env, monkeypatch, stored):
    monkeypatch.delenv("SEMMATCH_APP_PASSWORD_HASH")
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["password_hash"] = stored
    at.run()
    assert not at.exception, at.exception
    assert any("fehlerhaft eingerichtet" in e.value for e in at.error)
    assert not at.text_area and not [w for w in at.text_input if w.key == "password"]  # no app, no login field


@pytest.fixture
def broken_secrets(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text('password_hash = "pbkdf2_sha256$1000$abc\nkaputt = [\n', encoding="utf-8")
    before = st_config.get_option("secrets.files")
    st_config.set_option("secrets.files", [str(path)])
    st.secrets._reset()
    yield path
    st_config.set_option("secrets.files", before)
    st.secrets._reset()


@pytest.mark.parametrize("hash_in_env", [False, True])
def test_a_broken_secrets_file_gives_visitors_a_message(login_env, monkeypatch, broken_secrets, hash_in_env, caplog):
    if not hash_in_env:
        monkeypatch.delenv("SEMMATCH_APP_PASSWORD_HASH")
    caplog.set_level(logging.ERROR, logger="semmatch")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert any("fehlerhaft eingerichtet" in e.value and "secrets.toml" in e.value for e in at.error)
    assert not any("Traceback" in e.value or "line" in e.value for e in at.error)  # the details go to the log
    assert not at.text_area and not [w for w in at.text_input if w.key == "password"]
    assert any("secrets" in r.getMessage() for r in caplog.records)


def app_in(folder: Path, secrets: str, monkeypatch) -> list:
    import subprocess

    (folder / "app.py").write_text("", encoding="utf-8")
    (folder / ".streamlit").mkdir()
    (folder / ".streamlit" / "secrets.toml").write_text(secrets, encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.delenv("SEMMATCH_APP_PASSWORD_HASH", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda command, env=None: calls.append(command) or 0)
    return calls


@pytest.mark.parametrize("address", ["0.0.0.0", None])
def test_semmatch_app_with_a_broken_secrets_file_is_a_clear_error(monkeypatch, tmp_path, address):
    from semmatch.cli.main import main

    calls = app_in(tmp_path, 'password_hash = "pbkdf2_sha256$1000\n[kaputt\n', monkeypatch)
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(main, ["app", "--db", db] + (["--address", address] if address else []))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert "secrets.toml" in result.output and "TOML" in result.output and "Traceback" not in result.output
    assert not calls  # the app was not started


@pytest.mark.parametrize("value", ["123", "true", "false", '["x"]', '{ a = "b" }'])
def test_semmatch_app_with_a_non_string_hash_is_a_clear_error(monkeypatch, tmp_path, value):
    from semmatch.cli.main import main

    calls = app_in(tmp_path, f"password_hash = {value}\n", monkeypatch)
    result = CliRunner().invoke(main, ["app", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--address", "0.0.0.0"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert "malformed" in result.output and "Traceback" not in result.output
    assert not calls
