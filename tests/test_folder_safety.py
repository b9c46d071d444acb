"""Issue 15, item 1: no semmatch command deletes or overwrites a file it did not create.

`--out` on a folder that is not a semmatch index (a thesis, the input's own folder, the current folder) is refused
with a clear message and nothing is touched; a symlinked index folder is updated where it points, the link kept."""

from __future__ import annotations

import json
import tempfile
from contextlib import chdir
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.fake_plugin  # noqa: F401  (registers the keyword fake as model "test-keywords" in this process)
from semmatch import MatchConfig, Matcher
from semmatch.atomic import atomic_directory, foreign_entries
from semmatch.cli.main import main
from semmatch.errors import FolderNotOwnedError
from semmatch.index.vector import INDEX_FOLDER, META_FILE, VectorIndex
from tests.conftest import KeywordEmbedder

OFFERS = pl.DataFrame({"offer_id": ["O1", "O2", "O3"],
                       "description": ["Website mit WordPress", "Fahrdienst mit dem Auto", "Nachhilfe in Mathe"]})
MORE = pl.DataFrame({"offer_id": ["O4"], "description": ["Grafik und Logo"]})


def index_cli(records: Path, out: str | Path) -> object:
    return CliRunner().invoke(main, ["index", str(records), "--out", str(out), "--no-cache", "--model",
                                     "test-keywords"])


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def refused(result, folder: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # a message, no traceback
    assert folder in result.output and "choose an empty or new folder" in result.output, result.output


def test_index_out_on_a_folder_of_user_files_is_refused_and_untouched(tmp_path):
    OFFERS.write_csv(tmp_path / "offers.csv")
    folder = tmp_path / "d"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.txt").write_text("x\n")
    result = index_cli(tmp_path / "offers.csv", folder)
    refused(result, str(folder))
    assert "is not a semmatch index folder" in result.output and "thesis.txt" in result.output
    assert (folder / "thesis.txt").read_text() == "x\n" and (folder / "sub").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "offers.csv"]  # no staging or backup left behind


def test_out_set_to_the_input_files_own_folder_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    OFFERS.write_csv(data / "offers.csv")
    before = snapshot(data)
    refused(index_cli(data / "offers.csv", data), str(data))
    assert snapshot(data) == before


