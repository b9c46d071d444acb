"""The decision store on SQLite and PostgreSQL: durability, concurrency, import, append-only log, caps, labels.

PostgreSQL: a throwaway server (initdb + pg_ctl, unix socket only, in a temporary folder) is started once per session;
each test gets a fresh database. Without the binaries or psycopg, or if the server does not start, those cases skip
and say why.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from semmatch.errors import ContactCapError, DataValidationError, InvalidDecisionError, StoreError, UnknownIdError
from semmatch.eval.benchmark import read_qrels
from semmatch.records.pii import MaskingReport
from semmatch.records.schema import validate_records
from semmatch.store.database import Store, default_database_url
from semmatch.store.feedback import labels, to_qrels, write_qrels
from tests._store_worker import write_decisions

NO_MASKS = MaskingReport().as_counts()  # import counts also say what was masked in the texts

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


# helpers ------------------------------------------------------------------------------------------------------------

def seeded(url: str, **kwargs) -> Store:
    store = Store(url, **kwargs)
    store.import_records("needs", pl.DataFrame({"need_id": ["N1", "N2", "N3"], "title": ["Website", "Fahrdienst",
                                                                                        "Daten"],
                                                "description": ["WordPress", "Senioren zum Arzt", "Statistik"]}))
    store.import_records("offers", pl.DataFrame({"offer_id": ["O1", "O2", "O3"],
                                                 "text": ["wordpress website", "auto fahrdienst", "python daten"]}))
    return store


DURABLE = """
import os, signal, sys
from semmatch.store.database import Store
store = Store(sys.argv[1])
print(store.record_decision("N2", "O2", "placed", note="before kill"), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


# tests --------------------------------------------------------------------------------------------------------------

def test_default_url(monkeypatch):
    monkeypatch.delenv("SEMMATCH_DATABASE_URL", raising=False)
    assert default_database_url() == "sqlite:///semmatch.db"
    monkeypatch.setenv("SEMMATCH_DATABASE_URL", "postgresql+psycopg://x@/y")
    assert default_database_url() == "postgresql+psycopg://x@/y"


def test_durable_after_sigkill(store_url):
    seeded(store_url).close()
    result = subprocess.run([sys.executable, "-c", DURABLE, store_url], capture_output=True, text=True, timeout=60)
    assert result.returncode == -signal.SIGKILL, result.stderr
    decision_id = int(result.stdout.strip())
    log = Store(store_url).decisions()
    assert log.filter(pl.col("id") == decision_id)["note"].to_list() == ["before kill"]


def test_concurrent_writers(store_url):
    seeded(store_url).close()
    # forkserver: every writer starts clean (no state or connections inherited from this process, as with spawn),
    # but semmatch is imported once by the server instead of once per writer (8 x 2 s on a 2-core CI machine)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests._store_worker"])
    barrier = ctx.Barrier(8)
    workers = [ctx.Process(target=write_decisions, args=(store_url, w, barrier)) for w in range(8)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
    assert [p.exitcode for p in workers] == [0] * 8
    log = Store(store_url).decisions()
    assert log.height == 200
    assert sorted(log["id"].to_list()) == list(range(1, 201))
    assert sorted(log["note"].to_list()) == sorted(f"{w}:{i}" for w in range(8) for i in range(25))


def test_import_csv_with_contacts(store_url, tmp_path):
    store = Store(store_url)
    path = tmp_path / "needs.csv"
    header = "need_id,title,description,plz,email,telefon,ansprechpartner\n"
    path.write_text(header + "N1,Website,WordPress Relaunch,01067,a@verein.de,0351 1,Anna A\n"
                    "N2,Fahrdienst,Senioren zum Arzt,04109,b@verein.de,,Bernd B\n"
                    "N3,Daten,Statistik fürs Amt,10115,,030 3,\n", encoding="utf-8")
    assert store.import_file("needs", path) == {"inserted": 3, "updated": 0, "unchanged": 0, **NO_MASKS}
    frame = store.records("needs")
    assert frame.columns == ["id", "text", "title", "description", "plz", "status"]
    assert frame["plz"].to_list() == ["01067", "04109", "10115"]
    assert not any("@" in v or "Anna" in v for col in frame.columns for v in frame[col].to_list())
    validate_records(frame, kind="needs")  # what Matcher.fit does with a frame
    with store.engine.connect() as conn:
        stored = set(conn.execute(sa.text("SELECT record_id, field, value FROM contacts")).all())
        needs_table = " ".join(map(str, conn.execute(sa.text("SELECT * FROM needs")).all()))
    assert ("N1", "email", "a@verein.de") in stored and ("N3", "telefon", "030 3") in stored
    assert len(stored) == 6 and "verein.de" not in needs_table and "0351" not in needs_table
    with pytest.raises(StoreError, match="contacted"):
        store.contact("needs", "N1")
    assert store.contact("needs", "N1", require_contacted=False)["email"] == "a@verein.de"

    before = {r["id"]: r["updated_at"] for r in (store.get_record("needs", i) for i in ("N1", "N2", "N3"))}
    path.write_text(header + "N1,Website,WordPress Relaunch,01067,a@verein.de,0351 1,Anna A\n"
                    "N2,Fahrdienst,Senioren zum Arzt und zurück,04109,b@verein.de,,Bernd B\n"
                    "N3,Daten,Statistik fürs Amt,10115,,030 99,\n", encoding="utf-8")
    assert store.import_file("needs", path) == {"inserted": 0, "updated": 2, "unchanged": 1, **NO_MASKS}
    after = {i: store.get_record("needs", i)["updated_at"] for i in ("N1", "N2", "N3")}
    assert after["N1"] == before["N1"] and after["N2"] > before["N2"] and after["N3"] > before["N3"]
    assert store.contact("needs", "N3", require_contacted=False) == {"telefon": "030 99"}

    path.write_text(header + "N4,Neu,Neuer Bedarf,01067,,,\nN1,Website,Geändert,01067,,,\nN1,Doppelt,x,1,,,\n",
                    encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"row 3, column 'need_id': duplicate id 'N1'"):
        store.import_file("needs", path)
    assert store.records("needs")["id"].to_list() == ["N1", "N2", "N3"]
    assert store.get_record("needs", "N1")["description"] == "WordPress Relaunch"
    assert store.forget_contacts("needs", "N1") == 3
    assert store.contact("needs", "N1", require_contacted=False) == {}


def test_records_upsert_archive_and_matches(store_url, fake_embedder):
    from semmatch.match.matcher import Matcher

    store = seeded(store_url)
    assert store.upsert_record("offers", {"id": "O4", "text": "logo grafik", "radius_km": 10}) == "inserted"
    assert store.upsert_record("offers", {"id": "O4", "text": "logo grafik", "radius_km": 10}) == "unchanged"
    assert store.get_record("offers", "O4")["fields"] == {"radius_km": "10"}
    store.archive("offers", "O3")
    assert store.records("offers")["id"].to_list() == ["O1", "O2", "O4"]
    assert store.records("offers", include_archived=True).filter(pl.col("id") == "O3")["status"].item() == "archived"
    with pytest.raises(UnknownIdError, match="offer 'O9' is not in the store"):
        store.archive("offers", "O9")
    matcher = Matcher(embedder=fake_embedder).fit(store.records("offers"))
    result = matcher.match(["wordpress website"], k=2, query_ids=["N1"])
    assert store.record_matches(result, model="fake-keywords-v1") == 2
    proposed = store.proposed_matches("N1")
    assert proposed["offer_id"].to_list()[0] == "O1" and proposed["model"].unique().to_list() == ["fake-keywords-v1"]
    with pytest.raises(UnknownIdError, match="need 'q1'"):
        store.record_matches(result.with_columns(pl.lit("q1").alias("query_id")), model="x")


def test_decisions_are_append_only(store_url):
    store = seeded(store_url)
    store.record_decision("N1", "O1", "shown", at=T0)
    store.record_decision("N1", "O1", "declined", reason="keine Zeit", note="ruft zurück", at=T0)
    for statement in ("UPDATE decisions SET action = 'placed'", "DELETE FROM decisions",
                      "UPDATE decisions SET note = 'anders'", "UPDATE decisions SET note = NULL, decided_by = 'x'"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert store.decisions()["action"].to_list() == ["shown", "declined"]
    with store.engine.begin() as conn:  # the one allowed change: clearing free text for an erasure request
        conn.execute(sa.text("UPDATE decisions SET note = NULL, reason = NULL"))
    assert store.decisions()["note"].is_null().all() and store.decisions()["action"].to_list() == ["shown", "declined"]
    assert not hasattr(store, "delete_decision") and not hasattr(store, "update_decision")


def test_decision_validation(store_url):
    store = seeded(store_url)
    with pytest.raises(InvalidDecisionError, match="action must be one of"):
        store.record_decision("N1", "O1", "liked")
    with pytest.raises(InvalidDecisionError, match="rating must be an integer from 1 to 5, not 6"):
        store.record_decision("N1", "O1", "completed", rating=6)
    with pytest.raises(InvalidDecisionError, match="'completed'"):
        store.record_decision("N1", "O1", "accepted", rating=4)
    with pytest.raises(UnknownIdError, match="need 'N9' is not in the store"):
        store.record_decision("N9", "O1", "shown")
    with pytest.raises(UnknownIdError, match="offer 'O9' is not in the store"):
        store.record_decision("N1", "O9", "shown")
    with pytest.raises(InvalidDecisionError, match="no time zone"):
        store.record_decision("N1", "O1", "shown", at=dt.datetime(2025, 1, 1))
    assert store.decisions().height == 0


def test_contact_cap(store_url):
    store = seeded(store_url, contact_cap_per_week=2)
    store.record_decision("N1", "O1", "contacted", at=T0)
    store.record_decision("N2", "O1", "contacted", at=T0 + dt.timedelta(days=1))
    with pytest.raises(ContactCapError, match="offer 'O1' was already contacted 2 times"):
        store.record_decision("N3", "O1", "contacted", at=T0 + dt.timedelta(days=2))
    store.record_decision("N3", "O2", "contacted", at=T0 + dt.timedelta(days=2))  # another offer
    store.record_decision("N3", "O1", "shown", at=T0 + dt.timedelta(days=2))  # not a contact
    store.record_decision("N3", "O1", "contacted", at=T0 + dt.timedelta(days=7, hours=1))  # first one left the window
    assert store.decisions(offer_id="O1")["action"].to_list() == ["contacted", "contacted", "shown", "contacted"]
    status = store.offer_status(["O1"], now=T0 + dt.timedelta(days=7, hours=2))
    assert status.row(0, named=True) == {"offer_id": "O1", "shown": 1, "contacted": 3, "contacted_7d": 2,
                                         "accepted": False, "placed": False, "active_load": 0}
    unlimited = Store(store_url, contact_cap_per_week=None)
    for day in range(5):
        unlimited.record_decision("N1", "O3", "contacted", at=T0 + dt.timedelta(hours=day))


def test_mark_stale(store_url):
    store = seeded(store_url)
    created = store.get_record("needs", "N1")["updated_at"]
    store.set_status("needs", "N3", "matched")
    assert store.mark_stale(30, now=created + dt.timedelta(days=29)) == 0
    assert store.mark_stale(30, now=created + dt.timedelta(days=31)) == 2
    statuses = dict(store.records("needs").select("id", "status").iter_rows())
    assert statuses == {"N1": "stale", "N2": "stale", "N3": "matched"}
    assert store.mark_stale(30, now=created + dt.timedelta(days=90)) == 0


def test_labels_qrels_and_load(store_url, tmp_path):
    store = seeded(store_url, contact_cap_per_week=None)
    sequence = [("N1", "O1", "shown", None), ("N1", "O1", "contacted", None), ("N1", "O1", "accepted", None),
                ("N1", "O1", "placed", None), ("N1", "O2", "shown", None), ("N1", "O3", "contacted", None),
                ("N1", "O3", "declined", None), ("N2", "O2", "contacted", None), ("N2", "O2", "accepted", None),
                ("N2", "O1", "accepted", None), ("N2", "O1", "completed", 2), ("N3", "O3", "accepted", None),
                ("N3", "O3", "completed", 5), ("N3", "O1", "contacted", None), ("N3", "O1", "shown", None)]
    for step, (need, offer, action, rating) in enumerate(sequence):
        store.record_decision(need, offer, action, rating=rating, reason="passt nicht" if action == "declined"
                              else None, at=T0 + dt.timedelta(minutes=step))
    frame = labels(store)
    expected = {"N1": {"O1": 3, "O3": 0}, "N2": {"O2": 2, "O1": 1}, "N3": {"O3": 3, "O1": 1}}
    assert to_qrels(frame) == expected  # N1/O2 was only shown: no label
    assert to_qrels(labels(store, need_ids=["N3"])) == {"N3": expected["N3"]}
    path = write_qrels(frame, tmp_path / "qrels.tsv")
    assert "N1\t0\tO1\t3" in path.read_text().splitlines()
    assert read_qrels(path) == expected
    assert store.load() == {"O1": 1, "O2": 1, "O3": 0}  # N1/O1 placed, N2/O2 accepted; completed ones closed
    assert store.exposure() == {"O1": 4, "O2": 2, "O3": 1}


def test_migrations_keep_data(store_url):
    store = seeded(store_url)
    store.record_decision("N1", "O1", "shown", at=T0)
    store.close()
    again = Store(store_url)
    assert again.revision() == "0003"
    assert again.decisions().height == 1 and again.records("needs").height == 3
    with again.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == ["0003"]


def test_bad_url():
    with pytest.raises(StoreError, match="cannot open database"):
        Store("nosuchdialect://x")


def test_sqlite_settings(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'settings.db'}")
    with store.engine.connect() as conn:
        values = [conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                  for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")]
    assert values == ["wal", 2, 1, 30_000]  # synchronous 2 = FULL


def test_migrations_never_drop_data():
    """Schema changes go through migrations that never drop tables or columns (a data loss would need review)."""

    import semmatch

    versions = Path(semmatch.__file__).parent / "store" / "migrations" / "versions"
    scripts = sorted(versions.glob("*.py"))
    assert scripts
    for script in scripts:
        upgrade = script.read_text(encoding="utf-8").split("def downgrade")[0]
        for forbidden in ("op.drop_", "DROP TABLE", "DROP COLUMN", "DELETE FROM", "TRUNCATE TABLE"):
            assert forbidden not in upgrade, f"{script.name} upgrade contains {forbidden}"
