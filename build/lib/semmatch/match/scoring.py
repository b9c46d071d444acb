"""Score fusion: dense cosine + a lexical signal + must-have skill coverage + proximity, and the match %.

Components, each per (query, candidate):
- dense: cosine similarity of the embeddings, in [-1, 1];
- lexical: a lexical similarity in [0, 1] (character n-gram TF-IDF cosine by default, or BM25 via bm25s);
- skills: share of the need's must-have skills the offer covers (1 when the need names none);
- proximity: exp(-distance / scale) on site, 1 when both sides are remote-capable or the query has no place,
  0.5 when the candidate's place is unknown.
The fused score is the weighted mean of the components (dense-only mode: the dense cosine). The match % is
100 * sigmoid(slope * fused + intercept), a Platt calibration fitted on labelled pairs (see `fit_calibration`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semmatch.config import COMPONENTS, ScoreWeights
from semmatch.errors import ConfigError


def proximity(distance_km: np.ndarray, both_remote: np.ndarray, query_has_location: bool,
              scale_km: float) -> np.ndarray:
    """1 near or remote, decaying with distance; 0.5 when the candidate's place is unknown."""
    if not query_has_location:
        return np.ones(len(distance_km))
    with np.errstate(invalid="ignore"):
        near = np.exp(-np.nan_to_num(distance_km, nan=0.0) / scale_km)
    return np.where(both_remote, 1.0, np.where(np.isnan(distance_km), 0.5, near))


def fuse(components: dict[str, np.ndarray], weights: ScoreWeights) -> np.ndarray:
    """Weighted mean of the components (a component whose weight is 0 does not count)."""
    total = sum(getattr(weights, c) for c in COMPONENTS)
    fused = np.zeros_like(np.asarray(components["dense"], dtype=np.float64))
    for name in COMPONENTS:
        weight = getattr(weights, name)
        if weight:
            fused += weight * np.asarray(components[name], dtype=np.float64)
    return fused / total


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of a fused score to the probability that a coordinator would call the pair relevant."""

    slope: float
    intercept: float

    def percent(self, scores: np.ndarray) -> np.ndarray:
        z = self.slope * np.asarray(scores, dtype=np.float64) + self.intercept
        return 100.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def fit_calibration(scores: np.ndarray, relevant: np.ndarray) -> Calibration:
    """Fit a Platt calibration (logistic regression on the single score) to binary relevance labels."""
    from sklearn.linear_model import LogisticRegression

    scores = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    relevant = np.asarray(relevant, dtype=int)
    if len(set(relevant.tolist())) < 2:
        raise ConfigError("calibration needs both relevant and non-relevant pairs")
    model = LogisticRegression(C=1e6, max_iter=1000).fit(scores, relevant)
    return Calibration(slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))
