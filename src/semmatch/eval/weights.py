"""Fusion weights and match-% calibration learned from coordinators' decisions (`tune_weights`).

Logistic regression on the score components (dense, lexical, skills, proximity) of each judged (need, offer) pair,
cross-validated by need (GroupKFold). Labels from `semmatch.store.feedback.labels`: grade >= 2 (accepted, placed,
completed well) is positive, a judged grade 0/1 (declined, only contacted, completed poorly) negative. Unjudged
candidates of the matcher's candidate pool (never judged, or only shown) count as negatives by default: the judged
pairs all come from the top of the old ranking, where the similarities hardly differ (selection bias), so without the
rest of the pool a fit cannot learn what separates a good candidate from the others; the weights rank the whole pool,
so they are learned on it. `unjudged="exclude"` fits on judged pairs only. Unjudged candidates are non-relevant in the
nDCG@10 of the held-out needs, as in every IR metric. The result is a MatchConfig (weight_dense = 1, all weights >= 0,
Platt calibration) saved as models/<name>.json; `resolve_config` finds it again by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from semmatch.config import MatchConfig
from semmatch.embed.models import MODELS_DIR
from semmatch.errors import ConfigError, DataValidationError
from semmatch.eval.train import POSITIVE_GRADE, check_name

if TYPE_CHECKING:
    from semmatch.match.matcher import Matcher
    from semmatch.match.protocols import Ranking
    from semmatch.store.database import Store

FEATURES = ("dense", "lexical", "skills", "proximity")


@dataclass
class TuneResult:
    config: MatchConfig
    path: Path | None
    coefficients: dict[str, float]
    intercept: float
    cv: dict[str, Any]
    counts: dict[str, int]


def pair_components(matcher: Matcher, needs: pl.DataFrame, label_frame: pl.DataFrame) -> pl.DataFrame:
    """Score components of every candidate of every judged need: the matcher's full candidate pool (dense top-N
    plus lexical top-N, all criteria ignored but the need's place and skills scored), plus judged offers outside
    the pool (in_pool false). Columns: need_id, offer_id, dense, lexical, skills, proximity, grade (null: unjudged),
    in_pool."""
    from semmatch.config import CRITERIA
    from semmatch.match.criteria import Criteria
    from semmatch.store.feedback import to_qrels

    qrels = to_qrels(label_frame)
    judged = needs.filter(pl.col("id").is_in(list(qrels)))
    if judged.height == 0:
        raise DataValidationError("no need with recorded decisions is in the store; record decisions first")
    ignore_all = tuple((name, "ignore") for name in CRITERIA)
    criteria = [Criteria(c.profile, ignore_all) for c in matcher.query_criteria(judged)]
    ids, texts = judged["id"].to_list(), judged["text"].to_list()
    original = matcher.config
    rows: list[tuple] = []
    try:  # the lexical component is only computed when its weight is above 0
        matcher.with_ranking(mode="hybrid", weight_lexical=original.weight_lexical or 0.1)
        rankings = matcher.rank(texts, k=1, query_ids=ids, criteria=criteria, full_pool=True)
        for ranking, crit, text in zip(rankings, criteria, texts):
            grades = qrels[ranking.query_id]
            found = _component_rows(ranking, grades, True)
            rows += found
            missing = sorted(set(grades) - {r[1] for r in found} & set(matcher.ids))
            if missing:
                extra = matcher.rank([text], k=len(missing), query_ids=[ranking.query_id], criteria=crit,
                                     allowed_ids=missing, full_pool=True)[0]
                rows += _component_rows(extra, grades, False)
    finally:
        matcher.config = original
    schema = {"need_id": pl.String, "offer_id": pl.String, **{f: pl.Float64 for f in FEATURES},
              "grade": pl.Int64, "in_pool": pl.Boolean}
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(pl.col(list(FEATURES)).fill_nan(0.0))


def _component_rows(ranking: Ranking, grades: dict[str, int], in_pool: bool) -> list[tuple]:
    columns = [np.asarray(ranking.components[f], dtype=np.float64) for f in FEATURES]
    return [(ranking.query_id, offer, *(float(c[i]) for c in columns), grades.get(offer), in_pool)
            for i, offer in enumerate(ranking.ids)]


def fit_nonnegative(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> tuple[np.ndarray, float]:
    """Logistic regression with coefficients >= 0 on standardised features (so the L2 penalty treats the narrow
    dense range like the others), mapped back to the raw components. Features that do not vary get 0; a feature
    with a negative coefficient is dropped and the rest refitted (an active-set approximation of the constrained
    fit). The dense coefficient must stay above 0."""
    from sklearn.linear_model import LogisticRegression

    if len(set(np.asarray(y).tolist())) < 2:
        raise DataValidationError("learning weights needs both positive (grade >= 2) and negative pairs")
    mean, std = x.mean(axis=0), x.std(axis=0)
    active = [int(i) for i in np.flatnonzero(std > 1e-9)]
    if 0 not in active:
        raise DataValidationError("the dense similarity does not vary over the pairs; nothing to learn from")
    z = (x - mean) / np.where(std > 1e-9, std, 1.0)
    while True:
        model = LogisticRegression(C=c, max_iter=2000).fit(z[:, active], y)
        coef = model.coef_[0]
        if (coef >= 0).all() or len(active) == 1:
            break
        active.pop(int(np.argmin(coef)))
    full = np.zeros(x.shape[1])
    full[active] = coef / std[active]
    if full[0] <= 0:
        raise DataValidationError("the decisions give the dense similarity no positive weight; too few or "
                                  "contradictory decisions to learn from (keep the current weights)")
    return full, float(model.intercept_[0] - (full[active] * mean[active]).sum())


def config_from_coefficients(base: MatchConfig, coef: np.ndarray, intercept: float) -> MatchConfig:
    """Weights coef / coef_dense (so weight_dense = 1), calibration slope sum(coef): sigmoid(slope * fused + b)
    equals the logistic model, because fused = sum(w_i c_i) / sum(w_i)."""
    weights = {f"weight_{f}": round(float(v / coef[0]), 6) for f, v in zip(FEATURES, coef)}
    return base.with_options(mode="hybrid", **weights, calibration_slope=round(float(coef.sum()), 6),
                             calibration_intercept=round(intercept, 6))


def grouped_folds(groups: np.ndarray, n_splits: int = 5, seed: int = 42) -> list[tuple[np.ndarray, np.ndarray]]:
    """GroupKFold by need: no need has rows in both the train and the test part of a fold."""
    from sklearn.model_selection import GroupKFold

    count = len(set(groups.tolist()))
    if count < 2:
        raise DataValidationError(f"cross-validation by need needs at least 2 judged needs, got {count}")
    splitter = GroupKFold(n_splits=min(n_splits, count), shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(groups)), groups=groups))


def _fold_metrics(frame: pl.DataFrame, train: np.ndarray, test: np.ndarray, current: MatchConfig,
                  unjudged: str, c: float) -> dict[str, float | None]:
    from sklearn.metrics import log_loss, roc_auc_score

    from semmatch.eval.metrics import evaluate_run
    from semmatch.match.scoring import fit_calibration, fuse

    x = frame.select(FEATURES).to_numpy()
    grade = frame["grade"].to_numpy()
    usable = ~np.isnan(grade.astype(float)) if unjudged == "exclude" else np.ones(len(grade), bool)
    usable &= frame["in_pool"].to_numpy() | ~np.isnan(grade.astype(float))
    y = np.nan_to_num(grade.astype(float), nan=0.0) >= POSITIVE_GRADE
    fit_rows, test_rows = train[usable[train]], test[usable[test]]
    coef, intercept = fit_nonnegative(x[fit_rows], y[fit_rows].astype(int), c)
    learned = x @ coef + intercept
    fused = fuse({f: x[:, i] for i, f in enumerate(FEATURES)}, current.weights)
    platt = fit_calibration(fused[fit_rows], y[fit_rows].astype(int))
    now = platt.slope * fused + platt.intercept
    out: dict[str, float | None] = {"test_needs": float(frame[test]["need_id"].n_unique())}
    both = len(set(y[test_rows].tolist())) == 2
    for label, logit in (("learned", learned), ("current", now)):
        prob = 1.0 / (1.0 + np.exp(-logit[test_rows]))
        out[f"auc_{label}"] = float(roc_auc_score(y[test_rows], prob)) if both else None
        out[f"log_loss_{label}"] = float(log_loss(y[test_rows], prob, labels=[0, 1])) if len(test_rows) else None
        held = frame[test].with_columns(pl.Series("s", logit[test])).filter(pl.col("in_pool"))
        run = {n: g.sort("s", descending=True)["offer_id"].to_list() for (n,), g in held.group_by("need_id")}
        qrels = {n: {o: int(v) for o, v in zip(g["offer_id"], g["grade"]) if v is not None}
                 for (n,), g in frame[test].group_by("need_id")}
        qrels = {n: v for n, v in qrels.items() if any(g > 0 for g in v.values())}
        out[f"ndcg_at_10_{label}"] = evaluate_run(run, qrels, ["ndcg_at_10"])["ndcg_at_10"] if qrels else None
    return out


def tune_weights(store: Store, matcher: Matcher, *, name: str | None = None, models_dir: str | Path = MODELS_DIR,
                 n_splits: int = 5, unjudged: str = "negative", c: float = 1.0, seed: int = 42,
                 overwrite: bool = False) -> TuneResult:
    """Learn fusion weights and match-% calibration from the store's decisions (see the module docstring).

    Cross-validated by need (GroupKFold): AUC and log-loss on held-out judged pairs, nDCG@10 of the held-out needs'
    candidate pools, learned vs the matcher's current weights (Platt-calibrated on the same train folds). The final
    fit uses all pairs; with `name` the config is saved to models/<name>.json (`resolve_config(name)` loads it).
    """
    from semmatch.store.feedback import labels

    if unjudged not in ("exclude", "negative"):
        raise ConfigError(f"unjudged must be 'exclude' or 'negative', not {unjudged!r}")
    path = None
    if name is not None:
        path = Path(models_dir) / f"{check_name(name)}.json"
        if path.exists() and not overwrite:
            raise ConfigError(f"{path} exists already; choose another name or overwrite it")
    frame = pair_components(matcher, store.records("needs", include_archived=True), labels(store))
    groups = frame["need_id"].to_numpy()
    folds = grouped_folds(groups, n_splits, seed)
    if any(set(groups[train]) & set(groups[test]) for train, test in folds):  # what the CV figures rest on
        raise ConfigError("cross-validation folds share a need; the held-out figures would be optimistic")
    per_fold = [_fold_metrics(frame, train, test, matcher.config, unjudged, c) for train, test in folds]
    summary = {}
    for key in per_fold[0]:
        values = [f[key] for f in per_fold if f[key] is not None and math.isfinite(f[key])]
        summary[key] = round(float(np.mean(values)), 4) if values else None
    judged = frame.filter(pl.col("grade").is_not_null())
    fit_rows = judged if unjudged == "exclude" else frame.filter(pl.col("in_pool") | pl.col("grade").is_not_null())
    y = (fit_rows["grade"].fill_null(0) >= POSITIVE_GRADE).cast(pl.Int64).to_numpy()
    coef, intercept = fit_nonnegative(fit_rows.select(FEATURES).to_numpy(), y, c)
    config = config_from_coefficients(matcher.config, coef, intercept)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        config.save(path)
    counts = {"needs": int(frame["need_id"].n_unique()), "candidates": frame.height, "judged": judged.height,
              "positives": int((judged["grade"] >= POSITIVE_GRADE).sum()), "fit_pairs": fit_rows.height,
              "outside_pool": int((~frame["in_pool"]).sum()), "folds": len(folds)}
    return TuneResult(config=config, path=path, coefficients=dict(zip(FEATURES, map(float, coef))),
                      intercept=intercept, cv={"mean": summary, "folds": per_fold, "unjudged": unjudged}, counts=counts)
