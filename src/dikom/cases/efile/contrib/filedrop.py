"""File drop: the ZIP lands in a folder the DMS watches (a share, an import directory).

Most municipal DMS (VIS-Suite, enaio, d.3) can import xdomea containers from a
watched folder. The package appears there atomically under its final name
(written to a hidden ``.part`` file first, synced, then linked into place), so
the DMS never sees half a file, and an existing package is never overwritten:
the ProzessID in the file name makes a second delivery of the same export a
no-op.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from django.conf import settings

from dikom.cases.efile.base import EfileConnector, TransferResult
from dikom.cases.efile.xdomea import ExportPackage

# Errors that mean "this file system cannot hard-link": fall back to os.replace.
NO_LINK_ERRNOS = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


class FileDropConnector(EfileConnector):
    key = "filedrop"

    def __init__(self, directory: str | Path | None = None) -> None:
        configured = directory if directory is not None else getattr(settings, "DIKOM_EFILE_DROP_DIR", None)
        self.directory = Path(configured) if configured else None

    def ablageort(self) -> str | None:
        return str(self.directory) if self.directory else None

    def delivered(self, package: ExportPackage) -> Path | None:
        """The package already in the folder (same ProzessID), if any."""
        assert self.directory is not None  # noqa: S101 - checked by the caller
        target = self.directory / package.file_name
        if target.exists():
            return target
        # A DMS may rename a package while importing it; the ProzessID still identifies it.
        return next(iter(sorted(self.directory.glob(f"{package.process_id}_*.zip"))), None)

    def transfer(self, package: ExportPackage) -> TransferResult:
        if self.directory is None:
            return TransferResult.fail("DIKOM_EFILE_DROP_DIR is not set")
        if not self.directory.is_dir():
            return TransferResult.retry(f"drop folder {self.directory} does not exist or is not mounted")
        try:
            existing = self.delivered(package)
            if existing is not None:
                return TransferResult.success(str(existing), "already delivered; the existing package was kept")
            target = self.directory / package.file_name
            created = self._write_atomically(target, package.content)
        except PermissionError as exc:
            return TransferResult.fail(f"no permission to write to {self.directory}: {exc.strerror}")
        except OSError as exc:
            return TransferResult.retry(f"writing to {self.directory} failed: {exc.strerror or exc}")
        if not created:
            return TransferResult.success(str(target), "already delivered; the existing package was kept")
        return TransferResult.success(str(target))

    def _write_atomically(self, target: Path, content: bytes) -> bool:
        """Write ``content`` to ``target`` unless it exists; True when this call created it."""
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                # link() never replaces an existing file: a concurrent delivery cannot be overwritten.
                os.link(temporary, target)
            except FileExistsError:
                return False
            except OSError as exc:
                if exc.errno not in NO_LINK_ERRNOS:
                    raise
                if target.exists():
                    return False
                os.replace(temporary, target)
            self._sync_directory()
            return True
        finally:
            temporary.unlink(missing_ok=True)

    def _sync_directory(self) -> None:
        assert self.directory is not None  # noqa: S101
        try:
            descriptor = os.open(self.directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(descriptor)
        except OSError:
            pass  # some network file systems cannot sync a directory; the file itself is synced
        finally:
            os.close(descriptor)
