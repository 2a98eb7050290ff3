"""Representations of cases, tasks, documents, decisions and history for the case API, and its inputs.

Names follow our own models (``reference``, ``service``, ``status``); the shape
takes ideas from Open Zaak's Zaken and Documenten APIs (a case carries links to
its sub-resources, a document's content is its own download address) without
copying their Dutch vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dikom.api.serializers import QuerySerializer, StrictJSONSerializer, ags_query_field
from dikom.cases.models import Case, CaseDocument, CaseEvent, Task
from dikom.lib.dateranges import ApiMomentField


def _absolute(context: Mapping[str, Any], name: str, **kwargs: Any) -> str:
    path = reverse(name, kwargs=kwargs)
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


class OrgUnitRefSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)


class CaseSerializer(serializers.ModelSerializer):
    """A case in lists: what a specialist procedure needs to decide whether to fetch it."""

    url = serializers.SerializerMethodField(help_text="Address of this case in the API.")
    service = serializers.SerializerMethodField()
    org_unit = OrgUnitRefSerializer(read_only=True, allow_null=True, help_text="The responsible unit.")

    class Meta:
        model = Case
        fields = [
            "uuid",
            "url",
            "reference",
            "service",
            "status",
            "outcome",
            "org_unit",
            "opened_at",
            "due_at",
            "decided_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, case: Case) -> str:
        return _absolute(self.context, "cases-api:case-detail", case_uuid=case.uuid)

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"slug": {"type": "string"}, "title": {"type": "string"}},
            "required": ["slug", "title"],
        }
    )
    def get_service(self, case: Case) -> dict[str, str]:
        return {"slug": case.service_slug, "title": case.service_title}


class DocumentSerializer(serializers.ModelSerializer):
    content_url = serializers.SerializerMethodField(help_text="Download address of the file (same credentials).")

    class Meta:
        model = CaseDocument
        fields = [
            "uuid",
            "kind",
            "title",
            "file_name",
            "content_type",
            "size",
            "sha256",
            "active_content",
            "visible_to_citizen",
            "created_automatically",
            "created_at",
            "content_url",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "active_content": {"help_text": "Markers of active content found in a PDF (javascript, launch, …)."},
            "sha256": {"help_text": "SHA-256 of the file, hexadecimal."},
        }

    @extend_schema_field(OpenApiTypes.URI)
    def get_content_url(self, document: CaseDocument) -> str:
        return _absolute(
            self.context, "cases-api:document-content", case_uuid=document.case.uuid, document_uuid=document.uuid
        )


class TaskSerializer(serializers.ModelSerializer):
    org_unit = OrgUnitRefSerializer(read_only=True, allow_null=True)
    assigned = serializers.SerializerMethodField(help_text="Whether a person has taken the task.")

    class Meta:
        model = Task
        fields = [
            "uuid",
            "kind",
            "name",
            "status",
            "lane",
            "org_unit",
            "assigned",
            "instructions",
            "result",
            "due_at",
            "created_at",
            "completed_at",
            "completed_automatically",
            "lock_version",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "lock_version": {
                "help_text": "Send it back when completing the task: a changed task is then refused (409)."
            }
        }

    def get_assigned(self, task: Task) -> bool:
        return task.assignee_id is not None


class CaseRefSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(read_only=True)
    reference = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, case: Case) -> str:
        return _absolute(self.context, "cases-api:case-detail", case_uuid=case.uuid)


class InboxTaskSerializer(TaskSerializer):
    """A task in the city's inbox, with the case it belongs to."""

    case = CaseRefSerializer(read_only=True)

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "case"]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True, help_text="Who acted, as recorded then.")

    class Meta:
        model = CaseEvent
        fields = ["created_at", "kind", "text", "actor", "automatic"]
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Case.Outcome.choices, read_only=True)
    reasons = serializers.CharField(source="decision_reasons", read_only=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decided_automatically = serializers.BooleanField(read_only=True)
    signed_off_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ApplicationSerializer(serializers.Serializer):
    """The citizen's application as submitted (a snapshot taken at submission)."""

    uuid = serializers.UUIDField(read_only=True)
    submitted_at = serializers.CharField(read_only=True, allow_null=True)
    service_version = serializers.IntegerField(read_only=True, allow_null=True)
    answers = serializers.DictField(read_only=True, help_text="The answers per step: {step: {field: value}}.")
    files = serializers.ListField(child=serializers.DictField(), read_only=True)
    auth_method = serializers.CharField(read_only=True)
    trust_level = serializers.CharField(read_only=True)
    fee_lines = serializers.ListField(child=serializers.DictField(), read_only=True)
    fee_total_cents = serializers.IntegerField(read_only=True)
    payment_reference = serializers.CharField(read_only=True)
    payment = serializers.DictField(read_only=True, allow_null=True)


def application_data(case: Case) -> dict[str, Any]:
    data = case.application.submission_data or {}
    return {
        "uuid": case.application.uuid,
        "submitted_at": data.get("submitted_at"),
        "service_version": data.get("version"),
        "answers": data.get("answers") or {},
        # Where dikom stores a file is none of the client's business; the documents carry the content.
        "files": [
            {k: v for k, v in entry.items() if k in {"field", "name", "content_type", "size", "sha256"}}
            for entry in data.get("files") or []
        ],
        "auth_method": data.get("auth_method") or "",
        "trust_level": data.get("trust_level") or "",
        "fee_lines": data.get("fee_lines") or [],
        "fee_total_cents": data.get("fee_total_cents") or 0,
        "payment_reference": data.get("payment_reference") or "",
        "payment": data.get("payment") or None,
    }


class CaseDetailSerializer(CaseSerializer):
    """One case with its application, decision, documents and tasks."""

    application = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()
    documents = DocumentSerializer(many=True, read_only=True)
    tasks = TaskSerializer(many=True, read_only=True)
    history_url = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "application", "decision", "documents", "tasks", "history_url"]
        read_only_fields = fields

    @extend_schema_field(ApplicationSerializer)
    def get_application(self, case: Case) -> dict[str, Any]:
        return ApplicationSerializer(application_data(case)).data

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, case: Case) -> dict[str, Any] | None:
        return DecisionSerializer(case).data if case.outcome else None

    @extend_schema_field(OpenApiTypes.URI)
    def get_history_url(self, case: Case) -> str:
        return _absolute(self.context, "cases-api:case-history", case_uuid=case.uuid)


