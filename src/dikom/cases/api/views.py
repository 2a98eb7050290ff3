"""The case API: what a specialist procedure (Fachverfahren) needs to work on a city's cases.

Thin: ``cases.access`` decides who sees and may do what (an API key sees its own
city's cases with ``cases:read`` and works on them with ``cases:write``; a
signed-in person exactly what the web pages allow), ``cases.actions`` and
``cases.document_actions`` change state with the same checks as for a
caseworker. Another city's case is a 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Model, Prefetch, QuerySet
from django.http import FileResponse, Http404
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from dikom.api.permissions import resolve_municipality
from dikom.api.problems import Conflict
from dikom.api.schema import problems
from dikom.api.views import BaseApiView
from dikom.cases import access, actions, document_actions
from dikom.cases.api import serializers as s
from dikom.cases.api.pagination import CaseCursorPagination
from dikom.cases.models import Case, CaseDocument, CaseEvent, Task
from dikom.cases.scopes import CASES_READ, CASES_WRITE
from dikom.municipalities.models import Municipality

TAGS = ["cases"]
CASE_UUID = OpenApiParameter("case_uuid", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The case's uuid.")
TASK_UUID = OpenApiParameter("task_uuid", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The task's uuid.")
DOCUMENT_UUID = OpenApiParameter(
    "document_uuid", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The document's uuid."
)
READ_NOTE = "Needs an API key with the scope `cases:read`, or a signed-in caseworker who may see the case."
WRITE_NOTE = (
    "Needs an API key with the scope `cases:write`, or a signed-in caseworker who may do this on the web pages."
)


@contextmanager
def conflicts() -> Iterator[None]:
    """A case action refused for the case's state (``CaseActionError``) answers 409."""
    try:
        yield
    except actions.CaseActionError as error:
        raise Conflict(str(error)) from error


def city_filters(request: Request, filters: type[serializers.Serializer]) -> tuple[dict[str, Any], Municipality]:
    """The validated query of a city-wide list and the city it names (or the API key's own city)."""
    query = filters(data=request.query_params)
    query.is_valid(raise_exception=True)
    params = query.validated_data
    municipality = resolve_municipality(
        request,
        params.get("municipality"),
        scope=CASES_READ,
        roles=access.CASE_ROLES,
        required_message=gettext("Name the municipality by its AGS (municipality=…)."),
    )
    return params, municipality


