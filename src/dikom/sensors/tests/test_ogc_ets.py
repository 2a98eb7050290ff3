"""The OGC's own conformance test suite for SensorThings API 1.0 (``opengeospatial/ets-sta10``) against dikom.

The suite is Java (TestNG) and is normally run inside TEAM Engine, whose build needs Maven Central.
Here its test classes are compiled with ``javac`` against Debian's ``testng``, ``libandroid-json-java``
and ``libhttpclient-java`` packages plus the JAX-RS API jar, and run by ``ogc_ets/EtsRunner.java`` (written
here: it only hands the service root and the conformance level to the suite, as TEAM Engine does).
The test classes are not changed and not part of this repository.

The suite sends no credentials; dikom only lets a city's API key write. A small proxy in this test adds
the key of the test city to every request (``Authorization: Api-Key …``) and passes everything else
through unchanged, including the ``Host`` header, so the links dikom writes point at the proxy.

Set ``DIKOM_OGC_ETS_STA10`` to a checkout of https://github.com/opengeospatial/ets-sta10 and install the
Debian packages named above (``scripts/ogc_sta_conformance.sh`` does both); without them the test skips
with the reason.
"""

from __future__ import annotations

import glob
import http.client
import http.server
import json
import os
import shutil
import subprocess
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dikom.accounts.actions import create_api_key
from dikom.sensors.scopes import SENSORS_WRITE

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DIKOM_OGC_ETS_STA10"),
        reason="DIKOM_OGC_ETS_STA10 (a checkout of opengeospatial/ets-sta10) is not set",
    ),
]

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "ogc_ets" / "EtsRunner.java"
ETS_CLASSES = (
    "SuiteAttribute.java",
    "util/ControlInformation.java",
    "util/EntityType.java",
    "util/HTTPMethods.java",
    "util/ServiceURLBuilder.java",
    "util/EntityPropertiesSampleValue.java",
    "util/TestSuiteLogger.java",
    "sensingCore/Capability1Tests.java",
    "createUpdateDelete/Capability2Tests.java",
    "filteringExtension/Capability3Tests.java",
)
DEBIAN_JARS = (
    "/usr/share/java/testng.jar",
    "/usr/share/java/jcommander.jar",
    "/usr/share/java/bsh.jar",
    "/usr/share/java/com.android.json.jar",
    "/usr/share/java/httpclient.jar",
    "/usr/share/java/httpcore.jar",
    "/usr/share/java/commons-logging.jar",
)
#: Jars the ETS compiles against that Debian does not package (API only; found in a local Maven repository).
MAVEN_JARS = (
    "jakarta/ws/rs/jakarta.ws.rs-api/*/jakarta.ws.rs-api-*.jar",
    "joda-time/joda-time/*/joda-time-*.jar",
)


def _classpath() -> list[str] | str:
    """The jars, or the reason why the suite cannot run here."""
    if shutil.which("javac") is None or shutil.which("java") is None:
        return "no JDK (javac, java) on this machine"
    missing = [jar for jar in DEBIAN_JARS if not os.path.exists(jar)]
    if missing:
        return f"Debian packages testng, libandroid-json-java, libhttpclient-java missing: {missing}"
    repository = Path(os.environ.get("DIKOM_MAVEN_REPOSITORY", Path.home() / ".m2" / "repository"))
    jars = list(DEBIAN_JARS)
    for pattern in MAVEN_JARS:
        found = sorted(glob.glob(str(repository / pattern)))
        if not found:
            return f"{pattern} not in the Maven repository {repository}"
        jars.append(found[-1])
    return jars


@pytest.fixture(scope="module")
def ets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    checkout = os.environ.get("DIKOM_OGC_ETS_STA10")
    if not checkout:
        pytest.skip("DIKOM_OGC_ETS_STA10 (a checkout of opengeospatial/ets-sta10) is not set")
    sources = Path(checkout) / "src/main/java/org/opengis/cite/sta10"
    if not sources.is_dir():
        pytest.skip(f"{sources} does not exist")
    jars = _classpath()
    if isinstance(jars, str):
        pytest.skip(jars)
    classes = tmp_path_factory.mktemp("ets-classes")
    files = [str(sources / name) for name in ETS_CLASSES] + [str(RUNNER)]
    subprocess.run(  # noqa: S603 - our own command line over files of the checkout
        [
            shutil.which("javac") or "javac",
            "-nowarn",
            "-encoding",
            "UTF-8",
            "-d",
            str(classes),
            "-cp",
            ":".join(jars),
            *files,
        ],
        check=True,
        capture_output=True,
    )
    return classes, jars


