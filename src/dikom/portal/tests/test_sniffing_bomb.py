"""Recognising an ODF upload must not inflate a huge ``mimetype`` member (a zip bomb in a portal upload)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from dikom.portal import sniffing


def test_odf_mimetype_is_read_without_inflating_the_member(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", sniffing.ODT.encode() + b" " * (8 * 1024 * 1024))
    inflated: list[int] = []
    original = zipfile.ZipExtFile.read

    def counting_read(self: Any, n: int = -1) -> bytes:
        data = original(self, n)
        inflated.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    assert sniffing.detect(io.BytesIO(buffer.getvalue())) == sniffing.ODT
    assert sum(inflated) <= 100
