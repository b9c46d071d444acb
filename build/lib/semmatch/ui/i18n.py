"""The app's interface texts, German (default) and English, and `plain`, which makes record text safe for Markdown."""

from __future__ import annotations

import re

# Every ASCII punctuation character: CommonMark lets each be backslash-escaped, and then shows it literally.
MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
# GFM turns bare URLs, www. names and e-mail addresses into links after the escapes are resolved, so escaping does
# not stop them; an invisible WORD JOINER (U+2060) inside "://", before "@" and after "www" does.
WORD_JOINER = "\u2060"
AUTOLINK_TRIGGERS = re.compile(r"(?<=:)(?=//)|(?=@)|(?<=\bwww)(?=\.)", re.IGNORECASE)


def plain(value: object) -> str:
    """Text from a record (or a user, or an error quoting one) made inert for st.markdown, st.caption, st.success
    and widget labels: no link, image, HTML, heading, list or Streamlit directive (:red[...], $...$) survives.

    Every ASCII punctuation character is backslash-escaped, line breaks become spaces, and an invisible word joiner
    keeps URLs and e-mail addresses from becoming links. Use it for every record-derived string the app puts into
    Markdown; the surrounding Markdown stays the app's own.
    """
    text = AUTOLINK_TRIGGERS.sub(WORD_JOINER, LINE_BREAKS.sub(" ", str(value)))
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


