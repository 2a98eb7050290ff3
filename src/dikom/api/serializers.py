"""Representations of the API's resources and the validation of query parameters."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from dikom.accounts.roles import Role
from dikom.audit.models import AuditEvent
from dikom.lib.dateranges import ApiMomentField
from dikom.municipalities.models import District, Municipality, OrgUnit, SizeClass, validate_ags

# The rule of ``validate_ags`` as a pattern, so the OpenAPI document states it:
# 8 digits, the first two a German state key (01 to 16).
AGS_PATTERN = r"^(0[1-9]|1[0-6])\d{6}$"
AGS_DESCRIPTION = "Official municipality key (Amtlicher Gemeindeschlüssel): 8 digits starting with a state key 01–16."


def ags_query_field(help_text: str) -> serializers.RegexField:
    """An optional ``municipality=<AGS>`` query parameter; a malformed key is a 400, an unknown one a 404."""
    return serializers.RegexField(
        AGS_PATTERN,
        required=False,
        max_length=8,
        help_text=help_text,
        error_messages={"invalid": _("The AGS must consist of 8 digits and start with a state key (01 to 16).")},
    )


class QuerySerializer(serializers.Serializer):
    """Validates query parameters; a parameter given with an empty value is an error, not a missing one.

    DRF reads query strings like HTML forms, where ``until=`` means "not set".
    An API client that sends ``until=`` has a bug (an unset variable), and
    answering as if it had sent nothing would hide it; the OpenAPI document
    accordingly lists no empty value as valid.
    """

    def to_internal_value(self, data: Any) -> Any:
        empty = {
            name: [_("This parameter must not be empty; leave it out instead.")]
            for name, field in self.fields.items()
            if not field.read_only
            and hasattr(data, "getlist")
            and any(not value.strip() for value in data.getlist(name))
            and not getattr(field, "allow_blank", False)
        }
        if empty:
            raise serializers.ValidationError(empty, code="blank")
        return super().to_internal_value(data)


class StrictJSONSerializer(serializers.Serializer):
    """Validates a JSON request body without DRF's conversions between JSON types.

    DRF reads ``0`` as the string ``"0"``, ``"5"`` as the integer 5 and ``1``
    as true, as suits HTML forms. In a JSON body that hides a client's type
    error, and the OpenAPI document promises the JSON type; so a value of
    another JSON type is a 400 naming the field. With ``rejects_unknown_fields = True``
    (documented as ``additionalProperties: false``) a field it does not know is a 400 too.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            if getattr(self, "rejects_unknown_fields", False) and (
                unknown := [name for name in data if name not in self.fields]
            ):
                raise serializers.ValidationError(
                    {str(name)[:100]: [_("Unknown field.")] for name in unknown}, code="unknown_field"
                )
            errors = {
                name: [message]
                for name, field in self.fields.items()
                if not field.read_only
                and name in data
                and not (data[name] is None and field.allow_null)
                and (message := _json_type_error(field, data[name]))
            }
            if errors:
                raise serializers.ValidationError(errors, code="invalid_type")
        return super().to_internal_value(data)


def _json_type_error(field: serializers.Field, value: Any) -> Any:
    if isinstance(field, serializers.CharField | serializers.UUIDField | serializers.ChoiceField):
        return None if isinstance(value, str) else _("Must be a string.")
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else _("Must be true or false.")
    if isinstance(field, serializers.IntegerField):
        return None if isinstance(value, int) and not isinstance(value, bool) else _("Must be a whole number.")
    return None


def validated_ags(value: str) -> str:
    """``value`` if it is a well-formed AGS, else a 400 naming the ``ags`` field."""
    try:
        validate_ags(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError({"ags": list(exc.messages)}, code=exc.code) from exc
    return value


class DistrictSerializer(serializers.ModelSerializer):
    class Meta:
        model = District
        fields = ["key", "name"]


class MunicipalitySerializer(serializers.ModelSerializer):
    """Public facts about a member of the cooperation. Holds no personal data."""

    district = DistrictSerializer(read_only=True)
    state_key = serializers.CharField(read_only=True, help_text="The first two digits of the AGS (the state).")
    size_class = serializers.ChoiceField(
        choices=SizeClass.choices, read_only=True, help_text="Size class derived from the population."
    )

    class Meta:
        model = Municipality
        fields = [
            "uuid",
            "name",
            "slug",
            "ags",
            "kind",
            "district",
            "state_key",
            "population",
            "size_class",
            "membership",
            "website",
        ]
        read_only_fields = fields


class OrgUnitSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(
        choices=OrgUnit.Kind.choices, allow_blank=True, read_only=True, help_text="Empty when not recorded."
    )
    parent = serializers.UUIDField(  # type: ignore[assignment]  # a field named like Field.parent
        source="parent.uuid", read_only=True, allow_null=True, help_text="UUID of the parent unit; null at the top."
    )

    class Meta:
        model = OrgUnit
        fields = ["uuid", "name", "short_name", "kind", "parent", "email"]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor_label", read_only=True, help_text="User name, `api-key:<prefix>` or `system`."
    )
    changes = serializers.DictField(read_only=True, help_text="What changed (field: [old, new]) or other details.")

    class Meta:
        model = AuditEvent
        fields = [
            "uuid",
            "occurred_at",
            "actor",
            "api_key_prefix",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "source",
        ]
        read_only_fields = fields


MUNICIPALITY_REQUIRED = _("Name the municipality (its AGS) whose audit log you want to read.")


class AuditEventFilterSerializer(QuerySerializer):
    """Query parameters of the audit log."""

    municipality = ags_query_field(
        "AGS of the municipality. Required for signed-in users; API keys read their own municipality."
    )
    action = serializers.CharField(
        required=False, max_length=80, help_text="Only events whose action starts with this, e.g. `auth.` or `api_key`."
    )
    since = ApiMomentField(required=False, help_text="Only events at or after this time (ISO 8601).")
    until = ApiMomentField(required=False, help_text="Only events before this time (ISO 8601).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since >= until:
            raise serializers.ValidationError({"until": _("“until” must be later than “since”.")})
        return attrs


class MunicipalityRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Municipality
        fields = ["ags", "name", "slug"]
        read_only_fields = fields


class MeApiKeySerializer(serializers.Serializer):
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The public part of the key (`dk_<prefix>_…`).")
    scopes = serializers.ListField(child=serializers.CharField())
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class MeUserSerializer(serializers.Serializer):
    username = serializers.CharField()
    is_platform_admin = serializers.BooleanField()


class MeMembershipSerializer(serializers.Serializer):
    municipality = MunicipalityRefSerializer()
    role = serializers.ChoiceField(choices=Role.choices)


class MeSerializer(serializers.Serializer):
    """The caller: an API key of one municipality, or a signed-in person with their roles."""

    kind = serializers.ChoiceField(choices=[("api_key", "API key"), ("user", "User")])
    api_key = MeApiKeySerializer(allow_null=True, help_text="Set for API keys.")
    municipality = MunicipalityRefSerializer(allow_null=True, help_text="The API key's municipality.")
    user = MeUserSerializer(allow_null=True, help_text="Set for signed-in people.")
    memberships = MeMembershipSerializer(many=True, help_text="Roles of a signed-in person; empty for API keys.")
