"""`semmatch` commands around the decision store: import, reindex, decide, labels, simulate, evaluate.

The store is the system of record (`--db`, default `$SEMMATCH_DATABASE_URL` or `sqlite:///semmatch.db`); index folders
are derived from it. Evaluation runs are tracked in MLflow (`$MLFLOW_TRACKING_URI`, default `sqlite:///mlflow.db`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import polars as pl

from semmatch.cli.options import _config, _mapping, main, mapping_options, normalised_id
from semmatch.cli.outputs import check_outputs, db_file, overwrite_option
from semmatch.config import MATCH_MODES
from semmatch.errors import require
from semmatch.records.schema import RECORD_KINDS
from semmatch.store.tables import ACTIONS
from semmatch.workspace import sync_index

db_option = click.option("--db", "db_url", help="Database URL (default $SEMMATCH_DATABASE_URL or sqlite:///semmatch.db).")


def _store(db_url: str | None):
    from semmatch.store.database import Store
    from semmatch.workspace import contact_cap_from_env

    return Store(db_url, contact_cap_per_week=contact_cap_from_env())


@main.command("import")
@click.argument("records_file", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(RECORD_KINDS), required=True, help="What the file holds.")
@mapping_options
@db_option
def import_command(records_file, kind, id_column, text_columns, contact_columns, db_url):
    """Import needs or offers from a file into the store (new ids inserted, changed ones updated, all or nothing)."""
    from semmatch.records.pii import masked_summary

    with _store(db_url) as store:
        counts = store.import_file(kind, records_file, mapping=_mapping(id_column, text_columns, contact_columns))
    click.echo(f"{kind}: {counts['inserted']} inserted, {counts['updated']} updated, {counts['unchanged']} unchanged")
    click.echo(masked_summary(counts))


@main.command("reindex")
@click.option("--kind", type=click.Choice(RECORD_KINDS), default="offers", show_default=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Index folder.")
@click.option("--model", help="Model name or folder (default e5-small).")
@click.option("--ray", "ray_address", metavar="ADDRESS",
              help='Embed missing vectors on Ray first: "auto" (local instance), "env" ($RAY_ADDRESS) or an address '
                   'such as ray://head:10001. Needs: pip install "semmatch[ray]".')
@db_option
def reindex_command(kind, out_dir, model, ray_address, db_url):
    """Build or update an index folder from the store (archived records are left out)."""
    config = _config(None, model=model) if model else None
    with _store(db_url) as store:
        if ray_address:
            from semmatch.embed.ray import connect, fill_cache_on_ray, index_config

            connect(ray_address)
            texts = store.records(kind)["text"].to_list()
            remote = fill_cache_on_ray(texts, config or index_config(out_dir))
            click.echo(f"ray: {remote} texts and sentences embedded on the cluster")
        matcher, embedded = sync_index(store, kind, out_dir, config)
    click.echo(f"index {out_dir}: {len(matcher)} {kind}, {embedded} (re)indexed")


@main.command("decide")
@click.argument("need_id", callback=normalised_id)
@click.argument("offer_id", callback=normalised_id)
@click.argument("action", type=click.Choice(ACTIONS))
@click.option("--reason", help="Why it was declined.")
@click.option("--rating", type=click.IntRange(1, 5), help="Outcome rating of a completed match (1-5).")
@click.option("--note", help="A free note (no personal data, please).")
@click.option("--by", "decided_by", help="Who decided (a coordinator's handle).")
@db_option
def decide_command(need_id, offer_id, action, reason, rating, note, decided_by, db_url):
    """Record a coordinator's decision on a (need, offer) pair; the log is append-only."""
    with _store(db_url) as store:
        decision_id = store.record_decision(need_id, offer_id, action, reason=reason, rating=rating, note=note,
                                            decided_by=decided_by)
    click.echo(f"decision {decision_id}: {need_id} / {offer_id} {action}")