@pytest.mark.parametrize("empty", [False, True])
def test_out_dot_is_a_clear_error(tmp_path, monkeypatch, empty):
    work = tmp_path / "work"
    work.mkdir()
    OFFERS.write_csv(tmp_path / "offers.csv")
    if not empty:
        (work / "notes.md").write_text("meine Notizen")
    monkeypatch.chdir(work)
    result = index_cli(tmp_path / "offers.csv", ".")
    refused(result, ".")
    assert "current folder" in result.output
    assert sorted(p.name for p in work.iterdir()) == ([] if empty else ["notes.md"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["offers.csv", "work"]


def test_reindex_and_update_refuse_a_folder_of_user_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMMATCH_PLUGINS", "tests.fake_plugin")
    OFFERS.write_csv(tmp_path / "offers.csv")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    assert CliRunner().invoke(main, ["import", str(tmp_path / "offers.csv"), "--kind", "offers", "--db", db]
                              ).exit_code == 0
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "matcher.json").write_text('{"mine": true}')  # a name semmatch uses, in a folder it did not write
    (folder / "thesis.txt").write_text("x")
    before = snapshot(folder)
    reindex = CliRunner().invoke(main, ["reindex", "--out", str(folder), "--db", db, "--model", "test-keywords"])
    refused(reindex, str(folder))
    update = CliRunner().invoke(main, ["update", str(folder), "--records", str(tmp_path / "offers.csv")])
    assert update.exit_code == 1 and isinstance(update.exception, SystemExit), update.output
    assert snapshot(folder) == before


def test_an_index_folder_is_replaced_but_not_when_a_user_file_was_put_into_it(tmp_path):
    OFFERS.write_csv(tmp_path / "offers.csv")
    MORE.write_csv(tmp_path / "more.csv")
    folder = tmp_path / "idx"
    assert index_cli(tmp_path / "offers.csv", folder).exit_code == 0
    meta = json.loads((folder / META_FILE).read_text())
    assert meta["format"] == "semmatch-index" and set(meta["files"]) == {p.name for p in folder.iterdir()} - {META_FILE}
    assert index_cli(tmp_path / "offers.csv", folder).exit_code == 0  # its own folder: replaced
    assert CliRunner().invoke(main, ["update", str(folder), "--records", str(tmp_path / "more.csv")]).exit_code == 0
    (folder / "notes.txt").write_text("meins")
    refused(index_cli(tmp_path / "offers.csv", folder), str(folder))
    refused(CliRunner().invoke(main, ["update", str(folder), "--records", str(tmp_path / "more.csv")]), str(folder))
    assert (folder / "notes.txt").read_text() == "meins"
    assert len(Matcher.load(folder, embedder=KeywordEmbedder()).index_) == 4  # and the index still loads


def test_a_folder_of_files_named_like_semmatch_files_is_not_taken_for_an_index(tmp_path):
    OFFERS.write_csv(tmp_path / "offers.csv")
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "index.json").write_text('{"format_version": 1, "model_id": "m", "dimension": 4, "kind": "flat", '
                                       '"checksums": {"ids.parquet": "0"}}')
    (folder / "ids.parquet").write_text("meine Daten")
    before = snapshot(folder)
    refused(index_cli(tmp_path / "offers.csv", folder), str(folder))
    assert snapshot(folder) == before


def test_an_index_folder_of_an_older_semmatch_is_still_replaced(tmp_path):
    folder = tmp_path / "idx"
    Matcher(MatchConfig(mode="dense"), embedder=KeywordEmbedder()).fit(OFFERS).save(folder)
    meta = json.loads((folder / META_FILE).read_text())
    for key in ("format", "files", "generation"):  # what index.json held before the format marker
        del meta[key]
    (folder / META_FILE).write_text(json.dumps(meta))
    assert foreign_entries(folder, INDEX_FOLDER) == []
    matcher = Matcher.load(folder, embedder=KeywordEmbedder())
    matcher.upsert(MORE)
    matcher.save(folder)
    assert sorted(Matcher.load(folder, embedder=KeywordEmbedder()).index_.ids) == ["O1", "O2", "O3", "O4"]
    meta = json.loads((folder / META_FILE).read_text())
    for key in ("format", "files", "generation"):
        del meta[key]
    (folder / META_FILE).write_text(json.dumps(meta))
    (folder / "thesis.txt").write_text("x")  # an older index folder with a file of the user's in it
    with pytest.raises(FolderNotOwnedError, match=r"it holds thesis.txt, which"):
        matcher.save(folder)
    assert (folder / "thesis.txt").read_text() == "x"


def test_a_symlinked_index_folder_is_updated_where_it_points(tmp_path):
    real = tmp_path / "disk" / "offers-index"
    real.parent.mkdir()
    link = tmp_path / "links" / "idx"
    link.parent.mkdir()
    VectorIndex(4, model_id="m").save(real)
    link.symlink_to(real, target_is_directory=True)
    matcher = Matcher(MatchConfig(mode="dense"), embedder=KeywordEmbedder()).fit(OFFERS)
    matcher.save(link)
    matcher.upsert(MORE)
    matcher.save(link)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert sorted(Matcher.load(real, embedder=KeywordEmbedder()).index_.ids) == ["O1", "O2", "O3", "O4"]
    left = [p.name for p in (*real.parent.iterdir(), *link.parent.iterdir()) if ".old-" in p.name or "staging" in
            p.name]
    assert left == [] and sorted(p.name for p in link.parent.iterdir()) == ["idx"]


