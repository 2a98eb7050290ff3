"""``POST /api/v1/mail/inbound/``: a city's mail gateway hands over one e-mail (``message/rfc822``).

Thin: ``actions.receive_mail`` does everything; the key's city limits which cases the mail may reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from dikom.api.problems import ContentTooLarge
from dikom.api.schema import problems
from dikom.api.views import BaseApiView
from dikom.cases import access
from dikom.cases.mail import service
from dikom.cases.scopes import MAIL_INBOUND

RFC822 = "message/rfc822"


class RFC822Parser(BaseParser):
    """The body as bytes, at most the inbound size limit (one byte more tells that it is too large)."""

    media_type = RFC822

    # The raw mail, not a mapping: the view reads bytes.
    def parse(  # type: ignore[override]
        self, stream: IO[bytes] | None, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if stream is None:
            return b""
        raw = stream.read(int(settings.DIKOM_INBOUND_MAIL_MAX_BYTES) + 1)
        if len(raw) > int(settings.DIKOM_INBOUND_MAIL_MAX_BYTES):
            raise ContentTooLarge(gettext("The e-mail is larger than this server accepts."))
        return raw


class Unavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The e-mail could not be processed now (virus scanner or database); please try again later.")
    default_code = "temporarily_unavailable"


class InboundOutcomeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(service.ACCEPTED, service.ACCEPTED), (service.DUPLICATE, service.DUPLICATE)],
        read_only=True,
        help_text="`accepted`: stored in the case file; `duplicate`: this Message-ID reached the case before.",
    )
    case = serializers.UUIDField(read_only=True, help_text="The case the reply address belongs to.")
    delivered = serializers.BooleanField(
        read_only=True, help_text="The case's process waited for `dikom:e-mail-eingegangen` and continued."
    )
    documents = serializers.IntegerField(read_only=True, help_text="Attachments stored as case documents.")


RECIPIENT = OpenApiParameter(
    "recipient",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    many=True,
    description="Envelope recipient(s) as the gateway received them; without, the mail's own To/Cc headers.",
)


class InboundMailView(BaseApiView):
    parser_classes = [RFC822Parser]

    @extend_schema(
        operation_id="mail_inbound_create",
        summary="Hand over an inbound e-mail",
        description=(
            "Needs an API key with the scope `mail:inbound`. The body is one RFC 5322 e-mail "
            "(`Content-Type: message/rfc822`, at most `DIKOM_INBOUND_MAIL_MAX_BYTES`). It reaches the case of "
            "the key's city whose reply address (`antwort+<token>@<DIKOM_INBOUND_MAIL_DOMAIN>`) it was sent to: "
            "its text becomes a message from the citizen, its attachments (virus-scanned) case documents, and "
            "the process receives `dikom:e-mail-eingegangen`. No such open case: 404; no readable e-mail: 400; "
            "scanner or database unavailable: 503 (retry)."
        ),
        parameters=[RECIPIENT],
        request={RFC822: OpenApiTypes.BINARY},
        responses={200: InboundOutcomeSerializer, **problems(400, 401, 403, 404, 429)},
        tags=["mail"],
    )
    def post(self, request: Request) -> Response:
        if not access.is_api_key(request.user):
            raise exceptions.PermissionDenied(gettext("Only a mail gateway's API key may hand over e-mails."))
        access.require_scope(request.user, MAIL_INBOUND)
        raw = request.data if isinstance(request.data, bytes) else b""
        outcome = service.receive_mail(
            raw,
            recipients=request.query_params.getlist("recipient"),
            municipality=getattr(request.user, "municipality", None),
        )
        if outcome.status == service.BAD_DATA:
            raise exceptions.ValidationError({"message": [gettext("The body is no e-mail dikom can read.")]})
        if outcome.status == service.UNKNOWN_RECIPIENT:
            raise exceptions.NotFound(gettext("No open case of this city has this reply address."))
        if outcome.status == service.TEMPORARY:
            raise Unavailable()
        return Response(
            InboundOutcomeSerializer(
                {
                    "status": outcome.status,
                    "case": outcome.case.uuid if outcome.case else None,
                    "delivered": bool(outcome.delivery and outcome.delivery.delivered),
                    "documents": len(outcome.documents),
                }
            ).data
        )
