"""Load: 20 concurrent coordinator sessions pasting demo needs (real model, explained top-10) and recording decisions
against one database, SQLite (WAL) and PostgreSQL (a throwaway local server, as in the tests).

    .venv/bin/python evaluation/load_test.py            # needs the model (semmatch models --prepare e5-small)
Writes evaluation/results/load_test.json.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from semmatch import MatchConfig, Matcher  # noqa: E402
from semmatch.eval.loadtest import run_sessions  # noqa: E402
from semmatch.store.database import Store  # noqa: E402


def main() -> None:
    from tests.pg_support import PostgresServer

    demo = ROOT / "data" / "demo"
    matcher = Matcher(MatchConfig()).fit(demo / "offers.csv")
    matcher.match("warm-up", 3)
    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"}
    server = PostgresServer()
    urls = {"sqlite": f"sqlite:///{Path(tempfile.mkdtemp()) / 'load.db'}"}
    if not server.skip_reason:
        urls["postgresql"] = server.new_database()
    try:
        for name, url in urls.items():
            with Store(url) as store:
                store.import_file("offers", demo / "offers.csv")
                store.import_file("needs", demo / "needs.csv")
                needs = store.records("needs").head(100)
            result = run_sessions(matcher, url, needs["id"].to_list(), needs["text"].to_list(), sessions=20,
                                  rounds=5, timeout_s=600)
            results[name] = result.summary()
            print(name, json.dumps(results[name]))
    finally:
        server.stop()
    if server.skip_reason:
        results["postgresql"] = f"skipped: {server.skip_reason}"
    (ROOT / "evaluation" / "results" / "load_test.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
