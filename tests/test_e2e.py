"""End to end in a real browser: `streamlit run app.py` on localhost, driven by headless Chromium (Debian's chromium
with playwright). Paste a need, see the shortlist, record a decision, find it in the database, save a screenshot.
One offer carries Markdown that would load an image from a local HTTP server and render a phishing link: the server
must get no request and the page must hold no such link or image (issue 15 item 4b).

Skips, with the reason printed, where chromium or playwright is missing (`make test` installs both)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest

from semmatch.store.database import Store

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


class Recorder(BaseHTTPRequestHandler):
    """Answers every GET with a 1x1 GIF and records the path: a request means the browser fetched record Markdown."""

    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        Recorder.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.end_headers()
        self.wfile.write(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00"
                         b"\x01\x00\x00\x02\x02D\x01\x00;")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def pixel_server():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", Recorder.requests
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def running_app(tmp_path_factory, pixel_server):
    browser = chromium_path()
    if browser is None:
        print("SKIP reason: no chromium on PATH (apt-get install chromium)")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    pytest.importorskip("playwright", reason="playwright is not installed (pip install playwright)")
    tmp = tmp_path_factory.mktemp("e2e")
    db = f"sqlite:///{tmp / 'app.db'}"
    pixel = f"![p]({pixel_server[0]}/pixel.png)"
    phish = "[Phish](http://evil.example/login)"
    offers = pl.DataFrame({
        "offer_id": ["O1", "O2", "O3", "O4"],
        "title": ["Webentwicklerin", "Fahrer", "Datenanalyst", f"{phish} {pixel}"],
        "description": ["Ich baue eine Website mit WordPress.", "Fahrdienst mit dem Auto für Senioren.",
                        "Python und Statistik für Daten.", f"Website {pixel} hier {phish} anmelden."],
        "plz": ["52062", "52249", "10117", "52062"], "remote_ok": ["true", "false", "true", "true"],
        "contact_email": ["anna@example.org", "bernd@example.org", "cem@example.org", "dora@example.org"],
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


def test_browser_paste_need_see_results_record_decision(running_app, pixel_server):
    from playwright.sync_api import expect, sync_playwright

    url, db, browser_path = running_app
    pixel_url, pixel_requests = pixel_server
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
        expect(page.get_by_text("Datenanalyst").first).to_be_visible(timeout=30_000)  # all 4 rendered
        page.wait_for_timeout(1500)  # time for any image the page would load
        assert pixel_requests == []  # the browser fetched nothing the record named
        assert page.locator(f'img[src^="{pixel_url}"]').count() == 0
        assert page.locator('a[href^="http://evil.example"]').count() == 0  # the record's link is text
        expect(page.get_by_text("[Phish](http:").first).to_be_visible()  # shown as written, inert
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
    assert pixel_requests == []
