"""The structured fields of all indexed records as aligned numpy arrays (one row per record), for vectorised
filtering by the match criteria; built from the parsed `Profile`s of `semmatch.records.fields`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import TypeVar, overload

import numpy as np

from semmatch.records.fields import Profile


def _days(value: dt.date | None, missing: float) -> float:
    return float(value.toordinal()) if value is not None else missing


@dataclass
class FieldTable:
    """The structured fields of all indexed records as aligned numpy arrays, for vectorised filtering."""

    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    radius_km: np.ndarray  # inf when unknown
    remote_ok: np.ndarray
    date_from: np.ndarray  # ordinal days, -inf when open
    date_until: np.ndarray  # +inf when open
    weekday_mask: np.ndarray  # 7-bit mask, 0 when unknown
    language_sets: list[frozenset[str]]
    skills: list[tuple[str, ...]]
    offer_type_sets: list[frozenset[str]]
    capacity: np.ndarray  # inf when unknown
    hours_per_week: list[float | None]
    active: np.ndarray
    conditions: list[str | None]

    @classmethod
    def from_profiles(cls, ids: list[str], profiles: list[Profile]) -> FieldTable:
        nan = float("nan")
        return cls(
            ids=np.asarray(ids, dtype=object),
            lat=np.asarray([p.lat if p.lat is not None else nan for p in profiles], dtype=np.float64),
            lon=np.asarray([p.lon if p.lon is not None else nan for p in profiles], dtype=np.float64),
            radius_km=np.asarray([p.radius_km if p.radius_km is not None else np.inf for p in profiles],
                                 dtype=np.float64),
            remote_ok=np.asarray([bool(p.remote_ok) for p in profiles], dtype=bool),
            date_from=np.asarray([_days(p.date_from, -np.inf) for p in profiles], dtype=np.float64),
            date_until=np.asarray([_days(p.date_until, np.inf) for p in profiles], dtype=np.float64),
            weekday_mask=np.asarray([sum(1 << d for d in p.weekdays) for p in profiles], dtype=np.int64),
            language_sets=[frozenset(p.languages) for p in profiles],
            skills=[p.skills for p in profiles],
            offer_type_sets=[frozenset(p.offer_types) for p in profiles],
            capacity=np.asarray([p.capacity if p.capacity is not None else np.inf for p in profiles],
                                dtype=np.float64),
            hours_per_week=[p.hours_per_week for p in profiles],
            active=np.asarray([p.active for p in profiles], dtype=bool),
            conditions=[p.condition for p in profiles],
        )

    def __len__(self) -> int:
        return len(self.ids)

    def set_codes(self, name: str) -> tuple[np.ndarray, list[frozenset[str]]]:
        """A set-valued column (language_sets, offer_type_sets) as one code per row plus the distinct sets, so a
        per-query test runs once per distinct set and is gathered with numpy. Cached until rows change."""
        cache = self.__dict__.setdefault("_set_codes", {})
        if name not in cache:
            distinct: dict[frozenset[str], int] = {}
            column = getattr(self, name)
            codes = np.fromiter((distinct.setdefault(v, len(distinct)) for v in column), np.int64, len(column))
            cache[name] = (codes, list(distinct))
        return cache[name]

    def point_codes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates as one code per row plus the distinct points (lat, lon; NaN where unknown), so distances
        are computed once per distinct place (records sit mostly on PLZ centroids) and gathered. Cached until rows
        change."""
        cache = self.__dict__.setdefault("_set_codes", {})
        if "_points" not in cache:
            known = ~(np.isnan(self.lat) | np.isnan(self.lon))
            pairs = np.column_stack([np.where(known, self.lat, 1e9), np.where(known, self.lon, 1e9)])
            distinct, codes = np.unique(pairs, axis=0, return_inverse=True)
            unknown = distinct[:, 0] == 1e9
            cache["_points"] = (codes.reshape(-1).astype(np.int64), np.where(unknown, np.nan, distinct[:, 0]),
                                np.where(unknown, np.nan, distinct[:, 1]))
        return cache["_points"]

    def take(self, rows: np.ndarray) -> FieldTable:
        """The table restricted to some rows, in the order given."""
        rows = np.asarray(rows, dtype=np.int64)
        return FieldTable(**{f.name: _take(getattr(self, f.name), rows) for f in fields(self)})

    def set_rows(self, positions: np.ndarray, other: FieldTable) -> None:
        """Overwrite rows in place with the rows of another table (same order), in O(rows changed)."""
        self.__dict__.pop("_set_codes", None)
        for f in fields(self):
            column, values = getattr(self, f.name), getattr(other, f.name)
            for position, value in zip(np.asarray(positions).tolist(), values):
                column[position] = value

    def extend(self, other: FieldTable) -> FieldTable:
        """This table followed by another one's rows."""
        return FieldTable(**{f.name: _concat(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)})


Item = TypeVar("Item")


@overload
def _take(column: np.ndarray, rows: np.ndarray) -> np.ndarray: ...
@overload
def _take(column: list[Item], rows: np.ndarray) -> list[Item]: ...
def _take(column: np.ndarray | list[Item], rows: np.ndarray) -> np.ndarray | list[Item]:
    return column[rows] if isinstance(column, np.ndarray) else [column[i] for i in rows.tolist()]


@overload
def _concat(column: np.ndarray, more: np.ndarray) -> np.ndarray: ...
@overload
def _concat(column: list[Item], more: list[Item]) -> list[Item]: ...
def _concat(column: np.ndarray | list[Item], more: np.ndarray | list[Item]) -> np.ndarray | list[Item]:
    return np.concatenate([column, more]) if isinstance(column, np.ndarray) else [*column, *more]
