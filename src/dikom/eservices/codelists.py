"""Actions and look-ups of code lists for FIM select fields (genericode, versioned).

Sources: a file an operator uploads (``manage.py import_codelists FILE …``) or
the addresses in ``DIKOM_FIM_CODELIST_URLS``, fetched through
``dikom.lib.safe_http`` (https only, public addresses only unless
``DIKOM_FIM_CODELIST_ALLOW_PRIVATE``, size limit, every redirect checked).
An imported version is never changed: the same version again with the same
content is a no-op, with other content it is refused.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from dikom.audit.actions import record
from dikom.eservices.definition.fim import FimImportError
from dikom.eservices.definition.genericode import CodeListData, parse_genericode
from dikom.eservices.models import CodeList
from dikom.lib import safe_http

logger = logging.getLogger(__name__)

USER_AGENT = "dikom-codelists/1"
MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Imported:
    code_list: CodeList
    created: bool


def import_code_list(xml_bytes: bytes, *, source: str, actor: Any = None) -> Imported:
    """Store the code list in ``xml_bytes`` as a new version; FimImportError when it is unusable or clashes."""
    data = parse_genericode(xml_bytes)
    digest = hashlib.sha256(bytes(xml_bytes)).hexdigest()
    with transaction.atomic():
        existing = CodeList.objects.select_for_update().filter(canonical_version_uri=data.canonical_version_uri).first()
        if existing is not None:
            if existing.sha256 == digest:
                return Imported(existing, False)
            raise FimImportError(
                _("Version %(version)s of the code list %(uri)s was imported before with other content; "
                  "an imported version is not changed.") % {"version": data.version, "uri": data.canonical_uri},
                "version_clash",
            )  # fmt: skip
        code_list = CodeList.objects.create(
            canonical_uri=data.canonical_uri,
            version=data.version,
            canonical_version_uri=data.canonical_version_uri,
            short_name=data.short_name,
            long_name=data.long_name,
            agency=data.agency,
            code_column=data.code_column,
            label_column=data.label_column,
            columns=data.columns,
            rows=data.rows,
            source=source[:500],
            sha256=digest,
            imported_by=actor if getattr(actor, "pk", None) else None,
        )
        record(
            "eservices.codelist.import",
            actor=actor,
            obj=code_list,
            changes={"uri": data.canonical_version_uri, "values": len(data.rows), "source": source[:200]},
        )
    return Imported(code_list, True)


def policy() -> safe_http.Policy:
    return safe_http.Policy(
        allow_http=False,
        allow_private=settings.DIKOM_FIM_CODELIST_ALLOW_PRIVATE,
        timeout_seconds=30,
        user_agent=USER_AGENT,
    )


def fetch_code_list(url: str, *, actor: Any = None, fetch_policy: safe_http.Policy | None = None) -> Imported:
    """Fetch one genericode file SSRF-safe and import it; DeliveryError or FimImportError say why not."""
    response = safe_http.fetch(url, fetch_policy or policy(), max_bytes=MAX_BYTES, accept="application/xml, text/xml")
    return import_code_list(response.body, source=url, actor=actor)


def fetch_configured(fetch_policy: safe_http.Policy | None = None) -> dict[str, str]:
    """Fetch every address of ``DIKOM_FIM_CODELIST_URLS``; url → "imported", "unchanged" or the error."""
    outcome: dict[str, str] = {}
    for url in settings.DIKOM_FIM_CODELIST_URLS:
        try:
            imported = fetch_code_list(url, fetch_policy=fetch_policy)
        except (safe_http.DeliveryError, FimImportError) as error:
            logger.warning("code lists: %s: %s", url, error)
            outcome[url] = str(getattr(error, "message", error))
        else:
            outcome[url] = "imported" if imported.created else "unchanged"
    return outcome


def _data(code_list: CodeList) -> CodeListData:
    return CodeListData(
        canonical_uri=code_list.canonical_uri,
        version=code_list.version,
        canonical_version_uri=code_list.canonical_version_uri,
        short_name=code_list.short_name,
        long_name=code_list.long_name,
        agency=code_list.agency,
        code_column=code_list.code_column,
        label_column=code_list.label_column,
        columns=list(code_list.columns),
        rows=list(code_list.rows),
    )


def lookup(
    uri: str, version: str, version_uri: str, code_key: str = "", name_key: str = ""
) -> tuple[list[dict[str, Any]], str] | None:
    """For the FIM importer: the options of the referenced version, else of the newest imported one, or None."""
    wanted = version_uri or (f"{uri}_{version}" if version else "")
    found = CodeList.objects.filter(canonical_version_uri=wanted).first() if wanted else None
    if found is None:
        found = CodeList.objects.filter(canonical_uri=uri).order_by("-imported_at", "-pk").first()
    if found is None:
        return None
    return _data(found).options(code_key, name_key), found.canonical_version_uri
