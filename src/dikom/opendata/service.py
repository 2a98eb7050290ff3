"""The public surface of the open data portal.

- ``publish_generated_dataset``: the one call any app uses to publish or update
  a dataset it generates (usage figures, sensor readings, the watering log).
- ``package_dict`` / ``organization_dict`` / ``group_dict`` / ``resource_dict``:
  CKAN's shapes, used by the Action API and stored in the change history.
- ``read_csv_table``: a CSV/XLSX upload read as a table (e.g. the smart-city tree inventory).

CKAN's ``package_search`` over a dataset queryset is in ``catalogue_search`` (used by
this app's CKAN API and catalogue pages).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import IO, Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from dikom.municipalities.models import Municipality
from dikom.opendata import actions, tabular, vocab
from dikom.opendata.models import Dataset, Organization, Resource

CKAN_STATE = {
    Dataset.State.PUBLISHED: "active",
    Dataset.State.DRAFT: "draft",
    Dataset.State.WITHDRAWN: "deleted",
}
MAX_ROWS = 1000
DEFAULT_ROWS = 10
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id", "frequency")


def site_url() -> str:
    return str(settings.SITE_URL).rstrip("/")


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return timezone.localtime(value, UTC).replace(tzinfo=None).isoformat()


def dataset_page(dataset: Dataset) -> str:
    return site_url() + reverse("opendata:dataset", kwargs={"name": dataset.name})


def dataset_iri(dataset: Dataset) -> str:
    return f"{site_url()}/dataset/{dataset.uuid}"


def resource_download_url(resource: Resource) -> str:
    if resource.upload:
        return site_url() + reverse(
            "opendata:download", kwargs={"name": resource.dataset.name, "resource_id": resource.uuid}
        )
    return resource.url


def organization_dict(org: Organization, *, package_count: int | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": str(org.uuid),
        "name": org.name,
        "title": org.title,
        "display_name": org.title,
        "description": org.description,
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "image_display_url": "",
        "created": iso(org.created_at),
    }
    if package_count is not None:
        result["package_count"] = package_count
    return result


def group_dict(code: str, *, package_count: int | None = None) -> dict[str, Any]:
    title = str(vocab.THEMES[code])
    result: dict[str, Any] = {
        "id": code.lower(),
        "name": code.lower(),
        "title": title,
        "display_name": title,
        "description": "",
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "image_display_url": "",
        "theme_uri": vocab.THEME_BASE + code,
    }
    if package_count is not None:
        result["package_count"] = package_count
    return result


def licence_title(license_id: str) -> str:
    licence = vocab.licences().get(license_id)
    return licence.title if licence else license_id


def resource_dict(resource: Resource, dataset: Dataset | None = None) -> dict[str, Any]:
    dataset = dataset or resource.dataset
    resource.dataset = dataset
    return {
        "id": str(resource.uuid),
        "package_id": str(dataset.uuid),
        "name": resource.name,
        "description": resource.description,
        "url": resource_download_url(resource),
        "url_type": "upload" if resource.upload else None,
        "format": resource.format,
        "mimetype": resource.media_type or None,
        "size": resource.size,
        "hash": resource.checksum,
        "license_id": resource.license_id or dataset.license_id,
        "download_count": resource.download_count,
        "position": resource.position,
        "state": "active",
        "created": iso(resource.created_at),
        "last_modified": iso(resource.updated_at),
        "metadata_modified": iso(resource.updated_at),
    }


def _extras_list(dataset: Dataset) -> list[dict[str, str]]:
    extras = dict(dataset.extras or {})
    fields = {
        "frequency": dataset.frequency,
        "temporal_start": dataset.temporal_start.isoformat() if dataset.temporal_start else "",
        "temporal_end": dataset.temporal_end.isoformat() if dataset.temporal_end else "",
        "issued": iso(dataset.issued) or "",
        "modified": iso(dataset.modified) or "",
        "spatial_ags": dataset.spatial_ags,
        "spatial": dataset.spatial_geometry,
        "version_notes": dataset.version_notes,
        "contact_url": dataset.contact_url,
        "politicalGeocodingURI": vocab.MUNICIPALITY_KEY_BASE + dataset.spatial_ags if dataset.spatial_ags else "",
    }
    extras.update({k: v for k, v in fields.items() if v})
    return [{"key": key, "value": value} for key, value in sorted(extras.items())]


def package_dict(dataset: Dataset, *, include_history: bool = True) -> dict[str, Any]:
    tags = sorted(tag.name for tag in dataset.tags.all()) if dataset.pk else []
    resources = [resource_dict(r, dataset) for r in dataset.resources.all()] if dataset.pk else []
    licence = vocab.licences().get(dataset.license_id)
    return {
        "id": str(dataset.uuid),
        "name": dataset.name,
        "title": dataset.title,
        "notes": dataset.notes,
        "type": "dataset",
        "state": CKAN_STATE[Dataset.State(dataset.state)],
        "private": False,
        "author": dataset.contact_name,
        "author_email": dataset.contact_email,
        "maintainer": dataset.contact_name,
        "maintainer_email": dataset.contact_email,
        "license_id": dataset.license_id,
        "license_title": licence.title if licence else dataset.license_id,
        "license_url": licence.url if licence else "",
        "url": dataset.landing_page,
        "version": dataset.version,
        "owner_org": str(dataset.organization.uuid),
        "organization": organization_dict(dataset.organization),
        "groups": [group_dict(code) for code in dataset.theme_codes if code in vocab.THEMES],
        "tags": [{"name": t, "display_name": t, "state": "active", "vocabulary_id": None} for t in tags],
        "num_tags": len(tags),
        "resources": resources,
        "num_resources": len(resources),
        "extras": _extras_list(dataset),
        "metadata_created": iso(dataset.created_at),
        "metadata_modified": iso(dataset.updated_at),
        "relationships_as_object": [],
        "relationships_as_subject": [],
        "is_demo": dataset.is_demo,
    }


def find_dataset(queryset: QuerySet[Dataset], id_or_name: str) -> Dataset | None:
    import uuid as uuid_module

    value = (id_or_name or "").strip()
    if not value or len(value) > 200:
        return None
    try:
        return queryset.filter(uuid=uuid_module.UUID(value)).first()
    except ValueError:
        return queryset.filter(name=value).first()


def find_organization(id_or_name: str) -> Organization | None:
    import uuid as uuid_module

    value = (id_or_name or "").strip()
    if not value or len(value) > 200:
        return None
    try:
        return Organization.objects.filter(uuid=uuid_module.UUID(value)).first()
    except ValueError:
        return Organization.objects.filter(name=value).first()


# --- the hook for generated datasets -------------------------------------------------------------------


def _fingerprint(metadata: dict[str, Any]) -> str:
    import hashlib
    import json

    text = json.dumps(metadata, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _free_name(name: str) -> str:
    """``name``, or ``name-2``, ``name-3`` … when another dataset already has it."""
    if not name or not Dataset.objects.filter(name=name).exists():
        return name
    for number in range(2, 100):
        candidate = f"{name[:95]}-{number}"
        if not Dataset.objects.filter(name=candidate).exists():
            return candidate
    return name


def publish_generated_dataset(
    municipality: Municipality | None,
    key: str,
    metadata: dict[str, Any],
    *,
    actor: str = "dikom",
) -> Dataset:
    """Publish, or update, the dataset an app generates; ``key`` identifies it across calls.

    ``metadata`` is a CKAN package dictionary (``name``, ``title``, ``notes``,
    ``license_id``, ``tags``, ``groups``, ``resources`` with ``url`` and
    ``format``, ``extras``). ``municipality`` None publishes for the cooperation.
    The first call creates the dataset (published); later calls replace its
    metadata and resources, and each is kept in the dataset's change history.
    A call with the same metadata as the last one changes nothing (no revision),
    so an app may call this as often as it likes; a withdrawn dataset is published
    again. Raises ``actions.InvalidData`` for metadata the portal refuses.
    """
    organization = (
        actions.organization_for_municipality(municipality)
        if municipality is not None
        else actions.cooperation_organization()
    )
    fingerprint = _fingerprint(metadata)
    existing = Dataset.objects.filter(organization=organization, generated_key=key).first()
    data = {"state": "active", **metadata}
    if existing is None:
        data["name"] = _free_name(str(data.get("name") or ""))
        dataset = actions.create_dataset(organization, data, actor=actor)
        Dataset.objects.filter(pk=dataset.pk).update(generated_key=key, generated_fingerprint=fingerprint)
        dataset.generated_key = key
        dataset.generated_fingerprint = fingerprint
        return dataset
    if existing.generated_fingerprint == fingerprint and existing.state == Dataset.State.PUBLISHED:
        return existing
    # The address stays what it was: links and harvesters keep working.
    data["name"] = existing.name
    dataset = actions.update_dataset(existing, data, actor=actor)
    Dataset.objects.filter(pk=dataset.pk).update(generated_fingerprint=fingerprint)
    dataset.generated_fingerprint = fingerprint
    return dataset


def withdraw_generated_dataset(municipality: Municipality | None, key: str, *, actor: str = "dikom") -> bool:
    """Withdraw the generated dataset ``key`` (e.g. a city stopped publishing it); False if there is none."""
    queryset = Dataset.objects.filter(generated_key=key, state=Dataset.State.PUBLISHED)
    if municipality is None:
        queryset = queryset.filter(organization__municipality__isnull=True)
    else:
        queryset = queryset.filter(organization__municipality=municipality)
    dataset = queryset.first()
    if dataset is None:
        return False
    actions.set_state(dataset, Dataset.State.WITHDRAWN, actor=actor)
    return True


def generated_dataset_municipalities(key: str) -> list[int | None]:
    """The municipalities (ids; None for the cooperation) that have a dataset published under ``key`` in any state."""
    rows = Dataset.objects.filter(generated_key=key).values_list("organization__municipality_id", flat=True)
    return list(rows.distinct())


def generated_dataset(municipality: Municipality | None, key: str) -> Dataset | None:
    """The dataset published under ``key`` for ``municipality`` (any state), if any."""
    queryset = Dataset.objects.filter(generated_key=key)
    if municipality is None:
        return queryset.filter(organization__municipality__isnull=True).first()
    return queryset.filter(organization__municipality=municipality).first()


# --- reading tables for other apps (e.g. the smart-city tree inventory import) ------------------

TableUnreadable = tabular.Unreadable


def read_csv_table(stream: IO[bytes]) -> tabular.Table:
    """The header and lazy rows of a CSV file, read with the portal's limits (``dikom.opendata.tabular``)."""
    return tabular.read_csv(stream)
