"""The Streamlit app driven with streamlit.testing (AppTest): every page, with the keyword fake as the model."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from semmatch.auth import hash_password
from semmatch.store.database import Store

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("SEMMATCH_DATABASE_URL", db)
    monkeypatch.setenv("SEMMATCH_INDEX_ROOT", str(tmp_path / "indexes"))
    monkeypatch.setenv("SEMMATCH_MODEL", "test-keywords")
    monkeypatch.setenv("SEMMATCH_PLUGINS", "tests.fake_plugin")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.delenv("SEMMATCH_APP_PASSWORD_HASH", raising=False)
    offers = pl.DataFrame({
        "offer_id": ["O1", "O2", "O3"],
        "title": ["Webentwicklerin", "Fahrer", "Datenanalyst"],
        "description": ["Ich baue eine Website mit WordPress.", "Fahrdienst mit dem Auto für Senioren.",
                        "Python und Statistik für Daten."],
        "plz": ["52062", "52249", "10117"], "lat": ["50.7771", "50.8186", "52.5169"],
        "lon": ["6.0864", "6.2471", "13.3874"], "remote_ok": ["true", "false", "true"],
        "contact_email": ["anna@example.org", "bernd@example.org", "cem@example.org"],
    })
    needs = pl.DataFrame({"need_id": ["N1"], "title": ["Website-Relaunch"],
                          "description": ["Unsere Website braucht WordPress."], "plz": ["52062"],
                          "radius_km": ["30"], "remote_ok": ["true"], "help_type": ["skills"]})
    offers.write_csv(tmp_path / "offers.csv")
    needs.write_csv(tmp_path / "needs.csv")
    with Store(db) as store:
        store.import_file("offers", tmp_path / "offers.csv")
        store.import_file("needs", tmp_path / "needs.csv")
    st.cache_resource.clear()
    yield tmp_path, db
    st.cache_resource.clear()


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def displayed(markdown: str) -> str:
    """What a Markdown value shows: record text reaches the app backslash-escaped (semmatch.ui.i18n.plain)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def expander_labels(at: AppTest) -> list[str]:
    return [displayed(e.label) for e in at.expander]


def test_paste_a_need_see_results_and_record_a_decision(app_env):
    tmp_path, db = app_env
    at = run_app()
    assert "nur auf diesem Rechner" in " ".join(c.value for c in at.caption)  # no login: localhost only, said so
    at.text_area(key="need_text").input("Wir suchen Hilfe für unsere Website mit WordPress.")
    at.text_input(key="need_plz").input("52062")
    at.button(key="need_search").click().run()
    assert not at.exception, at.exception
    labels = [label for label in expander_labels(at) if label.startswith("#")]
    assert labels and "Webentwicklerin" in labels[0]
    assert any("WordPress" in displayed(m.value) for m in at.markdown)  # explanation: the matching sentence
    at.button(key="need_save").click().run()
    assert any("Gespeichert als" in s.value for s in at.success)
    at.button(key="need_O1_contacted").click().run()
    assert not at.exception, at.exception
    assert any("Entscheidung gespeichert" in s.value for s in at.success)
    with Store(db) as store:
        full_log = store.decisions()
    log = full_log.filter(pl.col("action") != "shown")
    assert log.height == 1 and log["offer_id"][0] == "O1" and log["action"][0] == "contacted"
    assert log["need_id"][0].startswith("B-")
    shown = full_log.filter(pl.col("action") == "shown")  # the shortlist a saved need got is logged once
    assert "O1" in shown["offer_id"].to_list() and shown.height == shown.select("offer_id").n_unique()


def test_stored_need_uses_its_own_criteria(app_env):
    _, db = app_env
    at = run_app()
    at.radio(key="need_source").set_value("Gespeicherten Bedarf wählen").run()
    assert at.text_input(key="need_N1_plz").value == "52062"
    assert at.number_input(key="need_N1_radius").value == 30
    at.button(key="need_search").click().run()
    labels = [label for label in expander_labels(at) if label.startswith("#")]
    assert "Webentwicklerin" in labels[0]
    at.sidebar.text_input(key="user").input("anna")
    at.button(key="need_O1_placed").click().run()
    with Store(db) as store:
        log = store.decisions().filter(pl.col("action") != "shown")
        assert log["action"].to_list() == ["placed"] and log["decided_by"].to_list() == ["anna"]
        assert store.proposed_matches("N1").height >= 1


def test_offers_page_finds_needs(app_env):
    at = run_app()
    at.sidebar.radio(key="page_de").set_value("Angebote").run()
    at.text_area(key="offer_text").input("Ich baue Websites mit WordPress.")
    at.button(key="offer_search").click().run()
    assert not at.exception, at.exception
    assert any("Website-Relaunch" in label for label in expander_labels(at))
    assert any("zuerst speichern" in displayed(c.value) for c in at.caption)  # a pasted profile cannot carry decisions


def test_offers_page_records_a_decision_for_a_stored_offer(app_env):
    _, db = app_env
    at = run_app()
    at.sidebar.radio(key="page_de").set_value("Angebote").run()
    at.radio(key="offer_source").set_value("Gespeichertes Angebot wählen").run()
    at.button(key="offer_search").click().run()
    assert any("Website-Relaunch" in label for label in expander_labels(at))
    at.button(key="offer_N1_accepted").click().run()
    assert not at.exception, at.exception
    with Store(db) as store:
        log = store.decisions().filter(pl.col("action") != "shown")
    assert log.select("need_id", "offer_id", "action").rows() == [("N1", "O1", "accepted")]


