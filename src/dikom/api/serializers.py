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


class AuditEventFilterSerializer(serializers.Serializer):
    """Query parameters of the audit log."""

    municipality = serializers.CharField(
        required=False,
        max_length=8,
        help_text="AGS of the municipality. Required for signed-in users; API keys read their own municipality.",
    )
    action = serializers.CharField(
        required=False, max_length=80, help_text="Only events whose action starts with this, e.g. `auth.` or `api_key`."
    )
    since = ApiMomentField(required=False, help_text="Only events at or after this time (ISO 8601).")
    until = ApiMomentField(required=False, help_text="Only events before this time (ISO 8601).")

    def validate_municipality(self, value: str) -> str:
        try:
            validate_ags(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        return value

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
