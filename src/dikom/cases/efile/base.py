"""The interface every e-file connector implements.

A connector takes one finished ``ExportPackage`` (the xdomea ZIP) to the
city's e-file system / DMS and says how it went. It never raises for transport
problems; it answers with a ``TransferResult``:

- ``ok``: the receiver has the package (also when it had it already: every
  connector is idempotent by the ProzessID);
- ``retryable``: try the same package again later (timeouts, 5xx, share not
  mounted);
- ``permanent``: retrying will not help until a person acts (4xx, missing
  configuration, access denied).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from dikom.cases.efile.xdomea import ExportPackage


class TransferStatus(enum.StrEnum):
    OK = "ok"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class TransferResult:
    status: TransferStatus
    #: The receiver's reference for the package (file path, DMS id, ...), when ok.
    external_reference: str = ""
    #: What went wrong (or a remark such as "already delivered"), for staff.
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status is TransferStatus.OK

    @property
    def retryable(self) -> bool:
        return self.status is TransferStatus.RETRYABLE

    @classmethod
    def success(cls, external_reference: str, message: str = "") -> TransferResult:
        return cls(TransferStatus.OK, external_reference, message)

    @classmethod
    def retry(cls, message: str) -> TransferResult:
        return cls(TransferStatus.RETRYABLE, "", message)

    @classmethod
    def fail(cls, message: str) -> TransferResult:
        return cls(TransferStatus.PERMANENT, "", message)


class EfileConnector:
    key: ClassVar[str]

    def transfer(self, package: ExportPackage) -> TransferResult:
        """Deliver the package once; never raise for transport problems."""
        raise NotImplementedError

    def ablageort(self) -> str | None:
        """What the message names as Ablageort (the shared folder or URL the DMS reads), if anything."""
        return None
