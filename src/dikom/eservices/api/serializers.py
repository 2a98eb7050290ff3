"""Representations of the service library in the API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dikom.api.serializers import QuerySerializer, ags_query_field
from dikom.eservices.models import Adoption, ServiceDefinition, ServiceVersion
from dikom.municipalities.models import Municipality, OrgUnit


class EserviceMunicipalitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Municipality
        fields = ["ags", "name", "slug"]
        read_only_fields = fields


class LibraryVersionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceVersion
        fields = ["number", "released_at"]
        read_only_fields = fields


class LibraryServiceSerializer(serializers.ModelSerializer):
    """A released service of the shared library."""

    municipality = EserviceMunicipalitySerializer(read_only=True, help_text="The city that drafted the service.")
    keywords = serializers.SerializerMethodField()
    latest_version = LibraryVersionRefSerializer(source="latest_released", read_only=True)

    class Meta:
        model = ServiceDefinition
        fields = ["uuid", "slug", "title", "leika_key", "keywords", "municipality", "latest_version"]
        read_only_fields = fields

    def get_keywords(self, obj: ServiceDefinition) -> list[str]:
        return [k.strip() for k in obj.keywords.split(",") if k.strip()]


class ServiceFilterSerializer(QuerySerializer):
    q = serializers.CharField(
        required=False, max_length=100, help_text="Search in title, keywords and LeiKa key (prefix)."
    )


class ServiceVersionSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="definition.slug", read_only=True, help_text="Short name of the service.")
    municipality = EserviceMunicipalitySerializer(read_only=True, help_text="The authoring city.")
    based_on = serializers.IntegerField(source="based_on.number", read_only=True, allow_null=True)
    content = serializers.SerializerMethodField(help_text="The definition, format `dikom.service/1`.")

    class Meta:
        model = ServiceVersion
        fields = [
            "service",
            "number",
            "status",
            "based_on",
            "municipality",
            "content_hash",
            "review_round",
            "submitted_at",
            "released_at",
            "content",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_content(self, obj: ServiceVersion) -> dict[str, Any]:
        return obj.content


class AdoptionOrgUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrgUnit
        fields = ["uuid", "name", "short_name", "email"]
        read_only_fields = fields


class AdoptionSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="definition.slug", read_only=True, help_text="Short name of the service.")
    title = serializers.CharField(source="definition.title", read_only=True)
    version = serializers.IntegerField(
        source="version.number", read_only=True, help_text="The version new applications start on."
    )
    pending_upgrade_to = serializers.IntegerField(
        source="pending_upgrade_to.number",
        read_only=True,
        allow_null=True,
        help_text="A newer released version the city has not upgraded to yet.",
    )
    org_unit = AdoptionOrgUnitSerializer(read_only=True, allow_null=True)
    fees = serializers.DictField(
        child=serializers.IntegerField(), read_only=True, help_text="The city's own amounts in cents, by fee key."
    )

    class Meta:
        model = Adoption
        fields = [
            "uuid",
            "service",
            "title",
            "version",
            "pending_upgrade_to",
            "org_unit",
            "fees",
            "contact_email",
            "contact_phone",
            "hint_de",
            "hint_en",
            "start_date",
            "active",
        ]
        read_only_fields = fields


class AdoptionFilterSerializer(QuerySerializer):
    municipality = ags_query_field(
        "AGS of the city; needed for signed-in people, an API key always reads its own city."
    )
