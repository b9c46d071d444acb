"""The `semmatch` command. Domain errors become one clear message and exit code 1; usage errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import click
import polars as pl

from semmatch.cli.options import FiniteFloat, _config, _mapping, main, mapping_options, normalised_id
from semmatch.cli.outputs import check_outputs, config_files, db_file, overwrite_option
from semmatch.config import CRITERIA, INDEX_KINDS, INDEX_STORAGES, LEXICAL_KINDS, MATCH_MODES
from semmatch.records.schema import RECORD_KINDS

TABLE_COLUMNS = ("rank", "id", "match_pct", "score", "title", "town", "why")


def print_ranking(result: pl.DataFrame, width: int = 60) -> None:
    """A readable table per query: rank, id, match %, score, a shortened title and why it matched."""
    from semmatch.match.explain import short_reason

    if result.height == 0:
        click.echo("no matches")
        return
    if "explanation" in result.columns:
        result = result.with_columns(pl.Series("why", [short_reason(json.loads(e)) if e else "" for e in
                                                       result["explanation"]], dtype=pl.String))
    for (query_id,), group in result.group_by("query_id", maintain_order=True):
        label = "title" if "title" in group.columns else "text"
        columns = [c for c in TABLE_COLUMNS if c in group.columns]
        if label not in columns:
            columns.append(label)
        shown = group.with_columns(
            pl.col("score").round(3),
            pl.col(label).str.replace_all(r"\s+", " ").str.slice(0, width).alias(label),
        ).select(columns)
        click.echo(f"\nquery {query_id}:")
        with pl.Config(tbl_rows=len(shown), tbl_width_chars=220, fmt_str_lengths=90, tbl_hide_dataframe_shape=True,
                       tbl_hide_column_data_types=True):
            click.echo(str(shown))


@main.command("models")
@click.option("--prepare", "prepare", metavar="NAME", help="Build a model's files once (e.g. convert e5-small).")
def models_command(prepare: str | None) -> None:
    """List the models by name, or prepare one."""
    from semmatch.embed.models import list_models, model_id, resolve_model
    from semmatch.embed.prepare import prepare_model

    if prepare:
        folder = prepare_model(prepare)  # an unknown name that is not in the hub cache and not reachable: ModelError
        info = resolve_model(prepare)
        click.echo(f"ready: {info.name} ({model_id(info)})" + (f" at {folder}" if folder else ""))
        return
    for info in list_models():
        click.echo(f"{info.name:<12} {info.kind:<8} {info.languages:<40} {info.description}")


@main.command("index")
@click.argument("records_file", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Index folder to write.")
@click.option("--kind", type=click.Choice(RECORD_KINDS), default="offers", show_default=True,
              help="What the file holds; match the other kind against it.")
@mapping_options
@click.option("--model", help="Model name or folder (default e5-small).")
@click.option("--index-kind", type=click.Choice(INDEX_KINDS),
              help="auto (default) = exact up to 200,000 records, ivf above; flat = always exact.")
@click.option("--index-storage", type=click.Choice(INDEX_STORAGES),
              help="Vector storage: float32 (default), fp16 (half), sq8 (a quarter), pq (ivf only).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Settings as JSON.")
@click.option("--no-cache", is_flag=True, help="Do not use the embedding cache.")
def index_command(records_file, out_dir, kind, id_column, text_columns, contact_columns, model, index_kind,
                  index_storage, config_path, no_cache):
    """Embed and index a file of offers (or needs): CSV, TSV, Parquet or JSON. Fast CPU embedding: --model
    e5-small-int8 (ONNX Runtime, int8)."""
    from semmatch.index.vector import check_index_folder
    from semmatch.match.matcher import Matcher

    check_index_folder(out_dir)  # before embedding: an output folder that is not ours is refused, untouched
    config = _config(config_path, model=model, index_kind=index_kind, index_storage=index_storage,
                     use_cache=False if no_cache else None)
    from semmatch.records.pii import masking_report

    with masking_report() as masked:  # personal data inside the texts is masked before embedding
        matcher = Matcher(config, kind=kind).fit(records_file,
                                                 mapping=_mapping(id_column, text_columns, contact_columns))
    matcher.save(out_dir)
    click.echo(f"indexed {len(matcher)} {kind} with {matcher.model_id} "
               f"({matcher.embedder.encoded_count} embedded, the rest from cache) -> {out_dir}")
    click.echo(masked.summary())


@main.command("update")
@click.argument("index_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--records", "records_file", type=click.Path(dir_okay=False), help="Records to add or update.")
@click.option("--remove", "remove_ids", multiple=True, callback=normalised_id, help="Id to remove, repeatable.")
@mapping_options
def update_command(index_dir, records_file, remove_ids, id_column, text_columns, contact_columns):
    """Add, update or remove records in an index without rebuilding it (only changed texts are embedded)."""
    from semmatch.atomic import folder_lock
    from semmatch.match.matcher import Matcher

    if not records_file and not remove_ids:
        raise click.UsageError("give --records FILE and/or --remove ID")
    with folder_lock(index_dir):  # load, change and save as one: concurrent updates wait, none is lost
        matcher = Matcher.load(index_dir)
        if remove_ids:
            matcher.remove(remove_ids)
        mapping = _mapping(id_column, text_columns, contact_columns)
        changed = matcher.upsert(records_file, mapping=mapping) if records_file else []
        matcher.save(index_dir)
    click.echo(f"removed {len(remove_ids)}, embedded {len(changed)} new or changed; index holds "
               f"{len(matcher)} records")


def criteria_options(func):
    """Structured criteria for a pasted text (files of needs or offers bring their own fields)."""
    for decorator in reversed([
        click.option("--plz", help="Place of the need (German PLZ)."),
        click.option("--town", help="Place by town name, if no PLZ is given."),
        click.option("--radius", "radius_km", type=FiniteFloat(0), help="Radius around the place in km."),
        click.option("--remote/--on-site", "remote_ok", default=None, help="Whether remote help is possible."),
        click.option("--from", "date_from", help="Start date (YYYY-MM-DD)."),
        click.option("--until", "date_until", help="End date (YYYY-MM-DD)."),
        click.option("--weekday", "weekdays", multiple=True, help="Weekday (Mo ... So), repeatable."),
        click.option("--language", "languages", multiple=True, help="Language code (de, en, ar ...), repeatable."),
        click.option("--skill", "skills", multiple=True, help="Must-have skill, repeatable."),
        click.option("--offer-type", "offer_types", multiple=True,
                     help="Wanted offer type (person, company_service, goods, money, training, event), repeatable."),
        click.option("--ignore", multiple=True, type=click.Choice(CRITERIA), help="Switch a criterion off."),
        click.option("--require", multiple=True, type=click.Choice(CRITERIA), help="Switch a criterion on."),
        click.option("--mode", type=click.Choice(MATCH_MODES), help="Ranking mode (default: the index's)."),
    ]):
        func = decorator(func)
    return func


def _criteria(matcher, plz, town, radius_km, remote_ok, date_from, date_until, weekdays, languages, skills,
              offer_types, ignore, require):
    from semmatch.match.criteria import Criteria

    values = {"plz": plz, "radius_km": radius_km, "remote_ok": remote_ok, "date_from": date_from,
              "date_until": date_until, "weekdays": list(weekdays), "languages": list(languages),
              "skills": list(skills), "offer_types": list(offer_types)}
    return Criteria.from_values({k: v for k, v in values.items() if v not in (None, [])}, kind=matcher.query_kind,
                                town=town, ignore=ignore, require=require)


def _emit(result: pl.DataFrame, out_file: str | None, fmt: str, *, overwrite: bool = False,
          inputs: tuple = ()) -> None:
    from semmatch.records.io import write_table

    if out_file:
        write_table(result, out_file, overwrite=overwrite, inputs=inputs)
        click.echo(f"wrote {result.height} rows to {out_file}")
    elif fmt == "csv":
        from semmatch.records.io import escape_frame

        click.echo(escape_frame(result).write_csv(), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(result.to_dicts(), ensure_ascii=False, indent=1))
    else:
        print_ranking(result)


@main.command("match")
@click.argument("index_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--text", "texts", multiple=True, help="A need (or offer) as free text; repeatable.")
@click.option("--needs", "needs_file", type=click.Path(dir_okay=False), help="File of needs (offer index).")
@click.option("--offers", "offers_file", type=click.Path(dir_okay=False), help="File of offers (need index).")
@mapping_options
@criteria_options
@click.option("-k", "--k", "k", default=10, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--batch", is_flag=True, help="With a file: spread shortlists across offers and report exposure.")
@click.option("--penalty", default=0.02, show_default=True, type=FiniteFloat(0),
              help="Batch: score subtracted per earlier showing of an offer.")
@click.option("--assign", "assign_offers", is_flag=True, help="Batch: one offer per need by global assignment "
              "within capacity, first in each shortlist.")
@click.option("--exposure-out", type=click.Path(dir_okay=False),
              help="Batch: write the exposure report (.json; .csv, .tsv or .parquet: the per-offer table).")
@click.option("--pairs", is_flag=True, help="With --text: also list pairs of offers that together cover the need.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write results (.csv, .json, .parquet).")
@overwrite_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--model", help="Model to use; must be the one that built the index.")
@click.option("--db", "db_url", help="Store to read offers' load (capacity) and past exposure from.")
@click.option("--config", "config_ref", help="Ranking settings from a named weight set (semmatch tune) or file.")
def match_command(index_dir, texts, needs_file, offers_file, id_column, text_columns, contact_columns, plz, town,
                  radius_km, remote_ok, date_from, date_until, weekdays, languages, skills, offer_types, ignore,
                  require, mode, k, batch, penalty, assign_offers, exposure_out, pairs, out_file, overwrite, fmt, model,
                  db_url, config_ref):
    """Rank the indexed records for pasted texts or a file of the other kind, under criteria, explained."""
    from semmatch.match.matcher import Matcher

    inputs = (index_dir, needs_file, offers_file, *config_files(config_ref), db_file(db_url) if db_url else None)
    check_outputs({"--out": out_file, "--exposure-out": exposure_out}, inputs, overwrite)  # before any work
    matcher = Matcher.load(index_dir, model=model)
    if config_ref:
        matcher.with_ranking(**_config(config_ref).ranking_options())
    matcher.with_ranking(mode=mode)
    query_file = needs_file or offers_file
    if bool(texts) + bool(query_file) != 1 or (needs_file and offers_file):
        raise click.UsageError("give either --text or one of --needs / --offers")
    wanted = "needs" if needs_file else "offers"
    if query_file and wanted != matcher.query_kind:
        raise click.UsageError(f"this index holds {matcher.kind}; match --{matcher.query_kind} against it")
    if (batch or assign_offers or exposure_out) and not query_file:
        raise click.UsageError("--batch, --assign and --exposure-out need a file of needs or offers")
    place_flags = {"--plz": plz, "--town": town, "--radius": radius_km, "--remote/--on-site": remote_ok,
                   "--from": date_from, "--until": date_until, "--weekday": weekdays, "--language": languages,
                   "--skill": skills, "--offer-type": offer_types}
    given = [flag for flag, value in place_flags.items() if value not in (None, ())]
    if query_file and given:
        raise click.UsageError(f"{', '.join(given)}: a file brings each record's own fields; use --ignore/--require "
                               "to switch criteria for all of them")
    load, exposure = None, None
    if db_url:
        from semmatch.store.database import Store

        with Store(db_url) as store:
            load, exposure = store.load(), store.exposure()
    mapping = _mapping(id_column, text_columns, contact_columns)
    if query_file and (batch or assign_offers or exposure_out):
        result, report = matcher.match_batch(query_file, k, mapping=mapping, penalty=penalty,
                                             assign_offers=assign_offers, load=load, exposure=exposure,
                                             ignore=ignore, require=require)
        summary = {key: value for key, value in report.items() if key != "per_offer"}
        click.echo("exposure: " + json.dumps(summary), err=True)
        if exposure_out:
            from semmatch.match.batch import write_exposure

            write_exposure(report, exposure_out, overwrite=overwrite, inputs=inputs)
    elif query_file:
        result = matcher.match_records(query_file, k, mapping=mapping, load=load, ignore=ignore, require=require)
    else:
        criteria = _criteria(matcher, plz, town, radius_km, remote_ok, date_from, date_until, weekdays, languages,
                             skills, offer_types, ignore, require)
        result = matcher.match(list(texts), k, criteria=criteria, load=load)
    _emit(result, out_file, fmt, overwrite=overwrite, inputs=inputs)
    if pairs and texts and matcher.kind == "offers":
        from semmatch.match.pairs import complementary_pairs

        click.echo("\npairs of offers that together cover the need:")
        click.echo(str(complementary_pairs(matcher, texts[0], criteria)))


@main.command("conditions")
@click.argument("index_dir", type=click.Path(file_okay=False, exists=True))
@click.option("-k", "--k", "k", default=3, show_default=True, type=click.IntRange(1, 100))
@click.option("--min-similarity", default=0.85, show_default=True, type=click.FloatRange(-1, 1))
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write the pairs (.csv, .json, .parquet).")
@overwrite_option
def conditions_command(index_dir, k, min_similarity, out_file, overwrite):
    """Offers whose condition ("..., wenn jemand die Texte schreibt") another offer meets."""
    from semmatch.match.conditions import condition_partners
    from semmatch.match.matcher import Matcher
    from semmatch.records.io import write_table

    check_outputs({"--out": out_file}, (index_dir,), overwrite)  # before any work
    partners = condition_partners(Matcher.load(index_dir), k=k, min_similarity=min_similarity)
    if out_file:
        write_table(partners, out_file, overwrite=overwrite, inputs=(index_dir,))
        click.echo(f"wrote {partners.height} rows to {out_file}")
        return
    with pl.Config(tbl_rows=max(partners.height, 1), fmt_str_lengths=80, tbl_width_chars=220):
        click.echo(str(partners) if partners.height else "no offer has a condition another offer meets")


@main.command("benchmark")
@click.option("--queries", required=True, type=click.Path(dir_okay=False), help="id<TAB>text TSV.")
@click.option("--corpus", required=True, type=click.Path(dir_okay=False), help="id<TAB>text TSV.")
@click.option("--qrels", required=True, type=click.Path(dir_okay=False), help="query_id doc_id grade (TREC ok).")
@click.option("--model", help="Model name or folder (default e5-small).")
@click.option("--k", "k", default=100, show_default=True, type=click.IntRange(1, 10_000), help="Retrieval depth.")
@click.option("--index-kind", type=click.Choice(INDEX_KINDS))
@click.option("--query-prompt", help="Override the model's query prompt.")
@click.option("--corpus-prompt", help="Override the model's corpus prompt.")
@click.option("--cache/--no-cache", default=False, show_default=True, help="Use the embedding cache.")
@click.option("--mode", type=click.Choice(MATCH_MODES), default="hybrid", show_default=True,
              help="dense = cosine only; hybrid = the fused score (text-only sets use dense + lexical).")
@click.option("--lexical", type=click.Choice(LEXICAL_KINDS), help="Lexical signal for hybrid mode.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--track", is_flag=True, help="Also log the run to MLflow (experiment 'semmatch-benchmark').")
def benchmark_command(queries, corpus, qrels, model, k, index_kind, query_prompt, corpus_prompt, cache, mode, lexical,
                      config_path, track):
    """Embed, retrieve and score a labelled retrieval set; prints JSON."""
    from semmatch.eval.benchmark import load_retrieval_set, run_benchmark

    config = _config(config_path, model=model, index_kind=index_kind, query_prompt=query_prompt,
                     corpus_prompt=corpus_prompt, use_cache=cache, mode=mode, lexical=lexical)
    data = load_retrieval_set(queries, corpus, qrels)
    result = run_benchmark(data, config, k=k)
    if track:
        from semmatch.eval.analysis import track_benchmark

        result["run_id"] = track_benchmark(result, data, config, dataset=Path(queries).parent.name or str(queries))
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


@main.command("demo")
@click.option("--data", "data_dir", default="data/demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--out", "out_dir", default="models/demo-index", show_default=True, type=click.Path(file_okay=False))
@click.option("--need", "need_id", help="Id of a demo need to match with its own criteria (default: the first).")
@click.option("--text", "text", help="A need to match as free text, without criteria.")
@click.option("-k", "--k", "k", default=10, show_default=True, type=click.IntRange(1, 1000))
def demo_command(data_dir, out_dir, need_id, text, k):
    """Index the demo offers (once) and show the explained shortlist for a demo need."""
    from semmatch.match.criteria import Criteria
    from semmatch.match.matcher import Matcher
    from semmatch.records.schema import load_records

    offers = Path(data_dir) / "offers.csv"
    needs = Path(data_dir) / "needs.csv"
    if (Path(out_dir) / "matcher.json").is_file():
        matcher = Matcher.load(out_dir)
        current = load_records(offers, kind="offers")
        gone = set(matcher.ids) - set(current["id"].to_list())
        if gone:
            matcher.remove(gone)
        matcher.upsert(current)
    else:
        matcher = Matcher(kind="offers").fit(offers)
    matcher.save(out_dir)
    criteria = Criteria()
    if text is None:
        frame = load_records(needs, kind="needs")
        chosen = frame.filter(pl.col("id") == need_id) if need_id else frame.head(1)
        if chosen.height == 0:
            raise click.UsageError(f"no need {need_id!r} in {needs}")
        text = chosen["text"][0]
        criteria = matcher.query_criteria(chosen, str(needs))[0]
        fields = {c: chosen[c][0] for c in ("need_id", "town", "radius_km", "remote_ok", "languages",
                                            "must_have_skills", "help_type") if c in chosen.columns}
        click.echo("criteria: " + ", ".join(f"{c}={v}" for c, v in fields.items() if v not in (None, "")))
    click.echo(f"need:\n  {text}\n")
    print_ranking(matcher.match(text, k, criteria=criteria))
