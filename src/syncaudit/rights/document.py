"""The readable access document: one self-contained HTML file (inline CSS, no scripts, no
external resources; a Content-Security-Policy says so to the browser), in Finnish or English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).with_name("templates")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your personal data in our register",
        "intro": "This is our answer to your request to see the personal data we hold about you "
        "(GDPR Art. 15) in a readable form; the enclosed JSON file holds the same data in a "
        "machine-readable form (Art. 20).",
        "controller": "Controller",
        "request": "Request",
        "received": "Received",
        "generated": "Compiled",
        "you": "You",
        "email": "Email address",
        "names": "Names",
        "summary": "Summary",
        "summary_text": "{records} record(s) in {systems} system(s).",
        "systems": "What each system holds",
        "system": "System",
        "vendor": "Processed by",
        "country": "Country",
        "record": "Record",
        "date": "Date",
        "role": "Role / status",
        "details": "Data held",
        "no_details": "The system no longer holds this record.",
        "legal_hold": "Kept until {until} under a legal obligation ({basis}); processing is "
        "restricted.",
        "status_found": "Data found.",
        "status_nothing": "Nothing about you was found.",
        "status_manual": "This system cannot be searched automatically; we check it by hand.",
        "status_error": "This system could not be reached; we will check it again.",
        "status_index_only": "No longer connected; what our index knew of it is listed.",
        "processors": "Systems and processors involved",
        "role_col": "Role",
        "categories": "Data categories",
        "transfers": "Transfers outside the EU/EEA",
        "no_transfers": "None of the systems holding your data transfers it outside the EU/EEA.",
        "destination": "Destination",
        "safeguard": "Safeguard",
        "reference": "Reference",
        "rights": "Your other rights",
        "rights_text": "You may ask us to correct or erase your data, object to direct marketing, "
        "and lodge a complaint with the supervisory authority (in Finland: the Data Protection "
        "Ombudsman, tietosuoja.fi).",
    },
    "fi": {
        "title": "Henkilötietosi rekisterissämme",
        "intro": "Tämä on vastauksemme pyyntöösi saada tietää, mitä henkilötietoja sinusta "
        "käsittelemme (tietosuoja-asetuksen 15 artikla), luettavassa muodossa; oheinen "
        "JSON-tiedosto sisältää samat tiedot koneluettavassa muodossa (20 artikla).",
        "controller": "Rekisterinpitäjä",
        "request": "Pyyntö",
        "received": "Vastaanotettu",
        "generated": "Koottu",
        "you": "Sinä",
        "email": "Sähköpostiosoite",
        "names": "Nimet",
        "summary": "Yhteenveto",
        "summary_text": "{records} tietue(tta) {systems} järjestelmässä.",
        "systems": "Mitä kukin järjestelmä sisältää",
        "system": "Järjestelmä",
        "vendor": "Käsittelijä",
        "country": "Maa",
        "record": "Tietue",
        "date": "Päivämäärä",
        "role": "Rooli / tila",
        "details": "Tallennetut tiedot",
        "no_details": "Järjestelmässä ei enää ole tätä tietuetta.",
        "legal_hold": "Säilytetään {until} asti lakisääteisen velvoitteen vuoksi ({basis}); "
        "käsittelyä on rajoitettu.",
        "status_found": "Tietoja löytyi.",
        "status_nothing": "Sinusta ei löytynyt tietoja.",
        "status_manual": "Järjestelmää ei voi hakea automaattisesti; tarkistamme sen käsin.",
        "status_error": "Järjestelmään ei saatu yhteyttä; tarkistamme sen uudelleen.",
        "status_index_only": "Ei enää yhteydessä; hakemistomme tiedot siitä on lueteltu.",
        "processors": "Järjestelmät ja käsittelijät",
        "role_col": "Rooli",
        "categories": "Tietoryhmät",
        "transfers": "Siirrot EU:n/ETA:n ulkopuolelle",
        "no_transfers": "Mikään tietojasi sisältävä järjestelmä ei siirrä niitä EU:n/ETA:n "
        "ulkopuolelle.",
        "destination": "Kohdemaa",
        "safeguard": "Suojatoimi",
        "reference": "Viite",
        "rights": "Muut oikeutesi",
        "rights_text": "Voit pyytää meitä oikaisemaan tai poistamaan tietosi, vastustaa "
        "suoramarkkinointia ja tehdä valituksen valvontaviranomaiselle (Suomessa "
        "tietosuojavaltuutetun toimisto, tietosuoja.fi).",
    },
}

KINDS: dict[str, dict[str, str]] = {
    "en": {
        "contact": "Contact in the address book",
        "event_organizer": "Calendar entry (organiser)",
        "event_attendee": "Calendar entry (attendee)",
        "event_mention": "Calendar entry (named in it)",
        "audience_member": "Newsletter audience membership",
        "invoice_buyer": "Invoice (buyer)",
        "invoice_recipient": "Invoice (recipient or contact)",
        "business_partner": "Partner register of the accounting system (customers, persons)",
        "manual": "Kept by hand",
    },
    "fi": {
        "contact": "Osoitekirjan yhteystieto",
        "event_organizer": "Kalenterimerkintä (järjestäjä)",
        "event_attendee": "Kalenterimerkintä (osallistuja)",
        "event_mention": "Kalenterimerkintä (mainittu)",
        "audience_member": "Uutiskirjeen tilaajalistan jäsenyys",
        "invoice_buyer": "Lasku (ostaja)",
        "invoice_recipient": "Lasku (vastaanottaja tai yhteyshenkilö)",
        "business_partner": "Kirjanpidon kumppanirekisteri (asiakkaat, henkilöt)",
        "manual": "Käsin ylläpidetty",
    },
}

MECHANISMS: dict[str, dict[str, str]] = {
    "en": {
        "EEA": "within the EEA",
        "adequacy": "adequacy decision of the European Commission (Art. 45)",
        "DPF": "EU-US Data Privacy Framework (adequacy decision 2023/1795)",
        "SCC": "standard contractual clauses (2021/914)",
        "BCR": "binding corporate rules",
        "art49": "derogation (Art. 49)",
        "unknown": "not yet documented",
    },
    "fi": {
        "EEA": "ETA-alueella",
        "adequacy": "Euroopan komission tietosuojan riittävyyttä koskeva päätös (45 art.)",
        "DPF": "EU:n ja Yhdysvaltojen tietosuojakehys (riittävyyspäätös 2023/1795)",
        "SCC": "vakiosopimuslausekkeet (2021/914)",
        "BCR": "yritystä koskevat sitovat säännöt",
        "art49": "poikkeus (49 art.)",
        "unknown": "ei vielä dokumentoitu",
    },
}


def render_html(document: dict[str, Any], language: str) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("access.html.j2")
    return template.render(
        doc=document,
        t=TEXT[language],
        kinds=KINDS[language],
        mechanisms=MECHANISMS[language],
        lang=language,
    )