@main.command("stale")
@click.option("--days", default=60, show_default=True, type=click.IntRange(1), help="Days without an update.")
@db_option
def stale_command(days, db_url):
    """Mark open needs that were not updated for N days as stale (they drop out of matching)."""
    with _store(db_url) as store:
        count = store.mark_stale(days)
    click.echo(f"{count} needs marked stale")


@main.command("labels")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="File to write: TREC qrels (.tsv, .txt, ...) or a table need_id, offer_id, grade (.csv, .parquet).")
@overwrite_option
@db_option
def labels_command(out_file, overwrite, db_url):
    """Export graded relevance labels derived from the decisions as TREC qrels (need 0 offer grade)."""
    from semmatch.store.feedback import labels, write_qrels

    inputs = (db_file(db_url),)
    check_outputs({"--out": out_file}, inputs, overwrite)  # before the store is opened (it may create a file)
    with _store(db_url) as store:
        frame = labels(store)
    write_qrels(frame, out_file, overwrite=overwrite, inputs=inputs)
    click.echo(f"wrote {frame.height} labels for {frame['need_id'].n_unique()} needs to {out_file}")


@main.command("simulate")
@click.option("--data", "data_dir", default="data/demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--index", "index_dir", default="models/demo-index", show_default=True, type=click.Path(file_okay=False))
@click.option("-k", "--k", "k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--needs", "max_needs", type=click.IntRange(1), help="Only the first N needs.")
@click.option("--seed", default=42, show_default=True, type=int)
@db_option
def simulate_command(data_dir, index_dir, k, max_needs, seed, db_url):
    """SIMULATION: import the demo data and record decisions of a simulated coordinator (from the hidden labels)."""
    from semmatch.eval.simulate import demo_grades, simulate

    data = Path(data_dir)
    with _store(db_url) as store:
        for kind in ("offers", "needs"):
            store.import_file(kind, data / f"{kind}.csv")
        matcher, _ = sync_index(store, "offers", index_dir)
        needs = store.records("needs")
        if max_needs:
            needs = needs.head(max_needs)
        shortlists = matcher.match_records(needs, k, explain=False, load=store.load())
        store.record_matches(shortlists, model=matcher.model_id)
        written = simulate(store, shortlists, demo_grades(data / "ground_truth.csv"), seed=seed)
    click.echo("simulated decisions (not real coordinators): " + json.dumps(dict(sorted(written.items()))))


@main.command("evaluate")
@click.option("--index", "index_dir", type=click.Path(file_okay=False),
              help="Replay this saved matcher (default: build one from the store with --model/--config).")