def test_data_page_imports_a_file_and_shows_row_errors(app_env):
    tmp_path, db = app_env
    at = run_app()
    at.sidebar.radio(key="page_de").set_value("Daten").run()
    good = b"offer_id,title,description,plz\nO9,Grafik,Ich gestalte ein Logo und Grafik.,50667\n"
    at.file_uploader(key="data_upload").set_value(("neu.csv", good, "text/csv")).run()
    assert not at.exception, at.exception
    at.button(key="data_import").click().run()
    assert any("Importiert" in s.value for s in at.success), [e.value for e in at.error]
    with Store(db) as store:
        assert "O9" in store.records("offers")["id"].to_list()
    bad = (b"offer_id,title,description,plz\nO10,A,Text eins,50667\nO10,B,Text zwei,50667\n"
           b"O11,C,Text drei,99999\n")
    at.file_uploader(key="data_upload").set_value(("kaputt.csv", bad, "text/csv")).run()
    table = at.dataframe[-1].value  # every bad row is listed before import: duplicate id in row 2, bad PLZ in row 3
    assert list(table["row"]) == [2, 3] and "unknown German PLZ" in table["problem"].iloc[1]
    at.button(key="data_import").click().run()
    assert any("row 2" in e.value and "duplicate id" in e.value for e in at.error)
    with Store(db) as store:
        assert "O10" not in store.records("offers")["id"].to_list()  # nothing half-written
    # edit one record: only the given values change, its other fields stay; archive another
    at.text_input(key="single_id").input("O1")
    at.text_input(key="single_title").input("Webentwicklerin (neu)")
    at.button(key="single_submit").click().run()
    with Store(db) as store:
        edited = store.get_record("offers", "O1")
    assert edited["title"] == "Webentwicklerin (neu)"
    assert edited["fields"]["plz"] == "52062" and edited["fields"]["remote_ok"] == "true"
    at.selectbox(key="archive_pick").set_value("O2")
    at.button(key="archive_button").click().run()
    with Store(db) as store:
        assert "O2" not in store.records("offers")["id"].to_list()


def test_evaluation_page_and_english(app_env):
    _, db = app_env
    with Store(db) as store:
        store.record_decision("N1", "O1", "contacted")
        store.record_decision("N1", "O1", "accepted")
        store.upsert_record("needs", {"id": "N2", "title": "Fahrdienst", "description": "Fahrdienst gesucht."})
    at = run_app()
    at.sidebar.radio(key="page_de").set_value("Auswertung").run()
    assert not at.exception, at.exception
    assert any(m.value == "100.0 %" for m in at.metric)
    assert any("nach Thema" in c.value for c in at.caption)  # unmet needs grouped by theme
    at.sidebar.radio(key="lang").set_value("en").run()
    assert at.title[0].value.startswith("semmatch: find help")


def test_login_required_when_a_password_hash_is_configured(app_env, monkeypatch):
    monkeypatch.setenv("SEMMATCH_APP_PASSWORD_HASH", hash_password("geheim", iterations=1000))
    at = run_app()
    assert not at.text_area  # nothing of the app before login
    at.text_input(key="password").input("falsch")
    at.button(key="login").click().run()
    assert at.error and "Falsches Passwort" in at.error[0].value
    at.text_input(key="password").input("geheim")
    at.button(key="login").click().run()
    assert at.text_area(key="need_text") is not None


def test_local_address_check_and_contact_cap_setting(monkeypatch):
    from semmatch.auth import is_local_address
    from semmatch.errors import ConfigError
    from semmatch.workspace import contact_cap_from_env

    assert is_local_address("127.0.0.1") and is_local_address("localhost")
    assert not is_local_address("0.0.0.0") and not is_local_address(None) and not is_local_address("")
    monkeypatch.setenv("SEMMATCH_CONTACT_CAP", "5")
    assert contact_cap_from_env() == 5
    monkeypatch.setenv("SEMMATCH_CONTACT_CAP", "none")
    assert contact_cap_from_env() is None
    monkeypatch.setenv("SEMMATCH_CONTACT_CAP", "viele")
    with pytest.raises(ConfigError):
        contact_cap_from_env()


PIXEL = "![p](http://127.0.0.1:8765/pixel.png)"
PHISH = "[Phish](http://evil.example/login)"


def rendered_html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").render(markdown)


def test_record_text_is_shown_as_plain_text_not_markdown(app_env):
    """Issue 15 item 4b: an offer's title, description and condition reach st.markdown, st.caption and expander
    labels; no image may load and no link may render from them, and the text stays readable as written."""
    _, db = app_env
    with Store(db) as store:
        store.upsert_record("offers", {"id": "O9", "title": f"{PHISH} {PIXEL}",
                                       "description": f"Website mit WordPress {PIXEL} und {PHISH} <b>fett</b>.",
                                       "condition": f"wenn {PHISH} klappt", "town": f"Aachen {PIXEL}"})
    at = run_app()
    at.text_area(key="need_text").input(f"Website WordPress {PHISH}")
    at.button(key="need_search").click().run()
    assert not at.exception, at.exception
    label = next(e.label for e in at.expander if "Phish" in e.label)
    values = ([label] + [m.value for m in at.markdown] + [c.value for c in at.caption]
              + [s.value for s in at.success] + [e.value for e in at.error])
    for value in values:
        html = rendered_html(value)
        assert "<a " not in html and "<img" not in html and "<b>" not in html, value
        assert not re.search(r"(?i)https?://|www\.|\w@\w", html), value  # nothing GFM would autolink either
    visible = rendered_html(label).replace("\u2060", "")  # an invisible word joiner keeps URLs from linking
    assert PHISH in visible and PIXEL in visible  # readable as written, only inert
    assert any("evil.example/login" in rendered_html(m.value) for m in at.markdown)  # the evidence, escaped
    assert any("wenn [Phish]" in rendered_html(c.value) for c in at.caption)  # the condition, escaped
