from __future__ import annotations

import pytest

from semmatch.config import MatchConfig
from semmatch.errors import DataValidationError
from semmatch.eval.benchmark import BENCHMARK_METRICS, load_retrieval_set, read_qrels, run_benchmark
from semmatch.records.io import read_id_text_tsv
from tests.conftest import KeywordEmbedder


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def beir(tmp_path):
    queries = write(tmp_path / "q.tsv", "query_id\ttext\nq1\tWebsite bauen\nq2\tFahrdienst Auto\nq3\tLogo\n")
    corpus = write(tmp_path / "c.tsv", 'doc_id\ttext\nd1\tWordPress Website\nd2\tAuto Fahrdienst\n'
                                       'd3\t"Daten" und Python\nd4\tGrafik\n')
    qrels = write(tmp_path / "r.tsv", "query_id\tdoc_id\tgrade\nq1\td1\t3\nq2\td2\t1\nq3\td4\t0\n")
    return queries, corpus, qrels


def test_header_optional_and_no_quote_processing(tmp_path, beir):
    queries, corpus, _ = beir
    with_header = read_id_text_tsv(corpus)
    without = read_id_text_tsv(write(tmp_path / "c2.tsv", corpus.read_text().split("\n", 1)[1]))
    assert with_header.equals(without)
    assert with_header.filter(with_header["id"] == "d3")["text"].item() == '"Daten" und Python'


def test_qrels_with_and_without_trec_iteration_column(tmp_path):
    plain = read_qrels(write(tmp_path / "a.tsv", "q1\td1\t2\nq1\td2\t0\n"))
    trec = read_qrels(write(tmp_path / "b.tsv", "q1\t0\td1\t2\nq1\t0\td2\t0\n"))
    spaced = read_qrels(write(tmp_path / "c.txt", "q1 0 d1 2\nq1 0 d2 0\n"))
    assert plain == trec == spaced == {"q1": {"d1": 2, "d2": 0}}
    with pytest.raises(DataValidationError, match="row 2"):
        read_qrels(write(tmp_path / "d.tsv", "q1\td1\t2\nq1\td2\n"))
    with pytest.raises(DataValidationError, match="not a number"):
        read_qrels(write(tmp_path / "e.tsv", "q1\td1\t2\nq1\td2\tbad\n"))


def test_benchmark_scores_a_known_ranking(beir):
    result = run_benchmark(load_retrieval_set(*beir), MatchConfig(use_cache=False), k=4, embedder=KeywordEmbedder())
    assert set(BENCHMARK_METRICS) <= set(result)
    # q3 has no relevant document and is not averaged; q1 and q2 find their document first
    assert result["queries"] == 3 and result["mrr"] == 1.0 and result["success_at_1"] == 1.0
    assert result["ndcg_at_10"] == 1.0 and result["seconds"] >= 0
