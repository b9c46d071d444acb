"""Faults: a process killed with SIGKILL in the middle of an import, an index save or a folder swap leaves the
previous state usable; corrupt index files are refused with a message that says how to rebuild."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from semmatch import MatchConfig, Matcher
from semmatch.atomic import folder_lock
from semmatch.errors import FolderBusyError, IndexCorruptError
from semmatch.store.database import Store
from tests.conftest import KeywordEmbedder

ROOT = Path(__file__).resolve().parents[1]

DIE_BEFORE_COMMIT = """
import os, signal, sys
from contextlib import contextmanager
from semmatch.store.database import Store

store = Store(sys.argv[1])  # opened (and migrated) before the patch
original = Store._write

@contextmanager
def write_then_die(self):
    with original(self) as conn:
        yield conn
        os.kill(os.getpid(), signal.SIGKILL)  # everything written, the transaction not committed

Store._write = write_then_die
"""
KILL_DURING_IMPORT = DIE_BEFORE_COMMIT + 'store.import_file("offers", sys.argv[2])\n'
KILL_DURING_DECISION = DIE_BEFORE_COMMIT + 'store.record_decision("N1", "O1", "accepted")\n'

KILL_DURING_SAVE = """
import os, signal, sys
import polars as pl
from semmatch import atomic
from semmatch.index import vector as index_module
from semmatch.match.matcher import Matcher
from tests.conftest import KeywordEmbedder

matcher = Matcher.load(sys.argv[1], embedder=KeywordEmbedder())
matcher.upsert(pl.DataFrame({"id": ["O9"], "text": ["Neues Angebot: Grafik und Logo"]}))
stage = sys.argv[2]
if stage == "writing":
    original = index_module.VectorIndex.write_files
    def write_then_die(self, folder):
        original(self, folder)
        os.kill(os.getpid(), signal.SIGKILL)  # staging folder half done
    index_module.VectorIndex.write_files = write_then_die
elif stage == "swapping":
    def swap_then_die(staging, target):
        from pathlib import Path
        target = Path(target)
        target.rename(target.with_name(f".{target.name}.old-{os.getpid()}"))
        os.kill(os.getpid(), signal.SIGKILL)  # between the two renames: no folder at the target
    atomic.replace_dir_atomically = swap_then_die  # what atomic_directory calls
else:
    def swapped_then_die(staging, target):
        backup = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(backup)
        staging.rename(target)
        os.kill(os.getpid(), signal.SIGKILL)  # the new folder in place, the old one not yet removed
    atomic.replace_dir_atomically = swapped_then_die
matcher.save(sys.argv[1])
"""


def run_and_get_killed(code: str, *args: str) -> None:
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == -9, result.stderr[-2000:]


def test_kill_during_import_leaves_the_previous_records(tmp_path):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    first = pl.DataFrame({"offer_id": ["O1", "O2"], "description": ["Website", "Fahrdienst"]})
    first.write_csv(tmp_path / "first.csv")
    with Store(db) as store:
        store.import_file("offers", tmp_path / "first.csv")
    big = pl.DataFrame({"offer_id": [f"N{i}" for i in range(5000)] + ["O1"],
                        "description": [f"Angebot {i}" for i in range(5000)] + ["Website geändert"]})
    big.write_csv(tmp_path / "big.csv")
    run_and_get_killed(KILL_DURING_IMPORT, db, tmp_path / "big.csv")
    with Store(db) as store:
        records = store.records("offers")
        assert records["id"].to_list() == ["O1", "O2"]  # none of the new rows, no change to O1
        assert records.filter(pl.col("id") == "O1")["text"].item() == "Website"
        assert store.import_file("offers", tmp_path / "big.csv")["inserted"] == 5000  # and it is usable


@pytest.mark.parametrize("stage", ["writing", "swapping", "swapped"])
def test_kill_during_index_save_leaves_the_previous_index(tmp_path, stage):
    folder = tmp_path / "idx"
    offers = pl.DataFrame({"id": ["O1", "O2"], "text": ["Website WordPress", "Fahrdienst Auto"]})
    Matcher(MatchConfig(mode="dense"), embedder=KeywordEmbedder()).fit(offers).save(folder)
    run_and_get_killed(KILL_DURING_SAVE, folder, stage)
    matcher = Matcher.load(folder, embedder=KeywordEmbedder())  # the previous index (or the new one), complete
    assert sorted(matcher.index_.ids) == ["O1", "O2"] + (["O9"] if stage == "swapped" else [])
    assert matcher.match("Website", k=1)["id"][0] == "O1"
    matcher.save(folder)  # the next save clears what the killed writer left (its staging or backup folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".idx.semmatch-lock", "idx"]


HOLD_LOCK = """
import os, signal, sys, time
from pathlib import Path
from semmatch.atomic import folder_lock

