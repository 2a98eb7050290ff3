"""Imported once by the PDF renderer's fork server (see :mod:`dikom.lib.pdf`), so that each render starts from a
process with WeasyPrint, Pango and the fonts already loaded. Nothing here fetches anything."""

try:
    from weasyprint import HTML  # type: ignore[import-untyped]

    from dikom.lib.pdf import INTERNAL_ORIGIN, static_only_fetcher

    HTML(
        string="<p>dikom</p>", base_url=INTERNAL_ORIGIN + "/", url_fetcher=static_only_fetcher((), (), [], [])
    ).write_pdf()
except Exception:  # noqa: S110 - without WeasyPrint each render reports it; the fork server must still start
    pass
