"""Shared fixtures. Most tests use KeywordEmbedder: vectors are keyword one-hots, so rankings are exact and fast."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from semmatch.embed.base import Embedder

KEYWORDS = [
    "website", "wordpress", "daten", "python", "statistik", "übersetzung", "arabisch", "ukrainisch", "fahrdienst",
    "auto", "senioren", "einkauf", "nachhilfe", "mathe", "social", "instagram", "sicherheit", "firewall",
    "grafik", "logo", "antrag", "formular",
]
SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


class KeywordEmbedder(Embedder):
    """A deterministic fake: one dimension per keyword plus a small constant, so no vector is zero."""

    model_id = "fake-keywords-v1"

    def __init__(self, cache=None, model_id: str | None = None, query_prompt: str = "", corpus_prompt: str = ""):
        super().__init__(cache)
        if model_id:
            self.model_id = model_id
        self.query_prompt = query_prompt
        self.corpus_prompt = corpus_prompt
        self.seen_prompts: list[str] = []
        self.encoded_texts: list[str] = []

    @property
    def dimension(self) -> int:
        return len(KEYWORDS) + 1

    def _encode(self, texts, prompt, show_progress):
        self.seen_prompts.append(prompt)
        self.encoded_texts.extend(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            for col, keyword in enumerate(KEYWORDS):
                out[row, col] = sum(1 for w in words if w.startswith(keyword))
            out[row, -1] = 0.1
        return out


@pytest.fixture
def fake_embedder() -> KeywordEmbedder:
    return KeywordEmbedder()


@pytest.fixture
def offers() -> pl.DataFrame:
    return pl.DataFrame({
        "offer_id": ["O1", "O2", "O3", "O4", "O5"],
        "title": ["Webentwicklerin", "Fahrer", "Datenanalyst", "Dolmetscherin", "Nachhilfelehrer"],
        "description": [
            "Ich baue eine Website mit WordPress.",
            "Ich habe ein Auto und mache Fahrdienst für Senioren.",
            "Python und Statistik: ich werte Daten aus.",
            "Übersetzung Arabisch und Ukrainisch.",
            "Nachhilfe in Mathe für Schüler.",
        ],
        "town": ["Aachen", "Köln", "Berlin", "Aachen", "Bonn"],
        "contact_name": ["Anna A", "Bernd B", "Cem C", "Dana D", "Emil E"],
        "contact_email": ["a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org"],
    })


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared dev data not found at {SHARED_DIR}")
    return SHARED_DIR


# PostgreSQL for the store and load tests (see tests/pg_support.py) ------------------------------------------------

@pytest.fixture(scope="session")
def pg_server():
    from tests.pg_support import PostgresServer

    server = PostgresServer()
    if server.skip_reason:
        print(f"\nPostgreSQL tests skipped: {server.skip_reason}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server = request.getfixturevalue("pg_server")
    if server.skip_reason:
        pytest.skip(server.skip_reason)
    return server.new_database()


