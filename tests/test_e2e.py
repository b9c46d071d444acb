"""End to end in a real browser: `streamlit run app.py` on localhost, driven by headless Chromium (Debian's chromium
with playwright). Paste a need, see the shortlist, record a decision, find it in the database, save a screenshot.

Skips, with the reason printed, where chromium or playwright is missing (`make test` installs both)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import polars as pl
import pytest

from semmatch.store import Store

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT_DIR = Path(os.environ.get("SEMMATCH_SCREENSHOT_DIR", "/tmp/semmatch-e2e"))


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def running_app(tmp_path_factory):
    browser = chromium_path()
    if browser is None:
        print("SKIP reason: no chromium on PATH (apt-get install chromium)")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    pytest.importorskip("playwright", reason="playwright is not installed (pip install playwright)")
    tmp = tmp_path_factory.mktemp("e2e")
    db = f"sqlite:///{tmp / 'app.db'}"
    offers = pl.DataFrame({
        "offer_id": ["O1", "O2", "O3"], "title": ["Webentwicklerin", "Fahrer", "Datenanalyst"],
        "description": ["Ich baue eine Website mit WordPress.", "Fahrdienst mit dem Auto für Senioren.",
                        "Python und Statistik für Daten."],
        "plz": ["52062", "52249", "10117"], "remote_ok": ["true", "false", "true"],
        "contact_email": ["anna@example.org", "bernd@example.org", "cem@example.org"],
    })
    offers.write_csv(tmp / "offers.csv")
    pl.DataFrame({"need_id": ["N1"], "description": ["Website mit WordPress"], "plz": ["52062"]}).write_csv(
        tmp / "needs.csv")
    with Store(db) as store:
        store.import_file("offers", tmp / "offers.csv")
        store.import_file("needs", tmp / "needs.csv")
    port = free_port()
    env = {**os.environ, "SEMMATCH_DATABASE_URL": db, "SEMMATCH_INDEX_ROOT": str(tmp / "indexes"),
           "SEMMATCH_MODEL": "test-keywords", "SEMMATCH_PLUGINS": "tests.fake_plugin",
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}", "PYTHONPATH": str(ROOT)}
    env.pop("SEMMATCH_APP_PASSWORD_HASH", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("streamlit did not come up: " + server.stdout.read().decode(errors="replace")[-2000:])
    yield url, db, browser
    server.terminate()
    server.wait(timeout=20)


def test_browser_paste_need_see_results_record_decision(running_app):
    from playwright.sync_api import expect, sync_playwright

    url, db, browser_path = running_app
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(url)
        expect(page.get_by_text("Hilfe finden, die passt")).to_be_visible(timeout=60_000)
        need = page.get_by_label("Beschreibung des Bedarfs")
        need.fill("Wir suchen Hilfe für unsere Website mit WordPress.")
        need.press("Control+Enter")
        page.get_by_role("button", name="Passende Angebote finden").click()
        expect(page.get_by_text("Webentwicklerin").first).to_be_visible(timeout=60_000)
        page.get_by_role("button", name="Bedarf speichern").click()
        expect(page.get_by_text("Gespeichert als").first).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Kontaktiert").first.click()
        expect(page.get_by_text("Entscheidung gespeichert").first).to_be_visible(timeout=30_000)
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / "e2e_shortlist.png"), full_page=True)
        browser.close()
    with Store(db) as store:
        full_log = store.decisions()
    log = full_log.filter(pl.col("action") != "shown")
    assert log.height == 1 and log["action"][0] == "contacted" and log["offer_id"][0] == "O1"
    assert "O1" in full_log.filter(pl.col("action") == "shown")["offer_id"].to_list()
    assert (SCREENSHOT_DIR / "e2e_shortlist.png").stat().st_size > 10_000
