"""Generate the synthetic German demo data set of semmatch: needs (Bedarfe), offers (Angebote) and hidden labels.

Everything is invented: texts, organisations, people and contact data (emails at example.org/.com/.net only).
Needs and offers are written from disjoint pools of phrasings, so a match is never plain string overlap.

    python data/generate_demo.py --seed 42 --out data/demo

Uses only the standard library plus polars (for writing CSV). The same seed gives byte-identical files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import re
from collections import Counter
from pathlib import Path

import polars as pl

N_NEEDS = 300
N_OFFERS = 3000

# Real towns with a real postal code, approximate centroid and district (empty: kreisfrei); last field: weight.
TOWNS = [
    ("Aachen", "52062", 50.7753, 6.0839, "StädteRegion Aachen", 6.0),
    ("Eschweiler", "52249", 50.8176, 6.2632, "StädteRegion Aachen", 1.5),
    ("Stolberg", "52222", 50.7717, 6.2283, "StädteRegion Aachen", 1.5),
    ("Würselen", "52146", 50.8247, 6.1275, "StädteRegion Aachen", 1.5),
    ("Herzogenrath", "52134", 50.8708, 6.0944, "StädteRegion Aachen", 1.5),
    ("Alsdorf", "52477", 50.8764, 6.1700, "StädteRegion Aachen", 1.5),
    ("Baesweiler", "52499", 50.9000, 6.1833, "StädteRegion Aachen", 1.5),
    ("Monschau", "52156", 50.5547, 6.2400, "StädteRegion Aachen", 1.5),
    ("Simmerath", "52152", 50.6070, 6.3000, "StädteRegion Aachen", 1.0),
    ("Roetgen", "52159", 50.6500, 6.2000, "StädteRegion Aachen", 1.0),
    ("Düren", "52349", 50.8000, 6.4833, "Kreis Düren", 1.5),
    ("Jülich", "52428", 50.9222, 6.3583, "Kreis Düren", 1.0),
    ("Heinsberg", "52525", 51.0633, 6.0958, "Kreis Heinsberg", 1.0),
    ("Geilenkirchen", "52511", 50.9653, 6.1194, "Kreis Heinsberg", 1.0),
    ("Köln", "50667", 50.9375, 6.9603, "", 3.0),
    ("Bonn", "53111", 50.7374, 7.0982, "", 1.5),
    ("Düsseldorf", "40213", 51.2277, 6.7735, "", 2.0),
    ("Mönchengladbach", "41061", 51.1805, 6.4428, "", 1.0),
    ("Euskirchen", "53879", 50.6608, 6.7872, "Kreis Euskirchen", 1.0),
    ("Bergheim", "50126", 50.9553, 6.6397, "Rhein-Erft-Kreis", 1.0),
    ("Essen", "45127", 51.4556, 7.0116, "", 1.5),
    ("Dortmund", "44135", 51.5136, 7.4653, "", 1.5),
    ("Wuppertal", "42103", 51.2562, 7.1508, "", 1.0),
    ("Münster", "48143", 51.9607, 7.6261, "", 1.0),
    ("Bielefeld", "33602", 52.0302, 8.5325, "", 1.0),
    ("Siegen", "57072", 50.8748, 8.0243, "Kreis Siegen-Wittgenstein", 1.0),
    ("Meschede", "59872", 51.3500, 8.2833, "Hochsauerlandkreis", 0.7),
    ("Berlin", "10115", 52.5200, 13.4050, "", 3.0),
    ("Potsdam", "14467", 52.3906, 13.0645, "", 1.0),
    ("Cottbus", "03046", 51.7563, 14.3329, "", 0.7),
    ("Hamburg", "20095", 53.5511, 9.9937, "", 2.5),
    ("Lübeck", "23552", 53.8655, 10.6866, "", 0.8),
    ("Kiel", "24103", 54.3233, 10.1228, "", 0.8),
    ("Husum", "25813", 54.4858, 9.0524, "Kreis Nordfriesland", 0.6),
    ("Bremen", "28195", 53.0793, 8.8017, "", 1.2),
    ("Oldenburg", "26122", 53.1435, 8.2146, "", 0.8),
    ("Osnabrück", "49074", 52.2799, 8.0472, "", 0.8),
    ("Hannover", "30159", 52.3759, 9.7320, "", 1.5),
    ("Lüneburg", "21335", 53.2464, 10.4115, "Landkreis Lüneburg", 0.7),
    ("Göttingen", "37073", 51.5413, 9.9158, "Landkreis Göttingen", 0.8),
    ("Kassel", "34117", 51.3127, 9.4797, "", 0.8),
    ("Marburg", "35037", 50.8021, 8.7667, "Landkreis Marburg-Biedenkopf", 0.7),
    ("Frankfurt am Main", "60311", 50.1109, 8.6821, "", 2.0),
    ("Mainz", "55116", 49.9929, 8.2473, "", 0.8),
    ("Trier", "54290", 49.7490, 6.6371, "", 0.8),
    ("Wittlich", "54516", 49.9869, 6.8897, "Landkreis Bernkastel-Wittlich", 0.6),
    ("Saarbrücken", "66111", 49.2402, 6.9969, "Regionalverband Saarbrücken", 0.8),
    ("Mannheim", "68159", 49.4875, 8.4660, "", 1.0),
    ("Heidelberg", "69117", 49.3988, 8.6724, "", 0.8),
    ("Karlsruhe", "76133", 49.0069, 8.4037, "", 1.0),
    ("Stuttgart", "70173", 48.7758, 9.1829, "", 1.5),
    ("Freiburg im Breisgau", "79098", 47.9990, 7.8421, "", 1.0),
    ("Konstanz", "78462", 47.6603, 9.1758, "Landkreis Konstanz", 0.6),
    ("München", "80331", 48.1374, 11.5755, "", 2.5),
    ("Augsburg", "86150", 48.3705, 10.8978, "", 0.8),
    ("Nürnberg", "90402", 49.4521, 11.0767, "", 1.2),
    ("Würzburg", "97070", 49.7913, 9.9534, "", 0.7),
    ("Regensburg", "93047", 49.0134, 12.1016, "", 0.7),
    ("Passau", "94032", 48.5665, 13.4312, "", 0.5),
    ("Leipzig", "04109", 51.3397, 12.3731, "", 1.5),
    ("Dresden", "01067", 51.0504, 13.7373, "", 1.2),
    ("Chemnitz", "09111", 50.8278, 12.9214, "", 0.7),
    ("Halle (Saale)", "06108", 51.4825, 11.9697, "", 0.7),
    ("Magdeburg", "39104", 52.1205, 11.6276, "", 0.7),
    ("Erfurt", "99084", 50.9787, 11.0328, "", 0.7),
    ("Jena", "07743", 50.9272, 11.5861, "", 0.6),
    ("Rostock", "18055", 54.0924, 12.0991, "", 0.7),
    ("Schwerin", "19053", 53.6355, 11.4012, "", 0.5),
    ("Greifswald", "17489", 54.0865, 13.3923, "Landkreis Vorpommern-Greifswald", 0.5),
]
ADMIN_NAMES = {"Berlin": "Bezirksamt Mitte von Berlin", "Hamburg": "Bezirksamt Hamburg-Mitte",  # default: "Stadt X"
               "Bremen": "Freie Hansestadt Bremen", "Roetgen": "Gemeinde Roetgen", "Simmerath": "Gemeinde Simmerath"}

# Theme slug -> label, share of remote-ok records, org types posting it, default help type, offer weight, natural
# secondary themes, pro-bono service phrase, skills; then the need-side and the offer-side phrasings (disjoint).
THEMES: dict[str, dict] = {}
THEMES["website"] = dict(
    label="Website-Relaunch", remote=0.9, orgs="Verein Verein Initiative Bibliothek Stiftung Schule",
    help="skills", weight=1.3, pair="grafik barrierefreiheit social_media", service="die Überarbeitung von Websites",
    skills=["WordPress", "HTML/CSS", "React", "TYPO3", "Joomla", "Webhosting", "SEO", "Responsive Design"],
    need_titles=["Neue Vereinswebsite", "Relaunch unserer Homepage", "Internetauftritt modernisieren",
                 "Hilfe bei unserer Webseite"],
    need=["Unsere Website ist hoffnungslos veraltet und auf dem Handy kaum lesbar.",
          "Die Homepage hat vor über zehn Jahren jemand ehrenamtlich gebastelt, der inzwischen weggezogen ist.",
          "Wir brauchen einen frischen Internetauftritt, auf dem Termine und Ansprechpartner leicht zu finden sind.",
          "Besucherinnen und Besucher beschweren sich, dass sie auf unserer Seite nichts finden.",
          "Der Online-Auftritt soll neu aufgesetzt werden, damit mehrere Ehrenamtliche ihn ohne Vorkenntnisse pflegen.",
          "Die alte Seite läuft auf einem Baukasten, dessen Vertrag ausläuft, und die Inhalte müssen umziehen.",
          "Seit Jahren hat sich niemand um unsere Internetpräsenz gekümmert, Fotos und Öffnungszeiten stimmen nicht."],
    offer_titles=["Webentwicklung", "Websites mit WordPress & Co.", "Frontend-Hilfe", "Ich baue Webseiten"],
    offer=["Ich arbeite seit {years} Jahren als Frontend-Entwickler(in), vor allem mit {skill} und {skill2}.",
           "Beruflich baue ich Webauftritte für kleine Firmen und kenne mich gut mit {skill} aus.",
           "Ich habe schon Seiten für Sportvereine und Kitas aufgesetzt, inklusive Hosting und Einweisung.",
           "Als Informatikstudent(in) programmiere ich gern responsive Layouts und ziehe Inhalte in ein neues CMS um.",
           "Gern richte ich euch ein schlankes Redaktionssystem ein, das auch Laien bedienen können.",
           "Ich bin Webdesigner(in) und mache aus unübersichtlichen Seiten klare, mobilfreundliche Auftritte."],
    also=["Nebenbei programmiere ich auch kleinere Webseiten.",
          "Eine einfache Homepage kann ich bei Bedarf ebenfalls aufsetzen."],
    en_title="Web development",
    en=["I am a web developer with {years} years of experience in {skill} and {skill2}.",
        "I build fast, mobile-friendly websites and can migrate old content to a modern CMS.",
        "Happy to set up and host a simple website that volunteers can update themselves."])
THEMES["barrierefreiheit"] = dict(
    label="Digitale Barrierefreiheit", remote=0.9, orgs="Kommune Kreis Verein Bibliothek Stiftung",
    help="skills", weight=0.45, pair="website antraege", service="Prüfungen auf digitale Barrierefreiheit",
    skills=["WCAG 2.1", "BITV 2.0", "Screenreader-Tests", "Leichte Sprache", "Barrierefreie PDFs"],
    need_titles=["Barrierefreiheit unserer Website", "Zugängliche Online-Angebote", "Prüfung auf Barrieren"],
    need=["Blinde Nutzerinnen haben uns gemeldet, dass sie unsere Seite mit dem Vorleseprogramm nicht bedienen können.",
          "Die Vorgaben zur Zugänglichkeit sind für uns ein Dschungel, und wir wissen nicht, wo wir anfangen sollen.",
          "Unsere Formulare und PDF-Dokumente sind für Menschen mit Sehbehinderung praktisch unbrauchbar.",
          "Wir möchten prüfen lassen, ob unser Online-Angebot auch für beeinträchtigte Menschen zugänglich ist.",
          "Die Kontraste auf unserer Seite sind schwach, und ohne Maus kommt man kaum durch das Menü.",
          "Für die vorgeschriebene Erklärung zur Zugänglichkeit brauchen wir eine fachkundige Prüfung der Webseite.",
          "Viele unserer Informationen sollen zusätzlich in einfach verständlicher Form erscheinen."],
    offer_titles=["Accessibility-Tests", "Barrierefreiheit prüfen", "Leichte Sprache & zugängliche PDFs"],
    offer=["Ich teste Webanwendungen nach WCAG und BITV und schreibe verständliche Prüfberichte.",
           "Als Accessibility-Berater(in) kenne ich WCAG und BITV aus dem Effeff.",
           "Ich bin selbst sehbehindert, nutze täglich einen Screenreader und merke sofort, wo eine Seite hakt.",
           "Beruflich optimiere ich Oberflächen für Tastaturbedienung, Kontraste und assistive Technik.",
           "Ich habe eine Weiterbildung für Leichte Sprache abgeschlossen und übertrage komplizierte Texte.",
           "Ich mache PDFs und Formulare barrierefrei und zeige, wie man das künftig selbst hinbekommt."],
    also=["Auf Barrierefreiheit achte ich dabei besonders, von Kontrasten bis zu Alternativtexten.",
          "Zugänglichkeit für Menschen mit Behinderung prüfe ich gern gleich mit."],
    en_title="Accessibility audits",
    en=["I work as an accessibility specialist and audit websites against WCAG 2.1.",
        "As a screen reader user myself, I can test your site and explain what needs fixing.",
        "I can help make your PDFs and online forms accessible."])
THEMES["datenanalyse"] = dict(
    label="Datenanalyse / Statistik", remote=0.95, orgs="Kommune Kreis Verein Stiftung Initiative",
    help="skills", weight=1.0, pair="datenbank_crm fundraising", service="Datenauswertungen und Dashboards",
    skills=["Excel", "Python", "R", "SQL", "Power BI", "Statistik", "Datenvisualisierung"],
    need_titles=["Auswertung unserer Zahlen", "Hilfe bei der Umfrageauswertung", "Kennzahlen für den Jahresbericht"],
    need=["Wir sitzen auf Besucherzahlen aus vielen Jahren, aber niemand wertet die Listen sinnvoll aus.",
          "Für den Bericht an unsere Geldgeber brauchen wir aussagekräftige Zahlen und Grafiken.",
          "Unsere Befragung von {households} Haushalten ist abgeschlossen, jetzt fehlt jemand für die Auswertung.",
          "Wir möchten besser verstehen, in welchen Stadtteilen welche Angebote genutzt werden.",
          "Wir wissen nicht, ob unsere Projekte wirken, weil unsere Daten verstreut und lückenhaft sind.",
          "Daten aus mehreren Quellen sollen zusammengeführt und anschaulich aufbereitet werden."],
    offer_titles=["Datenanalyse", "Statistik & Dashboards", "Zahlen verständlich machen"],
    offer=["Ich bin Data Scientist und arbeite täglich mit {skill} und {skill2}.",
           "Als Statistiker(in) helfe ich gern, aus Umfragen und Tabellen belastbare Aussagen zu gewinnen.",
           "Ich baue Dashboards und erkläre Kennzahlen so, dass auch ein Vorstand sie versteht.",
           "In meinem Job im Controlling bereite ich seit {years} Jahren Daten auf.",
           "Ich promoviere in Sozialwissenschaften und habe viel Erfahrung mit quantitativen Methoden und {skill}.",
           "Daten bereinigen, verknüpfen und visualisieren ist genau mein Ding."],
    also=["Auswertungen in Excel oder Python mache ich bei Bedarf auch.",
          "Wer Zahlen auswerten muss, dem helfe ich gern mit Diagrammen."],
    en_title="Data analysis",
    en=["I'm a data analyst and enjoy turning messy spreadsheets into clear charts.",
        "I have {years} years of experience with Python, SQL and statistics.",
        "I can help evaluate surveys and build simple dashboards."])
THEMES["social_media"] = dict(
    label="Social Media", remote=0.9, orgs="Verein Initiative Bibliothek Kommune Stiftung",
    help="skills", weight=1.2, pair="grafik fundraising", service="Social-Media-Beratung",
    skills=["Instagram", "Facebook", "TikTok", "Canva", "Redaktionsplanung", "Community-Management", "Videoschnitt"],
    need_titles=["Mehr Sichtbarkeit im Netz", "Unterstützung für unsere Kanäle", "Jemand für Instagram & Co."],
    need=["Unsere Veranstaltungen sind toll, aber auf Instagram und Facebook erfährt davon kaum jemand.",
          "Wir erreichen junge Leute überhaupt nicht mehr und möchten dort präsent sein, wo sie unterwegs sind.",
          "Unser Facebook-Profil dümpelt mit ein paar Beiträgen im Jahr vor sich hin.",
          "Wir suchen Unterstützung, um einen Themenplan aufzustellen und regelmäßig etwas zu veröffentlichen.",
          "Um neue Ehrenamtliche zu gewinnen, wollen wir eine kleine Kampagne im Netz starten.",
          "Niemand im Team weiß so recht, was man posten soll und wie man auf Kommentare reagiert."],
    offer_titles=["Social-Media-Unterstützung", "Content & Community", "Reels, Posts und Redaktionsplan"],
    offer=["Ich betreue beruflich die Kanäle eines Mittelständlers und kenne {skill} und {skill2} in- und auswendig.",
           "Als Social-Media-Manager(in) plane ich Inhalte, schreibe Captions und werte Reichweiten aus.",
           "Ich drehe und schneide kurze Videos fürs Handy und weiß, wie man damit Aufmerksamkeit bekommt.",
           "Ich studiere Kommunikationswissenschaft und habe Spaß daran, Accounts aufzubauen.",
           "Community-Management und Redaktionspläne gehören seit {years} Jahren zu meinem Alltag.",
           "Ich kann euch zeigen, wie ihr mit wenig Aufwand regelmäßig gute Posts veröffentlicht."],
    also=["Außerdem kümmere ich mich gern um Instagram und Co.", "Social-Media-Posts kann ich gleich mitgestalten."],
    en_title="Social media support",
    en=["I manage social media channels for a living and know Instagram and TikTok well.",
        "I can create short videos and a content plan for your accounts.",
        "Happy to help your team post regularly and engage with followers."])
THEMES["it_sicherheit"] = dict(
    label="IT-Sicherheit", remote=0.8, orgs="Kommune Verein Schule Stiftung Kreis Bibliothek",
    help="skills", weight=0.8, pair="datenbank_crm senioren_digital website",
    service="Sicherheitschecks und Penetrationstests",
    skills=["Netzwerksicherheit", "Penetrationstests", "Datensicherung", "DSGVO", "Firewalls",
            "Phishing-Schulungen", "Passwortverwaltung"],
    need_titles=["Sind unsere Rechner sicher?", "Check unserer IT", "Schutz vor Hackerangriffen"],
    need=["Nach einer verdächtigen E-Mail mit Anhang sind wir verunsichert, ob unsere Rechner noch sauber sind.",
          "Unsere Adressdaten liegen auf einem alten PC im Büro, und wir haben keine Ahnung, ob das sicher ist.",
          "Wir möchten wissen, wie gut unser Netzwerk gegen Angriffe geschützt ist.",
          "Es gibt bei uns keine Datensicherung, und alle teilen sich dasselbe Passwort.",
          "Die Beschäftigten sollen lernen, gefälschte Mails zu erkennen, bevor etwas passiert.",
          "Nach Cyberangriffen auf Einrichtungen in der Nähe wollen wir unsere eigene IT durchleuchten lassen."],
    offer_titles=["IT-Sicherheitscheck", "Sicherheit & Backups", "Awareness-Schulungen"],
    offer=["Ich arbeite als Sicherheitsberater(in) und prüfe Netzwerke, Server und Arbeitsplätze auf Schwachstellen.",
           "Als Systemadministrator(in) richte ich Firewalls, Backups und Passwortmanager ein.",
           "Ich bin zertifizierte(r) Penetrationstester(in) und finde Lücken, bevor es Angreifer tun.",
           "Ich halte Awareness-Schulungen zu Phishing und sicheren Passwörtern, ganz ohne Fachchinesisch.",
           "Seit {years} Jahren beschäftige ich mich beruflich mit {skill} und {skill2}.",
           "Ich helfe kleinen Organisationen, ein realistisches Sicherheits- und Backup-Konzept aufzubauen."],
    also=["Auch bei Fragen zu Backups und Virenschutz kann ich helfen.",
          "Einen kurzen Sicherheitscheck eurer Rechner mache ich gern dazu."],
    en_title="IT security check",
    en=["I work in cybersecurity and can run a basic security check of your network.",
        "I can set up backups, a password manager and two-factor authentication.",
        "Happy to give a phishing awareness session for your staff or volunteers."])
THEMES["nachhilfe"] = dict(
    label="Nachhilfe", remote=0.3, orgs="Schule Schule Verein Initiative Bibliothek Kommune",
    help="time", weight=1.4, pair="uebersetzung gefluechtete", service="Lernförderung für Schülerinnen und Schüler",
    skills=["Mathematik", "Deutsch", "Englisch", "Physik", "Chemie", "Französisch", "Latein"],
    need_titles=["Lernpatinnen und Lernpaten gesucht", "Unterstützung bei den Hausaufgaben", "Hilfe vor den Prüfungen"],
    need=["Viele Kinder, die zu uns kommen, haben zu Hause niemanden, der bei den Hausaufgaben helfen kann.",
          "In der Hausaufgabenbetreuung fehlen uns Leute, die {skill} verständlich erklären können.",
          "Einige Kinder aus der Mittelstufe drohen sitzen zu bleiben und bräuchten eine feste Lernbegleitung.",
          "Für unsere Lernwerkstatt am Nachmittag suchen wir Ehrenamtliche mit Geduld.",
          "Jugendliche vor der Abschlussprüfung kommen in {skill} nicht mit und können sich keine Förderung leisten.",
          "Zugezogene Kinder lernen schnell, brauchen aber Unterstützung beim Lesen und Schreiben."],
    offer_titles=["Nachhilfe", "Lernhilfe mit Geduld", "Ich erkläre gern"],
    offer=["Ich bin pensionierte(r) Lehrer(in) und erkläre gern {skill}, mit viel Geduld.",
           "Ich studiere Lehramt und gebe seit {years} Jahren Nachhilfe in {skill} und {skill2}.",
           "Als Ingenieur(in) im Ruhestand habe ich Zeit und Freude daran, Jugendlichen {skill} näherzubringen.",
           "Ich lese gern mit Grundschulkindern und helfe beim Schreibenlernen.",
           "Ich bin Abiturient(in) mit sehr guten Noten in {skill} und möchte Jüngeren beim Lernen helfen.",
           "Nachmittags begleite ich gern Kinder bei ihren Aufgaben, besonders in {skill}."],
    also=["Gelegentlich gebe ich auch Nachhilfe in {skill}.",
          "Schülerinnen und Schülern helfe ich nebenbei beim Lernen."],
    en_title="Tutoring",
    en=["I'm a native English speaker and happy to tutor pupils in English.",
        "As a university student I can help children with their homework.",
        "I studied physics and enjoy explaining maths to teenagers."])
THEMES["einkaufshilfe"] = dict(
    label="Einkaufshilfe", remote=0.0, orgs="Verein Initiative Kommune Stiftung",
    help="time", weight=1.2, pair="fahrdienst senioren_digital", service="Einkaufsdienste",
    skills=["Führerschein", "Lastenrad", "Zuverlässigkeit", "Einkaufsbegleitung"],
    need_titles=["Einkaufshelferinnen und -helfer gesucht", "Wocheneinkauf für Ältere", "Besorgungsdienst"],
    need=["Mehrere ältere Menschen in unserem Viertel können ihre Wocheneinkäufe nicht mehr selbst erledigen.",
          "Wir suchen Leute, die einmal pro Woche für Menschen mit eingeschränkter Mobilität Lebensmittel besorgen.",
          "Seit der Supermarkt im Ort geschlossen hat, sind viele Seniorinnen und Senioren auf Hilfe angewiesen.",
          "Für Menschen nach einer Operation organisieren wir Besorgungen und brauchen dafür Helfende.",
          "Wir bekommen mehr Anfragen für Gänge zu Apotheke und Markt, als wir bedienen können.",
          "Wir möchten einen festen Lieferdienst für Alleinstehende aufbauen, die nicht mehr gut zu Fuß sind."],
    offer_titles=["Einkäufe erledigen", "Besorgungen in der Nachbarschaft", "Ich kaufe mit ein"],
    offer=["Ich gehe sowieso zweimal die Woche einkaufen und kann problemlos etwas für andere mitbringen.",
           "Mit meinem Lastenrad erledige ich gern Besorgungen in der Nachbarschaft.",
           "Ich bin Rentner(in), habe ein Auto und übernehme Einkäufe für Menschen, die nicht mehr rauskommen.",
           "Rezepte einlösen und Drogerieartikel holen übernehme ich zuverlässig, bis an die Haustür.",
           "Ich arbeite im Homeoffice und kann mittags kurz für jemanden zum Supermarkt laufen.",
           "Gern begleite ich ältere Menschen beim Einkaufen und trage die Taschen."],
    also=["Einkäufe für Nachbarn bringe ich auch gern mit.", "Kleine Besorgungen erledige ich nebenbei ebenfalls."],
    en_title="Grocery shopping help",
    en=["I can do grocery shopping for elderly neighbours once or twice a week.",
        "I have a car and am happy to pick up groceries or medicine for people who can't get out.",
        "I live nearby and can help with errands."])
THEMES["uebersetzung"] = dict(
    label="Übersetzung / Dolmetschen", remote=0.5, orgs="Kommune Kreis Verein Initiative Schule",
    help="skills", weight=1.0, pair="gefluechtete nachhilfe", service="Übersetzungen von Dokumenten",
    skills=["Dolmetschen", "Fachübersetzung", "Sprachmittlung", "Behördendeutsch"],
    need_titles=["Sprachmittlung gesucht", "Übersetzung unserer Infoblätter", "Dolmetschhilfe für Gespräche"],
    need=["Bei Elterngesprächen fehlt uns regelmäßig jemand, der zwischen Deutsch und {lang} vermitteln kann.",
          "Wir möchten unsere Informationsblätter auch auf {lang} anbieten, haben aber niemanden dafür.",
          "In Sprechstunden scheitern viele Gespräche an der Sprache, vor allem mit Menschen, die {lang} sprechen.",
          "Für Arztbesuche und Behördengänge suchen wir Sprachmittlerinnen und Sprachmittler für {lang}.",
          "Unsere Beratungsstelle wird zunehmend von Familien aufgesucht, die kaum Deutsch, aber {lang} sprechen.",
          "Unser Flyer und die Hausordnung sollen zusätzlich auf {lang} erscheinen."],
    offer_titles=["Übersetzen und Dolmetschen", "Sprachmittlung", "Ich übersetze"],
    offer=["{lang} ist meine Muttersprache, Deutsch spreche ich auf C1-Niveau.",
           "Ich bin vereidigte(r) Übersetzer(in) für {lang} und Deutsch.",
           "Ich habe {years} Jahre als Dolmetscher(in) gearbeitet und begleite gern zu Ämtern und Ärzten.",
           "Neben Deutsch spreche ich fließend {lang} und übertrage Texte, Briefe und Formulare.",
           "Ich studiere Translationswissenschaft mit Schwerpunkt {lang}.",
           "Zweisprachig mit Deutsch und {lang} aufgewachsen, helfe ich gern bei Gesprächen auf Augenhöhe."],
    also=["Außerdem spreche ich {lang} und kann bei Bedarf übersetzen.",
          "Ich kann zudem zwischen Deutsch und {lang} dolmetschen."],
    en_title="Translation and interpreting",
    en=["I speak {lang_en} and English fluently and can translate documents.",
        "I'm a professional translator for {lang_en} and happy to help with leaflets or letters.",
        "{lang_en} is my mother tongue and I can interpret at appointments."])
THEMES["fahrdienst"] = dict(
    label="Fahrdienste", remote=0.0, orgs="Verein Initiative Kommune Kreis Stiftung",
    help="time", weight=0.9, pair="einkaufshilfe", service="Fahrdienste",
    skills=["Führerschein Klasse B", "Personenbeförderung", "Rollstuhl-Transfer", "Ortskenntnis"],
    need_titles=["Fahrerinnen und Fahrer gesucht", "Mobil bleiben im Alter", "Ehrenamtlicher Fahrdienst"],
    need=["Ältere Menschen aus den Dörfern kommen ohne Auto kaum noch zum Arzt oder zur Tagespflege.",
          "Unser Bürgerbus braucht dringend weitere ehrenamtliche Fahrerinnen und Fahrer.",
          "Für den Seniorentreff am Donnerstag suchen wir jemanden, der Teilnehmende abholt und zurückbringt.",
          "Viele Bewohnerinnen des Seniorenheims würden gern am Gemeindeleben teilnehmen, doch es fehlt die Mitfahrt.",
          "Bus und Bahn fahren bei uns am Wochenende kaum, deshalb organisieren wir Fahrten zu Terminen und Besuchen.",
          "Wir brauchen Begleitpersonen mit Führerschein, die Menschen mit Rollator zu Arztterminen bringen."],
    offer_titles=["Fahrten übernehmen", "Ich fahre Sie hin", "Mitfahrgelegenheit"],
    offer=["Ich habe ein eigenes Auto und fahre gern Leute zum Arzt oder zum Einkaufen.",
           "Als ehemalige(r) Berufskraftfahrer(in) sitze ich gern wieder am Steuer, diesmal ehrenamtlich.",
           "Ich habe vormittags Zeit und könnte Seniorinnen und Senioren zu Terminen chauffieren.",
           "Mein Kombi hat Platz für einen zusammengeklappten Rollstuhl, ich helfe auch beim Ein- und Aussteigen.",
           "Ich fahre seit {years} Jahren unfallfrei und übernehme gern Touren im Umkreis.",
           "Gelegentliche Fahrten am Wochenende kann ich übernehmen, etwa zum Gottesdienst oder zu Familienbesuchen."],
    also=["Mit meinem Auto kann ich auch mal jemanden fahren.", "Fahrten zum Arzt übernehme ich bei Bedarf ebenfalls."],
    en_title="Volunteer driver",
    en=["I have a car and a driving licence and can drive elderly people to appointments.",
        "Happy to give lifts on weekends, for example to the doctor or to family visits.",
        "I used to work as a taxi driver and would like to volunteer as a driver."])
THEMES["gefluechtete"] = dict(
    label="Geflüchtetenhilfe", remote=0.15, orgs="Verein Initiative Kommune Kreis",
    help="time", weight=1.0, pair="uebersetzung nachhilfe", service="die Begleitung Geflüchteter im Alltag",
    skills=["Behördengänge", "Wohnungssuche", "Deutsch als Zweitsprache", "Interkulturelle Kompetenz", "Patenschaft"],
    need_titles=["Patinnen und Paten für Familien", "Begleitung im Alltag", "Unterstützung für Neuankommende"],
    need=["In der Gemeinschaftsunterkunft im Ort leben {residents} Menschen, die Begleitung im Alltag brauchen.",
          "Neu angekommene Familien wissen oft nicht, wie sie einen Termin bei der Ausländerbehörde bekommen.",
          "Wir suchen Patinnen und Paten, die geflüchtete Familien in den ersten Monaten an die Hand nehmen.",
          "Bei der Wohnungssuche stoßen die Menschen, die wir betreuen, auf viele Hürden.",
          "Unser Sprachcafé hat großen Zulauf, aber zu wenige Ehrenamtliche, die mit den Gästen ins Gespräch kommen.",
          "Schutzsuchende brauchen Hilfe beim Ausfüllen von Formularen und beim Verstehen von Briefen."],
    offer_titles=["Begleitung für Neuankommende", "Patenschaft", "Alltagshilfe für Geflüchtete"],
    offer=["Ich bin vor Jahren selbst nach Deutschland geflüchtet und weiß, wie schwer der Anfang ist.",
           "Ich begleite gern zu Ämtern, Banken und Vermietern und erkläre, wie die Dinge hier laufen.",
           "Als Sozialarbeiter(in) kenne ich mich mit Aufenthaltsrecht und Sozialleistungen gut aus.",
           "Ich möchte eine Patenschaft für eine Familie übernehmen und regelmäßig für sie da sein.",
           "Deutsch üben im Gespräch, beim Kochen oder Spazierengehen, dafür nehme ich mir gern Zeit.",
           "Ich unterstütze bei der Wohnungssuche, schreibe Anschreiben und gehe mit zu Besichtigungen."],
    also=["Außerdem begleite ich Geflüchtete gern zu Terminen.", "Neuankömmlingen helfe ich nebenbei im Alltag."],
    en_title="Support for newcomers",
    en=["I arrived in Germany as a refugee myself and would like to help newcomers settle in.",
        "I can accompany families to appointments and help with letters from the authorities.",
        "Happy to practise German with newcomers over coffee."])
THEMES["antraege"] = dict(
    label="Digitalisierung von Anträgen", remote=0.85, orgs="Kommune Kommune Kreis",
    help="skills", weight=0.55, pair="website barrierefreiheit datenbank_crm",
    service="die Digitalisierung von Formularen",
    skills=["Formularserver", "OZG", "Prozessmodellierung", "BPMN", "Low-Code", "E-Government", "UX-Design"],
    need_titles=["Online-Anträge statt Papier", "Formulare digitalisieren", "Unterstützung bei der OZG-Umsetzung"],
    need=["Anträge auf Zuschüsse bearbeiten wir immer noch auf Papier und tippen alles doppelt ab.",
          "Nach dem Onlinezugangsgesetz sollen unsere Leistungen digital werden, doch uns fehlt das Personal.",
          "Bürgerinnen und Bürger müssen für jede Anmeldung persönlich vorbeikommen, das wollen wir ändern.",
          "Unser Anmeldeformular ist ein PDF zum Ausdrucken, Unterschreiben und Einscannen, das schreckt viele ab.",
          "Die Anmeldung zur Ferienbetreuung soll endlich im Browser funktionieren, mit automatischer Bestätigung.",
          "Die Abläufe hinter unseren Formularen sind historisch gewachsen und müssten erst sauber erfasst werden."],
    offer_titles=["Formulare & Workflows", "E-Government-Erfahrung", "Online-Anträge bauen"],
    offer=["Ich arbeite bei einem IT-Dienstleister für Kommunen und setze Online-Verfahren nach dem OZG um.",
           "Prozesse analysieren und in BPMN modellieren gehört zu meinem Berufsalltag.",
           "Mit Low-Code-Werkzeugen baue ich in kurzer Zeit Eingabemasken samt Workflow und Benachrichtigungen.",
           "Als UX-Designer(in) sorge ich dafür, dass digitale Anträge verständlich sind und fertig ausgefüllt werden.",
           "Ich habe {years} Jahre in einer Verwaltung gearbeitet und kenne E-Government-Projekte von innen.",
           "Ich entwickle Webformulare mit Validierung, Datei-Upload und Schnittstellen zu Fachverfahren."],
    also=["Papierformulare in Online-Formulare zu überführen, reizt mich ebenfalls.",
          "Bei der Digitalisierung von Antragsprozessen kann ich auch helfen."],
    en_title="Digital forms and workflows",
    en=["I build online forms and workflows with low-code tools.",
        "I have worked on e-government projects and know how to digitise paper-based processes.",
        "As a UX designer I can make your online application forms easier to complete."])
THEMES["grafik"] = dict(
    label="Grafikdesign", remote=0.9, orgs="Verein Initiative Bibliothek Stiftung Schule Kommune",
    help="skills", weight=1.1, pair="social_media website", service="die Gestaltung von Logos und Drucksachen",
    skills=["Adobe InDesign", "Illustrator", "Canva", "Corporate Design", "Logo-Design", "Typografie"],
    need_titles=["Neues Logo und Flyer", "Gestaltung unseres Jahresberichts", "Einheitlicher Auftritt gesucht"],
    need=["Unser Logo stammt aus den Neunzigern und passt nicht mehr zu dem, was wir heute sind.",
          "Für das Sommerfest brauchen wir Plakate und Handzettel, die ins Auge fallen.",
          "Jeder bei uns gestaltet Einladungen anders, uns fehlt ein einheitliches Erscheinungsbild.",
          "Der Jahresbericht soll dieses Mal professionell gesetzt und mit Infografiken versehen werden.",
          "Wir brauchen ansprechende Vorlagen für Aushänge, die wir danach selbst befüllen können.",
          "Unsere Broschüre wirkt altbacken und textlastig, sie soll luftiger und moderner werden."],
    offer_titles=["Grafikdesign", "Logos, Flyer, Plakate", "Gestaltung für gute Zwecke"],
    offer=["Ich bin Grafikdesigner(in) und entwickle Logos, Poster und ganze Erscheinungsbilder.",
           "Als ausgebildete(r) Mediengestalter(in) arbeite ich mit {skill} und {skill2}.",
           "Ich illustriere gern und gestalte Flyer, die Lust auf Veranstaltungen machen.",
           "Seit {years} Jahren setze ich Broschüren und Magazine für Agenturen.",
           "Ich studiere Kommunikationsdesign und suche sinnvolle Projekte für mein Portfolio.",
           "Einfache Templates, die ihr danach selbst anpassen könnt, sind meine Spezialität."],
    also=["Grafisch gestalte ich auch gern Flyer und Plakate.",
          "Ein Logo oder ein paar Vorlagen kann ich ebenfalls entwerfen."],
    en_title="Graphic design",
    en=["I'm a graphic designer and can create logos, posters and flyers.",
        "I work with InDesign and Illustrator and love designing for good causes.",
        "I can design simple templates your team can reuse."])
THEMES["fundraising"] = dict(
    label="Fundraising / Förderanträge", remote=0.85, orgs="Verein Initiative Stiftung Schule Bibliothek",
    help="skills", weight=0.6, pair="social_media buchhaltung", service="Beratung zu Förderanträgen",
    skills=["Förderanträge", "Stiftungsrecherche", "Crowdfunding", "Spendenbriefe", "Projektbudget", "EU-Förderung"],
    need_titles=["Hilfe beim Förderantrag", "Anschlussfinanzierung gesucht", "Spenden gewinnen"],
    need=["Unser Projekt läuft Ende des Jahres aus, und wir haben noch keine Anschlussfinanzierung.",
          "Es gäbe sicher passende Stiftungen und Programme, aber niemand hat Zeit, sich durch Richtlinien zu kämpfen.",
          "Für einen Antrag bei der Aktion Mensch brauchen wir Hilfe beim Finanzplan und bei der Projektbeschreibung.",
          "Die Spendeneinnahmen sinken seit Jahren, und wir möchten neue Unterstützerinnen und Unterstützer gewinnen.",
          "Wir planen eine Crowdfunding-Kampagne für einen neuen Spielplatz und haben so etwas noch nie gemacht.",
          "Bei EU-Mitteln blicken wir überhaupt nicht durch, obwohl unser Vorhaben gut hineinpassen würde."],
    offer_titles=["Fundraising", "Förderanträge schreiben", "Fördermittel finden"],
    offer=["Ich habe als Referent(in) einer Stiftung viele Anträge begutachtet und weiß, worauf es ankommt.",
           "Ich schreibe seit {years} Jahren erfolgreiche Projektanträge und Verwendungsnachweise.",
           "Fundraising ist mein Beruf, von Spendenbriefen bis zur Pflege von Großspendern.",
           "Ich recherchiere passende Fördertöpfe und helfe, Budget und Zeitplan schlüssig aufzustellen.",
           "Mit Crowdfunding habe ich schon mehrere Vereinsprojekte finanziert.",
           "Als Betriebswirt(in) kann ich Kalkulationen erstellen und Zahlen überzeugend darstellen."],
    also=["Bei Förderanträgen helfe ich bei Bedarf ebenfalls.", "Einen Spendenaufruf formuliere ich auch gern mit."],
    en_title="Grant writing and fundraising",
    en=["I have written many successful grant applications and can help with yours.",
        "I work in fundraising and can help you find foundations and plan a campaign.",
        "I can help draft budgets and project descriptions for funding bids."])
THEMES["veranstaltungstechnik"] = dict(
    label="Veranstaltungstechnik", remote=0.05, orgs="Verein Initiative Kommune Schule Bibliothek",
    help="skills", weight=0.6, pair="social_media grafik", service="Ton- und Lichttechnik bei Veranstaltungen",
    skills=["Tontechnik", "Lichttechnik", "Mischpult", "Livestream", "Bühnenbau", "Projektion"],
    need_titles=["Technik für unser Fest", "Ton und Licht gesucht", "Hilfe bei Aufbau und Beschallung"],
    need=["Bei unserem Stadtteilfest im Sommer fehlt noch jemand, der sich um Ton und Licht kümmert.",
          "Unser Saal hat eine Anlage, aber seit der Hausmeister in Rente ist, kann sie niemand mehr bedienen.",
          "Unsere Lesungen sollen künftig auch live ins Internet übertragen werden.",
          "Bei den letzten Konzerten hat es gepfiffen und gerauscht, wir brauchen jemanden, der das im Griff hat.",
          "Für eine Podiumsdiskussion mit rund {guests} Gästen suchen wir Unterstützung bei Mikrofonen und Projektion.",
          "Wir bauen jedes Jahr eine kleine Bühne auf dem Marktplatz auf und brauchen technisch versierte Hände."],
    offer_titles=["Tontechnik", "Licht, Ton, Stream", "Technik bei Events"],
    offer=["Ich mache seit {years} Jahren Sound für Bands und kleine Festivals.",
           "Als Veranstaltungstechniker(in) kenne ich mich mit {skill} und {skill2} aus.",
           "Ich bediene Mischpult und Lichtsteuerung und bringe bei Bedarf eigenes Equipment mit.",
           "Streams mit mehreren Kameras habe ich schon oft eingerichtet.",
           "Ich packe beim Auf- und Abbau mit an und sorge dafür, dass alles richtig verkabelt ist.",
           "In der Theater-AG habe ich früher die Technik gemacht und würde das gern wieder tun."],
    also=["Bei Veranstaltungen kümmere ich mich auch mal um die Technik.",
          "Ton und Beamer aufbauen kann ich ebenfalls."],
    en_title="Event technology",
    en=["I'm a sound engineer and can run audio for your event.",
        "I can set up a livestream with cameras and microphones.",
        "Happy to help with lights, sound and stage setup at community events."])
THEMES["datenbank_crm"] = dict(
    label="Datenbank / CRM", remote=0.9, orgs="Verein Verein Stiftung Initiative",
    help="skills", weight=0.7, pair="datenanalyse antraege", service="die Einführung von CRM-Systemen",
    skills=["SQL", "CiviCRM", "Airtable", "Microsoft Access", "Salesforce", "Datenmigration", "PostgreSQL"],
    need_titles=["Ordnung in unsere Mitgliederdaten", "Neue Kontaktverwaltung", "Ablösung unserer Datenbank"],
    need=["Unsere Mitgliederverwaltung besteht aus drei Excel-Tabellen, die sich gegenseitig widersprechen.",
          "Wir suchen eine einfache Lösung, um Spender, Kontakte und Korrespondenz an einem Ort zu verwalten.",
          "Die Access-Anwendung, mit der wir Ehrenamtliche koordinieren, stürzt ständig ab.",
          "Wer wann welche Spendenquittung bekommen hat, können wir nur mühsam nachvollziehen.",
          "Beim Wechsel auf ein neues Verwaltungsprogramm müssen tausende Datensätze sauber übertragen werden.",
          "Adressen, Einsätze und Qualifikationen der Helfenden sollen zentral und datenschutzkonform erfasst sein."],
    offer_titles=["Datenbanken & CRM", "Mitgliederverwaltung einrichten", "Datenmigration"],
    offer=["Ich bin Datenbankentwickler(in) und kenne mich seit {years} Jahren mit {skill} aus.",
           "CRM-Systeme einführen und anpassen ist mein täglich Brot, zuletzt für einen Wohlfahrtsverband.",
           "Ich migriere Daten aus alten Tabellen in saubere Strukturen und kümmere mich um Dubletten.",
           "Als Backend-Entwickler(in) modelliere ich Datenmodelle und habe viel Erfahrung mit {skill} und {skill2}.",
           "Ich habe für mehrere Vereine eine Mitgliederverwaltung aufgesetzt und das Team darin geschult.",
           "Mit Airtable und ähnlichen Werkzeugen baue ich schnell praktische Verwaltungsanwendungen."],
    also=["Datenbanken und Mitgliederverwaltungen richte ich auch ein.",
          "Beim Aufräumen von Adresslisten helfe ich ebenfalls."],
    en_title="Databases and CRM",
    en=["I'm a database developer and can clean up and migrate your member data.",
        "I have set up CRM systems like CiviCRM and Salesforce for nonprofits.",
        "Happy to build a simple Airtable base to manage your volunteers."])
THEMES["senioren_digital"] = dict(
    label="Senioren-Digitalbegleitung", remote=0.1, orgs="Bibliothek Verein Kommune Initiative Stiftung",
    help="time", weight=1.1, pair="einkaufshilfe it_sicherheit",
    service="Smartphone-Kurse für Seniorinnen und Senioren",
    skills=["Smartphone", "Tablet", "WhatsApp", "Videotelefonie", "Online-Banking", "Android", "iPhone"],
    need_titles=["Handy-Sprechstunde für Ältere", "Digitale Begleitung im Alter", "Technikhilfe im Seniorentreff"],
    need=["Viele Gäste unseres Seniorentreffs haben ein neues Telefon geschenkt bekommen und kommen damit nicht klar.",
          "Ältere Menschen fragen immer häufiger, wie sie mit den Enkeln per Video sprechen können.",
          "Für eine wöchentliche Sprechstunde suchen wir geduldige Menschen, die Technik erklären.",
          "Seit die Bankfiliale geschlossen hat, müssen viele Ältere Überweisungen im Internet erledigen.",
          "Wir möchten Hochbetagten im Heim zeigen, wie sie Fotos anschauen und Nachrichten verschicken.",
          "Bei Terminbuchungen übers Internet sind viele ältere Menschen auf fremde Hilfe angewiesen."],
    offer_titles=["Smartphone-Hilfe für Ältere", "Technik geduldig erklärt", "Digitalpat(in)"],
    offer=["Ich erkläre älteren Menschen gern Schritt für Schritt, wie Handy und Tablet funktionieren.",
           "Meiner Oma habe ich das Videotelefonieren beigebracht, und das möchte ich gern auch für andere tun.",
           "Ich bin geduldig, kenne Android und iPhone und kann auch Online-Banking sicher einrichten.",
           "Als Schüler(in) habe ich in einem Projekt schon Seniorinnen und Senioren bei WhatsApp geholfen.",
           "Ich arbeite im Handyladen und erkläre Technik jeden Tag ganz ohne Fachbegriffe.",
           "Eine regelmäßige Fragestunde rund ums Smartphone würde ich gern anbieten."],
    also=["Älteren Menschen erkläre ich auch gern ihr Smartphone.",
          "Fragen rund um Handy und Tablet beantworte ich nebenbei ebenfalls."],
    en_title="Smartphone help for seniors",
    en=["I enjoy helping older people use their smartphones and tablets.",
        "I can show seniors how to make video calls and use messaging apps.",
        "Patient and friendly, happy to run a smartphone help desk."])
THEMES["buchhaltung"] = dict(
    label="Buchhaltung / Vereinsfinanzen", remote=0.7, orgs="Verein Verein Initiative Stiftung",
    help="skills", weight=0.5, pair="fundraising datenbank_crm",
    service="Unterstützung bei Buchhaltung und Jahresabschluss",
    skills=["Buchhaltung", "DATEV", "Gemeinnützigkeitsrecht", "Steuererklärung", "Kassenprüfung", "Lexware"],
    need_titles=["Neue Kassenführung gesucht", "Hilfe bei den Vereinsfinanzen", "Steuerfragen im Verein"],
    need=["Unser Kassenwart hört nach zwanzig Jahren auf, und niemand traut sich die Finanzen zu.",
          "Die Belege des letzten Jahres liegen in Schuhkartons, und die Steuererklärung steht an.",
          "Wir sind unsicher, ob die Einnahmen aus dem Sommerfest unsere Gemeinnützigkeit gefährden.",
          "Die Buchführung soll von Papier auf eine Software umgestellt werden, und dabei brauchen wir Begleitung.",
          "Für die Prüfung unserer Kasse suchen wir eine Person mit kaufmännischem Hintergrund.",
          "Zuwendungsbestätigungen erstellen wir bisher von Hand, was viele Fehler produziert."],
    offer_titles=["Buchhaltung für Vereine", "Vereinskasse & Steuern", "Kaufmännische Hilfe"],
    offer=["Ich bin Steuerfachangestellte(r) und kenne die Besonderheiten gemeinnütziger Körperschaften.",
           "Als Bilanzbuchhalter(in) kenne ich mich seit {years} Jahren bestens mit {skill} aus.",
           "Ich war lange Schatzmeister(in) in einem Sportverein und weiß, wie man eine Kasse sauber führt.",
           "Belege sortieren, Konten abstimmen und einen Jahresabschluss vorbereiten mache ich gern.",
           "Ich habe BWL studiert und helfe beim Umstieg auf eine Buchhaltungssoftware wie DATEV oder Lexware.",
           "Im Ruhestand habe ich Zeit, Vereinen bei Kassenbuch und Steuer unter die Arme zu greifen."],
    also=["Bei der Vereinskasse kann ich auch aushelfen.", "Buchhaltungsfragen kläre ich bei Bedarf gleich mit."],
    en_title="Bookkeeping for associations",
    en=["I'm an accountant and can help your association with bookkeeping.",
        "I can help you switch from paper to accounting software.",
        "Happy to prepare annual accounts or review your books."])
LANGS = [("ar", "Arabisch", "Arabic"), ("uk", "Ukrainisch", "Ukrainian"), ("fa", "Farsi", "Farsi"),
         ("tr", "Türkisch", "Turkish"), ("en", "Englisch", "English"), ("ru", "Russisch", "Russian"),
         ("ti", "Tigrinya", "Tigrinya"), ("ps", "Paschtu", "Pashto"), ("pl", "Polnisch", "Polish")]

# --- need-side fragments (organisations describing a problem) ---
NEED_OPENINGS = {
    "Kommune": ["Die Stadtverwaltung sucht für ein Vorhaben Unterstützung aus der Bürgerschaft.",
                "Wir sind ein kleines Team in der Verwaltung und haben mehr Aufgaben als Hände.",
                "Als Kommune wollen wir näher an die Bürgerinnen und Bürger rücken."],
    "Kreis": ["Die Kreisverwaltung arbeitet eng mit vielen Ehrenamtlichen in den Gemeinden zusammen.",
              "In unserem ländlich geprägten Kreis sind die Wege weit und die Ressourcen knapp."],
    "Verein": ["Wir sind ein gemeinnütziger Verein mit rund {members} Mitgliedern, fast alle ehrenamtlich aktiv.",
               "Unser Verein besteht seit über {org_age} Jahren und lebt vom Engagement seiner Mitglieder."],
    "Initiative": ["Wir sind eine kleine Nachbarschaftsinitiative ohne hauptamtliche Kräfte.",
                   "Unsere Initiative ist vor ein paar Jahren aus einem Stammtisch entstanden."],
    "Schule": ["An unserer Schule lernen rund {pupils} Kinder und Jugendliche aus vielen Nationen.",
               "Das Kollegium ist am Limit und freut sich über jede helfende Hand von außen."],
    "Bibliothek": ["Unsere Bibliothek versteht sich als offener Treffpunkt für alle Generationen.",
                   "Als Stadtteilbücherei haben wir wenig Personal, aber viele Ideen."],
    "Stiftung": ["Unsere Stiftung fördert seit Jahren Projekte für den Zusammenhalt vor Ort.",
                 "Als kleine Bürgerstiftung arbeiten wir fast ausschließlich mit Ehrenamtlichen."],
}
NEED_REMOTE = {True: ["Die Zusammenarbeit kann weitgehend online stattfinden.",
                      "Ein Kennenlerntreffen wäre schön, der Rest geht auch per Videocall.",
                      "Wo die helfende Person wohnt, spielt für uns keine Rolle."],
               False: ["Die Unterstützung wird direkt vor Ort in {town} gebraucht.",
                       "Wer aus {town} oder Umgebung kommt, ist klar im Vorteil.",
                       "Wichtig ist, dass man regelmäßig persönlich vorbeikommen kann."]}
NEED_TIME = ["Wir rechnen mit etwa {hours} Stunden pro Woche.", "Los gehen soll es im {month}.",
             "Der Aufwand dürfte bei {hours} Stunden in der Woche liegen, zunächst bis {end_month}.",
             "Das Vorhaben ist vorerst bis {end_month} angelegt."]
NEED_MUST = ["Voraussetzung: {must}.", "Unbedingt nötig: {must}.", "Ein Muss für diese Aufgabe: {must}."]
NEED_HELP = {"training": ["Am liebsten hätten wir eine Schulung, damit wir das künftig selbst stemmen können."],
             "service": ["Gern auch als Dienstleistung eines Unternehmens, das sich ohne Honorar engagiert."],
             "goods": ["Über Sachspenden, etwa gebrauchte Geräte, würden wir uns ebenfalls freuen."],
             "money": ["Auch eine direkte finanzielle Zuwendung wäre herzlich willkommen."]}
NEED_CLOSINGS = ["Wir freuen uns über jede Rückmeldung!", "Bei Interesse melden Sie sich gern über die Plattform.",
                 "Für jede Unterstützung sind wir dankbar.", "Fragen beantworten wir gern in einem kurzen Telefonat.",
                 "Gemeinsam bekommen wir das hin!"]
UNITS = {  # departments of a Kommune / Kreis, by the kind of theme they post
    "digital": ["Amt für Digitalisierung", "Stabsstelle Digitalisierung", "Bürgerbüro", "Hauptamt, IT-Abteilung"],
    "sozial": ["Sozialamt", "Seniorenbüro", "Fachbereich Soziales", "Ehrenamtsbüro", "Amt für Senioren und Pflege"],
    "integration": ["Integrationsbüro", "Kommunales Integrationszentrum", "Sozialamt"],
    "bildung": ["Amt für Schule und Jugend", "Bildungsbüro", "Jugendamt"],
    "kultur": ["Kulturamt", "Stadtmarketing", "Stabsstelle Bürgerengagement"],
}
UNIT_OF_THEME = {"nachhilfe": "bildung", "einkaufshilfe": "sozial", "fahrdienst": "sozial", "grafik": "kultur",
                 "senioren_digital": "sozial", "uebersetzung": "integration", "gefluechtete": "integration",
                 "veranstaltungstechnik": "kultur", "social_media": "kultur"}
ORG_NAMES = {
    "Verein": ["Tafel {town} e.V.", "Nachbarschaftshilfe {town} e.V.", "Heimatverein {town} e.V.",
               "TuS {town} 1921 e.V.", "Kulturverein {town} e.V.", "Förderverein Jugendzentrum {town} e.V.",
               "Seniorenhilfe {town} e.V.", "Freundeskreis Asyl {town} e.V.", "Bürgerverein {town}-Mitte e.V."],
    "Initiative": ["Initiative Willkommen in {town}", "Repair-Café {town}", "Nachbarschaftsnetz {town}",
                   "Offenes Digitallabor {town}", "Elterninitiative {town}"],
    "Schule": ["Geschwister-Scholl-Gymnasium {town}", "Gesamtschule {town}", "Städtische Realschule {town}",
               "Anne-Frank-Grundschule {town}", "Marie-Curie-Gymnasium {town}", "Berufskolleg {town}"],
    "Bibliothek": ["Stadtbibliothek {town}", "Stadtteilbibliothek {town}-Nord", "Öffentliche Bücherei {town}"],
    "Stiftung": ["Bürgerstiftung {town}", "Stiftung Miteinander {town}", "Stiftung Lebenswertes {town}"],
}

# --- offer-side fragments (people describing themselves) ---
OFFER_OPENINGS = ["Hallo zusammen!", "Ich wohne in {town} und habe neben dem Alltag etwas Zeit übrig.",
                  "Ich möchte mich gern ehrenamtlich engagieren.", "Gern bringe ich mich für eine gute Sache ein.",
                  "Ich bin vor Kurzem nach {town} gezogen und möchte hier Anschluss finden.",
                  "Ein paar Stunden im Monat möchte ich gern sinnvoll verschenken."]
OFFER_AVAIL = ["Zeitlich sind bei mir rund {hours_de} wöchentlich drin.", "Verfügbar bin ich vor allem {wd}."]
OFFER_REMOTE = {True: ["Am liebsten arbeite ich remote, Treffen per Video sind kein Problem.",
                       "Von zu Hause aus geht bei mir am meisten."],
                False: ["Ich bin in {town} und im Umkreis von etwa {radius} Kilometern unterwegs.",
                        "Persönliche Treffen sind mir lieber als Videocalls."]}
OFFER_MOTIVES = ["Mir ist wichtig, dass mein Wissen etwas bewirkt.", "Ehrenamt gibt mir viel zurück.",
                 "Gute Arbeit sollte nicht am Geld scheitern, finde ich.", "Zusammenhalt vor Ort liegt mir am Herzen."]
OFFER_CLOSINGS = ["Meldet euch einfach!", "Ich freue mich auf Anfragen.",
                  "Gern erst einmal ein unverbindliches Kennenlernen.", "Schreibt mir über die Plattform."]
CONDITIONS = ["Ich helfe nur, wenn die Einsätze nach 18 Uhr stattfinden.",
              "Ich mache das nur, wenn es eine feste Ansprechperson im Team gibt.",
              "Ich übernehme das, sofern die Fahrtkosten erstattet werden.",
              "Ich bin dabei, wenn das Projekt in spätestens drei Monaten abgeschlossen ist.",
              "Ich unterstütze nur gemeinnützige Organisationen ohne parteipolitische Bindung."]
THEME_CONDITIONS = {"website": "Ich baue die Website, wenn jemand die Texte schreibt.",
                    "grafik": "Ich gestalte gern, wenn ich das Ergebnis in mein Portfolio aufnehmen darf.",
                    "nachhilfe": "Ich gebe Nachhilfe, wenn die Treffen in einer Bibliothek oder Schule stattfinden."}
GENERIC = ["Ich helfe gern, wo Not am Mann ist.", "Egal was, ich packe mit an.",
           "Seit ich in Rente bin, suche ich eine Aufgabe, bei der ich anpacken kann.",
           "Ich habe gerade mehr Zeit als sonst und möchte mich irgendwo sinnvoll einbringen.",
           "Für ein Ehrenamt habe ich Zeit und Energie, nur noch keine konkrete Idee.",
           "Ich bin zuverlässig, kontaktfreudig und habe zwei freie Nachmittage pro Woche."]
GENERIC_HINTS = [("Ein Auto habe ich auch, falls mal jemand gefahren werden muss.", "fahrdienst"),
                 ("Auch Einkäufe oder kleine Besorgungen wären kein Problem.", "einkaufshilfe"),
                 ("Mit Handys und Computern kenne ich mich ein bisschen aus.", "senioren_digital"),
                 ("Mit Neuankömmlingen Deutsch zu üben, könnte ich mir gut vorstellen.", "gefluechtete"),
                 ("Bei Festen helfe ich auch gern beim Aufbau.", "veranstaltungstechnik")]
EN_OPENINGS = ["Hi there!", "I recently moved to {town} and would like to get involved locally.",
               "I'm an expat living in {town} and my German is still basic."]
EN_DETAILS = {True: ["I can spare about {hours_en} a week.", "I'm mostly available {wd_en}.",
                     "Remote work suits me best."],
              False: ["I can spare about {hours_en} a week.", "I'm mostly available {wd_en}.",
                      "I'd rather meet in person than on video calls."]}
EN_CLOSINGS = ["Feel free to get in touch!", "Looking forward to hearing from you.", "Just drop me a message."]
COMPANY = (["Nordlicht", "Pixelwerk", "Datenfluss", "Rheinblick", "Klartext", "Eifelbyte", "Lindenhof", "Feldstein"],
           ["IT GmbH", "Digital GmbH", "Consulting GmbH", "Systems GmbH", "Medien GmbH", "Software AG"])
COMPANY_TEXT = [["Wir sind die {company}, ein Dienstleister mit rund {staff} Beschäftigten in {town}.",
                 "Die {company} aus {town} engagiert sich seit einigen Jahren für das Gemeinwohl."],
                ["Im Rahmen unseres Corporate-Volunteering-Programms stellen wir {days} Arbeitstage pro bono für "
                 "{service} zur Verfügung.",
                 "Unser Team bietet gemeinnützigen Organisationen kostenlos {days} Tage für {service} an."],
                ["Unsere Fachleute kennen sich mit {skill} und {skill2} aus.",
                 "Vereine und Kommunen können sich mit einer kurzen Beschreibung ihres Vorhabens melden."]]
TRAINING_TEXT = [["Ich bin Dozent(in) an einer Volkshochschule und gebe mein Wissen gern weiter.",
                  "Als Trainer(in) in der Erwachsenenbildung biete ich ehrenamtlich Kurse an."],
                 ["Mein kostenloser Workshop zum Thema „{label}“ richtet sich an Ehrenamtliche ohne Vorkenntnisse.",
                  "Ich biete eine Schulung „{label}“ für Teams aus Vereinen und Verwaltungen an."],
                 ["Der Kurs dauert {course} Stunden, bis zu {seats} Personen können teilnehmen.",
                  "Den Termin stimme ich gern mit der Gruppe ab."]]
SPECIAL = [  # (offer_type, main, secondary, title, text, remote)
    ("goods", "senioren_digital", "nachhilfe", "Laptops abzugeben", "Unsere Firma hat ihre Rechner erneuert und gibt "
     "{qty} aufbereitete Laptops kostenlos ab. Die Festplatten sind sicher gelöscht, Linux ist installiert.", False),
    ("goods", "veranstaltungstechnik", "", "Beschallungsanlage zu verschenken", "Ich verschenke eine funktionierende "
     "Anlage mit zwei Aktivboxen, Mischpult und Funkmikrofon. Abholung nach Absprache.", False),
    ("goods", "senioren_digital", "", "Tablets für die Seniorenarbeit", "Aus einem abgeschlossenen Projekt sind {qty} "
     "Tablets mit Hülle übrig, die wir an eine gemeinnützige Einrichtung weitergeben möchten.", False),
    ("money", "fundraising", "", "Zuschuss für Digitalprojekte", "Unser Unternehmen stellt in diesem Jahr {euros} Euro "
     "für digitale Projekte im Ehrenamt bereit. Bewerben können sich Vereine mit einer kurzen Projektskizze.", True),
    ("money", "fundraising", "", "Spende für ein Vorhaben vor Ort", "Als Familie spenden wir jedes Jahr einen festen "
     "Betrag, dieses Mal {euros} Euro, am liebsten für ein konkretes Vorhaben in der Nähe.", True),
    ("event", "antraege", "datenanalyse", "Civic-Tech-Hackathon", "Im {month} veranstalten wir ein Wochenende lang "
     "einen Hackathon, bei dem Freiwillige digitale Werkzeuge für Ämter bauen. Wir suchen echte Aufgaben.", False),
    ("event", "senioren_digital", "", "Repair-Café mit Handy-Sprechstunde", "Jeden ersten Samstag im Monat öffnen wir "
     "ein Repair-Café, in dem wir auch Fragen rund um Smartphone und Tablet beantworten.", False),
    ("event", "social_media", "grafik", "Praxistag Social Media", "Wir laden Vereine zu einem Praxistag ein, an dem "
     "Profis Kanäle durchsehen, Tipps geben und gemeinsam Beiträge planen.", False),
]
FIRST_F = "Anna Lena Marie Sophie Julia Laura Sarah Katharina Johanna Elif Fatma Olena Miriam Petra Hannah".split()
FIRST_M = "Jonas Lukas Felix Paul Tobias Stefan Michael Thomas Jan Mehmet Ahmad Dmytro Karl Jürgen Omar Niklas".split()
FIRST_EN = ("Emily Olivia Grace Chloe Priya Maria".split(), "James Daniel Ryan Liam Arjun Lucas".split())
LAST = ("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Klein Wolf Schröder "
        "Neumann Braun Zimmermann Krüger Hartmann Lange Krause Lehmann Köhler Yılmaz Kaya Nowak Kovalenko Haddad "
        "Rahimi Jansen Offermann Kreutzer Schmitz Kohnen Lennartz").split()
LAST_EN = "Smith Walsh Patel Garcia Nguyen Brown Murphy Silva".split()
WEEKDAYS = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"]
MONTHS = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split()
NUMBER_WORDS = "null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf".split()
DOMAINS = ["example.org", "example.com", "example.net"]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def gendered(text: str, female: bool) -> str:
    """Resolve 'Lehrer(in)', 'ehemalige(r)', 'ein(e)' for one person."""
    return re.sub(r"\((in|e|r)\)", lambda m: (m.group(1) != "r") == female and m.group(1) or "", text)


def words(n: int) -> str:
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)


class Contacts:
    """Invented names with unique example.* emails and unique +49 151 99xxxxxx phone numbers."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng, self.phones, self.seen = rng, rng.sample(range(1_000_000), count), Counter()

    def make(self, female: bool, english: bool = False) -> tuple[str, str, str]:
        rng = self.rng
        first = rng.choice((FIRST_EN[0] if female else FIRST_EN[1]) if english else (FIRST_F if female else FIRST_M))
        last = rng.choice(LAST_EN if english else LAST)
        local = f"{first}.{last}".lower()
        for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("ı", "i")):
            local = local.replace(a, b)
        self.seen[local] += 1
        if self.seen[local] > 1:
            local += str(self.seen[local])
        return f"{first} {last}", f"{local}@{rng.choice(DOMAINS)}", f"+49 151 99{self.phones.pop():06d}"


