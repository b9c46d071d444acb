"""Must-have skills: found in an offer's skills or its text, coverage of a need's skills."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache


# ------------------------------------------------------------------ skills
def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(a, b)
    return re.sub(r"\s+", " ", re.sub(r"[-_/.,;:()\"'!?]+", " ", text)).strip()


@lru_cache(maxsize=65536)
def _folded(text: str) -> tuple[str, str]:
    folded = _fold(text)
    return f" {folded} ", folded.replace(" ", "")


def skill_found(skill: str, offer_skills: Iterable[str], offer_text: str) -> bool:
    """A must-have skill is found when it equals one of the offer's skills or occurs in its text as whole words
    (case, umlauts, hyphens and spaces do not matter: "Online-Banking" finds "Onlinebanking")."""
    wanted_spaced, wanted_joined = _folded(skill)
    if not wanted_joined:
        return True
    for candidate in offer_skills:
        if _folded(candidate)[1] == wanted_joined:
            return True
    text_spaced, text_joined = _folded(offer_text)
    if wanted_spaced in text_spaced:
        return True
    return len(wanted_joined) >= 6 and wanted_joined in text_joined


def split_skills(need_skills: Iterable[str], offer_skills: Iterable[str],
                 offer_text: str) -> tuple[list[str], list[str]]:
    """(found, missing) must-have skills of a need in an offer."""
    offer_skills = list(offer_skills)
    found: list[str] = []
    missing: list[str] = []
    for skill in need_skills:
        (found if skill_found(skill, offer_skills, offer_text) else missing).append(skill)
    return found, missing


def skill_coverage(need_skills: tuple[str, ...], offer_skills: Iterable[str], offer_text: str) -> float:
    """Share of the need's must-have skills the offer covers; 1.0 when the need names none."""
    if not need_skills:
        return 1.0
    found, _ = split_skills(need_skills, offer_skills, offer_text)
    return len(found) / len(need_skills)
