"""Red-team findings on Hardening II (F1, F5, F7, F9, F10 and two small ones): file outputs.

F1: no command overwrites a file it did not create: an existing file only with --overwrite, never a command's own
input, a folder or a file inside a semmatch index folder. F5: ids with white space block only qrels text, not tables.
F7: what looks like a staging folder is removed only when semmatch wrote it; a lock path that is a symlink is a clear
error. F9: an MLflow file store is a clear error. F10: `semmatch app` reads $SEMMATCH_INDEX_ROOT. Also: the hint of
`semmatch match` on a folder that is no index, and `models --prepare` of an unknown name."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import tests.fake_plugin  # noqa: F401  (registers the keyword fake as model "test-keywords" in this process)
from semmatch.cli.main import main
from semmatch.errors import OutputRefusedError, TrackingError
from semmatch.records.io import write_table

OFFERS = pl.DataFrame({
    "offer_id": ["O1", "O2", "O3"],
    "description": ["Website mit WordPress", "Fahrdienst mit dem Auto", "Nachhilfe in Mathe"],
    "condition": ["", "wenn jemand eine Website baut", ""],
})
NEEDS = pl.DataFrame({"need_id": ["N1", "N2"], "description": ["Wir brauchen eine Website", "Fahrdienst zum Arzt"]})
USER_BYTES = b"meine Abschlussarbeit\n"


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def refused(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # a message, no traceback
    for word in words:
        assert word in result.output, result.output


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def world(tmp_path, monkeypatch):
    """An index folder, a needs file, a store with decisions, all in tmp_path (the current folder)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEMMATCH_PLUGINS", "tests.fake_plugin")
    OFFERS.write_csv(tmp_path / "offers.csv")
    NEEDS.write_csv(tmp_path / "needs.csv")
    assert run("index", "offers.csv", "--out", "idx", "--no-cache", "--model", "test-keywords").exit_code == 0
    db = f"sqlite:///{tmp_path / 'store.db'}"
    for kind in ("offers", "needs"):
        assert run("import", f"{kind}.csv", "--kind", kind, "--db", db).exit_code == 0
    assert run("decide", "N1", "O1", "accepted", "--db", db).exit_code == 0
    return tmp_path, db


def outputs(db: str) -> dict[str, list[str]]:
    """Each command that writes a file, with {out} where the output path goes."""
    return {
        "match --out": ["match", "idx", "--text", "Website", "--out", "{out}"],
        "match --exposure-out": ["match", "idx", "--needs", "needs.csv", "--batch", "--exposure-out", "{out}"],
        "conditions --out": ["conditions", "idx", "--min-similarity", "0", "--out", "{out}"],
        "labels --out": ["labels", "--db", db, "--out", "{out}"],
    }


def with_out(args: list[str], out: str | Path, *extra: str) -> list[str]:
    return [str(out) if a == "{out}" else a for a in args] + list(extra)


SUFFIXES = {"match --out": ".csv", "match --exposure-out": ".json", "conditions --out": ".csv", "labels --out": ".tsv"}


@pytest.mark.parametrize("command", list(SUFFIXES))
def test_an_existing_user_file_is_kept_unless_overwrite_is_given(world, command):
    root, db = world
    args = outputs(db)[command]
    target = root / f"thesis{SUFFIXES[command]}"
    target.write_bytes(USER_BYTES)
    before = snapshot(root)
    refused(run(*with_out(args, target)), str(target), "exists already", "--overwrite")
    assert snapshot(root) == before  # byte for byte, and nothing new next to it
    replaced = run(*with_out(args, target, "--overwrite"))
    assert replaced.exit_code == 0, replaced.output
    assert target.read_bytes() != USER_BYTES and target.stat().st_size > 0
    assert not [p.name for p in root.iterdir() if p.name.endswith(".tmp")]
    new = root / f"new{SUFFIXES[command]}"
    assert run(*with_out(args, new)).exit_code == 0 and new.is_file()  # a new file needs no flag


@pytest.mark.parametrize("command", list(SUFFIXES))
@pytest.mark.parametrize("inside", ["idx/results.csv", "idx/index.json", "idx/records.parquet", "idx"])
def test_nothing_is_written_into_an_index_folder_or_onto_a_folder(world, command, inside):
    root, db = world
    before = snapshot(root)
    for extra in ((), ("--overwrite",)):
        result = run(*with_out(outputs(db)[command], inside, *extra))
        if inside == "idx":  # click's own check (a directory): a usage error
            assert result.exit_code == 2 and "is a directory" in result.output, result.output
        else:
            refused(result, "idx", "semmatch index folder")
        assert snapshot(root) == before


