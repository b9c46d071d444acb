"""Learning from coordinators' decisions: fusion weights + match-% calibration, and a fine-tuned embedding model.

- `tune_weights`: logistic regression on the score components (dense, lexical, skills, proximity) of each judged
  (need, offer) pair, cross-validated by need (GroupKFold). Labels from `semmatch.store.feedback.labels`: grade >= 2
  (accepted, placed, completed well) is positive, a judged grade 0/1 (declined, only contacted, completed poorly)
  negative. Unjudged candidates of the matcher's candidate pool (never judged, or only shown) count as negatives
  by default: the judged pairs all come from the top of the old ranking, where the similarities hardly differ
  (selection bias), so without the rest of the pool a fit cannot learn what separates a good candidate from the
  others; the weights rank the whole pool, so they are learned on it. `unjudged="exclude"` fits on judged pairs
  only. Unjudged candidates are non-relevant in the nDCG@10 of the held-out needs, as in every IR metric.
  The result is a MatchConfig (weight_dense = 1, all weights >= 0, Platt calibration) saved as models/<name>.json;
  `resolve_config` finds it again by name.
- `finetune_pairs` / `finetune`: sentence-transformers training with MultipleNegativesRankingLoss on (need, accepted
  offer) pairs, with declined offers as hard negatives, saved as a sentence-transformers folder models/<name>/ that
  `semmatch.embed.models` resolves by name, with the base model's prompts (e5: "query: " on both sides).
"""

from __future__ import annotations

import json
import logging
import math
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from semmatch.atomic import FolderFormat, atomic_directory, check_replaceable
from semmatch.config import MatchConfig, resolve_config  # noqa: F401  (re-exported for notebooks)
from semmatch.embed.models import MODELS_DIR, resolve_model
from semmatch.embed.prepare import load_model
from semmatch.errors import ConfigError, DataValidationError, ModelError, require

if TYPE_CHECKING:
    from semmatch.match.matcher import Matcher
    from semmatch.store.database import Store

# A fine-tuned model folder: overwrite replaces only a folder semmatch fine-tuned (its marker names the files).
# No older semmatch wrote this marker, so no legacy form is accepted (legacy_files empty).
FINETUNED_FOLDER = FolderFormat(what="semmatch fine-tuned model folder", marker="semmatch_finetuned.json",
                                key="semmatch_format", value="semmatch-finetuned",
                                legacy_keys=frozenset({"base_model", "checksums"}), legacy_files=frozenset())

log = logging.getLogger(__name__)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
POSITIVE_GRADE = 2
FEATURES = ("dense", "lexical", "skills", "proximity")
PAIR_COLUMNS = ("anchor", "positive", "negative")


def check_name(name: str) -> str:
    """A name for models/<name>.json or models/<name>/: letters, digits, '.', '_', '-'; no built-in model name."""
    from semmatch.embed.models import ALIASES, BUILTIN_MODELS

    if not isinstance(name, str) or not NAME.match(name) or name.endswith(".json"):
        raise ConfigError(f"name {name!r} must be 1-64 letters, digits, '.', '_' or '-' (no path, no .json)")
    if name in BUILTIN_MODELS or name in ALIASES:
        raise ConfigError(f"name {name!r} is a built-in model name; choose another")
    return name


# ------------------------------------------------------------------------------------------- fine-tuning
@dataclass
class FinetuneResult:
    path: Path
    base_model: str
    prompt: str
    pairs: int
    triplets: int
    steps: int
    seconds: float
    train_loss: float
    losses: list[float] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


def _datasets(pairs: pl.DataFrame):
    Dataset = require("datasets", extra="train", feature="fine-tuning").Dataset

    missing = [c for c in PAIR_COLUMNS[:2] if c not in pairs.columns]
    if missing:
        raise DataValidationError(f"training pairs lack column(s) {', '.join(missing)}; need anchor, positive "
                                  f"[, negative]; got {', '.join(pairs.columns)}")
    frame = pairs.select([c for c in PAIR_COLUMNS if c in pairs.columns]).cast(pl.String)
    frame = frame.filter(pl.col("anchor").str.strip_chars().str.len_chars() > 0,
                         pl.col("positive").str.strip_chars().str.len_chars() > 0)
    if frame.height == 0:
        raise DataValidationError("no training pairs with both an anchor and a positive text")
    parts = {}
    if "negative" in frame.columns:
        has_negative = frame["negative"].is_not_null() & (frame["negative"].str.strip_chars().str.len_chars() > 0)
        triplets = frame.filter(has_negative)
        if triplets.height:
            parts["triplets"] = Dataset.from_dict(triplets.to_dict(as_series=False))
        frame = frame.filter(~has_negative).drop("negative")
    if frame.height:
        parts["pairs"] = Dataset.from_dict(frame.select("anchor", "positive").to_dict(as_series=False))
    return parts


