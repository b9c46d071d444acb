"""Personal data inside free text (issue 15, item 3): masking of e-mail, phone, IBAN and street addresses before
embedding and in everything derived; the original only in the store's contacts table; contact-column detection."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from semmatch import matcher as matcher_module
from semmatch.cli import main
from semmatch.matcher import Matcher
from semmatch.pii import PLACEHOLDERS, find_personal_data, mask_text
from semmatch.schema import CONTACT_COLUMNS_ENV, ColumnMapping, is_contact_column, validate_records
from semmatch.store import Store
from tests.conftest import KeywordEmbedder

EVALUATION = Path(__file__).resolve().parents[1] / "evaluation"
EMAIL, PHONE, IBAN = "anna.schmidt@web.de", "0171 2345678", "DE89 3704 0044 0532 0130 00"
STREET = "Hauptstraße 12"
SECRETS = (EMAIL, PHONE, IBAN.replace(" ", ""), STREET, "2345678", "anna.schmidt")


def _kinds(text: str) -> list[str]:
    return [f.kind for f in find_personal_data(text)]


@pytest.mark.parametrize("number", ["0171 1234567", "+49 30 123456", "(030) 12 34 56", "0049 30 1234567",
                                    "030/123456", "0171-1234567", "0241 / 47 11 0", "+44 20 7946 0958",
                                    "+49 (0)40 3344556", "0221 470 1234"])
def test_phone_numbers_are_masked(number):
    text = f"Ich helfe gern, ruf an: {number}, am besten abends."
    masked = mask_text(text)
    assert masked == "Ich helfe gern, ruf an: [Telefon], am besten abends."
    assert _kinds(text) == ["phone"]


@pytest.mark.parametrize("address", ["Hauptstraße 12", "Am Markt 3a", "Berliner Str. 5", "Karl-Marx-Allee 33",
                                     "Lindenweg 7, 52062 Aachen", "Goethestr. 17", "Im Winkel 4", "14 Baker Street"])
def test_street_addresses_with_house_numbers_are_masked(address):
    assert mask_text(f"Treffpunkt: {address}. Bis bald!") == "Treffpunkt: [Adresse]. Bis bald!"


@pytest.mark.parametrize("email", ["anna.schmidt@web.de", "j.doe+ehrenamt@gmail.com", "info(at)verein-hilft.de",
                                   "KONTAKT@STADT-AACHEN.DE", "lea@mailbox.org"])
def test_email_addresses_are_masked(email):
    assert mask_text(f"Schreib an {email}.") == "Schreib an [E-Mail]."


def test_ibans_are_masked_when_the_checksum_holds():
    assert mask_text(f"Spenden an {IBAN}, danke!") == "Spenden an [IBAN], danke!"
    assert mask_text("Konto DE89370400440532013000") == "Konto [IBAN]"
    assert mask_text("Konto NL30 ABNA 9078 6666 17") == "Konto [IBAN]"
    assert mask_text("Artikel DE12 3456 7890 1234 5678 99") == "Artikel DE12 3456 7890 1234 5678 99"  # bad checksum


@pytest.mark.parametrize("text", [
    "Sommerfest am 04.12.2026 ab 9:30 Uhr.", "Die Tafel in 52062 Aachen sucht Helfer.", "Treffen 18:00-20:30 Uhr.",
    "Das Projekt läuft seit 2019.", "Kosten: 12,50 € pro Person, 1.250,00 € im Jahr.", "3 Stunden pro Woche",
    "Wir brauchen 2 Leute.", "10 hours per week, 25 miles", "Zeitraum 01.04.2026 - 30.06.2026",
    "Am Samstag 3 Stunden helfen", "Raum 204, Linie 5, Gleis 4, Station 7", "Im Jahr 2024 halfen 300 Menschen.",
    "Version 2.0, Kapitel 3", "Die Hauptstraße ist gesperrt.", "Hotline 0800 kostenlos", "Ergebnis 3:1",
    "Kundennummer 4711-0815-22", "Mo-Fr 9-17 Uhr, Tel.-Sprechzeiten 10-12 Uhr", "on 2026-05-16 from 10 to 2",
])
def test_numbers_that_are_not_personal_data_stay(text):
    assert mask_text(text) == text


PERSONAL_COLUMNS = [
    "email", "e_mail", "E-Mail", "E-Mail-Adresse", "mail", "contact_email", "Mobilnummer", "Festnetz",
    "Telefonnummer", "Telefon", "Tel.", "tel", "tel_nr", "TelNr", "phone", "phoneNumber", "mobile_phone", "Handy",
    "Rufnummer", "Fax", "WhatsApp", "Signal", "Geburtstag", "Geburtsdatum", "date_of_birth", "birthday", "DOB",
    "IBAN", "iban_nummer", "BIC", "Kontonummer", "Bankverbindung", "Straße", "strasse", "street", "Hausnummer",
    "Anschrift", "Adresse", "address", "name", "Vorname", "Nachname", "first_name", "Ansprechpartner", "kontakt",
]
OTHER_COLUMNS = [
    "plz", "ort", "town", "city", "title", "titel", "description", "beschreibung", "skills", "languages",
    "sprachen", "hours_per_week", "radius_km", "available_from", "available_until", "capacity", "status",
    "offer_type", "help_type", "weekdays", "wochentage", "remote_ok", "lat", "lon", "hotel", "hotel_sterne",
    "telling", "intel_cpu", "smartphone_kenntnisse", "mobilitaet", "mobility", "libanon_erfahrung", "category",
    "notes", "condition",
]


@pytest.mark.parametrize("column", PERSONAL_COLUMNS)
def test_personal_columns_are_recognised(column):
    assert is_contact_column(column)


@pytest.mark.parametrize("column", OTHER_COLUMNS)
def test_other_columns_are_not_contact_columns(column):
    assert not is_contact_column(column)


def test_contact_columns_are_configurable_by_environment(monkeypatch):
    frame = pl.DataFrame({"offer_id": ["O1"], "description": ["Nachhilfe in Mathe"], "betreuer": ["Frau X"],
                          "Pate": ["Herr Y"], "town": ["Aachen"]})
    assert validate_records(frame).columns == ["id", "text", "description", "betreuer", "Pate", "town"]
    monkeypatch.setenv(CONTACT_COLUMNS_ENV, "Betreuer, pate")
    assert is_contact_column("betreuer") and is_contact_column("PATE") and not is_contact_column("town")
    assert validate_records(frame).columns == ["id", "text", "description", "town"]
    mapping = ColumnMapping(contact_columns=frozenset({"town"}))  # and --contact-column on top
    assert validate_records(frame, mapping=mapping).columns == ["id", "text", "description"]


def _offers() -> pl.DataFrame:
    return pl.DataFrame({
        "offer_id": ["O1", "O2", "O3"],
        "title": ["Fahrdienst", f"Nachhilfe {PHONE}", "Website"],
        "description": [f"Auto vorhanden, Mail an {EMAIL} oder Tel. {PHONE}.", "Mathe Nachhilfe für Schüler.",
                        f"WordPress Website. Spenden: {IBAN}, Büro {STREET}."],
        "town": ["Aachen", "Köln", "Berlin"],
    })


def test_validated_records_are_masked_in_every_text_column():
    frame = validate_records(_offers())
    assert frame["text"][0] == "Fahrdienst\nAuto vorhanden, Mail an [E-Mail] oder Tel. [Telefon]."
    assert frame["title"][1] == "Nachhilfe [Telefon]" and frame["text"][1].startswith("Nachhilfe [Telefon]\n")
    assert frame["description"][2] == "WordPress Website. Spenden: [IBAN], Büro [Adresse]."
    assert frame["town"].to_list() == ["Aachen", "Köln", "Berlin"]


def _files_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file())


def test_index_folder_embeddings_and_explanations_hold_no_personal_data(tmp_path):
    embedder = KeywordEmbedder()
    matcher = Matcher(embedder=embedder).fit(_offers())
    matcher.save(tmp_path / "idx")
    seen = "\n".join(embedder.encoded_texts)
    stored = _files_text(tmp_path / "idx")
    records = pl.read_parquet(tmp_path / "idx" / "records.parquet")
    sentences = pl.read_parquet(next((tmp_path / "idx").glob("sentences*.parquet")))
    parquet = str(records.to_dicts()) + str(sentences.to_dicts())
    for secret in SECRETS:
        assert secret not in seen and secret not in stored and secret not in parquet, secret
    assert "[E-Mail]" in parquet and "[Telefon]" in parquet

    query = f"Wir brauchen einen Fahrdienst mit Auto, bitte unter {EMAIL} oder {PHONE} melden"
    embedder.encoded_texts.clear()
    result = matcher.match(query, k=3)
    shown = json.dumps(result.to_dicts(), ensure_ascii=False, default=str)
    assert result["id"][0] == "O1"
    for secret in SECRETS:
        assert secret not in shown and secret not in "\n".join(embedder.encoded_texts), secret
    assert embedder.encoded_texts and all(EMAIL not in t for t in embedder.encoded_texts)


def test_store_keeps_the_text_masked_and_the_original_in_contacts(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        counts = store.import_records("offers", _offers())
        assert counts == {"inserted": 3, "updated": 0, "unchanged": 0, "masked_email": 1, "masked_phone": 2,
                          "masked_iban": 1, "masked_address": 1, "masked_records": 3}
        record = store.get_record("offers", "O1")
        assert EMAIL not in json.dumps(record, default=str) and "[E-Mail]" in record["text"]
        with store.engine.connect() as conn:
            tables = {name: " ".join(map(str, conn.execute(sa.text(f"SELECT * FROM {name}")).all()))
                      for name in ("offers", "contacts")}
        assert all(s not in tables["offers"] for s in SECRETS)
        assert EMAIL in tables["contacts"] and IBAN in tables["contacts"] and STREET in tables["contacts"]
        original = store.contact("offers", "O1", require_contacted=False)
        assert original == {"description (original)": _offers()["description"][0]}
        assert "text (original)" not in store.contact("offers", "O2", require_contacted=False)  # title is enough

        again = store.import_records("offers", _offers())  # the same file: nothing changes, the originals stay
        assert again["unchanged"] == 3 and again["masked_records"] == 3
        assert store.upsert_record("offers", {"id": "O1", "status": "matched"}) == "updated"  # a field edit
        assert "description (original)" in store.contact("offers", "O1", require_contacted=False)
        store.upsert_record("offers", {"id": "O1", "description": "Auto vorhanden."})  # the number is gone
        assert store.contact("offers", "O1", require_contacted=False) == {}
        assert store.forget_contacts("offers", "O3") == 1  # the erasure reaches the original
        assert store.contact("offers", "O3", require_contacted=False) == {}


def test_contact_columns_and_masked_originals_live_side_by_side(tmp_path):
    frame = _offers().with_columns(pl.Series("telefon", ["0241 1", None, None]))
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        store.import_records("offers", frame)
        assert set(store.contact("offers", "O1", require_contacted=False)) == {"telefon", "description (original)"}
        store.import_records("offers", _offers().select("offer_id", "description"))  # no contact columns: kept
        assert set(store.contact("offers", "O1", require_contacted=False)) == {"telefon", "description (original)"}


@pytest.fixture
def fake_model(monkeypatch):
    monkeypatch.setattr(matcher_module, "make_embedder", lambda config: KeywordEmbedder())


def test_cli_index_and_import_report_what_was_masked(tmp_path, fake_model):
    _offers().write_csv(tmp_path / "offers.csv")
    result = CliRunner().invoke(main, ["index", str(tmp_path / "offers.csv"), "--out", str(tmp_path / "idx"),
                                       "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "masked: 1 e-mail, 2 phone, 1 IBAN, 1 address in 3 records" in result.output
    assert all(s not in _files_text(tmp_path / "idx") for s in SECRETS)
    result = CliRunner().invoke(main, ["import", str(tmp_path / "offers.csv"), "--kind", "offers", "--db",
                                       f"sqlite:///{tmp_path / 'db.sqlite'}"])
    assert result.exit_code == 0, result.output
    assert "masked: 1 e-mail, 2 phone, 1 IBAN, 1 address in 3 records" in result.output


def test_masking_is_idempotent_and_leaves_placeholders_alone():
    text = f"Mail {EMAIL}, Tel. {PHONE}, {IBAN}, {STREET}."
    once = mask_text(text)
    assert once == "Mail [E-Mail], Tel. [Telefon], [IBAN], [Adresse]."
    assert mask_text(once) == once and set(PLACEHOLDERS.values()) <= set(re.findall(r"\[[^\]]+\]", once))


def test_evaluation_set_is_large_enough_and_measured(tmp_path):
    sys.path.insert(0, str(EVALUATION))
    try:
        import pii_masking
    finally:
        sys.path.remove(str(EVALUATION))
    texts = pii_masking.load(EVALUATION / "data" / "pii_texts.txt")
    assert len(texts) >= 200
    assert sum(1 for _, gold in texts if not gold) >= 100  # hard negatives
    assert {g.kind for _, gold in texts for g in gold} == set(PLACEHOLDERS)
    for text, gold in texts:
        assert all(text[g.start:g.end] == g.value for g in gold)
    figures = pii_masking.evaluate(texts)["per_kind"]
    assert all(figures[k]["precision"] >= 0.9 and figures[k]["recall"] >= 0.9 for k in PLACEHOLDERS)