class CaseView(BaseApiView):
    """An endpoint below ``/api/v1/cases/{case_uuid}/``.

    ``get_case`` checks the scope (``cases:read`` for reading methods, ``cases:write``
    for the others) and looks the case up as the caller may see it: another city's
    case, or one the person may not see, is a 404.
    """

    def get_case(self) -> Case:
        scope = CASES_READ if self.request.method in SAFE_METHODS else CASES_WRITE
        access.require_scope(self.request.user, scope)
        return access.get_case_for_api(self.request.user, self.kwargs["case_uuid"])

    def validated(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        """The request body checked by ``serializer_class`` (400 otherwise)."""
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        return dict(body.validated_data)

    @staticmethod
    def require(allowed: bool, message: str) -> None:
        if not allowed:
            raise exceptions.PermissionDenied(message)


class CaseItemsView(CaseView, generics.ListAPIView):
    """A list of one case's rows (history, tasks, documents), oldest first."""

    model: type[Model]

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return self.model._default_manager.none()
        return self.items(self.get_case()).order_by("created_at", "id")

    def items(self, case: Case) -> QuerySet[Any]:
        raise NotImplementedError


class CaseListView(BaseApiView, generics.ListAPIView):
    serializer_class = s.CaseSerializer
    pagination_class = CaseCursorPagination

    def get_queryset(self) -> QuerySet[Case]:
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()
        params, municipality = city_filters(self.request, s.CaseFilterSerializer)
        cases = access.api_visible_cases(self.request.user, municipality).select_related("org_unit")
        if params.get("service"):
            cases = cases.filter(service_slug=params["service"])
        if params.get("status"):
            cases = cases.filter(status=params["status"])
        if params.get("created_since"):
            cases = cases.filter(created_at__gte=params["created_since"])
        # Only the columns a list shows: never the BPMN XML and engine state of every case.
        return cases.defer("process_xml", "workflow_state")

    @extend_schema(
        operation_id="cases_list",
        summary="The city's cases, oldest first",
        description=(
            f"{READ_NOTE} Filter by service, status and creation time; paged with a cursor "
            "(follow `next`). To fetch new cases regularly, pass the `created_at` of the newest case seen "
            "as `created_since`."
        ),
        parameters=[s.CaseFilterSerializer],
        responses={200: s.CaseSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CaseDetailView(CaseView):
    @extend_schema(
        operation_id="cases_retrieve",
        summary="One case with its application, decision, documents and tasks",
        description=READ_NOTE,
        parameters=[CASE_UUID],
        responses={200: s.CaseDetailSerializer, **problems(401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, case_uuid: Any) -> Response:
        found = self.get_case()
        case = (
            Case.objects.select_related("application", "org_unit", "municipality")
            .prefetch_related(
                Prefetch("documents", queryset=CaseDocument.objects.select_related("case")),
                Prefetch("tasks", queryset=Task.objects.select_related("org_unit")),
            )
            .get(pk=found.pk)
        )
        return Response(s.CaseDetailSerializer(case, context={"request": request}).data)


class CaseHistoryView(CaseItemsView):
    serializer_class = s.EventSerializer
    model = CaseEvent

    def items(self, case: Case) -> QuerySet[CaseEvent]:
        return CaseEvent.objects.filter(case=case)

    @extend_schema(
        operation_id="cases_history_list",
        summary="The case's history, oldest first",
        description=f"{READ_NOTE} Every step: opening, tasks, messages, documents, decision, closing.",
        parameters=[CASE_UUID],
        responses={200: s.EventSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class TaskListView(CaseItemsView):
    serializer_class = s.TaskSerializer
    model = Task

    def items(self, case: Case) -> QuerySet[Task]:
        return Task.objects.filter(case=case).select_related("org_unit")

    @extend_schema(
        operation_id="cases_tasks_list",
        summary="The case's tasks (open and done)",
        description=READ_NOTE,
        parameters=[CASE_UUID],
        responses={200: s.TaskSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class InboxView(BaseApiView, generics.ListAPIView):
    serializer_class = s.InboxTaskSerializer
    pagination_class = CaseCursorPagination

    def get_queryset(self) -> QuerySet[Task]:
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        params, municipality = city_filters(self.request, s.TaskFilterSerializer)
        cases = access.api_visible_cases(self.request.user, municipality)
        tasks = Task.objects.filter(case__in=cases.values("pk")).select_related("org_unit", "case")
        if params.get("status"):
            tasks = tasks.filter(status=params["status"])
        if params.get("kind"):
            tasks = tasks.filter(kind=params["kind"])
        if params.get("created_since"):
            tasks = tasks.filter(created_at__gte=params["created_since"])
        return tasks.defer("case__process_xml", "case__workflow_state")

    @extend_schema(
        operation_id="cases_inbox_list",
        summary="The city's tasks across its cases, oldest first",
        description=(
            f"{READ_NOTE} The task inbox of a specialist procedure: e.g. `status=open`; cursor-paged "
            "(follow `next`). Complete a task with `cases_tasks_complete`."
        ),
        parameters=[s.TaskFilterSerializer],
        responses={200: s.InboxTaskSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class TaskCompleteView(CaseView):
    @extend_schema(
        operation_id="cases_tasks_complete",
        summary="Complete an open task",
        description=(
            f"{WRITE_NOTE} The process moves on as when a caseworker completes the task. A second sign-off of "
            "a decision needs a person and cannot be completed with an API key (409). A task that is done "
            "already, changed since `lock_version`, or belongs to a case that is no longer open: 409."
        ),
        parameters=[CASE_UUID, TASK_UUID],
        request=s.TaskCompleteSerializer,
        responses={200: s.TaskSerializer, **problems(400, 401, 403, 404, 409, 429)},
        tags=TAGS,
    )
    def post(self, request: Request, case_uuid: Any, task_uuid: Any) -> Response:
        case = self.get_case()
        task = case.tasks.filter(uuid=task_uuid).first()
        if task is None:
            raise Http404
        task.case = case
        body = self.validated(s.TaskCompleteSerializer)
        self.require(
            access.may_work_on_task_api(request.user, task),
            gettext("You may not work on this task: it is assigned to someone else or to another unit."),
        )
        actor = access.actor_for(request.user)
        with conflicts():
            if task.kind == Task.Kind.SIGN_OFF:
                if access.is_api_key(request.user):
                    raise actions.CaseActionError(gettext("The sign-off must be given by a second person."))
                actions.sign_off(case, actor, task, expected_version=body.get("lock_version"))
            else:
                actions.complete_task(task, actor, expected_version=body.get("lock_version"), result=body["result"])
        task.refresh_from_db()
        return Response(s.TaskSerializer(task).data)


class DecisionView(CaseView):
    @extend_schema(
        operation_id="cases_decision_create",
        summary="Record the decision",
        description=(
            f"{WRITE_NOTE} As on the web pages: the decision letter is generated and delivered to the citizen's "
            "portal mailbox; when the service requires a second sign-off, a sign-off task for a person is created "
            "first. Reasons are required unless the application is approved. A case that waits for the citizen, "
            "is decided already or closed: 409."
        ),
        parameters=[CASE_UUID],
        request=s.DecisionInputSerializer,
        responses={201: s.CaseDetailSerializer, **problems(400, 401, 403, 404, 409, 429)},
        tags=TAGS,
    )
    def post(self, request: Request, case_uuid: Any) -> Response:
        case = self.get_case()
        body = self.validated(s.DecisionInputSerializer)
        self.require(access.may_manage_case_api(request.user, case), gettext("You may not decide this case."))
        if body["outcome"] != Case.Outcome.APPROVED and not body["reasons"].strip():
            raise exceptions.ValidationError(
                {"reasons": [gettext("Please give the reasons for the decision.")]}, code="required"
            )
        with conflicts():
            actions.decide(case, access.actor_for(request.user), outcome=body["outcome"], reasons=body["reasons"])
        fresh = Case.objects.select_related("application", "org_unit").get(pk=case.pk)
        return Response(
            s.CaseDetailSerializer(fresh, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class DocumentListView(CaseItemsView):
    serializer_class = s.DocumentSerializer
    model = CaseDocument
    parser_classes = [MultiPartParser]

    def items(self, case: Case) -> QuerySet[CaseDocument]:
        return CaseDocument.objects.filter(case=case).select_related("case")

    @extend_schema(
        operation_id="cases_documents_list",
        summary="The case's documents",
        description=f"{READ_NOTE} The application, the citizen's attachments, letters and added documents.",
        parameters=[CASE_UUID],
        responses={200: s.DocumentSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="cases_documents_create",
        summary="Add a document to the case file",
        description=(
            f"{WRITE_NOTE} `multipart/form-data`. The file's type is read from its content (the name's "
            "extension must match), it is checked for viruses and, for PDFs, for active content; at most the "
            "portal's upload size (`DIKOM_PORTAL_MAX_UPLOAD_BYTES`) and the request limit "
            "(`DIKOM_MAX_REQUEST_BYTES`, 413 above it). A closed case takes no documents (409)."
        ),
        parameters=[CASE_UUID],
        request={"multipart/form-data": s.DocumentUploadSerializer},
        responses={201: s.DocumentSerializer, **problems(400, 401, 403, 404, 409, 429)},
        tags=TAGS,
    )
    def post(self, request: Request, case_uuid: Any) -> Response:
        case = self.get_case()
        body = self.validated(s.DocumentUploadSerializer)
        self.require(access.may_manage_case_api(request.user, case), gettext("You may not add documents to this case."))
        upload = body["file"]
        try:
            document_actions.check_document(upload)
        except actions.CaseActionError as error:
            raise exceptions.ValidationError({"file": [str(error)]}, code="invalid") from error
        with conflicts():
            document = document_actions.add_document(
                case,
                access.actor_for(request.user),
                upload,
                title=body["title"],
                visible_to_citizen=body["visible_to_citizen"],
            )
        return Response(s.DocumentSerializer(document, context={"request": request}).data, status=201)


class DocumentContentView(CaseView):
    @extend_schema(
        operation_id="cases_documents_content",
        summary="Download a document's file",
        description=f"{READ_NOTE} Always as a download (`Content-Disposition: attachment`).",
        parameters=[CASE_UUID, DOCUMENT_UUID],
        responses={
            (200, "*/*"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The file, with its detected content type."
            ),
            **problems(401, 403, 404, 429),
        },
        tags=TAGS,
    )
    def get(self, request: Request, case_uuid: Any, document_uuid: Any) -> FileResponse:
        found = self.get_case().documents.filter(uuid=document_uuid).first()
        if found is None or not found.file:
            raise Http404
        try:
            handle = found.file.open("rb")
        except OSError as exc:
            raise Http404 from exc
        response = FileResponse(
            handle,
            content_type=found.content_type or "application/octet-stream",
            as_attachment=True,
            filename=found.file_name or "dokument",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
