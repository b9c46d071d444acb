"""20 concurrent sessions pasting needs and recording decisions against one database (SQLite WAL and PostgreSQL):
no decision lost, no error, bounded in time."""

from __future__ import annotations

import polars as pl

from semmatch import MatchConfig, Matcher
from semmatch.eval.loadtest import run_sessions
from semmatch.store.database import Store
from tests.conftest import KeywordEmbedder

TOPICS = ["Website WordPress", "Daten Statistik", "Fahrdienst Auto", "Nachhilfe Mathe", "Grafik Logo"]


def test_twenty_sessions_lose_no_decision(store_url):
    offers = pl.DataFrame({"offer_id": [f"O{i}" for i in range(60)],
                           "description": [f"Ich helfe bei {TOPICS[i % 5]}" for i in range(60)]})
    needs = pl.DataFrame({"need_id": [f"N{i}" for i in range(10)],
                          "description": [f"Wir suchen {TOPICS[i % 5]}" for i in range(10)]})
    with Store(store_url) as store:
        store.import_records("offers", offers)
        store.import_records("needs", needs)
        records = store.records("offers")
        need_records = store.records("needs")
    matcher = Matcher(MatchConfig(), embedder=KeywordEmbedder()).fit(records)
    matcher.match("warm-up", 3)  # build the lexical index before the threads share the matcher
    result = run_sessions(matcher, store_url, need_records["id"].to_list(), need_records["text"].to_list(),
                          sessions=20, rounds=5, timeout_s=120)
    assert result.errors == []
    assert result.decisions_written == 20 * 5 * 4
    with Store(store_url) as store:
        log = store.decisions()
    assert log.height == 20 * 5 * 4
    assert log.filter(pl.col("action") == "contacted").height == 100
    assert log["decided_by"].n_unique() == 20
    summary = result.summary()
    print("load:", summary)
    assert summary["shortlists_per_s"] > 0
