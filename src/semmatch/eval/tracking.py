"""MLflow tracking: the only module that imports mlflow.

Runs go to `$MLFLOW_TRACKING_URI` if set, else to a SQLite-backed MLflow store `mlflow.db` in the current (project)
directory, with artifacts under `mlartifacts/`. Only settings, aggregate metrics and rankings (ids and scores) are
logged: never texts of people, names, e-mails or phone numbers.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import polars as pl

from semmatch.errors import ConfigError, TrackingError, require

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_EXPERIMENT = "semmatch"
METRIC_NAME = re.compile(r"^[A-Za-z0-9_\-. /]+$")


def default_tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path('mlflow.db').resolve()}"


def _mlflow(tracking_uri: str | None):
    import logging

    mlflow = require("mlflow", extra="mlflow", feature="MLflow tracking")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(tracking_uri or default_tracking_uri())
    return mlflow


def _file_store(uri: str) -> bool:
    """Whether a tracking URI names MLflow's filesystem store (file:... or a plain path), which MLflow 3 refuses."""
    scheme = urlparse(uri).scheme
    return scheme == "file" or scheme == "" or (len(scheme) == 1 and os.name == "nt")


def tracking_errors(func: F) -> F:
    """Turn MLflow's errors into a TrackingError naming the tracking URI and what to use instead (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            exceptions = sys.modules.get("mlflow.exceptions")  # loaded whenever MLflow raised: no import without it
            if exceptions is None or not isinstance(exc, exceptions.MlflowException):
                raise
            import mlflow

            uri = mlflow.get_tracking_uri()
            reason = str(getattr(exc, "message", exc)).strip().split(". ")[0].rstrip(".")
            hint = ("use a database store instead, e.g. "
                    "MLFLOW_TRACKING_URI=sqlite:///mlflow.db (an existing one migrates with `mlflow migrate-filestore`)"
                    if _file_store(uri) else
                    "check $MLFLOW_TRACKING_URI (default: sqlite:///mlflow.db in the project folder)")
            raise TrackingError(f"MLflow tracking store {uri!r}: {reason}; {hint}") from exc

    return wrapper  # type: ignore[return-value]


def _experiment(mlflow, name: str) -> str:
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    artifacts = None
    uri = mlflow.get_tracking_uri()
    if uri.startswith("sqlite:///"):
        artifacts = (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=artifacts)


def check_metric_names(metrics: Mapping[str, float]) -> None:
    bad = [name for name in metrics if not METRIC_NAME.match(name)]
    if bad:
        raise ConfigError(f"metric names MLflow rejects: {bad} (use e.g. ndcg_at_10, not ndcg@10)")


@tracking_errors
def log_run(*, run_name: str, params: Mapping[str, Any], metrics: Mapping[str, float],
            tables: Mapping[str, pl.DataFrame] | None = None, curves: Mapping[str, Mapping[int, float]] | None = None,
            json_artifacts: Mapping[str, Any] | None = None, tags: Mapping[str, str] | None = None,
            experiment: str = DEFAULT_EXPERIMENT, tracking_uri: str | None = None) -> str:
    """Log one run: params (stringified), metrics, tables as parquet, metric-vs-k curves as a PNG plot plus JSON.

    Returns the run id.
    """
    check_metric_names(metrics)
    mlflow = _mlflow(tracking_uri)
    experiment_id = _experiment(mlflow, experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run, \
            tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params({k: (json.dumps(v, sort_keys=True) if isinstance(v, (dict, list, tuple)) else v)
                           for k, v in params.items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        if tags:
            mlflow.set_tags(dict(tags))
        folder = Path(tmp)
        for name, table in (tables or {}).items():
            table.write_parquet(folder / f"{name}.parquet")
            mlflow.log_artifact(str(folder / f"{name}.parquet"))
        for name, value in (json_artifacts or {}).items():
            (folder / f"{name}.json").write_text(json.dumps(value, indent=1, ensure_ascii=False), encoding="utf-8")
            mlflow.log_artifact(str(folder / f"{name}.json"))
        if curves:
            mlflow.log_figure(_curve_figure(curves), "metrics_at_k.png")
            mlflow.log_dict({n: {str(k): v for k, v in c.items()} for n, c in curves.items()}, "metrics_at_k.json")
        return run.info.run_id


def _curve_figure(curves: Mapping[str, Mapping[int, float]]):
    matplotlib = require("matplotlib", extra="mlflow", feature="the metrics@k figure")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ks = sorted(curve)
        axis.plot(ks, [curve[k] for k in ks], marker="o", label=name)
    axis.set_xscale("log")
    axis.set_xlabel("k")
    axis.set_ylabel("value")
    axis.set_ylim(0, 1)
    axis.grid(True, alpha=0.3)
    axis.legend()
    figure.tight_layout()
    plt.close(figure)
    return figure


@tracking_errors
def runs_table(experiment: str = DEFAULT_EXPERIMENT, tracking_uri: str | None = None,
               metrics: tuple[str, ...] = ("ndcg_at_10", "mrr", "recall_at_10", "hole_at_10", "acceptance_rate"),
               params: tuple[str, ...] = ("model", "mode", "index_kind", "data_hash")) -> pl.DataFrame:
    """The runs of an experiment, newest first: run id, name, start time, chosen params and metrics."""
    mlflow = _mlflow(tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        return pl.DataFrame()
    client = mlflow.tracking.MlflowClient()
    rows = []
    for run in client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"], max_results=1000):
        rows.append({
            "run_id": run.info.run_id, "run_name": run.info.run_name,
            "started": str(pl.from_epoch(pl.Series([run.info.start_time]), time_unit="ms")[0]),
            **{p: run.data.params.get(p) for p in params},
            **{m: run.data.metrics.get(m) for m in metrics},
        })
    return pl.DataFrame(rows, infer_schema_length=None)


@tracking_errors
def get_run(run_id: str, tracking_uri: str | None = None) -> dict[str, Any]:
    """Params, metrics, tags and artifact paths of one run (for tests and reports)."""
    mlflow = _mlflow(tracking_uri)
    client = mlflow.tracking.MlflowClient()
    run = client.get_run(run_id)
    artifacts = [a.path for a in client.list_artifacts(run_id)]
    return {"params": dict(run.data.params), "metrics": dict(run.data.metrics), "tags": dict(run.data.tags),
            "artifacts": artifacts, "artifact_uri": run.info.artifact_uri}


def _local_path(uri: str) -> Path | None:
    """The local path of a file URI or a plain path; None for anything remote (s3://, mlflow-artifacts:, http...)."""
    from urllib.request import url2pathname

    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path)).resolve()
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):  # a path (C:\... on Windows)
        return Path(uri).expanduser().resolve()
    return None


