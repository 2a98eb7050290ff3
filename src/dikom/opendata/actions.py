"""Every change to open datasets: create, update, patch, publish, withdraw, resources.

The input is CKAN's package dictionary (the shape the Action API receives), so
the API, the generated-dataset hook and the demo share one validated path.
Each change records a ``DatasetRevision`` with the metadata afterwards.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from typing import IO, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from dikom.municipalities.models import Municipality
from dikom.opendata import search, vocab
from dikom.opendata.models import Dataset, DatasetRevision, Organization, Resource, SearchTerm, Tag

NAME_RE = re.compile(r"^[a-z0-9_-]{2,100}$")
TAG_RE = re.compile(r"^[\w .\-äöüÄÖÜß]{1,100}$", re.UNICODE)
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
STATE_FROM_CKAN = {"active": Dataset.State.PUBLISHED, "draft": Dataset.State.DRAFT, "deleted": Dataset.State.WITHDRAWN}
# CKAN extras that map onto DCAT-AP.de fields.
EXTRA_FIELDS = {
    "frequency": "frequency",
    "temporal_start": "temporal_start",
    "temporal_end": "temporal_end",
    "issued": "issued",
    "modified": "modified",
    "spatial_ags": "spatial_ags",
    "spatial": "spatial_geometry",
    "version_notes": "version_notes",
    "contact_url": "contact_url",
}


class InvalidData(Exception):
    """Field → messages, as CKAN's Validation Error reports them."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def organization_for_municipality(municipality: Municipality) -> Organization:
    org = Organization.objects.filter(municipality=municipality).first()
    if org is not None:
        return org
    name = municipality.slug
    if Organization.objects.filter(name=name).exists():
        name = f"{municipality.slug}-{municipality.ags}"
    return Organization.objects.create(
        municipality=municipality,
        name=name,
        title=municipality.name,
        homepage=municipality.website,
        description=_("Open data of %(name)s") % {"name": municipality.name},
    )


def ensure_organizations(municipalities: list[Municipality]) -> None:
    """Every city a publisher works for has its organisation (created on first use, before its first dataset)."""
    missing = [m for m in municipalities if not Organization.objects.filter(municipality=m).exists()]
    for municipality in missing:
        organization_for_municipality(municipality)


def cooperation_organization() -> Organization:
    org, _created = Organization.objects.get_or_create(
        name="kooperation",
        defaults={"title": _("The dikom cooperation"), "description": _("Datasets of the cooperation as a whole.")},
    )
    return org