def pick_town(rng: random.Random) -> tuple:
    return rng.choices(TOWNS, weights=[t[5] for t in TOWNS])[0]


def random_span(rng: random.Random, first: dt.date, spread: int, low: int, high: int) -> tuple[dt.date, dt.date]:
    start = first + dt.timedelta(days=rng.randint(0, spread))
    return start, min(start + dt.timedelta(days=rng.randint(low, high)), dt.date(2027, 12, 31))


def organisation(rng: random.Random, org_type: str, town: tuple, key: str) -> str:
    name, kreis = town[0], town[4]
    unit = rng.choice(UNITS[UNIT_OF_THEME.get(key, "digital")])
    if org_type == "Kommune":
        return f"{ADMIN_NAMES.get(name, 'Stadt ' + name)}, {unit}"
    if org_type == "Kreis":
        return f"{kreis}, {unit}"
    return rng.choice(ORG_NAMES[org_type]).format(town=name)


def fill(template: str, ctx: dict, female: bool = False) -> str:
    return gendered(template.format(**ctx), female)


def make_need(rng: random.Random, number: int, key: str, contacts: Contacts) -> tuple[dict, dict]:
    theme = THEMES[key]
    org_types = theme["orgs"].split()
    org_type = rng.choice(org_types)
    town = pick_town(rng)
    while org_type == "Kreis" and not town[4]:
        town = pick_town(rng)
    remote = rng.random() < theme["remote"]
    start, end = random_span(rng, dt.date(2026, 1, 5), 340, 30, 365)
    lang = rng.choice(LANGS)
    s1, s2 = rng.sample(theme["skills"], 2)
    hours = rng.randint(2, 4) if theme["help"] == "time" else rng.randint(2, 10)
    no_must = ("einkaufshilfe", "fahrdienst", "gefluechtete")
    must = [s1, s2][: rng.choice([1, 1, 2])] if rng.random() < 0.35 and key not in no_must else []
    ctx = dict(town=town[0], lang=lang[1], skill=s1, skill2=s2, hours=hours, month=MONTHS[start.month - 1],
               end_month=f"{MONTHS[end.month - 1]} {end.year}", must=" und ".join(must),
               households=rng.randrange(200, 2001, 100), residents=rng.randrange(30, 201, 10),
               guests=rng.randrange(60, 401, 20), members=rng.randrange(25, 401, 5),
               org_age=rng.randrange(10, 101, 5), pupils=rng.randrange(200, 1201, 50))
    help_type = theme["help"]
    trainable = (theme["help"] == "skills" and key != "uebersetzung") or key == "senioren_digital"
    extra = {"training": 0.12 if trainable else 0,
             "service": 0.08 if key in ("it_sicherheit", "veranstaltungstechnik", "website") else 0,
             "goods": 0.15 if key in ("senioren_digital", "nachhilfe", "veranstaltungstechnik") else 0,
             "money": 0.2 if key == "fundraising" else 0}
    for kind, p in extra.items():
        if rng.random() < p:
            help_type = kind
    cores = rng.sample(theme["need"], rng.choice([1, 1, 2]))
    optional = [rng.choice(NEED_OPENINGS[org_type])] if rng.random() < 0.6 else []
    body = cores + ([NEED_HELP[help_type][0]] if help_type in NEED_HELP else [])
    body += [rng.choice(NEED_MUST)] if must else []
    tail = [rng.choice(NEED_REMOTE[remote]), rng.choice(NEED_TIME), rng.choice(NEED_CLOSINGS)]
    tail = [s for s in tail if rng.random() < 0.55]
    while len(optional) + len(body) + len(tail) > 5:
        (tail if tail else optional).pop()
    parts = optional + body + tail
    if len(parts) < 2:
        parts.append(rng.choice(NEED_REMOTE[remote]))
    languages = ["de"] + ([lang[0]] if key == "uebersetzung" or (key == "gefluechtete" and rng.random() < 0.5) else [])
    name, email, phone = contacts.make(rng.random() < 0.55)
    row = dict(need_id=f"N{number:04d}", title=rng.choice(theme["need_titles"]),
               description=" ".join(fill(p, ctx) for p in parts), organisation=organisation(rng, org_type, town, key),
               org_type=org_type, help_type=help_type, plz=town[1], town=town[0], lat=town[2], lon=town[3],
               radius_km=rng.randint(5, 50) if remote else rng.choice([5, 5, 10, 10, 15, 20, 25, 30, 50]),
               remote_ok=remote, start_date=start.isoformat(), end_date=end.isoformat(), hours_per_week=hours,
               languages=";".join(dict.fromkeys(languages)), must_have_skills=";".join(must), status="open",
               contact_name=name, contact_email=email, contact_phone=phone)
    return row, dict(record_id=row["need_id"], kind="need", main_theme=key, secondary_theme="")


