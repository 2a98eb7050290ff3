"""Permission names in the reader's language.

Django stores a permission's name once, in English, when the migrations run
("Can delete API key"); the admin shows that stored text in its permission
lists. The platform only has Django's four default permissions per model, so
their names are composed anew, translated, from the action and the model's
(translated) name; anything else is looked up in the catalogue as stored.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

DEFAULT_ACTIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_name(permission: Any) -> str:
    """The permission's name, translated (``permission`` with its content type loaded)."""
    content_type = permission.content_type
    model = content_type.model_class()
    action, _sep, model_name = permission.codename.partition("_")
    if model is not None and model_name == content_type.model and action in DEFAULT_ACTIONS:
        return str(DEFAULT_ACTIONS[action]) % {"model": model._meta.verbose_name}
    return gettext(permission.name)


def permission_label(permission: Any) -> str:
    """What a permission list shows: "app | model | permission", each part translated."""
    return f"{permission.content_type} | {permission_name(permission)}"


def with_translated_permission_labels(formfield: Any) -> Any:
    """Let a permission choice field (``user_permissions``, a group's ``permissions``) show translated labels."""
    if formfield is not None:
        formfield.label_from_instance = permission_label
    return formfield