def test_model_folders_are_guarded_by_their_own_marker(tmp_path, monkeypatch):
    from semmatch.embed import e5_convert
    from semmatch.embed.onnx_export import ONNX_FOLDER

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "thesis.txt").write_text("x")
    monkeypatch.setattr(e5_convert, "read_q4_file", lambda source: None)  # the check comes before any conversion
    with pytest.raises(FolderNotOwnedError, match="not a semmatch model folder"):
        e5_convert.convert_e5_q4(tmp_path / "weights.bin", folder)
    for fmt in (e5_convert.MODEL_FOLDER, ONNX_FOLDER):
        with pytest.raises(FolderNotOwnedError):
            with atomic_directory(folder, fmt) as staging:
                (staging / fmt.marker).write_text("{}")
        assert sorted(p.name for p in folder.iterdir()) == ["thesis.txt"] and (folder / "thesis.txt").read_text() == "x"
        assert not [p for p in tmp_path.iterdir() if "staging" in p.name or ".old-" in p.name]
        with atomic_directory(tmp_path / fmt.value, fmt) as staging:  # a new one is written, then replaced
            (staging / fmt.marker).write_text("{}")
            (staging / "weights.bin").write_bytes(b"1")
            (staging / "2_Normalize").mkdir()  # sentence-transformers saves some modules as empty folders
            (staging / "1_Pooling").mkdir()
            (staging / "1_Pooling" / "config.json").write_text("{}")
        assert json.loads((tmp_path / fmt.value / fmt.marker).read_text())["files"] == [
            "1_Pooling/config.json", "2_Normalize/", "weights.bin"]
        with atomic_directory(tmp_path / fmt.value, fmt) as staging:
            (staging / fmt.marker).write_text('{"recipe": 2}')
        assert json.loads((tmp_path / fmt.value / fmt.marker).read_text())["files"] == []


# ---------------------------------------------------------------- property: nothing of the user's is touched
NAMES = st.sampled_from(["a", "b", "thesis.txt", "index.json", "matcher.json", "records.parquet", "ids.parquet",
                         "index.faiss", "sentences.npy", "offers.csv", ".idx.old-1", ".hidden"])
CONTENTS = st.one_of(st.binary(max_size=40), st.sampled_from([  # JSON a user might have, even in semmatch's key names
    b"{}", b'{"format_version": 1, "model_id": "m", "dimension": 4, "kind": "flat", "checksums": {}}',
    b'{"format_version": 1, "model_id": "m", "dimension": 4, "kind": "flat", "checksums": {"ids.parquet": "0"}}']))
TREES = st.dictionaries(st.lists(NAMES, min_size=1, max_size=3).map(tuple), CONTENTS, max_size=8)
TARGETS = st.sampled_from([".", "..", "new-index", "a", "a/b", "data", "data/offers.csv", "b/new", "thesis.txt"])


