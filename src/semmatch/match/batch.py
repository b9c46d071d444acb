"""Batch matching with capacity and fairness: spread shortlists so the same few offers are not top for every need.

Greedy spreading: shortlists are filled rank by rank, round-robin over the needs (every need gets its first pick
before any need gets its second). A candidate's score is lowered by `penalty` for every time the offer was already
proposed in this batch or shown/contacted before (`exposure`), so a popular offer only stays on top where it is
clearly the best. The reported score stays the unpenalised one.

Global assignment (optional): scipy's linear_sum_assignment picks one offer per need maximising the total score,
with each offer used at most as often as its capacity left; the assigned offer leads the need's shortlist.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from semmatch.errors import ConfigError

if TYPE_CHECKING:
    from semmatch.match.protocols import MatcherLike

NO_PAIR_COST = 1e6


@dataclass
class Candidates:
    """One need's candidate pool: offer ids and fused scores, best first (a view of a matcher Ranking)."""

    query_id: str
    ids: list[str]
    scores: np.ndarray


def spread(pools: Sequence[Candidates], k: int, penalty: float,
           exposure: Mapping[str, int] | None = None) -> list[list[int]]:
    """Indices into each pool, k per need, chosen round-robin with an exposure penalty."""
    if penalty < 0:
        raise ConfigError(f"penalty must be >= 0, not {penalty}")
    shown: Counter[str] = Counter(dict(exposure or {}))
    chosen: list[list[int]] = [[] for _ in pools]
    taken: list[set[int]] = [set() for _ in pools]
    for _ in range(k):
        for n, pool in enumerate(pools):
            best, best_value = None, -np.inf
            for i, (offer_id, score) in enumerate(zip(pool.ids, pool.scores)):
                if i in taken[n]:
                    continue
                value = float(score) - penalty * shown[offer_id]
                if value > best_value:
                    best, best_value = i, value
            if best is not None:
                chosen[n].append(best)
                taken[n].add(best)
                shown[pool.ids[best]] += 1
    return chosen


def assign(pools: Sequence[Candidates], capacity_left: Mapping[str, float]) -> dict[str, str]:
    """One offer per need maximising the summed score under capacity (needs may stay unassigned)."""
    from scipy.optimize import linear_sum_assignment

    appearances = Counter(i for pool in pools for i in set(pool.ids))
    slots: list[str] = []  # an offer gets as many slots as it can take, but never more than pools it appears in
    for offer_id in sorted(appearances):
        left = capacity_left.get(offer_id, np.inf)
        slots += [offer_id] * max(0, int(min(appearances[offer_id], left)))
    if not slots or not pools:
        return {}
    cost = np.full((len(pools), len(slots)), NO_PAIR_COST)
    slot_columns: dict[str, list[int]] = {}
    for column, offer_id in enumerate(slots):
        slot_columns.setdefault(offer_id, []).append(column)
    for row, pool in enumerate(pools):
        for offer_id, score in zip(pool.ids, pool.scores):
            cost[row, slot_columns.get(offer_id, [])] = -float(score)
    rows, columns = linear_sum_assignment(cost)
    return {pools[r].query_id: slots[c] for r, c in zip(rows, columns) if cost[r, c] < NO_PAIR_COST}


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal exposure, towards 1 = concentrated)."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    if values.size == 0 or values.sum() == 0:
        return 0.0
    n = values.size
    return float((2 * np.arange(1, n + 1) - n - 1) @ values / (n * values.sum()))


def exposure_report(result: pl.DataFrame, eligible_offers: int | None = None) -> dict[str, object]:
    """How often each offer was shown and ranked first, and how concentrated that is.

    top1_concentration: the share of needs whose top offer is the single most frequent top offer.
    """
    if result.height == 0:
        return {"needs": 0, "offers_shown": 0, "top1_concentration": 0.0, "distinct_top1": 0, "gini_shown": 0.0,
                "max_shown": 0, "per_offer": []}
    top = result.filter(pl.col("rank") == 1)["id"].to_list()
    top_counts = Counter(top)
    shown = result.group_by("id").agg(pl.len().alias("shown")).sort(["shown", "id"], descending=[True, False])
    counts = shown["shown"].to_numpy()
    if eligible_offers and eligible_offers > counts.size:
        counts = np.concatenate([counts, np.zeros(eligible_offers - counts.size)])
    return {
        "needs": result["query_id"].n_unique(),
        "offers_shown": shown.height,
        "top1_concentration": round(top_counts.most_common(1)[0][1] / len(top), 4) if top else 0.0,
        "distinct_top1": len(top_counts),
        "gini_shown": round(gini(counts), 4),
        "max_shown": int(shown["shown"].max()),
        "per_offer": [{"id": i, "shown": int(s), "top1": top_counts.get(i, 0)}
                      for i, s in zip(shown["id"].to_list(), shown["shown"].to_list())],
    }


