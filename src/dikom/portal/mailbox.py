"""The citizen's side of case processing: the application page with the portal mailbox.

- ``/portal/antraege/<uuid>/`` shows the application, the case status in plain
  words, the city's messages and the citizen's answers, the decision letter,
  and an answer form for every open request for information (multipart, works
  without JavaScript).
- ``/portal/antraege/<uuid>/dokumente/<uuid>/`` downloads a document the city
  released to the citizen (the decision letter), as an attachment.

Only the signed-in citizen who owns the application sees these pages; anyone
else — another citizen, an anonymous visitor, staff — gets 404. Applications
sent without a citizen account have no mailbox: the city's e-mail tells their
senders that a message is waiting, and they contact the city.

Files attached to an answer are checked like the portal's uploads: size limit
(``DIKOM_PORTAL_MAX_UPLOAD_BYTES``), real type from the file's first bytes
(PDF, JPEG or PNG only), a matching file name extension, and the virus-scan
hook.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from dikom.cases import actions as case_actions
from dikom.cases.models import Case, CaseDocument, CaseMessage
from dikom.portal import scanning, sniffing
from dikom.portal.models import Application
from dikom.web.branding import brand_for

ANSWER_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
MAX_ANSWER_FILES = 10
MAX_ANSWER_LENGTH = 10000


# --- Access -----------------------------------------------------------------------------


def get_application_for_citizen(user: Any, application_uuid: Any) -> Application:
    """The signed-in citizen's own application (not cancelled); 404 for everyone else."""
    if not getattr(user, "is_authenticated", False):
        raise Http404
    try:
        key = uuid_module.UUID(str(application_uuid))
    except ValueError as exc:
        raise Http404 from exc
    application = (
        Application.objects.filter(uuid=key, citizen_id=user.pk)
        .exclude(status=Application.Status.CANCELLED)
        .select_related("municipality", "version", "adoption__definition")
        .first()
    )
    if application is None:
        raise Http404
    return application


def case_of(application: Application) -> Case | None:
    """The case of the citizen's application, if the city has opened one."""
    return Case.objects.filter(application=application).select_related("municipality", "application").first()


# --- Plain words for the citizen --------------------------------------------------------


def case_status_label(case: Case) -> str:
    """The case status as the citizen should read it."""
    labels: dict[str, str] = {
        Case.Status.OPEN: _("In processing"),
        Case.Status.WAITING: _("Query – please answer"),
        Case.Status.DECIDED: _("Decided"),
        Case.Status.CLOSED: _("Closed"),
    }
    return labels.get(case.status, case.get_status_display())


def status_label(application: Application, case: Case | None) -> str:
    return case_status_label(case) if case is not None else str(application.get_status_display())


def detail_url(application: Application) -> str:
    return reverse("portal:application_detail", args=[application.uuid])