def _text(value: Any, limit: int, errors: dict[str, list[str]], key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        errors.setdefault(key, []).append(_("Must be a text."))
        return ""
    text = str(value).strip()
    if "\x00" in text:
        errors.setdefault(key, []).append(_("Must not contain NUL characters."))
        return ""
    if len(text) > limit:
        errors.setdefault(key, []).append(_("At most %(n)d characters.") % {"n": limit})
    return text[:limit]


def _url(value: Any, errors: dict[str, list[str]], key: str) -> str:
    text = _text(value, 1000, errors, key)
    if text:
        try:
            URLValidator(schemes=["http", "https"])(text)
        except DjangoValidationError:
            errors.setdefault(key, []).append(_("Not a valid http(s) address."))
            return ""
    return text


def _when(value: Any, errors: dict[str, list[str]], key: str, *, as_date: bool) -> Any:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        errors.setdefault(key, []).append(_("Must be a date (YYYY-MM-DD)."))
        return None
    try:
        parsed_dt = parse_datetime(value)
        parsed_d = parse_date(value) if parsed_dt is None else parsed_dt.date()
    except ValueError:
        parsed_dt, parsed_d = None, None
    if parsed_d is None:
        errors.setdefault(key, []).append(_("Must be a date (YYYY-MM-DD)."))
        return None
    if as_date:
        return parsed_d
    if parsed_dt is None:
        parsed_dt = datetime(parsed_d.year, parsed_d.month, parsed_d.day, tzinfo=timezone.get_default_timezone())
    if timezone.is_naive(parsed_dt):
        parsed_dt = timezone.make_aware(parsed_dt, timezone.get_default_timezone())
    return parsed_dt


def _names(value: Any, errors: dict[str, list[str]], key: str) -> list[str]:
    """``[{"name": "x"}, …]`` or ``["x", …]`` → names."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        errors.setdefault(key, []).append(_("Must be a list."))
        return []
    names = []
    for item in value[:100]:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            errors.setdefault(key, []).append(_("Each entry needs a name."))
            continue
        names.append(name.strip())
    return names


def _extras(value: Any, errors: dict[str, list[str]]) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, list):
        errors.setdefault("extras", []).append(_("Must be a list of {key, value}."))
        return {}
    found: dict[str, str] = {}
    for item in value[:100]:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            errors.setdefault("extras", []).append(_("Must be a list of {key, value}."))
            continue
        found[item["key"][:100]] = _text(item.get("value"), 5000, errors, "extras")
    return found


def _licence(value: Any, errors: dict[str, list[str]], key: str, *, required: bool) -> str:
    text = _text(value, 200, errors, key).removeprefix(vocab.LICENCE_BASE)
    if not text:
        if required:
            errors.setdefault(key, []).append(_("Choose a licence from the dcat-ap.de licence list."))
        return ""
    if text not in vocab.licences():
        errors.setdefault(key, []).append(
            _("Unknown licence %(id)s; use one of the dcat-ap.de licence list.") % {"id": text[:60]}
        )
        return ""
    return text


def snapshot(dataset: Dataset) -> dict[str, Any]:
    from dikom.opendata.service import package_dict

    return package_dict(dataset, include_history=False)


def record(dataset: Dataset, action: str, actor: Any) -> None:
    dataset.refresh_from_db()
    DatasetRevision.objects.create(dataset=dataset, action=action, actor=str(actor or ""), snapshot=snapshot(dataset))


def reindex(dataset: Dataset) -> None:
    tags = " ".join(dataset.tags.values_list("name", flat=True))
    text = search.index_text(dataset.title, dataset.name, tags, dataset.notes, dataset.organization.title)
    Dataset.objects.filter(pk=dataset.pk).update(search_text=text)
    store_terms(dataset.pk, text)


def store_terms(dataset_id: int, text: str) -> None:
    """Replace the dataset's rows in the search index with the words of ``text`` (its ``search_text``)."""
    terms = set(search.terms_of(text))
    existing = set(SearchTerm.objects.filter(dataset_id=dataset_id).values_list("term", flat=True))
    if existing - terms:
        SearchTerm.objects.filter(dataset_id=dataset_id, term__in=existing - terms).delete()
    SearchTerm.objects.bulk_create([SearchTerm(dataset_id=dataset_id, term=term) for term in sorted(terms - existing)])


def rebuild_search_terms(batch: int = 2000) -> int:
    """Fill the search index from every dataset's ``search_text``; returns the number of datasets."""
    done = 0
    last = 0
    while True:
        rows = list(Dataset.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "search_text")[:batch])
        if not rows:
            return done
        with transaction.atomic():
            SearchTerm.objects.filter(dataset_id__in=[pk for pk, _text in rows]).delete()
            SearchTerm.objects.bulk_create(
                [
                    SearchTerm(dataset_id=pk, term=term)
                    for pk, text in rows
                    for term in sorted(set(search.terms_of(text)))
                ],
                batch_size=5000,
            )
        done += len(rows)
        last = rows[-1][0]


