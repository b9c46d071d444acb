"""Every `semmatch` command, given a bad argument or a bad file, fails with a message and never with a traceback;
below the CLI, the library raises only SemmatchErrors (scanned over the source).

The cases are listed per command; a test checks that the list covers every command of the group (a new command needs
its cases here) and that every command taking a path has a bad-file case. Runs in a temporary working folder with its
own store and cache, and with the keyword fake as the model. `app` is only given arguments that fail before Streamlit
would start.
"""

from __future__ import annotations

import ast
from pathlib import Path

import click
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from semmatch.cli.main import main
from semmatch.errors import DataValidationError, SemmatchError
from semmatch.eval.metrics import evaluate_run, metric_value
from semmatch.index.vector import VectorIndex
from semmatch.match import matcher as matcher_module
from semmatch.records.fields import FieldError, parse_profile
from semmatch.records.geo import normalise_plz
from tests.conftest import KeywordEmbedder

GARBAGE = b"\xff\xfe\x00\x01garbage,\"unterminated\n\x00\x00\xc3(;;\t\r\n" * 8

# command -> (bad-argument cases, bad-file cases); {placeholders} are filled by the `paths` fixture
CASES: dict[str, tuple[list[list[str]], list[list[str]]]] = {
    "app": ([["--port", "0"], ["--port", "abc"], ["--bogus"]], []),
    "benchmark": (
        [["--queries", "{garbage}", "--corpus", "{garbage}", "--qrels", "{garbage}", "--k", "0"],
         ["--queries", "{garbage}", "--corpus", "{garbage}", "--qrels", "{garbage}", "--mode", "nope"]],
        [["--queries", "{missing}", "--corpus", "{missing}", "--qrels", "{missing}"],
         ["--queries", "{garbage}", "--corpus", "{garbage}", "--qrels", "{garbage}"],
         ["--queries", "{queries}", "--corpus", "{queries}", "--qrels", "{garbage}"],
         ["--queries", "{queries}", "--corpus", "{queries}", "--qrels", "{qrels}", "--config", "{garbage}"]]),
    "conditions": ([["{index}", "-k", "0"], ["{index}", "--min-similarity", "2"], ["{needs_index}"]],
                   [["{missing_dir}"], ["{garbage_dir}"], ["{index}", "--out", "{garbage}"]]),
    "decide": ([["N1", "O1", "maybe"], ["N1", "O1", "completed", "--rating", "9"], ["N1", "O1", "shown"],
                ["N1", "O1", "shown", "--db", "nosuchdb://x"]],
               [["N1", "O1", "shown", "--db", "sqlite:///{garbage}"]]),
    "demo": ([["-k", "0"], ["-k", "abc"]],
             [["--data", "{missing_dir}", "--out", "{out_dir}"], ["--data", "{garbage_dir}", "--out", "{out_dir}"]]),
    "evaluate": ([["-k", "0"], ["--mode", "nope"], ["--db", "nosuchdb://x"]],
                 [["--config", "{garbage}"], ["--config", "{missing}"], ["--index", "{garbage_dir}"],
                  ["--db", "sqlite:///{garbage}"]]),
    "finetune": ([["--name", "ft", "--epochs", "0"], ["--name", "ft", "--holdout", "2"], ["--epochs", "1"]],
                 [["--name", "ft", "--db", "sqlite:///{garbage}"]]),
    "forget": ([["O1", "--kind", "nope"], ["O1"], ["O1", "--kind", "offers", "--db", "nosuchdb://x"]],
               [["O1", "--kind", "offers", "--db", "sqlite:///{garbage}"]]),
    "hash-password": ([["--password", ""], ["--bogus"]], []),
    "import": ([["{offers}", "--kind", "nope"], ["{offers}"], ["{offers}", "--kind", "offers", "--db", "nosuchdb://x"]],
               [["{missing}", "--kind", "offers"], ["{garbage}", "--kind", "offers"],
                ["{offers}", "--kind", "offers", "--db", "sqlite:///{garbage}"]]),
    "index": ([["{offers}", "--out", "{out_dir}", "--index-kind", "nope"], ["{offers}"],
               ["{offers}", "--out", "{out_dir}", "--id-column", "nope"]],
              [["{missing}", "--out", "{out_dir}"], ["{garbage}", "--out", "{out_dir}"],
               ["{offers}", "--out", "{out_dir}", "--config", "{garbage}"],
               ["{offers}", "--out", "{garbage_dir}"]]),
    "labels": ([["--out", "{out_tsv}", "--db", "nosuchdb://x"], ["--bogus"]],
               [["--out", "{out_tsv}", "--db", "sqlite:///{garbage}"], ["--out", "{garbage}"]]),
    "match": ([["{index}", "--text", "x", "-k", "0"], ["{index}", "--text", "x", "--plz", "12"],
               ["{index}", "--text", "x", "--radius", "nan"], ["{index}", "--text", "x", "--from", "soon"],
               ["{index}", "--text", "x", "--from", "2025-05-01", "--until", "2025-04-01"],
               ["{index}", "--text", "x", "--weekday", "Xx"], ["{index}", "--text", "x", "--language", "123"],
               ["{index}", "--text", "x", "--offer-type", "nope"], ["{index}", "--text", "x", "--town", "Nirgendwo"],
               ["{index}", "--text", ""], ["{index}", "--text", "x" * 200_000],
               ["{index}", "--text", "x", "--config", "nosuchconfig"]],
              [["{missing_dir}", "--text", "x"], ["{garbage_dir}", "--text", "x"],
               ["{index}", "--needs", "{missing}"], ["{index}", "--needs", "{garbage}"]]),
    "models": ([["--prepare", "no-such-model"], ["--bogus"]], []),
    "reindex": ([["--out", "{out_dir}", "--kind", "nope"], ["--out", "{out_dir}", "--db", "nosuchdb://x"]],
                [["--out", "{out_dir}", "--db", "sqlite:///{garbage}"], ["--out", "{garbage_dir}"]]),
    "simulate": ([["-k", "0"], ["--needs", "0"]],
                 [["--data", "{missing_dir}", "--index", "{out_dir}"],
                  ["--data", "{garbage_dir}", "--index", "{out_dir}"]]),
    "stale": ([["--days", "0"], ["--db", "nosuchdb://x"]], [["--db", "sqlite:///{garbage}"]]),
    "tune": ([["--name", "t", "--folds", "1"], ["--folds", "3"], ["--name", "t", "--config", "nosuchconfig"]],
             [["--name", "t", "--config", "{garbage}"], ["--name", "t", "--index", "{garbage_dir}"],
              ["--name", "t", "--db", "sqlite:///{garbage}"]]),
    "update": ([["{index}", "--remove", "NOPE"], ["{index}", "--records", "{offers}", "--id-column", "nope"]],
               [["{missing_dir}"], ["{garbage_dir}", "--remove", "O1"], ["{index}", "--records", "{missing}"],
                ["{index}", "--records", "{garbage}"]]),
}


