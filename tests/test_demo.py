"""The README's main path on the real demo data: index the offers with the default model, get a shortlist."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from semmatch.cli.main import main
from semmatch.records.schema import load_records

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def test_demo_files_are_valid_and_contacts_stay_out_of_texts():
    offers = load_records(DEMO / "offers.csv", kind="offers")
    needs = load_records(DEMO / "needs.csv", kind="needs")
    assert offers.height >= 2000 and needs.height >= 200
    raw = pl.read_csv(DEMO / "offers.csv", infer_schema=False)
    emails = set(raw["contact_email"].to_list())
    assert not any(any(e in text for e in list(emails)[:200]) for text in offers["text"].to_list()[:500])


@pytest.mark.model
def test_demo_command_gives_a_relevant_shortlist(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMMATCH_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "demo-index"
    need = "N0003"  # a remote-friendly need: many offers qualify
    result = CliRunner().invoke(main, ["demo", "--data", str(DEMO), "--out", str(out), "-k", "10", "--need", need])
    assert result.exit_code == 0, result.output
    cells = [line.split("┆") for line in result.output.splitlines() if line.startswith("│") and "┆" in line]
    shown = [row[1].strip() for row in cells if row[1].strip().startswith("O")]  # skip the header row
    assert len(shown) == 10
    truth = pl.read_csv(DEMO / "ground_truth.csv", infer_schema=False)
    relevant = set(truth.filter(pl.col("need_id") == need)["offer_id"].to_list())
    assert sum(offer in relevant for offer in shown) >= 8  # hidden synthetic labels, never read by the matcher
    assert "%" in result.output or "match_pct" in result.output