def overview(user: Any, applications: list[Application]) -> dict[int, dict[str, Any]]:
    """For "My applications": per application with a case its status label, detail link and unread count.

    Two queries whatever the number of applications.
    """
    ids = [a.pk for a in applications]
    cases = {c.application_id: c for c in Case.objects.filter(application_id__in=ids, application__citizen_id=user.pk)}
    unread = dict(
        CaseMessage.objects.filter(
            case__application_id__in=ids, direction=CaseMessage.Direction.TO_CITIZEN, read_at__isnull=True
        )
        .values_list("case__application_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    result: dict[int, dict[str, Any]] = {}
    for application in applications:
        case = cases.get(application.pk)
        if case is None:
            continue
        result[application.pk] = {
            "case": case,
            "status": case_status_label(case),
            "needs_answer": case.status == Case.Status.WAITING,
            "unread": unread.get(application.pk, 0),
            "url": detail_url(application),
        }
    return result


# --- Answer uploads ---------------------------------------------------------------------


def check_answer_file(upload: Any) -> str | None:
    """Why an uploaded file cannot be accepted (a message for the citizen), or None when it is fine."""
    limit = int(settings.DIKOM_PORTAL_MAX_UPLOAD_BYTES)
    if upload.size > limit:
        return _("The file is too large (at most %(size)s MB).") % {"size": round(limit / (1024 * 1024), 1)}
    if upload.size == 0:
        return _("The file is empty.")
    stream = upload.file if hasattr(upload, "file") else upload
    detected = sniffing.detect(stream)
    if detected not in ANSWER_TYPES:
        return _("This file type is not allowed or could not be recognised. Allowed: %(types)s.") % {
            "types": ", ".join(ANSWER_TYPES.values())
        }
    if not sniffing.extension_matches(sniffing.safe_name(str(upload.name or "")), detected):
        return _("The file name extension does not match the file's content. Please upload the original file.")
    refused = scanning.refusal_message(scanning.scan(stream))
    if refused:
        return refused
    stream.seek(0)
    return None


def check_answer_files(uploads: list[Any]) -> list[str]:
    """Messages for every file that cannot be accepted, each naming the file."""
    if len(uploads) > MAX_ANSWER_FILES:
        return [_("Please attach at most %(count)d files.") % {"count": MAX_ANSWER_FILES}]
    errors = []
    for upload in uploads:
        problem = check_answer_file(upload)
        if problem:
            errors.append(f"{sniffing.safe_name(str(upload.name or ''))}: {problem}")
    return errors


# --- Views ------------------------------------------------------------------------------


def _thread(case: Case) -> list[CaseMessage]:
    """The city's messages to the citizen and the citizen's answers, oldest first (no internal notes)."""
    return list(
        case.messages.filter(
            Q(direction=CaseMessage.Direction.TO_CITIZEN) | Q(direction=CaseMessage.Direction.FROM_CITIZEN)
        )
        .select_related("document", "answered_by")
        .order_by("created_at", "pk")
    )


def _render_detail(
    request: HttpRequest,
    application: Application,
    case: Case | None,
    *,
    errors: dict[int, list[str]] | None = None,
    drafts: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    errors = errors or {}
    drafts = drafts or {}
    thread = _thread(case) if case is not None else []
    entries = []
    for message in thread:
        is_request = message.kind == CaseMessage.Kind.INFORMATION_REQUEST
        entries.append(
            {
                "message": message,
                "from_citizen": message.direction == CaseMessage.Direction.FROM_CITIZEN,
                "is_new": message.direction == CaseMessage.Direction.TO_CITIZEN and message.read_at is None,
                "is_request": is_request,
                "open_request": is_request and message.answered_by_id is None,
                "can_answer": is_request and message.answered_by_id is None and case is not None and case.is_open,
                "errors": errors.get(message.pk, []),
                "draft": drafts.get(message.pk, ""),
                "document": message.document if message.document and message.document.visible_to_citizen else None,
            }
        )
    documents = list(case.documents.filter(visible_to_citizen=True).order_by("created_at", "pk")) if case else []
    data = application.submission_data or {}
    context = {
        "application": application,
        "municipality": application.municipality,
        "brand": brand_for(application.municipality.brand_colour),
        "case": case,
        "title": data.get("title") or application.adoption.definition.title,
        "status_label": status_label(application, case),
        "entries": entries,
        "documents": documents,
        "open_requests": sum(1 for e in entries if e["can_answer"]),
        "error_summary": [(f"answer-{pk}", msg) for pk, msgs in errors.items() for msg in msgs],
        "max_upload_mb": round(int(settings.DIKOM_PORTAL_MAX_UPLOAD_BYTES) / (1024 * 1024), 1),
        "max_files": MAX_ANSWER_FILES,
        "allowed_types": ", ".join(ANSWER_TYPES.values()),
    }
    response = render(request, "portal/application_detail.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def application_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    application = get_application_for_citizen(request.user, uuid)
    if application.is_draft:
        return redirect("portal:step", application.municipality.slug, application.uuid, application.current_step)
    case = case_of(application)
    if request.method == "POST":
        return _answer(request, application, case)
    response = _render_detail(request, application, case)
    if case is not None:
        # After rendering, so that the page still marks what was new on this visit.
        case_actions.mark_messages_read(case, request.user)
    return response


def _answer(request: HttpRequest, application: Application, case: Case | None) -> HttpResponse:
    if case is None:
        raise Http404
    try:
        key = uuid_module.UUID(request.POST.get("request", ""))
    except ValueError as exc:
        raise Http404 from exc
    information_request = case.messages.filter(
        uuid=key, kind=CaseMessage.Kind.INFORMATION_REQUEST, direction=CaseMessage.Direction.TO_CITIZEN
    ).first()
    if information_request is None:
        raise Http404
    body = request.POST.get("body", "").strip()
    files = request.FILES.getlist("files")
    errors: list[str] = []
    if len(body) > MAX_ANSWER_LENGTH:
        errors.append(_("Please shorten your answer to at most %(count)d characters.") % {"count": MAX_ANSWER_LENGTH})
    if not body and not files:
        errors.append(_("Please write an answer or attach a file."))
    if not case.is_open:
        errors.append(_("This request can no longer be answered online."))
    errors.extend(check_answer_files(files))
    if not errors:
        try:
            case_actions.answer_information(case, request.user, information_request, body, files)
        except case_actions.CaseActionError as exc:
            errors.append(str(exc))
    if errors:
        return _render_detail(
            request,
            application,
            case,
            errors={information_request.pk: errors},
            drafts={information_request.pk: body},
            status=400,
        )
    messages.success(request, _("Thank you. Your answer has been sent to the city; your application continues."))
    return redirect(detail_url(application))


@never_cache
@require_http_methods(["GET", "HEAD"])
def document_download(request: HttpRequest, uuid: Any, document: Any) -> FileResponse:
    """A document the city released to the citizen, for the owner only, always as a download."""
    application = get_application_for_citizen(request.user, uuid)
    case = case_of(application)
    try:
        key = uuid_module.UUID(str(document))
    except ValueError as exc:
        raise Http404 from exc
    found = (
        CaseDocument.objects.filter(case=case, uuid=key, visible_to_citizen=True).first() if case is not None else None
    )
    if found is None or not found.file:
        raise Http404
    try:
        handle = found.file.open("rb")
    except OSError as exc:
        raise Http404 from exc
    response = FileResponse(
        handle, as_attachment=True, filename=found.file_name, content_type=found.content_type or "application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
