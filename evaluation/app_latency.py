"""Latency of the app's main action on the demo data: paste a need -> explained shortlist (k = 10) with the store's
load and contact status, as `Workspace.match` does it for the app. First run `semmatch app --demo` once (or pass --db
and --index-root of a loaded workspace).

    .venv/bin/python evaluation/app_latency.py --db sqlite:///semmatch.db --index-root models/workspace
Writes evaluation/results/app_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from semmatch.match.criteria import Criteria
from semmatch.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite:///semmatch.db")
    parser.add_argument("--index-root", default="models/workspace")
    parser.add_argument("--needs", type=int, default=40)
    args = parser.parse_args()
    ws = Workspace(args.db, args.index_root)
    needs = ws.store.records("needs").head(args.needs + 1)
    ws.matcher("offers")
    ws.match(needs["text"][0], Criteria(), k=10)  # warm-up: model load, lexical index
    timings = []
    for need_id in needs["id"].to_list()[1:]:
        text, criteria = ws.criteria_of("needs", need_id)
        started = time.perf_counter()
        ws.match(text, criteria, k=10)
        timings.append(time.perf_counter() - started)
    ms = np.asarray(timings) * 1000
    result = {"needs": len(timings), "p50_ms": round(float(np.percentile(ms, 50)), 1),
              "p95_ms": round(float(np.percentile(ms, 95)), 1), "max_ms": round(float(ms.max()), 1),
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "note": "texts not seen before are embedded on first use; repeated sentences come from the cache"}
    (ROOT / "evaluation" / "results" / "app_latency.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
