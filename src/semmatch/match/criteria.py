"""Hard criteria as id selections: radius, time, language, offer type, capacity, must-have skills, status.

Each criterion is "must" (records that fail it are never returned) or "ignore". The selection is computed over all
indexed records before the vector search and handed to FAISS as an id selector, so a qualifying record is found however
many better-scoring records fail the criteria. A value that is unknown on either side never excludes a record; the
explanation says it is unknown. The rules are symmetric, so the same criteria serve need -> offers and offer -> needs.

Rules (q = the query record, r = an indexed record):
- radius: on site, the great-circle distance is at most the smaller of q's and r's radius (a need's Umkreis and an
  offer's travel radius); passes regardless of distance when both sides are remote-capable.
- time: the date windows overlap, and if both sides name weekdays, they share one.
- language: if both sides name languages, they share one.
- offer_type: the offer's type is among the types the need wants (a need's help_type maps to offer types).
- capacity: an offer with a capacity has fewer active matches (`load`) than its capacity.
- skills: every must-have skill of the need is found in the offer's skills or text (default "ignore": skills are
  scored, not filtered).
- status: closed, archived or matched records are left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from semmatch.config import CRITERIA, check_criteria_names
from semmatch.errors import ConfigError
from semmatch.match.skills import skill_coverage
from semmatch.records.field_table import FieldTable
from semmatch.records.fields import FieldError, Profile, parse_profile
from semmatch.records.geo import distances_km, lookup_town
from semmatch.records.pii import quote_value

MODES = ("must", "ignore")
DEFAULT_MODES = {"radius": "must", "time": "must", "language": "must", "offer_type": "must", "capacity": "must",
                 "skills": "ignore", "status": "must"}


@dataclass(frozen=True)
class Criteria:
    """The query side of a match: its structured fields plus, per criterion, "must" or "ignore"."""

    profile: Profile = field(default_factory=Profile)
    modes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name, mode in self.modes:
            check_criteria_names([name])
            if mode not in MODES:
                raise ConfigError(f"criterion {name}: mode must be one of {', '.join(MODES)}, not {mode!r}")

    def mode(self, name: str) -> str:
        return dict(self.modes).get(name, DEFAULT_MODES[name])

    def with_modes(self, ignore: Iterable[str] = (), require: Iterable[str] = ()) -> Criteria:
        modes = dict(self.modes)
        modes.update({n: "ignore" for n in check_criteria_names(ignore)})
        modes.update({n: "must" for n in check_criteria_names(require)})
        return Criteria(self.profile, tuple(sorted(modes.items())))

    @classmethod
    def from_values(cls, values: Mapping[str, Any] | None = None, *, kind: str = "needs", town: str | None = None,
                    ignore: Iterable[str] = (), require: Iterable[str] = ()) -> Criteria:
        """Criteria from canonical field values (plz, radius_km, date_from, languages, skills, offer_types, ...).

        `town` is looked up when neither plz nor lat/lon is given. Bad values raise ConfigError naming the field.
        """
        values = {k: v for k, v in (values or {}).items()  # "" and () are "not given"; numpy scalars compare fine
                  if v is not None and not (isinstance(v, (str, tuple)) and not v)}
        for name, value in values.items():  # a NaN would read as "not given" and silently drop the criterion
            if isinstance(value, (float, np.floating)) and not math.isfinite(value):
                raise ConfigError(f"criterion field {name}: {value!r} is not a finite number")
        if town and "plz" not in values and "lat" not in values:
            found = lookup_town(town)
            if found is None:
                raise ConfigError(f"town {quote_value(town)} not found; give a PLZ instead")
            values["lat"], values["lon"] = found
        try:
            profile = parse_profile(values, kind)
        except FieldError as exc:
            raise ConfigError(f"criterion field {exc.field}: {exc}") from None
        return cls(profile).with_modes(ignore, require)


# ----------------------------------------------------------------- selection
@dataclass
class CriteriaCheck:
    """Per indexed record: which criteria pass, and the figures the explanation shows."""

    passes: dict[str, np.ndarray]
    allowed: np.ndarray
    distance_km: np.ndarray
    both_remote: np.ndarray
    overlap_from: np.ndarray
    overlap_until: np.ndarray

    def take(self, rows: np.ndarray) -> CriteriaCheck:
        """The checks of some records only (e.g. a ranking's candidates, in ranking order)."""
        return CriteriaCheck({n: p[rows] for n, p in self.passes.items()}, self.allowed[rows],
                             self.distance_km[rows], self.both_remote[rows], self.overlap_from[rows],
                             self.overlap_until[rows])


def check(criteria: Criteria, table: FieldTable, *, query_kind: str, texts: list[str], query_text: str = "",
          load: Mapping[str, int] | None = None) -> CriteriaCheck:
    """Evaluate every criterion against every indexed record; `allowed` is the AND of the "must" criteria.

    texts: the indexed records' texts (skills are also looked for there); query_text: the query's own text.
    load: active matches per offer id, for capacity.
    """
    q = criteria.profile
    n = len(table)
    passes: dict[str, np.ndarray] = {}
    passes["status"] = table.active.copy()

    both_remote = table.remote_ok & bool(q.remote_ok)
    if q.lat is not None and q.lon is not None:  # q.has_location
        codes, point_lat, point_lon = table.point_codes()
        distance = distances_km(q.lat, q.lon, point_lat, point_lon)[codes]  # once per distinct place
        limit = np.minimum(table.radius_km, q.radius_km if q.radius_km is not None else np.inf)
        with np.errstate(invalid="ignore"):
            passes["radius"] = np.isnan(distance) | (distance <= limit) | both_remote
    else:
        distance = np.full(n, np.nan)
        passes["radius"] = np.ones(n, dtype=bool)

    q_from = float(q.date_from.toordinal()) if q.date_from else -np.inf
    q_until = float(q.date_until.toordinal()) if q.date_until else np.inf
    overlap_from = np.maximum(table.date_from, q_from)
    overlap_until = np.minimum(table.date_until, q_until)
    time_ok = overlap_from <= overlap_until
    q_mask = sum(1 << d for d in q.weekdays)
    if q_mask:
        time_ok &= (table.weekday_mask == 0) | ((table.weekday_mask & q_mask) != 0)
    passes["time"] = time_ok

    for name, column, wanted in (("language", "language_sets", set(q.languages)),
                                 ("offer_type", "offer_type_sets", set(q.offer_types))):
        if wanted:  # a record passes when it shares one value, or names none
            codes, distinct = table.set_codes(column)
            ok = np.fromiter((not s or bool(s & wanted) for s in distinct), bool, len(distinct))
            passes[name] = ok[codes]
        else:
            passes[name] = np.ones(n, dtype=bool)

    if query_kind == "needs":  # the index holds offers: their capacity counts
        used = np.asarray([float((load or {}).get(i, 0)) for i in table.ids]) if load else np.zeros(n)
        passes["capacity"] = table.capacity - used > 0
    else:
        passes["capacity"] = np.ones(n, dtype=bool)

    if criteria.mode("skills") == "must":
        if query_kind == "needs":
            passes["skills"] = np.fromiter(
                (skill_coverage(q.skills, s, t) == 1.0 for s, t in zip(table.skills, texts)), bool, n)
        else:
            passes["skills"] = np.fromiter(
                (skill_coverage(s, q.skills, query_text) == 1.0 for s in table.skills), bool, n)
    else:
        passes["skills"] = np.ones(n, dtype=bool)

    allowed = np.ones(n, dtype=bool)
    for name in CRITERIA:
        if criteria.mode(name) == "must":
            allowed &= passes[name]
    return CriteriaCheck(passes, allowed, distance, both_remote, overlap_from, overlap_until)
