"""Where a citizen is in an application: the step indicator of the portal's form pages.

The stages are, in order: signing in (only for services that need it), the
steps currently visible under the answers given so far, and the check and
submission of the summary. "Schritt 2 von 4" counts these stages; the total can
change when an answer shows or hides a later step, as the steps themselves do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from dikom.eservices.definition.schema import text
from dikom.portal import steps

SIGN_IN = "sign_in"
SUMMARY = "summary"


@dataclass(frozen=True)
class Stage:
    title: str
    done: bool
    current: bool


@dataclass(frozen=True)
class Progress:
    position: int  # 1-based number of the current stage
    total: int
    current_title: str
    stages: list[Stage]


def progress_for(
    content: dict[str, Any], answers: dict[str, Any], current: int | str, *, needs_sign_in: bool, language: str
) -> Progress:
    """The stages of an application with ``current`` (a step number, ``SIGN_IN`` or ``SUMMARY``) marked."""
    keys: list[int | str] = [SIGN_IN] if needs_sign_in else []
    titles: list[str] = [_("Sign in")] if needs_sign_in else []
    all_steps = steps.steps_of(content)
    visible = steps.visible_numbers(content, answers)
    if isinstance(current, int) and current not in visible:
        visible = sorted({*visible, current})  # the page shown counts, whatever the rules say
    for number in visible:
        keys.append(number)
        titles.append(text(all_steps[number - 1].get("title"), language) or _("Step %(n)s") % {"n": number})
    keys.append(SUMMARY)
    titles.append(_("Check and submit"))
    index = keys.index(current) if current in keys else 0
    stages = [
        Stage(title=title, done=i < index, current=i == index) for i, title in enumerate(titles)
    ]  # fmt: skip
    return Progress(position=index + 1, total=len(keys), current_title=titles[index], stages=stages)
