"""``POST /api/v1/cases/{case_uuid}/messages/``: an outside system sends the case's process a BPMN message.

Thin: ``cases.platform_messages.post_message`` finds the message in the case's
process and delivers it in one transaction, once per ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dikom.api.schema import problems
from dikom.api.serializers import StrictJSONSerializer
from dikom.cases import access, platform_messages
from dikom.cases.api.views import CASE_UUID, TAGS, WRITE_NOTE, CaseView, conflicts
from dikom.cases.bpmn.engine import EngineError
from dikom.cases.bpmn.engine.base import _checked_data

#: The message's content becomes case data of the process: kept small.
MAX_DATA_BYTES = 64 * 1024

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "A key the client chooses for this message (at most 200 characters). A retry with the same key delivers "
        "nothing again and answers the first outcome with `duplicate: true`; the same key for another message "
        "of the case is a 409."
    ),
)


class MessageInputSerializer(StrictJSONSerializer):
    rejects_unknown_fields = True

    message = serializers.CharField(
        max_length=200,
        help_text=(
            "The message: `<name>` of a message the process declares as `dikom:webhook:<name>` (the full form is "
            "accepted too), or the name of a message of the process that names no platform event."
        ),
    )
    data = serializers.DictField(  # type: ignore[assignment]  # the body field "data", not Serializer.data
        required=False,
        default=dict,
        help_text="The message's content (a JSON object, at most 64 KiB); the process receives it as case data.",
    )

    def validate_message(self, value: str) -> str:
        if "\x00" in value or not value.strip():
            raise serializers.ValidationError(_("Name the message."))
        return " ".join(value.split())

    def validate_data(self, value: dict[str, Any]) -> dict[str, Any]:
        import json

        try:
            checked = _checked_data(value)
        except EngineError as error:
            raise serializers.ValidationError(error.message) from None
        if len(json.dumps(checked).encode()) > MAX_DATA_BYTES:
            raise serializers.ValidationError(_("The message's content may be at most 64 KiB."))
        return checked


class MessageOutcomeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=platform_messages.OUTCOME_CHOICES,
        read_only=True,
        help_text=(
            "`delivered`: a step of the process waited for the message and the process continued; `not_waiting`: "
            "the case does not wait for it now (or is closed), nothing changed; `failed`: the process could not "
            "take it, the step stays open for a caseworker (`error` says why)."
        ),
    )
    delivered = serializers.BooleanField(read_only=True)
    message = serializers.CharField(read_only=True, help_text="The BPMN message it was delivered as.")
    duplicate = serializers.BooleanField(read_only=True, help_text="A retry of an earlier message (same key).")
    error = serializers.CharField(read_only=True)


class CaseMessageView(CaseView):
    @extend_schema(
        operation_id="cases_messages_create",
        summary="Send the case's process a message",
        description=(
            f"{WRITE_NOTE} For specialist procedures and other outside systems whose messages the service's "
            "process waits for (a message catch event, receive task, message boundary event or event subprocess "
            "declared `dikom:webhook:<name>`, see the BPMN documentation). A message the case does not wait for "
            "now is no error (`not_waiting`). A message the process does not have, or one only the platform "
            "delivers (a payment, the citizen's answer): 400."
        ),
        parameters=[CASE_UUID, IDEMPOTENCY_KEY],
        request=MessageInputSerializer,
        responses={200: MessageOutcomeSerializer, **problems(400, 401, 403, 404, 409, 429)},
        tags=TAGS,
    )
    def post(self, request: Request, case_uuid: Any) -> Response:
        case = self.get_case()
        body = self.validated(MessageInputSerializer)
        self.require(access.may_manage_case_api(request.user, case), gettext("You may not send messages to this case."))
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 200:
            raise exceptions.ValidationError(
                {"Idempotency-Key": [gettext("The Idempotency-Key may be at most 200 characters long.")]}
            )
        with conflicts(), transaction.atomic():
            try:
                delivery = platform_messages.post_message(
                    case, body["message"], body["data"], actor=access.actor_for(request.user), idempotency_key=key
                )
            except platform_messages.UnknownMessage as error:
                raise exceptions.ValidationError({"message": [str(error)]}, code="unknown_message") from None
        return Response(
            MessageOutcomeSerializer(
                {
                    "outcome": delivery.outcome,
                    "delivered": delivery.delivered,
                    "message": delivery.message,
                    "duplicate": delivery.duplicate,
                    "error": delivery.error,
                }
            ).data
        )
