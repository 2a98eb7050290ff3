"""Slugs from German text that stay readable.

Django's ``slugify`` drops what ASCII cannot spell: "Straßenfeste" becomes
"straenfeste" and "Gebühren" "gebuhren". German spells umlauts and ß out
(ae, oe, ue, ss), so we transliterate them first and then let Django do the rest.
"""

from __future__ import annotations

from django.utils.text import slugify

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS"})


def german_slugify(value: object) -> str:
    """``slugify`` after spelling out umlauts and ß: "Straßenfeste" → "strassenfeste"."""
    return slugify(str(value).translate(_GERMAN))