def plant(root: Path, tree: dict[tuple[str, ...], bytes]) -> None:
    """Write the user's files; a path that runs into an existing file (or a file over a folder) is skipped."""
    for parts, content in tree.items():
        path = root.joinpath(*parts)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_bytes(content)
        except (FileExistsError, NotADirectoryError):
            continue


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=TREES, target=TARGETS, use_link=st.booleans(), second=st.sampled_from(["index", "update", "reindex"]))
def test_no_command_deletes_or_overwrites_a_file_it_did_not_create(tree, target, use_link, second):
    with tempfile.TemporaryDirectory() as tmp, chdir(Path(tmp).resolve()):
        base = Path.cwd() / "world"
        (base / "data").mkdir(parents=True)
        OFFERS.write_csv(base / "data" / "offers.csv")
        MORE.write_csv(base / "data" / "more.csv")
        plant(base, tree)
        out = Path(target)
        if use_link and not (base / out).exists() and (base / out).parent.is_dir():  # a link to a new folder
            (base / "elsewhere").mkdir(exist_ok=True)
            (base / out).symlink_to(base / "elsewhere" / "target", target_is_directory=True)
        before = snapshot(Path(tmp))
        db = f"sqlite:///{Path(tmp) / 'store.db'}"
        with chdir(base):
            runs = [index_cli(Path("data/offers.csv"), out)]
            if second == "index":
                runs.append(index_cli(Path("data/more.csv"), out))
            elif second == "update":
                runs.append(CliRunner().invoke(main, ["update", str(out), "--records", "data/more.csv"]))
            else:
                assert CliRunner().invoke(main, ["import", "data/offers.csv", "--kind", "offers", "--db", db]
                                          ).exit_code == 0
                runs.append(CliRunner().invoke(main, ["reindex", "--out", str(out), "--db", db, "--model",
                                                      "test-keywords"]))
        for result in runs:  # each either worked or said why, without a traceback
            assert result.exit_code in (0, 1, 2) and isinstance(result.exception, (SystemExit, type(None))), (
                result.output, result.exception)
        after = snapshot(Path(tmp))
        changed = sorted(name for name, content in before.items() if after.get(name) != content)
        assert changed == [], (changed, target, [r.output for r in runs])


# ------------------------------------------------- property: file outputs (--out, --exposure-out) touch no user file
OUT_TARGETS = st.sampled_from(["a", "b", "thesis.txt", "a/b", "offers.csv", "data/offers.csv", "data/needs.csv",
                               "idx/index.json", "idx/records.parquet", "idx/new", "new", "data", "."])
OUT_COMMANDS = {"match --out": ["match", "idx", "--needs", "data/needs.csv", "--out"],
                "match --exposure-out": ["match", "idx", "--needs", "data/needs.csv", "--batch", "--exposure-out"],
                "conditions --out": ["conditions", "idx", "--min-similarity", "0", "--out"]}
INPUTS = {"match --out": ("data/needs.csv",), "match --exposure-out": ("data/needs.csv",), "conditions --out": ()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=TREES, target=OUT_TARGETS, suffix=st.sampled_from(["", ".csv", ".json", ".parquet"]),
       command=st.sampled_from(sorted(OUT_COMMANDS)), overwrite=st.booleans(),
       link=st.sampled_from([None, "data/needs.csv", "idx/index.json", "thesis.txt"]))
def test_no_file_output_overwrites_a_file_it_did_not_create(tree, target, suffix, command, overwrite, link):
    with tempfile.TemporaryDirectory() as tmp, chdir(Path(tmp).resolve()):
        base = Path.cwd()
        (base / "data").mkdir()
        OFFERS.write_csv(base / "data" / "offers.csv")
        pl.DataFrame({"need_id": ["N1"], "description": ["Website"]}).write_csv(base / "data" / "needs.csv")
        plant(base, tree)
        assert index_cli(Path("data/offers.csv"), "idx").exit_code == 0
        out = target if target in (".", "data") else target + suffix
        if link and not (base / out).exists() and not (base / out).is_symlink() and (base / out).parent.is_dir() \
                and (base / link).exists():
            (base / out).symlink_to(base / link)  # a link onto an input, an index file or a user's file
        before = snapshot(base)
        result = CliRunner().invoke(main, OUT_COMMANDS[command] + [out] + (["--overwrite"] if overwrite else []))
        assert result.exit_code in (0, 1, 2) and isinstance(result.exception, (SystemExit, type(None))), (
            result.output, result.exception)
        after = snapshot(base)
        changed = sorted(name for name, content in before.items() if after.get(name) != content)
        written = (base / out).resolve().relative_to(base).as_posix() if (base / out).resolve().is_relative_to(
            base) else None
        mine = overwrite and written not in INPUTS[command] and not str(written).startswith("idx/")
        allowed = {written, Path(out).as_posix()} if mine else set()  # with --overwrite: the target (and its link)
        assert set(changed) <= allowed, (changed, out, command, overwrite, result.output)
