"""A simulated coordinator for the demo data: decisions drawn from the demo set's hidden ground truth.

This is a simulation, not observed behaviour. It exists so evaluation, the app and the notebooks have realistic
feedback to work on. For every need, the coordinator is shown the matcher's top k; they look at rank r with
probability 1 / r**position_bias (people read from the top), and for an examined offer they contact, are accepted,
place and complete with probabilities that depend on the hidden grade (2 = right theme and reachable, 1 = related,
0 = not relevant). Noise: even irrelevant offers are sometimes contacted and accepted, good ones sometimes decline.
Everything is seeded, so the same seed gives the same decisions.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from semmatch.errors import ContactCapError

FOLLOW_UP_DAYS = 75  # the longest follow-up: accepted <= 5 d, placed <= 7 d, completed <= 60 d after that
DECLINE_REASONS = ("keine Zeit", "zu weit weg", "passt fachlich nicht", "keine Rückmeldung", "schon vergeben")


@dataclass(frozen=True)
class SimulatedCoordinator:
    """The probabilities of the simulation, per hidden grade (documented defaults, not measured behaviour)."""

    position_bias: float = 0.8
    contact: Mapping[int, float] = field(default_factory=lambda: {2: 0.75, 1: 0.3, 0: 0.04})
    accept: Mapping[int, float] = field(default_factory=lambda: {2: 0.7, 1: 0.35, 0: 0.1})
    place: Mapping[int, float] = field(default_factory=lambda: {2: 0.85, 1: 0.6, 0: 0.3})
    complete: float = 0.8
    ratings: Mapping[int, tuple[int, int]] = field(default_factory=lambda: {2: (4, 5), 1: (3, 4), 0: (1, 3)})
    name: str = "simulated-coordinator"

    def examines(self, rank: int, rng: random.Random) -> bool:
        return rng.random() < 1.0 / rank ** self.position_bias


def demo_grades(ground_truth: str | Path) -> dict[tuple[str, str], int]:
    """The hidden grades of the demo set: (need_id, offer_id) -> grade (missing pairs are grade 0)."""
    truth = pl.read_csv(ground_truth, infer_schema=False)
    return {(n, o): int(g) for n, o, g in truth.select("need_id", "offer_id", "grade").iter_rows()}


def simulate(store, shortlists: pl.DataFrame, grades: Mapping[tuple[str, str], int], *, seed: int = 42,
             coordinator: SimulatedCoordinator | None = None, start: dt.datetime | None = None,
             minutes_per_need: int = 90) -> Counter:
    """Record simulated decisions for shortlists (matcher output: query_id = need id, rank, id = offer id).

    Needs are worked through in order, one every `minutes_per_need`, from `start` (default: early enough that the
    last need's follow-ups can be over by now), so the log spans weeks and per-week contact caps apply. A decision
    that would fall after now has not happened yet: it is not written (counted as `pending`), so the log never holds
    decisions dated in the future. Returns how many decisions of each action were written.
    """
    coordinator = coordinator or SimulatedCoordinator()
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    needs = shortlists["query_id"].n_unique() if shortlists.height else 0
    clock = start or now - dt.timedelta(minutes=minutes_per_need * needs) - dt.timedelta(days=FOLLOW_UP_DAYS)
    written: Counter = Counter()

    def decide(need: str, offer: str, action: str, at: dt.datetime, **details) -> bool:
        """Write one decision; one that would lie after now has not happened yet (False, counted as pending)."""
        if (at if at.tzinfo else at.replace(tzinfo=dt.UTC)) > now:
            written["pending"] += 1
            return False
        store.record_decision(need, offer, action, decided_by=coordinator.name, at=at, **details)
        written[action] += 1
        return True

    def work_through(need_id: str, offer_id: str, rank: int, at: dt.datetime) -> None:
        if not decide(need_id, offer_id, "shown", at):
            return
        grade = grades.get((need_id, offer_id), 0)
        if not (coordinator.examines(rank, rng) and rng.random() < coordinator.contact[grade]):
            return
        try:
            if not decide(need_id, offer_id, "contacted", at + dt.timedelta(minutes=5)):
                return
        except ContactCapError:
            written["skipped_cap"] += 1
            return
        later = at + dt.timedelta(days=rng.randint(1, 5))
        if rng.random() >= coordinator.accept[grade]:
            decide(need_id, offer_id, "declined", later, reason=rng.choice(DECLINE_REASONS))
            return
        if not decide(need_id, offer_id, "accepted", later) or rng.random() >= coordinator.place[grade]:
            return
        placed = later + dt.timedelta(days=rng.randint(1, 7))
        if decide(need_id, offer_id, "placed", placed) and rng.random() < coordinator.complete:
            low, high = coordinator.ratings[grade]
            decide(need_id, offer_id, "completed", placed + dt.timedelta(days=rng.randint(14, 60)),
                   rating=rng.randint(low, high))

    for (need_id,), group in shortlists.sort(["query_id", "rank"]).group_by("query_id", maintain_order=True):
        clock += dt.timedelta(minutes=minutes_per_need)
        for rank, offer_id in zip(group["rank"].to_list(), group["id"].to_list()):
            work_through(need_id, offer_id, rank, clock + dt.timedelta(seconds=rank))
    return written
