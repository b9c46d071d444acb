"""Fit the packaged match-% calibration (Platt scaling) on the demo set and check it on held-out needs.

A pair counts as a good match when the hidden ground truth grades it 2: the offer's main theme is the need's theme and
the offer is within reach (see data/demo/README.md). The fit uses the top-100 candidates of every need in the tuning
half (the same hash split as tune_hybrid.py); the reliability table is measured on the other half. The needs' fields
are used for scoring, nothing is filtered, as in `evaluation/demo_benchmark.py --variant hybrid`.

    .venv/bin/python evaluation/calibrate.py               # default model, both modes
Writes src/semmatch/data/calibration.json and evaluation/results/calibration_<model>.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import polars as pl

from semmatch import MatchConfig, Matcher
from semmatch.config import CRITERIA
from semmatch.match.calibration import CALIBRATION_FILE, calibration_key
from semmatch.match.criteria import Criteria
from semmatch.match.scoring import fit_calibration

ROOT = Path(__file__).resolve().parents[1]


def split_half(query_id: str) -> str:
    import hashlib

    return "tune" if int(hashlib.sha256(query_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


def scored_pairs(config: MatchConfig, k: int = 100) -> tuple[pl.DataFrame, str]:
    demo = ROOT / "data" / "demo"
    truth = pl.read_csv(demo / "ground_truth.csv", infer_schema=False)
    grades = {(n, o): int(g) for n, o, g in truth.select("need_id", "offer_id", "grade").iter_rows()}
    matcher = Matcher(config).fit(demo / "offers.csv")
    needs = matcher.query_frame(demo / "needs.csv", None)
    ignore_all = tuple((name, "ignore") for name in CRITERIA)
    criteria = [Criteria(c.profile, ignore_all) for c in matcher.query_criteria(needs)]
    result = matcher.match(needs["text"].to_list(), k, query_ids=needs["id"].to_list(), criteria=criteria,
                           explain=False)
    return result.select("query_id", "id", "score").with_columns(
        pl.Series("grade", [grades.get((q, o), 0) for q, o in zip(result["query_id"], result["id"])]),
        pl.col("query_id").map_elements(split_half, return_dtype=pl.String).alias("half"),
    ), matcher.model_id


def reliability(pct: np.ndarray, good: np.ndarray) -> list[dict[str, float]]:
    rows = []
    for low in range(0, 100, 10):
        inside = (pct >= low) & (pct < low + 10 if low < 90 else pct <= 100)
        if inside.sum():
            rows.append({"bin": f"{low}-{low + 10}%", "pairs": int(inside.sum()),
                         "mean_match_pct": round(float(pct[inside].mean()), 1),
                         "share_good": round(float(good[inside].mean()) * 100, 1)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="e5-small")
    args = parser.parse_args()
    target = ROOT / "src" / "semmatch" / "data" / CALIBRATION_FILE
    packaged = json.loads(target.read_text(encoding="utf-8"))
    report = {}
    for mode in ("dense", "hybrid"):
        config = MatchConfig(model=args.model, mode=mode)
        pairs, model_id = scored_pairs(config)
        tune, test = pairs.filter(pl.col("half") == "tune"), pairs.filter(pl.col("half") == "test")
        calibration = fit_calibration(tune["score"].to_numpy(), (tune["grade"] == 2).to_numpy())
        pct = calibration.percent(test["score"].to_numpy())
        good = (test["grade"] == 2).to_numpy()
        brier = float(np.mean((pct / 100 - good) ** 2))
        key = calibration_key(config)
        packaged[key] = {"slope": round(calibration.slope, 4), "intercept": round(calibration.intercept, 4),
                         "model_id": model_id,
                         "fitted_on": "demo set (synthetic), tuning half, top-100 per need, good = grade 2"}
        report[key] = {**packaged[key], "brier_test": round(brier, 4), "base_rate_test": round(float(good.mean()), 4),
                       "reliability_test": reliability(pct, good)}
        print(key, json.dumps(report[key]["reliability_test"]))
    target.write_text(json.dumps(packaged, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    out = ROOT / "evaluation" / "results" / f"calibration_{args.model}.json"
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
