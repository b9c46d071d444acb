"""Personal data inside free text: find and mask e-mail addresses, phone numbers, IBANs and street addresses.

Descriptions of offers and needs often carry contact data ("Tel. 0171 1234567", "anna@web.de"). semmatch masks them
with readable placeholders ([E-Mail], [Telefon], [IBAN], [Adresse]) before a text is embedded, so that no vector,
index folder, explanation or MLflow run holds them. The store keeps the original text only in its contacts table.

- e-mail: a pattern, also with a full-width "＠", "(at)"/"[at]" and "(dot)"/"[punkt]" spellings, and spelled out
  with spaces ("anna at web dot de", "anna punkt schmidt bei web punkt de") when it ends in a known top-level domain;
- phone: `phonenumbers.PhoneNumberMatcher` with region DE and leniency VALID (national and international numbers),
  without dates; next to a cue word (Tel., Telefon, Handy, Mobil, Fax, WhatsApp, phone, call ... before it, or
  "anrufen", "erreichbar" ... just after it) also numbers that are only possible, not known valid;
- IBAN: a pattern (grouped by spaces or hyphens, upper or lower case) whose ISO 7064 checksum `stdnum.iban`
  confirms (after the word IBAN also a typo'd one);
- address: a street name with a usual ending (-straße, -str., -weg, -allee, -platz, ...) or a usual opening (Am, An
  der, Im, ...) followed by a house number that is not an amount ("3 Stunden", "2 Leute"), plus the PLZ and town
  when they follow; "Musterstr 12" without the dot; a street name in lower case only with the unambiguous endings
  (-straße, -strasse, -str., -allee, -gasse, -weg); English "12 Baker Street". A PLZ or a town alone is not masked.

Which columns are free text (`free_text_columns`): every string column (and list-of-string column) except the id,
contact columns and the structured fields that are parsed into codes, numbers or dates (PLZ, dates, languages,
weekdays, offer types, ...). A field that holds what people write (condition, skills, status) and any extra column
(notes, organisation) is masked like the description. `quote_value` is how error messages show a cell value.

`evaluation/pii_masking.py` measures precision and recall per type on a hand-written set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban as stdnum_iban

KINDS = ("email", "phone", "iban", "address")
PLACEHOLDERS = {"email": "[E-Mail]", "phone": "[Telefon]", "iban": "[IBAN]", "address": "[Adresse]"}
LABELS = {"email": "e-mail", "phone": "phone", "iban": "IBAN", "address": "address"}

_AT = r"(?:[@＠﹫]|\s?[\(\[\{]\s?(?:at|ät)\s?[\)\]\}]\s?)"
_DOT = r"(?:[.．]|\s?[\(\[\{]\s?(?:dot|punkt)\s?[\)\]\}]\s?)"
EMAIL = re.compile(rf"(?<![\w.%+-])[\w][\w.%+-]*{_AT}(?:[\w-]+{_DOT})+[A-Za-z]{{2,24}}\b", re.IGNORECASE)
# Spelled out with spaces: "anna at web dot de", "anna punkt schmidt bei web punkt de". Only word at/bei word
# dot/punkt TLD with a known TLD, so that "Hilfe bei Umzug" or "at home" are not taken for an address.
_TLDS = (r"(?:de|com|org|net|eu|info|at|ch|nl|be|fr|it|es|pl|uk|io|biz|online|email|me|berlin|koeln|cologne|"
         r"hamburg|nrw|ruhr|bayern|saarland|gmbh|ev)")
SPELLED_EMAIL = re.compile(rf"(?<![\w.@-])\w[\w.+-]*(?: (?:dot|punkt) \w[\w-]*)* (?:at|ät|bei) \w[\w-]*"
                           rf"(?: (?:dot|punkt) \w[\w-]*)*? (?:dot|punkt) {_TLDS}(?![\w@])", re.IGNORECASE)

IBAN_CANDIDATE = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}\b")
_IBAN_SEPARATORS = " -"

IBAN_CUE = re.compile(r"\biban\b\W{0,4}$", re.IGNORECASE)

_CUE_WORDS = (r"\b(?:tel|telefon\w*|fon|phone|handy|mobil\w*|fax|whats ?app|signal|telegram|ruf\w*|anruf\w*|call|"
              r"text|sms|nummer|number|erreichbar\w*)\b")
PHONE_CUE = re.compile(rf"{_CUE_WORDS}\W{{0,12}}(?:\w+\W{{1,3}}){{0,2}}$", re.IGNORECASE)  # just before a number
PHONE_CUE_AFTER = re.compile(rf"^\W{{0,12}}(?:\w+\W{{1,3}}){{0,2}}{_CUE_WORDS}", re.IGNORECASE)  # "0151 ... anrufen"
PHONE_CUE_WORD = re.compile(_CUE_WORDS, re.IGNORECASE)
PHONE_HINT = re.compile(r"\d(?:[\s()./-]{0,3}\d){5}")  # 6 digits close together
DATE = re.compile(r"^\d{1,2}\.\s?\d{1,2}\.(?:\s?\d{2}|\s?\d{4})?$|^\d{4}-\d{2}-\d{2}$|^\d{1,2}/\d{1,2}/\d{2,4}$")
TIME = re.compile(r"^\d{1,2}[:.]\d{2}(?:\s?-\s?\d{1,2}[:.]\d{2})?$")

_UPPER = "A-ZÄÖÜ"
_WORD = r"[\wäöüß]"
_STREET_END = (r"(?:stra(?:ß|ss)e|str\.|str(?= ?\d)|weg|allee|platz|gasse|ring|damm|ufer|chaussee|pfad|steig|"
               r"stieg|wall|graben|markt|promenade|kai)")
_NUMBER = r"\d{1,4}(?: ?[a-hA-H](?![\wäöüß]))?(?: ?[-/] ?\d{1,4}[a-h]?)?"
_NOT_AMOUNT = (r"(?!\d|[,.]\d|\s?-?\s?(?i:stunden|std|uhr|h\b|leute|personen|menschen|kinder|km\b|m\b|qm|min|"
               r"minuten|€|eur|euro|%|x\b|mal\b|tage|wochen|monate|jahre|hours|people|persons|minutes|miles|days|"
               r"weeks|years|stück|teilnehm|plätze|helfer|termine))")
_PLZ_TOWN = rf"(?:,? \d{{5}} [{_UPPER}]{_WORD}+(?:[- ](?:am|an der|im|in|ob der|[{_UPPER}]){_WORD}*)?(?: \([\w ]+\))?)?"
STREET_SUFFIX = re.compile(
    rf"(?<![\wäöüß-])(?:[{_UPPER}]{_WORD}*(?:-[{_UPPER}]?{_WORD}+)*-?(?i:{_STREET_END})|"
    rf"[{_UPPER}]{_WORD}+(?:er|sche|sches) (?i:stra(?:ß|ss)e|str\.|weg|allee|platz|ring|damm)|"
    rf"(?:Alte|Neue|Lange|Kurze|Hohe|Breite|Obere|Untere|Große|Kleine) (?:[{_UPPER}]{_WORD}+|Stra(?:ß|ss)e)|"
    rf"Straße des [{_UPPER}]{_WORD}+) ?{_NUMBER}{_NOT_AMOUNT}{_PLZ_TOWN}")
_NOT_PLACE = (r"(?!(?:Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag|Wochenende|Abend|Morgen|Mittag|"
              r"Vormittag|Nachmittag|Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|"
              r"Dezember|Jahr|Monat|Tag|Alter|Schnitt|Moment|Durchschnitt|Team|Raum|Haus|Stock|Gebäude|Kurs|Gruppe|"
              r"Projekt|Verein|Bus|Zug|Takt|Umkreis|Rahmen|Zeitraum|Sommer|Winter|Herbst|Frühling)\b)")
STREET_PREFIX = re.compile(
    rf"\b(?:Am|An der|An den|Auf der|Auf dem|Auf den|Im|In der|In den|Zum|Zur|Unter den|Hinter der|Hinter dem|"
    rf"Vor dem|Bei der|Beim) {_NOT_PLACE}[{_UPPER}]{_WORD}+(?:-{_WORD}+)* {_NUMBER}{_NOT_AMOUNT}{_PLZ_TOWN}")
# lower case (a form typed quickly): only the endings that are never anything but a street
STREET_LOWER = re.compile(rf"(?<![\wäöüß-])[a-zäöüß][a-zäöüß-]{{2,}}"
                          rf"(?:stra(?:ß|ss)e|str\.|str(?= ?\d)|allee|gasse|weg) ?{_NUMBER}{_NOT_AMOUNT}{_PLZ_TOWN}")
STREET_EN = re.compile(r"\b\d{1,4}[A-Za-z]? (?:[A-Z][a-z]+ ){1,3}(?:Street|St\.|Road|Rd\.|Avenue|Ave\.|Lane|Drive|"
                       r"Close|Square|Crescent|Terrace|Way|Place|Gardens)(?![\w])")


@dataclass(frozen=True)
class Finding:
    """One piece of personal data in a text: its character span [start, end), kind and the text found."""

    start: int
    end: int
    kind: str
    value: str


def _emails(text: str) -> list[Finding]:
    found = [Finding(m.start(), m.end(), "email", m.group()) for m in EMAIL.finditer(text)] \
        if _EMAIL_HINT.search(text) else []
    if " " in text and _SPELLED_HINT.search(text):
        found += [Finding(m.start(), m.end(), "email", m.group()) for m in SPELLED_EMAIL.finditer(text)]
    return found


# Cheap tests that a text can hold a kind at all (each pattern needs what its test looks for): most texts have none
_EMAIL_HINT = re.compile(r"[@＠﹫]|[\(\[\{]\s?(?:at|ät)\s?[\)\]\}]", re.IGNORECASE)
_SPELLED_HINT = re.compile(r" (?:dot|punkt) ", re.IGNORECASE)
_DIGIT = re.compile(r"\d")


def _ibans(text: str) -> list[Finding]:
    found = []
    for match in IBAN_CANDIDATE.finditer(text):
        raw = match.group()
        ends = [i + 1 for i, c in enumerate(raw) if c not in _IBAN_SEPARATORS]  # the longest valid prefix
        last_digit = max(i + 1 for i, c in enumerate(raw) if c.isdigit())  # a typo'd one ends before a word
        cue = IBAN_CUE.search(text[max(0, match.start() - 12):match.start()]) is not None
        for end in reversed(ends):
            if end < 15:
                break
            candidate = raw[:end]
            compact = candidate.replace(" ", "").replace("-", "").upper()
            if stdnum_iban.is_valid(compact) or (cue and end == last_digit and len(compact) >= 15):
                found.append(Finding(match.start(), match.start() + end, "iban", candidate))
                break
    return found


def _is_number_not_phone(raw: str) -> bool:
    return bool(DATE.match(raw) or TIME.match(raw))


def _phones(text: str) -> list[Finding]:
    if not PHONE_HINT.search(text):  # phonenumbers is the slow part: only where 6 digits stand close together
        return []
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, "DE", leniency=phonenumbers.Leniency.VALID):
        if not _is_number_not_phone(match.raw_string):
            found.append(Finding(match.start, match.end, "phone", match.raw_string))
    if not PHONE_CUE_WORD.search(text):
        return found
    for match in phonenumbers.PhoneNumberMatcher(text, "DE", leniency=phonenumbers.Leniency.POSSIBLE):
        digits = sum(c.isdigit() for c in match.raw_string)
        if digits >= 6 and not _is_number_not_phone(match.raw_string) \
                and (PHONE_CUE.search(text[max(0, match.start - 40):match.start])
                     or PHONE_CUE_AFTER.search(text[match.end:match.end + 40])):
            found.append(Finding(match.start, match.end, "phone", match.raw_string))
    return found


def _addresses(text: str) -> list[Finding]:
    return [Finding(m.start(), m.end(), "address", m.group().rstrip(" ,"))
            for pattern in (STREET_SUFFIX, STREET_PREFIX, STREET_LOWER, STREET_EN) for m in pattern.finditer(text)]


def find_personal_data(text: str) -> list[Finding]:
    """Non-overlapping findings in text order. Where two overlap, the earlier kind in e-mail, IBAN, phone, address
    wins (an IBAN's digits are not also a phone number), then the longer one."""
    if not text:
        return []
    candidates = _emails(text) if _EMAIL_HINT.search(text) or " " in text and _SPELLED_HINT.search(text) else []
    if _DIGIT.search(text):  # IBANs, phone numbers and house numbers all have digits
        candidates += [*_ibans(text), *_phones(text), *_addresses(text)]
    priority = {"email": 0, "iban": 1, "phone": 2, "address": 3}
    chosen: list[Finding] = []
    for finding in sorted(candidates, key=lambda f: (priority[f.kind], f.start - f.end)):
        if all(finding.end <= c.start or finding.start >= c.end for c in chosen):
            chosen.append(finding)
    return sorted(chosen, key=lambda f: f.start)


def mask_findings(text: str, findings: Iterable[Finding]) -> str:
    """The text with each finding replaced by its placeholder."""
    parts, at = [], 0
    for finding in sorted(findings, key=lambda f: f.start):
        parts += [text[at:finding.start], PLACEHOLDERS[finding.kind]]
        at = finding.end
    return "".join(parts) + text[at:]


def mask_text(text: str) -> str:
    """The text with e-mail addresses, phone numbers, IBANs and street addresses replaced by placeholders."""
    findings = find_personal_data(text)
    return mask_findings(text, findings) if findings else text


@dataclass
class MaskingReport:
    """What masking found while it was active (see `masking_report`): counts per kind, records touched, and the
    original values of the masked cells by row (0-based, in the order of the frame) and column."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    records: int = 0
    originals: dict[int, dict[str, str]] = field(default_factory=dict)

    def summary(self) -> str:
        """E.g. 'masked: 3 e-mail, 2 phone, 0 IBAN, 1 address in 4 records'."""
        return masked_summary(self.as_counts())

    def as_counts(self) -> dict[str, int]:
        """Flat counts for an import's result: masked_email, masked_phone, masked_iban, masked_address,
        masked_records."""
        return {**{f"masked_{k}": self.counts[k] for k in KINDS}, "masked_records": self.records}


def masked_summary(counts: Mapping[str, int]) -> str:
    """The line the CLI prints from an import's counts (`MaskingReport.as_counts`)."""
    found = ", ".join(f"{counts.get(f'masked_{k}', 0)} {LABELS[k]}" for k in KINDS)
    records = counts.get("masked_records", 0)
    return f"masked: {found} in {records} record{'' if records == 1 else 's'}"


_ACTIVE: ContextVar[MaskingReport | None] = ContextVar("semmatch_masking_report", default=None)


@contextmanager
def masking_report() -> Iterator[MaskingReport]:
    """Collect what `mask_frame` masks inside the block (e.g. around `Matcher.fit` or an import)."""
    report = MaskingReport()
    token = _ACTIVE.set(report)
    try:
        yield report
    finally:
        _ACTIVE.reset(token)


QUOTE_LIMIT = 40
_AT_SIGN = re.compile(r"[@＠﹫]")
_RESIDUE = re.compile(r"[@＠﹫]|\d(?:\D{0,2}\d){6}")  # an at sign, or 7 digits close together


def quote_value(value: object, *, numbers: bool = False) -> str:
    """How an error message shows a cell value, so that personal data in the wrong column ("plz" holding an e-mail
    address) never reaches the CLI, the app or a log: the value quoted (repr) with personal data masked ('[E-Mail]');
    "a value of N characters" when it is long (over `QUOTE_LIMIT`) or would still show data after masking (an at
    sign; 7 or more digits, such as a phone number whose leading zero a spreadsheet dropped).
    numbers: quote long numbers all the same (ids, which the coordinator needs to find the row)."""
    text = value if isinstance(value, str) else str(value)
    findings = find_personal_data(text)
    shown = mask_findings(text, findings) if findings else text
    if len(text) > QUOTE_LIMIT or (_AT_SIGN if numbers else _RESIDUE).search(shown):
        return f"a value of {len(text)} characters"
    return repr(shown) if isinstance(value, str) or findings else repr(value)
