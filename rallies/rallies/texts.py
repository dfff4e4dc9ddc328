"""A rally's words in the reader's language: the organizer's translation if there is one, else the main text.

Organizers write a rally's title and description in the main language (English) and may add
translations, stored in ``Rally.translations`` as ``{"es": {"title": ..., "description": ...}}``.
Pages, the ticket page and email all ask here, so the fallback rule lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

#: The language organizers write a rally's main title and description in.
MAIN_LOCALE = "en"
#: The fields that may be translated.
FIELDS = ("title", "description")


@dataclass(frozen=True)
class Shown:
    """A text and the language it is really in (which differs from the page's when it fell back)."""

    text: str
    lang: str
    page_lang: str

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.text)

    @property
    def lang_attr(self) -> Markup:
        """` lang="en"` when the text is not in the page's language (screen readers switch voice), else nothing."""
        return Markup(' lang="{}"').format(self.lang) if self.lang != self.page_lang else Markup("")


def text_for(rally, field: str, locale: str | None) -> Shown:
    """The rally's ``field`` (title or description) in ``locale``, falling back to the main text."""
    locale = (locale or MAIN_LOCALE).split("_")[0]
    if locale != MAIN_LOCALE:
        translated = ((rally.translations or {}).get(locale) or {}).get(field)
        if translated and translated.strip():
            return Shown(translated, locale, locale)
    return Shown(getattr(rally, field) or "", MAIN_LOCALE, locale)


def title_for(rally, locale: str | None) -> str:
    """The rally's title in ``locale`` (or the main title)."""
    return text_for(rally, "title", locale).text


def description_for(rally, locale: str | None) -> str:
    """The rally's description in ``locale`` (or the main description)."""
    return text_for(rally, "description", locale).text


def cleaned(translations: dict | None) -> dict:
    """Translations without blank entries: {"es": {"title": "..."}}; an empty language is dropped."""
    out = {}
    for locale, texts in (translations or {}).items():
        kept = {f: v.strip() for f, v in (texts or {}).items() if f in FIELDS and v and v.strip()}
        if kept:
            out[locale] = kept
    return out