@click.option("--model", help="Model name or folder for a fresh matcher.")
@click.option("--mode", type=click.Choice(MATCH_MODES), help="Ranking mode.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Settings as JSON.")
@click.option("-k", "--k", "k", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--no-criteria", is_flag=True, help="Ignore the needs' own fields (text only).")
@click.option("--run-name", help="Name of the MLflow run.")
@click.option("--experiment", default="semmatch", show_default=True)
@click.option("--compare", is_flag=True, help="Only print a table of the tracked runs.")
@db_option
def evaluate_command(index_dir, model, mode, config_path, k, no_criteria, run_name, experiment, compare, db_url):
    """Replay a matcher against the recorded decisions and log params, metrics and artifacts to MLflow."""
    from semmatch.eval import tracking

    require("mlflow", extra="mlflow", feature="semmatch evaluate")  # before the replay, not after it
    if compare:
        table = tracking.runs_table(experiment)
        with pl.Config(tbl_rows=max(table.height, 1), tbl_cols=20, tbl_width_chars=200, fmt_str_lengths=40):
            click.echo(str(table) if table.height else "no runs tracked yet")
        return
    from semmatch.eval.benchmark import evaluate_decisions, snapshot_hash
    from semmatch.match.matcher import Matcher
    from semmatch.store.feedback import labels, to_qrels

    with _store(db_url) as store:
        needs = store.records("needs", include_archived=True)
        decisions = store.decisions()
        label_frame = labels(store)
        if index_dir:
            matcher = Matcher.load(index_dir)
            if config_path:
                matcher.with_ranking(**_config(config_path).ranking_options())
            matcher.with_ranking(mode=mode)
        else:
            config = _config(config_path, model=model, mode=mode)
            matcher = Matcher(config).fit(store.records("offers", include_archived=True))
    if label_frame.height == 0:
        raise click.ClickException("no labels yet: record decisions (semmatch decide / the app / semmatch simulate)")
    result = evaluate_decisions(matcher, needs, to_qrels(label_frame), decisions, k=k, use_criteria=not no_criteria)
    cfg = matcher.config
    data_hash = snapshot_hash(decisions.select("need_id", "offer_id", "action", "decided_at").cast(pl.String),
                              matcher.records.select("id", "text"), needs.select("id", "text"))
    params = {"model": cfg.model, "model_id": matcher.model_id, "index_kind": cfg.index_kind,
              "mode": cfg.mode, "lexical": cfg.lexical, "weights": cfg.weights.as_dict(),
              "candidate_pool": cfg.candidate_pool, "criteria": "ignored" if no_criteria else "needs' own fields",
              "ignore_criteria": list(cfg.ignore_criteria), "k": k, "data_hash": data_hash,
              "needs_judged": result["needs"], "judgements": result["judgements"], "offers": len(matcher)}
    run_id = tracking.log_run(
        run_name=run_name or f"{cfg.model}-{cfg.mode}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}", params=params,
        metrics=result["metrics"], tables={"rankings": result["rankings"], "labels": label_frame},
        curves=result["curves"], json_artifacts={"config": cfg.to_dict()}, experiment=experiment)
    shown = {m: result["metrics"][m] for m in ("ndcg_at_10", "mrr", "precision_at_10", "recall_at_10",
                                               "hole_at_10", "acceptance_rate") if m in result["metrics"]}
    click.echo(json.dumps({"run_id": run_id, "data_hash": data_hash, **shown}, indent=1))


@main.command("forget")
@click.argument("record_id", callback=normalised_id)
@click.option("--kind", type=click.Choice(RECORD_KINDS), required=True)
@click.option("--index-root", envvar="SEMMATCH_INDEX_ROOT", default="models/workspace", show_default=True,
              type=click.Path(file_okay=False), help="The workspace's index folders, as the app uses them "
                                                     "(default $SEMMATCH_INDEX_ROOT, else models/workspace).")
@click.option("--index", "extra_indexes", multiple=True, type=click.Path(file_okay=False),
              help="Another index folder (or a folder of them) to remove the record from, repeatable. models/ is "
                   "always searched.")
@click.option("--mlflow-artifacts", "mlflow_artifacts", multiple=True, type=click.Path(file_okay=False),
              help="Another folder of MLflow artifacts, repeatable. Those of the store at $MLFLOW_TRACKING_URI "
                   "(default sqlite:///mlflow.db) are found from its runs.")
@db_option
def forget_command(record_id, kind, index_root, extra_indexes, mlflow_artifacts, db_url):
    """Erasure request (GDPR Art. 17): remove a person's need or offer from the store, indexes, cache and MLflow.

    Prints a JSON report: what was changed, where semmatch looked (`searched`) and what to do by hand (`to_review`,
    `models_to_review`). Running app sessions drop the record before their next save or shortlist."""
    from semmatch.workspace import Workspace

    ws = Workspace(db_url, index_root)
    try:
        report = ws.forget(kind, record_id, extra_index_dirs=extra_indexes, mlflow_artifacts=mlflow_artifacts)
    finally:
        ws.close()
    click.echo(json.dumps(report.as_dict(), indent=1, ensure_ascii=False))


@main.command("hash-password")
@click.password_option(help="The coordinators' password (asked for when not given).")
def hash_password_command(password):
    """Print a salted hash for the app login; set it as SEMMATCH_APP_PASSWORD_HASH or in .streamlit/secrets.toml."""
    from semmatch.auth import hash_password

    click.echo(hash_password(password))


def _secrets_hash() -> str | None:
    """The login's hash ($SEMMATCH_APP_PASSWORD_HASH, else .streamlit/secrets.toml), checked: a broken secrets file
    or a malformed hash is a clear error (the app would only say that it is misconfigured)."""
    import tomllib

    from semmatch.auth import configured_hash, parse_hash

    path = Path(".streamlit/secrets.toml")
    try:
        secrets = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"{path} cannot be read as TOML ({exc}): fix or remove it, then start the app "
                                   "again") from exc
    stored = configured_hash(secrets)
    if stored is not None:
        parse_hash(stored)
    return stored