TEXT = {
    "de": {
        "title": "semmatch: Hilfe finden, die passt", "page": "Bereich", "need": "Bedarf eingeben",
        "offers": "Angebote", "data": "Daten", "eval": "Auswertung", "lang": "Sprache",
        "source": "Bedarf", "paste": "Neuen Bedarf einfügen", "stored": "Gespeicherten Bedarf wählen",
        "need_text": "Beschreibung des Bedarfs", "criteria": "Kriterien", "plz": "PLZ", "radius": "Umkreis (km)",
        "remote": "Auch remote möglich", "from": "von", "until": "bis", "languages": "Sprachen",
        "skills": "Muss-Kompetenzen (mit Komma getrennt)", "types": "Gesuchte Angebotsarten",
        "ignore": "Kriterien ignorieren", "k": "Anzahl Vorschläge", "search": "Passende Angebote finden",
        "no_results": "Keine passenden Angebote unter diesen Kriterien.", "save_need": "Bedarf speichern",
        "saved": "Gespeichert als", "contacted": "Kontaktiert", "accepted": "Zugesagt", "declined": "Abgelehnt",
        "placed": "Vermittelt", "reason": "Grund der Absage", "recorded": "Entscheidung gespeichert",
        "already_contacted": "schon kontaktiert", "already_placed": "bereits vermittelt", "why": "Warum?",
        "skills_found": "Kompetenzen vorhanden", "skills_missing": "fehlen", "distance": "Entfernung",
        "time": "Zeitraum überlappt", "contact": "Kontakt", "map": "Karte", "offer_text": "Profil oder Angebot",
        "search_needs": "Passende Bedarfe finden", "stored_offer": "Gespeichertes Angebot wählen",
        "upload": "Datei hochladen (CSV oder Parquet)", "kind": "Art", "id_col": "Spalte mit der ID",
        "text_cols": "Spalten mit dem Text", "preview": "Vorschau", "import": "Importieren",
        "problems": "Zeilen mit Fehlern (nichts wird importiert, solange es welche gibt):",
        "imported": "Importiert", "single": "Einzelnen Eintrag anlegen oder ändern", "archive": "Archivieren",
        "condition": "Bedingung (z. B. „Ich baue die Website, wenn jemand die Texte schreibt“)",
        "runs": "Auswertungen je Modell und Einstellung (MLflow)", "over_time": "Entscheidungen über die Zeit",
        "acceptance": "Zusagequote", "exposure": "Wie oft Angebote gezeigt wurden", "unmet": "Unerfüllte Bedarfe",
        "login": "Passwort", "login_button": "Anmelden", "wrong": "Falsches Passwort",
        "text_too_long": "Der Text ist zu lang: {length} Zeichen, höchstens {limit} sind möglich. Bitte kürzen.",
        "throttled": "Zu viele Fehlversuche. Bitte in {seconds} Sekunden erneut versuchen.",
        "bad_hash": "Die Anmeldung ist fehlerhaft eingerichtet (der Passwort-Hash ist ungültig). Bitte wenden Sie "
                    "sich an die Betreuung der App; sie erzeugt mit `semmatch hash-password` einen neuen.",
        "bad_secrets": "Die Anmeldung ist fehlerhaft eingerichtet (.streamlit/secrets.toml ist kein gültiges TOML). "
                       "Bitte wenden Sie sich an die Betreuung der App; sie korrigiert die Datei.",
        "not_local": "Kein Login eingerichtet, aber der Server ist im Netz erreichbar: bitte mit "
                     "`semmatch app` starten (nur 127.0.0.1) oder ein Passwort setzen (semmatch hash-password).",
        "user": "Ihr Kürzel (für das Protokoll)", "save_offer_first": "Für Entscheidungen das Angebot "
        "zuerst speichern (Daten) und dann auswählen.", "themes": "Unerfüllte Bedarfe nach Thema",
        "local_only": "Kein Login eingerichtet: die App ist nur auf diesem Rechner erreichbar (127.0.0.1). "
                      "Für den Betrieb im Netz ein Passwort setzen (semmatch hash-password).",
    },
    "en": {
        "title": "semmatch: find help that fits", "page": "Section", "need": "Enter a need", "offers": "Offers",
        "data": "Data", "eval": "Evaluation", "lang": "Language", "source": "Need", "paste": "Paste a new need",
        "stored": "Pick a stored need", "need_text": "Description of the need", "criteria": "Criteria",
        "plz": "Postcode (PLZ)", "radius": "Radius (km)", "remote": "Remote possible", "from": "from",
        "until": "until", "languages": "Languages", "skills": "Must-have skills (comma separated)",
        "types": "Wanted offer types", "ignore": "Ignore criteria", "k": "Number of suggestions",
        "search": "Find matching offers", "no_results": "No matching offers under these criteria.",
        "save_need": "Save need", "saved": "Saved as", "contacted": "Contacted", "accepted": "Accepted",
        "declined": "Declined", "placed": "Placed", "reason": "Reason", "recorded": "Decision recorded",
        "already_contacted": "already contacted", "already_placed": "already placed", "why": "Why?",
        "skills_found": "skills present", "skills_missing": "missing", "distance": "Distance",
        "time": "Time overlap", "contact": "Contact", "map": "Map", "offer_text": "Profile or offer",
        "search_needs": "Find matching needs", "stored_offer": "Pick a stored offer",
        "upload": "Upload a file (CSV or Parquet)", "kind": "Kind", "id_col": "Id column",
        "text_cols": "Text columns", "preview": "Preview", "import": "Import", "imported": "Imported",
        "problems": "rows with problems (nothing is imported while there are any):",
        "single": "Add or edit one record", "archive": "Archive",
        "condition": "Condition (e.g. \"I build the website if someone writes the texts\")",
        "runs": "Evaluations per model and config (MLflow)",
        "over_time": "Decisions over time", "acceptance": "Acceptance rate", "exposure": "How often offers were shown",
        "unmet": "Unmet needs", "login": "Password", "login_button": "Log in", "wrong": "Wrong password",
        "text_too_long": "The text is too long: {length} characters, at most {limit} are accepted. Please shorten it.",
        "throttled": "Too many failed attempts. Please try again in {seconds} seconds.",
        "bad_hash": "The login is misconfigured (the password hash is invalid). Please contact whoever runs the app; "
                    "they create a new one with `semmatch hash-password`.",
        "bad_secrets": "The login is misconfigured (.streamlit/secrets.toml is not valid TOML). Please contact whoever "
                       "runs the app; they fix the file.",
        "not_local": "No login configured, but the server is reachable from the network: start it with "
                     "`semmatch app` (127.0.0.1 only) or set a password (semmatch hash-password).",
        "user": "Your handle (for the log)", "save_offer_first": "To record decisions, save the offer first "
        "(Data) and pick it.", "themes": "Unmet needs by theme",
        "local_only": "No login configured: the app is reachable from this computer only (127.0.0.1). "
                      "Set a password (semmatch hash-password) before serving it on a network.",
    },
}
