"""Hard criteria inside retrieval: radius, time, language, capacity, offer type, skills, status; both directions."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import polars as pl
import pytest

from semmatch import MatchConfig, Matcher
from semmatch.config import CRITERIA
from semmatch.errors import ConfigError, DataValidationError
from semmatch.match.criteria import Criteria
from semmatch.match.skills import skill_found
from semmatch.records.geo import distance_km, lookup_plz, lookup_town, normalise_plz

AACHEN = "52062"
BERLIN = "10117"
ESCHWEILER = "52249"  # about 13 km from Aachen


def offer(i, text, plz, **fields):
    return {"offer_id": f"O{i:04d}", "title": f"Angebot {i}", "description": text, "plz": plz, **fields}


def reference_km(a, b):
    """Independent haversine, for checking the library-based distance."""
    (lat1, lon1), (lat2, lon2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def fit(rows, fake_embedder, **config):
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return Matcher(MatchConfig(**{"mode": "dense", **config}), embedder=fake_embedder).fit(frame)


@pytest.fixture(params=["dense", "hybrid"])
def berlin_and_aachen(request, fake_embedder):
    strong = "Website mit WordPress: ich baue Website und WordPress Website."
    rows = [offer(i, strong, BERLIN, remote_ok="false", travel_radius_km=50) for i in range(300)]
    rows.append(offer(300, "Ich helfe bei einer Website und beim Logo.", ESCHWEILER, remote_ok="false",
                      travel_radius_km=30))
    return fit(rows, fake_embedder, mode=request.param)


def test_aachen_need_never_gets_berlin_on_site_offer_but_finds_the_local_one(berlin_and_aachen):
    matcher = berlin_and_aachen
    need = "Wir suchen Hilfe für unsere Website mit WordPress."
    unfiltered = matcher.match(need, k=301, criteria=Criteria(modes=tuple((c, "ignore") for c in CRITERIA)),
                               explain=False)
    local_rank = unfiltered.filter(pl.col("id") == "O0300")["rank"].item()
    assert local_rank == 301  # every one of the 300 Berlin offers scores higher

    criteria = Criteria.from_values({"plz": AACHEN, "radius_km": 20, "remote_ok": False})
    result = matcher.match(need, k=10, criteria=criteria)
    assert result["id"].to_list() == ["O0300"]
    assert result["distance_km"].item() == pytest.approx(
        reference_km(lookup_plz(AACHEN), lookup_plz(ESCHWEILER)), abs=0.1)


def test_radius_uses_the_smaller_radius_and_remote_on_both_sides(fake_embedder):
    rows = [
        offer(1, "Website", BERLIN, remote_ok="true"),
        offer(2, "Website", BERLIN, remote_ok="false"),
        offer(3, "Website", ESCHWEILER, remote_ok="false", travel_radius_km=5),  # ~13 km away but travels 5
        offer(4, "Website", ESCHWEILER, remote_ok="false", travel_radius_km=15),
        offer(5, "Website", None, remote_ok="false"),  # place unknown: not excluded, flagged
    ]
    matcher = fit(rows, fake_embedder)
    on_site = Criteria.from_values({"plz": AACHEN, "radius_km": 20, "remote_ok": False})
    assert set(matcher.match("Website", k=10, criteria=on_site, explain=False)["id"]) == {"O0004", "O0005"}
    remote = Criteria.from_values({"plz": AACHEN, "radius_km": 20, "remote_ok": True})
    assert set(matcher.match("Website", k=10, criteria=remote, explain=False)["id"]) == {"O0001", "O0004", "O0005"}
    ignored = on_site.with_modes(ignore=["radius"])
    assert len(matcher.match("Website", k=10, criteria=ignored, explain=False)) == 5
    explained = matcher.match("Website", k=10, criteria=on_site)
    by_id = {r["id"]: json.loads(r["explanation"]) for r in explained.iter_rows(named=True)}
    assert by_id["O0005"]["criteria"]["radius"] == "unknown" and by_id["O0005"]["distance_km"] is None
    assert by_id["O0004"]["criteria"]["radius"] == "pass"


def test_time_language_capacity_type_skills_and_status_filters_hold(fake_embedder):
    rows = [
        offer(1, "Website", AACHEN, available_from="2026-01-01", available_until="2026-03-31"),
        offer(2, "Website", AACHEN, available_from="2026-05-01", available_until="2026-12-31", weekdays="Sa;So"),
        offer(3, "Website", AACHEN, available_from="2026-05-01", weekdays="Mo;Di", languages="de;ar"),
        offer(4, "Website", AACHEN, languages="en", capacity=1),
        offer(5, "Website", AACHEN, capacity=2, offer_type="company_service", skills="WordPress"),
        offer(6, "Website", AACHEN, capacity=1, offer_type="money"),
        offer(7, "Website", AACHEN, status="archived"),
    ]
    matcher = fit(rows, fake_embedder)
    ids = lambda criteria, **kw: set(matcher.match("Website", k=10, criteria=criteria, explain=False, **kw)["id"])  # noqa: E731

    time = Criteria.from_values({"date_from": "2026-06-01", "date_until": "2026-08-31", "weekdays": "Mo"})
    assert ids(time) == {"O0003", "O0004", "O0005", "O0006"}  # O1 ended, O2 only weekends, O7 archived
    language = Criteria.from_values({"languages": "ar"})
    assert ids(language) == {"O0001", "O0002", "O0003", "O0005", "O0006"}  # unknown language is not excluded
    load = {"O0004": 1, "O0005": 1, "O0006": 0}
    assert ids(Criteria(), load=load) == {"O0001", "O0002", "O0003", "O0005", "O0006"}
    money = Criteria.from_values({"offer_types": "money"}, kind="needs")
    assert ids(money) == {"O0001", "O0002", "O0003", "O0004", "O0006"}  # no type given = not excluded
    typed = Criteria.from_values({"offer_types": "skills"}, kind="needs")  # help_type skills: person or company
    assert "O0006" not in ids(typed)
    skills = Criteria.from_values({"skills": "WordPress"}).with_modes(require=["skills"])
    assert ids(skills) == {"O0005"}
    assert "O0007" in ids(Criteria().with_modes(ignore=["status"]))


@pytest.mark.parametrize("seed", [7, 8])
def test_every_returned_match_qualifies_and_no_qualifying_match_is_lost(fake_embedder, seed):
    rng = random.Random(seed)
    towns = [AACHEN, ESCHWEILER, BERLIN, "50667", "80331", "52349", "52062"]
    rows = []
    for i in range(600):
        start = f"2026-{rng.randint(1, 12):02d}-01"
        rows.append(offer(i, rng.choice(["Website WordPress", "Website", "Daten Statistik", "Fahrdienst Auto",
                                         "Website WordPress Grafik Logo"]),
                          rng.choice(towns), remote_ok=rng.choice(["true", "false"]),
                          travel_radius_km=rng.choice([5, 10, 50, 1000]), available_from=start,
                          weekdays=rng.choice(["Mo;Di", "Sa;So", "Mi", ""]),
                          languages=rng.choice(["de", "de;en", "ar", ""]), capacity=rng.choice([1, 2, None])))
    matcher = fit(rows, fake_embedder)
    load = {f"O{i:04d}": rng.randint(0, 2) for i in range(0, 600, 3)}
    remote = rng.choice([True, False])
    criteria = Criteria.from_values({"plz": AACHEN, "radius_km": 25, "remote_ok": remote, "languages": "de",
                                     "date_from": "2026-06-01", "date_until": "2026-06-30", "weekdays": "Di;Mi"})
    here = lookup_plz(AACHEN)
    need = "Website WordPress"

    def qualifies(row):  # the rules, written out independently of criteria.py
        near = reference_km(here, lookup_plz(row["plz"])) <= min(25, row["travel_radius_km"])
        reachable = near or (remote and row["remote_ok"] == "true")
        started = row["available_from"] <= "2026-06-30"
        days = set(filter(None, row["weekdays"].split(";")))
        on_day = not days or bool(days & {"Di", "Mi"})
        speaks = row["languages"] in ("", None) or "de" in row["languages"].split(";")
        free = row["capacity"] is None or load.get(row["offer_id"], 0) < row["capacity"]
        return reachable and started and on_day and speaks and free

    qualifying = [r for r in rows if qualifies(r)]
    assert 10 < len(qualifying) < 300  # selective: most offers fail, far more than k qualify
    need_vector = fake_embedder.embed([need], role="query")[0]
    vectors = fake_embedder.embed([r["title"] + "\n" + r["description"] for r in qualifying], role="corpus")
    exact = sorted(zip((vectors @ need_vector).round(6), [r["offer_id"] for r in qualifying]),
                   key=lambda t: (-t[0], t[1]))
    result = matcher.match(need, k=10, criteria=criteria, load=load, explain=False)
    assert set(result["id"]) <= {r["offer_id"] for r in qualifying}
    assert result["score"].round(6).to_list() == [s for s, _ in exact[:10]]  # the best qualifying, none lost
    everything = matcher.match(need, k=600, criteria=criteria, load=load, explain=False)
    assert set(everything["id"]) == {r["offer_id"] for r in qualifying}


def test_offer_to_needs_direction_applies_the_same_rules(fake_embedder):
    needs = pl.DataFrame([
        {"need_id": "N1", "title": "Website", "description": "Website", "plz": AACHEN, "radius_km": 20,
         "remote_ok": "false", "help_type": "skills", "must_have_skills": "WordPress"},
        {"need_id": "N2", "title": "Website", "description": "Website", "plz": BERLIN, "radius_km": 20,
         "remote_ok": "false", "help_type": "skills"},
        {"need_id": "N3", "title": "Website", "description": "Website", "plz": AACHEN, "radius_km": 20,
         "remote_ok": "false", "help_type": "money"},
    ])
    matcher = Matcher(MatchConfig(mode="dense"), embedder=fake_embedder, kind="needs").fit(needs)
    profile = Criteria.from_values({"plz": ESCHWEILER, "radius_km": 30, "offer_types": "person"}, kind="offers")
    result = matcher.match("Ich baue Websites mit WordPress", k=5, criteria=profile)
    assert result["id"].to_list() == ["N1"]
    explanation = json.loads(result["explanation"].item())
    assert explanation["skills"] == {"found": ["WordPress"], "missing": []}


def test_match_records_uses_each_needs_own_fields(fake_embedder, tmp_path):
    rows = [offer(1, "Website WordPress", BERLIN, remote_ok="false"), offer(2, "Website", ESCHWEILER)]
    matcher = fit(rows, fake_embedder)
    needs = tmp_path / "needs.csv"
    pl.DataFrame({"need_id": ["N1", "N2"], "description": ["Website WordPress", "Website WordPress"],
                  "plz": [AACHEN, BERLIN], "radius_km": ["20", "20"], "remote_ok": ["false", "false"]}
                 ).write_csv(needs)
    result = matcher.match_records(needs, k=5)
    assert result.filter(pl.col("query_id") == "N1")["id"].to_list() == ["O0002"]
    assert result.filter(pl.col("query_id") == "N2")["id"].to_list() == ["O0001"]


@pytest.mark.parametrize("column,value,message", [
    ("plz", "99999", "unknown German PLZ"),
    ("plz", "ABCDE", "not a German PLZ"),
    ("travel_radius_km", "-5", "below the minimum"),
    ("available_until", "2025-01-01", "before it starts"),
    ("weekdays", "Mo;Funday", "not a weekday"),
    ("capacity", "1.5", "whole number"),
    ("remote_ok", "vielleicht", "true/false"),
    ("offer_type", "kuchen", "not an offer type"),
])
def test_bad_field_values_name_file_row_and_column(fake_embedder, tmp_path, column, value, message):
    rows = [offer(i, "Website", AACHEN, available_from="2026-01-01") for i in (1, 2)]
    rows[1][column] = value
    path = tmp_path / "offers.csv"
    pl.DataFrame(rows, infer_schema_length=None).write_csv(path)
    with pytest.raises(DataValidationError) as info:
        Matcher(MatchConfig(mode="dense"), embedder=fake_embedder).fit(path)
    assert message in str(info.value)
    assert info.value.row == 2 and info.value.file == str(path)
    assert info.value.column == column


def test_criteria_from_values_errors_and_town_lookup():
    with pytest.raises(ConfigError, match="radius_km"):
        Criteria.from_values({"radius_km": -1})
    with pytest.raises(ConfigError, match="unknown criterion"):
        Criteria().with_modes(ignore=["wetter"])
    aachen = Criteria.from_values(town="Aachen").profile
    assert distance_km((aachen.lat, aachen.lon), lookup_plz(AACHEN)) < 5
    assert lookup_town("Nirgendwo an der Spree") is None


def test_geo_against_reference():
    for a, b in [(AACHEN, BERLIN), (AACHEN, ESCHWEILER), ("01067", "80331")]:
        assert distance_km(lookup_plz(a), lookup_plz(b)) == pytest.approx(reference_km(lookup_plz(a),
                                                                                       lookup_plz(b)), rel=1e-9)
    assert 530 < distance_km(lookup_plz(AACHEN), lookup_plz(BERLIN)) < 560
    assert normalise_plz(1067) == "01067"
    assert lookup_plz("00000") is None


def test_skill_matching_ignores_case_hyphens_and_umlauts():
    assert skill_found("Online-Banking", [], "Ich erkläre Onlinebanking geduldig.")
    assert skill_found("wordpress", ["WordPress"], "")
    assert skill_found("Führerschein", [], "Einen fuehrerschein habe ich.")
    assert not skill_found("R", [], "Ich fahre Rad und mache Grafik.")
    assert not skill_found("Python", ["Excel"], "Statistik mit SPSS")


def test_distance_is_nan_safe_for_many_records():
    from semmatch.records.geo import distances_km

    out = distances_km(50.0, 6.0, np.array([50.0, np.nan]), np.array([6.1, 7.0]))
    assert out[0] == pytest.approx(7.15, abs=0.1) and np.isnan(out[1])


def test_distances_by_distinct_place_equal_per_record_distances_also_after_an_edit():
    from semmatch.match.criteria import check
    from semmatch.records.field_table import FieldTable
    from semmatch.records.fields import Profile
    from semmatch.records.geo import distances_km

    rng = np.random.default_rng(3)
    places = [(50.77, 6.08), (52.52, 13.40), (48.14, 11.58), (None, None)]
    profiles = [Profile(lat=lat, lon=lon, radius_km=50.0) for lat, lon in
                (places[i] for i in rng.integers(0, len(places), 200))]
    profiles[7] = Profile(lat=53.55, lon=9.99)  # a place of its own
    table = FieldTable.from_profiles([f"o{i}" for i in range(200)], profiles)
    need = Criteria(Profile(lat=50.9, lon=6.9, radius_km=100.0))

    def expected() -> np.ndarray:
        return distances_km(50.9, 6.9, table.lat, table.lon)

    got = check(need, table, query_kind="needs", texts=[""] * 200).distance_km
    np.testing.assert_allclose(got, expected(), rtol=1e-12, equal_nan=True)
    assert np.isnan(got).sum() == sum(p.lat is None for p in profiles) > 0
    moved = FieldTable.from_profiles(["o7"], [Profile(lat=47.99, lon=7.85)])
    table.set_rows(np.array([7]), moved)  # an edit: the cached places must not go stale
    after = check(need, table, query_kind="needs", texts=[""] * 200)
    np.testing.assert_allclose(after.distance_km, expected(), rtol=1e-12, equal_nan=True)
    assert after.distance_km[7] == pytest.approx(distances_km(50.9, 6.9, np.array([47.99]), np.array([7.85]))[0])
