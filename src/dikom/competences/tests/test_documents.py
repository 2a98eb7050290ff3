"""The document library of a cluster: staff of two cities add versions, everyone of the cooperation
sees who changed what and downloads any version; uploads pass the project's checks; German search;
citizens and the public see nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.accounts.roles import Role
from dikom.audit.models import AuditEvent
from dikom.competences import actions, service
from dikom.competences.models import Cluster, ClusterDocument, DocumentVersion
from dikom.competences.tests.conftest import staff_user
from dikom.scanning import eicar

pytestmark = pytest.mark.django_db

V1 = b"%PDF-1.4\n% Aktenplan Version 1\n%%EOF\n"
V2 = b"%PDF-1.4\n% Aktenplan Version 2 mit Fristen\n%%EOF\n"


@pytest.fixture
def cluster(db: Any) -> Cluster:
    actions.install_builtin_clusters()
    return Cluster.objects.order_by("key").first() or Cluster.objects.create(key="e-akte", name="E-Akte")


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def test_two_cities_keep_versions_and_see_who_changed_what(
    cluster: Cluster, city_a: Any, city_b: Any, login: Any, media: None
) -> None:
    fulda = login(Client(), staff_user(city_a, "anna"))
    giessen = login(Client(), staff_user(city_b, "bert", Role.HUMAN_RESOURCES))
    response = fulda.post(
        f"/kompetenzen/cluster/{cluster.key}/dokumente/neu/",
        {
            "title": "Musteraktenplan für Bürgerbüros",
            "description": "Gliederung nach Straßen",
            "file": SimpleUploadedFile("aktenplan.pdf", V1),
        },
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    document = ClusterDocument.objects.get()
    url = f"/kompetenzen/cluster/{cluster.key}/dokumente/{document.uuid}/"
    assert "Musteraktenplan" in giessen.get(f"/kompetenzen/cluster/{cluster.key}/").content.decode()

    # Gießen uploads a second version; a version without a note is refused
    refused = giessen.post(url, {"note": "", "file": SimpleUploadedFile("aktenplan.pdf", V2)})
    assert refused.status_code == 400
    assert giessen.post(url, {"note": "Fristen ergänzt", "file": SimpleUploadedFile("neu.pdf", V2)}).status_code == 302
    page = fulda.get(url).content.decode()
    assert "Fristen ergänzt" in page and "Bert" in page and "Gießen" in page and "Anna" in page and "Fulda" in page
    versions = list(DocumentVersion.objects.order_by("number").values_list("number", "uploaded_by__username"))
    assert versions == [(1, "anna"), (2, "bert")]
    # any version can be downloaded, as an attachment
    for number, content in ((1, V1), (2, V2)):
        download = fulda.get(f"{url}v{number}/")
        assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
        assert b"".join(download.streaming_content) == content
    assert fulda.get(f"{url}v3/").status_code == 404
    assert AuditEvent.objects.filter(action="competences.document.version").count() == 2

    # German search through the service (for the forum's search): folded and stemmed
    anna = document.created_by
    assert [h.title for h in service.search_documents("musteraktenpläne", anna)] == ["Musteraktenplan für Bürgerbüros"]
    assert [h.versions for h in service.search_documents("Strasse", anna)] == [2]
    assert [h.url for h in service.search_documents("fristen", anna)] == [url]
    assert service.search_documents("Baumkataster", anna) == []
    assert service.search_documents("   ", anna) == []
    assert "Musteraktenplan" in fulda.get("/kompetenzen/cluster/dokumente/suche/?q=Aktenplan").content.decode()


def test_citizens_and_the_public_see_no_documents(
    cluster: Cluster, city_a: Any, citizen: Any, login: Any, media: None
) -> None:
    fulda = login(Client(), staff_user(city_a, "anna"))
    fulda.post(
        f"/kompetenzen/cluster/{cluster.key}/dokumente/neu/",
        {"title": "Intern", "file": SimpleUploadedFile("intern.pdf", V1)},
    )
    document = ClusterDocument.objects.get()
    url = f"/kompetenzen/cluster/{cluster.key}/dokumente/{document.uuid}/"
    for path in (url, f"{url}v1/", "/kompetenzen/cluster/dokumente/suche/?q=Intern"):
        assert Client().get(path).status_code == 302  # to the sign-in
        assert login(Client(), citizen).get(path).status_code == 403
    assert service.search_documents("Intern", citizen) == []
    upload = login(Client(), citizen).post(
        f"/kompetenzen/cluster/{cluster.key}/dokumente/neu/",
        {"title": "Spam", "file": SimpleUploadedFile("spam.pdf", V1)},
    )
    assert upload.status_code == 403 and ClusterDocument.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("programm.exe", b"MZ\x90\x00not a document", "PDF-, Word-, Excel-"),
        ("eicar.pdf", b"%PDF-1.4\n" + eicar.SIGNATURE, "EICAR"),
        (
            "aktiv.pdf",
            b"%PDF-1.4\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n%%EOF",
            "aktive Inhalte",
        ),
        ("gross.pdf", b"%PDF-1.4\n" + b"x" * 5000, "zu groß"),
        ("leer.pdf", b"", "leer"),
    ],
)
def test_bad_uploads_are_refused_in_german(
    cluster: Cluster, city_a: Any, login: Any, media: None, settings: Any, name: str, content: bytes, message: str
) -> None:
    settings.DIKOM_COMPETENCES_MAX_DOCUMENT_BYTES = 4096
    client = login(Client(), staff_user(city_a, "anna"))
    response = client.post(
        f"/kompetenzen/cluster/{cluster.key}/dokumente/neu/",
        {"title": "Versuch", "file": SimpleUploadedFile(name, content)},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ClusterDocument.objects.exists() and not DocumentVersion.objects.exists()


def test_the_forums_search_finds_cluster_documents_for_staff_only(
    cluster: Cluster, city_a: Any, city_b: Any, citizen: Any, login: Any, media: None
) -> None:
    from dikom.forum import search as forum_search

    anna = staff_user(city_a, "anna")
    fulda = login(Client(), anna)
    fulda.post(
        f"/kompetenzen/cluster/{cluster.key}/dokumente/neu/",
        {
            "title": "Leitfaden Baumkataster",
            "description": "Erfassung der Bäume",
            "file": SimpleUploadedFile("l.pdf", V1),
        },
    )
    document = ClusterDocument.objects.get()
    bert = staff_user(city_b, "bert")
    hits = forum_search.search(bert, "Bäume").hits
    assert [(h.source, h.title) for h in hits] == [("documents", "Leitfaden Baumkataster")]
    assert str(document.uuid) in hits[0].url
    # a new version's note is searchable at once
    url = f"/kompetenzen/cluster/{cluster.key}/dokumente/{document.uuid}/"
    fulda.post(url, {"note": "Straßenbegleitgrün ergänzt", "file": SimpleUploadedFile("l2.pdf", V2)})
    assert [h.title for h in forum_search.search(bert, "Straßenbegleitgrün").hits] == ["Leitfaden Baumkataster"]
    # citizens search nothing of it
    assert forum_search.search(citizen, "Bäume").hits == []