def write_exposure(report: Mapping[str, object], path: str | Path, *, overwrite: bool = True,
                   inputs: Iterable[str | Path | None] = ()) -> Path:
    """Write an exposure report: .json (or any other suffix) as the whole report; .csv, .tsv or .parquet as a table
    of its per-offer rows (id, shown, top1), through `io.write_table`, so formulas are escaped like every export.
    Both go through `io.write_output`: atomic, never over an input or into a semmatch folder, over an existing file
    only with overwrite."""
    from semmatch.records.io import READERS, write_output, write_table

    path = Path(path)
    if READERS.get(path.suffix.lower()) in ("csv", "tsv", "parquet"):
        per_offer = report.get("per_offer")
        rows = per_offer if isinstance(per_offer, list) else []
        schema = {"id": pl.String, "shown": pl.Int64, "top1": pl.Int64}
        return write_table(pl.DataFrame(rows, schema=schema), path, overwrite=overwrite, inputs=inputs)
    text = json.dumps(report, ensure_ascii=False, indent=1)
    return write_output(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=overwrite, inputs=inputs)


def reorder(pool_indices: list[int], assigned: int | None) -> list[int]:
    """Put the assigned candidate first, keeping the spread order for the rest."""
    if assigned is None:
        return pool_indices
    return [assigned] + [i for i in pool_indices if i != assigned]


def match_batch(matcher: MatcherLike, records: pl.DataFrame | str | Path, k: int = 10, mapping=None, *,
                penalty: float = 0.02, assign_offers: bool = False, exposure: Mapping[str, int] | None = None,
                load: Mapping[str, int] | None = None, use_criteria: bool = True, explain: bool = True,
                ignore: Iterable[str] = (), require: Iterable[str] = ()) -> tuple[pl.DataFrame, dict]:
    """Match many records at once, spreading shortlists across offers (see `fairness`).

    penalty: score subtracted per earlier showing of an offer (in this batch, plus `exposure` from before).
    assign_offers: also pick one offer per need with a capacity-respecting global assignment; it leads the
    shortlist and is marked in the `assigned` column. Returns the result frame and an exposure report.
    """
    from semmatch.match.protocols import Ranking
    from semmatch.records.schema import ID, TEXT

    frame = matcher.query_frame(records, mapping)
    criteria = matcher.query_criteria(frame, ignore=ignore, require=require) if use_criteria else None
    pool = max(k, matcher.config.candidate_pool)
    rankings = matcher.rank(frame[TEXT].to_list(), pool, query_ids=frame[ID].to_list(), criteria=criteria,
                            load=load)
    pools = [Candidates(r.query_id, r.ids, r.scores) for r in rankings]
    chosen = spread(pools, k, penalty, exposure)
    assigned: dict[str, str] = {}
    if assign_offers and matcher.kind == "offers":
        used = load or {}
        capacity_left = {str(i): float(c) - used.get(str(i), 0)
                         for i, c in zip(matcher.fields_.ids, matcher.fields_.capacity)}
        assigned = assign(pools, capacity_left)
    spread_rankings = []
    for ranking, candidates, picks in zip(rankings, pools, chosen):
        lead = candidates.ids.index(assigned[ranking.query_id]) if ranking.query_id in assigned else None
        keep = np.asarray(reorder(picks, lead)[:k], dtype=np.int64)
        spread_rankings.append(Ranking(ranking.query_id, ranking.text, ranking.criteria,
                                       [ranking.ids[i] for i in keep.tolist()],
                                       {n: c[keep] for n, c in ranking.components.items()},
                                       ranking.scores[keep], ranking.checked.take(keep), ranking.vector))
    result = matcher.present(spread_rankings, explain=explain)
    pairs = set(assigned.items())
    result = result.with_columns(pl.Series("assigned", [(q, i) in pairs for q, i in
                                                        zip(result["query_id"], result[ID])], dtype=pl.Boolean))
    report = exposure_report(result, eligible_offers=len(matcher))
    report["assigned"] = len(assigned)
    return result, report
