from django import template

register = template.Library()


@register.filter
def euro(cents: object) -> str:
    """Cents as a German euro amount: 3000 → ``30,00 €``."""
    try:
        value = int(cents)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return ""
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 100:,}".replace(",", ".") + f",{value % 100:02d}\u00a0€"
