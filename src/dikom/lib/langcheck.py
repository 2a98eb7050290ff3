"""Find text of the wrong language on a rendered page (for tests and the crawler).

A German page must not show English UI text, an English page no German UI
text. User data (service names, city names) cannot be told apart from UI text
by looking at it, so the check only flags text it can attribute to the UI:

- a visible text equal to a msgid of the German catalogue whose German
  translation differs (the page shows the untranslated English original);
- a short list of common English UI words ("Save", "Cancel", ...) and Django's
  empty choice "---------";
- on an English page, a text equal to a German translation from the catalogue.

Usage: ``foreign_text(html, "de")`` returns the offending texts; an empty
list means the page passed. ``ignore`` takes texts known to be user data.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

import polib

# Contents of these elements are not prose a visitor reads as UI text.
SKIPPED_ELEMENTS = frozenset({"script", "style", "code", "pre", "template", "noscript", "svg", "kbd", "samp"})
# Attributes a visitor sees or a screen reader reads out.
VISIBLE_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)

COMMON_ENGLISH_UI_WORDS = frozenset(
    {
        "Save",
        "Cancel",
        "Submit",
        "Next",
        "Back",
        "Previous",
        "Search",
        "Delete",
        "Edit",
        "Date",
        "Actions",
        "Action",
        "Change",
        "Add",
        "Log in",
        "Log out",
        "Login",
        "Logout",
        "Required",
        "Close",
        "Open",
        "Yes",
        "No",
        "Home",
        "Filter",
        "Settings",
        "Password",
        "Username",
        "Created",
        "Updated",
        "Description",
        "Type",
        "Value",
        "Count",
        "Total",
        "Change (%)",
        "Download",
        "Upload",
        "View",
        "History",
        "Users",
        "Groups",
        "Show",
        "Hide",
        "Continue",
    }
)
# Words German uses as well (loanwords, or the same spelling with another meaning).
SHARED_WORDS = frozenset(
    {
        "Kind",
        "Name",
        "Status",
        "Details",
        "Start",
        "Export",
        "Import",
        "Filter",
        "Version",
        "Text",
        "System",
        "Dashboards",
        "Code",
        "Organisation",
    }
)
EMPTY_CHOICE_DASHES = "---------"

WHITESPACE = re.compile(r"\s+")


def _normalise(text: str) -> str:
    return WHITESPACE.sub(" ", text).strip()


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._stack: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        # A part marked as another language (the switcher's "English") is meant so.
        other_language = bool(values.get("lang")) and tag != "html"
        if tag in SKIPPED_ELEMENTS or "hidden" in values or other_language:
            if tag not in VOID_ELEMENTS:
                self._stack.append(tag)
                self._skipping += 1
            return
        if tag not in VOID_ELEMENTS:
            self._stack.append(tag)
            if self._skipping:
                self._skipping += 1
        if self._skipping:
            return
        for name in VISIBLE_ATTRIBUTES:
            if values.get(name):
                self.texts.append(_normalise(values[name] or ""))
        if tag == "input" and values.get("type") in {"submit", "button", "reset"} and values.get("value"):
            self.texts.append(_normalise(values["value"] or ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_ELEMENTS:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_ELEMENTS or tag not in self._stack:
            return
        # Close up to the matching element (tolerates unclosed <p>, <li> ...).
        while self._stack:
            top = self._stack.pop()
            if self._skipping:
                self._skipping -= 1
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        text = _normalise(data)
        if text:
            self.texts.append(text)


def visible_texts(html: str) -> list[str]:
    """The text nodes and visible attribute texts of ``html``, whitespace collapsed."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return [text for text in parser.texts if text]


def _catalogue_path(language: str) -> Path:
    from django.conf import settings

    for locale_dir in settings.LOCALE_PATHS:
        path = Path(locale_dir) / language / "LC_MESSAGES" / "django.po"
        if path.exists():
            return path
    raise FileNotFoundError(f"no catalogue for {language}")


def _worth_checking(text: str) -> bool:
    # Single letters, numbers and symbols say nothing about the language.
    return sum(ch.isalpha() for ch in text) >= 3


@functools.cache
def _german_catalogue() -> tuple[frozenset[str], frozenset[str]]:
    """(English msgids translated differently, German msgstrs that are no English msgid)."""
    english: set[str] = set()
    german: set[str] = set()
    for entry in polib.pofile(str(_catalogue_path("de"))):
        if entry.obsolete or "fuzzy" in entry.flags:
            continue
        pairs = [(entry.msgid, entry.msgstr)]
        if entry.msgid_plural:
            pairs = [
                (entry.msgid, entry.msgstr_plural.get(0, "")),
                (entry.msgid_plural, entry.msgstr_plural.get(1, "")),
            ]
        for msgid, msgstr in pairs:
            if not msgstr or msgid == msgstr or "%" in msgid or "{" in msgid:
                continue
            english.add(_normalise(msgid))
            german.add(_normalise(msgstr))
    # A word both languages share ("Name", "Status" → "Status") is no evidence.
    return frozenset(english - german - SHARED_WORDS), frozenset(german - english - SHARED_WORDS)


def foreign_text(html: str, language: str, ignore: Iterable[str] = ()) -> list[str]:
    """Texts on a page rendered in ``language`` ("de" or "en") that belong to the other language."""
    english, german = _german_catalogue()
    ignored = {_normalise(text) for text in ignore}
    found: list[str] = []
    for text in visible_texts(html):
        if text in ignored or text in found:
            continue
        if language == "de":
            if text == EMPTY_CHOICE_DASHES or (
                _worth_checking(text) and (text in english or text in COMMON_ENGLISH_UI_WORDS)
            ):
                found.append(text)
        elif language == "en":
            if _worth_checking(text) and text in german:
                found.append(text)
        else:
            raise ValueError(f"unsupported language {language!r}")
    return found
