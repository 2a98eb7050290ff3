"""The only code that writes a tree inventory import: accepting the upload and the task worker's reading.

``start_import`` checks the file's name and size, stores it and enqueues
``tasks.run_tree_import``; ``run_import`` reads it twice as a stream (first to
count the rows, so a file over ``DIKOM_TREE_IMPORT_MAX_ROWS`` is refused before
any tree changes and the page can show a percentage; then to write the trees
in batches of ``BATCH`` rows, each batch one transaction). Memory stays bounded
whatever the file's size: one batch, one GeoJSON feature and the report's
first ``MAX_REPORTED`` rejected rows.

Re-importing is idempotent: a tree is found by its number (the inventory's id)
and updated; trees missing from the file stay. A number that appears twice in
one file is reported as a duplicate (the first row wins): each tree remembers
the import that last wrote it. One import per city runs at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.audit.actions import record
from dikom.municipalities.models import Municipality
from dikom.smartcity import inventory
from dikom.smartcity.actions import Refused
from dikom.smartcity.models import Tree, TreeImport

logger = logging.getLogger(__name__)

BATCH = 1000
MAX_REPORTED = 1000
FIELDS = ["species", "species_latin", "planting_year", "street", "district", "longitude", "latitude"]


def max_rows() -> int:
    return int(settings.DIKOM_TREE_IMPORT_MAX_ROWS)


def max_bytes() -> int:
    return int(settings.DIKOM_TREE_IMPORT_MAX_BYTES)


def start_import(city: Municipality, actor: Any, upload: UploadedFile) -> TreeImport:
    """Store the uploaded inventory file and enqueue its import; ``Refused`` with a German reason otherwise."""
    name = (upload.name or "").rsplit("/", 1)[-1][:255]
    fmt = inventory.file_format(name)
    if fmt is None:
        raise Refused(_("Please upload a CSV file (.csv) or a GeoJSON file (.geojson, .json)."))
    size = upload.size or 0
    if size == 0:
        raise Refused(_("The file is empty."))
    if size > max_bytes():
        raise Refused(
            _("The file has %(size)d MB; at most %(max)d MB can be imported.")
            % {"size": size // (1024 * 1024), "max": max_bytes() // (1024 * 1024)}
        )
    with transaction.atomic():
        # One import per city at a time (the city row is the lock).
        Municipality.objects.select_for_update().get(pk=city.pk)
        busy = TreeImport.objects.filter(
            municipality=city, status__in=[TreeImport.Status.WAITING, TreeImport.Status.RUNNING]
        )
        if busy.exists():
            raise Refused(_("An import of this city is still running. Please wait until it has finished."))
        job = TreeImport.objects.create(
            municipality=city,
            file_name=name,
            file_format=fmt,
            size=size,
            started_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        job.stored_path = default_storage.save(f"smartcity/tree-imports/{job.uuid}.{fmt}", upload)
        job.save(update_fields=["stored_path"])
        record("smartcity.tree_import_started", actor=actor, municipality=city, obj=job, changes={"file": name})
        from dikom.smartcity.tasks import run_tree_import

        job_id = job.pk
        transaction.on_commit(lambda: run_tree_import.enqueue(job_id))
    return job


def run_import(import_id: int) -> None:
    """Read a waiting import (the task worker's part); an import in any other state is left alone."""
    claimed = TreeImport.objects.filter(pk=import_id, status=TreeImport.Status.WAITING).update(
        status=TreeImport.Status.RUNNING
    )
    if not claimed:
        return
    job = TreeImport.objects.get(pk=import_id)
    try:
        _count(job)
        _write(job)
    except inventory.Unreadable as error:
        _finish(job, TreeImport.Status.FAILED, error.message)
    except Exception:
        logger.exception("tree import %s failed", job.pk)
        _finish(job, TreeImport.Status.FAILED, _("The import failed because of an internal error; please try again."))
        return
    else:
        _finish(job, TreeImport.Status.DONE, "")
        from dikom.smartcity.needs_refresh import refresh_city

        refresh_city(job.municipality)  # new trees get their stored need (no mails: a first level is no change)


def _rows(job: TreeImport) -> Iterator[inventory.TreeRow | inventory.Rejected]:
    with default_storage.open(job.stored_path, "rb") as stream:
        yield from inventory.read_rows(stream, job.file_format)


def _count(job: TreeImport) -> None:
    limit = max_rows()
    total = 0
    with default_storage.open(job.stored_path, "rb") as stream:
        for _row in inventory.count_rows(stream, job.file_format):
            total += 1
            if total > limit:
                raise inventory.Unreadable(
                    _("The file has more than %(max)d rows; split it into several files of at most %(max)d rows each.")
                    % {"max": limit}
                )
    if total == 0:
        raise inventory.Unreadable(_("The file holds no trees."))
    job.total_rows = total
    TreeImport.objects.filter(pk=job.pk).update(total_rows=total)


def _write(job: TreeImport) -> None:
    batch: list[inventory.TreeRow | inventory.Rejected] = []
    for row in _rows(job):
        batch.append(row)
        if len(batch) >= BATCH:
            _write_batch(job, batch)
            batch = []
    if batch:
        _write_batch(job, batch)


def _reject(job: TreeImport, row: inventory.Rejected) -> None:
    job.rejected_count += 1
    if len(job.rejected) < MAX_REPORTED:
        job.rejected.append({"row": row.row, "number": row.number, "message": row.message})


def _write_batch(job: TreeImport, rows: list[inventory.TreeRow | inventory.Rejected]) -> None:
    reported = len(job.rejected)
    with transaction.atomic():
        numbers = {r.number for r in rows if isinstance(r, inventory.TreeRow)}
        existing = {t.number: t for t in Tree.objects.filter(municipality=job.municipality_id, number__in=numbers)}
        seen: set[str] = set()
        to_create: list[Tree] = []
        to_update: list[Tree] = []
        for row in rows:
            if isinstance(row, inventory.Rejected):
                _reject(job, row)
                continue
            tree = existing.get(row.number)
            if row.number in seen or (tree is not None and tree.last_import_id == job.pk):
                message = _("The tree number %(number)s occurs more than once in the file; the first row counts.")
                _reject(job, inventory.Rejected(row.row, row.number, message % {"number": row.number}))
                continue
            seen.add(row.number)
            values = {field: getattr(row, field) for field in FIELDS}
            if tree is None:
                to_create.append(
                    Tree(municipality_id=job.municipality_id, number=row.number, last_import=job, **values)
                )
            else:
                for field, value in values.items():
                    setattr(tree, field, value)
                tree.last_import = job
                tree.updated_at = timezone.now()
                to_update.append(tree)
        Tree.objects.bulk_create(to_create)
        Tree.objects.bulk_update(to_update, [*FIELDS, "last_import", "updated_at"])
        job.created_count += len(to_create)
        job.updated_count += len(to_update)
        job.rows_read += len(rows)
        progress: dict[str, Any] = {
            "rows_read": job.rows_read,
            "created_count": job.created_count,
            "updated_count": job.updated_count,
            "rejected_count": job.rejected_count,
        }
        if len(job.rejected) != reported:
            progress["rejected"] = job.rejected
        TreeImport.objects.filter(pk=job.pk).update(**progress)


def _finish(job: TreeImport, status: str, message: str) -> None:
    if job.stored_path:
        try:
            default_storage.delete(job.stored_path)
        except OSError:
            logger.warning("could not delete the stored tree import file %s", job.stored_path)
    TreeImport.objects.filter(pk=job.pk).update(status=status, message=message, finished_at=timezone.now())
    record(
        "smartcity.tree_import_finished",
        municipality=job.municipality,
        obj=job,
        changes={
            "status": status,
            "created": job.created_count,
            "updated": job.updated_count,
            "rejected": job.rejected_count,
        },
    )
