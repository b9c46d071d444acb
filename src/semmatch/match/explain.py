"""Explanations: which sentences of the query are covered by which sentences of a match, and how well.

Sentences are embedded with the same model as the records; indexed records' sentences are embedded when they are
indexed (`sentences.py`). For each sentence of the query, the best-matching sentence of the candidate and their
cosine are reported, best first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from semmatch.embed.base import Embedder
from semmatch.records.text import split_sentences


@dataclass(frozen=True)
class SentencePair:
    query: str
    match: str
    similarity: float

    def as_dict(self) -> dict[str, object]:
        return {"query": _short(self.query), "match": _short(self.match), "similarity": round(self.similarity, 4)}


def _short(sentence: str, limit: int = 300) -> str:
    """Explanations quote sentences, capped so a huge text cannot blow up a result row."""
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


CandidateSentences = tuple[list[str], np.ndarray]  # a candidate's sentences and their unit vectors


def embed_candidate_sentences(texts: list[str], embedder: Embedder) -> list[CandidateSentences]:
    """Split and embed texts that are not indexed (indexed records keep theirs in `sentences.SentenceTable`)."""
    split = [split_sentences(t) for t in texts]
    unique = list(dict.fromkeys(s for sentences in split for s in sentences))
    vectors = embedder.embed(unique, role="query") if unique else np.zeros((0, 0), np.float32)
    row = {s: i for i, s in enumerate(unique)}
    return [(sentences, vectors[[row[s] for s in sentences]]) for sentences in split]


def explain_sentences(query_text: str, candidates: list[CandidateSentences], embedder: Embedder,
                      query_vector: np.ndarray | None = None
                      ) -> tuple[list[list[SentencePair]], list[tuple[str, float]]]:
    """Both kinds of sentence evidence from the candidates' stored sentence vectors: per candidate, the pairs of
    `sentence_evidence` and the sentence closest to the whole query (`key_sentences`). Only the query's own
    sentences are embedded here (and the whole query, unless `query_vector` is given)."""
    if not candidates:
        return [], []
    query_sentences = split_sentences(query_text)
    wanted = query_sentences if query_vector is not None else list(dict.fromkeys([query_text, *query_sentences]))
    known = {query_text: np.asarray(query_vector, dtype=np.float32)} if query_vector is not None else {}
    missing = [s for s in wanted if s not in known]
    if missing:
        known.update(zip(missing, embedder.embed(missing, role="query")))  # symmetric: "query" on both sides
    query_vectors = np.stack([known[s] for s in query_sentences])
    whole = known[query_text]
    evidence, keys = [], []
    for sentences, own in candidates:
        similarity = query_vectors @ own.T
        best = similarity.argmax(axis=1)
        pairs = [SentencePair(q, sentences[int(j)], float(similarity[i, j]))
                 for i, (q, j) in enumerate(zip(query_sentences, best))]
        evidence.append(sorted(pairs, key=lambda p: -p.similarity))
        to_whole = own @ whole
        keys.append((sentences[int(to_whole.argmax())], float(to_whole.max())))
    return evidence, keys


def sentence_evidence(query_text: str, candidate_texts: list[str], embedder: Embedder) -> list[list[SentencePair]]:
    """For each candidate: one pair per query sentence (its best-covering candidate sentence), best first."""
    return explain_sentences(query_text, embed_candidate_sentences(candidate_texts, embedder), embedder)[0]


def key_sentences(query_text: str, candidate_texts: list[str], embedder: Embedder) -> list[tuple[str, float]]:
    """For each candidate, its sentence closest to the whole query (what the match is mostly about)."""
    return explain_sentences(query_text, embed_candidate_sentences(candidate_texts, embedder), embedder)[1]


def coverage(pairs: list[SentencePair]) -> float:
    """Mean best similarity over the query's sentences: how much of the query a candidate covers."""
    return float(np.mean([p.similarity for p in pairs])) if pairs else 0.0


def _status(passes: bool, mode: str, known: bool) -> str:
    if not known:
        return "unknown"
    if passes:
        return "pass"
    return "fail" if mode == "must" else "fail (ignored)"


def build_explanation(*, components: dict[str, float], weights: dict[str, float], mode: str, score: float,
                      match_pct: float | None, evidence: list[SentencePair], skills_found: list[str],
                      skills_missing: list[str], distance_km: float | None, both_remote: bool,
                      overlap: tuple[float, float], languages: list[str], offer_type: str | None,
                      criteria: dict[str, tuple[bool, str, bool]], condition: str | None,
                      key_sentence: tuple[str, float] | None = None,
                      hours_per_week: tuple[float | None, float | None] = (None, None)) -> dict[str, object]:
    """One match's explanation as a JSON-ready dict; `criteria` maps name -> (passes, mode, known)."""
    import datetime as dt

    start, end = overlap
    time: dict[str, object] | None = None
    if start > end:
        time = {"overlap": False, "from": None, "until": None, "days": 0}
    elif np.isfinite(start) or np.isfinite(end):
        time = {
            "overlap": True,
            "from": dt.date.fromordinal(int(start)).isoformat() if np.isfinite(start) else None,
            "until": dt.date.fromordinal(int(end)).isoformat() if np.isfinite(end) else None,
            "days": int(end - start + 1) if np.isfinite(start) and np.isfinite(end) else None,
        }
    return {
        "match_pct": None if match_pct is None else round(float(match_pct), 1),
        "calibrated": match_pct is not None,
        "score": round(float(score), 4),
        "mode": mode,
        "components": {name: None if value is None else round(float(value), 4) for name, value in components.items()},
        "weights": weights,
        "key_sentence": None if key_sentence is None else {"match": _short(key_sentence[0]),
                                                           "similarity": round(key_sentence[1], 4)},
        "evidence": [pair.as_dict() for pair in evidence],
        "skills": {"found": skills_found, "missing": skills_missing},
        "distance_km": None if distance_km is None or not np.isfinite(distance_km) else round(float(distance_km), 1),
        "remote": bool(both_remote),
        "time": time,
        "languages": languages,
        "hours_per_week": {"need": hours_per_week[0], "offer": hours_per_week[1]},
        "offer_type": offer_type,
        "criteria": {name: _status(*values) for name, values in criteria.items()},
        "condition": condition,
    }


def short_reason(explanation: Mapping[str, Any], width: int = 60) -> str:
    """One line for tables: distance or remote, skills found/total, and the best sentence of the match."""
    parts = []
    if explanation.get("remote"):
        parts.append("remote")
    elif explanation.get("distance_km") is not None:
        parts.append(f"{explanation['distance_km']:g} km")
    skills = explanation.get("skills") or {}
    total = len(skills.get("found", [])) + len(skills.get("missing", []))
    if total:
        parts.append(f"skills {len(skills['found'])}/{total}")
    if explanation.get("condition"):
        parts.append("condition")
    key = explanation.get("key_sentence") or (explanation.get("evidence") or [None])[0]
    if key:
        sentence = str(key["match"])
        parts.append("»" + (sentence if len(sentence) <= width else sentence[: width - 1] + "…") + "«")
    return " · ".join(parts)