class _KeyProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target: str, key: str) -> None:
        parsed = urllib.parse.urlsplit(target)
        self.target_host, self.target_port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.key = key
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _KeyProxy
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {name: value for name, value in self.headers.items() if name.lower() != "authorization"}
        headers["Authorization"] = f"Api-Key {self.server.key}"
        upstream = http.client.HTTPConnection(self.server.target_host, self.server.target_port, timeout=60)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
        finally:
            upstream.close()
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def proxied_root(live_server: Any, city_a: Any) -> Iterator[str]:
    key = create_api_key(municipality=city_a, name="OGC ETS", scopes=[SENSORS_WRITE]).token
    proxy = _KeyProxy(live_server.url, key)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}/sta/v1.0"
    finally:
        proxy.shutdown()
        proxy.server_close()


def _post(root: str, path: str, document: dict[str, Any]) -> None:
    parsed = urllib.parse.urlsplit(root)
    connection = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=30)
    connection.request(
        "POST", f"{parsed.path}/{path}", body=json.dumps(document), headers={"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 201, (path, response.status)


def _seed(root: str) -> None:
    """One of each entity type: conformance level 1 reads entities that the server already holds."""
    _post(
        root,
        "Things",
        {
            "name": "Linde Universitätsstraße 7",
            "description": "Straßenbaum mit Bodenfeuchtesonde",
            "Locations": [
                {
                    "name": "Baumscheibe",
                    "description": "Standort des Baums",
                    "encodingType": "application/vnd.geo+json",
                    "location": {"type": "Point", "coordinates": [8.77, 50.81]},
                }
            ],
            "Datastreams": [
                {
                    "name": "Bodenfeuchte 30 cm",
                    "description": "Saugspannung in 30 cm Tiefe",
                    "unitOfMeasurement": {"name": "Centibar", "symbol": "cbar", "definition": "ucum:cbar"},
                    "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                    "Sensor": {
                        "name": "Tensiometer",
                        "description": "Saugspannungssonde",
                        "encodingType": "application/pdf",
                        "metadata": "https://example.org/tensiometer.pdf",
                    },
                    "ObservedProperty": {
                        "name": "Saugspannung",
                        "definition": "https://example.org/saugspannung",
                        "description": "Wasserspannung im Boden",
                    },
                    "Observations": [{"phenomenonTime": "2026-07-01T06:00:00Z", "result": 42}],
                }
            ],
        },
    )


def _results(output: Path) -> list[tuple[str, str, str, str]]:
    tree = ET.parse(output / "testng-results.xml")  # noqa: S314 - TestNG's report of this very run
    rows = []
    for method in tree.iter("test-method"):
        if method.get("is-config") == "true":
            if method.get("status") != "PASS":
                rows.append(("config", method.get("name", ""), method.get("status", ""), _message(method)))
            continue
        rows.append(
            (
                method.get("signature", "").split("(")[0],
                method.get("name", ""),
                method.get("status", ""),
                _message(method),
            )
        )
    return rows


def _message(method: ET.Element) -> str:
    message = method.find("./exception/message")
    return (message.text or "").strip()[:300] if message is not None else ""


def test_the_ogc_conformance_classes_a1_to_a3_pass(
    ets: tuple[Path, list[str]], proxied_root: str, tmp_path: Path
) -> None:
    classes, jars = ets
    _seed(proxied_root)
    output = tmp_path / "testng"
    completed = subprocess.run(  # noqa: S603 - our own command line
        [
            shutil.which("java") or "java",
            "-cp",
            ":".join([str(classes), *jars]),
            "EtsRunner",
            proxied_root,
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    results = _results(output)
    failed = [row for row in results if row[2] != "PASS"]
    tests = [row for row in results if row[0] != "config"]
    # The suite ran its 22 tests (A.1 sensing core 6, A.2 create-update-delete 8, A.3 filtering 8), all passed.
    assert len(tests) >= 22, (len(tests), completed.stdout[-2000:], completed.stderr[-2000:])
    assert failed == [], "\n".join(f"{name}: {status} {message}" for _sig, name, status, message in failed)