def weekday_phrases(days: list[str]) -> tuple[str, str]:
    if all(d in ("Sa", "So") for d in days):
        return "am Wochenende", "at weekends"
    if not any(d in ("Sa", "So") for d in days):
        return "unter der Woche", "on weekdays"
    return "unter der Woche und am Wochenende", "on weekdays and at weekends"


def make_offer(rng: random.Random, number: int, kind: str, key: str, contacts: Contacts) -> tuple[dict, dict]:
    theme = THEMES[key] if key in THEMES else None
    town = pick_town(rng)
    female = rng.random() < 0.5
    english = kind == "english"
    lang = rng.choice(LANGS[:4] + LANGS[5:] if english else LANGS)
    skills = rng.sample(theme["skills"], 2) if theme else ["", ""]
    remote = rng.random() < theme["remote"] if theme else False
    days = sorted(rng.sample(WEEKDAYS, rng.randint(1, 7)), key=WEEKDAYS.index)
    wd, wd_en = weekday_phrases(days)
    hours = rng.randint(1, 10)
    radius = rng.choice([3, 5, 10, 10, 15, 20, 25, 30, 40, 50])
    start, end = random_span(rng, dt.date(2026, 1, 1), 330, 60, 600)
    ctx = dict(town=town[0], lang=lang[1], lang_en=lang[2], skill=skills[0], skill2=skills[1], wd=wd,
               hours_de=f"{words(hours)} Stunden" if hours > 1 else "eine Stunde",
               hours_en=f"{hours} hours" if hours > 1 else "one hour",
               wd_en=wd_en, radius=radius, years=words(rng.randint(2, 25)), label=theme["label"] if theme else "",
               service=theme["service"] if theme else "", days=words(rng.randint(2, 5)), staff=rng.randrange(8, 251),
               company=f"{rng.choice(COMPANY[0])} {rng.choice(COMPANY[1])}", course=rng.choice([2, 3, 4, 6]),
               seats=rng.choice([8, 10, 12, 15, 20]), qty=rng.randint(3, 25), month=MONTHS[rng.randrange(12)],
               euros=rng.choice(["1.000", "2.500", "5.000", "10.000"]))
    offer_type, secondary, condition, capacity = "person", "", "", rng.choice([1, 1, 1, 2, 2, 3])
    title = rng.choice(theme["offer_titles"]) if theme else ""
    if kind == "company_service":
        offer_type, remote, capacity, hours = kind, rng.random() < 0.8, rng.randint(2, 3), rng.randint(8, 16)
        parts = [rng.choice(group) for group in COMPANY_TEXT]
        title = f"Pro bono: {theme['label']}"
    elif kind == "training":
        offer_type, remote = kind, rng.random() < 0.6
        parts = [rng.choice(group) for group in TRAINING_TEXT][rng.randint(0, 1):]
        title = f"Workshop: {theme['label']}"
    elif kind == "special":
        offer_type, key, secondary, title, text, remote = rng.choice(SPECIAL)
        parts = [text, rng.choice(OFFER_CLOSINGS)] if rng.random() < 0.5 else [text]
    elif kind == "generic":
        key, remote = "allgemein", False
        title = rng.choice(["Helfende Hände", "Ich packe mit an", "Zeit zu verschenken"])
        parts = ([rng.choice(OFFER_OPENINGS)] if rng.random() < 0.3 else []) + [rng.choice(GENERIC)]
        if rng.random() < 0.7:
            hint, secondary = rng.choice(GENERIC_HINTS)
            parts.append(hint)
        parts += [rng.choice(OFFER_AVAIL + OFFER_MOTIVES + OFFER_CLOSINGS)] if len(parts) < 3 else []
    elif english:
        title = theme["en_title"]
        parts = ([rng.choice(EN_OPENINGS)] if rng.random() < 0.4 else []) + [rng.choice(theme["en"])]
        parts += [rng.choice(EN_DETAILS[remote])] if rng.random() < 0.6 else []
        parts += [rng.choice(EN_CLOSINGS)] if rng.random() < 0.4 else []
    else:
        cores = rng.sample(theme["offer"], 2 if rng.random() < 0.25 else 1)
        if rng.random() < 0.16:
            secondary = rng.choice(theme["pair"].split())
            cores.append(rng.choice(THEMES[secondary]["also"]))
            skills.append(rng.choice(THEMES[secondary]["skills"]))
        opening = [rng.choice(OFFER_OPENINGS)] if rng.random() < 0.4 else []
        optional = [rng.choice(OFFER_AVAIL + OFFER_REMOTE[remote] + OFFER_MOTIVES)] if rng.random() < 0.7 else []
        optional += [rng.choice(OFFER_CLOSINGS)] if rng.random() < 0.3 else []
        if rng.random() < 0.033:
            condition = THEME_CONDITIONS.get(key) if rng.random() < 0.5 else None
            condition = condition or rng.choice(CONDITIONS)
            cores.append(condition)
        while len(opening) + len(cores) + len(optional) > 4:
            (optional or opening).pop()
        parts = opening + cores + optional
    description = " ".join(fill(p, ctx, female) for p in parts)
    mentioned = [s for s in skills[:2] if s and re.search(rf"(?<!\w){re.escape(s)}(?!\w)", description)]
    extra = rng.sample(THEMES[key]["skills"], rng.randint(1, 2)) if key in THEMES else []
    skill_list = list(dict.fromkeys(mentioned + extra + skills[2:]))
    languages = ["en", "de"][: rng.choice([1, 2])] if english else ["de"] + (["en"] if rng.random() < 0.3 else [])
    if key == "uebersetzung" or secondary == "uebersetzung" or (key == "gefluechtete" and rng.random() < 0.3):
        languages.append(lang[0])
    name, email, phone = contacts.make(female, english)
    row = dict(offer_id=f"O{number:05d}", title=fill(title, ctx, female), description=description,
               offer_type=offer_type, plz=town[1], town=town[0], lat=town[2], lon=town[3], travel_radius_km=radius,
               remote_ok=remote, available_from=start.isoformat(), available_until=end.isoformat(),
               weekdays=";".join(days), hours_per_week=hours, languages=";".join(dict.fromkeys(languages)),
               skills=";".join(skill_list), capacity=capacity, condition=condition, contact_name=name,
               contact_email=email, contact_phone=phone)
    return row, dict(record_id=row["offer_id"], kind="offer", main_theme=key, secondary_theme=secondary)


