"""Screenshot of the app's shortlist for the README (docs/app_shortlist.png).

Start the app on the demo data first (`semmatch app --demo --port 8599`), then:
    .venv/bin/python evaluation/app_screenshot.py --url http://127.0.0.1:8599
Needs playwright and Debian's chromium.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
NEED = ("Unser Stadtteilverein in Aachen sucht Unterstützung: Unsere Website ist veraltet und auf dem Handy kaum "
        "lesbar. Wir möchten sie mit WordPress neu aufsetzen und barrierefrei machen.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8599")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "app_shortlist.png")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 1900})
        page.goto(args.url)
        expect(page.get_by_text("Hilfe finden, die passt")).to_be_visible(timeout=300_000)
        need = page.get_by_label("Beschreibung des Bedarfs")
        need.fill(NEED)
        need.press("Control+Enter")
        plz = page.get_by_label("PLZ")
        plz.fill("52062")
        plz.press("Enter")
        page.get_by_role("button", name="Passende Angebote finden").click()
        expect(page.get_by_text("#1 ·").first).to_be_visible(timeout=120_000)
        page.wait_for_timeout(1500)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out), full_page=False)
        browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
