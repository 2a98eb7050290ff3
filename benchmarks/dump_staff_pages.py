"""Write the staff pages of a prepared benchmark database to a directory, to compare two versions
of the code byte for byte (issue 21, item 4).

Run it once with each version's tree against the same database (``bench_pages.py`` prepared it),
then compare the two directories (``diff -r``). Read-only: GET requests only, through Django's
test client in this process, signed in as the demo's caseworker, analyst and designer of the city
(sessions with a confirmed second factor, as after signing in). CSRF tokens are blanked.

Pages: the inbox without a tab and in each tab, with each filter (search, status, service, unit,
overdue, sort), pages 1, 2, the last, past the end, below 1 and not a number; several case pages
(open cases with tasks, and the city's first closed or decided cases if any); the analytics
overview (default, sorted, a custom period, an invalid period); the service library. Each in
German and English.

Example::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dikom_staff3_bench \\
        python benchmarks/dump_staff_pages.py --out /tmp/pages-after
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def _client(username: str, language: str) -> object:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = get_user_model().objects.get(username=username)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    client = Client()
    client.force_login(user)
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--city", default="marburg")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.dev")
    import django

    django.setup()
    from dikom.cases.models import Case, Task
    from dikom.municipalities.models import OrgUnit

    city = args.city
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    inbox = f"/vorgaenge/{city}/"
    queries: list[dict[str, str]] = [{}]
    service = Case.objects.filter(municipality__slug=city).values_list("service_slug", flat=True).first() or ""
    unit = OrgUnit.objects.filter(municipality__slug=city).order_by("name").values_list("uuid", flat=True).first()
    filters = [
        {"q": "2026"},
        {"q": "<b>&"},
        {"status": "open"},
        {"status": "nonsense"},
        {"service": service},
        {"unit": str(unit)},
        {"overdue": "on"},
        {"sort": "-due"},
    ]
    for tab in ("", "mine", "unit", "all"):
        base = {"tab": tab} if tab else {}
        queries.append(base)
        for extra in filters:
            queries.append({**base, **extra})
        for page in ("2", "400", "401", "100000", "0", "-1", "x"):
            queries.append({**base, "page": page})
    paths = [inbox + ("?" + urlencode(q) if q else "") for q in queries]
    cases = list(
        Task.objects.filter(case__municipality__slug=city, status="open")
        .order_by("pk")
        .values_list("case__uuid", flat=True)[:4]
    )
    cases += list(
        Case.objects.filter(municipality__slug=city)
        .exclude(status="open")
        .order_by("pk")
        .values_list("uuid", flat=True)[:3]
    )
    case_paths = [f"/vorgaenge/{city}/{key}/" for key in dict.fromkeys(cases)]
    analytics = [
        f"/analytics/{city}/",
        f"/analytics/{city}/?sort=name",
        f"/analytics/{city}/?period=custom&since=2026-10-01&until=2026-11-15&granularity=week",
        f"/analytics/{city}/?period=custom&since=2026-11-15&until=2026-10-01",
    ]
    pages = [(f"{city}-caseworker", p) for p in paths + case_paths]
    pages += [(f"{city}-analyst", p) for p in analytics]
    pages += [(f"{city}-designer", "/dienste/")]
    written = 0
    for language in ("de", "en"):
        clients: dict[str, object] = {}
        for index, (username, path) in enumerate(pages):
            client = clients.get(username) or clients.setdefault(username, _client(username, language))
            response = client.get(path)  # type: ignore[attr-defined]
            body = CSRF.sub(b'name="csrfmiddlewaretoken" value=""', response.content)
            name = f"{language}-{index:03d}.html"
            (out / name).write_bytes(f"{response.status_code} {path}\n".encode() + body)
            written += 1
    print(f"{written} pages written to {out}")


if __name__ == "__main__":
    main()
