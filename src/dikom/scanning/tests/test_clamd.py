"""The clamd adapter against a real ClamAV daemon, started for these tests.

ClamAV's own signature database needs ``freshclam`` and the internet, so the
daemon here loads a tiny database written by the test: the EICAR file by its
MD5 hash (``.hdb``) and a harmless marker string as a body signature
(``.ndb``), which the built-in EICAR check does not know — so a refusal of the
marker proves that clamd itself answered. Needs the Debian package
``clamav-daemon`` (only its ``clamd`` binary is used; the packaged service is
not started). Without it the tests are skipped, or fail under
``DIKOM_REQUIRE_SERVICES``.
"""

from __future__ import annotations

import copy
import hashlib
import io
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import skip_or_fail
from dikom.lib.testing import free_port as _free_port
from dikom.scanning import eicar
from dikom.scanning.base import CLEAN, FAILED, INFECTED
from dikom.scanning.contrib.clamd import ClamdScanner

MARKER = b"DIKOM-CLAMD-SELFTEST-7f3a9c"
STARTUP_SECONDS = 90  # loading even a tiny database takes clamd a few seconds


@pytest.fixture(scope="module")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    binary = shutil.which("clamd") or ("/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None)
    if binary is None:
        skip_or_fail("clamd is not installed (apt-get install clamav-daemon)")
    root = tmp_path_factory.mktemp("clamd")
    database = root / "db"
    database.mkdir()
    (database / "dikom-test.hdb").write_text(
        f"{hashlib.md5(eicar.SIGNATURE).hexdigest()}:{len(eicar.SIGNATURE)}:Dikom.Test.EICAR\n"  # noqa: S324
    )
    (database / "dikom-test.ndb").write_text(f"Dikom.Test.Marker:0:*:{MARKER.hex()}\n")
    sock = root / "clamd.sock"
    port = _free_port()
    config = root / "clamd.conf"
    config.write_text(
        "Foreground yes\n"
        f"LocalSocket {sock}\n"
        f"TCPSocket {port}\n"
        "TCPAddr 127.0.0.1\n"
        f"DatabaseDirectory {database}\n"
        f"LogFile {root / 'clamd.log'}\n"
        "StreamMaxLength 1M\n"
    )
    process = subprocess.Popen(  # noqa: S603
        [str(binary), "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not sock.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                pytest.fail(f"clamd did not start: {error[-500:]}")
            time.sleep(0.2)
        yield {"unix": f"unix://{sock}", "tcp": f"tcp://127.0.0.1:{port}"}
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_clamd_finds_its_signatures_and_passes_clean_files(clamd: dict[str, str], transport: str) -> None:
    scanner = ClamdScanner(clamd[transport])
    assert scanner.scan(io.BytesIO(eicar.SIGNATURE)).status == INFECTED
    found = scanner.scan(io.BytesIO(b"%PDF-1.4\n" + MARKER + b"\n%%EOF\n"))
    assert (found.status, found.detail) == (INFECTED, "Dikom.Test.Marker.UNOFFICIAL")
    assert scanner.scan(io.BytesIO(b"%PDF-1.4\nnothing to see\n%%EOF\n")).status == CLEAN


def test_a_file_over_clamds_stream_limit_is_a_failed_scan(clamd: dict[str, str]) -> None:
    result = ClamdScanner(clamd["unix"]).scan(io.BytesIO(b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024)))
    assert result.status == FAILED


@pytest.mark.django_db
def test_portal_upload_is_refused_by_clamd(
    clamd: dict[str, str], settings: Any, tmp_path: Any, city_a: Any, city_b: Any
) -> None:
    from dikom.lib.testing import english_client
    from dikom.portal.models import ApplicationFile
    from dikom.portal.tests.conftest import FAMILY, VALID_IBAN, release_and_adopt
    from dikom.scanning.tests.test_upload_scanning import _start

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DIKOM_UPLOAD_SCANNER = "clamd"
    settings.DIKOM_CLAMD_ADDRESS = clamd["tcp"]
    adoption = release_and_adopt(copy.deepcopy(FAMILY), city_a)
    client = english_client()
    _application, base = _start(client, adoption)
    marked = SimpleUploadedFile("n.pdf", b"%PDF-1.4\n" + MARKER + b"\n", content_type="application/pdf")
    response = client.post(f"{base}/schritt/3/", {"f-iban": VALID_IBAN, "f-nachweis": marked})
    assert response.status_code == 400 and "contains a virus" in response.content.decode()
    assert not ApplicationFile.objects.exists()
    clean = SimpleUploadedFile("n.pdf", b"%PDF-1.4\nok\n", content_type="application/pdf")
    client.post(f"{base}/schritt/3/", {"f-iban": VALID_IBAN, "f-nachweis": clean})
    assert ApplicationFile.objects.get().scan_status == CLEAN
