"""HTML to PDF, the one way every PDF of the platform is made (letters, receipts, automation documents, reports).

WeasyPrint would fetch every URL a document names: ``file://`` paths on the
server, ``http(s)://`` addresses (loopback and the internal network included),
``data:`` URLs, stylesheets named by ``@import``, images, ``<object>`` data,
SVG ``xlink:href`` and PDF attachments (``<link rel="attachment">``). Much of
the HTML comes from people: templates that staff write, answers that citizens
give. So :func:`render_pdf`

- gives WeasyPrint a fixed base URL on a reserved name
  (:data:`INTERNAL_ORIGIN`, never the request's host) and a URL fetcher that
  serves only the platform's own static files (``{% static %}`` URLs, found in
  ``STATIC_ROOT`` and through Django's file-system and app-directory finders,
  with no way out of those folders) and refuses every other URL before any
  file or network access; it never follows a redirect because it never asks
  the network;
- renders in a separate process started from a fork server that has WeasyPrint
  loaded, limited in time (``DIKOM_PDF_TIMEOUT_SECONDS``) and address space
  (``DIKOM_PDF_MEMORY_MB``): a render that takes too long is killed and
  becomes :class:`PdfFailed`, never a hung server thread.

The renderer process knows nothing of Django: the parent passes it the static
folders. Templates written by staff are filled in before, in
:mod:`dikom.lib.template_sandbox`.
"""

from __future__ import annotations

import logging
import mimetypes
import multiprocessing
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import unquote

logger = logging.getLogger(__name__)

#: The base URL documents are rendered against. ``.invalid`` is reserved (RFC 2606) and never resolves;
#: nothing is fetched from it anyway, the fetcher maps its static path to files.
INTERNAL_ORIGIN = "https://dikom.invalid"
#: Largest HTML document accepted (characters).
MAX_HTML_CHARS = 10_000_000

Roots = tuple[tuple[str, str], ...]


class PdfError(Exception):
    """No PDF could be made; ``str(error)`` is a sentence for the log, not for citizens."""


class PdfUnavailable(PdfError):
    """WeasyPrint or its system libraries (Pango) are missing on this server."""


class PdfFailed(PdfError):
    """The render failed, took too long or needed too much memory."""


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    #: URLs the fetcher served (static files) and refused (everything else), in the order asked.
    served: tuple[str, ...]
    refused: tuple[str, ...]


def render_pdf(html: str, *, pdf_variant: str | None = None) -> bytes:
    """``html`` as a PDF (``pdf_variant`` e.g. ``"pdf/a-3b"``); raises :class:`PdfError`."""
    return render(html, pdf_variant=pdf_variant).pdf


def render(html: str, *, pdf_variant: str | None = None, timeout: float | None = None) -> Rendered:
    """Like :func:`render_pdf`, and says which URLs were served and refused."""
    from django.conf import settings

    if len(html) > MAX_HTML_CHARS:
        raise PdfFailed(f"The document has {len(html)} characters; at most {MAX_HTML_CHARS} are rendered.")
    timeout = float(settings.DIKOM_PDF_TIMEOUT_SECONDS) if timeout is None else timeout
    memory = int(settings.DIKOM_PDF_MEMORY_MB) * 1024 * 1024
    context = _process_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_render_in_child,
        args=(sender, html, pdf_variant, static_prefixes(), static_roots(), memory),
        name="dikom-pdf",
    )
    try:
        process.start()
    except (OSError, ValueError) as error:  # no fork server here (no forkserver support, no processes left)
        receiver.close()
        raise PdfUnavailable(f"The PDF renderer process could not be started: {error}") from error
    finally:
        sender.close()
    try:
        if not receiver.poll(timeout):
            raise PdfFailed(f"Rendering the PDF took longer than {timeout:g} s and was stopped.")
        try:
            answer = receiver.recv()
        except EOFError as error:
            raise PdfFailed(f"The PDF renderer ended without a result (exit code {process.exitcode}).") from error
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    kind, payload = answer[0], answer[1:]
    if kind == "unavailable":
        raise PdfUnavailable(payload[0])
    if kind != "ok":
        raise PdfFailed(payload[0])
    pdf, served, refused = payload
    if refused:
        logger.warning("PDF: refused to fetch %d URL(s): %s", len(refused), ", ".join(refused[:10]))
    return Rendered(pdf=pdf, served=tuple(served), refused=tuple(refused))


_context_lock = threading.Lock()


def _process_context() -> Any:
    """The fork server context: a clean, single-threaded process that has WeasyPrint loaded forks each renderer
    (forking the multi-threaded web server itself could copy a lock another thread holds)."""
    context = multiprocessing.get_context("forkserver")
    with _context_lock:
        context.set_forkserver_preload(["dikom.lib.pdf_preload"])
    return context


