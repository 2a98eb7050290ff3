"""Pages of the clusters' document libraries (Virtual Competence Center): thin, like the others.

``access.is_staff`` decides (staff of any member city; everyone else gets 403/redirect to sign-in),
``documents.py`` checks uploads and changes state.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dikom.competences import access, documents
from dikom.competences.actions import CompetenceError
from dikom.competences.forms import DocumentForm, DocumentVersionForm
from dikom.competences.models import Cluster, ClusterDocument, DocumentVersion


def _cluster(request: HttpRequest, key: str) -> Cluster:
    if not access.is_staff(request.user):
        raise PermissionDenied
    found = Cluster.objects.filter(key=key).first()
    if found is None:
        raise Http404
    return found


def _document(request: HttpRequest, key: str, document_uuid: Any) -> ClusterDocument:
    cluster = _cluster(request, key)
    found = ClusterDocument.objects.select_related("cluster").filter(cluster=cluster, uuid=document_uuid).first()
    if found is None:
        raise Http404
    return found


def _upload(request: HttpRequest) -> documents.Upload:
    file: Any = request.FILES["file"]
    return documents.Upload(name=str(file.name or ""), size=int(file.size or 0), stream=file)


@login_required
@require_POST
def document_new(request: HttpRequest, key: str) -> HttpResponse:
    cluster = _cluster(request, key)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            document = documents.create_document(
                cluster,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                upload=_upload(request),
                actor=request.user,
            )
        except CompetenceError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("competences:document", key=cluster.key, document_uuid=document.uuid)
    return render(request, "competences/document_new.html", {"cluster": cluster, "form": form}, status=400)


@login_required
def document(request: HttpRequest, key: str, document_uuid: Any) -> HttpResponse:
    found = _document(request, key, document_uuid)
    form = DocumentVersionForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                version = documents.add_version(
                    found, upload=_upload(request), note=form.cleaned_data["note"], actor=request.user
                )
            except CompetenceError as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(
                    request,
                    _("Version %(n)d was saved; the older versions stay available.") % {"n": version.number},
                )
                return redirect("competences:document", key=key, document_uuid=found.uuid)
    versions = found.versions.select_related("municipality").order_by("-number")
    return render(
        request,
        "competences/document.html",
        {"cluster": found.cluster, "document": found, "versions": versions, "form": form},
        status=status,
    )


@login_required
def document_download(request: HttpRequest, key: str, document_uuid: Any, number: int) -> FileResponse:
    found = _document(request, key, document_uuid)
    version = DocumentVersion.objects.filter(document=found, number=number).first()
    if version is None:
        raise Http404
    response = FileResponse(
        version.file.open("rb"), as_attachment=True, filename=version.file_name, content_type=version.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def document_search(request: HttpRequest) -> HttpResponse:
    if not access.is_staff(request.user):
        raise PermissionDenied
    query = request.GET.get("q", "")[:200]
    hits = documents.search_documents(query, request.user) if query.strip() else []
    return render(request, "competences/document_search.html", {"query": query, "hits": hits})
