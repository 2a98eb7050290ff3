from django import template
from django.utils.safestring import SafeString

from dikom.lib.markdown_text import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    return render_markdown(text)