with folder_lock(sys.argv[1]):
    Path(sys.argv[2]).touch()
    if sys.argv[3] == "die":
        os.kill(os.getpid(), signal.SIGKILL)  # killed while holding the write lock
    time.sleep(60)
"""


def test_a_writer_killed_while_holding_the_lock_does_not_block_the_next_one(tmp_path):
    folder = tmp_path / "idx"
    offers = pl.DataFrame({"id": ["O1"], "text": ["Website"]})
    matcher = Matcher(MatchConfig(mode="dense"), embedder=KeywordEmbedder()).fit(offers).save(folder)
    run_and_get_killed(HOLD_LOCK, folder, tmp_path / "held", "die")
    with folder_lock(folder, timeout=5):  # the system released the dead process's lock
        pass
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(folder), str(tmp_path / "held2"), "hold"],
                              cwd=ROOT)
    try:
        while not (tmp_path / "held2").exists():
            assert holder.poll() is None
            time.sleep(0.05)
        with pytest.raises(FolderBusyError, match="being written by another semmatch process"):
            with folder_lock(folder, timeout=0.3):
                pass
        loaded = Matcher.load(folder, embedder=KeywordEmbedder())  # readers do not wait for writers
        assert loaded.index_.ids == ["O1"]
    finally:
        holder.kill()
        holder.wait()
    Matcher(MatchConfig(mode="dense"), embedder=KeywordEmbedder()).fit(offers).save(matcher)


def test_corrupt_index_files_are_refused_with_a_rebuild_hint(tmp_path):
    folder = tmp_path / "idx"
    offers = pl.DataFrame({"id": ["O1"], "text": ["Website"]})
    Matcher(MatchConfig(mode="dense"), embedder=KeywordEmbedder()).fit(offers).save(folder)
    data = bytearray((folder / "index.faiss").read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    (folder / "index.faiss").write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="semmatch index"):
        Matcher.load(folder, embedder=KeywordEmbedder())



def test_kill_during_a_decision_write_keeps_the_log_consistent(tmp_path):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with Store(db) as store:
        store.import_records("needs", pl.DataFrame({"need_id": ["N1"], "description": ["Website"]}))
        store.import_records("offers", pl.DataFrame({"offer_id": ["O1"], "description": ["Website"]}))
        store.record_decision("N1", "O1", "contacted")
    run_and_get_killed(KILL_DURING_DECISION, db)
    with Store(db) as store:
        assert store.decisions()["action"].to_list() == ["contacted"]  # nothing half-written
        store.record_decision("N1", "O1", "accepted")  # and the store takes the next write
        assert store.decisions()["action"].to_list() == ["contacted", "accepted"]


def test_kill_during_a_cache_write_leaves_a_usable_cache(tmp_path):
    import numpy as np

    from semmatch.embed.cache import EmbeddingCache

    path = tmp_path / "cache.sqlite"
    cache = EmbeddingCache(path)
    cache.put_many("m", {EmbeddingCache.key("m", "", "alt"): np.ones(4, dtype=np.float32)})
    code = """
import os, signal, sys
import numpy as np
from semmatch.embed.cache import EmbeddingCache

cache = EmbeddingCache(sys.argv[1])
rows = {EmbeddingCache.key("m", "", f"neu {i}"): np.full(4, i, dtype=np.float32) for i in range(5000)}
items = [(k, "m", v.tobytes()) for k, v in rows.items()]
cache._conn.executemany("INSERT OR REPLACE INTO vectors (key, model_id, vector) VALUES (?, ?, ?)", items)
os.kill(os.getpid(), signal.SIGKILL)  # rows inserted, not committed
"""
    run_and_get_killed(code, path)
    reopened = EmbeddingCache(path)
    assert reopened.count() == 1
    assert reopened.get_many([EmbeddingCache.key("m", "", "alt")], 4)