def test_a_file_inside_another_index_folder_is_refused(world):
    root, db = world
    assert run("index", "offers.csv", "--out", "other", "--no-cache", "--model", "test-keywords").exit_code == 0
    before = snapshot(root)
    for command in SUFFIXES:
        for extra in ((), ("--overwrite",)):
            refused(run(*with_out(outputs(db)[command], "other/new.parquet", *extra)), "semmatch index folder")
        refused(run(*with_out(outputs(db)[command], "other/ids.parquet", "--overwrite")), "semmatch index folder")
    assert snapshot(root) == before


def test_a_command_never_writes_over_its_own_input_even_with_overwrite(world):
    root, db = world
    (root / "cfg.json").write_text(json.dumps({"mode": "dense"}))
    os.symlink(root / "needs.csv", root / "needs-link.csv")
    os.link(root / "needs.csv", root / "needs-hard.csv")
    before = snapshot(root)
    cases = [
        ["match", "idx", "--needs", "needs.csv", "--out", "needs.csv"],
        ["match", "idx", "--needs", "needs.csv", "--out", "needs-link.csv"],
        ["match", "idx", "--needs", "needs.csv", "--out", "needs-hard.csv"],
        ["match", "idx", "--needs", "needs.csv", "--batch", "--exposure-out", "needs.csv"],
        ["match", "idx", "--text", "Website", "--config", "cfg.json", "--out", "cfg.json"],
        ["match", "idx", "--text", "Website", "--db", db, "--out", "store.db"],
        ["labels", "--db", db, "--out", "store.db"],
    ]
    for args in cases:
        refused(run(*args), "is an input")
        assert snapshot(root) == before
        refused(run(*args, "--overwrite"), "is an input")  # --overwrite does not make an input writable
        assert snapshot(root) == before


def test_labels_default_store_is_an_input(world, monkeypatch):
    root, db = world
    monkeypatch.setenv("SEMMATCH_DATABASE_URL", db)
    before = snapshot(root)
    refused(run("labels", "--out", "store.db"), "is an input")
    refused(run("labels", "--out", "store.db", "--overwrite"), "is an input")
    assert snapshot(root) == before


def test_two_outputs_of_one_command_may_not_name_the_same_file(world):
    root, _ = world
    result = run("match", "idx", "--needs", "needs.csv", "--batch", "--exposure-out", "same.json", "--out",
                 "same.json")
    refused(result, "--out", "--exposure-out", "same file")
    assert not (root / "same.json").exists()


def test_a_symlink_output_with_overwrite_replaces_its_target_and_keeps_the_link(world):
    root, _ = world
    (root / "real.csv").write_bytes(USER_BYTES)
    os.symlink(root / "real.csv", root / "link.csv")
    refused(run("match", "idx", "--text", "Website", "--out", "link.csv"), "exists already")
    assert (root / "real.csv").read_bytes() == USER_BYTES
    assert run("match", "idx", "--text", "Website", "--out", "link.csv", "--overwrite").exit_code == 0
    assert (root / "link.csv").is_symlink() and pl.read_csv(root / "real.csv")["id"][0] == "O1"


def test_a_file_that_appears_between_check_and_write_is_not_replaced(tmp_path):
    from semmatch.records.io import write_output

    target = tmp_path / "out.csv"

    def write(tmp: Path) -> None:
        target.write_bytes(USER_BYTES)  # someone else creates the file while semmatch writes
        tmp.write_text("semmatch\n")

    with pytest.raises(OutputRefusedError, match="meanwhile"):
        write_output(target, write)
    assert target.read_bytes() == USER_BYTES and sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_library_write_table_refuses_index_folders_and_folders(tmp_path, world):
    root, _ = world
    frame = pl.DataFrame({"id": ["1"]})
    with pytest.raises(OutputRefusedError, match="semmatch index folder"):
        write_table(frame, root / "idx" / "x.csv")
    (root / "d.csv").mkdir()
    with pytest.raises(OutputRefusedError, match="is a folder"):
        write_table(frame, root / "d.csv")
    (root / "mine.csv").write_bytes(USER_BYTES)
    with pytest.raises(OutputRefusedError, match="exists already"):
        write_table(frame, root / "mine.csv", overwrite=False)
    assert (root / "mine.csv").read_bytes() == USER_BYTES