@main.command("app")
@click.option("--demo", is_flag=True, help="First load the demo data and a simulated coordinator's decisions.")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535))
@click.option("--address", help="Address to bind (default 127.0.0.1; another one needs a configured login).")
@click.option("--index-root", envvar="SEMMATCH_INDEX_ROOT", default="models/workspace", show_default=True,
              type=click.Path(file_okay=False), help="The workspace's index folders (default $SEMMATCH_INDEX_ROOT, "
                                                     "else models/workspace).")
@click.option("--model", help="Model name, also a fine-tuned one (default: the config's, else e5-small).")
@click.option("--config", "config_ref", help="A named weight set (models/<name>.json from `semmatch tune`) or file.")
@db_option
def app_command(demo, port, address, index_root, model, config_ref, db_url):
    """Start the coordinators' app (Streamlit) on the store."""
    import os
    import subprocess
    import sys

    from semmatch.store.database import default_database_url

    for package in ("streamlit", "limits"):
        require(package, extra="app", feature="semmatch app")
    script = Path("app.py")
    if not script.is_file():
        raise click.ClickException("app.py not found: run `semmatch app` from the project folder")
    login_hash = _secrets_hash()  # also on 127.0.0.1: a broken login setup is an error here, not in the browser
    if address not in (None, "127.0.0.1", "localhost") and not login_hash:
        raise click.ClickException("no login configured: set SEMMATCH_APP_PASSWORD_HASH (semmatch hash-password) "
                                   "before binding to a network address")
    db_url = db_url or default_database_url()
    if demo:
        from semmatch.eval.simulate import demo_grades, simulate
        from semmatch.workspace import Workspace

        click.echo("loading the demo data (first time: embedding 3,000 offers takes a few minutes) ...")
        ws = Workspace(db_url, index_root, _config(config_ref, model=model))
        for kind in ("offers", "needs"):
            ws.store.import_file(kind, Path("data/demo") / f"{kind}.csv")
        matcher = ws.matcher("offers")
        ws.matcher("needs")
        if ws.store.decisions().height == 0:
            shortlists = matcher.match_records(ws.store.records("needs"), 10, explain=False)
            simulate(ws.store, shortlists, demo_grades(Path("data/demo") / "ground_truth.csv"))
            click.echo("recorded a simulated coordinator's decisions (demo only, see README)")
        ws.close()
    env = {**os.environ, "SEMMATCH_DATABASE_URL": db_url, "SEMMATCH_INDEX_ROOT": str(index_root),
           **({"SEMMATCH_MODEL": model} if model else {}), **({"SEMMATCH_CONFIG": config_ref} if config_ref else {})}
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", address or "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    from semmatch.auth import is_local_address

    if not is_local_address(address or "127.0.0.1"):
        command += ["--client.showErrorDetails", "none"]  # on a network: no tracebacks for visitors
    click.echo(f"semmatch app on http://{address or '127.0.0.1'}:{port}  (Ctrl+C stops it)")
    raise SystemExit(subprocess.call(command, env=env))
