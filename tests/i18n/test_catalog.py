"""The Spanish catalog covers everything supporters and door staff see (issue 13).

(a) no supporter- or door-facing msgid is untranslated or fuzzy; (b) no visible text in those templates
is left unmarked; (c) the committed catalog is current with the code; (d) Spanish pages and email
carry no known English sentence.

Adding strings: mark them with _() / lazy_gettext, run the extract/update commands in the README,
translate the new entries in es/LC_MESSAGES/messages.po. These tests then pass without edits, because
they read the scope from the file paths below, not from a list of strings.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from rallies.mail import delivery
from tests import factories
from tests.stored import outbox
from tests.web import rsvp_post, token_from

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "rallies" / "translations"
SPANISH = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"

#: Files whose strings supporters or door staff read: their msgids must be translated.
SUPPORTER_FACING = (
    "templates/rallies/", "templates/rsvp/", "templates/tickets/", "templates/emails/", "templates/door/",
    "templates/errors/", "templates/base.html", "templates/_", "rallies/rsvp/", "rallies/door/",
    "rallies/sms/",  # text messages go to supporters too
)
#: The templates scanned for visible text nobody marked.
SCANNED_TEMPLATES = ("rallies", "rsvp", "tickets", "emails", "door", "errors")
#: Words that are not translated: names and units that read the same in every language.
ALLOWED_WORDS = {"Rallies", "GeoNames", "CC", "BY", "ODbL", "RSVP", "ics", "QR", "km", "mi"}


def _catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f, locale="es")


def _supporter_facing(message) -> bool:
    return any(file.startswith(SUPPORTER_FACING) for file, _ in message.locations)


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
    return all(s and s.strip() for s in strings)


# ----------------------------------------------------------------------------- (a) complete, nothing fuzzy


def test_every_supporter_and_door_string_is_translated_into_spanish():
    missing = [
        (message.id, message.locations[0][0])
        for message in _catalog(SPANISH)
        if message.id and _supporter_facing(message) and (message.fuzzy or not _translated(message))
    ]
    assert not missing, f"untranslated or fuzzy Spanish strings: {missing}"


def test_spanish_plurals_have_every_form_and_keep_the_placeholders():
    catalog = _catalog(SPANISH)
    assert catalog.num_plurals == 3
    placeholder = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")
    wrong = []
    for message in catalog:
        if not message.id or not _translated(message):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = {m.group(1) or m.group(2) for m in placeholder.finditer(" ".join(ids))}
        for s in strings:
            found = {m.group(1) or m.group(2) for m in placeholder.finditer(s)}
            # A singular may say "one" instead of %(num)d; every other placeholder must survive.
            if not found <= wanted or not (wanted - {"num"}) <= found:
                wrong.append((message.id, s))
    assert not wrong, f"placeholders changed in translation: {wrong}"


# ----------------------------------------------------------------------------- (b) no unmarked text


_TRANS = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", re.S)  # marked as a whole
_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>", re.S)
_READ_ATTRS = re.compile(r'\s(?:alt|title|placeholder|aria-label)\s*=\s*"([^"]*)"', re.I)
_ENTITY = re.compile(r"&[a-z]+;|&#\d+;")


def visible_text(source: str) -> list[str]:
    """The words of a template a person sees or hears that come from the template itself (not from _() or data).

    Jinja comments, statements and expressions, <script> and <style> bodies and attributes go; the
    attributes a person reads (alt, title, placeholder, aria-label) stay.
    """
    text = _JINJA.sub(" ", _TRANS.sub(" ", source))
    text = _SCRIPT.sub(" ", text)
    attrs = " ".join(_READ_ATTRS.findall(text))
    text = _TAG.sub(" ", text) + " " + attrs
    text = _ENTITY.sub(" ", text)
    return [w for w in re.findall(r"[^\W\d_][\w'’.-]*", text) if w.strip(".-'’") not in ALLOWED_WORDS]


def _templates():
    base = ROOT / "templates"
    files = [base / "base.html", *sorted(base.glob("_*.html"))]
    for folder in SCANNED_TEMPLATES:
        files += sorted(p for p in (base / folder).rglob("*") if p.suffix in (".html", ".txt"))
    return files


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_supporter_and_door_templates_have_no_unmarked_text(path):
    words = visible_text(path.read_text(encoding="utf-8"))
    assert not words, f"{path.name}: text not marked for translation: {words[:20]}"


def test_the_unmarked_text_scan_finds_what_it_should():
    assert visible_text('<p title="Hello there">{{ _("Fine") }} Unmarked <b>{{ name }}</b></p>') == [
        "Unmarked", "Hello", "there"]
    assert visible_text('{# Comment #}<script>var a = "x";</script><a href="/x" class="y">{% if a %}{% endif %}</a>') == []
    assert visible_text("<p>Rallies &copy; GeoNames</p>") == []
    assert visible_text("<p>{% trans trimmed n=1 %}Marked {{ n }} words{% endtrans %} Loose</p>") == ["Loose"]


# ----------------------------------------------------------------------------- (c) the catalog is current


def test_committed_spanish_catalog_has_every_marked_string(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "lazy_gettext",
         "-k", "_l", "-o", str(pot), "--omit-header", "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    spanish = {message.id for message in _catalog(SPANISH) if message.id}
    new = [message.id for message in _catalog(pot) if message.id and message.id not in spanish]
    assert not new, f"marked strings missing from the Spanish catalog (run extract and update, see README): {new}"


# ----------------------------------------------------------------------------- (d) Spanish means Spanish

#: English sentences that must never reach a Spanish reader of the pages and email below.
ENGLISH = (
    "Your name", "Enter your name.", "Enter your email so we can send your ticket.", "Please fix",
    "This field is required", "Not a valid", "We'll email your ticket here.", "Guests you're bringing",
    "Send me updates", "Your ticket", "Show this code at the door", "Ticket code", "Add to calendar",
    "Change guests", "Cancel RSVP", "Keep this page's address private", "When", "Where", "Doors open",
    "Going", "Party", "1 person", " people (", "Hi ", "You're going", "with a party of", "Open your ticket",
    "Plans changed?", "The calendar file is attached", "Upcoming rallies", "Organizer login", "Skip to content",
    "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Central Time", " PM", " AM",
)


@pytest.fixture
def rally(campaign):
    return factories.live_rally(campaign, max_guests=3, title="Rally for the river",
                                translations={"es": {"title": "Mitin por el río"}})


def _english_in(text: str) -> list[str]:
    return [s for s in ENGLISH if s in text]


def test_spanish_rsvp_form_with_errors_has_no_english(client, rally):
    page = client.post(f"/r/{rally.slug}/rsvp", data={"name": "", "email": "nope", "guests": "many"},
                       headers={"Accept-Language": "es"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and '<html lang="es">' in html
    assert "Escribe tu nombre." in html and "Corrige los problemas de abajo:" in html
    assert "No es un valor entero válido." in html  # WTForms' own message, from its catalogs (i18n.wtforms_catalog)
    assert "Mitin por el río" in html
    assert not _english_in(html)


def test_spanish_ticket_page_and_ticket_email_have_no_english(client, rally):
    spanish = {"Accept-Language": "es-MX,es;q=0.9"}
    made = client.post(f"/r/{rally.slug}/rsvp", data={"name": "Ana López", "email": "ana@example.org", "guests": "2"},
                       headers=spanish)
    page = client.get(f"/t/{token_from(made)}", headers=spanish)
    html = page.get_data(as_text=True)
    assert '<html lang="es">' in html and "Tu entrada" in html and "3 personas (tú y 2 invitados)" in html
    assert not _english_in(html)
    # The email is rendered later, by the sender, with no request: in the language the RSVP was made in.
    message = email.message_from_bytes(delivery.render_body(outbox("confirmation")[-1]), policy=policy.default)
    assert message["Content-Language"] == "es"
    assert message["Subject"] == "Vas a asistir: Mitin por el río"
    for part in ("html", "plain"):
        body = message.get_body((part,)).get_content()
        assert "Hola, Ana López" in body
        assert not _english_in(body), part
    assert '<html lang="es">' in message.get_body(("html",)).get_content()


def test_english_supporters_still_get_english_email(client, rally):
    rsvp_post(client, rally, email="en@example.org")
    message = email.message_from_bytes(delivery.render_body(outbox("confirmation")[-1]), policy=policy.default)
    assert message["Content-Language"] == "en"
    assert message["Subject"] == "You're going: Rally for the river"
    assert "Hi Ana López," in message.get_body(("plain",)).get_content()