def finetune_pairs(base_model: str, pairs: pl.DataFrame, out_dir: str | Path, *, epochs: float = 1.0,
                   lr: float = 2e-5, batch_size: int = 32, seed: int = 42, max_steps: int | None = None,
                   warmup_ratio: float = 0.1, prompt: str | None = None, freeze_embeddings: bool = True,
                   overwrite: bool = False, cache_dir: str | Path | None = None) -> FinetuneResult:
    """Fine-tune a sentence-transformers model with MultipleNegativesRankingLoss and save it to `out_dir`.

    pairs: columns anchor, positive and optionally negative (a hard negative; rows without one are trained as
    pairs with in-batch negatives only). prompt: prepended to every text in training, default the base model's
    query prompt (e5: "query: "); it is saved as the folder's "query" prompt, so the folder embeds like its base.
    freeze_embeddings: keep the input word embeddings fixed (fewer parameters to move on little data; much faster
    for e5's 250k-token vocabulary). Seeded; the batch sampler avoids duplicate texts in a batch.
    """
    require("accelerate", extra="train", feature="fine-tuning")  # the transformers Trainer needs it
    import torch
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import set_seed

    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise ModelError(f"{out_dir} exists already; choose another name or pass overwrite")
    check_replaceable(out_dir, FINETUNED_FOLDER)  # before hours of training, not after
    for name, value in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size)):
        if not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(f"{name} must be > 0, not {value!r}")
    parts = _datasets(pairs)
    info = resolve_model(base_model)
    prompt = info.query_prompt if prompt is None else prompt
    set_seed(seed)
    model = load_model(base_model, cache_dir)
    if freeze_embeddings:
        model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    loss = MultipleNegativesRankingLoss(model)
    dataset = parts if len(parts) > 1 else next(iter(parts.values()))
    with tempfile.TemporaryDirectory(prefix="semmatch-train-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch, num_train_epochs=epochs, max_steps=max_steps or -1, learning_rate=lr,
            per_device_train_batch_size=batch_size, warmup_steps=float(warmup_ratio), seed=seed, data_seed=seed,
            batch_sampler=BatchSamplers.NO_DUPLICATES, prompts=prompt or None, save_strategy="no",
            report_to="none", logging_steps=1, use_cpu=True, disable_tqdm=True, dataloader_num_workers=0,
        )
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss)
        started = time.perf_counter()
        output = trainer.train()
        seconds = time.perf_counter() - started
        losses = [float(e["loss"]) for e in trainer.state.log_history if "loss" in e]
    if freeze_embeddings:
        model[0].auto_model.get_input_embeddings().weight.requires_grad_(True)
    if prompt:
        model.prompts = {**(model.prompts or {}), "query": prompt}
    with atomic_directory(out_dir, FINETUNED_FOLDER) as staging:  # replaces only a folder semmatch fine-tuned
        model.save(str(staging), safe_serialization=True)
        (staging / FINETUNED_FOLDER.marker).write_text(json.dumps({"base_model": base_model}), encoding="utf-8")
    counts = {n: len(d) for n, d in parts.items()}
    log.info("fine-tuned %s -> %s in %.0f s (%d steps, torch threads %d)", base_model, out_dir, seconds,
             trainer.state.global_step, torch.get_num_threads())
    return FinetuneResult(
        path=out_dir, base_model=base_model, prompt=prompt, pairs=counts.get("pairs", 0),
        triplets=counts.get("triplets", 0), steps=int(trainer.state.global_step), seconds=round(seconds, 1),
        train_loss=float(output.training_loss), losses=losses,
        params={"base_model": base_model, "epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed,
                "max_steps": max_steps, "warmup_ratio": warmup_ratio, "prompt": prompt,
                "freeze_embeddings": freeze_embeddings, "loss": "MultipleNegativesRankingLoss"},
    )


# ------------------------------------------------------------------------------------------ fusion weights
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
            found = _component_rows(matcher, ranking, grades, True)
            rows += found
            missing = sorted(set(grades) - {r[1] for r in found} & set(matcher.position_))
            if missing:
                extra = matcher.rank([text], k=len(missing), query_ids=[ranking.query_id], criteria=crit,
                                     allowed_ids=missing, full_pool=True)[0]
                rows += _component_rows(matcher, extra, grades, False)
    finally:
        matcher.config = original
    schema = {"need_id": pl.String, "offer_id": pl.String, **{f: pl.Float64 for f in FEATURES},
              "grade": pl.Int64, "in_pool": pl.Boolean}
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(pl.col(list(FEATURES)).fill_nan(0.0))


def _component_rows(matcher: Matcher, ranking, grades: dict[str, int], in_pool: bool) -> list[tuple]:
    ids = [str(matcher.fields_.ids[p]) for p in ranking.positions]
    columns = [np.asarray(ranking.components[f], dtype=np.float64) for f in FEATURES]
    return [(ranking.query_id, offer, *(float(c[i]) for c in columns), grades.get(offer), in_pool)
            for i, offer in enumerate(ids)]


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


