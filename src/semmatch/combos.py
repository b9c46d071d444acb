"""Conditional offers ("Ich baue die Website, wenn jemand die Texte schreibt") and offers that work together.

- `detect_condition` finds a condition stated plainly in free text (German or English).
- A condition that asks for *someone* ("wenn jemand ...", "if someone ...") is a partner condition: another offer
  can meet it. `condition_partners` finds offers whose text meets it (sentence similarity), under the conditional
  offer's own criteria (place, time, language).
- `complementary_pairs` finds two offers that together cover a need better than either alone: each need sentence
  counts with the better of the two offers, and their must-have skills are pooled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from semmatch.criteria import Criteria, split_skills
from semmatch.explain import sentence_evidence, split_sentences
from semmatch.pii import mask_text

if TYPE_CHECKING:
    from semmatch.matcher import Matcher

CONDITION_PATTERNS = [
    r"\bnur(?:,)? (?:wenn|falls|sofern)\b",
    r"^(?:Ich|Wir) \w+ nur\b",
    r", (?:wenn|sofern|falls) (?:mir |uns )?(?:jemand|sich jemand|es jemanden|jemanden|ein(?:e[rn]?)? andere)",
    r"\b(?:sofern|vorausgesetzt)\b,?(?:\s+[\w-]+){3,}",  # a clause, not "sofern vorhanden"
    r"\bunter der (?:Bedingung|Voraussetzung)\b", r"\bVoraussetzung(?: ist)?:",
    r"^(?:Ich|Wir) [^.!?]*?(?:bin dabei|sind dabei|mache[n]? (?:das|mit|es)|übernehme[n]?|helfe[n]?|baue[n]?|"
    r"gestalte[n]?|gebe[n]?|unterstütze[n]?|spende[n]?|stelle[n]?)[^.!?]*?, wenn\b",
    r"\bonly if\b", r"\bif (?:someone|somebody|anyone)\b", r"\bprovided (?:that )?(?:someone|somebody|we|you|the)\b",
    r"\bon (?:the )?condition that\b", r"\bas long as (?:someone|somebody|you|the)\b",
]
PARTNER_PATTERN = re.compile(
    r"\b(?:jemand|jemanden|ein(?:e[rn]?)? andere[rn]?|someone|somebody|anyone|another)\b", re.IGNORECASE)
CLAUSE_PATTERN = re.compile(
    r"(?:\b(?:wenn|falls|sofern|vorausgesetzt|if|provided(?: that)?|as long as)\b|\bVoraussetzung(?: ist)?:)"
    r",?\s*(.+?)[.!?]*$", re.IGNORECASE)
_COMPILED = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in CONDITION_PATTERNS]


@lru_cache(maxsize=65536)  # candidates recur across queries; a pure function of the text
def detect_condition(text: str) -> str | None:
    """The first sentence that states a condition, or None."""
    for sentence in split_sentences(text):
        if any(p.search(sentence) for p in _COMPILED):
            return sentence
    return None


def condition_clause(condition: str) -> str:
    """What the condition asks for: the clause after wenn/sofern/if ("jemand die Texte schreibt")."""
    found = CLAUSE_PATTERN.search(condition)
    return found.group(1).strip() if found else condition.strip()


def is_partner_condition(condition: str) -> bool:
    """True when another helper could meet the condition ("wenn jemand die Texte schreibt")."""
    return bool(PARTNER_PATTERN.search(condition_clause(condition)))


def offer_condition(stated: str | None, text: str) -> str | None:
    """The condition entered by the user, else the one stated plainly in the text; personal data in it masked
    (records are masked when validated; this also covers index folders written before conditions were)."""
    condition = stated.strip() if stated and stated.strip() else detect_condition(text)
    return _masked(condition) if condition else condition


@lru_cache(maxsize=65536)
def _masked(condition: str) -> str:
    return mask_text(condition)


@dataclass(frozen=True)
class ConditionMatch:
    offer_id: str
    condition: str
    partner_id: str
    partner_sentence: str
    similarity: float


def condition_partners(matcher: Matcher, k: int = 3, min_similarity: float = 0.85) -> pl.DataFrame:
    """For every offer with a partner condition, the offers that meet it (best first), under its criteria."""
    if matcher.kind != "offers":
        raise ValueError("condition partners need an offer index")
    table = matcher.fields_
    rows: list[ConditionMatch] = []
    for position, offer_id in enumerate(table.ids):
        condition = offer_condition(table.conditions[position], matcher.texts_[position])
        if not condition or not is_partner_condition(condition):
            continue
        clause = condition_clause(condition)
        profile = _profile_at(matcher, position)
        # the partner must be reachable and available like the conditional offer; types and capacity do not apply
        criteria = Criteria(profile).with_modes(ignore=("offer_type", "capacity"))
        others = [str(i) for i in table.ids if i != offer_id]
        ranked = matcher.rank(clause, k=max(k * 4, 10), criteria=criteria, allowed_ids=others)[0]
        texts = [matcher.texts_[int(p)] for p in ranked.positions]
        evidence = sentence_evidence(clause, texts, matcher._embedder())
        found = []
        for p, pairs in zip(ranked.positions, evidence):
            best = pairs[0]
            if best.similarity >= min_similarity:
                found.append(ConditionMatch(str(offer_id), condition, str(table.ids[p]), best.match, best.similarity))
        rows += sorted(found, key=lambda m: -m.similarity)[:k]
    return pl.DataFrame([m.__dict__ for m in rows], schema={
        "offer_id": pl.String, "condition": pl.String, "partner_id": pl.String, "partner_sentence": pl.String,
        "similarity": pl.Float64})


def _profile_at(matcher: Matcher, position: int):
    from semmatch.fields import record_profiles

    return record_profiles(matcher.records_.slice(position, 1), matcher.kind)[0]


def complementary_pairs(matcher: Matcher, text: str, criteria: Criteria | None = None, *, pool: int = 15,
                        top: int = 5, min_gain: float = 0.01) -> pl.DataFrame:
    """Pairs of offers that together cover a need better than either alone.

    coverage(offer) = mean over the need's sentences of the best similarity to one of the offer's sentences;
    a pair counts the better offer per sentence. gain = pair coverage - best single coverage. Pairs whose pooled
    skills cover all must-have skills while neither offer alone does are kept whatever their gain.
    A pair where one offer's partner condition is met by the other is marked `condition_met`.
    """
    criteria = criteria or Criteria()
    ranking = matcher.rank(text, k=pool, criteria=criteria)[0]
    positions = [int(p) for p in ranking.positions]
    texts = [matcher.texts_[p] for p in positions]
    evidence = sentence_evidence(text, texts, matcher._embedder())
    sentences = split_sentences(text)
    best = np.zeros((len(positions), len(sentences)))
    for row, pairs in enumerate(evidence):
        by_sentence = {pair.query: pair.similarity for pair in pairs}
        best[row] = [by_sentence[s] for s in sentences]
    need_skills = criteria.profile.skills
    skill_sets = [set(split_skills(need_skills, matcher.fields_.skills[p], matcher.texts_[p])[0]) for p in positions]
    single = best.mean(axis=1)
    rows = []
    for a in range(len(positions)):
        for b in range(a + 1, len(positions)):
            pair_coverage = float(np.maximum(best[a], best[b]).mean())
            gain = pair_coverage - max(single[a], single[b])
            pooled = skill_sets[a] | skill_sets[b]
            completes = bool(need_skills) and len(pooled) == len(need_skills) and max(
                len(skill_sets[a]), len(skill_sets[b])) < len(need_skills)
            if gain < min_gain and not completes:
                continue
            rows.append({
                "offer_a": str(matcher.fields_.ids[positions[a]]), "offer_b": str(matcher.fields_.ids[positions[b]]),
                "coverage": round(pair_coverage, 4), "gain": round(gain, 4), "skills_completed": completes,
                "condition_met": _condition_met(matcher, positions[a], positions[b]),
            })
    frame = pl.DataFrame(rows, schema={"offer_a": pl.String, "offer_b": pl.String, "coverage": pl.Float64,
                                       "gain": pl.Float64, "skills_completed": pl.Boolean,
                                       "condition_met": pl.Boolean})
    return frame.sort(["skills_completed", "coverage"], descending=True).head(top)


def _condition_met(matcher: Matcher, a: int, b: int, min_similarity: float = 0.85) -> bool:
    for first, second in ((a, b), (b, a)):
        condition = offer_condition(matcher.fields_.conditions[first], matcher.texts_[first])
        if condition and is_partner_condition(condition):
            pairs = sentence_evidence(condition_clause(condition), [matcher.texts_[second]], matcher._embedder())[0]
            if pairs and pairs[0].similarity >= min_similarity:
                return True
    return False
