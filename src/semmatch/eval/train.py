"""Learning from coordinators' decisions: a fine-tuned embedding model (fusion weights: `semmatch.eval.weights`).

- `finetune_pairs` / `finetune`: sentence-transformers training with MultipleNegativesRankingLoss on (need, accepted
  offer) pairs, with declined offers as hard negatives, saved as a sentence-transformers folder models/<name>/ that
  `semmatch.embed.models` resolves by name, with the base model's prompts (e5: "query: " on both sides).
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from semmatch.atomic import FolderFormat, atomic_directory, check_replaceable
from semmatch.config import MatchConfig
from semmatch.embed.models import MODELS_DIR, resolve_model
from semmatch.embed.prepare import load_model
from semmatch.errors import ConfigError, DataValidationError, ModelError, require

if TYPE_CHECKING:
    from semmatch.store.database import Store

# A fine-tuned model folder: overwrite replaces only a folder semmatch fine-tuned (its marker names the files).
# No older semmatch wrote this marker, so no legacy form is accepted (legacy_files empty).
FINETUNED_FOLDER = FolderFormat(what="semmatch fine-tuned model folder", marker="semmatch_finetuned.json",
                                key="semmatch_format", value="semmatch-finetuned",
                                legacy_keys=frozenset({"base_model", "checksums"}), legacy_files=frozenset())

log = logging.getLogger(__name__)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
POSITIVE_GRADE = 2
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
