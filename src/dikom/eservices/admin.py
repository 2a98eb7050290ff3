"""Platform administration of FIM code lists: the versions imported, and an upload of genericode files.

Operators import a code list here (or with ``manage.py import_codelists``);
imported versions are read-only (``eservices.codelists``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dikom.eservices import codelists
from dikom.eservices.definition.fim import FimImportError
from dikom.eservices.models import CodeList


class CodeListUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("genericode file"),
        help_text=gettext_lazy("A code list in genericode 1.0, e.g. downloaded from XRepository."),
    )


@admin.register(CodeList)
class CodeListAdmin(admin.ModelAdmin):
    list_display = ("canonical_uri", "version", "long_name", "agency", "imported_at")
    search_fields = ("canonical_uri", "long_name", "short_name")
    readonly_fields = [f.name for f in CodeList._meta.fields]
    change_list_template = "eservices/admin/codelist_changelist.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        upload = path("hochladen/", self.admin_site.admin_view(self.upload_view), name="eservices_codelist_upload")
        return [upload, *super().get_urls()]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_superuser:
            return redirect(reverse("admin:index"))
        form = CodeListUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                imported = codelists.import_code_list(upload.read(), source=f"upload:{upload.name}", actor=request.user)
            except FimImportError as error:
                form.add_error("file", error.message)
            else:
                text = (
                    _("Code list %(uri)s imported.") if imported.created else _("Code list %(uri)s was already there.")
                ) % {"uri": imported.code_list.canonical_version_uri}
                messages.success(request, text)
                return redirect(reverse("admin:eservices_codelist_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a code list"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "eservices/admin/codelist_upload.html", context)