# --- inputs ---------------------------------------------------------------------------------------


class CaseFilterSerializer(QuerySerializer):
    municipality = ags_query_field(
        "AGS of the municipality. Required for signed-in staff; API keys read their own municipality."
    )
    service = serializers.SlugField(required=False, max_length=80, help_text="Only cases of this service (its slug).")
    status = serializers.ChoiceField(
        choices=Case.Status.choices, required=False, help_text="Only cases in this status."
    )
    created_since = ApiMomentField(
        required=False, help_text="Only cases created at or after this moment (ISO 8601 with time zone)."
    )


class TaskFilterSerializer(QuerySerializer):
    municipality = ags_query_field(
        "AGS of the municipality. Required for signed-in staff; API keys read their own municipality."
    )
    status = serializers.ChoiceField(
        choices=Task.Status.choices, required=False, help_text="Only tasks in this status."
    )
    kind = serializers.ChoiceField(choices=Task.Kind.choices, required=False, help_text="Only tasks of this kind.")
    created_since = ApiMomentField(
        required=False, help_text="Only tasks created at or after this moment (ISO 8601 with time zone)."
    )


class TaskCompleteSerializer(StrictJSONSerializer):
    rejects_unknown_fields = True

    result = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, default="", help_text="What was done or found."
    )
    lock_version = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="The task's `lock_version` as last read; when someone changed the task since, 409.",
    )


class DecisionInputSerializer(StrictJSONSerializer):
    rejects_unknown_fields = True

    outcome = serializers.ChoiceField(
        choices=[c for c in Case.Outcome.choices if c[0]], help_text="approved, partly_approved or rejected."
    )
    reasons = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10000,
        default="",
        help_text="Required unless the application is approved; goes into the decision letter.",
    )


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The document (PDF, PNG, JPEG, TIFF, DOCX, XLSX, ODT, ODS or plain text).")
    title = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    visible_to_citizen = serializers.BooleanField(
        required=False, default=False, help_text="Show it to the citizen in the portal mailbox."
    )

    def validate_title(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError(_("The text contains a NUL character, which is not allowed."))
        return value