def _apply(dataset: Dataset, data: dict[str, Any], *, partial: bool, errors: dict[str, list[str]]) -> dict[str, Any]:
    """Validate ``data`` onto ``dataset`` (unsaved); returns the related lists to store after saving."""
    present = (lambda key: key in data) if partial else (lambda key: True)
    if present("name"):
        name = _text(data.get("name"), 100, errors, "name")
        if not NAME_RE.match(name):
            errors.setdefault("name", []).append(
                _("2–100 lower-case letters, digits, - and _ (e.g. baumkataster-2024).")
            )
        elif Dataset.objects.filter(name=name).exclude(pk=dataset.pk).exists():
            errors.setdefault("name", []).append(_("That URL is already in use."))
        dataset.name = name
    if present("title"):
        dataset.title = _text(data.get("title"), 300, errors, "title")
        if not dataset.title:
            errors.setdefault("title", []).append(_("Missing value"))
    if present("notes"):
        dataset.notes = _text(data.get("notes"), 20000, errors, "notes")
    if present("license_id"):
        dataset.license_id = _licence(data.get("license_id"), errors, "license_id", required=True)
    if present("maintainer") or present("author"):
        dataset.contact_name = _text(data.get("maintainer") or data.get("author"), 200, errors, "maintainer")
    if present("maintainer_email") or present("author_email"):
        email = _text(data.get("maintainer_email") or data.get("author_email"), 254, errors, "maintainer_email")
        if email:
            try:
                EmailValidator()(email)
            except DjangoValidationError:
                errors.setdefault("maintainer_email", []).append(_("Not a valid e-mail address."))
                email = ""
        dataset.contact_email = email
    if present("url"):
        dataset.landing_page = _url(data.get("url"), errors, "url")
    if present("version"):
        dataset.version = _text(data.get("version"), 60, errors, "version")
    if present("state") and data.get("state") is not None:
        state = STATE_FROM_CKAN.get(str(data.get("state")))
        if state is None:
            errors.setdefault("state", []).append(_("One of active, draft, deleted."))
        else:
            dataset.state = state
    related: dict[str, Any] = {}
    if present("tags"):
        tags = _names(data.get("tags"), errors, "tags")
        for tag in tags:
            if not TAG_RE.match(tag):
                errors.setdefault("tags", []).append(
                    _("Keyword %(tag)s may contain letters, digits, space, - . and _.") % {"tag": tag[:40]}
                )
        related["tags"] = tags
    if present("groups"):
        groups = [g.upper() for g in _names(data.get("groups"), errors, "groups")]
        unknown = [g for g in groups if g not in vocab.THEMES]
        if unknown:
            errors.setdefault("groups", []).append(
                _("Unknown theme %(code)s; use the EU data themes.") % {"code": unknown[0][:20]}
            )
        dataset.themes = " " + " ".join(dict.fromkeys(g for g in groups if g in vocab.THEMES)) + " "
    if present("extras"):
        extras = _extras(data.get("extras"), errors)
        for key, target in EXTRA_FIELDS.items():
            if key not in extras and partial:
                continue
            value = extras.pop(key, "")
            if target in ("temporal_start", "temporal_end"):
                setattr(dataset, target, _when(value, errors, key, as_date=True))
            elif target in ("issued", "modified"):
                setattr(dataset, target, _when(value, errors, key, as_date=False))
            elif target == "frequency":
                code = value.strip().removeprefix(vocab.FREQUENCY_BASE).upper()
                if code and code not in vocab.FREQUENCIES:
                    errors.setdefault(key, []).append(_("Unknown update frequency."))
                    code = ""
                dataset.frequency = code
            elif target == "spatial_ags":
                if value and not re.fullmatch(r"\d{8}", value):
                    errors.setdefault(key, []).append(_("An AGS has eight digits."))
                    value = ""
                dataset.spatial_ags = value
            elif target == "contact_url":
                dataset.contact_url = _url(value, errors, key)
            else:
                setattr(dataset, target, value)
        dataset.extras = extras
    if present("resources") and data.get("resources") is not None:
        if not isinstance(data.get("resources"), list):
            errors.setdefault("resources", []).append(_("Must be a list."))
        else:
            related["resources"] = data["resources"][:200]
    return related


def _store_tags(dataset: Dataset, tags: list[str]) -> None:
    objects = [Tag.objects.get_or_create(name=tag)[0] for tag in dict.fromkeys(tags)]
    dataset.tags.set(objects)


