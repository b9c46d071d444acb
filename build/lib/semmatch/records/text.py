"""Plain-text helpers shared by every layer: sentence splitting (German and English)."""

from __future__ import annotations

import re

ABBREVIATIONS = ("z.B.", "z. B.", "u.a.", "u. a.", "d.h.", "d. h.", "bzw.", "ca.", "evtl.", "ggf.", "inkl.", "usw.",
                 "etc.", "Dr.", "Nr.", "Str.", "e.V.", "e. V.", "vgl.", "z.T.", "i.d.R.", "e.g.", "i.e.", "Mio.")
_PLACEHOLDER = "\x1f"
_SPLIT = re.compile(r"(?<=[.!?…])\s+(?=[\"'„(]?[A-ZÄÖÜ0-9])|\n+")
MAX_SENTENCES = 12


def split_sentences(text: str) -> list[str]:
    """Split German or English text into sentences (abbreviations such as "z. B." and "e.V." are kept whole)."""
    protected = text
    for abbreviation in ABBREVIATIONS:
        protected = protected.replace(abbreviation, abbreviation.replace(".", _PLACEHOLDER))
    parts = [p.replace(_PLACEHOLDER, ".").strip() for p in _SPLIT.split(protected)]
    sentences = [p for p in parts if len(re.sub(r"\W", "", p)) >= 2]
    if len(sentences) > MAX_SENTENCES:  # keep explanations bounded for very long texts
        sentences = sentences[: MAX_SENTENCES - 1] + [" ".join(sentences[MAX_SENTENCES - 1:])]
    return sentences or [text.strip()]
