"""`semmatch tune` and `semmatch finetune`: learn from the coordinators' decisions in the store (see train.py)."""

from __future__ import annotations

import datetime as dt
import json

import click

from semmatch.cli.options import _config, main

db_option = click.option("--db", "db_url", help="Database URL (default $SEMMATCH_DATABASE_URL or sqlite:///semmatch.db).")
name_option = click.option("--name", required=True, help="Saved as models/NAME.json (tune) or models/NAME/ (finetune).")


def _store(db_url: str | None):
    from semmatch.store.database import Store

    return Store(db_url, contact_cap_per_week=None)


@main.command("tune")
@db_option
@click.option("--index", "index_dir", type=click.Path(file_okay=False), help="Replay this saved matcher.")
@click.option("--model", help="Model name or folder for a fresh matcher over the store's offers (default e5-small).")
@click.option("--config", "config_ref", help="Start from this config (file or name under models/).")
@name_option
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20), help="GroupKFold splits by need.")
@click.option("--unjudged", type=click.Choice(["negative", "exclude"]), default="negative", show_default=True,
              help="Pool candidates nobody judged: negatives, or left out of the fit.")
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--overwrite", is_flag=True, help="Replace models/NAME.json.")
@click.option("--track/--no-track", default=True, show_default=True, help="Log the run to MLflow.")
def tune_command(db_url, index_dir, model, config_ref, name, folds, unjudged, seed, overwrite, track):
    """Learn hybrid weights and the match-% calibration from decisions (logistic regression, CV by need)."""
    from semmatch.config import resolve_config
    from semmatch.errors import require
    from semmatch.eval.weights import tune_weights
    from semmatch.match.matcher import Matcher

    if track:
        require("mlflow", extra="mlflow", feature="semmatch tune --track (or --no-track)")
    base = resolve_config(config_ref) if config_ref else None
    with _store(db_url) as store:
        if index_dir:
            matcher = Matcher.load(index_dir, config=base)
        else:
            config = (base or _config(None)).with_options(model=model)
            matcher = Matcher(config).fit(store.records("offers", include_archived=True))
        result = tune_weights(store, matcher, name=name, n_splits=folds, unjudged=unjudged, seed=seed,
                              overwrite=overwrite)
    cfg = result.config
    report = {"config": str(result.path), "weights": cfg.weights.as_dict(),
              "calibration": {"slope": cfg.calibration_slope, "intercept": cfg.calibration_intercept},
              "cv": result.cv["mean"], "counts": result.counts}
    if track:
        from semmatch.eval import tracking

        metrics = {k: v for k, v in result.cv["mean"].items() if v is not None}
        report["run_id"] = tracking.log_run(
            run_name=f"tune-{name}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}",
            params={"model": cfg.model, "model_id": matcher.model_id, "name": name, "folds": folds,
                    "unjudged": unjudged, "seed": seed, "weights": cfg.weights.as_dict(), **result.counts},
            metrics=metrics, json_artifacts={"config": cfg.to_dict(), "cv": result.cv}, tags={"kind": "tune"})
    click.echo(json.dumps(report, indent=1))
    click.echo(f"use it with --config {name}", err=True)


@main.command("finetune")
@db_option
@name_option
@click.option("--base", "base_model", default="e5-small", show_default=True, help="Model to start from.")
@click.option("--epochs", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--lr", default=2e-5, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(2))
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0, 0.9),
              help="Share of judged needs held out for the before/after pair metrics.")
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--overwrite", is_flag=True, help="Replace models/NAME/.")
def finetune_command(db_url, name, base_model, epochs, lr, batch_size, holdout, seed, overwrite):
    """Fine-tune the embedding model on (need, accepted offer) pairs with declined offers as hard negatives."""
    from semmatch.eval.train import finetune

    with _store(db_url) as store:
        result = finetune(store, name=name, base_model=base_model, epochs=epochs, lr=lr, batch_size=batch_size,
                          holdout=holdout, seed=seed, overwrite=overwrite)
    click.echo(json.dumps(result, indent=1))
    click.echo(f"use it with --model {name} (rebuild indexes: semmatch reindex --model {name} ...)", err=True)