def _resource_fields(resource: Resource, data: dict[str, Any], *, partial: bool, errors: dict[str, list[str]]) -> None:
    present = (lambda key: key in data) if partial else (lambda key: True)
    if present("name"):
        resource.name = _text(data.get("name"), 300, errors, "name")
    if present("description"):
        resource.description = _text(data.get("description"), 5000, errors, "description")
    if present("url") and not resource.upload:
        resource.url = _url(data.get("url"), errors, "url")
    if present("format"):
        raw = _text(data.get("format"), 100, errors, "format")
        if raw:
            code = vocab.normalise_format(raw)
            if code is None:
                errors.setdefault("format", []).append(
                    _("Unknown format %(format)s; use the EU file-type list (e.g. CSV, XLSX, GEOJSON).")
                    % {"format": raw[:30]}
                )
            else:
                resource.format = code
        else:
            resource.format = ""
    if present("mimetype"):
        resource.media_type = _text(data.get("mimetype"), 120, errors, "mimetype")
    if not resource.media_type and resource.format:
        resource.media_type = vocab.MEDIA_TYPES.get(resource.format, "")
    if present("license_id") and data.get("license_id"):
        resource.license_id = _licence(data.get("license_id"), errors, "license_id", required=False)
    if present("size") and data.get("size") not in (None, "") and not resource.upload:
        try:
            resource.size = max(0, int(data["size"]))
        except (TypeError, ValueError):
            errors.setdefault("size", []).append(_("Must be a whole number."))
    if present("hash") and data.get("hash") and not resource.upload:
        resource.checksum = _text(data.get("hash"), 64, errors, "hash")


def _attach_upload(resource: Resource, upload: IO[bytes], filename: str, errors: dict[str, list[str]]) -> None:
    from django.core.files.base import File

    from dikom.scanning.service import refusal_message, scan

    upload.seek(0, 2)
    size = upload.tell()
    upload.seek(0)
    if size > MAX_UPLOAD_BYTES:
        errors.setdefault("upload", []).append(_("The file is larger than 200 MB."))
        return
    result = scan(upload)
    upload.seek(0)
    refusal = refusal_message(result)
    if refusal:
        errors.setdefault("upload", []).append(refusal)
        return
    digest = hashlib.sha256()
    for chunk in iter(lambda: upload.read(1 << 16), b""):
        digest.update(chunk)
    upload.seek(0)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", filename.rsplit("/", 1)[-1])[:100] or "datei"
    resource.upload.save(safe, File(upload, name=safe), save=False)
    resource.size = size
    resource.checksum = digest.hexdigest()
    resource.url = ""
    if not resource.format:
        resource.format = vocab.normalise_format(safe.rsplit(".", 1)[-1]) or ""
    if not resource.name:
        resource.name = safe


def _finish_resource(resource: Resource, errors: dict[str, list[str]]) -> None:
    if not resource.url and not resource.upload:
        errors.setdefault("url", []).append(_("Give an address or upload a file."))


def _create_resources(dataset: Dataset, items: list[Any], errors: dict[str, list[str]]) -> None:
    dataset.resources.all().delete()
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            errors.setdefault("resources", []).append(_("Each resource must be an object."))
            continue
        resource = Resource(dataset=dataset, position=position)
        sub: dict[str, list[str]] = {}
        _resource_fields(resource, item, partial=False, errors=sub)
        _finish_resource(resource, sub)
        if sub:
            errors.setdefault("resources", []).append(
                "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in sub.items())
            )
            continue
        resource.save()


def _stamp_published(dataset: Dataset) -> None:
    if dataset.state == Dataset.State.PUBLISHED and dataset.issued is None:
        dataset.issued = timezone.now()


@transaction.atomic
def create_dataset(
    organization: Organization, data: dict[str, Any], *, actor: Any = None, demo: bool = False
) -> Dataset:
    errors: dict[str, list[str]] = {}
    dataset = Dataset(organization=organization, is_demo=demo)
    related = _apply(dataset, data, partial=False, errors=errors)
    if not dataset.spatial_ags and organization.municipality is not None:
        dataset.spatial_ags = organization.municipality.ags
    if "state" not in data or data.get("state") is None:
        dataset.state = Dataset.State.PUBLISHED
    if errors:
        raise InvalidData(errors)
    _stamp_published(dataset)
    dataset.save()
    _store_tags(dataset, related.get("tags", []))
    _create_resources(dataset, related.get("resources", []), errors)
    if errors:
        transaction.set_rollback(True)
        raise InvalidData(errors)
    reindex(dataset)
    record(dataset, "create", actor)
    return dataset


@transaction.atomic
def update_dataset(dataset: Dataset, data: dict[str, Any], *, actor: Any = None, partial: bool = False) -> Dataset:
    errors: dict[str, list[str]] = {}
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    related = _apply(dataset, data, partial=partial, errors=errors)
    if errors:
        raise InvalidData(errors)
    _stamp_published(dataset)
    dataset.save()
    if "tags" in related:
        _store_tags(dataset, related["tags"])
    if "resources" in related:
        _create_resources(dataset, related["resources"], errors)
        if errors:
            transaction.set_rollback(True)
            raise InvalidData(errors)
    reindex(dataset)
    record(dataset, "patch" if partial else "update", actor)
    return dataset


