from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class CharacterClassValidator:
    """At least three of the four character classes: lower case, upper case, digits, other characters."""

    def validate(self, password: str, user: Any = None) -> None:
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        if sum(classes) < 3:
            raise ValidationError(
                _(
                    "The password must contain at least three of: lower-case letters, upper-case letters, digits, other characters."
                ),
                code="password_character_classes",
            )

    def get_help_text(self) -> str:
        return _("Use at least three of: lower-case letters, upper-case letters, digits, other characters.")


# zxcvbn's feedback is English; these are the same texts as message ids, so the German
# catalogue translates them. A text zxcvbn adds in a later version falls back to the
# generic message alone.
_ZXCVBN_FEEDBACK = {
    "Use a few words, avoid common phrases.": gettext_lazy("Use a few words, avoid common phrases."),
    "No need for symbols, digits, or uppercase letters.": gettext_lazy(
        "No need for symbols, digits, or uppercase letters."
    ),
    "Add another word or two. Uncommon words are better.": gettext_lazy(
        "Add another word or two. Uncommon words are better."
    ),
    "Straight rows of keys are easy to guess.": gettext_lazy("Straight rows of keys are easy to guess."),
    "Short keyboard patterns are easy to guess.": gettext_lazy("Short keyboard patterns are easy to guess."),
    "Use a longer keyboard pattern with more turns.": gettext_lazy("Use a longer keyboard pattern with more turns."),
    'Repeats like "aaa" are easy to guess.': gettext_lazy('Repeats like "aaa" are easy to guess.'),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': gettext_lazy(
        'Repeats like "abcabcabc" are only slightly harder to guess than "abc".'
    ),
    "Avoid repeated words and characters.": gettext_lazy("Avoid repeated words and characters."),
    'Sequences like "abc" or "6543" are easy to guess.': gettext_lazy(
        'Sequences like "abc" or "6543" are easy to guess.'
    ),
    "Avoid sequences.": gettext_lazy("Avoid sequences."),
    "Recent years are easy to guess.": gettext_lazy("Recent years are easy to guess."),
    "Avoid recent years.": gettext_lazy("Avoid recent years."),
    "Avoid years that are associated with you.": gettext_lazy("Avoid years that are associated with you."),
    "Dates are often easy to guess.": gettext_lazy("Dates are often easy to guess."),
    "Avoid dates and years that are associated with you.": gettext_lazy(
        "Avoid dates and years that are associated with you."
    ),
    "This is a top-10 common password.": gettext_lazy("This is a top-10 common password."),
    "This is a top-100 common password.": gettext_lazy("This is a top-100 common password."),
    "This is a very common password.": gettext_lazy("This is a very common password."),
    "This is similar to a commonly used password.": gettext_lazy("This is similar to a commonly used password."),
    "A word by itself is easy to guess.": gettext_lazy("A word by itself is easy to guess."),
    "Names and surnames by themselves are easy to guess.": gettext_lazy(
        "Names and surnames by themselves are easy to guess."
    ),
    "Common names and surnames are easy to guess.": gettext_lazy("Common names and surnames are easy to guess."),
    "Capitalization doesn't help very much.": gettext_lazy("Capitalization doesn't help very much."),
    "All-uppercase is almost as easy to guess as all-lowercase.": gettext_lazy(
        "All-uppercase is almost as easy to guess as all-lowercase."
    ),
    "Reversed words aren't much harder to guess.": gettext_lazy("Reversed words aren't much harder to guess."),
    "Predictable substitutions like '@' instead of 'a' don't help very much.": gettext_lazy(
        "Predictable substitutions like '@' instead of 'a' don't help very much."
    ),
}

# Words every attacker tries first on this platform, next to the user's own data.
_PLATFORM_WORDS = ("dikom", "digitale", "kommune", "hessen", "passwort", "password")
# zxcvbn's cost grows with the length; the form fields allow 4096 characters, the estimate
# looks at the start only (a longer password is not weaker for it).
_ZXCVBN_MAX_LENGTH = 100


def _user_inputs(user: Any) -> list[str]:
    """What an attacker knows about ``user``: names, e-mail address and the member cities."""
    from dikom.municipalities.models import Municipality

    inputs: list[str] = list(_PLATFORM_WORDS)
    if user is not None:
        for attribute in ("username", "first_name", "last_name", "email"):
            value = str(getattr(user, attribute, "") or "").strip()
            if value:
                inputs.append(value)
                # The parts of "max.muster@stadt-fulda.de", "giessen-admin" and the like.
                inputs.extend(part for part in re.split(r"[@.\-_+\s]+", value) if len(part) >= 3)
    for name, slug in Municipality.objects.values_list("name", "slug"):
        inputs.extend([name, slug])
    return inputs


class StrengthValidator:
    """Refuses passwords that zxcvbn estimates as guessable (score below ``min_score``, 0-4).

    zxcvbn knows common passwords, words, names, keyboard patterns, dates and repeats, and it
    is given the user's own data and the cities' names, so "fulda-admin" spelled twice or the
    user name with a capital letter counts as weak although it passes the length and class rules.
    """

    def __init__(self, min_score: int = 3, min_own_characters: int = 8) -> None:
        self.min_score = min_score
        self.min_own_characters = min_own_characters

    def validate(self, password: str, user: Any = None) -> None:
        from zxcvbn import zxcvbn

        inputs = _user_inputs(user)
        # zxcvbn counts separators and a year generously ("Fulda-Fulda-2024!" scores 3): what
        # is left after taking out every known word must be a password of its own.
        rest = password.lower()
        for word in sorted({value.lower() for value in inputs if len(value) >= 3}, key=len, reverse=True):
            rest = rest.replace(word, "")
        if len(rest) < self.min_own_characters:
            raise ValidationError(
                _(
                    "This password is too easy to guess: it consists mostly of your user name, name, e-mail "
                    "address, a city's name or a word like 'password'."
                ),
                code="password_too_guessable",
            )
        result = zxcvbn(password[:_ZXCVBN_MAX_LENGTH], user_inputs=inputs)
        if result["score"] >= self.min_score:
            return
        feedback = result.get("feedback") or {}
        hints = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
        translated = [str(_ZXCVBN_FEEDBACK[hint]) for hint in hints if hint in _ZXCVBN_FEEDBACK]
        message = _("This password is too easy to guess.")
        if translated:
            message = f"{message} {' '.join(translated)}"
        raise ValidationError(message, code="password_too_guessable")

    def get_help_text(self) -> str:
        return _("Your password must not be easy to guess: avoid your name, your city and common words or patterns.")