# --- what the renderer may fetch --------------------------------------------------------------------------------


def static_prefixes() -> tuple[str, ...]:
    """The URL prefixes under which static files are served: the internal origin's STATIC_URL path, and
    STATIC_URL itself where it is absolute (a CDN); files are read locally either way."""
    from django.conf import settings

    static_url = str(settings.STATIC_URL or "/static/")
    if "://" in static_url:
        path = "/" + static_url.split("://", 1)[1].partition("/")[2]
        return (INTERNAL_ORIGIN + path, static_url)
    return (INTERNAL_ORIGIN + "/" + static_url.lstrip("/"),)


def static_roots() -> Roots:
    """(prefix, folder) pairs holding static files: STATIC_ROOT (collected, hashed names included), then the
    folders of Django's file-system and app-directories finders. Other finders are not consulted."""
    from django.conf import settings
    from django.contrib.staticfiles.finders import AppDirectoriesFinder, FileSystemFinder, get_finders

    roots: list[tuple[str, str]] = []
    if settings.STATIC_ROOT:
        roots.append(("", str(settings.STATIC_ROOT)))
    for finder in get_finders():
        if isinstance(finder, FileSystemFinder):
            roots.extend((prefix or "", str(root)) for prefix, root in finder.locations)
        elif isinstance(finder, AppDirectoriesFinder):
            roots.extend(("", str(storage.location)) for storage in finder.storages.values())
    return tuple(roots)


def resolve_static(url: str, prefixes: Sequence[str], roots: Roots) -> str | None:
    """The file a static URL names, or None: for any other URL, a path that leaves its folder, a query."""
    for prefix in prefixes:
        if url.startswith(prefix):
            relative = url[len(prefix) :].partition("#")[0]
            break
    else:
        return None
    if "?" in relative:
        return None
    relative = unquote(relative)
    parts = relative.split("/")
    if not relative or "\\" in relative or "\x00" in relative or any(p in ("", ".", "..") for p in parts):
        return None
    for prefix, root in roots:
        name = relative
        if prefix:
            if not relative.startswith(prefix.strip("/") + "/"):
                continue
            name = relative[len(prefix.strip("/")) + 1 :]
        folder = os.path.realpath(root)
        candidate = os.path.realpath(os.path.join(folder, name))
        if candidate.startswith(folder + os.sep) and os.path.isfile(candidate):
            return candidate
    return None


def static_only_fetcher(prefixes: Sequence[str], roots: Roots, served: list[str], refused: list[str]) -> Any:
    """A WeasyPrint URL fetcher that serves static files and refuses every other URL without opening it."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped]

    class StaticOnlyFetcher(URLFetcher):
        def __init__(self) -> None:
            super().__init__(allowed_protocols=(), allow_redirects=False)

        def fetch(self, url: str, headers: Any = None) -> Any:
            path = resolve_static(url, prefixes, roots)
            if path is None:
                refused.append(url[:200])
                raise ValueError("refused: a PDF may only use the platform's own static files")
            served.append(url)
            with open(path, "rb") as file:
                body = file.read()
            content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body, {"Content-Type": content_type})

        def open(self, url: Any, data: Any = None, timeout: Any = None) -> Any:
            return self.fetch(url if isinstance(url, str) else url.full_url)

    return StaticOnlyFetcher()


# --- the renderer process ---------------------------------------------------------------------------------------


def _render_in_child(
    connection: Connection, html: str, pdf_variant: str | None, prefixes: tuple[str, ...], roots: Roots, memory: int
) -> None:
    try:
        if memory:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        # Refusals are reported to the parent, which logs them once; WeasyPrint's own log would repeat each.
        logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
        try:
            from weasyprint import HTML  # type: ignore[import-untyped]
        except (ImportError, OSError) as error:
            connection.send(("unavailable", f"WeasyPrint is not usable: {error}"))
            return
        served: list[str] = []
        refused: list[str] = []
        fetcher = static_only_fetcher(prefixes, roots, served, refused)
        document = HTML(string=html, base_url=INTERNAL_ORIGIN + "/", url_fetcher=fetcher)
        pdf = document.write_pdf(pdf_variant=pdf_variant)
        connection.send(("ok", pdf, served, refused))
    except MemoryError:
        connection.send(("failed", "Rendering the PDF needed more memory than allowed."))
    except BaseException as error:  # whatever happens is reported, then the child ends
        connection.send(("failed", f"Rendering the PDF failed: {type(error).__name__}: {error}"))
    finally:
        connection.close()
