from django import template
from django.utils.safestring import SafeString

from dikom.lib.markdown_text import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    """Dataset descriptions: CommonMark without raw HTML (``dikom.lib.markdown_text``), shown whole."""
    return render_markdown(text, limit=None)


@register.filter
def filesize(value: int | None) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}".replace(".", ",")
        size /= 1024
    return ""
