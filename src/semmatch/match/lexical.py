"""Lexical scorers (TF-IDF, BM25) behind the hybrid mode's lexical signal, in a registry by name: a plug-in scorer
registered with `register_lexical` is accepted as `MatchConfig(lexical=...)` and `--lexical` like the built-in ones."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from scipy import sparse

from semmatch.config import LEXICAL_KINDS
from semmatch.errors import ConfigError


class LexicalScorer(ABC):
    """Base class of lexical backends: fit on the indexed texts, score a query against all of them in [0, 1]."""

    name: ClassVar[str] = "base"

    @abstractmethod
    def fit(self, texts: list[str]) -> LexicalScorer:
        """Index the texts."""

    @abstractmethod
    def scores(self, query: str) -> np.ndarray:
        """Scores of the query against every fitted text."""

    @abstractmethod
    def pair_scores(self, query: str, texts: list[str]) -> np.ndarray:
        """Scores against texts that are not (or not yet) fitted, e.g. for a candidate outside the index."""

    def scores_at(self, query: str, positions: np.ndarray) -> np.ndarray:
        """Scores of the query against some fitted texts only (rescoring candidates)."""
        return self.scores(query)[np.asarray(positions, dtype=np.int64)]

    def update(self, positions: np.ndarray, texts: list[str], all_texts: list[str]) -> LexicalScorer:
        """Texts changed at positions (a position equal to the current size or above appends). The default refits;
        a backend may update in place. `all_texts` is the full list after the change."""
        return self.fit(all_texts)

    def keep(self, positions: np.ndarray, all_texts: list[str]) -> LexicalScorer:
        """Keep only the texts at positions (after removals); `all_texts` is the list that remains."""
        return self.fit(all_texts)


class TfidfLexicalScorer(LexicalScorer):
    """Cosine of character 3-5-gram TF-IDF vectors (within word boundaries): robust to German compounds and
    inflection ("Datenanalyse" shares n-grams with "Daten analysieren"), and comparable across queries."""

    name = "tfidf"

    def __init__(self, ngram_range: tuple[int, int] = (3, 5), min_df: int = 1):
        self.ngram_range = ngram_range
        self.min_df = min_df

    def fit(self, texts: list[str]) -> TfidfLexicalScorer:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, min_df=self.min_df,
                                           sublinear_tf=True, lowercase=True, dtype=np.float32)
        self.matrix_ = self.vectorizer_.fit_transform(texts).tocsr()
        self.delta_ = self.matrix_[:0]  # rows added or changed since fit (fitted vocabulary and IDF)
        self.row_of_ = np.arange(len(texts), dtype=np.int64)  # text position -> row of matrix_ + delta_
        return self

    def _vector(self, query: str) -> np.ndarray:
        return self.vectorizer_.transform([query]).toarray().ravel()  # sparse matrix x dense vector is fastest

    def scores(self, query: str) -> np.ndarray:
        vector = self._vector(query)
        rows = self.matrix_ @ vector
        if self.delta_.shape[0]:
            rows = np.concatenate([rows, self.delta_ @ vector])
        return np.asarray(rows, dtype=np.float64)[self.row_of_]

    def scores_at(self, query: str, positions: np.ndarray) -> np.ndarray:
        rows, fitted = self.row_of_[np.asarray(positions, dtype=np.int64)], self.matrix_.shape[0]
        vector, out = self._vector(query), np.zeros(rows.size, dtype=np.float64)
        in_fit = rows < fitted
        out[in_fit] = self.matrix_[rows[in_fit]] @ vector
        if not in_fit.all():
            out[~in_fit] = self.delta_[rows[~in_fit] - fitted] @ vector
        return out

    def pair_scores(self, query: str, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        vector = self.vectorizer_.transform([query])
        others = self.vectorizer_.transform(texts)
        return np.asarray((others @ vector.T).todense()).ravel().astype(np.float64)

    def update(self, positions: np.ndarray, texts: list[str], all_texts: list[str]) -> TfidfLexicalScorer:
        """In place, in O(changed texts): new rows go to a delta matrix with the fitted vocabulary and IDF. Once
        the delta exceeds a fifth of the fitted rows, refit (new words and IDF then count)."""
        if self.delta_.shape[0] + len(texts) > max(1000, self.matrix_.shape[0] // 5):
            return self.fit(all_texts)
        first = self.matrix_.shape[0] + self.delta_.shape[0]
        self.delta_ = sparse.vstack([self.delta_, self.vectorizer_.transform(texts)]).tocsr()
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size and positions.max() >= self.row_of_.size:
            grown = np.full(positions.max() + 1, -1, dtype=np.int64)
            grown[:self.row_of_.size] = self.row_of_
            self.row_of_ = grown
        self.row_of_[positions] = np.arange(first, first + len(texts))
        return self

    def keep(self, positions: np.ndarray, all_texts: list[str]) -> TfidfLexicalScorer:
        """Drop removed texts; once a fifth of the stored rows are dead, refit (their n-grams then leave memory)."""
        self.row_of_ = self.row_of_[np.asarray(positions, dtype=np.int64)]
        stored = self.matrix_.shape[0] + self.delta_.shape[0]
        if stored - self.row_of_.size > max(1000, stored // 5):
            return self.fit(all_texts)
        return self


class Bm25LexicalScorer(LexicalScorer):
    """Okapi BM25 (bm25s, German stop words, no stemming), divided by the best score of the query so it lies in
    [0, 1]. BM25 scores are not comparable across queries; prefer tfidf where the match % matters."""

    name = "bm25"

    def __init__(self, k1: float = 1.5, b: float = 0.75):
        self.k1 = k1
        self.b = b

    def _tokens(self, texts: list[str]):
        import bm25s

        return bm25s.tokenize(texts, stopwords="de", show_progress=False, return_ids=False)

    def fit(self, texts: list[str]) -> Bm25LexicalScorer:
        import bm25s

        self.texts_ = list(texts)
        self.retriever_ = bm25s.BM25(k1=self.k1, b=self.b)
        self.retriever_.index(bm25s.tokenize(self.texts_, stopwords="de", show_progress=False), show_progress=False)
        return self

    def scores(self, query: str) -> np.ndarray:
        tokens = self._tokens([query])[0]
        vocab = self.retriever_.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return np.zeros(len(self.texts_))
        raw = np.asarray(self.retriever_.get_scores(tokens), dtype=np.float64)
        top = raw.max()
        return raw / top if top > 0 else raw

    def pair_scores(self, query: str, texts: list[str]) -> np.ndarray:
        return Bm25LexicalScorer(self.k1, self.b).fit(texts).scores(query) if texts else np.zeros(0)


LEXICAL_SCORERS: dict[str, type[LexicalScorer]] = {}


def register_lexical(name: str, scorer: type[LexicalScorer]) -> None:
    """Register a lexical scorer class (constructed without arguments) under a name; the name then counts as a valid
    `lexical` setting (config validation, the CLI's `--lexical` choices) wherever the built-in names do."""
    if not (isinstance(scorer, type) and issubclass(scorer, LexicalScorer)):
        raise ConfigError(f"a lexical scorer must be a LexicalScorer subclass, not {scorer!r}")
    LEXICAL_KINDS.add(name)
    LEXICAL_SCORERS[name] = scorer


def make_lexical(name: str) -> LexicalScorer:
    """A new, unfitted scorer of a registered kind; an unknown name raises ConfigError naming the valid ones."""
    scorer = LEXICAL_SCORERS.get(LEXICAL_KINDS.check(name))
    if scorer is None:  # a name added to the vocabulary without a class: register_lexical adds both
        raise ConfigError(f"lexical {name!r} is accepted but no scorer is registered for it (use register_lexical)")
    return scorer()


for _builtin in (TfidfLexicalScorer, Bm25LexicalScorer):
    register_lexical(_builtin.name, _builtin)