def _cases(which: int) -> list:
    return [pytest.param(name, argv, id=f"{name}-{i}") for name, cases in CASES.items()
            for i, argv in enumerate(cases[which])]


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEMMATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEMMATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("SEMMATCH_INDEX_ROOT", str(tmp_path / "workspace"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.delenv("SEMMATCH_APP_PASSWORD_HASH", raising=False)
    monkeypatch.setattr(matcher_module, "make_embedder", lambda config: KeywordEmbedder())


@pytest.fixture
def paths(tmp_path, offers) -> dict[str, str]:
    offers.write_csv(tmp_path / "offers.csv")
    pl.DataFrame({"need_id": ["N1", "N2"], "description": ["Website bauen", "Fahrdienst für Senioren"]}).write_csv(
        tmp_path / "needs.csv")
    for kind, name in (("offers", "idx"), ("needs", "needs-idx")):
        result = CliRunner().invoke(main, ["index", str(tmp_path / f"{kind}.csv"), "--out", str(tmp_path / name),
                                           "--kind", kind, "--no-cache"])
        assert result.exit_code == 0, result.output
    (tmp_path / "garbage.csv").write_bytes(GARBAGE)
    garbage_dir = tmp_path / "garbage-dir"
    garbage_dir.mkdir()
    for junk in ("matcher.json", "index.json", "records.parquet", "offers.csv", "needs.csv", "ground_truth.csv"):
        (garbage_dir / junk).write_bytes(GARBAGE)
    (tmp_path / "queries.tsv").write_text("q1\tWebsite bauen\n", encoding="utf-8")
    (tmp_path / "qrels.tsv").write_text("q1\t0\tq1\t1\n", encoding="utf-8")
    return {"index": str(tmp_path / "idx"), "needs_index": str(tmp_path / "needs-idx"),
            "offers": str(tmp_path / "offers.csv"), "missing": str(tmp_path / "missing.csv"),
            "missing_dir": str(tmp_path / "missing-dir"), "garbage": str(tmp_path / "garbage.csv"),
            "garbage_dir": str(garbage_dir), "out_dir": str(tmp_path / "out-idx"),
            "out_tsv": str(tmp_path / "labels.tsv"), "queries": str(tmp_path / "queries.tsv"),
            "qrels": str(tmp_path / "qrels.tsv")}


def _run(name: str, argv: list[str], paths: dict[str, str]):
    args = [name, *(a.format(**paths) for a in argv)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0, f"{args} succeeded:\n{result.output}"
    # CliRunner keeps an escaping exception in result.exception instead of printing it: only click's own exit counts
    assert isinstance(result.exception, SystemExit), f"{args} raised {result.exception!r}"
    assert result.exit_code in (1, 2), (args, result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert "Error:" in result.output, f"{args} failed without a message:\n{result.output}"
    assert "No such option" not in result.output or "--bogus" in argv, f"a mistyped case: {result.output}"
    return result


def test_every_command_has_cases():
    assert set(CASES) == set(main.commands)
    for name, command in main.commands.items():
        bad_arguments, bad_files = CASES[name]
        assert bad_arguments, name
        takes_path = any(isinstance(p.type, click.Path) for p in command.params)
        assert bad_files or not takes_path or name == "app", f"{name} takes a path but has no bad-file case"


@pytest.mark.parametrize(("name", "argv"), _cases(0))
def test_bad_argument_gives_a_message_not_a_traceback(name, argv, paths):
    _run(name, argv, paths)


@pytest.mark.parametrize(("name", "argv"), _cases(1))
def test_bad_file_gives_a_message_not_a_traceback(name, argv, paths):
    _run(name, argv, paths)


def test_conditions_on_a_needs_index_names_the_kind(paths):
    result = _run("conditions", ["{needs_index}"], paths)
    assert result.exit_code == 1
    assert "condition partners need an offer index, not a needs index" in result.output


# ------------------------------------------------------------------ the library's own errors, below the CLI
BUILTIN_ERRORS = {"Exception", "ValueError", "TypeError", "KeyError", "IndexError", "LookupError", "RuntimeError",
                  "AttributeError", "OSError"}
SRC = Path(__file__).resolve().parents[1] / "src" / "semmatch"


def _builtin_raises(tree: ast.AST) -> list[int]:
    """Lines that raise a builtin error outside a `try` (one inside is caught and re-raised as a SemmatchError)."""
    inside_try = {id(node) for t in ast.walk(tree) if isinstance(t, ast.Try)
                  for stmt in t.body for node in ast.walk(stmt)}
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name)
            and node.exc.func.id in BUILTIN_ERRORS and id(node) not in inside_try]


def test_no_module_raises_a_bare_builtin_error_or_defines_a_second_hierarchy():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{path.relative_to(SRC)}:{line} raises a builtin error" for line in _builtin_raises(tree)]
        if path.name != "errors.py":
            found += [f"{path.relative_to(SRC)}:{node.lineno} class {node.name} derives from a builtin error"
                      for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                      and any(isinstance(b, ast.Name) and b.id in BUILTIN_ERRORS for b in node.bases)]
    assert not found, "\n".join(found)


def test_the_scan_finds_a_bare_raise():
    tree = ast.parse("def f(x):\n    if x:\n        raise ValueError('bad')\n    try:\n        raise KeyError(x)\n"
                     "    except KeyError:\n        pass\n")
    assert _builtin_raises(tree) == [3]


def test_public_entry_points_raise_semmatch_errors_that_stay_value_errors():
    calls = [
        lambda: normalise_plz("12"),
        lambda: parse_profile({"weekdays": "Xx"}, "offers"),
        lambda: metric_value("nope", [], {}),
        lambda: evaluate_run({}, {"q": {"d": 0}}, ["mrr"]),
        lambda: KeywordEmbedder().prompt_for("other"),  # type: ignore[arg-type]
        lambda: VectorIndex(3).add(["a", "a"], np.ones((2, 3), dtype=np.float32)),
        lambda: VectorIndex(3).search(np.ones((1, 3), dtype=np.float32), k=0),
        lambda: VectorIndex(3).search(np.ones((1, 4), dtype=np.float32)),
    ]
    for call in calls:
        with pytest.raises(SemmatchError) as caught:
            call()
        assert isinstance(caught.value, ValueError), caught.value
    assert issubclass(FieldError, DataValidationError)
