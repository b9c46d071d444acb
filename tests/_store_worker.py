"""A writer process for the concurrency test of the store (kept apart so child processes import little)."""

from __future__ import annotations

from semmatch.store.database import Store


def write_decisions(url: str, worker: int, barrier, count: int = 25) -> None:
    """Open the store, wait for all writers, then append `count` decisions noted 'worker:i'."""
    store = Store(url, contact_cap_per_week=None)
    barrier.wait()
    for i in range(count):
        store.record_decision("N1", "O1", ("shown", "contacted")[i % 2], note=f"{worker}:{i}")
    store.close()
