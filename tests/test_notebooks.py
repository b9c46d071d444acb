"""The analysts' notebooks run top to bottom in small mode, are stored without outputs, and the helpers they use
(semmatch.eval.analysis) do what they say."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from semmatch.eval.analysis import metrics_by_group, near_duplicates, rankings_to_run, subset_retrieval_set
from semmatch.eval.benchmark import RetrievalSet
from semmatch.index.vector import VectorIndex

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TIMEOUT_S = 300


def test_notebooks_exist_and_are_committed_without_outputs():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]
    for path in NOTEBOOKS:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        assert notebook["cells"][0]["cell_type"] == "markdown", path.name
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
            f"{path.name} holds outputs: clear them before committing"
        assert 'SEMMATCH_NOTEBOOK_SMALL") == "1"' in "".join(code[0]["source"]), path.name


def test_kernel_python3_is_this_interpreter():
    """nbclient starts the `python3` kernelspec; jupyter_client runs its `python` with this interpreter (.venv)."""
    pytest.importorskip("nbclient")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    manager = KernelManager(kernel_name="python3")
    command = manager.format_kernel_cmd()
    assert spec.argv[0] in ("python", "python3", sys.executable) and command[0] == sys.executable


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_small_mode(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("SEMMATCH_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("SEMMATCH_NOTEBOOK_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("SEMMATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("SEMMATCH_DATABASE_URL", raising=False)
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=TIMEOUT_S,
                                     resources={"metadata": {"path": str(ROOT)}})
    started = time.perf_counter()
    client.execute()
    print(f"{path.name}: {time.perf_counter() - started:.1f} s")
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert not list(ROOT.joinpath("notebooks").glob("mlflow.db")), "a notebook wrote outside its output folder"


# ---------------------------------------------------------------------------------------------- semmatch.eval.analysis
def _retrieval_set() -> RetrievalSet:
    queries = pl.DataFrame({"id": ["q1", "q2", "q3"], "text": ["a", "b", "c"]})
    corpus = pl.DataFrame({"id": [f"d{i}" for i in range(10)], "text": [f"t{i}" for i in range(10)]})
    qrels = {"q1": {"d9": 2, "d0": 0}, "q2": {"d8": 1}, "q3": {"d7": 0}}
    return RetrievalSet(queries, corpus, qrels)


def test_subset_keeps_judged_documents_first_and_drops_queries_without_relevant_ones():
    small = subset_retrieval_set(_retrieval_set(), max_queries=2, max_corpus=3)
    assert small.corpus["id"].to_list() == ["d0", "d8", "d9"]  # corpus order kept
    assert small.qrels == {"q1": {"d9": 2, "d0": 0}, "q2": {"d8": 1}}
    assert small.queries["id"].to_list() == ["q1", "q2"]
    tiny = subset_retrieval_set(_retrieval_set(), max_corpus=1)
    assert tiny.corpus["id"].to_list() == ["d8"] and list(tiny.qrels) == ["q2"]
    assert subset_retrieval_set(_retrieval_set()).corpus.height == 10


def test_metrics_by_group():
    rankings = pl.DataFrame({"query_id": ["q1", "q1", "q2", "q2"], "rank": [2, 1, 1, 2],
                             "id": ["d9", "d1", "d8", "d2"]})
    assert rankings_to_run(rankings) == {"q1": ["d1", "d9"], "q2": ["d8", "d2"]}
    qrels = {"q1": {"d9": 1}, "q2": {"d8": 2}, "q3": {"d7": 0}}
    table = metrics_by_group(rankings, qrels, {"q1": "web", "q2": "fahrdienst"}, ("success_at_1", "hole_at_2"))
    assert table.to_dicts() == [
        {"group": "fahrdienst", "queries": 1, "success_at_1": 1.0, "hole_at_2": 0.5},
        {"group": "web", "queries": 1, "success_at_1": 0.0, "hole_at_2": 0.5},
    ]
    assert metrics_by_group(rankings, qrels, {})["group"].to_list() == ["(none)"]


def test_near_duplicates_finds_each_close_pair_once():
    index = VectorIndex(3)
    vectors = np.array([[1, 0, 0], [0.99, 0.14, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    index.add(["b", "a", "c", "d"], vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    pairs = near_duplicates(index, threshold=0.95, k=3)
    assert pairs["id_a"].to_list() == ["a"] and pairs["id_b"].to_list() == ["b"]
    assert pairs["cosine"][0] == pytest.approx(0.99, abs=0.01)
    assert near_duplicates(index, threshold=0.999).height == 0
    assert near_duplicates(VectorIndex(3)).columns == ["id_a", "id_b", "cosine"]