# ------------------------------------------------------------------------------ fine-tuning on decisions
def _held_out(need_id: str, seed: int, share: float) -> bool:
    import hashlib

    return int(hashlib.sha256(f"{seed}:{need_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def decision_pairs(store: Store) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(training rows need_id, anchor, positive, negative | null; judged pairs need_id, offer_id, need, offer, grade).

    Positives: grade >= 2 (accepted, placed, completed well). A need's declined offers (grade 0) are its hard
    negatives, used in turn for its positives."""
    from semmatch.store.feedback import labels

    judged = labels(store)
    needs = store.records("needs", include_archived=True).select("id", pl.col("text").alias("need"))
    offers = store.records("offers", include_archived=True).select("id", pl.col("text").alias("offer"))
    judged = (judged.join(needs, left_on="need_id", right_on="id")
              .join(offers, left_on="offer_id", right_on="id").sort("need_id", "offer_id"))
    rows = []
    for (need_id,), group in judged.group_by("need_id", maintain_order=True):
        negatives = group.filter(pl.col("grade") == 0)["offer"].to_list()
        positives = group.filter(pl.col("grade") >= POSITIVE_GRADE)
        for i, (anchor, positive) in enumerate(positives.select("need", "offer").iter_rows()):
            rows.append((need_id, anchor, positive, negatives[i % len(negatives)] if negatives else None))
    schema = {"need_id": pl.String, "anchor": pl.String, "positive": pl.String, "negative": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row"), judged


def pair_auc(model: str, judged: pl.DataFrame, *, use_cache: bool = True) -> dict[str, float | None]:
    """How well the cosine of need and offer separates positive (grade >= 2) from other judged pairs."""
    from sklearn.metrics import roc_auc_score

    from semmatch.embed.registry import make_embedder

    embedder = make_embedder(MatchConfig(model=model, use_cache=use_cache))
    cosine = (embedder.embed(judged["need"].to_list(), "query") *
              embedder.embed(judged["offer"].to_list(), "corpus")).sum(axis=1)
    positive = (judged["grade"] >= POSITIVE_GRADE).to_numpy()
    both = 0 < positive.sum() < len(positive)
    return {"pair_auc": float(roc_auc_score(positive, cosine)) if both else None,
            "cos_positive": float(cosine[positive].mean()) if positive.any() else None,
            "cos_negative": float(cosine[~positive].mean()) if (~positive).any() else None}


def finetune(store: Store, *, name: str, base_model: str = "e5-small", epochs: float = 1.0, lr: float = 2e-5,
             batch_size: int = 32, holdout: float = 0.2, seed: int = 42, max_steps: int | None = None,
             models_dir: str | Path = MODELS_DIR, overwrite: bool = False, track: bool = True) -> dict[str, Any]:
    """Fine-tune `base_model` on the store's decisions and save it as models/<name>/ (select it with that name).

    A seeded share `holdout` of the judged needs is kept out of training; the pair AUC / cosines on those needs
    (all judged needs when none is held out) are measured before and after and logged to MLflow."""
    out_dir = Path(models_dir) / check_name(name)
    train_rows, judged = decision_pairs(store)
    if train_rows.height == 0:
        raise DataValidationError("no accepted or placed (need, offer) pair in the store to learn from")
    held = {n for n in judged["need_id"].unique().to_list() if holdout and _held_out(n, seed, holdout)}
    training = train_rows.filter(~pl.col("need_id").is_in(list(held)))
    if training.height == 0:
        training, held = train_rows, set()
    evaluated = judged.filter(pl.col("need_id").is_in(list(held))) if held else judged
    before = pair_auc(base_model, evaluated)
    result = finetune_pairs(base_model, training.drop("need_id"), out_dir, epochs=epochs, lr=lr,
                            batch_size=batch_size, seed=seed, max_steps=max_steps, overwrite=overwrite)
    after = pair_auc(str(out_dir), evaluated, use_cache=False)
    report = {"model_dir": str(out_dir), "name": name, "pairs": result.pairs, "triplets": result.triplets,
              "steps": result.steps, "seconds": result.seconds, "train_loss": round(result.train_loss, 4),
              "evaluated_on": "held-out needs" if held else "training needs (none held out)",
              "held_out_needs": len(held), "before": before, "after": after}
    if track:
        from semmatch.eval import tracking

        metrics = {"train_loss": result.train_loss, "train_seconds": result.seconds,
                   **{f"before_{k}": v for k, v in before.items() if v is not None},
                   **{f"after_{k}": v for k, v in after.items() if v is not None}}
        report["run_id"] = tracking.log_run(
            run_name=f"finetune-{name}", params={**result.params, "pairs": result.pairs, "triplets": result.triplets,
                                                 "steps": result.steps, "seconds": result.seconds,
                                                 "held_out_needs": len(held), "name": name},
            metrics=metrics, curves=None, json_artifacts={"report": report}, tags={"kind": "finetune"})
        report["model_version"] = tracking.register_model(name, out_dir, report["run_id"],
                                                          description=f"fine-tuned from {base_model} on decisions")
    return report
