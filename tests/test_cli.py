"""The CLI with the keyword fake registered where the matcher builds its embedder."""

from __future__ import annotations

import json

import polars as pl
import pytest
from click.testing import CliRunner

from semmatch.cli.main import main
from semmatch.match import matcher as matcher_module
from tests.conftest import KeywordEmbedder


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    monkeypatch.setattr(matcher_module, "make_embedder", lambda config: KeywordEmbedder())


@pytest.fixture
def index_dir(tmp_path, offers):
    offers.write_csv(tmp_path / "offers.csv")
    result = CliRunner().invoke(main, ["index", str(tmp_path / "offers.csv"), "--out", str(tmp_path / "idx"),
                                       "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "indexed 5 offers" in result.output
    return tmp_path / "idx"


def test_match_text_prints_a_ranked_table(index_dir):
    result = CliRunner().invoke(main, ["match", str(index_dir), "--text", "Hilfe für unsere Website", "-k", "3"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "O1" in line]
    assert lines and "Webentwicklerin" in lines[0]


def test_match_json_and_csv_out(index_dir, tmp_path):
    result = CliRunner().invoke(main, ["match", str(index_dir), "--text", "Fahrdienst", "--format", "json"])
    rows = json.loads(result.output)
    assert rows[0]["id"] == "O2" and rows[0]["rank"] == 1 and "contact_email" not in rows[0]
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["match", str(index_dir), "--text", "Mathe Nachhilfe", "--out", str(out)])
    assert result.exit_code == 0 and pl.read_csv(out)["id"][0] == "O5"


def test_match_needs_file_and_wrong_direction(index_dir, tmp_path):
    needs = tmp_path / "needs.csv"
    pl.DataFrame({"need_id": ["N1"], "description": ["Übersetzung Arabisch"]}).write_csv(needs)
    result = CliRunner().invoke(main, ["match", str(index_dir), "--needs", str(needs), "--format", "csv"])
    assert result.exit_code == 0 and "N1,1,O4" in result.output
    result = CliRunner().invoke(main, ["match", str(index_dir), "--offers", str(needs)])
    assert result.exit_code == 2 and "holds offers" in result.output


def test_update_adds_and_removes_without_rebuild(index_dir, tmp_path):
    extra = tmp_path / "extra.csv"
    pl.DataFrame({"offer_id": ["O9"], "description": ["Firewall und IT-Sicherheit"]}).write_csv(extra)
    result = CliRunner().invoke(main, ["update", str(index_dir), "--records", str(extra), "--remove", "O2"])
    assert result.exit_code == 0 and "embedded 1" in result.output
    result = CliRunner().invoke(main, ["match", str(index_dir), "--text", "Firewall", "--format", "json", "-k", "10"])
    ids = [r["id"] for r in json.loads(result.output)]
    assert ids[0] == "O9" and "O2" not in ids


def test_domain_errors_become_clear_messages(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("offer_id,description\nO1,a\nO1,b\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["index", str(bad), "--out", str(tmp_path / "idx")])
    assert result.exit_code == 1
    assert "bad.csv, row 2, column 'offer_id': duplicate id 'O1'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "idx").exists()
    result = CliRunner().invoke(main, ["match", str(tmp_path), "--text", "x"])
    assert result.exit_code == 1 and "semmatch index" in result.output


@pytest.fixture
def placed_index(tmp_path):
    offers = pl.DataFrame({
        "offer_id": ["B1", "B2", "A1", "A2"],
        "description": ["Website WordPress Website", "Website WordPress", "Website", "Ich baue die Website, wenn "
                        "jemand die Antrag Formular Texte schreibt."],
        "plz": ["10117", "10117", "52249", "52062"],
        "remote_ok": ["false", "false", "false", "false"],
        "capacity": [1, 1, 1, 1],
    })
    offers.write_csv(tmp_path / "placed.csv")
    extra = pl.DataFrame({"offer_id": ["A3"], "description": ["Antrag und Formular Texte schreibe ich."],
                          "plz": ["52062"], "remote_ok": ["false"], "capacity": [1]})
    pl.concat([offers, extra]).write_csv(tmp_path / "placed.csv")
    out = tmp_path / "placed-idx"
    result = CliRunner().invoke(main, ["index", str(tmp_path / "placed.csv"), "--out", str(out), "--no-cache"])
    assert result.exit_code == 0, result.output
    return out


def test_match_with_criteria_flags(placed_index):
    args = ["match", str(placed_index), "--text", "Website WordPress", "--format", "json", "--mode", "dense"]
    near = json.loads(CliRunner().invoke(main, args + ["--plz", "52062", "--radius", "20", "--on-site"]).output)
    assert {r["id"] for r in near} == {"A1", "A2", "A3"}
    assert all(json.loads(r["explanation"])["criteria"]["radius"] == "pass" for r in near)
    anywhere = json.loads(CliRunner().invoke(main, args + ["--plz", "52062", "--radius", "20", "--ignore",
                                                           "radius"]).output)
    assert anywhere[0]["id"] == "B2" and len(anywhere) == 5
    bad = CliRunner().invoke(main, args + ["--plz", "99999"])
    assert bad.exit_code == 1 and "unknown German PLZ" in bad.output


def test_match_batch_reports_exposure_and_conditions_command(placed_index, tmp_path):
    needs = tmp_path / "needs.csv"
    pl.DataFrame({"need_id": ["N1", "N2", "N3"], "description": ["Website WordPress"] * 3,
                  "plz": ["10117"] * 3, "radius_km": ["30"] * 3, "remote_ok": ["false"] * 3}).write_csv(needs)
    report_file = tmp_path / "exposure.json"
    result = CliRunner().invoke(main, ["match", str(placed_index), "--needs", str(needs), "--batch", "--assign",
                                       "--exposure-out", str(report_file), "--format", "csv", "-k", "2"])
    assert result.exit_code == 0, result.output
    report = json.loads(report_file.read_text())
    assert report["needs"] == 3 and report["assigned"] == 2  # two Berlin offers, capacity 1 each
    assert "top1_concentration" in result.output
    result = CliRunner().invoke(main, ["conditions", str(placed_index), "--min-similarity", "0.5"])
    assert result.exit_code == 0, result.output
    assert "A2" in result.output and "A3" in result.output


def test_a_named_weight_set_is_selectable_by_name(index_dir, tmp_path, monkeypatch):
    from semmatch.config import MatchConfig

    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir(exist_ok=True)
    MatchConfig(mode="hybrid", weight_lexical=0.7, calibration_slope=10.0, calibration_intercept=-5.0).save(
        tmp_path / "models" / "tuned.json")
    result = CliRunner().invoke(main, ["match", str(index_dir), "--text", "Website", "--config", "tuned",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    explanation = json.loads(json.loads(result.output)[0]["explanation"])
    assert explanation["weights"]["lexical"] == 0.7 and explanation["calibrated"] is True
    missing = CliRunner().invoke(main, ["match", str(index_dir), "--text", "Website", "--config", "nope"])
    assert missing.exit_code == 1 and "named configs: tuned" in missing.output


def test_index_kind_and_storage_are_chosen_on_the_command_line(tmp_path, offers):
    offers.write_csv(tmp_path / "offers.csv")
    result = CliRunner().invoke(main, ["index", str(tmp_path / "offers.csv"), "--out", str(tmp_path / "idx"),
                                       "--no-cache", "--index-kind", "auto", "--index-storage", "fp16"])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "idx" / "index.json").read_text())
    assert (meta["kind"], meta["storage"]) == ("flat", "fp16")  # auto: 5 records are searched exactly
    assert (tmp_path / "idx" / "sentences.npy").is_file()  # sentence vectors stored at index time
    matched = CliRunner().invoke(main, ["match", str(tmp_path / "idx"), "--text", "Website", "--format", "json"])
    assert matched.exit_code == 0 and json.loads(matched.output)[0]["id"] == "O1"
    bad = CliRunner().invoke(main, ["index", str(tmp_path / "offers.csv"), "--out", str(tmp_path / "idx2"),
                                    "--no-cache", "--index-kind", "flat", "--index-storage", "pq"])
    assert bad.exit_code == 1 and "pq storage needs index kind ivf" in bad.output
