"""Hostile HTML for PDF tests: every way a document can name an outside resource, and a loopback server that
records whether anything asked it."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

SECRET = "GEHEIM-7f3a9c-SECRET"


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        body = b"body{} " + SECRET.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 that answers with the secret and counts hits: (base URL, hits)."""
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n")
    return path


def hostile_markup(base: str, secret_file: Path) -> str:
    """Body markup naming the secret file, the loopback server, data: and a redirect in every way WeasyPrint knows."""
    file_url = secret_file.as_uri()
    return (
        f'<style>@import url("{file_url}"); @import "{base}/import.css";'
        f' p {{ background: url("{base}/bg.png"); }} @font-face {{ font-family: x; src: url("{file_url}"); }}</style>'
        f'<link rel="stylesheet" href="{base}/style.css"><link rel="stylesheet" href="{file_url}">'
        f'<link rel="stylesheet" href="{base}/redirect">'
        f'<link rel="attachment" href="{file_url}" title="a"><a rel="attachment" href="{file_url}">x</a>'
        f'<img src="{file_url}"><img src="{base}/img.png"><img src="data:image/svg+xml;base64,PHN2Zy8+">'
        f'<object data="{file_url}" type="image/svg+xml"></object><embed src="{base}/embed.svg">'
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">'
        f'<image xlink:href="{file_url}" width="10" height="10"/><image href="{base}/svg.png" width="5" height="5"/>'
        f"</svg><p>Inhalt</p>"
    )


def pdf_text(pdf: bytes) -> str:
    """Everything a reader could get out of the PDF: page text and attached files."""
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    for contents in reader.attachments.values():
        text += "\n".join(c.decode("utf-8", "replace") for c in contents)
    return text