@tracking_errors
def local_locations(tracking_uri: str | None = None) -> dict[str, list[str]]:
    """Where the MLflow store of `tracking_uri` (default: `default_tracking_uri()`) keeps its data on this machine,
    for erasure requests: "store" (the SQLite file, or the folder of a file store), "artifacts" (the folders the
    experiments and runs actually use, from their artifact locations, deleted runs included) and "remote" (locations
    semmatch cannot reach: a tracking server, S3, ...). A store that does not exist is not created."""
    uri = tracking_uri or default_tracking_uri()
    found: dict[str, list[str]] = {"store": [], "artifacts": [], "remote": []}
    store: Path | None
    if uri.startswith("sqlite:///"):
        store = Path(uri.removeprefix("sqlite:///").split("?")[0]).expanduser().resolve()
    else:
        store = _local_path(uri)
    if store is None:
        found["remote"].append(uri)
        return found
    if not store.exists():
        return found
    found["store"].append(str(store))
    locations = [str(store)] if store.is_dir() else []  # a file store keeps its runs' artifacts inside by default
    mlflow = _mlflow(uri)
    try:
        locations += _artifact_uris(mlflow.tracking.MlflowClient(uri))
    except mlflow.exceptions.MlflowException:
        if not store.is_dir():  # a file store MLflow no longer opens: its folder is searched as a whole
            raise
    paths: set[Path] = set()
    remote: dict[str, None] = {}  # an ordered set
    for location in dict.fromkeys(locations):
        path = _local_path(location)
        if path is None:
            parsed = urlparse(location)
            remote[f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else f"{parsed.scheme}:"] = None
        elif path.exists():
            paths.add(path)
    found["remote"] = list(remote)
    found["artifacts"] = sorted(str(p) for p in paths if not any(a in paths for a in p.parents))  # top-most only
    return found


def _artifact_uris(client: Any) -> list[str]:
    """The artifact locations of every experiment and run (deleted ones included)."""
    from mlflow.entities import ViewType

    locations: list[str] = []
    page = None
    while True:
        experiments = client.search_experiments(view_type=ViewType.ALL, page_token=page)
        for experiment in experiments:
            locations.append(experiment.artifact_location)
            run_page = None
            while True:
                runs = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL, max_results=1000,
                                          page_token=run_page)
                locations += [run.info.artifact_uri for run in runs]
                run_page = runs.token
                if not run_page:
                    break
        page = experiments.token
        if not page:
            return locations


@tracking_errors
def register_model(name: str, model_dir: str | Path, run_id: str, *, description: str = "",
                   tracking_uri: str | None = None) -> str:
    """Register a saved model folder in the MLflow model registry as a new version of `name`, linked to the run that
    made it (its params and metrics). The weights stay in the folder; the version points at it. Returns the version."""
    mlflow = _mlflow(tracking_uri)
    client = mlflow.tracking.MlflowClient()
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name, description=description)
    version = client.create_model_version(name, source=Path(model_dir).resolve().as_uri(), run_id=run_id,
                                          description=description)
    return str(version.version)
