"""Concurrent coordinator sessions against one database: each pastes needs and records decisions, like the app does.

Used by the load test (tests/test_load.py, fake embedder) and the benchmark (evaluation/load_test.py, real model) to
show that no decision is lost or fails under concurrent use, and to measure throughput and latency.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from semmatch.match.criteria import Criteria
from semmatch.match.matcher import Matcher
from semmatch.store.database import Store


@dataclass
class LoadResult:
    sessions: int
    rounds: int
    decisions_written: int = 0
    errors: list[str] = field(default_factory=list)
    match_ms: list[float] = field(default_factory=list)
    decide_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, float | int]:
        def pct(values: list[float], q: float) -> float:
            return round(float(np.percentile(values, q)), 1) if values else 0.0

        return {"sessions": self.sessions, "rounds": self.rounds, "decisions": self.decisions_written,
                "errors": len(self.errors), "seconds": round(self.seconds, 2),
                "shortlists_per_s": round(self.sessions * self.rounds / self.seconds, 2) if self.seconds else 0.0,
                "decisions_per_s": round(self.decisions_written / self.seconds, 2) if self.seconds else 0.0,
                "match_p50_ms": pct(self.match_ms, 50), "match_p95_ms": pct(self.match_ms, 95),
                "decide_p50_ms": pct(self.decide_ms, 50), "decide_p95_ms": pct(self.decide_ms, 95)}


def run_sessions(matcher: Matcher, db_url: str, need_ids: Sequence[str], texts: Sequence[str], *, sessions: int = 20,
                 rounds: int = 5, k: int = 10, timeout_s: float = 300.0) -> LoadResult:
    """`sessions` threads, each with its own store connection, run `rounds` of: match a need, record "shown" for the
    top 3 and "contacted" for the first. Needs are taken round-robin from need_ids/texts."""
    result = LoadResult(sessions, rounds)
    lock = threading.Lock()
    start_gate = threading.Barrier(sessions)

    def session(number: int) -> None:
        store = Store(db_url, contact_cap_per_week=None)
        try:
            start_gate.wait()
            for round_number in range(rounds):
                at = (number * rounds + round_number) % len(need_ids)
                started = time.perf_counter()
                shortlist = matcher.match(texts[at], k, query_ids=[need_ids[at]], criteria=Criteria(),
                                          load=store.load())
                matched = time.perf_counter()
                offers = shortlist["id"].to_list()[:3]
                for offer in offers:
                    store.record_decision(need_ids[at], offer, "shown", decided_by=f"session-{number}")
                if offers:
                    store.record_decision(need_ids[at], offers[0], "contacted", decided_by=f"session-{number}")
                done = time.perf_counter()
                with lock:
                    result.match_ms.append((matched - started) * 1000)
                    result.decide_ms.append((done - matched) * 1000 / max(1, len(offers) + 1))
                    result.decisions_written += len(offers) + (1 if offers else 0)
        except Exception as exc:  # noqa: BLE001 - collected and reported as a failed session, never swallowed
            with lock:
                result.errors.append(f"session {number}: {type(exc).__name__}: {exc}")
        finally:
            store.close()

    threads = [threading.Thread(target=session, args=(n,), daemon=True) for n in range(sessions)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, timeout_s - (time.perf_counter() - began)))
    result.seconds = time.perf_counter() - began
    if any(thread.is_alive() for thread in threads):
        result.errors.append(f"sessions still running after {timeout_s} s")
    return result
