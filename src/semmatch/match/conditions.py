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

import polars as pl

from semmatch.errors import ConfigError
from semmatch.match.criteria import Criteria
from semmatch.match.explain import sentence_evidence
from semmatch.records.pii import mask_text
from semmatch.records.text import split_sentences

if TYPE_CHECKING:
    from semmatch.match.protocols import MatcherLike

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


def condition_partners(matcher: MatcherLike, k: int = 3, min_similarity: float = 0.85) -> pl.DataFrame:
    """For every offer with a partner condition, the offers that meet it (best first), under its criteria."""
    if matcher.kind != "offers":
        raise ConfigError(f"condition partners need an offer index, not a {matcher.kind} index")
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
        texts = [matcher.text_of(partner_id) for partner_id in ranked.ids]
        evidence = sentence_evidence(clause, texts, matcher._embedder())
        found = []
        for partner_id, pairs in zip(ranked.ids, evidence):
            best = pairs[0]
            if best.similarity >= min_similarity:
                found.append(ConditionMatch(str(offer_id), condition, partner_id, best.match, best.similarity))
        rows += sorted(found, key=lambda m: -m.similarity)[:k]
    return pl.DataFrame([m.__dict__ for m in rows], schema={
        "offer_id": pl.String, "condition": pl.String, "partner_id": pl.String, "partner_sentence": pl.String,
        "similarity": pl.Float64})


def _profile_at(matcher: MatcherLike, position: int):
    from semmatch.records.fields import record_profiles

    return record_profiles(matcher.records_.slice(position, 1), matcher.kind)[0]