@transaction.atomic
def set_state(dataset: Dataset, state: str, *, actor: Any = None) -> Dataset:
    dataset.state = state
    _stamp_published(dataset)
    dataset.save()
    record(dataset, f"state:{state}", actor)
    return dataset


@transaction.atomic
def create_resource(
    dataset: Dataset,
    data: dict[str, Any],
    *,
    upload: IO[bytes] | None = None,
    filename: str = "",
    actor: Any = None,
) -> Resource:
    errors: dict[str, list[str]] = {}
    resource = Resource(dataset=dataset, position=dataset.resources.count())
    _resource_fields(resource, data, partial=False, errors=errors)
    if upload is not None and not errors:
        _attach_upload(resource, upload, filename, errors)
    _finish_resource(resource, errors)
    if errors:
        raise InvalidData(errors)
    resource.save()
    if upload is not None:
        _queue_datastore(resource)
    Dataset.objects.filter(pk=dataset.pk).update(updated_at=timezone.now())
    record(dataset, "resource_create", actor)
    return resource


@transaction.atomic
def update_resource(
    resource: Resource,
    data: dict[str, Any],
    *,
    upload: IO[bytes] | None = None,
    filename: str = "",
    actor: Any = None,
    partial: bool = True,
) -> Resource:
    errors: dict[str, list[str]] = {}
    if upload is not None:
        resource.upload = None
    _resource_fields(resource, data, partial=partial, errors=errors)
    if upload is not None and not errors:
        _attach_upload(resource, upload, filename, errors)
    _finish_resource(resource, errors)
    if errors:
        raise InvalidData(errors)
    resource.save()
    if upload is not None or "format" in data:
        _queue_datastore(resource)
    Dataset.objects.filter(pk=resource.dataset_id).update(updated_at=timezone.now())
    record(resource.dataset, "resource_update", actor)
    return resource


@transaction.atomic
def delete_resource(resource: Resource, *, actor: Any = None) -> None:
    dataset = resource.dataset
    resource.delete()
    Dataset.objects.filter(pk=dataset.pk).update(updated_at=timezone.now())
    record(dataset, "resource_delete", actor)


def _queue_datastore(resource: Resource) -> None:
    """An uploaded CSV/XLSX gets (again) a DataStore table, read by the task worker after commit."""
    from dikom.opendata import datastore
    from dikom.opendata.models import DatastoreTable
    from dikom.opendata.tasks import load_datastore

    if not datastore.supports(resource):
        DatastoreTable.objects.filter(resource=resource, source="file").delete()
        return
    table, _created = DatastoreTable.objects.update_or_create(
        resource=resource,
        defaults={"state": DatastoreTable.State.PENDING, "source": "file", "message": "", "row_count": 0},
    )
    table_id = table.pk
    transaction.on_commit(lambda: load_datastore.enqueue(table_id))


def correct_datastore_types(table: Any, types: dict[str, str], *, actor: Any = None) -> dict[str, str]:
    """The publisher corrects column types ``{field id: type}``: the table is rebuilt with them.

    A file's table is read again from the file by the task worker (a value that does not fit keeps the
    old table, and its message says which); a table created through the API is converted at once.
    Returns the changes; raises ``datastore.DatastoreError`` for an unknown field or type.
    """
    from dikom.opendata import datastore
    from dikom.opendata.tasks import load_datastore

    changes = datastore.check_types(table, types)
    if not changes:
        return {}
    if table.source == "file":
        table_id = table.pk
        transaction.on_commit(lambda: load_datastore.enqueue(table_id, changes))
    else:
        datastore.rebuild_with_types(table, changes)
    record(table.resource.dataset, "datastore_types", actor)
    return changes


def count_download(resource: Resource) -> None:
    from django.db.models import F

    Resource.objects.filter(pk=resource.pk).update(download_count=F("download_count") + 1)


def today() -> date:
    return timezone.localdate()