# ------------------------------------------------------------------------------------------------------------ F5
def test_an_id_with_white_space_blocks_only_qrels_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "n2.csv").write_text('need_id,description\n"@N 2",website\n')
    OFFERS.write_csv(tmp_path / "offers.csv")
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert run("import", "n2.csv", "--kind", "needs", "--db", db).exit_code == 0
    assert run("import", "offers.csv", "--kind", "offers", "--db", db).exit_code == 0
    assert run("decide", "@N 2", "O1", "accepted", "--db", db).exit_code == 0
    for name in ("l.csv", "l.parquet", "l.json"):
        result = run("labels", "--db", db, "--out", name)
        assert result.exit_code == 0, result.output
    assert pl.read_parquet(tmp_path / "l.parquet").row(0) == ("@N 2", "O1", 2)
    assert json.loads((tmp_path / "l.json").read_text()) == [{"need_id": "@N 2", "offer_id": "O1", "grade": 2}]
    assert "'@N 2,O1,2" in (tmp_path / "l.csv").read_text()  # formula-escaped in CSV
    from semmatch.eval.benchmark import read_qrels

    assert read_qrels(tmp_path / "l.csv") == {"@N 2": {"O1": 2}}
    refused(run("labels", "--db", db, "--out", "l.tsv"), "white space")
    assert not (tmp_path / "l.tsv").exists()


# ------------------------------------------------------------------------------------------------------------ F7
def test_a_user_folder_named_like_a_staging_folder_is_kept(world):
    root, _ = world
    mine = root / ".real.semmatch-staging-mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("meins")
    crashed = root / ".real.semmatch-staging-abc123"  # what a crashed writer of this version leaves
    (crashed / ".semmatch-staging").mkdir(parents=True)
    (crashed / "records.parquet").write_bytes(b"partial")
    (crashed / "weights-in-progress.bin").write_bytes(b"partial")
    older = root / ".real.semmatch-staging-old999"  # an older writer: only file names of an index folder
    older.mkdir()
    (older / "records.parquet").write_bytes(b"partial")
    (older / "index.faiss").write_bytes(b"partial")
    result = run("index", "offers.csv", "--out", "real", "--no-cache", "--model", "test-keywords")
    assert result.exit_code == 0, result.output
    assert (mine / "keep.txt").read_text() == "meins"
    assert not crashed.exists() and not older.exists()
    assert ".semmatch-staging" not in json.loads((root / "real" / "index.json").read_text())["files"]
    assert not (root / "real" / ".semmatch-staging").exists()


@pytest.mark.parametrize("kind", ["symlink", "dangling symlink", "folder"])
def test_a_lock_path_that_is_not_a_plain_file_is_a_clear_error(world, kind):
    root, _ = world
    lock = root / ".real.semmatch-lock"
    if kind == "folder":
        lock.mkdir()
    else:
        (root / "elsewhere.txt").write_bytes(USER_BYTES)
        lock.symlink_to(root / ("elsewhere.txt" if kind == "symlink" else "nowhere"))
    result = run("index", "offers.csv", "--out", "real", "--no-cache", "--model", "test-keywords")
    refused(result, str(lock), "remove it")
    assert not (root / "real").exists()
    if kind == "symlink":
        assert (root / "elsewhere.txt").read_bytes() == USER_BYTES


# ------------------------------------------------------------------------------------------------------------ F9
@pytest.mark.parametrize("uri", ["file:///{tmp}/mlruns", "{tmp}/mlruns"])
def test_an_mlflow_file_store_is_a_clear_error(tmp_path, monkeypatch, uri):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    uri = uri.format(tmp=tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    result = run("evaluate", "--compare")
    refused(result, uri, "sqlite:///mlflow.db")
    assert "Traceback" not in result.output
    from semmatch.eval import tracking

    with pytest.raises(TrackingError, match="sqlite:///mlflow.db"):
        tracking.log_run(run_name="r", params={}, metrics={"m": 1.0})


# ----------------------------------------------------------------------------------------------------------- F10
def test_app_index_root_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text("")
    seen: dict[str, str] = {}

    def fake_call(command, env):
        seen.update(env)
        return 0

    monkeypatch.setattr(subprocess, "call", fake_call)
    monkeypatch.setenv("SEMMATCH_INDEX_ROOT", str(tmp_path / "my-indexes"))
    result = run("app", "--db", f"sqlite:///{tmp_path / 's.db'}")
    assert result.exit_code == 0, result.output
    assert seen["SEMMATCH_INDEX_ROOT"] == str(tmp_path / "my-indexes")
    assert run("app", "--index-root", "given", "--db", f"sqlite:///{tmp_path / 's.db'}").exit_code == 0
    assert seen["SEMMATCH_INDEX_ROOT"] == "given"


# ---------------------------------------------------------------------------------------------------------- Also
def test_match_on_a_folder_that_is_no_index_suggests_an_out_that_works(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.md").write_text("x")
    result = run("match", ".", "--text", "Website")
    refused(result, "not a semmatch index", "--out <new folder>")
    assert "--out ." not in result.output
    (tmp_path / "empty").mkdir()
    refused(run("match", "empty", "--text", "Website"), "--out empty")


def test_models_prepare_of_an_unknown_name_fails(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    result = run("models", "--prepare", "nonexistent-model-xyz")
    refused(result, "nonexistent-model-xyz", "cannot load model")
    assert "ready" not in result.output