def ground_truth(needs: list[dict], offers: list[dict], themes: dict[str, dict]) -> list[dict]:
    """grade 2: main theme match and reachable (remote on both sides, or distance <= radius + travel radius);
    grade 1: secondary theme match, or main theme match but out of reach."""
    by_theme: dict[str, list[tuple[dict, int]]] = {}
    for offer in offers:
        t = themes[offer["offer_id"]]
        by_theme.setdefault(t["main_theme"], []).append((offer, 2))
        if t["secondary_theme"]:
            by_theme.setdefault(t["secondary_theme"], []).append((offer, 1))
    pairs = []
    for need in needs:
        theme = themes[need["need_id"]]["main_theme"]
        for offer, grade in sorted(by_theme.get(theme, []), key=lambda x: x[0]["offer_id"]):
            if grade == 2 and not (need["remote_ok"] and offer["remote_ok"]):
                distance = haversine_km(need["lat"], need["lon"], offer["lat"], offer["lon"])
                grade = 2 if distance <= need["radius_km"] + offer["travel_radius_km"] else 1
            pairs.append(dict(need_id=need["need_id"], offer_id=offer["offer_id"], grade=grade, theme=theme))
    return pairs


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def check(needs: list[dict], offers: list[dict], pairs: list[dict]) -> None:
    need_sentences = {s for n in needs for s in sentences(n["description"])}
    shared = sorted({s for o in offers for s in sentences(o["description"]) if s in need_sentences})
    assert not shared, f"need sentences reused in offers: {shared[:5]}"
    texts = "\n".join(row["title"] + " " + row["description"] for row in needs + offers)
    assert not re.search(r"[{}]|\((in|e|r)\)", texts), "unfilled placeholder"
    for row in needs + offers:
        assert not any(row[c] in texts for c in ("contact_name", "contact_email", "contact_phone")), row
    grades = dict(sorted(Counter(p["grade"] for p in pairs).items()))
    print(f"needs={len(needs)} offers={len(offers)} pairs={len(pairs)} grades={grades}")
    for label, grade in (("relevant (grade >= 1)", 1), ("grade 2", 2)):
        for remote in (True, False):
            counts = Counter(p["need_id"] for p in pairs if p["grade"] >= grade)
            per = sorted(counts.get(n["need_id"], 0) for n in needs if n["remote_ok"] == remote)
            print(f"{label} offers per {'remote' if remote else 'on-site'} need: "
                  f"min={per[0]} median={per[len(per) // 2]} max={per[-1]}")
    print("offer types:", dict(Counter(o["offer_type"] for o in offers).most_common()))
    print("english offers:", sum(o["languages"].startswith("en") for o in offers),
          "| with condition:", sum(bool(o["condition"]) for o in offers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("data/demo"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    contacts = Contacts(rng, N_NEEDS + N_OFFERS)
    keys = list(THEMES)
    need_keys = keys * (N_NEEDS // len(keys)) + rng.sample(keys, N_NEEDS % len(keys))
    rng.shuffle(need_keys)
    needs, themes = [], {}
    for i, key in enumerate(need_keys, start=1):
        row, theme = make_need(rng, i, key, contacts)
        needs.append(row)
        themes[row["need_id"]] = theme
    kinds = ["company_service"] * 150 + ["training"] * 60 + ["special"] * 30 + ["english"] * 300 + ["generic"] * 120
    kinds += ["person"] * (N_OFFERS - len(kinds))
    rng.shuffle(kinds)
    service_keys = [k for k in keys if THEMES[k]["help"] == "skills"]
    training_keys = service_keys + ["senioren_digital"]
    offers = []
    for i, kind in enumerate(kinds, start=1):
        pool = service_keys if kind == "company_service" else training_keys if kind == "training" else keys
        key = rng.choices(pool, weights=[THEMES[k]["weight"] for k in pool])[0]
        row, theme = make_offer(rng, i, kind, key, contacts)
        offers.append(row)
        themes[row["offer_id"]] = theme
    pairs = ground_truth(needs, offers, themes)
    check(needs, offers, pairs)
    args.out.mkdir(parents=True, exist_ok=True)
    tables = {"needs": needs, "offers": offers, "ground_truth": pairs, "themes": list(themes.values())}
    for name, rows in tables.items():
        pl.DataFrame(rows).write_csv(args.out / f"{name}.csv", float_precision=4)
    per_theme = Counter(p["theme"] for p in pairs)
    print("pairs per theme:", dict(sorted(per_theme.items())))
    print("written:", ", ".join(str(args.out / f"{name}.csv") for name in tables))


if __name__ == "__main__":
    main()
