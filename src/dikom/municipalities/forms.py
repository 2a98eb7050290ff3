"""Forms of the municipality administration. They validate input; the actions
in ``actions.py`` change state (and validate again, so other callers are safe)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dikom.accounts.models import User
from dikom.accounts.roles import Role
from dikom.accounts.scopes import SCOPES
from dikom.lib.dateranges import DayField
from dikom.municipalities.models import Municipality, OrgUnit
from dikom.municipalities.tree import OrgUnitTree


class OrgUnitChoiceField(forms.ChoiceField):
    """Choose a unit of one municipality, listed in tree order with indentation.

    Choices come from an already loaded :class:`OrgUnitTree`, so rendering the
    field costs no queries, and ids of other municipalities' units are simply
    not valid choices.
    """

    def __init__(self, *, tree: OrgUnitTree | None = None, empty_label: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.set_tree(tree or OrgUnitTree([]), empty_label)

    def set_tree(self, tree: OrgUnitTree, empty_label: str) -> None:
        self.tree = tree
        self.choices = [("", empty_label), *[(str(unit.pk), label) for unit, label in tree.labelled()]]

    def clean(self, value: Any) -> OrgUnit | None:
        value = super().clean(value)
        if value in (None, ""):
            return None
        return self.tree.by_id[int(value)]


class OrgUnitForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    short_name = forms.CharField(label=_("Short name"), max_length=30, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=OrgUnit.Kind.choices)
    parent = OrgUnitChoiceField(
        label=_("Parent unit"), required=False, help_text=_("Leave empty for a top-level unit such as a Dezernat.")
    )
    email = forms.EmailField(label=_("Contact e-mail"), required=False)

    def __init__(self, *args: Any, tree: OrgUnitTree, instance: OrgUnit | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "short_name": instance.short_name,
                "kind": instance.kind,
                "parent": instance.parent_id or "",
                "email": instance.email,
            }
        super().__init__(*args, **kwargs)
        self.instance = instance
        self.tree = tree
        parent_field: OrgUnitChoiceField = self.fields["parent"]  # type: ignore[assignment]
        parent_field.set_tree(tree, str(_("— none (top level) —")))

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        name = (cleaned.get("name") or "").strip()
        parent = cleaned.get("parent")
        if name and "parent" in cleaned:
            parent_id = parent.pk if parent else None
            own_id = self.instance.pk if self.instance else None
            for unit in self.tree.units:
                if unit.pk != own_id and unit.parent_id == parent_id and unit.name.casefold() == name.casefold():
                    self.add_error("name", _("A unit with this name already exists at this place in the tree."))
                    break
        cleaned["name"] = name
        return cleaned


class AuthorityForm(forms.ModelForm):
    """The authority as letters and receipts name it (letterhead, information block, legal remedy)."""

    class Meta:
        model = Municipality
        fields = ("authority_name", "authority_head", "street_address", "postcode", "locality", "phone", "email")


class ExistingStaffForm(forms.Form):
    """Grant a role to a person who already has an account."""

    identifier = forms.CharField(
        label=_("User name or e-mail address"),
        max_length=254,
        help_text=_("The person must already have an account."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    org_unit = OrgUnitChoiceField(label=_("Organisational unit"), required=False)

    def __init__(self, *args: Any, tree: OrgUnitTree, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        org_unit_field: OrgUnitChoiceField = self.fields["org_unit"]  # type: ignore[assignment]
        org_unit_field.set_tree(tree, str(_("— none —")))

    def clean_identifier(self) -> User:
        value = self.cleaned_data["identifier"].strip()
        users = list(User.objects.filter(Q(username__iexact=value) | Q(email__iexact=value))[:2])
        if len(users) != 1:
            raise forms.ValidationError(
                _("There is no account with this user name or e-mail address. Create a new staff account instead."),
                code="unknown_user",
            )
        if not users[0].is_active:
            raise forms.ValidationError(_("This account is deactivated."), code="inactive_user")
        return users[0]


class NewStaffForm(forms.Form):
    """Create an account for a new staff member, with a first role."""

    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Letters, digits and @ . + - _ only."),
    )
    email = forms.EmailField(label=_("E-mail address"))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    org_unit = OrgUnitChoiceField(label=_("Organisational unit"), required=False)

    def __init__(self, *args: Any, tree: OrgUnitTree, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        org_unit_field: OrgUnitChoiceField = self.fields["org_unit"]  # type: ignore[assignment]
        org_unit_field.set_tree(tree, str(_("— none —")))

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This user name is already taken."), code="username_taken")
        return username

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An account with this e-mail address already exists. Grant the role to it instead."),
                code="email_taken",
            )
        return email


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=120, help_text=_("Which system uses the key, e.g. “Citizen app”.")
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one scope.")},
    )
    valid_until = DayField(
        label=_("Valid until (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The key stops working at the end of this day. Leave empty for no expiry."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read the registry when the form is built: apps register scopes at import time.
        scopes_field: forms.MultipleChoiceField = self.fields["scopes"]  # type: ignore[assignment]
        scopes_field.choices = [(name, f"{name} — {description}") for name, description in sorted(SCOPES.items())]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the key a name."), code="required")
        return name

    def clean_valid_until(self) -> date | None:
        value: date | None = self.cleaned_data.get("valid_until")
        if value is not None and value <= timezone.localdate():
            raise forms.ValidationError(_("The date must lie in the future."), code="past_date")
        return value

    @property
    def expires_at(self) -> datetime | None:
        """The moment the key stops working: the start of the day after ``valid_until``, local time."""
        value = self.cleaned_data.get("valid_until")
        if value is None:
            return None
        return timezone.make_aware(datetime.combine(value + timedelta(days=1), time.min))


ACTION_PREFIX = re.compile(r"^[a-z0-9_.]*$")


class AuditFilterForm(forms.Form):
    action = forms.CharField(
        label=_("Action begins with"),
        max_length=80,
        required=False,
        help_text=_("For example “orgunit” or “api_key.revoke”."),
    )
    date_from = DayField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = DayField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean_action(self) -> str:
        value = self.cleaned_data["action"].strip().lower()
        if not ACTION_PREFIX.match(value):
            raise forms.ValidationError(
                _("Use only lower-case letters, digits, dots and underscores."), code="invalid_action"
            )
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The end date must not lie before the start date."))
        return cleaned

    def period(self) -> tuple[datetime | None, datetime | None]:
        """The filtered period as aware datetimes: [start of from-day, start of the day after until-day)."""
        date_from, date_to = self.cleaned_data.get("date_from"), self.cleaned_data.get("date_to")
        start = timezone.make_aware(datetime.combine(date_from, time.min)) if date_from else None
        end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min)) if date_to else None
        return start, end


def validation_error_to_form(form: forms.BaseForm, error: Any) -> None:
    """Attach a ValidationError raised by an action to ``form``; unknown fields become form errors."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
