"""The e-file surface the case app uses: export a closed case, transfer the package.

Typical use when a case is closed (in the case app's action, on commit)::

    package = efile.service.export_case_file(case_file)   # ExportError if data is missing
    result = efile.service.transfer(package)               # ok / retryable / permanent

and in a ``retrying_task`` that rebuilds the same package (same ProzessID and
creation time, stored on the case) and calls ``transfer_or_raise`` so that
retryable failures are retried with backoff while permanent ones stop at once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from dikom.cases.efile import registry, xdomea
from dikom.cases.efile.base import EfileConnector, TransferResult, TransferStatus
from dikom.cases.efile.model import CaseFile, Party
from dikom.cases.efile.xdomea import ExportError, ExportPackage, MessageType, XsdUnavailable

logger = logging.getLogger(__name__)

__all__ = [
    "ExportError",
    "ExportPackage",
    "RetryableTransferError",
    "TransferResult",
    "TransferStatus",
    "export_case_file",
    "is_enabled",
    "transfer",
    "transfer_or_raise",
]


class RetryableTransferError(Exception):
    """A transfer failed in a way worth retrying; raised so ``retrying_task`` tries again."""

    def __init__(self, result: TransferResult) -> None:
        self.result = result
        super().__init__(result.message)


def is_enabled() -> bool:
    """True when an e-file connector is configured (DIKOM_EFILE_CONNECTOR)."""
    return bool(registry.configured_key())


def sender_for(case_file: CaseFile) -> Party:
    """The case's own authority and organisational unit (the Fachverfahren sends on its behalf)."""
    return Party(name=case_file.municipality_name, ags=case_file.municipality_ags, org_unit=case_file.org_unit)


def receiver_for(case_file: CaseFile) -> Party:
    """The same authority: its DMS / e-file system files the case."""
    return Party(name=case_file.municipality_name, ags=case_file.municipality_ags)


def export_case_file(
    case_file: CaseFile,
    *,
    process_id: uuid.UUID | None = None,
    created_at: datetime | None = None,
    connector: EfileConnector | None = None,
) -> ExportPackage:
    """Build the xdomea 0605 package of a closed case and check it against the XSDs.

    ``process_id`` defaults to one derived from the case and its closing time,
    so exporting the same closed case again gives the same ProzessID. Pass the
    stored ``created_at`` to rebuild byte-identical packages for retries.
    Raises ExportError for missing data or (should it ever happen) a message
    the XSDs reject. When the XSD folder is missing, the export goes ahead
    with a warning in the log.
    """
    chosen = connector if connector is not None else registry.get_connector()
    package = xdomea.build_package(
        case_file,
        sender=sender_for(case_file),
        receiver=receiver_for(case_file),
        message_type=MessageType.SGO_ABLEGEN,
        process_id=process_id,
        created_at=created_at,
        ablageort=chosen.ablageort() if chosen is not None else None,
    )
    try:
        errors = xdomea.validate(package.xml)
    except XsdUnavailable as exc:
        logger.warning("xdomea export of case %s not validated: %s", case_file.uuid, exc)
        return package
    if errors:
        raise ExportError([f"the message does not validate against xdomea 3.0.0: {error}" for error in errors])
    return package


def transfer(package: ExportPackage, *, connector: EfileConnector | None = None) -> TransferResult:
    """Deliver the package once with the configured connector."""
    chosen = connector if connector is not None else registry.get_connector()
    if chosen is None:
        return TransferResult.fail("no e-file connector is configured (DIKOM_EFILE_CONNECTOR)")
    result = chosen.transfer(package)
    log = logger.info if result.ok else logger.warning
    log(
        "e-file transfer of %s via %s: %s %s",
        package.file_name,
        chosen.key,
        result.status.value,
        result.message or result.external_reference,
    )
    return result


def transfer_or_raise(package: ExportPackage, *, connector: EfileConnector | None = None) -> TransferResult:
    """Like ``transfer`` but raises RetryableTransferError on a retryable result (for retrying tasks)."""
    result = transfer(package, connector=connector)
    if result.retryable:
        raise RetryableTransferError(result)
    return result
