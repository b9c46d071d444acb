"""What the decision log says: relevance labels (qrels) for evaluation, and the load and exposure of offers.

Relevance grades per (need, offer), from the latest judging decision of the pair (ordered by decided_at, then id):

    completed, rating 4-5 or no rating   3   the help was given and worked
    placed                               3   the offer was placed with the need
    completed, rating 3                  2   done, middling outcome: as good as an accepted candidate
    accepted                             2   both sides agreed
    completed, rating 1-2                1   a plausible candidate (contact, agreement) whose outcome was poor
    contacted                            1   the coordinator found it worth a contact
    declined                             0   judged not suitable (an explicit negative)

'shown' is no judgement: it never sets or changes a grade, and a pair that was only shown has no label at all.
Because the latest judging decision counts, a pair contacted and then declined is 0, and accepted then placed is 3.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from semmatch.errors import StoreError

if TYPE_CHECKING:
    from semmatch.store.database import Store

ACTION_GRADES = {"placed": 3, "accepted": 2, "contacted": 1, "declined": 0}
COMPLETED_GRADES = {None: 3, 5: 3, 4: 3, 3: 2, 2: 1, 1: 1}
LABEL_SCHEMA = {"need_id": pl.String, "offer_id": pl.String, "grade": pl.Int64}


def grade(action: str, rating: int | None = None) -> int | None:
    """The relevance grade of one decision (see the module docstring); None for 'shown' (no judgement)."""
    if action == "completed":
        return COMPLETED_GRADES[rating]
    return ACTION_GRADES.get(action)


def labels_from_decisions(log: pl.DataFrame) -> pl.DataFrame:
    """Graded labels (need_id, offer_id, grade) from a decision log frame (as `Store.decisions()` returns)."""
    judged = log.filter(pl.col("action") != "shown").sort("decided_at", "id")
    latest: dict[tuple[str, str], int] = {}
    for need, offer, action, rating in judged.select("need_id", "offer_id", "action", "outcome_rating").iter_rows():
        value = grade(action, rating)
        if value is not None:
            latest[(need, offer)] = value
    rows = sorted(latest.items())
    return pl.DataFrame({"need_id": [k[0] for k, _ in rows], "offer_id": [k[1] for k, _ in rows],
                         "grade": [g for _, g in rows]}, schema=LABEL_SCHEMA)


def labels(store: Store, *, need_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """Graded relevance labels (need_id, offer_id, grade 0-3) from the store's decisions; see the module docstring."""
    frame = labels_from_decisions(store.decisions())
    return frame.filter(pl.col("need_id").is_in(list(need_ids))) if need_ids is not None else frame


def to_qrels(frame: pl.DataFrame) -> dict[str, dict[str, int]]:
    """{need_id: {offer_id: grade}}, the form `semmatch.eval.benchmark` and `semmatch.eval.metrics` use."""
    missing = [c for c in LABEL_SCHEMA if c not in frame.columns]
    if missing:
        raise StoreError(f"label frame lacks column(s) {', '.join(missing)}; it has {', '.join(frame.columns)}")
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for need, offer, value in frame.select(*LABEL_SCHEMA).iter_rows():
        qrels[need][offer] = int(value)
    return dict(qrels)


QRELS_TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".json", ".ndjson", ".jsonl")


def write_qrels(frame: pl.DataFrame, path: str | Path, *, overwrite: bool = True,
                inputs: Iterable[str | Path | None] = ()) -> Path:
    """Write labels, read back by `evaluation.read_qrels`, through `io.write_output` (atomic; never over an input or
    inside a semmatch folder; over an existing file only with overwrite).

    A .csv, .parquet or .json path gets a table need_id, offer_id, grade (`io.write_table`: formulas escaped in CSV);
    ids with white space are fine there. Any other path gets TREC qrels, `need_id 0 offer_id grade`, tab separated:
    ids are formula-escaped the same way (`io.escape_formula`, undone by read_qrels), and an id with white space,
    which would break the line, is refused. An id starting with an apostrophe before = + - @ is refused where the
    escaping would blur it (qrels and CSV, which read_qrels unescapes).
    """
    from semmatch.records.io import escape_formula, unescape_formula, write_output, write_table

    path = Path(path)
    qrels = to_qrels(frame)
    table = path.suffix.lower() in QRELS_TABLE_SUFFIXES
    escaped = not table or path.suffix.lower() == ".csv"
    for need, docs in qrels.items():
        for offer in docs:
            if not table and any(c.isspace() for c in need + offer):
                raise StoreError(f"need {need!r} / offer {offer!r}: an id with white space cannot be written as qrels "
                                 "(a table can hold it: --out labels.csv or .parquet)")
            if escaped and any(unescape_formula(str(escape_formula(i))) != i for i in (need, offer)):
                raise StoreError(f"need {need!r} / offer {offer!r}: an id starting with an apostrophe before = + - @ "
                                 "cannot be written as qrels or CSV unambiguously (write .parquet)")
    if table:
        rows = [(need, offer, value) for need, docs in qrels.items() for offer, value in docs.items()]
        return write_table(pl.DataFrame(rows, schema=LABEL_SCHEMA, orient="row"), path, overwrite=overwrite,
                           inputs=inputs)
    lines = [f"{escape_formula(need)}\t0\t{escape_formula(offer)}\t{value}\n"
             for need, docs in qrels.items() for offer, value in docs.items()]
    return write_output(path, lambda tmp: tmp.write_text("".join(lines), encoding="utf-8"), overwrite=overwrite,
                        inputs=inputs)
